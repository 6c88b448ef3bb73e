"""Sources kept on the platform, run by the job runner: a real SQLite "department database", a real HTTP API
served by a small ASGI app, merge on key columns with an incremental cursor, sealed secrets."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, text

from huiju.catalog import service as catalog
from huiju.errors import Conflict, Forbidden, Invalid
from huiju.ingest import service
from huiju.ingest.models import JobLogLine, Source
from huiju.jobs import Worker
from huiju.security.audit import verify_chain
from tests.conftest import wait_for
from tests.support import login

SCHEMA = {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string",
                                                         "constraints": {"required": True}},
                     {"name": "updated_at", "type": "string"}], "primaryKey": ["id"]}
TOKEN = "Bearer dept-token-7f3a"


def rows_of(storage, actor, key: str) -> list[dict[str, Any]]:
    """The dataset's current version as rows, sorted by id (read from its Parquet files)."""
    with storage.uow() as uow:
        version = catalog.current_version(uow, actor, key)
        files = [uow.lake.abspath(version.path) / f for f in version.files]
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: r["id"])


@pytest.fixture(autouse=True)
def readable_tmp(settings, tmp_path):
    """Sources in these tests read the department's files from the test's folder."""
    settings.source_roots = str(tmp_path)


@pytest.fixture
def licences(storage, people) -> str:
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="licences", name="许可信息", department_code="GA")
    with storage.uow() as uow:
        catalog.save_schema(uow, people["op"], "licences", table_schema=SCHEMA, rules=[], confirmed=True)
    return "licences"


@pytest.fixture
def dept_db(tmp_path) -> Path:
    """The department's own system: a SQLite file with a table that changes between runs."""
    path = tmp_path / "公安业务库.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE licences (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)")
        conn.executemany("INSERT INTO licences VALUES (?, ?, ?)", [
            (1, "甲许可", "2026-11-01 08:00:00"), (2, "乙许可", "2026-11-02 08:00:00"),
            (3, "丙许可", "2026-11-03 08:00:00")])
    return path


def dept_change(path: Path, sql: str, *params: Any) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


def _worker_run(storage) -> int | None:
    return Worker(storage, name="test-worker").tick()


def test_a_database_source_merges_on_its_key_from_its_cursor(storage, people, licences, dept_db, backend):
    steward = people["ga_steward"]
    with storage.uow() as uow:
        source = service.add_source(uow, steward, name="公安许可库", dataset_key=licences, kind="sql",
                                    options={"url": f"sqlite:///{dept_db}", "table": "licences"},
                                    write_mode="merge", key_columns=["id"], cursor_column="updated_at",
                                    schedule="0 2 * * *")
    assert source.next_run_at is not None and source.cursor_value is None
    with storage.uow() as uow:
        first = service.run_source(uow, steward, "公安许可库")
    assert first.status == "queued"
    assert _worker_run(storage) == first.id
    with storage.uow() as uow:
        job = service.get_job(uow, steward, first.id)
        assert (job.status, job.rows_read, job.rows_accepted, job.attempts) == ("succeeded", 3, 3, 1)
        assert job.progress == {"rows_done": 3, "rows_total": 3, "percent": 100.0}
        assert uow.session.get(Source, source.id).cursor_value == "2026-11-03 08:00:00"
    assert [r["name"] for r in rows_of(storage, steward, licences)] == ["甲许可", "乙许可", "丙许可"]

    # the department changes row 2 and adds row 4: the next run reads only those, and merges them
    dept_change(dept_db, "UPDATE licences SET name = ?, updated_at = ? WHERE id = 2", "乙许可（变更）",
                "2026-11-05 09:00:00")
    dept_change(dept_db, "INSERT INTO licences VALUES (4, '丁许可', '2026-11-06 10:00:00')")
    with storage.uow() as uow:
        second = service.run_source(uow, steward, "公安许可库")
    assert _worker_run(storage) == second.id
    with storage.uow() as uow:
        job = service.get_job(uow, steward, second.id)
        assert (job.status, job.rows_read, job.rows_accepted) == ("succeeded", 2, 2)
        assert (job.cursor_from, job.cursor_to) == ("2026-11-03 08:00:00", "2026-11-06 10:00:00")
        assert any("2 行" in n or "replaced" in n for n in job.notices)
        lineage = catalog.lineage_of(uow, steward, licences)[-1]
        [given] = lineage.inputs
        assert given["source_id"] == source.id and given["cursor_from"] == "2026-11-03 08:00:00"
        assert given["rows"] == 2 and len(given["sm3"]) == 64
        log = [line.message for line in service.job_log(uow, steward, second.id)]
        assert service.L_MERGED in log and service.L_CURSOR in log and service.L_PUBLISHED in log
        assert verify_chain(uow.session).ok
    rows = rows_of(storage, steward, licences)
    assert [(r["id"], r["name"]) for r in rows] == [(1, "甲许可"), (2, "乙许可（变更）"), (3, "丙许可"), (4, "丁许可")]

    # nothing new: the run reads no row and the version keeps the same four rows, once each
    with storage.uow() as uow:
        third = service.run_source(uow, steward, "公安许可库")
    _worker_run(storage)
    with storage.uow() as uow:
        assert service.get_job(uow, steward, third.id).rows_read == 0
    assert [r["id"] for r in rows_of(storage, steward, licences)] == [1, 2, 3, 4]


