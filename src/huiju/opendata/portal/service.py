"""Portal use cases: public accounts and real-name levels, OpenID login, API keys, conditional open,
interaction (requests, error reports, comments, showcase) and usage statistics."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from huiju.auth import service as auth_service
from huiju.auth.authz import public, require, visible
from huiju.auth.roles import Actor
from huiju.errors import Conflict, Forbidden, Invalid, NotFound
from huiju.i18n import N_, gettext
from huiju.ingest.validators import check_citizen_id, check_mobile
from huiju.opendata.portal import events as E
from huiju.opendata.portal import permissions as P
from huiju.opendata.portal.agreement import agreement_text
from huiju.opendata.portal.entries import EntryRef, entry_for_resource, entry_ref
from huiju.opendata.portal.oidc import OidcProvider
from huiju.opendata.portal.realname import RealNameProvider
from huiju.opendata.portal_models import (
    REALNAME_LEVELS,
    STAT_KINDS,
    Comment,
    DataRequest,
    ErrorReport,
    OidcIdentity,
    OidcLogin,
    OpenApplication,
    PortalAccount,
    PortalKey,
    ShowcaseApp,
    UsageCount,
    UsageReport,
)
from huiju.security.crypto import sm3_hex
from huiju.storage.db import utcnow
from huiju.storage.uow import UnitOfWork
from huiju.workdays import WorkCalendar

KEY_SCOPES = [P.CONDITIONAL_READ.name]  # a key reads open data (and granted conditional data), nothing else
OIDC_LOGIN_MINUTES = 10
COMMITMENTS_MIN = 1


def _text(value: str, field: str, *, limit: int = 5000, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid("%(field)s is required", field=gettext(field))
    if len(value) > limit:
        raise Invalid("%(field)s is too long (at most %(n)s characters)", field=gettext(field), n=limit)
    return value


def _level_at_least(level: str, needed: str) -> bool:
    return REALNAME_LEVELS.index(level) >= REALNAME_LEVELS.index(needed)


# ---- accounts ----------------------------------------------------------------------------

@public
def register_account(uow: UnitOfWork, *, username: str, display_name: str, password: str, email: str = "",
                     organization: str = "") -> PortalAccount:
    """Anyone may open a public account; real-name verification comes later and raises its level."""
    email = email.strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise Invalid("Email address %(email)s is not valid", email=email)
    user = auth_service.register(uow, username=username, display_name=display_name, password=password)
    account = PortalAccount(user_id=user.id, email=email, organization=organization.strip()[:200])
    uow.add(account)
    uow.emit(auth_service.actor_for_user(user), E.AccountRegistered(user_id=user.id, username=user.username,
                                                                    via="password"))
    uow.commit()
    return account


def account_of(uow: UnitOfWork, actor: Actor) -> PortalAccount:
    """The actor's portal account; staff and older users get one on first use, at the lowest level."""
    require(actor, P.ACCOUNT_MANAGE, owner_id=actor.user_id)
    assert actor.user_id is not None
    account = uow.session.get(PortalAccount, actor.user_id)
    if account is None:
        account = PortalAccount(user_id=actor.user_id, email="", organization="", realname_level="unverified")
        uow.add(account)
        uow.session.flush()
    return account


def update_account(uow: UnitOfWork, actor: Actor, *, email: str, organization: str) -> PortalAccount:
    account = account_of(uow, actor)
    email = email.strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise Invalid("Email address %(email)s is not valid", email=email)
    account.email, account.organization = email, organization.strip()[:200]
    uow.commit()
    return account


def verify_phone(uow: UnitOfWork, actor: Actor, *, phone: str, code: str,
                 provider: RealNameProvider) -> PortalAccount:
    """Phone verification (手机认证) by the outside service: the account reaches at least level ``phone``."""
    account = account_of(uow, actor)
    check = check_mobile(re.sub(r"[\s-]", "", phone))
    if not check.ok or check.normalized is None:
        raise Invalid("%(phone)s is not a mainland mobile number", phone=phone)
    receipt = provider.check_phone(check.normalized, code.strip())
    if not receipt:
        raise Invalid("The verification code is wrong or has expired")
    number = check.normalized
    account.phone_masked = f"{number[:3]}****{number[-4:]}"
    if not _level_at_least(account.realname_level, "phone"):
        account.realname_level = "phone"
    account.realname_reference, account.verified_at = receipt[:100], utcnow()
    uow.emit(actor, E.RealNameVerified(user_id=account.user_id, level=account.realname_level, reference=receipt[:100]))
    uow.commit()
    return account


