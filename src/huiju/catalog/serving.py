"""The egress's serving path: an indexed, read-only SQLite copy of a version's rows as they left ``read_rows``.

Why: naive DuckDB over Parquet answers a handful of point lookups per second (DESIGN.md §Storage); an API
serving rows (the open portal's datastore_search) needs equality filters and key lookups in about a
millisecond. The index is built only from the batches a ``read_rows``/``stream_rows`` call handed out
(already authorised, masked or dropped under the caller's ReadScope, and audited), at the moment the
version they become is published, so serving it adds no new way out of the lake: it lives here, beside
catalog/access.py, and is the only other module allowed to touch lake paths (tests/catalog/test_egress.py).
``_id`` is CKAN's row id and the keyset of every page: page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time as time_module
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from huiju.errors import Invalid
from huiju.storage.lake import Lake

MAX_FILTER_DEPTH = 10
MAX_FILTER_OPS = 100
RANGE_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}
_SORT_PART = re.compile(r"^\s*(?:\"([^\"]+)\"|(\S+))(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*$", re.I)


def ckan_type(arrow_type: pa.DataType) -> str:
    """The datastore type name CKAN clients expect for an Arrow type."""
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_time(arrow_type):
        return "time"
    return "text"


_SQLITE_TYPES = {"bool": "INTEGER", "int": "INTEGER", "numeric": "REAL", "text": "TEXT", "timestamp": "TEXT",
                 "date": "TEXT", "time": "TEXT"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plain(value: Any) -> Any:
    """A value as SQLite stores it: dates and times as ISO text, decimals as floats."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


SERVING_DIR = "serving"  # lake/serving/<dataset key>/<id>.sqlite


def index_path(lake: Lake, dataset_key: str, ident: str) -> tuple[str, Path]:
    """Where the serving index of one published version lives: (path relative to the lake root, absolute path)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", dataset_key) or not re.fullmatch(r"[A-Za-z0-9-]{1,64}", ident):
        raise Invalid("Invalid serving index name")
    relpath = f"{SERVING_DIR}/{dataset_key}/{ident}.sqlite"
    return relpath, lake.abspath(relpath)


def served_file(lake: Lake, relpath: str) -> Path:
    """The absolute path of a published serving index (recorded relative to the lake root)."""
    if not relpath.startswith(SERVING_DIR + "/") or ".." in relpath:
        raise Invalid("Invalid serving index name")
    return lake.abspath(relpath)


def remove_index(lake: Lake, relpath: str) -> None:
    """Delete a serving index file that no longer serves (its version was replaced long enough ago).

    Connections already open on it keep working (POSIX keeps an unlinked file while it is open); each
    thread drops its connections to removed files at its next sweep (``_connection``).
    """
    served_file(lake, relpath).unlink(missing_ok=True)


class IndexBuilder:
    """Writes the serving index of one open version while its rows stream out of ``read_rows``."""

    def __init__(self, path: Path, schema: pa.Schema, index_columns: Sequence[str], primary_key: str | None) -> None:
        self.path = path
        self.fields = [{"id": f.name, "type": ckan_type(f.type)} for f in schema]
        names = [f.name for f in schema]
        for col in [*index_columns, *([primary_key] if primary_key else [])]:
            if col not in names:
                raise Invalid("Column %(column)s is not in the open version", column=col)
        self.index_columns = list(dict.fromkeys(index_columns))
        self.primary_key = primary_key
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        self._conn = sqlite3.connect(self._tmp)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        cols = ", ".join(f"{_quote(f['id'])} {_SQLITE_TYPES[f['type']]}" for f in self.fields)
        self._conn.execute(f"CREATE TABLE records (_id INTEGER PRIMARY KEY, {cols})")
        marks = ", ".join("?" for _ in self.fields)
        self._insert = f"INSERT INTO records VALUES (?, {marks})"
        self._temporal = [i for i, f in enumerate(self.fields) if f["type"] in ("timestamp", "date", "time")]
        self._decimal = [i for i, f in enumerate(schema) if pa.types.is_decimal(f.type)]

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for i in self._temporal + self._decimal:
            columns[i] = [_plain(v) for v in columns[i]]
        start = self.rows + 1
        self._conn.executemany(self._insert, zip(range(start, start + batch.num_rows), *columns, strict=True))
        self.rows += batch.num_rows

    def finish(self) -> Path:
        """Create the indexes, flush, and move the file into place; returns its path."""
        for col in self.index_columns:
            if col != self.primary_key:
                self._conn.execute(f"CREATE INDEX {_quote('ix_' + col)} ON records ({_quote(col)}, _id)")
        if self.primary_key:
            self._conn.execute(f"CREATE INDEX {_quote('pk_' + self.primary_key)} ON records ({_quote(self.primary_key)})")
        self._conn.execute("ANALYZE")
        self._conn.commit()
        self._conn.close()
        with open(self._tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.rename(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._conn.close()
        self._tmp.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


def build_index(path: Path, batches: Iterable[pa.RecordBatch], schema: pa.Schema, *,
                index_columns: Sequence[str] = (), primary_key: str | None = None) -> IndexBuilder:
    """Build a serving index from record batches (used by tests and the benchmark)."""
    builder = IndexBuilder(path, schema, index_columns, primary_key)
    try:
        for batch in batches:
            builder.add(batch)
        builder.finish()
    except BaseException:
        builder.abort()
        raise
    return builder


# ---- reading -----------------------------------------------------------------------------------

_local = threading.local()
SWEEP_SECONDS = 60.0  # how often a thread closes its connections to index files removed since


def _sweep(conns: dict[str, sqlite3.Connection]) -> None:
    """Close this thread's connections to index files that were removed (by this process or another)."""
    for key in [k for k in conns if not os.path.exists(k)]:
        conns.pop(key).close()


