"""A release: the partner view of a month end, suppressed once — and what a reader can work out.

The audit (:mod:`vcop.metrics.disclosure`) is tested on hand-made sums; the release on a
hand-made ledger with the issue's two cases (a right minus its other obligations gives the hidden
one; one small obligation in one area hid whole rights) and on the seeded small force, where the
audit is run again over the published figures only, as a reader would.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import ibis
import pyarrow as pa
import pytest

from tests import test_metrics_data as metrics_data
from vcop.metrics import release
from vcop.metrics.disclosure import Cell, Model
from vcop.metrics.engine import MetricsError, quietly
from vcop.metrics.revisions import current_counts
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import load_catalogue
from vcop.store.db import ensure_schema

CAT = load_catalogue()
#: The catalogue's measures of the ledger: the hand-made force has nothing else to count, and its
#: other measures (empty there) would only cost each release a minute of queries.
LEDGER_CAT = CAT.model_copy(
    update={"metrics": tuple(m for m in CAT.metrics if m.source == "entitlements")}
)
AS_OF = date(2025, 6, 30)

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


# --- the audit on hand-made sums ----------------------------------------------------------------


def _count(key: str, atoms: list[str], n: int) -> Cell:
    return Cell(key, {"n": dict.fromkeys(atoms, 1)}, {"n": n})


def test_a_lone_hidden_part_is_the_total_minus_the_others() -> None:
    model = Model()
    model.add(_count("total", ["a", "b", "c"], 120))
    model.add(_count("a", ["a"], 4))
    model.add(_count("b", ["b"], 56))
    model.add(_count("c", ["c"], 60))
    (finding,) = model.audit({"a"}, threshold=10)
    assert (finding.key, finding.low, finding.high) == ("a", 4, 4)
    # a second hidden part leaves a range from 0 up: nothing recovered
    assert model.audit({"a", "b"}, threshold=10) == []


def test_a_hidden_part_bounded_within_the_threshold_is_recovered() -> None:
    model = Model()
    model.add(_count("total", ["a", "b"], 8))
    model.add(_count("a", ["a"], 3))
    model.add(_count("b", ["b"], 5))
    # both hidden, but the total says each is at most 8: a reader learns each is under 10 ...
    # ... yet zero is possible, so neither is pinned within 1..9
    assert model.audit({"a", "b"}, threshold=10) == []
    # a shortfall: 96 of 100 met reveals 4 missed
    prop = Model()
    prop.add(Cell("p", {"num": {"m": 1}, "den": {"m": 1, "x": 1}}, {"num": 96, "den": 100}))
    prop.add(Cell("met", {"n": {"m": 1}}, {"n": 96}))
    prop.add(Cell("all", {"n": {"m": 1, "x": 1}}, {"n": 100}))
    (finding,) = prop.audit({"p"}, threshold=10)
    assert finding.quantity == "shortfall" and finding.low == finding.high == 4


def test_months_add_up_to_their_quarter() -> None:
    model = Model()
    model.add(_count("q", ["apr", "may", "jun"], 150))
    model.add(_count("apr", ["apr"], 70))
    model.add(_count("may", ["may"], 73))
    model.add(_count("jun", ["jun"], 7))
    (finding,) = model.audit({"jun"}, threshold=10)
    assert finding.low == finding.high == 7
    assert model.audit({"jun", "may"}, threshold=10) == []


# --- a release on a hand-made ledger ------------------------------------------------------------

R6 = [
    "R6.suspect-arrested",
    "R6.suspect-interviewed",
    "R6.released-without-charge",
    "R6.bail-or-rui",
    "R6.charge-no-charge-oocd",
    "R6.cps-stop-or-alter",
]


def _ledger(
    rows: list[tuple[str, int | None, str, date, str]], as_of: date = AS_OF
) -> duckdb.DuckDBPyConnection:
    """A database with crimes in two areas and a ledger of (obligation, right, status, due, area)
    evaluated as of ``as_of``; each row is triggered 20 days before it is due and met on the day
    it is due."""
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(metrics_data.LEDGER_DDL)
    crimes: dict[str, list[Any]] = {k: [] for k in ("crime_id", "reported_at", "area")}
    ledger: dict[str, list[Any]] = {k: [] for k in ("i", "oid", "right", "due", "met", "status")}
    for i, (oid, right, status, due, area) in enumerate(rows):
        crimes["crime_id"].append(f"C{i}")
        crimes["reported_at"].append(
            datetime.combine(due - timedelta(days=20), datetime.min.time())
        )
        crimes["area"].append(area)
        met = (
            None if status in ("overdue", "pending") else datetime.combine(due, datetime.min.time())
        )
        for k, v in zip(ledger, (i, oid, right, due, met, status), strict=True):
            ledger[k].append(v)
    new_crimes = pa.table(crimes)  # noqa: F841 (read by the SQL below)
    new_rows = pa.table(ledger)  # noqa: F841
    con.execute(
        "INSERT INTO crimes (crime_id, reported_at, recorded_at, crime_type, area, district) "
        "SELECT crime_id, reported_at, reported_at, 'Burglary', area, area || ' district' "
        "FROM new_crimes"
    )
    con.execute(
        'INSERT INTO entitlements (victim_id, crime_id, obligation_id, "right", trigger_at, '
        "due_date, met_at, status, enhanced, as_of, definitions_hash) "
        "SELECT 'V' || i, 'C' || i, oid, \"right\", c.reported_at, due, met, status, false, ?, 'h' "
        "FROM new_rows JOIN new_crimes c ON c.crime_id = 'C' || i",
        [as_of],
    )
    return con


def _rows(oid: str, right: int, area: str, met: int, overdue: int) -> list[Any]:
    out: list[Any] = []
    for month in range(1, 13):  # due dates spread over the 12 months to June 2025
        first = date(2024 + (month + 5) // 12, (month + 5) % 12 + 1, 10)
        out += [(oid, right, "met", first, area)] * (met // 12)
        out += [(oid, right, "overdue", first, area)] * (overdue // 12)
    return out


def _hand_made_rows() -> list[Any]:
    rows: list[Any] = []
    for area in ("North", "South"):
        for oid in R6:
            if oid == "R6.cps-stop-or-alter":
                continue
            rows += _rows(oid, 6, area, 240, 60)
        # rights 9 and 11: no month, quarter or year with a count under 10
        rows += _rows("R9.case-outcome", 9, area, 240, 120)
        rows += _rows("R11.vcs-referral", 11, area, 240, 120)
    # the one small cell: a few missed CPS letters in North, in June only
    rows += [("R6.cps-stop-or-alter", 6, "overdue", date(2025, 6, 12), "North")] * 8
    return rows


@pytest.fixture(scope="module")
def hand_made() -> release.Release:
    con = _ledger(_hand_made_rows())
    with quietly():
        return release.build(
            ibis.duckdb.from_connection(con), AS_OF, threshold=10, catalogue=LEDGER_CAT
        )


def _by_obligation(rel: release.Release, period: str, by: str | None) -> dict[tuple, MetricValue]:
    return {v.group: v for v in rel.values(period, by, ["compliance_by_obligation"])}


def test_a_right_minus_its_other_obligations_does_not_give_the_hidden_one(
    hand_made: release.Release,
) -> None:
    for period in release.PERIODS:
        for by in (None, "area"):
            obligations = _by_obligation(hand_made, period, by)
            for v in hand_made.values(period, by, ["compliance_by_right"]):
                if v.group[0] != "6" or v.suppressed:
                    continue
                mine = [
                    o
                    for o in obligations.values()
                    if o.group[0].startswith("R6.") and o.group[1:] == v.group[1:]
                ]
                hidden = [o for o in mine if o.suppressed]
                assert len(hidden) != 1, (period, by, [o.group for o in hidden])


def test_one_small_obligation_does_not_hide_other_rights(hand_made: release.Release) -> None:
    for period in ("rolling_12m", "quarter", "month"):
        for v in hand_made.values(period, "area", ["compliance_by_right"]):
            if v.group[0] in ("9", "11"):
                assert not v.suppressed, (period, v.group)
        cps = hand_made.value(
            "compliance_by_obligation", period, "area", ("R6.cps-stop-or-alter", "North")
        )
        assert cps is not None and cps.suppressed and cps.current.value is None


def test_a_hidden_figure_carries_nothing_derived_from_it(hand_made: release.Release) -> None:
    hidden = [v for t in hand_made.tables.values() for v in t if v.suppressed]
    assert hidden
    for v in hidden:
        rec = v.record()
        for column in ("numerator", "denominator", "value", "ci_low", "ci_high", "change",
                       "p_value", "spc_variation", "spc_assurance", "provisional_share",
                       "benchmark"):  # fmt: skip
            assert rec[column] is None, column
        assert rec["spc_points"] == 0
    for by_group in hand_made.series.values():
        for s in by_group.values():
            if any(p.suppressed for p in s.points):
                assert s.reading is None
                assert all(
                    math.isnan(p.value) and p.numerator is None for p in s.points if p.suppressed
                )


def test_a_release_is_at_a_month_end() -> None:
    with pytest.raises(MetricsError, match="month end"):
        release.build(ibis.duckdb.connect(), date(2025, 6, 15))
    assert release.month_ends_before(date(2025, 6, 15)) == date(2025, 5, 31)
    assert release.month_ends_before(AS_OF) == AS_OF


# --- a reader with everything a release publishes ---------------------------------------------


@pytest.fixture(scope="module")
def small_force() -> tuple[release.Release, release.Release]:
    """The seeded small force's release, published and not."""
    con = duckdb.connect()
    metrics_data.build(con, crimes=1200)
    raw = _unpublished(ibis.duckdb.from_connection(con), AS_OF)
    return raw, release.publish(raw, CAT)


