"""Correcting and resubmitting quarantined rows: the mechanics behind ``service.resubmit_quarantine``.

Mechanism only (no permission checks, no commits), like ``pipeline``. A quarantined row keeps its values by
column in ``raw`` (``{"_line": text}`` for a line the connector could not parse). A correction changes some of
those values; the row as it now stands is stored back in ``raw`` and the values it had before its first
correction are kept under ``raw["_original"]``, so nothing the source sent is lost. Corrected rows are checked
again with the dataset's current schema and rules in one all-string Arrow batch whose ``_row`` holds their
original row numbers (``quality.split_batch``), and a row whose primary key is already in the current version
stays quarantined with a duplicate-key reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from huiju.errors import Invalid
from huiju.i18n import N_, translations
from huiju.ingest.connectors.base import ROW_COLUMN
from huiju.ingest.quality import split_batch
from huiju.ingest.schema import TableSchema
from huiju.ingest.validators_sql import quote_ident

LINE = "_line"  # the raw text of a row the connector could not parse
ORIGINAL = "_original"  # the values a row had before its first correction
KEY_RULE = "primary_key"
DUPLICATE_IN_VERSION = N_("Duplicate primary key %(key)s (already in the current version of the dataset)")
LEFT_OUT = N_("Columns not in the current version were left out of the new version: %(columns)s "
              "(their values stay with the quarantined rows)")
DISCARDED = N_("Quarantined rows discarded: %(n)s")
STILL_OPEN = N_("Rows that still fail stay open in the quarantine of job %(job)s: %(n)s")


def zh(message: str, params: Mapping[str, Any] | None = None) -> str:
    """A message in Chinese, as stored with quarantined rows and job notices."""
    text = translations("zh_CN").gettext(message)
    return text % dict(params) if params else text


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def apply_correction(raw: Mapping[str, Any], correction: Mapping[str, Any], fields: Sequence[str], *,
                     row: int) -> tuple[dict[str, str | None], dict[str, Any]]:
    """The row's values after ``correction``, and the ``raw`` to store for it.

    Only columns the row has may be corrected; a row kept as a raw line must be given as a whole, by the
    schema's field names (a field not given is empty).
    """
    original = dict(raw.get(ORIGINAL) or {})
    values = {k: _text(v) for k, v in raw.items() if k != ORIGINAL}
    if LINE in values:
        if not correction:
            raise Invalid("Row %(row)s could not be read from the file; give the values of all its columns", row=row)
        for name in correction:
            if name not in fields:
                raise Invalid("Row %(row)s has no column %(column)s", row=row, column=name)
        original.setdefault(LINE, values[LINE])
        values = {name: _text(correction.get(name)) for name in fields}
    else:
        for name, value in correction.items():
            if name not in values:
                raise Invalid("Row %(row)s has no column %(column)s", row=row, column=name)
            if _text(value) != values[name]:
                original.setdefault(name, values[name])
                values[name] = _text(value)
    return values, ({**values, ORIGINAL: original} if original else dict(values))


def editable_fields(raw: Mapping[str, Any], reasons: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> list[str]:
    """The columns a correction form offers for a row: the failing ones (every field for a raw line)."""
    if LINE in raw:
        return list(fields)
    columns = [c for c in raw if c != ORIGINAL]
    failing: list[str] = []
    for reason in reasons:
        name = str(reason.get("field") or "")
        for candidate in [name] if name in columns else name.split("+"):
            if candidate in columns and candidate not in failing:
                failing.append(candidate)
    return failing or columns


def build_batch(rows: Sequence[tuple[int, Mapping[str, str | None]]], fields: Sequence[str]) -> pa.Table:
    """An all-string table like a connector's: the schema's fields first, other columns as first seen, then _row."""
    columns = list(fields)
    for _number, values in rows:
        columns += [c for c in values if c not in columns]
    data = {c: pa.array([values.get(c) for _n, values in rows], pa.string()) for c in columns}
    data[ROW_COLUMN] = pa.array([number for number, _v in rows], pa.int64())
    return pa.table(data)


@dataclass
class Outcome:
    """Corrected rows checked again: the accepted rows (typed, with _row) and the reasons of the others."""

    accepted: pa.Table
    failed: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    rule_counts: Counter[str] = field(default_factory=Counter)

    @property
    def accepted_rows(self) -> list[int]:
        return self.accepted.column(ROW_COLUMN).to_pylist()


def revalidate(batch: pa.Table, schema: TableSchema, rules: Sequence[Any], *, today: date,
               current: pa.Table | None = None) -> Outcome:
    """Check corrected rows with the dataset's rules, then their keys against the current version's rows
    (``current``: read in plaintext through catalog.access.read_internal)."""
    conn = duckdb.connect(":memory:")
    try:
        result = split_batch(conn, batch, schema, rules, today=today)
        outcome = Outcome(result.accepted)
        for reject in result.rejects:
            outcome.failed.setdefault(reject.row, []).append(
                {"field": reject.field, "rule": reject.rule, "message": reject.message_zh})
            outcome.rule_counts[reject.rule] += 1
        key = list(schema.primary_key or [])
        if key and current is not None and outcome.accepted.num_rows:
            duplicates = _keys_in_version(conn, outcome.accepted, key, current)
            for row, key_text in duplicates.items():
                outcome.failed[row] = [{"field": "+".join(key), "rule": KEY_RULE,
                                        "message": zh(DUPLICATE_IN_VERSION, {"key": key_text})}]
                outcome.rule_counts[KEY_RULE] += 1
            if duplicates:
                mask = pc.is_in(outcome.accepted.column(ROW_COLUMN), value_set=pa.array(list(duplicates), pa.int64()))
                outcome.accepted = outcome.accepted.filter(pc.invert(mask))
    finally:
        conn.close()
    if outcome.accepted.num_rows + len(outcome.failed) != batch.num_rows:
        raise AssertionError("resubmission lost rows")
    return outcome


def _keys_in_version(conn: duckdb.DuckDBPyConnection, accepted: pa.Table, key: list[str],
                     current: pa.Table) -> dict[int, str]:
    """Row number → key text of the accepted rows whose key the current version already holds."""
    cols = ", ".join(quote_ident(k) for k in key)
    conn.register("__huiju_fixed", accepted)
    conn.register("__huiju_current", current)
    try:
        found = conn.sql(f"SELECT {ROW_COLUMN}, {cols} FROM __huiju_fixed WHERE ({cols}) IN "
                         f"(SELECT ({cols}) FROM __huiju_current)").to_arrow_table().to_pylist()
    except duckdb.Error as exc:
        raise Invalid("The primary key cannot be checked against the current version: %(error)s",
                      error=str(exc).splitlines()[0]) from None
    finally:
        conn.unregister("__huiju_fixed")
        conn.unregister("__huiju_current")
    return {r[ROW_COLUMN]: "/".join(str(r[k]) for k in key) for r in found}


def conform(table: pa.Table, target: pa.Schema, declared: Sequence[str]) -> tuple[pa.Table, list[str]]:
    """Accepted rows in the current version's column order and types; returns the extra columns left out.

    A column of the version the rows lack is empty for them; a declared field the version lacks, or a type that
    no longer fits, means the schema changed since that version: load the dataset again instead.
    """
    table = table.drop_columns([ROW_COLUMN]) if ROW_COLUMN in table.column_names else table
    left_out = [c for c in table.column_names if c not in target.names]
    for name in left_out:
        if name in declared:
            raise Invalid("The current version has no column %(column)s, which the schema now declares; load the "
                          "dataset again before resubmitting", column=name)
    arrays = []
    for f in target:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, f.type))
            continue
        column = table.column(f.name)
        try:
            arrays.append(column if column.type == f.type else column.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise Invalid("Column %(column)s is %(old)s in the current version but the schema now makes it %(new)s; "
                          "load the dataset again before resubmitting", column=f.name, old=str(f.type),
                          new=str(column.type)) from None
    return pa.Table.from_arrays(arrays, schema=target), left_out
