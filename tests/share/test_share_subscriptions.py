"""Subscriptions: pull the changes since version N, push new versions to a webhook with retries and signatures;
疑义纠错 reports; the HTTP API of requests, steps and the per-grant OpenAPI document."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from huiju.errors import Conflict, Forbidden, Invalid
from huiju.share import receipts, service
from tests.share.conftest import ROWS, publish_version
from tests.share.test_share_delivery import _public_key, granted
from tests.support import csrf_of, login


def second_version(storage, people, tmp_path):
    rows = [r for r in ROWS if r[0] != 3]  # 3 removed
    rows = [(i, name + "改" if i == 5 else name, region, age, phone, note) for i, name, region, age, phone, note in rows]
    rows.append((41, "新某41", "990101", 30, "13800000041", "新增"))
    publish_version(storage, people["ga_steward"], tmp_path / "v2.csv", rows)


def test_pull_changes_since_a_version(storage, people, shared, tmp_path):
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        sub = service.subscribe(uow, people["rs_user"], grant.id, mode="pull")
        assert sub.delivered_version == 1
        nothing = json.loads(service.changes_since(uow, people["rs_user"], grant.id, 1).body)
        assert nothing["changed"] == [] and nothing["version"] == 1
    second_version(storage, people, tmp_path)
    with storage.uow() as uow:
        got = service.changes_since(uow, people["rs_user"], grant.id, 1)
    doc = json.loads(got.body)
    assert doc["version"] == 2 and sorted(r["编号"] for r in doc["changed"]) == [5, 41]  # only region 990101 rows
    assert doc["removed"] == {"key": "编号", "values": [3]}
    assert receipts.verify(got.receipt, got.body, _public_key(storage)) == []


class Hook(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[bytes, str]] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = Hook.answers.pop(0) if Hook.answers else 200
        if status == 200:
            Hook.received.append((body, self.headers[receipts.HEADER]))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), Hook)
    Hook.answers, Hook.received = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_push_retries_then_delivers_a_signed_body(storage, people, shared, tmp_path, webhook, system):
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        service.subscribe(uow, people["rs_user"], grant.id, mode="push", webhook_url=webhook)
    with storage.uow() as uow:
        assert service.push_subscriptions(uow, system).delivered == []  # nothing new yet
    second_version(storage, people, tmp_path)
    Hook.answers = [500]
    from datetime import timedelta

    from huiju.storage.db import utcnow

    now = utcnow()
    with storage.uow() as uow:
        first = service.push_subscriptions(uow, system, now)
    assert first.retrying and not first.delivered and Hook.received == []
    with storage.uow() as uow:  # not due yet
        assert service.push_subscriptions(uow, system, now + timedelta(seconds=10)).delivered == []
    with storage.uow() as uow:
        assert service.push_subscriptions(uow, system, now + timedelta(minutes=2)).delivered == first.retrying
    [(body, header)] = Hook.received
    assert json.loads(body)["version"] == 2
    assert receipts.verify(receipts.Receipt.parse(header), body, _public_key(storage)) == []
    with storage.uow() as uow:  # delivered once
        assert service.push_subscriptions(uow, system, now + timedelta(minutes=5)).delivered == []
    with storage.uow() as uow, pytest.raises(Invalid):
        service.subscribe(uow, people["rs_user"], grant.id, mode="push", webhook_url="ftp://x")


def test_objection_goes_to_the_provider(storage, people, shared):
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        obj = service.report_objection(uow, people["rs_user"], grant.id, record_key="7", field="年龄",
                                       reported_value="25", suggested_value="52", note="与社保登记不一致")
    with storage.uow() as uow:
        assert [o.id for o in service.list_objections(uow, people["ga_steward"])] == [obj.id]
        with pytest.raises(Forbidden):
            service.resolve_objection(uow, people["rs_steward"], obj.id, outcome="corrected", note="x")
        with pytest.raises(Invalid):
            service.report_objection(uow, people["rs_user"], grant.id, record_key="7", field="不存在",
                                     reported_value=None, suggested_value=None, note="x")
    with storage.uow() as uow:
        done = service.resolve_objection(uow, people["ga_steward"], obj.id, outcome="corrected",
                                         note="已更正，下一版本生效")
        assert done.status == "corrected" and done.resolved_by == people["ga_steward"].user_id
    with storage.uow() as uow, pytest.raises(Conflict):
        service.resolve_objection(uow, people["ga_steward"], obj.id, outcome="rejected", note="x")


def _api_login(client, username):
    client.cookies.clear()
    login(client, username)
    return {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}


def test_http_api_request_approve_read_and_openapi(client, people, shared):
    headers = _api_login(client, "rs_user")
    created = client.post("/api/v1/share/requests", headers=headers, json={
        "entry_id": shared.conditional, "purpose": "社保待遇资格核验", "scenario": "养老金核验",
        "fields": ["编号", "姓名", "年龄"], "row_filter": [{"field": "年龄", "op": ">=", "value": 40}]})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    headers = _api_login(client, "ga_steward")
    inbox = client.get("/api/v1/share/requests?box=inbox").json()
    assert [r["id"] for r in inbox] == [rid]
    refused = client.post(f"/api/v1/share/requests/{rid}/steps/reject", headers=headers, json={})
    assert refused.status_code == 422 and refused.json()["error"]["message"] == "请说明理由"
    ok = client.post(f"/api/v1/share/requests/{rid}/steps/approve_in_part", headers=headers,
                     json={"reason": "姓名脱敏", "masks": {"姓名": "CN_NAME"}})
    assert ok.json()["state"] == "approved_in_part"
    detail = client.get(f"/api/v1/share/requests/{rid}").json()
    gid = detail["grant_id"]
    assert [e["step"] for e in detail["log"]] == ["submit", "approve_in_part"]
    _api_login(client, "rs_user")
    doc = client.get(f"/api/v1/share/grants/{gid}/openapi.json").json()
    row = doc["components"]["schemas"]["Row"]["properties"]
    assert set(row) == {"编号", "姓名", "年龄"} and row["年龄"]["type"] == "integer" and "CN_NAME" in \
        row["姓名"]["description"]
    page = client.get(f"/api/v1/share/grants/{gid}/rows", params={"limit": 3})
    assert page.status_code == 200 and len(page.json()["rows"]) == 3 and all(r["年龄"] >= 40 for r in page.json()["rows"])
    nxt = client.get(f"/api/v1/share/grants/{gid}/rows",
                     params={"limit": 3, "after": page.headers["X-Huiju-Next-After"]}).json()
    assert nxt["rows"][0]["编号"] > page.json()["rows"][-1]["编号"]
    call = page.headers["X-Huiju-Call-Id"]
    again = receipts.Receipt.parse(json.dumps(client.get(f"/api/v1/share/calls/{call}/receipt").json()))
    assert again == receipts.Receipt.parse(page.headers[receipts.HEADER])
    [key] = client.get("/api/v1/share/receipt-keys").json()
    assert receipts.verify(again, page.content, key["public_key_hex"]) == []
