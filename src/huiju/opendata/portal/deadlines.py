"""When a review is due: a number of working days after submission, in China's calendar.

Working days follow the State Council's holiday schedule (weekends, statutory holidays, 调休
make-up days) as published in the pinned ``chinese-calendar``; for a year it does not cover yet,
Monday to Friday count, so a deadline is always set.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar

from huiju.config import Settings

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def review_due(settings: Settings, received: datetime, days: int) -> date:
    """The ``days``-th working day after the day ``received`` falls on in China (that day does not count)."""
    day, left = received.astimezone(CHINA).date(), days
    while left:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day
