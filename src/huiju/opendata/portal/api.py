"""JSON API of the portal (``/api/v1/portal``) and the request dependencies its pages share:
rate limits, the real-name provider and the identity provider. A few lines per route."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from huiju.errors import RateLimited
from huiju.i18n import N_
from huiju.opendata.portal import service
from huiju.opendata.portal.oidc import OidcProvider
from huiju.opendata.ratelimit import RateLimiter, limiter_for
from huiju.opendata.portal.realname import HttpRealNameProvider, RealNameProvider
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(prefix="/portal", tags=["opendata portal"])


# ---- dependencies shared with the pages --------------------------------------------------

def limiter(request: Request) -> RateLimiter:
    """The app's limiter for portal routes (the open-data module's fixed one-minute window shared by every
    worker process, 0 = unlimited)."""
    return limiter_for(request.app.state, request.app.state.storage.settings.home, "portal")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_calls(request: Request, uow: UowDep) -> None:
    """Per-key limit for callers with a key, per-IP limit for everyone else; 429 with Retry-After when spent."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() == "bearer" and presented.strip():
        key = service.key_limit(uow, presented.strip())
        verdict = limiter(request).check("key", key.caller, key.per_minute)
        if not verdict.allowed:
            raise RateLimited(N_("Too many calls with this API key: at most %(limit)s a minute. Try again in "
                                 "%(seconds)s seconds."), retry_after=verdict.retry_after, limit=verdict.limit,
                              seconds=verdict.retry_after)
        return
    settings = request.app.state.storage.settings
    verdict = limiter(request).check("ip", client_ip(request), settings.opendata_rate_per_ip)
    if not verdict.allowed:
        raise RateLimited(N_("Too many calls from your address: at most %(limit)s a minute without an API key. Try "
                             "again in %(seconds)s seconds, or use an API key for a higher limit."),
                          retry_after=verdict.retry_after, limit=verdict.limit, seconds=verdict.retry_after)


RateLimitDep = Depends(limit_calls)


def realname_provider(request: Request) -> RealNameProvider:
    """The bureau's verification service (settings.realname_url), or one the app was given (tests, plugins)."""
    given = getattr(request.app.state, "realname_provider", None)
    return given if given is not None else HttpRealNameProvider(request.app.state.storage.settings.realname_url)


def oidc_provider(request: Request) -> OidcProvider:
    state = request.app.state
    if getattr(state, "oidc_provider", None) is None:
        s = state.storage.settings
        state.oidc_provider = OidcProvider(s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret)
    return state.oidc_provider


RealNameDep = Annotated[RealNameProvider, Depends(realname_provider)]


# ---- schemas -----------------------------------------------------------------------------

class RegisterIn(BaseModel):
    username: str
    display_name: str = ""
    password: str
    email: str = ""
    organization: str = ""


class AccountOut(BaseModel):
    user_id: int
    email: str
    organization: str
    realname_level: str
    phone_masked: str
    name_masked: str
    verified_at: datetime | None


class PhoneIn(BaseModel):
    phone: str
    code: str


class IdentityIn(BaseModel):
    name: str
    id_number: str


class KeyIn(BaseModel):
    name: str = ""
    days: int | None = None


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    kind: str
    status: str
    rate_per_minute: int | None
    expires_at: datetime


class IssuedKeyOut(BaseModel):
    id: int
    key: str = Field(description="Shown once: keep it; send it as `Authorization: Bearer <key>`.")


class ApplicationIn(BaseModel):
    entry_id: int
    purpose: str
    scenario: str
    commitments: list[str]
    months: int = 12


class ApplicationOut(BaseModel):
    id: int
    entry_id: int
    entry_title: str
    department_id: int
    status: str
    submitted_at: datetime
    due_on: date
    decision_note: str
    expires_at: datetime | None


class DecisionIn(BaseModel):
    approve: bool
    note: str = ""


class AgreementOut(BaseModel):
    text: str
    sm3: str


class AcceptIn(BaseModel):
    agreement_sm3: str


class AcceptedOut(BaseModel):
    application: ApplicationOut
    key: str = Field(description="Scoped to this data and shown once.")