def verify_identity(uow: UnitOfWork, actor: Actor, *, name: str, id_number: str,
                    provider: RealNameProvider) -> PortalAccount:
    """Real-name verification (实名认证): the outside service confirms the name matches the citizen ID number.

    Only a masked name and a keyed SM3 digest of the ID number are kept (enough to see one ID
    behind several accounts), never the number itself.
    """
    account = account_of(uow, actor)
    name = _text(name, N_("Name"), limit=50)
    check = check_citizen_id(id_number)
    if not check.ok or check.normalized is None:
        raise Invalid("%(value)s is not a valid citizen ID number (GB 11643)", value=id_number[:4] + "…")
    receipt = provider.check_identity(name, check.normalized)
    if not receipt:
        raise Invalid("The name does not match the ID number")
    account.name_masked = name[0] + "*" * (len(name) - 1)
    account.id_number_hash = sm3_hex(uow.settings.signing_key() + check.normalized.encode())
    account.realname_level = "real_name"
    account.realname_reference, account.verified_at = receipt[:100], utcnow()
    uow.emit(actor, E.RealNameVerified(user_id=account.user_id, level="real_name", reference=receipt[:100]))
    uow.commit()
    return account


# ---- login through the unified identity provider -----------------------------------------

@public
def start_oidc_login(uow: UnitOfWork, provider: OidcProvider, *, redirect_uri: str, next_path: str = "/") -> str:
    """Remember a fresh state, nonce and PKCE verifier, and send the browser to the provider."""
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    url = provider.authorization_url(redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=verifier)
    uow.add(OidcLogin(state_hash=sm3_hex(state.encode()), nonce=nonce, code_verifier=verifier,
                      next_path=next_path[:500]))
    uow.emit(Actor.anonymous(), E.OidcLoginStarted(issuer=provider.issuer))
    uow.commit()
    return url


@dataclass
class OidcResult:
    login: auth_service.Login
    next_path: str
    created: bool


@public
def finish_oidc_login(uow: UnitOfWork, provider: OidcProvider, *, state: str, code: str,
                      redirect_uri: str) -> OidcResult:
    """Check the state (once, within minutes), verify the identity, link or create the account, log in."""
    started = uow.session.scalar(select(OidcLogin).where(OidcLogin.state_hash == sm3_hex(state.encode())))
    now = utcnow()
    if started is None or started.used_at is not None or \
            started.created_at < now - timedelta(minutes=OIDC_LOGIN_MINUTES):
        raise Invalid("This login link has expired or was already used; start the login again")
    started.used_at = now
    uow.commit()  # a state is spent even if what follows fails
    identity = provider.exchange(redirect_uri=redirect_uri, code=code, code_verifier=started.code_verifier,
                                 nonce=started.nonce)
    link = uow.session.scalar(select(OidcIdentity).where(OidcIdentity.issuer == identity.issuer,
                                                         OidcIdentity.subject == identity.subject))
    created = link is None
    if link is None:
        base = "u" + hashlib.sha256(f"{identity.issuer}|{identity.subject}".encode()).hexdigest()[:12]
        username = base
        while auth_service.username_taken(uow, username):
            username = f"{base}{secrets.randbelow(1000)}"
        user = auth_service.register(uow, username=username, display_name=identity.name[:100],
                                     password=secrets.token_urlsafe(32))  # unknown to anyone: OIDC-only account
        level = uow.settings.oidc_realname_level
        uow.add(PortalAccount(user_id=user.id, email="", organization="", realname_level=level,
                              realname_reference=f"oidc:{identity.subject}"[:100],
                              verified_at=now if level != "unverified" else None))
        link = OidcIdentity(issuer=identity.issuer, subject=identity.subject, user_id=user.id)
        uow.add(link)
        uow.emit(auth_service.actor_for_user(user), E.AccountRegistered(user_id=user.id, username=username,
                                                                        via="oidc"))
    link.last_login_at = now
    uow.emit(Actor.anonymous(), E.OidcLoggedIn(user_id=link.user_id, issuer=identity.issuer,
                                               subject=identity.subject))
    uow.session.flush()
    login = auth_service.login_verified(uow, user_id=link.user_id)  # commits the link with the session
    return OidcResult(login, started.next_path, created)


