"""Many comparisons at once, and entitlements clustered within victims: the rules every report uses.

A report that states dozens of "significantly higher / lower" verdicts would, at the 5% level,
call some changes significant by chance alone; and a compliance rate counts entitlements, several
of which belong to one victim (the same victim's updates tend to be all on time or all late), so
the test of two independent proportions treats the rate as more precise than it is. Two standard
corrections, written once here (pure functions: numbers in, numbers out):

* **False discovery rate** (:func:`benjamini_hochberg`): the step-up procedure of Benjamini and
  Hochberg (1995, "Controlling the false discovery rate: a practical and powerful approach to
  multiple testing", JRSS B 57(1), 289-300), applied to every comparison a report states at once.
  It keeps the expected share of false "significant" verdicts among all the verdicts made at or
  below the significance level. The adjusted p-values are the same as
  ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``; a comparison is significant
  when its adjusted p-value is at most the level.
* **Design effect** (:func:`design_effect`): the ratio of the variance of a proportion estimated
  with victims as clusters to its variance under simple random sampling of entitlements (Kish
  1965, *Survey Sampling*, section 8.2: deff = Var_design / Var_srs). The clustered variance is the
  linearised (ratio-estimator) variance for one-stage cluster samples with clusters of unequal
  size (Cochran 1977, *Sampling Techniques*, 3rd ed., section 6.13; Lohr 2010, *Sampling: Design
  and Analysis*, 2nd ed., section 5.2.3), without a finite population correction:

      p = Σy_i / n,  n = Σm_i,
      v_cluster = k/(k-1) · Σ(y_i - p·m_i)² / n²,   v_srs = n/(n-1) · p(1-p) / n

  for k victims, victim i holding m_i entitlements of which y_i were met, each variance with its
  usual small-sample factor. They are the cluster-robust ("CR1", clusters = victims) and the
  ordinary variances of the mean of the 0/1 outcomes, so deff is their ratio as a regression of
  the outcomes on a constant gives them. When every victim holds one entitlement it is exactly 1;
  with m̄ entitlements each and intra-victim correlation ρ it is about Kish's 1 + (m̄ - 1)ρ. A
  design effect below 1 (a victim's entitlements less alike than chance) is taken as 1: the
  correction widens a test, never narrows it.
* **The clustered test** (:func:`clustered_proportion_test`): the test of two proportions on
  *effective* sample sizes n/deff (the usual way to carry a design effect into a test: Kish 1965,
  section 8.2), the pooled z-test as in :func:`vcop.metrics.stats.two_proportion_test`, or
  Fisher's exact test on the rounded effective counts when an expected count is under 5. With both
  design effects 1 it is that test exactly.
* **The size of a change** (:func:`proportion_difference_interval`): Newcombe's hybrid score
  interval for a difference of proportions (Newcombe 1998, "Interval estimation for the difference
  between independent proportions", Statistics in Medicine 17, 873-890, method 10), from Wilson
  intervals on the effective sample sizes. For other kinds (medians, means) the interval comes
  from the test itself (:func:`interval_from_test`): the standard error the test's two-sided
  p-value implies, ``|d| / z(p/2)`` (Altman and Bland 2011, "How to obtain the confidence interval
  from a P value", BMJ 343:d2090) — exact for the Bonett–Price test of two medians, which is a
  z-test, and a close approximation for Welch's t-test on the sample sizes a report uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vcop.metrics.stats import CONFIDENCE, TestResult, norm_isf, norm_ppf, norm_sf, scipy_stats


def _z(confidence: float) -> float:
    return norm_ppf(1 - (1 - confidence) / 2)


# --------------------------------------------------------------------------- false discovery rate


def bh_adjusted(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the order given.

    With the p-values sorted ascending, ``p_(i) · m / i``, made non-decreasing from the largest
    down (a running minimum), capped at 1 (the same as statsmodels' ``fdr_bh``).
    """
    m = len(p_values)
    for p in p_values:
        if not 0 <= p <= 1 or math.isnan(p):
            raise ValueError(f"a p-value must be between 0 and 1, not {p}")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


@dataclass(frozen=True)
class Discovery:
    """One comparison after the false discovery rate is controlled."""

    p_value: float
    adjusted: float
    significant: bool


