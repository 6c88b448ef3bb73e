"""Ingest use cases: load a file into a dataset, report its quality, work through its quarantine."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select

from huiju.auth.authz import require, visible
from huiju.auth.roles import Actor
from huiju.catalog import access
from huiju.catalog import service as catalog_service
from huiju.errors import HuijuError, Invalid
from huiju.ingest.authority import service as authority_service
from huiju.ingest.classify import propose_labels
from huiju.ingest.connectors import open_file
from huiju.ingest.events import IngestFinished
from huiju.ingest.models import IngestJob, QuarantineRow
from huiju.ingest.permissions import INGEST_RUN, INGEST_VIEW
from huiju.ingest.pipeline import Quarantined, run_pipeline
from huiju.ingest.quality import Rule, rules_from_schema
from huiju.ingest.schema import TableSchema, infer_schema
from huiju.security.crypto import get_provider
from huiju.storage.db import utcnow
from huiju.storage.uow import UnitOfWork

WRITE_MODES = ("replace", "append")
QUARANTINE_FLUSH = 5000


def file_sm3(path: Path) -> tuple[str, int]:
    """SM3 of a file read in chunks, for lineage; returns (hex digest, bytes)."""
    from cryptography.hazmat.primitives import hashes

    digest = hashes.Hash(hashes.SM3())
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.finalize().hex(), size


def rule_set_sm3(schema: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    canonical = json.dumps({"schema": schema, "rules": rules}, ensure_ascii=False, sort_keys=True)
    return get_provider().sm3(canonical.encode()).hex()


def ingest_file(uow: UnitOfWork, actor: Actor, *, dataset_key: str, path: Path, original_name: str | None = None,
                encoding: str | None = None, sheet: str | int | None = None, header_rows: int | None = None,
                write_mode: str = "replace", today: date | None = None, options: dict[str, Any] | None = None,
                progress: Callable[[int], None] | None = None) -> IngestJob:
    """Validate a file row by row into a new version of the dataset; rejected rows go to quarantine.

    A file that cannot be read at all fails the job, is kept beside it with its error, and the
    dataset's current version stays in service.
    """
    ds = catalog_service.dataset_by_key(uow, actor, dataset_key)
    require(actor, INGEST_RUN, department_id=ds.department_id)
    if write_mode not in WRITE_MODES:
        raise Invalid("Write mode must be one of %(modes)s", modes=", ".join(WRITE_MODES))
    digest, size = file_sm3(path)
    job = IngestJob(dataset_id=ds.id, department_id=ds.department_id, source_kind="upload",
                    input_name=original_name or path.name, input_sm3=digest, input_bytes=size, encoding=encoding,
                    write_mode=write_mode, status="running", created_by=actor.user_id)
    uow.add(job)
    uow.commit()  # the job is visible (and its progress) while it runs
    try:
        opened = {"encoding": encoding, "sheet": sheet, "header_rows": header_rows, **(options or {})}
        connector = open_file(path, **opened)
        if len(connector.columns) > uow.settings.ingest_max_columns:
            raise Invalid("The file has %(n)s columns; at most %(max)s are accepted (setting HUIJU_INGEST_MAX_COLUMNS)",
                          n=len(connector.columns), max=uow.settings.ingest_max_columns)
        schema, rules, proposed = _schema_for(uow, actor, ds, path, opened)
        staged = uow.stage_version(ds.key)
        previous = _current_batches(uow, actor, ds.key) if write_mode == "append" else ()

        def keep(rows: list[Quarantined]) -> None:
            uow.session.add_all(QuarantineRow(job_id=job.id, row_number=q.row, raw=q.raw, reasons=q.reasons)
                                for q in rows)
            if len(uow.session.new) >= QUARANTINE_FLUSH:
                uow.session.flush()

        stats = run_pipeline(connector, schema, rules, staged, today=today or date.today(), quarantine=keep,
                             progress=progress, previous=previous)
    except HuijuError as exc:
        uow.rollback()
        return _fail(uow, actor, job, path, exc.localized())
    job.rows_read, job.rows_accepted, job.rows_rejected = stats.rows_read, stats.rows_accepted, stats.rows_rejected
    job.rule_counts = dict(stats.rule_counts)
    job.notices = stats.notices
    job.encoding = getattr(connector, "encoding", encoding)
    job.status = "succeeded"
    job.finished_at = utcnow()
    schema_json = json.loads(schema.to_json())
    rules_json = [r.model_dump(mode="json") for r in rules]
    if proposed:
        catalog_service.save_schema(uow, actor, ds.key, table_schema=schema_json, rules=rules_json,
                                    confirmed=False, commit=False)
    catalog_service.mount_on_publish(uow, actor, ds.key, staged, kind="ingest", job_id=job.id,
                                     inputs=[{"name": job.input_name, "sm3": digest, "bytes": size}],
                                     rule_set_sm3=rule_set_sm3(schema_json, rules_json))
    uow.emit(actor, IngestFinished(job_id=job.id, dataset_id=ds.id, status=job.status, rows_read=job.rows_read,
                                   rows_accepted=job.rows_accepted, rows_rejected=job.rows_rejected,
                                   input_sm3=digest))
    staged.on_publish.append(lambda version: setattr(job, "version_id", version.id))
    uow.commit()
    authority_service.on_version_published(uow, actor, ds.key)  # 一数一源 re-compare, base libraries rebuilt
    return job


def _schema_for(uow: UnitOfWork, actor: Actor, ds: Any, path: Path,
                opened: dict[str, Any]) -> tuple[TableSchema, list[Rule], bool]:
    """The dataset's schema and rules; on first load, inferred from the file and proposed to the steward.

    Classification on arrival: while a dataset has no labels, its columns' sensitivity is proposed
    from the first batch's headers and content, whether or not a schema was declared.
    """
    first = None
    if not ds.table_schema or not ds.labels:
        first = next(iter(open_file(path, **opened).read()), None)
    if first is not None and not ds.labels:
        table = pa.Table.from_batches([first])
        labels = propose_labels({c: table.column(c).combine_chunks() for c in table.column_names if c != "_row"})
        catalog_service.save_labels(uow, actor, ds.key, {c: _proposal_json(p) for c, p in labels.items()
                                                        if p.kind != "none"})
    if ds.table_schema:
        schema = TableSchema.from_json(json.dumps(ds.table_schema))
        declared = [Rule.model_validate(r) for r in ds.rules or []]
        implied = [r for r in rules_from_schema(schema) if r.id not in {d.id for d in declared}]
        return schema, implied + declared, False
    if first is None:
        raise Invalid("The file has a header but no rows; nothing to infer a schema from")
    schema = infer_schema(pa.Table.from_batches([first]))
    return schema, rules_from_schema(schema), True


def _proposal_json(p: Any) -> dict[str, Any]:
    """A column's proposed label as stored on the dataset until the steward confirms or changes it."""
    return {"kind": p.kind, "confidence": round(p.confidence, 3), "level": p.label.level.value,
            "sensitive_pi": p.label.sensitive_pi, "categories": sorted(p.label.categories), "mask": p.mask,
            "confirmed": False}


def _current_batches(uow: UnitOfWork, actor: Actor, key: str):
    """The current version's rows, for append mode (read by the platform itself, not on a user's behalf)."""
    version = catalog_service.current_version(uow, actor, key)
    if version is None:
        return
    yield from access.read_internal(uow, actor, version)


def _fail(uow: UnitOfWork, actor: Actor, job: IngestJob, path: Path, message: str) -> IngestJob:
    """Keep the unreadable file and its error; nothing else changes."""
    job = uow.get(IngestJob, job.id)
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


def list_jobs(uow: UnitOfWork, actor: Actor, *, dataset_key: str | None = None, limit: int = 50) -> list[IngestJob]:
    """Newest first; only the departments the actor may see, filtered in the query."""
    require(actor, INGEST_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(IngestJob).where(visible(actor, INGEST_VIEW, IngestJob))
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
