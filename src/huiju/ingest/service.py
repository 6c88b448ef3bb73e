"""Ingest use cases: load a file or a kept source into a dataset, run the job queue, report quality, work the quarantine."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from sqlalchemy import func, or_, select, update

from huiju.auth.authz import require, visible
from huiju.auth.roles import Actor
from huiju.catalog import access
from huiju.catalog import service as catalog_service
from huiju.errors import Conflict, HuijuError, Invalid, NotFound
from huiju.i18n import N_
from huiju.ingest import sources as source_kit
from huiju.ingest.authority import service as authority_service
from huiju.ingest.classify import propose_labels
from huiju.ingest.connectors import open_file
from huiju.ingest.connectors.base import Connector
from huiju.ingest.events import (
    IngestFinished,
    JobInterrupted,
    JobQueued,
    JobRetryScheduled,
    JobStarted,
    SourceAdded,
    SourceChanged,
)
from huiju.ingest.models import IngestJob, JobLogLine, QuarantineRow, Source
from huiju.ingest.permissions import INGEST_RUN, INGEST_VIEW, JOB_WORK, SOURCE_MANAGE
from huiju.ingest.pipeline import Quarantined, run_pipeline
from huiju.ingest.progress import JobReporter
from huiju.ingest.quality import Rule, rules_from_schema
from huiju.ingest.schema import TableSchema, infer_schema
from huiju.security.crypto import get_provider
from huiju.storage.db import utcnow
from huiju.storage.lake import StagedVersion
from huiju.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
WRITE_MODES = source_kit.WRITE_MODES
QUARANTINE_FLUSH = 5000
ACTIVE = ("queued", "running")

# log lines (English msgids, shown translated)
L_QUEUED = N_("Queued (%(trigger)s) by %(actor)s")
L_STARTED = N_("Attempt %(attempt)s started on %(worker)s")
L_OPENED = N_("Source opened: %(columns)s columns; rows expected: %(total)s")
L_READ = N_("Read %(rows)s rows: %(accepted)s accepted, %(rejected)s quarantined")
L_MERGED = N_("Merged on %(keys)s: %(replaced)s rows replaced, %(added)s added, %(kept)s kept")
L_PUBLISHED = N_("Version %(number)s published with %(rows)s rows")
L_CURSOR = N_("Cursor %(column)s moved from %(before)s to %(after)s")
L_FAILED = N_("Attempt %(attempt)s failed: %(error)s")
L_RETRY = N_("Trying again in %(seconds)s seconds (attempt %(next)s of %(max)s)")
L_GAVE_UP = N_("Failed after %(attempts)s attempts")
L_INTERRUPTED = N_("Interrupted: no heartbeat from %(worker)s since %(since)s (the process stopped)")
L_RERUN = N_("Rerun requested by %(actor)s")
INTERRUPTED = N_("The job stopped without finishing (its process ended); nothing it read was published")


def file_sm3(path: Path) -> tuple[str, int]:
    """SM3 of a file read in chunks, for lineage; returns (hex digest, bytes).

    OpenSSL's SM3 through hashlib where it has one: hashlib releases the GIL while it hashes, so ingest_file
    computes the digest in a thread beside the pipeline (~0.7 CPU s per 1M bench rows, off the critical path);
    cryptography's SM3 (the same digest) holds the GIL.
    """
    if "sm3" in hashlib.algorithms_available:
        digest: Any = hashlib.new("sm3")
    else:
        from cryptography.hazmat.primitives import hashes

        digest = hashes.Hash(hashes.SM3())
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return (digest.hexdigest() if hasattr(digest, "hexdigest") else digest.finalize().hex()), size


def _hash_beside(path: Path) -> Future[tuple[str, int]]:
    """file_sm3 in a thread of its own, so the file is hashed while the pipeline reads it."""
    hashing = ThreadPoolExecutor(1, thread_name_prefix="huiju-sm3")
    try:
        return hashing.submit(file_sm3, path)
    finally:
        hashing.shutdown(wait=False)


def rule_set_sm3(schema: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    canonical = json.dumps({"schema": schema, "rules": rules}, ensure_ascii=False, sort_keys=True)
    return get_provider().sm3(canonical.encode()).hex()


def worker_name() -> str:
    """Who runs a job: host, process and thread, so a stale claim names the process that died."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:100]


def ingest_file(uow: UnitOfWork, actor: Actor, *, dataset_key: str, path: Path, original_name: str | None = None,
                encoding: str | None = None, sheet: str | int | None = None, header_rows: int | None = None,
                write_mode: str = "replace", key_columns: list[str] | None = None, today: date | None = None,
                options: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None) -> IngestJob:
    """Validate a file row by row into a new version of the dataset; rejected rows go to quarantine.

    A file that cannot be read at all fails the job, is kept beside it with its error, and the
    dataset's current version stays in service.
    """
    ds = catalog_service.dataset_by_key(uow, actor, dataset_key)
    require(actor, INGEST_RUN, department_id=ds.department_id)
    _check_mode(write_mode)
    hashed = _hash_beside(path)  # the job records the digest when the run ends (or fails)
    worker = worker_name()
    job = IngestJob(dataset_id=ds.id, department_id=ds.department_id, source_kind="upload",
                    input_name=original_name or path.name, input_sm3=None, input_bytes=path.stat().st_size,
                    encoding=encoding,
                    write_mode=write_mode, status="running", attempts=1, claimed_by=worker, heartbeat_at=utcnow(),
                    created_by=actor.user_id)
    uow.add(job)
    uow.commit()  # the job is visible (and its progress) while it runs
    opened = {"encoding": encoding, "sheet": sheet, "header_rows": header_rows, **(options or {})}
    with JobReporter(uow.storage.engine, job.id, heartbeat_seconds=uow.settings.job_heartbeat_seconds,
                     worker=worker) as reporter:
        error = _load(uow, actor, ds, job, lambda: open_file(path, **opened), reporter=reporter,
                      inputs=[{"name": job.input_name, "bytes": job.input_bytes}], write_mode=write_mode,
                      key_columns=key_columns, today=today, progress=progress, hashed=hashed)
    if error is not None:
        return _fail(uow, actor, job, path, error.localized(), input_sm3=hashed.result()[0])
    authority_service.on_version_published(uow, actor, ds.key)  # 一数一源 re-compare, base libraries rebuilt
    return job


def _check_mode(write_mode: str) -> None:
    if write_mode not in WRITE_MODES:
        raise Invalid("Write mode must be one of %(modes)s", modes=", ".join(WRITE_MODES))


