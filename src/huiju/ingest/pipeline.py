"""The ingest pipeline: connector batches → standardise and validate in DuckDB → lake or quarantine.

Mechanism only (no permission checks, no commits): ``ingest.service`` drives it inside a unit of work.
Validation runs as one SQL statement per chunk (``quality.split_batch``, with the check-digit rules as
numpy twins beside it); primary keys are checked across chunks against the hashes of the keys already
accepted (``_KeysSeen``), so a duplicate in a later chunk is quarantined too.

Chunks, not connector batches: the connectors yield small record batches (the CSV reader's ~2 MiB blocks,
a few thousand rows), and each SQL statement costs 20-40 ms to plan and runs on few threads when small, so
the batches are gathered into chunks of about CHUNK_ROWS rows (zero-copy, ``pa.Table.from_batches``).
Measured with bench/ingest on the 1M-row legal-entity file (11 columns, all validators, 2 CPUs):
split_batch over the CSV connector's 112 batches of ~8,900 rows took 10.4 s, over 65,536-row chunks
3.9 s, over 524,288-row chunks 2.75 s (1,048,576: 3.0 s). CHUNK_ROWS is 262,144 for memory: with 524,288 the
5M-row bench peaked at 1.49 GiB (DuckDB's reader) and 1.54 GiB (the GB18030 file, pyarrow's), against the 1.5
GiB bar; with 262,144, 1.14 GiB on the fused path.

Three stages overlap, each in its own thread: the connector reads and parses the next chunk
(``_Prefetch``), the caller's thread checks the current one and files its rejects, and ``_Writer``
encodes the previous chunk's accepted rows to Parquet; pyarrow and DuckDB release the GIL. Memory stays
bounded whatever the file size: at most three chunks are alive (the next one being read, the one being
checked, the last one being written), about 120 MB of Arrow strings each for the bench table; the 5M-row
bench ingest peaks at the RSS recorded in bench/RESULTS.md (the bar is 1.5 GiB).

The fused path (a UTF-8 CSV file: ``connector.fused_source()``): instead of pyarrow's reader, which numbers
the rows it rejects only when single-threaded, DuckDB's ``read_csv`` reads the file on all DuckDB's threads and
numbers the rows with ``row_number() OVER ()`` (a scan keeps the file's order); its Arrow batches are gathered
into CHUNK_ROWS chunks that go through the unchanged split_batch and stages above. DuckDB reads strictly:
any row it cannot parse stops it, the staged version and the quarantine spool are emptied (``reset`` /
``discard``) and the file is read again through the connector, which quarantines such rows with their numbers,
so row numbers stay exact. Why not more in DuckDB: one query that also standardised and checked (the SQL of
split_batch over the file, raw values carried beside) cost more CPU, 3.4-3.7 s per 1M bench rows for reading
and checking against 2.8-3.1 this way (same process, alternating, loaded machine): its trims ran in SQL at
~60 ns a value instead of Arrow's ~10 ns. DuckDB's own memory is limited to FUSED_MEMORY.
"""

from __future__ import annotations

import functools
import queue
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huiju.i18n import N_, translations
from huiju.ingest.connectors.base import ROW_COLUMN, Connector, schema_for
from huiju.ingest.quality import Rule, split_batch
from huiju.ingest.schema import TableSchema
from huiju.ingest.validators_sql import quote_ident
from huiju.storage.lake import StagedVersion

