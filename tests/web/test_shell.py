"""The web shell over real HTTP through the ASGI app: login, CSRF, locale, homes, errors, OpenAPI, tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from huiju.auth.models import ApiToken
from huiju.storage.db import utcnow
from tests.support import PASSWORD, csrf_of, login


def test_pages_need_login(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/")


def test_login_sets_a_secure_session_cookie_and_lands_on_the_role_home(client, people):
    r = login(client, "ga_steward")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "huiju_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    home = client.get("/")
    assert home.status_code == 200
    assert "示例市公安局" in home.text and "部门数据管理" in home.text


def test_each_role_has_its_own_home(app, people):
    from fastapi.testclient import TestClient

    expected = {"op": "平台运营", "ga_steward": "部门数据管理", "ga_user": "我的部门", "citizen": "开放数据"}
    for username, title in expected.items():
        with TestClient(app) as c:
            assert login(c, username).status_code == 303
            assert title in c.get("/").text, username


def test_wrong_password_is_refused_in_chinese_and_audited(client, people, storage):
    r = login(client, "ga_steward", "wrong-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    unknown = login(client, "nobody-here", "wrong-password")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text  # no hint that the user exists
    from huiju.security.models import AuditEntry

    with storage.uow() as uow:
        assert uow.session.query(AuditEntry).filter_by(event_type="LoginFailed").count() == 2


def test_forms_without_csrf_token_are_rejected(client, people):
    client.get("/login")
    r = client.post("/login", data={"username": "ga_steward", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "huiju_session" not in r.headers.get("set-cookie", "")


def test_logout_ends_the_session(client, people):
    login(client, "ga_user")
    page = client.get("/")
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_english_switch(client, people):
    login(client, "op")
    assert "Platform operations" in client.get("/?lang=en").text
    assert "Platform operations" in client.get("/").text  # remembered by cookie
    assert "平台运营" in client.get("/?lang=zh_CN").text


def test_api_errors_share_one_envelope(client, people):
    r = client.get("/api/v1/departments")
    assert r.status_code == 401
    assert r.json() == {"error": {"status": 401, "code": "unauthenticated", "message": "请先登录"}}
    r = client.get("/api/v1/nowhere")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    login(client, "ga_user")
    r = client.post("/api/v1/departments", json={"code": "X"}, headers={"X-CSRF-Token": client.cookies["huiju_csrf"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid" and r.json()["error"]["details"]
    r = client.post("/api/v1/departments", json={"code": "X", "name": "某局", "level": "city", "region_code": "990100"},
                    headers={"X-CSRF-Token": client.cookies["huiju_csrf"]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_cookie_authenticated_api_writes_need_the_csrf_header(client, people):
    login(client, "op")
    body = {"code": "JY", "name": "示例市教育局", "level": "city", "region_code": "990100"}
    assert client.post("/api/v1/departments", json=body).status_code == 403
    r = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": client.cookies["huiju_csrf"]})
    assert r.status_code == 201 and r.json()["code"] == "JY"


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/departments" in paths and "/api/v1/audit/verify" in paths


def test_token_lifecycle_over_the_api(client, people, storage):
    login(client, "ga_steward")
    headers = {"X-CSRF-Token": client.cookies["huiju_csrf"]}
    issued = client.post("/api/v1/tokens", json={"name": "etl", "scopes": ["auth.department.view"]}, headers=headers)
    assert issued.status_code == 201
    plaintext = issued.json()["plaintext"]
    token_id = issued.json()["token"]["id"]
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {plaintext}"}
    r = client.get("/api/v1/departments", headers=bearer)
    assert r.status_code == 200 and {d["code"] for d in r.json()} == {"GA", "RS"}
    assert client.get("/api/v1/users", headers=bearer).status_code == 403  # outside the token's scope
    with storage.uow() as uow:
        token = uow.get(ApiToken, token_id)
        assert token.last_used_at is not None
        assert token.secret_hash not in plaintext and len(token.secret_hash) == 64
    # expired
    with storage.engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(expires_at=utcnow() - timedelta(days=1)))
    r = client.get("/api/v1/departments", headers=bearer)
    assert r.status_code == 401 and r.json()["error"]["message"] == "API 令牌已过期"
    with storage.engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(expires_at=utcnow() + timedelta(days=1)))
    assert client.get("/api/v1/departments", headers=bearer).status_code == 200
    login(client, "ga_steward")
    r = client.post(f"/api/v1/tokens/{token_id}/revoke", headers={"X-CSRF-Token": client.cookies["huiju_csrf"]})
    assert r.status_code == 200 and r.json()["revoked_at"]
    client.cookies.clear()
    assert client.get("/api/v1/departments", headers=bearer).status_code == 401
    assert client.get("/api/v1/departments", headers={"Authorization": "Bearer hj_nope_nope"}).status_code == 401


def test_operator_pages(client, people):
    login(client, "op")
    assert "示例市人力资源和社会保障局" in client.get("/departments").text
    page = client.get("/audit")
    assert "DepartmentCreated" in page.text
    r = client.post("/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "审计链完整" in r.text
    report = client.get("/api/v1/audit/verify").json()
    assert report["ok"] is True and report["checked"] >= 8 and report["broken_seq"] is None


def test_steward_cannot_open_audit(client, people):
    login(client, "ga_steward")
    r = client.get("/audit")
    assert r.status_code == 403 and "不允许" in r.text


def test_open_redirect_is_refused(client, people):
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "op", "password": PASSWORD, "csrf_token": token,
                                    "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"
