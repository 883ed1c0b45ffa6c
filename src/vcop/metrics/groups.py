"""Each group of a split tested against the rest of the force, with the false discovery rate
controlled across the groups — so a gap between groups is reported only when it is real.

A split of a proportion (compliance, satisfaction, repeat victimisation) by a protected
characteristic or any other breakdown gives one value per group. Each group's figure is compared
with the figure of every other row of the same (filtered) whole: the rest is the whole's
numerator and denominator less the group's. The test is the engine's two-proportion test (a
pooled z-test, Fisher's exact test when an expected count is under 5); for a ledger proportion
whose entitlements cluster within victims, the caller passes each group's and the whole's
cluster counts (:func:`vcop.metrics.comparisons.victim_counts`) and the test is redone on the
effective sample sizes (:func:`vcop.metrics.multiplicity.clustered_proportion_test`), as the board
paper does. The p-values of every group tested are then adjusted together by Benjamini–Hochberg
(:func:`vcop.metrics.multiplicity.benjamini_hochberg`) at the catalogue's significance level.

Only plain proportions are tested. A group is not tested — and says why — when its figure (or
the whole's) is hidden in a release, or when the groups do not add up to the whole (a victim
counted once per group, so the rest cannot be had by subtraction). Medians, means and counts are
not tested against the rest: the engine keeps no per-row data for them on a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vcop.metrics import multiplicity as mult
from vcop.metrics.stats import CONFIDENCE, two_proportion_test
from vcop.metrics.values import MetricValue

Group = tuple[str, ...]


@dataclass(frozen=True)
class VersusRest:
    """One group against the rest of the whole it is part of."""

    group: Group
    #: The group's figure less the rest's (None: not tested).
    difference: float | None = None
    p_value: float | None = None
    #: Benjamini–Hochberg adjusted over every group tested in the split.
    adjusted: float | None = None
    significant: bool | None = None
    #: Why the group was not tested (None: it was).
    reason: str | None = None
    #: The design effects of the group and of the rest (1: not clustered).
    deff: tuple[float, float] = (1.0, 1.0)

    @property
    def text(self) -> str:
        """What a page writes: "Higher (significant)", "Lower (not significant)", or why not."""
        if self.reason is not None:
            return f"Not tested: {self.reason}"
        assert self.difference is not None
        way = "Higher" if self.difference > 0 else "Lower" if self.difference < 0 else "Same"
        return f"{way} ({'significant' if self.significant else 'not significant'})"


def _rest(whole: mult.ClusterCounts, part: mult.ClusterCounts) -> mult.ClusterCounts:
    return mult.ClusterCounts(
        whole.clusters - part.clusters, whole.n - part.n, whole.x - part.x,
        whole.sum_mm - part.sum_mm, whole.sum_yy - part.sum_yy, whole.sum_ym - part.sum_ym,
    )  # fmt: skip


def versus_rest(
    values: Sequence[MetricValue],
    whole: MetricValue,
    *,
    confidence: float = CONFIDENCE,
    clusters: Mapping[Group, mult.ClusterCounts] | None = None,
    whole_clusters: mult.ClusterCounts | None = None,
) -> dict[Group, VersusRest]:
    """Each of ``values`` (the groups of one split of ``whole``'s metric) tested against the rest
    of ``whole``, the p-values adjusted together by Benjamini–Hochberg at ``1 - confidence``.

    ``clusters`` and ``whole_clusters``: each group's and the whole's counts per victim, for a
    proportion whose rows cluster within victims (None: each row is independent)."""
    out: dict[Group, VersusRest] = {}
    if whole.kind != "proportion":
        return {v.group: VersusRest(v.group, reason="only shares are tested") for v in values}
    big_x, big_n = whole.current.numerator, whole.current.denominator
    if whole.suppressed or big_x is None or big_n is None:
        return {v.group: VersusRest(v.group, reason="the whole is hidden") for v in values}
    counts = [(v.current.numerator, v.current.denominator) for v in values]
    if any(x is None or n is None for x, n in counts) or (
        sum(x or 0 for x, _ in counts),
        sum(n or 0 for _, n in counts),
    ) != (big_x, big_n):
        reason = "the groups do not add up to the whole (a case in more than one group)"
        if any(v.suppressed for v in values):
            reason = "a figure of the split is hidden"
        return {v.group: VersusRest(v.group, reason=reason) for v in values}
    tested: list[tuple[MetricValue, float, float, tuple[float, float]]] = []
    for v in values:
        x, n = v.current.numerator or 0, v.current.denominator or 0
        rx, rn = big_x - x, big_n - n
        if n == 0 or rn == 0:
            out[v.group] = VersusRest(v.group, reason="no rest of the force to compare with")
            continue
        deff = (1.0, 1.0)
        if clusters is not None and whole_clusters is not None and v.group in clusters:
            part = clusters[v.group]
            deff = (mult.design_effect(part), mult.design_effect(_rest(whole_clusters, part)))
            result = mult.clustered_proportion_test(x, n, deff[0], rx, rn, deff[1])
        else:
            result = two_proportion_test(x, n, rx, rn)
        if result is None:
            out[v.group] = VersusRest(v.group, reason="no rest of the force to compare with")
            continue
        tested.append((v, x / n - rx / rn, result.p_value, deff))
    found = mult.benjamini_hochberg([p for _, _, p, _ in tested], 1 - confidence)
    for (v, diff, p, deff), d in zip(tested, found, strict=True):
        out[v.group] = VersusRest(v.group, diff, p, d.adjusted, d.significant, deff=deff)
    return out
