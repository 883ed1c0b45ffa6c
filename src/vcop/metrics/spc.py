"""Statistical process control as NHS England's "Making Data Count" (MDC) does it.

An XmR (individuals and moving range) chart on a metric's monthly series:

* the centre line is the mean of the points, and the process limits are the mean ± 2.66 × the
  mean moving range (2.66 = 3 / d2, d2 = 1.128 for ranges of two points). With
  ``screen_outliers`` (MDC's recommendation and NHSRplotthedots' default) moving ranges of
  3.267 × the mean moving range or more are left out and the mean moving range is recomputed,
  so one wild month does not widen the limits;
* "close to the limits" means beyond two sigma (mean ± 2/3 × 2.66 × mean moving range) but not
  beyond the limits.

A point is **special cause** when (in this order of precedence, which also decides the point's
direction):

1. it is outside the process limits;
2. it is part of ``trend_length`` (default 7) points in a row, each higher than the one before
   (or each lower) — equal neighbours break a trend;
3. it is one of 2 of 3 consecutive points close to the limits, all three on the same side of
   the mean (the point that is not close is not flagged);
4. it is part of ``run_length`` (default 7) points in a row on the same side of the mean — a
   point exactly on the mean breaks a run.

The **variation icon** is the type of the latest point: ``common_cause``, or by the metric's
polarity ``special_cause_improvement`` / ``special_cause_concern``, or for a neutral metric
``special_cause_neutral_high`` / ``special_cause_neutral_low``. The **assurance icon**, when the
metric has a target: ``consistently_pass`` when the target lies outside the limits on the failing
side (every point can be expected to pass), ``consistently_fail`` when it lies outside on the
passing side, ``hit_and_miss`` when it lies within the limits (NHSRplotthedots calls these
consistent_pass, consistent_fail and inconsistent); none for a neutral metric.

The rules follow the R package NHSRplotthedots (nhs-r-community), file
``R/ptd_calculate_point_type.R``, and are tested against its published test cases
(``tests/test_spc.py``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Polarity(StrEnum):
    """Which direction is better for a metric."""

    higher_is_better = "higher_is_better"
    lower_is_better = "lower_is_better"
    neutral = "neutral"

    @property
    def direction(self) -> int:
        return {"higher_is_better": 1, "lower_is_better": -1, "neutral": 0}[self.value]


@dataclass(frozen=True)
class SpcRules:
    """The configurable parts of the method; the defaults are MDC's."""

    limit: float = 2.66
    run_length: int = 7
    trend_length: int = 7
    two_of_three: bool = True
    screen_outliers: bool = True
    outlier_factor: float = 3.267
    #: Fewer points than this and no signal is reported (NHSRplotthedots warns under 12).
    min_points: int = 12

    def __post_init__(self) -> None:
        if self.run_length < 2 or self.trend_length < 3:
            raise ValueError("run_length must be >= 2 and trend_length >= 3")
        if self.min_points < 2:
            raise ValueError("min_points must be >= 2")


#: The rules as Making Data Count sets them.
MDC = SpcRules()


@dataclass(frozen=True)
class XmR:
    """Centre line and limits of an XmR chart."""

    n: int
    mean: float
    mean_moving_range: float
    lpl: float
    upl: float
    near_lpl: float
    near_upl: float


#: The variation of a series whose points are all equal (mean moving range zero): there is no
#: variation to judge, so no limits and no signal (NHSRplotthedots gives no limits there either).
NO_VARIATION = "no_variation"


@dataclass(frozen=True)
class SpcResult:
    #: Centre line and limits of the latest segment (after the last rebase); None when that
    #: segment has no variation to judge.
    xmr: XmR | None
    special_cause_type: tuple[str, ...]
    point_type: tuple[str, ...]
    variation: str
    assurance: str | None
    #: Centre line and limits each point was judged against (rebasing starts a new segment).
    point_xmr: tuple[XmR | None, ...] = ()


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def xmr_limits(values: Sequence[float], rules: SpcRules = MDC) -> XmR:
    """Mean, mean moving range and limits of a series (at least two points)."""
    y = [float(v) for v in values]
    if len(y) < 2:
        raise ValueError("an XmR chart needs at least two points")
    mean = math.fsum(y) / len(y)
    ranges = [abs(b - a) for a, b in itertools.pairwise(y)]
    amr = math.fsum(ranges) / len(ranges)
    if rules.screen_outliers:
        kept = [r for r in ranges if r < rules.outlier_factor * amr]
        if kept:
            amr = math.fsum(kept) / len(kept)
    close = 2 * rules.limit / 3
    return XmR(
        n=len(y),
        mean=mean,
        mean_moving_range=amr,
        lpl=mean - rules.limit * amr,
        upl=mean + rules.limit * amr,
        near_lpl=mean - close * amr,
        near_upl=mean + close * amr,
    )


# --- the rules, each a pure function of plain lists, as in NHSRplotthedots -------------------


def run_flags(relative_to_mean: Sequence[int], run_length: int = 7) -> list[int]:
    """1 at each point that ends ``run_length`` points in a row on the same side of the mean."""
    out = []
    for i, r in enumerate(relative_to_mean):
        window = relative_to_mean[max(0, i - run_length + 1) : i + 1]
        out.append(int(i >= run_length - 1 and r != 0 and all(v == r for v in window)))
    return out


def trend_flags(y: Sequence[float], trend_length: int = 7) -> list[int]:
    """+1 / -1 at each point that ends ``trend_length`` points each above / below the one before."""
    out = [0] * len(y)
    for i in range(trend_length - 1, len(y)):
        d = [_sign(y[j] - y[j - 1]) for j in range(i - trend_length + 2, i + 1)]
        if all(s == 1 for s in d):
            out[i] = 1
        elif all(s == -1 for s in d):
            out[i] = -1
    return out


