"""What the portal needs to know about an open entry: its title, providing department and open class.

Open datasets are this context's own (opendata/models.py); the portal addresses them by the id of
the catalog entry they open, which is stable across re-derived open versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from huiju.errors import NotFound
from huiju.opendata.models import OpenDataset, OpenStatus, OpenVersion
from huiju.storage.uow import UnitOfWork


@dataclass(frozen=True)
class EntryRef:
    id: int  # the catalog entry id
    open_dataset_id: int
    name: str  # the CKAN package name
    title: str
    department_id: int
    open_class: str  # unconditional | conditional


def entry_ref(uow: UnitOfWork, entry_id: int) -> EntryRef:
    """The published open dataset of a catalog entry; anything not published is not found."""
    ds = uow.session.scalar(select(OpenDataset).where(OpenDataset.entry_id == entry_id,
                                                      OpenDataset.status == OpenStatus.PUBLISHED))
    if ds is None:
        raise NotFound("Open dataset %(id)s not found", id=entry_id)
    return EntryRef(ds.entry_id, ds.id, ds.name, ds.title, ds.department_id, ds.open_class)


def entry_for_resource(uow: UnitOfWork, resource_uid: str) -> EntryRef:
    """The entry behind a CKAN resource id (an open version), for counting API calls by dataset."""
    ds = uow.session.scalar(select(OpenDataset).join(OpenVersion, OpenVersion.open_dataset_id == OpenDataset.id)
                            .where(OpenVersion.uid == resource_uid, OpenDataset.status == OpenStatus.PUBLISHED))
    if ds is None:
        raise NotFound("Resource %(id)s not found", id=resource_uid)
    return EntryRef(ds.entry_id, ds.id, ds.name, ds.title, ds.department_id, ds.open_class)
