"""bench/share: authorised share API reads against the same filtered page query on bare DuckDB, same process.

    .venv/bin/python bench/share/run.py --rows 5000000 --clients 16 --seconds 30

Builds a throwaway platform home: GA publishes a 5M-row people dataset (sorted by its key 编号) behind a
conditional catalog entry; RS asks for it; GA approves in part (row filter 区划 = 990103, 姓名 CN_NAME and
手机号码 CN_MOBILE masks). Each huiju page is ``share.service.deliver_rows`` — the REST route's use case:
grant check, read_rows (filter, masks compiled into DuckDB), DataRead + DataDelivered audit events, exchange
log row, SM2-signed receipt over the SM3 of the JSON body, one commit. The baseline runs the same page query
(same columns, same filter, key > random start, ORDER BY key LIMIT n) on a DuckDB cursor over the same files,
with DuckDB's default threads (one per core): the bar's baseline. huiju runs pages on its page database
(``HUIJU_LAKE_PAGE_THREADS``, default 1), so a second baseline runs the same page on a DuckDB set to one thread,
to show what that setting alone gives and what the rest of huiju costs.
Another line isolates the egress: read_rows with the grant's scope and its audit event, without the share
layer (grant check, exchange log, receipt). All run with N client threads for a fixed time, alternating
rounds; the table shows pages per second.

huiju encodes JSON with orjson (the same bytes as ``json.dumps(..., ensure_ascii=False)`` for these rows); the
baseline keeps ``json.dumps`` by default, and ``--baseline-json orjson`` gives it orjson too (``orjson.dumps`` of
the same ``to_pylist()``), to see the ratio with the encoder's gain taken out.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from huiju.auth import service as auth
from huiju.auth.roles import Actor, Role
from huiju.catalog import access
from huiju.catalog import service as catalog
from huiju.config import Settings
from huiju.share import service as share
from huiju.storage.migrate import upgrade
from huiju.storage.uow import Storage

FIELDS = ["编号", "姓名", "手机号码", "区划", "年龄", "住址"]
SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"))
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"))


def people(n: int) -> pa.Table:
    rng = np.random.default_rng(2026)
    ids = np.arange(1, n + 1, dtype=np.int64)
    names = np.char.add(np.char.add(SURNAMES[rng.integers(0, len(SURNAMES), n)], GIVEN[rng.integers(0, len(GIVEN), n)]),
                        GIVEN[rng.integers(0, len(GIVEN), n)])
    mobiles = np.char.add("138", np.char.zfill(rng.integers(0, 99_999_999, n).astype(str), 8))
    regions = np.char.add("9901", np.char.zfill((ids % 12 + 1).astype(str), 2))
    return pa.table({"编号": ids, "姓名": names, "手机号码": mobiles, "区划": regions,
                     "年龄": rng.integers(0, 100, n), "住址": np.char.add("示例市和平路", ids.astype(str))})


ENTRY = {"name": "常住人口", "classification": "base", "item": "population", "abstract": "基准测试用人口数据。",
         "format_kind": "database", "format_type": "Parquet", "share_type": "conditional",
         "share_condition": "仅限核验", "share_basis": "国发〔2016〕51号", "share_mode_type": "api",
         "open_class": "closed", "update_cycle": "daily", "data_level": "general_3",
         "items": [{"name": f, "type_code": "I" if f in ("编号", "年龄") else "C", "column": f, "is_key": f == "编号"}
                   for f in FIELDS]}


def setup(rows: int) -> tuple[Storage, Actor, int, list[Path]]:
    home = Path(tempfile.mkdtemp(prefix="huiju-bench-share-"))
    settings = Settings(home=home, secret_key="bench", audit_checkpoint_every=1_000_000)
    upgrade(settings.db_url)
    storage = Storage.open(settings)
    storage.lake.ensure()
    system = Actor.system("bench")
    with storage.uow() as uow:
        for code in ("GA", "RS"):
            auth.create_department(uow, system, code=code, name=code, level="city", region_code="990100")
    with storage.uow() as uow:
        user = auth.create_user(uow, system, username="reader", display_name="reader", password="bench-password-1",
                                role=Role.DEPT_USER, department_code="RS")
        reader = auth.actor_for_user(user)
    with storage.uow() as uow:
        ds = catalog.register_dataset(uow, system, key="people", name="人口", department_code="GA")
    t0 = time.perf_counter()
    table = people(rows)
    with storage.uow() as uow:
        staged = uow.stage_version("people")
        for batch in table.to_batches(max_chunksize=122_880):
            staged.write(batch)
        catalog.mount_on_publish(uow, system, "people", staged, kind="ingest", job_id=None, inputs=[],
                                 rule_set_sm3=None)
        uow.commit()
    print(f"generated and published {rows:,} rows in {time.perf_counter() - t0:.1f} s")
    with storage.uow() as uow:
        entry = catalog.register_entry(uow, system, department_code="GA", fields=ENTRY)
    with storage.uow() as uow:
        catalog.submit_entry(uow, system, entry.id)
    with storage.uow() as uow:
        catalog.approve_entry(uow, system, entry.id)
    with storage.uow() as uow:
        catalog.mount_dataset(uow, system, entry.id, ds.id)
    with storage.uow() as uow:
        req = share.submit_request(uow, reader, entry_id=entry.id, purpose="基准测试", scenario="bench",
                                   fields=FIELDS, row_filter=[{"field": "区划", "op": "=", "value": "990103"}])
    with storage.uow() as uow:
        share.take_step(uow, system, req.id, "approve_in_part", reason="脱敏",
                        masks={"姓名": "CN_NAME", "手机号码": "CN_MOBILE"})
    with storage.uow() as uow:
        grant = share.grant_for_request(uow, reader, req.id)
        version = catalog.current_version(uow, system, "people")
        files = [storage.lake.abspath(version.path) / f for f in version.files]
    return storage, reader, grant.id, files


def run(clients: int, seconds: float, page) -> tuple[int, list[float]]:
    """``clients`` threads call ``page(rng)`` until time is up; returns pages done and their latencies."""
    stop = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def client(i: int) -> None:
        rng = random.Random(i)
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                page(rng)
                latencies[i].append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    flat = [x for lat in latencies for x in lat]
    return len(flat), flat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--page", type=int, default=1000, help="rows a page (the share API's default limit)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--baseline-json", choices=("json", "orjson"), default="json",
                        help="the baseline's JSON encoder (huiju's is orjson)")
    args = parser.parse_args()
    storage, reader, grant_id, files = setup(args.rows)
    paths = ", ".join(f"'{p}'" for p in files)
    cols = ", ".join(f'"{c}"' for c in FIELDS)
    sql = (f"SELECT {cols} FROM read_parquet([{paths}]) WHERE \"区划\" = ? AND \"编号\" > ? "
           f"ORDER BY \"编号\" LIMIT {args.page}")

    def bare(threads: int | None):
        """The baseline page on a DuckDB database of its own: DuckDB's default threads, or ``threads``."""
        db = duckdb.connect()
        db.execute("SET autoinstall_known_extensions=false")
        if threads:
            db.execute(f"SET threads={threads}")
        local = threading.local()

        def page(rng: random.Random) -> None:
            cur = getattr(local, "cur", None)
            if cur is None:
                cur = local.cur = db.cursor()
            got = cur.sql(sql, params=["990103", rng.randrange(args.rows)]).to_arrow_table()
            if args.baseline_json == "orjson":
                orjson.dumps(got.to_pylist())
            else:
                json.dumps(got.to_pylist(), ensure_ascii=False)  # the same JSON encoding a client would get
        return page, db.execute("SELECT current_setting('threads')").fetchall()[0][0]

    baseline, base_threads = bare(None)
    baseline_1t, _ = bare(1)

    with storage.uow() as uow:
        scope = share.read_scope(share.get_grant(uow, reader, grant_id), watermark=False)

    def egress(rng: random.Random) -> None:
        with storage.uow() as uow:
            got = access.read_rows(uow, reader, "people", purpose="基准测试", scope=scope, order_by=["编号"],
                                   after=[rng.randrange(args.rows)], limit=args.page)
            orjson.dumps(got.table.to_pylist())

    def huiju(rng: random.Random) -> None:
        with storage.uow() as uow:
            share.deliver_rows(uow, reader, grant_id, limit=args.page, after=[rng.randrange(args.rows)])

    with storage.uow() as uow:  # one page, checked: masked and filtered
        page = json.loads(share.deliver_rows(uow, reader, grant_id, limit=3).body)
        assert all(r["区划"] == "990103" and "*" in r["姓名"] and "****" in r["手机号码"] for r in page["rows"])
    arms = (("baseline", baseline), ("baseline_1t", baseline_1t), ("read_rows", egress), ("huiju", huiju))
    results: dict[str, list[float]] = {name: [] for name, _ in arms}
    lat: dict[str, list[float]] = {name: [] for name, _ in arms}
    for _ in range(args.rounds):
        for name, fn in arms:
            n, latencies = run(args.clients, args.seconds, fn)
            results[name].append(n / args.seconds)
            lat[name] += latencies
            print(f"  {name}: {n / args.seconds:,.1f} pages/s")
    med = {k: statistics.median(v) for k, v in results.items()}
    p50 = {k: statistics.median(v) * 1000 for k, v in lat.items()}
    p95 = {k: statistics.quantiles(v, n=20)[18] * 1000 for k, v in lat.items()}
    ratio = med["huiju"] / med["baseline"]
    ratio_1t = med["huiju"] / med["baseline_1t"]
    print(f"\n{args.rows:,} rows, {args.clients} clients, {args.page}-row pages, {args.rounds} x {args.seconds:.0f} s")
    print("| measurement | pages/s (median of rounds) | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    labels = {"baseline": f"bare DuckDB ({base_threads} threads, its default), same filtered keyset page + JSON "
                          f"({args.baseline_json})",
              "baseline_1t": f"bare DuckDB set to 1 thread, same page + JSON ({args.baseline_json})",
              "read_rows": "read_rows alone with the grant's scope (filter, 2 masks, DataRead audit) + JSON (orjson)",
              "huiju": "huiju deliver_rows: grant, filter, 2 masks, audit, exchange log, SM2 receipt"}
    for name, label in labels.items():
        print(f"| {label} | {med[name]:,.1f} | {p50[name]:.1f} | {p95[name]:.1f} |")
    print(f"ratio huiju / bare DuckDB = {ratio:.2f}x (bar 0.8x: {'met' if ratio >= 0.8 else 'NOT met'}); "
          f"against DuckDB set to 1 thread: {ratio_1t:.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "pages_per_s": results,
                                         "baseline_threads": base_threads, "median": med, "p50_ms": p50,
                                         "p95_ms": p95, "ratio": ratio, "ratio_1_thread": ratio_1t}, indent=2))
    storage.close()
    shutil.rmtree(storage.settings.home, ignore_errors=True)  # the throwaway platform home and its 5M-row lake


if __name__ == "__main__":
    main()
