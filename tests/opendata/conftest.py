"""Open-data fixtures: a GA dataset of bus stops, ingested, catalogued, proposed and opened through the services."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from huiju.app import create_app
from tests.opendata.support import BUS_STOPS_ENTRY, Opened, load_bus_stops, open_entry


@pytest.fixture
def opened(storage, people, tmp_path) -> Opened:
    return open_entry(storage, people, load_bus_stops(storage, people, tmp_path), tags=["交通", "公交"])


@pytest.fixture
def second(storage, people, tmp_path, opened) -> Opened:
    """A second open dataset, of the other department, with another theme."""
    entry = {**BUS_STOPS_ENTRY, "name": "就业服务站点", "abstract": "人社部门的就业服务站点。", "item": "social_security"}
    entry_id = load_bus_stops(storage, people, tmp_path, entry=entry, key="job_sites", dept="RS")
    return open_entry(storage, people, entry_id, steward="rs_steward", tags=["就业"])


@pytest.fixture
def app(settings, storage):
    return create_app(settings, storage)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def live(app) -> Iterator[str]:
    """The app served over real HTTP by uvicorn in a thread (ckanapi speaks HTTP through requests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
