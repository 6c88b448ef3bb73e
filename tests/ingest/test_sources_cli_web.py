"""Sources and jobs from the command line (a real `huiju` process) and from the dataset and job pages."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from huiju.catalog import service as catalog
from huiju.ingest import service
from huiju.jobs import Worker
from tests.support import csrf_of, login, run_cli


def _dept_db(path: Path, rows: list[tuple[int, str, str]]) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS licences (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)")
        conn.executemany("INSERT INTO licences VALUES (?, ?, ?)", rows)
    return path


def test_sources_and_jobs_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    run_cli(home, "init")
    run_cli(home, "dept", "add", "GA", "示例市公安局", "--level", "city", "--region", "990100")
    run_cli(home, "dataset", "add", "licences", "许可信息", "--dept", "GA")
    db = _dept_db(tmp_path / "dept.sqlite", [(1, "甲", "2026-11-01"), (2, "乙", "2026-11-02")])
    added = run_cli(home, "source", "add", "公安库", "--dataset", "licences", "--kind", "sql",
                    "--url", f"sqlite:///{db}", "--table", "licences", "--mode", "merge", "--key", "id",
                    "--cursor", "updated_at", "--schedule", "0 2 * * *").stdout
    assert "数据源 公安库 已登记到 licences" in added
    run_cli(home, "source", "add", "接口", "--dataset", "licences", "--kind", "http",
            "--url", "http://127.0.0.1:9/api", "--header", "Authorization: Bearer tok-123",
            "--since-param", "since", "--cursor", "updated_at", "--mode", "append")
    shown = json.loads(run_cli(home, "source", "show", "接口").stdout)
    assert shown["options"]["headers"] == {"Authorization": "******"} and shown["secrets"] == ["header:Authorization"]
    assert "tok-123" not in json.dumps(shown)
    listing = run_cli(home, "source", "list").stdout
    assert "公安库" in listing and "0 2 * * *" in listing and "合并" in listing

    ran = run_cli(home, "source", "run", "公安库").stdout
    assert "2 rows read" in ran or "读取 2 行" in ran
    first = json.loads(run_cli(home, "job", "show", "1").stdout)
    assert first["status"] == "succeeded" and first["progress"]["rows_done"] == 2 and first["cursor_to"] == "2026-11-02"
    log = run_cli(home, "job", "log", "1").stdout
    assert "第 1 次尝试在" in log and "已发布第 1 版，共 2 行" in log

    _dept_db(db, [(3, "丙", "2026-11-03")])
    assert "任务 2 已排队" in run_cli(home, "source", "run", "公安库", "--queue").stdout
    assert "已运行任务：1 个" in run_cli(home, "worker", "--once").stdout
    second = json.loads(run_cli(home, "job", "show", "2").stdout)
    assert (second["status"], second["rows_read"], second["cursor_from"]) == ("succeeded", 1, "2026-11-02")
    jobs = run_cli(home, "job", "list", "--status", "succeeded").stdout
    assert "│ 2  │ 公安库 │ 成功 │ 1 / 1" in jobs and "│ 1  │ 公安库 │ 成功 │ 2 / 2" in jobs
    versions = [line for line in run_cli(home, "dataset", "versions", "licences").stdout.splitlines() if "当前" in line]
    assert versions[0].split("│")[1:3] == [" 2 ", " 3    "]  # version 2, three rows: 1 and 2 kept, 3 added
    bad = run_cli(home, "job", "rerun", "2", ok=False)
    assert bad.returncode == 1 and "只有已中断或失败的任务可以重新运行" in bad.stdout


@pytest.fixture
def client(settings, storage):
    from fastapi.testclient import TestClient

    from huiju.app import create_app

    with TestClient(create_app(settings, storage)) as c:
        yield c


def test_the_dataset_page_keeps_and_runs_sources_and_the_job_page_follows_them(client, storage, people, tmp_path):
    storage.settings.source_roots = str(tmp_path)
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="licences", name="许可信息", department_code="GA")
    db = _dept_db(tmp_path / "dept.sqlite", [(1, "甲", "2026-11-01")])
    assert login(client, "ga_steward").status_code == 303
    page = client.get("/datasets/licences").text
    assert "该数据集尚未登记数据源" in page
    r = client.post("/datasets/licences/sources", data={
        "csrf_token": csrf_of(page), "name": "公安库", "kind": "sql", "url": f"sqlite:///{db}", "table": "licences",
        "mode": "merge", "keys": "id", "cursor": "updated_at", "schedule": "30 1 * * *"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/datasets/licences").text
    assert "公安库" in page and "30 1 * * *" in page and "立即运行" in page
    r = client.post("/ingest/sources/公安库/run", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ingest/jobs/")
    job_page = client.get(r.headers["location"]).text
    assert "排队中" in job_page and 'http-equiv="refresh"' in job_page
    assert Worker(storage, name="page-worker").tick() is not None
    job_page = client.get(r.headers["location"]).text
    assert "已发布第 1 版，共 1 行" in job_page and 'http-equiv="refresh"' not in job_page

    # a source whose database is gone fails; its page offers 重新运行
    with storage.uow() as uow:
        storage.settings.job_retries = 0
        service.add_source(uow, people["op"], name="坏库", dataset_key="licences", kind="sql",
                           options={"url": f"sqlite:///{tmp_path / 'gone.sqlite'}", "table": "licences"},
                           write_mode="append")
    with storage.uow() as uow:
        failed_id = service.run_source(uow, people["op"], "坏库").id
    Worker(storage, name="page-worker").tick()
    job_page = client.get(f"/ingest/jobs/{failed_id}").text
    assert "重新运行" in job_page and "licences" in job_page
    r = client.post(f"/ingest/jobs/{failed_id}/rerun", data={"csrf_token": csrf_of(job_page)}, follow_redirects=False)
    assert r.status_code == 303
    assert "排队中" in client.get(f"/ingest/jobs/{failed_id}").text
    other = client.post("/ingest/sources/坏库/run", data={"csrf_token": csrf_of(job_page)})
    assert other.status_code == 409  # one queued or running job per source
