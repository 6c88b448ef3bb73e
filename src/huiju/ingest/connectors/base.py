"""What every connector shares: the protocol, rejected raw rows, notices, batch building and the kind registry.

A connector turns one source into Arrow record batches whose columns are all strings (typing and
standardisation come later) plus ``_row``, the 1-based data row number as a person counts it in the
file (header rows excluded). A row it cannot parse is never dropped: it goes to the connector's reject
sink as a :class:`RawRow` with its number, raw text and reason, so the pipeline can quarantine it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from huiju.errors import Invalid
from huiju.i18n import gettext

ROW_COLUMN = "_row"
BATCH_ROWS = 65536


@dataclass(frozen=True)
class RawRow:
    """A row that could not be parsed, kept whole (number, raw text, English reason msgid) for quarantine."""

    row: int
    raw: str
    reason: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def localized(self) -> str:
        text = gettext(self.reason)
        return text % dict(self.params) if self.params else text


@dataclass(frozen=True)
class Notice:
    """Something about the file a steward should know that does not stop the load (a renamed header...)."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def localized(self) -> str:
        text = gettext(self.message)
        return text % dict(self.params) if self.params else text


RejectSink = Callable[[RawRow], None]


@runtime_checkable
class Connector(Protocol):
    """One source read once as string-typed Arrow batches; rejects and notices are complete when read() ends."""

    columns: list[str]
    rejects: list[RawRow]
    warnings: list[Notice]
    rows_read: int

    def read(self) -> Iterator[pa.RecordBatch]: ...


class ConnectorBase:
    """Collects rejected rows in ``rejects`` (or hands them to the caller's sink) and counts every row read."""

    columns: list[str]

    def __init__(self, on_reject: RejectSink | None) -> None:
        self.rejects: list[RawRow] = []
        self.warnings: list[Notice] = []
        self.rows_read = 0
        self._sink = on_reject or self.rejects.append

    def reject(self, row: int, raw: str, reason: str, **params: Any) -> None:
        self._sink(RawRow(row, raw, reason, params))

    @property
    def schema(self) -> pa.Schema:
        """The schema of every batch read() yields, known before reading (a header-only file has no batch)."""
        return schema_for(self.columns)


def schema_for(columns: Sequence[str]) -> pa.Schema:
    """All data columns as strings, then the row number, so batches of every connector look alike."""
    return pa.schema([pa.field(c, pa.string()) for c in columns] + [pa.field(ROW_COLUMN, pa.int64(), False)])


def make_batch(schema: pa.Schema, rows: list[list[str | None]], numbers: list[int]) -> pa.RecordBatch:
    """Build a batch from Python rows (Excel, JSON, SQL); rows are already as wide as the header."""
    width = len(schema) - 1
    columns = list(zip(*rows)) if rows else [()] * width
    arrays = [pa.array(col, pa.string()) for col in columns]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(numbers, pa.int64())], schema=schema)


Factory = Callable[..., Connector]
CONNECTORS: dict[str, Factory] = {}
EXTENSIONS: dict[str, str] = {}
MAGIC: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"), (b"SQLite format 3\x00", "sqlite"),
]
BINARY_KINDS = frozenset(kind for _, kind in MAGIC)


def register(kind: str, factory: Factory, *extensions: str) -> None:
    """Add (or replace) a connector kind, so a plugin can bring a format; extensions like ".dbf" map to it."""
    CONNECTORS[kind] = factory
    for ext in extensions:
        EXTENSIONS[ext.lower()] = kind


def detect_kind(path: Path) -> str:
    """Pick the kind from the content's magic bytes first (a .xls that is really XLSX), then the extension."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind in BINARY_KINDS:
        raise Invalid("The file is named %(name)s but its content is not a %(format)s file",
                      name=path.name, format=kind.upper())
    if kind in (None, "json"):
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if text[:1] in (b"{", b"[") or kind == "json":
            return "ndjson" if _looks_like_ndjson(text) else "json"
    return kind or "csv"


def _looks_like_ndjson(head: bytes) -> bool:
    """NDJSON when the first line is a whole JSON object and the next line starts another one."""
    lines = [line for line in head.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[1].lstrip().startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(lines[0]), dict)
    except ValueError:
        return False


def open_file(path: str | Path, *, format: str | None = None, encoding: str | None = None,
              sheet: str | int | None = None, header_rows: int | None = None, batch_rows: int = BATCH_ROWS,
              **options: Any) -> Connector:
    """Open a file with the connector for its kind (given, or detected); options go to the connector."""
    path = Path(path)
    if not path.is_file():
        raise Invalid("The file %(name)s does not exist", name=path.name)
    kind = (format or detect_kind(path)).lower()
    factory = CONNECTORS.get(kind)
    if factory is None:
        raise Invalid("Unknown file format %(format)s (known: %(known)s)", format=kind,
                      known=", ".join(sorted(CONNECTORS)))
    given = {"encoding": encoding, "sheet": sheet, "header_rows": header_rows}
    kwargs = {k: v for k, v in given.items() if v is not None} | {"batch_rows": batch_rows} | options
    params = inspect.signature(factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        for name in kwargs:
            if name not in params:
                raise Invalid("The option %(option)s does not apply to %(format)s files", option=name, format=kind)
    return factory(path, **kwargs)
