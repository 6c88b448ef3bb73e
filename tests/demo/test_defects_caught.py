"""Every defect the demo generator injects is caught by the platform, checked one by one."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from huiju.auth import service as auth
from huiju.auth.roles import Actor
from huiju.catalog import service as catalog
from huiju.config import Settings
from huiju.demo import city
from huiju.demo.generator import generate
from huiju.demo.ingest import ingest_sources, register_authorities
from huiju.demo.manifest import Manifest
from huiju.ingest.models import QuarantineRow
from huiju.storage.migrate import upgrade
from huiju.storage.uow import Storage
from tests.support import lake_table

REJECTING = {"bad_check_digit": {"citizen_id", "uscc"}, "missing_required": {"required"},
             "duplicate_key": {"unique", "primary_key"}, "unknown_region": {"region_code"}}
SYSTEM = Actor.system("test")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects")
    sources = root / "sources"
    generate(sources, scale="small", seed=2026)
    settings = Settings(home=root / "home", secret_key="t")
    settings.home.mkdir()
    upgrade(settings.db_url)
    storage = Storage.open(settings)
    storage.lake.ensure()
    for d in city.DEPARTMENTS:
        with storage.uow() as uow:
            auth.create_department(uow, SYSTEM, code=d.code, name=d.name, level=d.level, region_code=d.region_code)
    jobs = ingest_sources(storage, SYSTEM, sources)
    register_authorities(storage, SYSTEM)
    quarantined: dict[str, dict[int, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    with storage.uow() as uow:
        for key, job in jobs.items():
            for q in uow.session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job.id)):
                for reason in q.reasons:
                    quarantined[key][q.row_number].add((reason["field"], reason["rule"].split(":")[0]))
    yield storage, Manifest.load(sources), jobs, quarantined
    storage.close()


def _column(field: str, reasons: set[tuple[str, str]]) -> set[str]:
    return {rule for col, rule in reasons if col == field or col.endswith("/" + field)}


def test_every_job_balances(loaded):
    _, manifest, jobs, _ = loaded
    assert set(jobs) == {f.key for f in manifest.files}
    for key, job in jobs.items():
        assert job.status == "succeeded", (key, job.error)
        assert job.rows_accepted + job.rows_rejected == job.rows_read == manifest.file(key).rows


def test_every_rejecting_defect_is_quarantined_at_its_row_for_its_rule(loaded):
    _, manifest, _, quarantined = loaded
    defects = [d for d in manifest.defects if d.kind in REJECTING]
    assert len(defects) >= 30
    for d in defects:
        rules = _column(d.field, quarantined[d.dataset].get(d.row, set()))
        assert rules & REJECTING[d.kind], f"{d.kind} in {d.dataset} row {d.row} field {d.field} was not caught"


def test_nothing_else_is_quarantined(loaded):
    """Precision: rows without an injected rejecting defect all pass."""
    _, manifest, _, quarantined = loaded
    expected = defaultdict(set)
    for d in manifest.defects:
        if d.kind in REJECTING:
            expected[d.dataset].add(d.row)
    for key, rows in quarantined.items():
        assert set(rows) <= expected[key], f"{key}: rows {sorted(set(rows) - expected[key])[:5]} rejected unexpectedly"


def test_standardisable_defects_are_accepted_in_their_standard_form(loaded):
    storage, manifest, _, quarantined = loaded
    for d in manifest.defects:
        if d.kind not in ("mixed_date", "normalisable"):
            continue
        assert not _column(d.field, quarantined[d.dataset].get(d.row, set())), (d.kind, d.dataset, d.row, d.field)
        if d.kind == "normalisable":
            with storage.uow() as uow:
                version = catalog.current_version(uow, SYSTEM, d.dataset)
            column = next(f["name"] for f in version.schema if f["name"] == d.field or f["name"].endswith("/" + d.field))
            [counts] = lake_table(
                storage, version,
                f'SELECT count(*) FILTER (WHERE "{column}" = ?) AS good, count(*) FILTER (WHERE "{column}" = ?) AS bad '
                "FROM t", [d.original, d.bad]).to_pylist()
            assert counts["good"] >= 1 and counts["bad"] == 0, (d.dataset, d.row, d.original, d.bad)


def test_the_hidden_sensitive_column_is_flagged_on_arrival(loaded):
    storage, manifest, _, _ = loaded
    [d] = [d for d in manifest.defects if d.kind == "hidden_sensitive"]
    with storage.uow() as uow:
        labels = catalog.dataset_by_key(uow, SYSTEM, d.dataset).labels
    assert labels[d.field]["kind"] == "mobile" and labels[d.field]["mask"] == "CN_MOBILE"


def test_every_cross_department_mismatch_becomes_a_correction_task(loaded):
    """一数一源: each planted disagreement with the authority is a task for the authoritative department."""
    storage, manifest, _, _ = loaded
    from huiju.ingest.authority import service as authority

    with storage.uow() as uow:
        tasks = authority.list_tasks(uow, SYSTEM, status=None, limit=10_000)
        found = {(t.other_dataset_key, t.other_value) for t in tasks}
    mismatches = [d for d in manifest.defects if d.kind == "cross_dept_mismatch"]
    assert len(mismatches) >= 4
    # precision: one task per planted disagreement (a tax mismatch repeats on each of its tax rows)
    assert len(tasks) == len({(d.dataset, d.field, str(d.bad)) for d in mismatches})
    for d in mismatches:
        bad = str(d.bad)
        assert any(ds == d.dataset and value is not None and (value == bad or _same_number(value, bad))
                   for ds, value in found), f"{d.dataset} row {d.row} {d.field}: {bad} has no correction task"


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def test_every_defect_kind_is_accounted_for(loaded):
    """Every kind of planted defect has a test above that checks each instance."""
    _, manifest, _, _ = loaded
    kinds = {d.kind for d in manifest.defects}
    assert kinds <= set(REJECTING) | {"mixed_date", "normalisable", "hidden_sensitive", "cross_dept_mismatch"}
