"""Share fixtures: GA (公安局) provides a residents dataset through published catalog entries; RS asks for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

import huiju.security.audit  # noqa: F401  (the audit chain subscribes to events on import)
from huiju.app import create_app
from huiju.catalog import service as catalog
from huiju.ingest import service as ingest

SCHEMA = {"fields": [
    {"name": "编号", "type": "integer", "constraints": {"required": True}},
    {"name": "姓名", "type": "string"},
    {"name": "区划", "type": "string"},
    {"name": "年龄", "type": "integer"},
    {"name": "手机号", "type": "string"},
    {"name": "备注", "type": "string"},
], "primaryKey": ["编号"]}
SURNAMES = "赵钱孙李周吴郑王冯陈"
ROWS = [(i, f"{SURNAMES[i % 10]}某{i}", "990101" if i % 2 else "990102", 18 + i % 60, f"1380000{i:04d}",
         f"备注{i}") for i in range(1, 41)]


def item(name: str, type_code: str = "C", **kw):
    return {"name": name, "type_code": type_code, "column": name, **kw}


ENTRY = {
    "name": "常住人口基本信息",
    "classification": "base",
    "item": "population",
    "abstract": "本市常住人口的编号、姓名、区划、年龄和联系方式，用于社保核验。",
    "format_kind": "database",
    "format_type": "PostgreSQL",
    "share_type": "conditional",
    "share_condition": "仅限履行社会保障职责使用",
    "share_basis": "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第九条",
    "share_mode_type": "api",
    "open_class": "closed",
    "update_cycle": "daily",
    "data_level": "general_3",
    "items": [item("编号", "I", is_key=True), item("姓名"), item("区划"), item("年龄", "I"), item("手机号"),
              item("备注")],
}


def write_rows(path, rows) -> None:
    path.write_text("编号,姓名,区划,年龄,手机号,备注\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n",
                    encoding="utf-8")


def publish_version(storage, actor, path, rows) -> None:
    """A new version of ga_residents through the real ingest path."""
    write_rows(path, rows)
    with storage.uow() as uow:
        job = ingest.ingest_file(uow, actor, dataset_key="ga_residents", path=path, today=date(2026, 11, 1))
        assert job.status == "succeeded", job.error


@dataclass
class Shared:
    conditional: int  # entry ids
    unconditional: int
    refused: int
    dataset_key: str = "ga_residents"


def _publish(storage, people, fields, dataset_id):
    with storage.uow() as uow:
        e = catalog.register_entry(uow, people["ga_steward"], department_code="GA", fields=fields)
    with storage.uow() as uow:
        catalog.submit_entry(uow, people["ga_steward"], e.id)
    with storage.uow() as uow:
        catalog.approve_entry(uow, people["op"], e.id)
    with storage.uow() as uow:
        catalog.mount_dataset(uow, people["ga_steward"], e.id, dataset_id)
    return e.id


@pytest.fixture
def shared(storage, people, tmp_path) -> Shared:
    with storage.uow() as uow:
        ds = catalog.register_dataset(uow, people["ga_steward"], key="ga_residents", name="常住人口",
                                      department_code="GA")
    with storage.uow() as uow:
        catalog.save_schema(uow, people["ga_steward"], "ga_residents", table_schema=SCHEMA, rules=[], confirmed=True)
    publish_version(storage, people["ga_steward"], tmp_path / "residents.csv", ROWS)
    conditional = _publish(storage, people, ENTRY, ds.id)
    unconditional = _publish(storage, people, {**ENTRY, "name": "人口区划统计口径", "share_type": "unconditional",
                                               "items": [item("编号", "I", is_key=True), item("区划")]}, ds.id)
    refused = _publish(storage, people, {**ENTRY, "name": "人口联系方式", "share_type": "none",
                                         "share_basis": "《中华人民共和国个人信息保护法》第二十八条",
                                         "items": [item("编号", "I", is_key=True), item("手机号")]}, ds.id)
    return Shared(conditional, unconditional, refused)


@pytest.fixture
def app(settings, storage):
    return create_app(settings, storage)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
