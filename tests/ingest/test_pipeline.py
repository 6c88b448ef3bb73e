"""run_pipeline across many small chunks: keys repeated between chunks, the threads' errors, nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huiju.errors import Invalid
from huiju.ingest import pipeline
from huiju.ingest.connectors.base import ConnectorBase
from huiju.ingest.pipeline import Quarantined, run_pipeline
from huiju.ingest.quality import rules_from_schema
from huiju.ingest.schema import TableSchema
from huiju.storage.lake import Lake

TODAY = date(2024, 6, 1)


class Batches(ConnectorBase):
    """A connector over given rows, in record batches of ``size`` rows, optionally failing after ``fail_after``."""

    def __init__(self, rows: list[dict[str, str | None]], size: int, fail_after: int | None = None) -> None:
        super().__init__(None)
        self.columns, self._rows, self._size, self._fail_after = list(rows[0]), rows, size, fail_after
        self.closed = False

    def read(self) -> Iterator[pa.RecordBatch]:
        try:
            for start in range(0, len(self._rows), self._size):
                if self._fail_after is not None and start >= self._fail_after:
                    raise Invalid("The file is empty")  # any connector error
                part = self._rows[start:start + self._size]
                cols = {c: pa.array([r[c] for r in part], pa.string()) for c in self.columns}
                cols["_row"] = pa.array(range(start + 1, start + len(part) + 1), pa.int64())
                yield pa.RecordBatch.from_pydict(cols)
        finally:
            self.closed = True


def _schema(key: list[str]) -> TableSchema:
    return TableSchema.model_validate({"fields": [{"name": "k"}, {"name": "n", "type": "integer"}, {"name": "v"}],
                                       "primaryKey": key})


def _run(tmp_path: Path, rows: list[dict[str, str | None]], key: list[str], *, size: int = 1, chunk_rows: int = 5,
         connector: Batches | None = None) -> tuple[list[Quarantined], pa.Table]:
    schema = _schema(key)
    lake = Lake(tmp_path / "lake")
    lake.ensure()
    staged = lake.stage("t")
    held: list[Quarantined] = []
    stats = run_pipeline(connector or Batches(rows, size), schema, rules_from_schema(schema), staged, today=TODAY,
                         quarantine=held.extend, chunk_rows=chunk_rows)
    staged.close()
    table = pa.concat_tables(pq.read_table(staged.dir / f) for f in staged.files)
    assert stats.rows_read == len(rows) == table.num_rows + len(held)
    return held, table


ROWS = [{"k": k, "n": n, "v": str(i)} for i, (k, n) in enumerate(
    [("a", "1"), ("b", "1"), ("c", "1"), ("a", "2"), ("d", "1"),  # chunk 1: a/2 differs from a/1 only in n
     ("e", "1"), ("a", "1"), ("b", "1"), ("f", "1"), ("A", "1"),  # chunk 2: a/1 and b/1 repeat chunk 1
     ("g", "1"), ("e", "1"), ("e", "1"), ("a", "9")])]  # chunk 3: e/1 twice (once from chunk 2, once within)


@pytest.mark.parametrize("collide", [False, True])
def test_keys_repeated_in_later_chunks_are_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       collide: bool) -> None:
    if collide:  # every key hashes alike: only the exact comparison can tell them apart
        monkeypatch.setattr(pipeline._KeysSeen, "_hash", lambda self, keys: np.zeros(keys.num_rows, np.uint64))
    held, table = _run(tmp_path, ROWS, ["k"])
    reasons = {q.row: q.reasons[0]["rule"] for q in held}
    assert reasons == {4: "unique:k", 7: "primary_key", 8: "primary_key", 12: "primary_key", 13: "unique:k",
                       14: "primary_key"}
    assert sorted(table["k"].to_pylist()) == ["A", "a", "b", "c", "d", "e", "f", "g"]
    first = next(q for q in held if q.row == 7)
    assert first.raw == {"k": "a", "n": "1", "v": "6"} and "a" in first.reasons[0]["message"]
    held, table = _run(tmp_path / "composite", ROWS, ["k", "n"])
    assert {q.row for q in held} == {7, 8, 12, 13}  # a/2 and a/9 are new composite keys
    assert table.num_rows == len(ROWS) - 4


@pytest.mark.parametrize("collide", [False, True])
def test_keys_across_many_chunks_match_a_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   collide: bool) -> None:
    """60 chunks, so the earlier keys sit in several merged runs: the first row of a key is kept, every later one
    quarantined (``unique`` within its chunk, ``primary_key`` across chunks), however the hashes collide."""
    if collide:
        monkeypatch.setattr(pipeline._KeysSeen, "_hash", lambda self, keys: np.zeros(keys.num_rows, np.uint64))
    rng = np.random.default_rng(7)
    rows = [{"k": f"k{rng.integers(0, 120)}", "n": str(rng.integers(0, 3)), "v": str(i)} for i in range(240)]
    held, table = _run(tmp_path, rows, ["k", "n"], size=3, chunk_rows=4)
    expected: dict[int, str] = {}
    first: dict[tuple[str | None, ...], int] = {}
    for i, r in enumerate(rows):
        key = (r["k"], r["n"])
        if key in first:  # rows are numbered from 1; chunks hold 4 rows each
            expected[i + 1] = "unique:k+n" if first[key] // 4 == i // 4 else "primary_key"
        else:
            first[key] = i
    reasons = {q.row: q.reasons[0]["rule"] for q in held}
    assert {r for r, rule in reasons.items() if rule == "primary_key"} == \
        {r for r, rule in expected.items() if rule == "primary_key"}
    assert set(reasons) == set(expected) and len(expected) > 60
    assert sorted(table["v"].to_pylist(), key=int) == [rows[i]["v"] for i in sorted(first.values())]


def test_a_reader_error_stops_the_run_and_closes_the_source(tmp_path: Path) -> None:
    connector = Batches(ROWS, 2, fail_after=8)
    with pytest.raises(Invalid):
        _run(tmp_path, ROWS, ["k"], connector=connector)
    assert connector.closed


def test_a_checking_error_stops_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fail_second(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(*args, **kw)

    real = pipeline.split_batch
    monkeypatch.setattr(pipeline, "split_batch", fail_second)
    rows = [{"k": f"k{i}", "n": "1", "v": "x"} for i in range(200)]
    connector = Batches(rows, 2)
    with pytest.raises(RuntimeError, match="boom"):
        _run(tmp_path, rows, ["k"], connector=connector)
    assert connector.closed and len(calls) == 2  # the reader stopped early and closed the file


def test_a_write_error_reaches_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self: object, data: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline.StagedVersion, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        _run(tmp_path, ROWS, ["k"])


CSV_SCHEMA = {"fields": [{"name": "code", "type": "string", "format": "gb32100", "constraints": {"required": True}},
                         {"name": "name", "type": "string", "constraints": {"required": True, "maxLength": 8}},
                         {"name": "capital", "type": "number", "constraints": {"minimum": 0}},
                         {"name": "founded", "type": "date"}, {"name": "note", "type": "string"}],
              "primaryKey": ["code"]}
CSV_ROWS = ["91350100M000100Y43,甲公司,\"1,000.50\",2020年1月5日, 备注 ",
            "91350100M000100Y44,乙公司,5,2021-02-03,",  # wrong check character
            "91350100M000100Y43,丙公司,6,2021-02-03,重复",  # repeats row 1's key
            "９１３５０１００Ｍ０００１００Ｙ４３,丁,7,2021.2.3,\"多\n行\"",  # full-width, repeats again; a quoted newline
            ",戊,-1,20210203,x",  # no code, negative capital
            "91110000600037341L,一个名字很长很长的公司,abc,2099-01-01,y"]  # too long, not a number, (future ok)


def _csv_run(tmp_path: Path, text: str, *, fused: bool, chunk_rows: int = 1000,
             encoding: str = "utf-8", counted: bool = False) -> tuple[Any, list[Quarantined], pa.Table, int]:
    from huiju.ingest.connectors.csv import CsvConnector

    path = tmp_path / f"in-{fused}.csv"
    path.write_bytes(text.encode(encoding))
    schema = TableSchema.model_validate(CSV_SCHEMA)
    lake = Lake(tmp_path / f"lake-{fused}")
    lake.ensure()
    staged = lake.stage("t")
    held: list[Quarantined] = []
    discards = []

    def discard() -> None:
        discards.append(len(held))
        held.clear()

    connector: Any = CsvConnector(path, batch_rows=2, block_bytes=64)  # the first batch: the first ~3 rows
    if counted:  # as ingest.service hands it over: wrapped, its first batch peeked
        from huiju.ingest.service import _Counted

        connector = _Counted(connector, lambda n: None, hash_batches=False)
        assert connector.peek() is not None
    stats = run_pipeline(connector, schema, rules_from_schema(schema), staged, today=TODAY,
                         quarantine=held.extend, chunk_rows=chunk_rows, discard=discard if fused else None)
    staged.close()
    table = pa.concat_tables(pq.read_table(staged.dir / f) for f in staged.files)
    assert stats.rows_accepted == table.num_rows and stats.rows_read == table.num_rows + len(held)
    return stats, sorted(held, key=lambda q: q.row), table, len(discards)


def _same(a: tuple[Any, list[Quarantined], pa.Table, int], b: tuple[Any, list[Quarantined], pa.Table, int]) -> None:
    assert (a[0].rows_read, a[0].rows_accepted, a[0].rule_counts) == (b[0].rows_read, b[0].rows_accepted,
                                                                      b[0].rule_counts)
    assert [(q.row, q.raw, q.reasons) for q in a[1]] == [(q.row, q.raw, q.reasons) for q in b[1]]
    assert a[2].equals(b[2])


def test_the_fused_duckdb_path_gives_what_the_connector_path_gives(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = pipeline._fused_chunks

    def spy(*args: Any, **kw: Any) -> Any:
        for chunk in real(*args, **kw):
            calls.append(chunk.num_rows)
            yield chunk

    monkeypatch.setattr(pipeline, "_fused_chunks", spy)
    text = "code,name,capital,founded,note,extra\r\n" + "".join(r + ",e\r\n" for r in CSV_ROWS * 3)
    fused = _csv_run(tmp_path, text, fused=True)
    assert fused[3] == 0 and sum(calls) == 18  # DuckDB read every row, and the run did not start over
    slow = _csv_run(tmp_path, text, fused=False)
    assert sum(calls) == 18  # the connector path did not use DuckDB's reader
    _same(fused, slow)
    _same(_csv_run(tmp_path, text, fused=True, counted=True), slow)
    by_row = {q.row: q for q in fused[1]}
    assert set(by_row) == {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}  # row 1 alone is clean
    assert by_row[2].reasons[0]["rule"] == "uscc:code" and by_row[2].raw["name"] == "乙公司"
    assert by_row[4].raw["note"] == "多\n行" and by_row[7].reasons[0]["rule"] in ("unique:code", "primary_key")
    assert fused[2].column("note").to_pylist() == ["备注"] and fused[2].column("capital").to_pylist() == [1000.5]
    assert fused[0].notices  # the extra column is named
    small = _csv_run(tmp_path, text, fused=True, chunk_rows=2)  # keys repeated across chunks: the same rows out
    assert [q.row for q in small[1]] == [q.row for q in fused[1]] and small[2].equals(fused[2])
    assert small[0].rule_counts["primary_key"] > 0


@pytest.mark.parametrize("bad", ["ragged", "quote"])
def test_the_fused_path_starts_over_on_the_connector_when_duckdb_cannot_read_the_file(
        tmp_path: Path, bad: str) -> None:
    rows = [r + ",e" for r in CSV_ROWS] * 2
    rows[7] = {"ragged": "91350100M000100Y43,多,1,2020-01-01,a,b,c", "quote": 'x,"y"z,1,2020-01-01,a,e'}[bad]
    text = "code,name,capital,founded,note,extra\n" + "\n".join(rows) + "\n"
    data_fused = _csv_run(tmp_path, text, fused=True)
    data_slow = _csv_run(tmp_path, text, fused=False)
    assert data_fused[3] == 1  # the fused attempt was dropped, quarantine emptied once
    _same(data_fused, data_slow)
    wrapped = _csv_run(tmp_path, text, fused=True, counted=True)  # the peeked reader was closed: read() reopens
    assert wrapped[3] == 1
    _same(wrapped, data_slow)
    if bad == "ragged":
        assert [q.reasons[0]["rule"] for q in data_fused[1] if q.row == 8] == ["unparsed"]


def test_the_fused_path_notices_replacement_characters(tmp_path: Path) -> None:
    text = "code,name,capital,founded,note,extra\n" + "\n".join(r + ",e\ufffd" for r in CSV_ROWS) + "\n"
    fused, slow = _csv_run(tmp_path, text, fused=True), _csv_run(tmp_path, text, fused=False)
    assert fused[3] == 0
    _same(fused, slow)
    assert fused[0].notices == slow[0].notices and any("6" in n for n in fused[0].notices)
