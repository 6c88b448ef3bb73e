"""Events of data protection on catalog datasets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class ProtectionEvent(Event):
    context: ClassVar[str] = "catalog"


@dataclass(frozen=True, kw_only=True)
class ColumnLabelled(ProtectionEvent):
    dataset_id: int
    column: str
    level: str
    sensitive_pi: bool
    categories: list[str]
    mask: str | None


@dataclass(frozen=True, kw_only=True)
class LabelsConfirmed(ProtectionEvent):
    dataset_id: int
    columns: list[str]


@dataclass(frozen=True, kw_only=True)
class LevelExceptionRecorded(ProtectionEvent):
    dataset_id: int
    column: str | None  # None: the dataset as a whole
    level: str | None  # None: the exception was withdrawn
    inherited_level: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class LabelsInherited(ProtectionEvent):
    dataset_id: int
    columns: dict[str, str]  # column -> level taken (就高从严)
    inputs: list[str]


@dataclass(frozen=True, kw_only=True)
class DatasetReencrypted(ProtectionEvent):
    dataset_id: int
    key_version: int
    rotated: bool
    columns: list[str]
