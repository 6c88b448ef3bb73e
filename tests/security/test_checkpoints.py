"""Signed audit checkpoints, their verification, and the export an external auditor verifies alone."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from huiju.errors import Forbidden, Invalid
from huiju.events import Event
from huiju.security import keys, service
from huiju.security.audit import (
    canonical,
    checkpoint_message,
    link_hash,
    verify_chain,
    verify_export,
)
from huiju.security.crypto import get_provider
from huiju.security.models import AuditCheckpoint, AuditEntry
from huiju.storage.db import utcnow
from huiju.storage.uow import Storage
from tests.support import run_cli

EVERY = 3


@dataclass(frozen=True, kw_only=True)
class Pinged(Event):
    n: int


@pytest.fixture
def cp_storage(settings):
    """Storage whose chain is checkpointed every three events."""
    settings.home.mkdir(parents=True, exist_ok=True)
    st = Storage.open(settings.model_copy(update={"audit_checkpoint_every": EVERY}))
    yield st
    st.close()


def commit_events(storage, actor, count: int) -> None:
    """One commit appending ``count`` events."""
    with storage.uow() as uow:
        for n in range(count):
            uow.emit(actor, Pinged(n=n))
        uow.commit()


def checkpoints(storage) -> list[AuditCheckpoint]:
    with storage.uow() as uow:
        return list(uow.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))


def drop_guards(conn, backend) -> None:
    if backend == "sqlite":
        for name in ("audit_checkpoints_no_update", "audit_checkpoints_no_delete", "audit_entries_no_update",
                     "audit_entries_no_delete"):
            conn.execute(text(f"DROP TRIGGER {name}"))
    else:
        conn.execute(text("DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints"))
        conn.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))


# ---- writing checkpoints -----------------------------------------------------------------

def test_a_checkpoint_every_n_events_at_most_one_per_commit(cp_storage, system, backend):
    for _ in range(7):
        commit_events(cp_storage, system, 1)
    assert [c.seq for c in checkpoints(cp_storage)] == [3, 6]
    commit_events(cp_storage, system, 5)  # 8..12 crosses 9 and 12: one checkpoint, at the head
    commit_events(cp_storage, system, 2)  # 13..14 crosses nothing
    commit_events(cp_storage, system, 1)  # 15
    cps = checkpoints(cp_storage)
    assert [c.seq for c in cps] == [3, 6, 12, 15]
    with cp_storage.uow() as uow:
        hashes = dict(uow.session.execute(select(AuditEntry.seq, AuditEntry.hash)).all())
        report = verify_chain(uow.session)
    assert all(c.head_hash == hashes[c.seq] for c in cps)
    assert report.ok and report.checked == 15 and report.checkpoints_checked == 4 and report.signed_seq == 15
    public = cps[0].public_key_hex
    assert {c.public_key_hex for c in cps} == {public}
    for c in cps:  # the public key alone verifies a checkpoint
        message = f"huiju-audit-checkpoint|{c.seq}|{c.head_hash}|{c.signed_at.isoformat(timespec='microseconds')}"
        assert get_provider().sm2_verify(public, message.encode(), bytes.fromhex(c.signature))


def test_the_default_interval_signs_nothing_for_a_few_events(storage, system, backend):
    commit_events(storage, system, 5)
    assert checkpoints(storage) == []
    assert not (storage.settings.home / "master.key").exists()


def test_a_failed_commit_leaves_no_checkpoint(cp_storage, system, backend):
    with cp_storage.uow() as uow, pytest.raises(Exception, match="audit_entries"):
        for n in range(4):
            uow.emit(system, Pinged(n=n))
        uow.add(AuditEntry(seq=1, occurred_at=utcnow(), actor_name="x", context="x", event_type="x",
                           payload="{}", prev_hash="0", hash="0"))  # collides with the appended seq 1
        uow.commit()
    assert checkpoints(cp_storage) == []
    with cp_storage.uow() as uow:
        assert uow.session.scalar(select(AuditEntry.id)) is None


def test_manual_checkpoint_covers_its_own_request(storage, system, people, backend):
    commit_events(storage, system, 2)
    with storage.uow() as uow:
        cp = service.create_checkpoint(uow, people["op"])
    with storage.uow() as uow:
        last = uow.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        report = service.verify_audit(uow, people["op"])
    assert cp.seq == last.seq and cp.head_hash == last.hash
    assert last.event_type == "AuditCheckpointRequested" and last.actor_name == "op"
    assert report.ok and report.checkpoints_checked == 1
    for name in ("ga_steward", "ga_user", "citizen"):
        with storage.uow() as uow, pytest.raises(Forbidden):
            service.create_checkpoint(uow, people[name])
        with storage.uow() as uow, pytest.raises(Forbidden):
            service.export_audit(uow, people[name], storage.settings.home / "x.jsonl")


def test_checkpoints_are_append_only(cp_storage, system, backend):
    commit_events(cp_storage, system, 3)
    for statement in ("UPDATE audit_checkpoints SET head_hash = 'x'", "DELETE FROM audit_checkpoints"):
        with cp_storage.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
            conn.execute(text(statement))


# ---- tampering ---------------------------------------------------------------------------

def _rewrite_from(conn, seq: int) -> None:
    """Edit entry ``seq`` and recompute every hash after it and the head: the links all verify again."""
    rows = conn.execute(text("SELECT * FROM audit_entries ORDER BY seq")).all()
    prev = "0" * 64
    for r in rows:
        payload = r.payload.replace('"n":', '"n":9') if r.seq == seq else r.payload
        occurred = r.occurred_at  # SQLite hands back text through a plain text() query
        occurred = datetime.fromisoformat(occurred) if isinstance(occurred, str) else occurred
        occurred = occurred.replace(tzinfo=UTC) if occurred.tzinfo is None else occurred
        digest = link_hash(prev, canonical(r.seq, occurred, r.actor_id, r.actor_name, r.context, r.event_type, payload))
        conn.execute(text("UPDATE audit_entries SET payload = :p, prev_hash = :ph, hash = :h WHERE id = :id"),
                     {"p": payload, "ph": prev, "h": digest, "id": r.id})
        prev = digest
    conn.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})


@pytest.mark.parametrize("tamper", ["signature", "head_hash", "signed_at", "foreign_key", "rewritten_chain"])
def test_a_tampered_checkpoint_is_reported(cp_storage, system, backend, tamper):
    for _ in range(7):
        commit_events(cp_storage, system, 1)
    target = checkpoints(cp_storage)[1]  # at seq 6
    with cp_storage.engine.begin() as conn:
        drop_guards(conn, backend)
        if tamper == "signature":
            sig = target.signature
            flipped = sig[:20] + ("0" if sig[20] != "0" else "1") + sig[21:]
            conn.execute(text("UPDATE audit_checkpoints SET signature = :s WHERE id = :id"), {"s": flipped, "id": target.id})
        elif tamper == "head_hash":
            other = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 5")).scalar()
            conn.execute(text("UPDATE audit_checkpoints SET head_hash = :h WHERE id = :id"), {"h": other, "id": target.id})
        elif tamper == "signed_at":
            conn.execute(text("UPDATE audit_checkpoints SET signed_at = :t WHERE id = :id"),
                         {"t": utcnow().replace(tzinfo=None) if backend == "sqlite" else utcnow(), "id": target.id})
        elif tamper == "foreign_key":  # re-signed with a key the platform does not hold
            private, public = get_provider().sm2_generate_keypair()
            sig = get_provider().sm2_sign(private, checkpoint_message(target.seq, target.head_hash, target.signed_at))
            conn.execute(text("UPDATE audit_checkpoints SET signature = :s, public_key_hex = :k WHERE id = :id"),
                         {"s": sig.hex(), "k": public, "id": target.id})
        else:
            _rewrite_from(conn, 5)
    with cp_storage.uow() as uow:
        report = service.verify_audit(uow, system)
    assert not report.ok
    assert report.broken_checkpoint_id == target.id and report.broken_seq == 6
    assert report.checkpoints_checked == 1 and report.signed_seq == 3
    assert report.reason == {
        "signature": "checkpoint signature is invalid (checkpoint edited)",
        "head_hash": "checkpoint does not match the entry it signed (the chain was rewritten up to here)",
        "signed_at": "checkpoint signature is invalid (checkpoint edited)",
        "foreign_key": "checkpoint signed by a key that is not a platform signing key",
        "rewritten_chain": "checkpoint does not match the entry it signed (the chain was rewritten up to here)",
    }[tamper]


def test_a_broken_link_is_still_reported_before_checkpoints(cp_storage, system, backend):
    for _ in range(4):
        commit_events(cp_storage, system, 1)
    with cp_storage.engine.begin() as conn:
        drop_guards(conn, backend)
        conn.execute(text("UPDATE audit_entries SET payload = :p WHERE seq = 2"), {"p": '{"n":7}'})
    with cp_storage.uow() as uow:
        report = verify_chain(uow.session)
    assert not report.ok and report.broken_seq == 2 and report.broken_checkpoint_id is None


# ---- export ------------------------------------------------------------------------------

def _export(storage, system, tmp_path) -> Path:
    for _ in range(4):
        commit_events(storage, system, 1)
    path = tmp_path / "audit.jsonl"
    with storage.uow() as uow:
        summary = service.export_audit(uow, system, path)
    assert summary.entries == 5 and summary.head_seq == 5 and summary.checkpoints == 2  # at 3, and at the export
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records),
                    encoding="utf-8")


def test_export_verifies_with_the_file_alone(cp_storage, system, backend, tmp_path):
    path = _export(cp_storage, system, tmp_path)
    cp_storage.close()  # no database from here on
    records = _lines(path)
    assert records[0]["type"] == "header" and records[0]["head_seq"] == 5
    assert [r["type"] for r in records[1:]] == ["entry"] * 5 + ["checkpoint"] * 2
    assert records[5]["event_type"] == "AuditExported" and records[5]["payload"] == json.dumps(
        {"path": str(path)}, ensure_ascii=False, separators=(",", ":"))
    public = records[0]["public_keys"][0]["public_key_hex"]
    report = verify_export(path)
    assert report.ok and report.checked == 5 and report.checkpoints_checked == 2 and report.signed_seq == 5
    assert report.signer_fingerprints == [keys.fingerprint(public)]
    assert verify_export(path, trusted_keys=[public.upper()]).ok
    _, stranger = get_provider().sm2_generate_keypair()
    pinned = verify_export(path, trusted_keys=[stranger])
    assert not pinned.ok and pinned.reason == "checkpoint signed by a key that is not a platform signing key"


@pytest.mark.parametrize("field,value", [("payload", '{"n":1}'), ("actor_name", "mallory"),
                                         ("occurred_at", "2020-01-01T00:00:00.000000+00:00")])
def test_an_edited_export_line_names_the_entry(cp_storage, system, tmp_path, field, value):
    path = _export(cp_storage, system, tmp_path)
    records = _lines(path)
    records[3][field] = value  # entry seq 3
    _write(path, records)
    report = verify_export(path)
    assert not report.ok and report.broken_seq == 3 and report.broken_id == records[3]["id"]
    assert report.reason == "content does not match its hash (row edited)"


def test_a_consistently_rewritten_export_is_caught_by_the_signatures(cp_storage, system, tmp_path):
    path = _export(cp_storage, system, tmp_path)
    records = _lines(path)
    prev = "0" * 64
    for r in records[1:6]:
        if r["seq"] == 2:
            r["actor_name"] = "mallory"
        r["prev_hash"] = prev
        r["hash"] = prev = link_hash(prev, canonical(r["seq"], datetime.fromisoformat(r["occurred_at"]), r["actor_id"],
                                                     r["actor_name"], r["context"], r["event_type"], r["payload"]))
    records[0]["head_hash"] = prev
    _write(path, records)
    report = verify_export(path)
    assert not report.ok and report.broken_seq == 3 and report.broken_checkpoint_id == records[6]["id"]


def test_an_export_must_end_with_a_signed_checkpoint(cp_storage, system, tmp_path):
    path = _export(cp_storage, system, tmp_path)
    _write(path, _lines(path)[:-1])  # drop the checkpoint made at export
    report = verify_export(path)
    assert not report.ok and report.broken_seq == 4 and report.checkpoints_checked == 1
    assert report.reason == "entries after the last signed checkpoint (an export ends with one at its head)"


def test_a_damaged_export_file_is_refused(cp_storage, system, tmp_path):
    path = _export(cp_storage, system, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines[:2], lines[2][:-5], *lines[3:]]) + "\n", encoding="utf-8")
    with pytest.raises(Invalid, match="Line 3 of"):
        verify_export(path)
    other = tmp_path / "other.jsonl"
    other.write_text('{"type":"header","format":"something-else"}\n', encoding="utf-8")
    with pytest.raises(Invalid, match="not a huiju audit export"):
        verify_export(other)


def test_export_refuses_a_missing_folder(storage, system, tmp_path):
    with storage.uow() as uow, pytest.raises(Invalid, match="does not exist"):
        service.export_audit(uow, system, tmp_path / "no" / "such" / "audit.jsonl")


# ---- CLI ---------------------------------------------------------------------------------

def run(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    return run_cli(home, *args, ok=ok, HUIJU_AUDIT_CHECKPOINT_EVERY="2")


def test_audit_cli_checkpoint_export_and_verify_export(tmp_path):
    home = tmp_path / "home"
    run(home, "init")
    for code in ("GA", "RS", "WJ"):
        run(home, "dept", "add", code, f"部门{code}")
    made = run(home, "audit", "checkpoint").stdout
    assert "检查点" in made and "已在第 4 条处签名" in made
    verified = run(home, "audit", "verify").stdout
    assert "审计链完整" in verified and "已验证 2 个签名检查点" in verified
    export = tmp_path / "audit.jsonl"
    assert "已导出 5 条记录和 3 个检查点" in run(home, "audit", "export", str(export)).stdout
    # an auditor's machine: no platform home at all
    nowhere = tmp_path / "auditor"
    assert "审计链完整" in run(nowhere, "audit", "verify-export", str(export)).stdout
    assert not nowhere.exists()
    records = _lines(export)
    records[2]["payload"] = records[2]["payload"].replace("部门RS", "部门XX")
    _write(export, records)
    proc = run(nowhere, "audit", "verify-export", str(export), ok=False)
    assert proc.returncode == 1 and "第 2 条" in proc.stdout and "记录被修改" in proc.stdout


def test_audit_cli_names_a_tampered_checkpoint(tmp_path):
    home = tmp_path / "home"
    run(home, "init")
    run(home, "dept", "add", "GA", "示例市公安局")
    run(home, "dept", "add", "RS", "示例市人力资源和社会保障局")
    db = sqlite3.connect(home / "huiju.db")
    db.execute("DROP TRIGGER audit_checkpoints_no_update")
    cp_id, sig = db.execute("SELECT id, signature FROM audit_checkpoints ORDER BY id LIMIT 1").fetchone()
    db.execute("UPDATE audit_checkpoints SET signature = ? WHERE id = ?", (sig[:-2] + ("00" if sig[-2:] != "00" else "11"), cp_id))
    db.commit()
    db.close()
    proc = run(home, "audit", "verify", ok=False)
    assert proc.returncode == 1 and f"检查点 {cp_id}" in proc.stdout and "签名无效" in proc.stdout
