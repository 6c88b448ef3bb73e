"""Domain events: every state change emits one; subscribers (the audit chain first) run at commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base class; subclasses are past-tense dataclasses such as ``DepartmentCreated``."""

    actor_id: int | None = None
    actor_name: str = ""
    occurred_at: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC))

    context: ClassVar[str] = "platform"

    @property
    def event_type(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        """Event fields other than the envelope, as JSON-ready values."""
        skip = {"actor_id", "actor_name", "occurred_at"}
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in skip:
                continue
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out


Subscriber = Callable[[Any, list[Event]], None]
"""Called as ``subscriber(uow, events)`` inside the committing transaction."""

_subscribers: list[Subscriber] = []


def subscribe(fn: Subscriber) -> Subscriber:
    if fn not in _subscribers:
        _subscribers.append(fn)
    return fn


def subscribers() -> list[Subscriber]:
    return list(_subscribers)
