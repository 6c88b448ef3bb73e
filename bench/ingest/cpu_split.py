"""Where the CPU goes: thread CPU seconds per stage of one huiju ingest of the bench file, by thread.

    .venv/bin/python bench/ingest/cpu_split.py --rows 1000000

Wraps the pipeline's functions with ``time.thread_time`` (CPU of the calling thread only), so the figures are
CPU seconds, which load on a shared machine disturbs far less than wall time; the DuckDB and Arrow worker
threads are read from /proc at the end. Nested stages are reported inside their parents (indented names).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

import legal_entities  # noqa: E402
import run  # noqa: E402

CPU: dict[str, float] = defaultdict(float)
SPANS: list[tuple[str, float, float]] = []  # (stage, wall start, wall end) of the top-level stages, for --timeline
THREADS: dict[str, float] = defaultdict(float)
_local = threading.local()


def _wrap(owner: object, name: str, label: str) -> None:
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args, **kw):  # type: ignore[no-untyped-def]
        start, wall = time.thread_time(), time.perf_counter()
        try:
            return inner(*args, **kw)
        finally:
            CPU[label] += time.thread_time() - start
            if not label.startswith(" "):
                SPANS.append((label, wall, time.perf_counter()))

    setattr(owner, name, timed)


def _thread_total(owner: object, name: str, label: str) -> None:
    inner = getattr(owner, name)

    def timed(*args, **kw):  # type: ignore[no-untyped-def]
        try:
            return inner(*args, **kw)
        finally:
            THREADS[label] += time.thread_time()

    setattr(owner, name, timed)


def _tasks() -> dict[int, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timeline", action="store_true", help="also print when each top-level stage ran")
    args = parser.parse_args()
    path, _ = legal_entities.ensure_files(HERE.parent / "out", args.rows, gb18030=False)

    from huiju.ingest import pipeline, quality, service
    from huiju.security import lake_crypto
    from huiju.storage.lake.files import StagedVersion

    for owner, name, label in [
        (service, "_schema_for", "schema + classification proposal"),
        (pipeline, "split_batch", "split_batch"),
        (quality, "_trimmed", "  trim"),
        (quality, "_completed", "  output columns (_completed)"),
        (quality, "_vector_fail", "  vectorised check digits"),
        (quality, "_later_duplicates", "  unique within chunk"),
        (quality, "_reject_records", "  reject records"),
        (pipeline._KeysSeen, "split", "primary key across chunks"),
        (service._Spool, "add", "quarantine spool"),
        (service._Spool, "insert", "quarantine insert"),
        (StagedVersion, "write", "Parquet write (writer thread)"),
        (lake_crypto, "token_array", "  lookup tokens"),
        (lake_crypto, "encrypt_array", "  SM4-CTR"),
    ]:
        _wrap(owner, name, label)
    _thread_total(pipeline._Writer, "_run", "writer thread")
    _thread_total(pipeline._Prefetch, "_run", "reader thread (DuckDB's own workers apart)")
    _thread_total(service, "file_sm3", "SM3 thread")
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-", dir=HERE.parent / "out"))
    storage, actor = run._home(work)
    before = _tasks()
    main_tid = threading.get_native_id()
    start_main, start_all, wall = time.thread_time(), run._cpu(), time.perf_counter()
    t0 = wall
    try:
        with storage.uow() as uow:
            job = service.ingest_file(uow, actor, dataset_key="legal_entities", path=path, today=run.TODAY)
        wall, total, caller = time.perf_counter() - wall, run._cpu() - start_all, time.thread_time() - start_main
    finally:
        storage.close()
        shutil.rmtree(work, ignore_errors=True)
    after = _tasks()
    pool = sum(v - before.get(t, 0.0) for t, v in after.items() if t != main_tid)
    assert job.status == "succeeded", job.error
    print(f"{job.rows_read:,} rows read, {job.rows_accepted:,} accepted, {job.rows_rejected:,} rejected; "
          f"wall {wall:.2f} s, CPU {total:.2f} s, load {os.getloadavg()[0]:.1f}")
    print(f"{'caller thread':45s} {caller:6.2f}")
    for label, value in CPU.items():
        if label not in ("Parquet write (writer thread)", "  lookup tokens", "  SM4-CTR"):
            print(f"  {label:43s} {value:6.2f}")
    for label, value in THREADS.items():
        print(f"{label:45s} {value:6.2f}")
        if label == "writer thread":
            for sub in ("Parquet write (writer thread)", "  lookup tokens", "  SM4-CTR"):
                print(f"  {sub:43s} {CPU[sub]:6.2f}")
    print(f"{'other threads still alive (DuckDB, Arrow pools)':45s} {pool:6.2f}")
    if args.timeline:
        for label, begin, end in sorted(SPANS, key=lambda s: s[1]):
            print(f"  {begin - t0:7.3f} – {end - t0:7.3f}  {label}")


if __name__ == "__main__":
    main()
