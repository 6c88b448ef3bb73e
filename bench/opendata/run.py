"""Open-data API serving speed: huiju's datastore_search against Datasette on the same table, same machine, same run.

Builds (once, cached under bench/out/opendata-<rows>/) a platform home in which a 5M-row legal-entity table is
published as a source version, catalogued, proposed, approved and opened — so the open version and its serving
index are derived exactly as in production (through read_rows' stream) — and a SQLite file with the same rows
and an index on each filtered column for Datasette. Then it serves both (uvicorn with one worker; `datasette
serve`, installed in its own venv under bench/out) and drives each with wrk at 16 connections:

* filter: an equality filter on a 20-value column, 100 rows (huiju `filters={"industry": …}&limit=100`,
  Datasette `?industry=…&_size=100`), random value per request;
* pk: a lookup by the primary key column (`uscc`), random key per request;
* page1 / page10000: huiju's keyset pages (`filters={"_id": {"gt": 999900}}`, what `next_page` and
  `_links.next` hand out), against Datasette's own keyset (`_next=`), 100 rows each.

Needs wrk (`apt-get install wrk`). Prints a table and the verdicts; writes JSON to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
INDUSTRIES = ["农、林、牧、渔业", "采矿业", "制造业", "电力、热力、燃气及水生产和供应业", "建筑业", "批发和零售业",
              "交通运输、仓储和邮政业", "住宿和餐饮业", "信息传输、软件和信息技术服务业", "金融业", "房地产业",
              "租赁和商务服务业", "科学研究和技术服务业", "水利、环境和公共设施管理业", "居民服务、修理和其他服务业",
              "教育", "卫生和社会工作", "文化、体育和娱乐业", "公共管理、社会保障和社会组织", "国际组织"]
DISTRICTS = ["990102", "990103", "990104", "990105", "990106", "990107", "990108", "990109", "990110", "990111",
             "990112", "990113"]
BATCH = 250_000
LUA = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
"""


def uscc(i: int) -> str:
    return f"91990100MA{i:08d}"


def batches(rows: int):
    """The table, deterministic: key, name, industry (20 values), district (12), capital, founding date."""
    base = date(1990, 1, 1)
    for start in range(0, rows, BATCH):
        idx = range(start, min(rows, start + BATCH))
        yield pa.record_batch({
            "uscc": pa.array([uscc(i) for i in idx]),
            "name": pa.array([f"示例市第{i}号商贸有限公司" for i in idx]),
            "industry": pa.array([INDUSTRIES[(i * 7) % len(INDUSTRIES)] for i in idx]),
            "district": pa.array([DISTRICTS[(i * 5) % len(DISTRICTS)] for i in idx]),
            "reg_capital": pa.array([float((i * 37) % 100_000) / 10 for i in idx]),
            "founded": pa.array([(base + timedelta(days=(i * 13) % 12_000)).isoformat() for i in idx]),
        })


# ---- building both sides --------------------------------------------------------------------------

