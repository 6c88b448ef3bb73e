"""Headless Chromium (Debian's package, driven by Playwright) against a live uvicorn server."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import uvicorn

from huiju.app import create_app
from tests.conftest import _free_port, wait_for
from tests.support import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(settings, storage, people):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, storage), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: apt-get install chromium (the .ci/run script does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


def test_steward_logs_in_and_sees_the_department_home(live_url, page):
    page.goto(f"{live_url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", "ga_steward")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    title = page.text_content("[data-testid=home-title]")
    assert "示例市公安局" in title and "部门数据管理" in title
    assert "ga_user" in page.content()  # the department's members are listed
    page.click("text=English")
    assert "Department data management" in page.text_content("[data-testid=home-title]")
    page.click("text=Log out")
    page.wait_for_url(f"{live_url}/login")


def test_wrong_password_shows_a_chinese_error(live_url, page):
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "ga_steward")
    page.fill("input[name=password]", "nope-nope-nope")
    page.click("button[type=submit]")
    assert page.text_content("[role=alert]").strip() == "用户名或密码错误"
