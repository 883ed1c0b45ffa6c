"""Satisfaction beside what the victim received (from_ledger breakdowns) and splits by the victim."""

from __future__ import annotations

import warnings
from datetime import date

import duckdb
import ibis
import pytest

from tests.webdata import AS_OF, build
from vcop.metrics.engine import Result
from vcop.metrics.engine import compute as _compute
from vcop.metrics.received import compare_received
from vcop.spec.metrics import check_catalogue, load_catalogue


def compute(*args: object, **kwargs: object) -> Result:
    with warnings.catch_warnings():
        # ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table() (as tests/webdata.py)
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        return _compute(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> object:
    return build(tmp_path_factory).db


def expected_on_time(db: object) -> dict[str, tuple[int, int]]:
    """(satisfied, answered) by whether every Right 6 update was on time, in plain SQL."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            """
            WITH flags AS (
              SELECT victim_id, crime_id, bool_and(status = 'met') AS all_met
              FROM entitlements WHERE "right" = 6 AND status IN ('met', 'late', 'overdue')
              GROUP BY ALL)
            SELECT CASE WHEN f.all_met IS NULL THEN 'no update due'
                        WHEN f.all_met THEN 'all updates on time'
                        ELSE 'not all updates on time' END,
                   count(*) FILTER (WHERE s.whole_experience <= 3), count(*)
            FROM survey_responses s LEFT JOIN flags f USING (victim_id, crime_id)
            WHERE s.survey = 'victim_satisfaction' AND s.whole_experience IS NOT NULL
              AND s.surveyed_at >= ? AND s.surveyed_at < ?
            GROUP BY 1
            """,
            [date(2024, 7, 1), date(2025, 7, 1)],
        ).fetchall()
    finally:
        con.close()
    return {g: (x, n) for g, x, n in rows}


def test_survey_rows_carry_the_victim(db: object) -> None:
    con = duckdb.connect(str(db), read_only=True)
    linked, joined = con.execute(
        "SELECT count(*) FILTER (WHERE s.victim_id IS NOT NULL), count(v.victim_id) "
        "FROM survey_responses s LEFT JOIN victims v USING (victim_id, crime_id)"
    ).fetchone()
    con.close()
    assert linked > 0 and joined == linked


def test_updates_on_time_split_matches_plain_sql(db: object) -> None:
    backend = ibis.duckdb.connect(str(db), read_only=True)
    result = compute(
        backend, AS_OF, metrics=["satisfaction_whole_experience"], by="updates_on_time"
    )
    got = {v.group[-1]: (v.current.numerator, v.current.denominator) for v in result.values}
    assert got == expected_on_time(db)
    assert set(got) >= {"all updates on time", "not all updates on time"}


@pytest.mark.parametrize(
    "by", ["needs_assessed", "referred", "age_band", "sex", "ethnicity", "disability"]
)
def test_splits_add_up_to_the_whole(db: object, by: str) -> None:
    backend = ibis.duckdb.connect(str(db), read_only=True)
    whole = compute(backend, AS_OF, metrics=["satisfaction_whole_experience"]).values[0]
    split = compute(backend, AS_OF, metrics=["satisfaction_whole_experience"], by=by).values
    assert len(split) > 1
    assert sum(v.current.denominator or 0 for v in split) == whole.current.denominator
    assert any(v.group[-1] != "not recorded" for v in split)


def test_the_gap_has_an_interval_and_a_test(db: object) -> None:
    backend = ibis.duckdb.connect(str(db), read_only=True)
    cat = load_catalogue()
    splits = {
        by: compute(backend, AS_OF, metrics=["satisfaction_whole_experience"], by=by).values
        for by in ("updates_on_time", "needs_assessed", "referred")
    }
    found = compare_received(cat, splits)
    assert [r.breakdown for r in found] == ["updates_on_time", "needs_assessed", "referred"]
    plain = expected_on_time(db)
    (x1, n1), (x2, n2) = plain["all updates on time"], plain["not all updates on time"]
    r = found[0]
    assert r.difference == pytest.approx(x1 / n1 - x2 / n2)
    assert r.interval is not None and r.interval[0] < r.difference < r.interval[1]
    assert r.p_value is not None and r.adjusted is not None and r.adjusted >= r.p_value
    lead = (
        "Victims whose updates were all on time were "
        if r.significant
        else "Satisfaction did not differ significantly between victims whose updates"
    )
    assert r.sentence().startswith(lead), r.sentence()
    assert "95% CI" in r.sentence()


def test_a_gap_is_claimed_only_when_significant() -> None:
    from datetime import date

    from vcop.metrics.received import Received
    from vcop.metrics.values import Estimate, MetricValue

    def value(x: int, n: int) -> MetricValue:
        return MetricValue(
            metric_id="satisfaction_whole_experience", kind="proportion", unit="proportion",
            period="rolling_12m", as_of=date(2025, 6, 30), breakdown=("updates_on_time",),
            group=("x",), current=Estimate(date(2024, 7, 1), date(2025, 6, 30), x, n, x / n),
            previous=None, year_ago=None, small_sample=n < 30,
        )  # fmt: skip

    gap = Received("updates_on_time", value(21, 25), value(13, 15), difference=-0.027,
                   interval=(-0.236, 0.237), p_value=0.8, adjusted=0.8, significant=False)  # fmt: skip
    text = gap.sentence()
    assert text.startswith("Satisfaction did not differ significantly between victims whose")
    assert "less satisfied" not in text and "\u22122.7 points" in text
    real = Received("updates_on_time", value(800, 1000), value(700, 1000), difference=0.1,
                    interval=(0.06, 0.14), p_value=0.001, adjusted=0.002, significant=True)  # fmt: skip
    assert real.sentence() == (
        "Victims whose updates were all on time were 10.0 points more satisfied than victims "
        "whose updates were not (95% CI 6.0 to 14.0 points)."
    )


def test_check_finds_a_bad_from_ledger_breakdown(tmp_path: object) -> None:
    import shutil
    from importlib import resources
    from pathlib import Path

    src = Path(str(resources.files("vcop.definitions").joinpath("metrics")))
    folder = Path(str(tmp_path)) / "metrics"
    shutil.copytree(src, folder)
    cat = folder / "catalogue.yaml"
    cat.write_text(
        cat.read_text().replace(
            "all: [{column: status, equals: met}]", "all: [{column: stattus, equals: met}]"
        )
    )
    problems = [str(p) for p in check_catalogue(folder)]
    assert any("updates_on_time" in p and "stattus" in p for p in problems), problems