def build_huiju(home: Path, rows: int) -> dict:
    """A platform home with the table opened through the real services; returns the resource id and timings."""
    from huiju.auth import service as auth
    from huiju.auth.roles import Actor, Role
    from huiju.catalog import service as catalog
    from huiju.config import Settings
    from huiju.opendata import service as opendata
    from huiju.storage.migrate import upgrade
    from huiju.storage.uow import Storage

    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, database_url="")
    upgrade(settings.db_url)
    storage = Storage.open(settings)
    storage.lake.ensure()
    system = Actor.system("bench")
    with storage.uow() as uow:
        auth.create_department(uow, system, code="SJ", name="示例市市场监督管理局", level="city", region_code="990100")
    with storage.uow() as uow:
        steward = auth.actor_for_user(auth.create_user(uow, system, username="sj_steward", display_name="市监",
                                                       password="bench-password-1", role=Role.STEWARD,
                                                       department_code="SJ"))
    with storage.uow() as uow:
        catalog.register_dataset(uow, steward, key="legal_entities", name="法人登记信息", department_code="SJ")
    t0 = time.perf_counter()
    with storage.uow() as uow:  # a source version as a job would publish it
        staged = uow.stage_version("legal_entities")
        staged.write_all(batches(rows))
        catalog.mount_on_publish(uow, steward, "legal_entities", staged, kind="ingest", job_id=None, inputs=[],
                                 rule_set_sm3=None)
        uow.commit()
    source_s = time.perf_counter() - t0
    entry_fields = {"name": "法人登记信息（公开部分）", "classification": "base", "item": "legal_entity",
                    "abstract": "企业名称、统一社会信用代码、行业、区划、注册资本与成立日期。",
                    "format_kind": "database", "format_type": "Parquet", "share_type": "unconditional",
                    "share_mode_type": "api", "open_class": "unconditional", "update_cycle": "daily",
                    "data_level": "general_1", "items": [{"name": "统一社会信用代码", "type_code": "C", "length": 18,
                                                           "column": "uscc", "is_key": True}]}
    with storage.uow() as uow:
        entry = catalog.register_entry(uow, steward, department_code="SJ", fields=entry_fields)
        ds = catalog.dataset_by_key(uow, steward, "legal_entities")
        catalog.mount_dataset(uow, steward, entry.id, ds.id)
        catalog.submit_entry(uow, steward, entry.id)
        catalog.approve_entry(uow, system, entry.id)
        od = opendata.propose_open(uow, steward, entry_id=entry.id, name="legal-entities",
                                   index_columns=["industry"], primary_key="uscc")
    t0 = time.perf_counter()
    with storage.uow() as uow:
        opendata.approve_open(uow, system, od.id, comment="bench")
    derive_s = time.perf_counter() - t0
    with storage.uow() as uow:
        rid = opendata.current_open_versions(uow, [od.id])[od.id].uid
        index_bytes = opendata.served_resource(uow, rid).path.stat().st_size
    storage.close()
    return {"resource_id": rid, "source_version_s": source_s, "open_version_and_index_s": derive_s,
            "index_bytes": index_bytes}


