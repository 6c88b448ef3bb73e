"""JSON documents (an array of records, or records under a wrapper key such as "data") and NDJSON.

A single JSON document is parsed whole: it is the API-page case (``{"code":0,...,"data":[...]}``), so a
file above ``max_bytes`` (64 MiB by default) is refused with a pointer to NDJSON. NDJSON is streamed line
by line, twice: once for the union of keys, so every batch has the same columns in first-seen order, and
once for the rows; a line that is not a JSON object is rejected with its line number. Values become text
as written (numbers keep their digits, "12.50" stays "12.50"); nested objects and arrays become JSON text.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

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
from huiju.ingest.connectors.encoding import open_text

MAX_BYTES = 64 << 20  # parsed whole, Python objects take ~10x the file size in memory
MAX_LINE_BYTES = 64 << 20
WRAPPER_KEYS = ("data", "records", "rows", "items", "list", "result", "results")
NOT_OBJECT = N_("The record is not a JSON object")
BAD_LINE = N_("The line is not valid JSON: %(error)s")
WRAPPED = N_("The records were read from %(key)s in the JSON document")


class _Number(float):
    """A JSON number that remembers how it was written."""

    text: str

    def __new__(cls, text: str) -> Self:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _loads(data: bytes | str) -> Any:
    return json.loads(data, parse_float=_Number)


def text_of(value: object) -> str | None:
    """A JSON value as text: strings as they are, numbers as written, nested values as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Number):
        return value.text
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def find_records(doc: Any) -> tuple[list[Any], str | None]:
    """The list of records in a document, and the path of the wrapper key it sat under (None for an array)."""
    if isinstance(doc, list):
        return doc, None
    if isinstance(doc, dict):
        if doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
            return [_feature(f) for f in doc["features"]], "features"
        for key in WRAPPER_KEYS:
            inner = doc.get(key)
            if isinstance(inner, list):
                return inner, key
            if isinstance(inner, dict):
                for key2 in WRAPPER_KEYS:
                    if isinstance(inner.get(key2), list):
                        return inner[key2], f"{key}.{key2}"
        lists = [k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v[:100])]
        if len(lists) == 1:
            return doc[lists[0]], lists[0]
    raise Invalid("The JSON document holds no list of records (expected an array, or an object with the records "
                  "under data, records, rows or items)")


def _feature(feature: Any) -> Any:
    """A GeoJSON feature as one record: its properties plus the geometry (as JSON text)."""
    if not isinstance(feature, dict):
        return feature
    return {**(feature.get("properties") or {}), "geometry": feature.get("geometry")}


class _Records(ConnectorBase):
    """Shared by both kinds: key union -> unique column names, records -> batches."""

    def _name_columns(self, keys: dict[str, None]) -> None:
        self._keys = list(keys)
        self.columns, notices = headers.unique_names(self._keys)
        self.warnings += notices

    def _batches(self, records: Iterator[tuple[int, Any, str]], batch_rows: int) -> Iterator[pa.RecordBatch]:
        schema = schema_for(self.columns)
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        for number, record, raw in records:
            self.rows_read += 1
            if not isinstance(record, dict):
                self.reject(number, raw, NOT_OBJECT)
                continue
            rows.append([text_of(record.get(k)) for k in self._keys])
            numbers.append(number)
            if len(rows) >= batch_rows:
                yield make_batch(schema, rows, numbers)
                rows, numbers = [], []
        if rows:
            yield make_batch(schema, rows, numbers)


class JsonConnector(_Records):
    """One JSON document, parsed whole (refused above ``max_bytes``)."""

    def __init__(self, path: Path, *, encoding: str | None = None, batch_rows: int = BATCH_ROWS,
                 max_bytes: int = MAX_BYTES, on_reject: RejectSink | None = None) -> None:
        super().__init__(on_reject)
        self.path, self.batch_rows = Path(path), batch_rows
        size = os.path.getsize(self.path)
        if size > max_bytes:
            raise Invalid("The JSON document is %(size)s bytes, above the limit of %(limit)s for one document; "
                          "send large data as NDJSON (one record per line)", size=size, limit=max_bytes)
        with open(self.path, "rb") as raw:
            stream = open_text(raw, encoding)
            self.encoding = stream.encoding
            data = stream.read()
        if not data.strip():
            raise Invalid("The file is empty")
        try:
            doc = _loads(data)
        except json.JSONDecodeError as exc:
            raise Invalid("The JSON document cannot be parsed: %(error)s (line %(line)s, column %(column)s)",
                          error=exc.msg, line=exc.lineno, column=exc.colno) from None
        self._records, key = find_records(doc)
        if key:
            self.warnings.append(Notice(WRAPPED, {"key": key}))
        keys: dict[str, None] = {}
        for record in self._records:
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
        self._name_columns(keys)

    def read(self) -> Iterator[pa.RecordBatch]:
        records = ((i, r, r if isinstance(r, str) else text_of(r) or "null") for i, r in enumerate(self._records, 1))
        yield from self._batches(records, self.batch_rows)


class NdjsonConnector(_Records):
    """Newline-delimited JSON, one object per line, streamed; ``_row`` is the line number."""

    def __init__(self, path: Path, *, encoding: str | None = None, batch_rows: int = BATCH_ROWS,
                 on_reject: RejectSink | None = None) -> None:
        super().__init__(on_reject)
        self.path, self.batch_rows, self._declared = Path(path), batch_rows, encoding
        if os.path.getsize(self.path) == 0:
            raise Invalid("The file is empty")
        keys: dict[str, None] = {}
        for _number, record, _line in self._parsed():
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
        self._name_columns(keys)

    def _parsed(self) -> Iterator[tuple[int, Any, str]]:
        with open(self.path, "rb") as raw:
            stream = open_text(raw, self._declared)
            self.encoding = stream.encoding
            lines = io.BufferedReader(stream, 1 << 20)
            number = 0
            while line := lines.readline(MAX_LINE_BYTES + 1):
                number += 1
                if len(line) > MAX_LINE_BYTES:
                    raise Invalid("Line %(line)s is longer than %(limit)s bytes", line=number, limit=MAX_LINE_BYTES)
                if not line.strip():
                    continue
                try:
                    yield number, _loads(line), line.decode().rstrip("\r\n")
                except json.JSONDecodeError as exc:
                    yield number, _BadLine(exc.msg), line.decode().rstrip("\r\n")

    def read(self) -> Iterator[pa.RecordBatch]:
        def records() -> Iterator[tuple[int, Any, str]]:
            for number, record, line in self._parsed():
                if isinstance(record, _BadLine):
                    self.rows_read += 1
                    self.reject(number, line, BAD_LINE, error=record.error)
                else:
                    yield number, record, line

        yield from self._batches(records(), self.batch_rows)


class _BadLine:
    """A line json could not parse, carried to read() so it is rejected once, in order."""

    def __init__(self, error: str) -> None:
        self.error = error
