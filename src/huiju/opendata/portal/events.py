"""Events of the public portal (each lands in the audit chain)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from huiju.events import Event


@dataclass(frozen=True, kw_only=True)
class PortalEvent(Event):
    context: ClassVar[str] = "opendata"


@dataclass(frozen=True, kw_only=True)
class AccountRegistered(PortalEvent):
    user_id: int
    username: str
    via: str  # password | oidc


@dataclass(frozen=True, kw_only=True)
class RealNameVerified(PortalEvent):
    user_id: int
    level: str
    reference: str


@dataclass(frozen=True, kw_only=True)
class OidcLoginStarted(PortalEvent):
    issuer: str


@dataclass(frozen=True, kw_only=True)
class OidcLoggedIn(PortalEvent):
    user_id: int
    issuer: str
    subject: str


@dataclass(frozen=True, kw_only=True)
class PortalKeyCreated(PortalEvent):
    key_id: int
    token_id: int
    user_id: int
    kind: str
    application_id: int | None


@dataclass(frozen=True, kw_only=True)
class PortalKeyRevoked(PortalEvent):
    key_id: int
    token_id: int


@dataclass(frozen=True, kw_only=True)
class ApplicationSubmitted(PortalEvent):
    application_id: int
    entry_id: int
    department_id: int
    due_on: str


@dataclass(frozen=True, kw_only=True)
class ApplicationDecided(PortalEvent):
    application_id: int
    approved: bool
    note: str


@dataclass(frozen=True, kw_only=True)
class AgreementAccepted(PortalEvent):
    application_id: int
    agreement_version: str
    agreement_sm3: str
    key_id: int


@dataclass(frozen=True, kw_only=True)
class ApplicationRevoked(PortalEvent):
    application_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class ApplicationsExpired(PortalEvent):
    application_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class UsageReported(PortalEvent):
    application_id: int
    report_id: int


@dataclass(frozen=True, kw_only=True)
class ConditionalDataRead(PortalEvent):
    """Rows of conditional data served over the API under an agreement (who, which, how many)."""

    application_id: int
    entry_id: int
    resource_id: str
    via: str  # the CKAN action, or "dump"
    rows: int | None  # None for a dump: its DataRead event counts the rows streamed


@dataclass(frozen=True, kw_only=True)
class DataRequested(PortalEvent):
    request_id: int
    department_id: int | None


@dataclass(frozen=True, kw_only=True)
class ErrorReported(PortalEvent):
    report_id: int
    entry_id: int
    department_id: int


@dataclass(frozen=True, kw_only=True)
class FeedbackAnswered(PortalEvent):
    kind: str  # data_request | error_report
    item_id: int


@dataclass(frozen=True, kw_only=True)
class CommentPosted(PortalEvent):
    comment_id: int
    entry_id: int
    rating: int | None


@dataclass(frozen=True, kw_only=True)
class CommentModerated(PortalEvent):
    comment_id: int
    status: str


@dataclass(frozen=True, kw_only=True)
class AppSubmitted(PortalEvent):
    app_id: int
    entry_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class AppReviewed(PortalEvent):
    app_id: int
    status: str
