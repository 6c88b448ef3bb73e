"""Injected data-quality defects: what kinds exist, how a value is spoiled, and which rows get spoiled."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from huiju.demo.city import NONEXISTENT_REGION_CODES
from huiju.demo.manifest import DataFile, Defect
from huiju.ingest.validators import USCC_CHARS

EXCEL_EPOCH = date(1899, 12, 30)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# Tables above this size are sampled by rejection instead of listing every free row.
LIST_FREE_ROWS_UP_TO = 200_000


class DefectKind(StrEnum):
    BAD_CHECK_DIGIT = "bad_check_digit"
    NORMALISABLE = "normalisable"  # valid once normalised (lowercase x, full-width digits)
    MISSING_REQUIRED = "missing_required"
    DUPLICATE_KEY = "duplicate_key"
    MIXED_DATE = "mixed_date"
    UNKNOWN_REGION = "unknown_region"
    CROSS_DEPT_MISMATCH = "cross_dept_mismatch"
    HIDDEN_SENSITIVE = "hidden_sensitive"


@dataclass(frozen=True)
class Mutation:
    """How one value is spoiled; `name` goes into the defect's detail so tests know what to look for."""

    name: str
    apply: Callable[[Any], Any]


def amount(rate: float, n: int, minimum: int = 1) -> int:
    """How many rows get a defect: the rate, but at least `minimum` so small scale shows every kind."""
    return min(n, max(minimum, round(rate * n)))


def as_date(value: Any) -> date:
    """Dates arrive as date cells (XLSX) or ISO / slash text (CSV)."""
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    return date.fromisoformat(str(value).replace("/", "-"))


def as_text(value: Any) -> str | None:
    """A cell value as the manifest records it."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


DATE_FORMS: dict[str, Callable[[date], Any]] = {
    "cn": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "dotted": lambda d: f"{d.year}.{d.month}.{d.day}",
    "compact": lambda d: f"{d:%Y%m%d}",
    "excel_serial": lambda d: (d - EXCEL_EPOCH).days,
}


def date_forms(*forms: str) -> list[Mutation]:
    return [Mutation(form, lambda v, f=DATE_FORMS[form]: f(as_date(v))) for form in forms]


def bad_check(rng: random.Random, alphabet: str) -> Mutation:
    """Replace the check character with another character of the same alphabet."""

    def spoil(value: str) -> str:
        return value[:-1] + rng.choice([c for c in alphabet if c != value[-1]])

    return Mutation("bad_check_char", spoil)


def bad_id_check(rng: random.Random) -> Mutation:
    return bad_check(rng, "0123456789X")


def bad_uscc_check(rng: random.Random) -> Mutation:
    return bad_check(rng, USCC_CHARS)


def unknown_region(rng: random.Random) -> Mutation:
    return Mutation("nonexistent_code", lambda _: rng.choice(NONEXISTENT_REGION_CODES))


LOWERCASE_X = Mutation("lowercase_x", lambda v: v[:-1] + "x")
FULLWIDTH_DIGITS = Mutation("fullwidth_digits", lambda v: v.translate(FULLWIDTH))
EMPTY = Mutation("empty", lambda _: None)


class DefectLog:
    """Collects defects into the manifest's list with the 1-based row a reader would count."""

    def __init__(self, defects: list[Defect]) -> None:
        self.defects = defects

    def add(self, spec: DataFile, index: int, field: str, kind: str, original: Any, bad: Any, detail: str = "") -> None:
        self.defects.append(
            Defect(spec.key, spec.file, index + 1, field, str(kind), as_text(original), as_text(bad), detail)
        )


class RowPlan:
    """Which data rows of one file get which defect, chosen before writing so rows can be streamed."""

    def __init__(self, log: DefectLog, spec: DataFile, n_rows: int, rng: random.Random) -> None:
        self.log, self.spec, self.n_rows, self.rng = log, spec, n_rows, rng
        self.planned: dict[int, tuple[str, str, Mutation]] = {}
        self.duplicate_of: dict[int, int] = {}
        self.reserved: set[int] = set()

    def _taken(self, index: int) -> bool:
        return index in self.planned or index in self.reserved or index in self.duplicate_of

    def reserve(self, indices: Iterable[int]) -> None:
        """Keep rows clean (scenario rows, duplicate sources)."""
        self.reserved.update(indices)

    def _pick(self, count: int, candidates: Sequence[int] | None) -> list[int]:
        """Free rows in ascending order, drawn from the candidates (all rows by default)."""
        pool = range(self.n_rows) if candidates is None else candidates
        if isinstance(pool, range) and len(pool) > LIST_FREE_ROWS_UP_TO:
            picked: set[int] = set()
            while len(picked) < count:
                index = pool[self.rng.randrange(len(pool))]
                if not self._taken(index):
                    picked.add(index)
            return sorted(picked)
        free = [i for i in pool if not self._taken(i)]
        return sorted(self.rng.sample(free, min(count, len(free))))

    def assign(
        self, kind: str, field: str, count: int, mutations: Sequence[Mutation], candidates: Sequence[int] | None = None
    ) -> list[int]:
        """Spoil `field` in `count` free rows, cycling through the mutations so each form appears."""
        if field not in self.spec.columns:
            raise KeyError(field)
        rows = self._pick(count, candidates)
        for n, index in enumerate(rows):
            self.planned[index] = (kind, field, mutations[n % len(mutations)])
        return rows

    def duplicate(self, count: int) -> None:
        """Make `count` rows repeat the key of the nearest clean row above (picks ascend, so no source is spoilt later)."""
        for index in self._pick(count, range(1, self.n_rows)):
            source = next((s for s in range(index - 1, -1, -1) if not self._taken(s)), None)
            if source is not None:
                self.duplicate_of[index] = source
                self.reserved.add(source)

    @property
    def touched(self) -> set[int]:
        """Rows whose entity should stay out of other departments' files (defect rows and duplicate sources)."""
        return set(self.planned) | set(self.duplicate_of) | set(self.duplicate_of.values())

    def apply(self, rows: Iterable[list[Any]]) -> Iterator[list[Any]]:
        """Yield rows with the planned defects applied and logged."""
        key = self.spec.columns.index(self.spec.primary_key[0])
        sources = set(self.duplicate_of.values())
        held: dict[int, list[Any]] = {}
        for index, row in enumerate(rows):
            if index in sources:
                held[index] = list(row)
            if index in self.duplicate_of:
                source = self.duplicate_of[index]
                self.log.add(self.spec, index, self.spec.primary_key[0], DefectKind.DUPLICATE_KEY, row[key],
                             held[source][key], f"same key as row {source + 1}")
                yield list(held[source])
                continue
            plan = self.planned.get(index)
            if plan is not None:
                kind, field, mutation = plan
                column = self.spec.columns.index(field)
                old = row[column]
                row[column] = mutation.apply(old)
                self.log.add(self.spec, index, field, kind, old, row[column], mutation.name)
            yield row
