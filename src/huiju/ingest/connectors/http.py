"""A department's HTTP JSON API read page by page, with an auth header, retries and an incremental cursor.

Not a file, so it is opened with :func:`open_http` rather than ``open_file`` (it is registered as kind
"http" so the registry lists it)::

    source = open_http("https://api.dept.example/licences", headers={"Authorization": "Bearer …"},
                       records_path="data.records", page_size=500,
                       since_param="updatedSince", since_value=last_cursor, cursor_field="updateTime")
    for batch in source.read(): ...
    last_cursor = source.cursor_value  # keep it with the source for the next run

Paging: ``page_param`` (from ``start_page``) and ``size_param`` are sent on every request, with
``since_param=since_value`` when given. Reading stops at an empty page, when the ``total`` the API states
(``total``, ``totalCount``, ``totalElements``… beside the records or at the top) has been read, or after
``max_pages`` (with a notice). Records sit where ``records_path`` says ("data", "result.records"), or are
found as for JSON files (``json.find_records``). A page identical to the one before means the API ignores
the page parameter, and is refused rather than read again and again.

Columns: the keys of the first page in first-seen order, plus ``_extra``: a key that only appears on a later
page cannot become a column (every batch has the same columns), so it is kept in ``_extra`` as JSON, with a
notice. Values become text as in JSON files (numbers as written).

Failures: 5xx answers, 429, timeouts and connection errors are retried ``retries`` times with exponential
backoff (``backoff`` × 2^n seconds, or the server's Retry-After up to a minute); other 4xx answers are not
retried and raise :class:`Invalid` with the status and the start of the body. Headers (tokens) never appear
in messages. ``cursor_value`` is the largest ``cursor_field`` value seen (numbers compared as numbers,
otherwise as text, which orders ISO dates and times); as with SQL sources, the API should return records
whose cursor is greater than ``since_value``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import pyarrow as pa

from huiju.errors import Invalid
from huiju.i18n import N_
from huiju.ingest.connectors import headers as header_names
from huiju.ingest.connectors.base import (
    BATCH_ROWS,
    ConnectorBase,
    Notice,
    RejectSink,
    make_batch,
    schema_for,
)
from huiju.ingest.connectors.json import NOT_OBJECT, _loads, find_records, text_of

EXTRA_COLUMN = "_extra"
TOTAL_KEYS = ("total", "totalCount", "total_count", "totalElements", "totalRecords", "totalRows", "totalSize",
              "totalNum", "recordsTotal")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
BODY_CHARS = 200
WRAPPED = N_("The records were read from %(key)s of each page")
EXTRA_KEYS = N_("Page %(page)s has fields the first page did not have; they were kept as JSON in the column "
                "%(column)s: %(keys)s")
PAGE_LIMIT = N_("Reading stopped after %(pages)s pages (the page limit); the source may have more records")
SHORT = N_("The source stated %(total)s records but sent %(read)s")


def open_http(url: str, **options: Any) -> HttpJsonConnector:
    """Open an HTTP JSON API as a connector (see the module docstring for the options); reads its first page."""
    return HttpJsonConnector(url, **options)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= BODY_CHARS else flat[:BODY_CHARS] + "…"


def _later(a: str, b: str | None) -> bool:
    """Whether cursor value a is after b: as numbers when both are numbers, else as text."""
    if b is None:
        return True
    try:
        return Decimal(a) > Decimal(b)
    except (InvalidOperation, ValueError):
        return a > b


def _extra_json(extra: dict[str, Any]) -> str:
    """Keys beyond the first page's columns, as JSON whose scalar values are text like every other value."""
    values = {k: v if isinstance(v, (dict, list)) else text_of(v) for k, v in extra.items()}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=text_of)


def _total(nodes: list[Any]) -> int | None:
    for node in nodes:
        if not isinstance(node, dict):
            continue
        for key in TOTAL_KEYS:
            value = node.get(key)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                return int(value)
            if isinstance(value, float) and value.is_integer():
                return int(value)
    return None


