"""交通运输局 feeds: 公交刷卡 and 出租车行程, large CSVs streamed day by day in time order."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from huiju.demo.city import DISTRICTS, REGIONS
from huiju.demo.context import Context
from huiju.demo.defects import EMPTY, DefectKind, amount
from huiju.demo.manifest import DataFile
from huiju.demo.people import Population
from huiju.demo.pools import Gazetteer, weighted_index
from huiju.demo.writers import write_csv

# Share of a day's rides starting in each hour: morning and evening peaks, almost nothing at night.
HOUR_CUM = tuple(
    accumulate((0.2, 0.1, 0.1, 0.1, 0.3, 1, 3, 9, 10, 6, 4.5, 4.5, 4.5, 4, 4, 4.5, 6, 9, 8, 5, 3, 2, 1, 0.5))
)
LINES = ("1路", "2路", "3路", "5路", "6路", "8路", "9路", "10路", "11路", "12路", "15路", "16路", "18路", "20路",
         "21路", "23路", "25路", "28路", "30路", "31路", "101路", "102路", "201路", "202路")
SUBURBAN_LINES = frozenset(("101路", "102路", "201路", "202路"))  # 3 元 instead of 2
CARD_TYPES = (("普通卡", 0.9), ("学生卡", 0.5), ("老年卡", 0.0), ("爱心卡", 0.0))
CARD_TYPE_CUM = tuple(accumulate((75, 12, 10, 3)))
BUS_COLUMNS = ["交易流水号", "卡号", "卡类型", "线路", "站点", "刷卡时间", "交易金额（元）"]
TAXI_COLUMNS = ["订单编号", "车牌号", "驾驶员身份证号", "驾驶员姓名", "上车时间", "下车时间", "上车经度", "上车纬度",
                "下车经度", "下车纬度", "里程（公里）", "金额（元）"]


def is_holiday(d: date) -> bool:
    """国庆, 劳动节 and 元旦; enough to shape the demo's traffic and visitor curves."""
    return (d.month == 10 and d.day <= 7) or (d.month == 5 and d.day <= 5) or (d.month == 1 and d.day == 1)


