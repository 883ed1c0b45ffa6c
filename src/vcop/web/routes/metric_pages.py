"""Pages made of metric values: the overview, compliance with drill-down, satisfaction, response
times, crime and outcomes, and the XmR chart of any metric.

Every figure comes from the metric engine (see :mod:`vcop.web.metrics`); partners see every
figure after small-number suppression. Each value is shown with its sample size, interval,
change on the previous period (and whether it is significant) and its SPC reading.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException

from vcop.metrics.series import Series
from vcop.metrics.values import MetricValue
from vcop.spec.code import load_code
from vcop.spec.metrics import Metric
from vcop.web.auth import Permission, Role
from vcop.web.charts import (
    POINT_COLOURS,
    SPC_LABELS,
    bar_chart,
    line_chart,
    point_map,
    sparkline,
    xmr_chart,
)
from vcop.web.metrics import FAMILY_TITLES, PERIODS, MetricsView, visible_series
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.routes.common import SUPPRESSED, no_ledger_note

router = APIRouter()

#: Drill-down levels of compliance, and the level below each.
LEVELS = ("area", "district", "unit", "officer")
#: Splits that are not places.
SPLITS = ("crime_type", "enhanced", "age_band", "sex", "ethnicity", "disability")

ASSURANCE_LABELS: dict[str, tuple[str, str]] = {
    "consistently_pass": ("Consistently meets target", "govuk-tag--blue"),
    "consistently_fail": ("Consistently misses target", "govuk-tag--orange"),
    "hit_and_miss": ("Hit and miss", "govuk-tag--grey"),
}


def metrics_of(ctx: Ctx) -> MetricsView:
    view: MetricsView = ctx.request.app.state.vcop.metrics
    return view


def period_of(ctx: Ctx) -> str:
    period = ctx.param("period") or "rolling_12m"
    if period not in PERIODS:
        raise HTTPException(400, f"period must be one of {', '.join(PERIODS)}")
    return period


# -- formatting --------------------------------------------------------------------------------


def show(value: float | None, unit: str, *, change: bool = False) -> str | None:
    if value is None:
        return None
    sign = "+" if change and value > 0 else ""
    if unit == "proportion":
        return f"{sign}{value * 100:.1f} pts" if change else f"{value * 100:.1f}%"
    if unit == "minutes":
        return f"{sign}{value:,.1f} min"
    if unit == "days":
        return f"{sign}{value:,.1f} days"
    return f"{sign}{value:,.0f}"


def group_label(metric: Metric, group: str, breakdown: str) -> str:
    if breakdown == "right":
        if not group.isdigit():
            return "Local standards"
        titles = {str(r.right): r.title for e in load_code().editions for r in e.header.rights}
        return f"Right {group}: {titles.get(group, '')}".rstrip(": ")
    if breakdown == "obligation":
        titles = {o.id: o.title for o in load_code().obligations}
        return f"{group}: {titles[group]}" if group in titles else group
    return group


def value_row(v: MetricValue, metric: Metric) -> dict[str, Any]:
    """A metric value as a row: its public columns, and text for the page."""
    rec = v.record()
    unit = metric.unit
    text: str | None
    interval: str | None
    change: str | None
    if v.suppressed:
        text = interval = change = SUPPRESSED
        n: Any = SUPPRESSED
    else:
        text = show(v.current.value, unit)
        lo, hi = v.current.ci_low, v.current.ci_high
        interval = (
            f"{show(lo, unit)} to {show(hi, unit)}" if lo is not None and hi is not None else None
        )
        change = None
        if v.previous is not None and v.previous.change is not None:
            sig = v.previous.significant
            change = show(v.previous.change, unit, change=True)
            change = f"{change} ({'significant' if sig else 'not significant'})"
        n = v.current.denominator if v.current.denominator is not None else v.current.numerator
    return {
        **rec,
        "title": metric.title,
        "value_text": text,
        "n": n,
        "interval": interval,
        "change_text": change,
        "small_sample_text": "small sample" if v.small_sample else None,
    }


VALUE_COLUMNS = [
    Column("value_text", "Value", "number"),
    Column("n", "n", "number"),
    Column("interval", "95% interval"),
    Column("change_text", "Change on previous period"),
    Column("spc_variation", "Variation", "spc"),
    Column("spc_assurance", "Target", "assurance"),
]
PUBLIC_COLUMNS = [
    Column(name, name, html=False)
    for name in (
        "metric_id", "period", "period_start", "period_end", "breakdown", "group", "numerator",
        "denominator", "value", "ci_low", "ci_high", "small_sample", "previous_value", "change",
        "p_value", "significant_change", "spc_points", "target", "unit", "as_of", "suppressed",
        "definitions_hash",
    )
]  # fmt: skip


def common_meta(ctx: Ctx, as_of: date, period: str, result_hash: str) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "period": period,
        "definitions_hash": result_hash,
        "suppressed": ctx.user.suppressed,
        "suppression_threshold": ctx.suppression_threshold if ctx.user.suppressed else None,
    }


def period_context(ctx: Ctx, period: str) -> dict[str, Any]:
    return {"periods": PERIODS, "period": period}


def spark(series: Series | None, metric: Metric, key: str) -> dict[str, Any] | None:
    """A sparkline of the monthly series (the page shows it; the XmR page has its figures)."""
    if series is None or len(series.points) < 2:
        return None
    rows = [{"month": p.month.isoformat(), "value": p.value} for p in series.points]
    first, last = series.points[0], series.points[-1]
    description = (
        f"{metric.title}, monthly from {first.month:%B %Y} ({show(first.value, metric.unit)}) "
        f"to {last.month:%B %Y} ({show(last.value, metric.unit)})"
    )
    return {
        "id": key,
        "description": description,
        "spec": sparkline(rows, x="month", y="value", description=description),
    }


def no_values_page(title: str, notes: list[str], ctx: Ctx, period: str) -> Page:
    return Page(
        title=title, template="metrics.html", notes=notes, context=period_context(ctx, period)
    )


# -- the overview and the family pages ---------------------------------------------------------


def family_tables(ctx: Ctx, families: list[str], *, sparklines: bool, title: str) -> Page:
    view = metrics_of(ctx)
    as_of = view.as_of()
    period = period_of(ctx)
    if as_of is None:
        return no_values_page(title, ["No data has been loaded yet."], ctx, period)
    catalogue = view.catalogue
    result = view.result(as_of, period)
    values = view.values(ctx.user, ctx.suppression_threshold, as_of, period)
    tables: list[Table] = []
    for family in families:
        rows = []
        for v in values:
            metric = catalogue.metric(v.metric_id)
            if metric.family != family or v.breakdown:
                continue
            row = value_row(v, metric)
            row["link"] = f"/metrics/{metric.id}"
            if sparklines and not v.suppressed:
                series = view.series(metric.id, as_of).get(())
                shown = (
                    visible_series(series, ctx.user, ctx.suppression_threshold) if series else None
                )
                row["trend"] = spark(shown, metric, f"spark-{metric.id}")
            rows.append(row)
        if not rows:
            continue
        columns = [Column("title", "Measure", link="{link}"), *VALUE_COLUMNS]
        if sparklines:
            columns.append(Column("trend", "Last 24 months", "sparkline", data=False))
        tables.append(
            Table(
                family,
                FAMILY_TITLES.get(family, family.replace("_", " ").capitalize()),
                [*columns, *PUBLIC_COLUMNS],
                rows,
            )
        )
    notes = list(result.notes)
    if ctx.user.suppressed:
        notes.append(
            f"Figures based on fewer than {ctx.suppression_threshold} victims, and figures that "
            "would let them be worked out, are suppressed and shown as [c]."
        )
    return Page(
        title=title,
        template="metrics.html",
        tables=tables,
        meta=common_meta(ctx, as_of, period, result.definitions_hash),
        notes=notes,
        context={**period_context(ctx, period), "as_of": as_of},
    )


@page(router, "/", Permission.aggregate, name="overview")
def overview(ctx: Ctx) -> Page:
    """The headline figures: value, n, interval, change, SPC icons and a sparkline each."""
    families = list(metrics_of(ctx).catalogue_families())
    return family_tables(ctx, families, sparklines=True, title="Overview")


@page(router, "/satisfaction", Permission.aggregate, name="satisfaction")
def satisfaction(ctx: Ctx) -> Page:
    """Each dimension of both satisfaction surveys, and (for analysts) victims' comments."""
    result = family_tables(
        ctx, ["victim_satisfaction", "domestic_abuse_satisfaction"], sparklines=False,
        title="Victim satisfaction",
    )  # fmt: skip
    as_of = metrics_of(ctx).as_of()
    if as_of is not None and ctx.user.role is Role.analyst:
        comments = ctx.store.cached(("comments", as_of), lambda: _comments(ctx, as_of))
        result.tables.append(
            Table(
                "comments",
                "What victims said (latest 50 comments)",
                [
                    Column("surveyed_at", "When", "date"),
                    Column("survey", "Survey"),
                    Column("crime_type", "Crime type"),
                    Column("area", "Area"),
                    Column(
                        "whole_experience", "Whole experience (1 = completely satisfied)", "number"
                    ),
                    Column("comment", "Comment"),
                ],
                comments,
                empty="No comments.",
            )
        )
    else:
        result.notes.append("Victims' own comments are shown to analysts only.")
    return result


