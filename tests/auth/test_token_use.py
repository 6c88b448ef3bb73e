"""A token's last use is recorded to the minute and never makes a call fail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from huiju.auth import service
from huiju.auth.models import ApiToken, Department


def _issue(storage, actor) -> tuple[int, str]:
    with storage.uow() as uow:
        issued = service.create_token(uow, actor, name="etl", scopes=["auth.department.view"])
        return issued.token.id, issued.plaintext


def _last_used(storage, token_id):
    with storage.uow() as uow:
        return uow.get(ApiToken, token_id).last_used_at


def test_last_use_is_written_at_most_once_a_minute(storage, people):
    token_id, plaintext = _issue(storage, people["ga_steward"])
    with storage.uow() as uow:
        assert service.actor_for_token(uow, plaintext).username == "ga_steward"
    first = _last_used(storage, token_id)
    assert first is not None
    with storage.uow() as uow:
        service.actor_for_token(uow, plaintext)
    assert _last_used(storage, token_id) == first  # a burst of calls is one write, not one per call
    with storage.engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=first - timedelta(minutes=2)))
    with storage.uow() as uow:
        service.actor_for_token(uow, plaintext)
    assert _last_used(storage, token_id) > first - timedelta(minutes=1)


def test_a_writer_committing_between_read_and_write_does_not_fail_the_call(storage, people):
    token_id, plaintext = _issue(storage, people["rs_steward"])
    with storage.uow() as uow:
        uow.session.scalar(uow.session.query(Department.id).limit(1).statement)  # this transaction has read
        with storage.engine.begin() as conn:  # another connection commits meanwhile
            conn.execute(update(Department).where(Department.code == "GA").values(name="示例市公安局（改）"))
        actor = service.actor_for_token(uow, plaintext)  # on SQLite its write now meets "database is locked"
        assert actor.username == "rs_steward"
        assert uow.session.scalar(uow.session.query(Department.name).where(Department.code == "GA").statement) \
            == "示例市公安局（改）"  # and the call goes on, in a transaction that sees the other commit