class _Counted:
    """The connector as the pipeline sees it: peeks the first batch, counts rows for progress, hashes what it read."""

    def __init__(self, inner: Connector, on_rows: Callable[[int], None], *, hash_batches: bool) -> None:
        from cryptography.hazmat.primitives import hashes

        self.inner, self.on_rows, self.done = inner, on_rows, 0
        self._batches: Iterator[pa.RecordBatch] | None = iter(inner.read())
        self._peeked: list[pa.RecordBatch] = []
        self._digest = hashes.Hash(hashes.SM3()) if hash_batches else None

    def __getattr__(self, name: str) -> Any:  # columns, rejects, warnings, encoding, cursor_value…
        return getattr(self.inner, name)

    def peek(self) -> pa.RecordBatch | None:
        """The first batch (kept, and yielded again by read()), for inferring a schema and proposing labels."""
        first = next(self._batches, None)
        self._peeked = [first] if first is not None else []
        return first

    def read(self) -> Iterator[pa.RecordBatch]:
        batches = self._batches if self._batches is not None else iter(self.inner.read())
        for batch in chain(self._peeked, batches):
            self.done += batch.num_rows
            if self._digest is not None:
                self._digest.update(batch.serialize().to_pybytes())
            self.on_rows(batch.num_rows)
            yield batch

    def fused_source(self) -> str | None:
        """The file as the pipeline's fused DuckDB query reads it (pipeline.run_pipeline), unless batches are hashed."""
        source = getattr(self.inner, "fused_source", None)
        return source() if source is not None and self._digest is None else None

    def advance(self, rows: int) -> None:
        """Rows the fused query read, counted as read() counts its batches."""
        self.done += rows
        self.on_rows(rows)

    def rewind(self) -> None:
        """The fused query stopped: read() starts the count again."""
        self.done = 0

    def release(self) -> None:
        """The fused query reads the file: close the reader opened for peek() (and its read-ahead buffers);
        read() opens a new one if the pipeline falls back to it."""
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
        self._batches, self._peeked = None, []

    def sm3(self) -> str | None:
        """SM3 over the Arrow IPC bytes of every batch read: what a database or API delivered, for lineage."""
        return self._digest.finalize().hex() if self._digest is not None else None


