"""The share-request state machine in one place: states, who may move a request where, and the SLA clocks.

国发〔2016〕51号: 无条件共享 is granted at once; 有条件共享 goes (optionally) through the operator's compliance
review, then to the providing department, which must answer within 10 working days (approve, approve in
part, or reject with a reason); a refusal, or a request for data classed 不予共享, goes to negotiation and
then to the coordinating authority (本级政府信息共享主管部门, the platform operator here), whose ruling ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from huiju.errors import Conflict, Invalid
from huiju.i18n import N_
from huiju.workdays import CHINA, WorkCalendar


class State(StrEnum):
    COMPLIANCE_REVIEW = "compliance_review"  # 主管部门合规审核
    PROVIDER_REVIEW = "provider_review"  # 提供部门审核
    APPROVED = "approved"
    APPROVED_IN_PART = "approved_in_part"
    REJECTED = "rejected"
    NEGOTIATION = "negotiation"  # 协商
    ESCALATED = "escalated"  # 提请主管部门协调
    CLOSED = "closed"  # the coordinating authority upheld the refusal
    WITHDRAWN = "withdrawn"


STATE_LABELS = {
    State.COMPLIANCE_REVIEW: N_("Compliance review"),
    State.PROVIDER_REVIEW: N_("Provider review"),
    State.APPROVED: N_("Approved"),
    State.APPROVED_IN_PART: N_("Approved in part"),
    State.REJECTED: N_("Rejected"),
    State.NEGOTIATION: N_("Negotiation"),
    State.ESCALATED: N_("Escalated to the coordinating authority"),
    State.CLOSED: N_("Closed"),
    State.WITHDRAWN: N_("Withdrawn"),
}

GRANTED = frozenset({State.APPROVED, State.APPROVED_IN_PART})
FINAL = frozenset({State.APPROVED, State.APPROVED_IN_PART, State.CLOSED, State.WITHDRAWN})
# states with a reply clock running, and the party whose clock it is
CLOCKED = {State.COMPLIANCE_REVIEW: "operator", State.PROVIDER_REVIEW: "provider"}


class Party(StrEnum):
    REQUESTER = "requester"  # the using department (使用部门)
    PROVIDER = "provider"  # the providing department (提供部门)
    OPERATOR = "operator"  # the platform operator / coordinating authority (主管部门)


class Step(StrEnum):
    CLEAR = "clear"  # compliance review passed
    REFUSE = "refuse"  # compliance review failed
    APPROVE = "approve"
    APPROVE_IN_PART = "approve_in_part"
    REJECT = "reject"
    NEGOTIATE = "negotiate"
    ESCALATE = "escalate"
    RULE_APPROVE = "rule_approve"
    RULE_APPROVE_IN_PART = "rule_approve_in_part"
    RULE_CLOSE = "rule_close"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Transition:
    step: Step
    source: frozenset[State]
    target: State
    party: Party
    needs_reason: bool = False


_OPEN = frozenset(set(State) - FINAL)
TRANSITIONS: dict[Step, Transition] = {t.step: t for t in [
    Transition(Step.CLEAR, frozenset({State.COMPLIANCE_REVIEW}), State.PROVIDER_REVIEW, Party.OPERATOR),
    Transition(Step.REFUSE, frozenset({State.COMPLIANCE_REVIEW}), State.REJECTED, Party.OPERATOR, needs_reason=True),
    Transition(Step.APPROVE, frozenset({State.PROVIDER_REVIEW, State.NEGOTIATION}), State.APPROVED, Party.PROVIDER),
    Transition(Step.APPROVE_IN_PART, frozenset({State.PROVIDER_REVIEW, State.NEGOTIATION}), State.APPROVED_IN_PART,
               Party.PROVIDER, needs_reason=True),
    Transition(Step.REJECT, frozenset({State.PROVIDER_REVIEW}), State.REJECTED, Party.PROVIDER, needs_reason=True),
    Transition(Step.NEGOTIATE, frozenset({State.REJECTED}), State.NEGOTIATION, Party.REQUESTER, needs_reason=True),
    Transition(Step.ESCALATE, frozenset({State.NEGOTIATION}), State.ESCALATED, Party.REQUESTER, needs_reason=True),
    Transition(Step.RULE_APPROVE, frozenset({State.ESCALATED}), State.APPROVED, Party.OPERATOR),
    Transition(Step.RULE_APPROVE_IN_PART, frozenset({State.ESCALATED}), State.APPROVED_IN_PART, Party.OPERATOR,
               needs_reason=True),
    Transition(Step.RULE_CLOSE, frozenset({State.ESCALATED}), State.CLOSED, Party.OPERATOR, needs_reason=True),
    Transition(Step.WITHDRAW, _OPEN | {State.REJECTED}, State.WITHDRAWN, Party.REQUESTER),
]}


def first_state(share_type: str, *, compliance_review: bool) -> State:
    """Where a new request starts, by the entry's share type (无条件 / 有条件 / 不予共享)."""
    if share_type == "unconditional":
        return State.APPROVED
    if share_type == "conditional":
        return State.COMPLIANCE_REVIEW if compliance_review else State.PROVIDER_REVIEW
    if share_type == "none":
        return State.NEGOTIATION
    raise Invalid("Unknown share type %(type)s", type=share_type)


