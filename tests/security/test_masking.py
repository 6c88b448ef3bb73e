"""Masks run through real DuckDB: the §3.4 examples exactly, and properties over generated values."""

from __future__ import annotations

import hashlib
import string
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.errors import Invalid
from huiju.i18n import gettext, set_locale
from huiju.security.crypto import get_provider
from huiju.security.masking import (
    MASKS,
    compile_mask,
    pseudonymize_arrow,
    quote_identifier,
)

KEY = b"0123456789abcdef-dataset-7"


def literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def run(name: str, values: list[Any], sql_type: str = "VARCHAR", column: str = "value", **params: Any) -> list[Any]:
    """Mask ``values`` (a VALUES table with one column of ``sql_type``) and return the outputs in order."""
    rows = ", ".join(f"({i}, CAST({literal(v)} AS {sql_type}))" for i, v in enumerate(values))
    expr = compile_mask(name, column, **params)
    query = f"SELECT {expr} FROM (VALUES {rows}) AS t(i, {quote_identifier(column)}) ORDER BY i"
    return [row[0] for row in duckdb.sql(query).fetchall()]


def one(name: str, value: Any, sql_type: str = "VARCHAR", **params: Any) -> Any:
    return run(name, [value], sql_type, **params)[0]


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        ("CN_NAME", "段正淳", "段**"),
        ("CN_ID", "110101199003071234", "110101********1234"),
        ("CN_ID", "11010519491231002X", "110105********002X"),
        ("CN_MOBILE", "18049531999", "180****1999"),
        ("CN_ADDRESS", "北京市海淀区马连洼街道289号", "北京市海淀区马********"),
        ("CN_EMAIL", "duandazhi-jack@gmail.com.cn", "d*************@gmail.com.cn"),
        ("CN_BANK_CARD", "11011111222233333256", "1101 **** **** **** 3256"),
        ("REGION_CITY", "990102", "990100"),
        ("REGION_PROVINCE", "990102", "990000"),
        ("MASK", "abcd-EFGH-8765-4321", "xxxx-XXXX-nnnn-nnnn"),
        ("MASK", "张三 Zhang 3号", "xx Xxxxx nx"),
        ("MASK_SHOW_LAST_4", "6222021234567890", "xxxxxxxxxxxx7890"),
        ("MASK_SHOW_LAST_4", "ab-12-cd-34", "xx-xx-xd-34"),
        ("MASK_SHOW_FIRST_4", "6222021234567890", "6222xxxxxxxxxxxx"),
        ("MASK_SHOW_FIRST_4", "京A·12345", "京A·1xxxx"),
        ("MASK_HASH", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("MASK_NONE", "段正淳", "段正淳"),
        ("MASK_NULL", "段正淳", None),
    ],
)
def test_reference_examples(mask: str, value: str, expected: str | None) -> None:
    assert one(mask, value) == expected


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        ("MASK_SHOW_LAST_4", "123", "123"),
        ("MASK_SHOW_LAST_4", "1234", "1234"),
        ("MASK_SHOW_FIRST_4", "abc", "abc"),
        ("CN_NAME", "张", "张"),
        ("CN_NAME", "", ""),
        ("CN_ID", "1101011990", "**********"),
        ("CN_ID", "11010119900307123Y", "******************"),
        ("CN_ID", "110101900307123", "110101******123"),
        ("CN_MOBILE", "1804953", "*******"),
        ("CN_MOBILE", "+8618049531999", "+86*******1999"),
        ("CN_ADDRESS", "海淀区", "***"),
        ("CN_EMAIL", "not-an-email", "************"),
        ("CN_EMAIL", "a@x.cn", "a@x.cn"),
        ("CN_EMAIL", "we@ird@x.cn", "w*****@x.cn"),
        ("CN_BANK_CARD", "6222 0212 3456 7890 123", "6222 **** **** *** 0123"),
        ("CN_BANK_CARD", "6222-0212-3456-7890", "6222 **** **** 7890"),
        ("CN_BANK_CARD", "62220212345", "***********"),
        ("CN_BANK_CARD", "6222O2123456789", "***************"),
        ("REGION_CITY", "99010", None),
        ("REGION_PROVINCE", "99010a", None),
    ],
)
def test_short_and_malformed_values_are_hidden_not_leaked(mask: str, value: str, expected: str | None) -> None:
    assert one(mask, value) == expected


def test_address_length_parameter() -> None:
    assert one("CN_ADDRESS", "北京市海淀区马连洼街道289号", n=4) == "北京市海淀区马连洼街道****"


