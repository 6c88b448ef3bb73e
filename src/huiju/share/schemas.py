"""Pydantic shapes of the share API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Condition = dict[str, Any]  # {"field": ..., "op": one of catalog.access.OPS, "value": ...}


class RequestIn(BaseModel):
    entry_id: int
    purpose: str = Field(description="使用用途")
    scenario: str = Field(description="应用场景")
    fields: list[str]
    row_filter: list[Condition] = Field(default_factory=list, description="Conditions every row must meet.")
    duration_days: int = 365
    delivery_mode: Literal["api", "download", "subscription"] = "api"
    department_code: str | None = None


class StepIn(BaseModel):
    reason: str = ""
    fields: list[str] | None = Field(default=None, description="Approving in part: the fields granted.")
    extra_filter: list[Condition] | None = Field(default=None, description="Approving in part: added conditions.")
    masks: dict[str, str] | None = Field(default=None, description="Field -> mask name (security.masking).")
    plaintext: list[str] | None = None
    max_calls: int | None = None
    max_rows: int | None = None


class MessageIn(BaseModel):
    text: str


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_id: int
    entry_name: str
    dataset_key: str
    share_type: str
    state: str
    requester_id: int
    consumer_department_id: int
    provider_department_id: int
    purpose: str
    scenario: str
    fields: list[str]
    row_filter: list[Condition]
    duration_days: int
    delivery_mode: str
    decision: dict[str, Any] | None
    reason: str | None
    deadline_at: datetime | None
    reminded_at: datetime | None
    overdue_at: datetime | None
    created_at: datetime


class LogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    step: str | None
    from_state: str | None
    to_state: str | None
    actor_name: str
    text: str | None
    created_at: datetime


class RequestDetailOut(BaseModel):
    request: RequestOut
    log: list[LogOut]
    workdays_left: int | None
    grant_id: int | None


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: int
    entry_id: int
    dataset_key: str
    consumer_department_id: int
    provider_department_id: int
    purpose: str
    fields: list[str]
    row_filter: list[Condition]
    masks: dict[str, str]
    plaintext: list[str]
    state: str
    state_reason: str | None
    expires_at: datetime
    max_calls: int | None
    max_rows: int | None
    calls_used: int
    rows_used: int


class RenewIn(BaseModel):
    days: int
    reason: str = ""


class ReasonIn(BaseModel):
    reason: str = ""


class TokenIn(BaseModel):
    name: str = ""
    days: int | None = None


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; send as `Authorization: Bearer …`.")
    token_id: int
    expires_at: datetime
    scopes: list[str]


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    user_id: int | None
    fields: list[str]
    rows: int
    bytes: int
    status: int
    request_hash: str
    response_hash: str | None
    error: str | None
    created_at: datetime


class ObjectionIn(BaseModel):
    record_key: str
    field: str
    reported_value: str | None = None
    suggested_value: str | None = None
    note: str


class ResolveIn(BaseModel):
    outcome: Literal["corrected", "confirmed_correct", "rejected"]
    note: str


class ObjectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    grant_id: int
    dataset_key: str
    record_key: str
    field: str
    reported_value: str | None
    suggested_value: str | None
    note: str
    status: str
    outcome_note: str | None
    created_at: datetime
    resolved_at: datetime | None


class DeadlineReportOut(BaseModel):
    reminded: list[int]
    overdue: list[int]


class SubscriptionIn(BaseModel):
    mode: Literal["push", "pull"]
    webhook_url: str | None = None
    since_version: int | None = None
