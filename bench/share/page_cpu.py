"""bench/share/page_cpu: CPU per page for one client, bare DuckDB (default threads, one thread) against huiju.

    .venv/bin/python bench/share/page_cpu.py --rows 1000000 --calls 150 --rounds 3

Where run.py measures throughput at 16 clients, this isolates what one page costs in CPU (``time.process_time``,
every thread of the process), on the same throwaway home and grant as run.py (``run.setup``): the bare filtered
keyset page on DuckDB with its default threads and set to one thread (both encoded with orjson, as huiju does),
``read_rows`` with the grant's scope, and ``deliver_rows``. Rounds alternate; the table shows medians.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/share/run.py: the same setup)

from huiju.catalog import access  # noqa: E402
from huiju.share import service as share  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    storage, reader, grant_id, files = run.setup(args.rows)
    paths = ", ".join(f"'{p}'" for p in files)
    cols = ", ".join(f'"{c}"' for c in run.FIELDS)
    sql = (f"SELECT {cols} FROM read_parquet([{paths}]) WHERE \"区划\" = ? AND \"编号\" > ? "
           f"ORDER BY \"编号\" LIMIT {args.page}")
    rng = random.Random(7)

    def bare(threads: int | None) -> Callable[[], None]:
        db = duckdb.connect()
        if threads:
            db.execute(f"SET threads={threads}")

        def page() -> None:
            orjson.dumps(db.sql(sql, params=["990103", rng.randrange(args.rows)]).to_arrow_table().to_pylist())
        return page

    with storage.uow() as uow:
        scope = share.read_scope(share.get_grant(uow, reader, grant_id), watermark=False)

    def egress() -> None:
        with storage.uow() as uow:
            got = access.read_rows(uow, reader, "people", purpose="基准测试", scope=scope, order_by=["编号"],
                                   after=[rng.randrange(args.rows)], limit=args.page)
            orjson.dumps(got.table.to_pylist())

    def huiju() -> None:
        with storage.uow() as uow:
            share.deliver_rows(uow, reader, grant_id, limit=args.page, after=[rng.randrange(args.rows)])

    arms = {"bare DuckDB, default threads + orjson": bare(None), "bare DuckDB, 1 thread + orjson": bare(1),
            "read_rows with the grant's scope + orjson": egress, "huiju deliver_rows": huiju}
    for fn in arms.values():  # warm: file metadata, signing key, first plans
        for _ in range(10):
            fn()
    cpu: dict[str, list[float]] = {name: [] for name in arms}
    wall: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(args.rounds):
        for name, fn in arms.items():
            c, t = time.process_time(), time.perf_counter()
            for _ in range(args.calls):
                fn()
            cpu[name].append((time.process_time() - c) / args.calls * 1000)
            wall[name].append((time.perf_counter() - t) / args.calls * 1000)
    print(f"\n{args.rows:,} rows, one client, {args.page}-row pages, {args.rounds} rounds x {args.calls} calls")
    print("| measurement | CPU ms a page (median) | rounds | wall ms a page (median) |\n|---|---:|---|---:|")
    for name in arms:
        rounds = ", ".join(f"{x:.1f}" for x in cpu[name])
        print(f"| {name} | {statistics.median(cpu[name]):.1f} | {rounds} | {statistics.median(wall[name]):.1f} |")
    storage.close()
    shutil.rmtree(storage.settings.home, ignore_errors=True)


if __name__ == "__main__":
    main()
