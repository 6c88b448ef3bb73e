"""A running job's voice: progress, heartbeat and log lines, written on their own connection as they happen.

The job's own transaction stays closed while rows stream (see ``service._load``), so these small writes
commit at once and others see them: the job page and API show rows done / total while the job runs,
and the job runner knows the job is alive. A job whose heartbeat stops (its process died) is marked
``interrupted`` by the runner's sweep. Writes here are best effort: a busy database delays or skips a
heartbeat, never the load.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from huiju.ingest.models import IngestJob, JobLogLine
from huiju.storage.db import utcnow

log = logging.getLogger(__name__)


class JobReporter:
    """Reports for one job: ``rows`` (throttled), ``line`` (at once), and a heartbeat thread while started."""

    def __init__(self, engine: Engine, job_id: int, *, heartbeat_seconds: float, worker: str | None = None) -> None:
        self.engine, self.job_id, self.worker = engine, job_id, worker
        self.interval = heartbeat_seconds
        self.done = 0
        self.total: int | None = None
        self._written: tuple[int, int | None] = (-1, None)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> JobReporter:
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.job_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def rows(self, done: int, total: int | None = None) -> None:
        """Rows read so far; the next heartbeat writes them.

        Progress is written only with heartbeats (every ``HUIJU_JOB_HEARTBEAT_SECONDS``): on SQLite every
        commit here can make a concurrent read-then-write transaction elsewhere fail ("database is
        locked"), so this job writes as seldom as it can while still showing it is alive.
        """
        self.done = done
        if total is not None:
            self.total = total

    def line(self, message: str, level: str = "info", **params: Any) -> None:
        """A log line (an English msgid and its parameters), visible at once."""
        self._execute(insert(JobLogLine).values(job_id=self.job_id, at=utcnow(), level=level, message=message,
                                                params={k: _plain(v) for k, v in params.items()}))

    def pause(self) -> None:
        """Stop writing while the job's own transaction holds the database (its final commit)."""
        with self._lock:
            self._paused = True

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._write_progress()

    def _write_progress(self) -> None:
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if (self.done, self.total) != self._written:
            values.update(rows_done=self.done, rows_total=self.total)
        condition = [IngestJob.id == self.job_id, IngestJob.status == "running"]
        if self.worker is not None:
            condition.append(IngestJob.claimed_by == self.worker)
        if self._execute(update(IngestJob).where(*condition).values(**values)):
            self._written = (self.done, self.total)

    def _execute(self, statement: Any) -> bool:
        with self._lock:
            if self._paused:
                return False
            try:
                with self.engine.begin() as conn:
                    conn.execute(statement)
                return True
            except SQLAlchemyError as exc:  # a locked SQLite file or a lost connection: the job goes on
                log.warning("job %s: could not report progress: %s", self.job_id, exc)
                return False


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
