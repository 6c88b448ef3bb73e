"""The query-engine interface over lake files; DuckDB is the default, Spark can be added."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from huiju.errors import Invalid


@dataclass(frozen=True)
class ArrowFunction:
    """A vectorised scalar function called with Arrow arrays inside a query (decryption, pseudonyms).

    Types are SQL type names (``BLOB``, ``VARCHAR``); the function gets and returns one array per call.
    """

    name: str
    fn: Callable[..., pa.Array]
    arg_types: tuple[str, ...]
    return_type: str


class LakeEngine(Protocol):
    """Runs SQL over named tables, each a list of Parquet files of one version.

    ``views`` are named SELECTs over those tables (created in order, after them); ``functions`` are
    registered for the one query.
    """

    name: str

    def query(
        self, sql: str, tables: Mapping[str, Sequence[Path]], params: Sequence[Any] | None = None, *,
        views: Mapping[str, str] | None = None, functions: Sequence[ArrowFunction] = (), page: bool = False,
    ) -> pa.Table: ...

    def stream(
        self, sql: str, tables: Mapping[str, Sequence[Path]], params: Sequence[Any] | None = None, *,
        views: Mapping[str, str] | None = None, functions: Sequence[ArrowFunction] = (), batch_size: int = 65536,
    ) -> Iterator[pa.RecordBatch]: ...


def make_engine(name: str, page_threads: int = 1) -> LakeEngine:
    if name == "duckdb":
        from huiju.storage.lake.duckdb import DuckDBEngine

        return DuckDBEngine(page_threads)
    raise Invalid("Unknown lake engine %(name)s", name=name)
