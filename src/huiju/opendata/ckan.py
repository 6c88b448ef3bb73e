"""The CKAN Action API v3 over huiju's open data (reference/ckan-api.md): the actions and their exact shapes.

Packages are published open datasets, organizations are departments, groups are the catalog's themes
and base-resource classes, resources are open versions. Every action returns the ``result`` of CKAN's
envelope or raises :class:`CkanError` carrying the ``__type`` CKAN would send.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any
from urllib.parse import urlencode

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from huiju import __version__
from huiju.auth.roles import Actor
from huiju.catalog import vocab
from huiju.errors import Forbidden, HuijuError, Invalid, NotFound, Unauthenticated
from huiju.i18n import gettext
from huiju.catalog import serving
from huiju.opendata import service, solr
from huiju.opendata.portal import service as portal_service
from huiju.opendata.tally import UsageTally
from huiju.opendata.models import OpenDataset, OpenVersion
from huiju.storage.uow import UnitOfWork

CKAN_VERSION = "2.12.0"  # the API level served (reference/ckan-api.md)
SEARCH_PARAMS = {"q", "fl", "fq", "fq_list", "rows", "sort", "start", "wt", "qf", "bf", "boost", "tie", "defType",
                 "mm", "df", "facet", "extras", "include_private", "include_drafts", "include_deleted",
                 "use_default_schema", "include_plugin_data"}
SEARCH_FIELDS = {"id", "name", "title", "organization", "owner_org", "groups", "tags", "res_format", "license_id",
                 "metadata_modified", "metadata_created", "state", "capacity", "dataset_type", "type", "open_class",
                 "text", "res_name", "update_frequency"}
SEARCH_SORTS = {"id", "name", "title", "title_string", "metadata_modified", "metadata_created", "score"}
DEFAULT_FACETS = ["organization", "groups", "tags", "res_format", "license_id"]
LICENSES = {"cc-by": "Creative Commons Attribution", "cc-zero": "Creative Commons CCZero",
            "odc-by": "Open Data Commons Attribution License", "other-open": "Other (Open)"}
_NS = uuid.UUID("6f1d3c52-9a1e-4f0e-8d7c-2a6f0b6d9e11")


class CkanError(Exception):
    """An action's failure as CKAN reports it: HTTP status and the ``error`` object."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", error.get("__type")))
        self.status = status
        self.error = error


def not_found(message: str = "Not found") -> CkanError:
    return CkanError(404, {"__type": "Not Found Error", "message": message})


def validation(errors: dict[str, list[str]]) -> CkanError:
    return CkanError(409, {**errors, "__type": "Validation Error"})


def search_query_error(message: str) -> CkanError:
    return CkanError(400, {"__type": "Search Query Error", "message": f"Search Query is invalid: {message}"})


def from_huiju(error: HuijuError, actor: Actor, action: str) -> CkanError:
    """A platform error in CKAN's terms (messages in the visitor's language)."""
    text = error.localized()
    if isinstance(error, NotFound):
        return not_found(f"Not found: {text}")
    if isinstance(error, Forbidden | Unauthenticated):
        user = "" if not actor.is_authenticated else actor.username
        return CkanError(403, {"__type": "Authorization Error",
                               "message": f"Access denied: User {user} not authorized to {action}: {text}"})
    return validation({"message": [text]})


@dataclass
class Ctx:
    """One API call: the unit of work, who calls, and the site's base URL for links."""

    uow: UnitOfWork
    actor: Actor
    base_url: str
    tally: UsageTally | None = None  # counts unconditional reads for the statistics

    @property
    def settings(self) -> Any:
        return self.uow.settings


# ---- parameter helpers ------------------------------------------------------------------------------

