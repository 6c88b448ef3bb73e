"""Writing versions: stage in a temporary folder, flush, rename into place, then record the manifest row."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from huiju.errors import Invalid

_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,199}$")
ROWS_PER_FILE = 1_000_000
_DICTIONARY_SAMPLE = 65_536  # rows of the first batch looked at to decide each column's encoding
_DICTIONARY_MAX_SHARE = 0.5  # distinct values per row above which a column is written without a dictionary


def dictionary_columns(table: pa.Table) -> list[str]:
    """The columns worth a Parquet dictionary, judged on the first rows: on nearly unique columns (IDs, tokens,
    ciphertext) the writer builds a dictionary, finds it too large and falls back to plain pages, work wasted."""
    sample = table.slice(0, _DICTIONARY_SAMPLE)
    if not sample.num_rows:
        return table.column_names
    return [name for name, col in zip(sample.column_names, sample.columns)
            if pc.count_distinct(col, mode="all").as_py() <= _DICTIONARY_MAX_SHARE * sample.num_rows]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StagedVersion:
    """A version being written; invisible to readers until its unit of work commits."""

    def __init__(self, lake: Lake, dataset_key: str) -> None:
        if not _KEY.match(dataset_key):
            raise Invalid("Invalid dataset key %(key)s", key=dataset_key)
        self.lake = lake
        self.dataset_key = dataset_key
        self.dir = lake.staging_root / f"{dataset_key}-{uuid.uuid4().hex}"
        self.dir.mkdir(parents=True)
        self.files: list[str] = []
        self.row_count = 0
        self.schema: pa.Schema | None = None  # the logical schema: what readers see through catalog.access
        self.transform: Callable[[pa.Table], pa.Table] | None = None  # e.g. column encryption, set when staged
        self._stored_schema: pa.Schema | None = None  # the schema of the files (after ``transform``)
        self._dictionary: list[str] | None = None  # the stored columns written with a dictionary
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_file = 0
        self.closed = False
        self.on_publish: list[Callable[[Any], None]] = []  # run with the manifest row, inside the commit

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        if self.closed:
            raise RuntimeError("version already closed")
        if self.schema is None:
            self.schema = data.schema
        elif not data.schema.equals(self.schema):
            raise Invalid("Batch schema differs from the first batch of this version")
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        if self.transform is not None:
            table = self.transform(table)
        if self._stored_schema is None:
            self._stored_schema = table.schema
        if self._dictionary is None:
            self._dictionary = dictionary_columns(table)
        if self._writer is None or self._rows_in_file >= ROWS_PER_FILE:
            self._roll()
        assert self._writer is not None
        self._writer.write_table(table)
        self._rows_in_file += table.num_rows
        self.row_count += table.num_rows

    def reset(self) -> None:
        """Drop everything written so far, so the version can be written again from its first row."""
        if self.closed:
            raise RuntimeError("version already closed")
        self._close_writer()
        for name in self.files:
            (self.dir / name).unlink(missing_ok=True)
        self.files, self.row_count, self._rows_in_file = [], 0, 0
        self.schema = self._stored_schema = self._dictionary = None

    def write_all(self, batches: Iterable[pa.RecordBatch | pa.Table]) -> StagedVersion:
        for batch in batches:
            self.write(batch)
        return self

    def _roll(self) -> None:
        self._close_writer()
        name = f"part-{len(self.files):05d}.parquet"
        assert self._stored_schema is not None
        self._writer = pq.ParquetWriter(self.dir / name, self._stored_schema, compression="zstd",
                                        use_dictionary=self._dictionary if self._dictionary is not None else True)
        self.files.append(name)
        self._rows_in_file = 0

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with open(self.dir / self.files[-1], "rb") as fh:
                os.fsync(fh.fileno())
            self._writer = None

    def close(self) -> None:
        """Flush every file and the folder so the later rename publishes complete data."""
        if self.closed:
            return
        if self.schema is None:
            raise Invalid("A version needs at least one batch (even an empty one) to know its schema")
        if not self.files:
            self._roll()
        self._close_writer()
        _fsync_dir(self.dir)
        self.closed = True

    @property
    def byte_count(self) -> int:
        return sum((self.dir / f).stat().st_size for f in self.files)

    def schema_json(self) -> list[dict[str, str]]:
        assert self.schema is not None
        return [{"name": f.name, "type": str(f.type)} for f in self.schema]


class Lake:
    """A local folder holding ``datasets/<key>/<version folder>/part-*.parquet`` and a staging area."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging_root = root / "_staging"
        self.datasets_root = root / "datasets"

    def ensure(self) -> None:
        self.staging_root.mkdir(parents=True, exist_ok=True)
        self.datasets_root.mkdir(parents=True, exist_ok=True)

    def stage(self, dataset_key: str) -> StagedVersion:
        self.ensure()
        return StagedVersion(self, dataset_key)

    def promote(self, staged: StagedVersion, number: int) -> str:
        """Rename a closed staged folder into place; returns its path relative to the lake root."""
        staged.close()
        target_parent = self.datasets_root / staged.dataset_key
        target_parent.mkdir(parents=True, exist_ok=True)
        target = target_parent / f"v{number:06d}-{staged.dir.name[-8:]}"
        os.rename(staged.dir, target)
        _fsync_dir(target_parent)
        return str(target.relative_to(self.root))

    def discard(self, relpath: str | Path) -> None:
        shutil.rmtree(self.root / relpath, ignore_errors=True)

    def abspath(self, relpath: str) -> Path:
        return self.root / relpath

    def orphans(self, known: set[str]) -> list[Path]:
        """Folders not recorded in the manifest: staging leftovers and renames whose commit never came."""
        found: list[Path] = []
        if self.staging_root.exists():
            found.extend(self.staging_root.iterdir())
        if self.datasets_root.exists():
            for key_dir in self.datasets_root.iterdir():
                for vdir in key_dir.iterdir():
                    if str(vdir.relative_to(self.root)) not in known:
                        found.append(vdir)
        return found