@pytest.mark.parametrize("name", [name for name, mask in MASKS.items() if mask.in_sql])
def test_null_stays_null(name: str) -> None:
    params: dict[str, Any] = {"as_of": "2026-01-01"} if name == "AGE_BAND" else {}
    sql_type = "DATE" if name == "MASK_DATE_SHOW_YEAR" else "VARCHAR"
    assert run(name, [None, None], sql_type, **params) == [None, None]


def test_date_show_year_keeps_the_type() -> None:
    assert one("MASK_DATE_SHOW_YEAR", "1990-05-12", "DATE") == date(1990, 1, 1)
    assert one("MASK_DATE_SHOW_YEAR", "1990-12-31 23:59:59", "TIMESTAMP") == datetime(1990, 1, 1)
    assert run("MASK_DATE_SHOW_YEAR", ["1990-05-12", "19900512", "1990年5月", "05/12/1990", None], text=True) == [
        "1990",
        "1990",
        "1990",
        None,
        None,
    ]


def test_mask_null_keeps_the_type() -> None:
    expr = compile_mask("MASK_NULL", "d")
    assert duckdb.sql(f"SELECT typeof({expr}), {expr} FROM (VALUES (DATE '2000-01-01')) t(d)").fetchall() == [
        ("DATE", None)
    ]


def test_age_band_from_ids_and_dates() -> None:
    born_1996_05_12 = ["110101199605120012", "110101960512001", "1996-05-12", "19960512"]
    assert run("AGE_BAND", born_1996_05_12, as_of="2026-05-11") == ["20-29"] * 4
    assert run("AGE_BAND", born_1996_05_12, as_of=date(2026, 5, 12)) == ["30-39"] * 4
    assert one("AGE_BAND", "1996-05-12", "DATE", as_of="2026-05-12", width=5) == "30-34"
    assert one("AGE_BAND", "1996-05-12 08:00:00", "TIMESTAMP", as_of="2026-05-12", width=1) == "30-30"
    assert run("AGE_BAND", ["110101199613120012", "2030-01-01", "unknown"], as_of="2026-01-01") == [None] * 3
    assert one("AGE_BAND", "2025-06-01") in {"0-9", "10-19"}  # default reference day: today


def test_region_from_an_integer_column() -> None:
    assert one("REGION_CITY", "330106", "INTEGER") == "330100"


def test_compile_mask_quotes_the_column() -> None:
    assert quote_identifier('we"ird') == '"we""ird"'
    assert run("CN_NAME", ["段正淳"], column='姓名 "x"; DROP TABLE t; --') == ["段**"]
    with pytest.raises(Invalid):
        compile_mask("CN_NAME", "bad\0name")
    with pytest.raises(Invalid):
        compile_mask("CN_NAME", "")
    injection = compile_mask("MASK_NONE", 'v") FROM t --')
    with pytest.raises(duckdb.BinderException):  # an injection attempt is just an unknown column
        duckdb.sql(f"SELECT {injection} FROM (VALUES (1)) t(v)")


def test_unknown_masks_and_bad_parameters() -> None:
    with pytest.raises(Invalid, match="Unknown mask NOPE"):
        compile_mask("NOPE", "v")
    for name, params in [
        ("CN_ADDRESS", {"n": "8); DROP TABLE t; --"}),
        ("CN_ADDRESS", {"n": 0}),
        ("CN_ADDRESS", {"n": True}),
        ("AGE_BAND", {"width": -10}),
        ("AGE_BAND", {"as_of": "2026-01-01'; --"}),
        ("MASK_DATE_SHOW_YEAR", {"text": "yes"}),
        ("CN_NAME", {"keep": 2}),
    ]:
        with pytest.raises(Invalid):
            compile_mask(name, "v", **params)


def test_pseudonym_is_not_sql() -> None:
    assert not MASKS["PSEUDONYM"].in_sql
    with pytest.raises(Invalid, match="Arrow"):
        compile_mask("PSEUDONYM", "v")


def test_registry_names_and_labels() -> None:
    ranger = {"MASK", "MASK_SHOW_LAST_4", "MASK_SHOW_FIRST_4", "MASK_HASH", "MASK_NULL", "MASK_NONE"}
    assert ranger | {"MASK_DATE_SHOW_YEAR", "PSEUDONYM"} <= MASKS.keys()
    assert all(mask.label and mask.name == name for name, mask in MASKS.items())
    set_locale("zh_CN")
    assert gettext(MASKS["CN_ID"].label) == "身份证号：显示前6位和后4位"


