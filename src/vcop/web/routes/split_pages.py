"""One measure of a family page (satisfaction, response times, outcomes, services) split and
drilled like compliance: ``?measure=<metric id>&by=<breakdown>&area=…&district=…&unit=…``.

The page shows the measure of the places drilled into (with an officer's or supervisor's own
scope beside it), then — with ``?by=`` — its groups with a dot plot of their intervals beside
the whole, a link from each place to the level below and to each row's XmR chart; a split by a
protected characteristic tests each group against the rest (see :mod:`vcop.web.splits`); last,
the monthly trend of the same rows. A measure split by its own groups (a share: each delay
reason, each outcome type) shows one group at a time (``?group=``). A split the measure cannot
have says why. A partner's figures refuse (403) any split or drill below area, on the page and its
twins alike.
"""

from __future__ import annotations

from typing import Any

from vcop.metrics.population import Population, load_population
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Metric
from vcop.web.labels import label as label_of
from vcop.web.labels import months, order_key
from vcop.web.metrics import PERIODS, Figures, MetricsView
from vcop.web.pages import Column, Ctx, Page, Table
from vcop.web.routes.figures import PUBLIC_COLUMNS, VALUE_COLUMNS, value_row
from vcop.web.routes.metric_pages import common_meta, period_context, period_of
from vcop.web.splits import (
    LEVELS,
    SPLIT_NAMES,
    SPLITS,
    VERSUS_REST_NOTE,
    SplitLinks,
    add_versus_rest,
    cannot_split,
    choices,
    drill_filters,
    level_below,
    scope_filters,
    scope_title,
    split_chart,
    trend_table,
    value_of,
)


def split_context(ctx: Ctx, figs: Figures, metrics: list[Metric], path: str) -> dict[str, Any]:
    """What a family page was asked for (its measure, split and drill-down) and offers, checked
    against what the user's figures publish (403 for a partner asking below area)."""
    measures = {m.id: m.title for m in metrics}
    by = ctx.choice_param("by", (*LEVELS, *SPLITS))
    parents = drill_filters(ctx)
    figs.check(by, parents)
    measure = ctx.choice_param("measure", measures)
    if measure is None and (by or parents):  # the first measure that has the split asked for
        measure = next(
            (m.id for m in metrics if all(b in m.breakdowns for b in (by, *parents) if b)),
            metrics[0].id,
        )
    levels, splits = choices(figs, [m for m in metrics if m.id == measure] or metrics)
    return {
        "path": path, "measures": measures, "measure": measure, "by": by, "parents": parents,
        "levels": levels, "splits": splits, "split_names": SPLIT_NAMES,
    }  # fmt: skip


def benchmark_text(v: MetricValue) -> str | None:
    """A count's long-term benchmark and whether the count differs from it significantly."""
    if v.benchmark is None or v.suppressed:
        return None
    way = "not significantly different"
    if v.benchmark_significant:
        way = "significantly " + ("higher" if (v.current.value or 0) > v.benchmark else "lower")
    return f"{v.benchmark:,.0f} ({way})"


def _row(v: MetricValue, metric: Metric, residents: int | None = None) -> dict[str, Any]:
    row = value_row(v, metric)
    row["benchmark_text"] = benchmark_text(v)
    count = v.current.numerator
    if metric.per_1000_residents and residents and count is not None and not v.suppressed:
        row["per_1000"] = 1000 * count / residents
        row["per_1000_text"] = f"{row['per_1000']:,.1f}"
    return row


def _population(view: MetricsView) -> Population | None:
    """The residents of each district, as loaded (read once per build)."""
    return view.store.cached(("population",), lambda: load_population(view.backend()))


def _residents(population: Population | None, place: dict[str, str]) -> int | None:
    """The residents of a place (the force, an area or a district); None for a unit, an
    officer or any other group, or when no population is loaded."""
    if population is None or place.keys() - {"area", "district"}:
        return None
    if "district" in place:
        return population.of(("district",), (place["district"],))
    if "area" in place:
        return population.of(("area",), (place["area"],))
    return population.of((), ())


