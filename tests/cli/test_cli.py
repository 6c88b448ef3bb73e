"""The `huiju` command end to end on a real home folder (SQLite), run as a real process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support import HUIJU, run_cli

run = run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    out = run(home, "init", "--admin", "admin", "--password", "admin-pass-2026").stdout
    assert "平台主目录已就绪" in out and "已创建平台运营账号 admin" in out
    return home


def test_commands_refuse_an_uninitialised_home(tmp_path):
    proc = run(tmp_path / "nothing", "dept", "list", ok=False)
    assert proc.returncode == 1 and "huiju init" in proc.stdout


def test_departments_users_and_tokens(home):
    run(home, "dept", "add", "GA", "示例市公安局", "--level", "city", "--region", "990100")
    assert "示例市公安局" in run(home, "dept", "list").stdout
    bad = run(home, "dept", "add", "GA", "重复", ok=False)
    assert bad.returncode == 1 and "部门代码 GA 已存在" in bad.stdout
    run(home, "user", "add", "zhangsan", "--role", "steward", "--dept", "GA", "--name", "张三",
        "--password", "zhangsan-pass-1")
    listing = run(home, "user", "list").stdout
    assert "zhangsan" in listing and "部门数据管理员@GA" in listing
    created = run(home, "token", "create", "zhangsan", "--scope", "auth.department.view", "--name", "etl").stdout
    plaintext = created.strip().splitlines()[-1]
    assert plaintext.startswith("hj_")
    token_id = created.split("令牌 ")[1].split("，")[0]
    assert "令牌 %s 已吊销" % token_id in run(home, "token", "revoke", token_id).stdout


def test_audit_verify_names_the_tampered_row(home):
    run(home, "dept", "add", "RS", "示例市人力资源和社会保障局")
    run(home, "dept", "add", "WJ", "示例市卫生健康委员会")
    assert "审计链完整" in run(home, "audit", "verify").stdout
    db = sqlite3.connect(home / "huiju.db")
    db.execute("DROP TRIGGER audit_entries_no_update")
    db.execute("UPDATE audit_entries SET payload = replace(payload, 'WJ', 'XX') WHERE event_type = 'DepartmentCreated' "
               "AND payload LIKE '%WJ%'")
    seq = db.execute("SELECT seq FROM audit_entries WHERE payload LIKE '%XX%'").fetchone()[0]
    db.commit()
    db.close()
    proc = run(home, "audit", "verify", ok=False)
    assert proc.returncode == 1
    assert f"第 {seq} 条" in proc.stdout and "记录被修改" in proc.stdout


def test_db_upgrade_is_idempotent(home):
    assert "head" in run(home, "db", "upgrade").stdout


def test_english_cli(home):
    env_lang = run(home, "--help").stdout
    assert "init" in env_lang and "audit" in env_lang


def test_the_same_commands_on_postgresql(tmp_path, pg_cluster):
    """HUIJU_DATABASE_URL alone switches the platform to PostgreSQL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "cli_pg"'))
    admin.dispose()
    env = {**os.environ, "HUIJU_HOME": str(tmp_path / "home"), "HUIJU_DATABASE_URL": pg_cluster.url("cli_pg")}
    for args in (["init", "--admin", "admin", "--password", "admin-pass-2026"],
                 ["dept", "add", "GA", "示例市公安局"], ["audit", "verify"]):
        proc = subprocess.run([HUIJU, *args], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "审计链完整：已校验 3 条记录" in proc.stdout
    assert not (tmp_path / "home" / "huiju.db").exists()
