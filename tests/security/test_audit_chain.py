"""The SM3 audit chain: SM3 vector, one entry per event in the same transaction, tamper detection."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from huiju.auth import service
from huiju.security.audit import verify_chain
from huiju.security.crypto import sm3_hex
from huiju.security.models import AuditEntry

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_standard_vector():
    assert sm3_hex(b"abc") == SM3_ABC


def _chain(storage, system, n=5):
    for i in range(n):
        with storage.uow() as uow:
            service.create_department(uow, system, code=f"D{i}", name=f"部门{i}", level="city", region_code="990100")


def _drop_guards(conn, backend):
    if backend == "sqlite":
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))


def test_every_state_change_is_chained(storage, system, backend):
    _chain(storage, system, 3)
    with storage.uow() as uow:
        entries = uow.session.query(AuditEntry).order_by(AuditEntry.seq).all()
        assert [e.event_type for e in entries] == ["DepartmentCreated"] * 3
        assert entries[0].prev_hash == "0" * 64
        assert entries[1].prev_hash == entries[0].hash
        assert "部门1" in entries[1].payload
        report = verify_chain(uow.session)
    assert report.ok and report.checked == 3


def test_failed_transaction_leaves_no_audit_entry(storage, system, backend):
    _chain(storage, system, 1)
    with storage.uow() as uow, pytest.raises(Exception):
        service.create_department(uow, system, code="D0", name="重复", level="city", region_code="990100")
    with storage.uow() as uow:
        assert uow.session.query(AuditEntry).count() == 1


def test_the_table_refuses_updates(storage, system, backend):
    _chain(storage, system, 1)
    with storage.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE audit_entries SET actor_name = 'mallory'"))


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap", "truncate"])
def test_tampering_is_reported_at_the_first_broken_row(storage, system, backend, tamper):
    _chain(storage, system, 5)
    with storage.engine.begin() as conn:
        _drop_guards(conn, backend)
        if tamper == "edit":
            conn.execute(text("UPDATE audit_entries SET payload = replace(payload, '部门2', '部门X') WHERE seq = 3"))
        elif tamper == "delete":
            conn.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
        elif tamper == "swap":  # exchange the contents of rows 2 and 4, keeping their ids
            rows = {r.id: r for r in conn.execute(text("SELECT * FROM audit_entries WHERE seq IN (2, 4)"))}
            (id_a, a), (id_b, b) = sorted(rows.items())
            for target, src in ((id_a, b), (id_b, a)):
                conn.execute(text("UPDATE audit_entries SET seq = :seq + 1000, payload = :p, hash = :h, prev_hash = :ph "
                                  "WHERE id = :id"), {"seq": src.seq, "p": src.payload, "h": src.hash,
                                                       "ph": src.prev_hash, "id": target})
            conn.execute(text("UPDATE audit_entries SET seq = seq - 1000 WHERE seq > 1000"))
        else:
            conn.execute(text("DELETE FROM audit_entries WHERE seq = 5"))
    with storage.uow() as uow:
        report = verify_chain(uow.session)
    assert not report.ok
    assert report.broken_seq == {"edit": 3, "delete": 3, "swap": 4, "truncate": 5}[tamper]
    assert report.reason
