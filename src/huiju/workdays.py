"""Working days in mainland China: weekends, statutory holidays and 调休 make-up working days.

The State Council publishes each year's holiday schedule in the autumn before; the ``chinese-calendar``
package carries those schedules (2004 to 2026 in the pinned version). For a year it does not know, the
platform either falls back to plain weekends (the default, so an SLA never stops running) or refuses, by
setting; dates a bureau enters itself (``share_extra_holidays`` / ``share_extra_workdays``) always win, so
next year's schedule can be entered the day it is published. Share reply deadlines and the open portal's
review due dates both count with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import chinese_calendar

from huiju.errors import Invalid

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
FALLBACKS = ("weekends", "refuse")


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days; the package's schedule, the bureau's own dates, and a fallback."""

    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)
    fallback: str = "weekends"

    @classmethod
    def from_settings(cls, settings) -> WorkCalendar:
        if settings.share_calendar_fallback not in FALLBACKS:
            raise Invalid("share_calendar_fallback must be weekends or refuse")
        return cls(frozenset(_dates(settings.share_extra_holidays)), frozenset(_dates(settings.share_extra_workdays)),
                   settings.share_calendar_fallback)

    def knows(self, day: date) -> bool:
        """Whether the published schedule covers ``day``'s year."""
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if self.fallback == "refuse":
                raise Invalid("The holiday schedule for %(year)s is not known; enter it in share_extra_holidays "
                              "and share_extra_workdays or upgrade chinese-calendar", year=day.year) from None
            return day.weekday() < 5

    def add_workdays(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself never counts, 次日起算)."""
        if days < 0:
            raise Invalid("A number of working days cannot be negative")
        day, left = start, days
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.workdays_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(days=n)))

    def due_day(self, received: datetime, days: int) -> date:
        """The ``days``-th working day after the day ``received`` falls on in China."""
        return self.add_workdays(received.astimezone(CHINA).date(), days)

    def deadline(self, received: datetime, days: int) -> datetime:
        """End of the ``days``-th working day after the day ``received`` falls on in China (an aware UTC time)."""
        last = self.due_day(received, days)
        return datetime.combine(last + timedelta(days=1), time(0), CHINA).astimezone(timezone.utc)

    def workdays_left(self, now: datetime, deadline: datetime) -> int:
        """Working days from today (China) to the deadline's last day; 0 on that day, negative once past."""
        today = now.astimezone(CHINA).date()
        last = (deadline.astimezone(CHINA) - timedelta(microseconds=1)).date()
        return self.workdays_between(today, last)


def _dates(values: list[str]) -> list[date]:
    out = []
    for v in values:
        try:
            out.append(date.fromisoformat(v.strip()))
        except ValueError:
            raise Invalid("%(value)s is not a date (YYYY-MM-DD)", value=v) from None
    return out
