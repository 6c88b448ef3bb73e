"""The label page in headless Chromium, and its HTTP permission edges."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from huiju.app import create_app
from huiju.catalog import service as catalog
from tests.support import PASSWORD, csrf_of, login
from tests.web.test_browser import live_url, page  # noqa: F401  (fixtures)


def _login(page, live_url, username):  # noqa: F811
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/")


@pytest.mark.browser
def test_an_operator_labels_a_column_and_records_an_exception(live_url, page, population, storage, people):  # noqa: F811
    _login(page, live_url, "op")
    page.goto(f"{live_url}/protection/datasets/population")
    assert "人口基础信息" in page.text_content("[data-testid=labels-title]")
    assert "一般数据" in page.text_content("[data-testid=dataset-level]")  # general_4 from the ID number
    row = page.locator("tr[data-column='性别']")
    row.locator("select[name=level]").select_option("important")
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_url}/protection/datasets/population")
    assert "重要数据" in page.text_content("[data-testid=dataset-level]")
    form = page.locator("[data-testid=exception-form]")
    form.locator("select[name=column]").select_option("性别")
    form.locator("select[name=level]").select_option("general_2")
    form.locator("input[name=reason]").fill("仅为性别代码，不足以识别个人")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_url}/protection/datasets/population")
    assert "仅为性别代码" in page.text_content("tr[data-column='性别']")
    assert "重要数据" not in page.text_content("[data-testid=dataset-level]")
    with storage.uow() as uow:
        ds = catalog.dataset_by_key(uow, people["op"], "population")
    assert ds.labels["性别"]["exception"]["by"] == "op" and ds.labels["性别"]["inherited_level"] == "important"
    page.goto(f"{live_url}/protection/levels")
    assert "population.身份证号" in page.text_content("section[data-level='general_4']")


def test_another_department_cannot_change_labels(settings, storage, population):
    with TestClient(create_app(settings, storage)) as client:
        login(client, "rs_steward")
        token = csrf_of(client.get("/tokens").text)
        response = client.post("/protection/datasets/population/columns/性别",
                               data={"level": "general_1", "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403
        assert client.get("/protection/levels").status_code == 403
