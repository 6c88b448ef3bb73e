"""Public pages over real open data: the bus-stop dataset ingested, catalogued, opened through the services."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from huiju.security import audit  # noqa: F401  (the audit chain subscribes to events)
from huiju.security.models import AuditEntry
from tests.support import csrf_of, login


def test_home_counts_and_recent(client, opened):
    page = client.get("/open/")
    assert page.status_code == 200
    counts = page.text.split('data-testid="portal-counts"')[1].split("</ul>")[0]
    assert "<strong>1</strong>" in counts and "<strong>240</strong>" in counts
    assert f'/open/datasets/{opened.name}' in page.text


def test_search_in_chinese_with_facets(client, opened):
    found = client.get("/open/datasets", params={"q": "公交站点"})
    assert found.status_code == 200 and "城市公交站点" in found.text
    assert "1 个数据集" in found.text or "1 datasets" in found.text
    assert client.get("/open/datasets", params={"q": "医保"}).text.count('href="/open/datasets/') == 0
    facets = found.text.split('data-testid="facets"')[1].split("</aside>")[0]
    for label in ("主题", "部门", "开放类型", "格式", "更新频率"):
        assert label in facets
    narrowed = client.get("/open/datasets", params={"open_class": "conditional"})
    assert "城市公交站点" not in narrowed.text.split('data-testid="results"')[1]


def test_dataset_page_preview_sort_filter_and_api_docs(client, opened, storage):
    page = client.get(f"/open/datasets/{opened.name}")
    assert page.status_code == 200 and "城市公交站点" in page.text
    table = page.text.split('data-testid="preview-table"')[1].split("</table>")[0]
    assert "keeper_mobile" not in table  # the sensitive column never leaves
    assert "S00000" in table and 'data-testid="map"' in page.text and 'data-testid="chart"' in page.text
    assert f"resource_id={opened.resource_id}" in page.text and "ckanapi" in page.text
    filtered = client.get(f"/open/datasets/{opened.name}/preview", params={"f.line": "K3", "sort": "stop_id"})
    rows = filtered.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 48 and "1路" not in rows  # 240 stops, one line in five
    assert rows.index("S00002") < rows.index("S00007")
    down = client.get(f"/open/datasets/{opened.name}/preview", params={"f.line": "K3", "sort": "stop_id",
                                                                       "dir": "desc"})
    rows = down.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 48 and rows.index("S00237") < rows.index("S00232") < rows.index("S00002")
    header = down.text.split('data-testid="sort-stop_id"')[0].rsplit("<a ", 1)[1]
    assert "dir=asc" in header and "f.line=K3" in header  # clicking again goes back up, keeping the filter
    assert 'aria-sort="descending"' in down.text
    bad = client.get(f"/open/datasets/{opened.name}/preview", params={"sort": "keeper_mobile"})
    assert bad.status_code == 422
    assert client.get(f"/open/datasets/{opened.name}/preview", params={"sort": "line", "dir": "up"}).status_code == 422
    with storage.uow() as uow:  # every read went through read_rows and was audited
        reads = [e for e in uow.session.scalars(select(AuditEntry).where(AuditEntry.event_type == "DataRead"))]
        assert len(reads) >= 2 and all('"open:' in e.payload for e in reads)


def test_downloads_stream_with_bom_and_caching(client, opened):
    got = client.get(f"/open/datasets/{opened.name}/download.csv")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["stop_id", "line"] and "keeper_mobile" not in rows[0] and len(rows) == 241
    assert got.headers["cache-control"].startswith("public") and got.headers["etag"]
    again = client.get(f"/open/datasets/{opened.name}/download.csv", headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304
    data = client.get(f"/open/datasets/{opened.name}/download.json").json()
    assert len(data) == 240 and data[0]["name"] == "第0站"
    xlsx = client.get(f"/open/datasets/{opened.name}/download.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 241 and sheet.cell(2, 3).value == "第0站"
    assert client.get(f"/open/datasets/{opened.name}/download.xml").status_code == 404
    stats = client.get("/api/v1/portal/stats").json()
    assert stats["totals"]["download"] == 3 and stats["by_entry"][str(opened.entry_id)]["download"] == 3


def test_department_list_plan_and_stats_pages(client, opened):
    client.get(f"/open/datasets/{opened.name}")
    dept = client.get("/open/departments/GA")
    assert dept.status_code == 200 and "城市公交站点" in dept.text
    listed = client.get("/open/list")
    assert "城市公交站点" in listed.text.split('data-testid="open-list"')[1]
    plan = client.get("/open/plan")
    assert plan.status_code == 200 and 'data-testid="open-plan"' in plan.text
    stats = client.get("/open/stats")
    assert "城市公交站点" in stats.text.split('data-testid="stats-datasets"')[1]
    english = client.get("/open/?lang=en")
    assert "Open data" in english.text and "datasets" in english.text


def test_interaction_routed_answered_and_moderated(client, opened, storage, people):
    login(client, "citizen")
    page = client.get(f"/open/datasets/{opened.name}")
    csrf = csrf_of(page.text)
    client.post(f"/open/datasets/{opened.name}/error-report",
                data={"csrf_token": csrf, "location": "S00003 name", "description": "站名写错了"})
    client.post(f"/open/datasets/{opened.name}/comments", data={"csrf_token": csrf, "rating": "4", "body": "很有用"})
    client.post("/open/requests", data={"csrf_token": csrf, "title": "公交实时到站数据", "description": "用于出行应用",
                                        "department_code": "GA"})
    client.post("/open/apps", data={"csrf_token": csrf, "name": "等车宝", "description": "公交到站提醒",
                                    "url": "https://example.cn/app", "datasets": [opened.name]})
    assert "很有用" not in client.get(f"/open/datasets/{opened.name}").text  # not before moderation
    client.cookies.clear()
    login(client, "rs_steward")  # another department sees nothing of GA's
    desk = client.get("/open/review")
    assert "站名写错了" not in desk.text and "公交实时到站数据" not in desk.text
    client.cookies.clear()
    login(client, "ga_steward")
    desk = client.get("/open/review")
    assert "站名写错了" in desk.text and "公交实时到站数据" in desk.text
    csrf = csrf_of(desk.text)
    report_id = desk.text.split('action="/open/error-reports/')[1].split("/")[0]
    request_id = desk.text.split('action="/open/requests/')[1].split("/")[0]
    client.post(f"/open/error-reports/{report_id}/reply", data={"csrf_token": csrf, "reply": "已更正"})
    client.post(f"/open/requests/{request_id}/reply", data={"csrf_token": csrf, "reply": "计划下季度开放"})
    assert "计划下季度开放" in client.get("/open/requests").text
    client.cookies.clear()
    login(client, "op")
    desk = client.get("/open/review")
    csrf = csrf_of(desk.text)
    comment_id = desk.text.split('action="/open/comments/')[1].split("/")[0]
    app_id = desk.text.split('action="/open/apps/')[1].split("/")[0]
    client.post(f"/open/comments/{comment_id}/moderation", data={"csrf_token": csrf, "approve": "1"})
    client.post(f"/open/apps/{app_id}/review", data={"csrf_token": csrf, "approve": "1"})
    client.cookies.clear()
    shown = client.get(f"/open/datasets/{opened.name}")
    assert "很有用" in shown.text and "★ 4.0 (1)" in shown.text and "等车宝" in shown.text
    assert "等车宝" in client.get("/open/apps").text
    with storage.uow() as uow:
        kinds = {e.event_type for e in uow.session.scalars(select(AuditEntry))}
        assert {"ErrorReported", "FeedbackAnswered", "CommentModerated", "AppReviewed", "DataRequested"} <= kinds


def test_api_calls_and_dumps_are_counted_by_dataset_and_department(client, app, opened, storage):
    from huiju.opendata.api import tally
    from huiju.opendata.portal import service

    for _ in range(2):
        r = client.get("/api/3/action/datastore_search", params={"resource_id": opened.resource_id, "limit": 1})
        assert r.json()["success"] is True
    assert client.get(f"/datastore/dump/{opened.resource_id}").status_code == 200
    assert client.get("/api/3/action/datastore_search", params={"resource_id": "nope"}).status_code == 404
    with storage.uow() as uow:
        assert service.usage_totals(uow).totals.get("api", 0) == 0  # counted in memory until the flush
    assert tally(app).flush(storage) == 3
    with storage.uow() as uow:
        totals = service.usage_totals(uow)
    assert totals.by_entry[opened.entry_id]["api"] == 2 and totals.totals["api"] == 2
    assert totals.by_entry[opened.entry_id]["download"] == 1
    assert sum(c["api"] for c in totals.by_department.values()) == 2
    assert tally(app).flush(storage) == 0  # nothing counted twice


def test_usage_counts_survive_a_failed_flush(app, opened, storage, monkeypatch):
    from huiju.opendata import tally as tally_module
    from huiju.opendata.api import tally
    from huiju.opendata.portal import service

    counts = tally(app)
    counts.add(opened.resource_id)

    def broken(uow, c):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tally_module.portal_service, "record_usage_counts", broken)
    assert counts.flush(storage) == 0
    monkeypatch.undo()
    assert counts.flush(storage) == 1
    with storage.uow() as uow:
        assert service.usage_totals(uow).totals["api"] == 1



def test_counts_still_in_memory_are_written_when_the_server_stops(app, opened, storage):
    from fastapi.testclient import TestClient

    from huiju.opendata.portal import service

    with TestClient(app) as c:
        assert c.get("/api/3/action/datastore_search", params={"resource_id": opened.resource_id}).status_code == 200
    with storage.uow() as uow:
        assert service.usage_totals(uow).totals["api"] == 1
