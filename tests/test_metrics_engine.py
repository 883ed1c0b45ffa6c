"""The metrics engine on DuckDB: against a plain-pandas oracle, and on hand-made cases.

The oracle (:func:`oracle`) reads the catalogue definitions and computes the current window's
figures with pandas, row by row, without Ibis — so the Ibis expressions (joins, windows, labels,
visibility, order statistics) are checked against an independent reading of the same definition.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pytest

from vcop.metrics.engine import MetricsError, compute, compute_metric
from vcop.metrics.periods import PeriodKind, Window, windows
from vcop.spec.metrics import Breakdown, Condition, Metric, load_catalogue
from vcop.spec.schema import load_schema
from vcop.store.db import ensure_schema


def _load(name: str) -> Any:
    """A sibling test module (pytest imports test modules by path, not by name)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


data = _load("test_metrics_data")
AS_OF: date = data.AS_OF
LEDGER_DDL: str = data.LEDGER_DDL
build = data.build
frames = data.frames
CAT = load_catalogue()
#: The catalogue with no maturity and no warm-up: the arithmetic alone, for the oracle tests
#: (the policy has tests of its own in test_metrics_policy.py).
RAW = CAT.model_copy(
    update={
        "metrics": tuple(
            m.model_copy(update={"maturity_days": 0, "warm_up_days": 0}) for m in CAT.metrics
        )
    }
)

# ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table() when it reads a table's schema
pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def force() -> tuple[duckdb.DuckDBPyConnection, dict[str, pd.DataFrame]]:
    con = duckdb.connect()
    build(con)
    return con, frames()


def backend(con: duckdb.DuckDBPyConnection) -> ibis.BaseBackend:
    return ibis.duckdb.from_connection(con)


# --- the oracle -------------------------------------------------------------------------------


def _visible(df: pd.DataFrame, table: str, as_of: date) -> pd.DataFrame:
    df = df.copy()
    cut = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time()))
    for c in load_schema().table(table).columns:
        if c.type == "datetime" and c.name in df:
            col = pd.to_datetime(df[c.name])
            df[c.name] = col.where(col < cut)
    return df


def _seconds(ts: pd.Series) -> pd.Series:
    """Whole seconds since 1970 (blank stays blank)."""
    return (ts - pd.Timestamp(0)) // pd.Timedelta(seconds=1)


def _source(f: dict[str, pd.DataFrame], name: str, as_of: date) -> pd.DataFrame:
    if name == "entitlements":
        return f["entitlements"].copy()
    if name == "victim_crimes":
        crimes = _visible(f["crimes"], "crimes", as_of)
        crimes = crimes[crimes.reported_at.notna()]
        t = f["victims"].merge(crimes, on="crime_id")
        t = t.sort_values(["victim_id", "reported_at", "crime_id"])
        t["days_since_previous_crime"] = _seconds(t.reported_at).groupby(t.victim_id).diff() / 86400
        return t
    if name == "referral_crimes":
        cut = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time()))
        made = pd.to_datetime(f["referrals"].referred_at)
        refs = _visible(f["referrals"][made.isna() | (made < cut)], "referrals", as_of)
        crimes = _visible(f["crimes"], "crimes", as_of)
        crimes = crimes[crimes.reported_at.notna()][["crime_id", "reported_at"]]
        return refs.merge(crimes, on="crime_id", how="left")
    if name == "contract_contacts":
        contacts = _visible(f["contacts"], "contacts", as_of)
        contacts = contacts[contacts.contact_at.notna()]
        cc = _visible(f["care_contracts"], "care_contracts", as_of)
        cc = cc[cc.agreed_at.notna()]
        t = contacts.merge(cc, on=["victim_id", "crime_id"])
        t = t[t.agreed_at <= t.contact_at]
        t = t.sort_values(["agreed_at", "contract_id"], ascending=False)
        t = t.drop_duplicates("contact_id")
        by = [
            None if pd.isna(p) else (False if pd.isna(c) else c == p)
            for c, p in zip(t.channel, t.preferred_channel, strict=True)
        ]
        return t.assign(by_preferred_channel=by)
    if name == "enhanced_eligibility":
        return _enhanced_eligibility(f, as_of)
    return _visible(f[name], name, as_of)


