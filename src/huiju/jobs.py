"""The job runner: worker threads inside `huiju serve` (``HUIJU_WORKERS``) and `huiju worker` processes.

Each tick a worker marks jobs whose process died ``interrupted``, queues the sources whose cron time has
come, runs the share context's periodic work (deadline reminders and escalations, subscription pushes; at
most once per poll interval), then claims one due job and runs it. Everything it does goes through ``ingest.service`` as the
system actor ``worker``; claiming is safe with any number of workers in any number of processes
(see ``claim_job``). The queue lives in the metadata database, so nothing else needs to run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from huiju.auth.roles import Actor
from huiju.errors import HuijuError
from huiju.ingest import service as ingest_service
from huiju.opendata import service as opendata_service
from huiju.share import service as share_service
from huiju.storage.uow import Storage

log = logging.getLogger(__name__)
WORKER_ACTOR = Actor.system("worker")


class Worker:
    """One worker: ``tick`` does one round of housekeeping and runs at most one job; ``run`` ticks until stopped."""

    def __init__(self, storage: Storage, *, name: str | None = None, stop: threading.Event | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.storage = storage
        self.name = name
        self.stop = stop or threading.Event()
        self.progress = progress
        self._periodic_at: float | None = None

    def tick(self, *, now: datetime | None = None) -> int | None:
        """Sweep stale jobs, queue due sources, then claim and run one job; returns its id, or None if idle."""
        name = self.name or ingest_service.worker_name()
        with self.storage.uow() as uow:
            ingest_service.mark_interrupted_jobs(uow, WORKER_ACTOR, now=now)
        with self.storage.uow() as uow:
            ingest_service.enqueue_due_sources(uow, WORKER_ACTOR, now=now)
        self.periodic(now=now)
        with self.storage.uow() as uow:
            job = ingest_service.claim_job(uow, WORKER_ACTOR, name, now=now)
        if job is None:
            return None
        self.run_claimed(job.id)
        return job.id

    def periodic(self, *, now: datetime | None = None, force: bool = False) -> None:
        """Share deadlines (reminders, escalation), subscription pushes and removing old open-data serving
        indexes, at most once per poll interval."""
        interval = self.storage.settings.job_poll_seconds
        if not force and self._periodic_at is not None and time.monotonic() - self._periodic_at < interval:
            return
        self._periodic_at = time.monotonic()
        for work in (share_service.check_deadlines, share_service.push_subscriptions,
                     opendata_service.prune_serving_indexes):
            try:
                with self.storage.uow() as uow:
                    work(uow, WORKER_ACTOR, now)
            except Exception:  # one failing chore must not stop ingest jobs; it is tried again next interval
                log.exception("periodic %s failed", work.__name__)

    def run_claimed(self, job_id: int) -> None:
        """Run a job this worker claimed; an unexpected error fails the job rather than the worker."""
        report = (lambda n: self.progress(job_id, n)) if self.progress else None
        try:
            with self.storage.uow() as uow:
                ingest_service.run_job(uow, WORKER_ACTOR, job_id, progress=report)
        except HuijuError as exc:
            log.warning("job %s: %s", job_id, exc)
        except Exception:  # a bug must not stop the worker; the job's heartbeat stops and it shows interrupted
            log.exception("job %s stopped with an unexpected error", job_id)

    def run(self) -> None:
        """Tick until stopped, resting ``HUIJU_JOB_POLL_SECONDS`` whenever there was nothing to do."""
        while not self.stop.is_set():
            try:
                busy = self.tick() is not None
            except Exception:
                log.exception("job runner tick failed")
                busy = False
            if not busy:
                self.stop.wait(self.storage.settings.job_poll_seconds)

    def drain(self, *, now: datetime | None = None) -> list[int]:
        """Run every job that is due now, then return their ids (for `huiju worker --once`)."""
        done: list[int] = []
        while not self.stop.is_set() and (job_id := self.tick(now=now)) is not None:
            done.append(job_id)
        return done


def start_threads(storage: Storage, count: int) -> tuple[threading.Event, list[threading.Thread]]:
    """Start ``count`` worker threads (inside `huiju serve`); set the returned event to stop them."""
    stop = threading.Event()
    threads = []
    for n in range(count):
        worker = Worker(storage, stop=stop)
        thread = threading.Thread(target=worker.run, name=f"huiju-worker-{n + 1}", daemon=True)
        thread.start()
        threads.append(thread)
    return stop, threads
