"""Ingest benchmark: huiju's full ingest path against DuckDB read_csv → Parquet and PostgreSQL COPY, side by side.

    .venv/bin/python bench/ingest/run.py                    # 5,000,000 rows, every measurement once
    .venv/bin/python bench/ingest/run.py --rows 1000000 --repeat 3
    .venv/bin/python bench/ingest/run.py --only huiju-utf8 --profile   # where the time goes, stage by stage

The legal-entity CSV (and the same text as GB18030) is generated once into bench/out/ (git-ignored) and
reused. Every measurement runs in its own subprocess, so its peak memory (max RSS, from wait4) is its own:

- ``duckdb``: DuckDB ``COPY (SELECT * FROM read_csv(file)) TO 'x.parquet'`` — the plain columnar baseline,
  type sniffing included, nothing validated.
- ``huiju-utf8`` / ``huiju-gb18030``: ``ingest.service.ingest_file`` on a real home (SQLite metadata, the
  real lake) into a dataset with a confirmed Table Schema: GB 32100 code as required primary key, GB 11643
  citizen ID, required fields, enum, maxLength, a number with a minimum, a date (not in the future) and a
  GB/T 2260 region code checked against the city's code table. The file's encoding is detected, as for an
  upload. Timed: the whole ingest_file call (SM3 of the file, classification proposal, the pipeline,
  quarantine rows, the Parquet version and its commit); the home is set up beforehand, untimed.
- ``pg-copy`` / ``pg-copy-gb18030``: ``COPY t FROM STDIN (FORMAT csv, HEADER)`` into a table of text columns
  (what CKAN's xloader does, validating nothing), the file streamed through psycopg, on a throwaway
  cluster started like the test suite's (tests/conftest.py ``PgCluster``: fsync off). The client is the
  subprocess; the server's memory is not counted.

Rows/s = data rows in the file / wall seconds. Nothing here asserts timings; RESULTS.md records runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(HERE), str(REPO)]

import legal_entities

TODAY = date(2026, 11, 1)
KINDS = ("duckdb", "huiju-utf8", "huiju-gb18030", "pg-copy", "pg-copy-gb18030")
BARS = {"duckdb": 0.5, "pg": 1.0, "gb18030": 0.8, "rss_gib": 1.5}


# --------------------------------------------------------------------------- children (one measurement each)


def child_duckdb(path: Path, work: Path) -> dict[str, Any]:
    import duckdb

    out = work / "duckdb.parquet"
    conn = duckdb.connect()
    start, cpu = time.perf_counter(), _cpu()
    conn.execute(f"COPY (SELECT * FROM read_csv('{path}')) TO '{out}' (FORMAT parquet)")
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    rows = conn.execute(f"SELECT count(*) FROM '{out}'").fetchone()[0]
    return {"seconds": seconds, "cpu_s": cpu, "rows_written": rows, "parquet_bytes": out.stat().st_size,
            "note": f"duckdb {duckdb.__version__}, default threads and compression"}


def _cpu() -> float:
    """This process's CPU seconds so far, every thread included."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _home(work: Path):
    """A fresh platform home: migrated SQLite, lake, one department, one operator, the dataset and its schema."""
    from huiju.auth import service as auth
    from huiju.auth.roles import Actor, Role
    from huiju.catalog import service as catalog
    from huiju.config import Settings
    from huiju.storage.lake import Lake
    from huiju.storage.migrate import upgrade
    from huiju.storage.uow import Storage

    settings = Settings(home=work / "home", secret_key="bench")
    settings.home.mkdir(parents=True)
    upgrade(settings.db_url)
    Lake(settings.lake_path).ensure()
    storage = Storage.open(settings)
    system = Actor.system("bench")
    with storage.uow() as uow:
        auth.create_department(uow, system, code="SJ", name="示例市市场监督管理局", level="city",
                               region_code="990100")
    with storage.uow() as uow:
        user = auth.create_user(uow, system, username="steward", display_name="steward",
                                password="bench-password-42", role=Role.OPERATOR)
        actor = auth.actor_for_user(user)
    descriptor, rules = legal_entities.schema()
    with storage.uow() as uow:
        catalog.register_dataset(uow, actor, key="legal_entities", name="法人登记信息", department_code="SJ")
    with storage.uow() as uow:
        catalog.save_schema(uow, actor, "legal_entities", table_schema=descriptor, rules=rules, confirmed=True)
    return storage, actor


