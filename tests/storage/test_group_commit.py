"""Group commit: concurrent callers share transactions, each returns only once its events are committed,
and a failing item fails alone."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from huiju.auth.roles import Actor
from huiju.errors import Invalid
from huiju.events import Event
from huiju.security.audit import verify_chain
from huiju.security.models import AuditEntry
from huiju.storage.uow import Storage, UnitOfWork


@dataclass(frozen=True, kw_only=True)
class Pinged(Event):
    context: ClassVar[str] = "storage"
    n: int


def _entries(storage: Storage, event_type: str = "Pinged") -> list[str]:
    with storage.uow() as uow:
        return list(uow.session.scalars(select(AuditEntry.payload).where(AuditEntry.event_type == event_type)))


@pytest.mark.usefixtures("backend")
def test_concurrent_commits_all_land_in_one_verifiable_chain(storage: Storage, system: Actor) -> None:
    start = threading.Barrier(12)
    results: dict[int, object] = {}
    errors: dict[int, BaseException] = {}

    def call(n: int) -> None:
        with storage.uow() as uow:
            uow.emit(system, Pinged(n=n))
            start.wait()

            def write(into: UnitOfWork) -> int:
                if n == 7:
                    raise Invalid("Item %(n)s is bad", n=n)
                into.emit(system, Pinged(n=100 + n))
                return n * 10

            try:
                results[n] = uow.commit_grouped(write)
            except Invalid as exc:
                errors[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(errors) == {7}  # the bad item failed alone; the others of its batch were committed
    assert results == {n: n * 10 for n in range(12) if n != 7}
    payloads = _entries(storage)
    assert len(payloads) == 22  # two events per good call, none of the bad one's
    assert not any('"n":7}' in p or '"n":107}' in p for p in payloads)
    with storage.uow() as uow:
        report = verify_chain(uow.session)
        assert report.ok, report.reason
        assert report.checked == uow.session.scalar(select(func.count()).select_from(AuditEntry))


def test_pending_changes_make_it_a_plain_commit(storage: Storage, system: Actor) -> None:
    """A unit that also changed rows commits them with its events in one transaction (no grouping)."""
    from huiju.auth import service as auth

    with storage.uow() as uow:
        auth.create_department(uow, system, code="GC", name="组提交", level="city", region_code="990100")
    with storage.uow() as uow:
        dept = auth.list_departments(uow, system)[0]
        dept.name = "组提交二"
        uow.emit(system, Pinged(n=1))
        assert uow.commit_grouped(lambda into: "written") == "written"
    with storage.uow() as uow:
        assert auth.list_departments(uow, system)[0].name == "组提交二"
    assert len(_entries(storage)) == 1
