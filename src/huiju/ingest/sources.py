"""What a source kept on the platform is made of: checked options, sealed secrets, its connector, its schedule.

Mechanism only (no permission checks, no commits); the use cases are in ``ingest.service``.

Secrets never sit in clear in the database: the password of a database or HTTP address and every HTTP
header value (an ``Authorization`` token...) are taken out of the options and sealed together with
SM4-GCM under the data key ``ingest:sources`` (security/keys.py: wrapped by the master key, rotatable;
the key version is kept beside the blob, so a rotated key still opens what it sealed). The associated
data binds a blob to its source row: copied onto another source, it no longer opens.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cronsim import CronSim, CronSimError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from huiju.errors import Invalid
from huiju.ingest.connectors import open_file
from huiju.ingest.connectors.base import Connector
from huiju.ingest.connectors.http import HttpJsonConnector
from huiju.ingest.connectors.sql import SqlConnector
from huiju.security import keys
from huiju.security.crypto import get_provider

KINDS = ("file", "sql", "http")
WRITE_MODES = ("replace", "append", "merge")
KEY_PURPOSE = "ingest:sources"
MASK = "******"
OPTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "file": {"path": str, "url": str, "headers": dict, "format": str, "encoding": str, "sheet": (str, int),
             "header_rows": int, "table": str},
    "sql": {"url": str, "table": str, "query": str, "schema": str, "columns": list},
    "http": {"url": str, "records_path": str, "page_param": str, "size_param": str, "page_size": int,
             "start_page": int, "max_pages": int, "since_param": str, "params": dict, "timeout": (int, float),
             "headers": dict},
}
REQUIRED = {"file": (), "sql": ("url",), "http": ("url",)}


def check_options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options of a source kind, typed and complete; unknown or missing ones are refused clearly."""
    if kind not in KINDS:
        raise Invalid("Source kind must be one of %(kinds)s", kinds=", ".join(KINDS))
    known = OPTIONS[kind]
    clean: dict[str, Any] = {}
    for name, value in options.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        if name not in known:
            raise Invalid("The option %(option)s does not apply to %(kind)s sources (known: %(known)s)",
                          option=name, kind=kind, known=", ".join(sorted(known)))
        if not isinstance(value, known[name]) or isinstance(value, bool):
            raise Invalid("The option %(option)s has the wrong type", option=name)
        clean[name] = value
    for name in REQUIRED[kind]:
        if name not in clean:
            raise Invalid("A %(kind)s source needs the option %(option)s", kind=kind, option=name)
    if kind == "sql" and ("table" in clean) == ("query" in clean):
        raise Invalid("A database source names either a table or a query, not both and not neither")
    if kind == "file" and ("path" in clean) == ("url" in clean):
        raise Invalid("A file source names either a path on the platform's machine or a URL to fetch it from")
    if kind == "file" and "path" in clean and not Path(clean["path"]).is_absolute():
        raise Invalid("The path of a file source must be absolute (a file on the platform's machine)")
    if kind in ("http", "file") and "url" in clean and not clean["url"].lower().startswith(("http://", "https://")):
        raise Invalid("The address of an HTTP source must start with http:// or https://")
    return clean


def local_file(kind: str, options: dict[str, Any]) -> Path | None:
    """The file on the platform's machine a source would read: a file source's path, or a SQLite database."""
    if kind == "file" and "path" in options:
        return Path(options["path"])
    if kind == "sql":
        try:
            url = make_url(options["url"])
        except ArgumentError:
            return None
        if url.get_backend_name() == "sqlite":
            database = (url.database or "").removeprefix("file:").split("?")[0]
            return Path(database) if database and database != ":memory:" else None
    return None


def check_local_access(kind: str, options: dict[str, Any], roots: list[Path], *, platform_files: list[Path],
                       anywhere: bool) -> None:
    """A source may read local files only inside the allowed folders (``HUIJU_SOURCE_ROOTS``), and never the
    platform's own database or key files: a steward must not be able to load them into a dataset."""
    path = local_file(kind, options)
    if path is None:
        return
    resolved = path.expanduser().resolve()
    if any(resolved == f.resolve() for f in platform_files) or resolved.name.endswith(".key"):
        raise Invalid("A source cannot read the platform's own database or key files")
    if not anywhere and not any(resolved.is_relative_to(root) for root in roots):
        raise Invalid("A source may read files only inside %(roots)s (setting HUIJU_SOURCE_ROOTS)",
                      roots=", ".join(str(r) for r in roots))


def split_secrets(kind: str, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options without secrets, and the secrets: an address's password and every HTTP header."""
    options, secrets = dict(options), {}
    if "url" in options:
        options["url"], password = _without_password(options["url"], kind)
        if password is not None:
            secrets["password"] = password
    if "headers" in options:
        headers = options.pop("headers")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise Invalid("HTTP headers are names and text values")
        secrets["headers"] = headers
    return options, secrets


def _without_password(url: str, kind: str) -> tuple[str, str | None]:
    if kind == "sql":
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise Invalid("The database address is not an SQLAlchemy URL (like postgresql+psycopg://user@host/db)") \
                from None
        password = parsed.password
        return parsed._replace(password=None).render_as_string(hide_password=False), password
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}")), parts.password


def _aad(source_id: int, version: int) -> bytes:
    return f"ingest-source|{source_id}|{version}".encode()


def seal(uow: Any, source_id: int, secrets: dict[str, Any], actor: Any = None) -> tuple[bytes | None, int | None]:
    """The secrets sealed under the current ``ingest:sources`` data key, with that key's version."""
    if not secrets:
        return None, None
    version, key = keys.data_key(uow, KEY_PURPOSE, actor=actor)
    plain = json.dumps(secrets, ensure_ascii=False, sort_keys=True).encode()
    return get_provider().sm4_gcm_encrypt(key, plain, _aad(source_id, version)), version


