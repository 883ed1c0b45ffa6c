"""What drove a change: the contribution decomposition, on examples worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from vcop.metrics.drivers import Contribution, NotAWhole, contributions, leading
from vcop.metrics.values import Estimate

NOW = (date(2024, 7, 1), date(2025, 6, 30))
THEN = (date(2023, 7, 1), date(2024, 6, 30))


def now(n: int, d: int | None) -> Estimate:
    return Estimate(*NOW, n, d, n / d if d else None)


def then(n: int, d: int | None) -> Estimate:
    return Estimate(*THEN, n, d, n / d if d else None)


def test_a_rate_change_is_split_exactly_into_each_groups_rate_and_mix() -> None:
    # A: 40/100 -> 60/100; B: 45/100 -> 100/200. The force: 85/200 (42.5%) -> 160/300 (53.3%).
    # Worked by hand: R̄ = (0.425 + 0.5333…)/2 = 0.479166…
    #   A: w 1/2 -> 1/3, rate = 5/12 × 0.20 = 0.083333…, mix = -1/6 × (0.500 - R̄) = -0.003472…
    #   B: w 1/2 -> 2/3, rate = 7/12 × 0.05 = 0.029166…, mix = +1/6 × (0.475 - R̄) = -0.000694…
    whole = (now(160, 300), then(85, 200))
    parts = [(("A",), now(60, 100), then(40, 100)), (("B",), now(100, 200), then(45, 100))]
    a, b = contributions("proportion", whole, parts)
    assert a.group == ("A",) and b.group == ("B",)
    assert a.rate == pytest.approx(0.2 * 5 / 12)
    assert a.mix == pytest.approx(-1 / 6 * (0.5 - (0.425 + 160 / 300) / 2))
    assert b.rate == pytest.approx(0.05 * 7 / 12)
    assert b.mix == pytest.approx(1 / 6 * (0.475 - (0.425 + 160 / 300) / 2))
    assert a.change == pytest.approx(0.079861, abs=1e-6)
    assert b.change == pytest.approx(0.028472, abs=1e-6)
    assert a.change + b.change == pytest.approx(160 / 300 - 85 / 200)
    # A made most of the rise on its own
    assert leading([a, b], 160 / 300 - 85 / 200) == [a]


def test_a_group_that_grows_at_the_wholes_rate_contributes_nothing() -> None:
    # B doubles in size at exactly the force's rate; only A's own rise moves the force
    whole = (now(150, 300), then(90, 200))
    parts = [(("A",), now(50, 100), then(40, 100)), (("B",), now(100, 200), then(50, 100))]
    a, b = contributions("proportion", whole, parts)
    assert b.rate == 0 and b.change == pytest.approx(
        (2 / 3 - 1 / 2) * (0.5 - (0.5 + 0.45) / 2)
    )  # B sits above the average of the two years, so growing adds a little
    assert a.change + b.change == pytest.approx(0.5 - 0.45)


def test_a_group_new_in_one_window_contributes_only_its_mix() -> None:
    whole = (now(90, 150), then(40, 100))
    parts = [(("A",), now(50, 100), then(40, 100)), (("B",), now(40, 50), then(0, 0))]
    a, b = contributions("proportion", whole, parts)
    assert b.rate == 0.0
    assert b.change == pytest.approx(1 / 3 * (0.8 - (0.6 + 0.4) / 2))
    assert a.change + b.change == pytest.approx(0.6 - 0.4)


def test_a_count_is_split_by_each_groups_own_change() -> None:
    whole = (Estimate(*NOW, 130, None, 130), Estimate(*THEN, 100, None, 100))
    parts = [
        (("North",), Estimate(*NOW, 90, None, 90), Estimate(*THEN, 60, None, 60)),
        (("South",), Estimate(*NOW, 40, None, 40), Estimate(*THEN, 40, None, 40)),
    ]
    north, south = contributions("count", whole, parts)
    assert (north.change, south.change) == (30.0, 0.0)
    assert leading([north, south], 30) == [north]


def test_groups_that_do_not_add_up_to_the_whole_are_refused() -> None:
    whole = (now(160, 300), then(85, 200))
    with pytest.raises(NotAWhole):
        contributions("proportion", whole, [(("A",), now(60, 100), then(40, 100))])
    with pytest.raises(ValueError, match="median"):
        contributions("median", whole, [])


def test_leading_names_as_few_groups_as_make_up_more_than_half_of_the_change() -> None:
    found = [
        Contribution(("A",), -0.010, -0.010, 0.0),
        Contribution(("B",), -0.015, -0.015, 0.0),
        Contribution(("C",), 0.005, 0.005, 0.0),
        Contribution(("D",), -0.020, -0.020, 0.0),
    ]
    change = sum(c.change for c in found)  # -0.040
    assert [c.group for c in leading(found, change)] == [("D",), ("B",)]
    assert leading(found, 0.0) == []
    # a spread change: no group, nor two, make up half; at most three are named
    even = [Contribution((str(i),), 0.01, 0.01, 0.0) for i in range(10)]
    assert len(leading(even, 0.1)) == 3
