"""Identifier validators against every vector of cn-standards.md §4, plus their DuckDB SQL twins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.ingest.validators import (
    ID_CHECK,
    PROVINCE_PREFIXES,
    REASONS_ZH,
    USCC_CHARS,
    USCC_KINDS,
    USCC_WEIGHTS,
    Check,
    check_bank_card,
    check_citizen_id,
    check_mobile,
    check_org_code,
    check_region_code,
    check_uscc,
    gb11643_check_char,
    gb32100_check_char,
    normalize_identifier,
)
from huiju.ingest.validators_sql import (
    quote_ident,
    sql_bank_card_valid,
    sql_citizen_id_valid,
    sql_mobile_valid,
    sql_org_code_valid,
    sql_uscc_valid,
)

TODAY = date(2024, 6, 1)
citizen_id = partial(check_citizen_id, today=TODAY)

CHECK_DIGIT = ("check digit mismatch",)
FORMAT = ("invalid format",)
PILOT = ("early-pilot code with non-standard check character",)


def _id(first17: str) -> str:
    return first17 + gb11643_check_char(first17)


def _uscc(first17: str) -> str:
    return first17 + gb32100_check_char(first17)


def case(value: str, level: str, reasons: tuple[str, ...] = (), normalized: str | None = None) -> pytest.ParameterSet:
    """One vector; `normalized` defaults to the input for accepted values and is always None for rejected ones."""
    expected = None if level == "error" else normalized or value
    return pytest.param(value, level, reasons, expected, id=repr(value))


ID_CASES = [
    # §4.1 valid vectors
    case("11010519491231002X", "ok"),
    case("440524188001010014", "ok"),
    case("360426199101010071", "ok"),
    case("44011320141005001X", "ok"),
    case("412723199010050012", "ok"),
    case("110102199101010078", "ok"),
    case("120110198012010073", "ok"),
    case("440882198503293017", "ok"),
    case("34052419800101001X", "ok"),
    # §4.1 invalid vectors (990426199112010074 is covered by test_demo_province_overrides_reference_vector)
    case("36042619910102009X", "error", CHECK_DIGIT),
    case("360426199113010079", "error", ("invalid birth date",)),
    case("T60426199101010078", "error", FORMAT),
    case("340524198001010013", "error", CHECK_DIGIT),
    # normalisation
    case("\u3000１１０１０５１９４９１２３１００２ｘ ", "ok", (), "11010519491231002X"),
    case("11010519491231002x", "ok", (), "11010519491231002X"),
    # 15-digit legacy numbers are upgraded to 18
    case("110105491231002", "warning", ("legacy 15-digit number",), "11010519491231002X"),
    case("110105490230002", "error", ("invalid birth date", "legacy 15-digit number")),
    # dates
    case(_id("11010520240602002"), "error", ("birth date in the future",)),
    case(_id("11010520240601002"), "ok"),
    case(_id("11010519910230002"), "error", ("invalid birth date",)),
    case(_id("11010520000229002"), "ok"),
    case(_id("11010519000229002"), "error", ("invalid birth date",)),
    case(_id("11010500000101002"), "error", ("invalid birth date",)),
    # area and shape
    case(_id("98042619911201007"), "error", ("unknown province code",)),
    case(_id("00042619911201007"), "error", ("unknown province code",)),
    case("11010519491231002", "error", FORMAT),
    case("11010519491231002XX", "error", FORMAT),
    case("1101051949123100X", "error", FORMAT),
    case("", "error", FORMAT),
]

USCC_CASES = [
    # §4.2 valid vectors
    case("91110000600037341L", "ok"),
    case("121200004013590816", "ok"),
    case("91310000631696382C", "ok"),
    case("91310115MA1K3BTP2B", "ok"),
    case("91340603MA2UJXXCXF", "ok"),
    case("92340603MA2UK0Q026", "ok"),
    case("9135052155323005XL", "ok"),
    case("91350100M000100Y43", "ok"),
    case("91340600MA2PBP2120", "ok"),  # weighted sum ≡ 0 (mod 31) -> check '0'
    # §4.2 invalid vectors; 'A' is a valid department (军委改革和编制办公室), so the A… vector fails its checksum
    case("91110000600037341N", "error", CHECK_DIGIT),
    case("A1110000600037341L", "error", CHECK_DIGIT),
    case("9111000060003IOZSV", "error", ("invalid characters",)),
    # §4.2 real but non-conforming early-pilot codes
    case("91350100M0001TGQXM", "warning", PILOT),
    case("91350211M0000XUF46", "warning", PILOT),
    case("91350203M0001FUE2P", "warning", PILOT),
    case("91350100m0001tgqxm", "warning", PILOT, "91350100M0001TGQXM"),
    case("91350100M0001TGQXN", "error", CHECK_DIGIT),  # the allow-list is exact, not a prefix
    # structure
    case(_uscc("B1110000600037341"), "error", ("unknown registration department",)),
    case(_uscc("95110000600037341"), "warning", ("unknown institution kind",)),
    case(_uscc("Y2110000600037341"), "warning", ("unknown institution kind",)),
    case(_uscc("91000000600037341"), "warning", ("unknown province code",)),
    case(_uscc("91990000600037341"), "ok"),
    case(_uscc("91110000600037342"), "warning", ("embedded org code check mismatch",)),
    case(
        _uscc("B1000000600037342"),
        "error",
        ("unknown registration department", "unknown province code", "embedded org code check mismatch"),
    ),
    # normalisation and shape
    case(" 91310115ma1k3btp2b\u3000", "ok", (), "91310115MA1K3BTP2B"),
    case("９１１１００００６０００３７３４１Ｌ", "ok", (), "91110000600037341L"),
    case("91110000600037341", "error", FORMAT),
    case("91110000-600037341L", "error", FORMAT),
]

ORG_VALID = ["00251805-7", "00251807-3", "00251808-1", "00251809-X", "60003734-1", "63169638-2", "71092609-4", "MA1K3BTP-2"]
ORG_CASES = [
    *(case(v, "ok", (), v.replace("-", "")) for v in ORG_VALID),
    *(case(v.replace("-", ""), "ok") for v in ORG_VALID),
    case("00251809-x", "ok", (), "00251809X"),
    case("ma1k3btp-2", "ok", (), "MA1K3BTP2"),
    case("００２５１８０５－７", "ok", (), "002518057"),
    case("00251805-8", "error", CHECK_DIGIT),
    case("002518058", "error", CHECK_DIGIT),
    case("0025180-57", "error", FORMAT),
    case("00251805_7", "error", FORMAT),
    case("00251805--7", "error", FORMAT),
    case("00251805-", "error", FORMAT),
    case("00251805-A", "error", FORMAT),
]

REGION_CASES = [
    case("110000", "ok"),
    case("110105", "ok"),
    case("440882", "ok"),
    case("429004", "ok"),  # 90 = province-administered county-level city
    case("810000", "ok"),
    case("990101", "ok"),  # demo province
    case("000000", "error", ("unknown province code",)),
    case("117100", "error", ("invalid prefecture code",)),
    case("119900", "error", ("invalid prefecture code",)),
    case("110001", "error", ("invalid county code",)),
    case("11010", "error", FORMAT),
    case("11010A", "error", FORMAT),
]

MOBILE_CASES = [
    case("13800138000", "ok"),
    case("19912345678", "ok"),
    case("+8613800138000", "ok", (), "13800138000"),
    case("8613800138000", "ok", (), "13800138000"),
    case("+86 13800138000", "ok", (), "13800138000"),
    case("+86-13800138000", "ok", (), "13800138000"),
    case("＋８６１３８００１３８０００", "ok", (), "13800138000"),
    case("12800138000", "error", FORMAT),
    case("1380013800", "error", FORMAT),
    case("138001380001", "error", FORMAT),
    case("+8713800138000", "error", FORMAT),
    case("138-0013-8000", "error", FORMAT),
    case("10086", "error", FORMAT),
]

BANK_CASES = [
    case("4111111111111111", "ok"),
    case("6011111111111117", "ok"),
    case("6222020200000000006", "ok"),
    case("6217000000000000004", "ok"),
    case("4111 1111 1111 1111", "ok", (), "4111111111111111"),
    case("4111111111111112", "error", CHECK_DIGIT),
    case("6222020200000000007", "error", CHECK_DIGIT),
    case("411111111111111", "error", FORMAT),
    case("41111111111111111110", "error", FORMAT),
    case("4111-1111-1111-1111", "error", FORMAT),
]

KINDS: dict[str, tuple[Callable[[str], Check], list[pytest.ParameterSet]]] = {
    "citizen_id": (citizen_id, ID_CASES),
    "uscc": (check_uscc, USCC_CASES),
    "org_code": (check_org_code, ORG_CASES),
    "region_code": (check_region_code, REGION_CASES),
    "mobile": (check_mobile, MOBILE_CASES),
    "bank_card": (check_bank_card, BANK_CASES),
}


def _assert_check(result: Check, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    assert (result.level, result.reasons, result.normalized) == (level, reasons, normalized)
    assert result.ok is (level != "error")


@pytest.mark.parametrize(("value", "level", "reasons", "normalized"), ID_CASES)
def test_citizen_id(value: str, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    _assert_check(citizen_id(value), level, reasons, normalized)


@pytest.mark.parametrize(("value", "level", "reasons", "normalized"), USCC_CASES)
def test_uscc(value: str, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    _assert_check(check_uscc(value), level, reasons, normalized)


@pytest.mark.parametrize(("value", "level", "reasons", "normalized"), ORG_CASES)
def test_org_code(value: str, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    _assert_check(check_org_code(value), level, reasons, normalized)


@pytest.mark.parametrize(("value", "level", "reasons", "normalized"), REGION_CASES)
def test_region_code(value: str, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    _assert_check(check_region_code(value), level, reasons, normalized)


@pytest.mark.parametrize(("value", "level", "reasons", "normalized"), MOBILE_CASES)
def test_mobile(value: str, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    _assert_check(check_mobile(value), level, reasons, normalized)


@pytest.mark.parametrize(("value", "level", "reasons", "normalized"), BANK_CASES)
def test_bank_card(value: str, level: str, reasons: tuple[str, ...], normalized: str | None) -> None:
    _assert_check(check_bank_card(value), level, reasons, normalized)


def test_demo_province_overrides_reference_vector() -> None:
    """cn-standards.md lists 990426199112010074 as "unknown area", but 99 is our demo province; its checksum is right."""
    _assert_check(citizen_id("990426199112010074"), "ok", (), "990426199112010074")


def test_region_code_against_known_table() -> None:
    _assert_check(check_region_code("110105", known={"110105"}), "ok", (), "110105")
    _assert_check(check_region_code("110106", known={"110105"}), "error", ("not in region table",), None)


def test_citizen_id_defaults_to_the_real_today() -> None:
    assert check_citizen_id(_id(f"110105{date.today().year + 1}0101002")).reasons == ("birth date in the future",)


def test_uscc_zero_sum_edge() -> None:
    """The outer mod 31 maps a weighted sum ≡ 0 to check '0', not to out-of-range position 31."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip("91340600MA2PBP212", USCC_WEIGHTS, strict=True))
    assert total % 31 == 0
    assert gb32100_check_char("91340600MA2PBP212") == "0"