class _Stages:
    """--profile: wall seconds spent in each stage of the pipeline, by wrapping the functions it calls, and the
    peak RSS (sampled every 20 ms) and peak Arrow allocation seen while each stage ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss: dict[str, float] = {}
        self.peak_arrow: dict[str, float] = {}
        self.current = "setup"
        self._stop = False

    def _sample(self) -> None:
        import pyarrow as pa

        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop:
            with open("/proc/self/statm") as fh:
                rss = int(fh.read().split()[1]) * page / 2**20
            stage = self.current
            self.peak_rss[stage] = max(self.peak_rss.get(stage, 0.0), rss)
            self.peak_arrow[stage] = max(self.peak_arrow.get(stage, 0.0), pa.total_allocated_bytes() / 2**20)
            time.sleep(0.02)

    def start_sampling(self) -> None:
        import threading

        threading.Thread(target=self._sample, daemon=True).start()

    def stop_sampling(self) -> None:
        self._stop = True

    def wrap(self, owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kw: Any) -> Any:
            start, outer = time.perf_counter(), self.current
            self.current = label
            try:
                return inner(*args, **kw)
            finally:
                self.current = outer
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)

    def install(self) -> None:
        from huiju.ingest import pipeline, service
        from huiju.ingest.connectors.csv import CsvConnector
        from huiju.storage.lake.files import StagedVersion

        self.wrap(pipeline, "split_batch", "split_batch (standardise + validate)")
        split = pipeline.split_batch

        def split_and_measure(conn: Any, *args: Any, **kw: Any) -> Any:
            try:
                return split(conn, *args, **kw)
            finally:
                used = conn.sql("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0] or 0
                self.duckdb_mib = max(getattr(self, "duckdb_mib", 0), used / 2**20)

        pipeline.split_batch = split_and_measure
        self.wrap(pipeline._KeysSeen, "split", "primary key across chunks")
        self.wrap(StagedVersion, "write", "Parquet write (writer thread)")
        self.wrap(StagedVersion, "close", "Parquet close + fsync")
        self.wrap(service, "file_sm3", "SM3 of the file")
        self.wrap(service, "_schema_for", "schema + classification proposal")
        self.wrap(service.catalog_service, "mount_on_publish", "publish")
        stages = self
        read = CsvConnector.read

        def timed_read(connector: Any):
            it = read(connector)
            while True:
                start, outer = time.perf_counter(), stages.current
                stages.current = "CSV read (connector)"
                try:
                    batch = next(it)
                except StopIteration:
                    return
                finally:
                    stages.current = outer
                    stages.seconds["CSV read (connector)"] = (
                        stages.seconds.get("CSV read (connector)", 0.0) + time.perf_counter() - start)
                yield batch

        CsvConnector.read = timed_read
        run = service.run_pipeline

        def run_pipeline(*args: Any, quarantine: Any, **kw: Any) -> Any:
            def keep(rows: list[Any]) -> None:
                start, outer = time.perf_counter(), stages.current
                stages.current = "quarantine rows (ORM)"
                quarantine(rows)
                stages.current = outer
                stages.seconds["quarantine rows (ORM)"] = (
                    stages.seconds.get("quarantine rows (ORM)", 0.0) + time.perf_counter() - start)
            start, stages.current = time.perf_counter(), "run_pipeline (other)"
            try:
                return run(*args, quarantine=keep, **kw)
            finally:
                stages.current = "after run_pipeline"
                stages.seconds["run_pipeline (total)"] = time.perf_counter() - start

        service.run_pipeline = run_pipeline


def child_huiju(path: Path, work: Path, profile: bool) -> dict[str, Any]:
    from huiju.ingest import service

    storage, actor = _home(work)
    stages = _Stages()
    if profile:
        stages.install()
        stages.start_sampling()
    start, cpu = time.perf_counter(), _cpu()
    with storage.uow() as uow:
        job = service.ingest_file(uow, actor, dataset_key="legal_entities", path=path, today=TODAY)
        result = {"status": job.status, "error": job.error, "encoding": job.encoding, "rows_read": job.rows_read,
                  "rows_accepted": job.rows_accepted, "rows_rejected": job.rows_rejected,
                  "rule_counts": dict(job.rule_counts)}
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    storage.close()
    if job.status != "succeeded":
        raise SystemExit(f"ingest failed: {result}")
    version = next((storage.settings.lake_path / "datasets" / "legal_entities").iterdir())
    result.update(seconds=seconds, cpu_s=cpu, parquet_bytes=sum(f.stat().st_size for f in version.glob("*.parquet")))
    if profile:
        stages.stop_sampling()
        result["stages"] = {k: round(v, 3) for k, v in stages.seconds.items()}
        result["stage_peak_rss_mib"] = {k: round(v) for k, v in stages.peak_rss.items()}
        result["stage_peak_arrow_mib"] = {k: round(v) for k, v in stages.peak_arrow.items()}
        result["duckdb_peak_mib_after_chunk"] = round(getattr(stages, "duckdb_mib", 0))
    return result


def child_pg(path: Path, url: str, encoding: str) -> dict[str, Any]:
    import psycopg
    from legal_entities import COLUMNS

    cols = ", ".join(f'"{c}" text' for c in COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS t")
        conn.execute(f"CREATE TABLE t ({cols})")
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            sql = f"COPY t FROM STDIN (FORMAT csv, HEADER true, ENCODING '{encoding}')"
            with cur.copy(sql) as copy, open(path, "rb") as fh:
                while data := fh.read(1 << 20):
                    copy.write(data)
        seconds = time.perf_counter() - start
        rows = conn.execute("SELECT count(*) FROM t").fetchone()[0]
        conn.execute("DROP TABLE t")
        version = conn.info.server_version
    return {"seconds": seconds, "rows_written": rows, "note": f"server {version}, fsync off"}


def child_main(argv: list[str]) -> None:
    kind, path, work = argv[0], Path(argv[1]), Path(argv[2])
    if kind == "duckdb":
        result = child_duckdb(path, work)
    elif kind.startswith("huiju"):
        result = child_huiju(path, work, profile="--profile" in argv)
    else:
        result = child_pg(path, argv[3], "GB18030" if kind.endswith("gb18030") else "UTF8")
    print("RESULT " + json.dumps(result, ensure_ascii=False))


# --------------------------------------------------------------------------- parent


def measure(kind: str, path: Path, extra: list[str], src: Path | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh process; its result plus its own peak RSS."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=HERE.parent / "out"))
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "_child", kind, str(path), str(work), *extra]
        with open(work / "stdout", "w") as so, open(work / "stderr", "w") as se:
            env = {**os.environ, "PYTHONPATH": str(src)} if src else None  # --src: another huiju tree
            proc = subprocess.Popen(cmd, stdout=so, stderr=se, env=env)
            _pid, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves: wait4 gives this child's rusage
            proc.returncode = os.waitstatus_to_exitcode(status)
        out, err = (work / "stdout").read_text(), (work / "stderr").read_text()
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            raise RuntimeError(f"{kind} failed (exit {proc.returncode}):\n{err[-3000:]}")
        result = json.loads(line[len("RESULT "):])
        result["max_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
        # CPU seconds of the timed part (the child's own figure; else the whole child's): steadier than wall
        result.setdefault("cpu_s", usage.ru_utime + usage.ru_stime)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as fh:
        mem = next((line.split()[1] for line in fh if line.startswith("MemTotal")), "0")
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "mem_gib": round(int(mem) / 2**20, 1), "python": platform.python_version(),
            "kernel": platform.release(), "load_avg_at_start": [round(x, 2) for x in load]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; measurements alternate within a round")
    parser.add_argument("--only", nargs="*", choices=KINDS, default=list(KINDS))
    parser.add_argument("--profile", action="store_true", help="time huiju's stages (adds a little overhead)")
    parser.add_argument("--json", type=Path, default=HERE.parent / "out" / "ingest-results.json")
    parser.add_argument("--src", type=Path, help="run huiju from this src folder (e.g. an export of an older "
                                                 "commit) instead of the installed one, for before/after figures")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    out = HERE.parent / "out"
    with console.status(f"Preparing the {args.rows:,}-row legal-entity CSV (cached in {out})…"):
        utf8, gb = legal_entities.ensure_files(out, args.rows, gb18030=any(k.endswith("gb18030") for k in args.only))
    files = {"utf8": utf8, "gb18030": gb}
    info = {"machine": machine(), "rows": args.rows, "started": datetime.now().isoformat(timespec="seconds"),
            "files": {k: {"path": str(p.relative_to(REPO)), "bytes": p.stat().st_size}
                      for k, p in files.items() if p.exists()},
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "huiju_src": str(args.src) if args.src else "installed", "runs": {}}

    cluster = None
    if any(k.startswith("pg") for k in args.only):
        from tests.conftest import PgCluster

        cluster = PgCluster()
        if not (cluster.initdb and cluster.pg_ctl):
            console.print("[yellow]PostgreSQL binaries not found; skipping pg-copy[/]")
            args.only = [k for k in args.only if not k.startswith("pg")]
            cluster = None
        else:
            cluster.start()
    try:
        for round_ in range(args.repeat):
            for kind in args.only:
                path = files["gb18030" if kind.endswith("gb18030") else "utf8"]
                extra = ["--profile"] if args.profile and kind.startswith("huiju") else []
                if cluster is not None and kind.startswith("pg"):
                    extra = [f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"]
                with console.status(f"round {round_ + 1}/{args.repeat}: {kind}…"):
                    result = measure(kind, path, extra, args.src if kind.startswith("huiju") else None)
                result["rows_per_s"] = args.rows / result["seconds"]
                result["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
                info["runs"].setdefault(kind, []).append(result)
                console.print(f"  {kind:16s} {result['seconds']:7.2f} s  {result['rows_per_s'] / 1e6:5.3f} M rows/s"
                              f"  CPU {result['cpu_s']:6.2f} s  peak RSS {result.get('max_rss_mib', 0):6.0f} MiB"
                              f"  load {result['load_avg_after']}")
                if "duckdb_peak_mib_after_chunk" in result:
                    console.print(f"      DuckDB memory after a chunk (max): {result['duckdb_peak_mib_after_chunk']} MiB")
                if "stages" in result:
                    rss, arrow = result["stage_peak_rss_mib"], result["stage_peak_arrow_mib"]
                    for stage in dict.fromkeys([*result["stages"], *rss]):
                        secs = result["stages"].get(stage)
                        console.print(f"      {stage:40s} {'' if secs is None else f'{secs:7.2f} s':>9}"
                                      f"  peak RSS {rss.get(stage, 0):5d} MiB, Arrow {arrow.get(stage, 0):5d} MiB")
    finally:
        if cluster is not None:
            cluster.stop()

    info["summary"] = summarise(info["runs"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(info, ensure_ascii=False, indent=2))

    table = Table(title=f"Ingest of {args.rows:,} legal-entity rows ({info['machine']['cpus']} CPUs, "
                        f"{info['machine']['mem_gib']} GiB)")
    for col in ("measurement", "seconds (median)", "M rows/s", "CPU s (median)", "peak RSS MiB", "runs (s)"):
        table.add_column(col, justify="left" if col == "measurement" else "right")
    for kind, s in info["summary"]["kinds"].items():
        table.add_row(kind, f"{s['seconds']:.2f}", f"{s['rows_per_s'] / 1e6:.3f}", f"{s['cpu_s']:.1f}",
                      f"{s['max_rss_mib']:.0f}", ", ".join(f"{x:.2f}" for x in s["all_seconds"]))
    console.print(table)
    for bar in info["summary"]["bars"]:
        colour = "green" if bar["met"] else "red"
        console.print(f"[{colour}]{'MET ' if bar['met'] else 'NOT MET'}[/] {bar['bar']}: {bar['value']}")
    console.print(f"JSON: {args.json}")


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Median seconds per measurement and the verdict on each bar of the issue."""
    import statistics

    kinds = {}
    for kind, rs in runs.items():
        secs = [r["seconds"] for r in rs]
        med = statistics.median(secs)
        kinds[kind] = {"seconds": med, "rows_per_s": rs[0]["rows_per_s"] * rs[0]["seconds"] / med,
                       "max_rss_mib": max(r.get("max_rss_mib", 0) for r in rs), "all_seconds": secs,
                       "cpu_s": statistics.median(r.get("cpu_s", 0) for r in rs)}
    bars = []
    rate = {k: v["rows_per_s"] for k, v in kinds.items()}
    if "huiju-utf8" in rate and "duckdb" in rate:
        ratio = rate["huiju-utf8"] / rate["duckdb"]
        bars.append({"bar": f"huiju UTF-8 ≥ {BARS['duckdb']}× DuckDB read_csv→Parquet", "ratio": ratio,
                     "value": f"{ratio:.2f}×", "met": ratio >= BARS["duckdb"]})
    if "huiju-utf8" in rate and "pg-copy" in rate:
        ratio = rate["huiju-utf8"] / rate["pg-copy"]
        bars.append({"bar": f"huiju UTF-8 ≥ {BARS['pg']}× PostgreSQL COPY", "ratio": ratio,
                     "value": f"{ratio:.2f}×", "met": ratio >= BARS["pg"]})
    if "huiju-utf8" in rate and "huiju-gb18030" in rate:
        ratio = rate["huiju-gb18030"] / rate["huiju-utf8"]
        bars.append({"bar": f"huiju GB18030 ≥ {BARS['gb18030']}× huiju UTF-8", "ratio": ratio,
                     "value": f"{ratio:.2f}×", "met": ratio >= BARS["gb18030"]})
    huiju = [v["max_rss_mib"] for k, v in kinds.items() if k.startswith("huiju")]
    if huiju:
        peak = max(huiju) / 1024
        bars.append({"bar": f"huiju peak RSS ≤ {BARS['rss_gib']} GiB", "value": f"{peak:.2f} GiB",
                     "met": peak <= BARS["rss_gib"]})
    return {"kinds": kinds, "bars": bars}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2:])
    else:
        main()
