"""Opening a dataset: propose → review → open version derived through read_rows with the open policy."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from huiju.catalog import service as catalog
from huiju.errors import Conflict, Forbidden
from huiju.ingest import service as ingest
from huiju.opendata import service
from huiju.opendata.models import OpenVersion
import huiju.security.audit  # noqa: F401  (the audit chain subscribes to events)
from huiju.security.models import AuditEntry
from tests.opendata.support import BUS_STOPS_ENTRY, ROWS, bus_stops_csv, load_bus_stops


def test_open_version_drops_the_sensitive_column_and_is_indexed(storage, people, opened, backend):
    with storage.uow() as uow:
        od = service.published_dataset(uow, opened.name)
        assert od.policy["keeper_mobile"] == {"action": "drop"}
        served = service.served_resource(uow, opened.resource_id)
    assert [f["id"] for f in served.fields] == ["stop_id", "line", "name", "district", "lat", "lon"]
    assert served.row_count == ROWS
    conn = sqlite3.connect(served.path)
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == ROWS
    assert "keeper_mobile" not in [r[1] for r in conn.execute("PRAGMA table_info(records)")]
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(records)")}
    assert {"ix_line", "ix_district", "pk_stop_id"} <= indexes
    conn.close()
    with storage.uow() as uow:
        events = [e.event_type for e in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert "OpenVersionPublished" in events and "DataRead" in events


def test_core_or_important_data_can_never_be_opened(storage, people, tmp_path):
    entry_id = load_bus_stops(storage, people, tmp_path)
    with storage.uow() as uow:
        catalog.save_labels(uow, people["ga_steward"], "bus_stops", {"district": {"level": "important", "kind": "none"}})
        uow.commit()
    with storage.uow() as uow, pytest.raises(Forbidden, match="never be opened"):
        service.propose_open(uow, people["ga_steward"], entry_id=entry_id, policy={"district": "drop"})


def test_core_label_on_a_column_blocks_the_open_version_even_after_approval(storage, people, opened):
    with storage.uow() as uow:
        catalog.save_labels(uow, people["ga_steward"], "bus_stops", {"lat": {"level": "core", "kind": "none"}})
        uow.commit()
    with storage.uow() as uow, pytest.raises(Forbidden, match="never be opened"):
        service.derive_open_version(uow, people["op"], opened.open_id)


def test_keeping_a_sensitive_column_is_refused(storage, people, tmp_path):
    entry_id = load_bus_stops(storage, people, tmp_path)
    with storage.uow() as uow, pytest.raises(Forbidden, match="keeper_mobile"):
        service.propose_open(uow, people["ga_steward"], entry_id=entry_id, policy={"keeper_mobile": "keep"})


def test_masking_instead_of_dropping(storage, people, tmp_path):
    entry_id = load_bus_stops(storage, people, tmp_path)
    with storage.uow() as uow:
        od = service.propose_open(uow, people["ga_steward"], entry_id=entry_id,
                                  policy={"keeper_mobile": "mask:CN_MOBILE"})
    with storage.uow() as uow:
        service.approve_open(uow, people["op"], od.id)
    with storage.uow() as uow:
        served = service.served_resource(uow, service.current_open_versions(uow, [od.id])[od.id].uid)
    value = sqlite3.connect(served.path).execute("SELECT keeper_mobile FROM records WHERE _id = 1").fetchone()[0]
    assert value.startswith("13") and "****" in value


def test_closed_entries_cannot_be_proposed_and_other_departments_cannot_propose(storage, people, tmp_path):
    entry_id = load_bus_stops(storage, people, tmp_path, entry={**BUS_STOPS_ENTRY, "open_class": "closed"})
    with storage.uow() as uow, pytest.raises(Forbidden, match="open class"):
        service.propose_open(uow, people["ga_steward"], entry_id=entry_id)
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.propose_open(uow, people["rs_steward"], entry_id=entry_id)


def test_rejection_needs_a_reason_and_a_rejected_proposal_is_not_public(storage, people, tmp_path):
    entry_id = load_bus_stops(storage, people, tmp_path)
    with storage.uow() as uow:
        od = service.propose_open(uow, people["ga_steward"], entry_id=entry_id)
    with storage.uow() as uow:
        with pytest.raises(Forbidden):
            service.reject_open(uow, people["ga_steward"], od.id, reason="不行")
        service.reject_open(uow, people["op"], od.id, reason="字段说明不全")
    with storage.uow() as uow:
        assert service.published_datasets(uow) == []
        with pytest.raises(Conflict):
            service.approve_open(uow, people["op"], od.id)


def test_a_new_source_version_rederives_the_open_version(storage, people, opened, tmp_path):
    src = bus_stops_csv(tmp_path / "more.csv", rows=10, offset=ROWS)
    with storage.uow() as uow:
        ingest.ingest_file(uow, people["ga_steward"], dataset_key="bus_stops", path=src, write_mode="append")
    with storage.uow() as uow:
        versions = list(uow.session.scalars(select(OpenVersion).where(OpenVersion.open_dataset_id == opened.open_id)
                                            .order_by(OpenVersion.number)))
        assert [v.number for v in versions] == [1, 2]
        assert versions[-1].row_count == ROWS + 10
        assert service.stale_open_datasets(uow, people["op"]) == []


def test_withdrawn_datasets_stop_serving(storage, people, opened):
    with storage.uow() as uow:
        service.withdraw_open(uow, people["ga_steward"], opened.open_id, reason="数据有误，暂停开放")
    with storage.uow() as uow:
        with pytest.raises(Exception, match="not found"):
            service.served_resource(uow, opened.resource_id)


def test_serving_indexes_of_old_versions_are_removed_after_the_grace_period(storage, people, opened):
    from datetime import UTC, datetime, timedelta

    from huiju.catalog import serving

    with storage.uow() as uow:
        for _ in range(3):
            service.derive_open_version(uow, people["op"], opened.open_id)
    with storage.uow() as uow:
        versions = list(uow.session.scalars(select(OpenVersion).where(OpenVersion.open_dataset_id == opened.open_id)
                                            .order_by(OpenVersion.number)))
        assert [v.number for v in versions] == [1, 2, 3, 4]
        paths = {v.number: v.serving_path for v in versions}
        files = {n: serving.served_file(uow.lake, path) for n, path in paths.items()}
        assert all(f.exists() for f in files.values())  # replaced moments ago: still within the grace period
        held = serving._connection(files[1])  # a request that opened version 1 before it goes
        assert service.prune_serving_indexes(uow, people["op"]) == []
        with pytest.raises(Forbidden):
            service.prune_serving_indexes(uow, people["ga_steward"])
        later = datetime.now(UTC) + timedelta(seconds=storage.settings.opendata_serving_grace_seconds + 1)
        removed = service.prune_serving_indexes(uow, people["op"], later)
    assert sorted(removed) == sorted([paths[1], paths[2]])  # the newest two are kept (setting)
    assert not files[1].exists() and not files[2].exists() and files[3].exists() and files[4].exists()
    assert held.execute("SELECT count(*) FROM records").fetchone()[0] == ROWS  # it still reads to the end
    with storage.uow() as uow:
        with pytest.raises(Exception, match="not found"):
            service.served_resource(uow, versions[0].uid)
        assert service.served_resource(uow, versions[-1].uid).row_count == ROWS
        assert service.prune_serving_indexes(uow, people["op"], later) == []  # nothing twice
        kinds = [e.event_type for e in uow.session.scalars(select(AuditEntry))]
        assert "ServingIndexesRemoved" in kinds
    serving._local.swept -= serving.SWEEP_SECONDS + 1  # the thread's next sweep closes its removed connections
    serving._connection(files[4])
    assert str(files[1]) not in serving._local.conns and str(files[4]) in serving._local.conns


def test_with_no_grace_period_the_next_version_removes_the_oldest_index(storage, people, opened):
    from huiju.catalog import serving

    storage.settings.opendata_serving_grace_seconds = 0
    storage.settings.opendata_serving_keep = 1
    with storage.uow() as uow:
        first = uow.session.scalar(select(OpenVersion).where(OpenVersion.open_dataset_id == opened.open_id))
        path = serving.served_file(uow.lake, first.serving_path)
        service.derive_open_version(uow, people["op"], opened.open_id)
    assert not path.exists()
    with storage.uow() as uow:
        assert uow.session.get(OpenVersion, first.id).serving_path is None
