"""How a metric value is written on a page: its figure, interval and change, and the marks the
engine stamped on it (provisional, not comparable, target with its source, which way is better).

Nothing here decides anything: every mark is read from the :class:`MetricValue` (or the
:class:`Series`) the engine made (see :mod:`vcop.metrics.policy`), and only put into words.
"""

from __future__ import annotations

from typing import Any

from vcop.metrics.release import SUPPRESSED
from vcop.metrics.series import Point, Series
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Metric
from vcop.web.charts import sparkline
from vcop.web.labels import label
from vcop.web.pages import Column

ASSURANCE_LABELS: dict[str, tuple[str, str]] = {
    "consistently_pass": ("Consistently meets target", "govuk-tag--blue"),
    "consistently_fail": ("Consistently misses target", "govuk-tag--orange"),
    "hit_and_miss": ("Hit and miss", "govuk-tag--grey"),
}

#: ``better`` in words (under the heading "Better").
BETTER_TEXT = {"higher": "Higher", "lower": "Lower", "neutral": "Neither"}


def show(value: float | None, unit: str, *, change: bool = False) -> str | None:
    """A value in its unit ("82.5%", "12.0 min"); with ``change``, a change on the previous
    period ("+1.2 pts"). A value that rounds to zero is written without a sign ("0.0 pts", never
    "-0.0 pts")."""
    if value is None:
        return None
    if unit == "proportion":
        number, suffix = value * 100, " pts" if change else "%"
    else:
        number, suffix = value, {"minutes": " min", "days": " days"}.get(unit, "")
    digits = 1 if unit in ("proportion", "minutes", "days") else 0
    text = f"{number:,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")
    elif change and number > 0:
        text = "+" + text
    return text + suffix


def group_label(metric: Metric, group: str, breakdown: str) -> str:
    """A group of ``metric`` split by ``breakdown`` in words (see :func:`vcop.web.labels.label`)."""
    return label(breakdown, group)


def provisional_text(v: MetricValue) -> str:
    """Whether the figure is provisional, and how much of it is in months still completing."""
    if not v.provisional:
        return "No"
    if v.suppressed or v.provisional_share is None:
        return "Provisional"
    return f"Provisional ({v.provisional_share:.0%} of cases in months still completing)"


def change_text(v: MetricValue, unit: str) -> str | None:
    """The change on the previous period and whether it is significant; when the engine says the
    figure may not be compared, why not; ``[c]`` when a release hides the figure, or the earlier
    one it would be compared with."""
    if v.suppressed:
        return SUPPRESSED
    before = v.previous.estimate if v.previous is not None else None
    if before is not None and before.numerator is None and before.denominator is None:
        return f"Previous period {SUPPRESSED}"  # hidden in a release: so is the change
    if v.previous is not None and v.previous.change is not None:
        sig = v.previous.significant
        change = show(v.previous.change, unit, change=True)
        return f"{change} ({'significant' if sig else 'not significant'})"
    if not v.comparable and v.comparable_reason:
        return f"Not compared: {v.comparable_reason}"
    return None


def target_text(v: MetricValue, unit: str) -> str | None:
    """The force's target and its source, only where the engine gave one to judge against
    (adopted, in force, aggregate): an unadopted target is never shown as a target."""
    if v.target is None:
        return None
    value = show(v.target, unit)
    return f"{value} ({v.target_source})" if v.target_source else value


def value_row(v: MetricValue, metric: Metric) -> dict[str, Any]:
    """A metric value as a row: its public columns, and text for the page."""
    rec = v.record()
    unit = metric.unit
    text: str | None
    interval: str | None
    if v.suppressed:
        text = interval = SUPPRESSED
        n: Any = SUPPRESSED
    else:
        text = show(v.current.value, unit)
        lo, hi = v.current.ci_low, v.current.ci_high
        # a count is the whole of what happened, not a sample: no interval is shown for it
        interval = (
            f"{show(lo, unit)} to {show(hi, unit)}"
            if lo is not None and hi is not None and unit != "count"
            else None
        )
        n = v.current.denominator if v.current.denominator is not None else v.current.numerator
    return {
        **rec,
        "title": metric.title,
        "value_text": text,
        "n": n,
        "interval": interval,
        "change_text": change_text(v, unit),
        "provisional_text": provisional_text(v),
        "target_text": target_text(v, unit),
        "better_text": BETTER_TEXT.get(v.better, v.better),
        "small_sample_text": "small sample" if v.small_sample else None,
    }


VALUE_COLUMNS = [
    Column("value_text", "Value", "number"),
    Column("n", "n", "number"),
    Column("interval", "95% interval"),
    Column("change_text", "Change on previous period", "note"),
    Column("provisional_text", "Provisional", "note"),
    Column("spc_variation", "Variation", "spc"),
    Column("spc_assurance", "Assurance against target", "assurance"),
    Column("target_text", "Target (source)"),
    Column("better_text", "Better"),
]
PUBLIC_COLUMNS = [
    Column(name, name, html=False)
    for name in (
        "metric_id", "period", "period_start", "period_end", "breakdown", "group", "numerator",
        "denominator", "value", "ci_low", "ci_high", "small_sample", "previous_value", "change",
        "p_value", "significant_change", "spc_points", "target", "unit", "as_of", "suppressed",
        "definitions_hash", "provisional", "provisional_share", "comparable", "comparable_reason",
        "target_source", "target_adopted", "target_effective_from", "target_effective_to",
        "target_basis", "better",
    )
]  # fmt: skip


def point_text(p: Point, unit: str) -> str | None:
    """A month's value as text: ``[c]`` for a month a release hides."""
    return SUPPRESSED if p.suppressed else show(p.value, unit)


def spark(series: Series | None, metric: Metric, key: str) -> dict[str, Any] | None:
    """A sparkline of the monthly series (the page shows it; the XmR page has its figures), its
    provisional months hollow and the months a release hides left out."""
    if series is None or len(series.points) < 2:
        return None
    rows = [
        {"month": p.month.isoformat(), "value": p.value, "provisional": p.provisional}
        for p in series.points
        if not p.suppressed
    ]
    if len(rows) < 2:
        return None
    first, last = series.points[0], series.points[-1]
    description = (
        f"{metric.title}, monthly from {first.month:%B %Y} ({point_text(first, metric.unit)}) "
        f"to {last.month:%B %Y} ({point_text(last, metric.unit)}"
        + (", provisional" if last.provisional else "")
        + ")"
    )
    return {
        "id": key,
        "description": description,
        "spec": sparkline(
            rows, x="month", y="value", description=description, hollow="provisional"
        ),
    }
