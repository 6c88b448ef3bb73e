"""JSON API of the ingest context: upload a file as the request body, read jobs, reports, quarantine."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from huiju.errors import TooLarge
from huiju.ingest import service
from huiju.ingest.schemas import JobOut, QuarantineRowOut
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
                        sheet: str | None = None, header_rows: int | None = None, mode: str = "replace") -> Any:
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
                                          encoding=encoding, sheet=sheet, header_rows=header_rows, write_mode=mode)
                return JobOut.model_validate(job)

        return await run_in_threadpool(run)
    finally:
        path.unlink(missing_ok=True)


@router.get("/ingest/jobs", response_model=list[JobOut])
def list_jobs(uow: UowDep, actor: ActorDep, limit: int = 50):
    return service.list_jobs(uow, actor, limit=limit)


@router.get("/ingest/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, uow: UowDep, actor: ActorDep):
    return service.get_job(uow, actor, job_id)


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
