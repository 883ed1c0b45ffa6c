"""Sentences about change, written from the tests the metric engine has already done.

The rules, the same in every report:

* A sentence says **higher** or **lower** only when the change is in that direction, and only
  together with **significantly**, which it says only when the test of the two windows says so
  (the engine's: a two-proportion test, an exact test of two Poisson rates, the Bonett–Price test
  of two medians or Welch's test; see docs/metrics.md). Where the report judges its comparisons
  together (the book's :class:`~vcop.metrics.comparisons.ComparisonFamily`: the board paper), the
  test of a compliance measure is widened by the design effect of entitlements clustered within
  victims, and a change is significant only when the Benjamini–Hochberg adjusted p-value over
  every comparison the report states is within the significance level; otherwise p < 0.05.
* A significant change is given with its **size and 95% interval** ("down 4.2 points (95% CI
  1.1 to 7.3)"), where the family gives one. A significant change **smaller than matters**
  (under 1 percentage point for a rate or share, under 5% of the earlier figure otherwise) is
  said to be a small change, and is not called an improvement or a deterioration.
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
* What **drove** a significant change is said from the data, never as a cause: the groups (areas,
  districts, obligations) whose contributions (:mod:`vcop.metrics.drivers`) make up most of it,
  "most of the rise was in North (+2.4 points of the force's +3.7)", each named group's own
  figure cited. Figures that did not move are named together in one sentence, not one each.

Each function returns finished text and cites every number through the report's
:class:`~vcop.reports.figures.FigureBook`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vcop.metrics.comparisons import ComparisonFamily
from vcop.metrics.drivers import DECOMPOSABLE, NotAWhole, contributions, leading
from vcop.metrics.engine import same_age
from vcop.metrics.periods import windows
from vcop.metrics.spc import NO_VARIATION
from vcop.metrics.values import MetricValue
from vcop.reports.figures import FigureBook, Which, number, period_words

Direction = Literal["higher", "lower", "unchanged"]


#: A significant change smaller than this is a small change: a difference of proportions (in
#: points), or a share of the earlier figure for every other kind.
SMALL_POINTS = 0.01
SMALL_SHARE = 0.05


@dataclass(frozen=True)
class Change:
    """How a figure compares with an earlier window, as far as the test supports."""

    direction: Direction
    #: True: the test says the change is significant; False: it does not; None: no test.
    significant: bool | None
    #: The change (current minus earlier) and, when the report's family judged it, its 95%
    #: interval.
    size: float | None = None
    interval: tuple[float, float] | None = None
    #: Significant, but smaller than matters (:data:`SMALL_POINTS`, :data:`SMALL_SHARE`).
    small: bool = False

    @property
    def claim(self) -> Direction | Literal["normal variation", "untested"]:
        """What may be said: a direction only when significant."""
        if self.direction == "unchanged":
            return "unchanged"
        if self.significant is None:
            return "untested"
        return self.direction if self.significant else "normal variation"


def change_of(
    v: MetricValue, which: Which = "year_ago", family: ComparisonFamily | None = None
) -> Change | None:
    """The change from the earlier window, as tested (None: there is no earlier figure to
    compare with: none in the data, hidden, or the engine does not compare the figure). With
    ``family`` (the report's comparisons, judged together), its verdict; else the engine's."""
    c = v.year_ago if which == "year_ago" else v.previous
    if c is None or c.estimate.value is None or v.current.value is None or c.change is None:
        return None
    verdict = None
    if family is not None and which in ("previous", "year_ago"):
        verdict = family.verdict(v, "previous" if which == "previous" else "year_ago")
    if verdict is None:  # the engine's own test, alone
        direction: Direction = (
            "unchanged" if c.change == 0 else "higher" if c.change > 0 else "lower"
        )
        return Change(direction, c.significant)
    if c.change == 0:
        return Change("unchanged", verdict.significant, 0.0)
    if v.kind in ("proportion", "share"):
        small = abs(c.change) < SMALL_POINTS
    else:
        small = c.estimate.value != 0 and abs(c.change) < SMALL_SHARE * abs(c.estimate.value)
    return Change(
        "higher" if c.change > 0 else "lower",
        verdict.significant,
        c.change,
        verdict.interval,
        verdict.significant and small,
    )


def _amount(x: float, unit: str) -> str:
    if unit == "proportion":
        return f"{100 * x:.1f}"
    if unit == "count":
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def size_words(change: Change, unit: str, *, direction: bool = True) -> str:
    """The size of a change and its 95% interval: "down 4.2 points (95% CI 1.1 to 7.3)" (a rate
    or share in percentage points, a time in its unit); without ``direction``, "4.2 points (…)".
    "" when the change has no size."""
    if change.size is None or change.size == 0:
        return ""
    sign = 1 if change.size > 0 else -1
    noun = {"proportion": " points", "minutes": " minutes", "days": " days"}.get(unit, "")
    words = f"{_amount(abs(change.size), unit)}{noun}"
    if change.interval is not None:
        lo, hi = sorted(sign * x for x in change.interval)
        words += f" (95% CI {_amount(lo, unit)} to {_amount(hi, unit)})"
    if direction:
        words = ("up " if sign > 0 else "down ") + words
    return words


def as_it_stood(v: MetricValue, which: Which = "year_ago") -> str:
    """For a provisional figure, the words that say its earlier window was counted as it stood
    at the same age ("as it stood on 30 June 2024": the engine's same-age date); "" for any
    other figure, whose earlier window is counted as it stands now."""
    if not v.provisional or which == "current":
        return ""
    seen = same_age(windows(v.period, v.as_of), which)
    return f"as it stood on {seen.day} {seen:%B %Y}"


def then_words(book: FigureBook, v: MetricValue, where: str, which: Which = "year_ago") -> str:
    """The earlier figure in brackets, cited (marked † when it rests on few cases): "(60.2%
    then)", or for a provisional figure "(60.2% then, as it stood on 30 June 2024)"."""
    stood = as_it_stood(v, which)
    return f"({book.cite(v, where, which, small=True)} then{', ' + stood if stood else ''})"


def moved_phrase(
    book: FigureBook, v: MetricValue, where: str, subject: str, which: Which = "year_ago"
) -> str:
    """A significant change, for a list of what moved: "Right 6 is significantly lower than a
    year before (80.1% then): down 4.2 points (95% CI 1.1 to 7.3)"; a small one is said to be
    small."""
    change = change_of(v, which, book.comparisons)
    assert change is not None and change.claim in ("higher", "lower")
    when = "a year before" if which == "year_ago" else "the period before"
    text = f"{subject} is significantly {change.claim} than {when} " + then_words(
        book, v, where, which
    )
    size = size_words(change, v.unit, direction=not change.small)
    if change.small:
        return text + (f", but only by {size}: a small change" if size else ": a small change")
    return text + (f": {size}" if size else "")


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
    change = change_of(v, which, book.comparisons)
    earlier = v.year_ago if which == "year_ago" else v.previous
    if change is None or earlier is None:
        return ""
    stood = as_it_stood(v, which)
    then = period_words(earlier.estimate, v.period) + (f" {stood}" if stood else "")
    figure = book.cite(v, where, which, small=True)
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
    size = size_words(change, v.unit, direction=not change.small)
    if change.small:
        by = f", but only by {size}" if size else ""
        return f"{subject} is significantly {claim} than {then} ({figure}){by}: a small change."
    meaning = _meaning(v, claim, polarity)
    size = f": {size}" if size else ""
    return f"{subject} is significantly {claim} than {then} ({figure}){size}{meaning}."


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
    values: Sequence[MetricValue],
    moved: Sequence[str],
    *,
    lead: str,
    none: str,
    family: ComparisonFamily | None = None,
) -> str:
    """Sum up which of ``values`` changed significantly from a year before (``moved``: the
    phrases for those that did): only what the comparisons support (``family``: the report's
    comparisons, judged together, which this sentence states a verdict on)."""
    compared = [v for v in values if change_of(v, "year_ago", family) is not None]
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