CHUNK_ROWS = 262_144  # rows per split_batch call; see the module docstring
FUSED_BATCH_ROWS = 1 << 16  # rows per Arrow batch of the fused query, gathered into chunks
FUSED_MEMORY = "512MB"  # DuckDB's own limit for the fused query (its CSV buffers and the streamed result)
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
                 previous: Iterable[pa.RecordBatch] = (), chunk_rows: int = CHUNK_ROWS,
                 discard: Callable[[], None] | None = None) -> PipelineStats:
    """Stream every chunk through validation; accepted rows go to ``staged``, the others to ``quarantine``.

    Three stages overlap (see the module docstring): the connector reads the next chunk in a thread, this
    thread checks the current one and files its rejects, and a writer thread encodes the previous chunk's
    accepted rows to Parquet. ``quarantine`` and ``progress`` are only ever called from the caller's thread.

    A connector offering ``fused_source()`` (a CSV file DuckDB can read) is read by DuckDB on all its threads
    when the caller can start over: ``staged`` has ``reset()`` and ``discard`` empties what ``quarantine`` got.
    If DuckDB stops on the file (a ragged row, a quote never closed or a stray one), both are emptied and the
    file is read again through ``connector.read()``, which reports each such row with its number.
    """
    source = getattr(connector, "fused_source", None)
    fused_sql = source() if callable(source) and discard is not None and hasattr(staged, "reset") \
        and isinstance(previous, (tuple, list)) and not previous else None
    if fused_sql is not None:
        advance = getattr(connector, "advance", None)

        def counted(n: int) -> None:
            if advance is not None:
                advance(n)
            if progress:
                progress(n)

        release = getattr(connector, "release", None)
        if release is not None:
            release()
        started = getattr(connector, "fused_started", None)
        if started is not None:
            started()
        try:
            stats = _run(_fused_chunks(fused_sql, chunk_rows), connector, schema, rules,
                         staged, today=today, quarantine=quarantine, progress=counted, previous=())
        except duckdb.Error:  # DuckDB cannot read it as it is: start over on the connector's own reader
            staged.reset()  # type: ignore[attr-defined]
            discard()
            rewind = getattr(connector, "rewind", None)
            if rewind is not None:
                rewind()
        else:
            finished = getattr(connector, "fused_finished", None)
            if finished is not None:
                finished()
            return _finish(stats, connector)
    stats = _run(_chunks(connector.read(), chunk_rows), connector, schema, rules, staged, today=today,
                 quarantine=quarantine, progress=progress, previous=previous)
    return _finish(stats, connector, quarantine)


def _run(chunks: Iterable[pa.Table], connector: Connector, schema: TableSchema, rules: list[Rule],
         staged: StagedVersion, *, today: date, quarantine: Callable[[list[Quarantined]], None],
         progress: Callable[[int], None] | None, previous: Iterable[pa.RecordBatch]) -> PipelineStats:
    stats = PipelineStats()
    conn = duckdb.connect(":memory:")
    key = list(schema.primary_key or [])
    seen = _KeysSeen(conn, key) if key else None
    try:
        with _Writer(staged) as writer, _Prefetch(chunks) as tables:
            for batch in previous:  # append mode: the current version's rows come first
                writer.write(batch)
            for table in tables:
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
                if seen is not None and accepted.num_rows:
                    accepted, dupes = seen.split(accepted)
                    for row, raw, key_text in dupes:
                        held[row] = Quarantined(row, raw, [{"field": "+".join(key), "rule": "primary_key",
                                                            "message": _zh(DUPLICATE_KEY, {"key": key_text})}])
                        stats.rule_counts["primary_key"] += 1
                if accepted.num_rows or not writer.wrote:
                    writer.write(accepted.drop_columns([ROW_COLUMN]))
                if held:
                    quarantine(sorted(held.values(), key=lambda q: q.row))
                if result.extra_columns and not stats.rows_read:
                    stats.notices.append(_zh(EXTRA_COLUMNS, {"columns": "、".join(result.extra_columns)}))
                stats.rows_read += result.rows_read
                stats.rows_accepted += accepted.num_rows
                stats.rows_rejected += len(held)
                if progress:
                    progress(result.rows_read)
                del table, result, accepted, held  # free this chunk before the next one is gathered
            if not writer.wrote:  # a header-only delivery is a valid, empty version with the declared columns
                empty = pa.Table.from_batches([], schema=schema_for(connector.columns))
                writer.write(split_batch(conn, empty, schema, rules, today=today).accepted.drop_columns([ROW_COLUMN]))
    finally:
        conn.close()
    return stats


def _finish(stats: PipelineStats, connector: Connector,
            quarantine: Callable[[list[Quarantined]], None] | None = None) -> PipelineStats:
    """The connector's unparseable rows (quarantined as read) and notices, and the nothing-lost check."""
    unparsed = [Quarantined(r.row, {"_line": r.raw}, [{"field": "", "rule": UNPARSED, "message": _zh(r.reason, dict(r.params))}])
                for r in connector.rejects] if quarantine is not None else []
    if unparsed and quarantine is not None:
        quarantine(unparsed)
        stats.rule_counts[UNPARSED] += len(unparsed)
    stats.rows_read += len(unparsed)
    stats.rows_rejected += len(unparsed)
    stats.notices.extend(n.localized() for n in connector.warnings)
    stats.check()
    return stats


