"""Shared fixtures: a fresh metadata database per test, on SQLite and on a real PostgreSQL cluster."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from huiju.auth.roles import Actor
from huiju.config import Settings
from huiju.storage.migrate import upgrade
from huiju.storage.uow import Storage, UnitOfWork
from tests.support import PASSWORD

# Property tests check values, never speed: no per-example deadline (a loaded CI machine must not fail them).
hypothesis_settings.register_profile("huiju", deadline=None)
hypothesis_settings.load_profile("huiju")
# Apps under test start and stop hundreds of times in one process: freezing each one's heap would keep every
# test's leftovers for good. tests/web/test_heap.py turns it on where it is the subject.
os.environ.setdefault("HUIJU_FREEZE_HEAP", "false")

PG_BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"]


def _pg_bin(name: str) -> str | None:
    for d in PG_BIN_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A throwaway PostgreSQL cluster in a temp folder, run as the `postgres` user when we are root."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        self.dir = Path(tempfile.mkdtemp(prefix="huiju-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c full_page_writes=off"
        self._run(self.pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    if not (cluster.initdb and cluster.pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed on this machine")
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy, which is much faster than migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PgCluster) -> str:
    admin = create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE huiju_template"))
    admin.dispose()
    upgrade(pg_cluster.url("huiju_template"))
    return "huiju_template"


_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database; PostgreSQL only for tests that ask for the ``backend`` fixture."""
    kind = request.getfixturevalue("backend") if "backend" in request.fixturenames else "sqlite"
    if kind == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "huiju.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    template = request.getfixturevalue("pg_template")
    name = f"t_{os.getpid()}_{next(_counter)}"
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield cluster.url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, secret_key="test-secret")


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    settings.home.mkdir(parents=True, exist_ok=True)
    st = Storage.open(settings)
    st.lake.ensure()
    yield st
    st.close()


@pytest.fixture
def uow(storage: Storage) -> Iterator[UnitOfWork]:
    with storage.uow() as u:
        yield u


@pytest.fixture
def system() -> Actor:
    return Actor.system("test")


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met in time")



@pytest.fixture
def people(storage: Storage, system: Actor) -> dict[str, Actor]:
    """Two departments and one user per role, created through the services; returns their actors."""
    from huiju.auth import service
    from huiju.auth.roles import Role

    with storage.uow() as u:
        service.create_department(u, system, code="GA", name="示例市公安局", level="city", region_code="990100")
        service.create_department(u, system, code="RS", name="示例市人力资源和社会保障局", level="city",
                                  region_code="990100")
    spec = [("op", Role.OPERATOR, None), ("ga_steward", Role.STEWARD, "GA"), ("ga_user", Role.DEPT_USER, "GA"),
            ("rs_steward", Role.STEWARD, "RS"), ("rs_user", Role.DEPT_USER, "RS"), ("citizen", Role.PUBLIC, None)]
    actors: dict[str, Actor] = {}
    for name, role, dept in spec:
        with storage.uow() as u:
            user = service.create_user(u, system, username=name, display_name=name, password=PASSWORD,
                                       role=role, department_code=dept)
            actors[name] = service.actor_for_user(user)
    return actors
