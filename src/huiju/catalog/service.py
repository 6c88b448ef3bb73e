"""Catalog use cases so far: datasets, their schemas, versions (publish, roll back) and lineage."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from huiju.auth import service as auth_service
from huiju.auth.authz import require, visible
from huiju.auth.roles import Actor
from huiju.catalog import encryption as _encryption  # noqa: F401  (registers the stage hook)
from huiju.catalog.events import DatasetRegistered, SchemaSaved, VersionPublished, VersionRolledBack
from huiju.catalog.models import Dataset, Lineage
from huiju.catalog.permissions import DATASET_MANAGE, DATASET_VIEW
from huiju.errors import Conflict, Invalid, NotFound
from huiju.storage.lake import LakeVersion, StagedVersion
from huiju.storage.uow import UnitOfWork

_KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def register_dataset(uow: UnitOfWork, actor: Actor, *, key: str, name: str, department_code: str) -> Dataset:
    """Register a dataset for a department; its data arrives later through ingest."""
    dept = auth_service.department_by_code(uow, department_code)
    require(actor, DATASET_MANAGE, department_id=dept.id)
    if not _KEY.match(key):
        raise Invalid("Dataset key must be 2-64 lowercase letters, digits or _, starting with a letter")
    if not name.strip():
        raise Invalid("Dataset name is required")
    if uow.session.scalar(select(Dataset.id).where(Dataset.key == key)) is not None:
        raise Conflict("Dataset %(key)s already exists", key=key)
    ds = Dataset(key=key, name=name.strip(), department_id=dept.id, rules=[], labels={})
    uow.add(ds)
    uow.session.flush()
    uow.emit(actor, DatasetRegistered(dataset_id=ds.id, key=key, department_id=dept.id))
    uow.commit()
    return ds


def dataset_by_key(uow: UnitOfWork, actor: Actor, key: str) -> Dataset:
    ds = uow.session.scalar(select(Dataset).where(Dataset.key == key))
    if ds is None:
        raise NotFound("Dataset %(key)s not found", key=key)
    require(actor, DATASET_VIEW, department_id=ds.department_id)
    return ds


def list_datasets(uow: UnitOfWork, actor: Actor) -> list[Dataset]:
    require(actor, DATASET_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(Dataset).where(visible(actor, DATASET_VIEW, Dataset)).order_by(Dataset.key)
    return list(uow.session.scalars(query))


def save_schema(uow: UnitOfWork, actor: Actor, key: str, *, table_schema: dict[str, Any],
                rules: list[dict[str, Any]], confirmed: bool, commit: bool = True) -> Dataset:
    """Store a Table Schema and rule set; ``confirmed`` is the steward's word that the schema is right."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    ds.table_schema = table_schema
    ds.rules = rules
    ds.schema_confirmed = confirmed
    uow.emit(actor, SchemaSaved(dataset_id=ds.id, confirmed=confirmed, fields=len(table_schema.get("fields", [])),
                                rules=len(rules)))
    if commit:
        uow.commit()
    return ds


def save_labels(uow: UnitOfWork, actor: Actor, key: str, labels: dict[str, Any]) -> Dataset:
    """Proposed or confirmed classification labels per column; committed with the caller's work."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    ds.labels = {**(ds.labels or {}), **labels}
    return ds


def mount_on_publish(uow: UnitOfWork, actor: Actor, key: str, staged: StagedVersion, *, kind: str,
                     job_id: int | None, inputs: list[dict[str, Any]], rule_set_sm3: str | None) -> None:
    """Make a staged version the dataset's current one, with its lineage, in the transaction that publishes it."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)

    def mount(version: LakeVersion) -> None:
        ds.current_version_id = version.id
        uow.add(Lineage(dataset_id=ds.id, version_id=version.id, kind=kind, job_id=job_id, inputs=inputs,
                        rule_set_sm3=rule_set_sm3))
        uow.emit(actor, VersionPublished(dataset_id=ds.id, version_id=version.id, number=version.number,
                                         rows=version.row_count, kind=kind))

    staged.on_publish.append(mount)


def list_versions(uow: UnitOfWork, actor: Actor, key: str) -> list[LakeVersion]:
    ds = dataset_by_key(uow, actor, key)
    return list(uow.session.scalars(select(LakeVersion).where(LakeVersion.dataset_key == ds.key)
                                    .order_by(LakeVersion.number)))


def current_version(uow: UnitOfWork, actor: Actor, key: str) -> LakeVersion | None:
    ds = dataset_by_key(uow, actor, key)
    return uow.session.get(LakeVersion, ds.current_version_id) if ds.current_version_id else None


def rollback_version(uow: UnitOfWork, actor: Actor, key: str, number: int) -> LakeVersion:
    """Serve an earlier version again; versions never change, only which one is current."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    version = uow.session.scalar(select(LakeVersion).where(LakeVersion.dataset_key == ds.key,
                                                           LakeVersion.number == number))
    if version is None:
        raise NotFound("Version %(n)s of %(key)s not found", n=number, key=key)
    ds.current_version_id = version.id
    uow.emit(actor, VersionRolledBack(dataset_id=ds.id, version_id=version.id, number=number))
    uow.commit()
    return version


def lineage_of(uow: UnitOfWork, actor: Actor, key: str) -> list[Lineage]:
    ds = dataset_by_key(uow, actor, key)
    return list(uow.session.scalars(select(Lineage).where(Lineage.dataset_id == ds.id).order_by(Lineage.id)))
