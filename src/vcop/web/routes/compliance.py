"""Compliance with the Victims' Code: by right, by obligation or one measure, split by place
(drill down area → district → unit → officer) or by crime type, enhanced rights and protected
characteristics.

Every split honours every filter: the drill-down's places are passed to the engine as filters,
so each figure is of the filtered ledger — a unit that works in several districts shows, under a
district, that district's share of its work — and the groups of a split add up to the filtered
total. The monthly trend is of the same filtered rows.

A partner sees the release's figures (see :mod:`vcop.web.partner`): force-wide, by area, or of
one area; no drill below area, no trend of a place, and a 403 for any other split or filter.
"""

from __future__ import annotations

from fastapi import APIRouter

from vcop.metrics.values import MetricValue
from vcop.spec.agencies import agency_name
from vcop.web.auth import Permission
from vcop.web.charts import bar_chart
from vcop.web.labels import months, order_key, with_article
from vcop.web.metrics import PERIODS, MetricsView
from vcop.web.nav import several_forces
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.routes.common import no_ledger_note
from vcop.web.routes.figures import PUBLIC_COLUMNS, VALUE_COLUMNS, group_label, value_row
from vcop.web.routes.metric_pages import (
    common_meta,
    figures_of,
    metrics_of,
    period_context,
    period_of,
)
from vcop.web.splits import (
    LEVELS,
    PROTECTED,
    SPLIT_NAMES,
    VERSUS_REST_NOTE,
    SplitLinks,
    add_versus_rest,
    drill_filters,
    level_below,
    split_chart,
    trend_table,
    value_of,
)

router = APIRouter()

#: Splits that are not places.
SPLITS = ("crime_type", "enhanced", *PROTECTED)
#: The place above area: offered only when the database holds more than one force.
FORCE = "force"
#: The grouped compliance measures, and the metrics behind them.
MEASURE_METRICS = {"right": "compliance_by_right", "obligation": "compliance_by_obligation"}


def compliance_measures(view: MetricsView) -> dict[str, str]:
    """What compliance can be shown for: by right, by obligation, or one Victims' Code measure
    (only single measures go down to officers in the catalogue)."""
    out = {"right": "By right", "obligation": "By obligation"}
    for m in view.catalogue.metrics:
        if m.family == "victims_code" and not m.grouping and m.kind == "proportion":
            out[m.id] = m.title
    return out


