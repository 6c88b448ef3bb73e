"""generate(): write every department's source files for 示例市 plus manifest.json, deterministically from a seed."""

from __future__ import annotations

from pathlib import Path

from huiju.demo.context import SCALES, Context, Progress
from huiju.demo.credit import (
    write_credit_lists,
    write_enterprise_tax,
    write_licences,
    write_penalties,
)
from huiju.demo.education import write_schools_and_students
from huiju.demo.enterprises import build_enterprises
from huiju.demo.facilities import (
    write_land_supply,
    write_medical_institutions,
    write_monthly_indicators,
    write_region_boundaries,
)
from huiju.demo.manifest import Manifest
from huiju.demo.monitoring import write_air_quality, write_scenic_flow
from huiju.demo.people import build_population
from huiju.demo.social import (
    write_marriages,
    write_social_insurance,
    write_social_organisations,
)
from huiju.demo.transport import write_bus_swipes, write_taxi_trips

__all__ = ["SCALES", "Manifest", "generate"]


def generate(out_dir: Path, scale: str = "small", seed: int = 2026, progress: Progress | None = None) -> Manifest:
    """Write the demo city's files into out_dir; the same seed and scale always give byte-identical files."""
    # progress(step, rows) gets the rows written since its previous call for that step (every 50 000 rows and once
    # more when the dataset is done), so a progress bar can simply advance by `rows`.
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(out_dir, scale, seed, progress)
    pop = build_population(ctx)
    registry = build_enterprises(ctx, pop)
    write_licences(ctx, registry)
    penalties, offender = write_penalties(ctx, registry)
    write_social_insurance(ctx, pop, registry)
    grades = write_enterprise_tax(ctx, registry, offender)
    write_credit_lists(ctx, registry, penalties, offender, grades)
    write_medical_institutions(ctx)
    write_bus_swipes(ctx)
    write_taxi_trips(ctx, pop)
    write_scenic_flow(ctx)
    write_air_quality(ctx)
    write_land_supply(ctx, registry)
    write_region_boundaries(ctx)
    write_monthly_indicators(ctx)
    write_schools_and_students(ctx, pop)
    write_marriages(ctx, pop)
    write_social_organisations(ctx, pop)
    ctx.manifest.write(out_dir)
    return ctx.manifest
