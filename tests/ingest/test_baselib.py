"""Base libraries: merged on the key, each element from its authority, field-level lineage, rebuilt on publish."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huiju.catalog import service as catalog
from huiju.errors import Forbidden, Invalid
from huiju.ingest.authority import baselib, service
from huiju.storage.lake.duckdb import DuckDBEngine
from tests.ingest import test_authority
from tests.ingest.test_authority import GA_HEADER, GA_ROWS, A, B, C, D, E, load
from tests.support import lake_table

registry = test_authority.registry  # GA's population and RS's insured persons, loaded and mapped


def rows_of(storage, version) -> dict[str, dict]:
    table = lake_table(storage, version)
    return {r["身份证号"]: r for r in table.to_pylist()}


def test_the_population_library_takes_the_authority_and_falls_back_where_it_has_no_row(storage, registry, backend):
    people = registry
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.build_base_library(uow, people["ga_steward"], "person")
    with storage.uow() as uow:
        result = service.build_base_library(uow, people["op"], "person")
    assert result.built and result.dataset_key == "base_population" and result.rows == 5
    assert result.version.number == 1
    # E's 姓名, 性别 and 出生日期 came from RS: three values from a non-authoritative source
    assert result.fallback_values == 3
    with storage.uow() as uow:
        ds = catalog.dataset_by_key(uow, people["ga_steward"], "base_population")  # the key's authority owns it
        version = catalog.current_version(uow, people["op"], "base_population")
        [lineage] = catalog.lineage_of(uow, people["op"], "base_population")
    assert ds.name == "人口基础库" and ds.schema_confirmed
    assert [f["name"] for f in ds.table_schema["fields"]] == ["身份证号", "姓名", "性别", "出生日期", "户籍地址",
                                                              "_sources"]
    assert [f["name"] for f in version.schema] == ["身份证号", "姓名", "性别", "出生日期", "户籍地址", "_sources"]
    rows = rows_of(storage, version)
    assert set(rows) == {A, B, C, D, E}
    assert rows[B]["姓名"] == "王芳" and rows[C]["出生日期"] == date(1990, 5, 6)  # the authority's values
    assert rows[D]["姓名"] == "刘洋"  # only GA has D
    assert (rows[E]["姓名"], rows[E]["性别"], rows[E]["出生日期"], rows[E]["户籍地址"]) == (
        "陈静", "2", date(1992, 9, 10), None)  # 女 folded to GB/T 2261.1 code 2
    ga, rs = {"dataset": "ga_people", "version": 1}, {"dataset": "rs_insured", "version": 1}
    assert json.loads(rows[B]["_sources"]) == {"身份证号": ga, "姓名": ga, "性别": ga, "出生日期": ga, "户籍地址": ga}
    assert json.loads(rows[E]["_sources"]) == {"身份证号": rs, "姓名": rs, "性别": rs, "出生日期": rs, "户籍地址": None}
    assert lineage.kind == "derived" and lineage.rule_set_sm3
    assert [(i["dataset"], i["version"], i["role"]) for i in lineage.inputs] == [
        ("ga_people", 1, "authority"), ("rs_insured", 1, "fallback")]
    assert lineage.inputs[0]["elements"]["person.name"] == 4 and lineage.inputs[1]["elements"]["person.name"] == 1
    assert lineage.inputs[0]["version_id"] == result.inputs[0]["version_id"]

    with storage.uow() as uow:
        again = service.build_base_library(uow, people["op"], "person")
    assert not again.built and again.version.number == 1  # nothing changed: no new version
    with storage.uow() as uow:
        forced = service.build_base_library(uow, people["op"], "person", force=True)
    assert forced.built and forced.version.number == 2


def test_a_new_authority_version_rebuilds_the_library(storage, registry, tmp_path, backend):
    people = registry
    with storage.uow() as uow:
        service.build_base_library(uow, people["op"], "person")
    # GA now knows E and corrects C's birth date
    newer = [r.replace("1990-05-06", "1990-05-07") for r in GA_ROWS] + [f"{E},陈静,2,1992-09-11,示例市五路5号"]
    load(storage, people["ga_steward"], "ga_people", tmp_path / "ga2.csv", GA_HEADER, newer)  # ingest re-runs
    with storage.uow() as uow:  # so asking again finds the library up to date: nothing is rebuilt twice
        outcome = service.on_version_published(uow, people["ga_steward"], "ga_people")
    [again] = outcome["rebuilt"]
    assert not again.built
    # the re-comparison: B's 姓名 still differs, C's 出生日期 now agrees, E's (now known to GA) differs
    with storage.uow() as uow:
        assert {t.subject_key for t in service.list_tasks(uow, people["ga_steward"])} == {B, E}
    with storage.uow() as uow:
        version = catalog.current_version(uow, people["op"], "base_population")
        lineage = catalog.lineage_of(uow, people["op"], "base_population")
    assert version.number == 2
    assert [(i["dataset"], i["version"]) for i in lineage[-1].inputs] == [("ga_people", 2), ("rs_insured", 1)]
    rows = rows_of(storage, version)
    assert rows[C]["出生日期"] == date(1990, 5, 7) and rows[E]["出生日期"] == date(1992, 9, 11)
    assert json.loads(rows[E]["_sources"])["出生日期"] == {"dataset": "ga_people", "version": 2}
    with storage.uow() as uow:  # the base library does not feed itself
        assert service.on_version_published(uow, people["op"], "base_population")["compared"] is None


def test_building_needs_a_source(storage, people):
    with storage.uow() as uow:
        service.register_element(uow, people["op"], "person.id_number", "身份证号", "person", "GA")
    with storage.uow() as uow:
        service.register_element(uow, people["op"], "person.name", "姓名", "person", "GA")
    with storage.uow() as uow, pytest.raises(Invalid):
        service.build_base_library(uow, people["op"], "person")
    with storage.uow() as uow, pytest.raises(Invalid):
        service.build_base_library(uow, people["op"], "legal_entity")  # its key element is not registered
    with storage.uow() as uow, pytest.raises(Invalid):
        service.build_base_library(uow, people["op"], "vehicle")


# ---- the merge SQL on its own ---------------------------------------------------------------

def test_the_authoritys_row_wins_even_when_it_is_empty(tmp_path):
    """一数一源: where the authority has the subject, its value stands (its gap is a correction task)."""
    pq.write_table(pa.table({"id": ["1", "2"], "cap": [100.0, None]}), tmp_path / "auth.parquet")
    pq.write_table(pa.table({"code": ["2", "3", "3", "4"], "cap": ["50", "7.5", "8", "not a number"]}),
                   tmp_path / "other.parquet")
    sources = [baselib.Source("sj", 4, 40, "id", {"le.cap": ("cap", "double")}),
               baselib.Source("sw", 9, 90, "code", {"le.cap": ("cap", "string")})]
    plan = baselib.MergePlan(key_code="le.uscc", key_name="代码", key_order=[0, 1], sources=sources,
                             elements=[baselib.ElementPlan("le.cap", "注册资本", "DOUBLE", [0, 1], 0)])
    table = DuckDBEngine().query(baselib.merge_sql(plan), plan.tables([[tmp_path / "auth.parquet"],
                                                                      [tmp_path / "other.parquet"]]))
    summary = baselib.summarise(table, plan)
    out = baselib.finish(table)
    assert out.column_names == ["代码", "注册资本", "_sources"]
    rows = {r["代码"]: r for r in out.to_pylist()}
    assert rows["1"]["注册资本"] == 100.0
    assert rows["2"]["注册资本"] is None  # the authority has 2, without a value: no fallback
    assert rows["3"]["注册资本"] == 7.5  # duplicates folded with min
    assert rows["4"]["注册资本"] is None and json.loads(rows["4"]["_sources"])["注册资本"] is None  # did not cast
    assert json.loads(rows["3"]["_sources"]) == {"代码": {"dataset": "sw", "version": 9},
                                                 "注册资本": {"dataset": "sw", "version": 9}}
    assert summary.rows == 4 and summary.fallback_values == 1
    assert summary.taken == {0: {"le.uscc": 2, "le.cap": 2}, 1: {"le.uscc": 2, "le.cap": 1}}
