"""The catalog entry API over real HTTP, and `huiju catalog …` as a real process."""

from __future__ import annotations

import json

from tests.catalog.support import BUS_LINES, LEGAL_ENTITIES, entry
from tests.support import login, run_cli


def test_register_review_and_search_over_the_api(app, people):
    from fastapi.testclient import TestClient

    with TestClient(app) as steward, TestClient(app) as op, TestClient(app) as other:
        login(steward, "ga_steward")
        login(op, "op")
        login(other, "rs_user")
        h = {"X-CSRF-Token": steward.cookies["huiju_csrf"]}
        bad = steward.post("/api/v1/catalog/entries", headers=h,
                           json={**entry(LEGAL_ENTITIES, share_basis=""), "department_code": "GA"})
        assert bad.status_code == 422 and "依据" in bad.json()["error"]["message"]
        r = steward.post("/api/v1/catalog/entries", headers=h, json={**BUS_LINES, "department_code": "GA"})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["code"] == "201001GA/0001" and created["state"] == "draft"
        assert other.get(f"/api/v1/catalog/entries/{created['id']}").status_code == 404
        eid = created["id"]
        assert steward.post(f"/api/v1/catalog/entries/{eid}/submit", headers=h, json={}).json()["state"] == \
            "under_review"
        oh = {"X-CSRF-Token": op.cookies["huiju_csrf"]}
        assert [e["id"] for e in op.get("/api/v1/catalog/review").json()] == [eid]
        denied = steward.post(f"/api/v1/catalog/entries/{eid}/approve", headers=h, json={})
        assert denied.status_code == 403
        assert op.post(f"/api/v1/catalog/entries/{eid}/approve", headers=oh, json={"comment": "同意"}).json()[
            "state"] == "published"
        found = other.get("/api/v1/catalog/entries", params={"q": "交通"}).json()
        assert [e["id"] for e in found["entries"]] == [eid] and found["total"] == 1
        assert {f["value"]: f["count"] for f in found["facets"]["share_type"]} == {"unconditional": 1}
        history = op.get(f"/api/v1/catalog/entries/{eid}/history").json()
        assert [c["action"] for c in history] == ["registered", "submitted", "published"]


def test_catalog_cli(tmp_path):
    home = tmp_path / "home"
    run_cli(home, "init")
    run_cli(home, "dept", "add", "SJ", "示例市市场监督管理局", "--level", "city", "--region", "990100")
    spec = tmp_path / "entry.json"
    spec.write_text(json.dumps(LEGAL_ENTITIES, ensure_ascii=False), encoding="utf-8")
    out = run_cli(home, "catalog", "register", str(spec), "--dept", "SJ").stdout
    assert "目录 102001SJ/0001 已登记" in out
    assert "已提交审核" in run_cli(home, "catalog", "submit", "102001SJ/0001").stdout
    assert "已发布" in run_cli(home, "catalog", "approve", "1", "--comment", "同意").stdout
    found = run_cli(home, "catalog", "search", "医保").stdout
    assert "法人单位基本信息" in found and "找到 1 条目录" in found
    assert "找到 0 条目录" in run_cli(home, "catalog", "search", "气象").stdout
    shown = run_cli(home, "catalog", "show", "102001SJ/0001").stdout
    assert "统一社会信用代码" in shown and "已发布" in shown and "审核通过并发布" in shown
    bad = run_cli(home, "catalog", "withdraw", "1", ok=False)
    assert bad.returncode == 1 and "撤销理由" in bad.stdout
