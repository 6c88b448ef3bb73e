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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huiju.storage.uow import PendingEvent, Storage, UnitOfWork

Write = Callable[["UnitOfWork"], Any]


@dataclass
class _Item:
    events: list[PendingEvent]
    write: Write | None
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    """Joins concurrent ``submit`` calls on one storage into shared transactions."""

    def __init__(self, storage: Storage, max_batch: int = 256) -> None:
        self._storage = storage
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._leading = False

    def submit(self, events: list[PendingEvent], write: Write | None = None) -> Any:
        """Commit ``events`` (in order) and whatever ``write(uow)`` adds, then return what ``write`` returned."""
        item = _Item(list(events), write)
        with self._cond:
            self._queue.append(item)
            while not item.done:
                if self._leading:
                    self._cond.wait()
                    continue
                self._leading = True
                batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
                self._cond.release()
                try:
                    self._write(batch)
                finally:
                    self._cond.acquire()
                    self._leading = False
                    self._cond.notify_all()
        if item.error is not None:
            raise item.error
        return item.result

    def _write(self, batch: list[_Item]) -> None:
        """One transaction for the batch; if it fails, one transaction per item."""
        try:
            results = self._commit(batch)
        except BaseException:
            if len(batch) == 1:
                self._finish_alone(batch[0])
                return
            for item in batch:
                self._finish_alone(item)
            return
        for item, result in zip(batch, results, strict=True):
            item.result, item.done = result, True

    def _finish_alone(self, item: _Item) -> None:
        try:
            item.result = self._commit([item])[0]
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            item.error = exc
        item.done = True

    def _commit(self, batch: list[_Item]) -> list[Any]:
        results = []
        with self._storage.uow() as uow:
            for item in batch:
                for pending in item.events:
                    uow.emit(pending.actor, pending.event)
                results.append(item.write(uow) if item.write is not None else None)
            uow.commit()
        return results
