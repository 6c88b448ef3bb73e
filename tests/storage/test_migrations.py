"""Alembic creates the schema on both databases, matches the models, and downgrades cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from huiju.storage.db import Base, is_modelled, make_engine
from huiju.storage.migrate import current_revision, downgrade, upgrade


@pytest.fixture
def empty_url(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    name = f"fresh_{tmp_path.name[-20:]}".replace("-", "_").lower()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return cluster.url(name)


def test_upgrade_matches_models_and_downgrades(empty_url):
    import huiju.auth.models  # noqa: F401
    import huiju.catalog.models  # noqa: F401
    import huiju.opendata.models  # noqa: F401
    import huiju.ingest.authority.models  # noqa: F401
    import huiju.ingest.models  # noqa: F401
    import huiju.security.models  # noqa: F401
    import huiju.storage.lake.models  # noqa: F401

    upgrade(empty_url)
    engine = make_engine(empty_url)
    assert current_revision(engine) is not None
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                                                     "include_name": is_modelled}), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    tables = set(inspect(engine).get_table_names())
    assert {"departments", "users", "memberships", "api_tokens", "web_sessions", "audit_entries", "audit_head",
            "lake_versions", "audit_checkpoints", "data_keys", "signing_keys", "datasets", "lineage",
            "ingest_jobs", "quarantine_rows", "data_elements", "element_mappings", "correction_tasks",
            "catalog_entries", "catalog_items", "catalog_changes", "catalog_mounts", "harvest_sources",
            "harvest_records", "open_datasets", "open_versions"} <= tables
    engine.dispose()
    downgrade(empty_url, "base")
    engine = make_engine(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(empty_url)  # and back up again


def test_sqlite_runs_in_wal_mode(storage):
    with storage.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
