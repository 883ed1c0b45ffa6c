"""The statistics every metric uses, written once.

* **Proportions** (compliance, satisfaction): the Wilson score interval, and a two-sided test of
  two independent proportions — the pooled two-proportion z-test, or Fisher's exact test when an
  expected cell count is under 5 (where the normal approximation is poor).
* **Counts** (recorded crime): the exact (Garwood) Poisson interval, and the exact conditional
  test of two Poisson rates (given the total, the first count is binomial with probability
  proportional to its exposure), so months of different lengths compare fairly.
* **Medians** (response times): the distribution-free interval and standard error of Bonett and
  Price (2002), as implemented in Bonett's R package statpsych (``ci.median``, ``ci.median2``); a
  change in medians is significant when the 95% interval for the difference of two medians
  excludes zero. Both need only a few order statistics of each sample, so the database returns
  those (see :func:`median_ranks`) and raw values never leave it.
* **Means** (investigation length): the t interval and Welch's unequal-variance t-test, from the
  count, sum and sum of squares.

Every function is pure: numbers in, numbers out. ``None`` means "cannot be computed" (for
example no cases at all), never zero.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

#: The confidence level of every interval and the significance level of every test (1 - 0.95).
CONFIDENCE = 0.95


def scipy_stats() -> Any:
    """scipy.stats, imported on first use: it costs most of a second, and commands that make
    no interval or test (``vcop evaluate``, ``--help``) never need it. Only Fisher's exact test
    still uses it here: the distributions below are scipy.stats's without the import."""
    from scipy import stats

    return stats


# --------------------------------------------------------------------------- distributions
#
# The few distribution functions the statistics use, computed as scipy.stats computes them (its
# ``rv_continuous`` / ``rv_discrete`` methods: the same edge cases, then the same scipy.special
# function on the same arguments), so every figure is the very float it was with scipy.stats,
# without importing scipy.stats: a second of every `vcop metrics`, for a handful of calls.
# tests/test_stats.py checks each against scipy.stats, bit for bit, over many arguments.


def _special() -> Any:
    """scipy.special's ufuncs (the binomial ones only in this module, where scipy.stats takes
    them from too)."""
    from scipy.special import _ufuncs

    return _ufuncs


def _ppf_edges(q: float, low: float, high: float) -> float | None:
    """What ``ppf`` gives at and outside the ends of [0, 1] (None: inside, compute it)."""
    if 0 < q < 1:
        return None
    return low if q == 0 else high if q == 1 else math.nan


def norm_ppf(q: float) -> float:
    """``scipy.stats.norm.ppf(q)``."""
    edge = _ppf_edges(q, -math.inf, math.inf)
    return _located(_special().ndtri(q)) if edge is None else edge


def norm_isf(q: float) -> float:
    """``scipy.stats.norm.isf(q)``."""
    edge = _ppf_edges(q, math.inf, -math.inf)
    return _located(-_special().ndtri(q)) if edge is None else edge


def _located(x: Any) -> float:
    """``x * scale + loc`` as scipy.stats ends a ppf (scale 1, loc 0: -0.0 becomes 0.0)."""
    return float(x) * 1.0 + 0.0


def norm_sf(x: float) -> float:
    """``scipy.stats.norm.sf(x)``."""
    return float(_special().ndtr(-x)) if math.isfinite(x) else _infinite_sf(x)


def chi2_ppf(q: float, df: float) -> float:
    """``scipy.stats.chi2.ppf(q, df)``."""
    if not df > 0:
        return math.nan
    edge = _ppf_edges(q, 0.0, math.inf)
    return _located(2 * float(_special().gammaincinv(df / 2, q))) if edge is None else edge


def t_ppf(q: float, df: float) -> float:
    """``scipy.stats.t.ppf(q, df)``."""
    if not df > 0:
        return math.nan
    edge = _ppf_edges(q, -math.inf, math.inf)
    return _located(_special().stdtrit(df, q)) if edge is None else edge


def t_sf(x: float, df: float) -> float:
    """``scipy.stats.t.sf(x, df)``."""
    if not df > 0:
        return math.nan
    return float(_special().stdtr(df, -x)) if math.isfinite(x) else _infinite_sf(x)


def _infinite_sf(x: float) -> float:
    return math.nan if math.isnan(x) else 0.0 if x > 0 else 1.0


