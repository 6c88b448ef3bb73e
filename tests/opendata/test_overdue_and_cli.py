"""Openable entries not opened in time are flagged and exportable; the CLI drives the same services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from huiju.catalog.models import CatalogEntry
from huiju.opendata import service
from tests.opendata.support import BUS_STOPS_ENTRY, load_bus_stops
from tests.support import run_cli


def _age(storage, entry_id: int, days: int) -> None:
    """Make an entry look older (time travel for the test only)."""
    with storage.uow() as uow:
        uow.session.execute(update(CatalogEntry).where(CatalogEntry.id == entry_id)
                            .values(created_at=datetime.now(UTC) - timedelta(days=days)))
        uow.session.commit()


def test_openable_entries_not_opened_within_six_months_are_flagged(storage, people, tmp_path, client, backend):
    old = load_bus_stops(storage, people, tmp_path)
    recent = load_bus_stops(storage, people, tmp_path, key="bus_stops_new",
                            entry={**BUS_STOPS_ENTRY, "name": "新增公交站点"})
    closed = load_bus_stops(storage, people, tmp_path, key="bus_stops_closed",
                            entry={**BUS_STOPS_ENTRY, "name": "不开放站点", "open_class": "closed"})
    for entry_id in (old, closed):
        _age(storage, entry_id, 200)
    _age(storage, recent, 100)
    with storage.uow() as uow:
        flagged = service.overdue_openable(uow, people["op"])
        assert [o.entry_id for o in flagged] == [old] and flagged[0].days_waiting >= 199
        text = service.overdue_openable_csv(uow, people["op"])
    assert text.startswith("\ufeff资源代码,资源名称,提供部门") and "城市公交站点" in text and "示例市公安局" in text
    with storage.uow() as uow:
        od = service.propose_open(uow, people["ga_steward"], entry_id=old)
    with storage.uow() as uow:
        service.approve_open(uow, people["op"], od.id)
    with storage.uow() as uow:
        assert service.overdue_openable(uow, people["op"]) == []


def test_overdue_list_is_for_operators_over_the_api(storage, people, client):
    from tests.support import login

    login(client, "ga_steward")
    assert client.get("/api/v1/opendata/overdue").status_code == 403
    client.cookies.clear()
    login(client, "op")
    assert client.get("/api/v1/opendata/overdue").json() == []
    assert client.get("/api/v1/opendata/overdue.csv").content.startswith("\ufeff".encode())


def test_cli_lists_refreshes_and_exports(settings, opened, tmp_path):
    env = {"HUIJU_DATABASE_URL": settings.database_url}
    listed = run_cli(settings.home, "opendata", "list", **env)
    assert opened.name in listed.stdout and opened.resource_id[:8] in listed.stdout
    assert "0" in run_cli(settings.home, "opendata", "refresh", **env).stdout
    out = tmp_path / "overdue.csv"
    run_cli(settings.home, "opendata", "overdue", "--csv", str(out), **env)
    assert out.read_text(encoding="utf-8").startswith("\ufeff资源代码")