def build_datasette_db(path: Path, rows: int) -> dict:
    """The same rows in SQLite with indexes on the filtered columns, as Datasette users would set it up."""
    t0 = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE TABLE records (uscc TEXT, name TEXT, industry TEXT, district TEXT, reg_capital REAL, "
                 "founded TEXT)")
    for batch in batches(rows):
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", zip(*cols, strict=True))
    conn.execute("CREATE INDEX ix_industry ON records (industry)")
    conn.execute("CREATE UNIQUE INDEX ix_uscc ON records (uscc)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    os.rename(tmp, path)
    return {"build_s": time.perf_counter() - t0}


def prepare(rows: int) -> dict:
    folder = OUT / f"opendata-{rows}"
    meta_file = folder / "meta.json"
    if meta_file.exists():
        return json.loads(meta_file.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"building the huiju open version of {rows:,} rows …", flush=True)
    huiju = build_huiju(folder / "home", rows)
    print(f"  source {huiju['source_version_s']:.1f} s, open version + serving index "
          f"{huiju['open_version_and_index_s']:.1f} s", flush=True)
    print("building the Datasette SQLite file …", flush=True)
    datasette = build_datasette_db(folder / "bench.db", rows)
    print(f"  {datasette['build_s']:.1f} s", flush=True)
    meta = {"rows": rows, "huiju": huiju, "datasette": datasette}
    meta_file.write_text(json.dumps(meta, indent=2))
    return meta


# ---- serving and load -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.args}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server not ready: {url}")


def start_huiju(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HUIJU_HOME": str(home), "HUIJU_OPENDATA_RATE_PER_IP": "0", "HUIJU_DATABASE_URL": ""}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "huiju.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/api/3/action/status_show", proc)
    return proc, base


def start_datasette(db: Path) -> tuple[subprocess.Popen, str]:
    exe = OUT / "venv-datasette" / "bin" / "datasette"
    if not exe.exists():
        raise SystemExit(f"Datasette is not installed: python3 -m venv {OUT}/venv-datasette && "
                         f"{OUT}/venv-datasette/bin/pip install datasette==0.65.5")
    port = free_port()
    proc = subprocess.Popen([str(exe), "serve", str(db), "--host", "127.0.0.1", "--port", str(port),
                             "--setting", "num_sql_threads", "3", "--setting", "suggest_facets", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + f"/{db.stem}/records.json?_size=1", proc)
    return proc, base


def paths(kind: str, server: str, rows: int, resource_id: str, n: int = 2000) -> list[str]:
    rnd = random.Random(42)
    out = []
    for _ in range(n):
        if kind == "filter":
            value = rnd.choice(INDUSTRIES)
            if server == "huiju":
                out.append("/api/3/action/datastore_search?" + urlencode(
                    {"resource_id": resource_id, "filters": json.dumps({"industry": value}, ensure_ascii=False),
                     "limit": 100}))
            else:
                out.append(f"/bench/records.json?industry={quote(value)}&_size=100")
        elif kind == "pk":
            key = uscc(rnd.randrange(rows))
            if server == "huiju":
                out.append("/api/3/action/datastore_search?" + urlencode(
                    {"resource_id": resource_id, "filters": json.dumps({"uscc": key})}))
            else:
                out.append(f"/bench/records.json?uscc={key}")
        else:
            after = 0 if kind == "page1" else 999_900
            if server == "huiju":
                params = {"resource_id": resource_id, "limit": 100}
                if after:
                    params["filters"] = json.dumps({"_id": {"gt": after}})
                out.append("/api/3/action/datastore_search?" + urlencode(params))
            else:
                out.append("/bench/records.json?_size=100" + (f"&_next={after}" if after else ""))
    return out


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(base: str, url_paths: list[str], *, connections: int, duration: int, folder: Path) -> dict:
    listing = folder / "paths.txt"
    listing.write_text("\n".join(url_paths) + "\n")
    script = folder / "random.lua"
    script.write_text(LUA)
    proc = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
                           "-s", str(script), base], env={**os.environ, "WRK_PATHS": str(listing)},
                          capture_output=True, text=True, check=True)
    text = proc.stdout
    if "Latency Distribution" not in text:
        raise SystemExit(f"wrk gave no latency distribution:\n{text}\n{proc.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = dict(re.findall(r"(50|75|90|99)%\s+([\d.]+(?:us|ms|s))", text))
    if "50" not in lat or "99" not in lat:
        raise SystemExit(f"cannot read wrk's latency distribution:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {"rps": rps, "p50_ms": _ms(lat["50"]), "p99_ms": _ms(lat["99"]),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "",
            "requests": int(re.search(r"(\d+) requests in", text).group(1))}


def check_answers(huiju: str, datasette: str, resource_id: str) -> None:
    """Both servers answer the same question with the same rows before anything is timed."""
    import urllib.request

    value = INDUSTRIES[3]
    h = json.load(urllib.request.urlopen(huiju + "/api/3/action/datastore_search?" + urlencode(
        {"resource_id": resource_id, "filters": json.dumps({"industry": value}, ensure_ascii=False), "limit": 100})))
    d = json.load(urllib.request.urlopen(datasette + f"/bench/records.json?industry={quote(value)}&_size=100"
                                         "&_shape=objects"))
    hk = [r["uscc"] for r in h["result"]["records"]]
    dk = [r["uscc"] for r in d["rows"]]
    assert hk == dk and len(hk) == 100, "the two servers disagree on the filtered rows"


def in_process(home: Path, rows: int, resource_id: str, calls: int) -> dict[str, dict[str, float]]:
    """Time datastore_search itself (no HTTP, one thread): page 1 against page 10,000 without network noise."""
    from urllib.parse import parse_qsl, urlsplit

    from huiju.auth.roles import Actor
    from huiju.config import Settings
    from huiju.opendata import ckan
    from huiju.storage.uow import Storage

    storage = Storage.open(Settings(home=home, database_url=""))
    out = {}
    try:
        for kind in ("filter", "pk", "page1", "page10000"):
            requests = [dict(parse_qsl(urlsplit(p).query)) for p in paths(kind, "huiju", rows, resource_id, calls)]
            times = []
            for data in requests[:50] + requests:  # the first 50 warm the page cache
                t0 = time.perf_counter()
                with storage.uow() as uow:
                    result = ckan.datastore_search(ckan.Ctx(uow, Actor.anonymous(), "http://bench"), data)
                    json.dumps(result, ensure_ascii=False, default=str)
                times.append(time.perf_counter() - t0)
            times = sorted(times[50:])
            out[kind] = {"median_ms": times[len(times) // 2] * 1000, "p99_ms": times[int(len(times) * 0.99)] * 1000}
    finally:
        storage.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each alternates the two servers")
    parser.add_argument("--json", type=Path, default=OUT / "opendata-results.json")
    parser.add_argument("--calls", type=int, default=2000, help="in-process datastore_search calls per workload")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    meta = prepare(args.rows)
    folder = OUT / f"opendata-{args.rows}"
    rid = meta["huiju"]["resource_id"]
    inproc = in_process(folder / "home", args.rows, rid, args.calls)
    for kind, t in inproc.items():
        print(f"in-process {kind:10} median {t['median_ms']:.2f} ms  p99 {t['p99_ms']:.2f} ms", flush=True)
    dproc, dbase = start_datasette(folder / "bench.db")  # first: it stops the run if Datasette is missing
    try:
        hproc, hbase = start_huiju(folder / "home")
    except BaseException:
        dproc.terminate()
        raise
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        check_answers(hbase, dbase, rid)
        for round_ in range(args.repeat):
            for kind in ("filter", "pk", "page1", "page10000"):
                order = [("datasette", dbase), ("huiju", hbase)]
                if round_ % 2:
                    order.reverse()
                for server, base in order:
                    load = [os.getloadavg()[0]]
                    r = run_wrk(base, paths(kind, server, args.rows, rid), connections=args.connections,
                                duration=args.duration, folder=folder)
                    r["load_before"] = load[0]
                    results.setdefault(kind, {}).setdefault(server, []).append(r)
                    print(f"{kind:10} {server:9} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:7.2f} ms  "
                          f"p99 {r['p99_ms']:7.2f} ms  non-2xx {r['non_2xx']}  load {load[0]:.2f}", flush=True)
    finally:
        for proc in (hproc, dproc):
            proc.terminate()
            proc.wait(10)

    def median(kind: str, server: str, key: str) -> float:
        values = sorted(r[key] for r in results[kind][server])
        return values[len(values) // 2]

    print()
    print(f"| workload ({args.connections} connections, {args.duration} s) | Datasette req/s | huiju req/s | ratio "
          f"| Datasette p99 ms | huiju p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    summary = {}
    for kind in ("filter", "pk", "page1", "page10000"):
        d, h = median(kind, "datasette", "rps"), median(kind, "huiju", "rps")
        dp, hp = median(kind, "datasette", "p99_ms"), median(kind, "huiju", "p99_ms")
        summary[kind] = {"datasette_rps": d, "huiju_rps": h, "ratio": h / d, "datasette_p99_ms": dp,
                         "huiju_p99_ms": hp}
        print(f"| {kind} | {d:,.0f} | {h:,.0f} | {h / d:.2f}× | {dp:.1f} | {hp:.1f} |")
    print()
    bars = [("filter throughput ≥ 1.5× Datasette", summary["filter"]["ratio"] >= 1.5),
            ("pk throughput ≥ 1.5× Datasette", summary["pk"]["ratio"] >= 1.5),
            ("filter p99 ≤ 50 ms", summary["filter"]["huiju_p99_ms"] <= 50),
            ("pk p99 ≤ 50 ms", summary["pk"]["huiju_p99_ms"] <= 50),
            ("page 10,000 ≥ 0.9× page 1 throughput",
             summary["page10000"]["huiju_rps"] >= 0.9 * summary["page1"]["huiju_rps"]),
            ("page 10,000 in-process median ≤ 1.1× page 1",
             inproc["page10000"]["median_ms"] <= 1.1 * inproc["page1"]["median_ms"])]
    for name, ok in bars:
        print(f"{'met' if ok else 'NOT MET':8} {name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"date": datetime.now(UTC).isoformat(), "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "args": {k: str(v) for k, v in vars(args).items()}, "build": meta, "runs": results, "summary": summary, "in_process": inproc,
        "bars": dict(bars)}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
