"""The one place the entry lifecycle lives: draft → under review → published → withdrawn.

A steward submits a draft (or a withdrawn entry) for review; the platform operator approves, which
publishes it, or rejects it back to draft with a reason; a published entry can be withdrawn, and
edited again only once withdrawn or back in draft.
"""

from __future__ import annotations

from huiju.catalog.vocab import STATES
from huiju.errors import Conflict
from huiju.i18n import N_, gettext

DRAFT, UNDER_REVIEW, PUBLISHED, WITHDRAWN = "draft", "under_review", "published", "withdrawn"
ALL_STATES = (DRAFT, UNDER_REVIEW, PUBLISHED, WITHDRAWN)

# (state, verb) → next state
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, "submit"): UNDER_REVIEW,
    (WITHDRAWN, "submit"): UNDER_REVIEW,
    (UNDER_REVIEW, "approve"): PUBLISHED,
    (UNDER_REVIEW, "reject"): DRAFT,
    (PUBLISHED, "withdraw"): WITHDRAWN,
}
EDITABLE = {DRAFT, WITHDRAWN}

VERB_LABELS = {
    "submit": N_("submit for review"),
    "approve": N_("approve and publish"),
    "reject": N_("reject"),
    "withdraw": N_("withdraw"),
    "update": N_("edit"),
}


def next_state(state: str, verb: str) -> str:
    """The state after ``verb``, or a Conflict saying why the entry cannot take it now."""
    target = TRANSITIONS.get((state, verb))
    if target is None:
        raise Conflict("A catalog entry that is %(state)s cannot %(verb)s", state=gettext(STATES[state]),
                       verb=gettext(VERB_LABELS[verb]))
    return target


def check_editable(state: str) -> None:
    if state not in EDITABLE:
        raise Conflict("A catalog entry that is %(state)s cannot %(verb)s", state=gettext(STATES[state]),
                       verb=gettext(VERB_LABELS["update"]))
