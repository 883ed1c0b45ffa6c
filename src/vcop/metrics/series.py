"""A metric's monthly series (the points of its XmR chart) and their SPC reading.

The series is counted from the engine's own rows (:func:`vcop.metrics.relations.metric_rows`,
the metric's definition applied) over the engine's own SPC months
(:func:`vcop.metrics.periods.windows`) and read with :func:`vcop.metrics.spc.analyse`, so it
agrees with the ``spc_variation`` and ``spc_points`` the engine gives (a test checks this for every
metric). The dashboard and the reports draw their XmR charts from it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import ibis

from vcop.metrics import policy, spc
from vcop.metrics.engine import data_start, resolve_filters, spc_rules
from vcop.metrics.periods import PeriodKind, Window, windows
from vcop.metrics.relations import metric_rows
from vcop.metrics.targets import NONE as NO_TARGETS
from vcop.metrics.targets import Targets
from vcop.spec.metrics import Catalogue, Metric


@dataclass(frozen=True)
class Point:
    """One month of a metric's SPC series."""

    month: date
    value: float
    numerator: int | None
    denominator: int | None
    #: The month is younger than the metric's maturity: drawn hollow, labelled, never judged.
    provisional: bool = False
    #: The month is in the data's warm-up: shown, never judged.
    warm_up: bool = False
    #: Hidden in a partner release (small numbers): ``value`` is NaN and the counts are blank.
    suppressed: bool = False

    @property
    def judged(self) -> bool:
        """Whether SPC reads this point (mature and out of the warm-up)."""
        return not (self.provisional or self.warm_up)

    @property
    def counts(self) -> tuple[int, ...]:
        """Every count the point publishes or lets a reader work out (for suppression)."""
        num, den = self.numerator or 0, self.denominator or 0
        if self.denominator is None:
            return (num,)
        if self.numerator is None:
            return (den,)
        return (num, den, den - num)


@dataclass(frozen=True)
class Series:
    points: tuple[Point, ...]
    #: The SPC reading of the judged points (``reading.point_type[i]`` is of ``judged[i]``).
    reading: spc.SpcResult | None

    @property
    def judged(self) -> tuple[Point, ...]:
        return tuple(p for p in self.points if p.judged)

    def point_types(self) -> list[str | None]:
        """Each point's SPC type, in ``points`` order (None for a point SPC does not read)."""
        types = iter(self.reading.point_type) if self.reading else iter(())
        return [next(types, None) if p.judged else None for p in self.points]


def monthly_series(
    backend: ibis.BaseBackend,
    catalogue: Catalogue,
    metric_id: str,
    as_of: date,
    *,
    filters: Mapping[str, str] | None = None,
    targets: Targets | None = None,
    start: date | None = None,
) -> dict[tuple[str, ...], Series]:
    """A metric's monthly SPC series per group of its grouping (the engine's SPC months), read.

    ``filters`` as for :func:`vcop.metrics.engine.compute`; ``start``: the day the data begin
    (default: the first crime reported), for the warm-up.
    """
    metric = catalogue.metric(metric_id)
    breakdowns = tuple(catalogue.breakdown(b) for b in metric.grouping)
    months = windows(PeriodKind.rolling_12m, as_of, catalogue.settings.spc.months).spc_months
    flt = resolve_filters(catalogue, [metric], filters)
    rows = metric_rows(backend, metric, breakdowns, as_of, flt)
    rows = rows.filter((rows._d >= months[0].start) & (rows._d <= months[-1].end))
    gcols = [f"_g{i}" for i in range(len(breakdowns))]
    rows = rows.mutate(_m=rows._d.truncate("M").cast("date"))
    aggs = aggregations(metric, rows)
    grouped = rows.group_by(["_m", *gcols]).aggregate(**aggs)
    cells: dict[tuple[date, tuple[str, ...]], dict[str, Any]] = {}
    for rec in backend.to_pyarrow(grouped).to_pylist():
        month = rec["_m"].date() if hasattr(rec["_m"], "date") else rec["_m"]
        cells[(month, tuple(str(rec[c]) for c in gcols))] = rec
    ready = policy.ready_from(data_start(backend) if start is None else start, metric)
    chosen = targets or NO_TARGETS
    target = chosen.for_metric(metric.id, as_of).value
    return _series_from(
        metric, catalogue, [w.start for w in months], cells, as_of, ready, target,
        chosen.rebase_months(metric.id),
    )  # fmt: skip


def aggregations(metric: Metric, rows: ibis.Table) -> dict[str, Any]:
    """The aggregates a metric's kind counts over ``rows`` (of :func:`metric_rows`)."""
    distinct = metric.count_distinct is not None
    if metric.kind == "proportion":
        return {
            "den": rows._k.nunique() if distinct else rows.count(),
            "num": rows._k.nunique(where=rows._num) if distinct else rows.count(where=rows._num),
        }
    if metric.kind in ("share", "count"):
        return {"n": rows._k.nunique() if distinct else rows.count()}
    if metric.kind == "median":
        return {"n": rows.count(), "v": rows._v.median()}
    return {"n": rows.count(), "v": rows._v.mean()}


def _series_from(
    metric: Metric,
    catalogue: Catalogue,
    months: list[date],
    cells: dict[tuple[date, tuple[str, ...]], dict[str, Any]],
    as_of: date,
    ready: date | None,
    target: float | None,
    rebase_months: tuple[date, ...] = (),
) -> dict[tuple[str, ...], Series]:
    """Values per month and group as the engine's points make them, and their SPC reading
    (rebased at the catalogue's months and the force's ``rebase_months``)."""
    kind = metric.kind
    groups = sorted({g for (_, g) in cells})
    totals: dict[tuple[date, tuple[str, ...]], int] = defaultdict(int)
    if kind == "share":
        for (m, g), rec in cells.items():
            totals[(m, g[:-1])] += int(rec["n"])
    # the series starts at the first month with any data (later empty months of a count are 0)
    with_data = [i for i, m in enumerate(months) if any(k[0] == m for k in cells)]
    start = with_data[0] if with_data else len(months)
    rules = spc_rules(catalogue)
    polarity = spc.Polarity(metric.polarity)
    out: dict[tuple[str, ...], Series] = {}
    for g in groups or [()]:
        points: list[Point] = []
        for m in months[start:]:
            cell = cells.get((m, g))
            point = _point(kind, cell, totals.get((m, g[:-1])), m)
            if point is not None:
                points.append(
                    replace(
                        point,
                        provisional=policy.month_provisional(m, as_of, policy.maturity(metric)),
                        warm_up=policy.in_warm_up(Window(m, m), ready),
                    )
                )
        judged = [p for p in points if p.judged]
        rebase = policy.rebase_indexes([p.month for p in judged], metric, rebase_months)
        reading = spc.analyse([p.value for p in judged], polarity, target, rules, rebase)
        out[g] = Series(tuple(points), reading)
    return out


def _point(kind: str, rec: dict[str, Any] | None, total: int | None, month: date) -> Point | None:
    if kind in ("proportion", "share"):
        num = int(rec["num"] if kind == "proportion" else rec["n"]) if rec else 0
        den = int(rec["den"]) if kind == "proportion" and rec else int(total or 0)
        return Point(month, num / den, num, den) if den else None
    if kind == "count":
        c = int(rec["n"]) if rec else 0
        return Point(month, float(c), c, None)
    if not rec or not int(rec["n"]) or rec["v"] is None:
        return None
    return Point(month, float(rec["v"]), None, int(rec["n"]))
