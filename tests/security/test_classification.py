"""分类分级 vocabulary and default policies: ordering, 就高从严, recorded exceptions, opening and masks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiju.errors import Invalid
from huiju.i18n import gettext, set_locale
from huiju.security.classification import (
    CATEGORIES,
    KIND_POLICIES,
    LEVEL_LABELS,
    LEVEL_ORDER,
    OPEN_RULES,
    DataLevel,
    Label,
    LabelOverride,
    combine,
    default_label_for,
    default_mask_for,
    may_open,
    strictest,
)
from huiju.security.masking import MASKS

L = DataLevel
SENSITIVE = sorted(name for name, category in CATEGORIES.items() if category.sensitive)

levels = st.sampled_from(list(DataLevel))
labels = st.builds(
    lambda level, sensitive, plain: Label(level, bool(sensitive) or sensitive is None, frozenset(sensitive or plain)),
    levels,
    st.one_of(st.none(), st.sets(st.sampled_from(SENSITIVE), max_size=3)),
    st.sets(st.sampled_from(["basic", "contact"])),
)


def test_levels_are_ordered_strictest_first() -> None:
    assert L.CORE > L.IMPORTANT > L.GENERAL_4 > L.GENERAL_3 > L.GENERAL_2 > L.GENERAL_1
    assert L.GENERAL_1 < L.CORE and L.GENERAL_2 <= L.GENERAL_2 and not L.GENERAL_3 >= L.GENERAL_4
    assert sorted(DataLevel) == list(LEVEL_ORDER)
    assert [level.rank for level in LEVEL_ORDER] == list(range(6))
    with pytest.raises(TypeError):
        _ = L.CORE < "core"  # type: ignore[operator]


def test_level_tables_cover_every_level_once() -> None:
    assert len(LEVEL_ORDER) == len(set(LEVEL_ORDER)) == len(DataLevel)
    assert LEVEL_LABELS.keys() == OPEN_RULES.keys() == set(DataLevel)
    assert DataLevel("general_4") is L.GENERAL_4  # stored as text


@given(st.lists(levels, min_size=1))
def test_strictest_is_the_greatest_rank(values: list[DataLevel]) -> None:
    result = strictest(values)
    assert result in values and all(result.rank >= v.rank for v in values)
    assert strictest(iter(values)) is result


def test_strictest_examples() -> None:
    assert strictest([L.GENERAL_1, L.CORE, L.GENERAL_3]) is L.CORE
    assert strictest([L.GENERAL_2, L.GENERAL_4, L.GENERAL_3]) is L.GENERAL_4
    with pytest.raises(ValueError):
        strictest([])


def test_combine_takes_the_strictest_of_everything() -> None:
    name = Label(L.GENERAL_3, categories=frozenset({"basic"}))
    card = Label(L.GENERAL_4, True, frozenset({"financial"}))
    plain = Label(L.GENERAL_1)
    combined = combine([name, plain, card])
    assert combined == Label(L.GENERAL_4, True, frozenset({"basic", "financial"}))
    assert combined.override is None
    assert combine([plain]) == plain
    with pytest.raises(ValueError):
        combine([])


@given(st.lists(labels, min_size=1), st.randoms())
def test_combine_properties(items: list[Label], rnd) -> None:
    combined = combine(items)
    assert combined.level == strictest(i.level for i in items)
    assert combined.sensitive_pi == any(i.sensitive_pi for i in items)
    assert all(i.categories <= combined.categories for i in items)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert combine(shuffled) == combined
    assert combine([combined, *items]) == combined


def test_override_is_recorded_and_may_lower_the_level() -> None:
    override = LabelOverride(L.GENERAL_2, "aggregated to 区县 level, k ≥ 20 (附录I)", "zhangsan")
    combined = combine([Label(L.GENERAL_4, True, frozenset({"identity"}))], override=override)
    assert combined.level is L.GENERAL_2 and combined.override == override
    assert combined.sensitive_pi and combined.categories == {"identity"}  # the exception changes the level only
    assert not may_open(combined)


@pytest.mark.parametrize("reason, by", [("", "zhangsan"), ("   \n", "zhangsan"), ("aggregated", ""), ("ok", " ")])
def test_override_needs_a_reason_and_a_decider(reason: str, by: str) -> None:
    with pytest.raises(Invalid):
        LabelOverride(L.GENERAL_1, reason, by)


def test_label_checks_its_categories() -> None:
    assert Label(L.GENERAL_3, categories={"contact"}).categories == frozenset({"contact"})  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="Unknown"):
        Label(L.GENERAL_3, categories=frozenset({"shoe size"}))
    with pytest.raises(Invalid, match="sensitive"):
        Label(L.GENERAL_4, sensitive_pi=False, categories=frozenset({"health"}))
    with pytest.raises(Invalid):
        Label(L.GENERAL_4, override=LabelOverride(L.GENERAL_1, "reason", "lisi"))
    assert Label(L.GENERAL_3, categories=frozenset({"basic"})).personal
    assert not Label(L.CORE).personal


@pytest.mark.parametrize(
    "label, raw, masked",
    [
        (Label(L.CORE), False, False),
        (Label(L.IMPORTANT), False, False),
        (Label(L.GENERAL_4, True, frozenset({"identity"})), False, True),
        (Label(L.GENERAL_3, categories=frozenset({"basic"})), False, True),
        (Label(L.GENERAL_2), False, True),
        (Label(L.GENERAL_1), True, True),
        (Label(L.GENERAL_1, True, frozenset({"minor"})), False, True),  # personal data never opens raw
        (Label(L.GENERAL_1, categories=frozenset({"contact"})), False, True),
    ],
)
def test_may_open(label: Label, raw: bool, masked: bool) -> None:
    assert may_open(label) is raw
    assert may_open(label, masked=True) is masked


@given(labels)
def test_may_open_properties(label: Label) -> None:
    assert not may_open(label) or may_open(label, masked=True)  # masking never forbids
    if label.level >= L.IMPORTANT:
        assert not may_open(label, masked=True)
    if label.sensitive_pi:
        assert not may_open(label)


def test_default_masks_exist_and_fit_the_kind() -> None:
    assert {kind: default_mask_for(kind) for kind in ("citizen_id", "mobile", "person_name", "address",
                                                      "bank_card", "email")} == {
        "citizen_id": "CN_ID", "mobile": "CN_MOBILE", "person_name": "CN_NAME", "address": "CN_ADDRESS",
        "bank_card": "CN_BANK_CARD", "email": "CN_EMAIL",
    }  # fmt: skip
    for kind, policy in KIND_POLICIES.items():
        assert policy.mask is None or MASKS[policy.mask].in_sql, kind
        assert (policy.mask is not None) == bool(policy.sensitive_pi or policy.categories), kind
    assert default_mask_for("uscc") is None and default_mask_for("none") is None
    assert default_mask_for("no such kind") is None


def test_default_labels() -> None:
    assert default_label_for("citizen_id") == Label(L.GENERAL_4, True, frozenset({"identity"}))
    assert default_label_for("bank_card") == Label(L.GENERAL_4, True, frozenset({"financial"}))
    assert default_label_for("mobile").sensitive_pi  # GB/T 35273 附录B lists 个人电话号码
    for kind in ("person_name", "address", "email"):
        label = default_label_for(kind)
        assert label.level is L.GENERAL_3 and not label.sensitive_pi and label.personal, kind
    assert default_label_for("uscc") == Label(L.GENERAL_2)
    assert default_label_for("unheard of") == default_label_for("none") == Label(L.GENERAL_2)
    for policy in KIND_POLICIES.values():
        assert policy.categories <= CATEGORIES.keys()
        if policy.sensitive_pi:
            assert policy.level >= L.GENERAL_4  # 附录H: 4级 covers sensitive personal information


def test_labels_are_translated() -> None:
    set_locale("zh_CN")
    msgids = [*LEVEL_LABELS.values(), *(c.label for c in CATEGORIES.values())]
    msgids += [p.label for p in KIND_POLICIES.values()]
    assert all(gettext(m) != m for m in msgids)
    assert gettext(L.CORE.label) == "核心数据"
    with pytest.raises(Invalid) as raised:
        LabelOverride(L.GENERAL_1, "", "zhangsan")
    assert raised.value.localized() != raised.value.message