def _what_a_reader_sees(
    published: release.Release,
) -> tuple[dict[release.CellKey, dict[str, int]], set[release.CellKey]]:
    """Every figure ``published`` shows, with its counts, and every one it hides, keyed as the
    model keys them (read from the tables and series, as a reader reads them)."""
    seen: dict[release.CellKey, dict[str, int]] = {}
    hidden: set[release.CellKey] = set()
    for values in published.tables.values():
        for v in values:
            m = CAT.metric(v.metric_id)
            for e, seen_at in release._estimates(v):
                key = release.key_of(v, e, CAT, seen_at)
                if e.value is None and e.denominator is None and e.numerator is None:
                    hidden.add(key)
                else:
                    seen[key] = release._counts(e, m.kind)
    for metric_id, by_group in published.series.items():
        m = CAT.metric(metric_id)
        for group, s in by_group.items():
            for p in s.points:
                key = release.series_key(metric_id, group, p.month, published.as_of)
                if p.suppressed:
                    hidden.add(key)
                else:
                    e = release.Estimate(p.month, p.month, p.numerator, p.denominator, p.value)
                    seen[key] = release._counts(e, m.kind)
    return seen, hidden


def test_no_small_count_can_be_worked_out_from_a_release(
    small_force: tuple[release.Release, release.Release],
) -> None:
    raw, published = small_force
    figures = release.figures(raw, CAT)
    seen, hidden = _what_a_reader_sees(published)
    assert hidden and not hidden & set(seen)
    primary = {k for k, c in figures.model.cells.items() if c.small(10)}
    assert primary <= hidden
    assert published.primary == len(primary) and published.hidden >= len(primary)
    # every count the reader sees is the true one
    for key, counts in seen.items():
        assert counts == figures.model.cells[key].counts, key
    # a group missing from a table is zero there, and a reader knows it
    seen.update({k: figures.model.cells[k].counts or {} for k in figures.implied})
    assert figures.model.audit(hidden, 10, values=seen, check=primary) == []


