"""The 市场监管 法人 authority set: enterprises and 个体工商户 with valid credit codes, written as UTF-8 CSV."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from itertools import accumulate
from typing import Any, NamedTuple

from huiju.demo.city import CITY_NAME, CITY_REGION_CODE, REGION_CUM, REGIONS, make_uscc
from huiju.demo.context import AS_OF, Context
from huiju.demo.defects import (
    EMPTY,
    DefectKind,
    amount,
    bad_uscc_check,
    date_forms,
    unknown_region,
)
from huiju.demo.manifest import DataFile
from huiju.demo.people import Population
from huiju.demo.pools import (
    COMPANY_FORMS,
    INDUSTRIES,
    SHOP_KINDS,
    SURNAMES,
    TRADE_CHARS,
    TRADE_NAMES,
    weighted_index,
)
from huiju.demo.writers import write_csv
from huiju.ingest.validators import USCC_CHARS

NEW_CODES_FROM = date(2015, 10, 1)  # 三证合一: bodies assigned after this start with MA
ACTIVE = ("存续", "在业")
STATUSES = ("存续", "在业", "注销", "吊销", "迁出")
STATUS_CUM = tuple(accumulate((78, 7, 10, 4, 1)))
CAPITALS = (10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000)
CAPITAL_CUM = tuple(accumulate((8, 10, 16, 20, 14, 9, 10, 7, 3, 2, 1)))
SHOP_CAPITALS = (1, 2, 3, 5, 10)
YEARS = tuple(range(1995, 2027))
YEAR_CUM = tuple(accumulate(1 + (y - 1995) ** 1.5 for y in YEARS))
COMPANY_TYPES = (
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（自然人独资）",
    "有限责任公司（国有独资）",
    "有限责任公司（非自然人投资或控股的法人独资）",
)
COMPANY_TYPE_CUM = tuple(accumulate((70, 20, 3, 7)))
SHARE_COMPANY_TYPE = "股份有限公司（非上市、自然人投资或控股）"


def base31(value: int, width: int) -> str:
    """Digits of value in the USCC alphabet, so generated bodies never contain I, O, Z, S or V."""
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 31)
        chars.append(USCC_CHARS[digit])
    return "".join(reversed(chars))


# Index ranges that keep 主体标识码 bodies of enterprises, social organisations and institutions apart.
SOCIAL_ORG_BODIES = 80_000_000
INSTITUTION_BODIES = 85_000_000


def org_body(index: int, founded: date, new_prefix: str = "MA") -> str:
    """A unique 8-char 主体标识码 body: numeric before 2015-10, prefix + base-31 after (both bijective in index)."""
    if founded < NEW_CODES_FROM:
        return f"{(index * 48_271 + 1_234_567) % 90_000_000 + 10_000_000:08d}"
    return new_prefix + base31((index * 7_368_787 + 12_345) % 31**6, 6)


class Enterprise(NamedTuple):
    uscc: str
    name: str
    kind: str  # 企业类型
    representative: str
    capital: int  # 万元
    founded: date
    status: str
    address: str
    region: str
    registrar: str

    @property
    def individual(self) -> bool:
        return self.uscc.startswith("92")


class Enterprises:
    """The 法人 set plus which ones carry a defect in the authority file (they stay out of other departments' data)."""

    def __init__(self) -> None:
        self.items: list[Enterprise] = []
        self.excluded = bytearray()

    def __len__(self) -> int:
        return len(self.items)

    def active(self, individuals: bool = True) -> list[int]:
        return [
            i
            for i, e in enumerate(self.items)
            if not self.excluded[i] and e.status in ACTIVE and (individuals or not e.individual)
        ]


def founding_date(rng: random.Random) -> date:
    year = YEARS[weighted_index(YEAR_CUM, rng)]
    last = AS_OF.toordinal() - 1 if year == AS_OF.year else date(year, 12, 31).toordinal()
    first = date(year, 1, 1).toordinal()
    return date.fromordinal(rng.randint(first, last))


def _company_name(rng: random.Random, region_stem: str) -> str:
    """行政区划 + 字号 + 行业 + 组织形式, the shape the naming rules prescribe."""
    prefix = rng.choice((CITY_NAME, region_stem, ""))
    trade = rng.choice(TRADE_NAMES) if rng.random() < 0.3 else rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
    return f"{prefix}{trade}{rng.choice(INDUSTRIES)}{rng.choice(COMPANY_FORMS)}"


def _shop_name(rng: random.Random, region_name: str) -> str:
    trade = rng.choice(SURNAMES) + "记" if rng.random() < 0.3 else rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
    return f"{region_name}{trade}{rng.choice(SHOP_KINDS)}"


def _draw(ctx: Context, pop: Population, n: int, rng: random.Random) -> Enterprises:
    registry = Enterprises()
    adults = pop.eligible(25, 75)
    names: set[str] = set()
    for i in range(n):
        region = REGIONS[weighted_index(REGION_CUM, rng)]
        individual = rng.random() < 0.15
        founded = founding_date(rng)
        while True:
            name = _shop_name(rng, region.name) if individual else _company_name(rng, region.stem)
            if name not in names:
                names.add(name)
                break
        at_city = not individual and rng.random() < 0.1
        registrar_region = CITY_REGION_CODE if at_city else region.code
        registrar = f"{CITY_NAME if at_city else region.name}市场监督管理局"
        if individual:
            kind, capital = "个体工商户", rng.choice(SHOP_CAPITALS)
        else:
            shares = name.endswith("股份有限公司")
            kind = SHARE_COMPANY_TYPE if shares else COMPANY_TYPES[weighted_index(COMPANY_TYPE_CUM, rng)]
            capital = CAPITALS[weighted_index(CAPITAL_CUM, rng)]
        registry.items.append(
            Enterprise(
                uscc=make_uscc("92" if individual else "91", registrar_region, org_body(i, founded)),
                name=name,
                kind=kind,
                representative=pop.name(rng.choice(adults)),
                capital=capital,
                founded=founded,
                status=STATUSES[weighted_index(STATUS_CUM, rng)],
                address=ctx.gazetteer.premises(region, rng),
                region=region.code,
                registrar=registrar,
            )
        )
        registry.excluded.append(0)
    return registry


LEGAL_ENTITY_COLUMNS = [
    "统一社会信用代码", "企业名称", "企业类型", "法定代表人", "注册资本（万元）", "成立日期", "登记状态", "住所",
    "行政区划代码", "登记机关",
]


def capital_text(capital: float) -> str:
    return f"{capital:.2f}"


def _entity_rows(registry: Enterprises) -> Iterator[list[Any]]:
    for e in registry.items:
        yield [
            e.uscc, e.name, e.kind, e.representative, capital_text(e.capital), e.founded.isoformat(), e.status,
            e.address, e.region, e.registrar,
        ]


def build_enterprises(ctx: Context, pop: Population) -> Enterprises:
    """Generate the 法人 set and write sj_legal_entities.csv with its planted defects."""
    spec = DataFile(
        key="legal_entities",
        dataset="法人登记信息",
        department_code="SJ",
        file="sj_legal_entities.csv",
        format="csv",
        encoding="utf-8",
        header_rows=1,
        primary_key=["统一社会信用代码"],
        columns=LEGAL_ENTITY_COLUMNS,
        required=["统一社会信用代码", "企业名称", "法定代表人", "成立日期", "登记状态"],
    )
    registry = _draw(ctx, pop, ctx.scale.enterprises, ctx.rng("legal_entities"))
    n = len(registry)
    plan = ctx.plan(spec, n)
    plan.assign(DefectKind.BAD_CHECK_DIGIT, "统一社会信用代码", amount(0.005, n), [bad_uscc_check(plan.rng)])
    plan.assign(DefectKind.MISSING_REQUIRED, "法定代表人", amount(0.002, n), [EMPTY])
    plan.assign(DefectKind.MIXED_DATE, "成立日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))
    plan.assign(DefectKind.UNKNOWN_REGION, "行政区划代码", amount(0.002, n), [unknown_region(plan.rng)])
    plan.duplicate(amount(0.002, n))
    for i in plan.touched:
        registry.excluded[i] = 1
    rows = write_csv(ctx.path(spec), "utf-8", spec.columns, plan.apply(_entity_rows(registry)), ctx.report(spec.key))
    ctx.done(spec, rows)
    return registry

