"""`huiju demo` at small scale: every demo account logs in and lands on its role's home page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from huiju.app import create_app
from huiju.config import Settings
from huiju.demo import city
from huiju.demo.loader import MARKER, load_demo, prepare_home
from huiju.errors import Invalid
from huiju.security.audit import verify_chain
from huiju.storage.migrate import upgrade
from huiju.storage.uow import Storage
from tests.support import login

TITLES = {"operator": "平台运营", "steward": "部门数据管理", "dept_user": "我的部门", "public": "开放数据"}


@pytest.fixture(scope="module")
def demo_storage(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("demo") / "home", secret_key="demo-test")
    prepare_home(settings)
    upgrade(settings.db_url)
    storage = Storage.open(settings)
    summary = load_demo(storage, scale="small", seed=2026)
    yield storage, summary
    storage.close()


def test_demo_loads_every_department_account_and_source(demo_storage):
    storage, summary = demo_storage
    assert summary.departments == len(city.DEPARTMENTS) >= 12
    assert len(summary.accounts) == 2 * len(city.DEPARTMENTS) + 2
    assert (summary.sources / "manifest.json").exists() and summary.files >= 12 and summary.defects > 0
    with storage.uow() as uow:
        report = verify_chain(uow.session)
    assert report.ok and report.checked >= summary.departments + 2 * len(summary.accounts)


def test_every_demo_account_sees_its_home_page(demo_storage):
    storage, _ = demo_storage
    app = create_app(storage.settings, storage)
    for account in city.DEMO_ACCOUNTS:
        with TestClient(app) as client:
            assert login(client, account.username, city.DEMO_PASSWORD).status_code == 303, account.username
            page = client.get("/").text
            assert TITLES[account.role] in page, account.username
            if account.department_code:
                assert city.DEPARTMENT_BY_CODE[account.department_code].name in page


def test_prepare_home_never_wipes_a_folder_it_did_not_create(tmp_path):
    home = tmp_path / "precious"
    home.mkdir()
    (home / "thesis.docx").write_text("years of work")
    with pytest.raises(Invalid):
        prepare_home(Settings(home=home))
    assert (home / "thesis.docx").exists()
    demo_home = tmp_path / "demo"
    prepare_home(Settings(home=demo_home))
    (demo_home / "old.txt").write_text("previous run")
    prepare_home(Settings(home=demo_home))
    assert (demo_home / MARKER).exists() and not (demo_home / "old.txt").exists()


def test_the_authority_steward_sees_correction_tasks_on_the_home_page(demo_storage):
    storage, _ = demo_storage
    app = create_app(storage.settings, storage)
    with TestClient(app) as client:
        login(client, "ga_steward", city.DEMO_PASSWORD)
        page = client.get("/").text
    assert "一数一源" in page and "social_insurance" in page
    with TestClient(app) as client:
        login(client, "rs_steward", city.DEMO_PASSWORD)
        assert "暂无纠错任务" in client.get("/").text  # RS is not the authority for anything


def test_the_demo_catalog_is_published_and_searchable(demo_storage):
    storage, summary = demo_storage
    assert summary.catalog_entries == summary.files
    app = create_app(storage.settings, storage)
    with TestClient(app) as client:
        login(client, "rs_user", city.DEMO_PASSWORD)
        found = client.get("/api/v1/catalog/entries", params={"q": "交通"}).json()
        assert {"公交刷卡记录", "出租车行程记录"} <= {e["name"] for e in found["entries"]}
        assert all(e["state"] == "published" for e in found["entries"])
        home = client.get("/catalog").text
        assert "基础信息资源" in home and "示例市公安局" in home
        population = next(e for e in client.get("/api/v1/catalog/entries", params={"q": "人口"}).json()["entries"]
                          if e["name"] == "人口基本信息")
        page = client.get(f"/catalog/entries/{population['id']}").text
        assert "按时更新" in page and "身份证号" in page


def test_the_demo_opens_its_openable_datasets_on_the_portal(demo_storage):
    from huiju.demo.catalog import ENTRIES

    storage, summary = demo_storage
    openable = {k for k, v in ENTRIES.items() if v[6] in ("unconditional", "conditional")}
    assert set(summary.opened) | set(summary.not_opened) == openable
    assert {"air_quality", "schools", "medical_institutions"} <= set(summary.opened)
    app = create_app(storage.settings, storage)
    with TestClient(app) as client:
        names = client.get("/api/3/action/package_list").json()["result"]
        assert set(summary.opened.values()) <= set(names)
        schools = client.get("/api/3/action/package_show", params={"id": summary.opened["schools"]}).json()
        resource_id = schools["result"]["resources"][0]["id"]
        rows = client.get("/api/3/action/datastore_search", params={"resource_id": resource_id, "limit": 5}).json()
        assert rows["success"] is True and len(rows["result"]["records"]) == 5
        assert "学校" in client.get("/open/datasets", params={"q": "学校"}).text