class _Spool:
    """Quarantined rows kept in a temporary file until the job's final transaction, so none is held open while rows stream."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=folder)
        self.count = 0

    def add(self, rows: list[Quarantined]) -> None:
        """Serialise here, while the pipeline's other threads run, so the final transaction only inserts.

        orjson (compact UTF-8) writes the same JSON values as the ORM's json.dumps, ~6x faster (12,000 rows of the
        1M-row bench: 0.06 → 0.01 CPU s), on the thread that checks the chunks."""
        pickle.dump([(q.row, orjson.dumps(q.raw).decode(), orjson.dumps(q.reasons).decode()) for q in rows],
                    self.file)
        self.count += len(rows)

    def insert(self, uow: UnitOfWork, job_id: int) -> None:
        """executemany on the driver's cursor with the JSON already text: the ORM's bulk insert spent ~75 µs a row
        on parameter processing (0.9 CPU s for the 12,000 rows of the 1M-row bench file), all after the pipeline."""
        conn = uow.session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        as_json = f"CAST({mark} AS JSON)" if conn.dialect.name == "postgresql" else mark
        sql = (f"INSERT INTO {QuarantineRow.__tablename__} (job_id, row_number, raw, reasons, status) "
               f"VALUES ({mark}, {mark}, {as_json}, {as_json}, 'open')")
        self.file.seek(0)
        pending: list[tuple[int, int, str, str]] = []
        while True:
            try:
                part = pickle.load(self.file)
            except EOFError:
                break
            pending += [(job_id, r, raw, reasons) for r, raw, reasons in part]
            if len(pending) >= QUARANTINE_FLUSH:
                conn.exec_driver_sql(sql, pending)
                pending = []
        if pending:
            conn.exec_driver_sql(sql, pending)

    def reset(self) -> None:
        """Forget every row added (the pipeline reads the input again)."""
        self.file.seek(0)
        self.file.truncate()
        self.count = 0

    def close(self) -> None:
        self.file.close()


class _KeyRecorder:
    """Stands in for the staged version during a merge: writes through and keeps the merge keys of every row."""

    def __init__(self, staged: StagedVersion, keys: list[str]) -> None:
        self.staged, self.keys, self.parts = staged, keys, []

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        self.staged.write(data)
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        self.parts.append(table.select(self.keys))

    def reset(self) -> None:
        self.staged.reset()
        self.parts = []

    def table(self) -> pa.Table:
        return pa.concat_tables(self.parts) if self.parts else pa.table({k: pa.array([], pa.string()) for k in self.keys})


def _load(uow: UnitOfWork, actor: Actor, ds: Any, job: IngestJob, opener: Callable[[], Connector], *,
          reporter: JobReporter, inputs: list[dict[str, Any]], write_mode: str, key_columns: list[str] | None,
          today: date | None, progress: Callable[[int], None] | None = None, source: Source | None = None,
          hash_batches: bool = False, hashed: Future[tuple[str, int]] | None = None) -> HuijuError | None:
    """Read, validate and publish one job's data; returns the error that stopped it (nothing published) or None.

    The job's transaction is closed while rows stream (quarantined rows wait in a spool file), so the
    reporter's progress and heartbeat commit freely on SQLite too. The final transaction starts with a
    write, re-reads the dataset's current version under a lock and refuses to publish an append or merge
    built on a version that another job replaced meanwhile; it publishes the version, the quarantine,
    the lineage and the source's new cursor together.
    """
    spool = _Spool(uow.settings.home / "tmp")
    staged: StagedVersion | None = None
    try:
        def rows(n: int) -> None:
            reporter.rows(connector.done)
            if progress:
                progress(n)

        connector = _Counted(opener(), rows, hash_batches=hash_batches)
        total = connector.count() if hasattr(connector.inner, "count") else getattr(connector.inner, "total", None)
        reporter.rows(0, total)
        reporter.line(L_OPENED, columns=len(connector.columns), total="—" if total is None else total)
        if len(connector.columns) > uow.settings.ingest_max_columns:
            raise Invalid("The file has %(n)s columns; at most %(max)s are accepted (setting HUIJU_INGEST_MAX_COLUMNS)",
                          n=len(connector.columns), max=uow.settings.ingest_max_columns)
        schema, declared, proposed = _schema_for(uow, actor, ds, connector.peek())
        keys: list[str] = []
        if write_mode == "merge":
            keys = list(key_columns or schema.primary_key or [])
            if not keys:
                raise Invalid("Merge needs key columns: give them, or declare a primary key in the dataset's schema")
            if missing := [k for k in keys if k not in {f.name for f in schema.fields}]:
                raise Invalid("The merge key column %(column)s is not in the dataset's schema", column=missing[0])
            schema = schema.model_copy(update={"primary_key": keys})
        rules = _rules_for(schema, declared)
        base = catalog_service.current_version(uow, actor, ds.key) if write_mode != "replace" else None
        staged = uow.stage_version(ds.key)
        sink: Any = _KeyRecorder(staged, keys) if keys else staged
        # the rows kept in append mode are located (and their key looked up) before the commit below, so that
        # no read transaction stays open while rows stream
        previous = _current_batches(uow, actor, ds.key, version=base) if write_mode == "append" and base else ()
        uow.session.commit()  # a proposed labelling is kept; no transaction stays open while rows stream
        stats = run_pipeline(connector, schema, rules, sink, today=today or date.today(), quarantine=spool.add,
                             previous=previous, discard=spool.reset)
        if keys and base is not None:
            replaced, kept = _merge_previous(uow, actor, ds.key, base, sink, staged)
            stats.notices.append(_zh(L_MERGED, {"keys": "+".join(keys), "replaced": replaced,
                                              "added": stats.rows_accepted - replaced, "kept": kept}))
            reporter.line(L_MERGED, keys="+".join(keys), replaced=replaced, added=stats.rows_accepted - replaced,
                          kept=kept)
        reporter.line(L_READ, rows=stats.rows_read, accepted=stats.rows_accepted, rejected=stats.rows_rejected)
        reporter.pause()  # from here the job's own transaction holds the database until it commits
        job = uow.get(IngestJob, job.id)
        if hashed is not None:  # the file's digest, computed beside the pipeline
            job.input_sm3, job.input_bytes = hashed.result()
            inputs = [{**i, "sm3": job.input_sm3, "bytes": job.input_bytes} for i in inputs]
        job.rows_read, job.rows_accepted, job.rows_rejected = stats.rows_read, stats.rows_accepted, stats.rows_rejected
        job.rows_done, job.rows_total = stats.rows_read, reporter.total
        uow.session.flush()  # the first statement writes: SQLite takes its write lock with a fresh snapshot
        still = uow.session.execute(select(IngestJob.status).where(IngestJob.id == job.id)).scalar_one()
        if still != "running":  # the sweep took it for dead (no heartbeat got through): its rerun publishes
            raise Conflict("Job %(id)s was marked %(status)s while it ran; nothing was published", id=job.id,
                           status=still)
        ds = catalog_service.dataset_by_key(uow, actor, ds.key)
        uow.session.refresh(ds, with_for_update=True)
        if write_mode != "replace" and ds.current_version_id != (base.id if base else None):
            raise Conflict("The dataset got a new version while this job read its data; run the job again")
        spool.insert(uow, job.id)
    except HuijuError as exc:
        uow.rollback()
        spool.close()
        return exc
    except Exception as exc:  # a fault of the platform, not of the data: the job fails (or retries) with its name
        log.exception("ingest job %s stopped on an unexpected error", job.id)
        uow.rollback()
        spool.close()
        return Invalid("The job stopped on an unexpected error: %(error)s", error=f"{type(exc).__name__}: {exc}")
    spool.close()
    job.rule_counts = dict(stats.rule_counts)
    job.notices = stats.notices
    job.encoding = getattr(connector.inner, "encoding", None) or job.encoding
    job.status, job.finished_at, job.error = "succeeded", utcnow(), None
    sm3 = connector.sm3()
    if sm3 is not None:
        job.input_sm3 = sm3
        inputs = [{**i, "sm3": sm3, "rows": stats.rows_read} for i in inputs]
    cursor = getattr(connector.inner, "cursor_value", None)
    if source is not None and source.cursor_column:
        after = _cursor_text(cursor) if cursor is not None else source.cursor_value
        job.cursor_from, job.cursor_to = source.cursor_value, after
        inputs = [{**i, "cursor_column": source.cursor_column, "cursor_from": source.cursor_value,
                   "cursor_to": after} for i in inputs]
        if after != source.cursor_value:
            uow.session.add(JobLogLine(job_id=job.id, message=L_CURSOR, params={
                "column": source.cursor_column, "before": source.cursor_value or "—", "after": after}))
        source = uow.session.get(Source, source.id)
        source.cursor_value = after  # moves only in the transaction that publishes the version
    schema_json = json.loads(schema.to_json())
    rules_json = [r.model_dump(mode="json") for r in rules]
    if proposed:
        catalog_service.save_schema(uow, actor, ds.key, table_schema=schema_json, rules=rules_json,
                                    confirmed=False, commit=False)
    catalog_service.mount_on_publish(uow, actor, ds.key, staged, kind="ingest", job_id=job.id, inputs=inputs,
                                     rule_set_sm3=rule_set_sm3(schema_json, rules_json))
    uow.emit(actor, IngestFinished(job_id=job.id, dataset_id=ds.id, status=job.status, rows_read=job.rows_read,
                                   rows_accepted=job.rows_accepted, rows_rejected=job.rows_rejected,
                                   input_sm3=job.input_sm3))

    def published(version: Any) -> None:
        job.version_id = version.id
        uow.session.add(JobLogLine(job_id=job.id, message=L_PUBLISHED, params={"number": version.number,
                                                                               "rows": version.row_count}))

    staged.on_publish.append(published)
    uow.commit()
    return None


def _zh(message: str, params: dict[str, Any]) -> str:
    from huiju.ingest.quarantine import zh

    return zh(message, params)


def _cursor_text(value: Any) -> str:
    from huiju.ingest.connectors.sql import text_of

    return text_of(value) or ""


def _rules_for(schema: TableSchema, declared: list[Rule]) -> list[Rule]:
    implied = [r for r in rules_from_schema(schema) if r.id not in {d.id for d in declared}]
    return implied + declared


def _schema_for(uow: UnitOfWork, actor: Actor, ds: Any,
                first: pa.RecordBatch | None) -> tuple[TableSchema, list[Rule], bool]:
    """The dataset's schema and declared rules; on first load, inferred from the first batch and proposed.

    Classification on arrival: while a dataset has no labels, its columns' sensitivity is proposed
    from the first batch's headers and content, whether or not a schema was declared.
    """
    if first is not None and not ds.labels:
        table = pa.Table.from_batches([first])
        labels = propose_labels({c: table.column(c).combine_chunks() for c in table.column_names if c != "_row"})
        catalog_service.save_labels(uow, actor, ds.key, {c: _proposal_json(p) for c, p in labels.items()
                                                        if p.kind != "none"})
    if ds.table_schema:
        schema = TableSchema.from_json(json.dumps(ds.table_schema))
        return schema, [Rule.model_validate(r) for r in ds.rules or []], False
    if first is None:
        raise Invalid("The file has a header but no rows; nothing to infer a schema from")
    return infer_schema(pa.Table.from_batches([first])), [], True


def _proposal_json(p: Any) -> dict[str, Any]:
    """A column's proposed label as stored on the dataset until the steward confirms or changes it."""
    return {"kind": p.kind, "confidence": round(p.confidence, 3), "level": p.label.level.value,
            "sensitive_pi": p.label.sensitive_pi, "categories": sorted(p.label.categories), "mask": p.mask,
            "confirmed": False}


