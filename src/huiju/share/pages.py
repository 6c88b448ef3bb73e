"""HTML pages of sharing: apply for an entry, my requests, the department inbox with SLA countdowns, a request's
thread and decision, the grant page with its usage chart and 疑义 reports, the correction tasks (疑义纠错) of a
providing department, and the operator's overview of overdue requests."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from huiju.auth.authz import allowed
from huiju.catalog import service as catalog_service
from huiju.security.masking import MASKS
from huiju.share import permissions as P
from huiju.share import service
from huiju.share.filters import describe
from huiju.share.workflow import OBJECTION_LABELS, STATE_LABELS, Party, State, steps_from
from huiju.storage.db import utcnow
from huiju.web.deps import ActorDep, CsrfDep, UowDep
from huiju.web.rendering import render, require_login

router = APIRouter(include_in_schema=False)


def _ctx() -> dict[str, Any]:
    return {"state_label": lambda s: STATE_LABELS[State(s)], "describe": describe,
            "objection_label": lambda s: OBJECTION_LABELS.get(s, s)}



@router.get("/share/apply/{entry_id}", response_class=HTMLResponse)
def apply_form(request: Request, entry_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    entry = catalog_service.get_entry(uow, actor, entry_id)
    return render(request, actor, "share/apply.html", entry=entry, **_ctx())


@router.post("/share/apply/{entry_id}", dependencies=[CsrfDep])
async def apply(request: Request, entry_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    form = await request.form()
    where = []
    if str(form.get("filter_field") or "") and str(form.get("filter_value") or ""):
        where = [{"field": str(form["filter_field"]), "op": str(form.get("filter_op") or "="),
                  "value": str(form["filter_value"])}]
    req = service.submit_request(uow, actor, entry_id=entry_id, purpose=str(form.get("purpose") or ""),
                                 scenario=str(form.get("scenario") or ""),
                                 fields=[str(f) for f in form.getlist("fields")], row_filter=where,
                                 duration_days=int(str(form.get("days") or "365")),
                                 delivery_mode=str(form.get("mode") or "api"))
    return RedirectResponse(f"/share/requests/{req.id}", status_code=303)


@router.get("/share/requests", response_class=HTMLResponse)
def requests(request: Request, uow: UowDep, actor: ActorDep, box: str = "mine") -> Response:
    require_login(actor)
    rows = [(r, service.workdays_left(uow, actor, r.id)) for r in service.list_requests(uow, actor, box=box)]
    return render(request, actor, "share/requests.html", rows=rows, box=box, **_ctx())


@router.get("/share/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    req = service.get_request(uow, actor, request_id)
    parties = service.party_of(actor, req)
    steps = {p.value: steps_from(req.state, p) for p in (Party.REQUESTER, Party.PROVIDER, Party.OPERATOR)
             if p in parties}
    return render(request, actor, "share/request.html", req=req, log=service.request_log(uow, actor, request_id),
                  left=service.workdays_left(uow, actor, request_id), steps=steps,
                  grant=service.grant_for_request(uow, actor, request_id), masks=sorted(MASKS), **_ctx())


@router.post("/share/requests/{request_id}/step", dependencies=[CsrfDep])
async def step(request: Request, request_id: int, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    form = await request.form()
    name = str(form.get("step") or "")
    kwargs: dict[str, Any] = {}
    if name in ("approve_in_part", "rule_approve_in_part"):
        kwargs["fields"] = [str(f) for f in form.getlist("fields")] or None
        kwargs["masks"] = {k.removeprefix("mask."): str(v) for k, v in form.multi_items()
                           if k.startswith("mask.") and v} or None
    service.take_step(uow, actor, request_id, name, reason=str(form.get("reason") or ""), **kwargs)
    return RedirectResponse(f"/share/requests/{request_id}", status_code=303)


@router.post("/share/requests/{request_id}/message", dependencies=[CsrfDep])
def message(request: Request, request_id: int, uow: UowDep, actor: ActorDep,
            text: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.post_message(uow, actor, request_id, text)
    return RedirectResponse(f"/share/requests/{request_id}", status_code=303)


@router.get("/share/grants/{grant_id}", response_class=HTMLResponse)
def grant_page(request: Request, grant_id: int, uow: UowDep, actor: ActorDep, preview: int = 0) -> Response:
    require_login(actor)
    grant = service.get_grant(uow, actor, grant_id)
    sample = None
    if preview:
        delivered = service.deliver_rows(uow, actor, grant_id, limit=20, request={"page": "preview"})
        sample = json.loads(delivered.body)
    usage = service.usage_by_day(uow, actor, grant_id)
    peak = max([u["rows"] for u in usage] or [1]) or 1
    return render(request, actor, "share/grant.html", grant=grant, usage=usage, peak=peak, sample=sample,
                  calls=service.list_calls(uow, actor, grant_id, limit=20),
                  objections=service.list_objections(uow, actor, status=None, grant_id=grant_id),
                  can_flag=allowed(actor, P.OBJECTION_REPORT, department_id=grant.consumer_department_id),
                  can_resolve=lambda o: _can_resolve(actor, o),
                  status=grant.status(utcnow()), **_ctx())


@router.post("/share/grants/{grant_id}/objections", dependencies=[CsrfDep])
def flag_value(request: Request, grant_id: int, uow: UowDep, actor: ActorDep,
               field: Annotated[str, Form()] = "", record_key: Annotated[str, Form()] = "",
               reported_value: Annotated[str, Form()] = "", suggested_value: Annotated[str, Form()] = "",
               note: Annotated[str, Form()] = "") -> Response:
    """疑义纠错: the using department flags a delivered value; the provider gets a correction task."""
    require_login(actor)
    service.report_objection(uow, actor, grant_id, record_key=record_key, field=field,
                             reported_value=reported_value or None, suggested_value=suggested_value or None,
                             note=note)
    return RedirectResponse(f"/share/grants/{grant_id}#objections", status_code=303)


@router.get("/share/objections", response_class=HTMLResponse)
def objections(request: Request, uow: UowDep, actor: ActorDep, box: str = "inbox", status: str = "") -> Response:
    require_login(actor)
    rows = service.list_objections(uow, actor, status=status or None, box=box)
    return render(request, actor, "share/objections.html", objections=rows, box=box, status=status,
                  can_resolve=lambda o: _can_resolve(actor, o), **_ctx())


def _can_resolve(actor: Any, objection: Any) -> bool:
    """Whether to show the outcome form (the service decides; this only hides a form that would be refused)."""
    return allowed(actor, P.OBJECTION_RESOLVE, department_id=objection.provider_department_id)


@router.post("/share/objections/{objection_id}/resolve", dependencies=[CsrfDep])
def resolve(request: Request, objection_id: int, uow: UowDep, actor: ActorDep,
            outcome: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
            back: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    service.resolve_objection(uow, actor, objection_id, outcome=outcome, note=note)
    return RedirectResponse(back if back in ("/", "/share/objections") else "/share/objections", status_code=303)


@router.post("/share/grants/{grant_id}/{change}", dependencies=[CsrfDep])
def grant_change(request: Request, grant_id: int, change: str, uow: UowDep, actor: ActorDep,
                 reason: Annotated[str, Form()] = "") -> Response:
    require_login(actor)
    if change == "revoke":
        service.revoke_grant(uow, actor, grant_id, reason=reason)
    elif change == "suspend":
        service.suspend_grant(uow, actor, grant_id, reason=reason)
    elif change == "resume":
        service.resume_grant(uow, actor, grant_id, reason=reason)
    return RedirectResponse(f"/share/grants/{grant_id}", status_code=303)


@router.get("/share/overview", response_class=HTMLResponse)
def overview(request: Request, uow: UowDep, actor: ActorDep) -> Response:
    require_login(actor)
    return render(request, actor, "share/overview.html", rows=service.overdue_by_department(uow, actor),
                  overdue=service.list_requests(uow, actor, box="all"), **_ctx())
