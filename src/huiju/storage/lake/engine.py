"""The query-engine interface over lake files; DuckDB is the default, Spark can be added."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from huiju.errors import Invalid


class LakeEngine(Protocol):
    """Runs SQL over named tables, each a list of Parquet files of one version."""

    name: str

    def query(
        self, sql: str, tables: Mapping[str, Sequence[Path]], params: Sequence[Any] | None = None
    ) -> pa.Table: ...


def make_engine(name: str) -> LakeEngine:
    if name == "duckdb":
        from huiju.storage.lake.duckdb import DuckDBEngine

        return DuckDBEngine()
    raise Invalid("Unknown lake engine %(name)s", name=name)
