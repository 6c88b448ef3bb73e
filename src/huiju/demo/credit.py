"""Files keyed by enterprise: 双公示 许可/处罚 (SJ), 企业纳税 (SW) and 红黑名单 (FG), all drawn from the 法人 set."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from huiju.demo.city import DEPARTMENT_BY_CODE, REGION_BY_CODE
from huiju.demo.context import AS_OF, Context, add_years
from huiju.demo.defects import EMPTY, FULLWIDTH_DIGITS, DefectKind, amount, date_forms
from huiju.demo.enterprises import CAPITALS, Enterprise, Enterprises, capital_text
from huiju.demo.manifest import DataFile, Scenario
from huiju.demo.pools import mobile
from huiju.demo.writers import write_csv

SJ = DEPARTMENT_BY_CODE["SJ"]
SW = DEPARTMENT_BY_CODE["SW"]
LONG_TERM = date(2099, 12, 31)  # 双公示: 2099/12/31 means 长期
PUBLICATION_WINDOW = 3 * 365  # decisions from the last three years, the longest 公示期

# (文书名称, 许可类别, 证书名称, 编号前缀, 许可内容, 有效年数; 0 = 长期)
LICENCE_TYPES = (
    ("食品经营许可决定书", "普通", "食品经营许可证", "JY", "预包装食品（含冷藏冷冻食品）销售；散装食品销售；热食类食品制售", 5),
    ("食品生产许可决定书", "普通", "食品生产许可证", "SC", "糕点；饮料；方便食品", 5),
    ("工业产品生产许可决定书", "普通", "全国工业产品生产许可证", "XK", "电线电缆；危险化学品包装物、容器", 5),
    ("特种设备使用登记决定书", "登记", "特种设备使用登记证", "TS", "电梯；压力容器", 0),
    ("药品经营许可决定书", "普通", "药品经营许可证", "YJ", "中成药、化学药制剂、抗生素制剂、生化药品", 5),
    ("计量器具型式批准决定书", "认可", "计量器具型式批准证书", "JL", "电子计价秤", 0),
    ("检验检测机构资质认定决定书", "认可", "检验检测机构资质认定证书", "ZD", "建筑材料、环境监测检验检测", 6),
    ("户外广告设置核准决定书", "核准", "户外广告设置许可证", "GG", "户外广告设施设置", 3),
)
# (违法行为类型, 违法事实, 处罚依据)
VIOLATIONS = (
    ("销售不符合食品安全标准的食品", "经查，当事人销售的食品经抽样检验不合格，不符合食品安全标准。", "《中华人民共和国食品安全法》第一百二十四条第一款"),
    ("发布虚假广告", "经查，当事人在经营场所及网络平台发布含有虚假内容的广告。", "《中华人民共和国广告法》第五十五条第一款"),
    ("未按规定公示年度报告", "经查，当事人未按照规定期限公示年度报告。", "《企业信息公示暂行条例》第十八条"),
    ("价格违法行为", "经查，当事人销售商品未按规定明码标价。", "《中华人民共和国价格法》第四十二条"),
    ("生产销售不合格产品", "经查，当事人生产的产品经监督抽查不合格。", "《中华人民共和国产品质量法》第四十九条"),
    ("使用未经检定的计量器具", "经查，当事人使用未经检定的计量器具进行贸易结算。", "《中华人民共和国计量法》第二十六条"),
    ("侵犯注册商标专用权", "经查，当事人销售侵犯注册商标专用权的商品。", "《中华人民共和国商标法》第六十条第二款"),
)
PENALTY_KINDS = (
    ("警告",), ("罚款",), ("罚款",), ("罚款",), ("警告", "罚款"), ("罚款", "没收违法所得、没收非法财物"),
    ("罚款",), ("警告",), ("罚款", "没收违法所得、没收非法财物"), ("责令停产停业", "罚款"),
)
FINES = (0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20)
TAX_GRADES = ("A", "B", "B", "B", "M", "M", "C", "D", "A", "B")
SERIOUS = "责令停产停业"
BLACK_LIST = "严重违法失信名单"


def slash(d: date) -> str:
    """The 双公示 licence date form YYYY/MM/DD."""
    return f"{d:%Y/%m/%d}"


def recent_date(rng: random.Random, not_before: date) -> date:
    """A decision date within the publication window, not before the enterprise existed."""
    first = max(AS_OF.toordinal() - PUBLICATION_WINDOW, not_before.toordinal())
    return date.fromordinal(rng.randint(first, AS_OF.toordinal() - 1))


def years_later(d: date, years: int) -> date:
    """The last day of a term of `years` years starting on d."""
    return add_years(d, years) - timedelta(days=1)


LICENCE_COLUMNS = [
    "行政许可决定文书号", "行政许可决定文书名称", "行政相对人名称", "行政相对人类别", "行政相对人代码_1（统一社会信用代码）",
    "法定代表人", "许可类别", "许可证书名称", "许可编号", "许可内容", "许可决定日期", "有效期自", "有效期至", "许可机关",
    "许可机关统一社会信用代码", "当前状态", "数据来源单位", "数据来源单位统一社会信用代码", "备注",
]


def subject_kind(e: Enterprise) -> str:
    return "个体工商户" if e.individual else "法人及非法人组织"


def write_licences(ctx: Context, registry: Enterprises) -> None:
    """行政许可 in 双公示 form; its 备注 column quietly holds applicants' mobile numbers."""
    spec = DataFile(
        key="licences", dataset="行政许可信息", department_code="SJ", file="sj_admin_licences.csv", format="csv",
        encoding="utf-8", header_rows=1, primary_key=["行政许可决定文书号"], columns=LICENCE_COLUMNS,
        required=["行政许可决定文书号", "行政相对人名称", "行政相对人代码_1（统一社会信用代码）", "许可内容", "许可决定日期", "许可机关"],
    )
    rng = ctx.rng(spec.key)
    active = registry.active()
    picks = [(i, rng.randrange(len(LICENCE_TYPES))) for i in (rng.choice(active) for _ in range(ctx.scale.licences))]
    decisions = sorted((recent_date(rng, registry.items[i].founded), i, t) for i, t in picks)
    n = len(decisions)
    plan = ctx.plan(spec, n)
    plan.assign(DefectKind.MIXED_DATE, "许可决定日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))
    plan.assign(DefectKind.MISSING_REQUIRED, "许可内容", amount(0.003, n), [EMPTY])
    plan.duplicate(amount(0.003, n))
    phones = [mobile(rng) if rng.random() < 0.65 else "" for _ in range(n)]

    def rows() -> Iterator[list[Any]]:
        serial: dict[int, int] = {}
        for n_row, (decided, i, t) in enumerate(decisions):
            e = registry.items[i]
            title, category, certificate, prefix, content, years = LICENCE_TYPES[t]
            serial[decided.year] = serial.get(decided.year, 0) + 1
            until = LONG_TERM if years == 0 else years_later(decided, years)
            yield [
                f"示市监许〔{decided.year}〕{serial[decided.year]}号", title, e.name, subject_kind(e), e.uscc,
                e.representative, category, certificate, f"{prefix}{e.region}{decided.year}{n_row + 1:07d}", content,
                slash(decided), slash(decided), slash(until), SJ.name, SJ.uscc, "有效" if until >= AS_OF else "无效",
                SJ.name, SJ.uscc, phones[n_row],
            ]

    rows_written = write_csv(ctx.path(spec), "utf-8", spec.columns, plan.apply(rows()), ctx.report(spec.key))
    first = next(i for i, p in enumerate(phones) if p and i not in plan.touched)
    ctx.log.add(spec, first, "备注", DefectKind.HIDDEN_SENSITIVE, None, phones[first],
                "the whole 备注 column holds applicants' mobile numbers (about two rows in three)")
    ctx.done(spec, rows_written)


@dataclass(frozen=True)
class Penalty:
    decided: date
    enterprise: int
    violation: int
    kinds: tuple[str, ...]
    fine: float
    confiscated: float


PENALTY_COLUMNS = [
    "行政处罚决定书文号", "行政相对人名称", "行政相对人类别", "行政相对人代码_1（统一社会信用代码）", "法定代表人",
    "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）", "暂扣或吊销证照名称及编号", "处罚决定日期", "处罚有效期", "公示截止期",
    "处罚机关", "处罚机关统一社会信用代码", "数据来源单位", "数据来源单位统一社会信用代码", "备注",
]


def _penalty(rng: random.Random, decided: date, i: int, violation: int, kinds: tuple[str, ...]) -> Penalty:
    fine = rng.choice(FINES) if "罚款" in kinds else 0.0
    confiscated = round(rng.uniform(0.1, 5), 2) if "没收违法所得、没收非法财物" in kinds else 0.0
    return Penalty(decided, i, violation, kinds, fine, confiscated)


def _repeat_offender(rng: random.Random, registry: Enterprises, active: list[int]) -> tuple[int, list[Penalty]]:
    """One company punished four times in 18 months for the same thing, escalating to suspension."""
    veteran = [i for i in active if not registry.items[i].individual and registry.items[i].founded.year <= 2020]
    i = rng.choice(veteran)
    ladder = (
        (600, ("警告",)), (420, ("罚款",)), (250, ("罚款", "没收违法所得、没收非法财物")), (90, ("责令停产停业", "罚款")),
    )
    return i, [_penalty(rng, AS_OF - timedelta(days=days), i, 0, kinds) for days, kinds in ladder]


def write_penalties(ctx: Context, registry: Enterprises) -> tuple[list[Penalty], int]:
    """行政处罚 in 双公示 form, including the repeat offender; returns the penalties and the offender."""
    spec = DataFile(
        key="penalties", dataset="行政处罚信息", department_code="SJ", file="sj_admin_penalties.csv", format="csv",
        encoding="utf-8", header_rows=1, primary_key=["行政处罚决定书文号"], columns=PENALTY_COLUMNS,
        required=["行政处罚决定书文号", "行政相对人名称", "行政相对人代码_1（统一社会信用代码）", "违法事实", "处罚依据",
                  "处罚类别", "处罚决定日期", "处罚机关"],
    )
    rng = ctx.rng(spec.key)
    active = registry.active()
    offender, ladder = _repeat_offender(rng, registry, active)
    others = [i for i in active if i != offender]
    penalties = ladder + [
        _penalty(rng, recent_date(rng, registry.items[i].founded), i, rng.randrange(len(VIOLATIONS)),
                 rng.choice(PENALTY_KINDS))
        for i in (rng.choice(others) for _ in range(ctx.scale.penalties - len(ladder)))
    ]
    penalties.sort(key=lambda p: (p.decided, p.enterprise))
    n = len(penalties)
    plan = ctx.plan(spec, n)
    offender_rows = [k for k, p in enumerate(penalties) if p.enterprise == offender]
    plan.reserve(offender_rows)
    plan.assign(DefectKind.MIXED_DATE, "处罚决定日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))
    plan.assign(DefectKind.MISSING_REQUIRED, "违法事实", amount(0.005, n), [EMPTY])

    def rows() -> Iterator[list[Any]]:
        serial: dict[int, int] = {}
        for p in penalties:
            e = registry.items[p.enterprise]
            kind, facts, basis = VIOLATIONS[p.violation]
            serial[p.decided.year] = serial.get(p.decided.year, 0) + 1
            content = "，".join(
                f"罚款人民币{p.fine:g}万元" if k == "罚款" else f"没收违法所得{p.confiscated:g}万元"
                if k.startswith("没收") else k for k in p.kinds
            )
            shown_for = 3 if p.kinds == ("警告",) else 36
            yield [
                f"示市监处罚〔{p.decided.year}〕{serial[p.decided.year]}号", e.name, subject_kind(e), e.uscc,
                e.representative, kind, facts, basis, ";".join(p.kinds), content, f"{p.fine:g}", f"{p.confiscated:g}",
                "", p.decided.isoformat(), years_later(p.decided, 1).isoformat(),
                (p.decided + timedelta(days=shown_for * 30)).isoformat(), SJ.name, SJ.uscc, SJ.name, SJ.uscc, "",
            ]

    rows_written = write_csv(ctx.path(spec), "utf-8", spec.columns, plan.apply(rows()), ctx.report(spec.key))
    ctx.done(spec, rows_written)
    e = registry.items[offender]
    ctx.manifest.scenarios.append(Scenario(
        key="repeat_offender",
        title="多次受罚企业被列入严重违法失信名单",
        datasets=["penalties", "credit_lists", "legal_entities"],
        facts={"uscc": e.uscc, "name": e.name, "penalty_rows": [k + 1 for k in offender_rows], "list": BLACK_LIST},
    ))
    return penalties, offender


TAX_COLUMNS = ["纳税人识别号", "纳税人名称", "法定代表人", "注册资本（万元）", "所属年度", "税种", "实缴税额（元）",
               "纳税信用等级", "主管税务机关"]


def _taxes(rng: random.Random, e: Enterprise) -> list[tuple[str, float]]:
    """The taxes one enterprise paid in a year, roughly proportional to its size."""
    vat = round(e.capital * rng.uniform(300, 3000), 2) if not e.individual else round(rng.uniform(2000, 30000), 2)
    taxes = [("增值税", vat), ("城市维护建设税", round(vat * 0.07, 2))]
    if e.individual:
        taxes.append(("个人所得税（经营所得）", round(vat * rng.uniform(0.1, 0.3), 2)))
    else:
        if rng.random() < 0.8:
            taxes.append(("企业所得税", round(vat * rng.uniform(0.2, 0.8), 2)))
        if rng.random() < 0.6:
            taxes.append(("个人所得税（代扣代缴）", round(vat * rng.uniform(0.05, 0.3), 2)))
    return taxes


def write_enterprise_tax(ctx: Context, registry: Enterprises, offender: int) -> dict[int, str]:
    """企业纳税 where a few firms show another 注册资本 or 法定代表人; returns 2025 纳税信用等级 for the 红名单."""
    spec = DataFile(
        key="enterprise_tax", dataset="企业纳税信息", department_code="SW", file="sw_enterprise_tax.csv", format="csv",
        encoding="utf-8", header_rows=1, primary_key=["纳税人识别号", "所属年度", "税种"], columns=TAX_COLUMNS,
        required=["纳税人识别号", "纳税人名称", "所属年度", "税种", "实缴税额（元）"],
    )
    rng = ctx.rng(spec.key)
    taxed = sorted({offender} | {i for i in registry.active() if registry.items[i].founded.year <= 2025 and
                                 rng.random() < 0.7})
    companies = [i for i in taxed if i != offender and not registry.items[i].individual]
    suspects = rng.sample(companies, 3 * amount(0.001, len(taxed)))
    k = len(suspects) // 3
    capital_differs, representative_differs, fullwidth = suspects[:k], suspects[k : 2 * k], set(suspects[2 * k :])
    altered: dict[int, tuple[str, str]] = {}
    for i in capital_differs:
        e = registry.items[i]
        altered[i] = ("注册资本（万元）", capital_text(rng.choice([c for c in CAPITALS if c != e.capital])))
    for i in representative_differs:
        altered[i] = ("法定代表人", ctx.names.variant(registry.items[i].representative, rng))
    grades: dict[int, str] = {}

    def rows() -> Iterator[list[Any]]:
        index = 0
        for i in taxed:
            e = registry.items[i]
            values = {"注册资本（万元）": capital_text(e.capital), "法定代表人": e.representative}
            field, new = altered.get(i, ("", ""))
            for year in (2024, 2025):
                if e.founded.year > year:
                    continue
                grade = "D" if i == offender else rng.choice(TAX_GRADES)
                grades[i] = grade
                office = f"国家税务总局示例市{REGION_BY_CODE[e.region].name}税务局"
                for tax, paid in _taxes(rng, e):
                    row = [e.uscc, e.name, values["法定代表人"], values["注册资本（万元）"], str(year), tax, f"{paid:.2f}",
                           grade, office]
                    if field:
                        column = TAX_COLUMNS.index(field)
                        row[column] = new
                        ctx.log.add(spec, index, field, DefectKind.CROSS_DEPT_MISMATCH, values[field], new,
                                    "市场监管 (legal_entities) is the authority")
                    elif i in fullwidth:
                        row[0] = FULLWIDTH_DIGITS.apply(e.uscc)
                        ctx.log.add(spec, index, "纳税人识别号", DefectKind.NORMALISABLE, e.uscc, row[0],
                                    FULLWIDTH_DIGITS.name)
                        fullwidth.discard(i)
                    yield row
                    index += 1

    rows_written = write_csv(ctx.path(spec), "utf-8", spec.columns, rows(), ctx.report(spec.key))
    ctx.done(spec, rows_written)
    return grades


CREDIT_COLUMNS = ["名单类型", "名单名称", "主体名称", "统一社会信用代码", "法定代表人", "列入原因", "列入日期", "认定部门",
                  "有效期至"]


def write_credit_lists(
    ctx: Context, registry: Enterprises, penalties: list[Penalty], offender: int, grades: dict[int, str]
) -> None:
    """红黑名单: seriously punished firms (with the repeat offender) on the black list, A-grade taxpayers on the red."""
    spec = DataFile(
        key="credit_lists", dataset="信用红黑名单", department_code="FG", file="fg_credit_lists.csv", format="csv",
        encoding="utf-8-sig", header_rows=1, primary_key=["统一社会信用代码", "名单名称"], columns=CREDIT_COLUMNS,
        required=["名单类型", "名单名称", "主体名称", "统一社会信用代码", "列入日期", "认定部门"],
    )
    rng = ctx.rng(spec.key)
    listed: dict[int, date] = {}
    for p in penalties:
        if p.enterprise == offender or SERIOUS in p.kinds:
            listed[p.enterprise] = max(listed.get(p.enterprise, p.decided), p.decided)
    black = [
        ["黑名单", BLACK_LIST, registry.items[i].name, registry.items[i].uscc, registry.items[i].representative,
         "一年内因同一违法行为受到三次以上行政处罚" if i == offender else "受到责令停产停业的行政处罚",
         (d + timedelta(days=20)).isoformat(), SJ.name, years_later(d + timedelta(days=20), 3).isoformat()]
        for i, d in sorted(listed.items(), key=lambda item: (item[1], item[0]))
    ]
    red = [
        ["红名单", "纳税信用A级纳税人名单", registry.items[i].name, registry.items[i].uscc,
         registry.items[i].representative, "2025年度纳税信用评价为A级", date(2026, 4, rng.randint(1, 30)).isoformat(),
         SW.name, "2027-03-31"]
        for i, grade in sorted(grades.items()) if grade == "A"
    ]
    rows_list = black + red
    n = len(rows_list)
    plan = ctx.plan(spec, n)
    offender_code = registry.items[offender].uscc
    plan.reserve(k for k, row in enumerate(rows_list) if row[3] == offender_code)
    plan.assign(DefectKind.MIXED_DATE, "列入日期", amount(0.01, n, 3), date_forms("cn", "dotted", "compact"))
    written = write_csv(ctx.path(spec), "utf-8-sig", spec.columns, plan.apply(rows_list), ctx.report(spec.key))
    ctx.done(spec, written)
    scenario = next(s for s in ctx.manifest.scenarios if s.key == "repeat_offender")
    scenario.facts["list_row"] = next(k + 1 for k, row in enumerate(rows_list) if row[3] == offender_code)
