"""Spreadsheet rows to batches, shared by XLSX and XLS: header rows, merged ranges, cell values as text.

Header detection when ``header_rows`` is not given: leading rows holding a single text over a wider
table are titles (示例市国民经济主要指标（月度）) and are skipped; the header then runs down as long as a
merged range spans columns at its last row (a group label over the names below it, provided the row
below is all text) or spans rows past it. Values in data rows' merged ranges are filled into every
cell of the range, as a person reads them. Data rows are numbered ``sheet row - header rows``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import closing
from itertools import pairwise

import pyarrow as pa

from huiju.errors import Invalid
from huiju.i18n import N_
from huiju.ingest.connectors import headers
from huiju.ingest.connectors.base import (
    BATCH_ROWS,
    ConnectorBase,
    Notice,
    RejectSink,
    make_batch,
    schema_for,
)

Merge = tuple[int, int, int, int]  # first row, first column, last row, last column; 1-based, inclusive
Row = tuple[int, list[object]]  # sheet row number, cell values from column A
MAX_HEADER_ROWS = 10
UNCACHED = N_("Formula without a cached value in cell %(cell)s (the workbook was saved without calculating it)")
BEYOND = N_("The row has a value in column %(column)s, right of the last named column")
TITLE = N_("Row %(row)s holds only a title (%(title)s); it was skipped")
FILLED = N_("%(count)s merged ranges in the data rows were filled with their value in every cell")


class Uncached(str):
    """A formula cell saved without a cached value; the text is the formula, which we never evaluate."""


def text_of(value: object) -> str | None:
    """A cell value as the text a person sees: dates ISO, whole numbers without ".0", booleans lower case."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def _filled(values: list[object]) -> list[int]:
    return [c for c, v in enumerate(values, 1) if v is not None and v != ""]


def _layout(head: dict[int, list[object]], merges: list[Merge], header_rows: int | None) -> tuple[int, int, list[int]]:
    """(first header row, last header row, title rows) from the first rows of the sheet and its merges."""
    rows = sorted(r for r in head if _filled(head[r]))
    if not rows:
        return 1, 0, []
    top, titles = (1, []) if header_rows is not None else (rows[0], [])
    last = header_rows if header_rows is not None else rows[-1]
    for here, below in pairwise(rows):
        if here < top or here >= last or len(_filled(head[here])) != 1 or len(_filled(head[below])) < 2:
            break
        titles.append(here)
        top = below
    if header_rows is not None:
        return top, header_rows, titles
    end, changed = top, True
    while changed and end - top < MAX_HEADER_ROWS:
        changed = False
        for r0, c0, r1, c1 in merges:
            if not top <= r0 <= end:
                continue
            below = [v for v in head.get(r1 + 1, [])[c0 - 1:c1] if v is not None]
            grow = r1 + 1 if c1 > c0 and r1 == end and all(isinstance(v, str) for v in below) else r1
            if grow > end:
                end, changed = grow, True
    return top, end, titles


class SheetConnector(ConnectorBase):
    """Common reading of one worksheet; subclasses give ``_rows()`` and ``merges``, and open the book."""

    merges: list[Merge]
    sheet_name: str

    def __init__(self, *, header_rows: int | None, batch_rows: int, on_reject: RejectSink | None) -> None:
        super().__init__(on_reject)
        self.batch_rows = batch_rows or BATCH_ROWS
        head: dict[int, list[object]] = {}
        with closing(self._rows()) as rows:
            for number, values in rows:
                if number > (header_rows or 0) + MAX_HEADER_ROWS:
                    break
                head[number] = values
        top, self.header_end, titles = _layout(head, self.merges, header_rows)
        for r in titles:
            self.warnings.append(Notice(TITLE, {"row": r, "title": text_of(_first(head[r]))}))
        if not any(_filled(v) for v in head.values()):
            raise Invalid("The sheet %(sheet)s is empty", sheet=self.sheet_name)
        if header_rows == 0 or self.header_end < top:
            self.header_end = 0
            self.columns = [f"列{i}" for i in range(1, max(len(v) for v in head.values()) + 1)]
            return
        span = range(top, self.header_end + 1)
        wide = max([len(head.get(r, [])) for r in span] + [m[3] for m in self.merges if m[0] in span])
        block = [[text_of(v) for v in head.get(r, [])] + [None] * wide for r in span]
        for r0, c0, r1, c1 in self.merges:
            if r0 in span:
                for r in range(r0, min(r1, self.header_end) + 1):
                    block[r - top][c0 - 1:c1] = [block[r0 - top][c0 - 1]] * (c1 - c0 + 1)
        width = max((_filled(row)[-1] for row in block if _filled(row)), default=0)
        names, notices = headers.join_rows(block, width)
        self.columns, renamed = headers.unique_names(names)
        self.warnings += notices + renamed

    def _rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def read(self) -> Iterator[pa.RecordBatch]:
        schema, width = schema_for(self.columns), len(self.columns)
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        fill = _Filler([m for m in self.merges if m[0] > self.header_end and (m[2] > m[0] or m[3] > m[1])])
        for number, values in self._rows():
            if number <= self.header_end:
                continue
            fill(number, values)
            texts = [text_of(v) for v in values]
            if not any(texts):
                continue
            self.rows_read += 1
            row = number - self.header_end
            extra = [c for c in _filled(texts) if c > width]
            uncached = [c for c, v in enumerate(values, 1) if isinstance(v, Uncached)]
            if extra or uncached:
                raw = "\t".join(t or "" for t in texts)
                if uncached:
                    self.reject(row, raw, UNCACHED, cell=f"{_letters(uncached[0])}{number}")
                else:
                    self.reject(row, raw, BEYOND, column=_letters(extra[0]))
                continue
            rows.append(texts[:width] + [None] * (width - len(texts)))
            numbers.append(row)
            if len(rows) >= self.batch_rows:
                yield make_batch(schema, rows, numbers)
                rows, numbers = [], []
        if rows:
            yield make_batch(schema, rows, numbers)
        if fill.used:
            self.warnings.append(Notice(FILLED, {"count": fill.used}))


class _Filler:
    """Copies the value of a merged range's top-left cell into the range's other cells, row by row."""

    def __init__(self, merges: Iterable[Merge]) -> None:
        self.starts: dict[int, list[Merge]] = {}
        for m in merges:
            self.starts.setdefault(m[0], []).append(m)
        self.active: list[tuple[Merge, object]] = []
        self.used = 0

    def __call__(self, number: int, values: list[object]) -> None:
        if not self.starts and not self.active:
            return
        for m in self.starts.pop(number, []):
            self.active.append((m, values[m[1] - 1] if m[1] <= len(values) else None))
            self.used += 1
        self.active = [(m, v) for m, v in self.active if m[2] >= number]
        for (_r0, c0, _r1, c1), value in self.active:
            values.extend([None] * (c1 - len(values)))
            values[c0 - 1:c1] = [value] * (c1 - c0 + 1)


def _first(values: list[object]) -> object:
    return next(v for v in values if v is not None and v != "")


def _letters(column: int) -> str:
    out = ""
    while column:
        column, rem = divmod(column - 1, 26)
        out = chr(65 + rem) + out
    return out


def sheet_missing(sheet: object, names: list[str]) -> Invalid:
    return Invalid("The workbook has no sheet %(sheet)s (its sheets: %(sheets)s)", sheet=sheet,
                   sheets=", ".join(names))
