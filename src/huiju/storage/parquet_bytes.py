"""Parquet as bytes in memory (response bodies, files handed in), never a lake path: the lake is read only
through catalog/access.py."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def encode(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def writer(sink: Any, schema: pa.Schema) -> pq.ParquetWriter:
    """A streaming writer into ``sink`` (a file-like object), batch by batch."""
    return pq.ParquetWriter(sink, schema, compression="zstd")


def decode(content: bytes) -> pa.Table:
    """A Parquet file's table from its bytes (for example a file given to ``huiju trace``)."""
    return pq.read_table(io.BytesIO(content))
