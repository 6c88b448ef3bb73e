"""JSON API of the catalog context (datasets and versions so far)."""

from __future__ import annotations

from fastapi import APIRouter

from huiju.catalog import service
from huiju.catalog.schemas import DatasetIn, DatasetOut, SchemaIn, VersionOut
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