def check(step: Step | str, current: State | str, *, reason: str = "") -> Transition:
    """The transition ``step`` from ``current``, or a Conflict naming the state the request is in."""
    try:
        transition = TRANSITIONS[Step(step)]
    except ValueError:
        raise Invalid("Unknown step %(step)s", step=step) from None
    if State(current) not in transition.source:
        raise Conflict("A request in state %(state)s cannot be moved by %(step)s", state=State(current).value,
                       step=transition.step.value)
    if transition.needs_reason and not reason.strip():
        raise Invalid("Give a reason for this decision")
    return transition


def steps_from(current: State | str, party: Party) -> list[Step]:
    """The steps ``party`` may take on a request in ``current`` (for buttons on pages)."""
    return [t.step for t in TRANSITIONS.values() if State(current) in t.source and t.party == party]


@dataclass(frozen=True)
class Clock:
    """The reply limit a state runs under, in working days, and when to remind."""

    days: int
    reminder_days: int


def clock_for(state: State, settings, region_code: str) -> Clock | None:
    """Reply limit for ``state``: the compliance review's, or the provider's (per jurisdiction by region prefix)."""
    if state == State.COMPLIANCE_REVIEW:
        return Clock(settings.share_compliance_days, settings.share_reminder_days)
    if state == State.PROVIDER_REVIEW:
        days = settings.share_reply_days
        best = ""
        for prefix, value in settings.share_reply_days_by_region.items():
            if region_code.startswith(prefix) and len(prefix) > len(best):
                best, days = prefix, value
        return Clock(days, settings.share_reminder_days)
    return None


def deadline_for(state: State, entered: datetime, settings, region_code: str,
                 calendar: WorkCalendar) -> datetime | None:
    clock = clock_for(state, settings, region_code)
    return calendar.deadline(entered, clock.days) if clock else None


def remind_at(deadline: datetime, clock: Clock, calendar: WorkCalendar) -> datetime:
    """Start of the working day ``reminder_days`` working days before the deadline's last day."""
    last = (deadline.astimezone(CHINA) - timedelta(microseconds=1)).date()
    day, left = last, clock.reminder_days
    while left:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            left -= 1
    return datetime.combine(day, time(0), CHINA).astimezone(deadline.tzinfo)


# 疑义纠错 reports have a state machine of their own: open until the providing department records an outcome.
OBJECTION_LABELS = {"open": N_("open"), "corrected": N_("corrected"), "confirmed_correct": N_("confirmed correct"),
                    "rejected": N_("rejected")}