def test_merge_replaces_existing_keys_appends_new_ones_and_duplicates_nothing(storage, people, licences, tmp_path):
    """Merge from uploaded files: a key delivered twice in one file is quarantined, not doubled."""
    op = people["op"]

    def load(lines: list[str], mode: str):
        path = tmp_path / f"{mode}-{len(lines)}.csv"
        path.write_text("id,name,updated_at\n" + "\n".join(lines) + "\n", encoding="utf-8")
        with storage.uow() as uow:
            return service.ingest_file(uow, op, dataset_key=licences, path=path, write_mode=mode,
                                       today=date(2026, 11, 1))

    load(["1,甲,2026-01-01", "2,乙,2026-01-01", "3,丙,2026-01-01"], "replace")
    job = load(["2,乙二,2026-02-01", "5,戊,2026-02-01", "5,戊重复,2026-02-01", "3,丙三,2026-02-01"], "merge")
    assert (job.rows_read, job.rows_accepted, job.rows_rejected) == (4, 3, 1)
    rows = rows_of(storage, op, licences)
    assert [(r["id"], r["name"]) for r in rows] == [(1, "甲"), (2, "乙二"), (3, "丙三"), (5, "戊")]
    with storage.uow() as uow:
        versions = catalog.list_versions(uow, op, licences)
        assert [v.row_count for v in versions] == [3, 4]  # a new immutable version; the first is unchanged
        assert pq.read_table(uow.lake.abspath(versions[0].path) / versions[0].files[0]).num_rows == 3
    path = tmp_path / "more.csv"
    path.write_text("id,name,updated_at\n9,壬,2026-03-01\n", encoding="utf-8")
    with storage.uow() as uow:  # a merge key the schema does not have fails the job; nothing changes
        failed = service.ingest_file(uow, op, dataset_key=licences, path=path, write_mode="merge",
                                     key_columns=["编号"])
    assert failed.status == "failed" and "编号" in failed.error
    assert len(rows_of(storage, op, licences)) == 4


