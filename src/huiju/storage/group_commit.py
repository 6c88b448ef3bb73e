"""Group commit: many threads' small audit-and-log transactions joined into one, written by whichever thread
arrives first (the leader) while the others wait.

Under many concurrent API reads each call ends with a tiny write (its audit events, an exchange-log row).
Committing them one by one serialises the threads on the database's single writer and, in one process, on a
lock whose holder keeps competing for the GIL; joining the writes that queue up meanwhile into one transaction
costs one BEGIN/COMMIT and one audit-head update per batch instead of per call.

Nothing is asynchronous: ``submit`` returns only once its writes and events are committed, so every call is
on record before its response leaves. If a batch fails, each of its items is retried alone, so one bad item
fails only its own caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huiju.storage.uow import PendingEvent, Storage, UnitOfWork

Write = Callable[["UnitOfWork"], Any]


@dataclass
class _Item:
    events: list[PendingEvent]
    write: Write | None
    ready: threading.Event = field(default_factory=threading.Event)  # set when done, or when asked to lead
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    """Joins concurrent ``submit`` calls on one storage into shared transactions.

    At most one thread leads at a time: it takes the queue (its own item included), commits it, wakes each
    caller in the batch, then hands the lead to the first caller that queued meanwhile, if any.
    """

    def __init__(self, storage: Storage, max_batch: int = 256) -> None:
        self._storage = storage
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Item] = []
        self._leading = False

    def submit(self, events: list[PendingEvent], write: Write | None = None) -> Any:
        """Commit ``events`` (in order) and whatever ``write(uow)`` adds, then return what ``write`` returned."""
        item = _Item(list(events), write)
        with self._lock:
            self._queue.append(item)
            lead, self._leading = not self._leading, True
        if not lead:
            item.ready.wait()
        if not item.done:  # leading: the queue starts with this item
            with self._lock:
                batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
            try:
                self._write(batch)
            finally:
                with self._lock:
                    if self._queue:
                        self._queue[0].ready.set()  # not done: it leads next
                    else:
                        self._leading = False
        if item.error is not None:
            raise item.error
        return item.result

    def _write(self, batch: list[_Item]) -> None:
        """One transaction for the batch; if it fails, one transaction per item. Every item ends done."""
        try:
            results = self._commit(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting callers
            if len(batch) == 1:
                self._finish(batch[0], error=exc)
                return
            for item in batch:
                try:
                    self._finish(item, result=self._commit([item])[0])
                except BaseException as alone:  # noqa: BLE001
                    self._finish(item, error=alone)
            return
        for item, result in zip(batch, results, strict=True):
            self._finish(item, result=result)

    @staticmethod
    def _finish(item: _Item, *, result: Any = None, error: BaseException | None = None) -> None:
        item.result, item.error, item.done = result, error, True
        item.ready.set()

    def _commit(self, batch: list[_Item]) -> list[Any]:
        results = []
        with self._storage.uow() as uow:
            for item in batch:
                for pending in item.events:
                    uow.emit(pending.actor, pending.event)
                results.append(item.write(uow) if item.write is not None else None)
            uow.commit()
        return results
