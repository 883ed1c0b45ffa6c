"""The statistics, against published worked examples and as properties.

Worked examples:

* Wilson interval: Newcombe (1998), "Two-sided confidence intervals for the single proportion",
  Statistics in Medicine 17:857-872, example 81/263 -> 0.2553 to 0.3662 (method 3).
* Medians: the examples in the documentation of Bonett's R package statpsych (functions
  ``ci.median`` and ``ci.median2``, which implement Bonett & Price 2002), read from the package
  source: ``ci.median(.05, y)`` for y = 25 29 35 36 36 40 41 43 44 54 returns estimate 38,
  SE 3.261774, LL 29, UL 44; ``ci.median2(.05, y1, y2)`` returns -85, SE 37.11502, LL -157.7441,
  UL -12.25589.
"""

from __future__ import annotations

import math
import statistics
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from vcop.metrics import stats

# --- proportions ------------------------------------------------------------------------------


def test_wilson_matches_newcombe_example() -> None:
    lo, hi = stats.wilson_interval(81, 263) or (0, 0)
    assert lo == pytest.approx(0.2553, abs=5e-5)
    assert hi == pytest.approx(0.3662, abs=5e-5)


def test_wilson_at_the_edges() -> None:
    assert stats.wilson_interval(0, 0) is None
    lo, hi = stats.wilson_interval(0, 10) or (1, 1)
    assert lo == 0 and 0 < hi < 0.35
    lo, hi = stats.wilson_interval(10, 10) or (0, 0)
    assert hi == 1 and 0.65 < lo < 1
    with pytest.raises(ValueError):
        stats.wilson_interval(11, 10)


@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate_and_stays_in_0_1(xn: tuple[int, int]) -> None:
    x, n = xn
    lo, hi = stats.wilson_interval(x, n) or (math.nan, math.nan)
    assert 0 <= lo <= x / n <= hi <= 1


@given(st.integers(1, 5000), st.data())
def test_wilson_narrows_with_more_data(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(0, n))
    lo1, hi1 = stats.wilson_interval(x, n) or (0, 0)
    lo2, hi2 = stats.wilson_interval(4 * x, 4 * n) or (
        0,
        0,
    )  # the same proportion, 4 times the cases
    assert hi2 - lo2 <= hi1 - lo1 + 1e-12


def test_two_proportion_z_matches_scipy_chi_square() -> None:
    # the pooled z-test is the 2x2 chi-square test without continuity correction
    r = stats.two_proportion_test(1025, 1340, 1030, 1300)
    assert r is not None and r.method == "two_proportion_z"
    _, p, _, _ = sst.chi2_contingency([[1025, 315], [1030, 270]], correction=False)
    assert r.p_value == pytest.approx(p, rel=1e-9)


def test_two_proportion_uses_fisher_for_small_expected_counts() -> None:
    r = stats.two_proportion_test(1, 8, 6, 9)
    assert r is not None and r.method == "fisher_exact"
    assert r.p_value == pytest.approx(sst.fisher_exact([[1, 7], [6, 3]])[1])
    assert stats.two_proportion_test(0, 5, 0, 7) == stats.TestResult(1.0, "fisher_exact")
    assert stats.two_proportion_test(3, 0, 1, 4) is None


def test_a_real_seed_figure_is_not_significant() -> None:
    # 93.3% of 945 (12 months to September 2019) against 92.3% of 915: "the fastest rate of
    # decline" in the board paper — and not a significant change
    r = stats.two_proportion_test(round(0.923 * 915), 915, round(0.933 * 945), 945)
    assert r is not None and not r.significant


@given(st.integers(1, 400), st.integers(1, 400), st.data())
def test_two_proportion_is_symmetric_and_a_probability(
    n1: int, n2: int, data: st.DataObject
) -> None:
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    a = stats.two_proportion_test(x1, n1, x2, n2)
    b = stats.two_proportion_test(x2, n2, x1, n1)
    assert a is not None and b is not None
    assert 0 <= a.p_value <= 1
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)


# --- counts -----------------------------------------------------------------------------------


def test_poisson_interval_known_values() -> None:
    # exact (Garwood) limits for 10 events: 4.7954 to 18.3904
    lo, hi = stats.poisson_interval(10)
    assert (lo, hi) == (pytest.approx(4.7954, abs=1e-4), pytest.approx(18.3904, abs=1e-4))
    assert stats.poisson_interval(0) == (0.0, pytest.approx(3.6889, abs=1e-4))


@given(st.integers(0, 10**6))
def test_poisson_interval_contains_the_count(c: int) -> None:
    lo, hi = stats.poisson_interval(c)
    assert 0 <= lo <= c <= hi