def _clip(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _binom_ok(n: int, p: float) -> bool:
    return n >= 0 and n == math.floor(n) and 0 <= p <= 1


def binom_pmf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.pmf(k, n, p)``."""
    if not _binom_ok(n, p) or math.isnan(k):
        return math.nan
    if not (0 <= k <= n and math.floor(k) == k):
        return 0.0
    return _clip(float(_special()._binom_pmf(float(k), float(n), p)))


def binom_cdf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.cdf(k, n, p)``."""
    return _binom_tail("_binom_cdf", k, n, p, below=0.0, at_n=1.0)


def binom_sf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.sf(k, n, p)``."""
    return _binom_tail("_binom_sf", k, n, p, below=1.0, at_n=0.0)


def _binom_tail(ufunc: str, k: float, n: int, p: float, *, below: float, at_n: float) -> float:
    """A binomial tail as scipy.stats computes it: its value below 0 and from ``n`` on, else
    scipy.special's ``ufunc`` at ``floor(k)``."""
    if not _binom_ok(n, p) or math.isnan(k):
        return math.nan
    if k >= n:
        return at_n
    if k < 0:
        return below
    return _clip(float(getattr(_special(), ufunc)(float(math.floor(k)), float(n), p)))


def binom_test(k: int, n: int, p: float) -> float:
    """The p-value of ``scipy.stats.binomtest(k, n, p)`` (two-sided), by its algorithm: the
    probability of every outcome no likelier than ``k`` (to a relative 1e-7)."""
    if not (0 <= k <= n and n >= 1 and 0 <= p <= 1):
        raise ValueError(f"binomial test of {k} out of {n} at {p}")
    d = binom_pmf(k, n, p)
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _search(lambda x: -binom_pmf(x, n, p), -d * rerr, math.ceil(p * n), n)
        y = n - ix + int(d * rerr == binom_pmf(ix, n, p))
        pval = binom_cdf(k, n, p) + binom_sf(n - y, n, p)
    else:
        ix = _search(lambda x: binom_pmf(x, n, p), d * rerr, 0, math.floor(p * n))
        y = ix + 1
        pval = binom_cdf(y - 1, n, p) + binom_sf(k - 1, n, p)
    return min(1.0, pval)


def _search(a: Callable[[int], float], d: float, lo: int, hi: int) -> int:
    """The ``i`` between ``lo`` and ``hi`` with ``a(i) <= d < a(i + 1)``, ``a`` increasing
    there (scipy.stats's binary search for the other tail of a binomial test)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = a(mid)
        if value < d:
            lo = mid + 1
        elif value > d:
            hi = mid - 1
        else:
            return mid
    return lo if a(lo) <= d else lo - 1


@cache
def _z(confidence: float) -> float:
    return norm_ppf(1 - (1 - confidence) / 2)


@dataclass(frozen=True)
class TestResult:
    """The outcome of a two-sided test of "no change"."""

    p_value: float
    method: str
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha


# --------------------------------------------------------------------------- proportions


def wilson_interval(
    successes: int, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The Wilson score interval for ``successes`` out of ``n`` (None when ``n`` is 0).

    Unlike the textbook p ± z·se interval it stays inside [0, 1] and is sound near 0% and 100%,
    which is where compliance figures live.
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> TestResult | None:
    """Two-sided test that ``x1/n1`` and ``x2/n2`` come from the same proportion.

    The pooled two-proportion z-test; Fisher's exact test when any expected count of the 2×2
    table is below 5. None when either sample is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < 5:
        if x1 + x2 == 0 or x1 + x2 == n1 + n2:
            return TestResult(1.0, "fisher_exact")
        table = [[x1, n1 - x1], [x2, n2 - x2]]
        _, p = scipy_stats().fisher_exact(table, alternative="two-sided")
        return TestResult(min(1.0, float(p)), "fisher_exact")
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / se
    return TestResult(2 * norm_sf(abs(z)), "two_proportion_z")


# --------------------------------------------------------------------------- counts


def poisson_interval(count: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Garwood) interval for the mean of a Poisson count."""
    if count < 0:
        raise ValueError("count must be >= 0")
    a = 1 - confidence
    low = 0.0 if count == 0 else chi2_ppf(a / 2, 2 * count) / 2
    high = chi2_ppf(1 - a / 2, 2 * count + 2) / 2
    return low, high


def poisson_rate_test(c1: int, t1: float, c2: int, t2: float) -> TestResult | None:
    """Two-sided exact test that counts ``c1`` over exposure ``t1`` and ``c2`` over ``t2`` share a rate.

    Conditional on the total, ``c1`` is Binomial(c1 + c2, t1 / (t1 + t2)) under "no change".
    Exposures are in any common unit (vcop uses days). None when there is nothing to compare.
    """
    if t1 <= 0 or t2 <= 0 or c1 + c2 == 0:
        return None
    p = binom_test(c1, c1 + c2, t1 / (t1 + t2))
    return TestResult(min(1.0, p), "poisson_exact_conditional")


# --------------------------------------------------------------------------- medians


def median_ci_rank(n: int, confidence: float = CONFIDENCE) -> int:
    """Rank (1-based) of the lower order statistic of the distribution-free median interval.

    ``round((n - z·√n) / 2)``, at least 1 (statpsych ``ci.median``); the upper limit is the
    order statistic of rank ``n - rank + 1``. Rounding is half-to-even, as in R.
    """
    return max(1, round((n - _z(confidence) * math.sqrt(n)) / 2))


def median_se_rank(n: int) -> int:
    """Rank (1-based) of the order statistic used for the median's standard error.

    ``round(n/2 - √n)``, at least 1 (Bonett & Price 2002).
    """
    return max(1, round(n / 2 - math.sqrt(n)))


def median_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, ...]:
    """Every order statistic (1-based rank) :class:`MedianSummary` needs from a sample of ``n``."""
    if n <= 0:
        return ()
    ci = median_ci_rank(n, confidence)
    se = median_se_rank(n)
    middle = {(n + 1) // 2, n // 2 + 1}
    return tuple(sorted(middle | {ci, n - ci + 1, se, n - se + 1}))


@dataclass(frozen=True)
class MedianSummary:
    """A sample median with its distribution-free interval and standard error."""

    n: int
    median: float
    ci_low: float
    ci_high: float
    se: float

    @classmethod
    def from_order_statistics(
        cls, n: int, values: Mapping[int, float], confidence: float = CONFIDENCE
    ) -> MedianSummary:
        """Build from ``values[rank]`` for every rank in ``median_ranks(n)`` (1-based)."""
        if n <= 0:
            raise ValueError("n must be positive")
        median = (values[(n + 1) // 2] + values[n // 2 + 1]) / 2
        ci = median_ci_rank(n, confidence)
        a = median_se_rank(n)
        p = binom_cdf(a - 1, n, 0.5)
        z0 = norm_ppf(1 - p)
        se = (values[n - a + 1] - values[a]) / (2 * z0) if z0 > 0 else math.inf
        return cls(n, median, values[ci], values[n - ci + 1], se)

    @classmethod
    def from_sample(cls, sample: list[float], confidence: float = CONFIDENCE) -> MedianSummary:
        """The plain-Python reference: sort the sample and read the order statistics."""
        ordered = sorted(sample)
        n = len(ordered)
        return cls.from_order_statistics(
            n, {r: ordered[r - 1] for r in median_ranks(n, confidence)}, confidence
        )


def median_difference_test(
    a: MedianSummary, b: MedianSummary, confidence: float = CONFIDENCE
) -> tuple[TestResult, tuple[float, float]]:
    """Bonett–Price test of "no change in median" and the interval for ``a.median - b.median``.

    The difference is significant when its interval excludes zero; the p-value is the matching
    normal one.
    """
    diff = a.median - b.median
    se = math.sqrt(a.se**2 + b.se**2)
    z = _z(confidence)
    if se == 0 or math.isinf(se):
        p = 1.0 if diff == 0 or math.isinf(se) else 0.0
        return TestResult(p, "bonett_price_median_difference"), (diff, diff)
    p = 2 * norm_sf(abs(diff) / se)
    return TestResult(p, "bonett_price_median_difference"), (diff - z * se, diff + z * se)


# --------------------------------------------------------------------------- means


@dataclass(frozen=True)
class MeanSummary:
    """A sample mean with its t interval, from the count, sum and sum of squares."""

    n: int
    mean: float
    sd: float

    @classmethod
    def from_sums(cls, n: int, total: float, total_sq: float) -> MeanSummary:
        if n <= 0:
            raise ValueError("n must be positive")
        mean = total / n
        spread = total_sq - n * mean * mean
        # total_sq carries a rounding error of about n·ε·total_sq: a spread inside it (e.g. n equal
        # values) is no spread at all, not a small positive variance made of rounding noise.
        if spread <= 4 * n * sys.float_info.epsilon * abs(total_sq):
            spread = 0.0
        var = spread / (n - 1) if n > 1 else 0.0
        return cls(n, mean, math.sqrt(var))

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
        if self.n < 2:
            return None
        t = t_ppf(1 - (1 - confidence) / 2, self.n - 1)
        half = t * self.sd / math.sqrt(self.n)
        return self.mean - half, self.mean + half


def welch_test(a: MeanSummary, b: MeanSummary) -> TestResult | None:
    """Welch's two-sided t-test of equal means (unequal variances)."""
    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    if va + vb == 0:
        return TestResult(1.0 if a.mean == b.mean else 0.0, "welch_t")
    t = (a.mean - b.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    return TestResult(2 * t_sf(abs(t), df), "welch_t")
