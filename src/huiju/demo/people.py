"""The 公安 人口 authority set: generated once, kept compact, written as the bureau's SQLite system export."""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from datetime import date
from itertools import accumulate
from typing import Any

from huiju.demo.city import REGION_CUM, REGIONS
from huiju.demo.context import AS_OF, Context
from huiju.demo.defects import EMPTY, DefectKind, amount, bad_id_check, unknown_region
from huiju.demo.manifest import DataFile
from huiju.demo.pools import ETHNIC_CUM, ETHNIC_GROUPS, weighted_index
from huiju.demo.writers import write_sqlite
from huiju.ingest.validators import gb11643_check_char

AS_OF_INT = AS_OF.year * 10_000 + AS_OF.month * 100 + AS_OF.day
# Five-year age bands 0–4 … 90–94, shaped like the 2020 census pyramid.
AGE_CUM = tuple(accumulate((78, 90, 86, 73, 75, 91, 124, 99, 93, 114, 122, 101, 74, 74, 50, 31, 20, 10, 4)))
REGION_INTS = tuple(int(r.code) for r in REGIONS)
REGION_POSITION = {code: n for n, code in enumerate(REGION_INTS)}

POPULATION_LABELS = {
    "GMSFHM": "公民身份号码",
    "XM": "姓名",
    "XB": "性别（1男 2女）",
    "MZ": "民族",
    "CSRQ": "出生日期",
    "HJDZ_XZQHDM": "户籍地址行政区划代码",
    "HJDZ_JDXZDM": "户籍地址街道乡镇代码",
    "HJDZ_DZMC": "户籍地址",
    "GXSJ": "更新时间",
}


def ymd_to_date(ymd: int) -> date:
    return date(ymd // 10_000, ymd // 100 % 100, ymd % 100)


class Population:
    """Everyone in 示例市 as parallel arrays (ID digits, check char, birth date, name index) to stay small at 5 M."""

    def __init__(self, ctx: Context) -> None:
        self.names = ctx.names
        self.id17 = array("q")
        self.check = bytearray()
        self.birth = array("l")
        self.name_ix = array("l")
        self.excluded = bytearray()

    def __len__(self) -> int:
        return len(self.id17)

    def id(self, i: int) -> str:
        return f"{self.id17[i]}{chr(self.check[i])}"

    def is_male(self, i: int) -> bool:
        return self.id17[i] % 2 == 1

    def name(self, i: int) -> str:
        return (self.names.male if self.is_male(i) else self.names.female)[self.name_ix[i]]

    def birth_date(self, i: int) -> date:
        return ymd_to_date(self.birth[i])

    def age(self, i: int) -> int:
        return (AS_OF_INT - self.birth[i]) // 10_000

    def eligible(self, min_age: int, max_age: int, male: bool | None = None) -> list[int]:
        """Clean persons (no defect in 人口) of an age range, the pool other departments draw from."""
        low, high = AS_OF_INT - (max_age + 1) * 10_000, AS_OF_INT - min_age * 10_000
        birth, excluded, id17 = self.birth, self.excluded, self.id17
        return [
            i
            for i in range(len(id17))
            if not excluded[i] and low < birth[i] <= high and (male is None or (id17[i] % 2 == 1) == male)
        ]

    def add_people(self, n: int, rng: random.Random) -> None:
        """Draw n people with unique ID numbers: the 顺序码 comes from a per-(区划, 生日, 性别) counter."""
        counters: dict[int, int] = {}
        day0 = AS_OF.toordinal() - 1
        pool_size = len(self.names.male)
        for _ in range(n):
            r = weighted_index(REGION_CUM, rng)
            ordinal = day0 - int((weighted_index(AGE_CUM, rng) * 5 + rng.random() * 5) * 365.2425)
            male = 1 if rng.random() < 0.512 else 0
            key = ordinal * 32 + r * 2 + male
            count = counters.get(key, 0)
            counters[key] = count + 1
            if count >= 499:
                raise RuntimeError("too many people born on one day in one region for 3-digit 顺序码")
            seq = 2 * ((ordinal * 7 + r * 131 + male * 17 + count) % 499 + 1) + male
            d = date.fromordinal(ordinal)
            ymd = d.year * 10_000 + d.month * 100 + d.day
            id17 = REGION_INTS[r] * 100_000_000_000 + ymd * 1000 + seq
            self.id17.append(id17)
            self.check.append(ord(gb11643_check_char(str(id17))))
            self.birth.append(ymd)
            self.name_ix.append(rng.randrange(pool_size))
            self.excluded.append(0)


def _population_rows(ctx: Context, pop: Population, rng: random.Random) -> Iterator[list[Any]]:
    """The 公安 record of each person: 户籍 mostly in the region of birth, an update time since 2010."""
    first_update = date(2010, 1, 1).toordinal()
    for i in range(len(pop)):
        pid = pop.id(i)
        born_in = REGION_POSITION[pop.id17[i] // 100_000_000_000]
        region = REGIONS[born_in if rng.random() < 0.85 else weighted_index(REGION_CUM, rng)]
        street, address = ctx.gazetteer.home(region, rng)
        seconds = rng.randrange(86_400)
        since = max(first_update, pop.birth_date(i).toordinal())
        updated = date.fromordinal(since + rng.randrange(AS_OF.toordinal() - since))
        yield [
            pid,
            pop.name(i),
            "1" if pop.is_male(i) else "2",
            ETHNIC_GROUPS[weighted_index(ETHNIC_CUM, rng)],
            pid[6:14],
            region.code,
            street.code,
            address,
            f"{updated} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
        ]


def build_population(ctx: Context) -> Population:
    """Generate the people and write ga_population.sqlite; people with a defect there stay out of other files."""
    spec = DataFile(
        key="population",
        dataset="人口基本信息",
        department_code="GA",
        file="ga_population.sqlite",
        format="sqlite",
        encoding=None,
        header_rows=0,
        primary_key=["GMSFHM"],
        columns=list(POPULATION_LABELS),
        required=["GMSFHM", "XM", "XB", "CSRQ", "HJDZ_XZQHDM"],
        table="RK_JBXX",
        column_labels=POPULATION_LABELS,
    )
    rng = ctx.rng("population")
    pop = Population(ctx)
    pop.add_people(ctx.scale.persons, rng)
    n = len(pop)
    plan = ctx.plan(spec, n)
    plan.assign(DefectKind.BAD_CHECK_DIGIT, "GMSFHM", amount(0.005, n), [bad_id_check(plan.rng)])
    plan.assign(DefectKind.MISSING_REQUIRED, "XM", amount(0.001, n), [EMPTY])
    plan.assign(DefectKind.UNKNOWN_REGION, "HJDZ_XZQHDM", amount(0.001, n), [unknown_region(plan.rng)])
    plan.duplicate(amount(0.001, n))
    for i in plan.touched:
        pop.excluded[i] = 1
    rows = write_sqlite(
        ctx.path(spec), spec.table or "", spec.columns, plan.apply(_population_rows(ctx, pop, rng)),
        POPULATION_LABELS, ctx.report(spec.key),
    )
    ctx.done(spec, rows)
    return pop

