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
from huiju.catalog import service as catalog_service
from huiju.errors import HuijuError, Invalid
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
    import pyarrow.parquet as pq

    version = catalog_service.current_version(uow, actor, key)
    if version is None:
        return
    for name in version.files:
        yield from pq.ParquetFile(uow.lake.abspath(version.path) / name).iter_batches()


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
