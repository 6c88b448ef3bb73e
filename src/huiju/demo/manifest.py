"""What the generator wrote: files, injected defects and scenarios, as JSON the loader and tests can trust."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


@dataclass
class DataFile:
    """One dataset as a department hands it over (a workbook sheet, a CSV, a SQLite table, a JSON page)."""

    key: str  # ascii dataset key, e.g. "population"
    dataset: str  # Chinese dataset name
    department_code: str
    file: str
    format: str  # sqlite | csv | xlsx | json | geojson
    encoding: str | None
    header_rows: int
    primary_key: list[str]
    columns: list[str]
    required: list[str] = field(default_factory=list)
    rows: int = 0
    sheet: str | None = None  # xlsx sheet name
    table: str | None = None  # sqlite table name
    column_labels: dict[str, str] = field(default_factory=dict)  # coded column -> Chinese label


@dataclass
class Defect:
    """An error put there on purpose; `row` is the 1-based data row, header rows not counted."""

    dataset: str
    file: str
    row: int
    field: str
    kind: str
    original: str | None
    bad: str | None
    detail: str = ""


@dataclass
class Scenario:
    """A story the demo home page tells, with the keys needed to find it in the data."""

    key: str
    title: str
    datasets: list[str]
    facts: dict[str, Any]


@dataclass
class Manifest:
    """Everything one generate() run wrote; same seed and scale give the same manifest."""

    seed: int
    scale: str
    files: list[DataFile] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)

    @property
    def defect_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(d.kind for d in self.defects).items()))

    def file(self, key: str) -> DataFile:
        return next(f for f in self.files if f.key == key)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["defect_counts"] = self.defect_counts
        return data

    def write(self, out_dir: Path) -> Path:
        path = out_dir / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, out_dir: Path) -> Manifest:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        return cls(
            seed=data["seed"],
            scale=data["scale"],
            files=[DataFile(**f) for f in data["files"]],
            defects=[Defect(**d) for d in data["defects"]],
            scenarios=[Scenario(**s) for s in data["scenarios"]],
        )