def _per_1000_columns(metric: Metric) -> list[Column]:
    if not metric.per_1000_residents:
        return []
    return [
        Column("per_1000_text", "Per 1,000 residents"),
        Column("per_1000", "per_1000", html=False),
    ]


def measure_page(
    ctx: Ctx, view: MetricsView, figs: Figures, chosen: dict[str, Any], title: str
) -> Page:
    """One measure, split and drilled (see the module docstring)."""
    catalogue = view.catalogue
    metric = catalogue.metric(chosen["measure"])
    by: str | None = chosen["by"]
    parents: dict[str, str] = chosen["parents"]
    period = period_of(ctx)
    title = f"{title}: {metric.title}"
    context = {**period_context(ctx, period), **chosen, "as_of": figs.as_of,
               "cannot": cannot_split(catalogue, metric)}  # fmt: skip
    if figs.as_of is None:
        return Page(title=title, template="family.html", notes=figs.notes, context=context)
    missing = [b for b in (by, *parents) if b and b not in metric.breakdowns]
    if missing:
        context["unsupported"] = ", ".join(SPLIT_NAMES[b].lower() for b in missing)
        by, parents = None, {}
    whole_result = figs.result(period, None, metric.id, parents)
    wholes = [v for v in whole_result.values if v.metric_id == metric.id]
    grouped = bool(metric.grouping)
    head: str | None = None
    if grouped and wholes:
        heads = sorted({v.group[0] for v in wholes}, key=order_key)
        largest = max(wholes, key=lambda v: v.current.value or 0).group[0]
        head = ctx.choice_param("group", heads, largest)
        context["groups"] = {h: label_of(metric.grouping[0], h) for h in heads}
        context["group"] = head
    whole = value_of(whole_result, metric.id, head)
    query = {"measure": metric.id, "period": period, **({"group": head} if head else {})}
    links = SplitLinks(
        chosen["path"], query, by, parents, level_below(figs, by), metric.id, figs,
        {"group": head} if head else {},
    )  # fmt: skip
    place = " › ".join(parents.values())
    span = f" ({months(whole.current.start, whole.current.end)})" if whole else ""
    population = _population(view) if metric.per_1000_residents else None
    tables = [_whole_table(ctx, figs, metric, wholes, whole, period, parents, links, span,
                           population)]  # fmt: skip
    notes = [*whole_result.notes, *figs.notes]
    if metric.per_1000_residents:
        notes.append(
            "Rates per 1,000 residents divide the count by the residents of the place: "
            + "; ".join(population.sources)
            + "."
            if population is not None
            else "No population is loaded, so no rate per 1,000 residents is given (load a "
            "population extract: area, district, population, source)."
        )
    if by is not None:
        result = figs.result(period, by, metric.id, parents)
        values = [v for v in result.values if v.metric_id == metric.id
                  and (head is None or v.group[0] == head)]  # fmt: skip
        values.sort(key=lambda v: order_key(v.group[-1]))
        rows = []
        for v in values:
            row = _row(v, metric, _residents(population, {**parents, by: v.group[-1]}))
            links.add(row, v.group[-1])
            rows.append(row)
        split_title = catalogue.breakdown(by).title
        tested = add_versus_rest(view, figs, rows, values, whole, metric, by, parents)
        columns = [
            Column("split_label", split_title, link="{drill}" if links.below else None,
                   data=False),
            Column("split", split_title, html=False),
            Column("trend_link_text", "Monthly chart", link="{trend_link}", data=False),
            *VALUE_COLUMNS, *_per_1000_columns(metric), *_benchmark_columns(metric), *tested,
            Column("drill", "drill", html=False), *PUBLIC_COLUMNS,
        ]  # fmt: skip
        for r in rows:
            r["trend_link_text"] = "XmR chart" if r.get("trend_link") else None
        head_text = f", {label_of(metric.grouping[0], head)}" if head else ""
        description = f"{metric.title}{head_text} by {split_title.lower()}" + (
            f", {place}" if place else ""
        )
        tables.append(
            Table(
                "split",
                f"{metric.title}{head_text}, {PERIODS[period].lower()}{span}"
                + (f", {place}" if place else "")
                + f", by {split_title.lower()}",
                columns,
                rows,
                caption=metric.description
                + (" Select a place to see the level below it." if links.below else "")
                + (f" {VERSUS_REST_NOTE}" if tested else ""),
                empty="No figures for this split in this period.",
                chart=split_chart(
                    rows,
                    metric,
                    whole,
                    label_key="split_label",
                    y_title=split_title,
                    description=description,
                ),
            )
        )
        notes = [*notes, *(n for n in result.notes if n not in notes)]
    if figs.publishes_series(parents):
        trend = trend_table(figs, metric, parents, title, heads=[head] if head else None)
        if trend is not None:
            tables.append(trend)
    return Page(
        title=title,
        template="family.html",
        tables=tables,
        meta={**common_meta(ctx, figs.as_of, period, whole_result.definitions_hash),
              "metric_id": metric.id, "by": by, "parents": parents, "group": head},
        notes=notes,
        context=context,
    )  # fmt: skip


