"""分类分级: the data levels of GB/T 43697-2024, personal-information labels and their default policies.

Levels: 核心 > 重要 > 一般 (附录H splits 一般 into 4级 严重危害 … 1级 无危害/可公开); combining is 就高从严.
Ordering, labels, open rules and per-kind defaults are data tables below, so a jurisdiction can later
override them from settings without touching the functions.

Choices for personal information (cn-standards.md §3.2), all 就高从严:

* 身份证号 stays sensitive (GENERAL_4) although GB/T 45574-2025 no longer lists the bare number, as the
  reference asks of a government platform; bank card numbers (金融账户), biometrics and health data are
  sensitive under PIPL art. 28.
* Mobile numbers are sensitive too: GB/T 35273-2020 附录B lists 个人电话号码 among its sensitive examples.
* Names, addresses (住址 is 个人基本资料) and e-mail addresses (35273 lists them only together with their
  passwords) are personal but not sensitive: GENERAL_3 with their categories set.
* A column where nothing was detected is GENERAL_2, not GENERAL_1: 可公开 is a person's decision, never a default.
* Only GENERAL_1 may be opened unprocessed (§3.1); GENERAL_2–4 and any personal data need masking or another
  de-identifying transform first; CORE and IMPORTANT are never opened.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import total_ordering

from huiju.errors import Invalid
from huiju.i18n import N_


@total_ordering
class DataLevel(enum.Enum):
    """A GB/T 43697 level; compares by strictness (CORE is the greatest), values are stored as text."""

    CORE = "core"
    IMPORTANT = "important"
    GENERAL_4 = "general_4"
    GENERAL_3 = "general_3"
    GENERAL_2 = "general_2"
    GENERAL_1 = "general_1"

    @property
    def rank(self) -> int:
        """Position in LEVEL_ORDER: 0 for the least strict level."""
        return LEVEL_ORDER.index(self)

    @property
    def label(self) -> str:
        """English msgid; translate where it is shown."""
        return LEVEL_LABELS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, DataLevel):
            return NotImplemented
        return self.rank < other.rank


# Least strict first; strictness (就高从严) is the position in this tuple.
LEVEL_ORDER: tuple[DataLevel, ...] = (
    DataLevel.GENERAL_1, DataLevel.GENERAL_2, DataLevel.GENERAL_3,
    DataLevel.GENERAL_4, DataLevel.IMPORTANT, DataLevel.CORE,
)  # fmt: skip

LEVEL_LABELS: dict[DataLevel, str] = {
    DataLevel.CORE: N_("Core data"),
    DataLevel.IMPORTANT: N_("Important data"),
    DataLevel.GENERAL_4: N_("General data, level 4 (serious harm)"),
    DataLevel.GENERAL_3: N_("General data, level 3 (harm)"),
    DataLevel.GENERAL_2: N_("General data, level 2 (minor harm)"),
    DataLevel.GENERAL_1: N_("General data, level 1 (no harm, may be public)"),
}


class OpenRule(enum.Enum):
    """What a level allows on the open portal."""

    NEVER = "never"
    MASKED = "masked"  # only after masking or another de-identifying transform
    FREE = "free"


OPEN_RULES: dict[DataLevel, OpenRule] = {
    DataLevel.CORE: OpenRule.NEVER,
    DataLevel.IMPORTANT: OpenRule.NEVER,
    DataLevel.GENERAL_4: OpenRule.MASKED,
    DataLevel.GENERAL_3: OpenRule.MASKED,
    DataLevel.GENERAL_2: OpenRule.MASKED,
    DataLevel.GENERAL_1: OpenRule.FREE,
}


@dataclass(frozen=True)
class Category:
    """A personal-information category (GB/T 35273 附录B, GB/T 43697 附录B); `sensitive` per PIPL art. 28."""

    label: str
    sensitive: bool


CATEGORIES: dict[str, Category] = {
    "basic": Category(N_("Basic personal details"), False),
    "contact": Category(N_("Contact details"), False),
    "identity": Category(N_("Identity documents"), True),
    "financial": Category(N_("Financial accounts and property"), True),
    "health": Category(N_("Health and physiological information"), True),
    "biometric": Category(N_("Biometric information"), True),
    "location": Category(N_("Whereabouts and precise location"), True),
    "minor": Category(N_("Personal information of children under 14"), True),
}


@dataclass(frozen=True)
class KindPolicy:
    """Defaults for one kind of column found on arrival: its level, PI categories and egress mask."""

    label: str
    level: DataLevel
    sensitive_pi: bool = False
    categories: frozenset[str] = frozenset()
    mask: str | None = None  # a name in security.masking.MASKS


KIND_POLICIES: dict[str, KindPolicy] = {
    "citizen_id": KindPolicy(N_("Citizen ID number"), DataLevel.GENERAL_4, True, frozenset({"identity"}), "CN_ID"),
    "bank_card": KindPolicy(N_("Bank card number"), DataLevel.GENERAL_4, True, frozenset({"financial"}), "CN_BANK_CARD"),
    "biometric": KindPolicy(N_("Biometric data"), DataLevel.GENERAL_4, True, frozenset({"biometric"}), "MASK_NULL"),
    "health": KindPolicy(N_("Health data"), DataLevel.GENERAL_4, True, frozenset({"health"}), "MASK_NULL"),
    "mobile": KindPolicy(N_("Mobile phone number"), DataLevel.GENERAL_4, True, frozenset({"contact"}), "CN_MOBILE"),
    "person_name": KindPolicy(N_("Person's name"), DataLevel.GENERAL_3, False, frozenset({"basic"}), "CN_NAME"),
    "address": KindPolicy(N_("Address"), DataLevel.GENERAL_3, False, frozenset({"contact"}), "CN_ADDRESS"),
    "email": KindPolicy(N_("Email address"), DataLevel.GENERAL_3, False, frozenset({"contact"}), "CN_EMAIL"),
    "uscc": KindPolicy(N_("Unified social credit code"), DataLevel.GENERAL_2),
    "none": KindPolicy(N_("Nothing detected"), DataLevel.GENERAL_2),
}  # fmt: skip


@dataclass(frozen=True)
class LabelOverride:
    """A recorded exception to 就高从严 (e.g. aggregated data, 附录I): who decided it and why."""

    level: DataLevel
    reason: str
    decided_by: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise Invalid("An exception to the data level needs a reason")
        if not self.decided_by.strip():
            raise Invalid("An exception to the data level needs the person who decided it")


@dataclass(frozen=True)
class Label:
    """The classification of a column or dataset; `level` is the effective level, `override` its exception."""

    level: DataLevel
    sensitive_pi: bool = False
    categories: frozenset[str] = field(default_factory=frozenset)
    override: LabelOverride | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", frozenset(self.categories))
        for name in sorted(self.categories):
            category = CATEGORIES.get(name)
            if category is None:
                raise Invalid("Unknown personal information category %(category)s", category=name)
            if category.sensitive and not self.sensitive_pi:
                raise Invalid(
                    "Category %(category)s is sensitive: mark the label as sensitive personal information",
                    category=name,
                )
        if self.override is not None and self.override.level is not self.level:
            raise Invalid("The level of a label must be the level of its exception")

    @property
    def personal(self) -> bool:
        """True when the column holds personal information of any kind."""
        return self.sensitive_pi or bool(self.categories)


def strictest(levels: Iterable[DataLevel]) -> DataLevel:
    """就高从严: the strictest of the levels; there is no strictest of nothing."""
    levels = list(levels)
    if not levels:
        raise ValueError("strictest() needs at least one level")
    return max(levels)


def combine(labels: Iterable[Label], override: LabelOverride | None = None) -> Label:
    """A dataset's label from its items: strictest level, sensitive if any is, all categories; or the exception."""
    labels = list(labels)
    if not labels:
        raise ValueError("combine() needs at least one label")
    return Label(
        level=override.level if override else strictest(label.level for label in labels),
        sensitive_pi=any(label.sensitive_pi for label in labels),
        categories=frozenset().union(*(label.categories for label in labels)),
        override=override,
    )


def default_label_for(kind: str) -> Label:
    """The label proposed for a detected kind of column (KIND_POLICIES; unknown kinds count as "none")."""
    policy = KIND_POLICIES.get(kind, KIND_POLICIES["none"])
    return Label(policy.level, policy.sensitive_pi, policy.categories)


def default_mask_for(kind: str) -> str | None:
    """The mask to apply when this kind of column leaves its department; None when no mask is due."""
    policy = KIND_POLICIES.get(kind)
    return policy.mask if policy else None


def may_open(label: Label, *, masked: bool = False) -> bool:
    """Whether the label allows the open portal; `masked`: a de-identifying mask is applied to the column."""
    rule = OPEN_RULES[label.level]
    if rule is OpenRule.NEVER:
        return False
    if rule is OpenRule.MASKED or label.personal:
        return masked
    return True
