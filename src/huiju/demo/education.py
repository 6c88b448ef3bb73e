"""教育局 workbook: 学校名录 and 学生学籍 (students drawn from 人口 by age) on two sheets of one XLSX."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from typing import Any, NamedTuple

from openpyxl import Workbook

from huiju.demo.city import CITY_NAME, REGION_CUM, REGIONS, Region
from huiju.demo.context import AS_OF, Context, date_between
from huiju.demo.defects import EMPTY, FULLWIDTH_DIGITS, DefectKind, amount, date_forms
from huiju.demo.manifest import DataFile
from huiju.demo.people import Population
from huiju.demo.pools import weighted_index
from huiju.demo.writers import fill_sheet, save_workbook

WORKBOOK = "jy_schools_students.xlsx"
NUMERALS = "一二三四五六七八九十"
# School type -> the grades it teaches (1–6 小学, 7–9 初中, 10–12 高中); the cycle keeps every stage present.
STAGES = {
    "小学": range(1, 7),
    "初级中学": range(7, 10),
    "高级中学": range(10, 13),
    "九年一贯制学校": range(1, 10),
    "完全中学": range(7, 13),
}
TYPE_CYCLE = ("小学", "初级中学", "高级中学", "小学", "九年一贯制学校", "小学", "初级中学", "完全中学", "小学", "高级中学")
STAGE_START = {g: 1 if g <= 6 else 7 if g <= 9 else 10 for g in range(1, 13)}  # 入学 is per stage
GRADE_NAMES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级", "高一", "高二", "高三")
SCHOOL_COLUMNS = ["学校标识码", "学校名称", "办学类型", "举办者类型", "行政区划代码", "学校地址", "建校日期"]
STUDENT_COLUMNS = ["学籍号", "姓名", "性别", "身份证件号", "出生日期", "学校标识码", "学校名称", "年级", "班级", "入学日期"]


class School(NamedTuple):
    code: str
    name: str
    kind: str
    region: str


def numeral(n: int) -> str:
    """Chinese numerals 1–99 for 第N中学 names."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else NUMERALS[tens - 1]) + "十" if tens else "") + (NUMERALS[ones - 1] if ones else "")


def _school_name(kind: str, region: Region, rng: random.Random, city_serial: int) -> str:
    stem = rng.choice(region.streets).name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
    if kind == "高级中学":
        return f"{CITY_NAME}第{numeral(city_serial % 99 + 1)}高级中学"
    if kind == "完全中学":
        return f"{CITY_NAME}第{numeral(city_serial % 99 + 1)}中学"
    return f"{region.name}{stem}{'学校' if kind == '九年一贯制学校' else kind}"


def _schools(ctx: Context, rng: random.Random) -> tuple[list[School], list[list[Any]]]:
    schools: list[School] = []
    rows: list[list[Any]] = []
    taken: dict[str, int] = {}
    per_region: dict[str, int] = {}
    for k in range(ctx.scale.schools):
        kind = TYPE_CYCLE[k % len(TYPE_CYCLE)]
        region = REGIONS[weighted_index(REGION_CUM, rng)]
        base = _school_name(kind, region, rng, k)
        taken[base] = taken.get(base, 0) + 1
        name = base if taken[base] == 1 else f"{base}（{numeral(taken[base] % 99 + 1)}校区）"
        per_region[region.code] = per_region.get(region.code, 0) + 1
        school = School(f"2{region.code}{per_region[region.code]:03d}", name, kind, region.code)
        schools.append(school)
        rows.append([
            school.code, name, kind, "民办" if rng.random() < 0.1 else "教育部门", region.code,
            ctx.gazetteer.premises(region, rng), date_between(rng, date(1950, 9, 1), date(2024, 9, 1)),
        ])
    return schools, rows


def write_schools_and_students(ctx: Context, pop: Population) -> None:
    """Every clean 6–17-year-old attends a school teaching their grade, preferably in their home region."""
    school_spec = DataFile(
        key="schools", dataset="学校名录", department_code="JY", file=WORKBOOK, format="xlsx", encoding=None,
        header_rows=1, primary_key=["学校标识码"], columns=SCHOOL_COLUMNS, required=SCHOOL_COLUMNS[:5], sheet="学校名录",
    )
    student_spec = DataFile(
        key="students", dataset="学生学籍信息", department_code="JY", file=WORKBOOK, format="xlsx", encoding=None,
        header_rows=1, primary_key=["学籍号"], columns=STUDENT_COLUMNS,
        required=["学籍号", "姓名", "身份证件号", "学校标识码", "年级", "入学日期"], sheet="学生学籍",
    )
    rng = ctx.rng("students")
    schools, school_rows = _schools(ctx, ctx.rng("schools"))
    by_grade: dict[tuple[int, str | None], list[School]] = {}
    for s in schools:
        for grade in STAGES[s.kind]:
            by_grade.setdefault((grade, s.region), []).append(s)
            by_grade.setdefault((grade, None), []).append(s)
    pupils = [i for i in pop.eligible(6, 17) if rng.random() < 0.97]
    n = len(pupils)
    plan = ctx.plan(student_spec, n)
    plan.assign(DefectKind.NORMALISABLE, "身份证件号", amount(0.005, n), [FULLWIDTH_DIGITS])
    plan.assign(DefectKind.MIXED_DATE, "入学日期", amount(0.01, n, 2), date_forms("excel_serial", "cn"))
    plan.assign(DefectKind.MISSING_REQUIRED, "年级", amount(0.003, n), [EMPTY])

    def rows() -> Iterator[list[Any]]:
        for i in pupils:
            grade = pop.age(i) - 5
            pid = pop.id(i)
            school = rng.choice(by_grade.get((grade, pid[:6])) or by_grade[(grade, None)])
            entered = date(AS_OF.year - (grade - STAGE_START[grade]), 9, 1)
            yield [
                f"G{pid}", pop.name(i), "男" if pop.is_male(i) else "女", pid, pop.birth_date(i), school.code,
                school.name, GRADE_NAMES[grade - 1], f"{rng.randint(1, 12)}班", entered,
            ]

    wb = Workbook(write_only=True)
    wb.properties.creator = "示例市教育局"
    school_count = fill_sheet(wb.create_sheet(school_spec.sheet), SCHOOL_COLUMNS, school_rows)
    student_count = fill_sheet(wb.create_sheet(student_spec.sheet), STUDENT_COLUMNS, plan.apply(rows()),
                               ctx.report(student_spec.key))
    save_workbook(wb, ctx.out_dir / WORKBOOK)
    ctx.done(school_spec, school_count)
    ctx.done(student_spec, student_count)
