"""run_pipeline across many small chunks: keys repeated between chunks, the threads' errors, nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
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
