"""Satisfaction beside what the victim received: the gap between victims who got what the Code
promises and those who did not.

A survey measure split by a ``from_ledger`` breakdown (``updates_on_time``, ``needs_assessed``,
``referred``; see catalogue.yaml) gives one figure for victims the ledger shows received it
(labels[true]) and one for those it shows did not (labels[false]); victims the ledger owed
nothing of the kind are left out of the comparison. The gap is the first less the second, with
Newcombe's interval (:func:`vcop.metrics.multiplicity.proportion_difference_interval`) and the
engine's two-proportion test, the p-values of every comparison made together adjusted by
Benjamini–Hochberg (:func:`vcop.metrics.multiplicity.benjamini_hochberg`). Each survey answer is
one victim's, so the answers are independent (no design effect).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vcop.metrics import multiplicity as mult
from vcop.metrics.stats import CONFIDENCE, two_proportion_test
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Catalogue

#: The ledger breakdowns a survey measure is compared across, in the order they are shown, and
#: how a sentence names the two groups of victims.
RECEIVED: dict[str, tuple[str, str]] = {
    "updates_on_time": ("whose updates were all on time", "whose updates were not"),
    "needs_assessed": ("whose needs were assessed", "whose needs were not"),
    "referred": ("who were referred to a support service", "who were not"),
}


@dataclass(frozen=True)
class Received:
    """One survey measure compared between victims who received something and those who did not."""

    breakdown: str
    #: The figures of the two groups (None: not in the split).
    yes: MetricValue | None
    no: MetricValue | None
    #: yes less no, as a proportion (None: not tested, ``reason`` says why).
    difference: float | None = None
    interval: tuple[float, float] | None = None
    p_value: float | None = None
    adjusted: float | None = None
    significant: bool | None = None
    reason: str | None = None
    confidence: float = CONFIDENCE

    def sentence(self) -> str:
        """The finding in words: a significant gap with its size and interval ("Victims whose
        updates were all on time were 8.5 points more satisfied than victims whose updates were
        not (95% CI 4.6 to 12.4 points)."), or that there was none to report."""
        yes_words, no_words = RECEIVED[self.breakdown]
        if self.difference is None:
            return f"Victims {yes_words} and victims {no_words}: not compared ({self.reason})."
        interval = ""
        if self.interval is not None:
            lo, hi = (_signed(x * 100) for x in self.interval)
            interval = f"{self.confidence:.0%} CI {lo} to {hi} points"
        if not self.significant:
            return (
                f"Satisfaction did not differ significantly between victims {yes_words} and "
                f"victims {no_words} (a difference of {_signed(self.difference * 100)} points"
                + (f"; {interval}" if interval else "")
                + ")."
            )
        way = "more" if self.difference > 0 else "less"
        return (
            f"Victims {yes_words} were {abs(self.difference) * 100:.1f} points {way} satisfied "
            f"than victims {no_words}" + (f" ({interval})" if interval else "") + "."
        )


def _signed(points: float) -> str:
    """Points with a true minus sign ("−2.4"), as the reports write them."""
    return f"{points:.1f}".replace("-", "\u2212")


def _counts(v: MetricValue | None) -> tuple[int, int] | None:
    if v is None or v.suppressed:
        return None
    x, n = v.current.numerator, v.current.denominator
    if x is None or n is None or n == 0:
        return None
    return x, n


def compare_received(
    catalogue: Catalogue,
    splits: Mapping[str, Sequence[MetricValue]],
    *,
    confidence: float | None = None,
) -> list[Received]:
    """For each breakdown of :data:`RECEIVED` in ``splits`` (breakdown id → the values of one
    proportion split by it, unfiltered by group), the two groups compared, in the order of
    :data:`RECEIVED`; the p-values adjusted together."""
    level = catalogue.settings.confidence if confidence is None else confidence
    found: list[Received] = []
    tested: list[int] = []
    p_values: list[float] = []
    for bid in RECEIVED:
        if bid not in splits:
            continue
        b = catalogue.breakdown(bid)
        assert b.labels is not None
        by_label = {v.group[-1]: v for v in splits[bid] if v.group}
        yes, no = by_label.get(b.labels[True]), by_label.get(b.labels[False])
        if yes is not None and yes.kind != "proportion":
            found.append(Received(bid, yes, no, reason="only shares are compared"))
            continue
        a, c = _counts(yes), _counts(no)
        if a is None or c is None:
            hidden = (yes is not None and yes.suppressed) or (no is not None and no.suppressed)
            why = "a figure is hidden" if hidden else "no answers in one of the groups"
            found.append(Received(bid, yes, no, reason=why, confidence=level))
            continue
        test = two_proportion_test(a[0], a[1], c[0], c[1])
        assert test is not None  # both groups have answers
        found.append(
            Received(
                bid, yes, no,
                difference=a[0] / a[1] - c[0] / c[1],
                interval=mult.proportion_difference_interval(
                    a[0], a[1], c[0], c[1], confidence=level
                ),
                p_value=test.p_value,
                confidence=level,
            )
        )  # fmt: skip
        tested.append(len(found) - 1)
        p_values.append(test.p_value)
    for i, d in zip(tested, mult.benjamini_hochberg(p_values, 1 - level), strict=True):
        r = found[i]
        found[i] = Received(
            r.breakdown, r.yes, r.no, r.difference, r.interval, r.p_value,
            d.adjusted, d.significant, None, level,
        )  # fmt: skip
    return found
