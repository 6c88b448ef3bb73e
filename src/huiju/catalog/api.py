"""JSON API of the catalog context: datasets and versions, catalog entries, review, search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from huiju.catalog import service
from huiju.catalog.schemas import (
    CatalogChangeOut,
    CatalogEntryCreate,
    CatalogEntryIn,
    CatalogEntryOut,
    CommentIn,
    DatasetIn,
    DatasetOut,
    HarvestRecordOut,
    HarvestReportOut,
    HarvestRunIn,
    HarvestSourceIn,
    HarvestSourceOut,
    MountIn,
    ReasonIn,
    SchemaIn,
    SearchOut,
    VersionOut,
)
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(tags=["catalog"])


@router.get("/datasets", response_model=list[DatasetOut])
def list_datasets(uow: UowDep, actor: ActorDep):
    return service.list_datasets(uow, actor)


@router.post("/datasets", response_model=DatasetOut, status_code=201)
def register_dataset(body: DatasetIn, uow: UowDep, actor: ActorDep):
    return service.register_dataset(uow, actor, **body.model_dump())


@router.get("/datasets/{key}", response_model=DatasetOut)
def get_dataset(key: str, uow: UowDep, actor: ActorDep):
    return service.dataset_by_key(uow, actor, key)


@router.put("/datasets/{key}/schema", response_model=DatasetOut)
def save_schema(key: str, body: SchemaIn, uow: UowDep, actor: ActorDep):
    return service.save_schema(uow, actor, key, table_schema=body.table_schema, rules=body.rules,
                               confirmed=body.confirmed)


@router.get("/datasets/{key}/versions", response_model=list[VersionOut], response_model_by_alias=True)
def list_versions(key: str, uow: UowDep, actor: ActorDep):
    return service.list_versions(uow, actor, key)


@router.post("/datasets/{key}/versions/{number}/rollback", response_model=VersionOut)
def rollback(key: str, number: int, uow: UowDep, actor: ActorDep):
    return service.rollback_version(uow, actor, key, number)


# ---- catalog entries ---------------------------------------------------------------------------

@router.get("/catalog/entries", response_model=SearchOut)
def search_entries(uow: UowDep, actor: ActorDep, q: str = "", sort: str = "relevance", page: int = 1,
                   per_page: int = 20, classification: str = "", department: str = "", share_type: str = "",
                   open_class: str = "", format_kind: str = "", update_cycle: str = "", theme: str = "",
                   data_level: str = "", state: str = ""):
    filters = {"classification": classification, "department": department, "share_type": share_type,
               "open_class": open_class, "format_kind": format_kind, "update_cycle": update_cycle, "theme": theme,
               "data_level": data_level, "state": state}
    result = service.search_entries(uow, actor, q=q, filters=filters, sort=sort, page=page, per_page=per_page)
    return SearchOut(total=result.total, page=result.page, per_page=result.per_page, pages=result.pages,
                     entries=[CatalogEntryOut.model_validate(e) for e in result.entries],
                     facets={k: [v.__dict__ for v in vs] for k, vs in result.facets.items()})


@router.post("/catalog/entries", response_model=CatalogEntryOut, status_code=201)
def register_entry(body: CatalogEntryCreate, uow: UowDep, actor: ActorDep):
    fields = body.model_dump(exclude={"department_code"})
    return service.register_entry(uow, actor, department_code=body.department_code, fields=fields)


@router.get("/catalog/entries/{entry_id}", response_model=CatalogEntryOut)
def get_entry(entry_id: int, uow: UowDep, actor: ActorDep):
    return service.get_entry(uow, actor, entry_id)


@router.put("/catalog/entries/{entry_id}", response_model=CatalogEntryOut)
def update_entry(entry_id: int, body: CatalogEntryIn, uow: UowDep, actor: ActorDep):
    return service.update_entry(uow, actor, entry_id, body.model_dump())


@router.post("/catalog/entries/{entry_id}/submit", response_model=CatalogEntryOut)
def submit_entry(entry_id: int, body: CommentIn, uow: UowDep, actor: ActorDep):
    return service.submit_entry(uow, actor, entry_id, comment=body.comment)


@router.post("/catalog/entries/{entry_id}/approve", response_model=CatalogEntryOut)
def approve_entry(entry_id: int, body: CommentIn, uow: UowDep, actor: ActorDep):
    return service.approve_entry(uow, actor, entry_id, comment=body.comment)


@router.post("/catalog/entries/{entry_id}/reject", response_model=CatalogEntryOut)
def reject_entry(entry_id: int, body: ReasonIn, uow: UowDep, actor: ActorDep):
    return service.reject_entry(uow, actor, entry_id, reason=body.reason)


@router.post("/catalog/entries/{entry_id}/withdraw", response_model=CatalogEntryOut)
def withdraw_entry(entry_id: int, body: ReasonIn, uow: UowDep, actor: ActorDep):
    return service.withdraw_entry(uow, actor, entry_id, reason=body.reason)


@router.post("/catalog/entries/{entry_id}/mounts", status_code=201)
def mount_dataset(entry_id: int, body: MountIn, uow: UowDep, actor: ActorDep) -> dict[str, int]:
    mount = service.mount_dataset(uow, actor, entry_id, body.dataset_id)
    return {"entry_id": mount.entry_id, "dataset_id": mount.dataset_id}


@router.delete("/catalog/entries/{entry_id}/mounts/{dataset_id}", status_code=204)
def unmount_dataset(entry_id: int, dataset_id: int, uow: UowDep, actor: ActorDep) -> None:
    service.unmount_dataset(uow, actor, entry_id, dataset_id)


@router.get("/catalog/entries/{entry_id}/history", response_model=list[CatalogChangeOut])
def entry_history(entry_id: int, uow: UowDep, actor: ActorDep):
    return service.entry_history(uow, actor, entry_id)


@router.get("/catalog/review", response_model=list[CatalogEntryOut])
def review_queue(uow: UowDep, actor: ActorDep):
    return service.review_queue(uow, actor)


@router.get("/catalog/harvest-sources", response_model=list[HarvestSourceOut])
def list_harvest_sources(uow: UowDep, actor: ActorDep):
    return service.list_harvest_sources(uow, actor)


@router.post("/catalog/harvest-sources", response_model=HarvestSourceOut, status_code=201)
def add_harvest_source(body: HarvestSourceIn, uow: UowDep, actor: ActorDep):
    return service.add_harvest_source(uow, actor, **body.model_dump())


@router.post("/catalog/harvest-sources/{source_id}/run", response_model=HarvestReportOut)
def harvest_source(source_id: int, body: HarvestRunIn, uow: UowDep, actor: ActorDep):
    return service.harvest_source(uow, actor, source_id, token=body.token)


@router.get("/catalog/harvest-sources/{source_id}/records", response_model=list[HarvestRecordOut])
def harvest_records(source_id: int, uow: UowDep, actor: ActorDep):
    return service.harvest_records(uow, actor, source_id)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/catalog/import")
def import_entries(uow: UowDep, actor: ActorDep, file: Annotated[UploadFile, File()],
                   department_code: Annotated[str, Form()]) -> list[dict[str, object]]:
    """Import the Excel template; the answer reports every row (created, updated or its error)."""
    report = service.import_entries(uow, actor, department_code=department_code, source=file.file.read())
    return [row.__dict__ for row in report]


@router.get("/catalog/export")
def export_entries(uow: UowDep, actor: ActorDep, department_code: str = "") -> Response:
    data = service.export_entries(uow, actor, department_code=department_code or None)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="catalog.xlsx"'})