def _comments(ctx: Ctx, as_of: date) -> list[dict[str, Any]]:
    return ctx.store.query(
        "SELECT surveyed_at::DATE AS surveyed_at, replace(survey, '_', ' ') AS survey, crime_type, "
        "area, whole_experience, comment FROM survey_responses "
        "WHERE comment IS NOT NULL AND surveyed_at < ?::DATE + 1 ORDER BY surveyed_at DESC LIMIT 50",
        [as_of],
    ).dicts()


@page(router, "/response-times", Permission.aggregate, name="response_times")
def response_times(ctx: Ctx) -> Page:
    """How quickly the force attends calls, by grade, and why attendance was delayed."""
    return family_tables(ctx, ["response"], sparklines=False, title="Response times")


@page(router, "/outcomes", Permission.aggregate, name="outcomes")
def outcomes(ctx: Ctx) -> Page:
    """Recorded crime, outcomes, investigation length and repeat victimisation, and harm."""
    result = family_tables(ctx, ["crime_outcomes"], sparklines=False, title="Crime and outcomes")
    as_of = result.context.get("as_of") or _latest_crime_day(ctx)
    if as_of is not None:
        result.tables.extend(harm_tables(ctx, as_of))
    return result


def _latest_crime_day(ctx: Ctx) -> date | None:
    """The last day with a crime (a public-data import has no ledger to date the figures by)."""
    if not ctx.store.has_table("crimes"):
        return None
    latest = ctx.store.scalar("SELECT max(reported_at)::DATE FROM crimes")
    return latest if isinstance(latest, date) else None


