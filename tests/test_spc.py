"""SPC (NHS "Making Data Count") against NHSRplotthedots' published test cases and worked examples.

``tests/fixtures/spc/nhsrplotthedots.yaml`` holds the cases transcribed from the R package
NHSRplotthedots (nhs-r-community), each with the test file it comes from. The worked examples
further down were built by hand from the MDC rules, and say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from vcop.metrics import spc
from vcop.metrics.spc import Polarity, SpcRules

CASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "spc" / "nhsrplotthedots.yaml").read_text("utf-8")
)


def _printed(x: float) -> Any:
    """pytest.approx to the precision the R snapshot printed ``x`` with."""
    text = repr(x)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return pytest.approx(x, abs=0.5 * 10**-decimals + 1e-12)


# --- NHSRplotthedots' published cases ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES["limits"], ids=lambda c: c["name"])
def test_limits_match_nhsrplotthedots_snapshots(case: dict[str, Any]) -> None:
    xmr = spc.xmr_limits(case["y"])
    assert xmr.mean == _printed(case["mean"])
    assert xmr.lpl == _printed(case["lpl"])
    assert xmr.upl == _printed(case["upl"])
    types = spc.special_cause_types(case["y"], xmr)
    assert types.count("common_cause") == case["common_cause"]


def test_rnorm20_summary_with_a_target_is_hit_and_miss() -> None:
    reading = spc.analyse(CASES["limits"][0]["y"], Polarity.higher_is_better, target=0.5)
    assert reading is not None
    assert reading.variation == "common_cause"
    assert reading.assurance == "hit_and_miss"  # 0.5 lies within -3.01 .. 3.29


@pytest.mark.parametrize("case", CASES["runs"], ids=str)
def test_runs_on_one_side_of_the_mean(case: dict[str, Any]) -> None:
    assert spc.run_flags(case["input"], 7) == case["expected"]


@pytest.mark.parametrize("case", CASES["trends"], ids=str)
def test_trends(case: dict[str, Any]) -> None:
    assert spc.trend_flags(case["input"], 7) == case["expected"]


@pytest.mark.parametrize("case", CASES["part_of"], ids=str)
def test_part_of_a_run(case: dict[str, Any]) -> None:
    assert spc.part_of(case["input"], case["length"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["two_in_three"], ids=str)
def test_two_in_three(case: dict[str, Any]) -> None:
    same_side = [1] * len(case["close"])
    assert spc.two_in_three(case["close"], same_side) == case["expected"]


@pytest.mark.parametrize("case", CASES["part_of_two_in_three"], ids=str)
def test_part_of_two_in_three(case: dict[str, Any]) -> None:
    close = case["close"]
    windows = spc.two_in_three(close, [1] * len(close))
    assert spc.part_of_two_in_three(windows, close) == case["expected"]


def test_two_close_points_on_opposite_sides_are_not_special_cause() -> None:
    case = CASES["opposite_sides"]
    xmr = spc.xmr_limits(case["y"])
    types = spc.special_cause_types(case["y"], xmr, SpcRules(min_points=2))
    assert types[-2:] == case["last_two"]
    # ... and they really are close to the limits, on opposite sides
    assert xmr.near_upl < 5.5 < xmr.upl and xmr.lpl < -5.5 < xmr.near_lpl


@pytest.mark.parametrize("case", CASES["assurance"], ids=str)
def test_assurance(case: dict[str, Any]) -> None:
    xmr = spc.XmR(
        n=20,
        mean=case["mean"],
        mean_moving_range=1,
        lpl=case["lpl"],
        upl=case["upl"],
        near_lpl=0,
        near_upl=0,
    )
    assert spc.assurance(xmr, case["target"], Polarity(case["direction"])) == case["expected"]


# --- worked examples built by hand from the MDC rules ----------------------------------------
# A stable process around 51 (moving ranges of 2, ending on a low point), then the change each
# rule looks for.

STABLE = [52.0, 50.0, 52.0, 50.0, 52.0, 50.0, 52.0, 50.0, 52.0, 50.0, 52.0, 50.0]


def _types(y: list[float], rules: SpcRules = spc.MDC) -> list[str]:
    return spc.special_cause_types(y, spc.xmr_limits(y, rules), rules)


def test_a_point_outside_the_limits() -> None:
    y = [*STABLE, 51.0, 70.0]
    # mean 52.36; moving ranges 2 (x11), 1, 19 -> 19 is screened out (>= 3.267 x 3.38), so the
    # mean moving range is 23/12 = 1.917 and the upper limit 52.36 + 2.66 x 1.917 = 57.5
    xmr = spc.xmr_limits(y)
    assert xmr.mean_moving_range == pytest.approx(23 / 12)
    assert xmr.upl == pytest.approx(sum(y) / len(y) + 2.66 * 23 / 12)
    assert _types(y)[-1] == "above_limit"
    # without screening the one wild month widens the limits and hides itself
    assert xmr.upl < spc.xmr_limits(y, SpcRules(screen_outliers=False)).upl


def test_a_shift_of_seven_points_above_the_mean() -> None:
    y = [*STABLE, 53.0, 53.0, 53.0, 53.0, 53.0, 53.0, 53.0]
    types = _types(y)
    assert types[-7:] == ["run_above"] * 7
    assert set(types[:-7]) == {"common_cause"}
    for polarity, expected in (
        (Polarity.higher_is_better, "special_cause_improvement"),
        (Polarity.lower_is_better, "special_cause_concern"),
        (Polarity.neutral, "special_cause_neutral_high"),
    ):
        reading = spc.analyse(y, polarity)
        assert reading is not None and reading.variation == expected
    # six in a row is not yet a shift; a longer configured run is not met by seven
    assert set(_types([*STABLE, *[53.0] * 6])[-6:]) == {"common_cause"}
    assert set(_types(y, SpcRules(run_length=8))[-7:]) == {"common_cause"}


def test_seven_points_falling_is_a_trend_whatever_side_of_the_mean() -> None:
    y = [*STABLE, 51.9, 51.6, 51.3, 51.0, 50.7, 50.4, 50.1]
    types = _types(y)
    assert types[-7:] == ["trend_decreasing"] * 7
    reading = spc.analyse(y, Polarity.lower_is_better)
    assert reading is not None and reading.variation == "special_cause_improvement"
    assert set(_types(y, SpcRules(trend_length=8))[-7:]) == {"common_cause"}


def test_two_of_three_beyond_two_sigma_on_one_side() -> None:
    y = [*STABLE, 52.0, 55.5, 55.5]
    # mean 51.667, mean moving range (11 x 2 + 2 + 3.5 + 0) / 14 = 1.964: two sigma at 55.15,
    # the limit at 56.89; 52, 55.5, 55.5 are all above the mean, two of them close to the limit
    xmr = spc.xmr_limits(y)
    assert xmr.mean_moving_range == pytest.approx(27.5 / 14)
    assert xmr.near_upl < 55.5 < xmr.upl
    types = _types(y)
    assert types[-3:] == ["common_cause", "two_of_three_above", "two_of_three_above"]
    assert set(_types(y, SpcRules(two_of_three=False))[-3:]) == {"common_cause"}


def test_too_few_points_give_no_signal() -> None:
    assert spc.analyse(STABLE[:11], Polarity.higher_is_better) is None
    assert (
        spc.analyse(STABLE[:11], Polarity.higher_is_better, rules=SpcRules(min_points=5))
        is not None
    )
    with pytest.raises(ValueError):
        SpcRules(run_length=1)


# --- properties -------------------------------------------------------------------------------

series = st.lists(st.integers(0, 1000).map(float), min_size=12, max_size=40)


@given(series)
def test_limits_are_symmetric_about_the_mean(y: list[float]) -> None:
    xmr = spc.xmr_limits(y)
    assert xmr.lpl <= xmr.near_lpl <= xmr.mean <= xmr.near_upl <= xmr.upl
    assert xmr.upl - xmr.mean == pytest.approx(xmr.mean - xmr.lpl)


@given(series, st.integers(-500, 500))
def test_shifting_a_series_changes_no_signal(y: list[float], shift: int) -> None:
    assert _types([v + shift for v in y]) == _types(y)


@given(series)
def test_turning_a_series_upside_down_swaps_improvement_and_concern(y: list[float]) -> None:
    up = spc.analyse(y, Polarity.higher_is_better)
    down = spc.analyse([-v for v in y], Polarity.lower_is_better)
    assert up is not None and down is not None
    assert up.point_type == down.point_type
