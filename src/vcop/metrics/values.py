"""Metric values: what the engine produces and every output (CLI, reports, web) consumes.

A :class:`MetricValue` is one figure: one metric, one period, one group of one breakdown, with its
sample size, interval, comparisons, SPC reading and stamp. :meth:`MetricValue.record` flattens it
to the public columns (:data:`RECORD_COLUMNS`), the same for CSV, JSON and the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

#: The public columns of a metric value, in order (add beside them, never rename them).
RECORD_COLUMNS: tuple[str, ...] = (
    "metric_id",
    "period",
    "period_start",
    "period_end",
    "breakdown",
    "group",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "small_sample",
    "previous_start",
    "previous_end",
    "previous_value",
    "previous_denominator",
    "change",
    "p_value",
    "significant_change",
    "year_ago_start",
    "year_ago_end",
    "year_ago_value",
    "year_ago_denominator",
    "year_ago_change",
    "year_ago_p_value",
    "significant_change_year_ago",
    "benchmark",
    "benchmark_significant",
    "spc_variation",
    "spc_assurance",
    "spc_points",
    "target",
    "unit",
    "kind",
    "as_of",
    "suppressed",
    "definitions_hash",
    "provisional",
    "provisional_share",
    "comparable",
    "comparable_reason",
    "target_source",
    "target_adopted",
    "target_effective_from",
    "target_effective_to",
    "target_basis",
    "better",
    "previous_seen_at",
    "year_ago_seen_at",
)

#: Name of the breakdown and group of a value that is not broken down.
ALL = "all"


@dataclass(frozen=True)
class Estimate:
    """One window's figure.

    ``numerator`` and ``denominator`` by kind: a proportion or share has both; a count has the
    count as its numerator; a median or mean has its sample size as the denominator.
    """

    start: date
    end: date
    numerator: int | None
    denominator: int | None
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None

    def counts(self, kind: str) -> tuple[int, ...]:
        """Every count this estimate publishes or lets a reader work out (for suppression)."""
        if kind in ("proportion", "share"):
            num, den = self.numerator or 0, self.denominator or 0
            return (num, den, den - num)
        if kind == "count":
            return (self.numerator or 0,)
        return (self.denominator or 0,)

    def additive(self, kind: str) -> tuple[int, ...]:
        """The counts that add up across the groups of a breakdown to the total."""
        if kind == "proportion":
            return self.counts(kind)
        if kind == "share":
            return (self.numerator or 0,)
        return self.counts(kind)


@dataclass(frozen=True)
class Comparison:
    """The current figure against an earlier window."""

    estimate: Estimate
    change: float | None
    p_value: float | None
    method: str | None
    #: The earlier window as the data stood on this date (the same age as the current figure,
    #: for a provisional one); None: as of the value's own as-of date.
    seen_at: date | None = None

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value < 0.05


@dataclass(frozen=True)
class MetricValue:
    metric_id: str
    kind: str
    unit: str
    period: str
    as_of: date
    breakdown: tuple[str, ...]
    group: tuple[str, ...]
    current: Estimate
    previous: Comparison | None
    year_ago: Comparison | None
    small_sample: bool
    benchmark: float | None = None
    benchmark_significant: bool | None = None
    #: The p-value of the test of the current window against the benchmark (a Poisson rate
    #: test), for judging it with others (:class:`vcop.metrics.comparisons.ComparisonFamily`).
    benchmark_p_value: float | None = None
    spc_variation: str | None = None
    spc_assurance: str | None = None
    spc_points: int = 0
    target: float | None = None
    suppressed: bool = False
    definitions_hash: str = ""
    #: The period is younger than the metric's maturity (late completions, outcomes … may still
    #: arrive): shown and marked, no SPC point, compared only with earlier windows as they stood
    #: at the same age (``Comparison.seen_at``).
    provisional: bool = False
    #: For a 12-month or year-to-date value: the share of its denominator in provisional months.
    provisional_share: float | None = None
    #: False when the figure may not be compared with earlier ones; ``comparable_reason`` says why
    #: (a window in the data's warm-up, no data before), and those comparisons are absent.
    comparable: bool = True
    comparable_reason: str | None = None
    #: The target's provenance (see :mod:`vcop.metrics.targets`): ``target`` is set only when the
    #: force adopted it and it is in force on the as-of date.
    target_source: str | None = None
    target_adopted: bool = False
    target_effective_from: date | None = None
    target_effective_to: date | None = None
    target_basis: str | None = None
    #: Which way is better: ``higher``, ``lower`` or ``neutral``.
    better: str = "neutral"

    @property
    def breakdown_name(self) -> str:
        return "/".join(self.breakdown) if self.breakdown else ALL

    @property
    def group_name(self) -> str:
        return "/".join(self.group) if self.group else ALL

    def record(self, digits: int = 6) -> dict[str, Any]:
        """The value as the public columns (floats rounded to ``digits`` places)."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, digits)

        p, y = self.previous, self.year_ago
        out: dict[str, Any] = {
            "metric_id": self.metric_id,
            "period": self.period,
            "period_start": self.current.start.isoformat(),
            "period_end": self.current.end.isoformat(),
            "breakdown": self.breakdown_name,
            "group": self.group_name,
            "numerator": self.current.numerator,
            "denominator": self.current.denominator,
            "value": r(self.current.value),
            "ci_low": r(self.current.ci_low),
            "ci_high": r(self.current.ci_high),
            "small_sample": self.small_sample,
            "previous_start": p.estimate.start.isoformat() if p else None,
            "previous_end": p.estimate.end.isoformat() if p else None,
            "previous_value": r(p.estimate.value) if p else None,
            "previous_denominator": p.estimate.denominator if p else None,
            "change": r(p.change) if p else None,
            "p_value": r(p.p_value) if p else None,
            "significant_change": p.significant if p else None,
            "year_ago_start": y.estimate.start.isoformat() if y else None,
            "year_ago_end": y.estimate.end.isoformat() if y else None,
            "year_ago_value": r(y.estimate.value) if y else None,
            "year_ago_denominator": y.estimate.denominator if y else None,
            "year_ago_change": r(y.change) if y else None,
            "year_ago_p_value": r(y.p_value) if y else None,
            "significant_change_year_ago": y.significant if y else None,
            "benchmark": r(self.benchmark),
            "benchmark_significant": self.benchmark_significant,
            "spc_variation": self.spc_variation,
            "spc_assurance": self.spc_assurance,
            "spc_points": self.spc_points,
            "target": self.target,
            "unit": self.unit,
            "kind": self.kind,
            "as_of": self.as_of.isoformat(),
            "suppressed": self.suppressed,
            "definitions_hash": self.definitions_hash,
            "provisional": self.provisional,
            "provisional_share": r(self.provisional_share),
            "comparable": self.comparable,
            "comparable_reason": self.comparable_reason,
            "target_source": self.target_source,
            "target_adopted": self.target_adopted,
            "target_effective_from": _iso(self.target_effective_from),
            "target_effective_to": _iso(self.target_effective_to),
            "target_basis": self.target_basis,
            "better": self.better,
            "previous_seen_at": _iso(p.seen_at) if p else None,
            "year_ago_seen_at": _iso(y.seen_at) if y else None,
        }
        return out

    def not_comparable(self, reason: str) -> MetricValue:
        """This value without its comparisons, marked not comparable for ``reason``."""
        reasons = [r for r in (self.comparable_reason, reason) if r]
        return replace(
            self,
            previous=None,
            year_ago=None,
            comparable=False,
            comparable_reason="; ".join(dict.fromkeys(reasons)),
        )


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()