def test_sources_are_checked_and_kept_per_department(storage, people, licences, dept_db):
    steward, other = people["ga_steward"], people["rs_steward"]
    bad = [({"kind": "sql", "options": {"url": "sqlite:///x.db"}}, "table"),
           ({"kind": "sql", "options": {"url": "sqlite:///x.db", "table": "t"}, "cursor_column": "u"}, "append"),
           ({"kind": "http", "options": {"url": "https://a.example/x"}, "cursor_column": "u",
             "write_mode": "append"}, "since_param"),
           ({"kind": "file", "options": {"path": "relative.csv"}}, "absolute"),
           ({"kind": "ftp", "options": {}}, "kind"),
           ({"kind": "sql", "options": {"url": "sqlite:///x.db", "table": "t"}, "schedule": "61 * * * *"}, "cron")]
    for spec, word in bad:
        with storage.uow() as uow, pytest.raises(Invalid) as info:
            service.add_source(uow, steward, name="坏", dataset_key=licences, **spec)
        assert word in str(info.value)
    home = storage.settings.home
    for kind, options, who in [("file", {"path": "/etc/passwd"}, steward),
                               ("sql", {"url": f"sqlite:///{home / 'huiju.db'}", "table": "users"}, people["op"]),
                               ("file", {"path": str(home / "master.key")}, people["op"])]:
        with storage.uow() as uow, pytest.raises(Invalid) as info:  # never the platform's files, nothing outside
            service.add_source(uow, who, name="窥探", dataset_key=licences, kind=kind, options=options)
        assert "HUIJU_SOURCE_ROOTS" in str(info.value) or "platform's own" in str(info.value)
    from huiju.auth.roles import Actor

    with storage.uow() as uow, pytest.raises(Invalid):  # not even from the command line
        service.add_source(uow, Actor.system("cli"), name="窥探", dataset_key=licences, kind="sql",
                           options={"url": storage.settings.db_url, "table": "users"})
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.add_source(uow, other, name="越权", dataset_key=licences, kind="sql",
                           options={"url": f"sqlite:///{dept_db}", "table": "licences"})
    with storage.uow() as uow:
        service.add_source(uow, steward, name="许可", dataset_key=licences, kind="sql",
                           options={"url": f"sqlite:///{dept_db}", "table": "licences"})
    with storage.uow() as uow:
        assert [s.name for s in service.list_sources(uow, steward)] == ["许可"]
        assert service.list_sources(uow, other) == []
        service.run_source(uow, steward, "许可")
    with storage.uow() as uow, pytest.raises(Conflict):  # one queued or running job per source
        service.run_source(uow, steward, "许可")


def test_a_failing_source_is_retried_with_backoff_until_it_succeeds(storage, settings, people, licences, tmp_path):
    from huiju.storage.db import utcnow

    settings.job_backoff_seconds, settings.job_retries = 30, 3
    db = tmp_path / "later.sqlite"
    sqlite3.connect(db).close()  # the department's table does not exist yet
    with storage.uow() as uow:
        service.add_source(uow, people["op"], name="迟到库", dataset_key=licences, kind="sql",
                           options={"url": f"sqlite:///{db}", "table": "licences"})
    with storage.uow() as uow:
        job_id = service.run_source(uow, people["op"], "迟到库").id
    worker = Worker(storage, name="w1")
    waits = []
    for attempt in (1, 2):
        before = utcnow()
        with storage.uow() as uow:
            run_after = service.get_job(uow, people["op"], job_id).run_after
        assert worker.tick(now=run_after) == job_id
        after = utcnow()
        with storage.uow() as uow:
            job = service.get_job(uow, people["op"], job_id)
        assert (job.status, job.attempts) == ("queued", attempt) and "licences" in job.error
        waits.append(30 * 2 ** (attempt - 1))
        assert before.timestamp() + waits[-1] <= job.run_after.timestamp() <= after.timestamp() + waits[-1]
        assert worker.tick(now=before) is None  # not due yet: nobody takes it
    assert waits == [30, 60]
    dept_change(db, "CREATE TABLE licences (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)")
    dept_change(db, "INSERT INTO licences VALUES (1, '甲', '2026-11-01')")
    assert worker.tick(now=job.run_after) == job_id
    with storage.uow() as uow:
        job = service.get_job(uow, people["op"], job_id)
        assert (job.status, job.attempts, job.rows_accepted, job.error) == ("succeeded", 3, 1, None)
        levels = [(line.level, line.message) for line in service.job_log(uow, people["op"], job_id)]
    assert levels.count(("error", service.L_FAILED)) == 2 and levels.count(("warning", service.L_RETRY)) == 2