def _current_batches(uow: UnitOfWork, actor: Actor, key: str, *, version: Any = None,
                     without: pa.Table | None = None) -> Iterator[pa.RecordBatch]:
    """The current version's rows (read by the platform itself, not on a user's behalf): for append, resubmission
    and merge. ``without`` drops the rows whose key (its columns) is in that table: the old rows a merge replaces.
    """
    version = version or catalog_service.current_version(uow, actor, key)
    if version is None:
        return iter(())
    return access.read_internal(uow, actor, version, without=without)


def _merge_previous(uow: UnitOfWork, actor: Actor, key: str, base: Any, recorder: _KeyRecorder,
                    staged: StagedVersion) -> tuple[int, int]:
    """Write the current version's rows whose key was not delivered again; returns (rows replaced, rows kept)."""
    kept = 0
    target = staged.schema
    batches = _current_batches(uow, actor, key, version=base, without=recorder.table())
    uow.session.commit()  # end the look-up's read transaction: the job's final one must start with a fresh snapshot
    for batch in batches:
        if target is not None and not batch.schema.equals(target):
            if batch.schema.names != target.names:
                raise Invalid("The current version's columns differ from the new data's; merge needs the same "
                              "columns (load once in replace mode to change them)")
            batch = batch.cast(target)
        staged.write(batch)
        kept += batch.num_rows
    return base.row_count - kept, kept


def _fail(uow: UnitOfWork, actor: Actor, job: IngestJob, path: Path | None, message: str, *,
          input_sm3: str | None = None) -> IngestJob:
    """Keep the unreadable file (if there is one) and its error; nothing else changes."""
    job = uow.get(IngestJob, job.id)
    if input_sm3 is not None:
        job.input_sm3 = input_sm3
    if path is not None:
        kept = uow.settings.home / "rejected-files" / str(job.id)
        kept.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, kept / Path(job.input_name).name)
        job.kept_file = str(kept / Path(job.input_name).name)
    job.status, job.error, job.finished_at = "failed", message, utcnow()
    uow.emit(actor, IngestFinished(job_id=job.id, dataset_id=job.dataset_id, status="failed", rows_read=0,
                                   rows_accepted=0, rows_rejected=0, input_sm3=job.input_sm3))
    uow.commit()
    return job



def get_job(uow: UnitOfWork, actor: Actor, job_id: int) -> IngestJob:
    job = uow.get(IngestJob, job_id)
    require(actor, INGEST_VIEW, department_id=job.department_id)
    return job


def list_jobs(uow: UnitOfWork, actor: Actor, *, dataset_key: str | None = None, status: str | None = None,
              limit: int = 50) -> list[IngestJob]:
    """Newest first; only the departments the actor may see, filtered in the query."""
    require(actor, INGEST_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(IngestJob).where(visible(actor, INGEST_VIEW, IngestJob))
    if status is not None:
        query = query.where(IngestJob.status == status)
    if dataset_key is not None:
        query = query.where(IngestJob.dataset_id == catalog_service.dataset_by_key(uow, actor, dataset_key).id)
    return list(uow.session.scalars(query.order_by(IngestJob.id.desc()).limit(min(limit, 500))))


def quality_report(uow: UnitOfWork, actor: Actor, job_id: int, *, examples: int = 5) -> dict[str, Any]:
    """Counts per rule, a few example rows per rule and the score; accepted + rejected = read is stated."""
    job = get_job(uow, actor, job_id)
    samples: dict[str, list[dict[str, Any]]] = {}
    rows = uow.session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job.id)
                               .order_by(QuarantineRow.row_number).limit(2000))
    for q in rows:
        for reason in q.reasons:
            bucket = samples.setdefault(reason["rule"], [])
            if len(bucket) < examples:
                bucket.append({"row": q.row_number, "field": reason["field"], "message": reason["message"]})
    quarantined = uow.session.scalar(select(func.count()).where(QuarantineRow.job_id == job.id))
    return {
        "job_id": job.id, "dataset_id": job.dataset_id, "input": job.input_name, "input_sm3": job.input_sm3,
        "status": job.status, "error": job.error, "rows_read": job.rows_read, "rows_accepted": job.rows_accepted,
        "rows_rejected": job.rows_rejected, "balanced": job.rows_accepted + job.rows_rejected == job.rows_read,
        "quarantined_rows": quarantined, "quality_score": job.quality_score,
        "rules": [{"rule": r, "count": n, "examples": samples.get(r, [])}
                  for r, n in sorted(job.rule_counts.items(), key=lambda kv: -kv[1])],
        "notices": job.notices,
    }


def list_quarantine(uow: UnitOfWork, actor: Actor, job_id: int, *, after_row: int = 0,
                    limit: int = 100) -> list[QuarantineRow]:
    job = get_job(uow, actor, job_id)
    query = (select(QuarantineRow).where(QuarantineRow.job_id == job.id, QuarantineRow.row_number > after_row)
             .order_by(QuarantineRow.row_number).limit(min(limit, 1000)))
    return list(uow.session.scalars(query))


# ---- correcting and resubmitting quarantined rows (mechanics in ingest/quarantine.py) -----

