"""Conditional open data (有条件开放) through the CKAN API: served to the key of a user whose data use
agreement is active, refused with CKAN's Authorization Error to everyone else; driven by the real ckanapi client."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import ckanapi
import httpx
import pytest
from sqlalchemy import select

from huiju.auth import service as auth_service
from huiju.auth.models import ApiToken
from huiju.opendata.portal import service as portal
from huiju.opendata.portal_models import OpenApplication
from huiju.security import audit  # noqa: F401  (the audit chain subscribes to events)
from huiju.security.models import AuditEntry
from tests.opendata.portal.support import FakeRealName
from tests.opendata.support import BUS_STOPS_ENTRY, ROWS, load_bus_stops, open_entry
from tests.support import PASSWORD

CONDITIONAL = {**BUS_STOPS_ENTRY, "name": "公交刷卡站点客流", "open_class": "conditional",
               "open_condition": "实名认证并签署数据利用协议"}


def _verified_user(storage, username: str):
    realname = FakeRealName()
    with storage.uow() as uow:
        account = portal.register_account(uow, username=username, display_name="张三", password=PASSWORD)
        actor = auth_service.actor_for_user(uow.session.get(auth_service.User, account.user_id))
        portal.verify_identity(uow, actor, name="张三", id_number="11010519491231002X", provider=realname)
    return actor


def _granted_key(storage, people, actor, entry_id: int) -> tuple[int, str]:
    """Apply, approve (providing department), accept the agreement: the application id and its scoped key."""
    with storage.uow() as uow:
        app = portal.submit_application(uow, actor, entry_id=entry_id, purpose="研究早晚高峰客流",
                                        scenario="高校交通规划课题", commitments=["仅用于研究"], months=3)
    with storage.uow() as uow:
        portal.decide_application(uow, people["ga_steward"], app.id, approve=True, note="同意")
    with storage.uow() as uow:
        _text, digest = portal.application_agreement(uow, actor, app.id)
        accepted = portal.accept_agreement(uow, actor, app.id, agreement_sm3=digest)
    return app.id, accepted.plaintext


@pytest.fixture
def conditional(storage, people, tmp_path, opened):
    entry_id = load_bus_stops(storage, people, tmp_path, entry=CONDITIONAL, key="bus_flows")
    return open_entry(storage, people, entry_id)


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["__type"] == "Authorization Error"
    assert body["error"]["message"].startswith("Access denied")


def test_the_key_of_an_active_agreement_reads_conditional_rows(live, storage, people, conditional, opened):
    holder = _verified_user(storage, "zhangsan")
    app_id, key = _granted_key(storage, people, holder, conditional.entry_id)
    site = ckanapi.RemoteCKAN(live, apikey=key, user_agent="huiju-tests")
    rid = conditional.resource_id
    page = site.action.datastore_search(resource_id=rid, limit=5, filters={"line": "1路"})
    assert page["total"] == ROWS // 5 and len(page["records"]) == 5
    assert "keeper_mobile" not in page["records"][0]  # the open policy still applies
    out = site.action.datastore_search_sql(sql=f'SELECT count(*) AS n FROM "{rid}"')
    assert out["records"] == [{"n": ROWS}]
    assert site.action.datastore_search(resource_id=opened.resource_id, limit=1)["total"] == ROWS  # open data too
    with httpx.Client(base_url=live) as http:  # the whole version, as CKAN clients download it, with the key
        dumped = http.get(f"/datastore/dump/{rid}", headers={"Authorization": key})
        assert dumped.status_code == 200 and dumped.headers["cache-control"] == "private, no-store"
        assert len(list(csv.reader(io.StringIO(dumped.content.decode("utf-8-sig"))))) == ROWS + 1
        keyed = http.get("/api/3/action/datastore_search", params={"resource_id": rid, "limit": 1},
                         headers={"Authorization": f"Bearer {key}"})
        assert keyed.status_code == 200 and keyed.headers["cache-control"] == "private, no-store"
    with storage.uow() as uow:  # every read counted for the dataset and audited under the agreement
        counted = portal.usage_totals(uow).by_entry[conditional.entry_id]
        assert counted["api"] == 3 and counted["download"] == 1
        reads = [json.loads(e.payload) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.event_type == "ConditionalDataRead").order_by(AuditEntry.id))]
        assert [(r["via"], r["rows"]) for r in reads] == [("datastore_search", 5), ("datastore_search_sql", 1),
                                                          ("dump", None), ("datastore_search", 1)]
        assert {r["application_id"] for r in reads} == {app_id} and {r["resource_id"] for r in reads} == {rid}
    # another key of the same user reads it too (the agreement binds the person), within its scope only
    with storage.uow() as uow:
        own_key = portal.create_key(uow, holder, name="我的应用").plaintext
    assert ckanapi.RemoteCKAN(live, apikey=own_key).action.datastore_search(resource_id=rid, limit=1)["records"]
    # the provider revokes the agreement: the scoped key is revoked, the user's other key loses the data
    with storage.uow() as uow:
        portal.revoke_application(uow, people["ga_steward"], app_id, reason="超出申请用途使用")
    for revoked in (key, own_key):
        with pytest.raises(ckanapi.NotAuthorized):
            ckanapi.RemoteCKAN(live, apikey=revoked).action.datastore_search(resource_id=rid, limit=1)
    with httpx.Client(base_url=live) as http:
        _refused(http.get("/api/3/action/datastore_search", params={"resource_id": rid},
                          headers={"Authorization": key}))


def test_everyone_else_is_refused_with_ckans_authorization_error(live, storage, people, conditional):
    holder = _verified_user(storage, "zhangsan")
    app_id, key = _granted_key(storage, people, holder, conditional.entry_id)
    rid = conditional.resource_id
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(live).action.datastore_search(resource_id=rid)
    with storage.uow() as uow:  # a key of a user without an agreement for this data
        stranger = portal.create_key(uow, people["citizen"], name="x").plaintext
    with httpx.Client(base_url=live) as http:
        _refused(http.get("/api/3/action/datastore_search", params={"resource_id": rid}))
        _refused(http.get("/api/3/action/datastore_search", params={"resource_id": rid},
                          headers={"Authorization": stranger}))
        _refused(http.post("/api/3/action/datastore_search_sql", json={"sql": f'SELECT * FROM "{rid}"'},
                           headers={"Authorization": stranger}))
        assert http.get(f"/datastore/dump/{rid}").status_code == 403
        assert http.get(f"/datastore/dump/{rid}", headers={"Authorization": stranger}).status_code == 403
    # the agreement runs out: the key's user no longer holds an active grant
    with storage.uow() as uow:
        uow.session.get(OpenApplication, app_id).expires_at = datetime.now(UTC) - timedelta(minutes=1)
        uow.commit()
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(live, apikey=key).action.datastore_search(resource_id=rid)
    # and an expired key is refused as such, even where the agreement is current
    with storage.uow() as uow:
        uow.session.get(OpenApplication, app_id).expires_at = datetime.now(UTC) + timedelta(days=30)
        prefix = key.split("_")[1]
        token = uow.session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one()
        token.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        uow.commit()
    with httpx.Client(base_url=live) as http:
        refused = http.get("/api/3/action/datastore_search", params={"resource_id": rid},
                           headers={"Authorization": key})
        _refused(refused)
        assert "expired" in refused.json()["error"]["message"] or "过期" in refused.json()["error"]["message"]
    with storage.uow() as uow:
        assert conditional.entry_id not in portal.usage_totals(uow).by_entry  # nothing was served, nothing counted
