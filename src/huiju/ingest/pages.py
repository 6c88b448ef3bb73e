"""HTML pages for stewards: datasets, uploading a file, a job's quality report and quarantine."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from huiju.catalog import service as catalog_service
from huiju.errors import TooLarge
from huiju.ingest import service
from huiju.web.deps import ActorDep, CsrfDep, UowDep
from huiju.web.rendering import render, require_login

router = APIRouter(include_in_schema=False)


@router.get("/datasets", response_class=HTMLResponse)
def datasets(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    items = [(ds, catalog_service.current_version(uow, actor, ds.key))
             for ds in catalog_service.list_datasets(uow, actor)]
    return render(request, actor, "ingest/datasets.html", items=items)


@router.get("/datasets/{key}", response_class=HTMLResponse)
def dataset(request: Request, key: str, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    ds = catalog_service.dataset_by_key(uow, actor, key)
    return render(request, actor, "ingest/dataset.html", ds=ds,
                  versions=catalog_service.list_versions(uow, actor, key),
                  jobs=service.list_jobs(uow, actor, dataset_key=key, limit=20),
                  sources=[service.shown_source(uow, actor, s.name)
                           for s in service.list_sources(uow, actor, dataset_key=key)])


@router.post("/datasets/{key}/sources", dependencies=[CsrfDep])
async def add_source(request: Request, key: str, uow: UowDep, actor: ActorDep) -> Response:
    """The page's form: a database table or an HTTP API (file sources and the rest through the CLI or API)."""
    require_login(actor)
    form = await request.form()

    def field(name: str) -> str:
        return str(form.get(name) or "").strip()

    kind = field("kind")
    options: dict[str, Any] = {"url": field("url")}
    if kind == "sql":
        options["table"] = field("table")
    if kind == "http":
        options.update(records_path=field("records_path"), since_param=field("since_param"))
        if field("auth_header"):
            options["headers"] = {"Authorization": field("auth_header")}
    service.add_source(uow, actor, name=field("name"), dataset_key=key, kind=kind, options=options,
                       write_mode=field("mode") or "replace",
                       key_columns=[k for k in field("keys").replace("，", ",").split(",") if k.strip()],
                       cursor_column=field("cursor") or None, schedule=field("schedule") or None)
    return RedirectResponse(f"/datasets/{key}#sources", status_code=303)


@router.post("/ingest/sources/{name}/run", dependencies=[CsrfDep])
def run_source(request: Request, name: str, uow: UowDep, actor: ActorDep) -> Response:
    """立即运行: queue the source; the job page follows it."""
    require_login(actor)
    job = service.run_source(uow, actor, name)
    return RedirectResponse(f"/ingest/jobs/{job.id}", status_code=303)


@router.post("/ingest/jobs/{job_id}/rerun", dependencies=[CsrfDep])
def rerun_job(request: Request, job_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    service.rerun_job(uow, actor, job_id)
    return RedirectResponse(f"/ingest/jobs/{job_id}", status_code=303)


@router.post("/datasets/{key}/upload", dependencies=[CsrfDep])
async def upload(request: Request, key: str, actor: ActorDep, file: Annotated[UploadFile, File()],
                 encoding: Annotated[str, Form()] = "", mode: Annotated[str, Form()] = "replace") -> Response:
    require_login(actor)
    settings = request.app.state.settings
    if file.size is not None and file.size > settings.upload_max_mb * 1024 * 1024:
        raise TooLarge("The file is larger than the upload limit of %(mb)s MiB", mb=settings.upload_max_mb)
    folder = settings.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as out:
        shutil.copyfileobj(file.file, out)
    path = Path(out.name)

    def run() -> int:
        with request.app.state.storage.uow() as uow:
            job = service.ingest_file(uow, actor, dataset_key=key, path=path,
                                      original_name=Path(file.filename or "upload").name,
                                      encoding=encoding or None, write_mode=mode)
            return job.id

    try:
        job_id = await run_in_threadpool(run)
    finally:
        path.unlink(missing_ok=True)
    return RedirectResponse(f"/ingest/jobs/{job_id}", status_code=303)


@router.get("/ingest/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, job_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    report = service.quality_report(uow, actor, job_id)
    rows = service.list_quarantine(uow, actor, job_id, limit=100)
    return render(request, actor, "ingest/job.html", report=report, rows=rows, job=service.get_job(uow, actor, job_id),
                  log=service.job_log(uow, actor, job_id), editable=service.correction_fields(uow, actor, job_id, rows))


FIX_PREFIX, SHOWN_PREFIX = "fix.", "was."  # fix.<row id>.<column>: the value sent; was.<row id>.<column>: shown


def _corrections(form: Any, chosen: str) -> dict[int, dict[str, str | None]]:
    """The values of the row whose 重新提交 button was pressed, or of every row changed on the page ("changed")."""
    fixes: dict[int, dict[str, str | None]] = {}
    changed: set[int] = set()
    for name, value in form.multi_items():
        row, _, column = name.removeprefix(FIX_PREFIX).partition(".")
        if not name.startswith(FIX_PREFIX) or not row.isdigit() or not column:
            continue
        text = str(value).strip()
        fixes.setdefault(int(row), {})[column] = text or None
        if text != str(form.get(SHOWN_PREFIX + name.removeprefix(FIX_PREFIX)) or "").strip():
            changed.add(int(row))
    if chosen == "changed":
        return {row: values for row, values in fixes.items() if row in changed}
    return {int(chosen): fixes.get(int(chosen), {})} if chosen.isdigit() else {}


@router.post("/ingest/jobs/{job_id}/resubmit", dependencies=[CsrfDep])
async def resubmit(request: Request, job_id: int, actor: ActorDep) -> Response:
    """One form around the quarantine table: a row's 重新提交 or 丢弃 button, or 重新提交 every changed row."""
    require_login(actor)
    form = await request.form()
    dropped = str(form.get("discard") or "")
    corrections = _corrections(form, str(form.get("resubmit") or ""))
    discard = [int(dropped)] if dropped.isdigit() else []

    def run() -> int:
        with request.app.state.storage.uow() as uow:
            return service.resubmit_quarantine(uow, actor, job_id, corrections, discard=discard).id

    new_id = await run_in_threadpool(run)
    return RedirectResponse(f"/ingest/jobs/{job_id}?resubmitted={new_id}", status_code=303)