def resubmit_quarantine(uow: UnitOfWork, actor: Actor, job_id: int, corrections: dict[int, dict[str, str | None]],
                        *, discard: list[int] | tuple[int, ...] = (), today: date | None = None) -> IngestJob:
    """Check corrected quarantined rows of a job again and append the ones that now pass as a new version.

    ``corrections`` maps quarantined row ids of the job to new values by column (a row kept as a raw line is
    given as a whole); ``discard`` names rows the steward gives up on. Rows that still fail stay open with
    their new reasons. A new job of kind "resubmit" records the attempt, with accepted + rejected = read.
    """
    from huiju.errors import Conflict, NotFound
    from huiju.ingest import quarantine
    from huiju.ingest.events import QuarantineResubmitted
    from huiju.ingest.permissions import QUARANTINE_RESOLVE

    job = uow.get(IngestJob, job_id)
    require(actor, QUARANTINE_RESOLVE, department_id=job.department_id)
    corrections = {int(k): dict(v or {}) for k, v in corrections.items()}
    discard_ids = {int(i) for i in discard}
    if not corrections and not discard_ids:
        raise Invalid("Give corrected values for at least one quarantined row, or rows to discard")
    if both := sorted(set(corrections) & discard_ids):
        raise Invalid("Quarantined row %(id)s cannot be both corrected and discarded", id=both[0])
    wanted = set(corrections) | discard_ids
    rows = {q.id: q for q in uow.session.scalars(
        select(QuarantineRow).where(QuarantineRow.job_id == job.id, QuarantineRow.id.in_(wanted))
        .order_by(QuarantineRow.row_number).with_for_update())}
    for row_id in sorted(wanted):
        if row_id not in rows:
            raise NotFound("Quarantined row %(id)s of job %(job)s not found", id=row_id, job=job.id)
        if rows[row_id].status == "resubmitted":
            raise Conflict("Row %(row)s was already resubmitted", row=rows[row_id].row_number)
        if rows[row_id].status != "open":
            raise Conflict("Row %(row)s was already discarded", row=rows[row_id].row_number)
    ds = _dataset_of_job(uow, actor, job)
    if not ds.table_schema:
        raise Invalid("The dataset has no schema to check the corrected rows with")
    schema = TableSchema.from_json(json.dumps(ds.table_schema))
    declared = [Rule.model_validate(r) for r in ds.rules or []]
    rules = [r for r in rules_from_schema(schema) if r.id not in {d.id for d in declared}] + declared
    names = [f.name for f in schema.fields]

    fixed: list[tuple[QuarantineRow, dict[str, str | None], dict[str, Any]]] = []
    for q in sorted((rows[i] for i in corrections), key=lambda q: q.row_number):
        values, stored = quarantine.apply_correction(q.raw, corrections[q.id], names, row=q.row_number)
        fixed.append((q, values, stored))
    numbers = [q.row_number for q, _v, _s in fixed]
    if len(set(numbers)) != len(numbers):
        raise Invalid("Rows with the same row number must be resubmitted one at a time")
    submitted = json.dumps({str(q.row_number): values for q, values, _s in fixed}, ensure_ascii=False,
                           sort_keys=True).encode()
    new = IngestJob(dataset_id=job.dataset_id, department_id=job.department_id, source_kind="resubmit",
                    input_name=f"job {job.id} corrections", input_sm3=get_provider().sm3(submitted).hex(),
                    input_bytes=len(submitted), write_mode="append", status="running", created_by=actor.user_id)
    uow.add(new)
    uow.session.flush()

    outcome, current = None, None
    if fixed:
        current = catalog_service.current_version(uow, actor, ds.key)
        rows = pa.Table.from_batches(list(access.read_internal(uow, actor, current))) if current else None
        batch = quarantine.build_batch([(q.row_number, values) for q, values, _s in fixed], names)
        outcome = quarantine.revalidate(batch, schema, rules, today=today or date.today(), current=rows)
    notices: list[str] = []
    if outcome is not None and outcome.accepted.num_rows:
        table = outcome.accepted.drop_columns([quarantine.ROW_COLUMN])
        if current:  # the current version's rows first, as in append mode, then the fixed rows in its columns
            table, left_out = quarantine.conform(table, access.internal_schema(uow, actor, current), names)
            if left_out:
                notices.append(quarantine.zh(quarantine.LEFT_OUT, {"columns": "、".join(left_out)}))
        staged = uow.stage_version(ds.key)
        for previous in _current_batches(uow, actor, ds.key):
            staged.write(previous)
        staged.write(table)
        schema_json = json.loads(schema.to_json())
        catalog_service.mount_on_publish(
            uow, actor, ds.key, staged, kind="resubmit", job_id=new.id,
            inputs=[{"name": new.input_name, "job_id": job.id, "rows": outcome.accepted_rows,
                     "sm3": new.input_sm3, "bytes": new.input_bytes}],
            rule_set_sm3=rule_set_sm3(schema_json, [r.model_dump(mode="json") for r in rules]))
        staged.on_publish.append(lambda version: setattr(new, "version_id", version.id))

    accepted = set(outcome.accepted_rows) if outcome else set()
    for q, _values, stored in fixed:
        q.raw = stored
        if q.row_number in accepted:
            q.status = "resubmitted"
        else:
            q.reasons = outcome.failed[q.row_number] if outcome else q.reasons
    for row_id in sorted(discard_ids):
        rows[row_id].status = "discarded"
    new.rows_read = len(fixed)
    new.rows_accepted = len(accepted)
    new.rows_rejected = len(fixed) - len(accepted)
    new.rule_counts = dict(outcome.rule_counts) if outcome else {}
    if new.rows_rejected:
        notices.append(quarantine.zh(quarantine.STILL_OPEN, {"job": job.id, "n": new.rows_rejected}))
    if discard_ids:
        notices.append(quarantine.zh(quarantine.DISCARDED, {"n": len(discard_ids)}))
    new.notices = notices
    new.status, new.finished_at = "succeeded", utcnow()
    uow.emit(actor, QuarantineResubmitted(job_id=job.id, rows=len(accepted)))
    uow.emit(actor, IngestFinished(job_id=new.id, dataset_id=new.dataset_id, status=new.status,
                                   rows_read=new.rows_read, rows_accepted=new.rows_accepted,
                                   rows_rejected=new.rows_rejected, input_sm3=new.input_sm3))
    uow.commit()
    return new


