"""What may be said about a figure: provisional periods, warm-up, and which way is better.

This is the one place these rules live; the engine stamps every value with them and the monthly
series marks every point with them, and the dashboard, the CLI and the reports only show the marks.

* **Provisional.** A metric declares its maturity in days (``maturity_days``: for an obligation
  measure its longest deadline plus the time late completions take to arrive). A month is
  provisional when it ends less than its maturity before the as-of date; a longer window
  (quarter, year to date, 12 months) is provisional when it contains a provisional month, and
  carries the share of its denominator in such months. A provisional figure is shown and marked;
  it is not an SPC point, and it is compared only with earlier periods as they stood at the same
  age (counted from the data as seen a period, or a year, before the as-of date).
* **Warm-up.** A metric declares how many days of history before a row's date its figure depends
  on (``warm_up_days``). A window that starts less than that after the data begin (the first
  crime reported) would miss rows the current one has, so it is not compared with, and its
  months are not SPC points.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from vcop.metrics.periods import Window, month_end
from vcop.spec.metrics import Metric

#: ``better`` for each polarity.
BETTER = {"higher_is_better": "higher", "lower_is_better": "lower", "neutral": "neutral"}


def better(metric: Metric) -> str:
    return BETTER[metric.polarity]


def maturity(metric: Metric) -> int:
    return int(metric.maturity_days or 0)


def month_provisional(month_start: date, as_of: date, maturity_days: int) -> bool:
    """Whether the month starting ``month_start`` ends less than ``maturity_days`` before ``as_of``."""
    return maturity_days > 0 and month_end(month_start) > as_of - timedelta(days=maturity_days)


def provisional_from(window: Window, as_of: date, maturity_days: int) -> date | None:
    """The first day of ``window`` that lies in a provisional month (None: nothing provisional)."""
    if maturity_days <= 0:
        return None
    first_month = (as_of - timedelta(days=maturity_days - 1)).replace(day=1)
    start = max(first_month, window.start)
    return start if start <= window.end else None


def ready_from(data_start: date | None, metric: Metric) -> date | None:
    """The first day a window of ``metric`` may start on to be out of the warm-up (None: any)."""
    days = int(metric.warm_up_days or 0)
    if data_start is None or days <= 0:
        return None
    return data_start + timedelta(days=days)


def in_warm_up(window: Window, ready: date | None) -> bool:
    return ready is not None and window.start < ready


def judged_month(month_start: date, as_of: date, metric: Metric, ready: date | None) -> bool:
    """Whether a month of the SPC series is a point SPC may judge: mature, out of the warm-up."""
    if month_provisional(month_start, as_of, maturity(metric)):
        return False
    return ready is None or month_start >= ready


def rebase_indexes(months: list[date], metric: Metric, local: Iterable[date] = ()) -> list[int]:
    """Positions in ``months`` (the judged points, oldest first) where a rebase starts a segment:
    the catalogue's ``spc_rebase`` months and the force's own (``local``, from targets.yaml)."""
    out = []
    for d in sorted({*metric.spc_rebase, *local}):
        later = [i for i, m in enumerate(months) if m >= d]
        if later:
            out.append(later[0])
    return out


def provisional_reason(metric: Metric) -> str:
    return (
        f"provisional (the period ends less than {maturity(metric)} days before the as-of date, "
        "so late completions may still arrive) and the earlier period cannot be seen as it "
        "stood at the same age"
    )


def warm_up_reason(metric: Metric, which: str) -> str:
    return (
        f"{which} starts in the data's first {metric.warm_up_days} days (warm-up): crimes "
        "reported before the data begin are missing from it"
    )


def no_data_reason(which: str) -> str:
    return f"{which} starts before the data begin"
