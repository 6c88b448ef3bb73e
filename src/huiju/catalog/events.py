"""Events of the catalog context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class CatalogEvent(Event):
    context: ClassVar[str] = "catalog"


@dataclass(frozen=True, kw_only=True)
class DatasetRegistered(CatalogEvent):
    dataset_id: int
    key: str
    department_id: int


@dataclass(frozen=True, kw_only=True)
class SchemaSaved(CatalogEvent):
    dataset_id: int
    confirmed: bool
    fields: int
    rules: int


@dataclass(frozen=True, kw_only=True)
class VersionPublished(CatalogEvent):
    dataset_id: int
    version_id: int
    number: int
    rows: int
    kind: str


@dataclass(frozen=True, kw_only=True)
class VersionRolledBack(CatalogEvent):
    dataset_id: int
    version_id: int
    number: int


@dataclass(frozen=True, kw_only=True)
class EntryRegistered(CatalogEvent):
    entry_id: int
    code: str
    department_id: int


@dataclass(frozen=True, kw_only=True)
class EntryUpdated(CatalogEvent):
    entry_id: int
    code: str
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class EntrySubmitted(CatalogEvent):
    entry_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class EntryPublished(CatalogEvent):
    entry_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class EntryRejected(CatalogEvent):
    entry_id: int
    code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class EntryWithdrawn(CatalogEvent):
    entry_id: int
    code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DatasetMounted(CatalogEvent):
    entry_id: int
    dataset_id: int


@dataclass(frozen=True, kw_only=True)
class DatasetUnmounted(CatalogEvent):
    entry_id: int
    dataset_id: int


@dataclass(frozen=True, kw_only=True)
class EntriesImported(CatalogEvent):
    department_id: int
    rows: int
    created: int
    failed: int


@dataclass(frozen=True, kw_only=True)
class HarvestSourceAdded(CatalogEvent):
    source_id: int
    kind: str
    url: str


@dataclass(frozen=True, kw_only=True)
class CatalogHarvested(CatalogEvent):
    source_id: int
    created: int
    updated: int
    failed: int
