"""Legacy .xls (BIFF5/BIFF8) workbooks through xlrd, still common in government offices.

A BIFF sheet holds at most 65,536 rows x 256 columns, so xlrd reading the workbook whole is bounded;
rows are still handed on in batches. xlrd returns a formula's cached result only (a formula without
one reads as empty), and decodes old GBK (codepage 936) text itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xlrd

from huiju.ingest.connectors.base import BATCH_ROWS, RejectSink
from huiju.ingest.connectors.excel import unreadable
from huiju.ingest.connectors.sheet import Merge, Row, SheetConnector, sheet_missing


class XlsConnector(SheetConnector):
    """One worksheet of an .xls workbook; ``sheet`` is a name or a 0-based index (default: the first)."""

    def __init__(self, path: Path, *, sheet: str | int | None = None, header_rows: int | None = None,
                 batch_rows: int = BATCH_ROWS, on_reject: RejectSink | None = None) -> None:
        self.path = Path(path)
        try:
            self._book = xlrd.open_workbook(str(self.path), formatting_info=True, logfile=io.StringIO())
        except Exception as exc:  # noqa: BLE001 - xlrd fails on a corrupt file with many exception types
            raise unreadable(exc) from None
        names = self.sheets()
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(names):
                raise sheet_missing(sheet, names)
            sheet = names[sheet]
        if sheet is not None and sheet not in names:
            raise sheet_missing(sheet, names)
        self.sheet_name = sheet if sheet is not None else names[0]
        self._sheet = self._book.sheet_by_name(self.sheet_name)
        self.merges: list[Merge] = sorted((r0 + 1, c0 + 1, r1, c1) for r0, r1, c0, c1 in self._sheet.merged_cells)
        super().__init__(header_rows=header_rows, batch_rows=batch_rows, on_reject=on_reject)

    def sheets(self) -> list[str]:
        """The workbook's sheet names, in order."""
        return list(self._book.sheet_names())

    def _value(self, cell: Any) -> object:
        kind, value = cell.ctype, cell.value
        if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        if kind == xlrd.XL_CELL_DATE:
            try:
                return xlrd.xldate.xldate_as_datetime(value, self._book.datemode)
            except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                return value
        if kind == xlrd.XL_CELL_BOOLEAN:
            return bool(value)
        if kind == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(value, "#ERROR")
        return value

    def _rows(self) -> Iterator[Row]:
        sheet = self._sheet
        for r in range(sheet.nrows):
            yield r + 1, [self._value(cell) for cell in sheet.row(r)]
