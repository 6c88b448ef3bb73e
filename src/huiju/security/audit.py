"""The SM3 audit chain: append events inside the committing transaction, and verify the links."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from huiju.events import subscribe
from huiju.i18n import N_
from huiju.security.crypto import sm3_hex
from huiju.security.models import GENESIS, AuditEntry, AuditHead


def canonical(seq: int, occurred_at: datetime, actor_id: int | None, actor_name: str,
              context: str, event_type: str, payload: str) -> str:
    return json.dumps(
        [seq, occurred_at.isoformat(timespec="microseconds"), actor_id, actor_name, context, event_type, payload],
        ensure_ascii=False, separators=(",", ":"),
    )


def link_hash(prev_hash: str, content: str) -> str:
    return sm3_hex(f"{prev_hash}|{content}".encode())


def _payload_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@subscribe
def append_events(uow: Any, pending: list[Any]) -> None:
    """Audit subscriber: chain every pending event into ``audit_entries`` before the commit."""
    if not pending:
        return
    session: Session = uow.session
    row = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + len(pending))
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one()
    seq = row.seq - len(pending)
    prev = row.last_hash
    for item in pending:
        seq += 1
        event, actor = item.event, item.actor
        actor_id = getattr(actor, "user_id", None)
        actor_name = getattr(actor, "username", "") or ""
        occurred = event.occurred_at
        payload = _payload_json(event.payload())
        content = canonical(seq, occurred, actor_id, actor_name, event.context, event.event_type, payload)
        digest = link_hash(prev, content)
        session.add(AuditEntry(seq=seq, occurred_at=occurred, actor_id=actor_id, actor_name=actor_name,
                               context=event.context, event_type=event.event_type, payload=payload,
                               prev_hash=prev, hash=digest))
        prev = digest
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))


@dataclass
class ChainReport:
    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def verify_entries(entries: Iterable[AuditEntry], head: AuditHead | None) -> ChainReport:
    """Walk the rows in storage order; report the first row whose link, hash or position is wrong."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for e in entries:
        if e.seq != expected_seq:
            reason = N_("missing or reordered rows before this one") if e.seq > expected_seq else N_("row out of order")
            return ChainReport(False, checked, head.seq if head else 0, e.seq, e.id, reason)
        if e.prev_hash != prev:
            return ChainReport(False, checked, head.seq if head else 0, e.seq, e.id,
                               N_("previous-hash link broken (a row before it was changed, removed or moved)"))
        content = canonical(e.seq, e.occurred_at, e.actor_id, e.actor_name, e.context, e.event_type, e.payload)
        if link_hash(prev, content) != e.hash:
            return ChainReport(False, checked, head.seq if head else 0, e.seq, e.id, N_("content does not match its hash (row edited)"))
        prev = e.hash
        expected_seq += 1
        checked += 1
    head_seq = head.seq if head else 0
    if head is not None and (head.seq != checked or head.last_hash != prev):
        return ChainReport(False, checked, head_seq, checked + 1, None, N_("rows missing at the end of the chain"))
    return ChainReport(True, checked, head_seq)


def verify_chain(session: Session) -> ChainReport:
    head = session.get(AuditHead, 1)
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=2000))
    return verify_entries(rows, head)
