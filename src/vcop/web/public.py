"""The dashboard of a build that holds published data only (a data.police.uk import).

Such a build has crimes, outcomes and anti-social behaviour but no victims, so it supports
recorded crime by type and place, outcomes, investigation length, harm and anti-social
behaviour, and nothing about victims. :func:`published_only` tells the two kinds apart (once per
build); the app then:

* serves :func:`overview` at ``/``: the figures the data support, each from the metric engine
  (recorded crime whole and split by crime type and district, the outcome rate and
  investigation length), the outcomes given, harm by district and anti-social behaviour;
* says once, on that page, that victim-level pages need a force extract
  (:data:`vcop.store.coverage.NEEDS_FORCE_EXTRACT`), and leaves the engine's copy of that
  sentence off every other page;
* answers a victim-level page (:data:`VICTIM_PAGES`) with that one sentence instead of figures,
  and leaves those pages out of the navigation (:data:`PAGES`).

Month-stamped data are read as covering their whole last month (see
:func:`vcop.store.coverage.latest_data_day`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from vcop.store.coverage import NEEDS_FORCE_EXTRACT
from vcop.web.charts import bar_chart, line_chart
from vcop.web.db import WebStore
from vcop.web.labels import group_text
from vcop.web.pages import Column, Ctx, Page, Table

#: The pages a published-data build supports (the rest are left out of the navigation).
PAGES = frozenset({"/", "/outcomes", "/data-quality", "/access-log", "/users"})

#: Pages about victims: on a published-data build they say only that they need a force extract.
VICTIM_PAGES = frozenset(
    {
        "/compliance",
        "/satisfaction",
        "/response-times",
        "/services",
        "/feedback",
        "/worklist",
        "/victims",
        "/victims/{victim_id}",
    }
)

#: The crime type data.police.uk gives anti-social behaviour (an incident, never a crime).
ASB = "Anti-social behaviour"


def published_only(store: WebStore) -> bool:
    """Whether the build holds crimes but no victims (read once per build)."""
    from vcop.store.coverage import published_only as check

    return bool(store.cached(("published_only",), lambda: check(store.cursor())))


def needs_extract(title: str) -> Page:
    """A victim-level page on a published-data build: the one plain sentence, no figures."""
    return Page(
        title=title,
        notes=[NEEDS_FORCE_EXTRACT],
        meta={"published_data_only": True},
    )


def strip_note(result: Page) -> Page:
    """``result`` without the engine's "needs a force extract" note (the overview says it)."""
    result.notes = [n for n in result.notes if n != NEEDS_FORCE_EXTRACT]
    result.meta = {**result.meta, "published_data_only": True}
    return result


def overview(ctx: Ctx) -> Page:
    """What published data support, from the metric engine and the harm index."""
    from vcop.web.routes.metric_pages import family_tables, figures_of, harm_tables, period_of

    result = family_tables(
        ctx, ["crime_outcomes"], sparklines=True, title="Recorded crime and outcomes"
    )
    result.notes = [NEEDS_FORCE_EXTRACT, *(n for n in result.notes if n != NEEDS_FORCE_EXTRACT)]
    result.meta = {**result.meta, "published_data_only": True}
    as_of = result.context.get("as_of")
    if as_of is None:
        return result
    figs = figures_of(ctx)
    period = period_of(ctx)
    for by, title in (("crime_type", "crime type"), ("district", "district")):
        if not figs.publishes(by):
            continue
        result.tables.append(_split(ctx, by, title, period))
    if ctx.user.suppressed:  # partners see the release's figures, none below area
        return result
    start = _year_start(as_of)
    result.tables.append(_outcomes_given(ctx.store, start, as_of))
    result.tables.extend(harm_tables(ctx, as_of))
    result.tables.append(_anti_social_behaviour(ctx.store, start, as_of))
    return result


