"""read_rows: who may read, masks in the query, encrypted columns, filters, pages, streams, watermarks, audit."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from huiju.auth.roles import Actor
from huiju.catalog import access
from huiju.catalog import service as catalog
from huiju.catalog.access import Condition, FieldMask, ReadScope
from huiju.errors import Forbidden, Invalid
from huiju.security import keys, lake_crypto, watermark
from huiju.security.audit import verify_chain
from huiju.security.models import AuditEntry
from huiju.storage.lake.duckdb import DuckDBEngine
from tests.catalog.conftest import PEOPLE

IDS = sorted(p[0] for p in PEOPLE)


def read(storage, actor, **kw):
    with storage.uow() as uow:
        kw.setdefault("purpose", "测试")
        return access.read_rows(uow, actor, "population", **kw)


def version_files(storage, actor):
    with storage.uow() as uow:
        version = catalog.current_version(uow, actor, "population")
        return [storage.lake.abspath(version.path) / f for f in version.files]


def data_reads(storage) -> list[dict]:
    with storage.uow() as uow:
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.event_type == "DataRead").order_by(AuditEntry.seq))
        return [json.loads(r.payload) for r in rows]


def test_sensitive_columns_are_stored_encrypted_with_tokens(storage, people, population):
    files = version_files(storage, people["op"])
    raw = pq.read_table(files[0])
    assert raw.schema.field("身份证号").type == "binary" and raw.schema.field("手机号码").type == "binary"
    assert lake_crypto.token_column("身份证号") in raw.column_names
    assert raw.schema.field("姓名").type == "string"  # a name is personal, not sensitive: plain
    blob = b"".join(f.read_bytes() for f in files)
    assert PEOPLE[0][0].encode() not in blob and PEOPLE[0][2].encode() not in blob
    info = lake_crypto.EncryptionInfo.from_schema(raw.schema)
    assert info.key_purpose == "dataset:population" and set(info.columns) == {"身份证号", "手机号码"}


def test_members_read_plaintext_and_others_are_masked_or_refused(storage, people, population, backend):
    mine = read(storage, people["ga_user"])
    assert sorted(mine.table.column("身份证号").to_pylist()) == IDS
    assert set(mine.decrypted) == {"身份证号", "手机号码"}
    with pytest.raises(Invalid):
        read(storage, people["ga_user"], order_by=["身份证号"])  # encrypted: its stored order means nothing
    assert mine.masked == {}
    op = read(storage, people["op"], fields=["身份证号", "手机号码", "姓名"])
    assert op.masked == {"身份证号": "CN_ID", "手机号码": "CN_MOBILE"} and op.decrypted == []
    ids = op.table.column("身份证号").to_pylist()
    assert all(len(v) == 18 and v[6:14] == "********" for v in ids)
    assert not set(ids) & set(IDS)
    assert all(m[3:7] == "****" for m in op.table.column("手机号码").to_pylist())
    assert sorted(op.table.column("姓名").to_pylist()) == sorted(p[1] for p in PEOPLE)
    with pytest.raises(Forbidden):
        read(storage, people["rs_user"])
    with pytest.raises(Forbidden):
        read(storage, people["citizen"])
    events = data_reads(storage)
    assert [e["rows"] for e in events] == [40, 40] and events[1]["masked"] == op.masked
    with storage.uow() as uow:
        assert verify_chain(uow.session).ok


def test_a_scope_limits_fields_rows_and_masks_and_may_grant_plaintext(storage, people, population):
    scope = ReadScope(fields=frozenset({"身份证号", "姓名", "性别"}), row_filter=(Condition("性别", "=", "1"),),
                      masks={"姓名": FieldMask("CN_NAME")}, grant_id="g-7")
    got = read(storage, people["rs_user"], scope=scope)
    assert got.fields == ["身份证号", "姓名", "性别"] and got.rows == 20
    assert set(got.table.column("性别").to_pylist()) == {1}
    assert all(n.endswith("**") for n in got.table.column("姓名").to_pylist())
    assert got.masked == {"身份证号": "CN_ID", "姓名": "CN_NAME"}
    with pytest.raises(Forbidden):
        read(storage, people["rs_user"], scope=scope, fields=["手机号码"])
    with pytest.raises(Forbidden):  # probing a masked field with a filter
        read(storage, people["rs_user"], scope=scope, filters=[Condition("身份证号", "=", IDS[0])])
    plain = read(storage, people["rs_user"], scope=ReadScope(fields=frozenset({"身份证号"}),
                                                             plaintext=frozenset({"身份证号"})))
    assert sorted(plain.table.column("身份证号").to_pylist()) == IDS and plain.decrypted == ["身份证号"]
    assert data_reads(storage)[0]["grant_id"] == "g-7"


def test_equality_on_an_encrypted_field_uses_its_token(storage, people, population):
    got = read(storage, people["ga_user"], filters=[Condition("身份证号", "=", IDS[3])])
    assert got.table.column("身份证号").to_pylist() == [IDS[3]]
    got = read(storage, people["ga_user"], filters=[Condition("身份证号", "in", [IDS[1], IDS[2], "nobody"])])
    assert sorted(got.table.column("身份证号").to_pylist()) == IDS[1:3]
    with pytest.raises(Invalid):
        read(storage, people["ga_user"], filters=[Condition("身份证号", "prefix", "1101")])
    with pytest.raises(Invalid):
        Condition("姓名", "; DROP TABLE x --", "a")
    injected = read(storage, people["ga_user"], filters=[Condition("姓名", "=", "' OR '1'='1")])
    assert injected.rows == 0


def test_keyset_pages_cover_every_row_once(storage, people, population):
    seen, after = [], None
    while True:
        page = read(storage, people["ga_user"], fields=["姓名", "住址"], order_by=["姓名", "住址"], limit=7,
                    after=after)
        seen += [(r["姓名"], r["住址"]) for r in page.table.to_pylist()]
        after = page.next_after
        if after is None:
            break
    assert seen == sorted((p[1], p[3]) for p in PEOPLE)  # every row once, each page strictly after the last


def test_descending_keyset_pages_cover_every_row_once_from_the_top(storage, people, population):
    seen, after = [], None
    while True:
        page = read(storage, people["ga_user"], fields=["姓名", "住址"], order_by=["姓名", "住址"], limit=7,
                    after=after, descending=True)
        seen += [(r["姓名"], r["住址"]) for r in page.table.to_pylist()]
        after = page.next_after
        if after is None:
            break
    assert seen == sorted(((p[1], p[3]) for p in PEOPLE), reverse=True)


def test_a_stream_yields_batches_and_audits_when_it_ends(storage, people, population):
    with storage.uow() as uow:
        with access.stream_rows(uow, people["ga_user"], "population", purpose="导出", batch_size=16) as rows:
            batches = list(rows)
    assert sum(b.num_rows for b in batches) == 40 and len(batches) >= 3
    assert sorted(v for b in batches for v in b.column("身份证号").to_pylist()) == IDS
    [event] = data_reads(storage)
    assert event["rows"] == 40 and event["complete"] and event["purpose"] == "导出"


def test_a_watermark_names_its_recipient(storage, people, population):
    scope = ReadScope(fields=frozenset({"姓名", "住址"}), watermark="dept:RS/user:7", grant_id="g-9")
    got = read(storage, people["rs_user"], scope=scope)
    text = "\n".join(got.table.column("住址").to_pylist())
    with storage.uow() as uow:
        _v, key = keys.data_key(uow, watermark.WATERMARK_PURPOSE)
    code = watermark.recipient_code(key, "dept:RS/user:7")
    assert watermark.find_codes(text) == [code] and got.watermark_code == code
    assert sorted(watermark.strip(t) for t in got.table.column("住址").to_pylist()) == sorted(p[3] for p in PEOPLE)
    assert data_reads(storage)[0]["watermark_code"] == code


def test_pseudonyms_join_within_a_grant_and_differ_across_grants(storage, people, population):
    def pseudonyms(grant):
        scope = ReadScope(fields=frozenset({"身份证号"}), masks={"身份证号": FieldMask("PSEUDONYM")}, grant_id=grant)
        return read(storage, people["rs_user"], scope=scope, purpose="统计").table.column("身份证号").to_pylist()

    a, b = pseudonyms("g-1"), pseudonyms("g-2")
    assert a == pseudonyms("g-1") and set(a).isdisjoint(b) and len(a[0]) == 64 and not set(a) & set(IDS)


def test_purpose_is_required(storage, people, population):
    with pytest.raises(Invalid):
        read(storage, people["ga_user"], purpose="  ")


def test_pages_keep_their_order_on_a_page_database_with_many_threads(storage, people):
    """Pages are sorted once, inside the Top-N; the outer masking SELECT must keep that order on any thread count."""
    system = Actor.system("test")
    n = 60_000
    keys = pa.array(range(n, 0, -1), pa.int64())  # written in reverse, across many row groups and two files
    with storage.uow() as uow:
        catalog.register_dataset(uow, system, key="numbers", name="编号", department_code="GA")
    with storage.uow() as uow:
        staged = uow.stage_version("numbers")
        for start in range(0, n, 4_096):
            part = keys.slice(start, 4_096)
            staged.write(pa.table({"编号": part, "姓名": pc.cast(part, pa.string())}))
        catalog.mount_on_publish(uow, system, "numbers", staged, kind="ingest", job_id=None, inputs=[],
                                 rule_set_sm3=None)
        uow.commit()
    storage.lake_engine = DuckDBEngine(page_threads=4)
    scope = ReadScope(fields=frozenset({"编号", "姓名"}), masks={"姓名": FieldMask("CN_NAME")})
    for descending in (False, True):
        seen, after = [], None
        while True:
            with storage.uow() as uow:
                page = access.read_rows(uow, people["ga_user"], "numbers", purpose="测试", scope=scope,
                                        order_by=["编号"], after=after, limit=7_000, descending=descending)
            seen += page.table.column("编号").to_pylist()
            if page.next_after is None:
                break
            after = list(page.next_after)
        assert seen == sorted(range(1, n + 1), reverse=descending)
