"""Workbooks with awkward headers (医疗机构, 土地供应, 月度指标) and the district map, as those bureaus keep them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date
from typing import Any

from openpyxl import Workbook

from huiju.demo.city import (
    CITY_NAME,
    DEPARTMENT_BY_CODE,
    REGION_CUM,
    REGIONS,
    make_uscc,
)
from huiju.demo.context import Context, add_years, date_between
from huiju.demo.defects import EMPTY, DefectKind, amount, date_forms
from huiju.demo.enterprises import INSTITUTION_BODIES, Enterprises, org_body
from huiju.demo.manifest import DataFile
from huiju.demo.pools import TRADE_CHARS, Gazetteer, weighted_index
from huiju.demo.writers import save_workbook

# (group label on the merged top row, the columns under it)
HOSPITAL_GROUPS = (
    ("基本信息", ("机构名称", "统一社会信用代码", "机构类别", "医院等级")),
    ("规模", ("床位数", "卫生技术人员数")),
    ("位置", ("地址", "行政区划代码", "经度", "纬度")),
    ("登记", ("成立日期", "执业许可证有效期至")),
)
HOSPITAL_COLUMNS = [c for _, columns in HOSPITAL_GROUPS for c in columns]
BEDS = {"三级甲等": (800, 2000), "三级乙等": (500, 900), "二级甲等": (200, 500), "二级乙等": (100, 250),
        "一级甲等": (20, 100), "未定级": (0, 20)}
CITY_HOSPITALS = (
    ("第一人民医院", "综合医院", "三级甲等"), ("第二人民医院", "综合医院", "三级乙等"), ("中医医院", "中医医院", "三级甲等"),
    ("妇幼保健院", "妇幼保健院", "三级乙等"), ("儿童医院", "专科医院", "三级乙等"), ("精神卫生中心", "专科医院", "二级甲等"),
)
PRIVATE_KINDS = (("口腔门诊部", "门诊部", "未定级"), ("眼科医院", "专科医院", "二级乙等"), ("诊所", "诊所", "未定级"),
                 ("康复医院", "专科医院", "一级甲等"))


def _institutions(n: int, rng: random.Random) -> Iterator[tuple[str, str, str, str, bool]]:
    """(name, 类别, 等级, region code, public) from the city hospitals down to private clinics, until n are named."""
    for name, kind, grade in CITY_HOSPITALS:
        yield f"{CITY_NAME}{name}", kind, grade, REGIONS[0].code, True
    for region in REGIONS:
        yield f"{region.name}人民医院", "综合医院", "二级甲等", region.code, True
        yield f"{region.name}中医医院", "中医医院", "二级乙等", region.code, True
    for region in REGIONS:
        for street in region.streets:
            if street.code[6] == "0":
                yield f"{region.name}{street.name}社区卫生服务中心", "社区卫生服务中心", "一级甲等", region.code, True
            else:
                yield f"{region.name}{street.name}卫生院", "乡镇卫生院", "一级甲等", region.code, True
    names: set[str] = set()
    while len(names) < n:
        region = REGIONS[weighted_index(REGION_CUM, rng)]
        suffix, kind, grade = rng.choice(PRIVATE_KINDS)
        name = f"{CITY_NAME}{region.stem}{rng.choice(TRADE_CHARS)}{rng.choice(TRADE_CHARS)}{suffix}"
        if name not in names:
            names.add(name)
            yield name, kind, grade, region.code, False


def write_medical_institutions(ctx: Context) -> None:
    """医疗机构 as 卫健委 keeps it: a merged group row above the column names (header_rows = 2)."""
    spec = DataFile(
        key="medical_institutions", dataset="医疗机构名录", department_code="WJ", file="wj_medical_institutions.xlsx",
        format="xlsx", encoding=None, header_rows=2, primary_key=["统一社会信用代码"], columns=HOSPITAL_COLUMNS,
        required=["机构名称", "统一社会信用代码", "机构类别", "医院等级", "地址"], sheet="医疗机构",
    )
    rng = ctx.rng(spec.key)
    rows: list[list[Any]] = []
    for k, (name, kind, grade, code, public) in enumerate(_institutions(ctx.scale.hospitals, rng)):
        if k == ctx.scale.hospitals:
            break
        region = next(r for r in REGIONS if r.code == code)
        beds = rng.randint(*BEDS[grade])
        founded = date_between(rng, date(1950, 1, 1) if public else date(2005, 1, 1), date(2025, 12, 31))
        body = org_body(INSTITUTION_BODIES + k, founded, "MB" if public else "MH")
        licensed_until = add_years(date_between(rng, date(2022, 1, 1), date(2026, 10, 1)), 5)
        rows.append([
            name, make_uscc("12" if public else "52", code, body), kind, grade, beds,
            round(max(beds, 5) * rng.uniform(1.2, 1.6)), ctx.gazetteer.premises(region, rng), code,
            *Gazetteer.point(region, rng), founded, licensed_until,
        ])
    n = len(rows)
    plan = ctx.plan(spec, n)
    plan.assign(DefectKind.MIXED_DATE, "成立日期", amount(0.05, n, 2), date_forms("excel_serial", "cn"))
    plan.assign(DefectKind.MISSING_REQUIRED, "医院等级", amount(0.01, n), [EMPTY])
    wb = Workbook()
    wb.properties.creator = DEPARTMENT_BY_CODE["WJ"].name
    ws = wb.active
    ws.title = spec.sheet or ""
    ws.append([label if k == 0 else None for label, columns in HOSPITAL_GROUPS for k in range(len(columns))])
    col = 1
    for _, columns in HOSPITAL_GROUPS:
        ws.merge_cells(start_row=1, start_column=col, end_row=1, end_column=col + len(columns) - 1)
        col += len(columns)
    ws.append(HOSPITAL_COLUMNS)
    for row in plan.apply(rows):
        ws.append(row)
    save_workbook(wb, ctx.path(spec))
    ctx.done(spec, n)


LAND_COLUMNS = ["电子监管号", "项目名称", "行政区划代码", "土地坐落", "面积（公顷）", "土地用途", "供地方式", "土地使用年限",
                "成交价格（万元）", "土地使用权人", "合同签订日期"]
# (用途, 项目 suffix, 使用年限, 万元 per 公顷 range; None = 划拨 without price)
LAND_USES = (
    ("住宅用地", "住宅项目", 70, (800, 3000)), ("商服用地", "商业综合体项目", 40, (500, 2000)),
    ("工业用地", "厂房建设项目", 50, (60, 150)), ("公共管理与公共服务用地", "公共服务设施项目", 0, None),
)
SALE_METHODS = ("挂牌出让", "挂牌出让", "拍卖出让", "招标出让", "协议出让")


def write_land_supply(ctx: Context, registry: Enterprises) -> None:
    """土地供应 contracts; buyers come from the 法人 set, 划拨 land goes to a city bureau."""
    spec = DataFile(
        key="land_supply", dataset="土地供应信息", department_code="ZR", file="zr_land_supply.xlsx", format="xlsx",
        encoding=None, header_rows=1, primary_key=["电子监管号"], columns=LAND_COLUMNS,
        required=["电子监管号", "行政区划代码", "面积（公顷）", "土地用途", "供地方式", "合同签订日期"], sheet="土地供应",
    )
    rng = ctx.rng(spec.key)
    companies = registry.active(individuals=False)
    rows: list[list[Any]] = []
    for k in range(ctx.scale.land_parcels):
        region = REGIONS[weighted_index(REGION_CUM, rng)]
        use, project, years, price = rng.choice(LAND_USES)
        signed = date_between(rng, date(2023, 1, 1), date(2026, 10, 31))
        hectares = round(rng.uniform(0.5, 12), 4)
        if price is None:
            method, owner, paid = "划拨", rng.choice(("示例市教育局", "示例市卫生健康委员会", "示例市交通运输局")), None
        else:
            method, owner, paid = rng.choice(SALE_METHODS), registry.items[rng.choice(companies)].name, round(
                hectares * rng.uniform(*price), 2)
        rows.append([
            f"{region.code}{signed.year}B{k + 1:05d}", f"{region.stem}{project}", region.code,
            f"{ctx.gazetteer.premises(region, rng)}以东地块", hectares, use, method, years or None, paid, owner, signed,
        ])
    n = len(rows)
    plan = ctx.plan(spec, n)
    plan.assign(DefectKind.MIXED_DATE, "合同签订日期", amount(0.05, n, 2), date_forms("excel_serial", "dotted"))
    plan.assign(DefectKind.MISSING_REQUIRED, "土地用途", amount(0.01, n), [EMPTY])
    wb = Workbook()
    wb.properties.creator = DEPARTMENT_BY_CODE["ZR"].name
    ws = wb.active
    ws.title = spec.sheet or ""
    ws.append(LAND_COLUMNS)
    for row in plan.apply(rows):
        ws.append(row)
    save_workbook(wb, ctx.path(spec))
    ctx.done(spec, n)


INDICATOR_COLUMNS = ["指标名称", "计量单位", "统计月份", "本月值", "累计值", "累计同比增长（%）"]
# (指标, 单位, 2024 monthly level, yearly growth)
INDICATORS = (
    ("规模以上工业增加值", "亿元", 85.0, 0.061), ("社会消费品零售总额", "亿元", 120.0, 0.052),
    ("固定资产投资", "亿元", 95.0, 0.038), ("一般公共预算收入", "亿元", 18.0, 0.031), ("进出口总额", "亿元", 40.0, 0.072),
    ("全社会用电量", "亿千瓦时", 22.0, 0.068), ("货物运输量", "万吨", 1500.0, 0.045), ("旅客运输量", "万人次", 650.0, 0.083),
    ("商品房销售面积", "万平方米", 55.0, -0.085), ("接待游客人数", "万人次", 180.0, 0.11), ("城镇新增就业人数", "人", 3000.0, 0.02),
)
SEASON = (0.8, 0.75, 1.0, 0.98, 1.02, 1.08, 1.0, 0.98, 1.02, 1.1, 1.05, 1.22)
MONTHS = [(2024 + (9 + k) // 12, (9 + k) % 12 + 1) for k in range(24)]  # 2024-10 … 2026-09


def write_monthly_indicators(ctx: Context) -> None:
    """统计局 月度指标: a merged title row above the header, values and year-to-date growth per month."""
    spec = DataFile(
        key="monthly_indicators", dataset="国民经济主要指标（月度）", department_code="TJ", file="tj_monthly_indicators.xlsx",
        format="xlsx", encoding=None, header_rows=2, primary_key=["指标名称", "统计月份"], columns=INDICATOR_COLUMNS,
        required=INDICATOR_COLUMNS, sheet="月度指标",
    )
    rng = ctx.rng(spec.key)
    wb = Workbook()
    wb.properties.creator = DEPARTMENT_BY_CODE["TJ"].name
    ws = wb.active
    ws.title = spec.sheet or ""
    ws.append([f"{CITY_NAME}{spec.dataset}"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(INDICATOR_COLUMNS))
    ws.append(INDICATOR_COLUMNS)
    n = 0
    for name, unit, level, growth in INDICATORS:
        value = {(y, m): level * (1 + growth) ** (y - 2024) * SEASON[m - 1] * rng.uniform(0.96, 1.04)
                 for y in range(2023, 2027) for m in range(1, 13)}
        for y, m in MONTHS:
            cumulative = sum(value[(y, k)] for k in range(1, m + 1))
            before = sum(value[(y - 1, k)] for k in range(1, m + 1))
            ws.append([name, unit, f"{y}-{m:02d}", round(value[(y, m)], 2), round(cumulative, 2),
                       round((cumulative / before - 1) * 100, 1)])
            n += 1
    save_workbook(wb, ctx.path(spec))
    ctx.done(spec, n)


def write_region_boundaries(ctx: Context) -> None:
    """Districts and counties as GeoJSON polygons (counter-clockwise rings, RFC 7946) for the maps."""
    spec = DataFile(
        key="region_boundaries", dataset="行政区划边界", department_code="ZR", file="regions.geojson", format="geojson",
        encoding="utf-8", header_rows=0, primary_key=["code"], columns=["code", "name", "kind", "centroid"],
        required=["code", "name"],
    )
    features = []
    for r in REGIONS:
        west, south, east, north = r.bbox
        features.append({
            "type": "Feature",
            "properties": {"code": r.code, "name": r.name, "kind": r.kind, "centroid": list(r.centroid)},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]},
        })
    collection = {"type": "FeatureCollection", "name": f"{CITY_NAME}行政区划", "features": features}
    ctx.path(spec).write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    ctx.done(spec, len(features))
