"""Header names: clean them, join headers spread over merged rows, and make blank or repeated names usable.

Government spreadsheets often put group labels in merged cells above the column names ("基本信息" over
机构名称, 统一社会信用代码...). After the merged ranges are forward-filled, each column's name is the
non-empty parts from top to bottom joined with "/" ("基本信息/机构名称"), a part equal to the one
above it counted once. A header row that has the same text over every column is a title, not a level,
and is left out. Blank names become 列N (N = the column's position) and repeated ones get a suffix
(名称, 名称_2); both are reported as notices, never silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from huiju.i18n import N_
from huiju.ingest.connectors.base import ROW_COLUMN, Notice

_SPACE = re.compile(r"\s+")
BLANK_HEADER = N_("Column %(position)s has no name; it was named %(name)s")
DUPLICATE_HEADER = N_("Column %(position)s repeats the name %(name)s; it was renamed %(renamed)s")
TITLE_ROW = N_("Header row %(row)s holds one text over every column (%(title)s); it was taken as a title")


def clean(value: object) -> str:
    """A header cell as text: whitespace runs (line breaks typed with Alt+Enter too) become one space."""
    if value is None:
        return ""
    return _SPACE.sub(" ", str(value)).strip()


def join_rows(rows: Sequence[Sequence[object]], width: int) -> tuple[list[str], list[Notice]]:
    """Join several header rows (merged ranges already forward-filled) into one name per column."""
    grid = [[clean(r[i]) if i < len(r) else "" for i in range(width)] for r in rows]
    notices: list[Notice] = []
    levels = []
    for number, row in enumerate(grid, 1):
        if len(rows) > 1 and width > 1 and row[0] and all(cell == row[0] for cell in row):
            notices.append(Notice(TITLE_ROW, {"row": number, "title": row[0]}))
            continue
        levels.append(row)
    names = []
    for i in range(width):
        parts: list[str] = []
        for row in levels:
            if row[i] and (not parts or parts[-1] != row[i]):
                parts.append(row[i])
        names.append("/".join(parts))
    return names, notices


def unique_names(raw: Sequence[object]) -> tuple[list[str], list[Notice]]:
    """Final column names: blanks named 列N, repeats suffixed _2, _3..., each change reported."""
    cleaned = [clean(v) for v in raw]
    taken = set(cleaned) | {ROW_COLUMN}
    seen = {ROW_COLUMN}
    names: list[str] = []
    notices: list[Notice] = []
    for position, name in enumerate(cleaned, 1):
        if not name:
            new = f"列{position}"
            while new in taken:
                new += "_"
            notices.append(Notice(BLANK_HEADER, {"position": position, "name": new}))
        elif name in seen:
            k = 2
            while f"{name}_{k}" in taken:
                k += 1
            new = f"{name}_{k}"
            notices.append(Notice(DUPLICATE_HEADER, {"position": position, "name": name, "renamed": new}))
        else:
            new = name
        taken.add(new)
        seen.add(new)
        names.append(new)
    return names, notices
