"""Pages made of metric values: the overview, satisfaction, response times, and crime and
outcomes (compliance with its drill-down is :mod:`vcop.web.routes.compliance`, the XmR chart of
any metric :mod:`vcop.web.routes.xmr`).

Every figure comes from the metric engine (see :mod:`vcop.web.metrics`); a partner's come from
the release of the latest month end, suppressed once for every page (see
:mod:`vcop.web.partner`). Each value is shown with its sample size, interval,
change on the previous period (and whether it is significant, or why it is not compared), the
marks the engine stamped on it (provisional, target and its source, which way is better) and its
SPC reading (see :mod:`vcop.web.routes.figures`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter

from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Metric
from vcop.web.auth import Permission, Role
from vcop.web.charts import bar_chart, point_map, sparkline
from vcop.web.labels import group_text, label
from vcop.web.metrics import FAMILY_TITLES, PERIODS, Figures, MetricsView
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.routes.figures import PUBLIC_COLUMNS, VALUE_COLUMNS, spark, value_row
from vcop.web.splits import scope_filters, scope_title

router = APIRouter()


def metrics_of(ctx: Ctx) -> MetricsView:
    view: MetricsView = ctx.request.app.state.vcop.metrics
    return view


def period_of(ctx: Ctx) -> str:
    return ctx.choice_param("period", PERIODS, "rolling_12m")


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


def no_values_page(title: str, notes: list[str], ctx: Ctx, period: str) -> Page:
    return Page(
        title=title, template="metrics.html", notes=notes, context=period_context(ctx, period)
    )


# -- the overview and the family pages ---------------------------------------------------------


def figures_of(ctx: Ctx) -> Figures:
    """The figures the signed-in user may see (a partner's: the release's)."""
    return metrics_of(ctx).figures(ctx.user, ctx.suppression_threshold)


def family_tables(
    ctx: Ctx, families: list[str], *, sparklines: bool, title: str, template: str = "metrics.html"
) -> Page:
    view = metrics_of(ctx)
    figs = figures_of(ctx)
    as_of = figs.as_of
    period = period_of(ctx)
    if as_of is None:
        return no_values_page(title, figs.notes or ["No data has been loaded yet."], ctx, period)
    catalogue = view.catalogue
    result = figs.result(period)
    # an officer's or supervisor's own scope, beside the force's (of the measures it filters)
    scope = scope_filters(ctx.user)
    mine: dict[str, MetricValue] = {}
    # (computed only when a measure of the page can be filtered to the scope: the engine leaves
    # out the others, so for a page with none of them — response times, split by no unit or
    # officer — it would compute the whole catalogue for nothing)
    if scope is not None and scoped(catalogue.metrics, families, scope):
        mine = {
            v.metric_id: v for v in figs.result(period, None, None, scope).values
            if not v.breakdown and catalogue.metric(v.metric_id).family in families
        }  # fmt: skip
    tables: list[Table] = []
    for family in families:
        rows = []
        for v in result.values:
            metric = catalogue.metric(v.metric_id)
            if metric.family != family or v.breakdown:
                continue
            row = value_row(v, metric)
            row["link"] = f"/metrics/{metric.id}"
            if sparklines and not v.suppressed:
                row["trend"] = spark(figs.series(metric.id).get(()), metric, f"spark-{metric.id}")
            if scope is not None:
                own = mine.get(metric.id)
                row["scope_text"] = value_row(own, metric)["value_text"] if own else None
                row["scope_n"] = value_row(own, metric)["n"] if own else None
            rows.append(row)
        if not rows:
            continue
        columns = [Column("title", "Measure", link="{link}"), *VALUE_COLUMNS]
        if scope is not None:
            columns[2:2] = [Column("scope_text", scope_title(scope), "number"),
                            Column("scope_n", "n (your scope)", "number")]  # fmt: skip
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
    notes = [*result.notes, *figs.notes]
    if scope is not None:
        notes.append(
            f"{scope_title(scope)}: the figures of your own cases, beside the force's; a measure "
            "that cannot be split to your scope shows none."
        )
    return Page(
        title=title,
        template=template,
        tables=tables,
        meta=common_meta(ctx, as_of, period, result.definitions_hash),
        notes=notes,
        context={**period_context(ctx, period), "as_of": as_of},
    )


def scoped(metrics: Iterable[Metric], families: Iterable[str], scope: Mapping[str, str]) -> bool:
    """Whether any of ``metrics`` in ``families`` can be filtered to ``scope`` (has every one of
    its breakdowns)."""
    chosen = set(families)
    return any(m.family in chosen and all(b in m.breakdowns for b in scope) for m in metrics)


@page(router, "/", Permission.aggregate, name="overview")
def overview(ctx: Ctx) -> Page:
    """The headline figures: value, n, interval, change, SPC icons and a sparkline each."""
    families = list(metrics_of(ctx).catalogue_families())
    return family_tables(ctx, families, sparklines=True, title="Overview")


@page(router, "/satisfaction", Permission.aggregate, name="satisfaction")
def satisfaction(ctx: Ctx) -> Page:
    """Each dimension of both satisfaction surveys and the Victim Voice questions, split and
    drilled; (for analysts) victims' comments."""
    result = family_page(
        ctx, ["victim_satisfaction", "victim_voice", "domestic_abuse_satisfaction"],
        title="Victim satisfaction", path="/satisfaction",
    )  # fmt: skip
    received_section(ctx, result)
    as_of = result.context.get("as_of")
    if as_of is not None and ctx.user.role is Role.analyst and not result.context.get("measure"):
        comments = ctx.store.cached(("comments", as_of), lambda: _comments(ctx, as_of))
        # Victims' own words are record-level: who read them, and which, is logged.
        ctx.log(
            "survey_comments",
            reason="Reading victims' survey comments",
            detail=f"{len(comments)} comment(s) as of {as_of}",
            records=[(None, str(c["crime_id"])) for c in comments if c.get("crime_id")],
        )
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
                    Column("themes", "Themes"),
                ],
                comments,
                empty="No comments.",
            )
        )
        result.tables.append(themes_table(ctx, as_of))
    elif ctx.user.role is not Role.analyst:
        result.notes.append("Victims' own comments and their themes are shown to analysts only.")
    return result


