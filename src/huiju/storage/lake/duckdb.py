"""DuckDB used in-process as a stateless engine: in-memory databases (no file), a cursor per thread.

One database rather than one per thread: concurrent queries share its worker threads and buffer pool instead of
each thread starting its own (measured: 16 client threads ran about a fifth more pages per second this way).
Pages (``query(..., page=True)``: a keyset page of a read, a few thousand rows at most) run on a second database
with ``page_threads`` threads (1 by default). A filtered 1,000-row Top-N page of 1M rows cost 18.6 ms of CPU
(12.6 ms wall) on DuckDB's default two threads and 10.3 ms (9.9 ms wall) on one (bench/share/page_cpu.py): the
second thread reads row groups the Top-N has already made useless. Concurrent requests keep every core busy.
Temporary views live on a per-query cursor and vanish with it; functions are database-wide, so each query's
functions have unique names and are dropped when it ends.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from huiju.errors import Invalid
from huiju.storage.lake.engine import ArrowFunction

# execute()'s Arrow result copies the rows once more than a relation's would; on a masked 1,000-row page execute()
# still spent ~1.1 ms less CPU in all (same table). DuckDB 2.0 warns about the copy on every such call.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, page_threads: int = 1) -> None:
        self._local = threading.local()
        self._db = _database()
        self._pages = _database(page_threads)

    def _conn(self, page: bool = False) -> duckdb.DuckDBPyConnection:
        name = "pages" if page else "conn"
        conn = getattr(self._local, name, None)
        if conn is None:
            conn = (self._pages if page else self._db).cursor()
            setattr(self._local, name, conn)
        return conn

    def _prepare(self, tables: Mapping[str, Sequence[Path]], views: Mapping[str, str] | None,
                 functions: Sequence[ArrowFunction], page: bool = False) -> duckdb.DuckDBPyConnection:
        """A cursor with each table bound to its files as a temporary view, then the views and functions."""
        conn = self._conn(page).cursor()
        try:
            for name, files in tables.items():
                conn.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {_scan(name, files)}')
            for f in functions:
                _check_name(f.name)
                conn.create_function(f.name, f.fn, [duckdb.sqltype(t) for t in f.arg_types],
                                     duckdb.sqltype(f.return_type), type="arrow", null_handling="special",
                                     side_effects=False)
            for name, select in (views or {}).items():
                _check_name(name)
                conn.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {select}')
        except BaseException:
            _release(conn, functions)
            raise
        return conn

    def query(
        self, sql: str, tables: Mapping[str, Sequence[Path]], params: Sequence[Any] | None = None, *,
        views: Mapping[str, str] | None = None, functions: Sequence[ArrowFunction] = (), page: bool = False,
    ) -> pa.Table:
        """Bind each table name to its files as a temporary view, then run ``sql`` with parameters.

        A plain query (no views, no functions: a grant's page) names its files in a WITH clause on the thread's
        cursor instead, which spares a cursor and a catalog change per call. ``page``: a small result (see the
        module docstring), run on the page database.
        """
        if not views and not functions and sql.lstrip()[:4].upper() != "WITH":
            bound = ", ".join(f'"{name}" AS ({_scan(name, files)})' for name, files in tables.items())
            # execute(), not sql(): no relation is built around the statement, whose text the relation API
            # tokenises in Python (GIL held) — ~1.1 ms less CPU on a masked 1,000-row page (measured ad hoc), same Arrow table
            return self._conn(page).execute(f"WITH {bound} {sql}" if bound else sql,
                                            list(params) if params else None).to_arrow_table()
        conn = self._prepare(tables, views, functions, page)
        try:
            return conn.sql(sql, params=list(params) if params else None).to_arrow_table()
        finally:
            _release(conn, functions)

    def stream(
        self, sql: str, tables: Mapping[str, Sequence[Path]], params: Sequence[Any] | None = None, *,
        views: Mapping[str, str] | None = None, functions: Sequence[ArrowFunction] = (), batch_size: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        """Like ``query``, one record batch at a time: memory stays flat however many rows match."""
        conn = self._prepare(tables, views, functions)
        try:
            reader = conn.sql(sql, params=list(params) if params else None).to_arrow_reader(batch_size)
            yield from reader
        finally:
            _release(conn, functions)


def _database(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect(":memory:")
    db.execute("SET autoinstall_known_extensions=false")
    db.execute("SET autoload_known_extensions=false")
    if threads is not None:
        db.execute(f"SET threads={int(threads)}")
    return db


def _release(conn: duckdb.DuckDBPyConnection, functions: Sequence[ArrowFunction]) -> None:
    """Close the cursor and drop its functions: they outlive the cursor and hold keys in their closures."""
    for f in functions:
        try:
            conn.remove_function(f.name)
        except duckdb.Error:
            pass  # never registered (a failure part-way through _prepare)
    conn.close()


def _scan(name: str, files: Sequence[Path]) -> str:
    """SELECT of every row of the files bound to table ``name``."""
    _check_name(name)
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    return f"SELECT * FROM read_parquet([{quoted}])"


def _check_name(name: str) -> None:
    if not _IDENT.match(name):
        raise Invalid("Invalid table name %(name)s", name=name)
