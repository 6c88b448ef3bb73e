"""Headless Chromium (Debian's package, driven by Playwright) through the portal's main flows."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import uvicorn

from huiju.app import create_app
from huiju.opendata import service as open_service
from tests.conftest import _free_port, wait_for
from tests.opendata.support import BUS_STOPS_ENTRY, load_bus_stops
from tests.support import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(settings, storage, people, opened, realname):
    app = create_app(settings, storage)
    app.state.realname_provider = realname
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: apt-get install chromium (the .ci/run script does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    yield context.new_page()
    context.close()


def test_visitor_finds_previews_charts_and_downloads(live_url, page, opened, tmp_path):
    page.goto(f"{live_url}/open/")
    page.fill("input[name=q]", "公交")
    page.click("form.search button")
    page.wait_for_url("**/open/datasets?q=*")
    assert "1 个数据集" in page.text_content("[data-testid=result-count]")
    page.click("text=城市公交站点")
    assert page.text_content("[data-testid=dataset-title]").strip() == "城市公交站点"
    assert page.locator("[data-testid=preview-table] tbody tr").count() == 50
    # filter and sort through htmx: the table is swapped in place
    page.fill("[data-testid=preview] input[name='f.line']", "K3")
    page.select_option("[data-testid=sort]", "stop_id")
    page.click("[data-testid=preview] button[type=submit]")
    page.wait_for_function("document.querySelectorAll('[data-testid=preview-table] tbody tr').length === 48")
    first = page.locator("[data-testid=preview-table] tbody tr").first.text_content()
    assert "S00002" in first and "K3" in first and "/open/datasets/" in page.url  # no full page load
    # clicking the sorted column's header reverses the order (same query path), keeping the filter
    page.click("[data-testid=sort-stop_id]")
    page.wait_for_function("document.querySelector('[data-testid=preview-table] tbody tr td').textContent === 'S00237'")
    assert page.get_attribute("[data-testid=preview-table] th[aria-sort]", "aria-sort") == "descending"
    assert page.locator("[data-testid=preview-table] tbody tr").count() == 48
    page.click("[data-testid=sort-stop_id]")
    page.wait_for_function("document.querySelector('[data-testid=preview-table] tbody tr td').textContent === 'S00002'")
    page.select_option("[data-testid=sort-dir]", "desc")  # or the direction control of the form
    page.click("[data-testid=preview] button[type=submit]")
    page.wait_for_function("document.querySelector('[data-testid=preview-table] tbody tr td').textContent === 'S00237'")
    # the chart and the map are drawn by ECharts from the rows shown
    page.wait_for_selector("#chart[data-ready]")
    assert int(page.get_attribute("#chart", "data-ready")) > 0 and page.locator("#chart canvas").count() == 1
    page.wait_for_selector("#map[data-ready]")
    assert int(page.get_attribute("#map", "data-ready")) == 50
    with page.expect_download() as info:
        page.click("[data-testid=download-csv]")
    saved = tmp_path / "stops.csv"
    info.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "第0站".encode() in data and b"keeper_mobile" not in data
    assert "datastore_search" in page.text_content("[data-testid=api-example]")


def test_region_codes_are_drawn_by_region(live_url, page, storage, clinics, settings):
    """Bars per region code without a region dataset; a choropleth of the districts once one is open."""
    page.goto(f"{live_url}/open/datasets/{clinics.name}")
    page.wait_for_selector("#region-map[data-ready]")
    assert page.get_attribute("#region-map", "data-kind") == "bar"
    assert int(page.get_attribute("#region-map", "data-ready")) == 13
    assert page.locator("#region-map canvas").count() == 1


def test_region_map_outlines_the_districts(live_url, page, clinics, region_dataset):
    page.goto(f"{live_url}/open/datasets/{clinics.name}")
    page.wait_for_selector("#region-map[data-ready]")
    assert page.get_attribute("#region-map", "data-kind") == "map"
    option = page.evaluate("""() => {
        const o = echarts.getInstanceByDom(document.getElementById('region-map')).getOption();
        return {type: o.series[0].type, names: o.series[0].data.map(d => d.name), rows: o.series[0].data[0].value};
    }""")
    assert option["type"] == "map" and "城关区" in option["names"] and len(option["names"]) == 13
    page.select_option("[data-testid=region-measure]", "1")  # the total of 床位数 instead of the number of rows
    beds = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('region-map')).getOption()"
                         ".series[0].data[0].value")
    assert beds > option["rows"]
    assert page.locator("#region-map canvas").count() == 1


def test_usable_on_a_phone(browser, live_url, opened):
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    for path in ("/open/", "/open/datasets", f"/open/datasets/{opened.name}"):
        page.goto(f"{live_url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    context.close()


def test_register_apply_for_conditional_data_and_get_a_key(live_url, page, browser, storage, people, tmp_path):
    conditional = {**BUS_STOPS_ENTRY, "name": "公交刷卡站点客流", "open_class": "conditional",
                   "open_condition": "实名认证并签署数据利用协议"}
    entry_id = load_bus_stops(storage, people, tmp_path, entry=conditional, key="bus_flows")
    with storage.uow() as uow:
        od = open_service.propose_open(uow, people["ga_steward"], entry_id=entry_id, primary_key="stop_id")
    with storage.uow() as uow:
        open_service.approve_open(uow, people["op"], od.id)
        name = od.name
    # a visitor sees the conditional dataset but not its rows
    page.goto(f"{live_url}/open/datasets/{name}")
    assert page.locator("[data-testid=preview-table]").count() == 0
    page.click("[data-testid=apply-link]")
    page.wait_for_url(lambda url: "/login?next=" in url)
    page.goto(f"{live_url}/open/register?next=/open/account")
    page.fill("input[name=username]", "wangwu")
    page.fill("input[name=display_name]", "王五")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/open/register'] button[type=submit]")
    page.wait_for_url(f"{live_url}/open/account")
    assert page.text_content("[data-testid=realname-level]").strip().startswith("未认证")
    page.fill("input[name=name]", "张三")
    page.fill("input[name=id_number]", "11010519491231002X")
    page.click("form[action='/open/account/identity'] button")
    page.wait_for_selector("text=已实名认证")
    page.goto(f"{live_url}/open/datasets/{name}/apply")
    page.fill("textarea[name=purpose]", "研究早晚高峰客流分布")
    page.fill("textarea[name=scenario]", "高校交通规划课题")
    for box in page.locator("input[name=commitments]").all():
        box.check()
    page.click("form[action$='/apply'] button[type=submit]")
    page.wait_for_url("**/open/applications/*")
    assert page.text_content("[data-testid=application-status]").strip() == "待审核"
    app_url = page.url
    # the providing department's steward approves it on the open-data desk
    steward = browser.new_context(locale="zh-CN").new_page()
    steward.goto(f"{live_url}/login?next=/open/review")
    steward.fill("input[name=username]", "ga_steward")
    steward.fill("input[name=password]", PASSWORD)
    steward.click("button[type=submit]")
    steward.wait_for_url(f"{live_url}/open/review")
    steward.click("[data-testid^=approve-]")
    steward.wait_for_url(f"{live_url}/open/review")
    steward.context.close()
    page.goto(app_url)
    assert "数据利用协议" in page.text_content("[data-testid=agreement]")
    page.check("[data-testid=agree]")
    page.click("form[action$='/accept'] button[type=submit]")
    key = page.text_content("[data-testid=conditional-key]").strip()
    assert key.startswith("hj_") and page.text_content("[data-testid=application-status]").strip() == "生效中"
    page.goto(f"{live_url}/open/datasets/{name}")
    assert page.locator("[data-testid=preview-table] tbody tr").count() == 50
