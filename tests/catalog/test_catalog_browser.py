"""Headless Chromium: a steward registers and submits an entry, the operator publishes it, and a user of
another department finds it by a Chinese word."""

from __future__ import annotations

import pytest

from tests.support import PASSWORD
from tests.web.test_browser import live_url, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def log_in(page, url, username):  # noqa: F811
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def log_out(page):  # noqa: F811
    page.click("text=退出登录")


def test_register_submit_publish_and_find(live_url, page):  # noqa: F811
    log_in(page, live_url, "ga_steward")
    page.click("[data-testid=nav-catalog]")
    page.click("text=登记目录")
    page.fill("input[name=name]", "医保定点药店名录")
    page.select_option("select[name=classification]", "theme")
    page.select_option("select[name=item]", "health")
    page.fill("textarea[name=abstract]", "全市医保定点零售药店的名称、地址和联系电话。")
    page.select_option("select[name=format_kind]", "spreadsheet")
    page.fill("input[name=format_type]", "xlsx")
    page.select_option("select[name=share_type]", "conditional")
    page.select_option("select[name=share_mode_type]", "file")
    page.fill("input[name=share_condition]", "限医保经办使用")
    page.click("[data-testid=save-entry]")
    assert "依据" in page.text_content("[data-testid=form-error]")  # the basis is missing
    assert page.input_value("input[name=name]") == "医保定点药店名录"  # nothing typed is lost
    page.fill("input[name=share_basis]", "《医疗保障基金使用监督管理条例》")
    page.fill("textarea[name=items_text]", "*药店编码|C|20\n药店名称|C|100\n联系电话|C|20|general_3")
    page.click("[data-testid=save-entry]")
    assert page.text_content("[data-testid=entry-code]") == "202001GA/0001"
    assert page.text_content("[data-testid=entry-state]") == "草稿"
    page.click("[data-testid=submit-entry]")
    assert page.text_content("[data-testid=entry-state]") == "审核中"
    log_out(page)

    log_in(page, live_url, "op")
    page.click("[data-testid=review-link]")
    page.click("text=医保定点药店名录")
    page.click("[data-testid=approve-entry]")
    assert page.text_content("[data-testid=entry-state]") == "已发布"
    log_out(page)

    log_in(page, live_url, "rs_user")
    page.click("[data-testid=nav-catalog]")
    page.fill("[data-testid=catalog-q]", "医保")
    page.press("[data-testid=catalog-q]", "Enter")
    assert page.text_content("[data-testid=result-count]").strip() == "找到 1 条目录"
    assert "有条件共享" in page.text_content("[data-testid=facets]")
    page.click("text=医保定点药店名录")
    assert "药店编码" in page.text_content("[data-testid=items]")
    assert page.text_content("[data-testid=share-type]") == "有条件共享"
