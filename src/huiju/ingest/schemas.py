"""Pydantic shapes of the ingest API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Progress(BaseModel):
    """Rows read so far, and the total when the source states it (a database count, an API's total)."""

    rows_done: int
    rows_total: int | None
    percent: float | None


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dataset_id: int
    source_id: int | None
    source_kind: str
    trigger: str
    attempts: int
    run_after: datetime | None
    claimed_by: str | None
    heartbeat_at: datetime | None
    progress: Progress
    cursor_from: str | None
    cursor_to: str | None
    input_name: str
    input_sm3: str | None
    input_bytes: int | None
    encoding: str | None
    write_mode: str
    status: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    quality_score: float | None
    rule_counts: dict[str, int]
    notices: list[str]
    error: str | None
    version_id: int | None
    started_at: datetime
    finished_at: datetime | None


class QuarantineRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    row_number: int
    raw: dict[str, Any]
    reasons: list[dict[str, Any]]
    status: str


class JobLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    level: str
    message: str


class SourceIn(BaseModel):
    """A source to keep: ``options`` per kind (docs/ingest.md); secrets in them are sealed, never shown again."""

    name: str
    dataset: str
    kind: str = Field(description="file | sql | http")
    options: dict[str, Any]
    write_mode: str = "replace"
    key_columns: list[str] = Field(default_factory=list)
    cursor_column: str | None = None
    schedule: str | None = Field(None, description="cron: minute hour day month weekday, in HUIJU_TIMEZONE")
    enabled: bool = True


class SourceChangeIn(BaseModel):
    schedule: str | None = None
    clear_schedule: bool = False
    enabled: bool | None = None
    reset_cursor: bool = False


class SourceOut(BaseModel):
    id: int
    name: str
    dataset: str
    kind: str
    options: dict[str, Any]
    secrets: list[str]
    write_mode: str
    key_columns: list[str]
    cursor_column: str | None
    cursor_value: str | None
    schedule: str | None
    timezone: str
    next_run_at: datetime | None
    enabled: bool
    jobs: list[JobOut]
