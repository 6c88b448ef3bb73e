"""JSON API of the ingest context: upload a file as the request body, read jobs, reports, quarantine."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from huiju.errors import TooLarge
from huiju.ingest import service
from huiju.ingest.schemas import JobLogOut, JobOut, QuarantineRowOut, SourceChangeIn, SourceIn, SourceOut
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(tags=["ingest"])


async def receive_upload(request: Request, limit_mb: int, folder: Path) -> Path:
    """Stream the body to a temporary file, refusing it as soon as it passes the size limit."""
    limit = limit_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge("The file is larger than the upload limit of %(mb)s MiB", mb=limit_mb)
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, delete=False)
    size = 0
    with handle:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                handle.close()
                Path(handle.name).unlink(missing_ok=True)
                raise TooLarge("The file is larger than the upload limit of %(mb)s MiB", mb=limit_mb)
            handle.write(chunk)
    return Path(handle.name)


@router.post("/datasets/{key}/ingest", response_model=JobOut, status_code=201,
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {
                 "type": "string", "format": "binary"}}}, "required": True}})
async def ingest_upload(key: str, request: Request, filename: str, encoding: str | None = None,
                        sheet: str | None = None, header_rows: int | None = None, mode: str = "replace",
                        key_column: Annotated[list[str] | None, Query(description="Merge key column(s)")] = None,
                        ) -> Any:
    """Send the file itself as the body (any content type); the job runs before the response returns."""
    settings = request.app.state.settings
    path = await receive_upload(request, settings.upload_max_mb, settings.home / "uploads")
    try:
        from starlette.concurrency import run_in_threadpool

        def run() -> Any:
            from huiju.web.deps import get_actor

            with request.app.state.storage.uow() as uow:
                actor = get_actor(request, uow)
                job = service.ingest_file(uow, actor, dataset_key=key, path=path, original_name=Path(filename).name,
                                          encoding=encoding, sheet=sheet, header_rows=header_rows, write_mode=mode,
                                          key_columns=key_column)
                return JobOut.model_validate(job)

        return await run_in_threadpool(run)
    finally:
        path.unlink(missing_ok=True)


@router.get("/ingest/jobs", response_model=list[JobOut])
def list_jobs(uow: UowDep, actor: ActorDep, limit: int = 50, dataset: str | None = None, status: str | None = None):
    return service.list_jobs(uow, actor, dataset_key=dataset, status=status, limit=limit)


@router.get("/ingest/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, uow: UowDep, actor: ActorDep):
    return service.get_job(uow, actor, job_id)


@router.get("/ingest/jobs/{job_id}/log", response_model=list[JobLogOut])
def job_log(job_id: int, uow: UowDep, actor: ActorDep, after_id: int = 0, limit: int = 500) -> Any:
    """The job's log lines (translated); pass the last id seen as ``after_id`` to follow a running job."""
    return [JobLogOut(id=line.id, at=line.at, level=line.level, message=line.localized())
            for line in service.job_log(uow, actor, job_id, after_id=after_id, limit=limit)]


@router.post("/ingest/jobs/{job_id}/rerun", response_model=JobOut, status_code=202)
def rerun_job(job_id: int, uow: UowDep, actor: ActorDep):
    """Queue an interrupted or failed source job again (it reads from the source's kept cursor)."""
    return service.rerun_job(uow, actor, job_id)


@router.post("/ingest/sources", response_model=SourceOut, status_code=201)
def add_source(body: SourceIn, uow: UowDep, actor: ActorDep) -> Any:
    source = service.add_source(uow, actor, name=body.name, dataset_key=body.dataset, kind=body.kind,
                                options=body.options, write_mode=body.write_mode, key_columns=body.key_columns,
                                cursor_column=body.cursor_column, schedule=body.schedule, enabled=body.enabled)
    return service.shown_source(uow, actor, source.name)


@router.get("/ingest/sources", response_model=list[SourceOut])
def list_sources(uow: UowDep, actor: ActorDep, dataset: str | None = None) -> Any:
    return [service.shown_source(uow, actor, s.name) for s in service.list_sources(uow, actor, dataset_key=dataset)]


@router.get("/ingest/sources/{name}", response_model=SourceOut)
def show_source(name: str, uow: UowDep, actor: ActorDep) -> Any:
    return service.shown_source(uow, actor, name)


@router.patch("/ingest/sources/{name}", response_model=SourceOut)
def change_source(name: str, body: SourceChangeIn, uow: UowDep, actor: ActorDep) -> Any:
    service.change_source(uow, actor, name, schedule=body.schedule, clear_schedule=body.clear_schedule,
                          enabled=body.enabled, reset_cursor=body.reset_cursor)
    return service.shown_source(uow, actor, name)


@router.post("/ingest/sources/{name}/run", response_model=JobOut, status_code=202)
def run_source(name: str, uow: UowDep, actor: ActorDep):
    """Queue a run now; follow it at ``GET /ingest/jobs/{id}`` (status, progress) and ``…/log``."""
    return service.run_source(uow, actor, name)


@router.get("/ingest/jobs/{job_id}/report")
def quality_report(job_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    return service.quality_report(uow, actor, job_id)


@router.get("/ingest/jobs/{job_id}/quarantine", response_model=list[QuarantineRowOut])
def list_quarantine(job_id: int, uow: UowDep, actor: ActorDep, after_row: int = 0, limit: int = 100):
    return service.list_quarantine(uow, actor, job_id, after_row=after_row, limit=limit)


class ResubmitIn(BaseModel):
    """Corrected values by quarantined row id (as a string key) and column; rows to discard."""

    corrections: dict[int, dict[str, str | None]] = Field(default_factory=dict)
    discard: list[int] = Field(default_factory=list)


@router.post("/ingest/jobs/{job_id}/quarantine/resubmit", response_model=JobOut, status_code=201)
def resubmit_quarantine(job_id: int, body: ResubmitIn, uow: UowDep, actor: ActorDep):
    """Rows that now pass are appended as a new version; the new job (kind "resubmit") has the counts."""
    return service.resubmit_quarantine(uow, actor, job_id, body.corrections, discard=body.discard)
