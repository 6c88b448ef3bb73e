"""Events of the ingest context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class IngestEvent(Event):
    context: ClassVar[str] = "ingest"


@dataclass(frozen=True, kw_only=True)
class IngestFinished(IngestEvent):
    job_id: int
    dataset_id: int
    status: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    input_sm3: str | None


@dataclass(frozen=True, kw_only=True)
class QuarantineResubmitted(IngestEvent):
    job_id: int
    rows: int
