"""The policy the engine stamps on every value: provisional periods, warm-up, targets, filters.

Each rule is tested on both sides of its boundary, on the small seeded force of
``test_metrics_data`` (data from 1 July 2022 to 30 June 2025) and on hand-made ledgers.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest

from tests import test_metrics_data as data
from vcop.metrics import policy, spc
from vcop.metrics.engine import MetricsError, compute
from vcop.metrics.periods import Window, windows
from vcop.metrics.series import monthly_series
from vcop.metrics.targets import load_targets
from vcop.spec.check import DefinitionError
from vcop.spec.metrics import load_catalogue

AS_OF: date = data.AS_OF
START: date = data.START
CAT = load_catalogue()

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    data.build(c)
    return c


def backend(c: duckdb.DuckDBPyConnection) -> ibis.BaseBackend:
    return ibis.duckdb.from_connection(c)


def one(c: duckdb.DuckDBPyConnection, metric: str, period: str, **kw: Any) -> Any:
    (v,) = compute(backend(c), AS_OF, period, metrics=[metric], **kw).values
    return v


# --- maturity ---------------------------------------------------------------------------------


def test_maturity_defaults_to_the_longest_deadline_plus_late_arrivals() -> None:
    # the needs assessment is due in 1 working day (2 calendar days), plus 28 for late ones
    assert CAT.metric("needs_assessment_completion").maturity_days == 30
    # right 6 includes the Victims' Right to Review, completed within 30 working days (42
    # calendar days), plus 28 for late ones
    assert CAT.metric("victim_updates_on_time").maturity_days == 70
    # calls and questionnaires are complete when the period ends
    assert CAT.metric("response_time_median_immediate").maturity_days == 0
    assert CAT.metric("satisfaction_whole_experience").maturity_days == 0


def test_a_month_is_provisional_until_its_maturity_has_passed() -> None:
    may = date(2025, 5, 1)
    # ends 31 May: 30 days before 30 June is not "less than 30 days before"
    assert not policy.month_provisional(may, date(2025, 6, 30), 30)
    assert policy.month_provisional(may, date(2025, 6, 29), 30)
    assert policy.month_provisional(date(2025, 6, 1), date(2025, 6, 30), 1)
    assert not policy.month_provisional(date(2025, 6, 1), date(2025, 6, 30), 0)
    year = windows("rolling_12m", date(2025, 6, 30)).current
    assert policy.provisional_from(year, date(2025, 6, 30), 30) == date(2025, 6, 1)
    assert policy.provisional_from(year, date(2025, 6, 30), 31) == date(2025, 5, 1)
    assert policy.provisional_from(year, date(2025, 6, 30), 0) is None
    april = Window(date(2025, 4, 1), date(2025, 4, 30))
    assert policy.provisional_from(april, date(2025, 6, 30), 30) is None


def test_a_provisional_value_is_compared_at_the_same_age(con: duckdb.DuckDBPyConnection) -> None:
    june = one(con, "needs_assessment_completion", "month")
    assert june.provisional and june.comparable
    assert june.provisional_share == pytest.approx(1.0)
    # May as it stood on 31 May and June 2024 as it stood on 30 June 2024: the same ledger rows,
    # with completions after those dates not yet made
    b = backend(con)
    for which, seen in (("previous", date(2025, 5, 31)), ("year_ago", date(2024, 6, 30))):
        c = getattr(june, which)
        assert c is not None
        rows = con.execute(
            "SELECT count(*) FILTER (WHERE met_at < ?::DATE + 1), count(*) FROM entitlements "
            "WHERE obligation_id = 'R4.needs-assessment' AND due_date BETWEEN ? AND ? "
            "AND (trigger_at IS NULL OR trigger_at < ?::DATE + 1) "
            "AND (status IN ('met', 'late') AND met_at < ?::DATE + 1 "
            "     OR status <> 'not_applicable' AND due_date < ?)",
            [seen, c.estimate.start, c.estimate.end, seen, seen, seen],
        ).fetchone()
        assert (c.estimate.numerator, c.estimate.denominator) == rows
    del b


def test_a_comparison_in_the_warm_up_is_dropped_even_at_the_same_age(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # the data begin in July 2022: the 12 months to June 2024 are in the warm-up of a year
    year = one(con, "needs_assessment_completion", "rolling_12m")
    assert year.provisional and year.year_ago is not None  # July 2023 on: out of the warm-up
    (early,) = compute(
        backend(con), date(2023, 6, 30), "rolling_12m", metrics=["repeat_victimisation_rate"]
    ).values
    assert not early.comparable and "warm-up" in early.comparable_reason
    # the same metric's quarter to the end of March, seen on 30 June, is complete
    (march,) = compute(
        backend(con), AS_OF, "quarter", metrics=["response_time_median_prompt"]
    ).values
    assert not march.provisional and march.provisional_share is None


def test_a_year_carries_the_share_of_its_cases_in_provisional_months(
    con: duckdb.DuckDBPyConnection,
) -> None:
    year = one(con, "needs_assessment_completion", "rolling_12m")
    june = one(con, "needs_assessment_completion", "month")
    assert year.provisional and year.comparable
    assert year.provisional_share == pytest.approx(
        june.current.denominator / year.current.denominator
    )


def test_spc_reads_mature_months_only(con: duckdb.DuckDBPyConnection) -> None:
    v = one(con, "needs_assessment_completion", "rolling_12m")
    series = monthly_series(backend(con), CAT, "needs_assessment_completion", AS_OF)[()]
    assert series.points[-1].month == date(2025, 6, 1) and series.points[-1].provisional
    assert not series.points[-1].judged
    assert (
        v.spc_points
        == len(series.judged)
        == len(series.points) - 1 - sum(p.warm_up for p in series.points)
    )
    assert series.point_types()[-1] is None
    assert v.spc_variation == (series.reading.variation if series.reading else None)


# --- warm-up ----------------------------------------------------------------------------------


def test_warm_up_defaults() -> None:
    assert CAT.metric("repeat_victimisation_rate").warm_up_days == 365
    assert CAT.metric("needs_assessment_on_time").warm_up_days == 365
    assert CAT.metric("response_time_median_prompt").warm_up_days == 0
    assert CAT.metric("recorded_crime").warm_up_days == 0


def test_a_window_in_the_warm_up_is_not_compared(con: duckdb.DuckDBPyConnection) -> None:
    first = con.execute("SELECT min(reported_at)::DATE FROM crimes").fetchone()[0]
    ready = first + timedelta(days=365)
    # as of 30 June 2024 the year before starts in the data's first year
    result = compute(
        backend(con), date(2024, 6, 30), "quarter", metrics=["repeat_victimisation_rate"]
    )
    (v,) = result.values
    assert v.year_ago is None and not v.comparable
    assert "warm-up" in v.comparable_reason
    assert v.previous is not None  # the quarter before is out of the warm-up
    assert windows("quarter", date(2024, 6, 30)).previous.start >= ready
    # incidents have no warm-up: their year-before figure stands
    (r,) = compute(
        backend(con), date(2024, 6, 30), "quarter", metrics=["response_time_median_prompt"]
    ).values
    assert r.year_ago is not None and r.comparable


def test_warm_up_months_are_not_spc_points(con: duckdb.DuckDBPyConnection) -> None:
    series = monthly_series(backend(con), CAT, "repeat_victimisation_rate", date(2024, 6, 30))[()]
    first = con.execute("SELECT min(reported_at)::DATE FROM crimes").fetchone()[0]
    ready = first + timedelta(days=365)
    for p in series.points:
        assert p.warm_up == (p.month < ready)
    assert any(p.warm_up for p in series.points)


# --- targets ----------------------------------------------------------------------------------


def _targets(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(text, "utf-8")
    return path


def test_no_target_unless_the_force_adopted_one(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    plain = one(con, "support_referral_on_time", "quarter")
    assert plain.target is None and plain.target_source is None and plain.spc_assurance is None
    assert plain.better == "higher"
    targets = load_targets(
        _targets(
            tmp_path,
            "targets:\n"
            "  - {metric: support_referral_on_time, value: 0.9, source: Plan 2024, adopted: false}\n"
            "  - {metric: victim_updates_on_time, value: 0.85, source: Board decision 12,"
            " adopted: true, effective_from: 2024-04-01, effective_to: 2026-03-31}\n"
            "  - {metric: needs_assessment_on_time, value: 0.9, source: Plan 2026, adopted: true,"
            " effective_from: 2026-04-01}\n"
            "  - {metric: response_time_median_immediate, value: 15, source: national standard,"
            " adopted: true, basis: per_incident}\n",
        )
    )
    values = {
        v.metric_id: v
        for v in compute(
            backend(con),
            AS_OF,
            "quarter",
            metrics=[
                "support_referral_on_time",
                "victim_updates_on_time",
                "needs_assessment_on_time",
                "response_time_median_immediate",
            ],
            targets=targets,
        ).values
    }
    unadopted = values["support_referral_on_time"]
    assert unadopted.target is None and unadopted.spc_assurance is None
    assert unadopted.target_source == "Plan 2024" and not unadopted.target_adopted
    adopted = values["victim_updates_on_time"]
    assert adopted.target == 0.85 and adopted.target_adopted
    assert adopted.target_source == "Board decision 12"
    assert adopted.target_effective_from == date(2024, 4, 1)
    assert adopted.spc_assurance in ("consistently_pass", "consistently_fail", "hit_and_miss")
    future = values["needs_assessment_on_time"]  # not yet in force in June 2025
    assert future.target is None and future.spc_assurance is None
    per_incident = values["response_time_median_immediate"]  # never judged against a median
    assert per_incident.target is None and per_incident.spc_assurance is None
    assert per_incident.target_basis == "per_incident" and per_incident.better == "lower"


def test_a_bad_targets_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = _targets(
        tmp_path,
        "targets:\n"
        "  - {metric: victim_updates_on_time, value: 90, source: Plan, adopted: true}\n"
        "  - {metric: no_such_metric, value: 1, source: Plan}\n"
        "  - {metric: recorded_crime, value: 1, source: Plan}\n",
    )
    with pytest.raises(DefinitionError) as err:
        load_targets(path)
    text = str(err.value)
    assert f"{path}:2" in text and "between 0 and 1" in text
    assert f"{path}:3" in text and "no_such_metric" in text
    assert f"{path}:4" in text and "neutral" in text


def test_no_targets_file_means_no_targets(tmp_path: Path) -> None:
    assert load_targets(tmp_path / "targets.yaml").targets == ()


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "by"),
    [
        ("victim_updates_on_time", "ethnicity"),
        ("victim_updates_on_time", "unit"),
        ("compliance_by_right", "crime_type"),
        ("repeat_victimisation_rate", "sex"),
        ("response_time_median_prompt", "incident_type"),
    ],
)
def test_a_split_of_a_filtered_figure_adds_up_to_it(
    con: duckdb.DuckDBPyConnection, metric: str, by: str
) -> None:
    b = backend(con)
    filters = {"area": "North", "district": "Northbury"}
    total = compute(b, AS_OF, "rolling_12m", metrics=[metric], filters=filters).values
    split = compute(b, AS_OF, "rolling_12m", metrics=[metric], by=by, filters=filters).values
    everywhere = compute(b, AS_OF, "rolling_12m", metrics=[metric], by=by).values
    assert {v.current.denominator for v in split} != {v.current.denominator for v in everywhere}
    kind = total[0].kind
    for t in total:
        parts = [v for v in split if v.group[: len(t.group)] == t.group]
        assert parts
        if kind == "proportion" and CAT.metric(metric).count_distinct is None:
            assert sum(v.current.numerator for v in parts) == t.current.numerator
            assert sum(v.current.denominator for v in parts) == t.current.denominator
        elif kind == "median":
            assert sum(v.current.denominator for v in parts) == t.current.denominator


def test_a_filter_must_be_a_breakdown_of_the_metric(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(MetricsError, match="no breakdown 'areaa'"):
        compute(backend(con), AS_OF, metrics=["victim_updates_on_time"], filters={"areaa": "x"})
    result = compute(
        backend(con), AS_OF, metrics=["response_time_median_prompt"], filters={"ethnicity": "x"}
    )
    assert not result.values and "cannot be filtered by ethnicity" in result.notes[0]


# --- notes ------------------------------------------------------------------------------------


def test_a_blank_column_is_named_with_what_to_load() -> None:
    c = duckdb.connect()
    data.build(c)
    c.execute("UPDATE crimes SET recorded_at = NULL")
    result = compute(backend(c), AS_OF, metrics=["recorded_crime"])
    assert not result.values
    (note,) = result.notes
    assert "crimes.recorded_at is blank in every row" in note and "load crimes" in note


def test_a_missing_table_is_named() -> None:
    c = duckdb.connect()
    data.build(c)
    c.execute("DROP TABLE incidents")
    result = compute(backend(c), AS_OF, metrics=["response_time_median_prompt"])
    assert "there is no incidents table: load a incidents extract" in result.notes[0]


# --- SPC --------------------------------------------------------------------------------------


def test_a_flat_series_has_nothing_to_judge() -> None:
    reading = spc.analyse([18.0] * 24, spc.Polarity.lower_is_better, 15)
    assert reading is not None and reading.xmr is None
    assert reading.variation == spc.NO_VARIATION and reading.assurance is None
    assert set(reading.point_type) == {"common_cause"}
    # the series: 18 minutes in 23 of 24 months. The one moving range that is not zero
    # is screened out as an outlier, so the mean moving range is zero: still nothing to judge,
    # not 24 points of "concern"
    one_step = spc.analyse([18.0] * 11 + [19.0] + [18.0] * 12, spc.Polarity.lower_is_better)
    assert one_step is not None and one_step.variation == spc.NO_VARIATION
    assert "special_cause_concern" not in one_step.point_type
    varied = spc.analyse([18.0, 19.0, 17.0, 18.0] * 6, spc.Polarity.lower_is_better)
    assert varied is not None and varied.xmr is not None


def test_rebasing_judges_each_segment_on_its_own_limits() -> None:
    before, after = [50.0, 52.0, 49.0, 51.0, 50.0, 48.0] * 2, [70.0, 72.0, 69.0, 71.0, 70.0, 68.0]
    whole = spc.analyse(before + after, spc.Polarity.higher_is_better)
    assert whole is not None and whole.variation == "special_cause_improvement"
    rebased = spc.analyse(before + after, spc.Polarity.higher_is_better, rebase=[12])
    assert rebased is not None and rebased.variation == "common_cause"
    assert rebased.xmr is not None and rebased.xmr.mean == pytest.approx(70)
    assert rebased.point_xmr[0] is not None and rebased.point_xmr[0].mean == pytest.approx(50)
    # a rebase that would leave a one-point segment is ignored
    assert spc.segments(14, [13]) == [range(0, 14)]


def test_the_demo_ships_demoshires_own_targets_labelled_synthetic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vcop.cli.main_job import install_demo_targets

    monkeypatch.delenv("VCOP_TARGETS_FILE", raising=False)
    db = tmp_path / "vcop.duckdb"
    path = install_demo_targets(db)
    assert path == tmp_path / "targets.yaml"
    targets = load_targets(path)
    assert targets.targets and all("synthetic" in t.source for t in targets.targets)
    assert targets.for_metric("victim_updates_on_time", AS_OF).value == 0.9
    assert targets.for_metric("support_referral_on_time", AS_OF).value is None  # not adopted
    assert targets.for_metric("response_time_median_immediate", AS_OF).value is None
    # an edited file is left alone
    path.write_text("targets: []\n", "utf-8")
    assert install_demo_targets(db) is None and load_targets(path).targets == ()


def test_the_force_rebases_spc_in_its_own_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    metric = "needs_assessment_completion"
    plain = monthly_series(backend(con), CAT, metric, AS_OF)[()]
    judged = [p for p in plain.points if p.judged]
    month = judged[len(judged) // 2].month
    targets = load_targets(
        _targets(
            tmp_path,
            f"spc_rebase:\n  - {{metric: {metric}, month: {month}, reason: new triage unit}}\n",
        )
    )
    assert targets.rebase_months(metric) == (month,)
    rebased = monthly_series(backend(con), CAT, metric, AS_OF, targets=targets)[()]
    assert plain.reading is not None and rebased.reading is not None
    before, after = rebased.reading.point_xmr[0], rebased.reading.point_xmr[-1]
    assert before is not None and after is not None and before != after  # two segments
    assert len({x for x in plain.reading.point_xmr if x is not None}) == 1  # one, unrebased
    # the engine's reading of the value agrees with the series'
    value = compute(backend(con), AS_OF, "rolling_12m", metrics=[metric], targets=targets).values[0]
    assert value.spc_variation == rebased.reading.variation


def test_a_bad_rebase_names_its_line(tmp_path: Path) -> None:
    path = _targets(
        tmp_path,
        "spc_rebase:\n"
        "  - {metric: victim_updates_on_time, month: 2024-10-15, reason: new unit}\n"
        "  - {metric: nope, month: 2024-10-01, reason: x}\n",
    )
    with pytest.raises(DefinitionError) as err:
        load_targets(path)
    assert f"{path}:2" in str(err.value) and "not the first of a month" in str(err.value)
    assert f"{path}:3" in str(err.value) and "no metric 'nope'" in str(err.value)
