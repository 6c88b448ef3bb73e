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
class SourceAdded(IngestEvent):
    source_id: int
    name: str
    dataset_id: int
    kind: str
    write_mode: str
    schedule: str | None
    secrets: list[str]  # which secrets were sealed, never their values


@dataclass(frozen=True, kw_only=True)
class SourceChanged(IngestEvent):
    source_id: int
    changes: list[str]


@dataclass(frozen=True, kw_only=True)
class JobQueued(IngestEvent):
    job_id: int
    source_id: int
    trigger: str  # manual | schedule | rerun


@dataclass(frozen=True, kw_only=True)
class JobStarted(IngestEvent):
    job_id: int
    worker: str
    attempt: int


@dataclass(frozen=True, kw_only=True)
class JobRetryScheduled(IngestEvent):
    job_id: int
    attempt: int
    wait_seconds: float
    error: str


@dataclass(frozen=True, kw_only=True)
class JobInterrupted(IngestEvent):
    job_id: int
    worker: str | None


@dataclass(frozen=True, kw_only=True)
class QuarantineResubmitted(IngestEvent):
    job_id: int
    rows: int


# ---- 一数一源, correction tasks and base libraries -------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ElementRegistered(IngestEvent):
    element_id: int
    code: str
    subject: str
    authority_department_id: int


@dataclass(frozen=True, kw_only=True)
class ColumnMapped(IngestEvent):
    dataset_id: int
    column: str
    element_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class ColumnUnmapped(IngestEvent):
    dataset_id: int
    column: str
    element_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class ElementCompared(IngestEvent):
    """One element compared across datasets: discrepancies found, tasks opened, stale tasks closed."""

    element_id: int
    code: str
    datasets: list[str]
    discrepancies: int
    tasks_opened: int
    tasks_closed: int
    trigger: str | None = None


@dataclass(frozen=True, kw_only=True)
class CorrectionTaskResolved(IngestEvent):
    task_id: int
    element_id: int
    outcome: str
    department_id: int


@dataclass(frozen=True, kw_only=True)
class BaseLibraryBuilt(IngestEvent):
    subject: str
    dataset_id: int
    rows: int
    fallback_values: int
    inputs: list[str]
    trigger: str | None = None