def _enhanced_eligibility(f: dict[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """Victims' crimes with eligibility for enhanced rights read afresh from the Code
    definitions (every condition but the assessment's) and identification by the as-of date."""
    from vcop.spec.code import load_code

    edition = load_code().editions[-1]
    crimes = _visible(f["crimes"], "crimes", as_of)
    crimes = crimes[crimes.reported_at.notna()]
    t = f["victims"].merge(crimes, on="crime_id").reset_index(drop=True)
    offence = t.offence_code.astype("string").str.strip().str.upper()

    def flag(col: str) -> pd.Series:
        return t[col].astype("boolean").fillna(False).astype(bool)

    eligible = pd.Series(False, index=t.index)
    for criterion in edition.eligibility.criteria:
        for c in criterion.when:
            if c.crime_flag or c.victim_flag:
                eligible |= flag(c.crime_flag or c.victim_flag or "")
            elif c.victim_age_under is not None:
                eligible |= (t.age_at_report < c.victim_age_under).fillna(False).astype(bool)
            elif c.offence_list is not None:
                codes = {x.upper() for x in edition.offence_lists.lists[c.offence_list].codes}
                eligible |= offence.isin(codes).fillna(False).astype(bool)
    na = f.get("needs_assessments", pd.DataFrame(columns=["victim_id", "crime_id"]))
    cut = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time()))
    if len(na):
        done = pd.to_datetime(na.completed_at)
        na = na[(done < cut) & na.enhanced_rights_identified.astype("boolean").fillna(False)]
    keys = set(zip(na.victim_id, na.crime_id, strict=True))
    identified = [(v, c) in keys for v, c in zip(t.victim_id, t.crime_id, strict=True)]
    return t.assign(eligible_enhanced=eligible, enhanced_identified=identified)


def _mask(df: pd.DataFrame, c: Condition) -> pd.Series:
    col = df[c.column]
    if c.op == "is_null":
        return col.isna() if c.value else col.notna()
    if c.op == "equals":
        return col == c.value
    if c.op == "not_equals":
        return col.isna() | (col != c.value)
    if c.op == "in":
        return col.isin(c.value)
    if c.op == "not_in":
        return col.isna() | ~col.isin(c.value)
    ops = {"gt": col.gt, "gte": col.ge, "lt": col.lt, "lte": col.le}
    return ops[c.op](c.value).fillna(False).astype(bool)


def _all(df: pd.DataFrame, conds: tuple[Condition, ...]) -> pd.Series:
    out = pd.Series(True, index=df.index)
    for c in conds:
        out &= _mask(df, c).fillna(False).astype(bool)
    return out


def _label(df: pd.DataFrame, f: dict[str, pd.DataFrame], b: Breakdown) -> pd.Series:
    if b.from_ledger is not None:  # every owed entitlement of the victim and crime meets `all`
        led = f["entitlements"]
        owed = led[_all(led, b.from_ledger.where)]
        flags = (
            owed.assign(_ok=_all(owed, b.from_ledger.all))
            .groupby(["victim_id", "crime_id"])["_ok"]
            .all()
            .reset_index()
        )
        raw = df[["victim_id", "crime_id"]].merge(flags, on=["victim_id", "crime_id"], how="left")[
            "_ok"
        ]
        raw.index = df.index
    elif b.column in df:
        raw = df[b.column]
    elif b.table == "crimes":
        raw = df[["crime_id"]].merge(
            f["crimes"][["crime_id", b.column]], on="crime_id", how="left"
        )[b.column]
        raw.index = df.index
    else:
        dim = f["victims"][["victim_id", "crime_id", b.column]]
        raw = df[["victim_id", "crime_id"]].merge(dim, on=["victim_id", "crime_id"], how="left")[
            b.column
        ]
        raw.index = df.index

    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return b.missing_label
        if b.labels is not None:
            return b.labels[bool(v)]
        if b.bands is not None:
            for band in b.bands:
                if (band.min is None or v >= band.min) and (band.max is None or v <= band.max):
                    return band.label
            return b.missing_label
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    return raw.map(one)


