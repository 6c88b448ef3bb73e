"""Data and helpers shared by the open-data tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huiju.catalog import service as catalog
from huiju.ingest import service as ingest
from huiju.opendata import service

LINES = ["1路", "2路", "K3", "游5", "夜8"]
DISTRICTS = ["东城区", "西城区", "高新区"]
ROWS = 240


def bus_stops_csv(path: Path, rows: int = ROWS, *, offset: int = 0) -> Path:
    """Stops with a sensitive column (the stop keeper's mobile number) that must never be opened."""
    lines = ["stop_id,line,name,district,keeper_mobile,lat,lon"]
    for i in range(offset, offset + rows):
        lines.append(f"S{i:05d},{LINES[i % len(LINES)]},第{i}站,{DISTRICTS[i % 3]},1{3 + i % 6}8{i:08d},"
                     f"{30 + i / 1000:.4f},{120 + i / 1000:.4f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


BUS_STOPS_ENTRY = {
    "name": "城市公交站点",
    "classification": "theme",
    "item": "public_service",
    "abstract": "全市公交线路的站点名称、所属区县与经纬度，按月更新。",
    "format_kind": "spreadsheet",
    "format_type": "csv",
    "share_type": "unconditional",
    "share_mode_type": "file",
    "open_class": "unconditional",
    "update_cycle": "monthly",
    "data_level": "general_2",
    "items": [{"name": "站点编号", "type_code": "C", "length": 10, "column": "stop_id", "is_key": True},
              {"name": "线路", "type_code": "C", "length": 20, "column": "line"}],
}


@dataclass
class Opened:
    entry_id: int
    open_id: int
    name: str
    resource_id: str


def load_bus_stops(storage, people, tmp_path: Path, *, entry: dict | None = None, key: str = "bus_stops",
                   dept: str = "GA"):
    """Register, ingest, catalogue and mount the dataset; returns the published entry's id."""
    return load_file(storage, people, bus_stops_csv(tmp_path / f"{key}.csv"), entry=entry or BUS_STOPS_ENTRY,
                     key=key, dept=dept)


def load_file(storage, people, path: Path, *, entry: dict, key: str, dept: str = "GA", name: str = "公交站点"):
    """Register a dataset, ingest ``path``, catalogue it under ``entry`` and mount it; the published entry's id."""
    steward = people[f"{dept.lower()}_steward"]
    with storage.uow() as uow:
        catalog.register_dataset(uow, steward, key=key, name=name, department_code=dept)
    with storage.uow() as uow:
        ingest.ingest_file(uow, steward, dataset_key=key, path=path)
    with storage.uow() as uow:
        e = catalog.register_entry(uow, steward, department_code=dept, fields=entry)
        ds = catalog.dataset_by_key(uow, steward, key)
        catalog.mount_dataset(uow, steward, e.id, ds.id)
        catalog.submit_entry(uow, steward, e.id)
        catalog.approve_entry(uow, people["op"], e.id)
        return e.id


def open_entry(storage, people, entry_id: int, *, steward: str = "ga_steward", **kw) -> Opened:
    """Propose (with the bus-stop indexes unless told otherwise) and approve; returns what the API tests need."""
    kw = {"index_columns": ["line", "district"], "primary_key": "stop_id", **kw}
    with storage.uow() as uow:
        od = service.propose_open(uow, people[steward], entry_id=entry_id, **kw)
    with storage.uow() as uow:
        service.approve_open(uow, people["op"], od.id, comment="同意开放")
    with storage.uow() as uow:
        versions = service.current_open_versions(uow, [od.id])
        return Opened(entry_id, od.id, od.name, versions[od.id].uid)