def test_normalize_identifier() -> None:
    assert normalize_identifier("\u3000 ａｂ－１２x\t") == "AB-12X"
    assert normalize_identifier("ﬁ") == "ﬁ"  # no Unicode case mapping: it must not become "FI"


def test_every_reason_has_chinese_text_and_is_used() -> None:
    results = [fn(p.values[0]) for fn, cases in KINDS.values() for p in cases]
    results.append(check_region_code("110106", known={"110105"}))
    used = {r for result in results for r in result.reasons}
    assert used == set(REASONS_ZH)
    assert citizen_id("36042619910102009X").reasons_zh == ("校验码错误",)


# --- DuckDB SQL twins -------------------------------------------------------------------------------------------

SQL_TWINS: dict[str, Callable[[str], str]] = {
    "citizen_id": partial(sql_citizen_id_valid, today=TODAY),
    "uscc": sql_uscc_valid,
    "org_code": sql_org_code_valid,
    "mobile": sql_mobile_valid,
    "bank_card": sql_bank_card_valid,
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _sql_results(con: duckdb.DuckDBPyConnection, expr: str, values: list[str | None]) -> dict[str | None, bool | None]:
    rows = con.execute(f"SELECT v, {expr} FROM (SELECT unnest(?::VARCHAR[]) AS v)", [values]).fetchall()
    return dict(rows)


@pytest.mark.parametrize("kind", SQL_TWINS)
def test_sql_agrees_with_python_on_all_vectors(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    fn, cases = KINDS[kind]
    values = [p.values[0] for cases_ in KINDS.values() for p in cases_[1]] + ["990426199112010074"]
    assert _sql_results(con, SQL_TWINS[kind]("v"), values) == {v: fn(v).ok for v in values}
    assert any(fn(p.values[0]).ok for p in cases) and not all(fn(p.values[0]).ok for p in cases)


@pytest.mark.parametrize("kind", SQL_TWINS)
def test_sql_null_stays_null(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    assert _sql_results(con, SQL_TWINS[kind]("v"), [None]) == {None: None}


def test_sql_uses_duckdb_current_date_by_default(con: duckdb.DuckDBPyConnection) -> None:
    future = _id(f"110105{date.today().year + 1}0101002")
    assert _sql_results(con, sql_citizen_id_valid("v"), [future, "11010519491231002X"]) == {
        future: False,
        "11010519491231002X": True,
    }


def test_quote_ident_escapes_embedded_quotes(con: duckdb.DuckDBPyConnection) -> None:
    assert quote_ident('a"b') == '"a""b"'
    name = 'mobile "no"; DROP TABLE x; --'
    con.execute(f"CREATE TEMP TABLE phones AS SELECT '13800138000' AS {quote_ident(name)}")
    assert con.execute(f"SELECT {sql_mobile_valid(name)} FROM phones").fetchall() == [(True,)]


@pytest.mark.parametrize("name", ["", "a\x00b"])
def test_quote_ident_rejects_unrepresentable_names(name: str) -> None:
    with pytest.raises(ValueError):
        quote_ident(name)


@st.composite
def _id_bodies(draw: st.DrawFn) -> str:
    """Mostly plausible bodies (known province, real date) so that valid IDs are generated too, plus raw digits."""
    if draw(st.booleans()):
        return draw(st.text("0123456789", min_size=17, max_size=17))
    province = draw(st.sampled_from(sorted(PROVINCE_PREFIXES)))
    birth = draw(st.dates(min_value=date(1850, 1, 1), max_value=date(2030, 12, 31)))
    rest = draw(st.text("0123456789", min_size=7, max_size=7))
    return province + rest[:4] + birth.strftime("%Y%m%d") + rest[4:]


@st.composite
def _citizen_ids(draw: st.DrawFn) -> str:
    body = draw(_id_bodies())
    return body + (gb11643_check_char(body) if draw(st.booleans()) else draw(st.sampled_from(ID_CHECK)))


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(sorted(USCC_KINDS)) | st.sampled_from(USCC_CHARS))
    body = head + draw(st.text(USCC_CHARS, min_size=16, max_size=16))
    return body + (gb32100_check_char(body) if draw(st.booleans()) else draw(st.sampled_from(USCC_CHARS)))


@settings(deadline=None)  # no timing assertions: a loaded machine makes a DuckDB query take 250 ms
@given(st.lists(_citizen_ids(), min_size=1, max_size=40))
def test_sql_agrees_with_python_on_random_citizen_ids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    assert _sql_results(con, SQL_TWINS["citizen_id"]("v"), ids) == {v: citizen_id(v).ok for v in ids}


@settings(deadline=None)
@given(st.lists(_usccs(), min_size=1, max_size=40))
def test_sql_agrees_with_python_on_random_usccs(con: duckdb.DuckDBPyConnection, codes: list[str]) -> None:
    assert _sql_results(con, sql_uscc_valid("v"), codes) == {v: check_uscc(v).ok for v in codes}
