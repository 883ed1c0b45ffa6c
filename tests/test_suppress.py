"""Small-number suppression: primary and secondary, as rules and as properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcop.metrics.suppress import is_small, publish, suppress
from vcop.metrics.values import Comparison, Estimate, MetricValue

T = 10


def test_what_counts_as_small() -> None:
    assert [is_small(c, T) for c in (None, 0, 1, 9, 10, 11)] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]


def test_primary_hides_small_numerators_denominators_and_complements() -> None:
    cells = [(3, 200, 197), (150, 200, 50), (196, 200, 4), (0, 200, 200), (5, 5, 0)]
    assert suppress(cells, cells, [], T) == [True, False, True, False, True]


def test_secondary_hides_a_second_group_so_the_total_cannot_reveal_the_first() -> None:
    # four areas; the total 3 + 50 + 60 + 70 is published, so area 0 alone would be 3 = total - rest
    cells = [(3,), (50,), (60,), (70,)]
    assert suppress(cells, cells, [[0, 1, 2, 3]], T) == [True, True, False, False]


def test_secondary_keeps_hiding_until_the_hidden_sum_is_not_small() -> None:
    cells = [(2,), (3,), (4,), (40,), (60,)]
    # 2 + 3 + 4 = 9 is still small: the next smallest (40) goes too
    assert suppress(cells, cells, [[0, 1, 2, 3, 4]], T) == [True, True, True, True, False]


def test_a_set_with_nothing_small_is_untouched() -> None:
    cells = [(30,), (40,), (0,)]
    assert suppress(cells, cells, [[0, 1, 2]], T) == [False, False, False]


# --- the property: nothing small can be read or worked out ------------------------------------

cell = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(
    lambda t: (min(t), max(t), max(t) - min(t))
)


@settings(max_examples=300)
@given(st.lists(cell, min_size=1, max_size=12), st.integers(2, 15))
def test_no_small_count_can_be_read_or_derived_from_a_total(
    cells: list[tuple[int, int, int]], threshold: int
) -> None:
    members = list(range(len(cells)))
    hidden = suppress(cells, cells, [members], threshold)
    # nothing visible is small
    for c, h in zip(cells, hidden, strict=True):
        if not h:
            assert not any(is_small(x, threshold) for x in c)
    # the total minus the visible cells gives the sum of the hidden ones: never a lone cell,
    # never a small sum, in any column. (When every cell is hidden the sum is the total itself,
    # which is published — and suppressed — as a figure of its own.)
    gone = [c for c, h in zip(cells, hidden, strict=True) if h]
    if gone and len(gone) < len(cells):
        assert len(gone) >= 2
        for k in range(3):
            assert not is_small(sum(c[k] for c in gone), threshold)


@given(st.lists(st.lists(st.integers(0, 30), min_size=3, max_size=3), min_size=2, max_size=4))
def test_two_way_tables_never_leave_a_lone_hidden_cell_in_a_row_or_column(
    rows: list[list[int]],
) -> None:
    cells = [(v,) for row in rows for v in row]
    ncols = 3
    row_sets = [[r * ncols + c for c in range(ncols)] for r in range(len(rows))]
    col_sets = [[r * ncols + c for r in range(len(rows))] for c in range(ncols)]
    hidden = suppress(cells, cells, row_sets + col_sets, T)
    for s in row_sets + col_sets:
        gone = [i for i in s if hidden[i]]
        if len(gone) < len(s):
            assert len(gone) != 1
            assert not is_small(sum(cells[i][0] for i in gone), T)


# --- on metric values -------------------------------------------------------------------------

D = date(2025, 6, 30)


def _value(group: str, num: int, den: int, prev: tuple[int, int] = (50, 100)) -> MetricValue:
    def est(n: int, d: int) -> Estimate:
        return Estimate(D, D, n, d, n / d if d else None, 0.1, 0.9)

    return MetricValue(
        metric_id="m",
        kind="proportion",
        unit="proportion",
        period="month",
        as_of=D,
        breakdown=("area",),
        group=(group,),
        current=est(num, den),
        previous=Comparison(est(*prev), 0.1, 0.04, "two_proportion_z"),
        year_ago=Comparison(est(*prev), 0.1, 0.04, "two_proportion_z"),
        small_sample=False,
        definitions_hash="h",
    )


def test_publish_blanks_every_figure_computed_from_a_hidden_count() -> None:
    values = [
        _value("North", 4, 120),
        _value("South", 80, 100),
        _value("East", 70, 90),
        _value("West", 60, 200),
    ]
    out = publish(values, T)
    north = out[0]
    assert north.suppressed
    rec = north.record()
    for col in (
        "numerator",
        "denominator",
        "value",
        "ci_low",
        "ci_high",
        "change",
        "p_value",
        "year_ago_change",
    ):
        assert rec[col] is None, col
    assert rec["previous_value"] == 0.5  # the previous month's own figure is safe to show
    # secondary: the smallest other group (East, 90) goes too
    assert [v.suppressed for v in out] == [True, False, True, False]
    # nothing else was touched
    assert out[1] == values[1]


def test_publish_hides_a_small_earlier_window_but_keeps_the_current_figure() -> None:
    values = [
        _value("North", 60, 120, prev=(2, 100)),
        _value("South", 80, 100, prev=(40, 100)),
        _value("East", 70, 90, prev=(30, 90)),
    ]
    out = publish(values, T)
    assert not out[0].suppressed and out[0].record()["value"] == 0.5
    assert out[0].record()["previous_value"] is None and out[0].record()["change"] is None
    # the earlier window's secondary suppression hides another previous figure, not a current one
    assert [v.suppressed for v in out] == [False, False, False]
    assert sum(v.record()["previous_value"] is None for v in out) == 2


def test_publish_checks_its_threshold() -> None:
    with pytest.raises(ValueError):
        publish([], 0)
    v = replace(_value("North", 4, 120), breakdown=(), group=())
    assert publish([v], 3)[0].suppressed is False
