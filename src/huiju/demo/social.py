"""Files keyed by person or social organisation: 社保参保 (RS, GBK), 婚姻登记 and 社会组织 (MZ)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from huiju.demo.city import (
    CITY_NAME,
    DEPARTMENT_BY_CODE,
    REGION_BY_CODE,
    REGION_CUM,
    REGIONS,
    make_uscc,
)
from huiju.demo.context import AS_OF, Context, add_years, date_between
from huiju.demo.defects import (
    EMPTY,
    LOWERCASE_X,
    DefectKind,
    Mutation,
    amount,
    date_forms,
)
from huiju.demo.enterprises import (
    SOCIAL_ORG_BODIES,
    Enterprises,
    capital_text,
    founding_date,
    org_body,
)
from huiju.demo.manifest import DataFile
from huiju.demo.people import Population
from huiju.demo.pools import INDUSTRIES, TRADE_CHARS, weighted_index
from huiju.demo.writers import write_csv

RESIDENT_LEVELS = (200, 300, 500, 800, 1000, 1500, 2000)
STATES = ("正常参保",) * 8 + ("暂停参保", "终止参保")
SOCIAL_INSURANCE_COLUMNS = [
    "社会保障号码", "姓名", "性别", "出生日期", "险种", "单位名称", "单位统一社会信用代码", "缴费基数（元）", "参保状态",
    "参保日期", "经办机构",
]


def shifted(value: str, rng: random.Random) -> str:
    """Another office's typo in a birth date: off by a few days or weeks."""
    return (date.fromisoformat(value) + timedelta(days=rng.choice((-1, 1)) * rng.randint(1, 40))).isoformat()


