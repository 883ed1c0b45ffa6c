"""The terminal table of `vcop metrics`: each value with the marks the engine gave it.

Nothing here decides anything: provisional (``p``), not comparable (``–``), suppressed (``[c]``),
the SPC reading (``no variation`` for a flat series) and the adopted target are read off each
:class:`~vcop.metrics.values.MetricValue`, and a legend under the table explains the marks shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich import box
from rich.table import Table as RichTable
from rich.text import Text

from vcop.cli.app import console
from vcop.metrics.periods import Window, windows
from vcop.metrics.release import SUPPRESSED, suppressed_note
from vcop.metrics.spc import NO_VARIATION
from vcop.metrics.targets import Targets
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Catalogue

_VARIATION = {
    "common_cause": ("common", "grey50"),
    "special_cause_improvement": ("improvement", "bold blue"),
    "special_cause_concern": ("concern", "bold dark_orange"),
    "special_cause_neutral_high": ("high", "bold magenta"),
    "special_cause_neutral_low": ("low", "bold magenta"),
    NO_VARIATION: ("no variation", "grey50"),
}
_ASSURANCE = {
    "consistently_pass": ("pass", "blue"),
    "consistently_fail": ("fail", "dark_orange"),
    "hit_and_miss": ("hit & miss", "grey50"),
}
_BETTER = {"higher": " ↑", "lower": " ↓", "neutral": ""}
#: A comparison the policy does not allow (warm-up, no data before).
NOT_COMPARED = "–"
#: A provisional value.
PROVISIONAL = "p"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "proportion":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _change(v: MetricValue, prefix: str) -> Text:
    """The earlier figure and the change to it; ``–`` where the figure may not be compared,
    ``[c]`` where the earlier figure is suppressed."""
    comparison = v.previous if prefix == "previous" else v.year_ago
    if comparison is None:
        return Text(NOT_COMPARED if not v.comparable else "", style="grey50")
    before = comparison.estimate
    if before.value is None:
        hidden = before.numerator is None and before.denominator is None
        return Text(SUPPRESSED if hidden else "", style="italic grey50")
    unit = v.unit
    text = Text(_fmt(before.value, unit))
    significant = comparison.significant
    if comparison.change is not None:
        step = 100 * comparison.change if unit == "proportion" else comparison.change
        digits = 0 if unit == "count" else 1
        text.append(f" {step:+,.{digits}f}", style="bold" if significant else "")
    if significant:
        text.append("*", style="bold")
    return text


def _provisional(v: MetricValue) -> str:
    """``p``, or ``p(22%)`` when only part of the period's cases are in provisional months (not
    for a suppressed figure: the share is worked out from its hidden counts)."""
    if not v.provisional:
        return ""
    share = v.provisional_share
    if share is None or share >= 0.995 or v.suppressed:
        return PROVISIONAL
    return f"{PROVISIONAL}({100 * share:.0f}%)"


def _target(v: MetricValue, targets: Targets) -> Text:
    """The adopted target in force (its value and the SPC assurance against it); a per-incident
    standard with its value, marked ``each`` (it is not judged against an aggregate)."""
    assurance, style = _ASSURANCE.get(v.spc_assurance or "", ("", ""))
    if v.target is not None:
        text = Text(_fmt(v.target, v.unit))
        if assurance:
            text.append(f" {assurance}", style=style)
        return text
    standard = targets.for_metric(v.metric_id, v.as_of).target
    if standard is not None and standard.adopted and standard.in_force(v.as_of):
        return Text(f"{_fmt(standard.value, v.unit)} each", style="grey50")
    return Text("")


def row(v: MetricValue, label: Text, show_year: bool, targets: Targets) -> list[Text]:
    unit = v.unit
    if v.suppressed:
        value, interval, n = Text(SUPPRESSED, style="italic grey50"), Text(""), Text("")
    else:
        value = Text(_fmt(v.current.value, unit))
        if v.small_sample:
            value.append(" †", style="yellow")
        lo, hi = v.current.ci_low, v.current.ci_high
        interval = Text(
            f"{_fmt(lo, unit)}–{_fmt(hi, unit)}" if lo is not None else "", style="grey62"
        )
        if v.kind in ("proportion", "share"):
            n = Text(f"{v.current.numerator or 0:,}/{v.current.denominator or 0:,}")
        elif v.kind == "count":
            n = Text("")
        else:
            n = Text(f"{v.current.denominator or 0:,}")
    mark = _provisional(v)
    if mark:
        value.append(f" {mark}", style="italic cyan")
    if v.spc_variation is None:
        spc_word, spc_style = (f"{v.spc_points} mo", "grey50")
    else:
        spc_word, spc_style = _VARIATION[v.spc_variation]
    cells = [label, value, interval, n, _change(v, "previous")]
    if show_year:
        cells.append(_change(v, "year_ago"))
    cells += [Text(spc_word, style=spc_style), _target(v, targets)]
    return cells


def print_table(
    values: Sequence[MetricValue],
    catalogue: Catalogue,
    targets: Targets,
    filters: Mapping[str, str],
    threshold: int | None = None,
) -> None:
    """``values`` as a table on standard output, with a legend of the marks it shows.
    ``threshold``: the suppression threshold the values went through (None: not suppressed)."""
    first = values[0]
    pw = windows(first.period, first.as_of, catalogue.settings.spc.months)
    show_year = pw.previous != pw.year_ago
    where = ", ".join(f"{k}={v}" for k, v in filters.items())
    table = RichTable(
        title=(
            f"vcop metrics — {first.period} {first.current.start} to {first.current.end} "
            f"(as of {first.as_of})" + (f" — {where}" if where else "")
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("metric / group", overflow="fold", min_width=18)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("95% CI", justify="right", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("previous" if show_year else "year before", justify="right", no_wrap=True)
    if show_year:
        table.add_column("year before", justify="right", no_wrap=True)
    table.add_column("SPC", no_wrap=True)
    table.add_column("target", no_wrap=True)
    by_metric: dict[str, list[MetricValue]] = {}
    for v in values:
        by_metric.setdefault(v.metric_id, []).append(v)
    for metric_id, rows in by_metric.items():
        name = metric_id + _BETTER[rows[0].better]
        if len(rows) == 1 and rows[0].group_name == "all":
            table.add_row(*row(rows[0], Text(name, style="bold"), show_year, targets))
            continue
        table.add_row(Text(f"{name} (by {rows[0].breakdown_name})", style="bold"))
        for v in rows:
            table.add_row(*row(v, Text(f"  {v.group_name}"), show_year, targets))
    console.print(table)
    compared = ("previous", pw.previous) if show_year else ("year before", pw.year_ago)
    for line in _legend(values, targets, compared, threshold):
        console.print(line, style="grey50", highlight=False, markup=False, soft_wrap=True)


def _legend(
    values: Sequence[MetricValue],
    targets: Targets,
    compared: tuple[str, Window],
    threshold: int | None,
) -> list[str]:
    """What the marks in the table mean (beyond the first line, only the marks it shows)."""
    name, window = compared
    lines = [
        "* significant change (5% level)   † small sample   ↑ higher is better   ↓ lower is "
        f"better   {name}: {window.start} to {window.end}"
    ]
    if any(v.provisional for v in values):
        lines.append(
            f"{PROVISIONAL} provisional: the period ends less than its metric's maturity before the "
            "as-of date (late completions may still arrive): it is no SPC point, and it is compared "
            "with the earlier periods as they stood at the same age (previous_seen_at, "
            f"year_ago_seen_at in --format csv); {PROVISIONAL}(22%) = 22% of its cases are in "
            "provisional months (provisional_share)"
        )
    if any(not v.comparable for v in values):
        lines.append(
            f"{NOT_COMPARED} not comparable: see comparable_reason in --format csv "
            "(warm-up at the data's start, or no data before)"
        )
    if any(v.spc_variation == NO_VARIATION for v in values):
        lines.append(
            "no variation: every month judged is the same, so SPC has nothing to judge "
            "(no limits, no signal)"
        )
    if any(_target(v, targets).plain for v in values):
        lines.append(
            "target: the force's adopted target in force (targets.yaml) and the SPC assurance "
            "against it; 'each' = a per-incident standard, not judged against an aggregate"
        )
    if threshold is not None and any(v.suppressed or SUPPRESSED in _hidden(v) for v in values):
        lines.append(suppressed_note(threshold))
    return lines


def _hidden(v: MetricValue) -> str:
    return "".join(_change(v, p).plain for p in ("previous", "year_ago"))


def print_catalogue(catalogue: Catalogue) -> None:
    """The metrics and breakdowns of the catalogue (``vcop metrics --list``)."""
    table = RichTable(
        title="Metric catalogue (docs/metrics.md has the definitions)", title_justify="left"
    )
    table.add_column("metric", no_wrap=True)
    for name in ("title", "kind", "unit", "breakdowns"):
        table.add_column(name, overflow="fold")
    for m in catalogue.metrics:
        table.add_row(m.id, m.title, m.kind, m.unit, ", ".join(m.breakdowns))
    console.print(table)
    console.print(
        "Breakdowns: " + "; ".join(f"{b.id} ({b.title})" for b in catalogue.breakdowns),
        highlight=False,
    )
