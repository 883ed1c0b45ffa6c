"""The dashboard's view of the metric catalogue: values from :mod:`vcop.metrics`, cached.

Every figure on a metric page comes from :func:`vcop.metrics.engine.compute` — the same values
``vcop metrics`` prints. Nothing is recomputed per request: the server holds the database, so
values are computed once per (as-of date, period, breakdown, filters) and kept.

The engine applies the policy (provisional periods, warm-up, targets, SPC readings); this view
only passes it what it needs — the drill-down's filters and the force's targets (``targets.yaml``
beside the database, read once) — and the pages only show the marks it stamps.

What the pages first show — no drill-down filter, any period, overall or by a split a page offers,
each metric's monthly series, and for each period every metric filtered to each unit (a
supervisor's own scope, beside the force's) — was computed when the ledger was evaluated and
stored in the build (:mod:`vcop.metrics.precompute`, table ``dashboard_figures``): this view reads
it by key, once, when its stamp matches the build's ledger run, catalogue and targets, and
computes as before for any other filter, or when the stored figures are missing or stale (they
are then never shown).

The monthly series behind a metric's SPC reading (for its XmR chart and sparkline) comes from
:func:`vcop.metrics.series.monthly_series`, which the reports use too.

A page asks :meth:`MetricsView.figures` for the figures the signed-in user may see: the force's
(:class:`ForceFigures`), or for a partner the release of the latest month end
(:class:`vcop.web.partner.ReleaseFigures`), which publishes fewer splits, hides small numbers
once for every page and refuses (403) what it does not publish. Both answer the same questions,
so a page has one way to get its figures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any, Protocol, TypeVar

import ibis

from vcop.metrics import precompute
from vcop.metrics.comparisons import victim_counts
from vcop.metrics.engine import Result, compute, quietly, resolve_filters
from vcop.metrics.multiplicity import ClusterCounts
from vcop.metrics.periods import PeriodKind
from vcop.metrics.series import Series, monthly_series
from vcop.metrics.spc import XmR
from vcop.metrics.targets import TargetReading, Targets, targets_for_db
from vcop.spec.metrics import Catalogue, Metric, load_catalogue
from vcop.store.ops import OpsStore
from vcop.voice.themes import ThemeCounts, theme_counts
from vcop.web.auth import User
from vcop.web.db import WebStore
from vcop.web.ledger import ledger_as_of

T = TypeVar("T")

#: Filters on a figure (breakdown id -> group label), as the cache keys them: sorted pairs.
FilterKey = tuple[tuple[str, str], ...]

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
    "victim_voice": "Victim Voice questionnaire",
    "domestic_abuse_satisfaction": "Domestic abuse victim satisfaction",
    "response": "Response times",
    "crime_outcomes": "Crime and outcomes",
}


@contextmanager
def engine_quietly() -> Iterator[None]:
    """Run engine work alone, without the deprecation notices ibis 12 raises on DuckDB 2 and
    pandas 3 (theirs to fix; each is named, so any other warning still shows)."""
    with _ENGINE, quietly():
        yield


class MetricsView:
    """Metric values and series for one server (cached for its life)."""

    def __init__(self, store: WebStore, ops: OpsStore | None = None) -> None:
        self.store = store
        #: The operational store, whose publication ledger keeps each release partners saw.
        self.ops = ops
        self._local = threading.local()
        #: The force's targets, from the targets file beside the database (read once).
        self.targets: Targets = targets_for_db(store.path, self.catalogue)

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
            backend = ibis.duckdb.from_connection(self.store.new_cursor())
            self._local.backend = backend
        return backend

    def as_of(self) -> date | None:
        """The ledger's as-of date; with no ledger (or an empty one), the last day the crimes
        cover (for month-stamped data, the last day of the latest month)."""
        ledger = ledger_as_of(self.store)
        if ledger is not None:
            return ledger
        from vcop.store.coverage import latest_data_day

        return self.store.cached(("last_crime",), lambda: latest_data_day(self.store.cursor()))

    def figures(self, user: User, threshold: int) -> Figures:
        """The figures ``user`` may see: the force's, or for a partner the release of the latest
        month end (built once, with suppression ``threshold``; see :mod:`vcop.web.partner`)."""
        if user.suppressed:
            from vcop.web.partner import release_figures

            return release_figures(self, threshold)
        return ForceFigures(self, self.as_of())

    def warm(self, threshold: int | None = None, *, first_page_only: bool = False) -> None:
        """Arrange the journeys, and compute what the overview and compliance pages show first,
        before anyone asks (and, when the figures were stored with the ledger, the comment
        themes the satisfaction page counts); with ``threshold``, build the partners' release too.
        ``first_page_only``: only the journeys and the overview's figures (what a server
        computes before it switches to a new build; the rest follows in the background)."""
        from vcop.web import journeys

        journeys.ensure(self.store)
        as_of = self.as_of()
        if as_of is None:
            return
        result = self.result(as_of, "rolling_12m")
        if first_page_only:
            return
        # the tests a page makes from stored figures (the satisfaction page's "received") need
        # scipy.stats, which takes a second or two to import: import it now, not on a first view
        from vcop.metrics.stats import scipy_stats

        scipy_stats()
        if self.stored_as_of() == as_of:
            # the figures were computed with the ledger: read the satisfaction page's comment
            # themes, and its latest comments' themes, so that its first view pays neither
            self.comment_themes(as_of)
            self.latest_comment_themes(as_of)
        for metric_id in dict.fromkeys(v.metric_id for v in result.values):
            self.series(metric_id, as_of)
        if threshold is not None:
            from vcop.web.partner import release_figures

            release_figures(self, threshold)

    def start_warming(
        self, threshold: int | None = None, then: Callable[[], None] | None = None
    ) -> threading.Thread:
        """:meth:`warm` in a background thread, then ``then()`` (if it finished)."""

        def run() -> None:
            try:
                self.warm(threshold)
            except Exception:  # interrupted when the server stops, or a real failure: say which
                logging.getLogger("vcop.web").warning(
                    "computing the first pages in advance stopped", exc_info=True
                )
                return
            if then is not None:
                then()

        thread = threading.Thread(target=run, name="vcop-warm", daemon=True)
        thread.start()
        return thread

    def _cached(self, key: tuple[Any, ...], compute_it: Callable[[], T]) -> T:
        def run() -> T:
            with engine_quietly():
                return compute_it()

        return self.store.cached(key, run)

    def stored_as_of(self) -> date | None:
        """The as-of date of the figures stored in the build when they may be shown (their
        stamp is this build's latest ledger run, catalogue and targets), else None."""

        def check() -> date | None:
            cur = self.store.cursor()
            found = precompute.stored_stamp(cur)
            if found is None:
                return None
            now = precompute.stamp_of(cur, self.catalogue, self.targets)
            return now.as_of if now is not None and now.text() == found else None

        return self.store.cached(("dashboard_figures", "stamp"), check)

    def _stored(
        self,
        as_of: date,
        kind: str,
        period: str,
        split: str,
        metric_id: str,
        convert: Callable[[Any], Any] = lambda payload: payload,
    ) -> Any:
        """A stored payload, ``convert``-ed (None: not stored, or not to be shown for
        ``as_of``); read by its key once for the life of the build."""
        if self.stored_as_of() != as_of:
            return None

        def read() -> Any:
            payload = precompute.stored(self.store.cursor(), kind, period, split, metric_id)
            return None if payload is None else convert(payload)

        return self.store.cached(("dashboard_figures", kind, period, split, metric_id), read)

    def comment_themes(self, as_of: date) -> ThemeCounts:
        """The themes of victims' comments by month, over the 12 months to ``as_of``: stored
        with the ledger's figures, else computed once for the build (training the themes'
        model takes seconds)."""
        kept = self._stored(
            as_of, precompute.THEMES, precompute.NONE, precompute.NONE, precompute.NONE,
            precompute.themes_of,
        )  # fmt: skip
        if isinstance(kept, ThemeCounts):
            return kept
        return self.store.cached(
            ("comment_themes", as_of), lambda: theme_counts(self.store.cursor(), as_of)
        )

    def latest_comment_themes(self, as_of: date) -> dict[str, tuple[str, ...]] | None:
        """The themes of the latest comments the satisfaction page lists, by response id, as
        stored with the ledger's figures (None: not stored; the page labels them itself)."""
        return self._stored(  # type: ignore[no-any-return]
            as_of, precompute.COMMENT_THEMES, precompute.NONE, precompute.NONE, precompute.NONE,
            lambda payload: {str(r): tuple(t) for r, t in payload},
        )  # fmt: skip

    def target(self, metric_id: str, as_of: date) -> TargetReading:
        """What ``metric_id`` shows of its target on ``as_of`` (the engine's reading)."""
        return self.targets.for_metric(metric_id, as_of)

    def result(
        self,
        as_of: date,
        period: str,
        by: str | None = None,
        only: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Result:
        """Every metric's values (or ``only`` one's), overall or by one breakdown, for the period
        ending on ``as_of``, of the rows that match every one of ``filters`` (breakdown id ->
        group label, e.g. the drill-down's area and district)."""
        kind = PeriodKind(period)
        chosen = [only] if only else None
        key = filter_key(filters)
        # stored: with no filter, overall or split; filtered to a scope (a supervisor's unit),
        # every metric overall
        split = (by or "") if not key else None
        if key and by is None and only is None:
            split = precompute.scope_split(key)
        if split is not None:
            kept = self._stored(as_of, precompute.RESULT, kind.value, split, only or "")
            if isinstance(kept, Result):
                return kept
        return self._cached(
            ("metrics", as_of, kind.value, by, only, key),
            lambda: compute(
                self.backend(), as_of, kind, metrics=chosen, by=by, catalogue=self.catalogue,
                filters=dict(key) or None, targets=self.targets,
            ),
        )  # fmt: skip

    def victim_clusters(
        self,
        metric: Metric,
        breakdown: tuple[str, ...],
        as_of: date,
        start: date,
        end: date,
        filters: Mapping[str, str] | None = None,
    ) -> dict[tuple[str, ...], ClusterCounts]:
        """The counts per victim of the ledger proportion ``metric`` from ``start`` to ``end``,
        per group of ``breakdown`` (for the design effect of a comparison between groups)."""
        key = filter_key(filters)
        if not key:
            kept = self._stored(
                as_of, precompute.CLUSTERS, precompute.window_key(start, end),
                ",".join(breakdown), metric.id, precompute.clusters_of,
            )  # fmt: skip
            if kept is not None:
                return kept  # type: ignore[no-any-return]

        def count() -> dict[tuple[str, ...], ClusterCounts]:
            flt = resolve_filters(self.catalogue, (metric,), dict(key))
            counts = victim_counts(
                self.backend(), self.catalogue, metric, breakdown, as_of, [(start, end)],
                filters=flt,
            )  # fmt: skip
            return {group: c for (_, group), c in counts.items()}

        return self._cached(("clusters", metric.id, breakdown, as_of, start, end, key), count)

    def series(
        self, metric_id: str, as_of: date, filters: Mapping[str, str] | None = None
    ) -> dict[tuple[str, ...], Series]:
        """The monthly SPC series of a metric (per group of its grouping), with its reading, of
        the rows that match every one of ``filters``."""
        key = filter_key(filters)
        if not key:
            kept = self._stored(as_of, precompute.SERIES, "", "", metric_id, precompute.series_of)
            if kept is not None:
                return kept  # type: ignore[no-any-return]
        return self._cached(
            ("series", metric_id, as_of, key),
            lambda: monthly_series(
                self.backend(), self.catalogue, metric_id, as_of,
                filters=dict(key) or None, targets=self.targets,
            ),
        )  # fmt: skip


class Figures(Protocol):
    """The figures one user may see, as the pages ask for them."""

    #: The date the figures are as of (None: no data has been loaded).
    as_of: date | None
    #: What the reader should know about all of them (shown on every page of figures).
    notes: list[str]

    def publishes(self, by: str | None = None, filters: Mapping[str, str] | None = None) -> bool:
        """Whether figures split ``by`` a breakdown, of the rows matching ``filters``, are here."""
        ...

    def check(self, by: str | None = None, filters: Mapping[str, str] | None = None) -> None:
        """Refuse (403) what :meth:`publishes` says is not here."""
        ...

    def publishes_series(self, filters: Mapping[str, str] | None = None) -> bool:
        """Whether the monthly series of the rows matching ``filters`` are here."""
        ...

    def result(
        self,
        period: str,
        by: str | None = None,
        only: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Result:
        """Every metric's values (or ``only`` one's) for ``period``, as :meth:`MetricsView.result`."""
        ...

    def series(
        self, metric_id: str, filters: Mapping[str, str] | None = None
    ) -> dict[tuple[str, ...], Series]:
        """A metric's monthly series per group of its grouping, as :meth:`MetricsView.series`."""
        ...


class ForceFigures:
    """Every figure the engine computes, for any split and filter (everyone but partners)."""

    def __init__(self, view: MetricsView, as_of: date | None) -> None:
        self.view = view
        self.as_of = as_of
        self.notes: list[str] = []

    def publishes(self, by: str | None = None, filters: Mapping[str, str] | None = None) -> bool:
        return True

    def check(self, by: str | None = None, filters: Mapping[str, str] | None = None) -> None:
        return None

    def publishes_series(self, filters: Mapping[str, str] | None = None) -> bool:
        return True

    def result(
        self,
        period: str,
        by: str | None = None,
        only: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Result:
        if self.as_of is None:
            return Result()
        return self.view.result(self.as_of, period, by, only, filters)

    def series(
        self, metric_id: str, filters: Mapping[str, str] | None = None
    ) -> dict[tuple[str, ...], Series]:
        if self.as_of is None:
            return {}
        return self.view.series(metric_id, self.as_of, filters)


def filter_key(filters: Mapping[str, str] | None) -> FilterKey:
    """``filters`` as a cache key: the same filters in any order are one key."""
    return tuple(sorted((str(k), str(v)) for k, v in (filters or {}).items()))


def point_limits(series: Series) -> list[XmR | None]:
    """The centre line and limits each point was judged against, in ``series.points`` order
    (None for a point SPC does not read, or in a segment with no variation to judge) — the
    engine's ``reading.point_xmr``, laid beside the points as :meth:`Series.point_types` does."""
    reading = series.reading
    limits = iter(reading.point_xmr) if reading else iter(())
    return [next(limits, None) if p.judged else None for p in series.points]