def oracle(
    f: dict[str, pd.DataFrame], metric: Metric, window: Window, as_of: date, by: str | None = None
) -> dict[tuple[str, ...], Any]:
    """The current-window figure per group: (num, den) | count | sorted values | mean."""
    df = _source(f, metric.source, as_of)
    df = df[_all(df, metric.where)]
    d = None
    for c in metric.date:
        col = pd.to_datetime(df[c]).dt.date
        d = col if d is None else d.where(d.notna(), col)
    df = df.assign(_d=d)
    df = df[df._d.notna() & (df._d >= window.start) & (df._d <= window.end)]
    if metric.measure is not None:
        a, b = (_seconds(pd.to_datetime(df[c])) for c in metric.measure.columns)
        df = df.assign(_v=(b - a) / (60 if metric.measure.kind == "minutes_between" else 86400))
        df = df[df._v.notna() & (df._v >= 0)]
    names = (*metric.grouping, *((by,) if by else ()))
    keys = []
    for i, name in enumerate(names):
        df = df.assign(**{f"_g{i}": _label(df, f, CAT.breakdown(name))})
        keys.append(f"_g{i}")
    out: dict[tuple[str, ...], Any] = {}
    groups = df.groupby(keys) if keys else [((), df)]
    for g, part in groups:
        g = g if isinstance(g, tuple) else (g,)
        if metric.kind == "proportion":
            num_mask = _all(part, metric.numerator)
            if metric.count_distinct:
                col = metric.count_distinct
                out[g] = (part[num_mask][col].nunique(), part[col].nunique())
            else:
                out[g] = (int(num_mask.sum()), len(part))
        elif metric.kind in ("count", "share"):
            out[g] = len(part)
        elif metric.kind == "median":
            out[g] = sorted(part._v)
        else:
            out[g] = (len(part), part._v.mean())
    if metric.kind == "share":
        # the whole: every group column but the category (share_of, right after group_by)
        cat = len(metric.group_by)
        totals: dict[tuple[str, ...], int] = {}
        for g, n in out.items():
            totals[g[:cat] + g[cat + 1 :]] = totals.get(g[:cat] + g[cat + 1 :], 0) + n
        out = {g: (n, totals[g[:cat] + g[cat + 1 :]]) for g, n in out.items()}
    return out


def _check(value: Any, kind: str, expected: Any) -> None:
    cur = value.current
    if kind in ("proportion", "share"):
        assert (cur.numerator, cur.denominator) == expected
    elif kind == "count":
        assert cur.numerator == expected
    elif kind == "median":
        assert cur.denominator == len(expected)
        assert cur.value == pytest.approx(statistics.median(expected), abs=1e-9)
    else:
        assert cur.denominator == expected[0]
        assert cur.value == pytest.approx(expected[1], rel=1e-9)


@pytest.mark.parametrize("period", list(PeriodKind))
def test_every_metric_matches_the_oracle(force: Any, period: PeriodKind) -> None:
    con, f = force
    result = compute(backend(con), AS_OF, period)
    assert result.notes == []
    window = windows(period, AS_OF).current
    by_metric: dict[str, dict[tuple[str, ...], Any]] = {}
    for v in result.values:
        by_metric.setdefault(v.metric_id, {})[v.group] = v
    assert set(by_metric) == set(CAT.metric_ids)
    for m in CAT.metrics:
        expected = oracle(f, m, window, AS_OF)
        got = by_metric[m.id]
        assert set(got) == set(expected), m.id
        for g, value in got.items():
            _check(value, m.kind, expected[g])


def _cover() -> list[tuple[str, str]]:
    """(metric, breakdown) pairs that use every breakdown at least once, on every kind of source."""
    pairs: dict[str, tuple[str, str]] = {}
    for m in CAT.metrics:
        for b in m.breakdowns:
            pairs.setdefault(f"{m.source}:{b}", (m.id, b))
    # two-way: one group per obligation (or reason) by a victim's characteristic / incident type
    pairs["grouped"] = ("compliance_by_obligation", "age_band")
    pairs["share"] = ("delay_reason_share", "incident_type")
    return sorted(set(pairs.values()))


@pytest.mark.parametrize(("metric_id", "by"), _cover())
def test_every_breakdown_matches_the_oracle(force: Any, metric_id: str, by: str) -> None:
    con, f = force
    metric = CAT.metric(metric_id)
    window = windows("rolling_12m", AS_OF).current
    values = compute_metric(backend(con), metric, AS_OF, "rolling_12m", by=by, catalogue=CAT)
    expected = oracle(f, metric, window, AS_OF, by)
    assert {v.group for v in values} == set(expected)
    for v in values:
        assert v.breakdown == (*metric.grouping, by)
        _check(v, metric.kind, expected[v.group])