def _int(data: dict[str, Any], key: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = data.get(key, default)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise validation({key: ["Invalid integer"]}) from None
    if value < low:
        raise validation({key: ["Must be a natural number"]})
    return min(value, high) if high is not None else value


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    raw = data.get(key, default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off", ""):
            return False
    if isinstance(raw, int):
        return bool(raw)
    raise validation({key: ["Invalid boolean"]})


def _json(data: dict[str, Any], key: str) -> Any:
    """A structured parameter: JSON text on GET, a JSON value on POST."""
    raw = data.get(key)
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise validation({key: ["Cannot parse JSON"]}) from None
    return raw


def _ident(data: dict[str, Any], key: str = "id") -> str:
    value = data.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    if not value or not isinstance(value, str):
        raise validation({key: ["Missing value"]})
    return value


def _ts(value: datetime | None) -> str | None:
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") if value else None


# ---- shapes -----------------------------------------------------------------------------------------

def _org_id(code: str) -> str:
    return str(uuid.uuid5(_NS, f"department:{code}"))


def _org(dept: Any, package_count: int | None = None) -> dict[str, Any]:
    out = {"id": _org_id(dept.code), "name": dept.code.lower(), "title": dept.name, "display_name": dept.name,
           "type": "organization", "description": "", "image_url": "", "image_display_url": "",
           "created": _ts(dept.created_at), "is_organization": True, "approval_status": "approved",
           "state": "active"}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def _groups_vocab() -> dict[str, str]:
    return {**vocab.THEMES, **vocab.BASE_RESOURCES}


def _group(name: str, package_count: int | None = None) -> dict[str, Any]:
    title = gettext(_groups_vocab().get(name, name))
    out = {"id": str(uuid.uuid5(_NS, f"group:{name}")), "name": name, "title": title, "display_name": title,
           "type": "group", "description": "", "image_url": "", "image_display_url": "",
           "created": None, "is_organization": False, "approval_status": "approved", "state": "active"}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def _tag(name: str) -> dict[str, Any]:
    return {"display_name": name, "id": str(uuid.uuid5(_NS, f"tag:{name}")), "name": name, "state": "active",
            "vocabulary_id": None}


def _resource(ctx: Ctx, od: OpenDataset, ov: OpenVersion, position: int = 0) -> dict[str, Any]:
    return {"cache_last_updated": None, "cache_url": None, "created": _ts(ov.created_at), "datastore_active": True,
            "description": gettext("Open version %(n)s, %(rows)s rows") % {"n": ov.number, "rows": ov.row_count},
            "format": "CSV", "hash": "", "id": ov.uid, "last_modified": _ts(ov.created_at),
            "metadata_modified": _ts(ov.created_at), "mimetype": "text/csv", "mimetype_inner": None,
            "name": f"{od.title} v{ov.number}", "package_id": od.uid, "position": position, "resource_type": None,
            "size": None, "state": "active", "url": f"{ctx.base_url}/datastore/dump/{ov.uid}", "url_type": "datastore",
            "datastore_rows": ov.row_count}


def _package(ctx: Ctx, od: OpenDataset, ov: OpenVersion | None, depts: dict[int, Any]) -> dict[str, Any]:
    dept = depts[od.department_id]
    org = _org(dept)
    resources = [_resource(ctx, od, ov)] if ov is not None else []
    extras = [{"key": "open_class", "value": od.open_class},
              {"key": "update_frequency", "value": od.update_frequency}]
    return {"author": dept.name, "author_email": None, "creator_user_id": None, "extras": extras,
            "groups": [_group(g) for g in od.themes], "id": od.uid, "isopen": True, "license_id": od.license_id,
            "license_title": LICENSES.get(od.license_id, od.license_id), "maintainer": dept.name,
            "maintainer_email": None, "metadata_created": _ts(od.metadata_created),
            "metadata_modified": _ts(od.metadata_modified), "name": od.name, "notes": od.notes,
            "num_resources": len(resources), "num_tags": len(od.tags), "organization": org, "owner_org": org["id"],
            "private": False, "relationships_as_object": [], "relationships_as_subject": [], "resources": resources,
            "state": "active", "tags": [_tag(t) for t in od.tags], "title": od.title, "type": "dataset",
            "url": f"{ctx.base_url}/opendata/datasets/{od.name}", "version": str(ov.number) if ov else None}


def _doc(od: OpenDataset, ov: OpenVersion | None, dept: Any) -> dict[str, Any]:
    """The search document of a package (what fq and facets see)."""
    return {"id": od.uid, "name": od.name, "title": od.title, "organization": dept.code.lower(),
            "owner_org": _org_id(dept.code), "groups": list(od.themes), "tags": list(od.tags),
            "res_format": ["CSV"] if ov else [], "license_id": od.license_id, "state": "active",
            "capacity": "public", "dataset_type": "dataset", "type": "dataset", "open_class": od.open_class,
            "update_frequency": od.update_frequency, "res_name": [f"{od.title} v{ov.number}"] if ov else [],
            "metadata_modified": od.metadata_modified, "metadata_created": od.metadata_created,
            "text": " ".join([od.name, od.title, od.notes, *od.tags, dept.name])}


class _Catalog:
    """Published packages with their current versions and departments, loaded once per call."""

    def __init__(self, ctx: Ctx) -> None:
        self.datasets = service.published_datasets(ctx.uow)
        self.versions = service.current_open_versions(ctx.uow, [od.id for od in self.datasets])
        self.depts = {d.id: d for d in service.public_departments(ctx.uow)}

    def docs(self) -> list[tuple[OpenDataset, dict[str, Any]]]:
        return [(od, _doc(od, self.versions.get(od.id), self.depts[od.department_id])) for od in self.datasets]


# ---- actions ----------------------------------------------------------------------------------------

def status_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Return the site's title, URL, default locale, extensions and the CKAN API version it serves."""
    return {"site_title": gettext("huiju open data portal"), "site_description": gettext(
        "Open government data of the city, served by huiju"), "site_url": ctx.base_url, "error_emails_to": None,
        "locale_default": ctx.settings.default_locale, "extensions": ["datastore", "huiju"],
        "ckan_version": CKAN_VERSION, "huiju_version": __version__}


def package_search(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Search open datasets: q, fq/fq_list (Solr syntax), rows (≤1000), start, sort, facet.field, facet.limit."""
    unknown = sorted(k for k in data if k not in SEARCH_PARAMS and not k.startswith(("facet.", "ext_")))
    if unknown:
        raise search_query_error(f"Invalid search parameters: {unknown}")
    rows = _int(data, "rows", 10, high=1000)
    start = _int(data, "start", 0)
    fq_list = data.get("fq_list") or []
    fq_list = [fq_list] if isinstance(fq_list, str) else list(fq_list)
    fq = data.get("fq") or ""
    fq = " ".join(fq) if isinstance(fq, list) else str(fq)
    q = data.get("q") or "*:*"
    q = " ".join(q) if isinstance(q, list) else str(q)
    try:
        preds = [solr.parse(text, SEARCH_FIELDS) for text in [q, fq, *fq_list]]
    except solr.QueryError as e:
        raise search_query_error(str(e)) from None
    cat = _Catalog(ctx)
    matched = [(od, doc) for od, doc in cat.docs() if all(p(doc) for p in preds)]
    sort = data.get("sort") or "score desc, metadata_modified desc"
    for part in reversed([p.strip() for p in str(sort).split(",") if p.strip()]):
        field, _, direction = part.partition(" ")
        field = "title" if field == "title_string" else field
        if field not in SEARCH_SORTS or direction.strip().lower() not in ("", "asc", "desc"):
            raise search_query_error(f"Can't determine sort order from {part!r}")
        if field == "score":
            continue
        matched.sort(key=lambda pair, f=field: pair[1][f], reverse=direction.strip().lower() == "desc")
    facet_fields = _json(data, "facet.field")
    if facet_fields is None:
        facet_fields = DEFAULT_FACETS
    facet_fields = [facet_fields] if isinstance(facet_fields, str) else list(facet_fields)
    limit = _int(data, "facet.limit", 50, low=-1_000_000)
    mincount = _int(data, "facet.mincount", 1)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    if _bool(data, "facet", True):
        for field in facet_fields:
            if field not in SEARCH_FIELDS:
                raise search_query_error(f"undefined field {field}")
            counts: Counter[str] = Counter()
            for _od, doc in matched:
                value = doc.get(field)
                for v in value if isinstance(value, list) else [value]:
                    if v not in (None, ""):
                        counts[str(v)] += 1
            items = [(k, n) for k, n in counts.most_common() if n >= mincount]
            if limit >= 0:
                items = items[:limit]
            facets[field] = dict(items)
            search_facets[field] = {"title": field, "items": [
                {"name": k, "display_name": _display(field, k, cat), "count": n} for k, n in items]}
    page = matched[start:start + rows]
    results = [_package(ctx, od, cat.versions.get(od.id), cat.depts) for od, _doc_ in page]
    return {"count": len(matched), "facets": facets, "results": results, "sort": sort,
            "search_facets": search_facets}


def _display(field: str, value: str, cat: _Catalog) -> str:
    if field == "organization":
        return next((d.name for d in cat.depts.values() if d.code.lower() == value), value)
    if field == "groups":
        return gettext(_groups_vocab().get(value, value))
    return value


def package_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Return one open dataset by name or id, with its current resource."""
    od = _published(ctx, _ident(data))
    ov = service.current_open_versions(ctx.uow, [od.id]).get(od.id)
    depts = {d.id: d for d in service.public_departments(ctx.uow)}
    return _package(ctx, od, ov, depts)


def _published(ctx: Ctx, ident: str) -> OpenDataset:
    try:
        return service.published_dataset(ctx.uow, ident)
    except NotFound:
        raise not_found() from None


def package_list(ctx: Ctx, data: dict[str, Any]) -> list[str]:
    """Return the names of all open datasets (limit, offset)."""
    names = [od.name for od in service.published_datasets(ctx.uow)]
    offset = _int(data, "offset", 0)
    limit = _int(data, "limit", len(names))
    return names[offset:offset + limit]


def _group_list(ctx: Ctx, data: dict[str, Any], *, orgs: bool) -> list[Any]:
    cat = _Catalog(ctx)
    counts: Counter[str] = Counter()
    for od, doc in cat.docs():
        for name in ([doc["organization"]] if orgs else doc["groups"]):
            counts[name] += 1
    if orgs:
        items = {d.code.lower(): d for d in cat.depts.values()}
    else:
        items = {name: name for name in _groups_vocab()}
    wanted = data.get("organizations" if orgs else "groups")
    if wanted:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        items = {k: v for k, v in items.items() if k in wanted}
    sort = str(data.get("sort") or data.get("order_by") or "name asc")
    field, _, direction = sort.partition(" ")
    keys = sorted(items)
    if field == "package_count":
        keys.sort(key=lambda k: counts[k])
    elif field == "title":
        keys.sort(key=lambda k: items[k].name if orgs else gettext(_groups_vocab()[k]))
    if direction.strip().lower() == "desc":
        keys.reverse()
    all_fields = _bool(data, "all_fields", False)
    max_rows = 25 if all_fields else 1000
    offset = _int(data, "offset", 0)
    limit = _int(data, "limit", max_rows, high=max_rows)
    keys = keys[offset:offset + limit]
    if not all_fields:
        return keys
    with_count = _bool(data, "include_dataset_count", True)
    return [_org(items[k], counts[k] if with_count else None) if orgs else _group(k, counts[k] if with_count else None)
            for k in keys]


def organization_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    """Return departments (organizations): names, or dicts with all_fields (limit ≤ 25 then)."""
    return _group_list(ctx, data, orgs=True)


def group_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    """Return themes and base-resource classes (groups): names, or dicts with all_fields."""
    return _group_list(ctx, data, orgs=False)


def _group_show(ctx: Ctx, data: dict[str, Any], *, orgs: bool) -> dict[str, Any]:
    ident = _ident(data)
    cat = _Catalog(ctx)
    docs = cat.docs()
    if orgs:
        dept = next((d for d in cat.depts.values() if ident in (d.code.lower(), _org_id(d.code), d.code)), None)
        if dept is None:
            raise not_found("Not found: Organization was not found.")
        key = dept.code.lower()
        members = [(od, doc) for od, doc in docs if doc["organization"] == key]
        out = _org(dept, len(members))
    else:
        name = next((g for g in _groups_vocab() if ident in (g, str(uuid.uuid5(_NS, f"group:{g}")))), None)
        if name is None:
            raise not_found("Not found: Group was not found.")
        members = [(od, doc) for od, doc in docs if name in doc["groups"]]
        out = _group(name, len(members))
    out["users"] = []
    out["extras"] = []
    out["tags"] = []
    out["groups"] = []
    if _bool(data, "include_datasets", False):
        out["packages"] = [_package(ctx, od, cat.versions.get(od.id), cat.depts) for od, _d in members[:1000]]
    return out


def organization_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Return one department (organization) by name or id; include_datasets adds its open datasets."""
    return _group_show(ctx, data, orgs=True)


def group_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Return one theme (group) by name or id; include_datasets adds its open datasets."""
    return _group_show(ctx, data, orgs=False)


def tag_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    """Return the tags of open datasets (query: substring; all_fields: tag dicts)."""
    tags = sorted({t for od in service.published_datasets(ctx.uow) for t in od.tags})
    query = data.get("query") or data.get("q")
    if query:
        tags = [t for t in tags if str(query).lower() in t.lower()]
    return [_tag(t) for t in tags] if _bool(data, "all_fields", False) else tags


def resource_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Return one resource (an open version) by id."""
    try:
        od, ov = service.published_version(ctx.uow, _ident(data))
    except NotFound:
        raise not_found("Not found: Resource was not found.") from None
    return _resource(ctx, od, ov)


def _served(ctx: Ctx, resource_id: str) -> service.ServedResource:
    """The resource for this caller: conditional ones only under the caller's active agreement."""
    try:
        return service.served_resource(ctx.uow, resource_id, actor=ctx.actor)
    except NotFound:
        raise not_found("Not found: Resource was not found.") from None


def _count(ctx: Ctx, served: service.ServedResource, action: str, rows: int) -> None:
    """Count the call for the dataset's statistics; a read of conditional data is also audited under its
    agreement, at once."""
    if served.open_class != "unconditional":
        portal_service.record_conditional_read(ctx.uow, ctx.actor, served.uid, via=action, rows=rows)
    elif ctx.tally is not None:
        ctx.tally.add(served.uid)


def datastore_search(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Search an open version's rows: filters (value, list, {gt,gte,lt,lte,eq}, $or/$and), q, fields, sort,
    limit (≤ rows_max) / offset, records_format (objects, lists, csv, tsv), include_total; keyset next_page."""
    resource_id = _ident(data, "resource_id") if "resource_id" in data else _ident(data, "id")
    served = _served(ctx, resource_id)
    query = serving.Query(served.fields)
    try:
        filters = _json(data, "filters")
        if filters not in (None, ""):
            query.add_filters(filters)
        q = _json(data, "q")
        if q not in (None, ""):
            query.add_q(q)
        query.set_fields(_json(data, "fields"))
        query.set_sort(_json(data, "sort"))
    except Invalid as e:
        raise validation({"query": [e.localized()]}) from None
    if _bool(data, "distinct", False):
        raise validation({"distinct": [gettext("distinct is not supported")]})
    rows_max = ctx.settings.opendata_rows_max
    limit = _int(data, "limit", 100, high=rows_max)
    offset = _int(data, "offset", 0)
    include_total = _bool(data, "include_total", True)
    fmt = str(data.get("records_format") or "objects")
    if fmt not in ("objects", "lists", "csv", "tsv"):
        raise validation({"records_format": [gettext("must be objects, lists, csv or tsv")]})
    page = serving.search(served.path, query, limit=limit, offset=offset,
                          total=served.row_count if not query.where else None, count=include_total,
                          count_cap=ctx.settings.opendata_count_cap)
    _count(ctx, served, "datastore_search", len(page.records))
    types = {"_id": "int", **{f["id"]: f["type"] for f in served.fields}}
    out: dict[str, Any] = {"include_next_page": True, "include_total": include_total, "limit": limit,
                           "records_format": fmt, "resource_id": served.uid,
                           "fields": [{"id": c, "type": types[c]} for c in page.columns]}
    if offset:
        out["offset"] = offset
    for key in ("filters", "q", "sort"):
        if data.get(key) not in (None, ""):
            out[key] = _json(data, key)
    if fmt == "objects":
        out["records"] = [dict(zip(page.columns, r, strict=True)) for r in page.records]
    elif fmt == "lists":
        out["records"] = [list(r) for r in page.records]
    else:
        buf = io.StringIO()
        csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n").writerows(page.records)
        out["records"] = buf.getvalue()
    if include_total:
        out["total"] = page.total
        out["total_was_estimated"] = page.total_was_estimated
    base = "/api/3/action/datastore_search?"
    common = {"resource_id": served.uid, "limit": limit}
    for key in ("q", "fields", "sort", "records_format"):
        if data.get(key) not in (None, ""):
            value = _json(data, key)
            common[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    links = {"start": base + urlencode({**common, **({"filters": json.dumps(filters, ensure_ascii=False)}
                                                      if filters else {})})}
    if len(page.records) == limit:
        if page.last_id is not None:
            keyset = {**(filters if isinstance(filters, dict) else {}), "_id": {"gt": page.last_id}}
            out["next_page"] = {"_id": {"gt": page.last_id}}
            links["next"] = base + urlencode({**common, "filters": json.dumps(keyset, ensure_ascii=False)})
        else:
            links["next"] = base + urlencode({**common, "offset": offset + limit,
                                               **({"filters": json.dumps(filters, ensure_ascii=False)}
                                                  if filters else {})})
    out["_links"] = links
    return out


def datastore_search_sql(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Run one read-only SELECT over open tables (named by resource id, in double quotes): parsed with
    sqlglot, run by DuckDB with external file access off, with time and row limits."""
    sql = data.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise validation({"sql": ["Missing value"]})
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except sqlglot.errors.ParseError as e:
        raise validation({"sql": [gettext("Cannot parse the SQL: %(error)s") % {"error": str(e).splitlines()[0]}]}) \
            from None
    if len(statements) != 1:
        raise validation({"sql": [gettext("Send exactly one SELECT statement")]})
    stmt = statements[0]
    if not isinstance(stmt, exp.Query) or any(
            isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Into | exp.Pragma | exp.Set)
            for node in stmt.walk()):
        raise validation({"sql": [gettext("Only a SELECT statement is allowed")]})
    ctes = {c.alias_or_name for c in stmt.find_all(exp.CTE)}
    tables: dict[str, int] = Counter()
    for table in stmt.find_all(exp.Table):
        if table.args.get("db") or table.args.get("catalog") or not isinstance(table.this, exp.Identifier):
            raise validation({"sql": [gettext("Only open tables (resource ids) can be queried")]})
        if table.name not in ctes:
            tables[table.name] += 1
    if not tables:
        raise validation({"sql": [gettext("Name at least one open table (its resource id in double quotes)")]})
    served = {}
    for name in tables:
        try:
            served[name] = service.served_resource(ctx.uow, name, actor=ctx.actor)
        except NotFound:
            raise CkanError(403, {"__type": "Authorization Error",
                                  "message": f"Access denied: {name} is not an open table"}) from None
    rows_max = ctx.settings.opendata_rows_max
    duck_sql = stmt.sql(dialect="duckdb")
    conn = duckdb.connect(":memory:")
    streams = []
    timer = threading.Timer(ctx.settings.opendata_sql_timeout_seconds, conn.interrupt)
    try:
        for name, resource in served.items():
            stream = service.open_rows(ctx.uow, resource, purpose=f"datastore_search_sql {resource.uid}")
            streams.append(stream)
            conn.register(name, _reader(stream, resource, materialise=tables[name] > 1))
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        timer.start()
        try:
            result = conn.execute(f"SELECT * FROM ({duck_sql}) AS q LIMIT {rows_max + 1}")
            columns = [d[0] for d in result.description]
            records = result.fetchall()
        except duckdb.InterruptException:
            raise validation({"sql": [gettext("The query ran longer than %(s)s seconds") % {
                "s": ctx.settings.opendata_sql_timeout_seconds}]}) from None
        except duckdb.Error as e:
            raise validation({"sql": [str(e).splitlines()[0]]}) from None
    finally:
        timer.cancel()
        for stream in streams:
            stream.close()
        conn.close()
    truncated = len(records) > rows_max
    for resource in served.values():
        _count(ctx, resource, "datastore_search_sql", min(len(records), rows_max))
    records = records[:rows_max]
    out: dict[str, Any] = {"sql": sql, "fields": [{"id": c, "type": _py_type(records, i)}
                                                  for i, c in enumerate(columns)],
                           "records": [dict(zip(columns, [_jsonable(v) for v in r], strict=True)) for r in records]}
    if truncated:
        out["records_truncated"] = True
    return out


def _reader(stream: Any, resource: service.ServedResource, *, materialise: bool) -> Any:
    batches = iter(stream)
    first = next(batches, None)
    if first is None:
        return pa.table({f["id"]: pa.array([], pa.string()) for f in resource.fields})
    reader = pa.RecordBatchReader.from_batches(first.schema, chain([first], batches))
    return reader.read_all() if materialise else reader


def _py_type(records: list[tuple[Any, ...]], i: int) -> str:
    value = next((r[i] for r in records if r[i] is not None), None)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int8"
    if isinstance(value, float):
        return "float8"
    if isinstance(value, datetime):
        return "timestamp"
    return "text"


def _jsonable(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def resource_view_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    """Return a resource's views: huiju defines none (the portal page previews every resource); ckanapi dump asks."""
    try:
        service.published_version(ctx.uow, _ident(data))
    except NotFound:
        raise not_found("Not found: Resource was not found.") from None
    return []


def help_show(ctx: Ctx, data: dict[str, Any]) -> str:
    """Return the help text of an action."""
    name = _ident(data, "name")
    action = ACTIONS.get(name)
    if action is None:
        raise not_found(f"Not found: Action function not found: {name}")
    return action.__doc__ or ""


ACTIONS: dict[str, Callable[[Ctx, dict[str, Any]], Any]] = {
    fn.__name__: fn for fn in (status_show, package_search, package_show, package_list, organization_list,
                               organization_show, group_list, group_show, tag_list, resource_show, datastore_search,
                               datastore_search_sql, resource_view_list, help_show)
}


def call(ctx: Ctx, name: str, data: dict[str, Any]) -> Any:
    """Run an action; platform errors come back as CKAN errors."""
    try:
        return ACTIONS[name](ctx, data)
    except HuijuError as e:
        raise from_huiju(e, ctx.actor, name) from None
