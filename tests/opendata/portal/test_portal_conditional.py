"""Conditional open (有条件开放): application → review by the due date → agreement → scoped key → usage,
expiry and revocation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from huiju.auth import service as auth_service
from huiju.errors import Conflict, Forbidden, Invalid, Unauthenticated
from huiju.opendata.portal import service
from huiju.opendata.portal_models import OpenApplication
from huiju.security import audit  # noqa: F401  (the audit chain subscribes to events)
from huiju.security.models import AuditEntry
from tests.opendata.portal.support import published_entry
from huiju.workdays import WorkCalendar
from tests.support import PASSWORD


def review_due(settings, received, days):
    return WorkCalendar.from_settings(settings).due_day(received, days)

COMMITMENTS = ["仅用于交通出行研究，不用于商业营销", "数据存储于境内并采取访问控制"]


@pytest.fixture
def verified(storage, realname):
    """A public user at the real-name level conditional data needs."""
    with storage.uow() as uow:
        account = service.register_account(uow, username="zhangsan", display_name="张三", password=PASSWORD)
        actor = auth_service.actor_for_user(uow.session.get(auth_service.User, account.user_id))
        service.verify_identity(uow, actor, name="张三", id_number="11010519491231002X", provider=realname)
    return actor


@pytest.fixture
def entries(storage, system, people):
    return {"conditional": published_entry(storage, system, name="公交刷卡客流明细", open_class="conditional"),
            "open": published_entry(storage, system, name="公共停车场信息", open_class="unconditional")}


def _apply(uow, actor, entry_id, **kw):
    args = {"entry_id": entry_id, "purpose": "研究早晚高峰客流分布", "scenario": "高校交通规划课题",
            "commitments": COMMITMENTS, "months": 6, **kw}
    return service.submit_application(uow, actor, **args)


def test_the_whole_flow_ends_with_a_key_scoped_to_the_data(storage, people, verified, entries, backend):
    with storage.uow() as uow:
        app = _apply(uow, verified, entries["conditional"])
        assert app.status == "submitted" and app.department_id is not None
        assert app.due_on == review_due(storage.settings, app.submitted_at, 10)
        with pytest.raises(Conflict, match="in progress"):
            _apply(uow, verified, entries["conditional"])
    with storage.uow() as uow:  # the other department cannot decide; the providing one can
        with pytest.raises(Forbidden):
            service.decide_application(uow, people["rs_steward"], app.id, approve=True)
        queue = service.list_applications_to_review(uow, people["ga_steward"])
        assert [a.id for a in queue] == [app.id]
        assert service.list_applications_to_review(uow, people["rs_steward"]) == []
        service.decide_application(uow, people["ga_steward"], app.id, approve=True, note="同意")
    with storage.uow() as uow:
        with pytest.raises(Forbidden):  # no access before the agreement is accepted
            service.active_grant(uow, verified, entries["conditional"])
        text, digest = service.application_agreement(uow, verified, app.id)
        assert "数据利用协议" in text and "公交刷卡客流明细" in text and COMMITMENTS[0] in text
        with pytest.raises(Invalid, match="agreement has changed"):
            service.accept_agreement(uow, verified, app.id, agreement_sm3="0" * 64)
        accepted = service.accept_agreement(uow, verified, app.id, agreement_sm3=digest)
        assert accepted.application.status == "active" and accepted.key.kind == "conditional"
        assert accepted.application.agreement_sm3 == digest
        assert accepted.application.expires_at > datetime.now(UTC) + timedelta(days=170)
    with storage.uow() as uow:
        grant = service.active_grant(uow, verified, entries["conditional"])
        assert grant.id == app.id
        key_actor = auth_service.actor_for_token(uow, accepted.plaintext)
        assert key_actor.scopes == frozenset({"opendata.read"})
        assert service.active_grant(uow, key_actor, entries["conditional"]).id == app.id  # the key reads it
        with pytest.raises(Forbidden):  # and can do nothing else in the user's name
            service.list_my_applications(uow, key_actor)
        report = service.report_usage(uow, verified, app.id, summary="完成客流时空分布分析报告",
                                      outcome_url="https://example.edu.cn/report")
        assert [r.id for r in service.list_usage_reports(uow, people["ga_steward"], app.id)] == [report.id]
    with storage.uow() as uow:
        service.revoke_application(uow, people["ga_steward"], app.id, reason="超出申请用途使用")
    with storage.uow() as uow:
        with pytest.raises(Unauthenticated, match="revoked"):
            auth_service.actor_for_token(uow, accepted.plaintext)
        with pytest.raises(Forbidden):
            service.active_grant(uow, verified, entries["conditional"])
        kinds = [e.event_type for e in uow.session.scalars(select(AuditEntry))]
        for kind in ("ApplicationSubmitted", "ApplicationDecided", "AgreementAccepted", "UsageReported",
                     "ApplicationRevoked", "TokenRevoked"):
            assert kind in kinds


def test_who_may_apply_and_for_what(storage, people, verified, entries):
    with storage.uow() as uow:
        with pytest.raises(Forbidden, match="verified account"):
            _apply(uow, people["citizen"], entries["conditional"])  # not real-name verified
        with pytest.raises(Invalid, match="not conditionally open"):
            _apply(uow, verified, entries["open"])
        with pytest.raises(Invalid, match="security commitments"):
            _apply(uow, verified, entries["conditional"], commitments=[" "])
        with pytest.raises(Invalid, match="1 to 12 months"):
            _apply(uow, verified, entries["conditional"], months=24)
        with pytest.raises(Unauthenticated):
            _apply(uow, auth_service.Actor.anonymous(), entries["conditional"])


def test_refusal_needs_a_reason_and_expiry_ends_access(storage, people, verified, entries, system):
    with storage.uow() as uow:
        app = _apply(uow, verified, entries["conditional"])
        with pytest.raises(Invalid, match="is required"):
            service.decide_application(uow, people["ga_steward"], app.id, approve=False)
        service.decide_application(uow, people["ga_steward"], app.id, approve=False, note="用途与数据无关")
        assert app.status == "rejected"
    with storage.uow() as uow:  # a new application after a refusal is allowed
        app2 = _apply(uow, verified, entries["conditional"])
        service.decide_application(uow, people["op"], app2.id, approve=True)
        _, digest = service.application_agreement(uow, verified, app2.id)
        service.accept_agreement(uow, verified, app2.id, agreement_sm3=digest)
    with storage.uow() as uow:
        row = uow.session.get(OpenApplication, app2.id)
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        uow.commit()
        assert service.expire_applications(uow, system) == [app2.id]
        assert uow.session.get(OpenApplication, app2.id).status == "expired"
        with pytest.raises(Forbidden):
            service.active_grant(uow, verified, entries["conditional"])
        with pytest.raises(Forbidden):
            service.expire_applications(uow, people["ga_steward"])


def test_due_dates_count_chinese_working_days():
    from huiju.config import Settings

    settings = Settings()
    # submitted Friday 2026-09-25 (Beijing): National Day holiday 10-01..10-08, make-up workday Sat 09-27 (none in
    # 2026: 10-10 Saturday is a workday), so 10 working days land after the holiday
    received = datetime(2026, 9, 25, 2, 0, tzinfo=UTC)
    due = review_due(settings, received, 10)
    assert due > date(2026, 10, 8)
    plain = review_due(settings, datetime(2027, 3, 1, 2, 0, tzinfo=UTC), 5)  # year not in the schedule: Mon-Fri
    assert plain == date(2027, 3, 8)


def test_applications_over_http(client, storage, people, entries, realname):
    from tests.support import csrf_of, login

    with storage.uow() as uow:
        service.verify_identity(uow, people["citizen"], name="张三", id_number="11010519491231002X", provider=realname)
    login(client, "citizen")
    csrf = csrf_of(client.get("/open/account").text)
    headers = {"X-CSRF-Token": csrf}
    body = {"entry_id": entries["conditional"], "purpose": "研究", "scenario": "课题", "commitments": COMMITMENTS,
            "months": 3}
    created = client.post("/api/v1/portal/applications", json=body, headers=headers)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    client.cookies.clear()
    login(client, "ga_steward")
    csrf = csrf_of(client.get("/open/account").text)
    decided = client.post(f"/api/v1/portal/applications/{app_id}/decision", json={"approve": True},
                          headers={"X-CSRF-Token": csrf})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    client.cookies.clear()
    login(client, "citizen")
    csrf = csrf_of(client.get("/open/account").text)
    agreement = client.get(f"/api/v1/portal/applications/{app_id}/agreement").json()
    accepted = client.post(f"/api/v1/portal/applications/{app_id}/accept", json={"agreement_sm3": agreement["sm3"]},
                           headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200 and accepted.json()["key"].startswith("hj_")
    assert accepted.json()["application"]["status"] == "active"
