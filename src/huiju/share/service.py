"""Share use cases: requests and their workflow, deadlines, grants and tokens, 疑义 reports."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, update

from huiju.auth import service as auth_service
from huiju.auth.authz import allowed, public, require, visible
from huiju.auth.roles import Actor
from huiju.catalog import lineage as catalog_lineage
from huiju.catalog import service as catalog_service
from huiju.catalog.access import FieldMask, ReadScope, read_rows, stream_rows
from huiju.catalog.permissions import DATA_READ_GRANTED
from huiju.errors import Conflict, Forbidden, HuijuError, Invalid, NotFound
from huiju.i18n import N_, gettext
from huiju.security import keys, watermark
from huiju.security.masking import MASKS
from huiju.share import delivery, filters, receipts
from huiju.share.receipts import HEADER as HEADER_RECEIPT
from huiju.share import permissions as P
from huiju.share import workflow as W
from huiju.share.events import (
    DataDelivered,
    GrantChanged,
    GrantIssued,
    GrantTokenIssued,
    ObjectionReported,
    ObjectionResolved,
    ReplyOverdue,
    ReplyReminded,
    RequestMessagePosted,
    RequestStepTaken,
    RequestSubmitted,
    SubscriptionChanged,
)
from huiju.share.models import (
    Delivery,
    ExchangeCall,
    Grant,
    GrantToken,
    Objection,
    RequestLog,
    ShareRequest,
    Subscription,
)
from huiju.workdays import WorkCalendar
from huiju.share.workflow import Party, State, Step
from huiju.storage.db import utcnow
from huiju.storage.uow import UnitOfWork

DELIVERY_MODES = ("api", "download", "subscription")
GRANT_SCOPE_PREFIX = "share.grant:"


# ---- what the catalog says about an entry -------------------------------------------------

@dataclass(frozen=True)
class EntryFacts:
    """What a request needs to know of a catalog entry: who provides it, how it is shared, its fields."""

    entry_id: int
    name: str
    provider_department_id: int
    share_type: str
    dataset_key: str
    field_share_types: dict[str, str]  # column -> unconditional | conditional | none
    key_field: str | None
    field_type_codes: dict[str, str]  # column -> 指南 type letter (C N I D …)


def _entry_facts(uow: UnitOfWork, actor: Actor, entry_id: int) -> EntryFacts:
    entry = catalog_service.get_entry(uow, actor, entry_id)
    if entry.state != "published":
        raise Conflict("Catalog entry %(id)s is not published", id=entry_id)
    mounted = catalog_service.mounted_datasets(uow, actor, entry_id)
    if not mounted:
        raise Conflict("Catalog entry %(id)s has no data mounted yet", id=entry_id)
    types = {item.column: item.share_type for item in entry.items if item.column}
    key = next((item.column for item in entry.items if item.is_key and item.column), None)
    codes = {item.column: item.type_code for item in entry.items if item.column}
    return EntryFacts(entry.id, entry.name, entry.department_id, entry.share_type, mounted[0][0].key, types, key,
                      codes)


def _effective_share_type(facts: EntryFacts, fields: list[str]) -> str:
    """The strictest of the entry's and the asked fields' share types (就高从严)."""
    order = ["unconditional", "conditional", "none"]
    kinds = [facts.share_type, *(facts.field_share_types.get(f, facts.share_type) for f in fields)]
    return max(kinds, key=lambda k: order.index(k) if k in order else len(order))


def calendar(settings: Any) -> WorkCalendar:
    """The working-day calendar the settings describe."""
    return WorkCalendar.from_settings(settings)


# ---- requests -----------------------------------------------------------------------------

def _acting_department(actor: Actor, department_code: str | None, uow: UnitOfWork) -> int:
    if department_code:
        return auth_service.department_by_code(uow, department_code).id
    depts = actor.departments()
    if len(depts) == 1:
        return next(iter(depts))
    if not depts:
        raise Invalid("Requests are made on behalf of a department; say which one")
    raise Invalid("You belong to several departments; say on behalf of which one")


def submit_request(uow: UnitOfWork, actor: Actor, *, entry_id: int, purpose: str, scenario: str,
                   fields: list[str], row_filter: list[dict[str, Any]] | None = None, duration_days: int = 365,
                   delivery_mode: str = "api", department_code: str | None = None) -> ShareRequest:
    """Ask for a catalog entry's data; 无条件共享 is granted at once, the rest enter the workflow."""
    consumer = _acting_department(actor, department_code, uow)
    require(actor, P.REQUEST_CREATE, department_id=consumer)
    if actor.user_id is None:
        raise Invalid("Requests are made by a user, not by the system")
    facts = _entry_facts(uow, actor, entry_id)
    if facts.provider_department_id == consumer:
        raise Invalid("Your department provides this entry; read it directly instead of asking")
    if not purpose.strip():
        raise Invalid("State the purpose (使用用途) of the request")
    if not scenario.strip():
        raise Invalid("Describe the scenario (应用场景) the data is for")
    fields = list(dict.fromkeys(f.strip() for f in fields if f.strip()))
    if not fields:
        raise Invalid("Choose at least one field")
    unknown = [f for f in fields if f not in facts.field_share_types]
    if unknown:
        raise Invalid("Entry has no field %(fields)s", fields=", ".join(unknown))
    if delivery_mode not in DELIVERY_MODES:
        raise Invalid("Delivery mode must be api, download or subscription")
    if not 1 <= duration_days <= uow.settings.share_grant_days:
        raise Invalid("Duration must be between 1 and %(n)s days", n=uow.settings.share_grant_days)
    share_type = _effective_share_type(facts, fields)
    state = W.first_state(share_type, compliance_review=uow.settings.share_compliance_review)
    now = utcnow()
    req = ShareRequest(entry_id=facts.entry_id, entry_name=facts.name, dataset_key=facts.dataset_key,
                       share_type=share_type, requester_id=actor.user_id, consumer_department_id=consumer,
                       provider_department_id=facts.provider_department_id, state=state.value,
                       purpose=purpose.strip(), scenario=scenario.strip(), fields=fields,
                       row_filter=filters.clean(row_filter, set(facts.field_share_types)),
                       duration_days=duration_days, delivery_mode=delivery_mode, state_entered_at=now)
    _start_clock(uow, req, now)
    uow.add(req)
    uow.session.flush()
    _log(uow, actor, req, "step", step="submit", from_state=None, to_state=state.value)
    uow.emit(actor, RequestSubmitted(request_id=req.id, entry_id=req.entry_id, consumer_department_id=consumer,
                                     provider_department_id=req.provider_department_id, share_type=share_type,
                                     state=state.value, purpose=req.purpose, fields=fields))
    if state in W.GRANTED:
        req.decision = {"fields": fields, "row_filter": req.row_filter, "masks": {}, "plaintext": []}
        _issue_grant(uow, actor, req)
    uow.commit()
    return req