def _connection(path: Path) -> sqlite3.Connection:
    """A read-only connection per thread and file; the file never changes once published (immutable=1)."""
    conns: dict[str, sqlite3.Connection] | None = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
        _local.swept = time_module.monotonic()
    elif time_module.monotonic() - _local.swept > SWEEP_SECONDS:
        _local.swept = time_module.monotonic()
        _sweep(conns)
    key = str(path)
    conn = conns.get(key)
    if conn is None:
        if not path.exists():
            raise Invalid("The serving index of this resource is missing; ask the operator to re-publish it")
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        conns[key] = conn
    return conn


@dataclass
class Query:
    """A datastore_search request after validation; turned into one SQL statement."""

    fields: list[dict[str, str]]
    columns: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    ops: int = 0

    @property
    def names(self) -> set[str]:
        return {"_id", *(f["id"] for f in self.fields)}

    def column(self, name: Any, what: str) -> str:
        if not isinstance(name, str) or name not in self.names:
            raise Invalid("%(what)s: field %(field)s does not exist", what=what, field=str(name))
        return _quote(name)

    def _value(self, value: Any, name: str) -> Any:
        if isinstance(value, dict | list) or value is None:
            raise Invalid("filters: the value for field %(field)s must be text or a number", field=name)
        return value

    def add_filters(self, filters: Any) -> None:
        if not isinstance(filters, dict):
            raise Invalid("filters must be an object of field: value")
        clause = self._filters(filters, depth=1)
        if clause:
            self.where.append(clause)

    def _filters(self, filters: dict[str, Any], depth: int) -> str:
        if depth > MAX_FILTER_DEPTH:
            raise Invalid("filters are nested deeper than %(n)s levels", n=MAX_FILTER_DEPTH)
        parts = []
        for key, value in filters.items():
            self.ops += 1
            if self.ops > MAX_FILTER_OPS:
                raise Invalid("filters have more than %(n)s operations", n=MAX_FILTER_OPS)
            if key in ("$or", "$and"):
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    raise Invalid("filters: %(op)s takes a list of filter objects", op=key)
                joined = (" OR " if key == "$or" else " AND ").join(
                    f"({c})" for c in (self._filters(v, depth + 1) for v in value) if c)
                if joined:
                    parts.append(f"({joined})")
                continue
            col = self.column(key, "filters")
            if isinstance(value, list):
                if not value:
                    raise Invalid("filters: the list for field %(field)s is empty", field=key)
                parts.append(f"{col} IN ({', '.join('?' for _ in value)})")
                self.params.extend(self._value(v, key) for v in value)
            elif isinstance(value, dict):
                for op, operand in value.items():
                    if op not in RANGE_OPS:
                        raise Invalid("filters: unknown operator %(op)s (use gt, gte, lt, lte, eq)", op=str(op))
                    parts.append(f"{col} {RANGE_OPS[op]} ?")
                    self.params.append(self._value(operand, key))
            else:
                parts.append(f"{col} = ?")
                self.params.append(self._value(value, key))
        return " AND ".join(parts)

    def add_q(self, q: Any) -> None:
        """Text search: a string matches any text field, ``{field: text}`` one field (substring, case-blind)."""
        if isinstance(q, str):
            if not q.strip():
                return
            texts = [f["id"] for f in self.fields if f["type"] == "text"]
            if not texts:
                self.where.append("0")
                return
            self.where.append("(" + " OR ".join(f"instr(lower({_quote(c)}), lower(?)) > 0" for c in texts) + ")")
            self.params.extend([q.strip()] * len(texts))
        elif isinstance(q, dict):
            for name, text in q.items():
                col = self.column(name, "q")
                self.where.append(f"instr(lower(CAST({col} AS TEXT)), lower(?)) > 0")
                self.params.append(str(text))
        else:
            raise Invalid("q must be text or an object of field: text")

    def set_fields(self, fields: Any) -> None:
        if fields in (None, "", []):
            self.columns = ["_id", *(f["id"] for f in self.fields)]
            return
        names = [n.strip() for n in fields.split(",")] if isinstance(fields, str) else fields
        if not isinstance(names, list):
            raise Invalid("fields must be a list or comma-separated text")
        self.columns = [n for n in dict.fromkeys(names) if n]
        for name in self.columns:
            self.column(name, "fields")

    def set_sort(self, sort: Any) -> None:
        if sort in (None, ""):
            self.order = ["_id"]
            return
        parts = sort.split(",") if isinstance(sort, str) else sort
        if not isinstance(parts, list):
            raise Invalid("sort must be text such as \"name asc, _id desc\"")
        order = []
        for part in parts:
            m = _SORT_PART.match(str(part))
            if not m:
                raise Invalid("sort: cannot read %(part)s", part=str(part))
            name = m.group(1) or m.group(2)
            expr = self.column(name, "sort") + (" DESC" if (m.group(3) or "").lower() == "desc" else "")
            if m.group(4):
                expr += f" NULLS {m.group(4).upper()}"
            order.append(expr)
        self.order = order

    @property
    def keyset(self) -> bool:
        """True when rows come in ``_id`` order, so the next page is ``_id > last``."""
        return self.order in (["_id"], ['"_id"'])


