"""Events of the open-data context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class OpenDataEvent(Event):
    context: ClassVar[str] = "opendata"


@dataclass(frozen=True, kw_only=True)
class OpenProposed(OpenDataEvent):
    open_dataset_id: int
    entry_id: int
    dataset_id: int
    policy: dict


@dataclass(frozen=True, kw_only=True)
class OpenApproved(OpenDataEvent):
    open_dataset_id: int
    comment: str


@dataclass(frozen=True, kw_only=True)
class OpenRejected(OpenDataEvent):
    open_dataset_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class OpenVersionPublished(OpenDataEvent):
    open_dataset_id: int
    open_version_id: int
    number: int
    source_version_id: int
    rows: int
    dropped: list
    masked: dict


@dataclass(frozen=True, kw_only=True)
class OpenWithdrawn(OpenDataEvent):
    open_dataset_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class ServingIndexesRemoved(OpenDataEvent):
    open_dataset_id: int
    open_version_ids: list
    paths: list
