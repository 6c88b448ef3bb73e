"""Per-key and per-IP call limits of the open-data API: a fixed one-minute window per caller, shared by every
process of the platform on one machine (``uvicorn --workers N`` must not multiply the limit).

The counters live in a small memory-mapped file under the platform's home (a fixed-size open-addressing
table of ``(caller hash, window, count)`` slots); an ``flock`` on that file (and a thread lock, since
``flock`` does not separate threads sharing a descriptor) makes each check-and-count one atomic step across
processes. Measured cost per call is a few microseconds (docs/opendata.md): no database round trip on the
hot path. Windows are wall-clock minutes, the same in every process.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("huiju.opendata.ratelimit")

SLOT = struct.Struct("<QII")  # caller hash (0 = never used), window (minutes since the epoch), count
SLOTS = 1 << 16  # 65,536 callers a minute per limiter (1 MiB file)
PROBES = 64  # slots looked at per caller before giving up


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    retry_after: int  # seconds until the window resets


class RateLimiter:
    """Counts calls per (kind, caller) in the current minute; limits come from settings (0 = unlimited)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, slots: int = SLOTS) -> None:
        self.path = path
        self._clock = clock
        self._slots = slots
        self._lock = threading.Lock()
        self._warned = False
        path.parent.mkdir(parents=True, exist_ok=True)
        size = slots * SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size != size:  # new (or from a build with another table size): start empty
                os.ftruncate(self._fd, 0)
                os.ftruncate(self._fd, size)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, size)

    def check(self, kind: str, caller: str, limit: int) -> Verdict:
        """Count one call of ``caller`` and say whether it is within ``limit`` calls this minute."""
        if limit <= 0:
            return Verdict(True, 0, 0)
        digest = hashlib.blake2b(f"{kind}\x00{caller}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "little") or 1
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = self._clock()  # read under the lock: windows only move forward across processes
                window = int(now // 60)
                count = self._count(key, window, key % self._slots)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        retry_after = 60 - int(now % 60)
        if count is None:  # the table is full of this minute's callers: let the call through rather than refuse all
            if not self._warned:
                self._warned = True
                log.warning("rate-limit table %s is full this minute; calls pass uncounted", self.path)
            return Verdict(True, limit, retry_after)
        return Verdict(count <= limit, limit, retry_after)

    def _count(self, key: int, window: int, start: int) -> int | None:
        """Add one to the caller's slot of this window (claiming a stale slot if it has none); the new count.

        A caller's slot is the first one of its probe sequence not taken in this window when the caller first
        came; every slot ahead of it was taken in this window and stays so until the window ends, so the
        first slot that is either the caller's or stale is the right one.
        """
        buf = self._map
        for i in range(PROBES):
            offset = ((start + i) % self._slots) * SLOT.size
            slot_key, slot_window, count = SLOT.unpack_from(buf, offset)
            if slot_window == window and slot_key == key:
                SLOT.pack_into(buf, offset, key, window, count + 1)
                return count + 1
            if slot_window != window:
                SLOT.pack_into(buf, offset, key, window, 1)
                return 1
        return None

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def limiter_for(state: object, home: Path, name: str) -> RateLimiter:
    """The app's limiter called ``name`` (one counter file per name under the platform's home), made once."""
    attr = f"rate_limiter_{name}"
    found = getattr(state, attr, None)
    if found is None:
        found = RateLimiter(home / "run" / f"ratelimit-{name}.bin")
        setattr(state, attr, found)
    return found