def test_poisson_rate_test_allows_for_exposure() -> None:
    # the same daily rate over 31 and 28 days is not a change
    r = stats.poisson_rate_test(310, 31, 280, 28)
    assert r is not None and r.p_value > 0.9
    r = stats.poisson_rate_test(700, 31, 500, 31)
    assert r is not None and r.significant
    assert stats.poisson_rate_test(0, 31, 0, 30) is None


# --- medians ----------------------------------------------------------------------------------

Y = [25, 29, 35, 36, 36, 40, 41, 43, 44, 54]
Y1 = [70, 394, 43, 95, 62, 128, 2, 203, 81, 436, 85, 35, 156, 1, 3, 27, 63, 181, 184, 18]
Y2 = [
    102,
    120,
    78,
    78,
    417,
    124,
    86,
    171,
    176,
    129,
    230,
    194,
    100,
    157,
    306,
    411,
    164,
    103,
    193,
    312,
]


def test_median_matches_statpsych_ci_median() -> None:
    s = stats.MedianSummary.from_sample([float(v) for v in Y])
    assert s.median == 38
    assert s.se == pytest.approx(3.261774, abs=1e-6)
    assert (s.ci_low, s.ci_high) == (29, 44)


def test_median_difference_matches_statpsych_ci_median2() -> None:
    a = stats.MedianSummary.from_sample([float(v) for v in Y1])
    b = stats.MedianSummary.from_sample([float(v) for v in Y2])
    assert (a.median, b.median) == (75.5, 160.5)
    result, (lo, hi) = stats.median_difference_test(a, b)
    assert math.sqrt(a.se**2 + b.se**2) == pytest.approx(37.11502, abs=1e-5)
    assert lo == pytest.approx(-157.7441, abs=1e-4)
    assert hi == pytest.approx(-12.25589, abs=1e-5)
    assert result.significant  # the interval excludes zero


def test_median_ranks_are_all_the_order_statistics_needed() -> None:
    for n in range(1, 200):
        ranks = stats.median_ranks(n)
        assert all(1 <= r <= n for r in ranks)
        ordered = list(range(n))
        s = stats.MedianSummary.from_order_statistics(n, {r: float(ordered[r - 1]) for r in ranks})
        assert s.median == statistics.median(ordered)


@given(st.lists(st.floats(0, 10_000, allow_nan=False), min_size=1, max_size=300))
def test_median_interval_contains_the_median(sample: list[float]) -> None:
    s = stats.MedianSummary.from_sample(sample)
    assert s.ci_low <= s.median <= s.ci_high
    assert s.median == pytest.approx(statistics.median(sample))
    assert s.se >= 0


@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=2, max_size=60))
def test_identical_samples_are_not_a_change(sample: list[float]) -> None:
    s = stats.MedianSummary.from_sample(sample)
    result, (lo, hi) = stats.median_difference_test(s, s)
    assert not result.significant
    assert lo <= 0 <= hi


# --- means ------------------------------------------------------------------------------------


def test_mean_interval_and_welch_match_scipy() -> None:
    a = [12.0, 15.5, 9.0, 30.0, 22.0, 18.5, 11.0]
    b = [20.0, 25.5, 31.0, 28.0, 35.5, 24.0]
    sa = stats.MeanSummary.from_sums(len(a), sum(a), sum(x * x for x in a))
    sb = stats.MeanSummary.from_sums(len(b), sum(b), sum(x * x for x in b))
    assert sa.mean == pytest.approx(statistics.mean(a))
    assert sa.sd == pytest.approx(statistics.stdev(a))
    lo, hi = sa.interval() or (0, 0)
    ref = sst.t.interval(0.95, len(a) - 1, loc=statistics.mean(a), scale=sst.sem(a))
    assert (lo, hi) == (pytest.approx(ref[0]), pytest.approx(ref[1]))
    w = stats.welch_test(sa, sb)
    assert w is not None
    assert w.p_value == pytest.approx(sst.ttest_ind(a, b, equal_var=False).pvalue)
    one = stats.MeanSummary.from_sums(1, 5.0, 25.0)
    assert one.interval() is None and stats.welch_test(one, sb) is None


@settings(max_examples=50)
@given(st.lists(st.floats(-1000, 1000, allow_nan=False), min_size=2, max_size=100))
def test_mean_from_sums_matches_statistics(sample: list[float]) -> None:
    s = stats.MeanSummary.from_sums(
        len(sample), math.fsum(sample), math.fsum(x * x for x in sample)
    )
    assert s.mean == pytest.approx(statistics.fmean(sample), abs=1e-9)
    assert s.sd == pytest.approx(statistics.stdev(sample), rel=1e-6, abs=1e-6)


