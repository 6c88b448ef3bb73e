"""Lake versions: staged, flushed, renamed, then recorded; immutable; crashes leave no visible trace."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from huiju.storage.lake import LakeVersion
from huiju.storage.lake.duckdb import DuckDBEngine
from huiju.storage.uow import Storage

BATCH = pa.record_batch({"id": pa.array([1, 2, 3]), "name": pa.array(["张三", "李四", "王五"])})


def _versions(storage, key="population"):
    with storage.uow() as uow:
        return list(uow.session.scalars(select(LakeVersion).where(LakeVersion.dataset_key == key)
                                        .order_by(LakeVersion.number)))


def test_publish_is_recorded_and_readable_by_duckdb(storage, backend):
    with storage.uow() as uow:
        staged = uow.stage_version("population")
        staged.write_all([BATCH, BATCH])
        [v] = uow.commit()
    assert v.number == 1 and v.row_count == 6
    files = [storage.lake.abspath(v.path) / f for f in v.files]
    table = storage.lake_engine.query("SELECT count(*) AS n, min(name) AS first FROM t", {"t": files})
    assert table.to_pylist() == [{"n": 6, "first": "张三"}]
    assert not any(storage.lake.staging_root.iterdir())


def test_nearly_unique_columns_are_written_without_a_dictionary(storage):
    ids = [f"91110000{i:010d}" for i in range(5000)]
    batch = pa.record_batch({"id": pa.array(ids), "region": pa.array(["110101", "310104"] * 2500),
                             "n": pa.array(range(5000))})
    with storage.uow() as uow:
        uow.stage_version("entities").write_all([batch, batch])
        [v] = uow.commit()
    [path] = [storage.lake.abspath(v.path) / f for f in v.files]
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert not any("DICTIONARY" in e for e in encodings["id"] + encodings["n"])
    assert any("DICTIONARY" in e for e in encodings["region"])
    assert pq.read_table(path).to_pydict() == pa.Table.from_batches([batch, batch]).to_pydict()


def test_second_version_leaves_first_untouched(storage):
    for _ in range(2):
        with storage.uow() as uow:
            uow.stage_version("population").write(BATCH)
            uow.commit()
    v1, v2 = _versions(storage)
    assert (v1.number, v2.number) == (1, 2) and v1.path != v2.path
    assert (storage.lake.abspath(v1.path) / v1.files[0]).exists()


def test_rollback_discards_staged_files(storage):
    with storage.uow() as uow:
        staged = uow.stage_version("population")
        staged.write(BATCH)
        uow.rollback()
    assert not staged.dir.exists()
    assert _versions(storage) == []


def test_failed_commit_removes_the_renamed_folder(storage, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("database went away")

    with storage.uow() as uow:
        uow.stage_version("population").write(BATCH)
        monkeypatch.setattr(uow.session, "commit", boom)
        with pytest.raises(RuntimeError):
            uow.commit()
    assert list((storage.lake.datasets_root / "population").iterdir()) == []
    assert _versions(storage) == []


def test_schema_change_within_a_version_is_refused(storage):
    with storage.uow() as uow:
        staged = uow.stage_version("population")
        staged.write(BATCH)
        with pytest.raises(Exception, match="schema"):
            staged.write(pa.record_batch({"other": pa.array([1])}))


@pytest.mark.parametrize("point", ["mid-write", "after-rename"])
def test_process_killed_mid_publish_leaves_no_visible_version(storage, settings, point):
    """A real child process is killed (os._exit) mid-publish; the manifest shows nothing new."""
    with storage.uow() as uow:
        uow.stage_version("population").write(BATCH)
        uow.commit()
    script = textwrap.dedent(f"""
        import os, pyarrow as pa
        from huiju.config import Settings
        from huiju.storage.uow import Storage
        import huiju.storage.lake.files as files
        st = Storage.open(Settings(home={str(settings.home)!r}, database_url={settings.db_url!r}))
        batch = pa.record_batch({{"id": pa.array([9]), "name": pa.array(["赵六"])}})
        with st.uow() as uow:
            staged = uow.stage_version("population")
            staged.write(batch)
            if {point!r} == "mid-write":
                os._exit(9)
            real = files.Lake.promote
            def promote_then_die(self, staged, number):
                real(self, staged, number)
                os._exit(9)
            files.Lake.promote = promote_then_die
            uow.commit()
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ}, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    versions = _versions(storage)
    assert [v.number for v in versions] == [1]
    known = {v.path for v in versions}
    leftovers = storage.lake.orphans(known)
    assert leftovers, "the killed writer should have left an orphan folder for gc"
    files = [storage.lake.abspath(versions[0].path) / f for f in versions[0].files]
    assert storage.lake_engine.query("SELECT count(*) AS n FROM t", {"t": files}).to_pylist() == [{"n": 3}]
    # rerunning the publish completes it
    with storage.uow() as uow:
        uow.stage_version("population").write(BATCH)
        uow.commit()
    assert [v.number for v in _versions(storage)] == [1, 2]


def test_storage_open_uses_embedded_defaults(tmp_path):
    from huiju.config import Settings

    s = Settings(home=tmp_path)
    st = Storage.open(s)
    assert st.settings.db_url == f"sqlite:///{tmp_path / 'huiju.db'}"
    assert st.lake.root == tmp_path / "lake"
    st.close()


def test_pages_run_on_their_own_database_with_the_page_threads(tmp_path):
    """A page query gets the same rows on a database limited to ``page_threads``; other queries keep DuckDB's."""
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"k": list(range(100))}), path)
    engine = DuckDBEngine(page_threads=1)
    sql = "SELECT k, current_setting('threads') AS threads FROM t WHERE k > ? ORDER BY k LIMIT 3"
    page = engine.query(sql, {"t": [path]}, [10], page=True).to_pylist()
    assert page == [{"k": k, "threads": 1} for k in (11, 12, 13)]
    whole = engine.query("SELECT current_setting('threads') AS threads", {}).to_pylist()
    assert whole == [{"threads": os.cpu_count()}]
    assert DuckDBEngine(page_threads=3).query("SELECT current_setting('threads') AS n", {}, page=True) \
        .to_pylist() == [{"n": 3}]