def themes_table(ctx: Ctx, as_of: date) -> Table:
    """How many comments had each theme, by month, over the 12 months to ``as_of``, with a
    sparkline each (for analysts: a partner's figures come only from a release, which publishes
    no themes)."""
    from vcop.voice.themes import THEMES

    counts = metrics_of(ctx).comment_themes(as_of)
    keys = [f"m{m:%Y_%m}" for m in counts.months]
    rows: list[dict[str, Any]] = []
    for theme, title in THEMES.items():
        monthly = counts.counts[theme]
        row: dict[str, Any] = {"theme": title, "theme_id": theme, "total": sum(monthly)}
        row.update(zip(keys, monthly, strict=True))
        if sum(counts.comments) and sum(monthly):
            description = (
                f"Comments about {title.lower()}, monthly from {counts.months[0]:%B %Y} "
                f"({monthly[0]}) to {counts.months[-1]:%B %Y} ({monthly[-1]})"
            )
            row["trend"] = {
                "id": f"spark-theme-{theme}",
                "description": description,
                "spec": sparkline(
                    [{"month": m.isoformat(), "value": n}
                     for m, n in zip(counts.months, monthly, strict=True)],
                    x="month", y="value", description=description,
                ),
            }  # fmt: skip
        rows.append(row)
    rows.append(
        {"theme": "Comments", "theme_id": "comments", "total": sum(counts.comments),
         **dict(zip(keys, counts.comments, strict=True))}
    )  # fmt: skip
    return Table(
        "comment_themes",
        "What victims' comments were about, by month",
        [
            Column("theme", "Theme"),
            Column("theme_id", "Theme id", html=False),
            *(Column(k, f"{m:%b %Y}", "number") for k, m in zip(keys, counts.months, strict=True)),
            Column("total", "12 months", "number"),
            Column("trend", "Trend", "sparkline", data=False),
        ],
        rows if sum(counts.comments) else [],
        caption=(
            "Comments of every survey, each given one or more themes by a classifier trained on "
            "labelled comments (its precision and recall per theme are measured in "
            "bench/bench_themes.py); a comment with two themes counts in both, so the themes add "
            "up to more than the comments. The last month may be part of one."
        ),
        empty="No comments in the last 12 months.",
    )