def test_the_cover_uses_every_breakdown() -> None:
    used = {b for _, b in _cover()} | {g for m in CAT.metrics for g in m.grouping}
    assert used == {b.id for b in CAT.breakdowns}


def test_comparisons_are_the_oracles_earlier_windows(force: Any) -> None:
    con, f = force
    pw = windows("quarter", AS_OF)
    m = RAW.metric("support_referral_on_time")
    (v,) = compute_metric(backend(con), m, AS_OF, "quarter", catalogue=RAW)
    assert v.previous is not None and v.year_ago is not None
    prev = oracle(f, m, pw.previous, AS_OF)[()]
    year = oracle(f, m, pw.year_ago, AS_OF)[()]
    assert (v.previous.estimate.numerator, v.previous.estimate.denominator) == prev
    assert (v.year_ago.estimate.numerator, v.year_ago.estimate.denominator) == year
    assert v.current.value is not None
    assert v.previous.change == pytest.approx(v.current.value - prev[0] / prev[1])


def test_the_spc_series_is_the_oracles_months(force: Any) -> None:
    con, f = force
    m = RAW.metric("needs_assessment_on_time")
    (v,) = compute_metric(backend(con), m, AS_OF, "month", catalogue=RAW)
    pw = windows("month", AS_OF, CAT.settings.spc.months)
    series = []
    for w in pw.spc_months:
        got = oracle(f, m, w, AS_OF).get(())
        if got and got[1]:
            series.append(got[0] / got[1])
    from vcop.metrics import spc
    from vcop.metrics.engine import spc_rules

    reading = spc.analyse(series, spc.Polarity.higher_is_better, None, spc_rules(CAT))
    assert reading is not None
    assert (v.spc_variation, v.spc_points) == (reading.variation, len(series))
    # the synthetic force's compliance drifts upwards: a signal of improvement
    assert v.spc_variation == "special_cause_improvement"


def test_values_carry_their_stamp_and_sample_flags(force: Any) -> None:
    con, _ = force
    result = compute(
        backend(con), AS_OF, "month", metrics=["da_satisfaction_follow_up", "recorded_crime"]
    )
    assert {v.definitions_hash for v in result.values} == {result.definitions_hash}
    assert len(result.definitions_hash) == 16
    da = result.values[0]
    assert da.small_sample == ((da.current.denominator or 0) < CAT.settings.small_sample)


def test_the_benchmark_uses_the_history_there_is(force: Any) -> None:
    con, f = force
    m = CAT.metric("recorded_crime")
    (v,) = compute_metric(backend(con), m, AS_OF, "rolling_12m", catalogue=CAT)
    # data starts 2022-07-01: the benchmark is the two years before the current window
    history = Window(date(2022, 7, 1), date(2024, 6, 30))
    counted = oracle(f, m, history, AS_OF)[()]
    assert v.benchmark == pytest.approx(counted * 365 / history.days)
    assert v.benchmark_significant is not None
    (monthly,) = compute_metric(backend(con), m, AS_OF, "month", catalogue=CAT)
    assert monthly.benchmark is None


# --- hand-made cases --------------------------------------------------------------------------