class UsageIn(BaseModel):
    summary: str
    outcome_url: str = ""


class ReasonIn(BaseModel):
    reason: str


class DataRequestIn(BaseModel):
    title: str
    description: str
    department_code: str | None = None


class DataRequestOut(BaseModel):
    id: int
    title: str
    description: str
    department_id: int | None
    status: str
    reply: str
    replied_at: datetime | None
    created_at: datetime


class ReplyIn(BaseModel):
    reply: str


class ErrorReportIn(BaseModel):
    entry_id: int
    description: str
    location: str = ""


class ErrorReportOut(BaseModel):
    id: int
    entry_id: int
    department_id: int
    location: str
    description: str
    status: str
    reply: str


class CommentIn(BaseModel):
    entry_id: int
    rating: int | None = None
    body: str = ""


class CommentOut(BaseModel):
    id: int
    entry_id: int
    rating: int | None
    body: str
    status: str
    created_at: datetime


class AppIn(BaseModel):
    name: str
    description: str
    url: str
    entry_ids: list[int]


class AppOut(BaseModel):
    id: int
    name: str
    description: str
    url: str
    entry_ids: list[int]
    status: str


class StatsOut(BaseModel):
    totals: dict[str, int]
    by_entry: dict[int, dict[str, int]]
    by_department: dict[int, dict[str, int]]


def _application(app) -> ApplicationOut:
    return ApplicationOut.model_validate(app, from_attributes=True)


# ---- accounts and keys -------------------------------------------------------------------

@router.post("/register", response_model=AccountOut, status_code=201)
def register(body: RegisterIn, uow: UowDep):
    return service.register_account(uow, username=body.username, display_name=body.display_name,
                                    password=body.password, email=body.email, organization=body.organization)


@router.get("/account", response_model=AccountOut)
def account(uow: UowDep, actor: ActorDep):
    return service.account_of(uow, actor)


@router.post("/account/phone", response_model=AccountOut)
def verify_phone(body: PhoneIn, uow: UowDep, actor: ActorDep, provider: RealNameDep):
    return service.verify_phone(uow, actor, phone=body.phone, code=body.code, provider=provider)


@router.post("/account/identity", response_model=AccountOut)
def verify_identity(body: IdentityIn, uow: UowDep, actor: ActorDep, provider: RealNameDep):
    return service.verify_identity(uow, actor, name=body.name, id_number=body.id_number, provider=provider)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(uow: UowDep, actor: ActorDep):
    return [KeyOut(id=v.key.id, name=v.name, prefix=v.prefix, kind=v.key.kind, status=v.status,
                   rate_per_minute=v.key.rate_per_minute, expires_at=v.expires_at)
            for v in service.list_keys(uow, actor)]


@router.post("/keys", response_model=IssuedKeyOut, status_code=201)
def create_key(body: KeyIn, uow: UowDep, actor: ActorDep):
    issued = service.create_key(uow, actor, name=body.name, days=body.days)
    return IssuedKeyOut(id=issued.key.id, key=issued.plaintext)


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: int, uow: UowDep, actor: ActorDep) -> None:
    service.revoke_key(uow, actor, key_id)


# ---- conditional open --------------------------------------------------------------------

@router.post("/applications", response_model=ApplicationOut, status_code=201)
def submit_application(body: ApplicationIn, uow: UowDep, actor: ActorDep):
    return _application(service.submit_application(uow, actor, entry_id=body.entry_id, purpose=body.purpose,
                                                   scenario=body.scenario, commitments=body.commitments,
                                                   months=body.months))


@router.get("/applications", response_model=list[ApplicationOut])
def my_applications(uow: UowDep, actor: ActorDep):
    return [_application(a) for a in service.list_my_applications(uow, actor)]


@router.get("/review/applications", response_model=list[ApplicationOut])
def applications_to_review(uow: UowDep, actor: ActorDep, status: str | None = None):
    return [_application(a) for a in service.list_applications_to_review(uow, actor, status=status)]


@router.post("/applications/{application_id}/decision", response_model=ApplicationOut)
def decide(application_id: int, body: DecisionIn, uow: UowDep, actor: ActorDep):
    return _application(service.decide_application(uow, actor, application_id, approve=body.approve, note=body.note))