def test_the_audit_finds_what_primary_suppression_alone_leaks(
    small_force: tuple[release.Release, release.Release],
) -> None:
    raw, _ = small_force
    figures = release.figures(raw, CAT)
    primary = {k for k, c in figures.model.cells.items() if c.small(10)}
    findings = figures.model.audit(primary, 10, check=primary)
    # hiding small cells alone: many are their total minus the others
    assert len(findings) > 10
    assert all(1 <= f.low <= f.high <= 9 for f in findings)


# --- a reader with every release published so far --------------------------------------------

#: The releases a partner has seen: three quarterly returns, then each month of the last quarter.
ENDS = (
    date(2024, 9, 30),
    date(2024, 12, 31),
    date(2025, 3, 31),
    date(2025, 4, 30),
    date(2025, 5, 31),
    AS_OF,
)


def _as_it_stood(rows: list[Any], end: date) -> list[Any]:
    """The hand-made ledger as evaluated on ``end``: rows triggered by then, with the status they
    had (a row not yet due is pending)."""
    out = []
    for oid, right, status, due, area in rows:
        if due - timedelta(days=20) > end:
            continue
        out.append((oid, right, status if due <= end else "pending", due, area))
    return out


def _unpublished(backend: ibis.BaseBackend, end: date, catalogue: Any = CAT) -> release.Release:
    original = release.publish
    try:
        release.publish = lambda rel, catalogue=None, known=None, revised=None: rel  # type: ignore[assignment]
        with quietly():
            return release.build(backend, end, threshold=10, catalogue=catalogue)
    finally:
        release.publish = original  # type: ignore[assignment]


