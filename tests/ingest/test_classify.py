"""Column classification on arrival: content detection under innocent headers, header hints, false positives."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.ingest.classify import (
    CONTENT_CHECKS,
    HEADER_KEYWORDS,
    SAMPLE_SIZE,
    SURNAMES,
    _minors,
    _shares,
    header_hint,
    is_address,
    propose,
    propose_labels,
)
from huiju.ingest.validators import (
    USCC_CHARS,
    check_citizen_id,
    gb11643_check_char,
    gb32100_check_char,
    luhn_ok,
)
from huiju.security.classification import (
    KIND_POLICIES,
    DataLevel,
    Label,
    default_label_for,
)

RNG = random.Random(20240601)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


def citizen_id(rng: random.Random = RNG, area: str = "110105") -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 80))
    first17 = f"{area}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + gb11643_check_char(first17)


def mobile(rng: random.Random = RNG) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def bank_card(rng: random.Random = RNG, length: int = 19) -> str:
    body = "622848" + "".join(rng.choice("0123456789") for _ in range(length - 7))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def uscc(rng: random.Random = RNG) -> str:
    first17 = "91110105" + "".join(rng.choice(USCC_CHARS) for _ in range(9))
    return first17 + gb32100_check_char(first17)


def person_name(rng: random.Random = RNG) -> str:
    return rng.choice(sorted(SURNAMES)) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def address(rng: random.Random = RNG) -> str:
    district = rng.choice(["海淀区", "朝阳区", "西湖区", "天河区"])
    return f"{rng.choice(['北京市', '杭州市', '广州市'])}{district}{rng.choice(['中山', '解放', '人民'])}路{rng.randint(1, 999)}号"


def email(rng: random.Random = RNG) -> str:
    return f"{rng.choice(['zhang', 'li.na', 'wang_wei'])}{rng.randint(1, 999)}@{rng.choice(['163.com', 'gov.cn'])}"


GENERATORS = {
    "citizen_id": citizen_id, "mobile": mobile, "bank_card": bank_card, "uscc": uscc,
    "person_name": person_name, "address": address, "email": email,
}  # fmt: skip
MASK = {"citizen_id": "CN_ID", "mobile": "CN_MOBILE", "bank_card": "CN_BANK_CARD", "uscc": None,
        "person_name": "CN_NAME", "address": "CN_ADDRESS", "email": "CN_EMAIL"}  # fmt: skip
COMMENTS = ["已核实", "无", "待补充材料", "OK", "见附件", "电话未接通", "2023年已办结", "同上"]


def column(kind: str, n: int = 200) -> pa.Array:
    return pa.array([GENERATORS[kind]() for _ in range(n)])


def test_every_detected_kind_has_a_policy() -> None:
    assert set(HEADER_KEYWORDS) | set(CONTENT_CHECKS) | {"none"} <= KIND_POLICIES.keys()
    assert set(GENERATORS) == set(CONTENT_CHECKS)


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_kind_detected_from_content_under_an_innocent_header(kind: str) -> None:
    proposal = propose("备注", column(kind))
    assert proposal.kind == kind
    assert proposal.confidence >= 0.95
    assert proposal.mask == MASK[kind]
    assert proposal.evidence.header_kind is None and proposal.evidence.sampled == 200
    assert proposal.evidence.shares[kind] >= 0.95


@pytest.mark.parametrize("header, kind", [("公民身份号码", "citizen_id"), ("联系电话", "mobile"), ("法定代表人", "person_name"),
                                          ("住所", "address"), ("银行卡号", "bank_card"), ("Email", "email")])
def test_matching_header_raises_confidence(header: str, kind: str) -> None:
    values = [GENERATORS[kind]() for _ in range(70)] + COMMENTS * 4  # 70 % valid: dirty, but that kind
    alone, hinted = propose("备注", pa.array(values)), propose(header, pa.array(values))
    assert hinted.kind == kind and hinted.evidence.header_kind == kind
    assert hinted.confidence > max(alone.confidence, 0.8)


@pytest.mark.parametrize("header, kind", [("身份证号", "citizen_id"), ("手机号码", "mobile"), ("姓名", "person_name"),
                                          ("户籍地址", "address"), ("银行账号", "bank_card"), ("电子邮箱", "email")])
def test_header_hint_with_non_matching_content_has_low_confidence(header: str, kind: str) -> None:
    proposal = propose(header, pa.array(COMMENTS * 10))
    assert proposal.kind == kind and proposal.confidence < 0.5
    assert proposal.label == default_label_for(kind)  # still labelled 就高从严, for a person to check


def test_content_beats_header() -> None:
    proposal = propose("身份证号", column("mobile"))
    assert proposal.kind == "mobile" and proposal.confidence >= 0.95
    assert proposal.evidence.header_kind == "citizen_id"


def test_mobiles_in_a_remarks_column_as_injected_by_the_demo_city() -> None:
    values = [mobile() if i % 10 else None for i in range(5000)] + ["+86 13800138000", " 13900139000 "]
    proposal = propose_labels({"备注": pa.chunked_array([values[:2000], values[2000:]])})["备注"]
    assert proposal.kind == "mobile" and proposal.label.sensitive_pi and proposal.mask == "CN_MOBILE"
    assert proposal.evidence.sampled == SAMPLE_SIZE


def test_uscc_is_not_personal() -> None:
    proposal = propose("统一社会信用代码", column("uscc"))
    assert proposal.kind == "uscc" and proposal.confidence >= 0.95
    assert proposal.label == Label(DataLevel.GENERAL_2) and not proposal.label.personal
    assert proposal.mask is None


@pytest.mark.parametrize(
    "array",
    [
        pa.array([round(RNG.uniform(0, 1e7), 2) for _ in range(300)]),
        pa.array([Decimal(RNG.randrange(10**12)) / 100 for _ in range(300)], pa.decimal128(14, 2)),
        pa.array([RNG.randrange(10**8) for _ in range(300)]),
        pa.array([str(RNG.randrange(10**15, 10**19)) for _ in range(1000)]),  # big random numbers: ~10 % pass Luhn
    ],
    ids=["float", "decimal", "int", "random-16-19-digits"],
)
def test_amounts_are_not_bank_cards(array: pa.Array) -> None:
    proposal = propose("金额", array)
    assert proposal.kind == "none" and not proposal.label.personal and proposal.mask is None


def test_bank_card_needs_a_hint_or_95_percent() -> None:
    noise = [n for n in (str(RNG.randrange(10**15, 10**16)) for _ in range(100)) if not luhn_ok(n)][:8]
    values = [bank_card() for _ in range(92)] + noise  # 92 %: short of 95 % without a hint
    unhinted, hinted = propose("备注", pa.array(values)), propose("卡号", pa.array(values))
    assert unhinted.kind == "bank_card" and unhinted.confidence < 0.5  # flagged for review only
    assert hinted.kind == "bank_card" and hinted.confidence > 0.9
    assert propose("备注", pa.array([bank_card(length=16) for _ in range(100)])).confidence >= 0.95


def test_half_ids_is_not_confidently_an_id_column() -> None:
    values = [citizen_id() for _ in range(100)] + COMMENTS * 13
    RNG.shuffle(values)
    proposal = propose("备注", pa.array(values[:200]))
    assert not (proposal.kind == "citizen_id" and proposal.confidence >= 0.5)
    assert proposal.kind in {"citizen_id", "none"}  # flagged for review rather than passed over


@pytest.mark.parametrize(
    "array",
    [pa.array([], pa.string()), pa.array([None] * 10, pa.string()), pa.nulls(5), pa.array(["", "  ", None]),
     pa.chunked_array([], pa.string())],
    ids=["empty", "all-null", "null-type", "blank", "no-chunks"],
)
def test_empty_columns_are_none(array: pa.Array) -> None:
    proposal = propose("备注", array)
    assert proposal.kind == "none" and proposal.evidence.sampled == 0 and proposal.mask is None


def test_empty_column_with_a_telling_header_keeps_the_hint() -> None:
    proposal = propose("身份证号", pa.array([None, None], pa.string()))
    assert proposal.kind == "citizen_id" and proposal.confidence == 0.5 and proposal.mask == "CN_ID"


def test_integer_and_dictionary_columns_are_read_as_text() -> None:
    mobiles = [int(mobile()) for _ in range(100)]
    assert propose("备注", pa.array(mobiles, pa.int64())).kind == "mobile"
    assert propose("备注", pa.array([person_name() for _ in range(100)]).dictionary_encode()).kind == "person_name"


def test_plain_words_are_not_names_or_addresses() -> None:
    words = ["苹果", "香蕉", "公安局", "民政局", "财政局", "已办结", "市场监管", "华东区销售部", "合格", "不合格"] * 20
    assert propose("类别", pa.array(words)).kind == "none"


def test_minors_are_recognised_from_birth_dates() -> None:
    today = date(2024, 6, 1)
    adults = [first17 + gb11643_check_char(first17) for first17 in (f"44030519{y}0101{y:03d}" for y in range(40, 90))]
    child = "440305" + "20100602" + "123"  # 14 tomorrow
    assert propose("身份证号", pa.array(adults), today=today).label.categories == {"identity"}
    proposal = propose("学生身份证件号", pa.array([*adults, child + gb11643_check_char(child)]), today=today)
    assert proposal.label.categories == {"identity", "minor"} and proposal.evidence.minors == 1
    assert proposal.label.sensitive_pi and proposal.mask == "CN_ID"


@pytest.mark.parametrize(
    "value, expected",
    [("示例省示例市城关区东关街道潜江大道322号", True), ("北京市海淀区中关村大街1号院", True), ("中山路12号", True),
     ("北京市海淀区", True), ("示市监许〔2023〕1号", False), ("国家税务总局示例市城关区税务局", False),
     ("示例市第一人民医院", False), ("大冶南路口站", False), ("华东区销售部", False), ("市场监管", False)],
)
def test_address_shapes(value: str, expected: bool) -> None:
    assert is_address(value) is expected


def test_a_minority_of_name_like_words_is_not_flagged() -> None:
    units = ["万元", "亿元", "万吨", "个", "%", "人", "高一", "高二", "万人次", "元/千克"] * 10
    assert propose("计量单位", pa.array(units)).kind == "none"


def test_header_only_kinds() -> None:
    assert propose("指纹特征", pa.array(["a3f9…", "77c2…"])).kind == "biometric"
    assert propose("诊断结果", pa.array(["高血压", "糖尿病"])).label.sensitive_pi


@pytest.mark.parametrize(
    "header, kind",
    [("身份证号", "citizen_id"), ("法定代表人身份证号", "citizen_id"), ("联系人电话", "mobile"), ("联系人姓名", "person_name"),
     ("电子邮箱地址", "email"), ("户籍所在地地址", "address"), ("idCard", "citizen_id"), ("contact_phone", "mobile"),
     ("E-mail", "email"), ("SFZH", "citizen_id"), ("统一社会信用代码", "uscc"), ("备注", None), ("hotel", None),
     ("金额", None), ("企业名称", None), ("户籍地址行政区划代码", None), ("身份证有效期", None), ("邮政编码", None),
     ("组织机构代码", None), ("行政相对人代码_1（统一社会信用代码）", "uscc"), ("GMSFHM", "citizen_id"), ("id_type", None)],
)
def test_header_hint(header: str, kind: str | None) -> None:
    hint = header_hint(header)
    assert (hint[0] if hint else None) == kind


def test_propose_labels_covers_every_column() -> None:
    table = pa.table({"姓名": column("person_name", 20), "备注": column("citizen_id", 20), "金额": list(range(20))})
    proposals = propose_labels(dict(zip(table.column_names, table.columns)))
    assert {name: p.kind for name, p in proposals.items()} == {"姓名": "person_name", "备注": "citizen_id", "金额": "none"}
    assert all(p.column == name and 0 <= p.confidence <= 1 for name, p in proposals.items())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.dates(date(1900, 1, 1), date(2020, 12, 31)), st.integers(0, 999),
                          st.sampled_from(["110101", "440305", "510104", "990101"])), min_size=1, max_size=60))
def test_any_valid_ids_are_detected(rows: list[tuple[date, int, str]]) -> None:
    ids = [f"{area}{d:%Y%m%d}{seq:03d}" for d, seq, area in rows]
    proposal = propose("备注", pa.array([first17 + gb11643_check_char(first17) for first17 in ids]))
    assert proposal.kind == "citizen_id" and proposal.confidence >= 0.8
    assert proposal.label.sensitive_pi and proposal.label.level is DataLevel.GENERAL_4


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=12), max_size=40), st.sampled_from(["备注", "身份证号", "x", ""]))
def test_any_text_gives_a_well_formed_proposal(values: list[str], header: str) -> None:
    proposal = propose(header, pa.array(values, pa.string()))
    assert 0 <= proposal.confidence <= 1 and proposal.column == header
    assert proposal.evidence.sampled <= len(values)
    assert proposal.label.personal == (proposal.mask is not None)


def _reference_shares(values: list[str]) -> dict[str, float]:
    """What propose computed before the vectorised checks: each Python check on each value."""
    return {kind: sum(map(check, values)) / len(values) for kind, check in CONTENT_CHECKS.items()}


def _reference_minors(values: list[str], today: date) -> int:
    cutoff = f"{today.year - 14:04d}{today:%m%d}"
    checks = (check_citizen_id(v, today=today) for v in values)
    return sum(1 for c in checks if c.normalized and c.normalized[6:14] > cutoff)


_NOISE = ["", "x", "中文", "13912345678 ", "＋８６１３９１２３４５６７８", "6228 4804 0256 4890 018", "91340600ma2pbp2120",
          "110105491231002", "11010519491231002x", "１１０１０５２０１５０６０２００２Ｘ", "4111111111111111", "1391234567"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(sorted(GENERATORS)) | st.sampled_from(_NOISE) | st.text(max_size=20), min_size=1,
                max_size=80), st.randoms(use_true_random=False))
def test_vectorised_shares_and_minors_equal_the_per_value_checks(kinds: list[str], rng: random.Random) -> None:
    values = [GENERATORS[k](rng) if k in GENERATORS else k for k in kinds]
    values += [citizen_id(rng) for _ in range(3)] + ["440305" + "20150602" + "123"]
    values[-1] += gb11643_check_char(values[-1])  # a child's ID, so minors are counted both ways
    assert _shares(values) == _reference_shares(values)
    for today in (date(2024, 6, 1), date(2029, 6, 2), date(1995, 1, 1)):
        assert _minors(values, today) == _reference_minors(values, today)
