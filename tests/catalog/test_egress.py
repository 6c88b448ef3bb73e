"""No route, job or export reads lake files except through catalog/access.py."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import huiju
from huiju.catalog import access
from huiju.storage.lake import Lake

SRC = Path(huiju.__file__).parent
# storage/ implements the lake; catalog/access.py is the egress and the platform-internal reader.
ALLOWED = {"storage", "catalog/access.py", "catalog/serving.py"}  # serving: indexes built from read_rows output


def _allowed(rel: str) -> bool:
    return any(rel == a or rel.startswith(a + "/") for a in ALLOWED)


def lake_reads(source: str) -> list[str]:
    """Suspicious uses in a module: parquet readers, the lake's paths and the query engine."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("abspath", "lake_engine", "iter_batches"):
            found.append(node.attr)
        if isinstance(node, ast.Attribute) and node.attr in ("read_table", "read_schema", "ParquetFile",
                                                              "ParquetDataset", "read_metadata"):
            found.append(node.attr)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pyarrow.parquet"):
            found.append("pyarrow.parquet")
        if isinstance(node, ast.Import) and any(a.name.startswith("pyarrow.parquet") or a.name == "pyarrow.dataset"
                                                for a in node.names):
            found.append("pyarrow.parquet")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "read_parquet" in node.value:
            found.append("read_parquet")
        if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.Constant) and "read_parquet" in str(v.value)
                                                   for v in node.values):
            found.append("read_parquet")
    return found


def test_only_the_egress_module_reads_lake_files():
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if _allowed(rel):
            continue
        found = lake_reads(path.read_text(encoding="utf-8"))
        if found:
            offenders[rel] = sorted(set(found))
    assert offenders == {}, f"modules reading lake files outside catalog/access.py: {offenders}"


def test_the_scan_catches_each_kind_of_read():
    assert lake_reads("import pyarrow.parquet as pq\npq.read_table(p)")
    assert lake_reads("storage.lake_engine.query(sql, {})")
    assert lake_reads("files = [uow.lake.abspath(v.path) / f for f in v.files]")
    assert lake_reads("conn.sql(f\"SELECT * FROM read_parquet({paths})\")")
    assert lake_reads("pq.ParquetFile(x).iter_batches()")
    assert not lake_reads("access.read_rows(uow, actor, 'k', purpose='p')")


def test_the_access_module_is_where_reads_happen():
    found = lake_reads((SRC / "catalog" / "access.py").read_text(encoding="utf-8"))
    assert "abspath" in found and "lake_engine" in found


def test_reads_made_by_ingest_and_the_egress_all_pass_through_access(storage, people, population, monkeypatch):
    """Behavioural: every lake path handed out during an append, a resubmission-style read and read_rows
    was asked for by catalog/access.py (storage's own writes aside)."""
    callers = []
    real = Lake.abspath

    def spy(self, relpath):
        caller = Path(inspect.stack()[1].filename).resolve()
        callers.append(caller.relative_to(SRC).as_posix() if caller.is_relative_to(SRC) else str(caller))
        return real(self, relpath)

    monkeypatch.setattr(Lake, "abspath", spy)
    from datetime import date

    from huiju.ingest import service as ingest
    from tests.catalog.conftest import HEADER, PEOPLE, citizen_id

    extra = storage.settings.home / "more.csv"
    extra.write_text(HEADER + ",".join((citizen_id("11010119900101999"), "赵小新", "13912345678", "北京市西城区1号", "1"))
                     + "\n", encoding="utf-8")
    with storage.uow() as uow:
        job = ingest.ingest_file(uow, people["ga_steward"], dataset_key="population", path=extra,
                                 write_mode="append", today=date(2026, 11, 1))
    assert job.rows_accepted == 1
    with storage.uow() as uow:
        got = access.read_rows(uow, people["ga_user"], "population", purpose="核对")
    assert got.rows == len(PEOPLE) + 1
    readers = {c for c in callers if not c.startswith("storage/")}
    assert readers == {"catalog/access.py"}, callers