# ---- API keys and their rate limits ------------------------------------------------------

@dataclass
class IssuedKey:
    key: PortalKey
    plaintext: str  # shown once


def create_key(uow: UnitOfWork, actor: Actor, *, name: str, days: int | None = None,
               rate_per_minute: int | None = None) -> IssuedKey:
    """An open-data API key for the actor: a token that can only read open data, with a rate limit."""
    require(actor, P.KEY_MANAGE, owner_id=actor.user_id)
    if rate_per_minute is not None:
        require(actor, P.MODERATE)  # only the operator gives a key its own limit
        if rate_per_minute < 1:
            raise Invalid("A rate limit is at least one call a minute")
    issued = auth_service.create_token(uow, actor, name=name or "open data", scopes=KEY_SCOPES, days=days)
    key = PortalKey(token_id=issued.token.id, token_prefix=issued.token.prefix, user_id=issued.token.user_id,
                    kind="open", rate_per_minute=rate_per_minute)
    uow.add(key)
    uow.session.flush()
    uow.emit(actor, E.PortalKeyCreated(key_id=key.id, token_id=key.token_id, user_id=key.user_id, kind="open",
                                       application_id=None))
    uow.commit()
    return IssuedKey(key, issued.plaintext)


@dataclass
class KeyView:
    key: PortalKey
    name: str
    prefix: str
    status: str
    expires_at: datetime
    last_used_at: datetime | None


def list_keys(uow: UnitOfWork, actor: Actor) -> list[KeyView]:
    require(actor, P.KEY_MANAGE, owner_id=actor.user_id)
    tokens = {t.id: t for t in auth_service.list_tokens(uow, actor)}
    keys = uow.session.scalars(select(PortalKey).where(visible(actor, P.KEY_MANAGE, PortalKey),
                                                       PortalKey.user_id == actor.user_id).order_by(PortalKey.id))
    now = utcnow()
    out = []
    for key in keys:
        token = tokens.get(key.token_id)
        if token is not None:
            out.append(KeyView(key, token.name, token.prefix, token.status(now), token.expires_at,
                               token.last_used_at))
    return out


def revoke_key(uow: UnitOfWork, actor: Actor, key_id: int) -> PortalKey:
    key = uow.get(PortalKey, key_id)
    require(actor, P.KEY_MANAGE, owner_id=key.user_id)
    auth_service.revoke_token(uow, actor, key.token_id)
    uow.emit(actor, E.PortalKeyRevoked(key_id=key.id, token_id=key.token_id))
    uow.commit()
    return key


@dataclass(frozen=True)
class KeyLimit:
    actor: Actor
    caller: str  # the key's public prefix
    per_minute: int


@public
def key_limit(uow: UnitOfWork, presented: str) -> KeyLimit:
    """Authenticate a presented key (refusing unknown, expired, revoked ones) and give its rate limit."""
    actor = auth_service.actor_for_token(uow, presented)
    prefix = presented[len(auth_service.TOKEN_PREFIX):].partition("_")[0]
    key = uow.session.scalar(select(PortalKey).where(PortalKey.token_prefix == prefix))
    per_minute = key.rate_per_minute if key is not None and key.rate_per_minute else \
        uow.settings.opendata_rate_per_key
    return KeyLimit(actor, prefix, per_minute)


# ---- conditional open (有条件开放) ---------------------------------------------------------