def correction_fields(uow: UnitOfWork, actor: Actor, job_id: int, rows: list[QuarantineRow]) -> dict[int, list[str]]:
    """For a correction form: the columns offered per open quarantined row (the failing ones; all for a raw line)."""
    from huiju.ingest import quarantine

    job = get_job(uow, actor, job_id)
    open_rows = [q for q in rows if q.job_id == job.id and q.status == "open"]
    names: list[str] = []
    if any(quarantine.LINE in q.raw for q in open_rows):  # only a raw line needs the schema's field names
        ds = _dataset_of_job(uow, actor, job)
        names = [f["name"] for f in (ds.table_schema or {}).get("fields", [])]
    return {q.id: quarantine.editable_fields(q.raw, q.reasons, names) for q in open_rows}


def _dataset_of_job(uow: UnitOfWork, actor: Actor, job: IngestJob) -> Any:
    """The job's dataset, found through the version it made (a quarantine belongs to a job that made one)."""
    from huiju.errors import NotFound
    from huiju.storage.lake import LakeVersion

    if job.version_id is not None:
        return catalog_service.dataset_by_key(uow, actor, uow.get(LakeVersion, job.version_id).dataset_key)
    for ds in catalog_service.list_datasets(uow, actor):
        if ds.id == job.dataset_id:
            return ds
    raise NotFound("Dataset %(key)s not found", key=job.dataset_id)


# ---- sources kept on the platform (mechanics in ingest/sources.py) -------------------------

def add_source(uow: UnitOfWork, actor: Actor, *, name: str, dataset_key: str, kind: str, options: dict[str, Any],
               write_mode: str = "replace", key_columns: list[str] | None = None, cursor_column: str | None = None,
               schedule: str | None = None, enabled: bool = True) -> Source:
    """Keep a department's source (a file on the platform's machine, a database, an HTTP API) to run now or on a schedule.

    Secrets in the options (an address's password, HTTP headers) are sealed under the data key
    ``ingest:sources`` and never stored in clear; the audit entry names them, not their values.
    """
    ds = catalog_service.dataset_by_key(uow, actor, dataset_key)
    require(actor, SOURCE_MANAGE, department_id=ds.department_id)
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("A source needs a name of at most 100 characters")
    if uow.session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise Conflict("A source named %(name)s already exists", name=name)
    _check_mode(write_mode)
    options = source_kit.check_options(kind, options)
    keys = [k.strip() for k in key_columns or [] if k.strip()]
    cursor_column = (cursor_column or "").strip() or None
    if cursor_column and write_mode == "replace":
        raise Invalid("An incremental cursor reads only new rows; use write mode append or merge with it")
    if cursor_column and kind == "file":
        raise Invalid("A file source has no incremental cursor")
    if cursor_column and kind == "http" and "since_param" not in options:
        raise Invalid("An HTTP source with a cursor needs since_param: the query parameter that asks for newer records")
    schema_key = (ds.table_schema or {}).get("primaryKey") or []
    if write_mode == "merge" and not keys and not schema_key:
        raise Invalid("Merge needs key columns: give them, or declare a primary key in the dataset's schema")
    schedule = source_kit.check_schedule(schedule)
    settings = uow.settings
    platform_files = [Path(p) for p in (settings.home / "huiju.db", source_kit.local_file(
        "sql", {"url": settings.db_url}) or settings.home / "huiju.db")]
    source_kit.check_local_access(kind, options, settings.source_root_paths, platform_files=platform_files,
                                  anywhere=actor.kind == "system")
    plain, secrets = source_kit.split_secrets(kind, options)
    plain["_secret_names"] = source_kit.secret_names(secrets)
    source = Source(name=name, dataset_id=ds.id, department_id=ds.department_id, kind=kind, options=plain,
                    write_mode=write_mode, key_columns=keys, cursor_column=cursor_column, schedule=schedule,
                    enabled=enabled, created_by=actor.user_id,
                    next_run_at=source_kit.next_run(schedule, utcnow(), uow.settings.timezone) if schedule else None)
    uow.add(source)
    uow.session.flush()
    source.sealed, source.sealed_key_version = source_kit.seal(uow, source.id, secrets, actor)
    uow.emit(actor, SourceAdded(source_id=source.id, name=name, dataset_id=ds.id, kind=kind, write_mode=write_mode,
                                schedule=schedule, secrets=plain["_secret_names"]))
    uow.commit()
    return source


def get_source(uow: UnitOfWork, actor: Actor, name: str) -> Source:
    source = uow.session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise NotFound("Source %(name)s not found", name=name)
    require(actor, INGEST_VIEW, department_id=source.department_id)
    return source