@router.get("/applications/{application_id}/agreement", response_model=AgreementOut)
def agreement(application_id: int, uow: UowDep, actor: ActorDep):
    text, digest = service.application_agreement(uow, actor, application_id)
    return AgreementOut(text=text, sm3=digest)


@router.post("/applications/{application_id}/accept", response_model=AcceptedOut)
def accept(application_id: int, body: AcceptIn, uow: UowDep, actor: ActorDep):
    accepted = service.accept_agreement(uow, actor, application_id, agreement_sm3=body.agreement_sm3)
    return AcceptedOut(application=_application(accepted.application), key=accepted.plaintext)


@router.post("/applications/{application_id}/usage", status_code=201)
def report_usage(application_id: int, body: UsageIn, uow: UowDep, actor: ActorDep) -> dict[str, int]:
    report = service.report_usage(uow, actor, application_id, summary=body.summary, outcome_url=body.outcome_url)
    return {"id": report.id}


@router.post("/applications/{application_id}/revoke", response_model=ApplicationOut)
def revoke(application_id: int, body: ReasonIn, uow: UowDep, actor: ActorDep):
    return _application(service.revoke_application(uow, actor, application_id, reason=body.reason))


# ---- interaction -------------------------------------------------------------------------

@router.get("/requests", response_model=list[DataRequestOut])
def data_requests(uow: UowDep):
    return service.list_data_requests(uow)


@router.post("/requests", response_model=DataRequestOut, status_code=201)
def request_data(body: DataRequestIn, uow: UowDep, actor: ActorDep):
    return service.request_data(uow, actor, title=body.title, description=body.description,
                                department_code=body.department_code)


@router.post("/requests/{request_id}/reply", response_model=DataRequestOut)
def reply_request(request_id: int, body: ReplyIn, uow: UowDep, actor: ActorDep):
    return service.reply_data_request(uow, actor, request_id, reply=body.reply)


@router.post("/error-reports", response_model=ErrorReportOut, status_code=201)
def report_error(body: ErrorReportIn, uow: UowDep, actor: ActorDep):
    return service.report_error(uow, actor, entry_id=body.entry_id, description=body.description,
                                location=body.location)


@router.get("/review/error-reports", response_model=list[ErrorReportOut])
def error_reports(uow: UowDep, actor: ActorDep):
    return service.list_error_reports(uow, actor)


@router.post("/error-reports/{report_id}/reply", response_model=ErrorReportOut)
def reply_error(report_id: int, body: ReplyIn, uow: UowDep, actor: ActorDep):
    return service.reply_error_report(uow, actor, report_id, reply=body.reply)


@router.post("/comments", response_model=CommentOut, status_code=201)
def post_comment(body: CommentIn, uow: UowDep, actor: ActorDep):
    return service.post_comment(uow, actor, entry_id=body.entry_id, rating=body.rating, body=body.body)


@router.post("/comments/{comment_id}/moderation", response_model=CommentOut)
def moderate(comment_id: int, body: DecisionIn, uow: UowDep, actor: ActorDep):
    return service.moderate_comment(uow, actor, comment_id, approve=body.approve)


@router.get("/apps", response_model=list[AppOut])
def apps(uow: UowDep, entry_id: int | None = None):
    return service.list_apps(uow, entry_id=entry_id)


@router.post("/apps", response_model=AppOut, status_code=201)
def submit_app(body: AppIn, uow: UowDep, actor: ActorDep):
    return service.submit_app(uow, actor, name=body.name, description=body.description, url=body.url,
                              entry_ids=body.entry_ids)


@router.post("/apps/{app_id}/review", response_model=AppOut)
def review_app(app_id: int, body: DecisionIn, uow: UowDep, actor: ActorDep):
    return service.review_app(uow, actor, app_id, approve=body.approve, note=body.note)


@router.get("/stats", response_model=StatsOut, dependencies=[RateLimitDep])
def stats(uow: UowDep, since: date | None = None):
    totals = service.usage_totals(uow, since=since)
    return StatsOut(totals=totals.totals, by_entry=totals.by_entry, by_department=totals.by_department)
