"""Per-key and per-IP call limits of the open-data API: a fixed one-minute window per caller, in process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    retry_after: int  # seconds until the window resets


class RateLimiter:
    """Counts calls per (kind, caller) in the current minute; limits come from settings (0 = unlimited)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    def check(self, kind: str, caller: str, limit: int) -> Verdict:
        if limit <= 0:
            return Verdict(True, 0, 0)
        now = self._clock()
        window = int(now // 60)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get((kind, caller), 0) + 1
            self._counts[(kind, caller)] = count
        return Verdict(count <= limit, limit, 60 - int(now % 60))
