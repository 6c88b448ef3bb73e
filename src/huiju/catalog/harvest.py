"""Fetching other catalogs: a huiju node (its JSON API), a CKAN portal (paging package_search) and DCAT RDF.

Each fetcher yields ``Record``s: the source's identifier, the raw text as fetched, and the entry fields
mapped from it (or the error that stopped the mapping). Storing them, idempotently by identifier, is
``service.harvest``'s job; nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from rdflib import Graph

from huiju.catalog import dcat
from huiju.errors import Invalid

KINDS = ("huiju", "ckan", "dcat")
PAGE_ROWS = 100
MAX_PAGES = 1000  # stops a portal that never returns an empty page


@dataclass
class Record:
    identifier: str
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def fetch(kind: str, url: str, *, client: httpx.Client, token: str | None = None) -> Iterator[Record]:
    """Every record of a source, page by page."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if kind == "huiju":
        yield from _huiju(url, client, headers)
    elif kind == "ckan":
        yield from _ckan(url, client, {"Authorization": token} if token else {})
    elif kind == "dcat":
        yield from _dcat(url, client, headers)
    else:
        raise Invalid("Harvest source kind must be one of: %(allowed)s", allowed=", ".join(KINDS))


def _get_json(client: httpx.Client, url: str, headers: dict[str, str], params: dict[str, Any]) -> Any:
    try:
        response = client.get(url, headers=headers, params=params, timeout=60)
    except httpx.HTTPError as exc:
        raise Invalid("Could not reach %(url)s: %(error)s", url=url, error=str(exc)) from None
    if response.status_code != 200:
        raise Invalid("%(url)s answered HTTP %(status)s", url=url, status=response.status_code)
    try:
        return response.json()
    except ValueError:
        raise Invalid("%(url)s did not answer with JSON", url=url) from None


# ---- another huiju node ----------------------------------------------------------------------

HUIJU_FIELDS = ("name", "classification", "item", "directory", "theme", "abstract", "format_kind", "format_type",
                "share_type", "share_condition", "share_basis", "share_mode_kind", "share_mode_type", "open_class",
                "open_condition", "update_cycle", "publish_date", "related_codes", "data_level", "items",
                "provider_name", "provider_code")


def _huiju(url: str, client: httpx.Client, headers: dict[str, str]) -> Iterator[Record]:
    endpoint = f"{url.rstrip('/')}/api/v1/catalog/entries"
    for page in range(1, MAX_PAGES + 1):
        body = _get_json(client, endpoint, headers, {"page": page, "per_page": 100, "sort": "name",
                                                     "state": "published"})
        for entry in body.get("entries", []):
            fields = {k: entry.get(k) for k in HUIJU_FIELDS}
            yield Record(str(entry.get("code") or entry.get("id")), json.dumps(entry, ensure_ascii=False), fields)
        if page >= int(body.get("pages") or 1):
            return


# ---- CKAN Action API v3 ---------------------------------------------------------------------

CKAN_FREQUENCY = {"daily": "daily", "weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly",
                  "annual": "yearly", "yearly": "yearly", "biannual": "half_yearly", "realtime": "realtime",
                  "continuous": "realtime", "每日": "daily", "每周": "weekly", "每月": "monthly", "每季度": "quarterly",
                  "每年": "yearly", "实时": "realtime"}


def _ckan(url: str, client: httpx.Client, headers: dict[str, str]) -> Iterator[Record]:
    """Page ``package_search`` with rows/start until an empty page (as ckanext-harvest does)."""
    endpoint = f"{url.rstrip('/')}/api/3/action/package_search"
    previous: list[str] | None = None
    for page in range(MAX_PAGES):
        body = _get_json(client, endpoint, headers, {"rows": PAGE_ROWS, "start": page * PAGE_ROWS,
                                                     "sort": "id asc"})
        if not body.get("success"):
            error = body.get("error") or {}
            raise Invalid("The CKAN portal refused the search: %(error)s", error=error.get("message") or str(error))
        results = body["result"].get("results") or []
        ids = [str(p.get("id")) for p in results]
        if not results or ids == previous:
            return
        previous = ids
        for package in results:
            raw = json.dumps(package, ensure_ascii=False)
            try:
                yield Record(str(package["id"]), raw, ckan_fields(package))
            except (KeyError, TypeError, ValueError) as exc:
                yield Record(str(package.get("id") or package.get("name")), raw, error=f"{type(exc).__name__}: {exc}")


def ckan_fields(package: dict[str, Any]) -> dict[str, Any]:
    """Entry fields from a CKAN dataset dict (an open portal's data: shared and opened without condition)."""
    extras = {e.get("key"): e.get("value") for e in package.get("extras") or [] if isinstance(e, dict)}
    formats = [str(r.get("format") or "").strip() for r in package.get("resources") or []]
    format_type = next((f for f in formats if f), "other")
    kind = dcat.FORMAT_KINDS_BY_EXTENSION.get(format_type.lower(), "other")
    frequency = str(extras.get("frequency") or extras.get("update_frequency") or "").strip().lower()
    org = package.get("organization") or {}
    return {
        "name": package.get("title") or package["name"],
        "abstract": package.get("notes") or package.get("title") or package["name"],
        "classification": "department", "item": "provincial", "theme": None,
        "format_kind": kind, "format_type": format_type[:32],
        "share_type": "unconditional", "share_mode_kind": "platform",
        "share_mode_type": "file" if kind == "file" else "api",
        "open_class": "unconditional" if package.get("isopen", True) else "conditional",
        "open_condition": None if package.get("isopen", True) else (package.get("license_title") or "见许可协议"),
        "update_cycle": CKAN_FREQUENCY.get(frequency, "irregular"), "data_level": "general_1",
        "publish_date": (package.get("metadata_created") or "")[:10] or None,
        "related_codes": [], "items": [],
        "provider_name": org.get("title") or org.get("name"), "provider_code": org.get("name"),
    }


# ---- DCAT RDF --------------------------------------------------------------------------------

def _dcat(url: str, client: httpx.Client, headers: dict[str, str]) -> Iterator[Record]:
    try:
        response = client.get(url, headers={**headers, "Accept": "text/turtle, application/ld+json;q=0.9"},
                              timeout=60)
    except httpx.HTTPError as exc:
        raise Invalid("Could not reach %(url)s: %(error)s", url=url, error=str(exc)) from None
    if response.status_code != 200:
        raise Invalid("%(url)s answered HTTP %(status)s", url=url, status=response.status_code)
    yield from records_from_rdf(response.text, response.headers.get("content-type", ""))


def records_from_rdf(text: str, content_type: str = "") -> Iterator[Record]:
    """One record per dcat:Dataset of a Turtle or JSON-LD document."""
    fmt = "json-ld" if "json" in content_type or text.lstrip().startswith(("{", "[")) else "turtle"
    g = Graph()
    try:
        g.parse(data=text, format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise Invalid("The DCAT document could not be read: %(error)s", error=str(exc)[:300]) from None
    for identifier, node in dcat.datasets_in(g):
        raw = dcat.describe(g, node)
        try:
            yield Record(identifier, raw, dcat.fields_from(g, node))
        except (TypeError, ValueError) as exc:
            yield Record(identifier, raw, error=f"{type(exc).__name__}: {exc}")
