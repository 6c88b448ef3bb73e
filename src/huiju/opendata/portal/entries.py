"""What the portal needs to know about an open entry: its title, providing department and open class.

Open datasets are this context's own (opendata/models.py); the portal addresses them by the id of
the catalog entry they open, which is stable across re-derived open versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from huiju.errors import NotFound
from huiju.opendata.models import OpenDataset, OpenStatus
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
