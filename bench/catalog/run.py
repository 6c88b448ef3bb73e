"""Catalog search benchmark: huiju's search service against a plain LIKE query on the same table, side by side.

    .venv/bin/python bench/catalog/run.py                      # 10,000 entries on SQLite
    .venv/bin/python bench/catalog/run.py --postgres           # the same on a throwaway PostgreSQL cluster
    .venv/bin/python bench/catalog/run.py --entries 2000 --rounds 5

Generates Chinese catalog entries (names, abstracts and data items from government vocabulary, 20
departments, every classification, share type, open class, format and update cycle; 90 % published)
through ``catalog.service.register_entry`` into a fresh, migrated database, then times, per query:

- ``huiju``: ``catalog.service.search_entries`` as a department user (visibility in the SQL, jieba
  segmentation of the query, FTS5 / PostgreSQL full text, the page of 20 and the total), with the eight
  facet counts (what the search page shows) and without them;
- ``like``: the plain baseline on the same table — ``(name LIKE '%q%' OR abstract LIKE '%q%')`` on
  published entries, newest first, a page of 20 and its COUNT(*).

Each query runs ``--rounds`` times after one warm-up; p50/p95 are over all runs of all queries. Matches
are reported too: LIKE finds only the literal string, so multi-word queries find less. Nothing asserts
timings; bench/RESULTS.md records runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOPICS = ["公共交通", "道路交通", "医保结算", "医疗机构", "社会保险", "住房公积金", "户籍人口", "流动人口", "企业登记",
          "个体工商户", "环境监测", "空气质量", "水质监测", "气象预警", "学籍", "教师资格", "不动产登记", "税务登记",
          "食品经营许可", "药品零售", "安全生产", "危险化学品", "价格监测", "能源消耗", "城乡建设", "建筑工程",
          "社区网格", "养老服务", "残疾人补贴", "低保救助", "婚姻登记", "出生医学证明", "行政处罚", "行政许可",
          "信用评价", "失信被执行人", "招标投标", "政府采购", "国有资产", "文物保护", "旅游景区", "体育场馆",
          "农业补贴", "耕地保护", "林业资源", "河湖长制", "应急物资", "消防检查", "12345热线", "电子证照"]
SUFFIXES = ["信息", "数据", "名录", "统计", "台账", "清单", "明细", "基本信息", "月报", "年报"]
PLACES = ["", "", "市", "全市", "城区", "县域"]
ITEM_NAMES = ["统一社会信用代码", "企业名称", "法定代表人", "身份证号", "姓名", "性别", "出生日期", "联系电话", "住所",
              "行政区划代码", "登记日期", "许可证编号", "有效期至", "经度", "纬度", "金额", "数量", "备注", "状态", "更新时间"]
QUERIES = ["交通", "医保", "人口", "企业", "公积金", "环境", "许可", "信用", "公交", "社保", "企业登记信息", "空气质量月报",
           "不动产", "医疗机构名录", "养老", "消防", "学籍", "税务", "价格", "预警"]


def entry_fields(rng: random.Random, i: int) -> dict[str, Any]:
    topic = rng.choice(TOPICS)
    name = f"{rng.choice(PLACES)}{topic}{rng.choice(SUFFIXES)}{i}"
    classification = rng.choice(["base", "theme", "department", "department"])
    from huiju.catalog import vocab

    item = rng.choice(list(vocab.item_choices(classification)))
    share = rng.choice(["unconditional", "unconditional", "conditional", "none"])
    kind = rng.choice(["database", "spreadsheet", "file", "self_describing"])
    open_class = "closed" if share == "none" else rng.choice(["unconditional", "conditional", "closed"])
    fields = {
        "name": name, "classification": classification, "item": item,
        "theme": rng.choice(list(vocab.THEMES)) if classification != "theme" else None,
        "abstract": f"本资源汇集{topic}相关的{rng.choice(SUFFIXES)}，由{rng.choice(TOPICS)}业务系统产生，"
                    f"用于{rng.choice(TOPICS)}和{rng.choice(TOPICS)}的业务协同与统计分析。",
        "format_kind": kind, "format_type": {"database": "PostgreSQL", "spreadsheet": "xlsx", "file": "pdf",
                                             "self_describing": "json"}[kind],
        "share_type": share, "share_condition": None if share == "unconditional" else "限履行法定职责使用",
        "share_basis": None if share == "unconditional" else "《政务数据共享条例》",
        "share_mode_type": "file" if kind == "file" else "api", "open_class": open_class,
        "open_condition": "签订数据利用协议" if open_class == "conditional" else None,
        "update_cycle": rng.choice(list(vocab.UPDATE_CYCLES)),
        "data_level": rng.choice(["general_1", "general_2", "general_3"]) if open_class != "closed"
        else rng.choice(["general_2", "general_3", "general_4", "important"]),
        "items": [{"name": n, "type_code": rng.choice("CNDI"), "length": rng.choice([None, 18, 50, 200])}
                  for n in rng.sample(ITEM_NAMES, rng.randint(3, 8))],
    }
    return fields


def populate(storage: Any, n: int, seed: int) -> tuple[Any, float]:
    from sqlalchemy import update

    from huiju.auth import service as auth_service
    from huiju.auth.roles import Actor, Role
    from huiju.catalog import service
    from huiju.catalog.models import CatalogEntry

    system = Actor.system("bench")
    rng = random.Random(seed)
    with storage.uow() as uow:
        for d in range(20):
            auth_service.create_department(uow, system, code=f"D{d:02d}", name=f"示例市第{d + 1}局", level="city",
                                           region_code="990100")
    started = time.perf_counter()
    with storage.uow() as uow:
        for i in range(n):
            service.register_entry(uow, system, department_code=f"D{i % 20:02d}", fields=entry_fields(rng, i),
                                   commit=(i + 1) % 500 == 0 or i == n - 1)
    with storage.uow() as uow:
        uow.session.execute(update(CatalogEntry).where(CatalogEntry.id % 10 != 0).values(state="published"))
        uow.session.execute(update(CatalogEntry).values(usage_count=CatalogEntry.id % 97))
        uow.session.commit()
        if storage.engine.dialect.name == "sqlite":
            uow.session.connection().exec_driver_sql("ANALYZE")
        else:
            uow.session.connection().exec_driver_sql("ANALYZE catalog_entries")
        uow.session.commit()
    user = Actor(user_id=999, username="bench_user", roles=frozenset({(Role.DEPT_USER, 3)}))
    return user, time.perf_counter() - started


def like_page(uow: Any, q: str) -> int:
    from sqlalchemy import func, or_, select

    from huiju.catalog.models import CatalogEntry

    pattern = f"%{q}%"
    where = (CatalogEntry.state == "published", or_(CatalogEntry.name.like(pattern), CatalogEntry.abstract.like(pattern)))
    total = uow.session.scalar(select(func.count()).select_from(CatalogEntry).where(*where))
    list(uow.session.scalars(select(CatalogEntry).where(*where).order_by(CatalogEntry.updated_at.desc()).limit(20)))
    return total or 0


def measure(storage: Any, user: Any, rounds: int) -> dict[str, Any]:
    from huiju.catalog import service

    kinds = {
        "huiju search + 8 facets": lambda uow, q: service.search_entries(uow, user, q=q).total,
        "huiju search, no facets": lambda uow, q: service.search_entries(uow, user, q=q, with_facets=False).total,
        "plain LIKE (page + count)": like_page,
    }
    out: dict[str, Any] = {}
    with storage.uow() as uow:
        for kind, fn in kinds.items():
            times, matches = [], {}
            for q in QUERIES:
                matches[q] = fn(uow, q)  # warm-up
            for _ in range(rounds):
                for q in QUERIES:
                    t = time.perf_counter()
                    fn(uow, q)
                    times.append((time.perf_counter() - t) * 1000)
                    uow.session.expunge_all()
            times.sort()
            out[kind] = {"p50_ms": statistics.median(times), "p95_ms": times[int(len(times) * 0.95) - 1],
                         "max_ms": times[-1], "runs": len(times), "matches": matches}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL cluster")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/out/catalog-results.json")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from huiju.config import Settings
    from huiju.storage.migrate import upgrade
    from huiju.storage.uow import Storage

    console = Console()
    tmp = Path(tempfile.mkdtemp(prefix="huiju-bench-catalog-"))
    cluster = None
    if args.postgres:
        from tests.conftest import PgCluster

        cluster = PgCluster()
        cluster.start()
        url = cluster.url()
    else:
        url = f"sqlite:///{tmp / 'huiju.db'}"
    try:
        upgrade(url)
        storage = Storage.open(Settings(home=tmp, database_url=url, secret_key="bench"))
        with console.status(f"Registering {args.entries:,} entries…"):
            user, seconds = populate(storage, args.entries, args.seed)
        console.print(f"{args.entries:,} entries registered through the service in {seconds:.1f} s "
                      f"({args.entries / seconds:,.0f}/s, jieba segmentation included)")
        load_before = os.getloadavg()
        results = measure(storage, user, args.rounds)
        console.print(f"load average before / after the measurements: {load_before[0]:.1f} / "
                      f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        storage.close()
    finally:
        if cluster is not None:
            cluster.stop()
    database = "PostgreSQL" if args.postgres else "SQLite"
    table = Table("measurement", "p50 ms", "p95 ms", "max ms", "runs",
                  title=f"catalog search over {args.entries:,} entries ({database}), {len(QUERIES)} queries")
    for kind, r in results.items():
        table.add_row(kind, f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}", f"{r['max_ms']:.2f}", str(r["runs"]))
    console.print(table)
    p95 = results["huiju search + 8 facets"]["p95_ms"]
    console.print(f"bar: huiju search p95 ≤ 30 ms → {p95:.1f} ms: {'met' if p95 <= 30 else 'NOT met'}")
    hits = Table("query", "huiju matches", "LIKE matches", title="matches (visible to the department user)")
    for q in QUERIES:
        hits.add_row(q, str(results["huiju search, no facets"]["matches"][q]),
                     str(results["plain LIKE (page + count)"]["matches"][q]))
    console.print(hits)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"entries": args.entries, "database": database, "rounds": args.rounds,
                                     "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                                 "loadavg": os.getloadavg()},
                                     "populate_seconds": seconds, "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