@page(router, "/compliance", Permission.aggregate, name="compliance")
def compliance(ctx: Ctx) -> Page:
    """Compliance by right or by obligation, split by place (drill down area → district → unit →
    officer) or by crime type, enhanced rights and protected characteristics."""
    view = metrics_of(ctx)
    catalogue = view.catalogue
    period = period_of(ctx)
    measures = compliance_measures(view)
    measure = ctx.choice_param("measure", measures, "right")
    metric_id = MEASURE_METRICS.get(measure, measure)
    metric = catalogue.metric(metric_id)
    grouped = bool(metric.grouping)
    by = ctx.choice_param("by", (FORCE, *LEVELS, *SPLITS))
    parents = drill_filters(ctx)
    figs = figures_of(ctx)
    figs.check(by, parents)
    # a right or obligation of the measure: one the figures have (checked once they are known)
    chosen_group = ctx.param("group") if grouped else None
    as_of = figs.as_of
    title = f"Compliance: {measures[measure].lower()}"
    context = {
        **period_context(ctx, period), "measure": measure, "measures": measures, "by": by,
        "parents": parents, "levels": [
            *([FORCE] if several_forces(ctx.store) and figs.publishes(FORCE) else []),
            *[b for b in LEVELS if figs.publishes(b)]],
        "splits": [b for b in SPLITS if figs.publishes(b)], "group": chosen_group,
        "split_names": SPLIT_NAMES, "path": "/compliance",
        "as_of": as_of, "officer_measures": {
            k: v for k, v in measures.items() if "officer" in catalogue.metric(MEASURE_METRICS.get(k, k)).breakdowns
        },
    }  # fmt: skip
    whole = [v for v in figs.result(period).values if v.metric_id == metric_id]
    if as_of is None or not whole:
        notes = figs.notes if as_of is None and figs.notes else [no_ledger_note()]
        return Page(title=title, template="compliance.html", notes=notes, context=context)
    if chosen_group is not None:
        heads = sorted({v.group[0] for v in whole if v.group}, key=order_key)
        chosen_group = ctx.choice_param("group", heads)
    if by is not None and by not in metric.breakdowns:
        context["unsupported"] = catalogue.breakdown(by).title.lower()
        return Page(title=title, template="compliance.html", context=context)
    # a split or a filtered view computes just this metric, not the catalogue
    only = metric_id if by or parents else None
    result = figs.result(period, by, only, parents)
    values = [v for v in result.values if v.metric_id == metric_id]
    next_level = level_below(figs, by)
    owners = owner_of() if measure == "obligation" else {}
    rows = []
    shown: list[MetricValue] = []
    for v in values:
        head = v.group[0] if grouped else ""
        if chosen_group and head != chosen_group:
            continue
        row = value_row(v, metric)
        row["measure_label"] = (
            group_label(metric, head, metric.grouping[0]) if grouped else metric.title
        )
        if measure == "obligation":  # the body that owes it; a partner's own is marked
            row["owner"] = owners.get(head)
            row["owner_label"] = agency_name(row["owner"]) if row["owner"] else ""
            if row["owner"] and row["owner"] == ctx.user.agency:
                row["owner_label"] += " (your body)"
        # the row's own monthly XmR chart (its right or obligation, of its filtered rows), and
        # the level below
        query = {"measure": measure, "period": period,
                 **({"group": chosen_group} if chosen_group else {})}  # fmt: skip
        SplitLinks(
            "/compliance", query, by, parents, next_level, metric_id, figs,
            {"group": head} if grouped else {},
        ).add(row, v.group[-1] if by else None)  # fmt: skip
        rows.append(row)
        shown.append(v)
    # each right's (or the measure's) groups against the rest of its whole, before sorting
    tested: list[Column] = []
    overall: dict[str, MetricValue | None] = {}
    if by is not None:
        wholes = figs.result(period, None, metric_id, parents)
        for head in dict.fromkeys(v.group[0] if grouped else "" for v in shown):
            mine = [i for i, v in enumerate(shown) if not grouped or v.group[0] == head]
            overall[head] = value_of(wholes, metric_id, head or None)
            tested = add_versus_rest(
                metrics_of(ctx), figs, [rows[i] for i in mine], [shown[i] for i in mine],
                overall[head], metric, by, parents,
            ) or tested  # fmt: skip
    rows.sort(key=lambda r: (order_key(r["group"].split("/")[0]), str(r.get("split", ""))))
    label = {"right": "Right", "obligation": "Obligation"}.get(measure, "Measure")
    columns = [Column("measure_label", label, link="{trend_link}")]
    if measure == "obligation":
        columns += [Column("owner_label", "Owed by"), Column("owner", "owner", html=False)]
    if by:
        drill = "{drill}" if next_level else None
        title_by = catalogue.breakdown(by).title
        columns += [Column("split_label", title_by, link=drill, data=False),
                    Column("split", title_by, html=False)]  # fmt: skip
    place = " › ".join(parents.values())
    span = f" ({months(values[0].current.start, values[0].current.end)})" if values else ""
    table = Table(
        "compliance",
        f"Met on time, {PERIODS[period].lower()}{span}"
        + (f", {place}" if place else "")
        + (f", by {catalogue.breakdown(by).title.lower()}" if by else ""),
        [*columns, *VALUE_COLUMNS, *tested, Column("drill", "drill", html=False), *PUBLIC_COLUMNS],
        rows,
        caption="Of the entitlements that fell due in the period, the share met by their due date. "
        f"Select {with_article(label.lower())} for its monthly XmR chart"
        + ("; select a place to see the level below it." if next_level else ".")
        + (f" {VERSUS_REST_NOTE}" if tested else ""),
        empty="No entitlement fell due in this period for this selection.",
    )
    tables = [table]
    if by:
        split_name = catalogue.breakdown(by).title
        one = len(overall) == 1
        for r in rows:  # one right's groups by name; several rights' as "right · group"
            r["chart_label"] = (
                r["split_label"] if one else f"{r['measure_label'][:22]} · {r['split_label']}"
            )
        table.chart = split_chart(
            rows, metric, next(iter(overall.values())) if one else None, label_key="chart_label",
            y_title=split_name if one else f"{label} · {split_name.lower()}",
            description=f"{title}: share met on time by {split_name.lower()}",
        )  # fmt: skip
    if not by:
        chart_rows = [
            {"label": r["measure_label"][:40], "value": r["value"]}
            for r in rows if isinstance(r.get("value"), float) and not r["suppressed"]
        ]  # fmt: skip
        table.chart = bar_chart(
            chart_rows, x="value", y="label", x_title="Met on time", y_title=label,
            percent=True, description=f"{title}: share met on time",
        ) if chart_rows else None  # fmt: skip
        if measure != "obligation" and figs.publishes_series(parents):
            trend = trend_table(figs, metric, parents, title, caption=TREND_CAPTION)
            if trend is not None:
                tables.append(trend)
    notes = [*result.notes, *figs.notes]
    return Page(
        title=title,
        template="compliance.html",
        tables=tables,
        meta={**common_meta(ctx, as_of, period, result.definitions_hash), "metric_id": metric_id,
              "by": by, "parents": parents, "group": chosen_group},
        notes=notes,
        context=context,
    )  # fmt: skip


def owner_of() -> dict[str, str]:
    """Each obligation's owner (the Code's owner id)."""
    from vcop.spec.code import load_code

    return {o.id: o.owner for o in load_code().obligations}


#: What a month of compliance's trend is.
TREND_CAPTION = (
    "Each month's figure is the share of the entitlements that fell due that month which were "
    "met by their due date. A provisional month (drawn hollow) ends too recently for every late "
    "completion to have arrived: its figure may still change."
)