@dataclass
class Page:
    records: list[tuple[Any, ...]]
    columns: list[str]
    total: int
    total_was_estimated: bool
    last_id: int | None


def search(path: Path, query: Query, *, limit: int, offset: int, total: int | None, count: bool = True,
           count_cap: int) -> Page:
    """Run a validated query against a serving index; ``total`` is known when nothing filters the rows.

    Matching rows are counted exactly up to ``count_cap`` (then the total is marked estimated): never
    millions of rows counted per request.
    """
    conn = _connection(path)
    where = (" WHERE " + " AND ".join(f"({w})" for w in query.where)) if query.where else ""
    order = ", ".join('"_id"' if o == "_id" else o for o in query.order)
    cols = list(query.columns)
    select_cols = cols if "_id" in cols or not query.keyset else [*cols, "_id"]
    sql = (f"SELECT {', '.join(_quote(c) for c in select_cols)} FROM records{where} ORDER BY {order}"
           f" LIMIT ? OFFSET ?")
    rows = conn.execute(sql, [*query.params, limit, offset]).fetchall()
    last_id = None
    if query.keyset and rows:
        last_id = rows[-1][select_cols.index("_id")]
    if len(select_cols) != len(cols):
        rows = [r[:-1] for r in rows]
    estimated = False
    if not count:
        total = -1
    elif total is None:
        key = (str(path), where, repr(query.params), count_cap)
        counted = _counts.get(key)
        if counted is None:
            counted = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM records{where} LIMIT ?)",
                                   [*query.params, count_cap + 1]).fetchone()[0]
            _remember_count(key, counted)
        estimated = counted > count_cap
        total = count_cap if estimated else counted
    return Page(rows, cols, total, estimated, last_id)


# A published index never changes, so the number of rows matching a filter never does either.
_COUNTS_KEPT = 10_000
_counts: dict[tuple[str, str, str, int], int] = {}
_counts_lock = threading.Lock()


def _remember_count(key: tuple[str, str, str, int], value: int) -> None:
    with _counts_lock:
        if len(_counts) >= _COUNTS_KEPT:
            _counts.pop(next(iter(_counts)))
        _counts[key] = value


# ---- totals per value (the portal's region chart) ------------------------------------------------

_TOTALS_KEPT = 1_000
_totals: dict[tuple[str, str, tuple[str, ...], int], list[tuple[Any, ...]]] = {}


def group_totals(path: Path, fields: list[dict[str, str]], by: str, sums: Sequence[str] = (), *,
                 limit: int = 500) -> list[tuple[Any, ...]]:
    """Rows per value of ``by`` with the sums of ``sums``, most rows first: ``(value, rows, sum, ...)``.

    Read from the published index like ``search`` (never the lake); a published index never changes, so the
    answer is kept per file.
    """
    query = Query(fields)
    group = query.column(by, "by")
    totals = [f"sum({query.column(name, 'sums')})" for name in sums]
    key = (str(path), by, tuple(sums), limit)
    found = _totals.get(key)
    if found is None:
        sql = (f"SELECT {group}, count(*){''.join(', ' + t for t in totals)} FROM records WHERE {group} IS NOT NULL"
               f" GROUP BY {group} ORDER BY count(*) DESC, {group} LIMIT ?")
        found = _connection(path).execute(sql, [limit]).fetchall()
        with _counts_lock:
            if len(_totals) >= _TOTALS_KEPT:
                _totals.pop(next(iter(_totals)))
            _totals[key] = found
    return found
