"""Requests through every workflow step on the real database: grants, deadlines, reminders, escalation, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from huiju.auth.models import Department
from huiju.errors import Conflict, Forbidden, Invalid
from huiju.security.models import AuditEntry
from huiju.share import service
from huiju.share.models import Grant, RequestLog


def ask(storage, actor, entry_id, fields=("编号", "姓名", "区划", "年龄"), **kw):
    with storage.uow() as uow:
        return service.submit_request(uow, actor, entry_id=entry_id, purpose="社保待遇资格核验",
                                      scenario="养老金发放前核验参保人身份", fields=list(fields), **kw)


def step(storage, actor, request_id, name, **kw):
    with storage.uow() as uow:
        return service.take_step(uow, actor, request_id, name, **kw)


def test_conditional_request_approved_gives_a_grant(storage, people, shared, backend):
    req = ask(storage, people["rs_user"], shared.conditional, row_filter=[{"field": "区划", "op": "=",
                                                                          "value": "990101"}])
    assert req.state == "provider_review" and req.share_type == "conditional"
    assert req.deadline_at is not None and req.consumer_department_id != req.provider_department_id
    with pytest.raises(Forbidden):  # the asking department cannot approve its own request
        step(storage, people["rs_steward"], req.id, "approve")
    done = step(storage, people["ga_steward"], req.id, "approve")
    assert done.state == "approved" and done.deadline_at is None
    with storage.uow() as uow:
        grant = service.grant_for_request(uow, people["rs_user"], req.id)
        assert grant.fields == ["编号", "姓名", "区划", "年龄"]
        assert grant.row_filter == [{"field": "区划", "op": "=", "value": "990101"}]
        events = [e.event_type for e in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert {"RequestSubmitted", "RequestStepTaken", "GrantIssued"} <= set(events)


def test_unconditional_is_granted_at_once_and_none_goes_to_negotiation(storage, people, shared):
    req = ask(storage, people["rs_user"], shared.unconditional, fields=["编号", "区划"])
    assert req.state == "approved" and req.purpose == "社保待遇资格核验"
    with storage.uow() as uow:
        assert service.grant_for_request(uow, people["rs_user"], req.id).state == "active"
    refused = ask(storage, people["rs_user"], shared.refused, fields=["编号", "手机号"])
    assert refused.state == "negotiation" and refused.deadline_at is None


def test_stricter_item_makes_the_request_conditional(storage, people, shared):
    # the unconditional entry's fields are unconditional; asking the conditional entry for them is conditional
    req = ask(storage, people["rs_user"], shared.conditional, fields=["编号"])
    assert req.share_type == "conditional"


def test_partial_approval_narrows_and_masks(storage, people, shared):
    req = ask(storage, people["rs_user"], shared.conditional)
    with pytest.raises(Invalid):  # narrowing needs a reason
        step(storage, people["ga_steward"], req.id, "approve_in_part", fields=["编号", "姓名"])
    with pytest.raises(Invalid):  # cannot grant a field not asked for
        step(storage, people["ga_steward"], req.id, "approve_in_part", reason="最小必要", fields=["编号", "手机号"])
    with pytest.raises(Invalid):  # a narrowing is not a plain approval
        step(storage, people["ga_steward"], req.id, "approve", masks={"姓名": "CN_NAME"})
    done = step(storage, people["ga_steward"], req.id, "approve_in_part", reason="最小必要原则",
                fields=["编号", "姓名", "区划"], extra_filter=[{"field": "年龄", "op": ">=", "value": 60}],
                masks={"姓名": "CN_NAME"}, max_calls=100)
    assert done.state == "approved_in_part"
    with storage.uow() as uow:
        grant = service.grant_for_request(uow, people["rs_user"], req.id)
        assert grant.fields == ["编号", "姓名", "区划"] and grant.masks == {"姓名": "CN_NAME"}
        assert grant.row_filter == [{"field": "年龄", "op": ">=", "value": 60}] and grant.max_calls == 100


def test_reject_negotiate_escalate_and_rule(storage, people, shared):
    req = ask(storage, people["rs_user"], shared.conditional)
    step(storage, people["ga_steward"], req.id, "reject", reason="超出职责范围")
    with pytest.raises(Forbidden):  # only the asking side negotiates
        step(storage, people["ga_steward"], req.id, "negotiate", reason="x")
    step(storage, people["rs_steward"], req.id, "negotiate", reason="该数据用于养老金资格认证，属法定职责")
    with storage.uow() as uow:
        service.post_message(uow, people["ga_steward"], req.id, "请提供职责依据文件")
    step(storage, people["rs_user"], req.id, "escalate", reason="协商未果")
    with pytest.raises(Forbidden):
        step(storage, people["ga_steward"], req.id, "rule_approve")
    ruled = step(storage, people["op"], req.id, "rule_close", reason="维持不予共享决定")
    assert ruled.state == "closed"
    with storage.uow() as uow:
        log = service.request_log(uow, people["rs_user"], req.id)
        assert [(e.kind, e.step) for e in log] == [("step", "submit"), ("step", "reject"), ("step", "negotiate"),
                                                   ("message", None), ("step", "escalate"), ("step", "rule_close")]
        assert uow.session.scalar(select(Grant).where(Grant.request_id == req.id)) is None
    with pytest.raises(Conflict):
        step(storage, people["rs_user"], req.id, "withdraw")


def test_compliance_review_then_provider(storage, people, shared, settings):
    settings.share_compliance_review = True
    req = ask(storage, people["rs_user"], shared.conditional)
    assert req.state == "compliance_review"
    with pytest.raises(Forbidden):
        step(storage, people["ga_steward"], req.id, "clear")
    assert step(storage, people["op"], req.id, "clear").state == "provider_review"
    refused = ask(storage, people["rs_user"], shared.conditional)
    assert step(storage, people["op"], refused.id, "refuse", reason="用途不明确").state == "rejected"


def test_other_departments_do_not_see_requests(storage, people, shared):
    req = ask(storage, people["rs_user"], shared.conditional)
    with storage.uow() as uow:
        assert [r.id for r in service.list_requests(uow, people["ga_steward"], box="inbox")] == [req.id]
        assert service.list_requests(uow, people["ga_steward"], box="mine") == []
        assert [r.id for r in service.list_requests(uow, people["rs_user"], box="mine")] == [req.id]
        with pytest.raises(Forbidden):
            service.list_requests(uow, people["citizen"])


def test_deadlines_remind_then_escalate_across_national_day(storage, people, shared, system):
    req = ask(storage, people["rs_user"], shared.conditional)
    submitted = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in China, before the holiday
    with storage.uow() as uow:
        r = uow.session.get(type(req), req.id)
        r.state_entered_at = submitted
        r.deadline_at = service.calendar(uow.settings).deadline(submitted, 10)
        uow.commit()
        assert r.deadline_at == datetime(2026, 10, 20, 16, 0, tzinfo=UTC)  # end of Tuesday 10-20 in China
    with storage.uow() as uow:  # 10-15: four working days left, nothing yet
        report = service.check_deadlines(uow, system, datetime(2026, 10, 15, 2, tzinfo=UTC))
        assert report.reminded == [] and report.overdue == []
        assert service.workdays_left(uow, people["rs_user"], req.id, datetime(2026, 10, 15, 2, tzinfo=UTC)) == 3
    with storage.uow() as uow:  # 10-16: two working days before the last one: remind once
        assert service.check_deadlines(uow, system, datetime(2026, 10, 16, 2, tzinfo=UTC)).reminded == [req.id]
        assert service.check_deadlines(uow, system, datetime(2026, 10, 16, 3, tzinfo=UTC)).reminded == []
    with storage.uow() as uow:  # 10-21: overdue, escalated to the operator once
        assert service.check_deadlines(uow, system, datetime(2026, 10, 21, 1, tzinfo=UTC)).overdue == [req.id]
        assert service.check_deadlines(uow, system, datetime(2026, 10, 22, 1, tzinfo=UTC)).overdue == []
        overview = service.overdue_by_department(uow, people["op"], datetime(2026, 10, 22, 1, tzinfo=UTC))
        assert [(o["code"], o["waiting"], o["overdue"]) for o in overview] == [("GA", 1, 1)]
        kinds = [e.kind for e in uow.session.scalars(select(RequestLog).where(RequestLog.request_id == req.id))]
        assert kinds == ["step", "reminder", "overdue"]
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.check_deadlines(uow, people["ga_steward"])


def test_bad_requests_get_clear_errors(storage, people, shared):
    with pytest.raises(Invalid):
        ask(storage, people["rs_user"], shared.conditional, fields=["不存在"])
    with pytest.raises(Invalid):
        ask(storage, people["rs_user"], shared.conditional, row_filter=[{"field": "区划", "op": "; DROP", "value": 1}])
    with pytest.raises(Invalid):  # the provider does not ask itself
        ask(storage, people["ga_user"], shared.conditional)
    with storage.uow() as uow, pytest.raises(Invalid):
        service.submit_request(uow, people["rs_user"], entry_id=shared.conditional, purpose=" ", scenario="x",
                               fields=["编号"])


def test_the_job_runner_escalates_overdue_requests(storage, people, shared):
    """`huiju serve`'s workers and `huiju worker` run the share deadlines without anyone calling them."""
    from huiju.jobs import Worker

    req = ask(storage, people["rs_user"], shared.conditional)
    submitted = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    with storage.uow() as uow:
        r = uow.session.get(type(req), req.id)
        r.state_entered_at = submitted
        r.deadline_at = service.calendar(uow.settings).deadline(submitted, 10)
        uow.commit()
    worker = Worker(storage, name="test-worker")
    assert worker.tick(now=datetime(2026, 10, 21, 1, tzinfo=UTC)) is None  # no ingest job, but the chores ran
    worker.tick(now=datetime(2026, 10, 22, 1, tzinfo=UTC))  # within the poll interval: not run twice
    with storage.uow() as uow:
        kinds = [e.kind for e in uow.session.scalars(select(RequestLog).where(RequestLog.request_id == req.id))]
        assert kinds == ["step", "overdue"]


def test_grants_are_drawn_in_the_entry_lineage_for_the_provider_only(storage, people, shared):
    from huiju.catalog import service as catalog_service

    req = ask(storage, people["rs_user"], shared.unconditional, fields=["编号", "区划"])
    with storage.uow() as uow:
        grant = service.grant_for_request(uow, people["rs_user"], req.id)
        consumer = uow.session.get(Department, grant.consumer_department_id).name
        provider_view = catalog_service.entry_lineage(uow, people["ga_steward"], shared.unconditional)
        shown = [(n.label, n.detail) for n in provider_view.nodes.values() if n.column == "egress"]
        assert any(consumer in label and f"{grant.id}" in detail and "编号" in detail for label, detail in shown)
        outsider_view = catalog_service.entry_lineage(uow, people["rs_steward"], shared.unconditional)
        assert not any(consumer in n.label for n in outsider_view.nodes.values() if n.column == "egress")
