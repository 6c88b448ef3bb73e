"""Validation rules compiled to SQL and the batch split: every kind, NULLs, quarantine and the row invariant."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiju.demo.generator import generate
from huiju.errors import Invalid
from huiju.i18n import translations
from huiju.ingest.quality import (
    FAIL_PREFIX,
    BatchResult,
    Rule,
    compile_check,
    rules_from_schema,
    split_batch,
)
from huiju.ingest.schema import TableSchema
from huiju.ingest.validators import gb11643_check_char, gb32100_check_char

TODAY = date(2024, 6, 1)
ZH = translations("zh_CN")
CJK = re.compile(r"[\u4e00-\u9fff]")


def id18(first17: str) -> str:
    return first17 + gb11643_check_char(first17)


def uscc(first17: str) -> str:
    return first17 + gb32100_check_char(first17)


def strings(**columns: list[str | None]) -> pa.Table:
    """An all-string batch with `_row` numbered from 1, as connectors deliver it."""
    n = len(next(iter(columns.values())))
    arrays = {k: pa.array(v, pa.string()) for k, v in columns.items()}
    return pa.table({**arrays, "_row": pa.array(range(1, n + 1), pa.int64())})


def schema_of(*fields: dict[str, Any], **extra: Any) -> TableSchema:
    return TableSchema.model_validate({"fields": list(fields), **extra})


def split(batch: pa.Table, schema: TableSchema, rules: list[Rule], conn: duckdb.DuckDBPyConnection | None = None,
          **kwargs: Any) -> BatchResult:
    result = split_batch(conn or duckdb.connect(), batch, schema, rules, today=TODAY, **kwargs)
    assert result.rows_accepted + result.rows_rejected == result.rows_read == batch.num_rows
    return result


def failures(result: BatchResult) -> set[tuple[int, str]]:
    return {(r.row, r.rule) for r in result.rejects}


# kind, field declaration, rule parameters, a passing value, a failing value
KINDS = [
    ("required", {}, {}, "有", ""),
    ("enum", {}, {"values": ["存续", "注销"]}, "存续", "在营"),
    ("enum", {"type": "integer"}, {"values": [1, 2]}, "２", "3"),
    ("range", {"type": "number"}, {"minimum": 0, "maximum": 100}, "１００", "100.5"),
    ("range", {"type": "number"}, {"minimum": 0}, "0", "-1"),
    ("range", {"type": "date"}, {"maximum": "2020-12-31"}, "2020年12月31日", "2021.1.1"),
    ("length", {}, {"min_length": 2, "max_length": 3}, "张三丰", "张"),
    ("length", {}, {"max_length": 3}, "张三丰", "欧阳张三"),
    ("regex", {}, {"pattern": "[0-9]{6}"}, "430100", "43010"),
    ("citizen_id", {"format": "gb11643"}, {}, "11010519491231002x", "11010519491231002Y"),
    ("citizen_id", {}, {}, "110105491231002", "36042619910102009X"),
    ("uscc", {"format": "gb32100"}, {}, "９１３１０１１５MA1K3BTP2B", "91110000600037341N"),
    ("org_code", {"format": "gb11714"}, {}, "00251805-7", "00251805-8"),
    ("region_code", {"format": "gb2260"}, {}, "990102", "999902"),
    ("region_code", {}, {"known": ["990102"]}, "990102", "990199"),
    ("mobile", {"format": "mobile"}, {}, "+86 13800138000", "12800138000"),
    ("bank_card", {"format": "bankcard"}, {}, "6222 0212 3456 7890 128", "6222021234567890129"),
    ("not_future", {"type": "date"}, {}, "2024-06-01", "2024-06-02"),
    ("not_future", {"type": "datetime"}, {}, "2024-06-01 23:59:59", "2024-06-02 00:00:00"),
    ("not_future", {"type": "year"}, {}, "2024", "2025"),
]


@pytest.mark.parametrize(("kind", "field", "params", "good", "bad"), KINDS)
def test_every_rule_kind_passes_and_fails(kind, field, params, good, bad):
    schema = schema_of({"name": "值", **field})
    rule = Rule(kind=kind, field="值", **params)
    result = split(strings(值=[good, bad]), schema, [rule])
    assert failures(result) == {(2, rule.id)}
    assert result.accepted["_row"].to_pylist() == [1]
    assert result.rejected_raw.to_pylist() == [{"值": bad, "_row": 2}]
    [reject] = result.rejects
    assert reject.field == "值" and reject.value == bad and CJK.search(reject.message_zh)


@pytest.mark.parametrize(("field", "good", "bad"), [
    ({"type": "integer"}, "2023", "1.5"), ({"type": "number"}, "2023", "1,5"),
    ({"type": "date"}, "2023.2.28", "2023-02-30"),
    ({"type": "datetime"}, "2023-02-28", "昨天"), ({"type": "boolean"}, "否", "也许"), ({"type": "year"}, "2023", "二〇二三"),
])
def test_unparseable_values_fail_the_implicit_type_rule(field, good, bad):
    result = split(strings(值=[good, bad]), schema_of({"name": "值", **field}), [])
    assert failures(result) == {(2, "type:值")}
    assert result.rejected_raw["值"].to_pylist() == [bad]  # the raw text is kept, never a NULL


def test_a_missing_value_fails_only_the_required_rule():
    schema = schema_of({"name": "证号", "format": "gb11643", "constraints": {"required": True, "minLength": 18,
                                                                        "pattern": "[0-9X]+", "enum": ["x"]}},
                       {"name": "日期", "type": "date", "constraints": {"minimum": "2000-01-01"}},
                       {"name": "可空", "format": "gb32100"})
    rules = rules_from_schema(schema) + [Rule(kind="not_future", field="日期"), Rule(kind="unique", field="证号")]
    result = split(strings(证号=["", None], 日期=["", None], 可空=["\u3000", None]), schema, rules)
    assert failures(result) == {(1, "required:证号"), (2, "required:证号")}


def test_unique_marks_only_later_occurrences():
    batch = strings(键=["A", "B", "a", "A", "", "", "C"], 年=["1", "1", "1", "2", "1", "1", "1"])
    schema = schema_of({"name": "键", "huiju:halfwidth": True}, {"name": "年", "type": "integer"})
    result = split(batch, schema, [Rule(kind="unique", field="键")])
    assert failures(result) == {(4, "unique:键")}  # "a" differs from "A"; empty keys are not duplicates
    composite = split(batch, schema, [Rule(kind="unique", fields=["键", "年"])])
    assert failures(composite) == set()
    assert composite.accepted["_row"].to_pylist() == list(range(1, 8))  # file order survives the window
    typed = split(strings(n=["1,000", "1000", "１０００"]), schema_of({"name": "n", "type": "integer"}),
                  [Rule(kind="unique", field="n")])  # keys compare as typed values
    assert failures(typed) == {(2, "unique:n"), (3, "unique:n")} and typed.rejects[1].value == "１０００"


def test_id_birthdate_cross_field():
    ok, other = id18("11010519491231002"), id18("11010519500101002")
    births = ["1949年12月31日", "1949-12-31", "19491231", "1949-12-31", ""]
    batch = strings(身份证号=[ok, other, ok.lower(), "bad", ok], 出生日期=births)
    schema = schema_of({"name": "身份证号", "format": "gb11643"}, {"name": "出生日期", "type": "date"})
    rule = Rule(kind="id_birthdate", fields=["出生日期", "身份证号"])
    result = split(batch, schema, [rule])
    assert failures(result) == {(2, rule.id)}
    assert other in result.rejects[0].message_zh and "1949-12-31" in result.rejects[0].message_zh


def test_reference_against_a_lookup_relation():
    conn = duckdb.connect()
    conn.execute('CREATE TABLE "法人库" (uscc VARCHAR, name VARCHAR)')
    known = uscc("91990100MA0000001")
    conn.execute('INSERT INTO "法人库" VALUES (?, ?), (NULL, ?)', [known, "甲公司", "无代码"])
    rule = Rule(kind="reference", field="代码", lookup="legal_entities", key="uscc")
    schema = schema_of({"name": "代码", "format": "gb32100"})
    result = split(strings(代码=[known.lower(), uscc("91990100MA0000002"), ""]), schema, [rule], conn,
                   lookups={"legal_entities": "法人库"})
    assert failures(result) == {(2, rule.id)} and "legal_entities" in result.rejects[0].message_zh
    with pytest.raises(Invalid, match="No lookup relation"):
        split(strings(代码=[known]), schema, [rule], conn)


def test_mixed_batch_split_keeps_every_row_and_explains_it_in_chinese():
    good = uscc("91990100MA0000001")
    long_bad = "9" * 80
    batch = strings(代码=[good, long_bad, uscc("91990100MA0000002"), "", good.lower()],
                    金额=["1,234.5", "abc", "-1", "5", "６"],
                    备注=["x", "y", "z", "w", "v"])
    schema = schema_of({"name": "代码", "title": "统一社会信用代码", "format": "gb32100", "constraints": {"required": True}},
                       {"name": "金额", "type": "number", "constraints": {"minimum": 0}}, primaryKey=["代码"])
    result = split(batch, schema, rules_from_schema(schema))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (5, 1, 4)
    assert result.accepted.to_pylist() == [{"_row": 1, "代码": good, "金额": 1234.5, "备注": "x"}]
    assert result.accepted.schema.field("金额").type == pa.float64() and result.extra_columns == ["备注"]
    assert result.rejected_raw.column_names == batch.column_names
    assert result.rejected_raw["_row"].to_pylist() == [2, 3, 4, 5]
    assert result.rejected_raw.to_pylist()[0] == {"代码": long_bad, "金额": "abc", "备注": "y", "_row": 2}
    assert [(r.row, r.rule) for r in result.rejects] == [
        (2, "uscc:代码"), (2, "type:金额"), (3, "range:金额"), (4, "required:代码"), (5, "unique:代码")]
    by_rule = {r.rule: r.message_zh for r in result.rejects}
    assert by_rule["required:代码"] == ZH.gettext("Field %(field)s is required but empty") % {"field": "统一社会信用代码"}
    assert by_rule["range:金额"] == ZH.gettext("Value %(value)s is less than the minimum %(minimum)s") % {
        "value": "-1", "minimum": 0}
    assert f"{long_bad[:50]}…" in by_rule["uscc:代码"] and long_bad not in by_rule["uscc:代码"]
    assert all(CJK.search(r.message_zh) for r in result.rejects)
    assert result.rejects[0].value == long_bad  # the record keeps the whole value


def test_missing_declared_column_is_refused():
    with pytest.raises(Invalid) as err:
        split(strings(a=["1"]), schema_of({"name": "a"}, {"name": "b"}), [])
    assert err.value.params == {"name": "b"}
    assert "b" in err.value.localized() and CJK.search(ZH.gettext(err.value.message))


def test_rule_model_defaults_json_and_refusals():
    rule = Rule(kind="range", field="金额", minimum=0)
    assert rule.id == "range:金额" and rule.fields == ["金额"]
    assert Rule.model_validate(json.loads(rule.model_dump_json())) == rule
    assert rule.msgid() == "Value %(value)s is less than the minimum %(minimum)s"
    assert Rule(kind="unique", fields=["a", "b"]).id == "unique:a+b"
    for kind, extra in [("enum", {}), ("range", {}), ("regex", {"pattern": "(x"}), ("reference", {}),
                        ("id_birthdate", {}), ("required", {"fields": ["a", "b"]})]:
        with pytest.raises(Invalid):
            Rule.model_validate({"kind": kind, "fields": ["a"], **extra})
    for rules in ([Rule(kind="required", field="zz")], [Rule(kind="required", field="a")] * 2,
                  [Rule(kind="not_future", field="a")]):
        with pytest.raises(Invalid):
            compile_check(schema_of({"name": "a"}), rules, relation="t", today=TODAY)


def test_rules_from_schema_follow_the_descriptor():
    schema = schema_of(
        {"name": "代码", "format": "gb32100", "constraints": {"unique": True}},
        {"name": "名称", "constraints": {"required": True, "minLength": 2, "pattern": ".*公司"}},
        {"name": "状态", "constraints": {"enum": ["存续", "注销"]}},
        {"name": "资本", "type": "number", "constraints": {"minimum": 0, "maximum": 1e9}},
        {"name": "手机", "format": "mobile"}, {"name": "地区", "format": "gb2260"},
        {"name": "证号", "format": "gb11643"}, {"name": "机构", "format": "gb11714"}, {"name": "卡号", "format": "bankcard"},
        primaryKey=["代码"])
    assert sorted(r.id for r in rules_from_schema(schema)) == sorted([
        "unique:代码", "required:代码", "uscc:代码", "required:名称", "length:名称", "regex:名称", "enum:状态",
        "range:资本", "mobile:手机", "region_code:地区", "citizen_id:证号", "org_code:机构", "bank_card:卡号"])


def test_compile_check_is_one_select_with_quoted_names_and_literals():
    schema = schema_of({"name": 'we"ird 名', "constraints": {"enum": ["'); DROP TABLE t; --"]}},
                       {"name": "n", "type": "integer"})
    sql = compile_check(schema, rules_from_schema(schema), relation="main.batch", today=TODAY)
    conn = duckdb.connect()
    assert len(conn.extract_statements(sql)) == 1 and sql.startswith("SELECT")
    assert "ORDER BY" not in sql  # no window or subquery: DuckDB keeps the scan order by itself
    conn.register("batch", strings(**{'we"ird 名': ["'); DROP TABLE t; --", "x"], "n": ["1", "2"]}))
    cursor = conn.execute(sql)
    assert [d[0] for d in cursor.description] == ["_row", 'we"ird 名', "n", f"{FAIL_PREFIX}enum:we\"ird 名",
                                                  f"{FAIL_PREFIX}type:n"]
    assert cursor.fetchall() == [(1, "'); DROP TABLE t; --", 1, False, False), (2, "x", 2, True, False)]


# The demo city: every injected defect in the legal-entity file is caught by the rule made for it, and every
# date merely written another way (2021年12月17日, 2018.1.29, 20110121) is accepted as the same date.

def read_strings(path: Path, encoding: str) -> pa.Table:
    """A CSV as the connectors hand it over: every column a string, plus the 1-based `_row`."""
    options = pacsv.ReadOptions(encoding=encoding)
    names = pacsv.open_csv(path, read_options=options).schema.names
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False)
    table = pacsv.read_csv(path, read_options=options, convert_options=convert)
    return table.append_column("_row", pa.array(range(1, table.num_rows + 1), pa.int64()))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("demo-small")
    generate(folder, scale="small")
    return folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_demo_legal_entities_defects_are_caught(demo):
    folder, manifest = demo
    spec = next(f for f in manifest["files"] if f["key"] == "legal_entities")
    typed = {"统一社会信用代码": {"format": "gb32100"}, "行政区划代码": {"format": "gb2260"}, "成立日期": {"type": "date"}}
    schema = schema_of(*[{"name": c, "constraints": {"required": c in spec["required"]}, **typed.get(c, {})}
                         for c in spec["columns"]], primaryKey=spec["primary_key"])
    result = split(read_strings(folder / spec["file"], spec["encoding"]), schema, rules_from_schema(schema))
    got = failures(result)
    defects = [d for d in manifest["defects"] if d["dataset"] == "legal_entities"]
    expected_rule = {"bad_check_digit": "uscc:统一社会信用代码", "missing_required": "required:法定代表人",
                     "duplicate_key": "unique:统一社会信用代码"}
    accepted = {row: i for i, row in enumerate(result.accepted["_row"].to_pylist())}
    for d in defects:
        if d["kind"] in expected_rule:
            assert (d["row"], expected_rule[d["kind"]]) in got, d
        elif d["kind"] == "mixed_date":
            assert result.accepted["成立日期"][accepted[d["row"]]].as_py().isoformat() == d["original"], d
    assert {row for row, _ in got} == {d["row"] for d in defects if d["kind"] in expected_rule} != set()


# For random batches, nothing is lost and every rejected row says why.
VALUES = st.one_of(st.none(), st.sampled_from(["", " ", "1", "１２", "1,234", "2023年1月5日", "20230105", "abc", "是",
                                               id18("11010519491231002"), "11010519491231002Y", "-5", "99999"]),
                   st.text(max_size=6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(VALUES, VALUES, VALUES), max_size=30))
def test_random_batches_keep_the_invariant(rows):
    batch = strings(a=[r[0] for r in rows], b=[r[1] for r in rows], c=[r[2] for r in rows])
    schema = schema_of({"name": "a", "type": "integer", "constraints": {"required": True, "maximum": 100}},
                       {"name": "b", "type": "date"},
                       {"name": "c", "format": "gb11643", "constraints": {"unique": True}})
    rules = [*rules_from_schema(schema), Rule(kind="not_future", field="b"),
             Rule(kind="length", field="c", max_length=18)]
    result = split(batch, schema, rules)
    rejected, accepted = result.rejected_raw["_row"].to_pylist(), result.accepted["_row"].to_pylist()
    assert set(rejected) == {r.row for r in result.rejects} and len(rejected) == result.rows_rejected
    assert sorted(rejected + accepted) == list(range(1, len(rows) + 1))  # each row exactly once


def test_plain_text_built_in_arrow_equals_the_sql_standard_text():
    """split_batch builds plain-text fields' output in Arrow; it must be exactly what compile_check's SQL gives."""
    fields = [{"name": "名称", "constraints": {"required": True, "maxLength": 4}},
              {"name": "状态", "constraints": {"enum": ["存续", "注销"]}},
              {"name": "代码", "format": "gb32100"}, {"name": "金额", "type": "number"},
              {"name": "备注", "format": "email"}, {"name": "牌照", "huiju:halfwidth": True}]
    schema = schema_of(*fields, missingValues=["", "无", "-"])
    batch = strings(名称=[" 甲公司 ", "无", "\u3000乙\u3000", None, "-", "丙丁戊己庚"],
                    状态=["存续", " 注销", "无", "在营", None, "存续"],
                    代码=[uscc("91990100MA0000001").lower(), "无", None, "x", "", " - "],
                    金额=["1,000", "无", "", "x", "5", "6"], 备注=["a@b.cn ", "无", None, "", " ", "-"],
                    牌照=["粤Ａ１２３", "无", "", None, "b", "c"], 附注=[" 原样 ", "无", None, "", "x", "y"])
    batch = batch.take([5, 0, 3, 1, 4, 2])  # rows out of file order: the output must follow the SQL's rows
    conn = duckdb.connect()
    conn.register("batch", batch)
    sql = compile_check(schema, [], relation="batch", today=TODAY, extra_columns=["附注"])
    fails = [f'"__fail__type:{name}"' for name in ("金额",)]
    expected = conn.sql(f"SELECT * EXCLUDE ({', '.join(fails)}) FROM ({sql}) WHERE NOT ({' OR '.join(fails)}) "
                        "ORDER BY _row").to_arrow_table()
    result = split(batch, schema, [])
    assert result.accepted.sort_by("_row") == expected and expected["_row"].to_pylist() == [1, 2, 3, 5, 6]
    rules = rules_from_schema(schema) + [Rule(kind="reference", field="状态", lookup="s")]
    conn.execute("CREATE TABLE s AS SELECT unnest(['存续', '注销']) AS 状态")
    checked = split(batch, schema, rules, conn, lookups={"s": "s"})
    assert failures(checked) == {(2, "required:名称"), (4, "required:名称"), (5, "required:名称"),
                                 (6, "length:名称"), (4, "enum:状态"), (4, "reference:状态"), (4, "uscc:代码"),
                                 (4, "type:金额")}
    assert checked.accepted.sort_by("_row") == expected.filter(pc.is_in(expected["_row"], pa.array([1, 3])))
    assert checked.accepted.column_names == ["_row", *(f["name"] for f in fields), "附注"]


def test_statement_rows_are_put_back_in_file_order():
    """DuckDB hands back a big batch's rows as interleaved runs; split_batch restores the file order."""
    from huiju.ingest.quality import _in_order_of

    batch = pa.table({"_row": pa.array([1, 2, 3, 5, 6, 9, 10, 11], pa.int64())})  # gaps: rows the reader rejected
    runs = pa.table({"_row": pa.array([6, 9, 10, 1, 2, 11, 3, 5], pa.int64()), "x": list("abcdefgh")})
    assert _in_order_of(runs, batch).to_pydict() == {"_row": [1, 2, 3, 5, 6, 9, 10, 11], "x": list("degh" "abcf")}
    shuffled = pa.table({"_row": pa.array([2, 1], pa.int64())})
    assert _in_order_of(shuffled, shuffled).equals(shuffled)  # not numbered in order: left as it is
    n = 300_000  # big enough for DuckDB to scan on several threads
    big = pa.table({"_row": pa.array(range(1, n + 1), pa.int64()), "v": pa.array([str(i % 7) for i in range(n)])})
    schema = schema_of({"name": "v", "constraints": {"required": True}}, {"name": "n", "type": "integer"})
    big = big.append_column("n", big["v"])
    result = split(big, schema, rules_from_schema(schema))
    assert result.accepted["_row"].equals(big["_row"]) and result.accepted["v"].equals(big["v"])