def test_pseudonymize_arrow() -> None:
    result = pseudonymize_arrow(pa.array(["110101199003071234", None, "段正淳"]), KEY)
    assert result.type == pa.string() and result[1].as_py() is None
    assert result[0].as_py() == get_provider().hmac_sm3(KEY, b"110101199003071234").hex()
    assert pseudonymize_arrow(pa.array([date(1990, 5, 12)]), KEY)[0].as_py() == (
        get_provider().hmac_sm3(KEY, b"1990-05-12").hex()
    )
    with pytest.raises(Invalid):
        pseudonymize_arrow(pa.array(["x"]), b"short")


# Property tests -------------------------------------------------------------------------------

digits = st.sampled_from(string.digits)
cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
citizen_ids = st.from_regex(r"[1-9][0-9]{16}[0-9X]", fullmatch=True)
mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
cards = st.text(digits, min_size=12, max_size=20)
names = st.text(cjk, min_size=1, max_size=5)
mixed_text = st.text(
    st.sampled_from(string.ascii_letters + string.digits + " -_@.·（）")
    | cjk
    | st.characters(min_codepoint=0xFF10, max_codepoint=0xFF19),  # full-width digits
    max_size=30,
)
batches = settings(max_examples=40, deadline=None)


@batches
@given(st.lists(citizen_ids, min_size=1, max_size=10))
def test_cn_id_hides_the_birth_date(ids: list[str]) -> None:
    for original, masked in zip(ids, run("CN_ID", ids), strict=True):
        assert len(masked) == len(original)
        assert masked[:6] == original[:6] and masked[14:] == original[14:]
        assert masked[6:14] == "*" * 8


@batches
@given(st.lists(mobiles, min_size=1, max_size=10))
def test_cn_mobile_hides_the_middle_four(numbers: list[str]) -> None:
    for original, masked in zip(numbers, run("CN_MOBILE", numbers), strict=True):
        assert masked == original[:3] + "****" + original[7:]


@batches
@given(st.lists(cards, min_size=1, max_size=10))
def test_cn_bank_card_shows_only_the_ends(numbers: list[str]) -> None:
    for original, masked in zip(numbers, run("CN_BANK_CARD", numbers), strict=True):
        assert masked.replace(" ", "") == original[:4] + "*" * (len(original) - 8) + original[-4:]
        groups = masked.split(" ")
        assert groups[0] == original[:4] and groups[-1] == original[-4:]
        assert all(0 < len(group) <= 4 for group in groups)


@batches
@given(st.lists(names, min_size=1, max_size=10))
def test_cn_name_keeps_only_the_surname(people: list[str]) -> None:
    for original, masked in zip(people, run("CN_NAME", people), strict=True):
        assert masked == original[0] + "*" * (len(original) - 1)


@batches
@given(st.lists(mixed_text, min_size=1, max_size=10))
def test_mask_leaves_no_letter_or_digit(values: list[str]) -> None:
    for original, masked in zip(values, run("MASK", values), strict=True):
        assert len(masked) == len(original)
        for before, after in zip(original, masked, strict=True):
            if before.isalpha() or before.isdigit():
                assert after in "Xxn"
            else:
                assert after == before


@batches
@given(st.lists(mixed_text, min_size=1, max_size=10))
def test_mask_hash_is_sha256_and_hides_the_input(values: list[str]) -> None:
    for original, masked in zip(values, run("MASK_HASH", values), strict=True):
        assert masked == hashlib.sha256(original.encode()).hexdigest()
        if len(original) >= 4:
            assert original not in masked


@batches
@given(
    st.lists(st.one_of(st.none(), mixed_text), min_size=1, max_size=10),
    st.binary(min_size=16, max_size=64),
    st.binary(min_size=16, max_size=64),
)
def test_pseudonyms_are_stable_per_key_and_differ_across_keys(values: list[str | None], k1: bytes, k2: bytes) -> None:
    array = pa.array(values, type=pa.string())
    first = pseudonymize_arrow(array, k1).to_pylist()
    assert first == pseudonymize_arrow(array, k1).to_pylist()
    other = pseudonymize_arrow(array, k2).to_pylist()
    for value, a, b in zip(values, first, other, strict=True):
        if value is None:
            assert a is None and b is None
        else:
            assert len(a) == 64 and (len(value) < 4 or value not in a)
            assert (a == b) == (k1 == k2)
