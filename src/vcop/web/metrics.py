"""The dashboard's view of the metric catalogue: values from :mod:`vcop.metrics`, cached.

Every figure on a metric page comes from :func:`vcop.metrics.engine.compute` — the same values
``vcop metrics`` prints — and every figure a partner sees has been through
:func:`vcop.metrics.suppress.publish`. Nothing is recomputed per request: the server holds the
database, so values are computed once per (as-of date, period, breakdown) and kept.

The monthly series behind a metric's SPC reading (for its XmR chart and sparkline) is counted
here from the engine's own rows (:func:`vcop.metrics.relations.metric_rows`, the metric's
definition applied) over the engine's own SPC months (:func:`vcop.metrics.periods.windows`), and
read with the engine's :func:`vcop.metrics.spc.analyse`. A test checks that the reading agrees
with the engine's ``spc_variation`` and ``spc_points`` for every metric.
"""

from __future__ import annotations

import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import ibis

from vcop.metrics import spc
from vcop.metrics.engine import Result, compute, spc_rules
from vcop.metrics.periods import PeriodKind, windows
from vcop.metrics.relations import metric_rows
from vcop.metrics.suppress import is_small, publish
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Catalogue, Metric, load_catalogue
from vcop.web.auth import User
from vcop.web.db import WebStore
from vcop.web.ledger import ledger_as_of

T = TypeVar("T")

#: Engine work runs one at a time: it is heavy, and the server has few cores. (Re-entrant, so
#: that work needing other cached engine results may ask for them.)
_ENGINE = threading.RLock()

PERIODS: dict[str, str] = {
    "rolling_12m": "Last 12 months",
    "fytd": "Financial year to date",
    "quarter": "Quarter to date",
    "month": "Month to date",
}

FAMILY_TITLES: dict[str, str] = {
    "victims_code": "Victims' Code compliance",
    "victim_satisfaction": "Victim satisfaction",
    "domestic_abuse_satisfaction": "Domestic abuse victim satisfaction",
    "response": "Response times",
    "crime_outcomes": "Crime and outcomes",
}


@contextmanager
def engine_quietly() -> Iterator[None]:
    """Run engine work alone, without the deprecation notices ibis 12 raises on DuckDB 2 and
    pandas 3 (theirs to fix; each is named, so any other warning still shows)."""
    with _ENGINE, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        yield


@dataclass(frozen=True)
class Point:
    """One month of a metric's SPC series."""

    month: date
    value: float
    numerator: int | None
    denominator: int | None

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
    reading: spc.SpcResult | None


class MetricsView:
    """Metric values and series for one server (cached for its life)."""

    def __init__(self, store: WebStore) -> None:
        self.store = store
        self._local = threading.local()

    @property
    def catalogue(self) -> Catalogue:
        return load_catalogue()

    def catalogue_families(self) -> list[str]:
        """The metric families, in the catalogue's order."""
        seen: dict[str, None] = {}
        for m in self.catalogue.metrics:
            seen.setdefault(m.family, None)
        return list(seen)

    def backend(self) -> ibis.BaseBackend:
        backend: ibis.BaseBackend | None = getattr(self._local, "backend", None)
        if backend is None:
            backend = ibis.duckdb.from_connection(self.store.con.cursor())
            self._local.backend = backend
        return backend

    def as_of(self) -> date | None:
        """The ledger's as-of date; with no ledger, the last day any crime was reported."""
        ledger = ledger_as_of(self.store)
        if ledger is not None:
            return ledger

        def last_crime() -> date | None:
            value = self.store.scalar("SELECT max(reported_at)::DATE FROM crimes")
            return value if isinstance(value, date) else None

        return self.store.cached(("last_crime",), last_crime)

    def warm(self) -> None:
        """Arrange the journeys, and compute what the overview and compliance pages show first,
        before anyone asks."""
        from vcop.web import journeys

        journeys.ensure(self.store)
        as_of = self.as_of()
        if as_of is None:
            return
        result = self.result(as_of, "rolling_12m")
        for metric_id in dict.fromkeys(v.metric_id for v in result.values):
            self.series(metric_id, as_of)

    def start_warming(self) -> threading.Thread:
        thread = threading.Thread(target=self.warm, name="vcop-warm", daemon=True)
        thread.start()
        return thread

    def _cached(self, key: tuple[Any, ...], compute_it: Callable[[], T]) -> T:
        def run() -> T:
            with engine_quietly():
                return compute_it()

        return self.store.cached(key, run)

    def result(
        self, as_of: date, period: str, by: str | None = None, only: str | None = None
    ) -> Result:
        """Every metric's values (or ``only`` one's), overall or by one breakdown, for the period
        ending on ``as_of``."""
        kind = PeriodKind(period)
        chosen = [only] if only else None
        return self._cached(
            ("metrics", as_of, kind.value, by, only),
            lambda: compute(
                self.backend(), as_of, kind, metrics=chosen, by=by, catalogue=self.catalogue
            ),
        )

    def values(
        self,
        user: User,
        threshold: int,
        as_of: date,
        period: str,
        by: str | None = None,
        metric_ids: set[str] | None = None,
        only: str | None = None,
    ) -> list[MetricValue]:
        """The values ``user`` may see: suppressed for a partner (a whole result at once, so
        secondary suppression sees every group of each metric)."""
        result = self.result(as_of, period, by, only)
        values = result.values
        if user.suppressed:
            values = self.store.cached(
                ("published", as_of, period, by, only, threshold),
                lambda: publish(result.values, threshold),
            )
        if metric_ids is not None:
            values = [v for v in values if v.metric_id in metric_ids]
        return values

    def series(self, metric_id: str, as_of: date) -> dict[tuple[str, ...], Series]:
        """The monthly SPC series of a metric (per group of its grouping), with its reading."""
        return self._cached(("series", metric_id, as_of), lambda: self._series(metric_id, as_of))

    def _series(self, metric_id: str, as_of: date) -> dict[tuple[str, ...], Series]:
        catalogue = self.catalogue
        metric = catalogue.metric(metric_id)
        breakdowns = tuple(catalogue.breakdown(b) for b in metric.grouping)
        months = windows(PeriodKind.rolling_12m, as_of, catalogue.settings.spc.months).spc_months
        backend = self.backend()
        rows = metric_rows(backend, metric, breakdowns, as_of)
        rows = rows.filter((rows._d >= months[0].start) & (rows._d <= months[-1].end))
        gcols = [f"_g{i}" for i in range(len(breakdowns))]
        rows = rows.mutate(_m=rows._d.truncate("M").cast("date"))
        aggs = _aggregations(metric, rows)
        df = backend.execute(rows.group_by(["_m", *gcols]).aggregate(**aggs))
        cells: dict[tuple[date, tuple[str, ...]], dict[str, Any]] = {}
        for rec in df.to_dict("records"):
            month = rec["_m"].date() if hasattr(rec["_m"], "date") else rec["_m"]
            cells[(month, tuple(str(rec[c]) for c in gcols))] = rec
        return _series_from(metric, catalogue, [w.start for w in months], cells)


def _aggregations(metric: Metric, rows: ibis.Table) -> dict[str, Any]:
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
) -> dict[tuple[str, ...], Series]:
    """Values per month and group as the engine's points make them, and their SPC reading."""
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
                points.append(point)
        reading = spc.analyse([p.value for p in points], polarity, metric.target, rules)
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


def visible_series(series: Series, user: User, threshold: int) -> Series | None:
    """The series as ``user`` may see it: a partner sees none with a small monthly count."""
    if user.suppressed and any(is_small(c, threshold) for p in series.points for c in p.counts):
        return None
    return series