def _ledger_db(
    rows: Sequence[tuple[str, str, int | None, date, str]], as_of: date = AS_OF
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(LEDGER_DDL)
    for i, (oid, status, right, due, vid) in enumerate(rows):
        con.execute(
            'INSERT INTO entitlements (victim_id, crime_id, obligation_id, "right", due_date, status, enhanced, as_of, definitions_hash) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'h')",
            [vid, f"C{i}", oid, right, due, status, i % 2 == 0, as_of],
        )
    return con


def test_compliance_counts_met_late_and_overdue_only() -> None:
    d = date(2025, 6, 10)
    rows = [
        ("R4.referral-to-support", s, 4, d, f"V{i}")
        for i, s in enumerate(["met", "met", "met", "late", "overdue", "pending", "not_applicable"])
    ]
    con = _ledger_db(rows)
    result = compute(
        backend(con), AS_OF, "month", metrics=["support_referral_on_time", "compliance_by_right"]
    )
    referral, by_right = result.values
    assert (referral.current.numerator, referral.current.denominator) == (3, 5)
    assert referral.current.value == pytest.approx(0.6)
    assert by_right.group == ("4",) and by_right.current.denominator == 5


def test_a_row_belongs_to_the_period_of_its_due_date() -> None:
    rows = [
        ("R4.referral-to-support", "met", 4, date(2025, 6, 1), "V1"),  # first day: in
        ("R4.referral-to-support", "met", 4, date(2025, 6, 30), "V2"),  # the as-of date: in
        ("R4.referral-to-support", "late", 4, date(2025, 5, 31), "V3"),  # previous month
        ("R4.referral-to-support", "overdue", 4, date(2024, 6, 15), "V4"),  # a year before
    ]
    con = _ledger_db(rows)
    (v,) = compute(
        backend(con), AS_OF, "month", metrics=["support_referral_on_time"], catalogue=RAW
    ).values
    assert (v.current.numerator, v.current.denominator) == (2, 2)
    assert v.previous is not None and v.previous.estimate.denominator == 1
    assert v.year_ago is not None and (
        v.year_ago.estimate.numerator,
        v.year_ago.estimate.denominator,
    ) == (0, 1)
    # the financial year runs April to March: 1 April is in, 31 March before it is last year's
    march = date(2025, 3, 31)
    rows = [
        ("R4.referral-to-support", "met", 4, date(2024, 4, 1), "V1"),
        ("R4.referral-to-support", "met", 4, march, "V2"),
        ("R4.referral-to-support", "late", 4, date(2024, 3, 31), "V3"),
    ]
    con = _ledger_db(rows, as_of=march)
    (fy,) = compute(
        backend(con), march, "fytd", metrics=["support_referral_on_time"], catalogue=RAW
    ).values
    assert (fy.current.start, fy.current.end) == (date(2024, 4, 1), march)
    assert (fy.current.numerator, fy.current.denominator) == (2, 2)
    assert fy.year_ago is not None and fy.year_ago.estimate.denominator == 1


def test_a_ledger_for_another_date_is_not_used() -> None:
    con = _ledger_db(
        [("R4.referral-to-support", "met", 4, date(2025, 6, 1), "V1")], as_of=date(2025, 5, 31)
    )
    result = compute(backend(con), AS_OF, "month")
    assert not any(v.metric_id == "support_referral_on_time" for v in result.values)
    assert any("evaluated as of 2025-05-31" in n for n in result.notes)
    con2 = duckdb.connect()
    ensure_schema(con2)
    result = compute(backend(con2), AS_OF, "month")
    assert any("no entitlement ledger" in n for n in result.notes)


def test_only_what_happened_by_the_as_of_date_counts() -> None:
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(LEDGER_DDL)
    rows = [
        # received on the as-of date, arrived 20 minutes later: counted
        ("I1", datetime(2025, 6, 30, 10, 0), "immediate", datetime(2025, 6, 30, 10, 20)),
        # received late on the as-of date, arrived after midnight: not yet arrived
        ("I2", datetime(2025, 6, 30, 23, 50), "immediate", datetime(2025, 7, 1, 0, 10)),
        ("I3", datetime(2025, 6, 2, 9, 0), "immediate", datetime(2025, 6, 2, 9, 12)),
        # arrival recorded before the call: a data error, left out
        ("I4", datetime(2025, 6, 3, 9, 0), "immediate", datetime(2025, 6, 3, 8, 0)),
    ]
    for iid, received, grade, arrived in rows:
        con.execute(
            "INSERT INTO incidents (incident_id, received_at, grade, arrived_at) VALUES (?, ?, ?, ?)",
            [iid, received, grade, arrived],
        )
    (v,) = compute(backend(con), AS_OF, "month", metrics=["response_time_median_immediate"]).values
    assert v.current.denominator == 2
    assert v.current.value == pytest.approx(16.0)  # median of 20 and 12 minutes


def test_survey_satisfied_is_the_top_three_answers_of_those_who_answered() -> None:
    con = duckdb.connect()
    ensure_schema(con)
    answers = [1, 2, 3, 4, 5, 7, None, 3]
    for i, a in enumerate(answers):
        con.execute(
            "INSERT INTO survey_responses (response_id, survey, surveyed_at, follow_up) VALUES (?, ?, ?, ?)",
            [f"S{i}", "victim_satisfaction", datetime(2025, 6, 5), a],
        )
    con.execute(
        "INSERT INTO survey_responses (response_id, survey, surveyed_at, follow_up) VALUES ('DA1', 'domestic_abuse', '2025-06-05', 1)"
    )
    result = compute(
        backend(con),
        AS_OF,
        "month",
        metrics=["satisfaction_follow_up", "da_satisfaction_follow_up"],
    )
    vs, da = result.values
    assert (vs.current.numerator, vs.current.denominator) == (4, 7)
    assert (da.current.numerator, da.current.denominator) == (1, 1)


def test_bad_requests_are_errors_or_notes(force: Any) -> None:
    con, _ = force
    be = backend(con)
    with pytest.raises(MetricsError, match="no metric"):
        compute(be, AS_OF, metrics=["satisfaction"])
    with pytest.raises(MetricsError, match="no breakdown"):
        compute(be, AS_OF, by="postcode")
    with pytest.raises(ValueError):
        compute(be, AS_OF, "week")
    result = compute(be, AS_OF, metrics=["recorded_crime", "repeat_victimisation_rate"], by="sex")
    assert [v.metric_id for v in result.values] == ["repeat_victimisation_rate"] * len(
        result.values
    )
    assert any("recorded_crime has no breakdown sex" in n for n in result.notes)
    with pytest.raises(MetricsError):
        compute_metric(be, CAT.metric("recorded_crime"), AS_OF, by="sex")


def test_the_stamp_changes_with_the_definitions(tmp_path: Any, force: Any) -> None:
    import shutil

    from vcop.spec.metrics import package_root

    con, _ = force
    root = tmp_path / "metrics"
    shutil.copytree(str(package_root()), root)
    same = load_catalogue(root)
    a = compute(backend(con), AS_OF, metrics=["recorded_crime"], catalogue=same).definitions_hash
    assert a == compute(backend(con), AS_OF, metrics=["recorded_crime"]).definitions_hash
    path = root / "crime_outcomes.yaml"
    path.write_text(
        path.read_text("utf-8").replace("The number of crimes", "The count of crimes"), "utf-8"
    )
    b = compute(
        backend(con), AS_OF, metrics=["recorded_crime"], catalogue=load_catalogue(root)
    ).definitions_hash
    assert a != b


def test_a_count_is_not_compared_with_a_window_before_the_data_starts() -> None:
    con = duckdb.connect()
    ensure_schema(con)
    day = date(2024, 7, 1)
    n = 0
    while day <= AS_OF:
        for k in range(3):
            con.execute(
                "INSERT INTO crimes (crime_id, reported_at, recorded_at, crime_type) VALUES (?, ?, ?, 'Burglary')",
                [f"C{n}", datetime.combine(day, time(9)), datetime.combine(day, time(10 + k))],
            )
            n += 1
        day += timedelta(days=1)
    (r12,) = compute(backend(con), AS_OF, "rolling_12m", metrics=["recorded_crime"]).values
    assert r12.current.numerator == 3 * 365
    assert r12.year_ago is None and r12.previous is None and r12.benchmark is None
    (month,) = compute(backend(con), AS_OF, "month", metrics=["recorded_crime"]).values
    assert month.previous is not None and month.previous.estimate.numerator == 3 * 31
    assert month.previous.p_value is not None and not month.previous.significant  # same daily rate
    assert month.year_ago is None
    assert month.spc_points == 12


# --- what the engine costs --------------------------------------------------------------------


def test_a_small_table_is_made_without_pandas_and_holds_its_values() -> None:
    from vcop.metrics.engine import _memtable

    data = {
        "n": [0, -1, 2**40, 7],
        "d": [date(1969, 12, 31), date(1970, 1, 1), date(2025, 6, 30), date(1900, 1, 1)],
        "s": ["", "North", "Ysgol Gymraeg – ŵ", "not recorded"],
    }
    t = _memtable(data, {"n": "int64", "d": "date", "s": "string"})
    con = ibis.duckdb.connect()
    rows = con.to_pyarrow(t).to_pylist()
    assert rows == [
        dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)
    ]
    empty = _memtable({"n": []}, {"n": "int64"})
    assert con.to_pyarrow(empty).num_rows == 0


