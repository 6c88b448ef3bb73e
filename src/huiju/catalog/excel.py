"""The Excel template departments fill in (填报模板): one row per entry, data items on a second sheet.

Sheet 目录 holds one entry per row; sheet 信息项 one data item per row, linked to its entry by the
resource name. Headers and enumerated values are written in Chinese (the 指南's wording); reading accepts
Chinese or English headers and codes or labels for values. A third sheet lists the allowed values.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from huiju.catalog import vocab
from huiju.catalog.models import CatalogEntry
from huiju.errors import Invalid
from huiju.i18n import N_, translations

ENTRY_SHEET, ITEM_SHEET, HELP_SHEET = N_("Catalog"), N_("Data items"), N_("Allowed values")

ENTRY_COLUMNS: list[tuple[str, str, dict[str, str] | None]] = [
    ("code", N_("Resource code"), None),
    ("name", N_("Resource name"), None),
    ("classification", N_("Classification"), vocab.CLASSIFICATIONS),
    ("item", N_("Classification item"), None),
    ("directory", N_("Directory"), None),
    ("theme", N_("Theme"), vocab.THEMES),
    ("abstract", N_("Abstract"), None),
    ("format_kind", N_("Format category"), vocab.FORMAT_KINDS),
    ("format_type", N_("Format type"), None),
    ("share_type", N_("Share type"), vocab.SHARE_TYPES),
    ("share_condition", N_("Share condition"), None),
    ("share_basis", N_("Share basis"), None),
    ("share_mode_kind", N_("Share mode"), vocab.SHARE_MODE_KINDS),
    ("share_mode_type", N_("Share mode type"), vocab.SHARE_MODE_TYPES),
    ("open_class", N_("Open class"), vocab.OPEN_CLASSES),
    ("open_condition", N_("Open condition"), None),
    ("update_cycle", N_("Update cycle"), vocab.UPDATE_CYCLES),
    ("publish_date", N_("Publish date"), None),
    ("related_codes", N_("Related resource codes"), None),
    ("data_level", N_("Data level"), vocab.DATA_LEVELS),
]
ITEM_COLUMNS: list[tuple[str, str, dict[str, str] | None]] = [
    ("entry", N_("Resource name"), None),
    ("name", N_("Data item name"), None),
    ("type_code", N_("Data type"), None),
    ("length", N_("Data length"), None),
    ("sensitivity", N_("Sensitivity level"), vocab.DATA_LEVELS),
    ("share_type", N_("Share type"), vocab.SHARE_TYPES),
    ("is_key", N_("Primary key"), None),
    ("column", N_("Dataset column"), None),
]


def _zh(msgid: str) -> str:
    return translations("zh_CN").gettext(msgid)


def _value(key: str, value: Any, choices: dict[str, str] | None, entry: CatalogEntry | None = None) -> Any:
    if value is None:
        return None
    if key == "item" and entry is not None:
        return _zh(vocab.item_choices(entry.classification).get(value, value))
    if key == "related_codes":
        return "、".join(value)
    if key == "is_key":
        return "是" if value else None
    if choices and value in choices:
        return _zh(choices[value])
    return value.isoformat() if hasattr(value, "isoformat") else value


def write_workbook(entries: Iterable[CatalogEntry]) -> bytes:
    """The template, filled with ``entries`` (an empty template when there are none)."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = _zh(ENTRY_SHEET)
    items = wb.create_sheet(_zh(ITEM_SHEET))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for ws, columns in ((sheet, ENTRY_COLUMNS), (items, ITEM_COLUMNS)):
        ws.append([_zh(label) for _k, label, _c in columns])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        ws.freeze_panes = "A2"
    for e in entries:
        sheet.append([_value(k, getattr(e, k), c, e) for k, _l, c in ENTRY_COLUMNS])
        for item in e.items:
            items.append([e.name] + [_value(k, getattr(item, k), c) for k, _l, c in ITEM_COLUMNS[1:]])
    help_sheet = wb.create_sheet(_zh(HELP_SHEET))
    help_sheet.append([_zh(N_("Column")), _zh(N_("Allowed values"))])
    lists = [(label, choices) for _k, label, choices in ENTRY_COLUMNS if choices]
    lists += [(N_("Base information resource"), vocab.BASE_RESOURCES), (N_("Theme information resource"), vocab.THEMES),
              (N_("Department information resource"), vocab.DEPARTMENT_ITEMS), (N_("Data type"), vocab.ITEM_TYPES)]
    for label, choices in lists:
        values = [f"{code} {_zh(text)}" if label == N_("Data type") else _zh(text) for code, text in choices.items()]
        help_sheet.append([_zh(label), "、".join(values)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass
class Row:
    """One entry row as read, with the sheet row number for the error report."""

    number: int
    code: str | None
    fields: dict[str, Any] = field(default_factory=dict)


def _headers(row: tuple[Any, ...], columns: list[tuple[str, str, Any]], sheet: str) -> dict[int, str]:
    known = {}
    for key, label, _c in columns:
        known[_zh(label)] = key
        known[label] = key
    positions = {i: known[str(h).strip()] for i, h in enumerate(row) if h is not None and str(h).strip() in known}
    missing = [_zh(label) for key, label, _c in columns if key not in positions.values() and key != "code"]
    if missing:
        raise Invalid("Sheet %(sheet)s lacks the columns: %(columns)s", sheet=sheet, columns="、".join(missing))
    return positions


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def read_workbook(source: Path | bytes) -> tuple[list[Row], list[tuple[int, str]]]:
    """Entry rows with their items attached, and the (row, name) of item rows naming no entry of the file.

    A workbook that is not the template is refused as a whole."""
    try:
        wb = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True,
                           data_only=True)
    except Exception:  # openpyxl raises zipfile, KeyError or its own errors for a file that is not .xlsx
        raise Invalid("The file is not an Excel workbook (.xlsx)") from None
    names = {n.strip(): n for n in wb.sheetnames}
    sheet = wb[names.get(_zh(ENTRY_SHEET), names.get(ENTRY_SHEET, wb.sheetnames[0]))]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise Invalid("Sheet %(sheet)s lacks the columns: %(columns)s", sheet=sheet.title,
                      columns="、".join(_zh(label) for _k, label, _c in ENTRY_COLUMNS[1:]))
    positions = _headers(header, ENTRY_COLUMNS, sheet.title)
    out: list[Row] = []
    for number, values in enumerate(rows, start=2):
        fields = {key: _cell(values[i]) if i < len(values) else None for i, key in positions.items()}
        if not any(v is not None for v in fields.values()):
            continue
        code = fields.pop("code", None)
        fields["items"] = []
        out.append(Row(number, code, fields))
    orphans: list[tuple[int, str]] = []
    item_sheet_name = names.get(_zh(ITEM_SHEET), names.get(ITEM_SHEET))
    if item_sheet_name:
        by_name = {str(r.fields.get("name") or "").strip(): r for r in out}
        item_rows = wb[item_sheet_name].iter_rows(values_only=True)
        item_header = next(item_rows, None)
        if item_header is not None:
            item_positions = _headers(item_header, ITEM_COLUMNS, item_sheet_name)
            for number, values in enumerate(item_rows, start=2):
                item = {key: _cell(values[i]) if i < len(values) else None for i, key in item_positions.items()}
                entry_name = str(item.pop("entry") or "").strip()
                if not any(v is not None for v in item.values()):
                    continue
                owner = by_name.get(entry_name)
                if owner is None:
                    orphans.append((number, entry_name))
                else:
                    owner.fields["items"].append(item)
    wb.close()
    return out, orphans
