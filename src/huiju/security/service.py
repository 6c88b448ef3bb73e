"""Security use cases: reading and verifying the audit chain."""

from __future__ import annotations

from sqlalchemy import select

from huiju.auth.authz import require
from huiju.auth.roles import Actor
from huiju.security.audit import ChainReport, verify_chain
from huiju.security.models import AuditEntry
from huiju.security.permissions import AUDIT_VERIFY, AUDIT_VIEW
from huiju.storage.uow import UnitOfWork


def verify_audit(uow: UnitOfWork, actor: Actor) -> ChainReport:
    """Check every link of the chain; the report names the first broken row."""
    require(actor, AUDIT_VERIFY)
    return verify_chain(uow.session)


def list_audit(uow: UnitOfWork, actor: Actor, *, limit: int = 50, before_seq: int | None = None) -> list[AuditEntry]:
    """Newest entries first, keyset-paginated by sequence number."""
    require(actor, AUDIT_VIEW)
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(min(limit, 500))
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    return list(uow.session.scalars(query))