def _fused_chunks(source_sql: str, chunk_rows: int) -> Iterator[pa.Table]:
    """The file as DuckDB reads it on all its threads, each row numbered, gathered into chunks of all-text columns
    with _row last, as the connector's batches are."""
    conn = duckdb.connect(":memory:", config={"memory_limit": FUSED_MEMORY})
    try:
        numbered = f"SELECT *, row_number() OVER () AS {ROW_COLUMN} FROM {source_sql}"
        yield from _chunks(conn.sql(numbered).to_arrow_reader(min(chunk_rows, FUSED_BATCH_ROWS)), chunk_rows)
    finally:
        conn.close()


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


_DONE = object()


class _Prefetch:
    """Iterate ``items`` in a thread, one item ahead of the consumer, so reading overlaps checking.

    One ahead, not more: the thread reads the next item only once the consumer has taken the last one, so
    at most two chunks are alive here (the 5M-row bench peaked at 1.42 GiB RSS with a queue of one and the
    writer's queue of one, four chunks in flight).

    pyarrow's CSV parser releases the GIL while it parses. An exception in the thread is raised in the
    consumer where it happened; a consumer that stops early (an error in a later stage) stops the thread,
    which closes the iterator there (so the connector closes its file).
    """

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._taken = threading.Semaphore(0)
        self._thread = threading.Thread(target=self._run, name="huiju-ingest-read", daemon=True)

    def _run(self) -> None:
        iterator = iter(self._items)
        try:
            for item in iterator:
                if not self._put((item, None)):
                    return
            self._put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((_DONE, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close:
                close()

    def _put(self, item: tuple[Any, BaseException | None]) -> bool:
        """Hand the item over and wait until the consumer takes it; False if the consumer stopped first."""
        self._queue.put(item)  # never blocks: the last item was taken
        while not self._taken.acquire(timeout=0.1):
            if self._stop.is_set():
                return False
        return True

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._iterate()

    def _iterate(self) -> Iterator[Any]:
        while True:
            item, exc = self._queue.get()
            self._taken.release()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item
            del item

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


class _Writer:
    """Write the version's Parquet in a thread, one table behind, so encoding overlaps checking the next chunk.

    One table at a time: a write waits for the one before to finish. pyarrow encodes and compresses without
    the GIL. Its error (a full disk) is raised at the next write or
    at the end; leaving the block waits for every table to be written, so the caller closes a complete version.
    """

    def __init__(self, staged: StagedVersion) -> None:
        self._staged = staged
        self._queue: queue.Queue[pa.Table | pa.RecordBatch | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="huiju-ingest-write", daemon=True)
        self.wrote = False

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._staged.write(data)
                except BaseException as exc:  # raised in the caller's thread
                    self._error = exc
            del data
            self._queue.task_done()

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        self._queue.join()  # the previous table is written
        if self._error is not None:
            raise self._error
        self._queue.put(data)
        self.wrote = True

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc_type is None:
            raise self._error


class _KeysSeen:
    """The primary keys accepted from earlier chunks, so that a key repeated in a later chunk is quarantined.

    Kept as DuckDB's 64-bit hashes of the typed key in a few sorted runs, each beside the positions of its keys:
    a chunk's hashes are looked up with one binary search per run, and only rows whose hash was seen before are
    compared with the earlier keys, exactly. Each chunk adds a run; the last two runs are merged while the older
    is under twice the newer (a binary counter), so there are at most ~log2(chunks) runs and a key is copied
    ~log2(chunks) times over the file. Before, one sorted array was copied at every chunk, a cost that grew with
    the file (quadratic over it). A key with a NULL part never repeats (as in the unique rule).
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, key: list[str]) -> None:
        self._conn, self._key = conn, key
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, position of each one's key)
        self._keys: list[pa.Table] = []  # the kept keys of every chunk; positions index their concatenation
        self._starts = np.empty(0, np.int64)  # where each chunk's keys start in it
        self._count = 0

    def _hash(self, keys: pa.Table) -> np.ndarray:
        view = f"__huiju_keys_{uuid.uuid4().hex}"
        self._conn.register(view, keys)
        try:
            cols = ", ".join(quote_ident(k) for k in self._key)
            return self._conn.sql(f"SELECT hash({cols}) AS h FROM {view}").fetchnumpy()["h"]
        finally:
            self._conn.unregister(view)

    def split(self, accepted: pa.Table) -> tuple[pa.Table, list[tuple[int, dict[str, Any], str]]]:
        """Drop rows whose key was accepted from an earlier chunk; remember this chunk's keys."""
        keys = pa.table({k: accepted[k].combine_chunks() for k in self._key})  # own buffers, not the chunk's
        hashes = self._hash(keys)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]  # searching sorted hashes walks each run in order
        pair_rows, pair_earlier = [], []
        for run, where in self._runs:
            lo = np.searchsorted(run, ordered, "left")
            hit = np.flatnonzero(run[np.minimum(lo, len(run) - 1)] == ordered)
            if not len(hit):
                continue
            starts = lo[hit]
            counts = np.searchsorted(run, ordered[hit], "right") - starts
            pair_rows.append(np.repeat(order[hit], counts))
            pair_earlier.append(where[np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())])
        dup = np.zeros(len(hashes), bool)
        if pair_rows:  # compare each such row with every earlier key of the same hash
            rows, earlier = self._earlier(np.concatenate(pair_rows), np.concatenate(pair_earlier))
            now = keys.take(pa.array(rows))
            same = functools.reduce(pc.and_, (pc.fill_null(pc.equal(now[k], earlier[k]), False) for k in self._key))
            dup[rows[np.asarray(same.to_numpy(zero_copy_only=False), bool)]] = True
        if not dup.any():
            self._remember(keys, ordered, order)
            return accepted, []
        keep = ~dup
        self._remember(keys.filter(pa.array(keep)), ordered[keep[order]], (np.cumsum(keep) - 1)[order[keep[order]]])
        mask = pa.array(dup)
        dupes = accepted.filter(mask).to_pylist()
        out = [(d.pop(ROW_COLUMN), {k: None if v is None else str(v) for k, v in d.items()},
                "/".join(str(d[k]) for k in self._key)) for d in dupes]
        return accepted.filter(pc.invert(mask)), out

    def _earlier(self, rows: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, pa.Table]:
        """The earlier keys at ``positions``, taken from each chunk's own table rather than from all of them
        concatenated (0.13 → 0.05 CPU s over 20 chunks of 262,144 keys), with ``rows`` put in the same order."""
        chunk = np.searchsorted(self._starts, positions, "right") - 1
        by_chunk = np.argsort(chunk, kind="stable")
        rows, positions, chunk = rows[by_chunk], positions[by_chunk], chunk[by_chunk]
        bounds = np.flatnonzero(np.diff(chunk)) + 1
        parts = [self._keys[c[0]].take(pa.array(p - self._starts[c[0]]))
                 for c, p in zip(np.split(chunk, bounds), np.split(positions, bounds))]
        return rows, pa.concat_tables(parts)

    def _remember(self, keys: pa.Table, hashes: np.ndarray, positions: np.ndarray) -> None:
        """Add the chunk's sorted hashes (of keys[positions]) as a run, merging runs of similar size."""
        if not keys.num_rows:
            return
        self._runs.append((hashes, self._count + positions))
        self._keys.append(keys)
        self._starts = np.append(self._starts, self._count)
        self._count += keys.num_rows
        while len(self._runs) > 1 and len(self._runs[-2][0]) < 2 * len(self._runs[-1][0]):
            (a, wa), (b, wb) = self._runs.pop(-2), self._runs.pop()
            at = np.searchsorted(a, b, "right") + np.arange(len(b))  # b's places in the merged run
            merged, where = np.empty(len(a) + len(b), a.dtype), np.empty(len(a) + len(b), wa.dtype)
            rest = np.ones(len(merged), bool)
            rest[at] = False
            merged[at], where[at], merged[rest], where[rest] = b, wb, a, wa
            self._runs.append((merged, where))
