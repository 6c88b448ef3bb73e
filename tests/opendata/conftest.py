"""Open-data fixtures: a GA dataset of bus stops, ingested, catalogued, proposed and opened through the services."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from huiju.app import create_app
from huiju.opendata import service
from tests.opendata.support import Opened, load_bus_stops


@pytest.fixture
def opened(storage, people, tmp_path) -> Opened:
    entry_id = load_bus_stops(storage, people, tmp_path)
    with storage.uow() as uow:
        od = service.propose_open(uow, people["ga_steward"], entry_id=entry_id, index_columns=["line", "district"],
                                  primary_key="stop_id", tags=["交通", "公交"])
    with storage.uow() as uow:
        service.approve_open(uow, people["op"], od.id, comment="同意开放")
    with storage.uow() as uow:
        versions = service.current_open_versions(uow, [od.id])
        return Opened(entry_id, od.id, od.name, versions[od.id].uid)


@pytest.fixture
def app(settings, storage):
    return create_app(settings, storage)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
