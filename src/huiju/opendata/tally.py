"""API calls and downloads of open data, counted in memory and written to the statistics every few seconds.

Why not a write per call: the CKAN API is the platform's busiest path, answered on the event loop, and every
database write there would queue behind SQLite's single writer. The price is a window: counts of the last
``opendata_usage_flush_seconds`` live in memory until the next flush (and at shutdown); a process that is
killed loses them. Conditional reads are not tallied here: they are audited and counted at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import date

from huiju.opendata.portal import service as portal_service
from huiju.storage.db import utcnow
from huiju.storage.uow import Storage

log = logging.getLogger(__name__)


class UsageTally:
    """Counts per (day, resource id, kind); flushed after a call when ``due`` and at shutdown."""

    def __init__(self, every_seconds: float) -> None:
        self.every = every_seconds
        self._lock = threading.Lock()
        self._counts: Counter[tuple[date, str, str]] = Counter()
        self._last = time.monotonic()

    def add(self, resource_id: str, kind: str = "api") -> None:
        with self._lock:
            self._counts[(utcnow().date(), resource_id, kind)] += 1

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every

    def flush(self, storage: Storage) -> int:
        """Write what was counted; on failure keep it for the next flush. Returns the calls recorded."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._last = time.monotonic()
        if not counts:
            return 0
        try:
            with storage.uow() as uow:
                return portal_service.record_usage_counts(uow, counts)
        except Exception:  # noqa: BLE001 - statistics must never fail a call; kept and tried again
            log.warning("open-data usage counts not written yet; kept for the next flush", exc_info=True)
            with self._lock:
                self._counts.update(counts)
            return 0