def test_counting_by_day_gives_the_counts_of_every_row(force: Any) -> None:
    """The windows are joined to each day's counts (not to every row): a count over a window
    is still the number of its rows, whatever window and group."""
    from vcop.metrics import engine

    con, _ = force
    b = backend(con)
    metric = CAT.metric("recorded_crime")
    pw = windows(PeriodKind.rolling_12m, AS_OF, CAT.settings.spc.months)
    plan = engine._Plan.make(pw, pw.benchmark(3), count=True)
    rows = engine.metric_rows(b, metric, (CAT.breakdown("area"),), AS_OF, ()).mutate(
        _m=ibis.literal(0, type="int64")
    )
    by_day = engine._stacked_aggregates(b, metric, rows, plan, 1, 0.95)
    j = engine._windowed(rows, plan)
    by_row = {
        (int(r["_m"]), int(r["_w"]), (str(r["_g0"]),)): {"n": r["n"], "first": r["first"]}
        for r in engine._records(
            b, j.group_by(["_m", "_w", "_g0"]).aggregate(n=j.count(), first=j._d.min())
        )
    }
    assert by_day == by_row and len(by_day) > 20


def test_the_catalogue_is_computed_without_pandas(tmp_path: Path) -> None:
    """Importing pandas costs a quarter of a second of every `vcop metrics`, and the engine does
    not need it (Ibis would import it for its DuckDB result converter and for memtables)."""
    import subprocess

    db = tmp_path / "force.duckdb"
    con = duckdb.connect(str(db))
    build(con, crimes=300)
    con.close()
    script = (
        "import sys, datetime, duckdb, ibis\n"
        "from vcop.metrics.engine import compute\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        f"result = compute(ibis.duckdb.from_connection(con), datetime.date.fromisoformat({AS_OF.isoformat()!r}))\n"
        "assert len(result.values) > 50, result.notes\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_queries_are_compiled_without_fusing_selects(
    force: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ibis's pass that merges nested SELECTs is a third of compiling the engine's queries, and
    DuckDB flattens them itself: the engine compiles without it, gets the very same values, and
    leaves Ibis's option as it found it."""
    import contextlib

    from vcop.metrics import engine

    con, _ = force
    b = backend(con)
    fused: list[bool] = []
    real = b.compile

    def spy(*args: Any, **kwargs: Any) -> Any:
        fused.append(ibis.options.sql.fuse_selects)
        return real(*args, **kwargs)

    monkeypatch.setattr(b, "compile", spy)
    unfused = compute(b, AS_OF).values
    assert fused and not any(fused)
    assert ibis.options.sql.fuse_selects is True
    monkeypatch.setattr(engine, "_unfused_selects", contextlib.nullcontext)
    fused.clear()
    assert compute(b, AS_OF).values == unfused
    assert fused and all(fused)
    assert len(unfused) > 50


def test_earlier_windows_in_the_warm_up_are_not_counted_again(
    force: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provisional value is compared with the earlier windows as they stood at the same age,
    counted again; in the warm-up (a force's first year) the policy drops those comparisons, so
    they are not counted, and the values are the same as when they are."""
    from vcop.metrics import engine, policy

    con, _ = force
    b = backend(con)
    start = engine.data_start(b)
    assert start is not None
    as_of = month_end_of(start + timedelta(days=200))
    aged: list[int] = []
    for name in ("_flag_aggregates", "_stacked_aggregates"):
        real = getattr(engine, name)

        def spy(*args: Any, _real: Any = real) -> Any:
            plan = next(a for a in args if isinstance(a, engine._Plan))
            aged.append(len(plan.windows) == 1)
            return _real(*args)

        monkeypatch.setattr(engine, name, spy)
    warming = [m.id for m in CAT.metrics if policy.ready_from(start, m) is not None]
    skipped = compute(b, as_of, "month", metrics=warming).values
    assert skipped and not any(aged)
    monkeypatch.setattr(engine, "_compared", lambda *_: True)
    counted = compute(b, as_of, "month", metrics=warming).values
    assert any(aged)
    assert skipped == counted


def month_end_of(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
