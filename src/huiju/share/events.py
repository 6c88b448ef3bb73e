"""Events of the share context: every workflow step, grant change, delivery and 疑义 report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class ShareEvent(Event):
    context: ClassVar[str] = "share"


@dataclass(frozen=True, kw_only=True)
class RequestSubmitted(ShareEvent):
    request_id: int
    entry_id: int
    consumer_department_id: int
    provider_department_id: int
    share_type: str
    state: str
    purpose: str
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class RequestStepTaken(ShareEvent):
    """One workflow transition (clear, approve, reject, negotiate, escalate, rule, withdraw)."""

    request_id: int
    step: str
    from_state: str
    to_state: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RequestMessagePosted(ShareEvent):
    request_id: int


@dataclass(frozen=True, kw_only=True)
class ReplyReminded(ShareEvent):
    request_id: int
    state: str
    deadline: str


@dataclass(frozen=True, kw_only=True)
class ReplyOverdue(ShareEvent):
    """The reply limit passed; the request is escalated to the operator."""

    request_id: int
    state: str
    deadline: str


@dataclass(frozen=True, kw_only=True)
class GrantIssued(ShareEvent):
    grant_id: int
    request_id: int
    dataset_key: str
    fields: list[str]
    masks: dict[str, str]
    expires_at: str


@dataclass(frozen=True, kw_only=True)
class GrantChanged(ShareEvent):
    """Renewed, suspended, resumed or revoked."""

    grant_id: int
    change: str
    reason: str
    expires_at: str


@dataclass(frozen=True, kw_only=True)
class GrantTokenIssued(ShareEvent):
    grant_id: int
    token_id: int


@dataclass(frozen=True, kw_only=True)
class DataDelivered(ShareEvent):
    grant_id: int
    call_id: int
    channel: str
    rows: int
    bytes: int
    response_hash: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionChanged(ShareEvent):
    subscription_id: int
    grant_id: int
    change: str


@dataclass(frozen=True, kw_only=True)
class ObjectionReported(ShareEvent):
    objection_id: int
    grant_id: int
    field: str


@dataclass(frozen=True, kw_only=True)
class ObjectionResolved(ShareEvent):
    objection_id: int
    outcome: str
