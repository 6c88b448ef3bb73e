"""HTTP edge of the open-data API: CKAN's routes, request rules and envelope; downloads; sitemap; overdue list."""

from __future__ import annotations

import csv
import io
import json
import logging
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import anyio
import anyio.to_thread

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from huiju.auth import service as auth_service
from huiju.auth.roles import Actor
from huiju.errors import HuijuError
from huiju.i18n import N_, gettext
from huiju.opendata import ckan, service
from huiju.opendata.portal import service as portal_service
from huiju.opendata.ratelimit import RateLimiter, Verdict, limiter_for
from huiju.opendata.tally import UsageTally
from huiju.storage.uow import Storage
from huiju.web.deps import ActorDep, UowDep

log = logging.getLogger("huiju.opendata.api")
router = APIRouter(tags=["opendata"])

# Actions CKAN has that change data: huiju's portal is published through review, never through the API.
WRITE_ACTIONS = {"package_create", "package_update", "package_patch", "package_delete", "resource_create",
                 "resource_update", "resource_patch", "resource_delete", "datastore_create", "datastore_upsert",
                 "datastore_delete", "organization_create", "group_create", "organization_update", "group_update"}
INLINE = {"status_show", "help_show", "resource_show"}  # fast: answered on the event loop
# Reads of rows run on a few threads of their own: a first count of a new filter over millions of rows takes tens
# of ms and would hold every other call on the event loop (bench/opendata p99); SQLite releases the GIL meanwhile.
READS = {"datastore_search", "datastore_search_sql"}
READ_THREADS = 2  # bench/opendata, 2 cores: 2 threads gave the best p99 (4 and 8 queued more behind the GIL)
_read_threads: weakref.WeakKeyDictionary[AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()



def _body(status: int, payload: Any, callback: str | None = None) -> Response:
    text = json.dumps(payload, ensure_ascii=False, default=str)
    if callback and status == 200:
        return Response(f"{callback}({text});", media_type="application/javascript")
    return Response(text, status_code=status, media_type="application/json;charset=utf-8")


def _bad_request(message: str) -> Response:
    return _body(400, f"Bad request: {message}")


async def _data(request: Request) -> dict[str, Any] | Response:
    """The action's parameters: URL parameters on GET (repeated keys become lists), else the body."""
    if request.method == "GET":
        data: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in data:
                data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
            else:
                data[key] = value
        data.pop("callback", None)
        data.pop("_", None)
        return data
    ctype = request.headers.get("content-type", "")
    if "multipart/form-data" in ctype or "application/x-www-form-urlencoded" in ctype:
        form = await request.form()
        data = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if len(data) == 1 and next(iter(data.values())) in ("", "1"):
            raw = next(iter(data))
        else:
            return data
    else:
        raw = (await request.body()).decode("utf-8", "replace")
        if not raw.strip():
            return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as e:
        return _bad_request(f"JSON Error: Error decoding JSON data. Error: {e}")
    if not isinstance(parsed, dict):
        return _bad_request(f"JSON Error: Request data JSON decoded to {parsed!r} but it needs to be a dictionary.")
    return parsed


def _api_key(request: Request) -> str | None:
    raw = request.headers.get("authorization") or request.headers.get("x-ckan-api-key") or ""
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    return raw or None


KEY_LIMIT = N_("Too many requests: at most %(n)s API calls per minute per API key; try again in %(s)s seconds")
IP_LIMIT = N_("Too many requests: at most %(n)s API calls per minute from one address without an API key; "
              "try again in %(s)s seconds, or use an API key")


class _OverLimit(Exception):
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict


def _limiter(request: Request) -> RateLimiter:
    return limiter_for(request.app.state, request.app.state.settings.home, "ckan")  # shared by every worker process


def _too_many(verdict: Verdict, message: str, help_url: str) -> Response:
    text = gettext(message) % {"n": verdict.limit, "s": verdict.retry_after}
    response = _body(429, {"help": help_url, "success": False,
                           "error": {"__type": "Rate Limit Error", "message": text}})
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def _readers() -> anyio.CapacityLimiter:
    """The row readers' threads, one limiter per event loop (anyio binds it to the loop that first waits)."""
    loop = get_running_loop()
    found = _read_threads.get(loop)
    if found is None:
        found = _read_threads[loop] = anyio.CapacityLimiter(READ_THREADS)
    return found


def tally(app: Any) -> UsageTally:
    """The app's in-memory count of API calls and downloads (see opendata/tally.py)."""
    found = getattr(app.state, "usage_tally", None)
    if found is None:
        found = app.state.usage_tally = UsageTally(app.state.settings.opendata_usage_flush_seconds)
    return found


def _run(storage: Storage, base_url: str, key: str | None, actor: Actor, name: str, data: dict[str, Any],
         counts: UsageTally, limiter: RateLimiter) -> Any:
    with storage.uow() as uow:
        if key is not None:  # the key's own limit when the portal gave it one, else HUIJU_OPENDATA_RATE_PER_KEY
            found = portal_service.key_limit(uow, key)
            verdict = limiter.check("key", found.caller, found.per_minute)
            if not verdict.allowed:
                raise _OverLimit(verdict)
            actor = found.actor
        return ckan.call(ckan.Ctx(uow, actor, base_url, counts), name, data)


@router.api_route("/api/3/action/{name}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/action/{name}", methods=["GET", "POST"], include_in_schema=False)
async def action(name: str, request: Request) -> Response:
    """CKAN Action API v3: the envelope ``{help, success, result|error}``, exactly as CKAN sends it."""
    base_url = str(request.base_url).rstrip("/")
    help_url = f"{base_url}/api/3/action/help_show?name={name}"
    if name in WRITE_ACTIONS and request.method == "GET":
        return _bad_request("JSON Error: Invalid request. Please use POST method for your request")
    if name not in ckan.ACTIONS and name not in WRITE_ACTIONS:
        return _bad_request(f"Action name not known: {name}")
    data = await _data(request)
    if isinstance(data, Response):
        return data
    key = _api_key(request)
    actor = Actor.anonymous()
    callback = request.query_params.get("callback") if request.method == "GET" else None
    if callback:
        key = None  # JSONP runs anonymously
    limiter = _limiter(request)
    if key is None:
        ip = request.client.host if request.client else "unknown"
        verdict = limiter.check("ip", ip, request.app.state.settings.opendata_rate_per_ip)
        if not verdict.allowed:
            return _too_many(verdict, IP_LIMIT, help_url)
    storage: Storage = request.app.state.storage
    try:
        if name in WRITE_ACTIONS:
            raise ckan.CkanError(403, {"__type": "Authorization Error",
                                       "message": f"Access denied: User  not authorized to {name.replace('_', ' ')}: "
                                                  + gettext("open data is published through review on the portal")})
        counts = tally(request.app)
        if name in INLINE:
            result = _run(storage, base_url, key, actor, name, data, counts, limiter)
        elif name in READS:
            result = await anyio.to_thread.run_sync(_run, storage, base_url, key, actor, name, data, counts, limiter,
                                                    limiter=_readers())
        else:
            result = await run_in_threadpool(_run, storage, base_url, key, actor, name, data, counts, limiter)
        if counts.due():
            await run_in_threadpool(counts.flush, storage)
    except _OverLimit as e:
        return _too_many(e.verdict, KEY_LIMIT, help_url)
    except ckan.CkanError as e:
        return _body(e.status, {"help": help_url, "success": False, "error": e.error})
    except HuijuError as e:  # token resolution
        err = ckan.from_huiju(e, actor, name)
        return _body(err.status, {"help": help_url, "success": False, "error": err.error})
    except Exception:
        log.exception("CKAN action %s failed", name)
        return _body(500, {"help": help_url, "success": False,
                           "error": {"__type": "Internal Server Error", "message": "Internal Server Error"}})
    response = _body(200, {"help": help_url, "success": True, "result": result}, callback)
    # Anonymous GETs of published data may be cached briefly by browsers and proxies; keyed calls never.
    response.headers["Cache-Control"] = "public, max-age=60" if key is None and request.method == "GET" \
        else "private, no-store"
    return response


@router.get("/api/3", include_in_schema=False)
@router.get("/api", include_in_schema=False)
def api_version() -> JSONResponse:
    return JSONResponse({"version": 3})


@router.get("/datastore/dump/{resource_id}", tags=["opendata"])
def dump(resource_id: str, request: Request, format: str = "csv") -> Response:  # noqa: A002  (CKAN's name)
    """A whole open version as CSV (UTF-8 with BOM, so Excel shows Chinese), TSV or JSON Lines, streamed.
    Conditional data only for the API key (``Authorization`` header) of a user whose agreement for it is active."""
    if format not in ("csv", "tsv", "jsonl"):
        return JSONResponse({"error": gettext("format must be csv, tsv or jsonl")}, status_code=400)
    storage: Storage = request.app.state.storage
    uow = storage.uow()
    key = _api_key(request)
    try:
        actor = auth_service.actor_for_token(uow, key) if key is not None else Actor.anonymous()
        resource = service.served_resource(uow, resource_id, actor=actor)
        if resource.open_class != "unconditional":
            portal_service.record_conditional_read(uow, actor, resource.uid, via="dump", rows=None)
        else:
            tally(request.app).add(resource.uid, "download")
        stream = service.open_rows(uow, resource, purpose=f"download {resource_id}")
    except HuijuError as e:
        uow.__exit__(None, None, None)
        return JSONResponse({"error": e.localized()}, status_code=e.status)

    def body() -> Iterator[bytes]:
        try:
            with stream:
                if format == "csv":
                    yield "\ufeff".encode()
                header = False
                for batch in stream:
                    rows = batch.to_pylist()
                    buf = io.StringIO()
                    if format == "jsonl":
                        buf.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
                    else:
                        writer = csv.writer(buf, delimiter="," if format == "csv" else "\t", lineterminator="\r\n")
                        if not header:
                            writer.writerow(batch.schema.names)
                            header = True
                        writer.writerows([r.values() for r in rows])
                    yield buf.getvalue().encode()
        finally:
            uow.__exit__(None, None, None)

    media = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
             "jsonl": "application/x-ndjson"}[format]
    return StreamingResponse(body(), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{resource_id}.{format}"',
        "Cache-Control": "public, max-age=300" if key is None else "private, no-store"})


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap(request: Request, uow: UowDep) -> Response:
    """Every open dataset's page and its API description, for search engines and harvesters."""
    base = str(request.base_url).rstrip("/")
    urls = [f"<url><loc>{escape(base)}/opendata</loc></url>"]
    for od in service.published_datasets(uow):
        urls.append(f"<url><loc>{escape(base)}/opendata/datasets/{escape(od.name)}</loc>"
                    f"<lastmod>{od.metadata_modified.date().isoformat()}</lastmod></url>")
        urls.append(f"<url><loc>{escape(base)}/api/3/action/package_show?id={escape(od.name)}</loc>"
                    f"<lastmod>{od.metadata_modified.date().isoformat()}</lastmod></url>")
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           + "".join(urls) + "</urlset>\n")
    return Response(xml, media_type="application/xml", headers={"Cache-Control": "public, max-age=600"})


@router.get("/opendata/catalog.{fmt}", include_in_schema=False)
def open_catalog(fmt: str, request: Request, uow: UowDep) -> Response:
    """DCAT-AP of the open-data catalog (``ttl`` or ``jsonld``) with download and API distributions."""
    if fmt not in ("ttl", "jsonld"):
        return JSONResponse({"error": gettext("format must be ttl or jsonld")}, status_code=404)
    text = service.open_catalog_rdf(uow, base_url=str(request.base_url), fmt=fmt)
    media = "text/turtle; charset=utf-8" if fmt == "ttl" else "application/ld+json"
    return Response(text, media_type=media, headers={"Cache-Control": "public, max-age=600"})


@router.get("/api/v1/opendata/overdue", tags=["opendata"])
def overdue(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Openable catalog entries not opened within the configured months (operator)."""
    return [{**o.__dict__, "created_at": o.created_at.isoformat()} for o in service.overdue_openable(uow, actor)]


@router.get("/api/v1/opendata/overdue.csv", tags=["opendata"])
def overdue_csv(uow: UowDep, actor: ActorDep) -> Response:
    return Response(service.overdue_openable_csv(uow, actor), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="overdue-openable.csv"'})
