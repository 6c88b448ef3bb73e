"""Shared state of one generate() run: sizes, seeded random streams, the manifest and progress reports."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from huiju.demo.defects import DefectLog, RowPlan
from huiju.demo.manifest import DataFile, Manifest
from huiju.demo.pools import Gazetteer, NamePools
from huiju.demo.writers import Report

# The day the departments exported their data; every generated date lies before it.
AS_OF = date(2026, 11, 1)
Progress = Callable[[str, int], None]


def add_years(d: date, years: int) -> date:
    """The same day `years` later (29 February becomes 1 March)."""
    return d.replace(year=d.year + years) if (d.month, d.day) != (2, 29) else date(d.year + years, 3, 1)


def date_between(rng: random.Random, first: date, last: date) -> date:
    """A day in [first, last], or first when the range is empty."""
    return date.fromordinal(rng.randint(first.toordinal(), max(first.toordinal(), last.toordinal())))


@dataclass(frozen=True)
class Scale:
    """Row counts per dataset; time series cover `days` days from `first_day`, which always includes 国庆."""

    persons: int
    enterprises: int
    licences: int
    penalties: int
    social_insurance: int
    bus_swipes: int
    taxi_trips: int
    first_day: date
    days: int
    scenic_spots: int
    air_stations: int
    hospitals: int
    schools: int
    social_orgs: int
    marriages: int
    land_parcels: int

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)


SCALES: dict[str, Scale] = {
    "small": Scale(
        persons=2_000, enterprises=500, licences=300, penalties=200, social_insurance=1_500, bus_swipes=5_000,
        taxi_trips=1_000, first_day=date(2026, 10, 1), days=7, scenic_spots=5, air_stations=3, hospitals=30, schools=12,
        social_orgs=40, marriages=50, land_parcels=30,
    ),
    "medium": Scale(
        persons=100_000, enterprises=20_000, licences=15_000, penalties=6_000, social_insurance=70_000,
        bus_swipes=500_000, taxi_trips=50_000, first_day=date(2026, 8, 3), days=90, scenic_spots=12, air_stations=10,
        hospitals=300, schools=150, social_orgs=1_500, marriages=2_500, land_parcels=800,
    ),
    "large": Scale(
        persons=5_000_000, enterprises=1_000_000, licences=500_000, penalties=200_000, social_insurance=3_000_000,
        bus_swipes=20_000_000, taxi_trips=2_000_000, first_day=date(2023, 11, 1), days=1096, scenic_spots=40,
        air_stations=30, hospitals=2_000, schools=3_000, social_orgs=50_000, marriages=120_000, land_parcels=20_000,
    ),
}


class Context:
    """What every dataset writer needs: where to write, how big, its own random stream, and the manifest."""

    def __init__(self, out_dir: Path, scale: str, seed: int, progress: Progress | None) -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        self.out_dir = out_dir
        self.scale = SCALES[scale]
        self.seed = seed
        self.manifest = Manifest(seed=seed, scale=scale)
        self.log = DefectLog(self.manifest.defects)
        self._progress = progress
        self._reported: dict[str, int] = {}
        self.names = NamePools(self.rng("names"), min(20_000, max(2_000, self.scale.persons // 4)))
        self.gazetteer = Gazetteer(self.rng("gazetteer"))

    def rng(self, stream: str) -> random.Random:
        """An independent stream per dataset, so changing one dataset leaves the others' bytes alone."""
        return random.Random(f"huiju-demo:{self.seed}:{stream}")

    def path(self, spec: DataFile) -> Path:
        return self.out_dir / spec.file

    def plan(self, spec: DataFile, n_rows: int) -> RowPlan:
        return RowPlan(self.log, spec, n_rows, self.rng(f"{spec.key}:defects"))

    def report(self, step: str) -> Report:
        """A callback for writers taking the running row count of a step."""
        return lambda rows: self._advance(step, rows)

    def _advance(self, step: str, rows: int) -> None:
        """Tell the progress callback how many rows were written since its last call for this step."""
        if self._progress is not None:
            self._progress(step, rows - self._reported.get(step, 0))
        self._reported[step] = rows

    def done(self, spec: DataFile, rows: int) -> None:
        spec.rows = rows
        self.manifest.files.append(spec)
        self._advance(spec.key, rows)