def daily_counts(total: int, first: date, days: int) -> list[int]:
    """Split a row total over the days: weekends and holidays are quieter for commuting."""
    weights = [0.85 if is_holiday(first + timedelta(k)) else 0.75 if (first + timedelta(k)).weekday() >= 5 else 1.0
               for k in range(days)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for k in range(total - sum(counts)):
        counts[k % days] += 1
    return counts


def clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _stops(ctx: Context, rng: random.Random) -> list[list[str]]:
    """Each line runs through one or two districts; stops are named after their roads and compounds."""
    lines = []
    for _ in LINES:
        regions = rng.sample(DISTRICTS, 2) if rng.random() < 0.5 else [rng.choice(REGIONS)]
        stops = []
        for _ in range(rng.randint(10, 18)):
            region = rng.choice(regions)
            road = rng.choice(ctx.gazetteer.roads[region.code])
            stops.append(rng.choice((road, road + "口", rng.choice(ctx.gazetteer.compounds[region.code]))) + "站")
        lines.append(stops)
    return lines


def write_bus_swipes(ctx: Context) -> None:
    """公交刷卡 records, one day at a time in time order, cards not linked to people."""
    spec = DataFile(
        key="bus_swipes", dataset="公交刷卡记录", department_code="JT", file="jt_bus_swipes.csv", format="csv",
        encoding="utf-8", header_rows=1, primary_key=["交易流水号"], columns=BUS_COLUMNS,
        required=["交易流水号", "卡号", "线路", "站点", "刷卡时间"],
    )
    rng = ctx.rng(spec.key)
    stops = _stops(ctx, rng)
    cards = max(300, ctx.scale.bus_swipes // 15)
    card_types = [weighted_index(CARD_TYPE_CUM, rng) for _ in range(cards)]
    counts = daily_counts(ctx.scale.bus_swipes, ctx.scale.first_day, ctx.scale.days)
    plan = ctx.plan(spec, sum(counts))
    plan.assign(DefectKind.MISSING_REQUIRED, "站点", amount(0.001, plan.n_rows), [EMPTY])
    plan.duplicate(amount(0.001, plan.n_rows))

    def rows() -> Iterator[list[Any]]:
        for k, count in enumerate(counts):
            day = ctx.scale.first_day + timedelta(k)
            times = sorted(weighted_index(HOUR_CUM, rng) * 3600 + rng.randrange(3600) for _ in range(count))
            for serial, seconds in enumerate(times, 1):
                card = rng.randrange(cards)
                line = rng.randrange(len(LINES))
                kind, discount = CARD_TYPES[card_types[card]]
                fare = (3.0 if LINES[line] in SUBURBAN_LINES else 2.0) * discount
                yield [
                    f"{day:%Y%m%d}{serial:07d}", f"9901{(card * 7919 + 13) % 10**12:012d}", kind, LINES[line],
                    rng.choice(stops[line]), f"{day} {clock(seconds)}", f"{fare:.2f}",
                ]

    ctx.done(spec, write_csv(ctx.path(spec), "utf-8", spec.columns, plan.apply(rows()), ctx.report(spec.key)))


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Road distance between two points: straight line on a local projection times a detour factor."""
    dx = (b[0] - a[0]) * 111.32 * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * 110.57
    return math.hypot(dx, dy) * 1.3 + 0.5


def write_taxi_trips(ctx: Context, pop: Population) -> None:
    """出租车行程: drivers are people from 人口; fares follow 起步价 8 元 (3 km) plus 2 元/km."""
    spec = DataFile(
        key="taxi_trips", dataset="出租车行程记录", department_code="JT", file="jt_taxi_trips.csv", format="csv",
        encoding="utf-8", header_rows=1, primary_key=["订单编号"], columns=TAXI_COLUMNS,
        required=["订单编号", "车牌号", "上车时间", "下车时间"],
    )
    rng = ctx.rng(spec.key)
    drivers = rng.sample(pop.eligible(25, 60), max(20, ctx.scale.taxi_trips // 40))
    plates = [f"示A{(k * 7919 + 10_007) % 100_000:05d}" for k in range(len(drivers))]
    urban_cum = tuple(accumulate(6 if r.kind == "district" else 1 for r in REGIONS))
    counts = daily_counts(ctx.scale.taxi_trips, ctx.scale.first_day, ctx.scale.days)

    def rows() -> Iterator[list[Any]]:
        for k, count in enumerate(counts):
            day = ctx.scale.first_day + timedelta(k)
            starts = sorted(weighted_index(HOUR_CUM, rng) * 3600 + rng.randrange(3600) for _ in range(count))
            for serial, start in enumerate(starts, 1):
                driver = rng.randrange(len(drivers))
                pickup = Gazetteer.point(REGIONS[weighted_index(urban_cum, rng)], rng)
                dropoff = Gazetteer.point(REGIONS[weighted_index(urban_cum, rng)], rng)
                km = _km(pickup, dropoff)
                end = start + int(km / rng.uniform(18, 35) * 3600) + rng.randrange(60, 300)
                fare = 8 + max(0.0, km - 3) * 2
                yield [
                    f"TX{day:%Y%m%d}{serial:06d}", plates[driver], pop.id(drivers[driver]), pop.name(drivers[driver]),
                    f"{day} {clock(start)}", f"{day + timedelta(days=end // 86_400)} {clock(end % 86_400)}",
                    *pickup, *dropoff, f"{km:.1f}", f"{fare:.1f}",
                ]

    ctx.done(spec, write_csv(ctx.path(spec), "utf-8", spec.columns, rows(), ctx.report(spec.key)))