def submit_application(uow: UnitOfWork, actor: Actor, *, entry_id: int, purpose: str, scenario: str,
                       commitments: list[str], months: int) -> OpenApplication:
    """Apply for a conditionally open entry; the providing department must decide by the due date."""
    require(actor, P.APPLICATION_SUBMIT, owner_id=actor.user_id)
    account = account_of(uow, actor)
    needed = uow.settings.opendata_conditional_level
    if not _level_at_least(account.realname_level, needed):
        raise Forbidden("Conditional data needs a verified account (%(level)s); verify your identity first",
                        level=needed)
    entry = entry_ref(uow, entry_id)
    if entry.open_class != "conditional":
        raise Invalid("%(title)s is not conditionally open data; no application is needed or possible",
                      title=entry.title)
    commitments = [c.strip() for c in commitments if c.strip()]
    if len(commitments) < COMMITMENTS_MIN:
        raise Invalid("Accept the security commitments to apply")
    if not 1 <= months <= uow.settings.opendata_grant_months:
        raise Invalid("Access can be asked for 1 to %(n)s months", n=uow.settings.opendata_grant_months)
    pending = uow.session.scalar(select(OpenApplication.id).where(
        OpenApplication.user_id == actor.user_id, OpenApplication.entry_id == entry.id,
        OpenApplication.status.in_(("submitted", "approved", "active"))))
    if pending is not None:
        raise Conflict("You already have an application for this data in progress (No. %(id)s)", id=pending)
    now = utcnow()
    app = OpenApplication(user_id=actor.user_id, entry_id=entry.id, entry_title=entry.title[:300],
                          department_id=entry.department_id, purpose=_text(purpose, N_("Purpose")),
                          scenario=_text(scenario, N_("Scenario")), commitments=commitments, months=months,
                          status="submitted", submitted_at=now,
                          due_on=WorkCalendar.from_settings(uow.settings).due_day(
                              now, uow.settings.opendata_review_days))
    uow.add(app)
    uow.session.flush()
    uow.emit(actor, E.ApplicationSubmitted(application_id=app.id, entry_id=entry.id,
                                           department_id=entry.department_id, due_on=app.due_on.isoformat()))
    uow.commit()
    return app


def list_my_applications(uow: UnitOfWork, actor: Actor) -> list[OpenApplication]:
    require(actor, P.APPLICATION_SUBMIT, owner_id=actor.user_id)
    query = (select(OpenApplication).where(OpenApplication.user_id == actor.user_id)
             .order_by(OpenApplication.id.desc()))
    return list(uow.session.scalars(query))


def get_application(uow: UnitOfWork, actor: Actor, application_id: int) -> OpenApplication:
    """The applicant, the providing department's reviewers and operators may see an application."""
    app = uow.get(OpenApplication, application_id)
    if app.user_id != actor.user_id:
        require(actor, P.APPLICATION_REVIEW, department_id=app.department_id)
    else:
        require(actor, P.APPLICATION_SUBMIT, owner_id=app.user_id)
    return app


def list_applications_to_review(uow: UnitOfWork, actor: Actor, *, status: str | None = None
                                ) -> list[OpenApplication]:
    """Applications to the reviewer's departments, oldest due first."""
    require(actor, P.APPLICATION_REVIEW, department_id=next(iter(actor.departments()), None))
    query = select(OpenApplication).where(visible(actor, P.APPLICATION_REVIEW, OpenApplication))
    if status:
        query = query.where(OpenApplication.status == status)
    return list(uow.session.scalars(query.order_by(OpenApplication.due_on, OpenApplication.id)))


def is_overdue(app: OpenApplication, today: date | None = None) -> bool:
    """Still undecided after its due date (counted in working days when it was submitted)."""
    return app.status == "submitted" and (today or utcnow().date()) > app.due_on


def decide_application(uow: UnitOfWork, actor: Actor, application_id: int, *, approve: bool,
                       note: str = "") -> OpenApplication:
    """The providing department approves (the applicant then accepts the agreement) or refuses with reasons."""
    app = uow.get(OpenApplication, application_id)
    require(actor, P.APPLICATION_REVIEW, department_id=app.department_id)
    if app.status != "submitted":
        raise Conflict("Application %(id)s has already been decided", id=app.id)
    note = _text(note, N_("Reason"), required=not approve)
    app.status = "approved" if approve else "rejected"
    app.decided_at, app.decided_by, app.decision_note = utcnow(), actor.user_id, note
    uow.emit(actor, E.ApplicationDecided(application_id=app.id, approved=approve, note=note))
    uow.commit()
    return app


def application_agreement(uow: UnitOfWork, actor: Actor, application_id: int) -> tuple[str, str]:
    """The 数据利用协议 text for this application and its SM3 digest, which acceptance must echo."""
    app = get_application(uow, actor, application_id)
    text = agreement_text(app, version=uow.settings.opendata_agreement_version)
    return text, sm3_hex(text.encode())


