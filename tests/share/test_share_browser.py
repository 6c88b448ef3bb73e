"""Headless Chromium: a user applies for an entry, the provider approves in its inbox, the user reads the rows."""

from __future__ import annotations

import threading

import pytest
import uvicorn

from huiju.app import create_app
from tests.conftest import _free_port, wait_for
from tests.support import PASSWORD
from tests.web.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(settings, storage, shared):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, storage), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def login(page, url, username):  # noqa: F811
    page.context.clear_cookies()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_request_approve_read_revoke_in_the_browser(live_url, page, shared):  # noqa: F811
    login(page, live_url, "rs_user")
    page.goto(f"{live_url}/catalog/entries/{shared.conditional}")
    page.click("[data-testid=apply-to-use]")
    page.wait_for_url(f"**/share/apply/{shared.conditional}")
    assert "常住人口基本信息" in page.text_content("[data-testid=apply-title]")
    page.uncheck("input[name=fields][value=手机号]")
    page.uncheck("input[name=fields][value=备注]")
    page.fill("input[name=purpose]", "社保待遇资格核验")
    page.fill("input[name=scenario]", "养老金发放前核验参保人身份")
    page.select_option("select[name=filter_field]", "区划")
    page.fill("input[name=filter_value]", "990101")
    page.click("[data-testid=apply-form] button[type=submit]")
    page.wait_for_url("**/share/requests/*")
    assert "提供部门审核" in page.text_content("[data-testid=state]")
    request_url = page.url

    login(page, live_url, "ga_steward")
    page.goto(f"{live_url}/share/requests?box=inbox")
    assert page.text_content("[data-testid=sla]").strip() == "10"  # ten working days from today
    page.goto(request_url)
    page.click("[data-testid=step-approve]")
    page.wait_for_selector("[data-testid=grant-link]")
    assert "已批准" in page.text_content("[data-testid=state]")

    login(page, live_url, "rs_user")
    page.goto(request_url)
    page.click("[data-testid=grant-link]")
    assert "不得" in page.text_content("[data-testid=no-pass-on]")
    page.click("[data-testid=preview]")
    page.wait_for_selector("[data-testid=sample]")
    cells = page.locator("[data-testid=sample] tbody tr").count()
    assert cells == 20 and "990102" not in page.text_content("[data-testid=sample]")
    assert page.locator("[data-testid=usage-chart] rect").count() == 1
    grant_url = page.url.split("?")[0]

    # 疑义纠错: the user flags a value, GA's steward records the outcome from its home, the user sees it
    page.goto(grant_url)
    page.select_option("[data-testid=flag-form] select[name=field]", "年龄")
    page.fill("[data-testid=flag-form] input[name=record_key]", "7")
    page.fill("[data-testid=flag-form] input[name=reported_value]", "25")
    page.fill("[data-testid=flag-form] input[name=suggested_value]", "52")
    page.fill("[data-testid=flag-form] input[name=note]", "与社保登记不一致")
    page.click("[data-testid=flag-form] button[type=submit]")
    page.wait_for_selector("[data-testid=objections] >> text=与社保登记不一致")
    assert "待处理" in page.text_content("[data-testid=objections] [data-testid=objection-status]")
    login(page, live_url, "ga_steward")
    assert page.text_content("[data-testid=open-objections]").strip() == "1"
    page.select_option("[data-testid=objections] form select[name=outcome]", "corrected")
    page.fill("[data-testid=objections] form input[name=note]", "已更正，下一版本生效")
    page.click("[data-testid=objections] form button[type=submit]")
    page.wait_for_selector("[data-testid=open-objections] >> text=0")
    login(page, live_url, "rs_user")
    page.goto(grant_url)
    assert "已更正，下一版本生效" in page.text_content("[data-testid=objections]")

    login(page, live_url, "ga_steward")
    page.goto(grant_url)
    page.click("[data-testid=grant-revoke]")
    page.wait_for_url(grant_url)
    assert page.text_content("[data-testid=grant-status]").strip() == "revoked"
