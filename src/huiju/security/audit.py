"""The SM3 audit chain: append events inside the committing transaction, sign checkpoints, verify.

Every ``audit_checkpoint_every`` events (and on request) the committing transaction also signs
the chain head with the platform's SM2 key (``audit_checkpoints``). A checkpoint pins the chain
up to its entry: whoever rewrites entries and recomputes every hash after them still cannot
produce the signature. ``export_*`` / ``verify_export`` hand the chain to an external auditor
as one self-contained JSON Lines file, checked with nothing but the file and a public key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from huiju.errors import Invalid
from huiju.events import Event, subscribe
from huiju.i18n import N_
from huiju.security import keys
from huiju.security.crypto import SM2_DEFAULT_SIGNER_ID, get_provider, sm3_hex
from huiju.security.models import (
    GENESIS,
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    SigningKey,
)
from huiju.storage.db import utcnow

CHECKPOINT_INFO_KEY = "huiju.audit.checkpoint"  # session.info: the checkpoint the last commit signed
EXPORT_FORMAT = "huiju-audit-export"
EXPORT_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class AuditEvent(Event):
    context: ClassVar[str] = "security"
    forces_checkpoint: ClassVar[bool] = False  # the commit that appends it signs a checkpoint


@dataclass(frozen=True, kw_only=True)
class AuditCheckpointRequested(AuditEvent):
    forces_checkpoint: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class AuditExported(AuditEvent):
    forces_checkpoint: ClassVar[bool] = True
    path: str


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
    """Audit subscriber: chain every pending event into ``audit_entries`` before the commit.

    When the head crosses a multiple of ``audit_checkpoint_every`` (or an event asks for it), the
    same transaction signs one checkpoint at the new head, however many multiples it crossed.
    """
    if not pending:
        return
    session: Session = uow.session
    row = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + len(pending))
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one()
    seq = row.seq - len(pending)
    prev = row.last_hash
    rows: list[dict[str, Any]] = []
    for item in pending:
        seq += 1
        event, actor = item.event, item.actor
        actor_id = getattr(actor, "user_id", None)
        actor_name = getattr(actor, "username", "") or ""
        occurred = event.occurred_at
        payload = _payload_json(event.payload())
        content = canonical(seq, occurred, actor_id, actor_name, event.context, event.event_type, payload)
        digest = link_hash(prev, content)
        rows.append({"seq": seq, "occurred_at": occurred, "actor_id": actor_id, "actor_name": actor_name,
                     "context": event.context, "event_type": event.event_type, "payload": payload,
                     "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEntry), rows)  # one executemany, no ORM objects: a batch may hold hundreds
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))
    every = uow.settings.audit_checkpoint_every
    forced = any(getattr(item.event, "forces_checkpoint", False) for item in pending)
    if forced or seq // every > (seq - len(pending)) // every:
        session.info[CHECKPOINT_INFO_KEY] = write_checkpoint(uow, seq, prev)


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    """The bytes a checkpoint signs."""
    return f"huiju-audit-checkpoint|{seq}|{head_hash}|{signed_at.isoformat(timespec='microseconds')}".encode()


def write_checkpoint(uow: Any, seq: int, head_hash: str) -> AuditCheckpoint:
    """Sign the head (``seq``, ``head_hash``) with the current audit-signing key, in the open transaction."""
    key, private_hex = keys.signing_key(uow, keys.AUDIT_SIGNING)
    signed_at = utcnow()
    signature = get_provider().sm2_sign(private_hex, checkpoint_message(seq, head_hash, signed_at))
    checkpoint = AuditCheckpoint(seq=seq, head_hash=head_hash, signed_at=signed_at,
                                 public_key_hex=key.public_key_hex.lower(), signature=signature.hex())
    uow.session.add(checkpoint)
    uow.session.flush()
    return checkpoint


@dataclass
class ChainReport:
    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    checkpoints_checked: int = 0
    broken_checkpoint_id: int | None = None  # set when the first problem found is a checkpoint
    signed_seq: int = 0  # the highest entry covered by a verified checkpoint
    signer_fingerprints: list[str] = field(default_factory=list)  # keys that signed the verified checkpoints


def verify_entries(entries: Iterable[Any], head: Any | None, checkpoints: Iterable[Any] = (),
                   trusted_keys: Collection[str] | None = None) -> ChainReport:
    """Walk the rows in storage order; report the first row whose link, hash or position is wrong.

    Then check every checkpoint: its entry exists and has ``hash == head_hash``, its key is one
    of ``trusted_keys`` (any key when None) and its signature verifies under that key.
    """
    checkpoints = sorted(checkpoints, key=lambda c: (c.seq, c.id))
    wanted = {c.seq for c in checkpoints}
    at_seq: dict[int, tuple[int | None, str]] = {0: (None, GENESIS)}
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
        if e.seq in wanted:
            at_seq[e.seq] = (e.id, e.hash)
        prev = e.hash
        expected_seq += 1
        checked += 1
    head_seq = head.seq if head else 0
    if head is not None and (head.seq != checked or head.last_hash != prev):
        return ChainReport(False, checked, head_seq, checked + 1, None, N_("rows missing at the end of the chain"))
    return _verify_checkpoints(checkpoints, at_seq, checked, head_seq, trusted_keys)


def _verify_checkpoints(checkpoints: list[Any], at_seq: dict[int, tuple[int | None, str]], checked: int,
                        head_seq: int, trusted_keys: Collection[str] | None) -> ChainReport:
    trusted = None if trusted_keys is None else {k.lower() for k in trusted_keys}
    signed_seq = 0
    signers: list[str] = []
    for n, cp in enumerate(checkpoints):
        entry_id, entry_hash = at_seq.get(cp.seq, (None, None))
        reason = ""
        if cp.seq > checked or entry_hash is None:
            reason = N_("checkpoint covers entries that are missing from the chain")
        elif cp.head_hash != entry_hash:
            reason = N_("checkpoint does not match the entry it signed (the chain was rewritten up to here)")
        elif trusted is not None and str(cp.public_key_hex).lower() not in trusted:
            reason = N_("checkpoint signed by a key that is not a platform signing key")
        elif not _signature_ok(cp):
            reason = N_("checkpoint signature is invalid (checkpoint edited)")
        if reason:
            return ChainReport(False, checked, head_seq, cp.seq, entry_id, reason, checkpoints_checked=n,
                               broken_checkpoint_id=cp.id, signed_seq=signed_seq, signer_fingerprints=signers)
        signed_seq = max(signed_seq, cp.seq)
        fp = keys.fingerprint(cp.public_key_hex)
        if fp not in signers:
            signers.append(fp)
    return ChainReport(True, checked, head_seq, checkpoints_checked=len(checkpoints), signed_seq=signed_seq,
                       signer_fingerprints=signers)


def _signature_ok(cp: Any) -> bool:
    try:
        message = checkpoint_message(cp.seq, cp.head_hash, cp.signed_at)
        return get_provider().sm2_verify(cp.public_key_hex, message, bytes.fromhex(cp.signature))
    except (Invalid, ValueError, TypeError):
        return False


def verify_chain(session: Session, trusted_keys: Collection[str] | None = None) -> ChainReport:
    """Verify the stored chain and its checkpoints; by default any key in ``signing_keys`` is trusted."""
    head = session.get(AuditHead, 1, populate_existing=True)
    if trusted_keys is None:
        trusted_keys = set(session.scalars(select(SigningKey.public_key_hex)))
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))
    rows = session.execute(select(*AuditEntry.__table__.c).order_by(AuditEntry.id).execution_options(yield_per=2000))
    return verify_entries(rows, head, checkpoints, trusted_keys)


# ---- export for external auditors -----------------------------------------------------------

@dataclass
class ExportSummary:
    path: Path
    entries: int
    checkpoints: int
    head_seq: int
    fingerprints: list[str]


def write_export(session: Session, path: Path, public_keys: list[dict[str, Any]]) -> ExportSummary:
    """Write the chain up to its current head as JSON Lines: a header, every entry, every checkpoint.

    The header carries the public keys and how hashes and signatures are computed; the file is
    written beside ``path`` and renamed into place, so a reader never sees half an export.
    """
    head_seq, head_hash = session.execute(select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    checkpoints = list(session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq <= head_seq)
                                       .order_by(AuditCheckpoint.seq)))
    header = {
        "type": "header", "format": EXPORT_FORMAT, "version": EXPORT_VERSION,
        "exported_at": utcnow().isoformat(timespec="microseconds"),
        "head_seq": head_seq, "head_hash": head_hash, "genesis": GENESIS,
        "hash": "hash = SM3(prev_hash + '|' + JSON [seq, occurred_at, actor_id, actor_name, context, "
                "event_type, payload] without spaces, non-ASCII kept) as lower-case hex",
        "checkpoint": "signature = SM2 (GB/T 32918, SM3, DER) by public_key_hex over "
                      "'huiju-audit-checkpoint|{seq}|{head_hash}|{signed_at}'",
        "signer_id": SM2_DEFAULT_SIGNER_ID.decode(),
        "public_keys": public_keys,
    }
    tmp = path.with_name(f".{path.name}.part")
    entries = 0
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(_line(header))
        rows = session.execute(select(*AuditEntry.__table__.c).where(AuditEntry.seq <= head_seq)
                               .order_by(AuditEntry.id).execution_options(yield_per=2000))
        for e in rows:
            fh.write(_line({"type": "entry", "id": e.id, "seq": e.seq,
                            "occurred_at": e.occurred_at.isoformat(timespec="microseconds"),
                            "actor_id": e.actor_id, "actor_name": e.actor_name, "context": e.context,
                            "event_type": e.event_type, "payload": e.payload, "prev_hash": e.prev_hash,
                            "hash": e.hash}))
            entries += 1
        for cp in checkpoints:
            fh.write(_line({"type": "checkpoint", "id": cp.id, "seq": cp.seq, "head_hash": cp.head_hash,
                            "signed_at": cp.signed_at.isoformat(timespec="microseconds"),
                            "public_key_hex": cp.public_key_hex, "signature": cp.signature}))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return ExportSummary(path, entries, len(checkpoints), head_seq, [k["fingerprint"] for k in public_keys])


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def verify_export(path: str | Path, trusted_keys: Collection[str] | None = None) -> ChainReport:
    """Verify an export with nothing but the file: recompute every link, check every checkpoint.

    ``trusted_keys`` pins the public keys an auditor obtained out of band; by default the keys
    listed in the file's header are used (then compare their fingerprints with the platform's).
    An export ends with a checkpoint at its head, so entries after the last checkpoint fail.
    Two passes over the file: memory does not grow with the chain.
    """
    path = Path(path)
    header: dict[str, Any] | None = None
    checkpoints = []
    for number, record in _records(path):
        kind = record.get("type")
        if kind == "header" and header is None:
            header = record
        elif kind == "checkpoint":
            checkpoints.append(_checkpoint_from(record, number, path))
        elif kind != "entry":
            raise _bad_line(number, path)
    if header is None or header.get("format") != EXPORT_FORMAT:
        raise Invalid("%(path)s is not a huiju audit export", path=str(path))
    try:
        head = SimpleNamespace(seq=int(header["head_seq"]), last_hash=str(header["head_hash"]))
        listed = [str(k["public_key_hex"]) for k in header["public_keys"]]
    except (KeyError, TypeError, ValueError):
        raise _bad_line(1, path) from None
    entries = (_entry_from(record, number, path) for number, record in _records(path)
               if record.get("type") == "entry")
    report = verify_entries(entries, head, checkpoints, listed if trusted_keys is None else trusted_keys)
    if report.ok and report.signed_seq < report.head_seq:
        report.ok = False
        report.broken_seq = report.signed_seq + 1
        report.reason = N_("entries after the last signed checkpoint (an export ends with one at its head)")
    return report


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise _bad_line(number, path) from None
            if not isinstance(record, dict):
                raise _bad_line(number, path)
            yield number, record


def _bad_line(number: int, path: Path) -> Invalid:
    return Invalid("Line %(line)s of %(path)s is not a valid audit export record", line=number, path=str(path))


_ENTRY_TYPES = {"id": int, "seq": int, "actor_name": str, "context": str, "event_type": str, "payload": str,
                "prev_hash": str, "hash": str, "occurred_at": str}
_CHECKPOINT_TYPES = {"id": int, "seq": int, "head_hash": str, "signed_at": str, "public_key_hex": str,
                     "signature": str}


def _typed(record: dict[str, Any], types: dict[str, type], number: int, path: Path) -> SimpleNamespace:
    for name, kind in types.items():
        value = record.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _bad_line(number, path)
    values = {name: record[name] for name in types}
    try:
        for name in ("occurred_at", "signed_at"):
            if name in values:
                values[name] = datetime.fromisoformat(values[name])
    except ValueError:
        raise _bad_line(number, path) from None
    return SimpleNamespace(**values)


def _entry_from(record: dict[str, Any], number: int, path: Path) -> SimpleNamespace:
    entry = _typed(record, _ENTRY_TYPES, number, path)
    actor_id = record.get("actor_id")
    if actor_id is not None and (not isinstance(actor_id, int) or isinstance(actor_id, bool)):
        raise _bad_line(number, path)
    entry.actor_id = actor_id
    return entry


def _checkpoint_from(record: dict[str, Any], number: int, path: Path) -> SimpleNamespace:
    return _typed(record, _CHECKPOINT_TYPES, number, path)