@dataclass
class AcceptedAgreement:
    application: OpenApplication
    key: PortalKey
    plaintext: str  # the scoped key, shown once


def accept_agreement(uow: UnitOfWork, actor: Actor, application_id: int, *, agreement_sm3: str
                     ) -> AcceptedAgreement:
    """Accepting the exact agreement text shown activates access and issues a key scoped to this data."""
    app = uow.get(OpenApplication, application_id)
    require(actor, P.APPLICATION_SUBMIT, owner_id=app.user_id)
    if app.status != "approved":
        raise Conflict("Application %(id)s is not waiting for the agreement", id=app.id)
    version = uow.settings.opendata_agreement_version
    expected = sm3_hex(agreement_text(app, version=version).encode())
    if agreement_sm3.strip().lower() != expected:
        raise Invalid("The agreement has changed since it was shown; read it again and accept")
    days = max(1, round(app.months * 365 / 12))
    issued = auth_service.create_token(uow, actor, name=f"conditional #{app.id}", scopes=KEY_SCOPES, days=days)
    key = PortalKey(token_id=issued.token.id, token_prefix=issued.token.prefix, user_id=app.user_id,
                    kind="conditional", application_id=app.id)
    uow.add(key)
    now = utcnow()
    app.status, app.agreement_version, app.agreement_sm3 = "active", version, expected
    app.agreement_accepted_at, app.expires_at = now, issued.token.expires_at
    uow.session.flush()
    uow.emit(actor, E.AgreementAccepted(application_id=app.id, agreement_version=version, agreement_sm3=expected,
                                        key_id=key.id))
    uow.commit()
    return AcceptedAgreement(app, key, issued.plaintext)


def report_usage(uow: UnitOfWork, actor: Actor, application_id: int, *, summary: str,
                 outcome_url: str = "") -> UsageReport:
    """The applicant reports back how the data was used (利用情况反馈)."""
    app = uow.get(OpenApplication, application_id)
    require(actor, P.APPLICATION_SUBMIT, owner_id=app.user_id)
    if app.status not in ("active", "expired", "revoked"):
        raise Conflict("Usage can be reported once access has been granted")
    outcome_url = outcome_url.strip()
    if outcome_url and not outcome_url.startswith(("http://", "https://")):
        raise Invalid("A link must start with http:// or https://")
    report = UsageReport(application_id=app.id, department_id=app.department_id, user_id=app.user_id,
                         summary=_text(summary, N_("Summary")), outcome_url=outcome_url[:500])
    uow.add(report)
    uow.session.flush()
    uow.emit(actor, E.UsageReported(application_id=app.id, report_id=report.id))
    uow.commit()
    return report


def list_usage_reports(uow: UnitOfWork, actor: Actor, application_id: int) -> list[UsageReport]:
    app = get_application(uow, actor, application_id)
    query = select(UsageReport).where(UsageReport.application_id == app.id).order_by(UsageReport.id)
    return list(uow.session.scalars(query))


def _revoke_keys_of(uow: UnitOfWork, actor: Actor, app: OpenApplication) -> None:
    for key in uow.session.scalars(select(PortalKey).where(PortalKey.application_id == app.id)):
        auth_service.revoke_token(uow, Actor.system("opendata"), key.token_id)


def revoke_application(uow: UnitOfWork, actor: Actor, application_id: int, *, reason: str) -> OpenApplication:
    """The providing department ends access early (misuse, changed policy); the key stops working at once."""
    app = uow.get(OpenApplication, application_id)
    require(actor, P.APPLICATION_REVIEW, department_id=app.department_id)
    if app.status not in ("approved", "active"):
        raise Conflict("Only approved or active access can be revoked")
    app.status, app.revoked_at, app.revoke_reason = "revoked", utcnow(), _text(reason, N_("Reason"))
    _revoke_keys_of(uow, actor, app)
    uow.emit(actor, E.ApplicationRevoked(application_id=app.id, reason=app.revoke_reason))
    uow.commit()
    return app