def _benchmark_columns(metric: Metric) -> list[Column]:
    if not metric.benchmark_years:
        return []
    return [
        Column("benchmark_text", "Long-term benchmark (12-month average of the years before)"),
        Column("benchmark", "benchmark", html=False),
        Column("benchmark_significant", "benchmark_significant", html=False),
    ]


def _whole_table(
    ctx: Ctx,
    figs: Figures,
    metric: Metric,
    wholes: list[MetricValue],
    whole: MetricValue | None,
    period: str,
    parents: dict[str, str],
    links: SplitLinks,
    span: str,
    population: Population | None = None,
) -> Table:
    """The measure of the places drilled into (each group of its grouping, the chosen one first
    in the chart), with an officer's or supervisor's own scope beside it."""
    place = " › ".join(parents.values()) or "Whole force"
    rows = []
    for v in sorted(wholes, key=lambda v: order_key(v.group[0] if v.group else "")):
        row = _row(v, metric, _residents(population, parents))
        row["where"] = place
        row["group_label"] = label_of(metric.grouping[0], v.group[0]) if v.group else metric.title
        links.add(row, None)
        rows.append(row)
    scope = scope_filters(ctx.user)
    if scope is not None and not parents and all(k in metric.breakdowns for k in scope):
        for v in figs.result(period, None, metric.id, scope).values:
            if v.metric_id != metric.id or (whole is not None and v.group != whole.group):
                continue
            row = _row(v, metric, _residents(population, scope))
            row["where"] = scope_title(scope)
            row["group_label"] = (
                label_of(metric.grouping[0], v.group[0]) if v.group else metric.title
            )
            rows.insert(1, row)
    elif scope is not None and not parents:
        rows.append({"where": scope_title(scope), "group_label": metric.title,
                     "value_text": "Not split to your scope in the metric catalogue"})  # fmt: skip
    grouped = bool(metric.grouping)
    columns = [
        Column("where", "Where"),
        Column("group_label", catalogue_title(metric), link="{trend_link}"),
        *VALUE_COLUMNS, *_per_1000_columns(metric), *_benchmark_columns(metric), *PUBLIC_COLUMNS,
    ]  # fmt: skip
    return Table(
        "whole",
        f"{metric.title}, {PERIODS[period].lower()}{span}",
        columns,
        rows,
        caption=metric.description + " Select the measure for its monthly XmR chart.",
        empty="No figures in this period for this selection.",
        chart=split_chart(
            [r for r in rows if r.get("where") == place], metric, None, label_key="group_label",
            y_title=catalogue_title(metric), description=f"{metric.title}, each group",
        ) if grouped else None,
    )  # fmt: skip


def catalogue_title(metric: Metric) -> str:
    return "Group" if metric.grouping else "Measure"