def family_page(ctx: Ctx, families: list[str], *, title: str, path: str) -> Page:
    """A family's page: every measure of ``families`` (with the user's own scope beside the
    force's), or one measure split and drilled (see :mod:`vcop.web.routes.split_pages`)."""
    from vcop.web.routes.split_pages import measure_page, split_context

    view = metrics_of(ctx)
    metrics = [m for m in view.catalogue.metrics if m.family in families]
    figs = figures_of(ctx)
    chosen = split_context(ctx, figs, metrics, path)
    if chosen.get("measure"):
        return measure_page(ctx, view, figs, chosen, title)
    page = family_tables(ctx, families, sparklines=False, title=title, template="family.html")
    page.context.update(chosen)
    return page


def _comments(ctx: Ctx, as_of: date) -> list[dict[str, Any]]:
    from vcop.voice.themes import LATEST_COMMENTS, theme_text, themes_of

    rows = ctx.store.query(LATEST_COMMENTS, [as_of]).dicts()
    stored = metrics_of(ctx).latest_comment_themes(as_of) or {}
    if all(str(r["response_id"]) in stored for r in rows):
        found = [stored[str(r["response_id"])] for r in rows]
    else:  # not stored with the ledger's figures: label them here (training the model first)
        found = themes_of([str(r["comment"]) for r in rows])
    for r, themes in zip(rows, found, strict=True):
        r["survey"] = label("survey", r["survey"])
        r["themes"] = theme_text(themes)
        del r["response_id"]
    return rows


@page(router, "/services", Permission.aggregate, name="services")
def services(ctx: Ctx) -> Page:
    """Support services: referrals by service (consent, what came of them, how soon), needs
    assessments' completeness, updates by the victim's chosen channel, recording time."""
    result = family_page(ctx, ["victim_services"], title="Support services", path="/services")
    as_of = result.context.get("as_of")
    if as_of is None or result.context.get("measure"):
        return result
    figs = figures_of(ctx)
    catalogue = metrics_of(ctx).catalogue
    grouped: dict[str, list[dict[str, Any]]] = {}
    for v in figs.result(period_of(ctx)).values:
        metric = catalogue.metric(v.metric_id)
        # a value split only by the metric's own groups (per service), not by a user's --by
        if metric.family != "victim_services" or v.breakdown != metric.grouping:
            continue
        row = value_row(v, metric)
        row["group_text"] = group_text(v.breakdown, v.group)
        row["link"] = f"/metrics/{metric.id}?" + urlencode({"group": v.group_name})
        grouped.setdefault(metric.id, []).append(row)
    for metric_id, rows in grouped.items():
        metric = catalogue.metric(metric_id)
        first = " and ".join(catalogue.breakdown(b).title for b in metric.grouping)
        result.tables.append(
            Table(
                metric_id,
                metric.title,
                [Column("group_text", first, link="{link}"), *VALUE_COLUMNS, *PUBLIC_COLUMNS],
                rows,
                caption=metric.description,
            )
        )
    return result


@page(router, "/response-times", Permission.aggregate, name="response_times")
def response_times(ctx: Ctx) -> Page:
    """How quickly the force attends calls, by grade, incident type and reason for delay."""
    return family_page(ctx, ["response"], title="Response times", path="/response-times")


@page(router, "/outcomes", Permission.aggregate, name="outcomes")
def outcomes(ctx: Ctx) -> Page:
    """Recorded crime (against its long-term benchmark), outcomes by type, investigation length
    and repeat victimisation, split and drilled; and harm."""
    result = family_page(ctx, ["crime_outcomes"], title="Crime and outcomes", path="/outcomes")
    if result.context.get("measure"):
        return result
    if ctx.user.suppressed:
        result.notes.append(
            "Harm by district and where it falls are for the force only: they are not among the "
            "figures published to partners."
        )
        return result
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


#: A crime's district when it has no place in the force to be ranked by (besides none at all).
UNPLACED = ("Outside force area",)
NO_DISTRICT = "No district in the force area"