def expire_applications(uow: UnitOfWork, actor: Actor) -> list[int]:
    """Mark access past its end as expired (a daily job; the key has expired with it)."""
    require(actor, P.APPLICATION_REVIEW)
    now = utcnow()
    due = list(uow.session.scalars(select(OpenApplication).where(OpenApplication.status == "active",
                                                                 OpenApplication.expires_at <= now)))
    for app in due:
        app.status = "expired"
    if due:
        uow.emit(actor, E.ApplicationsExpired(application_ids=[a.id for a in due]))
        uow.commit()
    return [a.id for a in due]


def active_grant(uow: UnitOfWork, actor: Actor, entry_id: int) -> OpenApplication:
    """The actor's active access to a conditional entry, or Forbidden; what every read of that data checks
    (pages, downloads, and the CKAN API with the key issued for the agreement, whose scope is opendata.read)."""
    require(actor, P.CONDITIONAL_READ, owner_id=actor.user_id)
    now = utcnow()
    app = uow.session.scalar(select(OpenApplication).where(
        OpenApplication.user_id == actor.user_id, OpenApplication.entry_id == entry_id,
        OpenApplication.status == "active", OpenApplication.expires_at > now))
    if app is None:
        raise Forbidden("This is conditionally open data: apply for it and accept the agreement first")
    return app


# ---- interaction: data requests, error reports, comments, showcase -----------------------

def request_data(uow: UnitOfWork, actor: Actor, *, title: str, description: str,
                 department_code: str | None = None) -> DataRequest:
    """A request for data that is not open yet (需求征集); answered in public."""
    require(actor, P.FEEDBACK_SUBMIT)
    dept = auth_service.department_by_code(uow, department_code) if department_code else None
    req = DataRequest(user_id=actor.user_id, department_id=dept.id if dept else None,
                      title=_text(title, N_("Title"), limit=200), description=_text(description, N_("Description")))
    uow.add(req)
    uow.session.flush()
    uow.emit(actor, E.DataRequested(request_id=req.id, department_id=req.department_id))
    uow.commit()
    return req


@public
def list_data_requests(uow: UnitOfWork, *, limit: int = 50) -> list[DataRequest]:
    """Data requests and their replies are public, like a 政务留言板."""
    return list(uow.session.scalars(select(DataRequest).order_by(DataRequest.id.desc()).limit(limit)))


def list_requests_to_answer(uow: UnitOfWork, actor: Actor) -> list[DataRequest]:
    require(actor, P.FEEDBACK_REPLY, department_id=next(iter(actor.departments()), None))
    query = select(DataRequest).where(visible(actor, P.FEEDBACK_REPLY, DataRequest), DataRequest.status == "open")
    return list(uow.session.scalars(query.order_by(DataRequest.id)))


def reply_data_request(uow: UnitOfWork, actor: Actor, request_id: int, *, reply: str) -> DataRequest:
    req = uow.get(DataRequest, request_id)
    require(actor, P.FEEDBACK_REPLY, department_id=req.department_id)
    req.reply, req.status = _text(reply, N_("Reply")), "answered"
    req.replied_by, req.replied_at = actor.user_id, utcnow()
    uow.emit(actor, E.FeedbackAnswered(kind="data_request", item_id=req.id))
    uow.commit()
    return req


def report_error(uow: UnitOfWork, actor: Actor, *, entry_id: int, description: str,
                 location: str = "") -> ErrorReport:
    """An error in open data (纠错) goes to the department that provides the data."""
    require(actor, P.FEEDBACK_SUBMIT)
    entry = entry_ref(uow, entry_id)
    report = ErrorReport(user_id=actor.user_id, entry_id=entry.id, department_id=entry.department_id,
                         location=location.strip()[:200], description=_text(description, N_("Description")))
    uow.add(report)
    uow.session.flush()
    uow.emit(actor, E.ErrorReported(report_id=report.id, entry_id=entry.id, department_id=entry.department_id))
    uow.commit()
    return report


def list_error_reports(uow: UnitOfWork, actor: Actor, *, status: str | None = "open") -> list[ErrorReport]:
    """Error reports routed to the reviewer's departments."""
    require(actor, P.FEEDBACK_REPLY, department_id=next(iter(actor.departments()), None))
    query = select(ErrorReport).where(visible(actor, P.FEEDBACK_REPLY, ErrorReport))
    if status:
        query = query.where(ErrorReport.status == status)
    return list(uow.session.scalars(query.order_by(ErrorReport.id)))


