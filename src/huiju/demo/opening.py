"""The demo city's open-data portal: every catalog entry whose open class allows it is proposed and approved,
so a fresh demo's /open pages and CKAN API have data to find, preview, chart, download and call."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from huiju.auth.roles import Actor
from huiju.catalog import service as catalog_service
from huiju.demo.catalog import ENTRIES
from huiju.errors import HuijuError, Invalid
from huiju.opendata import service as opendata_service
from huiju.storage.uow import Storage

OPENABLE = ("unconditional", "conditional")


def open_demo_datasets(storage: Storage, actor: Actor, entries: Mapping[str, int],
                       progress: Callable[[str], None] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Propose and approve each openable entry; returns dataset key → open dataset name, and dataset key → why
    it was not opened (the protection rules may refuse one: the refusal is shown, not hidden)."""
    opened: dict[str, str] = {}
    refused: dict[str, str] = {}
    for key, entry_id in entries.items():
        if ENTRIES[key][6] not in OPENABLE:
            continue
        if progress is not None:
            progress(key)
        try:
            with storage.uow() as uow:
                schema = catalog_service.dataset_by_key(uow, actor, key).table_schema or {}
            keys = schema.get("primaryKey") or []
            try:  # the key column as the open version's primary key, when the open policy keeps it
                with storage.uow() as uow:
                    od = opendata_service.propose_open(uow, actor, entry_id=entry_id,
                                                       primary_key=keys[0] if len(keys) == 1 else None)
            except Invalid:
                with storage.uow() as uow:
                    od = opendata_service.propose_open(uow, actor, entry_id=entry_id)
            with storage.uow() as uow:
                opendata_service.approve_open(uow, actor, od.id, comment="示例数据：审核通过")
            opened[key] = od.name
        except HuijuError as e:
            refused[key] = e.localized()
    return opened, refused
