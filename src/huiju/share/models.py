"""Share requests and their thread, grants and their tokens, exchange calls, subscriptions, 疑义 reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Integer, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column

from huiju.storage.db import Base, UTCDateTime, utcnow


class _BothSides:
    """Requests, grants and reports are visible to the using and the providing department alike."""

    @classmethod
    def authz_department_clause(cls, dept_ids: set[int]) -> ColumnElement[bool]:
        ids = sorted(dept_ids)
        return or_(cls.consumer_department_id.in_(ids), cls.provider_department_id.in_(ids))  # type: ignore[attr-defined]


class ShareRequest(_BothSides, Base):
    """A using department's application (共享申请) for a catalog entry, moved only by workflow.py's steps."""

    __tablename__ = "share_requests"
    __authz_owner__ = "requester_id"
    __table_args__ = (Index("ix_share_requests_provider_state", "provider_department_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)  # the catalog entry asked for
    entry_name: Mapped[str] = mapped_column(String(200))
    dataset_key: Mapped[str] = mapped_column(String(200))  # the dataset mounted on the entry
    share_type: Mapped[str] = mapped_column(String(16))  # unconditional | conditional | none, when asked
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    state: Mapped[str] = mapped_column(String(24), index=True)
    purpose: Mapped[str] = mapped_column(Text)  # 使用用途
    scenario: Mapped[str] = mapped_column(Text)  # 应用场景
    fields: Mapped[list[str]] = mapped_column(JSON)
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duration_days: Mapped[int] = mapped_column(Integer)
    delivery_mode: Mapped[str] = mapped_column(String(16))  # api | download | subscription
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # what was granted
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # the last refusal's or partial grant's reason
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # escalated to the operator
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RequestLog(Base):
    """The request's thread: every step, negotiation message, reminder and escalation, in order."""

    __tablename__ = "share_request_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("share_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # step | message | reminder | overdue
    step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    from_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Grant(_BothSides, Base):
    """What an approved request allows (授权): fields, a structured row filter, masks, plaintext rights, limits."""

    __tablename__ = "share_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("share_requests.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    dataset_key: Mapped[str] = mapped_column(String(200), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JSON)
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    masks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # field -> masking rule
    plaintext: Mapped[list[str]] = mapped_column(JSON, default=list)  # encrypted fields delivered decrypted
    order_field: Mapped[str | None] = mapped_column(String(200), nullable=True)  # keyset pagination: the entry's key
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended | revoked
    state_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_calls: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    calls_used: Mapped[int] = mapped_column(Integer, default=0)
    rows_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def status(self, now: datetime) -> str:
        """active | suspended | revoked | expired | exhausted."""
        if self.state != "active":
            return self.state
        if self.expires_at <= now:
            return "expired"
        if (self.max_calls is not None and self.calls_used >= self.max_calls) or \
                (self.max_rows is not None and self.rows_used >= self.max_rows):
            return "exhausted"
        return "active"

    @property
    def recipient(self) -> str:
        """The watermark recipient of everything read under this grant."""
        return f"share-grant:{self.id}"


class GrantToken(Base):
    """An auth API token issued for one grant (scopes ``share.data.read`` and ``share.grant:<id>``)."""

    __tablename__ = "share_grant_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("share_grants.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeCall(Base):
    """One delivery under a grant (交换日志): who, why, what, how much, and the signed receipt."""

    __tablename__ = "share_calls"
    __table_args__ = (Index("ix_share_calls_grant_created", "grant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("share_grants.id"))
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    purpose: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # json | csv | parquet | download | changes | push
    fields: Mapped[list[str]] = mapped_column(JSON)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[int] = mapped_column(Integer)  # HTTP-style status
    request_hash: Mapped[str] = mapped_column(String(64))
    response_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)  # SM2, hex DER
    key_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscription(Base):
    """Push each new version of a grant's dataset to a webhook, or let the consumer pull changes since N."""

    __tablename__ = "share_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("share_grants.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(8))  # push | pull
    webhook_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One push of one version to a subscription's webhook, with its retries."""

    __tablename__ = "share_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("share_subscriptions.id", ondelete="CASCADE"),
                                                 index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Objection(_BothSides, Base):
    """疑义纠错: a using department believes a delivered value is wrong; the provider corrects or explains."""

    __tablename__ = "share_objections"
    __table_args__ = (Index("ix_share_objections_provider_status", "provider_department_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("share_grants.id"), index=True)
    dataset_key: Mapped[str] = mapped_column(String(200))
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    record_key: Mapped[str] = mapped_column(String(200))  # the row's key value as delivered
    field: Mapped[str] = mapped_column(String(200))
    reported_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    suggested_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="open")  # open | corrected | confirmed_correct | rejected
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
