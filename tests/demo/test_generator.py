"""The demo city generator: deterministic, parseable files, and every planted defect really where the manifest says."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from huiju.demo.city import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEPARTMENTS,
    REGION_BY_CODE,
    REGIONS,
)
from huiju.demo.defects import DefectKind
from huiju.demo.generator import generate
from huiju.demo.manifest import DataFile, Manifest
from huiju.ingest.validators import (
    gb11643_check_char,
    gb11714_check_char,
    gb32100_check_char,
)

ID_FIELDS = {"GMSFHM", "社会保障号码", "身份证件号", "男方身份证号", "女方身份证号", "驾驶员身份证号"}
USCC_FIELDS = {"统一社会信用代码", "纳税人识别号", "行政相对人代码_1（统一社会信用代码）", "单位统一社会信用代码"}
MOBILE = re.compile(r"^1[3-9]\d{9}$")
HALF_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("city")
    return out, generate(out, "small", seed=2026)


@pytest.fixture(scope="module")
def tables(city: tuple[Path, Manifest]) -> dict[str, list[dict[str, Any]]]:
    out, manifest = city
    return {spec.key: read_table(out, spec) for spec in manifest.files}


def read_table(out: Path, spec: DataFile) -> list[dict[str, Any]]:
    """Read a dataset the way an importer would, using only what the manifest declares."""
    path = out / spec.file
    if spec.format == "csv":
        with path.open(encoding=spec.encoding, newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[spec.header_rows - 1] == spec.columns
        data = rows[spec.header_rows:]
        return [dict(zip(spec.columns, (v if v != "" else None for v in r), strict=True)) for r in data]
    if spec.format == "xlsx":
        ws = openpyxl.load_workbook(path, read_only=True)[spec.sheet]
        rows = list(ws.iter_rows(values_only=True))
        assert list(rows[spec.header_rows - 1]) == spec.columns
        return [dict(zip(spec.columns, r, strict=True)) for r in rows[spec.header_rows:]]
    if spec.format == "sqlite":
        with sqlite3.connect(path) as con:
            cursor = con.execute(f"SELECT {', '.join(spec.columns)} FROM {spec.table} ORDER BY rowid")
            return [dict(zip(spec.columns, r, strict=True)) for r in cursor]
    if spec.format == "json":
        page = json.loads(path.read_text(encoding=spec.encoding))
        assert page["total"] == len(page["data"])
        return page["data"]
    assert spec.format == "geojson"
    return [f["properties"] for f in json.loads(path.read_text(encoding=spec.encoding))["features"]]


def text(value: Any) -> str | None:
    """A cell as the manifest writes values (dates as ISO, numbers as str, empty as None)."""
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, datetime) else str(value)


def id_ok(value: str) -> bool:
    return len(value) == 18 and value[:17].isdigit() and gb11643_check_char(value[:17]) == value[17]


def uscc_ok(value: str) -> bool:
    return len(value) == 18 and gb32100_check_char(value[:17]) == value[17]


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def test_same_seed_gives_identical_files(city: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, manifest = city
    again = generate(tmp_path, "small", seed=2026)
    assert digests(tmp_path) == digests(out)
    assert again.to_dict() == manifest.to_dict()


def test_another_seed_gives_other_people(city: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, _ = city
    generate(tmp_path, "small", seed=7)
    assert (tmp_path / "ga_population.sqlite").read_bytes() != (out / "ga_population.sqlite").read_bytes()


def test_manifest_lists_every_file_and_round_trips(city: tuple[Path, Manifest]) -> None:
    out, manifest = city
    listed = {spec.file for spec in manifest.files}
    assert listed | {"manifest.json"} == {p.name for p in out.iterdir()}
    assert Manifest.load(out).to_dict() == manifest.to_dict()
    assert {d.code for d in DEPARTMENTS} == {spec.department_code for spec in manifest.files}
    for d in DEPARTMENTS:
        assert set(d.provides) == {spec.key for spec in manifest.files if spec.department_code == d.code}


def test_row_counts_match_the_manifest(city: tuple[Path, Manifest], tables: dict[str, list[dict[str, Any]]]) -> None:
    _, manifest = city
    for spec in manifest.files:
        assert len(tables[spec.key]) == spec.rows > 0, spec.key
    sizes = {spec.key: spec.rows for spec in manifest.files}
    assert [sizes[k] for k in ("population", "legal_entities", "licences", "penalties")] == [2000, 500, 300, 200]
    assert (sizes["social_insurance"], sizes["bus_swipes"]) == (1500, 5000)
    assert sizes["scenic_flow"] == 7 * 24 * 5 and sizes["air_quality"] == 7 * 24 * 3


def test_encodings_are_what_departments_send(city: tuple[Path, Manifest]) -> None:
    out, manifest = city
    assert manifest.file("social_insurance").encoding == "gbk"
    air = (out / manifest.file("air_quality").file).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        air.decode("gbk")
    assert "䶮山监测站" in air.decode("gb18030")


def test_merged_headers_are_really_merged(city: tuple[Path, Manifest]) -> None:
    out, manifest = city
    spec = manifest.file("medical_institutions")
    ws = openpyxl.load_workbook(out / spec.file)[spec.sheet]
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:D1", "E1:F1", "G1:J1", "K1:L1"}
    assert [ws.cell(1, c).value for c in (1, 5, 7, 11)] == ["基本信息", "规模", "位置", "登记"]
    spec = manifest.file("monthly_indicators")
    ws = openpyxl.load_workbook(out / spec.file)[spec.sheet]
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:F1"}


def test_population_is_consistent_with_the_id_numbers(
    city: tuple[Path, Manifest], tables: dict[str, list[dict[str, Any]]]
) -> None:
    _, manifest = city
    spoiled = {d.row for d in manifest.defects if d.dataset == "population"}
    clean = [r for n, r in enumerate(tables["population"], 1) if n not in spoiled]
    assert len(clean) > 1900
    for r in clean:
        pid = r["GMSFHM"]
        assert id_ok(pid), pid
        assert r["CSRQ"] == pid[6:14]
        date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14]))
        assert r["XB"] == ("1" if int(pid[16]) % 2 else "2")
        assert pid[:6] in REGION_BY_CODE and r["HJDZ_XZQHDM"] in REGION_BY_CODE
        assert r["HJDZ_JDXZDM"][:6] == r["HJDZ_XZQHDM"]
        assert r["HJDZ_DZMC"].startswith("示例省示例市" + REGION_BY_CODE[r["HJDZ_XZQHDM"]].name)
    assert len({r["GMSFHM"] for r in clean}) == len(clean)


def test_codes_of_organisations_are_valid(city: tuple[Path, Manifest], tables: dict[str, list[dict[str, Any]]]) -> None:
    _, manifest = city
    spoiled = {d.row for d in manifest.defects if d.dataset == "legal_entities"}
    for n, r in enumerate(tables["legal_entities"], 1):
        if n not in spoiled:
            code = r["统一社会信用代码"]
            assert uscc_ok(code) and code[:2] in ("91", "92") and code[2:6] == "9901", code
            assert gb11714_check_char(code[8:16]) == code[16]
    orgs = [r["统一社会信用代码"] for r in tables["social_organisations"]]
    assert all(uscc_ok(c) and c[0] == "5" for c in orgs)
    assert all(uscc_ok(d.uscc) for d in DEPARTMENTS)
    assert all(uscc_ok(r["统一社会信用代码"]) for r in tables["medical_institutions"])


def test_other_departments_draw_from_the_authorities(
    city: tuple[Path, Manifest], tables: dict[str, list[dict[str, Any]]]
) -> None:
    """Every person or firm elsewhere is in 人口 / 法人, except where a recorded normalisable defect hides it."""
    _, manifest = city
    people = {r["GMSFHM"] for r in tables["population"]}
    firms = {r["统一社会信用代码"] for r in tables["legal_entities"]}
    references = (
        ("social_insurance", "社会保障号码", people), ("students", "身份证件号", people),
        ("marriages", "男方身份证号", people), ("marriages", "女方身份证号", people),
        ("taxi_trips", "驾驶员身份证号", people), ("licences", "行政相对人代码_1（统一社会信用代码）", firms),
        ("penalties", "行政相对人代码_1（统一社会信用代码）", firms), ("enterprise_tax", "纳税人识别号", firms),
        ("credit_lists", "统一社会信用代码", firms), ("social_insurance", "单位统一社会信用代码", firms | {None}),
    )
    for key, field, authority in references:
        normalisable = {d.row for d in manifest.defects
                        if (d.dataset, d.field, d.kind) == (key, field, DefectKind.NORMALISABLE)}
        strangers = {n for n, r in enumerate(tables[key], 1) if r[field] not in authority}
        assert strangers == normalisable, (key, field)


def test_every_defect_kind_appears_at_small_scale(city: tuple[Path, Manifest]) -> None:
    _, manifest = city
    assert set(manifest.defect_counts) == {k.value for k in DefectKind}
    details = {(d.kind, d.detail) for d in manifest.defects}
    for form in ("cn", "dotted", "compact", "excel_serial"):
        assert (DefectKind.MIXED_DATE, form) in details
    assert {(DefectKind.NORMALISABLE, "lowercase_x"), (DefectKind.NORMALISABLE, "fullwidth_digits")} <= details
    mismatched = {(d.dataset, d.field) for d in manifest.defects if d.kind == DefectKind.CROSS_DEPT_MISMATCH}
    assert mismatched == {("social_insurance", "姓名"), ("social_insurance", "出生日期"),
                          ("enterprise_tax", "注册资本（万元）"), ("enterprise_tax", "法定代表人")}
    bad_fields = {d.field for d in manifest.defects if d.kind == DefectKind.BAD_CHECK_DIGIT}
    assert bad_fields & ID_FIELDS and bad_fields & USCC_FIELDS


def test_every_defect_is_where_the_manifest_says(
    city: tuple[Path, Manifest], tables: dict[str, list[dict[str, Any]]]
) -> None:
    _, manifest = city
    people = {r["GMSFHM"]: r for r in tables["population"]}
    firms = {r["统一社会信用代码"]: r for r in tables["legal_entities"]}
    for d in manifest.defects:
        spec = manifest.file(d.dataset)
        rows = tables[d.dataset]
        value = rows[d.row - 1][d.field]
        assert text(value) == d.bad, d
        if d.kind == DefectKind.BAD_CHECK_DIGIT:
            assert (id_ok if d.field in ID_FIELDS else uscc_ok)(d.original) and not (
                id_ok if d.field in ID_FIELDS else uscc_ok)(value), d
        elif d.kind == DefectKind.NORMALISABLE:
            assert value != d.original and value.translate(HALF_WIDTH).upper() == d.original
            assert (id_ok if d.field in ID_FIELDS else uscc_ok)(d.original)
        elif d.kind == DefectKind.MISSING_REQUIRED:
            assert value is None and d.field in spec.required
        elif d.kind == DefectKind.DUPLICATE_KEY:
            assert [r[d.field] for r in rows].count(value) >= 2
        elif d.kind == DefectKind.MIXED_DATE:
            assert d.original is not None
            assert parse_loose_date(value) == date.fromisoformat(d.original.replace("/", "-")), d
        elif d.kind == DefectKind.UNKNOWN_REGION:
            assert value.startswith("99") and value not in REGION_BY_CODE
        elif d.kind == DefectKind.CROSS_DEPT_MISMATCH:
            assert value != d.original
            if d.dataset == "social_insurance":
                authority = people[rows[d.row - 1]["社会保障号码"]]
                born = authority["CSRQ"]
                expected = authority["XM"] if d.field == "姓名" else f"{born[:4]}-{born[4:6]}-{born[6:]}"
            else:
                expected = firms[rows[d.row - 1]["纳税人识别号"]][d.field]
            assert expected == d.original, d
        else:
            assert d.kind == DefectKind.HIDDEN_SENSITIVE
            column = [r[d.field] for r in rows if r[d.field]]
            assert MOBILE.match(value) and len(column) > len(rows) / 2
            assert all(MOBILE.match(v) for v in column)


def parse_loose_date(value: Any) -> date:
    """Undo the four spoiled date forms the generator uses."""
    if isinstance(value, int):
        return date(1899, 12, 30) + timedelta(days=value)
    if m := re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", value):
        return date(*map(int, m.groups()))
    if m := re.fullmatch(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", value):
        return date(*map(int, m.groups()))
    assert re.fullmatch(r"\d{8}", value), value
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def test_scenarios_are_in_the_data(city: tuple[Path, Manifest], tables: dict[str, list[dict[str, Any]]]) -> None:
    _, manifest = city
    scenarios = {s.key: s.facts for s in manifest.scenarios}
    scenic = scenarios["scenic_capacity"]
    crowded = {r["time"] for r in tables["scenic_flow"]
               if r["inParkCount"] is not None and r["inParkCount"] > 0.8 * r["maxCapacity"]}
    assert crowded == set(scenic["hoursAbove80"]) and crowded
    assert all(t.startswith("2026-10-02 1") for t in crowded)
    air = scenarios["aqi_episode"]
    alerts = {r["站点编码"] for r in tables["air_quality"] if r["AQI"] and int(r["AQI"]) > 200}
    assert alerts == set(air["stations"]) and len(alerts) == 2
    offender = scenarios["repeat_offender"]
    penalties = [r for r in tables["penalties"] if r["行政相对人代码_1（统一社会信用代码）"] == offender["uscc"]]
    assert len(penalties) >= 3
    assert [n for n, r in enumerate(tables["penalties"], 1)
            if r["行政相对人代码_1（统一社会信用代码）"] == offender["uscc"]] == offender["penalty_rows"]
    listed = tables["credit_lists"][offender["list_row"] - 1]
    assert (listed["统一社会信用代码"], listed["名单类型"], listed["名单名称"]) == (offender["uscc"], "黑名单", offender["list"])


def test_region_polygons_cover_every_region(tables: dict[str, list[dict[str, Any]]]) -> None:
    assert [r["code"] for r in tables["region_boundaries"]] == [r.code for r in REGIONS]
    for region in REGIONS:
        west, south, east, north = region.bbox
        lon, lat = region.centroid
        assert west < lon < east and south < lat < north
        assert all(s.code.startswith(region.code) and len(s.code) == 9 for s in region.streets)


def test_demo_accounts() -> None:
    assert DEMO_PASSWORD == "huiju-demo-2026"
    assert [d.code for d in DEPARTMENTS] == "GA SJ RS WJ JT WL HB ZR TJ FG SW JY MZ".split()
    by_name = {a.username: a for a in DEMO_ACCOUNTS}
    assert len(by_name) == len(DEMO_ACCOUNTS) == 2 * len(DEPARTMENTS) + 2
    assert by_name["operator"].role == "operator" and by_name["public"].role == "public"
    assert (by_name["ga_steward"].role, by_name["ga_steward"].department_code) == ("steward", "GA")
    assert (by_name["mz_user"].role, by_name["mz_user"].department_code) == ("dept_user", "MZ")


def test_progress_advances_add_up_to_each_dataset(tmp_path: Path) -> None:
    steps: list[tuple[str, int]] = []
    manifest = generate(tmp_path, "small", seed=1, progress=lambda step, rows: steps.append((step, rows)))
    assert list(dict.fromkeys(s for s, _ in steps)) == [spec.key for spec in manifest.files]
    for spec in manifest.files:
        assert sum(rows for step, rows in steps if step == spec.key) == spec.rows


def test_unknown_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scale"):
        generate(tmp_path, "huge")
