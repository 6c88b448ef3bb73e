"""Table Schema model (Frictionless round trip, refusals) and inference on the demo city's files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from huiju.demo.generator import generate
from huiju.errors import Invalid
from huiju.ingest.schema import Field, TableSchema, infer_schema

# A descriptor as a steward (or another Frictionless tool) writes it: bare-string primaryKey, custom
# missingValues, properties we do not model (rdfType, example) and our huiju: extensions.
DESCRIPTOR = {
    "fields": [
        {"name": "统一社会信用代码", "title": "统一社会信用代码", "type": "string", "format": "gb32100",
         "constraints": {"required": True, "unique": True}, "rdfType": "http://schema.org/identifier"},
        {"name": "企业名称", "type": "string", "constraints": {"required": True, "maxLength": 100}},
        {"name": "注册资本（万元）", "type": "number", "constraints": {"minimum": 0}, "example": "1,000.00"},
        {"name": "成立日期", "type": "date", "format": "default", "constraints": {"maximum": "2030-12-31"},
         "huiju:excelSerial": True},
        {"name": "登记状态", "type": "string", "constraints": {"enum": ["存续", "在业", "注销", "吊销"]}},
        {"name": "邮编", "type": "string", "constraints": {"pattern": "[0-9]{6}", "minLength": 6}},
        {"name": "是否上市", "type": "boolean", "trueValues": ["是"], "falseValues": ["否"]},
        {"name": "所属年度", "type": "year"},
        {"name": "登记时间", "type": "datetime", "description": "系统登记时间"},
    ],
    "primaryKey": "统一社会信用代码",
    "missingValues": ["", "-", "无"],
    "foreignKeys": [],
}


def read_strings(path: Path, encoding: str = "utf-8") -> pa.Table:
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


def demo_table(demo: tuple[Path, dict], key: str) -> tuple[pa.Table, dict]:
    folder, manifest = demo
    spec = next(f for f in manifest["files"] if f["key"] == key)
    return read_strings(folder / spec["file"], spec["encoding"]), spec


def test_frictionless_descriptor_round_trips():
    schema = TableSchema.from_json(json.dumps(DESCRIPTOR, ensure_ascii=False))
    assert schema.primary_key == ["统一社会信用代码"]
    assert schema.missing_values == ["", "-", "无"]
    assert schema.field("成立日期").excel_serial is True
    assert schema.field("是否上市").true_values == ["是"]
    assert schema.field("企业名称").constraints.max_length == 100
    text = schema.to_json()
    assert "统一社会信用代码" in text  # Chinese stays readable, not \u-escaped
    again = json.loads(text)
    assert again == {**DESCRIPTOR, "primaryKey": ["统一社会信用代码"]}  # extra properties survive, nothing added
    assert TableSchema.from_json(text) == schema


def test_minimal_descriptor_gets_frictionless_defaults():
    schema = TableSchema.from_json('{"fields": [{"name": "a"}]}')
    assert schema.fields[0].type == "string" and schema.missing_values == [""] and schema.primary_key is None
    assert json.loads(schema.to_json()) == {"fields": [{"name": "a", "type": "string"}], "missingValues": [""]}


@pytest.mark.parametrize("descriptor", [
    {"fields": [{"name": "a", "type": "decimal"}]},
    {"fields": [{"name": "a", "type": "integer", "format": "gb11643"}]},
    {"fields": [{"name": "a"}], "primaryKey": ["b"]},
    {"fields": [{"name": "a"}, {"name": "a"}]},
    {"fields": [{"name": "_row"}]},
    {"fields": [{"name": "__fail__x"}]},
    {"fields": [{"name": "a", "constraints": {"pattern": "(unclosed"}}]},
    {"fields": [{"name": "a", "constraints": {"maxLength": -1}}]},
    {"fields": []},
    {"primaryKey": "a"},
])
def test_malformed_descriptors_are_refused(descriptor):
    with pytest.raises(Invalid):
        TableSchema.from_json(json.dumps(descriptor))


def test_identifier_format_needs_a_string_field():
    with pytest.raises(Invalid, match="string fields only"):
        Field(name="a", type="integer", format="gb32100")


def test_inference_on_legal_entities(demo):
    table, spec = demo_table(demo, "legal_entities")
    schema = infer_schema(table)
    kinds = {f.name: (f.type, f.format, bool(f.constraints.required)) for f in schema.fields}
    assert kinds["统一社会信用代码"] == ("string", "gb32100", True)  # 2 bad check digits of 500 stay under 10 %
    assert kinds["成立日期"] == ("date", None, True)  # ISO, 2023年1月5日, 2023.1.5 and 20230105 mixed
    assert kinds["注册资本（万元）"][0] == "number"  # "100.00": money, not a count
    assert kinds["行政区划代码"][:2] == ("string", "gb2260")
    assert kinds["法定代表人"] == ("string", None, False)  # one injected empty value
    assert kinds["企业名称"] == ("string", None, True)
    assert schema.primary_key is None  # the injected duplicate key rules the USCC out
    assert [f.name for f in schema.fields] == spec["columns"]  # _row is not a field


@pytest.mark.parametrize(("key", "column", "kind"), [
    ("social_organisations", "统一社会信用代码", ("string", "gb32100")),
    ("social_insurance", "社会保障号码", ("string", "gb11643")),  # GBK file, one lowercase x
    ("social_insurance", "参保日期", ("date", None)),
    ("enterprise_tax", "纳税人识别号", ("string", "gb32100")),  # one full-width value
    ("enterprise_tax", "所属年度", ("year", None)),
    ("taxi_trips", "驾驶员身份证号", ("string", "gb11643")),
    ("taxi_trips", "上车时间", ("datetime", None)),
    ("taxi_trips", "金额（元）", ("number", None)),
    ("air_quality", "AQI", ("integer", None)),  # GB18030 file
    ("marriages", "登记日期", ("date", None)),
])
def test_inference_on_other_demo_files(demo, key, column, kind):
    table, _spec = demo_table(demo, key)
    field = infer_schema(table).field(column)
    assert (field.type, field.format) == kind


@pytest.mark.parametrize(("key", "primary_key"), [
    ("social_organisations", ["统一社会信用代码"]), ("taxi_trips", ["订单编号"]), ("marriages", ["登记证字号"]),
])
def test_primary_key_proposal(demo, key, primary_key):
    table, spec = demo_table(demo, key)
    assert infer_schema(table).primary_key == primary_key == spec["primary_key"]


def test_inferred_schema_is_a_storable_proposal(demo):
    table, _spec = demo_table(demo, "credit_lists")
    schema = infer_schema(table)
    assert TableSchema.from_json(schema.to_json()) == schema


def strings(**columns: list[str | None]) -> pa.Table:
    n = len(next(iter(columns.values())))
    return pa.table({**{k: pa.array(v, pa.string()) for k, v in columns.items()}, "_row": list(range(1, n + 1))})


def test_inference_keeps_codes_as_strings_and_spots_booleans():
    schema = infer_schema(strings(
        编号=["001", "002", "003"], 是否有效=["是", "否", "是"], 标志=["1", "0", "1"], 空列=["", "", ""],
        备注=["a", "", "c"], 金额=["1,234.5", "２００", "-3"]))
    got = {f.name: (f.type, bool(f.constraints.required)) for f in schema.fields}
    assert got == {"编号": ("string", True), "是否有效": ("boolean", True), "标志": ("integer", True),
                   "空列": ("string", False), "备注": ("string", False), "金额": ("number", True)}
    assert schema.primary_key == ["编号"]


def test_inference_reads_only_the_sample():
    table = strings(n=[str(i) for i in range(20)] + ["x"])
    assert infer_schema(table, sample_rows=20).fields[0].type == "integer"
    assert infer_schema(table).fields[0].type == "string"