def benjamini_hochberg(p_values: Sequence[float], alpha: float = 0.05) -> list[Discovery]:
    """Control the false discovery rate at ``alpha`` over ``p_values`` (one per comparison, in
    order): each comparison with its adjusted p-value, significant when that is ≤ ``alpha``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    return [
        Discovery(p, a, a <= alpha) for p, a in zip(p_values, bh_adjusted(p_values), strict=True)
    ]


# --------------------------------------------------------------------------- design effect


@dataclass(frozen=True)
class ClusterCounts:
    """What the design effect of a proportion needs from its clusters (victims): their number, the
    totals of the cluster sizes m_i (entitlements) and numerators y_i (met), and the sums of
    squares and products. Adding two of them pools their clusters (no victim in both)."""

    clusters: int
    n: int
    x: int
    sum_mm: int
    sum_yy: int
    sum_ym: int

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, int]]) -> ClusterCounts:
        """From ``(y_i, m_i)``: each cluster's numerator and size (the plain-Python reference)."""
        k = n = x = mm = yy = ym = 0
        for y, m in pairs:
            if m <= 0 or not 0 <= y <= m:
                raise ValueError(f"a cluster of {m} with {y} in the numerator")
            k, n, x = k + 1, n + m, x + y
            mm, yy, ym = mm + m * m, yy + y * y, ym + y * m
        return cls(k, n, x, mm, yy, ym)

    @property
    def proportion(self) -> float | None:
        return self.x / self.n if self.n else None

    def variance(self) -> float | None:
        """The clustered (linearised ratio-estimator) variance of the proportion; None with
        fewer than two clusters."""
        if self.clusters < 2 or not self.n:
            return None
        p = self.x / self.n
        spread = self.sum_yy - 2 * p * self.sum_ym + p * p * self.sum_mm
        return self.clusters / (self.clusters - 1) * max(spread, 0.0) / (self.n * self.n)


def design_effect(c: ClusterCounts) -> float:
    """The design effect of the proportion ``c.x / c.n`` with its clusters (see the module
    docstring), at least 1; 1 when it cannot be estimated (fewer than two clusters) or the
    proportion is 0 or 1 (no variance to inflate)."""
    v = c.variance()
    if v is None or c.x in (0, c.n) or c.n < 2:
        return 1.0
    p = c.x / c.n
    return max(1.0, v / (c.n / (c.n - 1) * p * (1 - p) / c.n))


# --------------------------------------------------------------------------- tests and intervals


def clustered_proportion_test(
    x1: int, n1: int, deff1: float, x2: int, n2: int, deff2: float
) -> TestResult | None:
    """Two-sided test that ``x1/n1`` and ``x2/n2`` share a proportion, each sample's size divided
    by its design effect (``deff`` ≥ 1): the pooled z-test on the effective sizes, or Fisher's
    exact test on the rounded effective counts when an expected count is under 5. None when a
    sample is empty."""
    if n1 <= 0 or n2 <= 0:
        return None
    if deff1 < 1 or deff2 < 1:
        raise ValueError("a design effect is at least 1")
    e1, e2 = n1 / deff1, n2 / deff2
    s1, s2 = x1 / deff1, x2 / deff2
    pooled = (s1 + s2) / (e1 + e2)
    expected = (e1 * pooled, e1 * (1 - pooled), e2 * pooled, e2 * (1 - pooled))
    if min(expected) < 5:
        r1, r2 = max(1, round(e1)), max(1, round(e2))
        c1, c2 = round(x1 / n1 * r1), round(x2 / n2 * r2)
        if c1 + c2 in (0, r1 + r2):
            return TestResult(1.0, "fisher_exact_effective")
        _, p = scipy_stats().fisher_exact([[c1, r1 - c1], [c2, r2 - c2]], alternative="two-sided")
        return TestResult(min(1.0, float(p)), "fisher_exact_effective")
    se = math.sqrt(pooled * (1 - pooled) * (1 / e1 + 1 / e2))
    z = (s1 / e1 - s2 / e2) / se
    return TestResult(2 * norm_sf(abs(z)), "two_proportion_z_effective")


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_difference_interval(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    deff1: float = 1.0,
    deff2: float = 1.0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for ``x1/n1 - x2/n2`` (method 10), each sample's Wilson
    interval on its effective size ``n / deff``. None when a sample is empty."""
    if n1 <= 0 or n2 <= 0:
        return None
    z = _z(confidence)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = _wilson(p1, n1 / deff1, z)
    l2, u2 = _wilson(p2, n2 / deff2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def interval_from_test(
    change: float, p_value: float, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The interval for a change that a two-sided z-test's p-value implies (Altman and Bland
    2011): se = |change| / z(p/2), change ± z·se. None when the p-value carries no standard error
    (no change, p = 1, or p = 0)."""
    if change == 0 or not 0 < p_value < 1:
        return None
    se = abs(change) / norm_isf(p_value / 2)
    half = _z(confidence) * se
    return change - half, change + half
