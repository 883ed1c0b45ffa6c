"""`vcop metrics`: every figure in the catalogue, with its interval, significance and SPC signal."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table as RichTable
from rich.text import Text

from vcop.cli.app import app, console, err_console, fail
from vcop.config import DEFAULT_DB, Settings
from vcop.metrics.engine import MetricsError, compute
from vcop.metrics.periods import PeriodKind
from vcop.metrics.suppress import publish
from vcop.metrics.values import RECORD_COLUMNS, MetricValue
from vcop.spec.check import DefinitionError
from vcop.spec.metrics import load_catalogue


class MetricsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def metrics(
    db: Annotated[Path, typer.Option("--db", help="The vcop DuckDB database file.")] = DEFAULT_DB,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="The date the figures are as of (required)."
        ),
    ] = None,
    period: Annotated[
        PeriodKind,
        typer.Option(help="month, quarter, fytd (financial year to date) or rolling_12m."),
    ] = PeriodKind.rolling_12m,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Only this metric (repeat for more). Default: all."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Break down by: area, district, unit, officer, crime_type, …"),
    ] = None,
    output: Annotated[
        MetricsFormat, typer.Option("--format", help="Output format.")
    ] = MetricsFormat.table,
    suppress: Annotated[
        bool,
        typer.Option("--suppress", help="Hide small numbers, as for partner and public outputs."),
    ] = False,
    threshold: Annotated[
        int | None,
        typer.Option(
            min=1, help="Suppression threshold (default: the suppression_threshold setting, 10)."
        ),
    ] = None,
    list_metrics: Annotated[
        bool,
        typer.Option("--list", help="List the metrics and breakdowns in the catalogue, and stop."),
    ] = False,
) -> None:
    """Compute the metric catalogue for a period ending on the as-of date.

    Each figure comes with its sample size, a 95% interval, whether it changed significantly from
    the previous period and from a year before, and the SPC signal of its monthly series. See
    docs/metrics.md for every definition.
    """
    try:
        catalogue = load_catalogue()
    except DefinitionError as exc:
        fail(f"the metric catalogue has problems (run `vcop check`):\n{exc}")
    if list_metrics:
        _list(catalogue.metrics, [(b.id, b.title) for b in catalogue.breakdowns])
        return
    if as_of is None:
        fail(
            "--as-of DATE is required (the figures are as of that date; vcop never reads the clock)"
        )
    if not db.exists():
        fail(f"{db}: no such database")
    import ibis

    from vcop.store import connect

    con = connect(db, read_only=True)
    try:
        backend = ibis.duckdb.from_connection(con)
        result = compute(
            backend, as_of.date(), period, metrics=metric or None, by=by, catalogue=catalogue
        )
    except MetricsError as exc:
        fail(str(exc))
    finally:
        con.close()
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    values = result.values
    if suppress:
        values = publish(values, threshold or Settings().suppression_threshold)
    if not values:
        fail("no metric could be computed (see the notes above)", code=1)
    if output is MetricsFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(RECORD_COLUMNS)
        for v in values:
            rec = v.record()
            writer.writerow(["" if rec[c] is None else rec[c] for c in RECORD_COLUMNS])
    elif output is MetricsFormat.json:
        sys.stdout.write(json.dumps([v.record() for v in values], indent=1))
        sys.stdout.write("\n")
    else:
        _table(values)


# --- the terminal table -----------------------------------------------------------------------

_VARIATION = {
    "common_cause": ("common", "grey50"),
    "special_cause_improvement": ("improvement", "bold blue"),
    "special_cause_concern": ("concern", "bold dark_orange"),
    "special_cause_neutral_high": ("high", "bold magenta"),
    "special_cause_neutral_low": ("low", "bold magenta"),
}
_ASSURANCE = {
    "consistently_pass": ("pass", "blue"),
    "consistently_fail": ("fail", "dark_orange"),
    "hit_and_miss": ("hit & miss", "grey50"),
}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "proportion":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _change(rec: dict[str, Any], prefix: str, unit: str) -> Text:
    change = rec["change" if prefix == "previous" else "year_ago_change"]
    significant = rec[
        "significant_change" if prefix == "previous" else "significant_change_year_ago"
    ]
    before = rec[f"{prefix}_value"]
    if before is None:
        return Text("")
    text = Text(_fmt(before, unit))
    if change is not None:
        step = 100 * change if unit == "proportion" else change
        digits = 0 if unit == "count" else 1
        text.append(f" {step:+,.{digits}f}", style="bold" if significant else "")
    if significant:
        text.append("*", style="bold")
    return text


def _row(v: MetricValue, label: Text, show_year: bool) -> list[Text]:
    rec = v.record()
    unit = v.unit
    if v.suppressed:
        value, interval, n = Text("suppressed", style="italic grey50"), Text(""), Text("")
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
    if v.spc_variation is None:
        spc_word, spc_style = (f"{v.spc_points} mo", "grey50")
    else:
        spc_word, spc_style = _VARIATION[v.spc_variation]
    assurance, ass_style = _ASSURANCE.get(v.spc_assurance or "", ("", ""))
    cells = [label, value, interval, n, _change(rec, "previous", unit)]
    if show_year:
        cells.append(_change(rec, "year_ago", unit))
    cells += [Text(spc_word, style=spc_style), Text(assurance, style=ass_style)]
    return cells


def _table(values: Sequence[MetricValue]) -> None:
    first = values[0]
    show_year = (
        first.previous is None
        or first.year_ago is None
        or (first.previous.estimate.start != first.year_ago.estimate.start)
    )
    table = RichTable(
        title=(
            f"vcop metrics — {first.period} {first.current.start} to {first.current.end} "
            f"(as of {first.as_of})"
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
        if len(rows) == 1 and rows[0].group_name == "all":
            table.add_row(*_row(rows[0], Text(metric_id, style="bold"), show_year))
            continue
        table.add_row(Text(f"{metric_id} (by {rows[0].breakdown_name})", style="bold"))
        for v in rows:
            table.add_row(*_row(v, Text(f"  {v.group_name}"), show_year))
    console.print(table)
    compared = first.previous.estimate if first.previous else None
    console.print(
        "* significant change (5% level)   † small sample   "
        + (
            f"{'previous' if show_year else 'year before'}: {compared.start} to {compared.end}"
            if compared
            else ""
        ),
        style="grey50",
        highlight=False,
    )


def _list(metrics: Sequence[Any], breakdowns: list[tuple[str, str]]) -> None:
    table = RichTable(
        title="Metric catalogue (docs/metrics.md has the definitions)", title_justify="left"
    )
    table.add_column("metric", no_wrap=True)
    for name in ("title", "kind", "unit", "breakdowns"):
        table.add_column(name, overflow="fold")
    for m in metrics:
        table.add_row(m.id, m.title, m.kind, m.unit, ", ".join(m.breakdowns))
    console.print(table)
    console.print("Breakdowns: " + "; ".join(f"{b} ({t})" for b, t in breakdowns), highlight=False)
