"""Hourly feeds: 景区客流 (WL, a JSON API page) and 空气质量 (HB, GB18030 CSV), each with its alert scenario."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from huiju.demo.city import DISTRICTS, REGIONS, Region
from huiju.demo.context import Context
from huiju.demo.defects import EMPTY, DefectKind, amount
from huiju.demo.manifest import DataFile, Scenario
from huiju.demo.pools import Gazetteer
from huiju.demo.transport import is_holiday
from huiju.demo.writers import write_csv, write_json_page

# (name, level, capacity, region index); further spots are generated from the region names.
SPOTS = (
    ("示例山风景区", "5A", 30000, 7), ("东湖湿地公园", "4A", 20000, 1), ("古城墙遗址公园", "4A", 12000, 0),
    ("桃源古镇", "4A", 15000, 11), ("云山国家森林公园", "4A", 18000, 8), ("滨江夜景带", "3A", 10000, 6),
    ("永宁温泉度假区", "4A", 8000, 12), ("石桥古村落", "3A", 5000, 9), ("清河漂流", "3A", 4000, 7),
    ("南屏寺", "3A", 6000, 3), ("北辰科技馆", "3A", 5000, 4), ("新港海洋馆", "4A", 9000, 5),
)
SPOT_FEATURES = ("生态园", "农业观光园", "森林公园", "民俗村", "博物馆", "水库风景区", "植物园", "主题乐园")
# Share of the day's peak crowd present at each hour (park open 8:00–20:00, peak mid-afternoon).
CROWD_SHAPE = (0, 0, 0, 0, 0, 0, 0, 0.05, 0.2, 0.45, 0.65, 0.8, 0.88, 0.93, 1.0, 0.95, 0.85, 0.6, 0.35, 0.15, 0.05,
               0, 0, 0)
SCENIC_FIELDS = ["scenicCode", "scenicName", "level", "regionCode", "time", "inParkCount", "maxCapacity"]
ALERT_RATIO = 0.8
SCENARIO_DAY = date(2026, 10, 2)  # 国庆 day 2, inside every scale's window


def _spots(rng: random.Random, n: int) -> list[tuple[str, str, int, Region]]:
    spots = [(name, level, cap, REGIONS[r]) for name, level, cap, r in SPOTS[:n]]
    for k in range(len(spots), n):
        region = REGIONS[k % len(REGIONS)]
        feature = SPOT_FEATURES[(k // len(REGIONS)) % len(SPOT_FEATURES)]
        spots.append((f"{region.stem}{feature}", rng.choice(("3A", "2A")), rng.randrange(20, 80) * 100, region))
    return spots


def write_scenic_flow(ctx: Context) -> None:
    """Hourly 在园人数 per spot; on 国庆 afternoon the flagship passes 80 % of 最大承载量 (early warning)."""
    spec = DataFile(
        key="scenic_flow", dataset="景区实时客流", department_code="WL", file="wl_scenic_flow.json", format="json",
        encoding="utf-8", header_rows=0, primary_key=["scenicCode", "time"], columns=SCENIC_FIELDS,
        required=["scenicCode", "time", "inParkCount", "maxCapacity"],
    )
    rng = ctx.rng(spec.key)
    spots = _spots(rng, ctx.scale.scenic_spots)
    n = ctx.scale.days * 24 * len(spots)
    scenario_rows = [
        ((SCENARIO_DAY - ctx.scale.first_day).days * 24 + hour) * len(spots) for hour in range(24)
    ]
    plan = ctx.plan(spec, n)
    plan.reserve(scenario_rows)
    plan.assign(DefectKind.MISSING_REQUIRED, "inParkCount", amount(0.001, n), [EMPTY])
    alert_hours: list[str] = []

    def rows() -> Iterator[list[Any]]:
        for k in range(ctx.scale.days):
            day = ctx.scale.first_day + timedelta(k)
            base = 0.5 if is_holiday(day) else 0.3 if day.weekday() >= 5 else 0.15
            peaks = [base + rng.random() * 0.2 for _ in spots]
            if day == SCENARIO_DAY:
                peaks[0] = 0.92
            for hour, shape in enumerate(CROWD_SHAPE):
                for s, (name, level, cap, region) in enumerate(spots):
                    count = round(cap * peaks[s] * shape * rng.uniform(0.97, 1.03))
                    if day == SCENARIO_DAY and s == 0:
                        count = round(cap * peaks[s] * shape)
                        if count > ALERT_RATIO * cap:
                            alert_hours.append(f"{day} {hour:02d}:00:00")
                    else:
                        count = min(count, int(cap * 0.78))
                    yield [f"WL{s + 1:03d}", name, level, region.code, f"{day} {hour:02d}:00:00", count, cap]

    written = write_json_page(ctx.path(spec), spec.columns, plan.apply(rows()), n, ctx.report(spec.key))
    ctx.done(spec, written)
    name, _, cap, _ = spots[0]
    ctx.manifest.scenarios.append(Scenario(
        key="scenic_capacity", title=f"{name}国庆假日午后客流超过最大承载量80%", datasets=[spec.key],
        facts={"scenicCode": "WL001", "scenicName": name, "maxCapacity": cap, "day": SCENARIO_DAY.isoformat(),
               "hoursAbove80": alert_hours},
    ))


# HJ 633-2012 breakpoints: IAQI steps and hourly concentration limits per pollutant.
IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)
BREAKPOINTS = {
    "PM2.5": (0, 35, 75, 115, 150, 250, 350, 500),
    "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
    "SO2": (0, 150, 500, 650, 800),
    "NO2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "CO": (0, 5, 10, 35, 60, 90, 120, 150),
}
LEVELS = ((50, "优"), (100, "良"), (150, "轻度污染"), (200, "中度污染"), (300, "重度污染"), (500, "严重污染"))
AIR_COLUMNS = ["站点编码", "站点名称", "经度", "纬度", "监测时间", "AQI", "空气质量级别", "首要污染物", "PM2.5（μg/m³）", "PM10（μg/m³）",
               "SO2（μg/m³）", "NO2（μg/m³）", "O3（μg/m³）", "CO（mg/m³）"]
# The second station carries 䶮, outside GBK: reading this file as GBK fails, as it should.
STATION_NAMES = ("城关监测站", "䶮山监测站", "西岭监测站", "南屏监测站", "北辰监测站", "新港监测站", "滨江监测站",
                 "清河监测站", "云山监测站", "石桥监测站")
EPISODE_START = datetime(2026, 10, 5, 8)  # inside every scale's window
EPISODE_HOURS = 27


def iaqi(value: float, limits: tuple[float, ...]) -> int:
    """Individual AQI by linear interpolation between breakpoints, rounded up as HJ 633 requires."""
    for k in range(1, len(limits)):
        if value <= limits[k]:
            lo, hi = limits[k - 1], limits[k]
            return math.ceil(IAQI_STEPS[k - 1] + (IAQI_STEPS[k] - IAQI_STEPS[k - 1]) * (value - lo) / (hi - lo))
    return 500


def air_index(values: dict[str, float]) -> tuple[int, str, str]:
    """AQI, 级别 and 首要污染物 (none when AQI ≤ 50)."""
    scores = {p: iaqi(v, BREAKPOINTS[p]) for p, v in values.items()}
    aqi = max(scores.values())
    level = next(name for top, name in LEVELS if aqi <= top)
    return aqi, level, "—" if aqi <= 50 else max(scores, key=lambda p: scores[p])


def _stations(n: int, rng: random.Random) -> list[tuple[str, str, float, float]]:
    """Urban districts first, then the counties; station codes follow the national NNNNA pattern."""
    stations = []
    for k in range(n):
        region = DISTRICTS[k % len(DISTRICTS)] if k < len(DISTRICTS) else REGIONS[k % len(REGIONS)]
        name = STATION_NAMES[k] if k < len(STATION_NAMES) else f"{region.stem}{k + 1}号监测站"
        stations.append((f"99{k + 1:02d}A", name, *Gazetteer.point(region, rng)))
    return stations


def write_air_quality(ctx: Context) -> None:
    """Hourly readings; a 27-hour haze episode pushes two stations above AQI 200 (environment alert)."""
    spec = DataFile(
        key="air_quality", dataset="空气质量小时数据", department_code="HB", file="hb_air_quality.csv", format="csv",
        encoding="gb18030", header_rows=1, primary_key=["站点编码", "监测时间"], columns=AIR_COLUMNS,
        required=["站点编码", "监测时间", "AQI"],
    )
    rng = ctx.rng(spec.key)
    stations = _stations(ctx.scale.air_stations, rng)
    n = ctx.scale.days * 24 * len(stations)
    start = datetime.combine(ctx.scale.first_day, datetime.min.time())
    episode_first = int((EPISODE_START - start).total_seconds()) // 3600
    episode = range(episode_first, episode_first + EPISODE_HOURS)
    plan = ctx.plan(spec, n)
    plan.reserve(h * len(stations) + s for h in episode for s in (0, 1))
    plan.assign(DefectKind.MISSING_REQUIRED, "AQI", amount(0.001, n), [EMPTY])
    levels = [rng.uniform(25, 55) for _ in stations]
    peak_aqi = 0
    alert_stations = [station[0] for station in stations[:2]]

    def rows() -> Iterator[list[Any]]:
        nonlocal peak_aqi
        for h in range(ctx.scale.days * 24):
            moment = start + timedelta(hours=h)
            rush = 1.25 if moment.hour in (7, 8, 9, 18, 19, 20, 21) else 0.85 if 12 <= moment.hour <= 16 else 1.0
            sun = max(0.0, math.sin(math.pi * (moment.hour - 7) / 12))
            for s, (code, name, lon, lat) in enumerate(stations):
                levels[s] = min(90.0, max(8.0, levels[s] * 0.97 + rng.uniform(-3, 3) + 1.2))
                pm25 = levels[s] * rush * rng.uniform(0.9, 1.1)
                if h in episode and s < 2:
                    ramp = min(1.0, (h - episode.start + 1) / 5, (episode.stop - h) / 5)
                    pm25 = max(pm25, 60 + 150 * ramp * rng.uniform(0.95, 1.05))
                values = {
                    "PM2.5": round(pm25),
                    "PM10": round(pm25 * rng.uniform(1.4, 1.8)),
                    "SO2": rng.randint(4, 25),
                    "NO2": round(20 + 40 * rush * rng.uniform(0.7, 1.2)),
                    "O3": round(20 + 130 * sun * rng.uniform(0.7, 1.1)),
                    "CO": round(0.4 + pm25 / 150 * rng.uniform(0.8, 1.2), 1),
                }
                aqi, level, primary = air_index(values)
                if h in episode and s < 2:
                    peak_aqi = max(peak_aqi, aqi)
                yield [code, name, lon, lat, f"{moment:%Y-%m-%d %H:%M:%S}", aqi, level, primary, *values.values()]

    written = write_csv(ctx.path(spec), "gb18030", spec.columns, plan.apply(rows()), ctx.report(spec.key))
    ctx.done(spec, written)
    ctx.manifest.scenarios.append(Scenario(
        key="aqi_episode", title="两个监测站AQI超过200（重度污染）", datasets=[spec.key],
        facts={"stations": alert_stations, "start": EPISODE_START.isoformat(sep=" "),
               "end": (EPISODE_START + timedelta(hours=EPISODE_HOURS - 1)).isoformat(sep=" "), "peakAqi": peak_aqi},
    ))

