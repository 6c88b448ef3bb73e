"""bench/protection: read_rows (three masked columns, one encrypted column decrypted) against DuckDB
reading the same projection straight from plaintext Parquet, same data, same run.

    .venv/bin/python bench/protection/run.py --rows 1000000 --repeat 5

Builds a throwaway platform home in a temp folder: a people table (citizen ID, name, mobile, address,
sex, birth date, region code) is written once as a huiju version (the ID column SM4-encrypted with its
lookup token, through the real stage hook) and once as plain Parquet for the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from huiju.auth import service as auth
from huiju.auth.roles import Actor, Role
from huiju.catalog import access
from huiju.catalog import service as catalog
from huiju.catalog.access import FieldMask, ReadScope
from huiju.config import Settings
from huiju.storage.migrate import upgrade
from huiju.storage.uow import Storage

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
FIELDS = ["身份证号", "姓名", "手机号码", "住址", "性别", "出生日期", "户籍地区划代码"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def people(n: int, seed: int = 2026) -> pa.Table:
    rng = random.Random(seed)
    ids, names, mobiles, addresses, sexes, births, regions = [], [], [], [], [], [], []
    for i in range(n):
        region = f"9901{rng.randint(1, 12):02d}"
        birth = f"{rng.randint(1940, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body = f"{region}{birth}{i % 1000:03d}"
        ids.append(body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11])
        names.append(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))))
        mobiles.append(f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}")
        addresses.append(f"示例市{rng.choice('东西南北')}城区{rng.choice(GIVEN)}{rng.choice('路街巷')}{rng.randint(1, 999)}号")
        sexes.append(str(int(body[16]) % 2 or 2))
        births.append(f"{birth[:4]}-{birth[4:6]}-{birth[6:]}")
        regions.append(region)
    return pa.table({"身份证号": ids, "姓名": names, "手机号码": mobiles, "住址": addresses, "性别": sexes,
                     "出生日期": births, "户籍地区划代码": regions})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="huiju-bench-protection-"))
    settings = Settings(home=home, secret_key="bench")
    upgrade(settings.db_url)
    storage = Storage.open(settings)
    storage.lake.ensure()
    system = Actor.system("bench")
    t0 = time.perf_counter()
    table = people(args.rows)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
    with storage.uow() as uow:
        for code in ("GA", "RS"):
            auth.create_department(uow, system, code=code, name=code, level="city", region_code="990100")
    with storage.uow() as uow:
        user = auth.create_user(uow, system, username="reader", display_name="reader", password="bench-password-1",
                                role=Role.DEPT_USER, department_code="RS")
        reader = auth.actor_for_user(user)
    with storage.uow() as uow:
        catalog.register_dataset(uow, system, key="people", name="人口", department_code="GA")
    with storage.uow() as uow:
        catalog.save_labels(uow, system, "people", {"身份证号": {
            "kind": "citizen_id", "level": "general_4", "sensitive_pi": True, "categories": ["identity"],
            "mask": "CN_ID", "confirmed": True}})
        uow.commit()
    t0 = time.perf_counter()
    with storage.uow() as uow:
        staged = uow.stage_version("people")
        for batch in table.to_batches(max_chunksize=262_144):
            staged.write(batch)
        catalog.mount_on_publish(uow, system, "people", staged, kind="ingest", job_id=None, inputs=[],
                                 rule_set_sm3=None)
        uow.commit()
    write_s = time.perf_counter() - t0
    plain = home / "plain.parquet"
    pq.write_table(table, plain, compression="zstd")
    del table
    scope = ReadScope(fields=frozenset(FIELDS), plaintext=frozenset({"身份证号"}),
                      masks={"姓名": FieldMask("CN_NAME"), "手机号码": FieldMask("CN_MOBILE"),
                             "住址": FieldMask("CN_ADDRESS")}, grant_id="bench")
    cols = ", ".join(f'"{c}"' for c in FIELDS)
    conn = duckdb.connect()

    def baseline() -> int:
        return conn.sql(f"SELECT {cols} FROM read_parquet('{plain}')").to_arrow_table().num_rows

    def huiju() -> int:
        with storage.uow() as uow:
            got = access.read_rows(uow, reader, "people", purpose="bench", fields=FIELDS, scope=scope)
        assert got.masked == {"姓名": "CN_NAME", "手机号码": "CN_MOBILE", "住址": "CN_ADDRESS"}
        assert got.decrypted == ["身份证号"]
        return got.rows

    times: dict[str, list[float]] = {"baseline": [], "read_rows": []}
    for _ in range(args.repeat):  # alternate, so load from other work hits both alike
        for name, fn in (("baseline", baseline), ("read_rows", huiju)):
            t0 = time.perf_counter()
            rows = fn()
            times[name].append(time.perf_counter() - t0)
            assert rows == args.rows
    med = {k: statistics.median(v) for k, v in times.items()}
    load = os.getloadavg()
    ratio = med["baseline"] / med["read_rows"]
    print(f"write (encrypting the ID column, tokens): {write_s:.2f} s; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| measurement | median s | rows/s |\n|---|---:|---:|")
    for name, label in (("baseline", "DuckDB, same 7-column projection straight from plaintext Parquet"),
                        ("read_rows", "read_rows: 3 masked (CN_NAME, CN_MOBILE, CN_ADDRESS) + ID decrypted, audited")):
        print(f"| {label} | {med[name]:.3f} | {args.rows / med[name]:,.0f} |")
    print(f"ratio read_rows / baseline speed = {ratio:.2f}x (bar 0.5x: {'met' if ratio >= 0.5 else 'NOT met'})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": args.rows, "times": times, "median": med, "ratio": ratio,
                                         "write_s": write_s, "load": load}, indent=2))
    storage.close()


if __name__ == "__main__":
    main()
