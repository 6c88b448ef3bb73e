"""Tables of the public portal: accounts, OpenID logins, API keys, conditional applications, interaction, statistics.

Catalog entries are referred to by id (``entry_id``): they belong to the catalog context and
its migration; the department that provides an entry is copied in so lists filter in the query.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiju.i18n import N_
from huiju.storage.db import Base, UTCDateTime, utcnow

# real-name levels, weakest first: conditional data needs at least the configured level
REALNAME_LEVELS = ("unverified", "phone", "real_name")
REALNAME_LABELS = {"unverified": N_("not verified"), "phone": N_("phone verified"),
                   "real_name": N_("real-name verified")}

APPLICATION_STATES = ("submitted", "approved", "rejected", "active", "expired", "revoked")
APPLICATION_LABELS = {"submitted": N_("awaiting review"), "approved": N_("approved, agreement to accept"),
                      "rejected": N_("rejected"), "active": N_("active"), "expired": N_("expired"),
                      "revoked": N_("revoked")}
MODERATION_STATES = ("pending", "approved", "rejected")
MODERATION_LABELS = {"pending": N_("awaiting moderation"), "approved": N_("shown to all"), "rejected": N_("rejected")}
FEEDBACK_STATES = ("open", "answered")
FEEDBACK_LABELS = {"open": N_("awaiting reply"), "answered": N_("answered")}
STAT_KINDS = ("view", "download", "api")


class PortalAccount(Base):
    """What the portal knows about a public user beyond the login: contact and real-name level."""

    __tablename__ = "portal_accounts"
    __authz_owner__ = "user_id"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    organization: Mapped[str] = mapped_column(String(200), default="")
    realname_level: Mapped[str] = mapped_column(String(16), default="unverified")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    name_masked: Mapped[str] = mapped_column(String(50), default="")
    id_number_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # SM3 of the ID number
    realname_reference: Mapped[str] = mapped_column(String(100), default="")  # the provider's receipt
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OidcIdentity(Base):
    """A user's identity at the external unified identity provider (统一身份认证)."""

    __tablename__ = "oidc_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OidcLogin(Base):
    """One started login at the provider: state (hashed), nonce and PKCE verifier, used once."""

    __tablename__ = "oidc_logins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500), default="/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PortalKey(Base):
    """The portal's view of an API token: its rate limit, and for conditional data the application it serves."""

    __tablename__ = "portal_keys"
    __authz_owner__ = "user_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16), unique=True)  # the token's public part, for lookups
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # open | conditional
    application_id: Mapped[int | None] = mapped_column(ForeignKey("open_applications.id"), nullable=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None = the setting
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpenApplication(Base):
    """An application for conditional data (有条件开放): purpose → review → 数据利用协议 → scoped key."""

    __tablename__ = "open_applications"
    __authz_department__ = "department_id"
    __authz_owner__ = "user_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    entry_title: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    commitments: Mapped[list[str]] = mapped_column(JSON)
    months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    agreement_version: Mapped[str] = mapped_column(String(32), default="")
    agreement_sm3: Mapped[str] = mapped_column(String(64), default="")  # hash of the exact text accepted
    agreement_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class UsageReport(Base):
    """What an applicant reports back about the use of conditional data (利用情况反馈)."""

    __tablename__ = "usage_reports"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("open_applications.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text)
    outcome_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DataRequest(Base):
    """A public request for data not yet open (需求征集), answered publicly."""

    __tablename__ = "data_requests"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ErrorReport(Base):
    """A report that open data is wrong (纠错), routed to the department that provides it."""

    __tablename__ = "error_reports"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    """A rating (1–5) and comment on a dataset, shown only after moderation."""

    __tablename__ = "portal_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShowcaseApp(Base):
    """An application built on open data (应用展示), shown after review."""

    __tablename__ = "showcase_apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500))
    entry_ids: Mapped[list[int]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageCount(Base):
    """Daily counters of views, downloads and API calls per dataset (开放统计)."""

    __tablename__ = "usage_counts"
    __table_args__ = (UniqueConstraint("day", "entry_id", "kind", name="uq_usage_counts_day_entry_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "entry_id": self.entry_id, "kind": self.kind, "count": self.count}
