"""Public registration, real-name levels, OpenID Connect login, API keys and their rate limits."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from huiju.auth import service as auth_service
from huiju.errors import Conflict, Invalid, Unauthenticated
from huiju.opendata.portal import service
from huiju.opendata.portal.oidc import OidcProvider
from huiju.opendata.portal_models import OidcIdentity, PortalAccount
from huiju.security import audit  # noqa: F401  (the audit chain subscribes to events)
from huiju.security.models import AuditEntry
from tests.support import PASSWORD, csrf_of


def _register(client, username="li_si", password=PASSWORD, **extra):
    page = client.get("/open/register")
    assert page.status_code == 200
    data = {"username": username, "password": password, "display_name": "李四", "csrf_token": csrf_of(page.text),
            "next": "/open/account", **extra}
    return client.post("/open/register", data=data, follow_redirects=False)


def test_registration_logs_in_a_public_user_at_the_lowest_level(client, storage):
    response = _register(client, email="lisi@example.cn")
    assert response.status_code == 303 and response.headers["location"] == "/open/account"
    me = client.get("/api/v1/me").json()
    assert me["username"] == "li_si" and [r["role"] for r in me["roles"]] == ["public"]
    account = client.get("/api/v1/portal/account").json()
    assert account["realname_level"] == "unverified" and account["email"] == "lisi@example.cn"
    page = client.get("/open/account")
    assert "未认证" in page.text


def test_registration_errors_are_chinese_and_keep_the_form(client):
    assert _register(client).status_code == 303
    client.cookies.clear()
    again = _register(client, email="x@example.cn")
    assert again.status_code == 409 and "用户名 li_si 已被占用" in again.text and 'value="x@example.cn"' in again.text
    short = _register(client, username="wang", password="short")
    assert short.status_code == 422 and "密码至少需要 8 个字符" in short.text


def test_real_name_verification_through_the_outside_service(storage, system, realname):
    with storage.uow() as uow:
        account = service.register_account(uow, username="zhang", display_name="张三", password=PASSWORD)
        user_id = account.user_id
    with storage.uow() as uow:
        user = uow.session.get(auth_service.User, user_id)
        actor = auth_service.actor_for_user(user)
        with pytest.raises(Invalid, match="verification code"):
            service.verify_phone(uow, actor, phone="13800138000", code="000000", provider=realname)
        uow.rollback()
        acc = service.verify_phone(uow, actor, phone="+86 138 0013 8000", code="246810", provider=realname)
        assert acc.realname_level == "phone" and acc.phone_masked == "138****8000"
        with pytest.raises(Invalid, match="GB 11643"):
            service.verify_identity(uow, actor, name="张三", id_number="110105194912310021", provider=realname)
        with pytest.raises(Invalid, match="does not match"):
            service.verify_identity(uow, actor, name="李四", id_number="11010519491231002X", provider=realname)
        uow.rollback()
        acc = service.verify_identity(uow, actor, name="张三", id_number="11010519491231002x", provider=realname)
        assert acc.realname_level == "real_name" and acc.name_masked == "张*"
        assert acc.id_number_hash and "11010519491231002X" not in str(vars(acc))
        events = [e.event_type for e in uow.session.scalars(select(AuditEntry))]
        assert events.count("RealNameVerified") == 2


def test_identity_form_over_http(client, realname):
    _register(client)
    page = client.get("/open/account")
    bad = client.post("/open/account/identity", data={"name": "李四", "id_number": "11010519491231002X",
                                                      "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 422 and "姓名与身份证号不一致" in bad.text and "未认证" in bad.text
    ok = client.post("/open/account/identity", data={"name": "张三", "id_number": "11010519491231002X",
                                                     "csrf_token": csrf_of(page.text)}, follow_redirects=True)
    assert ok.status_code == 200 and "已实名认证" in ok.text and "张*" in ok.text


def test_keys_are_scoped_to_open_data_and_revocable(client, storage, people):
    _register(client)
    page = client.get("/open/account")
    created = client.post("/open/account/keys", data={"name": "my app", "csrf_token": csrf_of(page.text)})
    assert created.status_code == 200
    key = created.text.split('data-testid="issued-key">')[1].split("<")[0]
    assert key.startswith("hj_")
    api = httpx.Client(transport=client._transport, base_url="http://testserver")
    listed = client.get("/api/v1/portal/keys").json()
    assert len(listed) == 1 and listed[0]["status"] == "active" and listed[0]["kind"] == "open"
    # the key reads open data but cannot act with the user's other rights
    refused = api.get("/api/v1/portal/keys", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403
    assert api.get("/api/v1/portal/stats", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    client.post(f"/open/account/keys/{listed[0]['id']}/revoke", data={"csrf_token": csrf_of(page.text)})
    gone = api.get("/api/v1/portal/stats", headers={"Authorization": f"Bearer {key}"})
    assert gone.status_code == 401 and gone.json()["error"]["message"] == "API 令牌已被吊销"


def test_rate_limits_per_key_and_per_ip_with_clear_messages(settings, storage, people):
    from fastapi.testclient import TestClient

    from huiju.app import create_app

    settings.opendata_rate_per_ip = 3
    settings.opendata_rate_per_key = 5
    app = create_app(settings, storage)
    with TestClient(app) as client, storage.uow() as uow:
        issued = service.create_key(uow, people["citizen"], name="k")
        for _ in range(3):
            assert client.get("/api/v1/portal/stats").status_code == 200
        refused = client.get("/api/v1/portal/stats")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        body = refused.json()["error"]
        assert body["code"] == "rate_limited" and "每分钟最多 3 次" in body["message"]
        headers = {"Authorization": f"Bearer {issued.plaintext}"}
        for _ in range(5):  # the key has its own, larger allowance
            assert client.get("/api/v1/portal/stats", headers=headers).status_code == 200
        key_refused = client.get("/api/v1/portal/stats", headers=headers)
        assert key_refused.status_code == 429 and "该 API 密钥" in key_refused.json()["error"]["message"]
        english = client.get("/api/v1/portal/stats?lang=en").json()["error"]["message"]
        assert english.startswith("Too many calls from your address: at most 3 a minute")


def test_operator_may_give_a_key_its_own_limit(storage, people):
    with storage.uow() as uow:
        with pytest.raises(Exception, match="not allowed"):
            service.create_key(uow, people["citizen"], name="big", rate_per_minute=10_000)
        issued = service.create_key(uow, people["op"], name="partner", rate_per_minute=10_000)
        assert service.key_limit(uow, issued.plaintext).per_minute == 10_000
        with pytest.raises(Unauthenticated):
            service.key_limit(uow, issued.plaintext[:-2] + "xx")


# ---- OpenID Connect against a provider served over real HTTP ---------------------------------

def _oidc_login(client, idp, next_path="/open/account"):
    start = client.get(f"/open/login/oidc?next={next_path}", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"].startswith(f"{idp.issuer}/authorize?")
    at_idp = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_idp.status_code == 302
    callback = at_idp.headers["location"]
    assert callback.startswith("http://testserver/open/oidc/callback?")
    return client.get(callback.replace("http://testserver", ""), follow_redirects=False), callback


def test_oidc_login_creates_a_verified_public_account_once(settings, storage, idp, realname):
    from fastapi.testclient import TestClient

    from huiju.app import create_app

    settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret = \
        idp.issuer, idp.client_id, idp.client_secret
    with TestClient(create_app(settings, storage)) as client:
        done, callback = _oidc_login(client, idp)
        assert done.status_code == 303 and done.headers["location"] == "/open/account"
        me = client.get("/api/v1/me").json()
        assert me["display_name"] == "张三" and [r["role"] for r in me["roles"]] == ["public"]
        assert client.get("/api/v1/portal/account").json()["realname_level"] == "real_name"
        replay = client.get(callback.replace("http://testserver", ""), follow_redirects=False)
        assert replay.status_code == 422 and "已失效" in replay.text  # a state is good once
        client.cookies.clear()
        again, _ = _oidc_login(client, idp)
        assert again.status_code == 303
    with storage.uow() as uow:
        links = uow.session.scalars(select(OidcIdentity)).all()
        assert [(l.issuer, l.subject) for l in links] == [(idp.issuer, "citizen-0001")]
        assert uow.session.scalar(select(PortalAccount).where(PortalAccount.user_id == links[0].user_id))


def test_oidc_refuses_a_forged_id_token_and_a_wrong_secret(storage, idp):
    provider = OidcProvider(idp.issuer, idp.client_id, idp.client_secret)
    with storage.uow() as uow:
        def attempt(p: OidcProvider) -> None:
            url = service.start_oidc_login(uow, p, redirect_uri="http://testserver/open/oidc/callback")
            back = httpx.get(url, follow_redirects=False).headers["location"]
            params = dict(httpx.URL(back).params)
            service.finish_oidc_login(uow, p, state=params["state"], code=params["code"],
                                      redirect_uri="http://testserver/open/oidc/callback")

        idp.tamper = True
        with pytest.raises(Unauthenticated, match="identity token"):
            attempt(provider)
        idp.tamper = False
        with pytest.raises(Unauthenticated, match="refused"):
            attempt(OidcProvider(idp.issuer, idp.client_id, "wrong-secret"))
        assert uow.session.scalars(select(OidcIdentity)).all() == []


def test_oidc_off_when_not_configured(client):
    response = client.get("/open/login/oidc", follow_redirects=False)
    assert response.status_code == 422 and "统一身份认证" in response.text


def test_username_conflict_on_api_registration(storage):
    with storage.uow() as uow:
        service.register_account(uow, username="dup", display_name="", password=PASSWORD)
    with storage.uow() as uow, pytest.raises(Conflict):
        service.register_account(uow, username="dup", display_name="", password=PASSWORD)
