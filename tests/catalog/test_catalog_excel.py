"""The Excel template: export, fill in, import with a per-row error report; nothing valid is lost."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from huiju.catalog import service
from tests.catalog.support import BUS_LINES, LEGAL_ENTITIES, entry
from tests.support import login


def test_export_then_import_round_trips_and_reports_bad_rows(storage, people, backend):
    with storage.uow() as uow:
        service.register_entry(uow, people["ga_steward"], department_code="GA", fields=LEGAL_ENTITIES)
    with storage.uow() as uow:
        service.register_entry(uow, people["ga_steward"], department_code="GA", fields=BUS_LINES)
    with storage.uow() as uow:
        data = service.export_entries(uow, people["ga_steward"], department_code="GA")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["目录", "信息项", "可选值"]
    sheet = wb["目录"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["信息资源代码", "信息资源名称", "资源分类"]
    rows = {r[1]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["法人单位基本信息"]["共享类型"] == "有条件共享" and rows["法人单位基本信息"]["分类项"] == "法人单位"
    assert wb["信息项"].max_row == 1 + 4 + 2
    # the department edits the workbook: changes one row, adds a good one, a bad one, and an orphan item
    abstract_col = header.index("信息资源摘要") + 1
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == "城市公共交通线路信息":
            row[abstract_col - 1].value = "公交线路、站点、首末班时间（已核对）。"
    good = {**rows["城市公共交通线路信息"], "信息资源代码": None, "信息资源名称": "轨道交通站点信息"}
    bad = {**rows["法人单位基本信息"], "信息资源代码": None, "信息资源名称": "企业年报信息", "共享依据": None}
    sheet.append([good[h] for h in header])
    sheet.append([bad[h] for h in header])
    items = wb["信息项"]
    items.append(["企业年报信息", "年报年度", "N", 4, None, None, None, None])
    items.append(["不存在的目录", "某字段", "C", 10, None, None, None, None])
    items.append(["轨道交通站点信息", "站点名称", "C", 50, None, None, "是", None])
    out = io.BytesIO()
    wb.save(out)
    with storage.uow() as uow:
        report = service.import_entries(uow, people["ga_steward"], department_code="GA", source=out.getvalue())
    by_name = {r.name: r for r in report}
    assert by_name["城市公共交通线路信息"].action == "updated"
    assert by_name["法人单位基本信息"].action == "updated" and by_name["法人单位基本信息"].error is None
    assert by_name["轨道交通站点信息"].action == "created" and by_name["轨道交通站点信息"].code == "201001GA/0002"
    assert "依据" in by_name["企业年报信息"].error and by_name["企业年报信息"].row == 5
    orphan = [r for r in report if r.sheet == "items"]
    assert [(o.row, o.name) for o in orphan] == [(9, "不存在的目录")] and "不存在的目录" in orphan[0].error
    with storage.uow() as uow:
        names = {e.name: e for e in service.list_entries(uow, people["ga_steward"])}
        assert set(names) == {"法人单位基本信息", "城市公共交通线路信息", "轨道交通站点信息"}
        assert names["城市公共交通线路信息"].abstract == "公交线路、站点、首末班时间（已核对）。"
        assert [(i.name, i.is_key) for i in names["轨道交通站点信息"].items] == [("站点名称", True)]
        assert [i.name for i in names["法人单位基本信息"].items] == [i["name"] for i in LEGAL_ENTITIES["items"]]


def test_a_file_that_is_not_a_workbook_is_refused_in_chinese(app, people):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        login(client, "ga_steward")
        h = {"X-CSRF-Token": client.cookies["huiju_csrf"]}
        r = client.post("/api/v1/catalog/import", headers=h, data={"department_code": "GA"},
                        files={"file": ("x.xlsx", b"not a workbook", "application/octet-stream")})
        assert r.status_code == 422 and "Excel" in r.json()["error"]["message"]
        empty = client.get("/api/v1/catalog/export")
        assert empty.status_code == 200 and load_workbook(io.BytesIO(empty.content)).sheetnames[0] == "目录"


def test_entry_helper():
    assert entry(BUS_LINES, name="x")["name"] == "x" and BUS_LINES["name"] != "x"
