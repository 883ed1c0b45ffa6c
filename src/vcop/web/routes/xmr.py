"""The XmR chart of any metric: its monthly values, centre line and process limits, target,
signals and icons — of the whole force, or of the rows that match the filters in the query string
(``?area=North&district=Marshwick``, any breakdown the metric has).

The engine's series says which months SPC judges: a provisional month (younger than the metric's
maturity) or a month in the data's warm-up is drawn hollow and labelled, never coloured as a
signal; after a rebase each segment has its own limits; a series with no variation has nothing to
judge, so no limits are drawn.

A partner sees the series of the release (force-wide, per group): a month it hides is ``[c]``,
and a series with a hidden month has no reading, so no limits and no signal are shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException

from vcop.metrics.release import SUPPRESSED
from vcop.metrics.series import Point
from vcop.metrics.spc import XmR
from vcop.metrics.targets import TargetReading
from vcop.spec.metrics import Metric
from vcop.web.auth import Permission
from vcop.web.charts import POINT_COLOURS, SPC_LABELS, xmr_chart
from vcop.web.labels import group_text, label, order_key
from vcop.web.metrics import point_limits
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.routes.figures import point_text, show
from vcop.web.routes.metric_pages import figures_of, metrics_of

router = APIRouter()


def chart_filters(ctx: Ctx, metric: Metric) -> dict[str, str]:
    """The filters in the query string: every parameter named after a breakdown (other than the
    metric's own grouping, chosen with ``group``)."""
    out: dict[str, str] = {}
    for b in metrics_of(ctx).catalogue.breakdowns:
        value = ctx.param(b.id)
        if value is None or b.id in metric.grouping:
            continue
        if b.id not in metric.breakdowns:
            raise HTTPException(400, f"{metric.id} cannot be filtered by {b.id}")
        out[b.id] = value
    return out


def point_mark(provisional: bool, warm_up: bool) -> str | None:
    """The label of a point SPC does not judge."""
    if provisional:
        return "provisional"
    return "warm-up" if warm_up else None


def _limits(xmr: XmR | None) -> dict[str, Any]:
    return {
        "mean": xmr.mean if xmr else None,
        "upl": xmr.upl if xmr else None,
        "lpl": xmr.lpl if xmr else None,
    }


@page(router, "/metrics/{metric_id}", Permission.aggregate, name="xmr")
def xmr(ctx: Ctx) -> Page:
    """A metric's monthly XmR chart: mean, process limits, target, signals and icons."""
    view = metrics_of(ctx)
    metric_id = ctx.request.path_params["metric_id"]
    catalogue = view.catalogue
    if metric_id not in catalogue.metric_ids:
        raise HTTPException(404, f"There is no metric {metric_id!r}.")
    metric = catalogue.metric(metric_id)
    filters = chart_filters(ctx, metric)
    figs = figures_of(ctx)
    as_of = figs.as_of
    if as_of is None:
        nothing = figs.notes or ["No data has been loaded yet."]
        return Page(title=metric.title, template="xmr.html", notes=nothing)
    all_series = figs.series(metric_id, filters)
    groups = sorted(all_series, key=lambda g: tuple(order_key(part) for part in g))
    group_param = ctx.param("group")
    # a group of a metric grouped by several breakdowns is written with "/" (police/6)
    group: tuple[str, ...] = groups[0] if groups else ()
    if group_param:
        group = tuple(group_param.split("/")) if len(metric.grouping) > 1 else (group_param,)
    if groups and group not in all_series:
        names = ", ".join("/".join(g) for g in groups if g)
        raise HTTPException(
            404, f"{metric_id} has no group {group_param!r} (group may be {names})."
        )
    series = all_series.get(group)
    target = view.target(metric_id, as_of)
    notes: list[str] = []
    tables: list[Table] = []
    reading = series.reading if series else None
    summary: dict[str, Any] = {}
    month_columns = [
        Column("month", "Month", "month"),
        Column("value_text", "Value", "number"),
        Column("numerator", "Numerator", "number"),
        Column("denominator", "n", "number"),
        Column("point_type", "Signal", "spc"),
        Column("mark", "Not judged"),
        Column("limits_text", "Process limits"),
        *(
            Column(k, k, html=False)
            for k in ("value", "provisional", "warm_up", "suppressed", "mean", "upl", "lpl")
        ),
    ]
    if series is None:
        tables.append(
            Table(
                "months", "Monthly values", month_columns, [],
                empty="There are no monthly values yet.",
            )
        )  # fmt: skip
    else:
        rows = [
            _month_row(p, kind, lim, metric)
            for p, kind, lim in zip(
                series.points, series.point_types(), point_limits(series), strict=True
            )
        ]
        shown = [r for r in rows if not r["suppressed"]]
        chart = (
            xmr_chart(
                shown, reading, metric, labels=SPC_LABELS, colours=POINT_COLOURS,
                target=target.value,
            )
            if shown
            else None
        )  # fmt: skip
        tables.append(
            Table(
                "months",
                "Monthly values",
                month_columns,
                rows,
                chart=chart,
                caption="Months up to the as-of date, oldest first. Hollow points are months SPC "
                "does not judge: provisional (still completing) or in the data's warm-up.",
            )
        )
        hidden = any(p.suppressed for p in series.points)
        if hidden:
            notes.append(
                f"Months shown as {SUPPRESSED} are hidden, so this chart has no process limits "
                "and no signal: they would carry something of the hidden months."
            )
        notes.extend(
            _notes(metric, series.points, reading, catalogue.settings.spc.min_points, hidden)
        )
        if reading is not None:
            summary = {
                "Mean": show(reading.xmr.mean, metric.unit) if reading.xmr else None,
                "Upper process limit": show(reading.xmr.upl, metric.unit) if reading.xmr else None,
                "Lower process limit": show(reading.xmr.lpl, metric.unit) if reading.xmr else None,
            }
            summary = {k: v for k, v in summary.items() if v is not None}
            summary["Target"] = _target_words(target, as_of, metric)
    notes.extend(figs.notes)
    group_words = group_text(metric.grouping, group) if group and metric.grouping else None
    place = " › ".join(label(k, v) for k, v in filters.items())
    title = metric.title + "".join(f" – {x}" for x in (group_words, place) if x)
    return Page(
        title=title,
        template="xmr.html",
        tables=tables,
        notes=notes,
        meta={
            "metric_id": metric_id, "group": list(group), "filters": filters, "as_of": as_of,
            "mean": reading.xmr.mean if reading and reading.xmr else None,
            "upl": reading.xmr.upl if reading and reading.xmr else None,
            "lpl": reading.xmr.lpl if reading and reading.xmr else None,
            "variation": reading.variation if reading else None,
            "assurance": reading.assurance if reading else None,
            "target": target.value,
            "target_source": target.target.source if target.value is not None and target.target else None,
        },
        context={
            "metric": metric, "reading": reading, "summary": summary, "groups": groups,
            "group": group, "filters": filters, "group_labels": {
                g: group_text(metric.grouping, g) for g in groups if g and metric.grouping
            },
        },
    )  # fmt: skip


def _month_row(p: Point, kind: str | None, lim: XmR | None, metric: Metric) -> dict[str, Any]:
    """A month of the series as a row: ``[c]`` and nothing else for a month a release hides."""
    if p.suppressed:
        return {
            "month": p.month, "value": None, "value_text": SUPPRESSED, "numerator": SUPPRESSED,
            "denominator": SUPPRESSED, "point_type": None, "mark": point_mark(p.provisional, p.warm_up),
            "provisional": p.provisional, "warm_up": p.warm_up, "suppressed": True,
            **_limits(None), "limits_text": None,
        }  # fmt: skip
    return {
        "month": p.month,
        "value": p.value,
        "value_text": point_text(p, metric.unit),
        "numerator": p.numerator,
        "denominator": p.denominator,
        "point_type": kind,
        "mark": point_mark(p.provisional, p.warm_up),
        "provisional": p.provisional,
        "warm_up": p.warm_up,
        "suppressed": False,
        **_limits(lim),
        "limits_text": (
            f"{show(lim.lpl, metric.unit)} to {show(lim.upl, metric.unit)}" if lim else None
        ),
    }


def _target_words(reading: TargetReading, as_of: date, metric: Metric) -> str:
    """The target the engine judges against, and its source; an adopted per-incident standard in
    force is named but not judged against the monthly figure; an unadopted target is never shown
    as a target."""
    target = reading.target
    if reading.value is not None:
        source = f" ({target.source})" if target is not None else ""
        return f"{show(reading.value, metric.unit)}{source}"
    if (
        target is not None
        and target.adopted
        and target.basis == "per_incident"
        and target.in_force(as_of)
    ):
        return f"Per-incident standard, not judged against the monthly figure ({target.source})"
    return "None to judge against"


def _notes(
    metric: Metric, points: Any, reading: Any, min_points: int, hidden: bool = False
) -> list[str]:
    notes = []
    judged = sum(1 for p in points if p.judged)
    if reading is None:
        if not hidden:
            notes.append(
                f"There are {judged} months SPC can judge: it needs at least {min_points} before "
                "it gives a signal."
            )
    elif reading.xmr is None:
        notes.append(
            "No variation to judge: the months SPC judges all have the same value (their moving "
            "ranges are all zero), so there are no process limits and no signal."
        )
    if any(p.provisional for p in points):
        notes.append(
            f"Months marked provisional end less than {metric.maturity_days} days before the "
            "as-of date, so late completions may still arrive: they are drawn hollow and not "
            "judged."
        )
    if any(p.warm_up for p in points):
        notes.append(
            f"Months marked warm-up fall in the data's first {metric.warm_up_days} days, so they "
            "miss earlier crimes the figure depends on: they are drawn hollow and not judged."
        )
    return notes