def unseal(uow: Any, source: Any) -> dict[str, Any]:
    """The source's secrets in clear, for opening its connector (never for showing)."""
    if source.sealed is None:
        return {}
    key = keys.data_key_version(uow, KEY_PURPOSE, source.sealed_key_version)
    try:
        plain = get_provider().sm4_gcm_decrypt(key, bytes(source.sealed), _aad(source.id, source.sealed_key_version))
    except Invalid:
        raise Invalid("The secrets of source %(name)s cannot be opened: they were altered or moved from another "
                      "source", name=source.name) from None
    return json.loads(plain)


def shown_options(source: Any) -> dict[str, Any]:
    """The options as a person may see them: secrets replaced by a mask, their names kept."""
    shown = dict(source.options or {})
    names = list((source.options or {}).get("_secret_names", []))
    shown.pop("_secret_names", None)
    if "password" in names and "url" in shown and source.kind == "sql":
        shown["url"] = make_url(shown["url"]).set(password="x").render_as_string(hide_password=True)
    elif "password" in names and "url" in shown:
        shown["url"] = _with_password(shown["url"], MASK, source.kind)
    headers = [n.removeprefix("header:") for n in names if n.startswith("header:")]
    if headers:
        shown["headers"] = {h: MASK for h in headers}
    return shown


def secret_names(secrets: dict[str, Any]) -> list[str]:
    """Which secrets a source holds (shown; their values never are)."""
    return (["password"] if "password" in secrets else []) + [f"header:{h}" for h in secrets.get("headers", {})]


def _with_password(url: str, password: str, kind: str) -> str:
    if kind == "sql":
        return make_url(url).set(password=password).render_as_string(hide_password=False)
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{password}@{host}"))


def fetch_file(source: Any, secrets: dict[str, Any], folder: Path, limit_mb: int) -> tuple[Path, bool]:
    """The file of a file source: its path, or a download of its URL into ``folder`` (then True: delete it after)."""
    opts = source.options or {}
    if "path" in opts:
        return Path(opts["path"]), False
    url = opts["url"] if "password" not in secrets else _with_password(opts["url"], secrets["password"], "file")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"source-{source.id}-{os.getpid()}-{threading.get_ident()}{Path(opts['url']).suffix[:10]}"
    limit, size = limit_mb * 1024 * 1024, 0
    try:
        with httpx.stream("GET", url, headers=secrets.get("headers"), timeout=60, follow_redirects=True) as response:
            if response.status_code >= 400:
                raise Invalid("The file's address answered %(status)s", status=response.status_code)
            with open(target, "wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise Invalid("The file is larger than the upload limit of %(mb)s MiB", mb=limit_mb)
                    out.write(chunk)
    except httpx.HTTPError as exc:
        target.unlink(missing_ok=True)
        raise Invalid("The file could not be fetched: %(reason)s", reason=str(exc) or type(exc).__name__) from None
    except Invalid:
        target.unlink(missing_ok=True)
        raise
    return target, True


def open_connector(source: Any, secrets: dict[str, Any], *, cursor: str | None, path: Path | None = None) -> Connector:
    """The source's connector, reading after ``cursor`` when the source is incremental (``path``: a file source's file)."""
    opts = {k: v for k, v in (source.options or {}).items() if not k.startswith("_")}
    if source.kind == "file":
        for name in ("path", "url"):
            opts.pop(name, None)
        if source.cursor_column:
            raise Invalid("A file source has no incremental cursor")
        return open_file(path, **opts)
    url = opts.pop("url")
    if "password" in secrets:
        url = _with_password(url, secrets["password"], source.kind)
    if source.kind == "sql":
        if "query" in opts:
            return SqlConnector(url, None, query=opts.pop("query"), since_column=source.cursor_column,
                                since_value=cursor, **opts)
        return SqlConnector(url, opts.pop("table"), since_column=source.cursor_column, since_value=cursor, **opts)
    page_size = int(opts.get("page_size", 500))
    return HttpJsonConnector(url, headers=secrets.get("headers"), cursor_field=source.cursor_column,
                             since_value=cursor if opts.get("since_param") else None, batch_rows=page_size, **opts)


def input_description(source: Any) -> dict[str, Any]:
    """What lineage says the input was: the source, its kind and where it points (no secret)."""
    shown = shown_options(source)
    where = shown.get("path") or shown.get("url")
    detail = {k: shown[k] for k in ("table", "query") if k in shown}
    return {"name": source.name, "source_id": source.id, "kind": source.kind, "address": where, **detail}


# ---- schedules ---------------------------------------------------------------------------

def check_schedule(expression: str | None) -> str | None:
    """A five-field cron expression (minute hour day month weekday), or None for no schedule."""
    if expression is None or not expression.strip():
        return None
    expression = " ".join(expression.split())
    try:
        CronSim(expression, datetime(2026, 1, 1))
    except CronSimError as exc:
        raise Invalid("The schedule %(expr)s is not a cron expression (minute hour day month weekday): %(error)s",
                      expr=expression, error=str(exc)) from None
    if len(expression.split()) != 5:
        raise Invalid("The schedule %(expr)s is not a cron expression (minute hour day month weekday): %(error)s",
                      expr=expression, error="5 fields")
    return expression


def next_run(expression: str, after: datetime, timezone: str) -> datetime:
    """The first time strictly after ``after`` that the cron expression names, read in ``timezone``."""
    local = after.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    return next(iter(CronSim(expression, local))).astimezone(after.tzinfo)
