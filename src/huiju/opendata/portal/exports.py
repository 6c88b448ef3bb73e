"""Download formats of open data, written batch by batch so memory stays flat for large versions.

CSV starts with a UTF-8 byte-order mark so Excel opens Chinese text correctly; JSON is an array of
objects; XLSX is written by openpyxl's write-only mode into a temporary file that is then streamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


def csv_chunks(fields: list[str], batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(fields)
    yield b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
    for batch in batches:
        buf.seek(0)
        buf.truncate()
        columns = [batch.column(name).to_pylist() for name in fields]
        writer.writerows(zip(*columns, strict=True))
        yield buf.getvalue().encode("utf-8")


def json_chunks(fields: list[str], batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    yield b"["
    first = True
    for batch in batches:
        rows = [{k: _plain(v) for k, v in row.items()} for row in batch.select(fields).to_pylist()]
        if not rows:
            continue
        text = ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
        yield (text if first else ",\n" + text).encode("utf-8")
        first = False
    yield b"]\n"


def xlsx_chunks(fields: list[str], batches: Iterable[pa.RecordBatch], *, title: str = "data") -> Iterator[bytes]:
    """Write rows into a write-only workbook on disk, then stream the file and remove it."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "data")
    sheet.append(fields)
    written = 0
    for batch in batches:
        for row in zip(*(batch.column(n).to_pylist() for n in fields), strict=True):
            if written >= XLSX_MAX_ROWS:
                break
            sheet.append([_plain(v) if not isinstance(v, (dt.datetime, dt.date)) else v.isoformat() for v in row])
            written += 1
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        workbook.save(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                yield chunk
    finally:
        os.unlink(path)
