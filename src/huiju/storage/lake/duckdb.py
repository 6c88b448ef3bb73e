"""DuckDB used in-process as a stateless engine: an in-memory connection per thread, no database file."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from huiju.errors import Invalid

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class DuckDBEngine:
    name = "duckdb"

    def __init__(self) -> None:
        self._local = threading.local()

    def _conn(self) -> duckdb.DuckDBPyConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = duckdb.connect(":memory:")
            conn.execute("SET autoinstall_known_extensions=false")
            conn.execute("SET autoload_known_extensions=false")
            self._local.conn = conn
        return conn

    def query(
        self, sql: str, tables: Mapping[str, Sequence[Path]], params: Sequence[Any] | None = None
    ) -> pa.Table:
        """Bind each table name to its files as a temporary view, then run ``sql`` with parameters."""
        conn = self._conn().cursor()
        try:
            for name, files in tables.items():
                if not _IDENT.match(name):
                    raise Invalid("Invalid table name %(name)s", name=name)
                quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
                conn.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM read_parquet([{quoted}])')
            return conn.sql(sql, params=list(params) if params else None).to_arrow_table()
        finally:
            conn.close()
