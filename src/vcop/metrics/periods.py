"""Reporting periods and the periods each is compared with, all ending on the as-of date.

Every window is a closed range of dates: a row whose date falls on ``start``, ``end`` or between
belongs to it.

* ``month``: the calendar month of the as-of date, from its first day up to the as-of date.
* ``quarter``: the calendar quarter of the as-of date likewise (April–June is quarter 1 of the
  financial year; calendar and financial quarters share their boundaries).
* ``fytd``: the financial year to date, from 1 April up to the as-of date.
* ``rolling_12m``: the 12 months ending on the as-of date (from the day after the same date a year
  before; when the as-of date is a month end, exactly 12 calendar months).

Comparisons: ``previous`` is the month or quarter before; for ``fytd`` and ``rolling_12m`` the
window before would overlap the current one (and two overlapping samples cannot be tested against
each other), so their ``previous`` is the same span a year earlier, like ``year_ago``. When the
month or quarter is not yet complete (the as-of date is not its last day), the earlier windows
cover the same number of days from their start, so like is compared with like; a complete period
is compared with complete periods.

The SPC series is the ``months`` complete calendar months up to the as-of date: ending with the
as-of month when the as-of date is its last day, else with the month before.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class PeriodKind(StrEnum):
    month = "month"
    quarter = "quarter"
    fytd = "fytd"
    rolling_12m = "rolling_12m"


@dataclass(frozen=True, order=True)
class Window:
    """A closed range of dates."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends {self.end} before it starts {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class PeriodWindows:
    """The current window of a period and every window it is compared with."""

    kind: PeriodKind
    as_of: date
    current: Window
    previous: Window
    year_ago: Window
    spc_months: tuple[Window, ...]

    def benchmark(self, years: int) -> Window:
        """The ``years`` before the current window (the long-term benchmark of a count)."""
        return Window(
            add_months(self.current.start, -12 * years), self.current.start - timedelta(days=1)
        )


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _like_for_like(
    start: date, span_days: int, complete: bool, months_back: int, length: int
) -> Window:
    """The window ``months_back`` months before one starting at ``start``, ``length`` months long."""
    s = add_months(start, -months_back)
    full_end = add_months(s, length) - timedelta(days=1)
    if complete:
        return Window(s, full_end)
    return Window(s, min(s + timedelta(days=span_days - 1), full_end))


def windows(kind: PeriodKind | str, as_of: date, spc_months: int = 24) -> PeriodWindows:
    """The windows of ``kind`` ending on ``as_of``."""
    kind = PeriodKind(kind)
    if kind in (PeriodKind.month, PeriodKind.quarter):
        length = 1 if kind is PeriodKind.month else 3
        first_month = as_of.month if length == 1 else 3 * ((as_of.month - 1) // 3) + 1
        start = date(as_of.year, first_month, 1)
        end_of_period = add_months(start, length) - timedelta(days=1)
        complete = as_of == end_of_period
        span = (as_of - start).days + 1
        current = Window(start, as_of)
        previous = _like_for_like(start, span, complete, length, length)
        year_ago = _like_for_like(start, span, complete, 12, length)
    elif kind is PeriodKind.fytd:
        fy = as_of.year if as_of.month >= 4 else as_of.year - 1
        start = date(fy, 4, 1)
        current = Window(start, as_of)
        year_ago = Window(date(fy - 1, 4, 1), add_months(as_of, -12))
        previous = year_ago
    else:
        start = add_months(as_of + timedelta(days=1), -12)
        current = Window(start, as_of)
        year_ago = Window(add_months(start, -12), start - timedelta(days=1))
        previous = year_ago
    last = as_of if as_of == month_end(as_of) else as_of.replace(day=1) - timedelta(days=1)
    months = []
    for back in range(spc_months - 1, -1, -1):
        first = add_months(last.replace(day=1), -back)
        months.append(Window(first, month_end(first)))
    return PeriodWindows(kind, as_of, current, previous, year_ago, tuple(months))