def my_error_reports(uow: UnitOfWork, actor: Actor) -> list[ErrorReport]:
    require(actor, P.FEEDBACK_SUBMIT)
    query = select(ErrorReport).where(ErrorReport.user_id == actor.user_id).order_by(ErrorReport.id.desc())
    return list(uow.session.scalars(query))


def reply_error_report(uow: UnitOfWork, actor: Actor, report_id: int, *, reply: str) -> ErrorReport:
    report = uow.get(ErrorReport, report_id)
    require(actor, P.FEEDBACK_REPLY, department_id=report.department_id)
    report.reply, report.status = _text(reply, N_("Reply")), "answered"
    report.replied_by, report.replied_at = actor.user_id, utcnow()
    uow.emit(actor, E.FeedbackAnswered(kind="error_report", item_id=report.id))
    uow.commit()
    return report


def post_comment(uow: UnitOfWork, actor: Actor, *, entry_id: int, rating: int | None, body: str) -> Comment:
    """A rating and/or comment; shown after the operator's moderation."""
    require(actor, P.FEEDBACK_SUBMIT)
    entry = entry_ref(uow, entry_id)
    if rating is not None and not 1 <= rating <= 5:
        raise Invalid("A rating is 1 to 5 stars")
    body = _text(body, N_("Comment"), limit=2000, required=rating is None)
    comment = Comment(user_id=actor.user_id, entry_id=entry.id, rating=rating, body=body, status="pending")
    uow.add(comment)
    uow.session.flush()
    uow.emit(actor, E.CommentPosted(comment_id=comment.id, entry_id=entry.id, rating=rating))
    uow.commit()
    return comment


@dataclass(frozen=True)
class Ratings:
    count: int
    average: float | None


@public
def entry_comments(uow: UnitOfWork, entry_id: int) -> tuple[list[Comment], Ratings]:
    """Published comments of an entry, newest first, and its average rating."""
    comments = list(uow.session.scalars(select(Comment).where(Comment.entry_id == entry_id,
                                                              Comment.status == "approved")
                                        .order_by(Comment.id.desc())))
    count, average = uow.session.execute(select(func.count(Comment.rating), func.avg(Comment.rating)).where(
        Comment.entry_id == entry_id, Comment.status == "approved", Comment.rating.is_not(None))).one()
    return comments, Ratings(count, round(float(average), 1) if average is not None else None)


def list_pending_comments(uow: UnitOfWork, actor: Actor) -> list[Comment]:
    require(actor, P.MODERATE)
    return list(uow.session.scalars(select(Comment).where(Comment.status == "pending").order_by(Comment.id)))


def moderate_comment(uow: UnitOfWork, actor: Actor, comment_id: int, *, approve: bool) -> Comment:
    comment = uow.get(Comment, comment_id)
    require(actor, P.MODERATE)
    comment.status = "approved" if approve else "rejected"
    comment.moderated_by, comment.moderated_at = actor.user_id, utcnow()
    uow.emit(actor, E.CommentModerated(comment_id=comment.id, status=comment.status))
    uow.commit()
    return comment


def submit_app(uow: UnitOfWork, actor: Actor, *, name: str, description: str, url: str,
               entry_ids: list[int]) -> ShowcaseApp:
    """An app built on open data (应用展示), linked to the datasets it uses; shown after review."""
    require(actor, P.FEEDBACK_SUBMIT)
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise Invalid("A link must start with http:// or https://")
    ids = sorted({entry_ref(uow, i).id for i in entry_ids})
    if not ids:
        raise Invalid("Name at least one dataset the app uses")
    app = ShowcaseApp(user_id=actor.user_id, name=_text(name, N_("Name"), limit=200),
                      description=_text(description, N_("Description")), url=url[:500], entry_ids=ids)
    uow.add(app)
    uow.session.flush()
    uow.emit(actor, E.AppSubmitted(app_id=app.id, entry_ids=ids))
    uow.commit()
    return app


@public
def list_apps(uow: UnitOfWork, *, entry_id: int | None = None) -> list[ShowcaseApp]:
    """Reviewed apps, optionally those using one entry."""
    apps = uow.session.scalars(select(ShowcaseApp).where(ShowcaseApp.status == "approved")
                               .order_by(ShowcaseApp.id.desc()))
    return [a for a in apps if entry_id is None or entry_id in a.entry_ids]