def part_of(flags: Sequence[int], length: int) -> list[int]:
    """1 at each point that is part of a flagged run: the flagged point or one of the ``length - 1`` before it."""
    n = len(flags)
    return [int(any(flags[j] != 0 for j in range(i, min(n, i + length)))) for i in range(n)]


def two_in_three(close: Sequence[int], relative_to_mean: Sequence[int]) -> list[int]:
    """1 at each point in a window of 3 consecutive points with at least 2 close to the limits, all 3 on one side."""
    n = len(close)
    vp = [0, 0, *close, 0, 0]
    rp = [0, 0, *relative_to_mean, 0, 0]
    out = []
    for i in range(n):
        hit = any(
            sum(vp[i + k : i + k + 3]) >= 2 and abs(sum(rp[i + k : i + k + 3])) == 3
            for k in range(3)
        )
        out.append(int(hit))
    return out


def part_of_two_in_three(windows: Sequence[int], close: Sequence[int]) -> list[int]:
    """Of the points in a 2-of-3 window, only those close to the limits are flagged."""
    return [int(w == 1 and abs(c) == 1) for w, c in zip(windows, close, strict=True)]


def special_cause_types(values: Sequence[float], xmr: XmR, rules: SpcRules = MDC) -> list[str]:
    """Why each point is special cause (``above_limit``, ``trend_increasing``, ``two_of_three_above`` …) or ``common_cause``."""
    y = [float(v) for v in values]
    rel = [_sign(v - xmr.mean) for v in y]
    outside = [int(v > xmr.upl or v < xmr.lpl) for v in y]
    close = [
        int(not o and (v < xmr.near_lpl or v > xmr.near_upl))
        for v, o in zip(y, outside, strict=True)
    ]
    trend = part_of(trend_flags(y, rules.trend_length), rules.trend_length)
    tit = (
        part_of_two_in_three(two_in_three(close, rel), close)
        if rules.two_of_three
        else [0] * len(y)
    )
    run = part_of(run_flags(rel, rules.run_length), rules.run_length)
    n = len(y)
    types = []
    for i in range(n):
        side = "above" if rel[i] > 0 else "below"
        if outside[i]:
            types.append(f"{side}_limit")
        elif trend[i]:
            # direction of the trend the point belongs to: the step to the next point when
            # that point is in the trend too, else the step from the previous point
            if i + 1 < n and trend[i + 1]:
                step = _sign(y[i + 1] - y[i])
            else:
                step = _sign(y[i] - y[i - 1]) if i > 0 else 0
            types.append("trend_increasing" if step > 0 else "trend_decreasing")
        elif tit[i]:
            types.append(f"two_of_three_{side}")
        elif run[i]:
            types.append(f"run_{side}")
        else:
            types.append("common_cause")
    return types


def point_type(special_cause_type: str, polarity: Polarity) -> str:
    """Turn a special-cause type into the MDC point type for the metric's polarity."""
    if special_cause_type == "common_cause":
        return "common_cause"
    v = 1 if ("above" in special_cause_type or "increasing" in special_cause_type) else -1
    if polarity is Polarity.neutral:
        return "special_cause_neutral_high" if v > 0 else "special_cause_neutral_low"
    return "special_cause_improvement" if v * polarity.direction > 0 else "special_cause_concern"


def assurance(xmr: XmR, target: float | None, polarity: Polarity) -> str | None:
    """The MDC assurance icon for ``target``: where the target sits against the process limits."""
    if target is None or polarity is Polarity.neutral:
        return None
    higher = polarity is Polarity.higher_is_better
    if target > xmr.upl:
        return "consistently_fail" if higher else "consistently_pass"
    if target < xmr.lpl:
        return "consistently_pass" if higher else "consistently_fail"
    return "hit_and_miss"


def segments(n: int, rebase: Sequence[int] = ()) -> list[range]:
    """The points ``0..n-1`` split where a rebase starts a new segment (a rebase that would leave a
    segment of fewer than two points is ignored: limits need two points)."""
    cuts = [0]
    for r in sorted(set(rebase)):
        if cuts[-1] + 2 <= r <= n - 2:
            cuts.append(r)
    cuts.append(n)
    return [range(a, b) for a, b in itertools.pairwise(cuts)]


def analyse(
    values: Sequence[float],
    polarity: Polarity,
    target: float | None = None,
    rules: SpcRules = MDC,
    rebase: Sequence[int] = (),
) -> SpcResult | None:
    """The whole MDC reading of a monthly series, oldest first; None when there are too few points.

    ``rebase``: indexes of the points where the process changed (a new way of working): limits
    are computed, and the rules applied, within each segment separately, as NHSRplotthedots'
    ``rebase`` does. A segment whose moving ranges are all zero has nothing to judge: its points
    are common cause, it has no limits, and when it is the latest the variation is
    :data:`NO_VARIATION` with no assurance.
    """
    if len(values) < max(2, rules.min_points):
        return None
    types: list[str] = []
    limits: list[XmR | None] = []
    xmr: XmR | None = None
    for seg in segments(len(values), rebase):
        part = [float(values[i]) for i in seg]
        xmr = xmr_limits(part, rules)
        if xmr.mean_moving_range <= 0:
            xmr = None
            types.extend("common_cause" for _ in part)
        else:
            types.extend(special_cause_types(part, xmr, rules))
        limits.extend(xmr for _ in part)
    points = tuple(point_type(t, polarity) for t in types)
    return SpcResult(
        xmr=xmr,
        special_cause_type=tuple(types),
        point_type=points,
        variation=NO_VARIATION if xmr is None else points[-1],
        assurance=None if xmr is None else assurance(xmr, target, polarity),
        point_xmr=tuple(limits),
    )
