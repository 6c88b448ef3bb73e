"""Load every demo source through the real ingest path, as each department's steward would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from huiju.auth.roles import Actor
from huiju.catalog import service as catalog_service
from huiju.demo.manifest import DataFile, Manifest
from huiju.demo.schemas import schema_for
from huiju.ingest import service as ingest_service
from huiju.ingest.authority import service as authority_service
from huiju.ingest.authority.defaults import default_elements, default_mappings
from huiju.ingest.connectors import open_file
from huiju.storage.uow import Storage

EXPORT_DATE = date(2026, 11, 1)
DEMO_SCHEDULE = "0 2 * * *"  # 02:00 in HUIJU_TIMEZONE  # the demo city's files are "as of" this day; no clock involved


def connector_options(spec: DataFile) -> dict[str, Any]:
    """How the file is opened: the workbook sheet, the header rows, the database table."""
    options: dict[str, Any] = {}
    if spec.format == "xlsx":
        options.update(sheet=spec.sheet, header_rows=spec.header_rows or None)
    if spec.table:
        options["table"] = spec.table
    return options


def ingest_sources(storage: Storage, actor: Actor, sources: Path,
                   progress: Callable[[str, int], None] | None = None) -> dict[str, ingest_service.IngestJob]:
    """Register, declare and load every dataset of the manifest; returns the job per dataset key."""
    manifest = Manifest.load(sources)
    jobs: dict[str, ingest_service.IngestJob] = {}
    for spec in manifest.files:
        opts = connector_options(spec)
        header = open_file(sources / spec.file, encoding=spec.encoding, **opts).columns
        descriptor, rules = schema_for(spec, header)
        with storage.uow() as uow:
            catalog_service.register_dataset(uow, actor, key=spec.key, name=spec.dataset,
                                             department_code=spec.department_code)
        with storage.uow() as uow:
            catalog_service.save_schema(uow, actor, spec.key, table_schema=descriptor, rules=rules, confirmed=True)
        with storage.uow() as uow:
            jobs[spec.key] = ingest_service.ingest_file(
                uow, actor, dataset_key=spec.key, path=sources / spec.file, encoding=spec.encoding,
                today=EXPORT_DATE, options=opts, progress=(lambda n, key=spec.key: progress(key, n)) if progress else None)
        if spec.format == "sqlite":  # the department's own system stays connected: re-read every night
            with storage.uow() as uow:
                ingest_service.add_source(uow, actor, name=f"{spec.department_code}-{spec.key}", dataset_key=spec.key,
                                          kind="sql", options={"url": f"sqlite:///{(sources / spec.file).resolve()}",
                                                               "table": spec.table},
                                          schedule=DEMO_SCHEDULE)
    return jobs


def register_authorities(storage: Storage, actor: Actor) -> dict[str, Any]:
    """The demo's 一数一源 registry and column mappings, then the first comparison and base libraries."""
    for element in default_elements():
        with storage.uow() as uow:
            authority_service.register_element(uow, actor, element["code"], element["name"], element["subject"],
                                               element["authority_department_code"],
                                               value_codes=element["value_codes"] or None)
    for mapping in default_mappings():
        with storage.uow() as uow:
            authority_service.map_column(uow, actor, mapping["dataset_key"], mapping["column"],
                                         mapping["element_code"])
    outcome: dict[str, Any] = {}
    for subject in ("person", "legal_entity"):
        with storage.uow() as uow:
            outcome[subject] = authority_service.compare(uow, actor, subject)
        with storage.uow() as uow:
            authority_service.build_base_library(uow, actor, subject)
    return outcome