def list_pending_apps(uow: UnitOfWork, actor: Actor) -> list[ShowcaseApp]:
    require(actor, P.MODERATE)
    return list(uow.session.scalars(select(ShowcaseApp).where(ShowcaseApp.status == "pending")
                                    .order_by(ShowcaseApp.id)))


def review_app(uow: UnitOfWork, actor: Actor, app_id: int, *, approve: bool, note: str = "") -> ShowcaseApp:
    app = uow.get(ShowcaseApp, app_id)
    require(actor, P.MODERATE)
    app.status = "approved" if approve else "rejected"
    app.review_note = _text(note, N_("Reason"), required=not approve)
    app.reviewed_by, app.reviewed_at = actor.user_id, utcnow()
    uow.emit(actor, E.AppReviewed(app_id=app.id, status=app.status))
    uow.commit()
    return app


# ---- statistics (views, downloads, API calls) -------------------------------------------

@public
def record_usage(uow: UnitOfWork, entry: EntryRef, kind: str) -> None:
    """Count one view, download or API call of an entry for today (an upsert, safe under concurrency)."""
    _add_usage(uow, utcnow().date(), entry, kind, 1)
    uow.commit()


def _add_usage(uow: UnitOfWork, day: date, entry: EntryRef, kind: str, n: int) -> None:
    if kind not in STAT_KINDS:
        raise ValueError(kind)
    values = {"day": day, "entry_id": entry.id, "department_id": entry.department_id, "kind": kind, "count": n}
    insert = pg_insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(UsageCount).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["day", "entry_id", "kind"],
                                      set_={"count": UsageCount.count + n})
    uow.session.execute(stmt)


@public
def record_usage_counts(uow: UnitOfWork, counts: Mapping[tuple[date, str, str], int]) -> int:
    """Add API calls and downloads counted in memory, keyed by (day, resource id, kind), in one transaction.

    Returns how many were recorded; those of a version no longer served are dropped (it has no entry left).
    """
    recorded = 0
    for (day, resource_id, kind), n in counts.items():
        try:
            entry = entry_for_resource(uow, resource_id)
        except NotFound:
            continue
        _add_usage(uow, day, entry, kind, n)
        recorded += n
    uow.commit()
    return recorded


def record_conditional_read(uow: UnitOfWork, actor: Actor, resource_id: str, *, via: str,
                            rows: int | None) -> None:
    """A read of conditional data over the API: counted for the dataset (an API call, or a download for a
    dump) and audited under the agreement it was served by, so the providing department sees who read what."""
    entry = entry_for_resource(uow, resource_id)
    grant = active_grant(uow, actor, entry.id)
    uow.emit(actor, E.ConditionalDataRead(application_id=grant.id, entry_id=entry.id, resource_id=resource_id,
                                          via=via, rows=rows))
    record_usage(uow, entry, "download" if via == "dump" else "api")  # commits the event with the count


@dataclass(frozen=True)
class UsageTotals:
    by_entry: dict[int, dict[str, int]]
    by_department: dict[int, dict[str, int]]
    totals: dict[str, int]


@public
def usage_totals(uow: UnitOfWork, *, since: date | None = None) -> UsageTotals:
    """Views, downloads and API calls by entry and by department (开放统计 is public)."""
    query = select(UsageCount.entry_id, UsageCount.department_id, UsageCount.kind, func.sum(UsageCount.count))
    if since is not None:
        query = query.where(UsageCount.day >= since)
    query = query.group_by(UsageCount.entry_id, UsageCount.department_id, UsageCount.kind)
    by_entry: dict[int, dict[str, int]] = {}
    by_dept: dict[int, dict[str, int]] = {}
    totals = dict.fromkeys(STAT_KINDS, 0)
    for entry_id, dept_id, kind, count in uow.session.execute(query):
        count = int(count or 0)
        by_entry.setdefault(entry_id, dict.fromkeys(STAT_KINDS, 0))[kind] += count
        by_dept.setdefault(dept_id, dict.fromkeys(STAT_KINDS, 0))[kind] += count
        totals[kind] += count
    return UsageTotals(by_entry, by_dept, totals)