def _start_clock(uow: UnitOfWork, req: ShareRequest, now: datetime) -> None:
    state = State(req.state)
    req.state_entered_at = now
    req.reminded_at = None
    req.overdue_at = None
    region = _region_of(uow, req.provider_department_id)
    req.deadline_at = W.deadline_for(state, now, uow.settings, region, calendar(uow.settings))


def _region_of(uow: UnitOfWork, department_id: int) -> str:
    dept = auth_service.departments_by_id(uow, [department_id]).get(department_id)
    return dept.region_code if dept else ""


def _log(uow: UnitOfWork, actor: Actor, req: ShareRequest, kind: str, *, step: str | None = None,
         from_state: str | None = None, to_state: str | None = None, text: str | None = None) -> None:
    uow.add(RequestLog(request_id=req.id, kind=kind, step=step, from_state=from_state, to_state=to_state,
                       actor_id=actor.user_id, actor_name=actor.display_name or actor.username, text=text))


def get_request(uow: UnitOfWork, actor: Actor, request_id: int) -> ShareRequest:
    """A request the actor's department asked or received (operators: any)."""
    req = uow.session.get(ShareRequest, request_id)
    if req is None:
        require(actor, P.REQUEST_VIEW)
        raise NotFound("Share request %(id)s not found", id=request_id)
    side = req.consumer_department_id if allowed(actor, P.REQUEST_VIEW, department_id=req.consumer_department_id) \
        else req.provider_department_id
    require(actor, P.REQUEST_VIEW, department_id=side)
    return req


