"""Time for the generator: whole minutes since 2000-01-01, ISO 8601 text, and working days.

Every timestamp in the generator is an ``int`` of minutes since :data:`EPOCH` (day number =
``minute // DAY``), which keeps the hot loops free of ``datetime`` objects. Text is produced once per
row when writing, as ``YYYY-MM-DDTHH:MM:00``.

Working days follow the England and Wales bank-holiday calendar (the ``holidays`` package). The
convention used for generating deadlines: ``add(day, n)`` is the n-th working day strictly after
``day`` -- the trigger day itself never counts, whether or not it is a working day.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

import holidays

EPOCH = date(2000, 1, 1)
DAY = 1440
HOUR = 60

_HHMM = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(60)]


def day_number(d: date) -> int:
    return (d - EPOCH).days


def day_date(n: int) -> date:
    return EPOCH + timedelta(days=n)


class Formatter:
    """Turns minute numbers into ISO 8601 text, caching the date part per day."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def ts(self, minute: int | None) -> str:
        if minute is None:
            return ""
        day, rest = divmod(minute, DAY)
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = day_date(day).isoformat()
        return f"{text}T{_HHMM[rest]}"

    def ts_seconds(self, second: int | None) -> str:
        """A time to the second (``second``: seconds since the epoch day's midnight)."""
        if second is None:
            return ""
        minute, sec = divmod(second, 60)
        return f"{self.ts(minute)[:-2]}{sec:02d}"


class WorkingDays:
    """England and Wales working days between two day numbers (inclusive)."""

    def __init__(self, first_day: int, last_day: int) -> None:
        years = range(day_date(first_day).year, day_date(last_day).year + 1)
        bank = holidays.country_holidays("GB", subdiv="ENG", years=years)
        self.first = first_day
        self.last = last_day
        self._work: list[int] = []
        self._is_work = bytearray(last_day - first_day + 1)
        for n in range(first_day, last_day + 1):
            d = day_date(n)
            if d.weekday() < 5 and d not in bank:
                self._work.append(n)
                self._is_work[n - first_day] = 1

    def is_working(self, day: int) -> bool:
        if day < self.first or day > self.last:
            return day_date(day).weekday() < 5
        return bool(self._is_work[day - self.first])

    def add(self, day: int, n: int) -> int:
        """The n-th working day strictly after ``day`` (n >= 1); ``day`` itself when n == 0."""
        if n <= 0:
            return day
        i = bisect_right(self._work, day) + n - 1
        if i < len(self._work):
            return self._work[i]
        # Past the calendar's end: count weekdays only (nothing there is ever written out).
        extra = i - len(self._work) + 1
        cur = self._work[-1] if self._work else day
        while extra:
            cur += 1
            if day_date(cur).weekday() < 5:
                extra -= 1
        return cur

    def between(self, day: int, later: int) -> int:
        """Working days after ``day`` up to and including ``later`` (0 on the same day); within
        the calendar's range only."""
        return bisect_right(self._work, later) - bisect_right(self._work, day)

    def on_or_after(self, day: int) -> int:
        """``day`` if it is a working day, otherwise the next working day."""
        return day if self.is_working(day) else self.add(day, 1)
