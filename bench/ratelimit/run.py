"""Per-call cost of the open-data rate limiter: the shared (memory-mapped, flock) counter against an in-process
dict under a lock (the design it replaced, which each uvicorn worker kept on its own), on one thread and on 16.

    .venv/bin/python bench/ratelimit/run.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from huiju.opendata.ratelimit import RateLimiter


class InProcess:
    """Baseline: a fixed one-minute window counted in this process only (not shared between workers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    def check(self, kind: str, caller: str, limit: int) -> bool:
        now = time.time()
        window = int(now // 60)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get((kind, caller), 0) + 1
            self._counts[(kind, caller)] = count
        return count <= limit


def per_call_us(limiter, calls: int, threads: int) -> float:
    callers = [f"10.0.{i // 256}.{i % 256}" for i in range(1000)]

    def work(offset: int) -> None:
        for i in range(calls // threads):
            limiter.check("ip", callers[(i + offset) % len(callers)], 10**9)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shared = RateLimiter(Path(tmp) / "ratelimit.bin")
        results = {}
        for threads in (1, 16):
            for name, limiter in (("in-process dict (before)", InProcess()), ("shared mmap + flock (after)", shared)):
                runs = [per_call_us(limiter, args.calls, threads) for _ in range(args.repeat)]
                results[f"{name}, {threads} thread(s)"] = statistics.median(runs)
    print(f"{'limiter':<45} {'µs per call (median of ' + str(args.repeat) + ')':>28}")
    for name, value in results.items():
        print(f"{name:<45} {value:>28.2f}")
    out = Path(__file__).resolve().parents[1] / "out"
    out.mkdir(exist_ok=True)
    (out / "ratelimit.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
