"""Most similar forces: each force's figure beside its peer group's and the national figure.

On a regional or national database (more than one force), ``/peers`` shows, for every measure
``vcop metrics --by force`` compares (every proportion, share, median or mean the catalogue splits
by force; counts follow a force's size and are left out), each force's value with its interval,
its peer group's pooled figure with its interval, the difference and whether a test says it is
significant (:mod:`vcop.metrics.peers`: the two-proportion test, on effective sizes for a ledger
proportion, Benjamini–Hochberg across the forces), and the national figure (the whole database).
Provisional periods are marked. The peer groups are data, derived from the forces' sizes, not
HMICFRS's most similar forces groups, and the page says so.

The figures are the signed-in user's (:meth:`vcop.web.metrics.MetricsView.figures`): a partner's
come from the release, which decides what is published — a release that does not publish figures
by force refuses the page (403), and the navigation does not offer it (:mod:`vcop.web.nav`). A
database of one force has nothing to compare: the page says so and the navigation leaves it out.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vcop.metrics.multiplicity import ClusterCounts
from vcop.metrics.peers import PEER_NOTE, PeerFigure, peer_figures
from vcop.metrics.release import partner_splits
from vcop.metrics.values import MetricValue
from vcop.spec.forces import load_forces
from vcop.spec.metrics import LEDGER, Metric
from vcop.web.auth import Permission
from vcop.web.labels import group_text, months, order_key
from vcop.web.metrics import PERIODS, Figures, MetricsView
from vcop.web.nav import force_count, offered
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.partner import NotPublished
from vcop.web.routes.figures import provisional_text, show
from vcop.web.routes.metric_pages import (
    common_meta,
    figures_of,
    metrics_of,
    period_context,
    period_of,
)

router = APIRouter()

FORCE = "force"
TITLE = "Most similar forces"

#: How the comparison is made, under every table.
TEST_NOTE = (
    "Each force's proportion or share is tested against its peer group's pooled figure (a "
    "two-proportion test; for a Victims' Code measure, on sample sizes reduced for victims with "
    "several entitlements). The p-values of one measure's forces are adjusted together "
    "(Benjamini–Hochberg), so a difference is called significant only when it is unlikely to be "
    "chance across all the forces compared. Medians and means are not tested."
)

#: What the page shows when no measure is chosen.
ALL_NOTE = (
    "Every measure with one figure a force is shown; choose a measure of groups (by right, "
    "obligation or service) to see its groups."
)


def compared(view: MetricsView) -> dict[str, str]:
    """The measures compared with peers: those ``vcop metrics --by force`` compares (split by
    force in the catalogue, and not a count), in the catalogue's order."""
    return {
        m.id: m.title for m in view.catalogue.metrics if FORCE in m.breakdowns and m.kind != "count"
    }


@page(router, "/peers", Permission.aggregate, name="peers")
def peers(ctx: Ctx) -> Page:
    """Each force beside its most similar forces and the national figure, per measure."""
    view = metrics_of(ctx)
    period = period_of(ctx)
    measures = compared(view)
    measure = ctx.choice_param("measure", measures)
    context: dict[str, Any] = {
        **period_context(ctx, period), "measures": measures, "measure": measure, "as_of": None,
    }  # fmt: skip
    held = force_count(ctx.store)
    if held <= 1:
        note = (
            "This database holds one force: there are no other forces to compare it with. The "
            "comparison is for a regional or national database (see docs/national.md)."
        )
        table = Table("peers", TITLE, _columns(), [], empty="No other force to compare with.")
        return Page(title=TITLE, template="peers.html", tables=[table], notes=[note],
                    context=context)  # fmt: skip
    if not offered(ctx.store, ctx.user):  # a partner, and the release publishes no force split
        raise NotPublished("figures by force", partner_splits(view.catalogue))
    figs = figures_of(ctx)
    figs.check(FORCE)  # what the figures themselves publish (a partner's: the release's)
    as_of = figs.as_of
    context["as_of"] = as_of
    if as_of is None:
        return Page(title=TITLE, template="peers.html", notes=figs.notes or
                    ["No data has been loaded yet."], context=context)  # fmt: skip
    catalogue = view.catalogue
    # every headline measure (one figure a force); a measure of groups (by right, obligation,
    # service …) when it is chosen
    chosen = [measure] if measure else [m for m in measures if not catalogue.metric(m).grouping]
    split = figs.result(period, FORCE)
    whole = figs.result(period)
    values = [v for v in split.values if v.metric_id in chosen]
    figures = peer_figures(
        values, load_forces(), confidence=catalogue.settings.confidence,
        clusters=_clusters(view, figs, values),
    )  # fmt: skip
    national = {(v.metric_id, v.group): v for v in whole.values if not v.breakdown}
    tables = []
    for metric_id in chosen:
        mine = [f for f in figures if f.metric_id == metric_id]
        if not mine:
            continue
        metric = catalogue.metric(metric_id)
        rows = [_row(f, metric, national.get((metric_id, f.group))) for f in mine]
        rows.sort(key=lambda r: (order_key(r["group"].split("/")[0]), r["force"]))
        first = mine[0].own
        span = f" ({months(first.current.start, first.current.end)})" if first else ""
        tables.append(
            Table(
                metric_id,
                f"{metric.title}, {PERIODS[period].lower()}{span}",
                _columns(metric),
                rows,
                caption=f"{metric.description} {TEST_NOTE}",
                empty="No force has a figure for this measure in this period.",
            )
        )
    notes = [
        PEER_NOTE[0].upper() + PEER_NOTE[1:] + ".",
        f"The national figure is of every force in this database ({held} forces).",
        *([] if measure else [ALL_NOTE]),
        *split.notes, *figs.notes,
    ]  # fmt: skip
    return Page(
        title=TITLE,
        template="peers.html",
        tables=tables,
        meta={**common_meta(ctx, as_of, period, split.definitions_hash), "by": FORCE,
              "measure": measure, "forces": held},
        notes=notes,
        context=context,
    )  # fmt: skip


