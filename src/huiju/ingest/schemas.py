"""Pydantic shapes of the ingest API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dataset_id: int
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
