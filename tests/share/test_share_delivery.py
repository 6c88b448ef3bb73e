"""Delivery under a grant through read_rows: scope enforced, masks, quotas, receipts, revoked tokens read nothing."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from huiju.errors import Conflict, Forbidden, Invalid
from huiju.share import receipts, service
from huiju.share.models import ExchangeCall
from tests.share.test_share_requests import ask, step


def granted(storage, people, shared, **approval):
    req = ask(storage, people["rs_user"], shared.conditional, fields=["编号", "姓名", "区划", "年龄", "手机号"],
              row_filter=[{"field": "区划", "op": "=", "value": "990101"}])
    if approval:
        step(storage, people["ga_steward"], req.id, "approve_in_part", reason="最小必要", **approval)
    else:
        step(storage, people["ga_steward"], req.id, "approve")
    with storage.uow() as uow:
        return service.grant_for_request(uow, people["rs_user"], req.id)


def test_json_pages_follow_the_grant(storage, people, shared, backend):
    grant = granted(storage, people, shared, masks={"姓名": "CN_NAME", "手机号": "CN_MOBILE"})
    seen = []
    after = None
    while True:
        with storage.uow() as uow:
            page = service.deliver_rows(uow, people["rs_user"], grant.id, limit=7, after=after)
        doc = json.loads(page.body)
        seen += doc["rows"]
        after = doc["next_after"]
        assert receipts.verify(page.receipt, page.body, _public_key(storage)) == []
        if after is None:
            break
    assert len(seen) == 20 and {r["区划"] for r in seen} == {"990101"}  # only the granted rows
    assert [r["编号"] for r in seen] == sorted(r["编号"] for r in seen)  # keyset order, no repeats
    assert all(r["手机号"].startswith("138") and "****" in r["手机号"] for r in seen)
    assert all(r["姓名"].endswith("*" * (len(r["姓名"]) - 1)) for r in seen)
    with storage.uow() as uow:
        calls = service.list_calls(uow, people["rs_user"], grant.id)
        assert len(calls) == 3 and all(c.status == 200 and c.purpose == "社保待遇资格核验" for c in calls)
        assert sum(c.rows for c in calls) == 20 and calls[0].bytes > 0


def test_fields_outside_the_grant_and_other_departments_are_refused(storage, people, shared):
    grant = granted(storage, people, shared, fields=["编号", "区划"])
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.deliver_rows(uow, people["rs_user"], grant.id, fields=["姓名"])
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.deliver_rows(uow, people["ga_user"], grant.id)
    with storage.uow() as uow:
        statuses = [c.status for c in uow.session.scalars(select(ExchangeCall))]
        assert statuses == [403]  # the refused call of the grant's own department is evidence too


def test_csv_and_parquet_and_quota(storage, people, shared):
    grant = granted(storage, people, shared, fields=["编号", "区划", "年龄"], max_rows=25)
    with storage.uow() as uow:
        csv_page = service.deliver_rows(uow, people["rs_user"], grant.id, fmt="csv", limit=5)
    assert csv_page.body.decode().splitlines()[0] == '"编号","区划","年龄"' and csv_page.rows == 5
    with storage.uow() as uow:
        pq_page = service.deliver_rows(uow, people["rs_user"], grant.id, fmt="parquet", limit=1000)
    assert pq.read_table(io.BytesIO(pq_page.body)).num_rows == 20
    with storage.uow() as uow, pytest.raises(Forbidden, match="exhausted"):
        service.deliver_rows(uow, people["rs_user"], grant.id)


def test_suspended_revoked_and_expired_grants_read_nothing(storage, people, shared, client):
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        issued = service.issue_grant_token(uow, people["rs_user"], grant.id)
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    url = f"/api/v1/share/grants/{grant.id}/rows"
    ok = client.get(url, headers=headers)
    assert ok.status_code == 200 and len(ok.json()["rows"]) == 20
    assert receipts.Receipt.parse(ok.headers[receipts.HEADER]).response_hash == receipts.sm3_hex(ok.content)
    with storage.uow() as uow:
        service.suspend_grant(uow, people["ga_steward"], grant.id, reason="核查使用情况")
    assert client.get(url, headers=headers).status_code == 403
    with storage.uow() as uow:
        service.resume_grant(uow, people["ga_steward"], grant.id)
    assert client.get(url, headers=headers).status_code == 200
    with storage.uow() as uow:
        service.revoke_grant(uow, people["ga_steward"], grant.id, reason="超范围使用")
    refused = client.get(url, headers=headers)
    assert refused.status_code == 401 and "rows" not in refused.text
    with storage.uow() as uow, pytest.raises(Forbidden):  # and by session too
        service.deliver_rows(uow, people["rs_user"], grant.id)
    other = granted(storage, people, shared)
    with storage.uow() as uow:
        g = service.get_grant(uow, people["rs_user"], other.id)
        from huiju.storage.db import utcnow
        from datetime import timedelta
        g.expires_at = utcnow() - timedelta(seconds=1)
        uow.commit()
    with storage.uow() as uow, pytest.raises(Forbidden, match="expired"):
        service.deliver_rows(uow, people["rs_user"], other.id)


def test_a_grant_token_reads_only_its_grant(storage, people, shared, client):
    first, second = granted(storage, people, shared), granted(storage, people, shared)
    with storage.uow() as uow:
        issued = service.issue_grant_token(uow, people["rs_user"], first.id)
    response = client.get(f"/api/v1/share/grants/{second.id}/rows",
                          headers={"Authorization": f"Bearer {issued.plaintext}"})
    assert response.status_code == 403


def test_bulk_download_is_watermarked_for_the_recipient(storage, people, shared):
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        file = service.download_grant(uow, people["rs_user"], grant.id)
    from huiju.security import watermark

    text = file.body.decode()
    assert file.rows == 20 and watermark.find_codes(text)
    assert receipts.verify(file.receipt, file.body, _public_key(storage)) == []
    assert receipts.verify(file.receipt, file.body + b"x", _public_key(storage)) != []


def _public_key(storage) -> str:
    with storage.uow() as uow:
        [key] = service.receipt_public_keys(uow)
        return key["public_key_hex"]


def test_renew_within_limits_and_only_the_provider_manages(storage, people, shared):
    grant = granted(storage, people, shared)
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.renew_grant(uow, people["rs_steward"], grant.id, days=30)
    with storage.uow() as uow, pytest.raises(Invalid):
        service.renew_grant(uow, people["ga_steward"], grant.id, days=10_000)
    with storage.uow() as uow:
        renewed = service.renew_grant(uow, people["ga_steward"], grant.id, days=30, reason="延长核验期")
        assert 29 <= (renewed.expires_at - renewed.created_at).days <= 30
    with storage.uow() as uow:
        service.revoke_grant(uow, people["ga_steward"], grant.id, reason="停止")
    with storage.uow() as uow, pytest.raises(Conflict):
        service.renew_grant(uow, people["ga_steward"], grant.id, days=30)


def test_json_bodies_are_the_standard_encoders_bytes():
    """orjson writes the bytes json.dumps wrote before for the values a page holds; huge integers still encode."""
    import datetime as dt
    import decimal

    from huiju.share.delivery import _json_default, json_bytes

    doc = {"rows": [{"编号": 7, "姓名": "王*明", "金额": decimal.Decimal("1.50"), "比例": 0.1, "有效": True,
                     "日期": dt.date(2026, 1, 2), "时间": dt.datetime(2026, 1, 2, 3, 4, 5, 6),
                     "带时区": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "空": None,
                     "控制": "a\x01\u2028\"\\", "二进制": b"\x00"}], "next_after": [7]}
    standard = json.dumps(doc, ensure_ascii=False, default=_json_default, separators=(",", ":")).encode()
    assert json_bytes(doc) == standard
    assert json.loads(json_bytes({"n": 2**70})) == {"n": 2**70}
