"""Per-key and per-IP rate limits for the open-data API and downloads: a token bucket per caller.

Buckets live in the serving process (each `huiju serve` worker counts on its own), which is
what the limits protect: that process's capacity. A caller refused gets how long to wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until one call is allowed again; 0 when allowed


class RateLimiter:
    """Token buckets keyed by caller: ``per_minute`` calls a minute, bursts up to the same number."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_callers: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self._max = max_callers

    def hit(self, kind: str, caller: str, per_minute: int) -> Verdict:
        """Spend one call of ``caller``'s allowance, or say how long to wait."""
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get((kind, caller))
            if bucket is None:
                if len(self._buckets) >= self._max:
                    self._forget_full(now, rate)
                bucket = self._buckets[(kind, caller)] = _Bucket(float(per_minute), now)
            bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Verdict(True, per_minute, int(bucket.tokens), 0)
            wait = math.ceil((1.0 - bucket.tokens) / rate)
            return Verdict(False, per_minute, 0, max(wait, 1))

    def _forget_full(self, now: float, rate: float) -> None:
        """Drop callers idle long enough to have a full bucket again, so memory stays bounded."""
        idle = [k for k, b in self._buckets.items() if (now - b.updated) * rate >= 60 * rate]
        for k in idle or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[k]
