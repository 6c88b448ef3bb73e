"""Catalog pages over HTTP: home counts, search with facets, entry page with lineage, forms, review, freshness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from huiju.catalog import service
from huiju.storage.lake import LakeVersion
from tests.catalog.support import BUS_LINES, LEGAL_ENTITIES
from tests.support import csrf_of, login


@pytest.fixture
def published(storage, people):
    with storage.uow() as uow:
        e = service.register_entry(uow, people["ga_steward"], department_code="GA", fields=BUS_LINES)
    with storage.uow() as uow:
        service.submit_entry(uow, people["ga_steward"], e.id)
    with storage.uow() as uow:
        service.approve_entry(uow, people["op"], e.id)
    return e


def client_for(app, username):
    c = TestClient(app)
    login(c, username)
    return c


def test_home_search_and_entry_pages(app, people, published):
    with client_for(app, "rs_user") as c:
        home = c.get("/catalog")
        assert home.status_code == 200 and "政务信息资源目录" in home.text
        assert "主题信息资源" in home.text and "示例市公安局" in home.text
        found = c.get("/catalog/search", params={"q": "交通"})
        assert "城市公共交通线路信息" in found.text and "找到 1 条目录" in found.text
        assert "无条件共享" in found.text  # a facet value
        narrowed = c.get("/catalog/search", params={"q": "交通", "share_type": "none"})
        assert "找到 0 条目录" in narrowed.text
        page = c.get(f"/catalog/entries/{published.id}")
        assert page.status_code == 200 and "201001GA/0001" in page.text
        assert 'data-testid="lineage"' in page.text and "无条件开放" in page.text
        assert "尚未挂接数据" in page.text
        assert "submit-entry" not in page.text  # no buttons for a reader
        dept = c.get(f"/catalog/departments/{published.department_id}")
        assert "城市公共交通线路信息" in dept.text


def test_register_form_shows_chinese_errors_and_keeps_the_input(app, people):
    with client_for(app, "ga_steward") as c:
        form = c.get("/catalog/new").text
        data = {"csrf_token": csrf_of(form), "department_code": "GA", "name": "户籍人口信息", "classification": "base",
                "item": "population", "directory": "001", "abstract": "全市户籍人口。", "format_kind": "database",
                "format_type": "PostgreSQL", "share_type": "conditional", "share_condition": "限公安业务",
                "share_basis": "", "share_mode_kind": "platform", "share_mode_type": "api", "open_class": "closed",
                "update_cycle": "daily", "data_level": "general_4", "items_text": "*身份证号|C|18|general_4\n姓名|C|50"}
        bad = c.post("/catalog/new", data=data)
        assert bad.status_code == 422 and "依据" in bad.text and "户籍人口信息" in bad.text
        ok = c.post("/catalog/new", data={**data, "share_basis": "《居民身份证法》"}, follow_redirects=False)
        assert ok.status_code == 303
        entry_page = c.get(ok.headers["location"]).text
        assert "101001GA/0001" in entry_page and "身份证号" in entry_page and "🔑" in entry_page
        assert "submit-entry" in entry_page


def test_overdue_entries_on_the_steward_and_operator_homes(app, storage, people, published):
    from huiju.catalog.models import Dataset

    with storage.uow() as uow:
        ds = service.register_dataset(uow, people["op"], key="bus_lines", name="公交线路", department_code="GA")
        uow.add(LakeVersion(dataset_key="bus_lines", number=1, path="bus_lines/v1", files=[], row_count=3,
                            byte_count=10, schema=[]))
        uow.commit()
    with storage.uow() as uow:
        service.mount_dataset(uow, people["ga_steward"], published.id, ds.id)
    with storage.uow() as uow:
        assert service.entry_freshness(uow, people["op"], published.id).status == "fresh"
        old = datetime.now(UTC) - timedelta(days=45)  # monthly cycle: 31 days allowed
        uow.session.execute(update(LakeVersion).where(LakeVersion.dataset_key == "bus_lines").values(created_at=old))
        uow.commit()
    with storage.uow() as uow:
        flagged = service.overdue_entries(uow, people["ga_steward"])
        assert [(e.id, f.status, f.days_overdue) for e, f in flagged] == [(published.id, "overdue", 14)]
        assert service.overdue_entries(uow, people["rs_steward"]) == []
    for who in ("ga_steward", "op"):
        with client_for(app, who) as c:
            home = c.get("/").text
            assert "城市公共交通线路信息" in home and "更新逾期" in home
    with client_for(app, "rs_steward") as c:
        assert "城市公共交通线路信息" not in c.get("/").text
    assert Dataset.__tablename__ == "datasets"


def test_review_queue_page(app, storage, people):
    with storage.uow() as uow:
        e = service.register_entry(uow, people["ga_steward"], department_code="GA", fields=LEGAL_ENTITIES)
    with storage.uow() as uow:
        service.submit_entry(uow, people["ga_steward"], e.id)
    with client_for(app, "op") as c:
        queue = c.get("/catalog/review")
        assert "法人单位基本信息" in queue.text
        r = c.post(f"/catalog/entries/{e.id}/approve", data={"csrf_token": csrf_of(queue.text),
                                                              "next": "/catalog/review"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/catalog/review"
        assert "没有待审核的目录" in c.get("/catalog/review").text
    with client_for(app, "ga_steward") as c:
        assert c.get("/catalog/review").status_code == 403