# --- the distributions, as scipy.stats computes them ------------------------------------------


def _bits(x: float) -> bytes:
    """``x`` as its 8 bytes: equal only when the very same float (0.0 ≠ -0.0, nan = nan)."""
    return struct.pack("<d", float(x))


_Q = [0.0, 1e-300, 1e-12, 0.001, 0.0125, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.95, 0.975, 0.99,
      1 - 1e-12, 1.0, -0.1, 1.1, math.nan]  # fmt: skip
_X = [-math.inf, -40.0, -3.5, -1.0, -0.0, 0.0, 1e-9, 0.5, 1.959963984540054, 3.0, 8.5, 40.0,
      math.inf, math.nan]  # fmt: skip


def test_normal_and_t_are_scipy_bit_for_bit() -> None:
    for q in _Q:
        assert _bits(stats.norm_ppf(q)) == _bits(sst.norm.ppf(q)), q
        for df in (1, 2, 5.5, 29, 1000, 0, -1):
            assert _bits(stats.t_ppf(q, df)) == _bits(sst.t.ppf(q, df)), (q, df)
        assert _bits(stats.norm_isf(q)) == _bits(sst.norm.isf(q)), q
    for x in _X:
        assert _bits(stats.norm_sf(x)) == _bits(sst.norm.sf(x)), x
        for df in (1, 2, 5.5, 29, 1000, 0):
            assert _bits(stats.t_sf(x, df)) == _bits(sst.t.sf(x, df)), (x, df)


def test_chi2_is_scipy_bit_for_bit() -> None:
    for q in _Q:
        for df in (*range(0, 60), 99.5, 200, 2001, 20002, 200000, -2):
            assert _bits(stats.chi2_ppf(q, df)) == _bits(sst.chi2.ppf(q, df)), (q, df)


def test_binomial_is_scipy_bit_for_bit() -> None:
    for n in (*range(0, 40), 99, 100, 1001, 25_000, 333_333):
        for p in (0.0, 0.5, 1 / 3, 0.01, 0.999, 1.0):
            ks = {*range(-2, min(n, 40) + 3), n // 2, n - 1, n, n + 1, 2.5, math.nan}
            for k in ks:
                assert _bits(stats.binom_pmf(k, n, p)) == _bits(sst.binom.pmf(k, n, p))
                assert _bits(stats.binom_cdf(k, n, p)) == _bits(sst.binom.cdf(k, n, p))
                assert _bits(stats.binom_sf(k, n, p)) == _bits(sst.binom.sf(k, n, p))


@settings(max_examples=300)
@given(st.integers(1, 5000), st.data())
def test_binomial_test_is_scipy_bit_for_bit(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    p = data.draw(st.sampled_from([0.5, 28 / 59, 31 / 59, 0.25, 0.9, 1e-3, 0.0, 1.0]))
    ours = stats.binom_test(k, n, p)
    assert _bits(ours) == _bits(sst.binomtest(k, n, p, alternative="two-sided").pvalue)


def test_median_se_rank_probability_is_scipy_bit_for_bit() -> None:
    for n in (*range(1, 3000), 10_000, 123_457, 1_000_000):
        a = stats.median_se_rank(n)
        p = stats.binom_cdf(a - 1, n, 0.5)
        assert _bits(p) == _bits(sst.binom.cdf(a - 1, n, 0.5)), n
        assert _bits(stats.norm_ppf(1 - p)) == _bits(sst.norm.ppf(1 - p)), n


def test_the_statistics_need_scipy_stats_only_for_fishers_test() -> None:
    """Importing scipy.stats costs a second of every `vcop metrics`: only Fisher's exact test
    (small samples) imports it."""
    script = """
import sys
from vcop.metrics import stats
stats.wilson_interval(30, 70)
stats.two_proportion_test(300, 700, 320, 690)
stats.poisson_interval(41)
stats.poisson_rate_test(41, 30, 52, 31)
a = stats.MedianSummary.from_sample([float(x % 17) for x in range(90)])
b = stats.MedianSummary.from_sample([float(x % 13) for x in range(80)])
stats.median_difference_test(a, b)
m = stats.MeanSummary.from_sums(5, 50.0, 600.0)
m.interval()
stats.welch_test(m, stats.MeanSummary.from_sums(6, 70.0, 900.0))
print("scipy.stats" in sys.modules)
stats.two_proportion_test(1, 10, 3, 12)
print("scipy.stats" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]