def harm_tables(ctx: Ctx, as_of: date) -> list[Table]:
    """Harm by district and a map of where harm falls, for the 12 months ending ``as_of``.

    Partners see districts with at least the suppression threshold of crimes and no map."""
    from vcop.harm import concentration, harm_by_area
    from vcop.harm.compute import twelve_months_before

    start = twelve_months_before(as_of) + timedelta(days=1)

    def compute() -> tuple[list[tuple[Any, ...]], dict[str, float | int], list[tuple[Any, ...]]]:
        con = ctx.store.cursor()
        by_district = harm_by_area(con, level="district", start=start, end=as_of)
        conc = concentration(con, start=start, end=as_of)
        points = con.execute(
            """
            SELECT round(longitude, 2) AS longitude, round(latitude, 2) AS latitude,
                   coalesce(any_value(district), 'Unknown') AS place, count(*) AS crimes,
                   round(sum(cchi), 1) AS cchi
            FROM crime_harm
            WHERE reported_at::DATE BETWEEN ? AND ? AND longitude IS NOT NULL
              AND coalesce(district, '') <> 'Outside force area'
            GROUP BY 1, 2 ORDER BY cchi DESC
            """,
            [start, as_of],
        ).fetchall()
        return by_district, conc, points

    by_district, conc, points = ctx.store.cached(("harm", start, as_of), compute)
    totals: dict[str, dict[str, Any]] = {}
    for place, _month, crimes, css, cchi in by_district:
        key = place or "Not known"
        row = totals.setdefault(key, {"district": key, "crimes": 0, "cchi": 0.0, "css": 0.0})
        row["crimes"] += crimes
        row["cchi"] += cchi or 0.0
        row["css"] += css or 0.0
    rows = sorted(totals.values(), key=lambda r: -r["cchi"])
    for r in rows:
        r["cchi"] = round(r["cchi"], 1)
        r["css"] = round(r["css"], 1)
    if ctx.user.suppressed:
        rows = [r for r in rows if r["crimes"] >= ctx.suppression_threshold]
    period = f"{start:%-d %b %Y} to {as_of:%-d %b %Y}"
    caption = (
        f"Harm of crimes reported {period}: Cambridge Crime Harm Index days (CCHI) and ONS Crime "
        "Severity Score (CSS). Crime-type weights are indicative (see the data dictionary of "
        "definitions/harm/weights.yaml). "
    )
    if conc["lsoas"]:
        caption += (
            f"{float(conc['share']):.1%} of CCHI harm fell in the most harmed 5% of the force area's "
            f"LSOAs ({conc['top_lsoas']} of {conc['lsoas']})."
        )
    tables = [
        Table(
            "harm_by_district",
            "Harm by district",
            [
                Column("district", "District"),
                Column("crimes", "Crimes", "number"),
                Column("cchi", "Harm (CCHI days)", "number"),
                Column("css", "Harm (CSS)", "number"),
            ],
            rows,
            caption=caption,
            chart=bar_chart(
                rows, x="cchi", y="district", x_title="Harm (CCHI days)", y_title="District",
                description=f"Crime harm in CCHI days by district, {period}",
            ),
        )
    ]  # fmt: skip
    if points and not ctx.user.suppressed:
        shown = [
            {"longitude": lon, "latitude": lat, "place": place, "crimes": n, "cchi": h}
            for lon, lat, place, n, h in points
        ]
        tables.append(
            Table(
                "harm_map",
                "Where harm falls",
                [
                    Column("place", "District"),
                    Column("longitude", "Longitude", "number"),
                    Column("latitude", "Latitude", "number"),
                    Column("crimes", "Crimes", "number"),
                    Column("cchi", "Harm (CCHI days)", "number"),
                ],
                shown[:50],
                caption=(
                    "Crimes' anonymised locations (data.police.uk snap points) grouped to about 1 km, "
                    "sized by harm; the 50 most harmed places are listed, the CSV has them all."
                ),
                chart=point_map(
                    shown, size="cchi", size_title="Harm (CCHI days)",
                    description=f"Map of crime harm by location, {period}",
                ),
                more=max(0, len(shown) - 50),
            )
        )  # fmt: skip
    return tables


