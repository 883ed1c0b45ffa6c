"""The words about change: a direction only when the test says it is significant.

Each case is crafted so the answer is known: the counts are chosen so that the engine's own
two-proportion test (or the Bonett–Price test for medians) is clearly significant or clearly not.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from vcop.metrics import stats
from vcop.metrics.spc import NO_VARIATION
from vcop.metrics.values import Comparison, Estimate, MetricValue
from vcop.reports.board import NOT_COMPARED, sig_word
from vcop.reports.figures import FigureBook, number, percent
from vcop.reports.narrative import (
    as_it_stood,
    change_of,
    change_sentence,
    compared_sentences,
    drivers_sentence,
    moved_sentence,
    spc_sentence,
    steady_sentence,
    then_words,
)

NOW = Estimate(date(2024, 7, 1), date(2025, 6, 30), 0, 0, None)
THEN = (date(2023, 7, 1), date(2024, 6, 30))


def proportion(
    num: int,
    den: int,
    before_num: int | None,
    before_den: int,
    metric: str = "satisfaction_whole_experience",
) -> MetricValue:
    """A rolling-12-month proportion compared with the year before, tested as the engine does."""
    current = Estimate(NOW.start, NOW.end, num, den, num / den)
    year_ago = None
    if before_num is not None:
        test = stats.two_proportion_test(num, den, before_num, before_den)
        year_ago = Comparison(
            Estimate(*THEN, before_num, before_den, before_num / before_den),
            num / den - before_num / before_den,
            None if test is None else test.p_value,
            None if test is None else test.method,
        )
    return MetricValue(
        metric_id=metric, kind="proportion", unit="proportion", period="rolling_12m",
        as_of=NOW.end, breakdown=(), group=(), current=current, previous=None,
        year_ago=year_ago, small_sample=den < 30,
    )  # fmt: skip


@pytest.fixture
def book() -> FigureBook:
    return FigureBook(backend=None, as_of=NOW.end)  # type: ignore[arg-type]  # no engine needed


def test_a_significant_fall_is_called_significantly_lower(book: FigureBook) -> None:
    v = proportion(600, 1000, 700, 1000)  # 60% against 70%: p far below 0.05
    change = change_of(v)
    assert change is not None and change.significant and change.direction == "lower"
    text = change_sentence(book, v, "4.1.2")
    assert text == (
        "This is significantly lower than the 12 months ending June 2024 (70.0%), a deterioration."
    )


def test_a_significant_rise_is_called_significantly_higher(book: FigureBook) -> None:
    text = change_sentence(book, proportion(800, 1000, 700, 1000), "4.1.2")
    assert "significantly higher" in text and "an improvement" in text


def test_polarity_decides_whether_a_rise_is_an_improvement(book: FigureBook) -> None:
    v = proportion(400, 1000, 300, 1000, metric="supervisory_reviews_overdue")  # lower is better
    assert change_sentence(book, v, "x").endswith("(30.0%), a deterioration.")


@pytest.mark.parametrize(("num", "before"), [(605, 600), (595, 600), (62, 60)])
def test_a_change_the_test_does_not_support_is_within_normal_variation(
    book: FigureBook, num: int, before: int
) -> None:
    den = 1000 if num > 100 else 100
    v = proportion(num, den, before, den)
    text = change_sentence(book, v, "4.1.2")
    assert "within normal variation" in text
    assert not re.search(r"\b(higher|lower|significantly|improvement|deterioration)\b", text)
    assert percent(before / den) in text


def test_an_equal_figure_is_unchanged(book: FigureBook) -> None:
    text = change_sentence(book, proportion(70, 100, 140, 200), "4.1.2")
    assert text == "This is unchanged from the 12 months ending June 2024 (70.0%)."


def test_no_earlier_figure_no_sentence(book: FigureBook) -> None:
    assert change_sentence(book, proportion(70, 100, None, 0), "4.1.2") == ""
    assert book.citations == []


def test_every_number_in_a_sentence_is_cited(book: FigureBook) -> None:
    v = proportion(600, 1000, 700, 1000)
    change_sentence(book, v, "4.1.2")
    [c] = book.citations
    assert (c.metric_id, c.numerator, c.denominator, c.text) == (
        "satisfaction_whole_experience", 700, 1000, "70.0%",
    )  # fmt: skip
    assert (c.start, c.end, c.where) == (*THEN, "4.1.2")


def test_a_median_is_compared_by_its_own_test(book: FigureBook) -> None:
    fast = stats.MedianSummary.from_order_statistics(
        200, {r: 100.0 + r / 10 for r in range(1, 201)}, 0.95
    )
    slow = stats.MedianSummary.from_order_statistics(
        200, {r: 200.0 + r / 10 for r in range(1, 201)}, 0.95
    )
    result, _ = stats.median_difference_test(fast, slow, 0.95)
    assert result is not None and result.significant
    v = MetricValue(
        metric_id="response_time_median_prompt", kind="median", unit="minutes", period="month",
        as_of=date(2025, 6, 30), breakdown=(), group=(),
        current=Estimate(date(2025, 6, 1), date(2025, 6, 30), None, 200, fast.median),
        previous=Comparison(
            Estimate(date(2025, 5, 1), date(2025, 5, 31), None, 200, slow.median),
            fast.median - slow.median, result.p_value, result.method,
        ),
        year_ago=None, small_sample=False,
    )  # fmt: skip
    text = change_sentence(book, v, "4.1.6", which="previous")
    assert text == (
        f"This is significantly lower than May 2025 ({number(slow.median, 'minutes')}), "
        "an improvement."
    )


def test_spc_words_follow_the_engines_reading() -> None:
    v = proportion(70, 100, 70, 100)
    few = MetricValue(**{**v.__dict__, "spc_points": 5})
    assert "too few" in spc_sentence(few)
    concern = MetricValue(
        **{**v.__dict__, "spc_points": 24, "spc_variation": "special_cause_concern"}
    )
    assert spc_sentence(concern) == (
        "The monthly figures over the last 24 months show special cause variation indicating "
        "concern."
    )


def month_value(provisional: bool) -> MetricValue:
    """June 2025 against May 2025, a change the test calls significant (70% against 50%)."""
    test = stats.two_proportion_test(140, 200, 100, 200)
    assert test is not None and test.significant
    v = MetricValue(
        metric_id="victim_updates_on_time", kind="proportion", unit="proportion", period="month",
        as_of=date(2025, 6, 30), breakdown=(), group=(),
        current=Estimate(date(2025, 6, 1), date(2025, 6, 30), 140, 200, 0.7),
        previous=Comparison(
            Estimate(date(2025, 5, 1), date(2025, 5, 31), 100, 200, 0.5), 0.2, test.p_value,
            test.method,
        ),
        year_ago=None, small_sample=False, provisional=provisional,
        provisional_share=1.0 if provisional else None, spc_points=12,
        spc_variation="special_cause_improvement",
    )  # fmt: skip
    return v


def test_a_provisional_month_is_compared_as_it_stood_at_the_same_age_and_marked(
    book: FigureBook,
) -> None:
    """The engine compares a provisional figure with the earlier period as it stood at the same
    age: the words follow its test as for any comparable figure, and say that the earlier figure
    is as it stood then (the engine's same-age date: 31 May 2025 for May against June)."""
    settled = month_value(provisional=False)
    assert change_sentence(book, settled, "x", which="previous") == (
        "This is significantly higher than May 2025 (50.0%), an improvement."
    )
    book.citations.clear()
    v = month_value(provisional=True)
    change = change_of(v, "previous")
    assert change is not None and change.claim == "higher"
    assert change_sentence(book, v, "4.2.2", which="previous") == (
        "This is significantly higher than May 2025 as it stood on 31 May 2025 (50.0%), an "
        "improvement."
    )
    [then] = book.citations  # the earlier month, as the engine counted it
    assert (then.start, then.numerator, then.denominator, then.provisional) == (
        date(2025, 5, 1), 100, 200, False,
    )  # fmt: skip
    assert then_words(book, v, "4.2.2", "previous") == "(50.0% then, as it stood on 31 May 2025)"
    assert then_words(book, settled, "4.2.2", "previous") == "(50.0% then)"
    book.citations.clear()
    assert book.cite(v, "4.2.2") == "70.0% (provisional)"
    assert book.cite(v, "Table 5", small=True) == "70.0% (provisional)"
    small = MetricValue(**{**v.__dict__, "small_sample": True})
    assert book.cite(small, "Table 5", small=True) == "70.0% † (provisional)"
    assert [c.text for c in book.citations] == ["70.0%"] * 3  # the appendix: the number itself
    assert all(c.provisional and c.spc_variation == "special_cause_improvement"
               for c in book.citations)  # fmt: skip
    assert sig_word(v, "previous") == sig_word(settled, "previous") == "significantly higher"
    # the SPC sentence reads the complete months only, and says so
    assert spc_sentence(v) == (
        "The monthly figures over the last 12 complete months (the provisional ones are not "
        "judged) show special cause variation indicating improvement."
    )


@pytest.mark.parametrize(
    ("num", "words"),
    [
        (101, "The difference from May 2025 as it stood on 31 May 2025 (50.0%) is within normal "
              "variation."),
        (100, "This is unchanged from May 2025 as it stood on 31 May 2025 (50.0%)."),
    ],
)  # fmt: skip
def test_a_provisional_figure_within_normal_variation_or_unchanged_says_as_it_stood(
    book: FigureBook, num: int, words: str
) -> None:
    test = stats.two_proportion_test(num, 200, 100, 200)
    assert test is not None and not test.significant
    v = month_value(provisional=True)
    v = MetricValue(
        **{**v.__dict__,
           "current": Estimate(v.current.start, v.current.end, num, 200, num / 200),
           "previous": Comparison(Estimate(date(2025, 5, 1), date(2025, 5, 31), 100, 200, 0.5),
                                  num / 200 - 0.5, test.p_value, test.method)}
    )  # fmt: skip
    assert change_sentence(book, v, "4.2.2", which="previous") == words


def test_a_year_ago_window_as_it_stood_a_year_before() -> None:
    v = proportion(600, 1000, 700, 1000)
    provisional = MetricValue(**{**v.__dict__, "provisional": True})
    assert as_it_stood(provisional) == "as it stood on 30 June 2024"
    assert as_it_stood(v) == ""


def test_a_figure_the_engine_does_not_compare_gets_no_change_words(book: FigureBook) -> None:
    """Not comparable (a provisional figure whose earlier period cannot be seen at the same age,
    or the warm-up): the engine left the comparisons out, so nothing is said about change, and
    the table says "not compared"."""
    v = month_value(provisional=True).not_comparable("provisional (…) and the earlier period "
                                                     "cannot be seen as it stood at the same age")  # fmt: skip
    assert change_of(v, "previous") is None
    assert change_sentence(book, v, "4.2.2", which="previous") == ""
    assert book.citations == []  # the earlier month is not even quoted
    assert sig_word(v, "previous") == NOT_COMPARED


def test_figures_not_compared_are_not_summed_up_as_unchanged_or_missing() -> None:
    v = proportion(70, 100, None, 0)
    provisional = MetricValue(**{**v.__dict__, "provisional": True, "comparable": False})
    assert moved_sentence([provisional], [], lead="", none="none moved").startswith(
        "These figures are not compared with a year before"
    )
    warm = MetricValue(**{**v.__dict__, "comparable": False, "comparable_reason": "warm-up"})
    assert moved_sentence([warm], [], lead="", none="none moved").startswith(
        "These figures are not compared with a year before"
    )


def test_a_flat_series_is_no_variation_to_judge_not_special_cause() -> None:
    v = proportion(70, 100, 70, 100)
    flat = MetricValue(**{**v.__dict__, "spc_points": 24, "spc_variation": NO_VARIATION,
                          "target": 0.9, "spc_assurance": None})  # fmt: skip
    text = spc_sentence(flat)
    assert "no variation to judge" in text
    assert not re.search(r"special cause|common cause|target|concern|improvement", text)


def test_a_target_is_named_with_its_source_only_when_the_engine_judged_against_it() -> None:
    v = proportion(70, 100, 70, 100)
    judged = MetricValue(
        **{**v.__dict__, "spc_points": 24, "spc_variation": "common_cause",
           "spc_assurance": "hit_and_miss", "target": 0.75, "target_source": "PCP 2024-28",
           "target_adopted": True}
    )  # fmt: skip
    assert spc_sentence(judged).endswith(
        "will sometimes meet and sometimes miss the target of 75.0% (adopted by the force: "
        "PCP 2024-28; Appendix B)."
    )
    unadopted = MetricValue(
        **{**judged.__dict__, "target": None, "spc_assurance": None, "target_adopted": False}
    )
    assert "target" not in spc_sentence(unadopted)


def _group(v: MetricValue, name: str) -> MetricValue:
    return replace(v, breakdown=("area",), group=(name,))


def test_what_drove_a_significant_change_is_named_from_the_groups_contributions(
    book: FigureBook,
) -> None:
    """The force: 85/200 -> 160/300; A: 40/100 -> 60/100, B: 45/100 -> 100/200. A contributes
    +8.0 of the +10.8 points (worked in tests/test_drivers.py), so most of the rise was in A."""
    whole = proportion(160, 300, 85, 200)
    a, b = _group(proportion(60, 100, 40, 100), "A"), _group(proportion(100, 200, 45, 100), "B")
    text = drivers_sentence(book, whole, [(a, "A"), (b, "B")], "4.1.2", by="area")
    assert (
        text
        == "By area, most of the rise of 10.8 points was in A (+8.0 points; 60.0% there, n = 100)."
    )
    # the group named is cited; its contribution is arithmetic on cited figures
    assert [(c.group, c.text) for c in book.citations] == [("A", "60.0%"), ("A", "100")]
    # groups that are not the whole, or a change the test does not support: nothing is said
    assert drivers_sentence(book, whole, [(a, "A")], "4.1.2", by="area") == ""
    steady = proportion(700, 1000, 710, 1000)
    assert drivers_sentence(book, steady, [(_group(steady, "A"), "A")], "x", by="area") == ""
    fall = proportion(85, 200, 160, 300)
    a2, b2 = _group(proportion(40, 100, 60, 100), "A"), _group(proportion(45, 100, 100, 200), "B")
    assert drivers_sentence(book, fall, [(a2, "A"), (b2, "B")], "x", by="area").startswith(
        "By area, most of the fall of 10.8 points was in A (\u22128.0 points;"
    )


def test_what_did_not_move_is_said_once_for_all(book: FigureBook) -> None:
    moved = proportion(600, 1000, 700, 1000)
    still = proportion(700, 1000, 710, 1000)
    still2 = proportion(500, 1000, 500, 1000)
    text = compared_sentences(book, [(moved, "This"), (still, "ease"), (still2, "treatment")], "x")
    assert text == (
        "This is significantly lower than the 12 months ending June 2024 (70.0%), a "
        "deterioration. Both ease and treatment are within normal variation of the 12 months "
        "ending June 2024 (71.0% and 50.0%)."
    )
    three = [(still, "ease of contact"), (still2, "treatment"), (still, "actions taken")]
    assert steady_sentence(book, three) == (
        "Ease of contact, treatment and actions taken are within normal variation of the 12 "
        "months ending June 2024."
    )
    assert steady_sentence(book, [(moved, "This")]) == ""
    assert "within normal variation" not in compared_sentences(book, [(moved, "This")], "x")