def _clusters(
    view: MetricsView, figs: Figures, values: list[MetricValue]
) -> dict[str, dict[tuple[str, ...], ClusterCounts]]:
    """Each ledger proportion's counts per victim, per group of its grouping and force (for the
    design effect of the test against the peers); none of a hidden figure."""
    out: dict[str, dict[tuple[str, ...], ClusterCounts]] = {}
    if figs.as_of is None:
        return out
    for v in values:
        metric = view.catalogue.metric(v.metric_id)
        if metric.id in out or metric.source != LEDGER or metric.kind != "proportion":
            continue
        if v.suppressed:
            continue
        out[metric.id] = view.victim_clusters(
            metric, (*metric.grouping, FORCE), figs.as_of, v.current.start, v.current.end
        )
    return out


def _interval(ci: tuple[float | None, float | None] | None, unit: str) -> str | None:
    if ci is None or ci[0] is None or ci[1] is None or unit == "count":
        return None
    return f"{show(ci[0], unit)} to {show(ci[1], unit)}"


def versus_text(f: PeerFigure, unit: str) -> str:
    """The force against its peers in words: which way, by how much, and whether a test says it
    is significant (or why it was not tested)."""
    if f.reason is not None:
        return f"Not tested: {f.reason}"
    size = show(f.difference, unit, change=True)
    if not f.significant:
        return f"Not significantly different ({size})"
    way = "Higher" if (f.difference or 0) > 0 else "Lower"
    return f"{way} by {size.lstrip('+-') if size else ''} (significant)"


def _row(f: PeerFigure, metric: Metric, whole: MetricValue | None) -> dict[str, Any]:
    unit = metric.unit
    own = f.own
    n = None
    if own is not None:
        n = own.current.denominator if own.current.denominator is not None else None
    return {
        "metric_id": f.metric_id,
        "group": "/".join(f.group),
        "group_label": group_text(metric.grouping, f.group) if f.group else metric.title,
        "force": f.force,
        "value": f.value,
        "value_text": show(f.value, unit),
        "n": n,
        "ci_low": own.current.ci_low if own else None,
        "ci_high": own.current.ci_high if own else None,
        "interval": _interval((own.current.ci_low, own.current.ci_high) if own else None, unit),
        "provisional": own.provisional if own else False,
        "provisional_text": provisional_text(own) if own else "No",
        "peers": "; ".join(f.peers),
        "peers_text": ", ".join(f.peers) or "None in these figures",
        "peer_value": f.peer_value,
        "peer_value_text": show(f.peer_value, unit) if f.peer_value is not None else None,
        "peer_numerator": f.peer_numerator,
        "peer_denominator": f.peer_denominator,
        "peer_ci_low": f.peer_ci[0] if f.peer_ci else None,
        "peer_ci_high": f.peer_ci[1] if f.peer_ci else None,
        "peer_interval": _interval(f.peer_ci, unit),
        "peer_provisional": f.peer_provisional,
        "difference": f.difference,
        "difference_ci_low": f.difference_ci[0] if f.difference_ci else None,
        "difference_ci_high": f.difference_ci[1] if f.difference_ci else None,
        "difference_interval": (
            f"{show(f.difference_ci[0], unit, change=True)} to "
            f"{show(f.difference_ci[1], unit, change=True)}"
            if f.difference_ci
            else None
        ),
        "versus_peers": versus_text(f, unit),
        "p_value": f.p_value,
        "p_adjusted": f.adjusted,
        "significant": f.significant,
        "method": f.method,
        "national_value": whole.current.value if whole else None,
        "national_text": show(whole.current.value, unit) if whole else None,
        "national_ci_low": whole.current.ci_low if whole else None,
        "national_ci_high": whole.current.ci_high if whole else None,
        "national_interval": _interval(
            (whole.current.ci_low, whole.current.ci_high) if whole else None, unit
        ),
        "national_provisional": whole.provisional if whole else None,
        "unit": unit,
        "kind": metric.kind,
    }


def _columns(metric: Metric | None = None) -> list[Column]:
    grouped = metric is not None and bool(metric.grouping)
    shown = [
        *([Column("group_label", "Group")] if grouped else []),
        Column("force", "Force"),
        Column("value_text", "Value", "number"),
        Column("n", "n", "number"),
        Column("interval", "95% interval"),
        Column("provisional_text", "Provisional", "note"),
        Column("peer_value_text", "Peer group", "number"),
        Column("peer_interval", "Peer group 95% interval"),
        Column("versus_peers", "Against its peers", "note"),
        Column("difference_interval", "Difference 95% interval"),
        Column("national_text", "National", "number"),
        Column("national_interval", "National 95% interval"),
        Column("peers_text", "Peers present"),
    ]
    data = [
        Column(key, key, html=False)
        for key in (
            "metric_id", "group", "value", "ci_low", "ci_high", "provisional", "peers",
            "peer_value", "peer_numerator", "peer_denominator", "peer_ci_low", "peer_ci_high",
            "peer_provisional", "difference", "difference_ci_low", "difference_ci_high",
            "p_value", "p_adjusted", "significant", "method", "national_value", "national_ci_low",
            "national_ci_high", "national_provisional", "unit", "kind",
        )
    ]  # fmt: skip
    return [*shown, *data]