def test_a_job_that_keeps_failing_fails_after_its_retries(storage, settings, people, licences, tmp_path):
    settings.job_backoff_seconds, settings.job_retries = 0, 1
    with storage.uow() as uow:
        service.add_source(uow, people["op"], name="坏库", dataset_key=licences, kind="sql",
                           options={"url": f"sqlite:///{tmp_path / 'none.sqlite'}", "table": "licences"})
    with storage.uow() as uow:
        job_id = service.run_source(uow, people["op"], "坏库").id
    assert Worker(storage, name="w").drain() == [job_id, job_id]
    with storage.uow() as uow:
        job = service.get_job(uow, people["op"], job_id)
        assert (job.status, job.attempts) == ("failed", 2)
        assert service.job_log(uow, people["op"], job_id)[-1].message == service.L_GAVE_UP


def test_two_workers_never_claim_the_same_job(storage, settings, people, licences, dept_db, backend):
    from huiju.storage.uow import Storage

    ids = []
    for n in range(8):
        with storage.uow() as uow:
            service.add_source(uow, people["op"], name=f"源{n}", dataset_key=licences, kind="sql",
                               options={"url": f"sqlite:///{dept_db}", "table": "licences"})
        with storage.uow() as uow:
            ids.append(service.run_source(uow, people["op"], f"源{n}").id)
    claims: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claim_all(name: str) -> None:
        own = Storage.open(settings)
        try:
            start.wait()
            while True:
                with own.uow() as uow:
                    job = service.claim_job(uow, people["op"], name)
                if job is None:
                    return
                claims[name].append(job.id)
        finally:
            own.close()

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claims["a"]) & set(claims["b"])
    assert sorted(claims["a"] + claims["b"]) == ids
    with storage.uow() as uow:
        jobs = {j.id: j for j in service.list_jobs(uow, people["op"])}
    assert all(jobs[i].status == "running" and jobs[i].attempts == 1 for i in ids)
    assert {i: jobs[i].claimed_by for i in ids} == {i: n for n, got in claims.items() for i in got}
    with storage.uow() as uow:  # a claimed job cannot be claimed again
        assert service.claim_job(uow, people["op"], "c", job_id=ids[0]) is None


