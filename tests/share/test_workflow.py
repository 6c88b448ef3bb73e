"""The share-request state machine and the working-day arithmetic across holidays with 调休."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from huiju.config import Settings
from huiju.errors import Conflict, Invalid
from huiju.share import workflow as W
from huiju.workdays import CHINA, WorkCalendar
from huiju.share.workflow import Party, State, Step

CAL = WorkCalendar()


def test_national_day_2026_with_tiaoxiu():
    # 2026: 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are make-up working days (调休)
    assert CAL.is_workday(date(2026, 9, 20)) and CAL.is_workday(date(2026, 10, 10))
    assert not CAL.is_workday(date(2026, 10, 1)) and not CAL.is_workday(date(2026, 10, 7))
    # asked on Wednesday 09-30: 10-08 (Thu) 1, 10-09 (Fri) 2, 10-10 (Sat, 调休) 3, 10-12..16 4-8, 10-19 9, 10-20 10
    assert CAL.add_workdays(date(2026, 9, 30), 10) == date(2026, 10, 20)
    # without the calendar (weekends only) the answer would be 10-14: the holiday matters
    assert date(2026, 10, 14) != CAL.add_workdays(date(2026, 9, 30), 10)


def test_spring_festival_2026_with_tiaoxiu():
    # 02-15..02-23 off; Saturday 02-14 and Saturday 02-28 are working days
    assert CAL.is_workday(date(2026, 2, 14)) and CAL.is_workday(date(2026, 2, 28))
    # asked Friday 02-13: 02-14 (Sat, 调休) 1, 02-24 2, 25 3, 26 4, 27 5, 28 (Sat, 调休) 6, 03-02 7, 3 8, 4 9, 5 10
    assert CAL.add_workdays(date(2026, 2, 13), 10) == date(2026, 3, 5)
    assert CAL.workdays_between(date(2026, 2, 13), date(2026, 3, 5)) == 10
    assert CAL.workdays_between(date(2026, 3, 5), date(2026, 2, 13)) == -10


def test_deadline_is_end_of_the_last_working_day_in_china():
    # 2026-09-29 20:00 UTC is already 09-30 04:00 in China: counting starts from 09-30's next working day
    received = datetime(2026, 9, 29, 20, 0, tzinfo=UTC)
    deadline = CAL.deadline(received, 10)
    assert deadline.astimezone(CHINA) == datetime(2026, 10, 21, 0, 0, tzinfo=CHINA)
    assert CAL.workdays_left(datetime(2026, 10, 20, 3, tzinfo=UTC), deadline) == 0
    assert CAL.workdays_left(datetime(2026, 10, 9, 3, tzinfo=UTC), deadline) == 8
    assert CAL.workdays_left(datetime(2026, 10, 21, 3, tzinfo=UTC), deadline) == -1


def test_reminder_falls_working_days_before_the_deadline():
    deadline = CAL.deadline(datetime(2026, 9, 30, 2, tzinfo=UTC), 10)  # last day 10-20 (Tue)
    at = W.remind_at(deadline, W.Clock(10, 2), CAL)
    assert at.astimezone(CHINA).date() == date(2026, 10, 16)  # Fri; 10-19 (Mon) is the other day


def test_unknown_year_falls_back_or_refuses_by_setting():
    assert not CAL.knows(date(2031, 1, 1))
    assert CAL.is_workday(date(2031, 1, 1))  # Wednesday; only weekends known
    own = WorkCalendar.from_settings(Settings(share_extra_holidays=["2031-01-01"], share_extra_workdays=["2031-01-04"]))
    assert not own.is_workday(date(2031, 1, 1)) and own.is_workday(date(2031, 1, 4))
    strict = WorkCalendar.from_settings(Settings(share_calendar_fallback="refuse"))
    with pytest.raises(Invalid, match="2031"):
        strict.is_workday(date(2031, 3, 3))
    assert strict.is_workday(date(2026, 10, 10))  # known years are unaffected
    with pytest.raises(Invalid):
        WorkCalendar.from_settings(Settings(share_extra_holidays=["next friday"]))


def test_first_state_follows_the_share_type():
    assert W.first_state("unconditional", compliance_review=True) == State.APPROVED
    assert W.first_state("conditional", compliance_review=False) == State.PROVIDER_REVIEW
    assert W.first_state("conditional", compliance_review=True) == State.COMPLIANCE_REVIEW
    assert W.first_state("none", compliance_review=False) == State.NEGOTIATION
    with pytest.raises(Invalid):
        W.first_state("maybe", compliance_review=False)


@pytest.mark.parametrize("step,source,target", [
    (Step.CLEAR, State.COMPLIANCE_REVIEW, State.PROVIDER_REVIEW),
    (Step.REFUSE, State.COMPLIANCE_REVIEW, State.REJECTED),
    (Step.APPROVE, State.PROVIDER_REVIEW, State.APPROVED),
    (Step.APPROVE_IN_PART, State.PROVIDER_REVIEW, State.APPROVED_IN_PART),
    (Step.REJECT, State.PROVIDER_REVIEW, State.REJECTED),
    (Step.NEGOTIATE, State.REJECTED, State.NEGOTIATION),
    (Step.APPROVE, State.NEGOTIATION, State.APPROVED),
    (Step.ESCALATE, State.NEGOTIATION, State.ESCALATED),
    (Step.RULE_APPROVE, State.ESCALATED, State.APPROVED),
    (Step.RULE_APPROVE_IN_PART, State.ESCALATED, State.APPROVED_IN_PART),
    (Step.RULE_CLOSE, State.ESCALATED, State.CLOSED),
    (Step.WITHDRAW, State.PROVIDER_REVIEW, State.WITHDRAWN),
    (Step.WITHDRAW, State.REJECTED, State.WITHDRAWN),
])
def test_every_transition(step, source, target):
    assert W.check(step, source, reason="因为").target == target


def test_illegal_moves_and_missing_reasons_are_refused():
    with pytest.raises(Conflict):
        W.check(Step.APPROVE, State.COMPLIANCE_REVIEW)
    with pytest.raises(Conflict):
        W.check(Step.REJECT, State.APPROVED, reason="x")
    for final in W.FINAL:
        with pytest.raises(Conflict):
            W.check(Step.WITHDRAW, final)
    with pytest.raises(Invalid):
        W.check(Step.REJECT, State.PROVIDER_REVIEW, reason="  ")
    with pytest.raises(Invalid):
        W.check("teleport", State.PROVIDER_REVIEW)


def test_steps_per_party():
    assert W.steps_from(State.PROVIDER_REVIEW, Party.PROVIDER) == [Step.APPROVE, Step.APPROVE_IN_PART, Step.REJECT]
    assert W.steps_from(State.REJECTED, Party.REQUESTER) == [Step.NEGOTIATE, Step.WITHDRAW]
    assert W.steps_from(State.ESCALATED, Party.OPERATOR) == [Step.RULE_APPROVE, Step.RULE_APPROVE_IN_PART,
                                                             Step.RULE_CLOSE]


def test_reply_limit_per_jurisdiction():
    s = Settings(share_reply_days_by_region={"14": 5, "1401": 7})
    assert W.clock_for(State.PROVIDER_REVIEW, s, "990100").days == 10
    assert W.clock_for(State.PROVIDER_REVIEW, s, "140200").days == 5
    assert W.clock_for(State.PROVIDER_REVIEW, s, "140100").days == 7  # the longest prefix wins
    assert W.clock_for(State.COMPLIANCE_REVIEW, s, "140100").days == 2
    assert W.clock_for(State.NEGOTIATION, s, "140100") is None
