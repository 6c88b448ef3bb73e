"""Correcting and resubmitting quarantined rows: new version, statuses, reasons, counts, permissions, web form."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from huiju.catalog import service as catalog
from huiju.errors import Conflict, Forbidden, Invalid, NotFound
from huiju.ingest import service
from huiju.ingest.models import IngestJob, QuarantineRow
from huiju.ingest.validators import gb32100_check_char
from huiju.security.audit import verify_chain
from huiju.security.models import AuditEntry
from tests.support import lake_table

CODE, NAME, CAPITAL, FOUNDED = "统一社会信用代码", "企业名称", "注册资本（万元）", "成立日期"
HEADER = f"{CODE},{NAME},{CAPITAL},{FOUNDED}\n"
GOOD = ["91340600MA2PBP2120,甲公司,100,2020年1月5日", "91110000600037341L,乙公司,\"1,234.5\",2019.3.1"]
SCHEMA = {"fields": [
    {"name": CODE, "type": "string", "format": "gb32100", "constraints": {"required": True}},
    {"name": NAME, "type": "string", "constraints": {"required": True}},
    {"name": CAPITAL, "type": "number", "constraints": {"minimum": 0}},
    {"name": FOUNDED, "type": "date"},
], "primaryKey": [CODE]}
TODAY = date(2026, 11, 1)


def uscc(first17: str) -> str:
    return first17 + gb32100_check_char(first17)


FRESH, OTHER, THIRD = uscc("91110108551234567"), uscc("91310115551234568"), uscc("91440300551234569")
ROWS = [*GOOD,
        "91110000600037341N,丁公司,10,2021-01-01",  # row 3: check digit wrong
        f"{OTHER},戊公司,20,2021-13-45",  # row 4: no such date
        "己公司,只有两列"]  # row 5: ragged, kept as its raw line


@pytest.fixture
def loaded(storage, people, tmp_path):
    """A GA dataset loaded once by its steward: rows 1-2 accepted, rows 3-5 quarantined."""
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="legal_entities", name="法人登记", department_code="GA")
    with storage.uow() as uow:
        catalog.save_schema(uow, people["op"], "legal_entities", table_schema=SCHEMA, rules=[], confirmed=True)
    src = tmp_path / "法人.csv"
    src.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="gbk")
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["ga_steward"], dataset_key="legal_entities", path=src, today=TODAY)
    assert (job.rows_read, job.rows_accepted, job.rows_rejected) == (5, 2, 3)
    return job


def quarantined(storage, job_id: int) -> dict[int, QuarantineRow]:
    with storage.uow() as uow:
        rows = uow.session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job_id)).all()
        return {q.row_number: q for q in rows}


def resubmit(storage, actor, job_id, corrections, **kw):
    with storage.uow() as uow:
        return service.resubmit_quarantine(uow, actor, job_id, corrections, today=TODAY, **kw)


def lake_rows(storage, actor) -> list[dict]:
    with storage.uow() as uow:
        version = catalog.current_version(uow, actor, "legal_entities")
    return lake_table(storage, version, f'SELECT * FROM t ORDER BY "{CODE}"').to_pylist()


def test_corrected_rows_join_a_new_version_and_a_wrong_correction_stays_open(storage, people, loaded, backend):
    steward = people["ga_steward"]
    q = quarantined(storage, loaded.id)
    assert q[5].raw == {"_line": "己公司,只有两列"}
    new = resubmit(storage, steward, loaded.id, {
        q[3].id: {CODE: FRESH},
        q[4].id: {FOUNDED: "2021-02-30"},  # still no such date
        q[5].id: {CODE: THIRD, NAME: "己公司", CAPITAL: "5", FOUNDED: "2022-02-02"},  # a raw line, given whole
    })
    assert new.source_kind == "resubmit" and new.input_name == f"job {loaded.id} corrections"
    assert (new.rows_read, new.rows_accepted, new.rows_rejected) == (3, 2, 1)
    assert new.status == "succeeded" and new.version_id and new.rule_counts == {"type:成立日期": 1}
    with storage.uow() as uow:
        report = service.quality_report(uow, steward, new.id)
        version = catalog.current_version(uow, steward, "legal_entities")
        lineage = catalog.lineage_of(uow, steward, "legal_entities")[-1]
        assert verify_chain(uow.session).ok
        events = uow.session.scalars(select(AuditEntry.event_type).order_by(AuditEntry.seq)).all()
    assert report["balanced"] and report["quality_score"] == pytest.approx(66.67)
    assert version.id == new.version_id and version.number == 2 and version.row_count == 4
    assert lineage.kind == "resubmit" and lineage.job_id == new.id
    assert lineage.inputs[0]["job_id"] == loaded.id and lineage.inputs[0]["rows"] == [3, 5]
    assert lineage.inputs[0]["sm3"] == new.input_sm3 and lineage.rule_set_sm3
    assert "QuarantineResubmitted" in events
    table = {r[CODE]: r for r in lake_rows(storage, steward)}
    assert sorted(table) == sorted(["91340600MA2PBP2120", "91110000600037341L", FRESH, THIRD])
    assert table[THIRD][CAPITAL] == 5.0 and str(table[THIRD][FOUNDED]) == "2022-02-02"
    assert table[FRESH][NAME] == "丁公司" and str(table[FRESH][FOUNDED]) == "2021-01-01"

    q = quarantined(storage, loaded.id)
    assert [q[n].status for n in (3, 4, 5)] == ["resubmitted", "open", "resubmitted"]
    assert q[3].raw[CODE] == FRESH and q[3].raw["_original"] == {CODE: "91110000600037341N"}
    assert q[5].raw["_original"] == {"_line": "己公司,只有两列"} and q[5].raw[NAME] == "己公司"
    assert q[4].raw[FOUNDED] == "2021-02-30" and q[4].raw["_original"] == {FOUNDED: "2021-13-45"}
    assert q[4].reasons[0]["rule"] == "type:成立日期" and "2021-02-30" in q[4].reasons[0]["message"]

    gone = resubmit(storage, steward, loaded.id, {}, discard=[q[4].id])
    assert (gone.rows_read, gone.rows_accepted, gone.rows_rejected) == (0, 0, 0) and gone.version_id is None
    assert quarantined(storage, loaded.id)[4].status == "discarded"
    with storage.uow() as uow:
        assert catalog.current_version(uow, steward, "legal_entities").id == version.id  # nothing new to publish
    with pytest.raises(Conflict):
        resubmit(storage, steward, loaded.id, {q[4].id: {FOUNDED: "2021-02-28"}})
    with pytest.raises(Conflict):
        resubmit(storage, steward, loaded.id, {q[3].id: {}})


def test_a_key_already_in_the_version_stays_quarantined(storage, people, loaded, backend):
    steward = people["ga_steward"]
    q = quarantined(storage, loaded.id)
    new = resubmit(storage, steward, loaded.id, {q[3].id: {CODE: GOOD[0].split(",")[0]}})
    assert (new.rows_read, new.rows_accepted, new.rows_rejected) == (1, 0, 1) and new.version_id is None
    row = quarantined(storage, loaded.id)[3]
    assert row.status == "open" and row.reasons[0]["rule"] == "primary_key"
    assert "91340600MA2PBP2120" in row.reasons[0]["message"] and "当前版本" in row.reasons[0]["message"]
    # two corrections with the same new key: the earlier row is taken, the later one stays with its reason
    new = resubmit(storage, steward, loaded.id, {
        q[3].id: {CODE: FRESH}, q[5].id: {CODE: FRESH, NAME: "己公司", CAPITAL: "1", FOUNDED: "2020-01-01"}})
    assert (new.rows_read, new.rows_accepted, new.rows_rejected) == (2, 1, 1)
    after = quarantined(storage, loaded.id)
    assert after[3].status == "resubmitted" and after[5].status == "open"
    assert after[5].reasons[0]["rule"].startswith("unique")
    assert [r[CODE] for r in lake_rows(storage, steward)].count(FRESH) == 1


def test_only_the_owning_department_may_resubmit(storage, people, loaded, backend):
    q = quarantined(storage, loaded.id)
    with pytest.raises(Forbidden):
        resubmit(storage, people["rs_steward"], loaded.id, {q[3].id: {CODE: FRESH}})
    with pytest.raises(Forbidden):
        resubmit(storage, people["ga_user"], loaded.id, {q[3].id: {CODE: FRESH}})
    assert quarantined(storage, loaded.id)[3].status == "open"
    with storage.uow() as uow:
        assert len(catalog.list_versions(uow, people["op"], "legal_entities")) == 1
        assert uow.session.scalar(select(IngestJob).where(IngestJob.source_kind == "resubmit")) is None


def test_bad_requests_are_refused_and_change_nothing(storage, people, loaded):
    steward = people["ga_steward"]
    q = quarantined(storage, loaded.id)
    with pytest.raises(Invalid):
        resubmit(storage, steward, loaded.id, {q[3].id: {"不存在的列": "x"}})
    with pytest.raises(Invalid):
        resubmit(storage, steward, loaded.id, {q[5].id: {}})  # a raw line must be given whole
    with pytest.raises(Invalid):
        resubmit(storage, steward, loaded.id, {q[3].id: {CODE: FRESH}}, discard=[q[3].id])
    with pytest.raises(Invalid):
        resubmit(storage, steward, loaded.id, {})
    with pytest.raises(NotFound):
        resubmit(storage, steward, loaded.id, {q[3].id + 1000: {CODE: FRESH}})
    assert {n: r.status for n, r in quarantined(storage, loaded.id).items()} == {3: "open", 4: "open", 5: "open"}


def test_the_steward_corrects_rows_on_the_job_page_and_by_api(storage, settings, people, loaded, backend):
    from fastapi.testclient import TestClient

    from huiju.app import create_app
    from huiju.auth import service as auth
    from tests.support import csrf_of, login

    q = quarantined(storage, loaded.id)
    with TestClient(create_app(settings, storage)) as client:
        login(client, "ga_steward")
        page = client.get(f"/ingest/jobs/{loaded.id}")
        assert page.status_code == 200 and "重新提交" in page.text
        names = set(re.findall(r'name="(fix\.[^"]+)"', page.text))
        assert f"fix.{q[3].id}.{CODE}" in names and f"fix.{q[4].id}.{FOUNDED}" in names
        assert f"fix.{q[4].id}.{NAME}" not in names  # only the failing fields of a parsed row
        assert {f"fix.{q[5].id}.{c}" for c in (CODE, NAME, CAPITAL, FOUNDED)} <= names  # a raw line: every field
        form = {"csrf_token": csrf_of(page.text), f"fix.{q[3].id}.{CODE}": FRESH,
                f"was.{q[3].id}.{CODE}": "91110000600037341N", f"fix.{q[4].id}.{FOUNDED}": "2021-13-45",
                f"was.{q[4].id}.{FOUNDED}": "2021-13-45"}
        refused = client.post(f"/ingest/jobs/{loaded.id}/resubmit", data={**form, "csrf_token": "forged",
                                                                          "resubmit": str(q[3].id)})
        assert refused.status_code == 403
        done = client.post(f"/ingest/jobs/{loaded.id}/resubmit", data={**form, "resubmit": "changed"},
                           follow_redirects=False)
        assert done.status_code == 303
        shown = client.get(done.headers["location"])
        assert shown.status_code == 200 and 'data-testid="resubmitted"' in shown.text and "已重新提交" in shown.text
        assert f"fix.{q[3].id}." not in shown.text  # resolved rows have no form any more
        after = quarantined(storage, loaded.id)
        assert after[3].status == "resubmitted" and after[4].status == "open"  # row 4 was not changed
        discard = client.post(f"/ingest/jobs/{loaded.id}/resubmit",
                              data={"csrf_token": csrf_of(shown.text), "discard": str(q[4].id)})
        assert discard.status_code == 200 and quarantined(storage, loaded.id)[4].status == "discarded"

    with storage.uow() as uow:
        issued = auth.create_token(uow, people["ga_steward"], name="etl", scopes=["*"])
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    with TestClient(create_app(settings, storage)) as client:
        body = {"corrections": {str(q[5].id): {CODE: THIRD, NAME: "己公司", CAPITAL: "8", FOUNDED: "2023-03-03"}}}
        r = client.post(f"/api/v1/ingest/jobs/{loaded.id}/quarantine/resubmit", json=body, headers=headers)
        assert r.status_code == 201, r.text
        job = r.json()
        assert (job["rows_read"], job["rows_accepted"], job["rows_rejected"]) == (1, 1, 0)
        assert job["input_name"] == f"job {loaded.id} corrections" and job["version_id"]
        again = client.post(f"/api/v1/ingest/jobs/{loaded.id}/quarantine/resubmit", json=body, headers=headers)
        assert again.status_code == 409
        rows = client.get(f"/api/v1/ingest/jobs/{loaded.id}/quarantine", headers=headers).json()
        assert [r["status"] for r in rows] == ["resubmitted", "discarded", "resubmitted"]
        versions = client.get("/api/v1/datasets/legal_entities/versions", headers=headers).json()
        assert max(v["row_count"] for v in versions) == 4
    assert ["_original" in r["raw"] for r in rows] == [True, False, True]  # row 4 was discarded unchanged


def test_fixed_rows_take_the_current_version_columns_and_the_form_offers_failing_fields():
    import pyarrow as pa

    from huiju.ingest import quarantine

    target = pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.float64())])
    fixed = pa.table({"_row": [7], "a": pa.array([1], pa.int32()), "b": ["x"], "extra": ["kept in quarantine"]})
    table, left_out = quarantine.conform(fixed, target, declared=["a", "b"])
    assert table.schema.equals(target) and table.to_pylist() == [{"a": 1, "b": "x", "c": None}]
    assert left_out == ["extra"]
    with pytest.raises(Invalid):  # a declared field the version lacks: the schema changed since
        quarantine.conform(fixed, target, declared=["a", "b", "extra"])
    with pytest.raises(Invalid):
        quarantine.conform(pa.table({"a": ["not a number"], "b": ["x"]}), target, declared=["a", "b"])
    raw = {"k1": "1", "k2": "2", "name": "甲"}
    assert quarantine.editable_fields(raw, [{"field": "k1+k2", "rule": "primary_key"}], ["k1", "k2", "name"]) == [
        "k1", "k2"]
    assert quarantine.editable_fields(raw, [{"field": "name", "rule": "required:name"}], []) == ["name"]
    assert quarantine.editable_fields({"_line": "a,b"}, [{"field": ""}], ["k1", "name"]) == ["k1", "name"]
