"""The ingest pipeline: connector batches → standardise and validate in DuckDB → lake or quarantine.

Mechanism only (no permission checks, no commits): ``ingest.service`` drives it inside a unit of work.
Validation runs as one SQL statement per chunk (``quality.split_batch``); primary keys are checked
across chunks against a DuckDB table of the keys already accepted, so a duplicate in a later chunk
is quarantined too. Memory stays flat: one chunk at a time.

Chunks, not connector batches: the connectors yield small record batches (the CSV reader's ~2 MiB blocks,
a few thousand rows), and each SQL statement costs 20-40 ms to plan and runs on few threads when small, so
the batches are gathered into chunks of about CHUNK_ROWS rows (zero-copy, ``pa.Table.from_batches``).
Measured with bench/ingest on the 1M-row legal-entity file (11 columns, all validators, 2 CPUs):
split_batch over the CSV connector's 112 batches of ~8,900 rows took 10.4 s, over 65,536-row chunks
3.9 s, over 524,288-row chunks 2.75 s (1,048,576: 3.0 s); the primary-key statements drop likewise. A
chunk of that table is about 120 MB of Arrow strings; the whole ingest peaked at about 1.1 GiB RSS for
1M and 5M rows alike (bench/RESULTS.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from huiju.i18n import N_, translations
from huiju.ingest.connectors.base import ROW_COLUMN, Connector, schema_for
from huiju.ingest.quality import Rule, split_batch
from huiju.ingest.schema import TableSchema
from huiju.storage.lake import StagedVersion

CHUNK_ROWS = 524_288  # rows per split_batch call; see the module docstring
DUPLICATE_KEY = N_("Duplicate primary key %(key)s (already loaded from an earlier row)")
EXTRA_COLUMNS = N_("Columns not in the schema were kept as text: %(columns)s")
UNPARSED = "unparsed"


@dataclass
class Quarantined:
    row: int
    raw: dict[str, Any]
    reasons: list[dict[str, Any]]


@dataclass
class PipelineStats:
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rule_counts: Counter[str] = field(default_factory=Counter)
    notices: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Nothing is lost: every row read is either accepted or quarantined."""
        assert self.rows_accepted + self.rows_rejected == self.rows_read, (
            self.rows_accepted, self.rows_rejected, self.rows_read)


def _zh(message: str, params: dict[str, Any]) -> str:
    text = translations("zh_CN").gettext(message)
    return text % params if params else text


def run_pipeline(connector: Connector, schema: TableSchema, rules: list[Rule], staged: StagedVersion, *,
                 today: date, quarantine: Callable[[list[Quarantined]], None],
                 progress: Callable[[int], None] | None = None,
                 previous: Iterable[pa.RecordBatch] = (), chunk_rows: int = CHUNK_ROWS) -> PipelineStats:
    """Stream every chunk through validation; accepted rows go to ``staged``, the others to ``quarantine``."""
    stats = PipelineStats()
    conn = duckdb.connect(":memory:")
    key = list(schema.primary_key or [])
    seen_ready = False
    wrote = False
    for batch in previous:  # append mode: the current version's rows come first
        staged.write(batch)
        wrote = True
    for table in _chunks(connector.read(), chunk_rows):
        result = split_batch(conn, table, schema, rules, today=today)
        accepted = result.accepted
        held: dict[int, Quarantined] = {}
        for reject in result.rejects:
            item = held.setdefault(reject.row, Quarantined(reject.row, {}, []))
            item.reasons.append({"field": reject.field, "rule": reject.rule, "message": reject.message_zh})
            stats.rule_counts[reject.rule] += 1
        if held:
            for raw in result.rejected_raw.to_pylist():
                held[raw.pop(ROW_COLUMN)].raw = raw
        if key and accepted.num_rows:
            accepted, dupes = _split_duplicates(conn, accepted, key, seen_ready)
            seen_ready = True
            for row, raw, key_text in dupes:
                held[row] = Quarantined(row, raw, [{"field": "+".join(key), "rule": "primary_key",
                                                    "message": _zh(DUPLICATE_KEY, {"key": key_text})}])
                stats.rule_counts["primary_key"] += 1
        if accepted.num_rows or not wrote:
            staged.write(accepted.drop_columns([ROW_COLUMN]))
            wrote = True
        if held:
            quarantine(sorted(held.values(), key=lambda q: q.row))
        stats.rows_read += table.num_rows
        stats.rows_accepted += accepted.num_rows
        stats.rows_rejected += len(held)
        if result.extra_columns and not stats.rows_read:
            stats.notices.append(_zh(EXTRA_COLUMNS, {"columns": "、".join(result.extra_columns)}))
        if progress:
            progress(table.num_rows)
        del table, result, accepted, held  # free this chunk before the next one is gathered
    if not wrote:  # a header-only delivery is a valid, empty version with the declared columns
        empty = pa.Table.from_batches([], schema=schema_for(connector.columns))
        staged.write(split_batch(conn, empty, schema, rules, today=today).accepted.drop_columns([ROW_COLUMN]))
    unparsed = [Quarantined(r.row, {"_line": r.raw}, [{"field": "", "rule": UNPARSED, "message": _zh(r.reason, dict(r.params))}])
                for r in connector.rejects]
    if unparsed:
        quarantine(unparsed)
        stats.rule_counts[UNPARSED] += len(unparsed)
    stats.rows_read += len(unparsed)
    stats.rows_rejected += len(unparsed)
    stats.notices.extend(n.localized() for n in connector.warnings)
    conn.close()
    stats.check()
    return stats


def _chunks(batches: Iterable[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Gather record batches into tables of at least chunk_rows rows (the last one smaller), without copying.

    A batch with another schema than the ones gathered so far starts a new chunk; a connector yielding only
    empty batches still yields one (empty) chunk, so the version learns its schema.
    """
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if pending and not batch.schema.equals(pending[0].schema):
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
        pending.append(batch)
        rows += batch.num_rows
        if rows >= chunk_rows:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _split_duplicates(conn: duckdb.DuckDBPyConnection, accepted: pa.Table, key: list[str],
                      seen_ready: bool) -> tuple[pa.Table, list[tuple[int, dict[str, Any], str]]]:
    """Drop rows whose key was accepted from an earlier batch; remember this batch's keys."""
    cols = ", ".join('"' + k.replace('"', '""') + '"' for k in key)
    conn.register("acc", accepted)
    try:
        if seen_ready:
            dup_rows = conn.sql(f"SELECT {ROW_COLUMN} FROM acc WHERE ({cols}) IN (SELECT ({cols}) FROM seen)")
            dup = set(dup_rows.to_arrow_table().column(0).to_pylist())
            conn.execute(f"INSERT INTO seen SELECT {cols} FROM acc")
        else:
            dup = set()
            conn.execute(f"CREATE TEMP TABLE seen AS SELECT {cols} FROM acc")
    finally:
        conn.unregister("acc")
    if not dup:
        return accepted, []
    mask = pc.is_in(accepted.column(ROW_COLUMN), value_set=pa.array(sorted(dup), pa.int64()))
    dupes = accepted.filter(mask).to_pylist()
    out = [(d.pop(ROW_COLUMN), {k: None if v is None else str(v) for k, v in d.items()},
            "/".join(str(d[k]) for k in key)) for d in dupes]
    return accepted.filter(pc.invert(mask)), out
