"""File writers that stream rows and produce byte-identical output for the same rows."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook

Report = Callable[[int], None]
REPORT_EVERY = 50_000
ZIP_TIME = (2026, 11, 1, 0, 0, 0)
CORE_TIME = b"2026-11-01T00:00:00Z"


def _count(rows: Iterable[Sequence[Any]], report: Report | None) -> Iterable[Sequence[Any]]:
    """Pass rows through, telling the progress bar every REPORT_EVERY rows."""
    for n, row in enumerate(rows, 1):
        yield row
        if report is not None and n % REPORT_EVERY == 0:
            report(n)


def write_csv(
    path: Path, encoding: str, header: Sequence[str], rows: Iterable[Sequence[Any]], report: Report | None = None
) -> int:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        n = 0
        for row in _count(rows, report):
            writer.writerow(row)
            n += 1
    return n


def write_sqlite(
    path: Path, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], labels: dict[str, str],
    report: Report | None = None,
) -> int:
    """A department system's export: untyped TEXT columns, no key constraint, plus its 字段说明 table."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} TEXT' for c in columns)})")
        insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})"
        batch: list[Sequence[Any]] = []
        n = 0
        for row in _count(rows, report):
            batch.append(row)
            n += 1
            if len(batch) == 10_000:
                con.executemany(insert, batch)
                batch.clear()
        con.executemany(insert, batch)
        con.execute("CREATE TABLE ZD_ZDSM (BM TEXT, ZDM TEXT, ZWMC TEXT)")
        con.executemany("INSERT INTO ZD_ZDSM VALUES (?, ?, ?)", [(table, c, labels[c]) for c in columns])
        con.commit()
    finally:
        con.close()
    return n


def write_json_page(
    path: Path, fields: Sequence[str], rows: Iterable[Sequence[Any]], total: int, report: Report | None = None
) -> int:
    """One page of a paged JSON API holding every record: {"code", "message", "page", "pageSize", "total", "data"}."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        head = {"code": 0, "message": "success", "page": 1, "pageSize": total, "total": total}
        fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "data": [\n')
        n = 0
        for row in _count(rows, report):
            fh.write((",\n" if n else "") + json.dumps(dict(zip(fields, row, strict=True)), ensure_ascii=False))
            n += 1
        fh.write("\n]}\n")
    return n


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save, then rewrite the zip with fixed timestamps: openpyxl stamps the clock into both."""
    buffer = io.BytesIO()
    wb.save(buffer)
    with ZipFile(buffer) as src, ZipFile(path, "w", ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + CORE_TIME, data)
            entry = ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data, compress_type=ZIP_DEFLATED)


def fill_sheet(ws: Any, header: Sequence[str], rows: Iterable[Sequence[Any]], report: Report | None = None) -> int:
    """Append the header row and the data rows to a (write-only or normal) worksheet."""
    ws.append(list(header))
    n = 0
    for row in _count(rows, report):
        ws.append(list(row))
        n += 1
    return n
