"""JSON API of the security context."""

from __future__ import annotations

from fastapi import APIRouter

from huiju.security import service
from huiju.security.schemas import AuditEntryOut, ChainReportOut
from huiju.web.deps import ActorDep, UowDep

router = APIRouter(tags=["security"])


@router.get("/audit", response_model=list[AuditEntryOut])
def list_audit(uow: UowDep, actor: ActorDep, limit: int = 50, before_seq: int | None = None):
    return service.list_audit(uow, actor, limit=limit, before_seq=before_seq)


@router.get("/audit/verify", response_model=ChainReportOut)
def verify_audit(uow: UowDep, actor: ActorDep):
    return service.verify_audit(uow, actor)
