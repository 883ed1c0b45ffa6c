"""Multiple comparisons and clustering (vcop.metrics.multiplicity, vcop.metrics.comparisons).

Each rule is checked against a published example or a hand computation, and, where statsmodels
is installed (it is not a dependency of vcop), against statsmodels itself: Benjamini–Hochberg
against ``multipletests(method="fdr_bh")``, the design effect against the ratio of the
cluster-robust to the ordinary variance of an OLS regression on a constant, Newcombe's interval
against ``confint_proportions_2indep(method="newcomb")``.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from vcop.metrics import multiplicity as mult
from vcop.metrics import stats
from vcop.metrics.comparisons import ComparisonFamily
from vcop.metrics.values import Comparison, Estimate, MetricValue
from vcop.spec.metrics import load_catalogue

#: Benjamini and Hochberg (1995), section 4: 15 p-values from a study of myocardial infarction;
#: at q = 0.05 the procedure rejects the four smallest.
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
           0.4262, 0.5719, 0.6528, 0.7590, 1.0000]  # fmt: skip


def test_benjamini_hochbergs_own_example_rejects_the_four_smallest() -> None:
    found = mult.benjamini_hochberg(BH_1995, 0.05)
    assert [f.significant for f in found] == [True] * 4 + [False] * 11


def test_adjusted_p_values_by_hand() -> None:
    # sorted: 0.01 (rank 1), 0.03 (2), 0.04 (3), 0.2 (4); p·m/rank = 0.04, 0.06, 0.0533, 0.2;
    # the running minimum from the largest down: 0.2, 0.0533, 0.0533, 0.04
    adjusted = mult.bh_adjusted([0.01, 0.04, 0.03, 0.2])
    assert adjusted == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    assert mult.bh_adjusted([]) == []
    with pytest.raises(ValueError, match="between 0 and 1"):
        mult.bh_adjusted([0.5, 1.5])


def test_benjamini_hochberg_agrees_with_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = random.Random(18)
    for trial in range(200):
        m = rng.randint(1, 60)
        p = [rng.random() ** rng.choice((1, 3, 8)) for _ in range(m)]
        if trial % 5 == 0:  # ties
            p = [round(x, 2) for x in p]
        alpha = rng.choice((0.01, 0.05, 0.1))
        reject, corrected, _, _ = multitest.multipletests(p, alpha=alpha, method="fdr_bh")
        found = mult.benjamini_hochberg(p, alpha)
        assert [f.adjusted for f in found] == pytest.approx(list(corrected), abs=1e-12)
        assert [f.significant for f in found] == list(reject)


# -- the design effect -------------------------------------------------------------------------

#: Four victims: (met, entitlements) = (2, 2), (0, 2), (1, 1), (3, 4).
VICTIMS = [(2, 2), (0, 2), (1, 1), (3, 4)]


def test_design_effect_by_hand() -> None:
    """n = 9 entitlements, x = 6 met, p = 2/3. Residuals y - p·m: 2/3, -4/3, 1/3, 1/3; their
    squares add to 22/9. Clustered variance 4/3 · (22/9) / 81 = 88/2187; ordinary variance
    9/8 · (2/9) / 9 = 1/36; deff = 88/2187 · 36 = 352/243."""
    c = mult.ClusterCounts.of(VICTIMS)
    assert (c.clusters, c.n, c.x) == (4, 9, 6)
    assert c.variance() == pytest.approx(88 / 2187)
    assert mult.design_effect(c) == pytest.approx(352 / 243)


def test_one_entitlement_each_is_no_clustering_and_never_below_one() -> None:
    singles = mult.ClusterCounts.of([(1, 1)] * 30 + [(0, 1)] * 20)
    assert mult.design_effect(singles) == pytest.approx(1.0)
    # victims less alike than chance (each has one met and one missed): taken as 1, not less
    mixed = mult.ClusterCounts.of([(1, 2)] * 40)
    assert mult.design_effect(mixed) == 1.0
    # all met, or a single victim: nothing to estimate
    assert mult.design_effect(mult.ClusterCounts.of([(3, 3), (2, 2)])) == 1.0
    assert mult.design_effect(mult.ClusterCounts.of([(1, 3)])) == 1.0
    # all alike within victims, unlike between: the whole cluster counts as about one case
    alike = mult.ClusterCounts.of([(5, 5)] * 20 + [(0, 5)] * 20)
    assert mult.design_effect(alike) == pytest.approx(5 * (200 - 1) / 200 * 40 / 39)


def test_design_effect_is_the_cluster_robust_over_the_ordinary_variance_of_ols() -> None:
    sm = pytest.importorskip("statsmodels.api")
    import numpy as np

    rng = random.Random(4)
    pairs = []
    for _ in range(80):
        m = rng.randint(1, 6)
        rate = rng.choice((0.2, 0.5, 0.9))
        pairs.append((sum(rng.random() < rate for _ in range(m)), m))
    y = np.array([1.0 if j < met else 0.0 for met, m in pairs for j in range(m)])
    groups = np.array([i for i, (_, m) in enumerate(pairs) for _ in range(m)])
    x = np.ones((len(y), 1))
    robust = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups}).bse[0] ** 2
    ordinary = sm.OLS(y, x).fit().bse[0] ** 2
    c = mult.ClusterCounts.of(pairs)
    assert c.variance() == pytest.approx(robust, rel=1e-9)
    assert mult.design_effect(c) == pytest.approx(max(1.0, robust / ordinary), rel=1e-9)


def test_the_clustered_test_is_the_plain_one_without_clustering_and_wider_with_it() -> None:
    for x1, n1, x2, n2 in ((600, 1000, 700, 1000), (3, 10, 9, 12), (0, 40, 5, 40)):
        plain = stats.two_proportion_test(x1, n1, x2, n2)
        same = mult.clustered_proportion_test(x1, n1, 1.0, x2, n2, 1.0)
        assert plain is not None and same is not None
        assert same.p_value == pytest.approx(plain.p_value)
    plain = mult.clustered_proportion_test(600, 1000, 1.0, 650, 1000, 1.0)
    wider = mult.clustered_proportion_test(600, 1000, 2.0, 650, 1000, 2.0)
    assert plain is not None and wider is not None
    assert plain.p_value < 0.05 < wider.p_value  # z / √2
    with pytest.raises(ValueError, match="at least 1"):
        mult.clustered_proportion_test(1, 2, 0.5, 1, 2, 1.0)
    assert mult.clustered_proportion_test(1, 0, 1.0, 1, 2, 1.0) is None


# -- the size of a change ----------------------------------------------------------------------


def test_newcombes_own_example() -> None:
    """Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339."""
    lo, hi = mult.proportion_difference_interval(56, 70, 48, 80) or (0, 0)
    assert (lo, hi) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_newcombes_interval_agrees_with_statsmodels_and_widens_with_clustering() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for x1, n1, x2, n2 in ((56, 70, 48, 80), (9, 10, 3, 10), (0, 25, 4, 30), (500, 800, 420, 790)):
        ours = mult.proportion_difference_interval(x1, n1, x2, n2)
        theirs = proportion.confint_proportions_2indep(
            x1, n1, x2, n2, method="newcomb", compare="diff"
        )
        assert ours == pytest.approx(tuple(theirs), abs=1e-9)
    narrow = mult.proportion_difference_interval(500, 800, 420, 790) or (0, 0)
    wide = mult.proportion_difference_interval(500, 800, 420, 790, deff1=2, deff2=2) or (0, 0)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_the_interval_a_median_test_implies_is_the_tests_own() -> None:
    a = stats.MedianSummary.from_sample([float(x) for x in range(10, 110)])
    b = stats.MedianSummary.from_sample([float(x) for x in range(0, 90)])
    test, interval = stats.median_difference_test(a, b)
    got = mult.interval_from_test(a.median - b.median, test.p_value)
    assert got == pytest.approx(interval, rel=1e-9)
    assert mult.interval_from_test(0.0, 0.3) is None
    assert mult.interval_from_test(1.0, 0.0) is None


# -- a family of comparisons -------------------------------------------------------------------

NOW = (date(2024, 7, 1), date(2025, 6, 30))
THEN = (date(2023, 7, 1), date(2024, 6, 30))


def value(metric: str, num: int, den: int, before: int, group: tuple[str, ...] = ()) -> MetricValue:
    test = stats.two_proportion_test(num, den, before, den)
    assert test is not None
    return MetricValue(
        metric_id=metric, kind="proportion", unit="proportion", period="rolling_12m",
        as_of=NOW[1], breakdown=("area",) if group else (), group=group,
        current=Estimate(*NOW, num, den, num / den), previous=None,
        year_ago=Comparison(Estimate(*THEN, before, den, before / den),
                            (num - before) / den, test.p_value, test.method),
        small_sample=False,
    )  # fmt: skip


def test_a_family_judges_every_comparison_noted_together() -> None:
    family = ComparisonFamily(load_catalogue())
    # one clear change and nine that are nothing: alone, the borderline one is significant
    clear = value("satisfaction_whole_experience", 800, 1000, 700)
    borderline = value("satisfaction_follow_up", 530, 1000, 486)
    assert borderline.year_ago is not None and borderline.year_ago.p_value is not None
    assert 0.04 < borderline.year_ago.p_value < 0.05
    noise = [value("satisfaction_treatment", 500 + i, 1000, 500, (f"Area {i}",)) for i in range(8)]
    for v in (clear, borderline, *noise):
        assert family.verdict(v, "year_ago") is None  # noted, not yet judged
    family.note(clear, "year_ago")  # the same comparison twice is one
    family.settle(None)
    assert family.hypotheses == 10
    verdict = family.verdict(clear, "year_ago")
    assert verdict is not None and verdict.significant and verdict.interval is not None
    assert verdict.interval[0] > 0
    judged = family.verdict(borderline, "year_ago")
    assert judged is not None and not judged.significant  # not once the others count
    assert judged.adjusted > judged.p_value
    with pytest.raises(KeyError, match="not in the family"):
        family.verdict(value("satisfaction_ease_of_contact", 1, 10, 1), "year_ago")


def test_the_same_test_quoted_twice_is_one_hypothesis() -> None:
    family = ComparisonFamily(load_catalogue())
    a = value("compliance_by_right", 50, 100, 40)
    b = value("compliance_by_obligation", 50, 100, 40)  # a right with one obligation
    for v in (a, b, value("vcc_agreed", 10, 100, 12)):
        family.note(v, "year_ago")
    family.settle(None)
    assert len(family) == 3 and family.hypotheses == 2
    va, vb = family.verdict(a, "year_ago"), family.verdict(b, "year_ago")
    assert va is not None and vb is not None and va.adjusted == vb.adjusted