def _split(ctx: Ctx, by: str, title: str, period: str) -> Table:
    from vcop.web.routes.figures import PUBLIC_COLUMNS, VALUE_COLUMNS, value_row
    from vcop.web.routes.metric_pages import figures_of, metrics_of

    catalogue = metrics_of(ctx).catalogue
    metric = catalogue.metric("recorded_crime")
    values = figures_of(ctx).result(period, by=by, only="recorded_crime").values
    rows = []
    for v in values:
        row = value_row(v, metric)
        row["group_text"] = group_text(v.breakdown, v.group)
        row["crimes"] = v.current.value if not v.suppressed else None
        rows.append(row)
    rows.sort(key=lambda r: (-(r["crimes"] or 0), str(r["group_text"])))
    return Table(
        f"recorded_crime_by_{by}",
        f"Recorded crime by {title}",
        [
            Column("group_text", catalogue.breakdown(by).title),
            *(c for c in VALUE_COLUMNS if c.key not in ("interval", "spc_assurance", "target_text")),
            *PUBLIC_COLUMNS,
        ],
        rows,
        caption=metric.description,
        chart=bar_chart(
            rows, x="crimes", y="group_text", x_title="Recorded crimes",
            y_title=catalogue.breakdown(by).title,
            description=f"Recorded crime by {title}",
        ),
    )  # fmt: skip


def _year_start(as_of: date) -> date:
    from vcop.harm.compute import twelve_months_before

    return twelve_months_before(as_of) + timedelta(days=1)


def _outcomes_given(store: WebStore, start: date, as_of: date) -> Table:
    """Crimes given an outcome in the 12 months, by the outcome published for them."""

    def compute() -> list[dict[str, Any]]:
        return store.query(
            """
            SELECT coalesce(outcome_category, 'No outcome category') AS outcome,
                   any_value(outcome_code) AS outcome_code, count(*) AS crimes,
                   round(count(*) / sum(count(*)) OVER (), 4) AS share
            FROM crimes
            WHERE outcome_at::DATE BETWEEN ? AND ? AND crime_type IS DISTINCT FROM ?
            GROUP BY 1 ORDER BY crimes DESC, outcome
            """,
            [start, as_of, ASB],
        ).dicts()

    rows = store.cached(("public_outcomes", start, as_of), compute)
    return Table(
        "outcomes_given",
        "Outcomes given",
        [
            Column("outcome", "Outcome"),
            Column("outcome_code", "Home Office outcome type", "number"),
            Column("crimes", "Crimes", "number"),
            Column("share", "Share", "percent"),
        ],
        rows,
        caption=(
            f"Crimes given an outcome from {start:%-d %b %Y} to {as_of:%-d %b %Y}, by the latest "
            "outcome published for them (each crime once)."
        ),
        chart=bar_chart(
            rows, x="crimes", y="outcome", x_title="Crimes", y_title="Outcome",
            description="Crimes by the outcome given",
        ),
    )  # fmt: skip


def _anti_social_behaviour(store: WebStore, start: date, as_of: date) -> Table:
    """Anti-social behaviour incidents per month of the 12 months, by district."""

    def compute() -> list[dict[str, Any]]:
        if not store.has_table("incidents"):
            return []
        return store.query(
            """
            SELECT date_trunc('month', received_at)::DATE AS month,
                   coalesce(district, 'No district') AS district, count(*) AS incidents
            FROM incidents
            WHERE incident_type = ? AND received_at::DATE BETWEEN ? AND ?
            GROUP BY ALL ORDER BY month, incidents DESC, district
            """,
            [ASB, start, as_of],
        ).dicts()

    rows = store.cached(("public_asb", start, as_of), compute)
    total = sum(int(r["incidents"]) for r in rows)
    return Table(
        "anti_social_behaviour",
        "Anti-social behaviour",
        [
            Column("month", "Month", "month"),
            Column("district", "District"),
            Column("incidents", "Incidents", "number"),
        ],
        rows,
        caption=(
            f"{total:,} anti-social behaviour incidents from {start:%b %Y} to {as_of:%b %Y}, by "
            "month and district. Anti-social behaviour is not a crime: it is not in recorded crime."
        ),
        empty="No anti-social behaviour was loaded.",
        chart=line_chart(
            rows, x="month", y="incidents", series="district", x_title="Month",
            y_title="Incidents", description="Anti-social behaviour incidents by month and district",
        )
        if rows
        else None,
    )  # fmt: skip
