"""JSON API of the share context: requests and their steps, grants and tokens, delivery with receipts, 疑义."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from huiju.errors import Invalid
from huiju.share import openapi, service
from huiju.share.receipts import HEADER
from huiju.share.schemas import (
    CallOut,
    DeadlineReportOut,
    GrantOut,
    LogOut,
    MessageIn,
    ObjectionIn,
    ObjectionOut,
    ReasonIn,
    RenewIn,
    RequestDetailOut,
    RequestIn,
    RequestOut,
    ResolveIn,
    StepIn,
    SubscriptionIn,
    TokenIn,
    TokenOut,
)
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(prefix="/share", tags=["share"])


@router.post("/requests", response_model=RequestOut, status_code=201)
def submit_request(body: RequestIn, uow: UowDep, actor: ActorDep):
    return service.submit_request(uow, actor, **body.model_dump())


@router.get("/requests", response_model=list[RequestOut])
def list_requests(uow: UowDep, actor: ActorDep, box: str = "all", state: str | None = None):
    return service.list_requests(uow, actor, box=box, state=state)


@router.get("/requests/{request_id}", response_model=RequestDetailOut)
def get_request(request_id: int, uow: UowDep, actor: ActorDep):
    req = service.get_request(uow, actor, request_id)
    grant = service.grant_for_request(uow, actor, request_id)
    return RequestDetailOut(request=RequestOut.model_validate(req),
                            log=[LogOut.model_validate(e) for e in service.request_log(uow, actor, request_id)],
                            workdays_left=service.workdays_left(uow, actor, request_id),
                            grant_id=grant.id if grant else None)


@router.post("/requests/{request_id}/steps/{step}", response_model=RequestOut)
def take_step(request_id: int, step: str, body: StepIn, uow: UowDep, actor: ActorDep):
    return service.take_step(uow, actor, request_id, step, **body.model_dump())


@router.post("/requests/{request_id}/messages", status_code=201, response_model=LogOut)
def post_message(request_id: int, body: MessageIn, uow: UowDep, actor: ActorDep):
    return service.post_message(uow, actor, request_id, body.text)


@router.post("/check-deadlines", response_model=DeadlineReportOut)
def check_deadlines(uow: UowDep, actor: ActorDep):
    report = service.check_deadlines(uow, actor)
    return DeadlineReportOut(reminded=report.reminded, overdue=report.overdue)


@router.get("/overview/overdue")
def overdue_overview(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.overdue_by_department(uow, actor)


# ---- grants ------------------------------------------------------------------------------

@router.get("/grants", response_model=list[GrantOut])
def list_grants(uow: UowDep, actor: ActorDep, side: str = "all"):
    return service.list_grants(uow, actor, side=side)


@router.get("/grants/{grant_id}", response_model=GrantOut)
def get_grant(grant_id: int, uow: UowDep, actor: ActorDep):
    return service.get_grant(uow, actor, grant_id)


@router.post("/grants/{grant_id}/renew", response_model=GrantOut)
def renew_grant(grant_id: int, body: RenewIn, uow: UowDep, actor: ActorDep):
    return service.renew_grant(uow, actor, grant_id, days=body.days, reason=body.reason)


@router.post("/grants/{grant_id}/suspend", response_model=GrantOut)
def suspend_grant(grant_id: int, body: ReasonIn, uow: UowDep, actor: ActorDep):
    return service.suspend_grant(uow, actor, grant_id, reason=body.reason)


@router.post("/grants/{grant_id}/resume", response_model=GrantOut)
def resume_grant(grant_id: int, body: ReasonIn, uow: UowDep, actor: ActorDep):
    return service.resume_grant(uow, actor, grant_id, reason=body.reason)


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(grant_id: int, body: ReasonIn, uow: UowDep, actor: ActorDep):
    return service.revoke_grant(uow, actor, grant_id, reason=body.reason)


@router.post("/grants/{grant_id}/tokens", response_model=TokenOut, status_code=201)
def issue_token(grant_id: int, body: TokenIn, uow: UowDep, actor: ActorDep):
    issued = service.issue_grant_token(uow, actor, grant_id, name=body.name, days=body.days)
    return TokenOut(token=issued.plaintext, token_id=issued.token.id, expires_at=issued.token.expires_at,
                    scopes=issued.token.scopes)


def _signed(delivered: service.Delivered, filename: str | None = None) -> Response:
    headers = {HEADER: delivered.receipt.header(), "X-Huiju-Call-Id": str(delivered.receipt.call_id),
               "X-Huiju-Rows": str(delivered.rows), "X-Huiju-Version": str(delivered.version)}
    if delivered.next_after is not None:
        headers["X-Huiju-Next-After"] = json.dumps(delivered.next_after, ensure_ascii=True, default=str)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(delivered.body, media_type=delivered.media_type, headers=headers)


@router.get("/grants/{grant_id}/rows", response_class=Response,
            responses={200: {"description": "Rows under the grant, with a signed receipt header "
                                            "(X-Huiju-Receipt) over the body's SM3 hash."}})
def read_rows(grant_id: int, request: Request, uow: UowDep, actor: ActorDep,
              format: str = Query("json", pattern="^(json|csv|parquet)$"),
              fields: str | None = Query(None, description="Comma-separated fields (default: all granted)."),
              where: str | None = Query(None, description='JSON list of conditions, e.g. [{"field":"年龄","op":">=",'
                                                          '"value":60}]'),
              after: str | None = Query(None, description="JSON list: next_after of the previous page."),
              limit: int = 1000):
    try:
        where_list = json.loads(where) if where else None
        after_list = json.loads(after) if after else None
    except ValueError:
        raise Invalid("where and after are JSON lists") from None
    delivered = service.deliver_rows(uow, actor, grant_id, fmt=format,
                                     fields=[f for f in fields.split(",") if f] if fields else None,
                                     where=where_list, after=after_list, limit=limit,
                                     request={"method": request.method, "path": request.url.path,
                                              "query": str(request.url.query)})
    return _signed(delivered)


@router.get("/grants/{grant_id}/download", response_class=Response)
def download(grant_id: int, request: Request, uow: UowDep, actor: ActorDep,
             format: str = Query("csv", pattern="^(csv|parquet)$")):
    delivered = service.download_grant(uow, actor, grant_id, fmt=format,
                                       request={"method": request.method, "path": request.url.path})
    return _signed(delivered, f"grant-{grant_id}-v{delivered.version}.{format}")


@router.post("/grants/{grant_id}/subscriptions", status_code=201)
def subscribe(grant_id: int, body: SubscriptionIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    sub = service.subscribe(uow, actor, grant_id, mode=body.mode, webhook_url=body.webhook_url,
                            since_version=body.since_version)
    return {"id": sub.id, "grant_id": sub.grant_id, "mode": sub.mode, "delivered_version": sub.delivered_version}


@router.get("/grants/{grant_id}/changes", response_class=Response)
def changes(grant_id: int, since: int, request: Request, uow: UowDep, actor: ActorDep):
    """Rows new or changed since version ``since``, and the keys removed; signed like every delivery."""
    return _signed(service.changes_since(uow, actor, grant_id, since,
                                         request={"method": request.method, "path": request.url.path}))


@router.post("/push-subscriptions")
def push(uow: UowDep, actor: ActorDep) -> dict[str, list[int]]:
    report = service.push_subscriptions(uow, actor)
    return {"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed}


@router.get("/grants/{grant_id}/openapi.json")
def grant_openapi(grant_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    return openapi.for_grant(service.get_grant(uow, actor, grant_id), service.grant_field_types(uow, actor, grant_id))


@router.get("/grants/{grant_id}/calls", response_model=list[CallOut])
def list_calls(grant_id: int, uow: UowDep, actor: ActorDep):
    return service.list_calls(uow, actor, grant_id)


@router.get("/grants/{grant_id}/usage")
def usage(grant_id: int, uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.usage_by_day(uow, actor, grant_id)


@router.get("/calls/{call_id}/receipt")
def receipt(call_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    return service.call_receipt(uow, actor, call_id).as_dict()


@router.get("/receipt-keys")
def receipt_keys(uow: UowDep) -> list[dict[str, Any]]:
    return service.receipt_public_keys(uow)


# ---- 疑义纠错 -------------------------------------------------------------------------------

@router.post("/grants/{grant_id}/objections", response_model=ObjectionOut, status_code=201)
def report_objection(grant_id: int, body: ObjectionIn, uow: UowDep, actor: ActorDep):
    return service.report_objection(uow, actor, grant_id, **body.model_dump())


@router.get("/objections", response_model=list[ObjectionOut])
def list_objections(uow: UowDep, actor: ActorDep, status: str | None = "open"):
    return service.list_objections(uow, actor, status=status or None)


@router.post("/objections/{objection_id}/resolve", response_model=ObjectionOut)
def resolve_objection(objection_id: int, body: ResolveIn, uow: UowDep, actor: ActorDep):
    return service.resolve_objection(uow, actor, objection_id, outcome=body.outcome, note=body.note)