def _to_vintage(v: MetricValue, day: date) -> MetricValue:
    def moved(c: Any) -> Any:
        return None if c is None else replace(c, seen_at=day)

    return replace(v, as_of=day, previous=moved(v.previous), year_ago=moved(v.year_ago))


def _moved(key: release.CellKey, day: date) -> release.CellKey:
    return (*key[:5], day)  # type: ignore[return-value]


InTurn = tuple[list[release.Release], release.Release, ibis.BaseBackend]


@pytest.fixture(scope="module")
def in_turn() -> InTurn:
    """The hand-made force's releases at :data:`ENDS`, each built from the ledger of its own month
    end and published knowing every figure published before (as the publication ledger keeps
    them); the latest unpublished; and the latest data."""
    rows = _hand_made_rows()
    known: dict[release.CellKey, dict[str, int]] = {}
    published = []
    backend = None
    for end in ENDS:
        backend = ibis.duckdb.from_connection(_ledger(_as_it_stood(rows, end), end))
        with quietly():
            rel = release.build(backend, end, threshold=10, catalogue=LEDGER_CAT, known=known)
        known.update(rel.visible)
        published.append(rel)
    assert backend is not None
    return published, _unpublished(backend, AS_OF, LEDGER_CAT), backend


@pytest.mark.slow
def test_no_small_count_can_be_worked_out_from_every_release_so_far(in_turn: InTurn) -> None:
    """The issue's "12 months minus three quarterly returns": the reader has the latest release
    and every earlier one (each as it stood at its month end). In this force nothing is revised
    after its month ends, so the reader may take every earlier figure as true today."""
    published, raw, _ = in_turn
    latest = AS_OF
    # the reader: every figure shown by any release, moved to today's data
    seen: dict[release.CellKey, dict[str, int]] = {}
    for rel in published:
        shown, _hidden = _what_a_reader_sees(rel)
        for key, counts in shown.items():
            moved = _moved(key, latest)
            assert seen.setdefault(moved, counts) == counts, ("revised", key)  # nothing revised
    # the figures of every release as today's data give them: the latest's true counts, and the
    # earlier ones' counts as published (a hidden one is left unknown)
    merged = release.Release(latest, 10)
    for rel in (*published[:-1], raw):
        for (period, by), values in rel.tables.items():
            merged.tables[(f"{period} of {rel.as_of}", by)] = [
                _to_vintage(v, latest) for v in values
            ]
        for metric_id, by_group in rel.series.items():
            merged.series.setdefault(metric_id, {}).update(by_group)
    figures = release.figures(merged, CAT)
    truth = release.figures(raw, CAT).model.cells
    for key, counts in seen.items():
        assert key not in truth or truth[key].counts == counts, key
    seen.update({k: figures.model.cells[k].counts or {} for k in figures.implied})
    hidden = set(figures.model.cells) - set(seen)
    primary = {k for k in hidden if k in truth and truth[k].small(10)}
    assert any(
        k[0] == "compliance_by_obligation" and k[3] == ("R6.cps-stop-or-alter",) for k in primary
    )
    assert figures.model.audit(hidden, 10, values=seen, check=primary) == []


def test_earlier_releases_figures_are_known_as_the_data_stand_now(in_turn: InTurn) -> None:
    published, raw, backend = in_turn
    latest = published[-1]
    assert latest.known > 0
    # counted again from today's data, a figure this release also publishes has its counts
    figures = release.figures(raw, CAT)
    earlier = [k for rel in published[:-1] for k in rel.visible]
    today = current_counts(backend, LEDGER_CAT, AS_OF, earlier)
    same = [k for k in today if k in figures.model.cells]
    assert same
    for k in same:
        assert today[k] == figures.model.cells[k].counts, k
