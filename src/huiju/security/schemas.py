"""Pydantic shapes of the security API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    context: str
    event_type: str
    payload: str
    hash: str


class ChainReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None
    broken_id: int | None
    reason: str
    checkpoints_checked: int
    broken_checkpoint_id: int | None
    signed_seq: int
    signer_fingerprints: list[str]
