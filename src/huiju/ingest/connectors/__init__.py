"""Connectors: each source kind read as string-typed Arrow batches with rejected rows kept (see base.py)."""

from __future__ import annotations

from functools import partial

from huiju.ingest.connectors.base import (
    BATCH_ROWS,
    CONNECTORS,
    ROW_COLUMN,
    Connector,
    Notice,
    RawRow,
    detect_kind,
    open_file,
    register,
    schema_for,
)
from huiju.ingest.connectors.csv import CsvConnector
from huiju.ingest.connectors.excel import XlsxConnector
from huiju.ingest.connectors.http import HttpJsonConnector
from huiju.ingest.connectors.json import JsonConnector, NdjsonConnector
from huiju.ingest.connectors.sql import SqlConnector, sqlite_file
from huiju.ingest.connectors.xls import XlsConnector

register("csv", CsvConnector, ".csv", ".txt")
register("tsv", partial(CsvConnector, tsv=True), ".tsv", ".tab")  # tab unless a delimiter is given
register("xlsx", XlsxConnector, ".xlsx", ".xlsm")
register("xls", XlsConnector, ".xls")
register("json", JsonConnector, ".json", ".geojson")
register("ndjson", NdjsonConnector, ".ndjson", ".jsonl")
register("sqlite", sqlite_file, ".sqlite", ".sqlite3", ".db")
register("sql", SqlConnector)
register("http", HttpJsonConnector)  # not a file: open it with connectors.http.open_http(url, ...)

__all__ = ["BATCH_ROWS", "CONNECTORS", "ROW_COLUMN", "Connector", "CsvConnector", "JsonConnector",
           "NdjsonConnector", "Notice", "RawRow", "SqlConnector", "XlsConnector", "XlsxConnector", "detect_kind",
           "open_file", "register", "schema_for"]