class HttpJsonConnector(ConnectorBase):
    """An HTTP JSON API, page by page; ``_row`` numbers records across pages from 1."""

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, records_path: str | None = None,
                 page_param: str = "page", size_param: str = "pageSize", page_size: int = 500, start_page: int = 1,
                 max_pages: int = 10000, since_param: str | None = None, since_value: str | None = None,
                 cursor_field: str | None = None, params: Mapping[str, str] | None = None, timeout: float = 30,
                 retries: int = 3, backoff: float = 0.5, batch_rows: int = BATCH_ROWS,
                 client: httpx.Client | None = None, on_reject: RejectSink | None = None) -> None:
        super().__init__(on_reject)
        if not url.lower().startswith(("http://", "https://")):
            raise Invalid("The address of an HTTP source must start with http:// or https://")
        if page_size < 1 or max_pages < 1 or retries < 0 or backoff < 0 or timeout <= 0:
            raise Invalid("Page size, page limit and timeout must be positive, retries and backoff not negative")
        self.url, self.headers = url, dict(headers or {})
        self.records_path, self._detect = records_path, records_path is None
        self.page_param, self.size_param, self.page_size = page_param, size_param, page_size
        self.start_page, self.max_pages = start_page, max_pages
        self.since_param, self.since_value, self.cursor_field = since_param, since_value, cursor_field
        self.params = dict(params or {})
        self.timeout, self.retries, self.backoff, self.batch_rows = timeout, retries, backoff, batch_rows
        self.cursor_value: str | None = None
        self.encoding: str | None = None
        self.pages_read = 0
        self.requests = 0
        self._client = client
        with self._session() as http:
            self._first = self._page(http, start_page)
        self.total: int | None = self._first[1]  # records the API says it has (for progress), if it says
        keys: dict[str, None] = {}
        for record in self._first[0]:
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
        self._keys = list(keys)
        self.columns, notices = header_names.unique_names([*self._keys, EXTRA_COLUMN])
        self.warnings += notices

    def _session(self) -> contextlib.AbstractContextManager[httpx.Client]:
        if self._client is not None:
            return contextlib.nullcontext(self._client)
        return httpx.Client(timeout=self.timeout, follow_redirects=True)

    def read(self) -> Iterator[pa.RecordBatch]:
        schema, known = schema_for(self.columns), set(self._keys)
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        number = fetched = pages = 0
        extra_seen: set[str] = set()
        page, (records, total) = self.start_page, self._first
        last_digest = None
        with self._session() as http:
            while records:
                pages = self.pages_read = pages + 1
                digest = hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).digest()
                if len(records) > 1 and digest == last_digest:
                    raise Invalid("The HTTP source sent the same records for page %(page)s as for the page before; "
                                  "it seems to ignore the %(param)s parameter", page=page, param=self.page_param)
                last_digest = digest
                for record in records:
                    number += 1
                    self.rows_read += 1
                    if not isinstance(record, dict):
                        self.reject(number, text_of(record) or "null", NOT_OBJECT)
                        continue
                    extra = {k: v for k, v in record.items() if k not in known}
                    if new := [k for k in extra if k not in extra_seen]:
                        extra_seen.update(new)
                        self.warnings.append(Notice(EXTRA_KEYS, {"page": page, "column": self.columns[-1],
                                                                 "keys": "、".join(new)}))
                    row = [text_of(record.get(k)) for k in self._keys]
                    row.append(_extra_json(extra) if extra else None)
                    self._track_cursor(record)
                    rows.append(row)
                    numbers.append(number)
                    if len(rows) >= self.batch_rows:
                        yield make_batch(schema, rows, numbers)
                        rows, numbers = [], []
                fetched += len(records)
                if total is not None and fetched >= total:
                    break
                if pages >= self.max_pages:
                    self.warnings.append(Notice(PAGE_LIMIT, {"pages": pages}))
                    break
                page += 1
                records, page_total = self._page(http, page)
                total = page_total if page_total is not None else total
            else:
                if total is not None and fetched < total:
                    self.warnings.append(Notice(SHORT, {"total": total, "read": fetched}))
        if rows:
            yield make_batch(schema, rows, numbers)

    def _track_cursor(self, record: dict[str, Any]) -> None:
        if self.cursor_field is None:
            return
        value = text_of(record.get(self.cursor_field))
        if value is not None and not isinstance(record.get(self.cursor_field), (dict, list)) and \
                _later(value, self.cursor_value):
            self.cursor_value = value

    def _page(self, http: httpx.Client, page: int) -> tuple[list[Any], int | None]:
        """One page's records and the total the API states (None when it states none)."""
        params: dict[str, Any] = {**self.params, self.page_param: page, self.size_param: self.page_size}
        if self.since_param and self.since_value is not None:
            params[self.since_param] = self.since_value
        response = self._get(http, params, page)
        self.encoding = response.encoding
        try:
            doc = _loads(response.text)
        except ValueError as exc:
            raise Invalid("Page %(page)s of the HTTP source is not JSON: %(error)s (%(body)s)", page=page,
                          error=str(exc).split(":")[0], body=_excerpt(response.text)) from None
        if self.records_path is None or self.records_path == "features":
            try:
                records, key = find_records(doc)
            except Invalid:
                raise Invalid("Page %(page)s of the HTTP source holds no list of records: %(body)s", page=page,
                              body=_excerpt(response.text)) from None
            if key and self._detect and self.records_path is None:
                self.records_path = key
                self.warnings.append(Notice(WRAPPED, {"key": key}))
            return records, _total([doc])
        node, parents = doc, [doc]
        for part in self.records_path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise Invalid("Page %(page)s of the HTTP source has nothing at %(path)s: %(body)s", page=page,
                              path=self.records_path, body=_excerpt(response.text))
            node = node[part]
            parents.append(node)
        if node is None:
            node = []
        if not isinstance(node, list):
            raise Invalid("Page %(page)s of the HTTP source has no list at %(path)s", page=page,
                          path=self.records_path)
        return node, _total(parents[-2::-1])

    def _get(self, http: httpx.Client, params: dict[str, Any], page: int) -> httpx.Response:
        """GET with retries on 5xx, 429, timeouts and lost connections; other 4xx fail at once."""
        attempt = 0
        while True:
            self.requests += 1
            wait = self.backoff * 2 ** attempt
            try:
                response = http.get(self.url, params=params, headers=self.headers, timeout=self.timeout)
            except httpx.InvalidURL as exc:
                raise Invalid("The address of the HTTP source is not valid: %(error)s", error=str(exc)) from None
            except httpx.TransportError as exc:
                reason = str(exc) or type(exc).__name__
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise Invalid("The HTTP source answered %(status)s for page %(page)s: %(body)s",
                                  status=response.status_code, page=page, body=_excerpt(response.text))
                reason = f"HTTP {response.status_code}"
                after = response.headers.get("retry-after", "")
                if after.isdigit():
                    wait = max(wait, min(float(after), MAX_RETRY_AFTER))
            if attempt >= self.retries:
                raise Invalid("The HTTP source failed for page %(page)s after %(attempts)s attempts: %(reason)s",
                              page=page, attempts=attempt + 1, reason=reason)
            time.sleep(wait)
            attempt += 1
