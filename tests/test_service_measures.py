"""The victim-services measures (definitions/metrics/victim_services.yaml) on a hand-made force.

Every row of the fixture sits on one side of one condition of a definition: a referral made after
the as-of date, a declined referral dated by its crime, an outcome not yet known, a referral
recorded before its crime was reported, an assessment with six of seven questions, a contact on
the very instant a new care contract was agreed, a contract agreed after the as-of date … Each
metric's June 2025 figure is checked against an independent SQL query on the same tables, and
against the count worked out by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import ibis
import pytest

from vcop.metrics.engine import compute_metric
from vcop.metrics.relations import contract_contacts, referral_crimes
from vcop.spec.metrics import load_catalogue
from vcop.store.db import ensure_schema

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

AS_OF = date(2025, 6, 30)
CAT = load_catalogue()
#: June 2025 in SQL: the month the figures are for, and the first instant after the as-of date.
JUNE = "DATE '2025-06-01' AND DATE '2025-06-30'"
CUT = "TIMESTAMP '2025-07-01 00:00:00'"


def _t(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


CRIMES = [
    # crime_id, reported_at, recorded_at, crime_type, area, district
    ("C1", "2025-06-02 09:00", "2025-06-02 10:30", "Burglary", "North", "Northbury"),  # 90 min
    ("C2", "2025-06-03 08:00", "2025-06-04 10:00", "Robbery", "South", "Ashcaster"),  # 1560 min
    ("C3", "2025-06-05 12:00", "2025-06-05 11:00", "Burglary", "North", "Northbury"),  # before
    ("C4", "2025-06-06 12:00", "2025-06-06 13:00", "Anti-social behaviour", "North", "Hollowfen"),
    ("C5", "2025-06-10 10:00", "2025-07-02 10:00", "Burglary", "South", "Ashcaster"),  # later
    ("C6", "2025-05-20 10:00", "2025-06-01 10:00", "Robbery", "North", "Hollowfen"),  # 17280
    ("C7", "2025-05-01 10:00", "2025-05-01 12:00", "Burglary", "North", "Northbury"),  # May
    ("C8", "2025-06-20 10:00", None, "Burglary", "North", "Northbury"),  # not recorded
]
VICTIMS = [("V1", "C1"), ("V2", "C2"), ("V5", "C5"), ("V6", "C6"), ("V7", "C7")]
REFERRALS = [
    # id, victim, crime, service, referred_at, consent, outcome
    ("R1", "V1", "C1", "victim_hub", "2025-06-03 09:00", "given", "engaged"),
    ("R2", "V2", "C2", "victim_hub", None, "declined", None),  # dated by C2's report (June)
    ("R3", "V1", "C1", "idva", "2025-06-04 09:00", "not_asked", "no_contact"),
    ("R4", "V2", "C2", "victim_hub", "2025-07-05 09:00", "given", "engaged"),  # after as-of
    ("R5", "V6", "C6", "victim_hub", "2025-05-25 10:00", "given", "accepted"),  # May
    ("R6", "V6", "C6", "isva", "2025-06-15 10:00", "given", "declined_support"),
    ("R7", "V1", "C1", "victim_hub", "2025-06-10 09:00", "given", "accepted"),
    ("R8", "V9", "CX", "victim_hub", "2025-06-11 09:00", "given", None),  # crime not loaded
    ("R9", "V5", "C5", "victim_hub", None, "declined", None),  # C5 reported in June
    ("R10", "V7", "C7", "victim_hub", None, "declined", None),  # C7 reported in May
    ("R11", "V1", "C1", "sarc", "2025-06-01 08:00", "given", "engaged"),  # before the report
]
ASSESSMENTS = [
    # id, victim, crime, completed_at, questions_answered
    ("N1", "V1", "C1", "2025-06-03 10:00", 7),
    ("N2", "V2", "C2", "2025-06-04 10:00", 6),
    ("N3", "V6", "C6", "2025-06-05 10:00", 8),
    ("N4", "V1", "C1", "2025-06-06 10:00", None),
    ("N5", "V5", "C5", None, 7),  # not completed
    ("N6", "V5", "C5", "2025-07-01 10:00", 7),  # after the as-of date
    ("N7", "V7", "C7", "2025-05-10 10:00", 7),  # May
]
CONTRACTS = [
    # id, victim, crime, agreed_at, preferred_channel
    ("K1", "V1", "C1", "2025-06-02 12:00", "phone"),
    ("K2", "V1", "C1", "2025-06-15 12:00", "email"),  # replaces K1
    ("K3", "V2", "C2", "2025-06-05 12:00", None),  # no channel named
    ("K4", "V6", "C6", "2025-07-01 12:00", "letter"),  # after the as-of date
]
CONTACTS = [
    # id, victim, crime, contact_at, purpose, successful, channel
    ("T1", "V1", "C1", "2025-06-03 10:00", "update", True, "phone"),  # K1: yes
    ("T2", "V1", "C1", "2025-06-10 10:00", "vcc_update", True, "email"),  # K1: no
    ("T3", "V1", "C1", "2025-06-16 10:00", "update", True, "email"),  # K2: yes
    ("T4", "V1", "C1", "2025-06-17 10:00", "update", False, "email"),  # not successful
    ("T5", "V1", "C1", "2025-06-18 10:00", "charged", True, "email"),  # not an update
    ("T6", "V1", "C1", "2025-06-19 10:00", "update", True, None),  # channel blank: no
    ("T7", "V1", "C1", "2025-06-01 10:00", "update", True, "phone"),  # before any contract
    ("T8", "V2", "C2", "2025-06-06 10:00", "update", True, "phone"),  # contract names none
    ("T9", "V6", "C6", "2025-06-20 10:00", "update", True, "letter"),  # contract not yet
    ("T10", "V1", "C1", "2025-07-01 10:00", "update", True, "email"),  # after the as-of date
    ("T11", "V1", "C1", "2025-06-15 12:00", "update", True, "email"),  # the instant K2 begins
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    ensure_schema(c)
    for cid, rep, rec, ctype, area, district in CRIMES:
        c.execute(
            "INSERT INTO crimes (crime_id, reported_at, recorded_at, crime_type, area, district, "
            "unit) VALUES (?, ?, ?, ?, ?, ?, 'U1')",
            [cid, _t(rep), _t(rec), ctype, area, district],
        )
    for vid, cid in VICTIMS:
        c.execute("INSERT INTO victims (victim_id, crime_id) VALUES (?, ?)", [vid, cid])
    for rid, vid, cid, service, at, consent, outcome in REFERRALS:
        c.execute(
            "INSERT INTO referrals (referral_id, victim_id, crime_id, service, referred_at, "
            "consent, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [rid, vid, cid, service, _t(at), consent, outcome],
        )
    for aid, vid, cid, at, answered in ASSESSMENTS:
        c.execute(
            "INSERT INTO needs_assessments (assessment_id, victim_id, crime_id, completed_at, "
            "questions_answered) VALUES (?, ?, ?, ?, ?)",
            [aid, vid, cid, _t(at), answered],
        )
    for kid, vid, cid, at, channel in CONTRACTS:
        c.execute(
            "INSERT INTO care_contracts (contract_id, victim_id, crime_id, agreed_at, "
            "update_interval_days, preferred_channel) VALUES (?, ?, ?, ?, 14, ?)",
            [kid, vid, cid, _t(at), channel],
        )
    for tid, vid, cid, at, purpose, ok, channel in CONTACTS:
        c.execute(
            "INSERT INTO contacts (contact_id, victim_id, crime_id, contact_at, purpose, "
            "successful, channel) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [tid, vid, cid, _t(at), purpose, ok, channel],
        )
    return c


def _june(
    con: duckdb.DuckDBPyConnection, metric_id: str, by: str | None = None
) -> dict[tuple[str, ...], Any]:
    """The June 2025 figure per group: (numerator, denominator) or (median, n)."""
    metric = CAT.metric(metric_id)
    values = compute_metric(
        ibis.duckdb.from_connection(con), metric, AS_OF, "month", by=by, catalogue=CAT
    )
    out: dict[tuple[str, ...], Any] = {}
    for v in values:
        cur = v.current
        if metric.kind == "median":
            out[v.group] = (cur.value, cur.denominator)
        else:
            out[v.group] = (cur.numerator, cur.denominator)
    return out


def _sql(con: duckdb.DuckDBPyConnection, query: str) -> dict[tuple[str, ...], Any]:
    rows = con.execute(query).fetchall()
    return {tuple(str(x) for x in r[:-2]): (r[-2], r[-1]) for r in rows}


def test_the_family_is_in_the_catalogue() -> None:
    ours = [m for m in CAT.metrics if m.family == "victim_services"]
    assert {m.id for m in ours} == {
        "referral_consent_rate",
        "referral_engagement_rate",
        "referral_outcome_share",
        "referral_days_median",
        "needs_assessment_questions_complete",
        "vcc_updates_preferred_channel",
        "crime_recording_minutes_median",
    }
    assert all(m.local_measure for m in ours)
    # declining consent is the victim's choice: neither better nor worse service
    assert CAT.metric("referral_consent_rate").polarity == "neutral"
    assert "not a failure" in CAT.metric("referral_consent_rate").description


def test_referral_consent_rate(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "referral_consent_rate")
    expected = _sql(
        con,
        f"""
        SELECT r.service, count(*) FILTER (WHERE r.consent = 'given'), count(*)
        FROM referrals r
        LEFT JOIN (SELECT crime_id, reported_at FROM crimes WHERE reported_at < {CUT}) c
          ON c.crime_id = r.crime_id
        WHERE r.consent IN ('given', 'declined')
          AND (r.referred_at IS NULL OR r.referred_at < {CUT})
          AND CAST(coalesce(r.referred_at, c.reported_at) AS DATE) BETWEEN {JUNE}
        GROUP BY 1
        """,
    )
    assert got == expected
    # the hub: R1, R7, R8 given; R2, R9 declined (dated by their crimes). Not R4 (after the
    # as-of date), R5 (May), R10 (crime reported in May). IDVA: only not_asked, so no figure.
    assert got == {
        ("victim_hub",): (3, 5),
        ("isva",): (1, 1),
        ("sarc",): (1, 1),
    }


def test_referral_consent_rate_by_area(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "referral_consent_rate", by="area")
    # R8's crime is not loaded: its area is not recorded
    assert got == {
        ("victim_hub", "North"): (2, 2),
        ("victim_hub", "South"): (0, 2),
        ("victim_hub", "not recorded"): (1, 1),
        ("isva", "North"): (1, 1),
        ("sarc", "North"): (1, 1),
    }


def test_referral_engagement_rate(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "referral_engagement_rate")
    expected = _sql(
        con,
        f"""
        SELECT service, count(*) FILTER (WHERE outcome IN ('engaged', 'accepted')), count(*)
        FROM referrals
        WHERE referred_at < {CUT} AND outcome IS NOT NULL
          AND CAST(referred_at AS DATE) BETWEEN {JUNE}
        GROUP BY 1
        """,
    )
    assert got == expected
    # R8 has no outcome yet; R4 is after the as-of date; declined_support is not engagement
    assert got == {
        ("victim_hub",): (2, 2),
        ("idva",): (0, 1),
        ("isva",): (0, 1),
        ("sarc",): (1, 1),
    }


def test_referral_days_median(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "referral_days_median")
    expected = _sql(
        con,
        f"""
        SELECT r.service,
               median(epoch(r.referred_at) - epoch(c.reported_at)) / 86400, count(*)
        FROM referrals r JOIN crimes c USING (crime_id)
        WHERE r.referred_at < {CUT} AND c.reported_at < {CUT}
          AND r.referred_at >= c.reported_at
          AND CAST(r.referred_at AS DATE) BETWEEN {JUNE}
        GROUP BY 1
        """,
    )
    assert got.keys() == expected.keys()
    for g, (value, n) in got.items():
        assert n == expected[g][1]
        assert value == pytest.approx(expected[g][0], abs=1e-9)
    # the hub: R1 1 day, R7 8 days (R8's crime is not loaded); SARC's only referral is recorded
    # before its crime was reported (a data error), so SARC has no figure
    assert got[("victim_hub",)] == (pytest.approx(4.5), 2)
    assert got[("isva",)] == (pytest.approx(26.0), 1)
    assert ("sarc",) not in got


def test_needs_assessment_questions_complete(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "needs_assessment_questions_complete")
    expected = _sql(
        con,
        f"""
        SELECT count(*) FILTER (WHERE questions_answered >= 7), count(*)
        FROM needs_assessments
        WHERE completed_at < {CUT} AND CAST(completed_at AS DATE) BETWEEN {JUNE}
        """,
    )
    assert got == expected
    # N1 (7) and N3 (8) of N1-N4; N2 has 6, N4 no count
    assert got == {(): (2, 4)}


def test_vcc_updates_preferred_channel(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "vcc_updates_preferred_channel")
    expected = _sql(
        con,
        f"""
        WITH k AS (
            SELECT t.contact_id, t.channel, c.preferred_channel,
                   row_number() OVER (PARTITION BY t.contact_id
                                      ORDER BY c.agreed_at DESC, c.contract_id DESC) AS n
            FROM contacts t JOIN care_contracts c
              ON c.victim_id = t.victim_id AND c.crime_id = t.crime_id
             AND c.agreed_at <= t.contact_at
            WHERE t.contact_at < {CUT} AND c.agreed_at < {CUT}
              AND t.purpose IN ('update', 'vcc_update') AND t.successful
              AND CAST(t.contact_at AS DATE) BETWEEN {JUNE}
        )
        SELECT count(*) FILTER (WHERE channel IS NOT NULL AND channel = preferred_channel),
               count(*)
        FROM k WHERE n = 1 AND preferred_channel IS NOT NULL
        """,
    )
    assert got == expected
    # T1 (K1 phone), T3 and T11 (K2 email) of T1, T2, T3, T6, T11
    assert got == {(): (3, 5)}


def test_vcc_updates_preferred_channel_by_channel(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "vcc_updates_preferred_channel", by="preferred_channel")
    assert got == {("phone",): (1, 2), ("email",): (2, 3)}


def test_crime_recording_minutes_median(con: duckdb.DuckDBPyConnection) -> None:
    got = _june(con, "crime_recording_minutes_median")
    expected = _sql(
        con,
        f"""
        SELECT median(epoch(recorded_at) - epoch(reported_at)) / 60, count(*)
        FROM crimes
        WHERE recorded_at < {CUT} AND reported_at < {CUT} AND recorded_at >= reported_at
          AND crime_type <> 'Anti-social behaviour'
          AND CAST(recorded_at AS DATE) BETWEEN {JUNE}
        """,
    )
    assert got == {(): (pytest.approx(expected[()][0]), expected[()][1])}
    # C1 90, C2 1,560 and C6 17,280 minutes; not C3 (recorded before reported), C4 (ASB),
    # C5 (recorded after the as-of date), C7 (May), C8 (not recorded)
    assert got == {(): (pytest.approx(1560.0), 3)}
    by_area = _june(con, "crime_recording_minutes_median", by="area")
    assert by_area == {("North",): (pytest.approx((90 + 17280) / 2), 2), ("South",): (1560.0, 1)}


def test_referral_crimes_sees_only_the_as_of_date(con: duckdb.DuckDBPyConnection) -> None:
    backend = ibis.duckdb.from_connection(con)
    rows = referral_crimes(backend, date(2025, 6, 5)).to_pyarrow().to_pylist()
    ids = {r["referral_id"] for r in rows}
    # made by 5 June, or never made; not R6, R7, R8 (made later) or R4
    assert ids == {"R1", "R2", "R3", "R5", "R9", "R10", "R11"}
    reported = {r["referral_id"]: r["reported_at"] for r in rows}
    assert reported["R9"] is None  # C5 was reported on 10 June: not yet
    assert reported["R1"] == datetime(2025, 6, 2, 9)


def test_contract_contacts_takes_the_contract_in_force(con: duckdb.DuckDBPyConnection) -> None:
    backend = ibis.duckdb.from_connection(con)
    rows = contract_contacts(backend, AS_OF).to_pyarrow().to_pylist()
    contract = {r["contact_id"]: r["contract_id"] for r in rows}
    assert contract["T1"] == contract["T2"] == "K1"
    assert contract["T3"] == contract["T11"] == "K2"
    assert "T7" not in contract  # before any contract
    assert "T9" not in contract  # its contract is agreed after the as-of date
    assert "T10" not in contract  # made after the as-of date
    by = {r["contact_id"]: r["by_preferred_channel"] for r in rows}
    assert (by["T1"], by["T2"], by["T6"], by["T8"]) == (True, False, False, None)
    # as of 14 June: K2 is not yet agreed and only T1, T2, T8 (and T7, before K1) were made
    earlier = contract_contacts(backend, date(2025, 6, 14)).to_pyarrow().to_pylist()
    assert {r["contact_id"]: r["contract_id"] for r in earlier} == {
        "T1": "K1",
        "T2": "K1",
        "T8": "K3",
    }
