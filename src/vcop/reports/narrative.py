"""Sentences about change, written from the tests the metric engine has already done.

The rules, the same in every report:

* A sentence says **higher** or **lower** only when the change is in that direction, and only
  together with **significantly**, which it says only when the engine's test of the two windows
  says so (p < 0.05: a two-proportion test, an exact test of two Poisson rates, the
  Bonett–Price test of two medians or Welch's test; see docs/metrics.md).
* Otherwise the change is **within normal variation**: the earlier figure is given, and no
  direction is claimed. A figure equal to the earlier one is **unchanged**. When no test is
  possible (no earlier figure, or too few cases), the sentence says so.
* What the monthly series shows is the engine's SPC reading (NHS "Making Data Count" rules),
  in words.

Each function returns finished text and cites every number through the report's
:class:`~vcop.reports.figures.FigureBook`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vcop.metrics.values import MetricValue
from vcop.reports.figures import FigureBook, Which, number, period_words

Direction = Literal["higher", "lower", "unchanged"]


@dataclass(frozen=True)
class Change:
    """How a figure compares with an earlier window, as far as the test supports."""

    direction: Direction
    #: True: the test says the change is significant; False: it does not; None: no test.
    significant: bool | None

    @property
    def claim(self) -> Direction | Literal["normal variation", "untested"]:
        """What may be said: a direction only when significant."""
        if self.direction == "unchanged":
            return "unchanged"
        if self.significant is None:
            return "untested"
        return self.direction if self.significant else "normal variation"


def change_of(v: MetricValue, which: Which = "year_ago") -> Change | None:
    """The change from the earlier window (None: there is no earlier figure to compare with)."""
    c = v.year_ago if which == "year_ago" else v.previous
    if c is None or c.estimate.value is None or v.current.value is None or c.change is None:
        return None
    if c.change == 0:
        return Change("unchanged", c.significant)
    return Change("higher" if c.change > 0 else "lower", c.significant)


def _meaning(v: MetricValue, direction: Direction, polarity: str) -> str:
    """ ", an improvement" / ", a deterioration" for a significant change of a metric with a
    polarity (nothing for a neutral one)."""
    if polarity == "neutral" or direction == "unchanged":
        return ""
    better = (direction == "higher") == (polarity == "higher_is_better")
    return ", an improvement" if better else ", a deterioration"


def change_sentence(
    book: FigureBook,
    v: MetricValue,
    where: str,
    *,
    which: Which = "year_ago",
    subject: str = "This",
) -> str:
    """One sentence comparing ``v`` with its previous or year-before window."""
    change = change_of(v, which)
    earlier = v.year_ago if which == "year_ago" else v.previous
    if change is None or earlier is None:
        return ""
    then = period_words(earlier.estimate, v.period)
    figure = book.cite(v, where, which)
    polarity = book.catalogue.metric(v.metric_id).polarity
    claim = change.claim
    if claim == "unchanged":
        return f"{subject} is unchanged from {then} ({figure})."
    if claim == "untested":
        return (
            f"{subject} compares with {figure} in {then}; there are too few cases to test the "
            "difference."
        )
    if claim == "normal variation":
        return f"The difference from {then} ({figure}) is within normal variation."
    meaning = _meaning(v, claim, polarity)
    return f"{subject} is significantly {claim} than {then} ({figure}){meaning}."


_SPC_WORDS = {
    "common_cause": "show only common cause variation (no sign of a change in the underlying "
    "process)",
    "special_cause_improvement": "show special cause variation indicating improvement",
    "special_cause_concern": "show special cause variation indicating concern",
    "special_cause_neutral_high": "show special cause variation: unusually high values",
    "special_cause_neutral_low": "show special cause variation: unusually low values",
}
_ASSURANCE_WORDS = {
    "consistently_pass": "will consistently meet the target",
    "consistently_fail": "will not meet the target without a change to the process",
    "hit_and_miss": "will sometimes meet and sometimes miss the target",
}


def spc_sentence(v: MetricValue, *, subject: str = "The monthly figures") -> str:
    """What the monthly series shows, in words (the engine's SPC reading)."""
    if v.spc_variation is None:
        return (
            f"There are {v.spc_points} months of data, too few for a statistical process control "
            "reading."
        )
    text = f"{subject} over the last {v.spc_points} months {_SPC_WORDS[v.spc_variation]}"
    if v.spc_assurance in _ASSURANCE_WORDS and v.target is not None:
        words = _ASSURANCE_WORDS[v.spc_assurance].replace(
            "the target", f"the target of {number(v.target, v.unit)} (Appendix B)"
        )
        text += f"; on current performance the measure {words}"
    return text + "."


def moved_sentence(
    values: Sequence[MetricValue], moved: Sequence[str], *, lead: str, none: str
) -> str:
    """Sum up which of ``values`` changed significantly from a year before (``moved``: the
    phrases for those that did): only what the comparisons support."""
    compared = [v for v in values if change_of(v) is not None]
    if not compared:
        return "There are no figures from a year before to compare with."
    rest = "" if len(compared) == len(values) else " (some have no figure a year before)"
    if moved:
        others = "" if len(moved) < len(compared) else None
        if others is None:
            return f"{lead}{'; '.join(moved)}.{rest}"
        return (
            f"{lead}{'; '.join(moved)}; the others compared with a year before are within "
            f"normal variation or unchanged{rest}."
        )
    return none + ("" if not rest else " Some have no figure a year before.")
