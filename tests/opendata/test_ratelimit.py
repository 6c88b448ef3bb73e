"""The open-data rate limits hold across processes: several processes (and `uvicorn --workers 2`) share one count."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx

from huiju.opendata.ratelimit import RateLimiter
from tests.conftest import _free_port, wait_for

NOON = partial(float, "1800000030.0")  # a fixed clock, picklable for the child processes (30 s into a minute)


def _hammer(path: str, calls: int, limit: int) -> int:
    """In a child process: make ``calls`` checks for one caller; how many were allowed."""
    limiter = RateLimiter(Path(path), clock=NOON)
    return sum(limiter.check("ip", "10.0.0.7", limit).allowed for _ in range(calls))


def test_processes_share_one_count(tmp_path):
    path = str(tmp_path / "ratelimit.bin")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        allowed = pool.starmap(_hammer, [(path, 60, 100)] * 4)
    assert sum(allowed) == 100  # 240 calls from four processes, exactly the limit let through
    assert RateLimiter(Path(path), clock=NOON).check("ip", "10.0.0.7", 100).allowed is False
    assert RateLimiter(Path(path), clock=NOON).check("ip", "10.0.0.8", 100).allowed is True  # another caller


def test_the_window_resets_each_minute_and_says_when(tmp_path):
    now = [1800000050.0]
    limiter = RateLimiter(tmp_path / "r.bin", clock=lambda: now[0])
    assert [limiter.check("key", "k1", 2).allowed for _ in range(3)] == [True, True, False]
    refused = limiter.check("key", "k1", 2)
    assert refused.retry_after == 10 and refused.limit == 2
    assert limiter.check("ip", "k1", 2).allowed  # kinds count apart
    now[0] += 10
    assert limiter.check("key", "k1", 2).allowed  # a new minute
    assert limiter.check("key", "k1", 0).allowed  # 0 = unlimited


def test_a_full_table_lets_calls_through_and_stale_slots_are_reused(tmp_path):
    now = [1800000000.0]
    limiter = RateLimiter(tmp_path / "small.bin", clock=lambda: now[0], slots=4)
    for caller in "abcd":
        assert limiter.check("ip", caller, 1).allowed
    assert [limiter.check("ip", c, 1).allowed for c in "abcd"] == [False] * 4  # each caller found again
    assert limiter.check("ip", "e", 1).allowed and limiter.check("ip", "e", 1).allowed  # full: uncounted
    now[0] += 60
    assert limiter.check("ip", "e", 1).allowed and not limiter.check("ip", "e", 1).allowed  # counted again


def test_uvicorn_with_two_workers_keeps_one_limit(settings, storage, tmp_path):
    """The real server with two worker processes: the per-IP limit is the limit, not twice it."""
    port = _free_port()
    env = {**os.environ, "HUIJU_HOME": str(settings.home), "HUIJU_DATABASE_URL": settings.database_url,
           "HUIJU_SECRET_KEY": "test-secret", "HUIJU_OPENDATA_RATE_PER_IP": "20"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "huiju.app:create_app", "--workers", "2",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/3", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60)
        if time.time() % 60 > 45:  # start well inside a minute, so the window does not turn mid-test
            time.sleep(61 - time.time() % 60)
        codes = []
        for _ in range(40):  # a fresh connection each time, so both workers take calls
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
                codes.append(http.get("/api/3/action/status_show").status_code)
        assert codes == [200] * 20 + [429] * 20
    finally:
        server.terminate()
        server.wait(timeout=30)