def write_social_insurance(ctx: Context, pop: Population, registry: Enterprises) -> None:
    """社保参保 with 社会保障号码 = 身份证号; workers name their employer from the 法人 set."""
    spec = DataFile(
        key="social_insurance", dataset="社会保险参保信息", department_code="RS", file="rs_social_insurance.csv",
        format="csv", encoding="gbk", header_rows=1, primary_key=["社会保障号码"], columns=SOCIAL_INSURANCE_COLUMNS,
        required=["社会保障号码", "姓名", "险种", "参保状态", "参保日期"],
    )
    rng = ctx.rng(spec.key)
    candidates = pop.eligible(0, 120)
    people = rng.sample(candidates, min(ctx.scale.social_insurance, len(candidates)))
    employers = registry.active()
    n = len(people)
    plan = ctx.plan(spec, n)
    ends_in_x = [k for k, i in enumerate(people) if pop.check[i] == ord("X")]
    plan.assign(DefectKind.NORMALISABLE, "社会保障号码", amount(0.003, len(ends_in_x)), [LOWERCASE_X], ends_in_x)
    plan.assign(DefectKind.CROSS_DEPT_MISMATCH, "姓名", amount(0.001, n),
                [Mutation("公安 (population) is the authority", lambda v: ctx.names.variant(v, plan.rng))])
    plan.assign(DefectKind.CROSS_DEPT_MISMATCH, "出生日期", amount(0.001, n),
                [Mutation("公安 (population) is the authority", lambda v: shifted(v, plan.rng))])
    plan.assign(DefectKind.MISSING_REQUIRED, "参保状态", amount(0.002, n), [EMPTY])
    plan.assign(DefectKind.MIXED_DATE, "参保日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))
    plan.duplicate(amount(0.002, n))

    def rows() -> Iterator[list[Any]]:
        for i in people:
            born, age = pop.birth_date(i), pop.age(i)
            unit, unit_code = "", ""
            if age < 18:
                scheme, base, state = "城乡居民基本医疗保险", rng.choice((320, 380, 400)), "正常参保"
                start = date_between(rng, born, AS_OF - timedelta(days=1))
            elif age < 60 and rng.random() < 0.75:
                employer = registry.items[rng.choice(employers)]
                scheme, base, state = "企业职工基本养老保险", rng.randrange(40, 300) * 100, rng.choice(STATES)
                unit, unit_code = employer.name, employer.uscc
                start = date_between(rng, max(add_years(born, 18), employer.founded), AS_OF - timedelta(days=1))
            else:
                scheme, base = "城乡居民基本养老保险", rng.choice(RESIDENT_LEVELS)
                state = "待遇领取" if age >= 60 else "正常参保"
                start = date_between(rng, max(add_years(born, 16), date(2012, 1, 1)), AS_OF - timedelta(days=1))
            yield [
                pop.id(i), pop.name(i), "男" if pop.is_male(i) else "女", born.isoformat(), scheme, unit, unit_code,
                str(base), state, start.isoformat(), f"{REGION_BY_CODE[pop.id(i)[:6]].name}社会保险事业管理中心",
            ]

    ctx.done(spec, write_csv(ctx.path(spec), "gbk", spec.columns, plan.apply(rows()), ctx.report(spec.key)))


MARRIAGE_COLUMNS = ["登记证字号", "登记类型", "登记日期", "男方姓名", "男方身份证号", "女方姓名", "女方身份证号", "登记机关"]


def write_marriages(ctx: Context, pop: Population) -> None:
    """婚姻登记: couples drawn from 人口, married at or above the legal age (男 22, 女 20)."""
    spec = DataFile(
        key="marriages", dataset="婚姻登记信息", department_code="MZ", file="mz_marriage_registrations.csv",
        format="csv", encoding="utf-8", header_rows=1, primary_key=["登记证字号"], columns=MARRIAGE_COLUMNS,
        required=MARRIAGE_COLUMNS,
    )
    rng = ctx.rng(spec.key)
    men = pop.eligible(23, 70, male=True)
    women = pop.eligible(21, 70, male=False)
    n = min(ctx.scale.marriages, len(men), len(women))
    couples = []
    for m, w in zip(rng.sample(men, n), rng.sample(women, n), strict=True):
        first = max(date(2015, 1, 1), add_years(pop.birth_date(m), 22), add_years(pop.birth_date(w), 20))
        couples.append((date_between(rng, first, AS_OF - timedelta(days=1)), m, w, rng.random() < 0.1))
    couples.sort()
    plan = ctx.plan(spec, n)
    x_rows = [k for k, c in enumerate(couples) if pop.check[c[2]] == ord("X")]
    plan.assign(DefectKind.NORMALISABLE, "女方身份证号", amount(0.005, len(x_rows)), [LOWERCASE_X], x_rows)
    plan.assign(DefectKind.MIXED_DATE, "登记日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))

    def rows() -> Iterator[list[Any]]:
        for k, (day, m, w, divorce) in enumerate(couples):
            region = REGION_BY_CODE[pop.id(m)[:6]]
            yield [
                f"{'L' if divorce else 'J'}{region.code}-{day.year}-{k + 1:06d}", "离婚" if divorce else "结婚",
                day.isoformat(), pop.name(m), pop.id(m), pop.name(w), pop.id(w), f"{region.name}民政局婚姻登记处",
            ]

    ctx.done(spec, write_csv(ctx.path(spec), "utf-8", spec.columns, plan.apply(rows()), ctx.report(spec.key)))


ORG_COLUMNS = ["统一社会信用代码", "社会组织名称", "社会组织类型", "法定代表人", "业务主管单位", "成立登记日期",
               "注册资金（万元）", "住所", "登记管理机关", "登记状态"]
SUPERVISORS = ("MZ", "JY", "WJ", "WL", "SJ", "RS")  # plausible 业务主管单位
# (类别代码, 类型, name patterns); {c} = city, {r} = region, {t} = 字号, {i} = industry
ORG_KINDS = (
    ("1", "社会团体", ("{c}{i}协会", "{c}{i}商会", "{r}{t}文化研究会", "{c}{t}书画协会")),
    ("2", "民办非企业单位", ("{r}{t}幼儿园", "{r}{t}培训学校", "{r}{t}养老服务中心", "{r}{t}社会工作服务中心")),
    ("3", "基金会", ("{c}{t}慈善基金会", "{c}{t}教育基金会")),
)


def write_social_organisations(ctx: Context, pop: Population) -> None:
    """社会组织 with credit codes starting 51/52/53 (民政 as 登记管理部门)."""
    spec = DataFile(
        key="social_organisations", dataset="社会组织登记信息", department_code="MZ", file="mz_social_organisations.csv",
        format="csv", encoding="utf-8", header_rows=1, primary_key=["统一社会信用代码"], columns=ORG_COLUMNS,
        required=["统一社会信用代码", "社会组织名称", "社会组织类型", "法定代表人", "成立登记日期"],
    )
    rng = ctx.rng(spec.key)
    adults = pop.eligible(30, 75)
    names: set[str] = set()
    orgs = []
    for k in range(ctx.scale.social_orgs):
        region = REGIONS[weighted_index(REGION_CUM, rng)]
        roll = rng.random()
        category, kind, patterns = ORG_KINDS[0 if roll < 0.55 else 1 if roll < 0.95 else 2]
        while True:
            trade = rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
            name = rng.choice(patterns).format(c=CITY_NAME, r=region.name, t=trade, i=rng.choice(INDUSTRIES))
            if name not in names:
                names.add(name)
                break
        founded = max(founding_date(rng), date(2000, 1, 1))
        city_level = kind != "民办非企业单位"
        code_region = "990100" if city_level else region.code
        orgs.append([
            make_uscc("5" + category, code_region, org_body(SOCIAL_ORG_BODIES + k, founded, "MJ")), name, kind,
            pop.name(rng.choice(adults)), DEPARTMENT_BY_CODE[rng.choice(SUPERVISORS)].name, founded.isoformat(),
            capital_text(rng.choice((3, 5, 10, 20, 50, 200, 400))), ctx.gazetteer.premises(region, rng),
            f"{CITY_NAME if city_level else region.name}民政局", "正常" if rng.random() < 0.95 else "撤销",
        ])
    n = len(orgs)
    plan = ctx.plan(spec, n)
    plan.assign(DefectKind.MISSING_REQUIRED, "法定代表人", amount(0.005, n), [EMPTY])
    plan.assign(DefectKind.MIXED_DATE, "成立登记日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))

    ctx.done(spec, write_csv(ctx.path(spec), "utf-8", spec.columns, plan.apply(orgs), ctx.report(spec.key)))
