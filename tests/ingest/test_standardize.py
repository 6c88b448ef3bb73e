"""Standardisation and casting SQL: every accepted Chinese form, and values that must not be "repaired"."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.demo.generator import generate
from huiju.ingest.schema import Field
from huiju.ingest.standardize import (
    HALF_FROM,
    HALF_TO,
    sql_cast,
    sql_format_valid,
    sql_region_code_valid,
    sql_standardize,
    sql_typed_literal,
)
from huiju.ingest.validators import check_region_code

FULLWIDTH = str.maketrans(HALF_TO, HALF_FROM)


def run(field: Field, values: list[str | None], missing: tuple[str, ...] = ("",)) -> list[tuple[Any, Any]]:
    """(standardised text, typed value) for each raw value, through the two SQL builders."""
    conn = duckdb.connect()
    conn.register("raw", pa.table({"x": pa.array(values, pa.string())}))
    std = sql_standardize('"x"', field, missing_values=missing)
    return conn.sql(f"SELECT s, {sql_cast('s', field)} FROM (SELECT {std} AS s FROM raw)").fetchall()


def one(value: str | None, **field: Any) -> tuple[Any, Any]:
    return run(Field(name="x", **field), [value])[0]


D = date(2023, 1, 5)


@pytest.mark.parametrize("raw", [
    "2023-01-05", "2023/1/5", "2023/01/05", "2023.1.5", "20230105", "2023年1月5日", "2023年01月05日",
    "２０２３年１月５日", "\u3000 2023-01-05\u00a0", "2023-1-5", "2023-01-05 00:00:00", "2023-01-05T00:00",
])
def test_every_date_form_becomes_iso(raw):
    assert one(raw, type="date") == ("2023-01-05", D)


@pytest.mark.parametrize("raw", ["2023-02-30", "2023-13-01", "05/01/2023", "2023-01-05 08:00:00", "abc", "2023年1月"])
def test_impossible_or_unknown_dates_fail_the_cast(raw):
    text, typed = one(raw, type="date")
    assert text is not None and typed is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("2023-01-05 08:00:00", datetime(2023, 1, 5, 8)),
    ("2023/1/5 8:00", datetime(2023, 1, 5, 8)),
    ("2023-01-05T08:30:15.250", datetime(2023, 1, 5, 8, 30, 15, 250000)),
    ("2023年1月5日 8时30分", datetime(2023, 1, 5, 8, 30)),
    ("20230105 083015", None),
    ("2023年1月5日", datetime(2023, 1, 5)),
    ("2023-01-05 25:00:00", None),
])
def test_datetimes(raw, expected):
    assert one(raw, type="datetime")[1] == expected


def test_excel_serials_only_when_the_field_asks():
    assert one("45000", type="date") == ("45000", None)
    assert one("45000", type="date", **{"huiju:excelSerial": True}) == ("2023-03-15", date(2023, 3, 15))
    assert one("20230105", type="date", **{"huiju:excelSerial": True})[1] == D  # 8 digits stay a compact date
    assert one("45000.5", type="datetime", **{"huiju:excelSerial": True})[1] == datetime(2023, 3, 15, 12)


def test_a_declared_strptime_format_comes_first():
    assert one("05/01/2023", type="date", format="%d/%m/%Y")[1] == D
    assert one("2023-05-01", type="date", format="%Y-%d-%m")[1] == D


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,234", 1234), ("１２３", 123), ("１，２３４", 1234), ("100.00", 100), ("+7", 7), (" 12 ", 12),
    ("12,345,678", 12345678), ("1.5", None), ("1,5", None), ("1e3", None), ("12,34", None),
    ("99999999999999999999", None),
])
def test_integers(raw, expected):
    assert one(raw, type="integer")[1] == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,234.5", 1234.5), ("１，２３４．５", 1234.5), (".5", 0.5), ("-2", -2.0), ("1e3", 1000.0),
    ("nan", None), ("inf", None), ("1,23,4", None), ("1 234", None), ("12%", None),
])
def test_numbers(raw, expected):
    assert one(raw, type="number")[1] == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("是", True), ("否", False), ("TRUE", True), ("false", False), ("1", True), ("0", False), ("Y", True),
    ("maybe", None),
])
def test_booleans(raw, expected):
    assert one(raw, type="boolean")[1] == expected


def test_frictionless_true_and_false_values_replace_ours():
    field = {"type": "boolean", "trueValues": ["有"], "falseValues": ["无"]}
    assert [t for _s, t in run(Field(name="x", **field), ["有", "无", "是"])] == [True, False, None]


@pytest.mark.parametrize(("raw", "expected"), [("2023", 2023), ("2023年", 2023), ("２０２３", 2023), ("23", None)])
def test_years(raw, expected):
    assert one(raw, type="year")[1] == expected


@pytest.mark.parametrize(("fmt", "raw", "expected"), [
    ("gb11643", "11010519491231002x", "11010519491231002X"),
    ("gb11643", "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
    ("gb11643", "\u3000 11010519491231002X ", "11010519491231002X"),
    ("gb11643", "110105491231002", "11010519491231002X"),  # GB 11643-1989 number upgraded
    ("gb32100", "９１３１０１１５ma1k3btp2b", "91310115MA1K3BTP2B"),
    ("gb11714", "00251805-7", "002518057"),
    ("mobile", "+86 138-0013-8000", "+86 138-0013-8000"),  # not a mobile shape: left for the rule to reject
    ("mobile", "+86 13800138000", "13800138000"),
    ("bankcard", "6222 0212 3456 7890 128", "6222021234567890128"),
    ("gb2260", "９９０１０２", "990102"),
])
def test_identifier_formats_fold_case_and_width(fmt, raw, expected):
    assert one(raw, format=fmt) == (expected, expected)


def test_free_text_is_only_trimmed():
    raw = "\u00a0 有限责任公司（自然人投资或控股）ＡＢ\u3000"
    assert one(raw) == ("有限责任公司（自然人投资或控股）ＡＢ",) * 2
    assert one("ＡＢＣ１２３", **{"huiju:halfwidth": True})[0] == "ABC123"


def test_full_width_fold_covers_the_whole_ascii_block():
    assert len(HALF_FROM) == len(HALF_TO) == 94 and HALF_TO[0] == "!" and HALF_TO[-1] == "~"
    assert one(HALF_FROM[:-1].replace("\uff0c", ""), **{"huiju:halfwidth": True})[0] == HALF_TO[:-1].replace(",", "")


@pytest.mark.parametrize("field", [Field(name="x"), Field(name="x", type="integer"), Field(name="x", format="gb11643")])
def test_null_empty_and_blank_are_missing(field):
    assert run(field, [None, "", "  ", "\u3000"]) == [(None, None)] * 4


def test_declared_missing_values_become_null():
    assert run(Field(name="x", type="number"), ["-", "N/A", "", "3"], missing=("", "-", "N/A")) == [
        (None, None), (None, None), (None, None), ("3", 3.0)]
    assert run(Field(name="x"), ["", "a"], missing=()) == [("", ""), ("a", "a")]


def test_sql_injection_in_values_and_literals_is_inert():
    assert one("'); DROP TABLE raw; --") == ("'); DROP TABLE raw; --",) * 2
    conn = duckdb.connect()
    literal = sql_typed_literal("' OR 1=1 --", Field(name="x"))
    assert conn.execute(f"SELECT {literal}").fetchone() == ("' OR 1=1 --",)


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["{d:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d.year}.{d.month}.{d.day}", "{d:%Y%m%d}",
                        "{d.year}年{d.month}月{d.day}日"]), st.booleans())
def test_any_date_form_round_trips(d, form, fullwidth):
    raw = form.format(d=d)
    assert one(raw.translate(FULLWIDTH) if fullwidth else raw, type="date") == (d.isoformat(), d)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[0-9]{6}|[0-9]{1,7}|[0-9A-Z]{6}", fullmatch=True))
def test_region_code_sql_agrees_with_python(code):
    conn = duckdb.connect()
    conn.register("raw", pa.table({"c": [code]}))
    known = ["990102", "110105"]
    got = conn.execute(f"SELECT {sql_region_code_valid('c')}, {sql_region_code_valid('c', known)} FROM raw").fetchone()
    assert got == (check_region_code(code).ok, check_region_code(code, known).ok)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("demo-small")
    generate(folder, scale="small")
    return folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("key", ["enterprise_tax", "marriages", "social_insurance"])
def test_demo_normalisable_identifiers_become_valid(demo, key):
    """The demo's "normalisable" defects (full-width digits, lowercase x) standardise to the original, valid value."""
    folder, manifest = demo
    spec = next(f for f in manifest["files"] if f["key"] == key)
    defects = [d for d in manifest["defects"] if d["dataset"] == key and d["kind"] == "normalisable"]
    assert defects
    options = pacsv.ReadOptions(encoding=spec["encoding"])
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(spec["columns"], pa.string()))
    table = pacsv.read_csv(folder / spec["file"], read_options=options, convert_options=convert)
    conn = duckdb.connect()
    for d in defects:
        fmt = "gb32100" if d["field"] == "纳税人识别号" else "gb11643"
        conn.register("raw", pa.table({"v": [table[d["field"]][d["row"] - 1].as_py()]}))
        std = sql_standardize("v", Field(name="v", format=fmt))
        valid = sql_format_valid("s", fmt, today=date(2026, 1, 1))
        got = conn.execute(f"SELECT s, {valid} FROM (SELECT {std} AS s FROM raw)")
        assert got.fetchall() == [(d["original"], True)], d