#: A minus sign, for a negative contribution ("−2.4 points").
MINUS = "\u2212"


def signed(x: float, unit: str) -> str:
    """A change with its sign: "+2.4" / "−2.4" (points for a rate), "+120" for a count."""
    text = _amount(abs(x), unit)
    return ("+" if x > 0 else MINUS if x < 0 else "") + text


def listing(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = [i for i in items if i]
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def drivers_sentence(
    book: FigureBook,
    v: MetricValue,
    parts: Sequence[tuple[MetricValue, str]],
    where: str,
    *,
    by: str,
    which: Which = "year_ago",
) -> str:
    """What drove a significant change of ``v``, from its groups' figures (``parts``: each
    group's value and its name, together the whole of ``v``): "By district, most of the rise of
    3.7 points was in Northbury (+1.7 points; 79.4% there, n = 859)." Each group named
    has its current figure cited. "" when the change is not significant, is small, or the groups
    do not add up to the whole (the contributions are arithmetic on the engine's figures:
    :mod:`vcop.metrics.drivers`)."""
    change = change_of(v, which, book.comparisons)
    if change is None or change.claim not in ("higher", "lower") or change.small:
        return ""
    if v.kind not in DECOMPOSABLE or not parts:
        return ""
    earlier = book.estimate(v, which)
    assert earlier is not None
    split = []
    for p, _ in parts:
        then = book.estimate(p, which)
        if then is None:
            return ""
        split.append((p.group, p.current, then))
    try:
        found = contributions(v.kind, (v.current, earlier), split)
    except NotAWhole:
        return ""
    total = (v.current.value or 0.0) - (earlier.value or 0.0)
    top = leading(found, total)
    if not top:
        return ""
    names = {p.group: (p, name) for p, name in parts}
    noun = " points" if v.unit == "proportion" else ""
    rise = "rise" if total > 0 else "fall"
    cited = []
    for c in top:
        p, name = names[c.group]
        figure = f"{book.cite(p, where, small=True)} there, n = {book.cite_n(p, where)}"
        cited.append(f"{name} ({signed(c.change, v.unit)}{noun}; {figure})")
    share = sum(c.change for c in top) / total
    lead = "most of the" if share > 0.5 else "the largest part of the"
    return f"By {by}, {lead} {rise} of {_amount(abs(total), v.unit)}{noun} was in {listing(cited)}."


def steady_sentence(
    book: FigureBook,
    items: Sequence[tuple[MetricValue, str]],
    where: str = "",
    *,
    which: Which = "year_ago",
    then: bool = False,
) -> str:
    """The figures among ``items`` (value, name) that did not move, in one sentence: "Ease of
    contact, actions taken and treatment by staff are within normal variation of the 12 months
    ending June 2024." ("" when none). With ``then``, the earlier figures too, cited at
    ``where`` ("… of the 12 months ending June 2024 (88.4% and 80.2%)"); else the tables beside give them."""
    steady = [
        (v, name)
        for v, name in items
        if (c := change_of(v, which, book.comparisons)) is not None
        and c.claim in ("normal variation", "unchanged")
    ]
    if not steady:
        return ""
    first = steady[0][0]
    earlier = book.estimate(first, which)
    assert earlier is not None
    when = period_words(earlier, first.period)
    stood = as_it_stood(first, which)
    names = [name for _, name in steady]
    if len(steady) == 1:
        subject, verb = names[0], "is"
    elif len(steady) == 2:
        subject, verb = f"Both {names[0][0].lower()}{names[0][1:]} and {names[1]}", "are"
    else:
        subject, verb = listing(names), "are"
    subject = subject[0].upper() + subject[1:]
    brackets = ""
    if then:
        figures = [book.cite(v, where, which, small=True) for v, _ in steady]
        brackets = f" ({listing(figures)}{', ' + stood if stood else ''})"
    elif stood:
        brackets = f" ({stood})"
    return f"{subject} {verb} within normal variation of {when}{brackets}."


def compared_sentences(
    book: FigureBook,
    items: Sequence[tuple[MetricValue, str]],
    where: str,
    *,
    which: Which = "year_ago",
) -> str:
    """How each of ``items`` (value, subject) compares with its earlier window: a sentence for
    each that moved significantly (with its size and interval) or cannot be tested, and one
    sentence for all those that did not move, with their earlier figures."""
    out = []
    for v, name in items:
        c = change_of(v, which, book.comparisons)
        if c is not None and c.claim not in ("normal variation", "unchanged"):
            out.append(change_sentence(book, v, where, which=which, subject=name))
    out.append(steady_sentence(book, items, where, which=which, then=True))
    return " ".join(t for t in out if t)