def list_sources(uow: UnitOfWork, actor: Actor, *, dataset_key: str | None = None) -> list[Source]:
    """The sources the actor may see, filtered in the query."""
    require(actor, INGEST_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(Source).where(visible(actor, INGEST_VIEW, Source))
    if dataset_key is not None:
        query = query.where(Source.dataset_id == catalog_service.dataset_by_key(uow, actor, dataset_key).id)
    return list(uow.session.scalars(query.order_by(Source.name)))


def change_source(uow: UnitOfWork, actor: Actor, name: str, *, schedule: str | None = None,
                  clear_schedule: bool = False, enabled: bool | None = None,
                  reset_cursor: bool = False) -> Source:
    """Change when a source runs, pause or resume it, or make its next run read from the start again."""
    source = get_source(uow, actor, name)
    require(actor, SOURCE_MANAGE, department_id=source.department_id)
    changes: list[str] = []
    if clear_schedule or schedule is not None:
        source.schedule = None if clear_schedule else source_kit.check_schedule(schedule)
        changes.append("schedule")
    if enabled is not None and enabled != source.enabled:
        source.enabled = enabled
        changes.append("enabled" if enabled else "disabled")
    if "schedule" in changes or "enabled" in changes:
        source.next_run_at = (source_kit.next_run(source.schedule, utcnow(), uow.settings.timezone)
                              if source.schedule and source.enabled else None)
    if reset_cursor and source.cursor_value is not None:
        source.cursor_value = None
        changes.append("cursor reset")
    if changes:
        uow.emit(actor, SourceChanged(source_id=source.id, changes=changes))
        uow.commit()
    return source


def shown_source(uow: UnitOfWork, actor: Actor, name: str) -> dict[str, Any]:
    """A source as a person may see it: its options with secrets masked, its schedule, cursor and last jobs."""
    source = get_source(uow, actor, name)
    ds = next(d for d in catalog_service.list_datasets(uow, actor) if d.id == source.dataset_id)
    jobs = list(uow.session.scalars(select(IngestJob).where(IngestJob.source_id == source.id)
                                    .order_by(IngestJob.id.desc()).limit(10)))
    return {"id": source.id, "name": source.name, "dataset": ds.key, "kind": source.kind,
            "options": source_kit.shown_options(source), "secrets": (source.options or {}).get("_secret_names", []),
            "write_mode": source.write_mode, "key_columns": source.key_columns, "cursor_column": source.cursor_column,
            "cursor_value": source.cursor_value, "schedule": source.schedule, "timezone": uow.settings.timezone,
            "next_run_at": source.next_run_at, "enabled": source.enabled, "jobs": jobs}


def run_source(uow: UnitOfWork, actor: Actor, name: str, *, trigger: str = "manual") -> IngestJob:
    """Queue a run of the source now; a worker (in `huiju serve` or `huiju worker`) picks it up.

    A source has at most one queued or running job, so two runs never read the same cursor twice.
    """
    source = get_source(uow, actor, name)
    require(actor, INGEST_RUN, department_id=source.department_id)
    return _enqueue(uow, actor, source, trigger)


def _enqueue(uow: UnitOfWork, actor: Actor, source: Source, trigger: str) -> IngestJob:
    active = uow.session.scalar(select(IngestJob.id).where(IngestJob.source_id == source.id,
                                                           IngestJob.status.in_(ACTIVE)).limit(1))
    if active is not None:
        raise Conflict("Source %(name)s already has job %(job)s queued or running", name=source.name, job=active)
    job = IngestJob(dataset_id=source.dataset_id, department_id=source.department_id, source_kind=source.kind,
                    source_id=source.id, input_name=source.name, write_mode=source.write_mode, status="queued",
                    trigger=trigger, attempts=0, run_after=utcnow(), created_by=actor.user_id)
    uow.add(job)
    uow.session.flush()
    uow.add(JobLogLine(job_id=job.id, message=L_QUEUED, params={"trigger": trigger, "actor": actor.username}))
    uow.emit(actor, JobQueued(job_id=job.id, source_id=source.id, trigger=trigger))
    uow.commit()
    return job


def rerun_job(uow: UnitOfWork, actor: Actor, job_id: int) -> IngestJob:
    """Queue an interrupted or failed source job again; it reads from the cursor its source kept, so nothing doubles.

    The cursor only moves when a version is published, and an unfinished job published nothing.
    """
    job = uow.get(IngestJob, job_id)
    require(actor, INGEST_RUN, department_id=job.department_id)
    if job.status not in ("interrupted", "failed"):
        raise Conflict("Only an interrupted or failed job can be rerun (job %(id)s is %(status)s)", id=job.id,
                       status=job.status)
    if job.source_id is None:
        raise Invalid("Job %(id)s loaded an uploaded file; upload the file again to rerun it", id=job.id)
    active = uow.session.scalar(select(IngestJob.id).where(IngestJob.source_id == job.source_id,
                                                           IngestJob.status.in_(ACTIVE)).limit(1))
    if active is not None:
        raise Conflict("Source %(name)s already has job %(job)s queued or running", name=job.input_name, job=active)
    job.status, job.trigger, job.attempts, job.run_after = "queued", "rerun", 0, utcnow()
    job.claimed_by = job.heartbeat_at = job.finished_at = job.error = None
    job.rows_done, job.rows_total = 0, None
    uow.add(JobLogLine(job_id=job.id, message=L_RERUN, params={"actor": actor.username}))
    uow.emit(actor, JobQueued(job_id=job.id, source_id=job.source_id, trigger="rerun"))
    uow.commit()
    return job


def job_log(uow: UnitOfWork, actor: Actor, job_id: int, *, after_id: int = 0, limit: int = 500) -> list[JobLogLine]:
    """A job's log lines in order; ``after_id`` continues from the last line seen (to follow a running job)."""
    job = get_job(uow, actor, job_id)
    return list(uow.session.scalars(select(JobLogLine).where(JobLogLine.job_id == job.id, JobLogLine.id > after_id)
                                    .order_by(JobLogLine.id).limit(min(limit, 5000))))


# ---- the job queue, as the job runner (huiju/jobs.py) drives it ----------------------------

def enqueue_due_sources(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> list[IngestJob]:
    """Queue a job for every enabled source whose cron time has come, and set its next time.

    Safe with several runners: a source's next time is moved by a conditional UPDATE, and only the
    runner whose UPDATE changed the row queues the job. A run missed while nothing was running is
    made once, not once per missed time.
    """
    require(actor, JOB_WORK)
    now = now or utcnow()
    due = [(s.id, s.next_run_at, s.schedule) for s in uow.session.scalars(
        select(Source).where(Source.enabled.is_(True), Source.schedule.is_not(None), Source.next_run_at <= now)
        .order_by(Source.next_run_at))]
    uow.session.rollback()  # end the read: each claim below starts its transaction with a write
    queued: list[IngestJob] = []
    for source_id, due_at, schedule in due:
        following = source_kit.next_run(schedule, now, uow.settings.timezone)
        moved = uow.session.execute(update(Source).where(Source.id == source_id, Source.next_run_at == due_at)
                                    .values(next_run_at=following)).rowcount
        if moved != 1:
            uow.session.rollback()
            continue
        source = uow.session.get(Source, source_id)
        try:
            queued.append(_enqueue(uow, actor, source, "schedule"))
        except Conflict:  # the previous run is still going: this time is skipped, the next one stands
            uow.session.commit()
    return queued


def claim_job(uow: UnitOfWork, actor: Actor, worker: str, *, now: datetime | None = None,
              job_id: int | None = None) -> IngestJob | None:
    """Take the next queued job that is due (or job ``job_id``) for ``worker``; None when there is none.

    The claim is a conditional UPDATE (``WHERE status = 'queued'``): of two workers after the same
    job, exactly one changes the row; the other sees no row changed and tries the next one. It works
    the same on SQLite (one writer at a time) and PostgreSQL (the second UPDATE waits, then finds the
    row no longer queued).
    """
    require(actor, JOB_WORK)
    now = now or utcnow()
    query = select(IngestJob.id).where(IngestJob.status == "queued",
                                       or_(IngestJob.run_after.is_(None), IngestJob.run_after <= now))
    if job_id is not None:
        query = query.where(IngestJob.id == job_id)
    candidates = list(uow.session.scalars(query.order_by(IngestJob.run_after, IngestJob.id).limit(20)))
    uow.session.rollback()  # end the read: the claim's transaction starts with its UPDATE
    for candidate in candidates:
        won = uow.session.execute(
            update(IngestJob).where(IngestJob.id == candidate, IngestJob.status == "queued")
            .values(status="running", claimed_by=worker, heartbeat_at=now, started_at=now, finished_at=None,
                    attempts=IngestJob.attempts + 1, rows_done=0)).rowcount
        if won != 1:
            uow.session.rollback()
            continue
        job = uow.session.get(IngestJob, candidate, populate_existing=True)
        uow.add(JobLogLine(job_id=job.id, message=L_STARTED, params={"attempt": job.attempts, "worker": worker}))
        uow.emit(actor, JobStarted(job_id=job.id, worker=worker, attempt=job.attempts))
        uow.commit()
        return job
    return None


def run_job(uow: UnitOfWork, actor: Actor, job_id: int, *, today: date | None = None,
            progress: Callable[[int], None] | None = None) -> IngestJob:
    """Run a claimed source job: read the source from its cursor, validate, publish, move the cursor.

    A failure is retried ``HUIJU_JOB_RETRIES`` times, waiting ``HUIJU_JOB_BACKOFF_SECONDS`` × 2^(n-1)
    (at most ``HUIJU_JOB_BACKOFF_MAX_SECONDS``) before attempt n + 1; then the job fails.
    """
    require(actor, JOB_WORK)
    job = uow.get(IngestJob, job_id)
    if job.status != "running" or job.source_id is None:
        raise Conflict("Job %(id)s is not a claimed source job", id=job.id)
    source = uow.get(Source, job.source_id)
    ds = next(d for d in catalog_service.list_datasets(uow, actor) if d.id == source.dataset_id)
    settings, worker = uow.settings, job.claimed_by
    uow.session.commit()
    local: Path | None = None
    downloaded = False
    with JobReporter(uow.storage.engine, job.id, heartbeat_seconds=settings.job_heartbeat_seconds,
                     worker=worker) as reporter:
        try:
            secrets = source_kit.unseal(uow, source)
            inputs = [source_kit.input_description(source)]
            if source.kind == "file":  # lineage keeps the SM3 of the file itself
                local, downloaded = source_kit.fetch_file(source, secrets, settings.home / "tmp",
                                                          settings.upload_max_mb)
                job.input_sm3, job.input_bytes = file_sm3(local)
                inputs = [{**inputs[0], "sm3": job.input_sm3, "bytes": job.input_bytes}]
            uow.session.commit()
            error = _load(uow, actor, ds, job, lambda: source_kit.open_connector(
                              source, secrets, cursor=source.cursor_value, path=local),
                          reporter=reporter, inputs=inputs, write_mode=source.write_mode,
                          key_columns=source.key_columns or None, today=today, progress=progress, source=source,
                          hash_batches=source.kind != "file")
        except HuijuError as exc:  # the secrets did not open, the file could not be fetched
            uow.rollback()
            error = exc
        finally:
            if downloaded and local is not None:
                local.unlink(missing_ok=True)
    if error is not None:
        return _retry_or_fail(uow, actor, job, error, worker)
    authority_service.on_version_published(uow, actor, ds.key)
    return uow.get(IngestJob, job.id)


def _retry_or_fail(uow: UnitOfWork, actor: Actor, job: IngestJob, error: HuijuError, worker: str | None) -> IngestJob:
    settings = uow.settings
    job = uow.get(IngestJob, job.id)
    uow.session.refresh(job, with_for_update=True)
    params = {k: str(v) for k, v in error.params.items()}
    uow.add(JobLogLine(job_id=job.id, level="error", message=L_FAILED,
                       params={"attempt": job.attempts, "error": _zh(error.message, params)}))
    if job.status != "running" or job.claimed_by != worker:  # marked interrupted (and maybe rerun) meanwhile
        uow.commit()
        return job
    job.error = error.localized()
    job.rows_done, job.rows_read, job.rows_accepted, job.rows_rejected = 0, 0, 0, 0
    if job.attempts <= settings.job_retries:
        wait = min(settings.job_backoff_seconds * 2 ** (job.attempts - 1), settings.job_backoff_max_seconds)
        job.status, job.claimed_by, job.run_after = "queued", None, utcnow() + timedelta(seconds=wait)
        uow.add(JobLogLine(job_id=job.id, level="warning", message=L_RETRY, params={
            "seconds": round(wait, 1), "next": job.attempts + 1, "max": settings.job_retries + 1}))
        uow.emit(actor, JobRetryScheduled(job_id=job.id, attempt=job.attempts, wait_seconds=wait,
                                          error=job.error))
        uow.commit()
        return job
    uow.add(JobLogLine(job_id=job.id, level="error", message=L_GAVE_UP, params={"attempts": job.attempts}))
    return _fail(uow, actor, job, None, job.error)


def mark_interrupted_jobs(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> list[IngestJob]:
    """Mark ``interrupted`` every running job whose heartbeat is older than ``HUIJU_JOB_STALE_SECONDS``.

    Its process died (killed, power lost): nothing it read was published, and its source's cursor did
    not move, so ``rerun_job`` completes it without doubling a row.
    """
    require(actor, JOB_WORK)
    now = now or utcnow()
    limit = now - timedelta(seconds=uow.settings.job_stale_seconds)
    stale = [(j.id, j.heartbeat_at, j.claimed_by) for j in uow.session.scalars(
        select(IngestJob).where(IngestJob.status == "running",
                                or_(IngestJob.heartbeat_at < limit,
                                    IngestJob.heartbeat_at.is_(None) & (IngestJob.started_at < limit))))]
    uow.session.rollback()
    marked: list[IngestJob] = []
    for job_id, beat, worker in stale:
        condition = [IngestJob.id == job_id, IngestJob.status == "running"]
        condition.append(IngestJob.heartbeat_at == beat if beat is not None else IngestJob.heartbeat_at.is_(None))
        changed = uow.session.execute(update(IngestJob).where(*condition).values(
            status="interrupted", finished_at=now, error=_zh(INTERRUPTED, {}))).rowcount
        if changed != 1:
            uow.session.rollback()
            continue
        uow.add(JobLogLine(job_id=job_id, level="error", message=L_INTERRUPTED,
                           params={"worker": worker or "—", "since": (beat.isoformat(timespec="seconds")
                                                                      if beat else "—")}))
        uow.emit(actor, JobInterrupted(job_id=job_id, worker=worker))
        uow.commit()
        marked.append(uow.get(IngestJob, job_id))
    return marked
