"""The figures a report quotes: metric values from the engine, formatted, and cited for its appendix.

A report asks a :class:`FigureBook` for values, and every number it writes goes through
:meth:`cite`, which formats it and records where it came from: the metric id, the group, the
window, the numerator and the denominator. The appendix is those records, so every figure in a
report is traceable to a metric definition, and the tests read each one back and compare it with
the value it came from.

An internal report (the board paper) computes its values through
:func:`vcop.metrics.engine.compute`, once per period and breakdown. A partner output (the partner
pack) is cut from a :class:`~vcop.metrics.release.Release`: every value and every month of a
monthly series is the release's, already suppressed once for every partner output of that month
end, and the book computes and hides nothing of its own. A hidden figure is cited too, as
:data:`SUPPRESSED` with no numbers, so the appendix and ``figures.csv`` list every cell shown.

What may be said about a figure is the engine's, never the report's: each value arrives stamped
with ``provisional``, ``comparable`` (and why not), its SPC reading and its target (the force's
adopted ones, from ``targets.yaml``: :mod:`vcop.metrics.targets`). A citation keeps those marks,
and :meth:`FigureBook.cite` marks a provisional figure wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, TypeGuard

import ibis

from vcop.metrics import policy
from vcop.metrics.comparisons import ComparisonFamily
from vcop.metrics.engine import Result, compute, quietly
from vcop.metrics.periods import PeriodKind
from vcop.metrics.population import Population, load_population, per_1000
from vcop.metrics.release import SUPPRESSED, Release
from vcop.metrics.series import Point, Series, monthly_series
from vcop.metrics.suppress import publish
from vcop.metrics.targets import NONE as NO_TARGETS
from vcop.metrics.targets import TargetReading, Targets
from vcop.metrics.values import ALL, Estimate, MetricValue
from vcop.spec.metrics import Catalogue, load_catalogue

#: Which window of a value a figure is: the current period, the previous one or a year before.
Which = Literal["current", "previous", "year_ago"]

__all__ = ["SUPPRESSED", "Citation", "FigureBook", "quietly"]

#: The mark after a figure based on fewer than the catalogue's ``small_sample`` cases.
SMALL = "†"
#: The mark after a provisional figure (the engine's ``provisional``: its period is younger than
#: the metric's maturity, so it may still change; it is compared only with the earlier period as
#: it stood at the same age, and its months are not judged by SPC).
PROVISIONAL = "(provisional)"


def percent(value: float) -> str:
    """A proportion to one decimal place, as the board papers write it: 0.765 → "76.5%"."""
    return f"{100 * value:.1f}%"


def number(value: float, unit: str) -> str:
    """A value in its unit: proportions to one decimal place, counts whole, durations to one
    decimal place unless whole ("18 minutes", "104.5 minutes")."""
    if unit == "proportion":
        return percent(value)
    if unit == "count":
        return f"{value:,.0f}"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text} {unit}" if unit in ("minutes", "days") else text


def period_words(e: Estimate, period: str) -> str:
    """ "the 12 months ending June 2025", "June 2025", "the quarter to 30 June 2025"."""
    if period == "rolling_12m":
        return f"the 12 months ending {e.end:%B %Y}"
    if period == "month":
        return f"{e.start:%B %Y}"
    if period == "quarter":
        return f"the quarter {e.start:%-d %B} to {e.end:%-d %B %Y}"
    return f"the financial year to {e.end:%-d %B %Y}"


@dataclass(frozen=True)
class Citation:
    """One figure a report shows, and where it came from."""

    ref: str
    where: str
    metric_id: str
    breakdown: str
    group: str
    period: str
    start: date
    end: date
    numerator: int | None
    denominator: int | None
    value: float | None
    text: str
    #: "value": a window of a metric value; "month": a month of a metric's monthly series;
    #: "per_1000": a window's count per 1,000 residents (numerator: the count, denominator: the
    #: residents of the group, :mod:`vcop.metrics.population`); "benchmark": a count's long-term
    #: benchmark (the average 12-month total over the years before the window).
    source: str = "value"
    #: The engine's marks. ``provisional``: this figure's own window is provisional (an earlier
    #: window a value is compared with never is). ``comparable``, ``comparable_reason`` and
    #: ``spc_variation``: the value's (for a month: whether SPC judges the point, why not, and
    #: the point's SPC type).
    provisional: bool = False
    comparable: bool = True
    comparable_reason: str | None = None
    spc_variation: str | None = None
    #: Hidden in the partner release: shown as :data:`SUPPRESSED`, with no numbers.
    suppressed: bool = False


class FigureBook:
    """Metric values for one report (cached), and the citations of every figure it shows."""

    def __init__(
        self,
        backend: ibis.BaseBackend | None,
        as_of: date,
        *,
        catalogue: Catalogue | None = None,
        threshold: int | None = None,
        targets: Targets | None = None,
        release: Release | None = None,
    ) -> None:
        self.backend = backend
        self.as_of = as_of
        self.catalogue = catalogue or load_catalogue()
        #: The force's targets (``targets_for_db``): the engine judges against the adopted ones.
        self.targets = targets or NO_TARGETS
        #: The partner release the figures are cut from (None: computed here, unsuppressed
        #: unless ``threshold`` is set).
        self.release = release
        if release is not None and release.as_of != as_of:
            raise ValueError(f"the release is of {release.as_of}, not {as_of}")
        #: Counts below this are hidden (partner and public outputs); None: nothing is.
        self.threshold = release.threshold if release is not None else threshold
        self.citations: list[Citation] = []
        self.notes: list[str] = list(release.notes) if release is not None else []
        self._results: dict[tuple[str, str | None], list[MetricValue]] = {}
        self._series: dict[str, dict[tuple[str, ...], Series]] = {}
        self.definitions_hash = release.definitions_hash if release is not None else ""
        #: The comparisons the report states, judged together (multiple comparisons and
        #: clustering: :mod:`vcop.metrics.comparisons`); None: each by the engine's own test.
        self.comparisons: ComparisonFamily | None = None
        self._population: tuple[Population | None] | None = None
        self._other_dates: dict[date, FigureBook] = {}

    def as_of_date(self, as_of: date) -> FigureBook:
        """The same figures as the engine computes them as of another date (an earlier rolling
        year), made once per book: a paper drafted twice computes them once. Only a book with a
        backend has them (a partner release holds its own date only)."""
        if self.backend is None:
            raise ValueError("a book cut from a release has no figures for another date")
        if as_of not in self._other_dates:
            self._other_dates[as_of] = FigureBook(
                self.backend, as_of, catalogue=self.catalogue, targets=self.targets,
                threshold=self.threshold,
            )  # fmt: skip
        return self._other_dates[as_of]

    @classmethod
    def of_release(
        cls,
        release: Release,
        *,
        catalogue: Catalogue | None = None,
        targets: Targets | None = None,
    ) -> FigureBook:
        """A book whose every figure is ``release``'s (a partner output)."""
        return cls(None, release.as_of, catalogue=catalogue, targets=targets, release=release)

    # -- values ----------------------------------------------------------------------------

    def values(
        self, metrics: Sequence[str], period: str = "rolling_12m", by: str | None = None
    ) -> list[MetricValue]:
        """Values of ``metrics`` for the period ending on the as-of date: the release's, or
        computed (once) by the engine."""
        if self.release is not None:
            return self.release.values(PeriodKind(period).value, by, metrics)
        key = (PeriodKind(period).value, by)
        have = self._results.setdefault(key, [])
        known = {v.metric_id for v in have}
        wanted = [m for m in dict.fromkeys(metrics) if m not in known]
        if wanted:
            if self.backend is None:
                raise ValueError("a book with neither a backend nor a release has no figures")
            with quietly():
                result: Result = compute(
                    self.backend, self.as_of, period, metrics=wanted, by=by,
                    catalogue=self.catalogue, targets=self.targets,
                )  # fmt: skip
            for note in result.notes:
                if note not in self.notes:
                    self.notes.append(note)
            self.definitions_hash = result.definitions_hash
            found = result.values
            if self.threshold is not None:  # a board paper to be published (not partner-facing)
                found = publish(found, self.threshold)
            have.extend(found)
        return [v for v in have if v.metric_id in set(metrics)]

    def cached(self, metric_id: str) -> list[MetricValue]:
        """Every value of ``metric_id`` at hand (any period and breakdown)."""
        tables = self.release.tables.values() if self.release else self._results.values()
        return [v for have in tables for v in have if v.metric_id == metric_id]

    def value(
        self,
        metric_id: str,
        period: str = "rolling_12m",
        by: str | None = None,
        group: tuple[str, ...] = (),
    ) -> MetricValue | None:
        """One value: ``group`` is the value's whole group (its grouping's, then ``by``'s)."""
        for v in self.values([metric_id], period, by):
            if v.group == group:
                return v
        return None

    def series(self, metric_id: str) -> dict[tuple[str, ...], Series]:
        """The monthly SPC series of a metric, per group of its grouping: the release's (hidden
        months are ``Point(suppressed=True)``), or the engine's for an internal report."""
        if self.release is not None:
            return self.release.series.get(metric_id, {})
        if self.threshold is not None:
            return {}  # no monthly series is suppressed outside a release: none is shown
        if metric_id not in self._series:
            assert self.backend is not None
            with quietly():
                self._series[metric_id] = monthly_series(
                    self.backend, self.catalogue, metric_id, self.as_of, targets=self.targets
                )
        return self._series[metric_id]

    def target(self, metric_id: str) -> TargetReading:
        """The force's target for a metric on the as-of date, as the engine reads it: ``value``
        is set only for an adopted, in-force, aggregate target (the one SPC judges against)."""
        return self.targets.for_metric(metric_id, self.as_of)

    def population(self) -> Population | None:
        """The residents of each district, as loaded (None: no population table or no rows, and
        always for a partner output, which is cut from its release alone)."""
        if self._population is None:
            loaded = None if self.release is not None else load_population(self.backend)
            self._population = (loaded,)
        return self._population[0]

    # -- citing ----------------------------------------------------------------------------

    def cite_per_1000(self, v: MetricValue | None, where: str, which: Which = "current") -> str:
        """A count per 1,000 residents of its group (:func:`vcop.metrics.population.per_1000`),
        formatted to one decimal place and recorded for the appendix with the count as its
        numerator and the residents as its denominator; "" when there is no such rate (no
        population loaded, a group residents are not divided by, a hidden count)."""
        if v is None or self.hidden(v, which):
            return ""
        rate = per_1000(self.catalogue.metric(v.metric_id), v, self.population(), which)
        e = self.estimate(v, which)
        if rate is None or e is None:
            return ""
        text = f"{rate.value:,.1f}"
        self._record(v, e, where, text, which=which, source="per_1000",
                     counts=(rate.count, rate.population, rate.value))  # fmt: skip
        return text + (f" {PROVISIONAL}" if v.provisional and which == "current" else "")

    def cite_benchmark(self, v: MetricValue | None, where: str) -> str:
        """A count's long-term benchmark (the engine's: the average 12-month total over the
        years before), formatted and recorded for the appendix; "" when it has none."""
        if v is None or v.benchmark is None or self.hidden(v):
            return ""
        text = number(v.benchmark, v.unit)
        # the benchmark is of complete years before the period: never provisional
        self._record(v, v.current, where, text, source="benchmark",
                     counts=(None, None, v.benchmark), provisional=False)  # fmt: skip
        return text

    def estimate(self, v: MetricValue, which: Which = "current") -> Estimate | None:
        if which == "current":
            return v.current
        c = v.previous if which == "previous" else v.year_ago
        return c.estimate if c is not None else None

    def hidden(self, v: MetricValue, which: Which = "current") -> bool:
        """Whether the figure is hidden (suppressed in a partner output): the current window of a
        suppressed value, or an earlier window blanked by suppression."""
        if which == "current":
            return v.suppressed
        e = self.estimate(v, which)
        return (
            self.threshold is not None
            and e is not None
            and e.value is None
            and e.numerator is None
            and e.denominator is None
        )

    def shown(self, v: MetricValue | None, which: Which = "current") -> TypeGuard[MetricValue]:
        """Whether the figure exists and may be shown (not suppressed, not blank)."""
        if v is None:
            return False
        e = self.estimate(v, which)
        return e is not None and e.value is not None and not (which == "current" and v.suppressed)

    def cite(
        self, v: MetricValue | None, where: str, which: Which = "current", *, small: bool = False
    ) -> str:
        """The figure formatted for the text, recorded for the appendix; a hidden figure is
        :data:`SUPPRESSED`, recorded as such.

        A provisional figure is followed by :data:`PROVISIONAL`; with ``small``, a figure on
        fewer than the catalogue's ``small_sample`` cases by :data:`SMALL` before it — an
        earlier window's figure as well as the current one, so a comparison with a small sample
        on either side is marked on that side (an earlier window is never provisional)."""
        if v is None:
            return "not available"
        e = self.estimate(v, which)
        if e is not None and self.hidden(v, which):
            self._record(v, e, where, SUPPRESSED, which=which, suppressed=True)
            return SUPPRESSED
        if e is None or e.value is None:
            return "not available"
        text = number(e.value, v.unit)
        self._record(v, e, where, text, which=which)
        if which != "current":
            return text + marks(small and self.small(v, which), False)
        return text + marks(v.small_sample and small, v.provisional)

    def small(self, v: MetricValue, which: Which = "current") -> bool:
        """Whether a window's figure rests on fewer than the catalogue's ``small_sample`` cases
        (its denominator; for a count, the count): the engine's mark for the current window."""
        if which == "current":
            return v.small_sample
        e = self.estimate(v, which)
        if e is None:
            return False
        size = e.denominator if e.denominator is not None else e.numerator
        return size is not None and size < self.catalogue.settings.small_sample

    def cite_n(self, v: MetricValue, where: str, which: Which = "current") -> str:
        """The sample size (denominator) of a figure, formatted, recorded for the appendix
        (:data:`SUPPRESSED` for a hidden figure: :meth:`cite` records it)."""
        e = self.estimate(v, which)
        if e is None or self.hidden(v, which):
            return SUPPRESSED
        if e.denominator is None:
            return "–"
        text = f"{e.denominator:,}"
        self._record(v, e, where, text, what="n", which=which)
        return text

    def cite_count(self, v: MetricValue, where: str, which: Which = "current") -> str:
        """The numerator (met, satisfied, …) of a figure, formatted, recorded for the appendix
        (:data:`SUPPRESSED` for a hidden figure: :meth:`cite` records it)."""
        e = self.estimate(v, which)
        if e is None or self.hidden(v, which):
            return SUPPRESSED
        if e.numerator is None:
            return "–"
        text = f"{e.numerator:,}"
        self._record(v, e, where, text, what="numerator", which=which)
        return text

    def cite_point(self, metric_id: str, group: tuple[str, ...], point: Point, where: str) -> str:
        """One month of a metric's monthly series, formatted (marked when provisional),
        recorded for the appendix with the point's SPC type (None: SPC does not judge it); a
        month hidden in the release is :data:`SUPPRESSED`, recorded as such."""
        metric = self.catalogue.metric(metric_id)
        end = (point.month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        text = SUPPRESSED if point.suppressed else number(point.value, metric.unit)
        series = self.series(metric_id).get(group)
        types = (
            {p.month: t for p, t in zip(series.points, series.point_types(), strict=True)}
            if series
            else {}
        )
        reason = None
        if point.provisional:
            reason = policy.provisional_reason(metric)
        elif point.warm_up:
            reason = policy.warm_up_reason(metric, "the month")
        self.citations.append(
            Citation(
                ref=f"F{len(self.citations) + 1}",
                where=where,
                metric_id=metric_id,
                breakdown="/".join(metric.grouping) or ALL,
                group="/".join(group) or ALL,
                period="month",
                start=point.month,
                end=end,
                numerator=None if point.suppressed else point.numerator,
                denominator=None if point.suppressed else point.denominator,
                value=None if point.suppressed else point.value,
                text=text,
                source="month",
                provisional=point.provisional,
                comparable=point.judged,
                comparable_reason=reason,
                spc_variation=types.get(point.month),
                suppressed=point.suppressed,
            )
        )
        if point.suppressed:
            return text
        return text + marks(False, point.provisional)

    def _record(
        self,
        v: MetricValue,
        e: Estimate,
        where: str,
        text: str,
        what: str = "value",
        which: Which = "current",
        suppressed: bool = False,
        *,
        source: str = "value",
        counts: tuple[int | None, int | None, float | None] | None = None,
        provisional: bool | None = None,
    ) -> None:
        """Record a citation of ``v``'s window ``e``: its own counts and value, or ``counts``
        (numerator, denominator, value) for a figure derived from it (``source``: a rate per
        1,000 residents, a benchmark)."""
        numerator, denominator, value = counts or (e.numerator, e.denominator, e.value)
        self.citations.append(
            Citation(
                ref=f"F{len(self.citations) + 1}",
                where=where if what == "value" else f"{where} ({what})",
                metric_id=v.metric_id,
                breakdown=v.breakdown_name,
                group=v.group_name,
                period=v.period,
                start=e.start,
                end=e.end,
                numerator=numerator,
                denominator=denominator,
                value=value,
                text=text,
                provisional=(v.provisional and which == "current")
                if provisional is None
                else provisional,
                comparable=v.comparable,
                comparable_reason=v.comparable_reason,
                spc_variation=v.spc_variation,
                suppressed=suppressed,
                source=source,
            )
        )


def marks(small: bool, provisional: bool) -> str:
    """The marks after a figure: " †" (few cases), " (provisional)", in that order."""
    return (f" {SMALL}" if small else "") + (f" {PROVISIONAL}" if provisional else "")