def test_a_killed_worker_leaves_an_interrupted_job_whose_rerun_appends_each_row_once(
        storage, settings, people, licences, dept_db, backend):
    import os
    import subprocess
    import sys
    import textwrap
    from datetime import timedelta

    from huiju.storage.db import utcnow

    op = people["op"]
    with storage.uow() as uow:
        service.add_source(uow, op, name="增量库", dataset_key=licences, kind="sql",
                           options={"url": f"sqlite:///{dept_db}", "table": "licences"},
                           write_mode="append", cursor_column="updated_at")
    with storage.uow() as uow:
        service.run_source(uow, op, "增量库")
    _worker_run(storage)
    for n in (4, 5):
        dept_change(dept_db, "INSERT INTO licences VALUES (?, ?, ?)", n, f"新许可{n}", f"2026-11-1{n} 08:00:00")
    with storage.uow() as uow:
        job_id = service.run_source(uow, op, "增量库").id
    script = textwrap.dedent(f"""
        import os
        from huiju.config import Settings
        from huiju.ingest import pipeline
        from huiju.jobs import Worker
        from huiju.storage.uow import Storage
        real = pipeline.split_batch
        def split_then_die(*a, **k):
            real(*a, **k)
            os._exit(9)
        pipeline.split_batch = split_then_die
        st = Storage.open(Settings(home={str(settings.home)!r}, database_url={settings.db_url!r},
                                   job_heartbeat_seconds=0.05))
        Worker(st, name="doomed").tick()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 9, proc.stderr
    with storage.uow() as uow:
        job = service.get_job(uow, op, job_id)
        assert (job.status, job.claimed_by) == ("running", "doomed")
        assert uow.session.scalar(select(Source.cursor_value)) == "2026-11-03 08:00:00"
    with storage.uow() as uow:  # not yet stale: the sweep leaves it alone
        assert service.mark_interrupted_jobs(uow, op) == []
    with storage.uow() as uow:
        later = utcnow() + timedelta(seconds=settings.job_stale_seconds + 1)
        assert [j.id for j in service.mark_interrupted_jobs(uow, op, now=later)] == [job_id]
    with storage.uow() as uow:
        assert service.get_job(uow, op, job_id).status == "interrupted"
        assert len(catalog.list_versions(uow, op, licences)) == 1
        service.rerun_job(uow, op, job_id)
    assert _worker_run(storage) == job_id
    with storage.uow() as uow:
        job = service.get_job(uow, op, job_id)
        assert (job.status, job.rows_read, job.trigger) == ("succeeded", 2, "rerun")
        messages = [line.message for line in service.job_log(uow, op, job_id)]
        assert service.L_INTERRUPTED in messages and service.L_RERUN in messages
        assert uow.session.scalar(select(Source.cursor_value)) == "2026-11-15 08:00:00"
    assert [r["id"] for r in rows_of(storage, op, licences)] == [1, 2, 3, 4, 5]


def test_a_database_password_is_sealed_and_used(storage, people, licences, pg_cluster):
    from sqlalchemy import create_engine

    admin = create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS dept_sealed"))
        conn.execute(text("CREATE DATABASE dept_sealed"))
    admin.dispose()
    dept = create_engine(pg_cluster.url("dept_sealed"))
    with dept.begin() as conn:
        conn.execute(text("CREATE TABLE licences (id integer primary key, name text, updated_at timestamp)"))
        conn.execute(text("INSERT INTO licences VALUES (1, '甲', '2026-11-01 08:00'), (2, '乙', '2026-11-02 09:30')"))
    dept.dispose()
    url = pg_cluster.url("dept_sealed").replace("postgres@", "postgres:S3cret-pw@")
    with storage.uow() as uow:
        service.add_source(uow, people["ga_steward"], name="公安库", dataset_key=licences, kind="sql",
                           options={"url": url, "table": "licences"}, write_mode="merge",
                           cursor_column="updated_at")
    with storage.uow() as uow:
        stored = uow.session.execute(text("SELECT options, sealed FROM ingest_sources")).one()
        assert "S3cret-pw" not in str(stored.options) and b"S3cret-pw" not in bytes(stored.sealed)
        shown = service.shown_source(uow, people["ga_steward"], "公安库")
        assert "S3cret-pw" not in str(shown) and "postgres:***@" in shown["options"]["url"]
        assert shown["secrets"] == ["password"]
        service.run_source(uow, people["ga_steward"], "公安库")
    _worker_run(storage)
    with storage.uow() as uow:
        [job] = service.list_jobs(uow, people["ga_steward"])
        assert job.status == "succeeded" and job.cursor_to == "2026-11-02 09:30:00"
        assert "S3cret-pw" not in str(catalog.lineage_of(uow, people["op"], licences)[-1].inputs)


# ---- an HTTP API source, served by a small ASGI app the test runs -------------------------------

class DeptApi:
    """A department's paginated JSON API that wants a token, and can hold a page back until told to go on."""

    def __init__(self, n: int = 30) -> None:
        self.records = [{"id": i, "name": f"企业{i}", "updated_at": f"2026-11-{i:02d} 08:00:00"} for i in range(1, n + 1)]
        self.hold_page: int | None = None
        self.go_on = threading.Event()
        self.seen_auth: list[str | None] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        import json
        from urllib.parse import parse_qs

        from starlette.concurrency import run_in_threadpool

        if scope["type"] != "http":
            return
        params = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        auth = dict(scope["headers"]).get(b"authorization", b"").decode() or None
        self.seen_auth.append(auth)
        page, size = int(params.get("page", 1)), int(params.get("pageSize", 10))
        if page == self.hold_page:
            await run_in_threadpool(self.go_on.wait, 30)
        if auth != TOKEN:
            status, body = 401, {"code": 401, "msg": "未授权"}
        else:
            rows = [r for r in self.records if r["updated_at"] > params.get("updatedSince", "")]
            status, body = 200, {"code": 0, "data": {"records": rows[(page - 1) * size:page * size],
                                                     "total": len(rows)}}
        payload = json.dumps(body, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8")]})
        await send({"type": "http.response.body", "body": payload})


def serve_asgi(app: Any) -> Iterator[int]:
    """Run an ASGI app with uvicorn on a free local port for the length of a test."""
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def dept_api() -> Iterator[tuple[DeptApi, str]]:
    api = DeptApi()
    for port in serve_asgi(api):
        yield api, f"http://127.0.0.1:{port}/api/licences"
        api.go_on.set()


def test_an_http_source_shows_its_progress_while_it_runs(storage, settings, people, licences, dept_api):
    from fastapi.testclient import TestClient

    from huiju.app import create_app
    from huiju.auth import service as auth

    api, url = dept_api
    settings.job_heartbeat_seconds = 0.05
    steward = people["ga_steward"]
    with storage.uow() as uow:
        issued = auth.create_token(uow, steward, name="etl", scopes=["*"])
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    api.hold_page = 3
    with TestClient(create_app(settings, storage)) as client:
        r = client.post("/api/v1/ingest/sources", headers=headers, json={
            "name": "企业接口", "dataset": licences, "kind": "http", "write_mode": "merge",
            "cursor_column": "updated_at",
            "options": {"url": url, "records_path": "data.records", "page_size": 10,
                        "since_param": "updatedSince", "headers": {"Authorization": TOKEN}}})
        assert r.status_code == 201, r.text
        assert r.json()["options"]["headers"] == {"Authorization": "******"}
        assert TOKEN not in r.text
        job = client.post("/api/v1/ingest/sources/企业接口/run", headers=headers).json()
        assert job["status"] == "queued" and job["progress"]["rows_done"] == 0
        # while the job runs, read as a logged-in steward: a session only reads, where a token's last use is
        # written, and on SQLite a read-then-write request can lose to the job's heartbeat commits
        assert login(client, "ga_steward").status_code == 303
        runner = threading.Thread(target=Worker(storage, name="http-worker").tick)
        runner.start()

        def progress() -> dict[str, Any]:
            return client.get(f"/api/v1/ingest/jobs/{job['id']}").json()["progress"]

        try:  # two pages read, the third held back by the API: the job says 20 of 30
            wait_for(lambda: progress()["rows_done"] == 20)
            seen = client.get(f"/api/v1/ingest/jobs/{job['id']}").json()
            assert seen["status"] == "running" and seen["progress"] == {"rows_done": 20, "rows_total": 30,
                                                                        "percent": 66.7}
            page = client.get(f"/ingest/jobs/{job['id']}").text
            assert "20 / 30" in page and 'http-equiv="refresh"' in page  # the job page follows it too
        finally:
            api.go_on.set()
            runner.join()
        done = client.get(f"/api/v1/ingest/jobs/{job['id']}", headers=headers).json()
        assert done["status"] == "succeeded" and done["progress"]["rows_done"] == 30
        assert done["cursor_to"] == "2026-11-30 08:00:00"
        log = client.get(f"/api/v1/ingest/jobs/{job['id']}/log", headers=headers).json()
        assert log[0]["message"].startswith("已排队") or "Queued" in log[0]["message"]
    assert set(api.seen_auth) == {TOKEN}
    assert [r["id"] for r in rows_of(storage, steward, licences)] == list(range(1, 31))
    with storage.uow() as uow:
        stored = uow.session.execute(text("SELECT options, sealed FROM ingest_sources")).one()
        assert TOKEN.split()[1] not in str(stored.options) and TOKEN.encode() not in bytes(stored.sealed)
        lines = uow.session.scalars(select(JobLogLine.params)).all()
        assert TOKEN not in str(lines)


def test_a_cron_schedule_queues_a_run_when_it_is_due(storage, settings, people, licences, dept_db):
    from datetime import UTC, datetime, timedelta

    from huiju.ingest.sources import next_run

    # 02:00 in Beijing is 18:00 UTC the day before; the next time is strictly after the given one
    assert next_run("0 2 * * *", datetime(2026, 12, 5, 17, 59, tzinfo=UTC), "Asia/Shanghai") == \
        datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
    assert next_run("0 2 * * *", datetime(2026, 12, 5, 18, 0, tzinfo=UTC), "Asia/Shanghai") == \
        datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    assert next_run("*/15 9-17 * * 1-5", datetime(2026, 12, 5, 1, 0, tzinfo=UTC), "Asia/Shanghai") == \
        datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Saturday 09:00 → Monday 09:00 Beijing
    assert next_run("30 8 1 * *", datetime(2026, 12, 5, tzinfo=UTC), "UTC") == datetime(2027, 1, 1, 8, 30, tzinfo=UTC)
    with storage.uow() as uow:
        source = service.add_source(uow, people["op"], name="夜间同步", dataset_key=licences, kind="sql",
                                    options={"url": f"sqlite:///{dept_db}", "table": "licences"},
                                    schedule="0 2 * * *")
    due = source.next_run_at
    worker = Worker(storage, name="cron")
    assert worker.tick(now=due - timedelta(minutes=1)) is None
    with storage.uow() as uow:
        assert service.list_jobs(uow, people["op"]) == []
    job_id = worker.tick(now=due)
    with storage.uow() as uow:
        job = service.get_job(uow, people["op"], job_id)
        assert (job.trigger, job.status) == ("schedule", "succeeded")
        moved = uow.session.get(Source, source.id).next_run_at
    assert (moved - due).total_seconds() == 86400
    assert worker.tick(now=due) is None  # the same time does not queue twice



def test_file_sources_by_path_and_by_url_keep_the_file_sm3_in_lineage(storage, people, licences, tmp_path):
    from huiju.ingest.service import file_sm3

    body = "id,name,updated_at\n1,甲,2026-11-01\n2,乙,2026-11-02\n".encode("gbk")
    path = tmp_path / "许可.csv"
    path.write_bytes(body)

    async def files(scope: dict[str, Any], receive: Any, send: Any) -> None:
        auth = dict(scope["headers"]).get(b"authorization")
        ok = auth == TOKEN.encode()
        await send({"type": "http.response.start", "status": 200 if ok else 403,
                    "headers": [(b"content-type", b"text/csv")]})
        await send({"type": "http.response.body", "body": body if ok else b"forbidden"})

    op = people["op"]
    for port in serve_asgi(files):
        with storage.uow() as uow:
            service.add_source(uow, op, name="本地文件", dataset_key=licences, kind="file",
                               options={"path": str(path), "encoding": "gbk"})
            service.add_source(uow, op, name="网上文件", dataset_key=licences, kind="file",
                               options={"url": f"http://127.0.0.1:{port}/export/licences.csv",
                                        "headers": {"Authorization": TOKEN}})
        for name in ("本地文件", "网上文件"):
            with storage.uow() as uow:
                job_id = service.run_source(uow, op, name).id
            assert _worker_run(storage) == job_id
            with storage.uow() as uow:
                job = service.get_job(uow, op, job_id)
                assert (job.status, job.rows_accepted, job.encoding) == ("succeeded", 2, "gbk"), job.error
                [given] = catalog.lineage_of(uow, op, licences)[-1].inputs
                assert given["sm3"] == job.input_sm3 == file_sm3(path)[0] and given["bytes"] == len(body)
                assert TOKEN not in str(given)
    assert not list((storage.settings.home / "tmp").glob("source-*"))  # the download was removed
