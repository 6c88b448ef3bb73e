"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PASSWORD = "correct-horse-42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log in through the real form, CSRF token included."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/"}, follow_redirects=False)


HUIJU = str(Path(sys.executable).with_name("huiju"))
_PLATFORM_VARS = ("HUIJU_DATABASE_URL", "HUIJU_MASTER_KEY", "HUIJU_AUDIT_CHECKPOINT_EVERY")


def run_cli(home: Path, *args: str, ok: bool = True, **env_extra: str) -> subprocess.CompletedProcess:
    """Run the installed `huiju` command as a real process on ``home``; other HUIJU_ settings come only from env_extra."""
    env = {**os.environ, "HUIJU_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    for name in _PLATFORM_VARS:
        env.pop(name, None)
    env.update(env_extra)
    proc = subprocess.run([HUIJU, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def lake_table(storage, version, sql: str = "SELECT * FROM t", params=None):
    """A version's rows in plaintext, queried as table ``t`` through the one module that reads lake files."""
    from huiju.auth.roles import Actor
    from huiju.catalog import access

    with storage.uow() as uow:
        return access.query_internal(uow, Actor.system("test"), sql, {"t": version}, params)
