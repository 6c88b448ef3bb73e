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
