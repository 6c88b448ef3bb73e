"""一数一源: the registry, column mappings, comparison into correction tasks (纠错) and their answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from huiju.catalog import service as catalog
from huiju.errors import Conflict, Forbidden, Invalid
from huiju.ingest import service as ingest
from huiju.ingest.authority import service
from huiju.ingest.authority.compare import Side, discrepancy_sql, overlap_sql
from huiju.ingest.authority.defaults import default_elements, default_mappings
from huiju.ingest.authority.models import CorrectionTask
from huiju.ingest.validators import gb11643_check_char
from huiju.security.audit import verify_chain
from huiju.storage.lake.duckdb import DuckDBEngine


def cid(first17: str) -> str:
    return first17 + gb11643_check_char(first17)


A, B, C, D, E = (cid("11010519800102001"), cid("11010519850304002"), cid("11010519900506003"),
                 cid("11010519750708004"), cid("11010519920910005"))
GA_HEADER = "身份证号,姓名,性别,出生日期,户籍地址\n"
GA_ROWS = [f"{A},张伟,1,1980-01-02,示例市一路1号", f"{B},王芳,2,1985-03-04,示例市二路2号",
           f"{C},李娜,2,1990-05-06,示例市三路3号", f"{D},刘洋,1,1975-07-08,示例市四路4号"]
RS_HEADER = "社会保障号码,姓名,性别,出生日期,险种\n"
# A agrees (男 folds to the GA code 1), B's 姓名 and C's 出生日期 differ, E is known to RS only;
# B's two rows (two schemes) carry the same values: one discrepancy, not two
RS_ROWS = [f"{A.lower()}, 张伟 ,男,1980年1月2日,企业职工基本养老保险", f"{B},王芳芳,女,1985-03-04,企业职工基本养老保险",
           f"{B},王芳芳,女,1985.3.4,城乡居民基本医疗保险", f"{C},李娜,女,19900507,企业职工基本养老保险",
           f"{E},陈静,女,1992-09-10,城乡居民基本养老保险"]
GA_SCHEMA = {"fields": [
    {"name": "身份证号", "type": "string", "format": "gb11643", "constraints": {"required": True}},
    {"name": "姓名", "type": "string"}, {"name": "性别", "type": "string"}, {"name": "出生日期", "type": "date"},
    {"name": "户籍地址", "type": "string"}], "primaryKey": ["身份证号"]}
RS_SCHEMA = {"fields": [
    {"name": "社会保障号码", "type": "string", "format": "gb11643", "constraints": {"required": True}},
    {"name": "姓名", "type": "string"}, {"name": "性别", "type": "string"}, {"name": "出生日期", "type": "date"},
    {"name": "险种", "type": "string"}]}
GA_MAP = {"身份证号": "person.id_number", "姓名": "person.name", "性别": "person.gender",
          "出生日期": "person.birth_date", "户籍地址": "person.household_address"}
RS_MAP = {"社会保障号码": "person.id_number", "姓名": "person.name", "性别": "person.gender",
          "出生日期": "person.birth_date"}


def load(storage, actor, key: str, path: Path, header: str, rows: list[str]) -> None:
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    with storage.uow() as uow:
        job = ingest.ingest_file(uow, actor, dataset_key=key, path=path, today=date(2026, 11, 1))
    assert job.status == "succeeded" and job.rows_rejected == 0, job.error


@pytest.fixture
def registry(storage, people, tmp_path):
    """GA's population and RS's insured persons loaded through ingest, the person elements registered, mapped."""
    op = people["op"]
    for key, name, dept, schema in (("ga_people", "人口基本信息", "GA", GA_SCHEMA),
                                    ("rs_insured", "社会保险参保信息", "RS", RS_SCHEMA)):
        with storage.uow() as uow:
            catalog.register_dataset(uow, op, key=key, name=name, department_code=dept)
        with storage.uow() as uow:
            catalog.save_schema(uow, op, key, table_schema=schema, rules=[], confirmed=True)
    load(storage, people["ga_steward"], "ga_people", tmp_path / "ga.csv", GA_HEADER, GA_ROWS)
    load(storage, people["rs_steward"], "rs_insured", tmp_path / "rs.csv", RS_HEADER, RS_ROWS)
    for spec in default_elements():
        if spec["subject"] == "person":
            with storage.uow() as uow:
                service.register_element(uow, op, spec["code"], spec["name"], spec["subject"],
                                         spec["authority_department_code"], value_codes=spec["value_codes"])
    for key, actor, mapping in (("ga_people", "ga_steward", GA_MAP), ("rs_insured", "rs_steward", RS_MAP)):
        for column, code in mapping.items():
            with storage.uow() as uow:
                service.map_column(uow, people[actor], key, column, code)
    return people


def open_tasks(storage, actor):
    with storage.uow() as uow:
        return service.list_tasks(uow, actor)


def test_discrepancies_become_tasks_for_the_authority_once(storage, registry, backend):
    people = registry
    with storage.uow() as uow:
        report = service.compare(uow, people["op"], "person")
    assert report["discrepancies"] == 2 and report["new_tasks"] == 2
    by_code = {e["element"]: e for e in report["elements"]}
    assert set(by_code) == {"person.name", "person.gender", "person.birth_date", "person.household_address"}
    assert by_code["person.name"]["reference"] == {"dataset": "ga_people", "version": 1}
    [rs] = by_code["person.name"]["datasets"]
    assert (rs["dataset"], rs["department"], rs["subjects"], rs["overlap"]) == ("rs_insured", "RS", 4, 3)
    assert by_code["person.gender"]["discrepancies"] == 0  # 男/女 folded to GB/T 2261.1 codes
    assert by_code["person.household_address"]["datasets"] == []  # RS does not carry it
    assert by_code["person.name"]["sample"] == [{"subject_key": B, "authority_value": "王芳", "dataset": "rs_insured",
                                                 "other_value": "王芳芳"}]

    tasks = open_tasks(storage, people["ga_steward"])
    with storage.uow() as uow:
        ga = catalog.dataset_by_key(uow, people["op"], "ga_people")
        elements = {e.id: e.code for e in service.list_elements(uow, people["ga_user"])}
    found = {(elements[t.element_id], t.subject_key, t.authority_value, t.other_value) for t in tasks}
    assert found == {("person.name", B, "王芳", "王芳芳"), ("person.birth_date", C, "1990-05-06", "1990-05-07")}
    assert all(t.status == "open" and t.assigned_department_id == ga.department_id for t in tasks)
    assert all(t.authority_dataset_key == "ga_people" and t.other_dataset_key == "rs_insured"
               and (t.authority_version, t.other_version) == (1, 1) for t in tasks)

    with storage.uow() as uow:
        again = service.compare(uow, people["op"], None)
        assert again["discrepancies"] == 2 and again["new_tasks"] == 0
        assert uow.session.scalar(select(func.count()).select_from(CorrectionTask)) == 2
        assert service.count_open_tasks(uow, people["ga_steward"]) == 2
        assert verify_chain(uow.session).ok


def test_only_the_authority_sees_and_answers_its_tasks(storage, registry):
    people = registry
    with storage.uow() as uow:
        service.compare(uow, people["ga_steward"], "person.name")  # the authority's steward may compare its elements
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.compare(uow, people["rs_steward"], "person.name")
    with storage.uow() as uow:
        assert service.compare(uow, people["rs_steward"], "person")["elements"] == []  # RS is no person authority
    [task] = open_tasks(storage, people["ga_steward"])
    assert open_tasks(storage, people["rs_steward"]) == []
    assert len(open_tasks(storage, people["op"])) == 1
    for who in ("rs_steward", "ga_user", "citizen"):
        with storage.uow() as uow, pytest.raises(Forbidden):
            service.get_task(uow, people[who], task.id) if who == "rs_steward" else service.list_tasks(uow, people[who])
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.resolve_task(uow, people["rs_steward"], task.id, "corrected")
    with storage.uow() as uow, pytest.raises(Invalid):
        service.resolve_task(uow, people["ga_steward"], task.id, "rejected")  # a rejection says why
    with storage.uow() as uow, pytest.raises(Invalid):
        service.resolve_task(uow, people["ga_steward"], task.id, "done")
    with storage.uow() as uow:
        done = service.resolve_task(uow, people["ga_steward"], task.id, "confirmed_correct", " 户籍档案核实为王芳 ")
    assert (done.status, done.resolution_note, done.resolved_by) == ("confirmed_correct", "户籍档案核实为王芳",
                                                                    people["ga_steward"].user_id)
    assert done.resolved_at is not None
    with storage.uow() as uow, pytest.raises(Conflict):
        service.resolve_task(uow, people["ga_steward"], task.id, "corrected")
    with storage.uow() as uow:
        assert service.compare(uow, people["op"], "person.name")["new_tasks"] == 0  # an answered pair stays answered
        assert service.list_tasks(uow, people["ga_steward"]) == []
        assert [t.id for t in service.list_tasks(uow, people["ga_steward"], status="confirmed_correct")] == [task.id]


def test_registry_and_mapping_rules(storage, registry):
    people = registry
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.register_element(uow, people["ga_steward"], "person.nation", "民族", "person", "GA")
    with storage.uow() as uow, pytest.raises(Conflict):
        service.register_element(uow, people["op"], "person.name", "姓名", "person", "GA")
    with storage.uow() as uow, pytest.raises(Invalid):
        service.register_element(uow, people["op"], "legal_entity.nation", "民族", "person", "GA")
    with storage.uow() as uow, pytest.raises(Invalid):
        service.register_element(uow, people["op"], "vehicle.plate", "号牌", "vehicle", "GA")
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.map_column(uow, people["rs_steward"], "ga_people", "姓名", "person.name")
    with storage.uow() as uow, pytest.raises(Invalid):
        service.map_column(uow, people["rs_steward"], "rs_insured", "没有这一列", "person.name")
    with storage.uow() as uow, pytest.raises(Conflict):
        service.map_column(uow, people["rs_steward"], "rs_insured", "姓名", "person.birth_date")
    with storage.uow() as uow:
        again = service.map_column(uow, people["rs_steward"], "rs_insured", "姓名", "person.name")  # idempotent
        assert again.column == "姓名"
        assert {m.dataset_key for m in service.list_mappings(uow, people["rs_steward"])} == {"rs_insured"}
        assert len(service.list_mappings(uow, people["op"], element_code="person.name")) == 2
        service.unmap_column(uow, people["rs_steward"], "rs_insured", "person.gender")
    with storage.uow() as uow:
        report = service.compare(uow, people["op"], "person.gender")
        assert report["elements"][0]["datasets"] == []
    with storage.uow() as uow, pytest.raises(Invalid):
        service.compare(uow, people["op"], "person.id_number")  # the key is joined on, not compared


def test_a_stale_task_closes_when_the_authority_publishes_the_agreed_value(storage, registry, tmp_path, backend):
    people = registry
    with storage.uow() as uow:
        service.compare(uow, people["op"], "person")
    fixed = [r.replace("1990-05-06", "1990-05-07") for r in GA_ROWS]
    load(storage, people["ga_steward"], "ga_people", tmp_path / "ga2.csv", GA_HEADER, fixed)
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.on_version_published(uow, people["rs_steward"], "ga_people")
    with storage.uow() as uow:
        outcome = service.on_version_published(uow, people["ga_steward"], "ga_people")
    # ingest already re-compared when GA published, so calling it again finds nothing left to close
    assert outcome["compared"]["closed_tasks"] == 0 and outcome["compared"]["new_tasks"] == 0
    assert outcome["rebuilt"] == []  # no base library was built yet
    with storage.uow() as uow:
        closed = service.list_tasks(uow, people["op"], status="corrected")
    assert [t.subject_key for t in closed] == [C]
    assert closed[0].resolution_detail == {"automatic": True, "authority_version": 2, "other_version": 1}
    assert [t.subject_key for t in open_tasks(storage, people["ga_steward"])] == [B]


def test_a_correction_by_hand_is_not_reported_again_before_the_next_version(storage, registry):
    people = registry
    with storage.uow() as uow:
        service.compare(uow, people["op"], "person.birth_date")
    [task] = open_tasks(storage, people["ga_steward"])
    with storage.uow() as uow:
        service.resolve_task(uow, people["ga_steward"], task.id, "corrected", "已在户籍系统更正")
    with storage.uow() as uow:
        assert service.compare(uow, people["op"], "person.birth_date")["new_tasks"] == 0


def test_default_mappings_name_registered_elements():
    codes = {e["code"] for e in default_elements()}
    assert {m["element_code"] for m in default_mappings()} <= codes
    keys = {e["code"] for e in default_elements() if e["code"] in ("person.id_number", "legal_entity.uscc")}
    assert keys == {"person.id_number", "legal_entity.uscc"}


# ---- the comparison SQL on its own --------------------------------------------------------

def _tables(tmp_path, auth: dict, other: dict) -> dict:
    pq.write_table(pa.table(auth), tmp_path / "a.parquet")
    pq.write_table(pa.table(other), tmp_path / "o.parquet")
    return {"auth": [tmp_path / "a.parquet"], "other": [tmp_path / "o.parquet"]}


def test_normalisation_trims_folds_and_compares_null_safely(tmp_path):
    tables = _tables(tmp_path, {"k": ["1", "2", "3", "4", "5 "], "v": ["甲", " 乙", None, "丁", "戊"]},
                     {"k": [" 1", "2", "3", "4", "5"], "v": ["甲 ", "乙", "丙", None, ""]})
    rows = DuckDBEngine().query(discrepancy_sql(Side("k", "v", "string"), Side("k", "v", "string")), tables)
    # the authority's gap (3) is reported; another department's empty value (4, 5) is not
    assert rows.to_pylist() == [{"subject_key": "3", "authority_value": None, "other_value": "丙"}]
    counts = DuckDBEngine().query(overlap_sql(Side("k", "v", "string"), Side("k", "v", "string")), tables)
    assert counts.to_pylist() == [{"subjects": 5, "overlap": 5}]


def test_numbers_and_dates_compare_by_value(tmp_path):
    tables = _tables(tmp_path, {"k": ["1", "2", "3", "4"], "cap": [100.0, 12.5, 0.0, 3.0],
                                "d": [date(2020, 1, 5), date(2020, 1, 6), None, date(2020, 1, 8)]},
                     {"k": ["1", "2", "3", "4"], "cap": ["100", "12.50", "0.00", "3,0"],
                      "d": ["2020-01-05", "2020-1-6", "2020-01-07", "2020-01-09"]})
    engine = DuckDBEngine()
    money = engine.query(discrepancy_sql(Side("k", "cap", "double"), Side("k", "cap", "string")), tables).to_pylist()
    assert money == [{"subject_key": "4", "authority_value": "3", "other_value": "3,0"}]
    dates = engine.query(discrepancy_sql(Side("k", "d", "date32[day]"), Side("k", "d", "string")), tables).to_pylist()
    assert [(r["subject_key"], r["authority_value"], r["other_value"]) for r in dates] == [
        ("3", None, "2020-01-07"), ("4", "2020-01-08", "2020-01-09")]


def test_value_codes_fold_spellings(tmp_path):
    tables = _tables(tmp_path, {"k": ["1", "2", "3"], "sex": ["1", "2", "1"]},
                     {"k": ["1", "2", "3"], "sex": ["男", "女性", "女"]})
    codes = {"男": "1", "女": "2", "女性": "2"}
    rows = DuckDBEngine().query(discrepancy_sql(Side("k", "sex", "string"), Side("k", "sex", "string"), codes),
                                tables).to_pylist()
    assert rows == [{"subject_key": "3", "authority_value": "1", "other_value": "2"}]


def test_the_cli_commands(storage, registry):
    import typer
    from rich.console import Console
    from typer.testing import CliRunner

    from huiju.ingest.authority.cli import register

    app = typer.Typer()
    register(app, lambda ctx: storage, Console(width=200, no_color=True))
    cli = CliRunner()

    def run(*args: str) -> str:
        result = cli.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    assert "person.name" in run("authority", "list") and "GA" in run("authority", "list")
    out = run("authority", "defaults")  # the person elements exist, SJ does not: said, not fatal
    assert "已登记 0 个数据元" in out and "SJ" in out
    assert "发现 2 处不一致；新建纠错任务 2 个" in run("authority", "compare", "person")
    tasks = run("authority", "tasks")
    assert "王芳芳" in tasks and "1990-05-07" in tasks and "待处理" in tasks
    with storage.uow() as uow:
        first = service.list_tasks(uow, registry["op"])[0].id
    assert "权威值无误" in run("authority", "resolve", str(first), "confirmed_correct", "--note", "核实无误")
    assert "base_population 第 1 版：5 行" in run("baselib", "build", "person")
    assert "已是最新" in run("baselib", "build", "person")
    with storage.uow() as uow:
        catalog.register_dataset(uow, registry["op"], key="rs_extra", name="补充", department_code="RS")
    with storage.uow() as uow:
        catalog.save_schema(uow, registry["op"], "rs_extra", table_schema=RS_SCHEMA, rules=[], confirmed=True)
    assert "对应数据元 person.name" in run("authority", "map", "rs_extra", "姓名", "person.name")
    assert "rs_extra" in run("authority", "mappings", "--dataset", "rs_extra")
    bad = cli.invoke(app, ["authority", "add", "person.x", "某", "--subject", "person", "--authority", "GA",
                           "--value-code", "oops"])
    assert isinstance(bad.exception, Invalid)
