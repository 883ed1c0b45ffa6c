"""Sentences about change, written from the tests the metric engine has already done.

The rules, the same in every report:

* A sentence says **higher** or **lower** only when the change is in that direction, and only
  together with **significantly**, which it says only when the engine's test of the two windows
  says so (p < 0.05: a two-proportion test, an exact test of two Poisson rates, the
  Bonett–Price test of two medians or Welch's test; see docs/metrics.md).
* Otherwise the change is **within normal variation**: the earlier figure is given, and no
  direction is claimed. A figure equal to the earlier one is **unchanged**. When no test is
  possible (no earlier figure, or too few cases), the sentence says so.
* A **provisional** figure (the engine's mark: its period is too recent to be complete) is
  compared, like any other, only as the engine compared it: with the earlier period as it stood
  at the same age (the data as they were a period, or a year, before the as-of date), and the
  sentence says so. A figure the engine marks not comparable (the data's warm-up, or a
  provisional figure whose earlier period cannot be seen at the same age) gets no sentence about
  change: the engine left its comparisons out.
* What the monthly series shows is the engine's SPC reading (NHS "Making Data Count" rules),
  in words, from the months it judges (never a provisional or warm-up month). A series that does
  not vary has **no variation to judge**: no limits and no signal, so no "special cause".
* A target is named only when the engine judged against it (an adopted target in force on the
  as-of date), with its source.

Each function returns finished text and cites every number through the report's
:class:`~vcop.reports.figures.FigureBook`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vcop.metrics.engine import same_age
from vcop.metrics.periods import windows
from vcop.metrics.spc import NO_VARIATION
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
    """The change from the earlier window, as the engine tested it (None: there is no earlier
    figure to compare with: none in the data, hidden, or the engine does not compare the
    figure)."""
    c = v.year_ago if which == "year_ago" else v.previous
    if c is None or c.estimate.value is None or v.current.value is None or c.change is None:
        return None
    if c.change == 0:
        return Change("unchanged", c.significant)
    return Change("higher" if c.change > 0 else "lower", c.significant)


def as_it_stood(v: MetricValue, which: Which = "year_ago") -> str:
    """For a provisional figure, the words that say its earlier window was counted as it stood
    at the same age ("as it stood on 30 June 2024": the engine's same-age date); "" for any
    other figure, whose earlier window is counted as it stands now."""
    if not v.provisional or which == "current":
        return ""
    seen = same_age(windows(v.period, v.as_of), which)
    return f"as it stood on {seen.day} {seen:%B %Y}"


def then_words(book: FigureBook, v: MetricValue, where: str, which: Which = "year_ago") -> str:
    """The earlier figure in brackets, cited: "(60.2% then)", or for a provisional figure
    "(60.2% then, as it stood on 30 June 2024)"."""
    stood = as_it_stood(v, which)
    return f"({book.cite(v, where, which)} then{', ' + stood if stood else ''})"


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
    stood = as_it_stood(v, which)
    then = period_words(earlier.estimate, v.period) + (f" {stood}" if stood else "")
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
    # bandit B105: not a password
    "consistently_pass": "will consistently meet the target",  # nosec B105
    "consistently_fail": "will not meet the target without a change to the process",
    "hit_and_miss": "will sometimes meet and sometimes miss the target",
}


def spc_sentence(v: MetricValue, *, subject: str = "The monthly figures") -> str:
    """What the monthly series shows, in words (the engine's SPC reading of the months it judges:
    complete months outside the data's warm-up)."""
    months = f"{v.spc_points} month{'s' if v.spc_points != 1 else ''}"
    if v.spc_variation is None:
        if not v.spc_points:
            return (
                "No month of the series can yet be judged with statistical process control "
                "(months in the data's warm-up and provisional months are not judged)."
            )
        return (
            f"There are {months} that statistical process control can judge (complete months "
            "outside the data's warm-up), too few for a reading."
        )
    span = f"the last {months}"
    if v.provisional:
        span = f"the last {v.spc_points} complete months (the provisional ones are not judged)"
    if v.spc_variation == NO_VARIATION:
        return (
            f"{subject} over {span} do not vary from month to month: there is no variation to "
            "judge, so no process limits are drawn and no signal is read."
        )
    text = f"{subject} over {span} {_SPC_WORDS[v.spc_variation]}"
    if v.spc_assurance in _ASSURANCE_WORDS and v.target is not None:
        source = f": {v.target_source}" if v.target_source else ""
        words = _ASSURANCE_WORDS[v.spc_assurance].replace(
            "the target",
            f"the target of {number(v.target, v.unit)} (adopted by the force{source}; Appendix B)",
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
        if values and all(not v.comparable for v in values):
            return "These figures are not compared with a year before (see the caveats below)."
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
