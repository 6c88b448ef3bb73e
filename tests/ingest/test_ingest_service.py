"""A file through the whole ingest path: connector → validation → quarantine → version with lineage."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from huiju.catalog import service as catalog
from huiju.errors import Forbidden
from huiju.ingest import service
from huiju.ingest.models import QuarantineRow
from huiju.security.audit import verify_chain
from tests.support import lake_table

HEADER = "统一社会信用代码,企业名称,注册资本（万元）,成立日期\n"
GOOD = ["91340600MA2PBP2120,甲公司,100,2020年1月5日", "91110000600037341L,乙公司,\"1,234.5\",2019.3.1",
        "9131011５MA1K3BTP2B,丙公司,50,20180102"]
BAD_CHECK = "91110000600037341N,丁公司,10,2021-01-01"
SCHEMA = {"fields": [
    {"name": "统一社会信用代码", "type": "string", "format": "gb32100", "constraints": {"required": True}},
    {"name": "企业名称", "type": "string", "constraints": {"required": True}},
    {"name": "注册资本（万元）", "type": "number", "constraints": {"minimum": 0}},
    {"name": "成立日期", "type": "date"},
], "primaryKey": ["统一社会信用代码"]}


@pytest.fixture
def dataset(storage, people):
    with storage.uow() as uow:
        from huiju.auth import service as auth

        auth.create_department(uow, people["op"], code="SJ", name="示例市市场监督管理局", level="city",
                               region_code="990100")
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="legal_entities", name="法人登记", department_code="SJ")
    with storage.uow() as uow:
        catalog.save_schema(uow, people["op"], "legal_entities", table_schema=SCHEMA, rules=[], confirmed=True)
    return "legal_entities"


def _ingest(storage, actor, path, **kw):
    with storage.uow() as uow:
        return service.ingest_file(uow, actor, dataset_key="legal_entities", path=path, today=date(2026, 11, 1), **kw)


def test_rows_are_standardised_validated_and_quarantined(storage, people, dataset, tmp_path, backend):
    src = tmp_path / "法人.csv"
    src.write_text(HEADER + "\n".join([*GOOD, BAD_CHECK, GOOD[0].replace("甲", "重复"), ",无代码公司,1,2020-01-01"]) + "\n",
                   encoding="gbk")
    job = _ingest(storage, people["op"], src)
    assert job.status == "succeeded" and job.encoding in ("gbk", "gb18030")
    assert (job.rows_read, job.rows_accepted, job.rows_rejected) == (6, 3, 3)
    with storage.uow() as uow:
        report = service.quality_report(uow, people["op"], job.id)
        quarantined = uow.session.scalars(select(QuarantineRow).order_by(QuarantineRow.row_number)).all()
        version = catalog.current_version(uow, people["op"], "legal_entities")
        [lineage] = catalog.lineage_of(uow, people["op"], "legal_entities")
        assert verify_chain(uow.session).ok
    assert report["balanced"] and report["quality_score"] == 50.0
    assert [q.row_number for q in quarantined] == [4, 5, 6]
    assert quarantined[0].raw["统一社会信用代码"] == "91110000600037341N"
    assert all(q.reasons and q.reasons[0]["message"] for q in quarantined)
    assert version.row_count == 3 and lineage.inputs[0]["sm3"] == job.input_sm3 and lineage.rule_set_sm3
    table = lake_table(
        storage, version, 'SELECT "统一社会信用代码" AS c, "注册资本（万元）" AS m, "成立日期" AS d FROM t ORDER BY c').to_pylist()
    assert [r["c"] for r in table] == ["91110000600037341L", "91310115MA1K3BTP2B", "91340600MA2PBP2120"]
    assert table[0]["m"] == 1234.5 and str(table[2]["d"]) == "2020-01-05"


def test_an_unreadable_file_is_kept_and_the_current_version_stays(storage, people, dataset, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n".join(GOOD) + "\n", encoding="utf-8")
    first = _ingest(storage, people["op"], good)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")
    failed = _ingest(storage, people["op"], broken)
    assert failed.status == "failed" and failed.error and failed.kept_file
    with storage.uow() as uow:
        assert catalog.current_version(uow, people["op"], "legal_entities").id == first.version_id
        assert len(catalog.list_versions(uow, people["op"], "legal_entities")) == 1


def test_append_mode_keeps_earlier_rows_and_rollback_serves_an_old_version(storage, people, dataset, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + GOOD[0] + "\n", encoding="utf-8")
    b.write_text(HEADER + GOOD[1] + "\n", encoding="utf-8")
    _ingest(storage, people["op"], a)
    job = _ingest(storage, people["op"], b, write_mode="append")
    with storage.uow() as uow:
        assert catalog.current_version(uow, people["op"], "legal_entities").row_count == 2
        catalog.rollback_version(uow, people["op"], "legal_entities", 1)
    with storage.uow() as uow:
        assert catalog.current_version(uow, people["op"], "legal_entities").number == 1
    assert job.rows_accepted == 1


def test_only_the_owning_department_may_load(storage, people, dataset, tmp_path):
    src = tmp_path / "x.csv"
    src.write_text(HEADER + GOOD[0] + "\n", encoding="utf-8")
    with pytest.raises(Forbidden):
        _ingest(storage, people["ga_steward"], src)


def test_first_load_without_a_schema_proposes_one_and_labels(storage, people, tmp_path):
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="contacts", name="联系人", department_code="GA")
    src = tmp_path / "contacts.csv"
    src.write_text("姓名,备注\n张伟,13812345678\n王芳,13912345678\n李娜,15012345678\n", encoding="utf-8")
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["ga_steward"], dataset_key="contacts", path=src)
    with storage.uow() as uow:
        ds = catalog.dataset_by_key(uow, people["ga_steward"], "contacts")
    assert job.rows_accepted == 3 and ds.table_schema and not ds.schema_confirmed
    assert ds.labels["备注"]["kind"] == "mobile" and ds.labels["备注"]["mask"] == "CN_MOBILE"
    assert json.dumps(ds.table_schema, ensure_ascii=False).count("姓名") == 1


def test_upload_over_http_and_reports(storage, settings, people, dataset, tmp_path):
    from fastapi.testclient import TestClient

    from huiju.app import create_app
    from huiju.auth import service as auth

    with storage.uow() as uow:
        issued = auth.create_token(uow, people["op"], name="etl", scopes=["*"])
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    body = (HEADER + "\n".join([*GOOD, BAD_CHECK]) + "\n").encode("gb18030")
    with TestClient(create_app(settings, storage)) as client:
        r = client.post("/api/v1/datasets/legal_entities/ingest", params={"filename": "法人.csv"}, content=body,
                        headers=headers)
        assert r.status_code == 201, r.text
        job = r.json()
        assert (job["rows_read"], job["rows_accepted"], job["rows_rejected"]) == (4, 3, 1)
        report = client.get(f"/api/v1/ingest/jobs/{job['id']}/report", headers=headers).json()
        assert report["balanced"] and report["rules"][0]["count"] == 1
        rows = client.get(f"/api/v1/ingest/jobs/{job['id']}/quarantine", headers=headers).json()
        assert rows[0]["row_number"] == 4 and rows[0]["raw"]["企业名称"] == "丁公司"
        versions = client.get("/api/v1/datasets/legal_entities/versions", headers=headers).json()
        assert versions[0]["row_count"] == 3


def test_oversized_upload_is_refused_before_storing(storage, settings, people, dataset):
    from fastapi.testclient import TestClient

    from huiju.app import create_app
    from huiju.auth import service as auth

    small = settings.model_copy(update={"upload_max_mb": 1})
    with storage.uow() as uow:
        issued = auth.create_token(uow, people["op"], name="etl", scopes=["*"])
    with TestClient(create_app(small, storage)) as client:
        r = client.post("/api/v1/datasets/legal_entities/ingest", params={"filename": "big.csv"},
                        content=b"x" * (2 * 1024 * 1024), headers={"Authorization": f"Bearer {issued.plaintext}"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert not any((settings.home / "uploads").glob("*"))


def test_steward_uploads_through_the_page_and_reads_the_report(storage, settings, people, tmp_path):
    from fastapi.testclient import TestClient

    from huiju.app import create_app
    from tests.support import csrf_of, login

    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="population", name="人口基本信息", department_code="GA")
    with TestClient(create_app(settings, storage)) as client:
        login(client, "ga_steward")
        page = client.get("/datasets/population")
        assert page.status_code == 200 and "人口基本信息" in page.text
        from huiju.ingest.validators import gb11643_check_char

        ids = [f"11010519491231{n:03d}" for n in range(100, 120)]
        ids = [i[:17] + gb11643_check_char(i[:17]) for i in ids] + ["11010519491231002Y"]
        body = ("姓名,身份证号\n" + "".join(f"张伟,{i}\n" for i in ids)).encode("gbk")
        r = client.post("/datasets/population/upload", data={"csrf_token": csrf_of(page.text), "mode": "replace"},
                        files={"file": ("人口.csv", body, "text/csv")}, follow_redirects=True)
        assert r.status_code == 200 and "质量报告" in r.text
        assert "11010519491231002Y" in r.text  # the quarantined row is shown with its original value
        assert "population" in client.get("/datasets").text
