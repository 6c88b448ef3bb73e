"""Bad files and killed processes: a clear error or the right quarantine, and the served version never changes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import zipfile
from datetime import date

import openpyxl
import pytest

from huiju.catalog import service as catalog
from huiju.ingest import service

HEADER = "统一社会信用代码,企业名称\n"
GOOD = "91340600MA2PBP2120,甲公司\n91110000600037341L,乙公司\n"


@pytest.fixture
def loaded(storage, people, tmp_path):
    """A dataset with one good version in service."""
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="firms", name="企业", department_code="GA")
    with storage.uow() as uow:
        catalog.save_schema(uow, people["op"], "firms", confirmed=True, rules=[], table_schema={
            "fields": [{"name": "统一社会信用代码", "format": "gb32100", "constraints": {"required": True}},
                       {"name": "企业名称"}], "primaryKey": ["统一社会信用代码"]})
    src = tmp_path / "good.csv"
    src.write_text(HEADER + GOOD, encoding="utf-8")
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["op"], dataset_key="firms", path=src, today=date(2026, 11, 1))
    return job.version_id


def _xlsx_bytes(rows, formula=False) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if formula:
        ws["B3"] = "=A2&A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    return buf.getvalue()


BAD_FILES = {
    "empty.csv": (b"", "空"),
    "header_only.csv": (HEADER.encode(), None),
    "unterminated.csv": ((HEADER + '91340600MA2PBP2120,"甲公司\n').encode(), None),
    "declared_utf8_is_gbk.csv": ((HEADER + GOOD).encode("gbk"), "utf-8"),
    "corrupt.xlsx": (b"PK\x03\x04garbage", None),
    "bomb.xlsx": (_bomb(), None),
    "missing_column.csv": ("企业名称\n甲公司\n".encode(), None),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_fail_clearly_and_change_nothing(storage, people, loaded, tmp_path, name):
    content, hint = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    encoding = "utf-8" if name.startswith("declared_utf8") else None
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["op"], dataset_key="firms", path=path, encoding=encoding)
    with storage.uow() as uow:
        current = catalog.current_version(uow, people["op"], "firms")
    if name == "header_only.csv":  # a valid, empty delivery: a new empty version, nothing lost
        assert job.status == "succeeded" and job.rows_read == 0
        return
    if name == "unterminated.csv":  # the good rows load, the broken one is quarantined or the file refused
        assert job.status in ("failed", "succeeded")
        if job.status == "succeeded":
            assert job.rows_rejected >= 1
            return
    assert job.status == "failed" and job.error, name
    assert job.kept_file and os.path.exists(job.kept_file)
    assert current.id == loaded


def test_formulas_without_values_are_quarantined(storage, people, loaded, tmp_path):
    path = tmp_path / "formula.xlsx"
    path.write_bytes(_xlsx_bytes([["统一社会信用代码", "企业名称"], ["91340600MA2PBP2120", "甲"],
                                  ["91110000600037341L", "乙"]], formula=True))
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["op"], dataset_key="firms", path=path)
    assert job.status == "succeeded" and job.rows_rejected == 1 and job.rows_accepted == 1


def _wide(tmp_path, columns: int):
    wide = tmp_path / f"wide{columns}.csv"
    names = [f"c{i}" for i in range(columns)]
    wide.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n" + "1,2,3\n", encoding="utf-8")
    return wide


def test_ragged_rows_are_quarantined(storage, people, tmp_path):
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="wide", name="宽表", department_code="GA")
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["op"], dataset_key="wide", path=_wide(tmp_path, 12))
    assert job.status == "succeeded", job.error
    assert (job.rows_read, job.rows_accepted, job.rows_rejected) == (2, 1, 1)


def test_a_ten_thousand_column_file_is_refused_clearly(storage, people, tmp_path):
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="wide", name="宽表", department_code="GA")
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["op"], dataset_key="wide", path=_wide(tmp_path, 10_000))
    assert job.status == "failed" and "10000" in job.error and "HUIJU_INGEST_MAX_COLUMNS" in job.error


@pytest.mark.parametrize("point", ["after-first-batch", "after-rename"])
def test_a_killed_job_leaves_the_old_version_and_a_rerun_completes(storage, settings, people, loaded, tmp_path, point):
    big = tmp_path / "big.csv"
    from huiju.ingest.validators import gb32100_check_char

    lines = []
    for i in range(1, 3001):
        body = f"91990100MA{i:07d}"
        lines.append(f"{body}{gb32100_check_char(body)},公司{i}")
    big.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from huiju.auth.roles import Actor
        from huiju.config import Settings
        from huiju.ingest import pipeline, service
        import huiju.storage.lake.files as files
        from huiju.storage.uow import Storage
        st = Storage.open(Settings(home={str(settings.home)!r}, database_url={settings.db_url!r}))
        if {point!r} == "after-first-batch":
            real = pipeline.split_batch
            def split_then_die(*a, **k):
                real(*a, **k)
                os._exit(9)
            pipeline.split_batch = split_then_die
        else:
            real = files.Lake.promote
            def promote_then_die(self, staged, number):
                real(self, staged, number)
                os._exit(9)
            files.Lake.promote = promote_then_die
        with st.uow() as uow:
            service.ingest_file(uow, Actor.system(), dataset_key="firms", path=Path({str(big)!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 9, proc.stderr
    with storage.uow() as uow:
        assert catalog.current_version(uow, people["op"], "firms").id == loaded
        assert len(catalog.list_versions(uow, people["op"], "firms")) == 1
    with storage.uow() as uow:
        job = service.ingest_file(uow, people["op"], dataset_key="firms", path=big)
    assert job.status == "succeeded" and job.rows_accepted == 3000
    with storage.uow() as uow:
        assert catalog.current_version(uow, people["op"], "firms").row_count == 3000