# -- compliance, with drill-down ---------------------------------------------------------------

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


def _places(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.store.query(
        "SELECT DISTINCT area, district, unit, officer_id AS officer FROM crimes"
    ).dicts()


@page(router, "/compliance", Permission.aggregate, name="compliance")
def compliance(ctx: Ctx) -> Page:
    """Compliance by right or by obligation, split by place (drill down area → district → unit →
    officer) or by crime type, enhanced rights and protected characteristics."""
    view = metrics_of(ctx)
    catalogue = view.catalogue
    period = period_of(ctx)
    measures = compliance_measures(view)
    measure = ctx.param("measure") or "right"
    if measure not in measures:
        raise HTTPException(400, f"measure must be one of {', '.join(measures)}")
    metric_id = MEASURE_METRICS.get(measure, measure)
    metric = catalogue.metric(metric_id)
    grouped = bool(metric.grouping)
    by = ctx.param("by")
    if by is not None and by not in (*LEVELS, *SPLITS):
        raise HTTPException(400, f"by must be one of {', '.join((*LEVELS, *SPLITS))}")
    parents: dict[str, str] = {}
    for level in LEVELS[:-1]:
        value = ctx.param(level)
        if value:
            parents[level] = value
    chosen_group = ctx.param("group") if grouped else None
    as_of = view.as_of()
    title = f"Compliance: {measures[measure].lower()}"
    context = {
        **period_context(ctx, period), "measure": measure, "measures": measures, "by": by,
        "parents": parents, "levels": LEVELS, "splits": SPLITS, "group": chosen_group,
        "as_of": as_of, "officer_measures": {
            k: v for k, v in measures.items() if "officer" in catalogue.metric(MEASURE_METRICS.get(k, k)).breakdowns
        },
    }  # fmt: skip
    if as_of is None or not view.values(
        ctx.user, ctx.suppression_threshold, as_of, period, metric_ids={metric_id}
    ):
        return Page(
            title=title, template="compliance.html", notes=[no_ledger_note()], context=context
        )
    if by is not None and by not in metric.breakdowns:
        context["unsupported"] = catalogue.breakdown(by).title.lower()
        return Page(title=title, template="compliance.html", context=context)
    only = metric_id if by else None  # a split computes just this metric, not the catalogue
    result = view.result(as_of, period, by, only)
    values = view.values(
        ctx.user, ctx.suppression_threshold, as_of, period, by, {metric_id}, only=only
    )
    allowed: set[str] | None = None
    if by in LEVELS and parents:
        places = ctx.store.cached(("places",), lambda: _places(ctx))
        allowed = {str(p[by]) for p in places if all(str(p[k]) == v for k, v in parents.items())}
    next_level = LEVELS[LEVELS.index(by) + 1] if by in LEVELS[:-1] else None
    rows = []
    for v in values:
        head = v.group[0] if grouped else ""
        if chosen_group and head != chosen_group:
            continue
        split = v.group[-1] if by else None
        if allowed is not None and split not in allowed:
            continue
        row = value_row(v, metric)
        row["measure_label"] = (
            group_label(metric, head, metric.grouping[0]) if grouped else metric.title
        )
        row["trend_link"] = f"/metrics/{metric_id}" + (
            f"?{urlencode({'group': head})}" if grouped else ""
        )
        if split is not None:
            row["split"] = split
            if next_level is not None and by is not None:
                query: dict[str, str] = {
                    "measure": measure,
                    "period": period,
                    "by": next_level,
                    **parents,
                    by: split,
                }
                if chosen_group:
                    query["group"] = chosen_group
                row["drill"] = "/compliance?" + urlencode(query)
        rows.append(row)
    rows.sort(key=lambda r: (_group_order(r["group"].split("/")[0]), str(r.get("split", ""))))
    label = {"right": "Right", "obligation": "Obligation"}.get(measure, "Measure")
    columns = [Column("measure_label", label, link="{trend_link}")]
    if by:
        drill = "{drill}" if next_level else None
        columns.append(Column("split", catalogue.breakdown(by).title, link=drill))
    table = Table(
        "compliance",
        f"Met on time, {PERIODS[period].lower()}"
        + (f", by {catalogue.breakdown(by).title.lower()}" if by else ""),
        [*columns, *VALUE_COLUMNS, Column("drill", "drill", html=False), *PUBLIC_COLUMNS],
        rows,
        caption="Of the entitlements that fell due in the period, the share met by their due date. "
        f"Select a {label.lower()} for its monthly XmR chart"
        + ("; select a place to see the level below it." if next_level else "."),
        empty="No entitlement fell due in this period for this selection.",
    )
    tables = [table]
    if not by:
        chart_rows = [
            {"label": r["measure_label"][:40], "value": r["value"]}
            for r in rows if isinstance(r.get("value"), float) and not r["suppressed"]
        ]  # fmt: skip
        table.chart = bar_chart(
            chart_rows, x="value", y="label", x_title="Met on time", y_title=label,
            percent=True, description=f"{title}: share met on time",
        ) if chart_rows else None  # fmt: skip
        trend = _trend_rows(ctx, view, metric, as_of, measure) if measure != "obligation" else []
        if trend:
            labels = list(dict.fromkeys(r["series"] for r in trend))
            by_month: dict[date, dict[str, Any]] = {}
            for r in trend:
                by_month.setdefault(r["month"], {"month": r["month"]})[r["series"]] = r["value"]
            tables.append(
                Table(
                    "trend",
                    "Monthly trend",
                    [
                        Column("month", "Month", "date"),
                        *(Column(lb, lb, "percent") for lb in labels),
                    ],
                    [by_month[m] for m in sorted(by_month)],
                    chart=line_chart(
                        trend,
                        x="month",
                        y="value",
                        series="series",
                        x_title="Month",
                        y_title="Met on time",
                        percent=True,
                        description=f"{title}, monthly",
                    ),
                    caption="Each month's figure is the share of the entitlements that fell due "
                    "that month which were met by their due date.",
                )
            )
    notes = list(result.notes)
    if ctx.user.suppressed:
        notes.append(f"Figures below {ctx.suppression_threshold} are suppressed and shown as [c].")
    return Page(
        title=title,
        template="compliance.html",
        tables=tables,
        meta={**common_meta(ctx, as_of, period, result.definitions_hash), "metric_id": metric_id,
              "by": by, "parents": parents, "group": chosen_group},
        notes=notes,
        context=context,
    )  # fmt: skip


def _group_order(group: str) -> tuple[int, str]:
    """Rights in number order (local standards last); obligations by their id."""
    return (int(group), "") if group.isdigit() else (99, group)


def _trend_rows(
    ctx: Ctx, view: MetricsView, metric: Metric, as_of: date, measure: str
) -> list[dict[str, Any]]:
    rows = []
    for group, series in sorted(
        view.series(metric.id, as_of).items(),
        key=lambda kv: _group_order(kv[0][0] if kv[0] else ""),
    ):
        shown = visible_series(series, ctx.user, ctx.suppression_threshold)
        if shown is None:
            continue
        if group:
            label = group_label(metric, group[0], metric.grouping[0]).split(":")[0]
        else:
            label = metric.title
        for p in shown.points:
            rows.append(
                {"month": p.month, "series": label, "value": p.value, "denominator": p.denominator}
            )
    return rows


# -- the XmR chart of any metric ---------------------------------------------------------------


@page(router, "/metrics/{metric_id}", Permission.aggregate, name="xmr")
def xmr(ctx: Ctx) -> Page:
    """A metric's monthly XmR chart: mean, process limits, target, signals and icons."""
    view = metrics_of(ctx)
    metric_id = ctx.request.path_params["metric_id"]
    catalogue = view.catalogue
    if metric_id not in catalogue.metric_ids:
        raise HTTPException(404, f"There is no metric {metric_id!r}.")
    metric = catalogue.metric(metric_id)
    as_of = view.as_of()
    if as_of is None:
        return Page(title=metric.title, template="xmr.html", notes=["No data has been loaded yet."])
    all_series = view.series(metric_id, as_of)
    groups = sorted(all_series)
    group_param = ctx.param("group")
    group: tuple[str, ...] = (group_param,) if group_param else (groups[0] if groups else ())
    if groups and group not in all_series:
        raise HTTPException(404, f"{metric_id} has no group {group_param!r}.")
    series = all_series.get(group)
    shown = visible_series(series, ctx.user, ctx.suppression_threshold) if series else None
    notes: list[str] = []
    tables: list[Table] = []
    reading = shown.reading if shown else None
    summary: dict[str, Any] = {}
    month_columns = [
        Column("month", "Month", "date"),
        Column("value_text", "Value", "number"),
        Column("numerator", "Numerator", "number"),
        Column("denominator", "n", "number"),
        Column("point_type", "Signal", "spc"),
        Column("value", "value", html=False),
    ]
    if shown is None:
        suppressed = series is not None
        tables.append(
            Table(
                "months",
                "Monthly values",
                month_columns,
                [],
                empty="Some months' figures are based on so few victims that they are suppressed, "
                "so the monthly values and chart are not shown."
                if suppressed
                else "There are no monthly values yet.",
            )
        )
    else:
        rows = [
            {
                "month": p.month,
                "value": p.value,
                "value_text": show(p.value, metric.unit),
                "numerator": p.numerator,
                "denominator": p.denominator,
                "point_type": reading.point_type[i] if reading else None,
            }
            for i, p in enumerate(shown.points)
        ]
        chart = (
            xmr_chart(rows, reading, metric, labels=SPC_LABELS, colours=POINT_COLOURS)
            if rows
            else None
        )
        tables.append(
            Table(
                "months",
                "Monthly values",
                month_columns,
                rows,
                chart=chart,
                caption="Complete months up to the as-of date, oldest first.",
            )
        )
        if reading is None:
            notes.append(
                f"There are {len(rows)} months of data: SPC needs at least "
                f"{catalogue.settings.spc.min_points} before it gives a signal."
            )
        else:
            summary = {
                "Mean": show(reading.xmr.mean, metric.unit),
                "Upper process limit": show(reading.xmr.upl, metric.unit),
                "Lower process limit": show(reading.xmr.lpl, metric.unit),
                "Target": show(metric.target, metric.unit)
                if metric.target is not None
                else "None set",
            }
    label = group_label(metric, group[0], metric.grouping[0]) if group and metric.grouping else None
    return Page(
        title=metric.title + (f" – {label}" if label else ""),
        template="xmr.html",
        tables=tables,
        notes=notes,
        meta={
            "metric_id": metric_id, "group": list(group), "as_of": as_of,
            "mean": reading.xmr.mean if reading else None,
            "upl": reading.xmr.upl if reading else None,
            "lpl": reading.xmr.lpl if reading else None,
            "variation": reading.variation if reading else None,
            "assurance": reading.assurance if reading else None,
            "target": metric.target,
        },
        context={
            "metric": metric, "reading": reading, "summary": summary, "groups": groups,
            "group": group, "group_labels": {
                g: group_label(metric, g[0], metric.grouping[0]) for g in groups if g and metric.grouping
            },
        },
    )  # fmt: skip
