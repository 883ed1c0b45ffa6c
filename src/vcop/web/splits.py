"""Splits and drill-downs, one way for every page of figures (compliance and the family pages).

A page asks for one measure split ``?by=`` a breakdown, of the rows of the places drilled into
(``?area=…&district=…&unit=…``, passed to the engine as filters, so the groups of a split add up
to the filtered whole). Each split row links to the level below (area → district → unit →
officer) and to its own monthly XmR chart; each split has a dot plot of its groups with their
intervals beside the whole's figure; a split by a protected characteristic has each group tested
against the rest of the force (:mod:`vcop.metrics.groups`: Benjamini–Hochberg across the groups).

Who may see what is the figures' to say (:class:`vcop.web.metrics.Figures`): a partner's figures
refuse (403) any split below area, by unit or by officer, on every page and twin alike. Officers
and supervisors see their own scope's figures (:func:`scope_filters`) beside the force's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from vcop.metrics.engine import Result
from vcop.metrics.groups import VersusRest, versus_rest
from vcop.metrics.release import SUPPRESSED
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import LEDGER, Catalogue, Metric
from vcop.web.auth import Role, User
from vcop.web.charts import dot_plot, line_chart
from vcop.web.labels import label as label_of
from vcop.web.labels import order_key
from vcop.web.metrics import Figures, MetricsView, filter_key
from vcop.web.pages import Column, Ctx, Table

#: Drill-down levels, and the level below each.
LEVELS = ("area", "district", "unit", "officer")
#: Characteristics of the victim protected by the Equality Act 2010 that the data hold: each
#: group of a split by one is tested against the rest of the force.
PROTECTED = ("age_band", "sex", "ethnicity", "disability")
#: Splits that are not places, in the order a page offers them (each page offers those its
#: measures have).
SPLITS = (
    "crime_type", "enhanced", "domestic_abuse", "hate_crime", "outcome_type", "grade",
    "incident_type", "delay_reason", *PROTECTED,
)  # fmt: skip
#: The splits every reader asks for: a page says which of these a measure cannot have, and why.
EXPECTED = ("area", "crime_type", "ethnicity")

#: A split's words in the "Split by" list.
SPLIT_NAMES = {
    "force": "Force", "area": "Area", "district": "District", "unit": "Unit", "officer": "Officer",
    "crime_type": "Crime type", "enhanced": "Enhanced or standard rights",
    "domestic_abuse": "Domestic abuse or not", "hate_crime": "Hate crime or not",
    "outcome_type": "Outcome type", "grade": "Response grade", "incident_type": "Incident type",
    "delay_reason": "Reason for delay", "age_band": "Age band", "sex": "Sex",
    "ethnicity": "Ethnicity", "disability": "Disability",
}  # fmt: skip

#: What each source is made of, when it cannot be split by the victim (why a page says so).
NO_VICTIM = {
    "incidents": "calls for service record no victim",
    "crimes": "it counts crimes, and a crime may have more than one victim",
    "referral_crimes": "it counts referrals, not victims",
}


def drill_filters(ctx: Ctx) -> dict[str, str]:
    """The places drilled into (area, district, unit), as filters on the figures."""
    return {level: value for level in LEVELS[:-1] if (value := ctx.param(level))}


def scope_filters(user: User) -> dict[str, str] | None:
    """The filters of an officer's or supervisor's own scope (None: the user has none)."""
    if user.role is Role.officer and user.officer_id:
        return {"officer": user.officer_id}
    if user.role is Role.supervisor:
        scope = {k: v for k in ("area", "district", "unit") if (v := getattr(user, k))}
        return scope or None
    return None


def scope_title(scope: Mapping[str, str]) -> str:
    return "Your scope (" + ", ".join(scope.values()) + ")"


def level_below(figs: Figures, by: str | None) -> str | None:
    """The drill-down level below ``by`` that ``figs`` publish (None: no drill from ``by``)."""
    if by not in LEVELS[:-1]:
        return None
    below = LEVELS[LEVELS.index(by) + 1]
    return below if figs.publishes(below) else None


def choices(figs: Figures, metrics: Iterable[Metric]) -> tuple[list[str], list[str]]:
    """The place levels and other splits at least one of ``metrics`` has and ``figs`` publish."""
    have = {b for m in metrics for b in m.breakdowns}
    return (
        [b for b in LEVELS if b in have and figs.publishes(b)],
        [b for b in SPLITS if b in have and figs.publishes(b)],
    )


def cannot_split(catalogue: Catalogue, metric: Metric) -> list[str]:
    """Why ``metric`` cannot be split by each of :data:`EXPECTED` it does not have, in words."""
    out = []
    for bid in EXPECTED:
        if bid in metric.breakdowns:
            continue
        b = catalogue.breakdown(bid)
        if b.table == "victims" and metric.source in NO_VICTIM:
            why = NO_VICTIM[metric.source]
        elif b.table == "crimes" and metric.source == "incidents":
            why = "most calls for service are not linked to a crime"
        else:
            why = "the metric catalogue does not split it so"
        out.append(f"{metric.title} cannot be split by {SPLIT_NAMES[bid].lower()}: {why}.")
    return out


def value_of(result: Result, metric_id: str, head: str | None = None) -> MetricValue | None:
    """The unsplit value of ``metric_id`` in ``result`` (of group ``head`` of its grouping)."""
    for v in result.values:
        if v.metric_id == metric_id and (head is None or (v.group and v.group[0] == head)):
            return v
    return None


@dataclass
class SplitLinks:
    """How a split's rows link: to the level below, and to each row's monthly XmR chart."""

    path: str
    #: The page's own query (measure, period, group…) kept in every drill link.
    query: dict[str, str]
    by: str | None
    parents: dict[str, str]
    below: str | None
    metric_id: str
    figs: Figures
    head: dict[str, str] = field(default_factory=dict)

    def add(self, row: dict[str, Any], split: str | None) -> None:
        xmr_query = {**self.head, **self.parents}
        if self.by is not None and split is not None:
            xmr_query[self.by] = split
        places = {k: v for k, v in xmr_query.items() if k != "group"}
        row["trend_link"] = (
            f"/metrics/{self.metric_id}" + (f"?{urlencode(xmr_query)}" if xmr_query else "")
            if self.figs.publishes_series(places)
            else None
        )
        if split is not None and self.by is not None:
            row["split"] = split
            row["split_label"] = label_of(self.by, split)
            if self.below is not None:
                query = {**self.query, "by": self.below, **self.parents, self.by: split}
                row["drill"] = f"{self.path}?{urlencode(query)}"


def add_versus_rest(
    view: MetricsView,
    figs: Figures,
    rows: list[dict[str, Any]],
    values: list[MetricValue],
    whole: MetricValue | None,
    metric: Metric,
    by: str,
    parents: Mapping[str, str],
) -> list[Column]:
    """Each row of a split by a protected characteristic tested against the rest of the force
    (the columns to show it by; none for other splits or a measure with no whole)."""
    if by not in PROTECTED or whole is None:
        return []
    tests = versus_rest_of(view, figs.as_of, values, whole, metric, by, parents)
    for row, v in zip(rows, values, strict=True):
        t: VersusRest | None = tests.get(v.group)
        row["vs_rest"] = t.text if t else None
        row["vs_rest_significant"] = t.significant if t else None
        row["vs_rest_p_adjusted"] = round(t.adjusted, 6) if t and t.adjusted is not None else None
    return [
        Column("vs_rest", "Against the rest of the force", "note"),
        Column("vs_rest_significant", "vs_rest_significant", html=False),
        Column("vs_rest_p_adjusted", "vs_rest_p_adjusted", html=False),
    ]


def _tested(v: MetricValue) -> tuple[Any, ...]:
    """What the test against the rest reads of a value (so, with the split and the places, the
    key its result is kept by)."""
    e = v.current
    return (v.metric_id, v.kind, v.group, v.suppressed, e.start, e.end, e.numerator,
            e.denominator)  # fmt: skip


def versus_rest_of(
    view: MetricsView,
    as_of: date | None,
    values: list[MetricValue],
    whole: MetricValue,
    metric: Metric,
    by: str,
    parents: Mapping[str, str],
) -> dict[tuple[str, ...], VersusRest]:
    """The groups of a split (``values``) tested against the rest of ``whole``
    (:func:`vcop.metrics.groups.versus_rest`, with the counts per victim of a ledger proportion).

    Computed once per build for the same figures: the server keeps each result (for the life of
    the build it serves), keyed by everything the tests read — the measure, the split, the
    places, the as-of date and each value's window, counts and marks — so a view of a split it
    has tested before is a lookup, and any other figures (a partner's release, a drill-down) are
    tested on their own."""
    key = ("versus_rest", metric.id, by, as_of, filter_key(parents), _tested(whole),
           tuple(_tested(v) for v in values))  # fmt: skip

    def test() -> dict[tuple[str, ...], VersusRest]:
        clusters = whole_clusters = None
        if metric.source == LEDGER and as_of is not None and not whole.suppressed:
            counts = view.victim_clusters(
                metric, (*metric.grouping, by), as_of, whole.current.start, whole.current.end,
                parents,
            )  # fmt: skip
            head = whole.group  # the right or obligation the groups are of (none: the measure's)
            clusters = {g: c for g, c in counts.items() if g[: len(head)] == head}
            whole_clusters = view.victim_clusters(
                metric, metric.grouping, as_of, whole.current.start, whole.current.end, parents
            ).get(head)
        return versus_rest(
            values,
            whole,
            confidence=view.catalogue.settings.confidence,
            clusters=clusters,
            whole_clusters=whole_clusters,
        )

    return view.store.cached(key, test)


VERSUS_REST_NOTE = (
    "Each group is compared with everyone else in the same figures (the rest of the force, or "
    "of the place chosen); the p-values of all the groups are adjusted together "
    "(Benjamini–Hochberg, as in the board paper), so a gap is called significant only when it is "
    "unlikely to be chance across all the groups compared."
)


def split_chart(
    rows: list[dict[str, Any]],
    metric: Metric,
    whole: MetricValue | None,
    *,
    label_key: str,
    y_title: str,
    description: str,
) -> dict[str, Any] | None:
    """A dot plot of a split's rows with their intervals, and the whole as a dashed line (None
    when no row has a figure to draw)."""
    shown = [
        {"label": str(r[label_key])[:40], "value": r["value"], "low": r.get("ci_low"),
         "high": r.get("ci_high")}
        for r in rows
        if isinstance(r.get("value"), int | float) and not r.get("suppressed")
    ]  # fmt: skip
    if not shown:
        return None
    counted = metric.unit == "count"
    reference = None
    if whole is not None and not whole.suppressed and not counted:
        reference = whole.current.value
    return dot_plot(
        shown, x="value", y="label", x_title=metric.title[:60], y_title=y_title,
        low=None if counted else "low", high=None if counted else "high",
        reference=reference, reference_title="Whole (all groups)",
        percent=metric.unit == "proportion", description=description,
    )  # fmt: skip


def trend_table(
    figs: Figures,
    metric: Metric,
    filters: Mapping[str, str],
    title: str,
    *,
    heads: Iterable[str] | None = None,
    caption: str | None = None,
) -> Table | None:
    """The monthly trend of the (filtered) measure, one line per group of its grouping (only
    ``heads``, if given); provisional months are marked in the table and drawn hollow, months a
    release hides are ``[c]`` and not drawn."""
    wanted = set(heads) if heads is not None else None
    trend: list[dict[str, Any]] = []
    for group, series in sorted(
        figs.series(metric.id, filters).items(), key=lambda kv: order_key(kv[0][0] if kv[0] else "")
    ):
        if wanted is not None and (not group or group[0] not in wanted):
            continue
        name = label_of(metric.grouping[0], group[0]).split(":")[0] if group else metric.title
        for p in series.points:
            trend.append({"month": p.month, "series": name, "provisional": p.provisional,
                          "value": None if p.suppressed else p.value, "suppressed": p.suppressed})  # fmt: skip
    if not trend:
        return None
    names: list[str] = list(dict.fromkeys(str(r["series"]) for r in trend))
    by_month: dict[date, dict[str, Any]] = {}
    for r in trend:
        row = by_month.setdefault(r["month"], {"month": r["month"], "provisional": False})
        row[r["series"]] = SUPPRESSED if r["suppressed"] else r["value"]
        row["provisional"] = row["provisional"] or r["provisional"]
    for row in by_month.values():
        row["provisional_text"] = "Provisional" if row["provisional"] else "No"
    percent = metric.unit == "proportion"
    return Table(
        "trend",
        "Monthly trend",
        [
            Column("month", "Month", "month"),
            *(Column(n, n, "percent" if percent else "number") for n in names),
            Column("provisional_text", "Provisional"),
            Column("provisional", "provisional", html=False),
        ],
        [by_month[m] for m in sorted(by_month)],
        chart=line_chart(
            [r for r in trend if not r["suppressed"]],
            x="month",
            y="value",
            series="series" if len(names) > 1 else None,
            x_title="Month",
            y_title=metric.title[:60],
            percent=percent,
            description=f"{title}, monthly",
            hollow="provisional",
        ),
        caption=caption
        or "Each month's figure of the same rows. A provisional month (drawn hollow) ends too "
        "recently for every late record to have arrived: its figure may still change.",
    )