def harm_tables(ctx: Ctx, as_of: date) -> list[Table]:
    """Harm by district and a map of where harm falls, for the 12 months ending ``as_of`` (for
    the force only: a release publishes no harm, nor any place below area)."""
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
    totals: dict[str | None, dict[str, Any]] = {}
    for place, _month, crimes, css, cchi in by_district:
        key = place if place and place not in UNPLACED else None
        row = totals.setdefault(
            key, {"district": key or NO_DISTRICT, "crimes": 0, "cchi": 0.0, "css": 0.0}
        )
        row["crimes"] += crimes
        row["cchi"] += cchi or 0.0
        row["css"] += css or 0.0
    for r in totals.values():
        r["cchi"] = round(r["cchi"], 1)
        r["css"] = round(r["css"], 1)
    # a crime with no district in the force (none recorded, or outside the force area) is not a
    # place: it is listed last, unranked, and left out of the chart
    ranked = sorted((r for k, r in totals.items() if k is not None), key=lambda r: -r["cchi"])
    for i, r in enumerate(ranked, 1):
        r["rank"] = i
    unplaced = totals.get(None)
    rows = [*ranked, *([unplaced] if unplaced else [])]
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
                Column("rank", "Rank", "number"),
                Column("district", "District"),
                Column("crimes", "Crimes", "number"),
                Column("cchi", "Harm (CCHI days)", "number"),
                Column("css", "Harm (CSS)", "number"),
            ],
            rows,
            caption=caption
            + (
                f" {unplaced['crimes']:,} crime(s) with no district in the force area are listed "
                "last and not ranked."
                if unplaced
                else ""
            ),
            chart=bar_chart(
                ranked, x="cchi", y="district", x_title="Harm (CCHI days)", y_title="District",
                description=f"Crime harm in CCHI days by district, {period}",
            ),
        )
    ]  # fmt: skip
    if points:
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
                    Column("longitude", "Longitude", "coordinate"),
                    Column("latitude", "Latitude", "coordinate"),
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


#: The survey measure compared beside what the victim received (quality beside process).
RECEIVED_METRIC = "satisfaction_whole_experience"


def received_section(ctx: Ctx, page: Page) -> None:
    """ "Satisfaction beside what the victim received": whole-experience satisfaction of victims
    who got their updates on time, a needs assessment, a referral, against those who did not —
    the gap with its interval and test (:mod:`vcop.metrics.received`). On the family page only,
    from figures the user may see split so."""
    from vcop.metrics.received import RECEIVED, compare_received

    if page.context.get("as_of") is None or page.context.get("measure"):
        return
    figs = figures_of(ctx)
    period = period_of(ctx)
    splits = {
        bid: [v for v in figs.result(period, bid, RECEIVED_METRIC).values if v.breakdown]
        for bid in RECEIVED
        if figs.publishes(bid)
    }
    if not splits:
        return
    catalogue = metrics_of(ctx).catalogue
    metric = catalogue.metric(RECEIVED_METRIC)
    rows = []
    for r in compare_received(catalogue, splits):
        yes = value_row(r.yes, metric) if r.yes is not None else {}
        no = value_row(r.no, metric) if r.no is not None else {}
        rows.append(
            {
                "finding": r.sentence(),
                "yes_text": yes.get("value_text"),
                "yes_n": yes.get("n"),
                "no_text": no.get("value_text"),
                "no_n": no.get("n"),
                "difference": None if r.difference is None else round(r.difference * 100, 1),
                "adjusted_p": None if r.adjusted is None else round(r.adjusted, 4),
            }
        )
    page.tables.append(
        Table(
            "received",
            "Satisfaction beside what the victim received",
            [
                Column("finding", "Finding"),
                Column("yes_text", "Satisfied (received)", "number"),
                Column("yes_n", "n (received)", "number"),
                Column("no_text", "Satisfied (not received)", "number"),
                Column("no_n", "n (not received)", "number"),
                Column("difference", "Gap (points)", "number"),
                Column("adjusted_p", "p (adjusted, Benjamini–Hochberg)", "number"),
            ],
            rows,
            caption=(
                "Whole-experience satisfaction of survey respondents, by what the entitlement "
                "ledger shows the victim received for the crime; victims owed nothing of the kind "
                "are left out of each comparison."
            ),
            empty="No survey answers are linked to victims.",
        )
    )
