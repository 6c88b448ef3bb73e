"""A department's database table read through SQLAlchemy (SQLite, PostgreSQL, MySQL...), in batches.

Safe by construction: the steward names a table, optionally its columns and an incremental cursor column;
the statement is built from SQLAlchemy constructs (identifiers quoted by the dialect, the cursor value a
bound parameter). A steward may instead give a read query (one ``SELECT``/``WITH`` statement, run as a
subquery, with the credentials the department gave for reading), when the rows come from a join or a view. Rows stream with ``yield_per``: server-side cursors
on PostgreSQL and MySQL, ``fetchmany`` on SQLite. Incremental loads: ``since_column``/``since_value`` read
``WHERE col > :value ORDER BY col``, and ``cursor_value`` is the largest value seen, to pass next time;
">" misses a row added later with the same value as the last one seen, so the column should only grow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Column, MetaData, Table, column, create_engine, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy import func
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from huiju.errors import Invalid
from huiju.ingest.connectors.base import (
    BATCH_ROWS,
    ConnectorBase,
    RejectSink,
    make_batch,
    schema_for,
)


def text_of(value: object) -> str | None:
    """A database value as text: ISO dates and times, exact decimals, bytes as hex, booleans lower case."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _unreadable(exc: SQLAlchemyError) -> Invalid:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return Invalid("The source database cannot be read: %(reason)s", reason=reason)


def _coerce(column: Column[Any], value: object) -> object:
    """A cursor value given as text (as stored between loads) turned into the column's Python type."""
    if not isinstance(value, str):
        return value
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    try:
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind in (int, float, Decimal):
            return kind(value)
    except (ValueError, ArithmeticError):
        raise Invalid("The cursor value %(value)s does not fit column %(column)s", value=value,
                      column=column.name) from None
    return value


class SqlConnector(ConnectorBase):
    """One table of a database by SQLAlchemy URL, all of it or the rows after an incremental cursor."""

    def __init__(self, url: str, table: str | None, *, query: str | None = None, schema: str | None = None,
                 columns: Sequence[str] | None = None, since_column: str | None = None, since_value: object = None,
                 batch_rows: int = BATCH_ROWS, on_reject: RejectSink | None = None,
                 engine: Engine | None = None) -> None:
        super().__init__(on_reject)
        try:
            self.engine, self._owned = engine or create_engine(url), engine is None
        except (ArgumentError, ImportError) as exc:
            raise Invalid("The database address cannot be used: %(reason)s", reason=str(exc).splitlines()[0]) from None
        self.batch_rows, self.since_column = batch_rows, since_column
        self.cursor_value: object = None
        table = table or "query"
        try:
            self._table = self._subquery(query) if query is not None else Table(table, MetaData(), schema=schema,
                                                                                autoload_with=self.engine)
        except NoSuchTableError:
            raise Invalid("The source database has no table %(table)s", table=table) from None
        except SQLAlchemyError as exc:
            raise _unreadable(exc) from None
        finally:
            self._release()
        known = [c.name for c in self._table.columns]
        self.columns = list(columns or known)
        for name in [*self.columns, *([since_column] if since_column else [])]:
            if name not in known:
                raise Invalid("The table %(table)s has no column %(column)s", table=table, column=name)
        self._since = _coerce(self._table.c[since_column], since_value) if since_column else None

    def _subquery(self, query: str) -> Any:
        """A read query as a subquery whose columns are learnt by running it for no rows."""
        body = query.strip().rstrip(";").strip()
        if ";" in body or body.split(None, 1)[0].lower() not in ("select", "with"):
            raise Invalid("A source query is one SELECT (or WITH … SELECT) statement")
        with self.engine.connect() as conn:
            names = list(conn.execute(text(f"SELECT * FROM ({body}) AS q WHERE 1 = 0")).keys())
        return text(body).columns(*[column(n) for n in names]).subquery("q")

    def count(self) -> int | None:
        """How many rows the next read() will yield (the total for progress), or None if the database will not say."""
        stmt = select(func.count()).select_from(self._table)
        if self.since_column and self._since is not None:
            stmt = stmt.where(self._table.c[self.since_column] > self._since)
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(stmt).scalar() or 0)
        except SQLAlchemyError:
            return None
        finally:
            self._release()

    def read(self) -> Iterator[pa.RecordBatch]:
        schema, width = schema_for(self.columns), len(self.columns)
        stmt = select(*[self._table.c[n] for n in self.columns])
        if self.since_column:
            cursor = self._table.c[self.since_column]
            stmt = stmt.add_columns(cursor.label("__cursor__"))
            if self._since is not None:
                stmt = stmt.where(cursor > self._since)
            stmt = stmt.order_by(cursor)
        number = 0
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(yield_per=self.batch_rows).execute(stmt)
                for part in result.partitions():
                    rows = [[text_of(v) for v in row[:width]] for row in part]
                    if self.since_column:
                        seen = [row[width] for row in part if row[width] is not None]
                        if self.cursor_value is not None:
                            seen.append(self.cursor_value)
                        self.cursor_value = max(seen, default=None)
                    self.rows_read += len(rows)
                    yield make_batch(schema, rows, list(range(number + 1, number + len(rows) + 1)))
                    number += len(rows)
        except SQLAlchemyError as exc:
            raise _unreadable(exc) from None
        finally:
            self._release()

    def _release(self) -> None:
        """Close pooled connections of an engine we made, so a SQLite file is not held open."""
        if self._owned:
            self.engine.dispose()


def sqlite_file(path: Path, *, table: str | None = None, columns: Sequence[str] | None = None,
                since_column: str | None = None, since_value: object = None, batch_rows: int = BATCH_ROWS,
                on_reject: RejectSink | None = None) -> SqlConnector:
    """A SQLite file opened read-only, so reading a department's file never changes it."""
    engine = create_engine(f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true")
    if table is None:
        try:
            tables = inspect(engine).get_table_names()
        except SQLAlchemyError as exc:
            raise _unreadable(exc) from None
        finally:
            engine.dispose()
        if len(tables) != 1:
            raise Invalid("Name the table to read; the database has: %(tables)s", tables=", ".join(tables))
        table = tables[0]
    connector = SqlConnector("", table, columns=columns, since_column=since_column, since_value=since_value,
                             batch_rows=batch_rows, on_reject=on_reject, engine=engine)
    connector._owned = True
    return connector