def list_requests(uow: UnitOfWork, actor: Actor, *, box: str = "all", state: str | None = None,
                  limit: int = 200) -> list[ShareRequest]:
    """``mine``: asked by the actor's departments; ``inbox``: addressed to them; ``all``: both (operators: every)."""
    require(actor, P.REQUEST_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(ShareRequest).where(visible(actor, P.REQUEST_VIEW, ShareRequest))
    depts = sorted(actor.departments())
    if box == "mine":
        query = query.where(ShareRequest.consumer_department_id.in_(depts))
    elif box == "inbox":
        query = query.where(ShareRequest.provider_department_id.in_(depts))
    elif box != "all":
        raise Invalid("Box must be mine, inbox or all")
    if state:
        query = query.where(ShareRequest.state == State(state).value)
    return list(uow.session.scalars(query.order_by(ShareRequest.id.desc()).limit(limit)))


def request_log(uow: UnitOfWork, actor: Actor, request_id: int) -> list[RequestLog]:
    req = get_request(uow, actor, request_id)
    return list(uow.session.scalars(select(RequestLog).where(RequestLog.request_id == req.id)
                                    .order_by(RequestLog.id)))


def party_of(actor: Actor, req: ShareRequest) -> set[Party]:
    """The sides the actor may act for on ``req`` (several for an operator)."""
    parties = set()
    if allowed(actor, P.REQUEST_CREATE, department_id=req.consumer_department_id):
        parties.add(Party.REQUESTER)
    if allowed(actor, P.REQUEST_REVIEW, department_id=req.provider_department_id):
        parties.add(Party.PROVIDER)
    if allowed(actor, P.REQUEST_RULE):
        parties.add(Party.OPERATOR)
    return parties


_STEP_ACTION = {Party.REQUESTER: P.REQUEST_CREATE, Party.PROVIDER: P.REQUEST_REVIEW, Party.OPERATOR: P.REQUEST_RULE}


def take_step(uow: UnitOfWork, actor: Actor, request_id: int, step: Step | str, *, reason: str = "",
              fields: list[str] | None = None, extra_filter: list[dict[str, Any]] | None = None,
              masks: dict[str, str] | None = None, plaintext: list[str] | None = None,
              max_calls: int | None = None, max_rows: int | None = None) -> ShareRequest:
    """Move a request one step (workflow.py decides which steps exist); approvals issue the grant."""
    req = uow.session.get(ShareRequest, request_id)
    if req is None:
        require(actor, P.REQUEST_VIEW)
        raise NotFound("Share request %(id)s not found", id=request_id)
    transition = W.check(step, req.state, reason=reason)
    dept = req.consumer_department_id if transition.party == Party.REQUESTER else req.provider_department_id
    require(actor, _STEP_ACTION[transition.party], department_id=dept)
    before = req.state
    if transition.target in W.GRANTED:
        req.decision = _decision(uow, actor, req, transition.target, fields=fields, extra_filter=extra_filter,
                                 masks=masks, plaintext=plaintext, max_calls=max_calls, max_rows=max_rows)
    elif any(v for v in (fields, extra_filter, masks, plaintext)):
        raise Invalid("Fields, filters and masks are given only when approving")
    req.state = transition.target.value
    if reason.strip():
        req.reason = reason.strip()
    _start_clock(uow, req, utcnow())
    _log(uow, actor, req, "step", step=transition.step.value, from_state=before, to_state=req.state,
         text=reason.strip() or None)
    uow.emit(actor, RequestStepTaken(request_id=req.id, step=transition.step.value, from_state=before,
                                     to_state=req.state, reason=reason.strip()))
    if transition.target in W.GRANTED:
        _issue_grant(uow, actor, req)
    uow.commit()
    return req


def _decision(uow: UnitOfWork, actor: Actor, req: ShareRequest, target: State, *, fields: list[str] | None,
              extra_filter: list[dict[str, Any]] | None, masks: dict[str, str] | None,
              plaintext: list[str] | None, max_calls: int | None, max_rows: int | None) -> dict[str, Any]:
    """What is granted: the asked fields and rows, or (in part) fewer fields, more conditions, masks."""
    granted = list(req.fields) if fields is None else list(dict.fromkeys(fields))
    if not granted or not set(granted) <= set(req.fields):
        raise Invalid("Granted fields must be some of the fields asked for")
    known = set(req.fields) | {c["field"] for c in req.row_filter}
    facts = _entry_facts(uow, actor, req.entry_id)
    known |= set(facts.field_share_types)
    row_filter = filters.narrowed(req.row_filter, filters.clean(extra_filter, known))
    masks = {k: v for k, v in (masks or {}).items() if v}
    for field, rule in masks.items():
        if field not in granted:
            raise Invalid("Mask for %(field)s, which is not granted", field=field)
        if rule not in MASKS:
            raise Invalid("Unknown mask %(name)s", name=rule)
    plaintext = list(dict.fromkeys(plaintext or []))
    if not set(plaintext) <= set(granted) or set(plaintext) & set(masks):
        raise Invalid("Plaintext rights apply to granted, unmasked fields")
    narrower = granted != list(req.fields) or row_filter != req.row_filter or bool(masks)
    if target == State.APPROVED and narrower:
        raise Invalid("Fewer fields, extra conditions or masks make this an approval in part")
    if target == State.APPROVED_IN_PART and not narrower:
        raise Invalid("An approval in part must narrow fields or rows, or mask fields")
    for limit in (max_calls, max_rows):
        if limit is not None and limit < 1:
            raise Invalid("Quotas must be positive")
    return {"fields": granted, "row_filter": row_filter, "masks": masks, "plaintext": plaintext,
            "max_calls": max_calls, "max_rows": max_rows}


def _issue_grant(uow: UnitOfWork, actor: Actor, req: ShareRequest) -> Grant:
    decision = req.decision or {}
    key = _entry_facts(uow, actor, req.entry_id).key_field
    order_field = key if key in decision["fields"] and key not in decision.get("masks", {}) else None
    grant = Grant(request_id=req.id, entry_id=req.entry_id, dataset_key=req.dataset_key,
                  consumer_department_id=req.consumer_department_id,
                  provider_department_id=req.provider_department_id, requester_id=req.requester_id,
                  purpose=req.purpose, fields=decision["fields"], row_filter=decision["row_filter"],
                  masks=decision.get("masks", {}), plaintext=decision.get("plaintext", []), state="active",
                  expires_at=utcnow() + timedelta(days=req.duration_days), max_calls=decision.get("max_calls"),
                  max_rows=decision.get("max_rows"), calls_used=0, rows_used=0, order_field=order_field)
    uow.add(grant)
    uow.session.flush()
    keys.signing_key(uow, keys.SHARE_RECEIPT)  # created with the first grant, so deliveries only read it
    uow.emit(actor, GrantIssued(grant_id=grant.id, request_id=req.id, dataset_key=grant.dataset_key,
                                fields=grant.fields, masks=grant.masks, expires_at=grant.expires_at.isoformat()))
    return grant


def post_message(uow: UnitOfWork, actor: Actor, request_id: int, text: str) -> RequestLog:
    """A message in the request's thread (negotiation, questions, answers)."""
    req = get_request(uow, actor, request_id)
    if not text.strip():
        raise Invalid("The message is empty")
    if not party_of(actor, req):
        raise Forbidden("Only the two departments and the operator take part in the thread")
    _log(uow, actor, req, "message", text=text.strip()[:4000])
    uow.emit(actor, RequestMessagePosted(request_id=req.id))
    uow.commit()
    return uow.session.scalars(select(RequestLog).where(RequestLog.request_id == req.id)
                               .order_by(RequestLog.id.desc()).limit(1)).one()


# ---- reply deadlines ----------------------------------------------------------------------

@dataclass
class DeadlineReport:
    reminded: list[int]
    overdue: list[int]


def check_deadlines(uow: UnitOfWork, actor: Actor, now: datetime | None = None) -> DeadlineReport:
    """Remind reviewers ahead of their deadline and escalate overdue requests to the operator (run periodically)."""
    require(actor, P.DEADLINE_CHECK)
    now = now or utcnow()
    cal = calendar(uow.settings)
    report = DeadlineReport([], [])
    clocked = [s.value for s in W.CLOCKED]
    rows = uow.session.scalars(select(ShareRequest).where(ShareRequest.state.in_(clocked),
                                                          ShareRequest.deadline_at.is_not(None),
                                                          ShareRequest.overdue_at.is_(None))
                               .order_by(ShareRequest.id)).all()
    for req in rows:
        assert req.deadline_at is not None
        if now >= req.deadline_at:
            req.overdue_at = now
            _log(uow, actor, req, "overdue", from_state=req.state, text=req.deadline_at.isoformat())
            uow.emit(actor, ReplyOverdue(request_id=req.id, state=req.state, deadline=req.deadline_at.isoformat()))
            report.overdue.append(req.id)
            continue
        clock = W.clock_for(State(req.state), uow.settings, _region_of(uow, req.provider_department_id))
        if req.reminded_at is None and clock is not None and now >= W.remind_at(req.deadline_at, clock, cal):
            req.reminded_at = now
            _log(uow, actor, req, "reminder", from_state=req.state, text=req.deadline_at.isoformat())
            uow.emit(actor, ReplyReminded(request_id=req.id, state=req.state, deadline=req.deadline_at.isoformat()))
            report.reminded.append(req.id)
    uow.commit()
    return report


def workdays_left(uow: UnitOfWork, actor: Actor, request_id: int, now: datetime | None = None) -> int | None:
    """Working days until the current reply deadline (negative once past), None when no clock runs."""
    req = get_request(uow, actor, request_id)
    if req.deadline_at is None or State(req.state) not in W.CLOCKED:
        return None
    return calendar(uow.settings).workdays_left(now or utcnow(), req.deadline_at)


def overdue_by_department(uow: UnitOfWork, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per providing department: requests waiting, overdue now, and reminded (the operator's overview)."""
    require(actor, P.OVERVIEW)
    now = now or utcnow()
    clocked = [s.value for s in W.CLOCKED]
    rows = uow.session.execute(
        select(ShareRequest.provider_department_id, func.count(ShareRequest.id),
               func.sum(case((ShareRequest.deadline_at <= now, 1), else_=0)))
        .where(ShareRequest.state.in_(clocked))
        .group_by(ShareRequest.provider_department_id)).all()
    depts = auth_service.departments_by_id(uow, [r[0] for r in rows])
    found = [{"department_id": r[0], "code": depts[r[0]].code, "name": depts[r[0]].name, "waiting": r[1],
              "overdue": int(r[2] or 0)} for r in rows if r[0] in depts]
    return sorted(found, key=lambda d: d["code"])


# ---- grants -------------------------------------------------------------------------------

def get_grant(uow: UnitOfWork, actor: Actor, grant_id: int) -> Grant:
    grant = uow.session.get(Grant, grant_id)
    if grant is None:
        require(actor, P.GRANT_VIEW)
        raise NotFound("Grant %(id)s not found", id=grant_id)
    side = grant.consumer_department_id if allowed(actor, P.GRANT_VIEW, department_id=grant.consumer_department_id) \
        else grant.provider_department_id
    require(actor, P.GRANT_VIEW, department_id=side)
    return grant


def grant_for_request(uow: UnitOfWork, actor: Actor, request_id: int) -> Grant | None:
    req = get_request(uow, actor, request_id)
    return uow.session.scalar(select(Grant).where(Grant.request_id == req.id))


def list_grants(uow: UnitOfWork, actor: Actor, *, side: str = "all") -> list[Grant]:
    require(actor, P.GRANT_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(Grant).where(visible(actor, P.GRANT_VIEW, Grant))
    depts = sorted(actor.departments())
    if side == "received":
        query = query.where(Grant.consumer_department_id.in_(depts))
    elif side == "given":
        query = query.where(Grant.provider_department_id.in_(depts))
    return list(uow.session.scalars(query.order_by(Grant.id.desc())))


def _managed_grant(uow: UnitOfWork, actor: Actor, grant_id: int) -> Grant:
    grant = get_grant(uow, actor, grant_id)
    require(actor, P.GRANT_MANAGE, department_id=grant.provider_department_id)
    return grant


def renew_grant(uow: UnitOfWork, actor: Actor, grant_id: int, *, days: int, reason: str = "") -> Grant:
    """Extend a grant to ``days`` from now (within the longest lifetime allowed)."""
    grant = _managed_grant(uow, actor, grant_id)
    require(actor, P.GRANT_MANAGE, department_id=grant.provider_department_id)
    if grant.state == "revoked":
        raise Conflict("A revoked grant cannot be renewed; ask again")
    if not 1 <= days <= uow.settings.share_grant_days:
        raise Invalid("Duration must be between 1 and %(n)s days", n=uow.settings.share_grant_days)
    grant.expires_at = utcnow() + timedelta(days=days)
    return _changed(uow, actor, grant, "renewed", reason)


def suspend_grant(uow: UnitOfWork, actor: Actor, grant_id: int, *, reason: str) -> Grant:
    grant = _managed_grant(uow, actor, grant_id)
    require(actor, P.GRANT_MANAGE, department_id=grant.provider_department_id)
    if grant.state != "active":
        raise Conflict("Only an active grant can be suspended")
    if not reason.strip():
        raise Invalid("Give a reason for this decision")
    grant.state = "suspended"
    return _changed(uow, actor, grant, "suspended", reason)


def resume_grant(uow: UnitOfWork, actor: Actor, grant_id: int, *, reason: str = "") -> Grant:
    grant = _managed_grant(uow, actor, grant_id)
    require(actor, P.GRANT_MANAGE, department_id=grant.provider_department_id)
    if grant.state != "suspended":
        raise Conflict("Only a suspended grant can be resumed")
    grant.state = "active"
    return _changed(uow, actor, grant, "resumed", reason)


def revoke_grant(uow: UnitOfWork, actor: Actor, grant_id: int, *, reason: str) -> Grant:
    """End a grant for good; its tokens are revoked with it."""
    grant = _managed_grant(uow, actor, grant_id)
    require(actor, P.GRANT_MANAGE, department_id=grant.provider_department_id)
    if grant.state == "revoked":
        raise Conflict("The grant is already revoked")
    if not reason.strip():
        raise Invalid("Give a reason for this decision")
    grant.state = "revoked"
    token_ids = uow.session.scalars(select(GrantToken.token_id).where(GrantToken.grant_id == grant.id)).all()
    _changed(uow, actor, grant, "revoked", reason)
    for token_id in token_ids:  # a consequence of the revocation the provider was allowed to make
        auth_service.revoke_token(uow, Actor.system("share"), token_id)
    return grant


def _changed(uow: UnitOfWork, actor: Actor, grant: Grant, change: str, reason: str) -> Grant:
    grant.state_reason = reason.strip() or None
    uow.emit(actor, GrantChanged(grant_id=grant.id, change=change, reason=reason.strip(),
                                 expires_at=grant.expires_at.isoformat()))
    uow.commit()
    return grant


def issue_grant_token(uow: UnitOfWork, actor: Actor, grant_id: int, *, name: str = "",
                      days: int | None = None) -> auth_service.IssuedToken:
    """An API token that reads this grant only, expiring no later than the grant."""
    grant = get_grant(uow, actor, grant_id)
    require(actor, P.GRANT_TOKEN, department_id=grant.consumer_department_id)
    if grant.status(utcnow()) not in ("active", "exhausted"):
        raise Conflict("Grant %(id)s is %(status)s", id=grant.id, status=grant.status(utcnow()))
    remaining = max(1, (grant.expires_at - utcnow()).days)
    days = min(days or remaining, remaining)
    owner = actor.user_id if actor.user_id is not None else grant.requester_id
    issued = auth_service.create_token(uow, actor, name=name or f"share grant {grant.id}",
                                       scopes=[P.DATA_READ.name, DATA_READ_GRANTED.name,
                                               f"{GRANT_SCOPE_PREFIX}{grant.id}"],
                                       user_id=owner, days=days)
    issued.token.expires_at = min(issued.token.expires_at, grant.expires_at)
    uow.add(GrantToken(grant_id=grant.id, token_id=issued.token.id))
    uow.emit(actor, GrantTokenIssued(grant_id=grant.id, token_id=issued.token.id))
    uow.commit()
    return issued


def usable_grant(uow: UnitOfWork, actor: Actor, grant_id: int) -> Grant:
    """The grant ``actor`` may receive data under now, or the reason why not (used by every delivery)."""
    grant = uow.session.get(Grant, grant_id)
    if grant is None:
        require(actor, P.DATA_READ)
        raise NotFound("Grant %(id)s not found", id=grant_id)
    require(actor, P.DATA_READ, department_id=grant.consumer_department_id)
    if actor.scopes is not None and "*" not in actor.scopes and \
            f"{GRANT_SCOPE_PREFIX}{grant.id}" not in actor.scopes:
        raise Forbidden("This token is not for grant %(id)s", id=grant.id)
    status = grant.status(utcnow())
    if status != "active":
        raise Forbidden("Grant %(id)s is %(status)s", id=grant.id, status=status)
    return grant


# ---- 疑义纠错 -------------------------------------------------------------------------------

OBJECTION_OUTCOMES = ("corrected", "confirmed_correct", "rejected")


def report_objection(uow: UnitOfWork, actor: Actor, grant_id: int, *, record_key: str, field: str,
                     reported_value: str | None, suggested_value: str | None, note: str) -> Objection:
    """A using department flags a delivered value as wrong; the providing department gets a correction task."""
    grant = get_grant(uow, actor, grant_id)
    require(actor, P.OBJECTION_REPORT, department_id=grant.consumer_department_id)
    if field not in grant.fields:
        raise Invalid("Field %(field)s is not part of the grant", field=field)
    if not record_key.strip() or not note.strip():
        raise Invalid("Say which record and why the value is believed wrong")
    if actor.user_id is None:
        raise Invalid("Reports are made by a user, not by the system")
    obj = Objection(grant_id=grant.id, dataset_key=grant.dataset_key,
                    consumer_department_id=grant.consumer_department_id,
                    provider_department_id=grant.provider_department_id, reporter_id=actor.user_id,
                    record_key=record_key.strip()[:200], field=field, reported_value=reported_value,
                    suggested_value=suggested_value, note=note.strip(), status="open")
    uow.add(obj)
    uow.session.flush()
    uow.emit(actor, ObjectionReported(objection_id=obj.id, grant_id=grant.id, field=field))
    uow.commit()
    return obj


OBJECTION_BOXES = ("all", "inbox", "mine")


def list_objections(uow: UnitOfWork, actor: Actor, *, status: str | None = "open", box: str = "all",
                    grant_id: int | None = None) -> list[Objection]:
    """疑义 reports the actor may see; ``box`` ``inbox``: on our data (our correction tasks), ``mine``: ours."""
    require(actor, P.GRANT_VIEW, department_id=next(iter(actor.departments()), None))
    if box not in OBJECTION_BOXES:
        raise Invalid("Box must be all, inbox or mine")
    query = select(Objection).where(visible(actor, P.GRANT_VIEW, Objection))
    if status:
        query = query.where(Objection.status == status)
    if box != "all":
        column = Objection.provider_department_id if box == "inbox" else Objection.consumer_department_id
        query = query.where(column.in_(actor.departments()))
    if grant_id is not None:
        query = query.where(Objection.grant_id == grant_id)
    return list(uow.session.scalars(query.order_by(Objection.id.desc())))


def resolve_objection(uow: UnitOfWork, actor: Actor, objection_id: int, *, outcome: str, note: str) -> Objection:
    """The providing department records what it found: corrected, confirmed correct, or rejected."""
    obj = uow.get(Objection, objection_id)
    require(actor, P.OBJECTION_RESOLVE, department_id=obj.provider_department_id)
    if obj.status != "open":
        raise Conflict("This report is already closed")
    if outcome not in OBJECTION_OUTCOMES:
        raise Invalid("Outcome must be corrected, confirmed_correct or rejected")
    if not note.strip():
        raise Invalid("Give a reason for this decision")
    obj.status, obj.outcome_note, obj.resolved_by, obj.resolved_at = outcome, note.strip(), actor.user_id, utcnow()
    uow.emit(actor, ObjectionResolved(objection_id=obj.id, outcome=outcome))
    uow.commit()
    return obj


# ---- delivery (every row through catalog.access.read_rows) --------------------------------

def read_scope(grant: Grant, *, watermark: bool) -> ReadScope:
    """The grant as the egress's ReadScope: fields, row filter, masks, plaintext rights, watermark recipient."""
    return ReadScope(fields=frozenset(grant.fields), row_filter=filters.conditions(grant.row_filter),
                     masks={f: FieldMask(m) for f, m in grant.masks.items()}, plaintext=frozenset(grant.plaintext),
                     watermark=grant.recipient if watermark else None, grant_id=str(grant.id))


@dataclass
class Delivered:
    """A delivery's body with its receipt; ``next_after`` continues a keyset-paged read."""

    body: bytes
    media_type: str
    receipt: receipts.Receipt
    rows: int
    version: int
    next_after: list[Any] | None


MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "parquet": "application/vnd.apache.parquet"}


def deliver_rows(uow: UnitOfWork, actor: Actor, grant_id: int, *, fmt: str = "json", fields: list[str] | None = None,
                 where: list[dict[str, Any]] | None = None, after: list[Any] | None = None, limit: int = 1000,
                 request: dict[str, Any] | None = None) -> Delivered:
    """One page of a grant's rows as JSON, CSV or Parquet, logged and signed (the REST API's use case)."""
    grant = usable_grant(uow, actor, grant_id)
    require(actor, P.DATA_READ, department_id=grant.consumer_department_id)
    if fmt not in MEDIA_TYPES:
        raise Invalid("Format must be json, csv or parquet")
    if not 1 <= limit <= uow.settings.share_page_max:
        raise Invalid("Limit must be between 1 and %(n)s", n=uow.settings.share_page_max)
    description = _describe(actor, grant, fmt, request)
    try:
        if grant.max_rows is not None:
            limit = max(1, min(limit, grant.max_rows - grant.rows_used))
        user_filters = filters.conditions(filters.clean(where, set(grant.fields)))
        order = [grant.order_field] if grant.order_field and (fields is None or grant.order_field in fields) else None
        result = read_rows(uow, actor, grant.dataset_key, purpose=grant.purpose, fields=fields, filters=user_filters,
                           scope=read_scope(grant, watermark=False), order_by=order, after=after, limit=limit,
                           commit=False)
        body = delivery.encode(result.table, fmt, grant=grant.id, dataset=grant.dataset_key, version=result.version,
                               next_after=result.next_after)
    except HuijuError as exc:
        _failed_call(uow, actor, grant, fmt, description, exc)
        raise
    receipt = _record_call(uow, actor, grant, fmt, description, body, result.fields, result.rows)
    return Delivered(body, MEDIA_TYPES[fmt], receipt, result.rows, result.version,
                     list(result.next_after) if result.next_after is not None else None)


def download_grant(uow: UnitOfWork, actor: Actor, grant_id: int, *, fmt: str = "csv",
                   request: dict[str, Any] | None = None) -> Delivered:
    """The whole current version under the grant as one file, watermarked for the recipient (批量下载)."""
    grant = usable_grant(uow, actor, grant_id)
    require(actor, P.DATA_READ, department_id=grant.consumer_department_id)
    if fmt not in ("csv", "parquet"):
        raise Invalid("Downloads are csv or parquet")
    description = _describe(actor, grant, f"download-{fmt}", request)
    try:
        with stream_rows(uow, actor, grant.dataset_key, purpose=grant.purpose,
                         scope=read_scope(grant, watermark=True),
                         order_by=[grant.order_field] if grant.order_field else None) as stream:
            body, rows = delivery.encode_stream(stream, fmt, max_rows=None if grant.max_rows is None
                                                else grant.max_rows - grant.rows_used)
            fields, version = stream.fields, stream.version
    except HuijuError as exc:
        _failed_call(uow, actor, grant, "download", description, exc)
        raise
    receipt = _record_call(uow, actor, grant, "download", description, body, fields, rows)
    return Delivered(body, MEDIA_TYPES[fmt], receipt, rows, version, None)


def _describe(actor: Actor, grant: Grant, channel: str, request: dict[str, Any] | None) -> dict[str, Any]:
    return {"grant": grant.id, "client_department": grant.consumer_department_id, "user": actor.user_id,
            "purpose": grant.purpose, "channel": channel, "request": request or {},
            "at": utcnow().isoformat(timespec="microseconds")}


_CALLS = ExchangeCall.__table__
_GRANTS = Grant.__table__


def _record_call(uow: UnitOfWork, actor: Actor, grant: Grant, channel: str, description: dict[str, Any],
                 body: bytes, fields: list[str], rows: int) -> receipts.Receipt:
    """Sign the receipt, then log the call, count it against the quotas and audit it (with the read's own
    events), committed before the response leaves.

    The commit is grouped (storage.group_commit): calls finishing at the same time share one transaction, which
    starts by writing (SQLite cannot turn a reader into a writer once another connection has committed).
    """
    grant_id, consumer, purpose = grant.id, grant.consumer_department_id, grant.purpose
    fingerprint, private = _receipt_key(uow)
    req_hash = receipts.request_hash(description)
    signed = receipts.sign(private, fingerprint, call_id=0, grant_id=grant_id, req_hash=req_hash, body=body,
                           time=utcnow().isoformat(timespec="microseconds"))

    def write(into: UnitOfWork) -> int:
        # Core statements on the tables: the ORM's bulk paths cost ~0.3 ms a call here, serialised under the GIL
        call_id = into.session.execute(insert(_CALLS).returning(_CALLS.c.id), {
            "grant_id": grant_id, "consumer_department_id": consumer, "user_id": actor.user_id, "purpose": purpose,
            "channel": channel, "fields": list(fields), "rows": rows, "bytes": len(body), "status": 200,
            "request_hash": req_hash, "response_hash": signed.response_hash, "signature": signed.signature,
            "key_fingerprint": fingerprint, "created_at": datetime.fromisoformat(signed.time)}).scalar_one()
        into.session.execute(update(_GRANTS).where(_GRANTS.c.id == grant_id)
                             .values(calls_used=_GRANTS.c.calls_used + 1, rows_used=_GRANTS.c.rows_used + rows))
        into.emit(actor, DataDelivered(grant_id=grant_id, call_id=call_id, channel=channel, rows=rows,
                                       bytes=len(body), response_hash=signed.response_hash))
        return call_id

    call_id = uow.commit_grouped(write)
    return dataclasses.replace(signed, call_id=call_id)


_SIGNER_TTL_S = 60.0
_signers: dict[str, tuple[float, str, str]] = {}
_signers_lock = threading.Lock()


def _receipt_key(uow: UnitOfWork) -> tuple[str, str]:
    """(fingerprint, private key) of the receipt-signing key, unwrapped at most once a minute per database.

    A rotated key is picked up within the minute; receipts signed by the old one still verify with its public key.
    """
    now = time.monotonic()
    url = uow.settings.db_url
    with _signers_lock:
        cached = _signers.get(url)
        if cached is not None and now - cached[0] < _SIGNER_TTL_S:
            return cached[1], cached[2]
    key_row, private = keys.signing_key(uow, keys.SHARE_RECEIPT)
    fingerprint = keys.fingerprint(key_row.public_key_hex)
    with _signers_lock:
        _signers[url] = (now, fingerprint, private)
    return fingerprint, private


def _failed_call(uow: UnitOfWork, actor: Actor, grant: Grant, channel: str, description: dict[str, Any],
                 exc: HuijuError) -> None:
    """Refused and failed calls are evidence too."""
    grant_id, consumer, purpose = grant.id, grant.consumer_department_id, grant.purpose
    uow.rollback()
    uow.add(ExchangeCall(grant_id=grant_id, consumer_department_id=consumer,
                         user_id=actor.user_id, purpose=purpose, channel=channel, fields=[], rows=0, bytes=0,
                         status=exc.status, request_hash=receipts.request_hash(description),
                         error=exc.localized()[:1000]))
    uow.commit()


def grant_field_types(uow: UnitOfWork, actor: Actor, grant_id: int) -> dict[str, str]:
    """The 指南 type letter of each granted field (for the grant's OpenAPI document)."""
    grant = get_grant(uow, actor, grant_id)
    codes = _entry_facts(uow, actor, grant.entry_id).field_type_codes
    return {f: codes.get(f, "C") for f in grant.fields}


def list_calls(uow: UnitOfWork, actor: Actor, grant_id: int, *, limit: int = 200) -> list[ExchangeCall]:
    grant = get_grant(uow, actor, grant_id)
    return list(uow.session.scalars(select(ExchangeCall).where(ExchangeCall.grant_id == grant.id)
                                    .order_by(ExchangeCall.id.desc()).limit(limit)))


def call_receipt(uow: UnitOfWork, actor: Actor, call_id: int) -> receipts.Receipt:
    """The receipt of a past call (for callers that streamed the body)."""
    call = uow.get(ExchangeCall, call_id)
    get_grant(uow, actor, call.grant_id)
    if call.signature is None or call.response_hash is None or call.key_fingerprint is None:
        raise NotFound("Call %(id)s has no receipt (it failed)", id=call_id)
    when = call.created_at.isoformat(timespec="microseconds")
    return receipts.Receipt(call.id, call.grant_id, call.request_hash, call.response_hash, when, call.signature,
                            call.key_fingerprint)


def usage_by_day(uow: UnitOfWork, actor: Actor, grant_id: int, *, days: int = 30) -> list[dict[str, Any]]:
    """Calls and rows per day for the grant page's usage chart."""
    grant = get_grant(uow, actor, grant_id)
    since = utcnow() - timedelta(days=days)
    calls = uow.session.execute(select(ExchangeCall.created_at, ExchangeCall.rows, ExchangeCall.status)
                                .where(ExchangeCall.grant_id == grant.id, ExchangeCall.created_at >= since)).all()
    per_day: dict[str, dict[str, int]] = {}
    for created, rows, status in calls:
        day = per_day.setdefault(created.date().isoformat(), {"calls": 0, "rows": 0, "refused": 0})
        day["calls"] += 1
        day["rows"] += rows
        day["refused"] += 1 if status >= 400 else 0
    return [{"day": d, **v} for d, v in sorted(per_day.items())]


@public
def receipt_public_keys(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The platform's receipt-signing public keys (public by design: anyone verifies receipts offline)."""
    return [k for k in keys.public_key_records(uow) if k["purpose"] == keys.SHARE_RECEIPT]


# ---- leak attribution ---------------------------------------------------------------------

_PSEUDONYM = re.compile(r"\b[0-9a-f]{64}\b")


def trace_leak(uow: UnitOfWork, actor: Actor, content: bytes, filename: str = "") -> list[dict[str, Any]]:
    """Which grants a leaked extract came from: recipient watermarks, then per-grant pseudonyms.

    Works on any subset of rows and columns in any order: one watermarked value or a few pseudonyms suffice.
    """
    require(actor, P.TRACE)
    text = delivery.text_of(content, filename)
    hits: dict[int, dict[str, Any]] = {}
    codes = set(watermark.find_codes(text))
    grants = list(uow.session.scalars(select(Grant).order_by(Grant.id)))
    if codes:
        _version, wkey = keys.data_key(uow, watermark.WATERMARK_PURPOSE)
        for grant in grants:
            if watermark.recipient_code(wkey, grant.recipient) in codes:
                hits[grant.id] = _hit(uow, grant, N_("recipient watermark"))
    found = set(_PSEUDONYM.findall(text))
    for grant in grants:
        pseudo = [f for f, m in grant.masks.items() if m == "PSEUDONYM"]
        if not found or not pseudo or grant.id in hits:
            continue
        with stream_rows(uow, actor, grant.dataset_key, purpose="leak attribution (泄露溯源)", fields=pseudo,
                         scope=read_scope(grant, watermark=False)) as stream:
            for batch in stream:
                if any(v in found for col in batch.columns for v in col.to_pylist()):
                    hits[grant.id] = _hit(uow, grant, N_("per-grant pseudonyms"))
                    break
    return list(hits.values())


def _hit(uow: UnitOfWork, grant: Grant, how: str) -> dict[str, Any]:
    dept = auth_service.departments_by_id(uow, [grant.consumer_department_id]).get(grant.consumer_department_id)
    return {"grant": grant.id, "dept": dept.name if dept else grant.consumer_department_id,
            "purpose": grant.purpose, "how": gettext(how)}


# ---- subscriptions: push each new version, or pull the changes since version N ---------------

def subscribe(uow: UnitOfWork, actor: Actor, grant_id: int, *, mode: str, webhook_url: str | None = None,
              since_version: int | None = None) -> Subscription:
    """Subscribe to a grant's new versions: ``push`` to a webhook, or ``pull`` (changes since N)."""
    grant = usable_grant(uow, actor, grant_id)
    require(actor, P.DATA_READ, department_id=grant.consumer_department_id)
    if mode not in ("push", "pull"):
        raise Invalid("Subscription mode must be push or pull")
    if mode == "push" and not (webhook_url or "").startswith(("https://", "http://")):
        raise Invalid("A push subscription needs an http(s) webhook URL")
    current = _current_version_number(uow, actor, grant)
    sub = Subscription(grant_id=grant.id, mode=mode, webhook_url=webhook_url if mode == "push" else None,
                       delivered_version=current if since_version is None else since_version, state="active")
    uow.add(sub)
    uow.session.flush()
    uow.emit(actor, SubscriptionChanged(subscription_id=sub.id, grant_id=grant.id, change=f"created:{mode}"))
    uow.commit()
    return sub


def _current_version_number(uow: UnitOfWork, actor: Actor, grant: Grant) -> int:
    """The number of the version the grant's dataset serves now (0 if none)."""
    for ds, versions in catalog_service.mounted_datasets(uow, actor, grant.entry_id):
        if ds.key == grant.dataset_key:
            return next((v.number for v in versions if v.id == ds.current_version_id), 0)
    return 0


def changes_since(uow: UnitOfWork, actor: Actor, grant_id: int, since: int, *,
                  request: dict[str, Any] | None = None, channel: str = "changes") -> Delivered:
    """Rows of the current version that are new or changed since version ``since`` (and removed keys), signed."""
    grant = usable_grant(uow, actor, grant_id)
    require(actor, P.DATA_READ, department_id=grant.consumer_department_id)
    description = _describe(actor, grant, channel, {**(request or {}), "since": since})
    try:
        current = _current_version_number(uow, actor, grant)
        scope = read_scope(grant, watermark=False)
        limit = uow.settings.share_page_max
        new = read_rows(uow, actor, grant.dataset_key, purpose=grant.purpose, scope=scope, limit=limit + 1,
                        commit=False)
        changed, removed = new.table, []
        if 0 < since < current:
            old = read_rows(uow, actor, grant.dataset_key, purpose=grant.purpose, scope=scope, version=since,
                            limit=limit + 1, commit=False).table
            changed = delivery.anti_join(new.table, old, new.table.column_names)
            if grant.order_field and grant.order_field in new.table.column_names:
                removed = delivery.anti_join(old.select([grant.order_field]), new.table.select([grant.order_field]),
                                             [grant.order_field]).column(0).to_pylist()
        elif since >= current:
            changed = new.table.slice(0, 0)
        if changed.num_rows > limit:
            raise Invalid("More than %(n)s rows changed; download the version instead", n=limit)
        body = delivery.changes_body(changed, grant=grant.id, dataset=grant.dataset_key, since=since,
                                     version=current, removed=removed, key=grant.order_field)
    except HuijuError as exc:
        _failed_call(uow, actor, grant, channel, description, exc)
        raise
    receipt = _record_call(uow, actor, grant, channel, description, body, list(changed.column_names),
                           changed.num_rows)
    return Delivered(body, MEDIA_TYPES["json"], receipt, changed.num_rows, current, None)


@dataclass
class PushReport:
    delivered: list[int]
    retrying: list[int]
    failed: list[int]


def push_subscriptions(uow: UnitOfWork, actor: Actor, now: datetime | None = None,
                       post: Any = None) -> PushReport:
    """Queue a push for each new version and send due pushes, retrying with backoff (run periodically)."""
    require(actor, P.DEADLINE_CHECK)
    now = now or utcnow()
    report = PushReport([], [], [])
    for sub in uow.session.scalars(select(Subscription).where(Subscription.mode == "push",
                                                              Subscription.state == "active")).all():
        grant = uow.session.get(Grant, sub.grant_id)
        if grant is None or grant.status(now) != "active":
            continue
        current = _current_version_number(uow, actor, grant)
        pending = uow.session.scalar(select(func.count(Delivery.id)).where(
            Delivery.subscription_id == sub.id, Delivery.status == "pending"))
        if current > sub.delivered_version and not pending:
            uow.add(Delivery(subscription_id=sub.id, version=current, status="pending", attempts=0,
                             next_attempt_at=now))
    uow.commit()
    post = post or delivery.post_json
    due = uow.session.scalars(select(Delivery).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                              .order_by(Delivery.id)).all()
    for push in due:
        sub = uow.get(Subscription, push.subscription_id)
        grant = uow.get(Grant, sub.grant_id)
        try:
            sent = changes_since(uow, actor, grant.id, sub.delivered_version, channel="push",
                                 request={"webhook": sub.webhook_url})
            post(sub.webhook_url, sent.body, {HEADER_RECEIPT: sent.receipt.header()})
        except Exception as exc:  # noqa: BLE001 - any failure of the consumer's endpoint is retried
            push = uow.get(Delivery, push.id)
            push.attempts += 1
            push.last_error = str(exc)[:1000]
            if push.attempts > uow.settings.share_webhook_retries:
                push.status = "failed"
                report.failed.append(push.id)
            else:
                push.next_attempt_at = now + timedelta(minutes=2 ** (push.attempts - 1))
                report.retrying.append(push.id)
            uow.commit()
            continue
        push = uow.get(Delivery, push.id)
        sub = uow.get(Subscription, push.subscription_id)
        push.attempts += 1
        push.status, push.delivered_at = "delivered", now
        sub.delivered_version = push.version
        uow.commit()
        report.delivered.append(push.id)
    return report


GRANT_STATES = {"active": N_("active"), "suspended": N_("suspended"), "revoked": N_("revoked"),
                "expired": N_("expired"), "exhausted": N_("quota used up")}


@catalog_lineage.contribute_egress
def entry_grants_lineage(uow: UnitOfWork, actor: Actor, entry_id: int) -> list[tuple[str, str]]:
    """The grants on an entry, for its lineage drawing: shown to whoever may see the provider's grants."""
    grants = list(uow.session.scalars(select(Grant).where(Grant.entry_id == entry_id).order_by(Grant.id)))
    if not grants:
        return []
    try:
        require(actor, P.GRANT_VIEW, department_id=grants[0].provider_department_id)
    except Forbidden:  # the entry is visible, its grants are the provider's business: draw none
        return []
    consumers = auth_service.departments_by_id(uow, {g.consumer_department_id for g in grants})
    names = {i: d.name for i, d in consumers.items()}
    now = utcnow()
    return [(gettext("Shared with %(dept)s") % {"dept": names.get(g.consumer_department_id, "?")},
             gettext("Grant %(id)s: %(fields)s (%(state)s)") % {"id": g.id, "fields": "、".join(g.fields[:4]),
                                                                 "state": gettext(GRANT_STATES[g.status(now)])})
            for g in grants[:8]]

