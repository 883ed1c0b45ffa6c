"""Demoshire's criminal justice partners (vcop.synth.partners): CPS, witness care, courts, probation
and the Parole Board, and the police records that go with them (issue 12, item 6)."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from vcop.spec.schema import load_schema
from vcop.synth import generate
from vcop.synth.clock import WorkingDays, day_number
from vcop.synth.params import load_partner_params

END = date(2025, 6, 30)
LAST = "2025-06-30T23:59:59"
PARTNER_TABLES = (
    "agency_events",
    "agency_contacts",
    "review_requests",
    "complaints",
    "expense_claims",
    "interpretation_needs",
)
DATED = {
    "agency_events": ["event_at"],
    "agency_contacts": ["contact_at"],
    "review_requests": ["requested_at", "acknowledged_at", "completed_at"],
    "complaints": ["received_at", "acknowledged_at", "responded_at"],
    "expense_claims": ["received_at", "paid_at"],
    "interpretation_needs": ["identified_at", "provided_at"],
}
PREFIX = {
    "police": "DS-POL",
    "cps": "DS-CPS",
    "wcu": "DS-WCU",
    "hmcts": "DS-CRT",
    "hmpps": "DS-PRB",
    "parole_board": "DS-PB",
    "victim_hub": "DS-HUB",
}
#: The contact purpose each kind of partner event is followed by.
FOLLOWED_BY = {
    "not_guilty_plea": {"wcu_needs_assessment"},
    "witness_warned": {"required_to_give_evidence"},
    "bail_hearing_outcome": {"hearing_outcome"},
    "warrant_issued": {"hearing_outcome"},
    "rearrest_hearing_outcome": {"hearing_outcome"},
    "special_measures_decided": {"special_measures_outcome"},
    "appeal_lodged": {"appeal"},
    "appeal_outcome": {"appeal"},
    "vcs_accepted": {"vlo_first_contact"},
    "parole_review_started": {"parole_vps_offer"},
}
WD = WorkingDays(day_number(date(2021, 1, 1)), day_number(date(2027, 12, 31)))


def read(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def wd(a: str, b: str) -> int:
    """Working days from the day of ``a`` to the day of ``b`` (0: the same day)."""
    return WD.between(
        day_number(datetime.fromisoformat(a).date()), day_number(datetime.fromisoformat(b).date())
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three years, like `vcop demo`, at a quarter of the volume (enough for parole reviews)."""
    out = tmp_path_factory.mktemp("partners") / "demo"
    generate(out, seed=11, years=3, scale=0.25, end=END)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("partners") / "small"
    generate(out, seed=7, scale=0.02, end=END)
    return out


@pytest.fixture(scope="module")
def t(demo: Path) -> dict[str, list[dict[str, str]]]:
    names = (*PARTNER_TABLES, "crimes", "victims", "case_events", "contacts", "referrals")
    return {name: read(demo, name) for name in names}


# -- every obligation of the plan has its trigger and its response ------------------------------


def test_every_partner_event_and_contact_purpose_is_generated(t: dict) -> None:
    schema = load_schema()
    types = Counter(e["event_type"] for e in t["agency_events"])
    assert set(types) == set(schema.value_lists["agency_event_types"])
    purposes = Counter(k["purpose"] for k in t["agency_contacts"] if k["successful"] == "true")
    for purpose in (
        "stop_or_alter",
        "required_to_give_evidence",
        "wcu_needs_assessment",
        "hearing_outcome",
        "special_measures_outcome",
        "appeal",
        "bereaved_meeting_offer",
        "review_result",
        "vlo_first_contact",
        "vcs_key_stage",
        "parole_vps_offer",
    ):
        assert purposes[purpose] > 0, purpose
    assert {r["agency"] for r in t["review_requests"]} == {"police", "cps"}
    assert {c["agency"] for c in t["complaints"]} >= {"police", "cps", "wcu", "hmcts"}
    assert t["expense_claims"] and t["interpretation_needs"]
    assert any(k["purpose"] == "restorative_justice_info" for k in t["contacts"])
    assert any(r["service"] == "family_liaison" for r in t["referrals"])


def test_the_small_demo_has_the_court_journey(small: Path) -> None:
    types = {e["event_type"] for e in read(small, "agency_events")}
    assert types >= {
        "not_guilty_plea",
        "witness_warned",
        "bail_hearing_outcome",
        "hearing_outcome",
        "result_received",
        "vps_considered",
    }
    purposes = {k["purpose"] for k in read(small, "agency_contacts")}
    assert purposes >= {"wcu_needs_assessment", "required_to_give_evidence", "hearing_outcome"}
    assert any(k["purpose"] == "restorative_justice_info" for k in read(small, "contacts"))
    assert read(small, "expense_claims") and read(small, "interpretation_needs")


# -- consistency --------------------------------------------------------------------------------


def test_ids_are_pseudonymous_and_unique_per_agency(t: dict) -> None:
    keys = {
        "agency_events": "event_id",
        "agency_contacts": "contact_id",
        "review_requests": "request_id",
        "complaints": "complaint_id",
        "expense_claims": "claim_id",
        "interpretation_needs": "need_id",
    }
    for table, key in keys.items():
        seen = set()
        for row in t[table]:
            assert re.fullmatch(rf"{PREFIX[row['agency']]}-[A-Z]+-\d{{7}}", row[key]), row
            assert (row["agency"], row[key]) not in seen
            seen.add((row["agency"], row[key]))


def test_records_link_to_crimes_and_their_victims(t: dict) -> None:
    crimes = {c["crime_id"] for c in t["crimes"]}
    pairs = {(v["victim_id"], v["crime_id"]) for v in t["victims"]}
    for e in t["agency_events"]:
        assert e["crime_id"] in crimes
        if e["victim_id"]:
            assert (e["victim_id"], e["crime_id"]) in pairs, e
    for table in PARTNER_TABLES[1:]:
        for row in t[table]:
            assert (row["victim_id"], row["crime_id"]) in pairs, (table, row)


def test_dates_lie_between_the_report_and_the_extract_end(t: dict) -> None:
    reported = {c["crime_id"]: c["reported_at"] for c in t["crimes"]}
    for table, cols in DATED.items():
        for row in t[table]:
            for col in cols:
                if row[col]:
                    assert reported[row["crime_id"]] <= row[col] <= LAST, (table, col, row)
    for table, (start, *later) in DATED.items():
        for row in t[table]:
            for col in later:
                if row[col]:
                    assert row[col] >= row[start], (table, col, row)


def test_contacts_follow_the_event_they_are_about(t: dict) -> None:
    events = {(e["agency"], e["event_id"]): e for e in t["agency_events"]}
    linked = [k for k in t["agency_contacts"] if k["about_event_id"]]
    assert linked and len(linked) < len(t["agency_contacts"])  # some recorded without the event
    for k in linked:
        e = events[(k["agency"], k["about_event_id"])]  # the same agency's event
        assert e["crime_id"] == k["crime_id"]
        assert k["contact_at"] >= e["event_at"]
        if e["event_type"] in FOLLOWED_BY:
            assert k["purpose"] in FOLLOWED_BY[e["event_type"]], (k, e)
        if e["victim_id"]:
            assert e["victim_id"] == k["victim_id"]


def test_partner_events_follow_the_court_journey(t: dict) -> None:
    charged = {
        e["crime_id"]: e["event_at"] for e in t["case_events"] if e["event_type"] == "charged"
    }
    sentenced = {
        e["crime_id"]: e["event_at"] for e in t["case_events"] if e["event_type"] == "sentenced"
    }
    by_crime: dict[str, list[dict[str, str]]] = defaultdict(list)
    for e in t["agency_events"]:
        by_crime[e["crime_id"]].append(e)
    for crime_id, events in by_crime.items():
        assert crime_id in charged, "partners only act on charged crimes"
        assert all(e["event_at"] > charged[crime_id] for e in events)
        types = [e["event_type"] for e in events]
        for e in events:
            if e["event_type"] == "result_received":
                assert any(
                    h["event_type"] == "hearing_outcome" and h["event_at"] < e["event_at"]
                    for h in events
                )
            if e["event_type"] in ("vps_considered", "vcs_accepted", "appeal_lodged"):
                assert crime_id in sentenced, e
        if "parole_hearing" in types:
            assert "parole_review_started" in types
        if "appeal_outcome" in types:
            assert "appeal_lodged" in types
        if "witness_warned" in types:
            assert "not_guilty_plea" in types
    # The VPS considered at sentence had been offered.
    offered = {
        (k["victim_id"], k["crime_id"]): k["contact_at"]
        for k in t["contacts"]
        if k["purpose"] == "vps_offer"
    }
    considered = [e for e in t["agency_events"] if e["event_type"] == "vps_considered"]
    assert considered
    for e in considered:
        assert offered[(e["victim_id"], e["crime_id"])] <= e["event_at"]
    on_time = sum(e["event_at"] <= sentenced[e["crime_id"]] for e in considered) / len(considered)
    assert 0.85 < on_time <= 1.0


def test_police_records_for_the_new_obligations(t: dict) -> None:
    outcome = {c["crime_id"]: c["outcome_at"] for c in t["crimes"]}
    decided = {
        e["crime_id"]
        for e in t["case_events"]
        if e["event_type"] in ("charged", "out_of_court_disposal")
    }
    rj = [k for k in t["contacts"] if k["purpose"] == "restorative_justice_info"]
    assert all(k["crime_id"] in decided for k in rj)
    before = sum(k["contact_at"] <= outcome[k["crime_id"]] for k in rj) / len(rj)
    assert 0.7 < before < 0.9
    victims = {(v["victim_id"], v["crime_id"]): v for v in t["victims"]}
    rj_victims = {(k["victim_id"], k["crime_id"]) for k in rj}
    eligible = {p for p, v in victims.items() if p[1] in decided}
    assert 0.55 < len(rj_victims) / len(eligible) < 0.85
    charged = {
        e["crime_id"]: e["event_at"] for e in t["case_events"] if e["event_type"] == "charged"
    }
    offers = [k for k in t["agency_contacts"] if k["purpose"] == "bereaved_meeting_offer"]
    assert offers
    for k in offers:
        assert k["agency"] == "cps" and k["contact_at"] > charged[k["crime_id"]]
        assert victims[(k["victim_id"], k["crime_id"])]["bereaved_relative"] != "false"
    flo = [r for r in t["referrals"] if r["service"] == "family_liaison"]
    assert all(
        victims[(r["victim_id"], r["crime_id"])]["bereaved_relative"] != "false" for r in flo
    )
    bereaved = [p for p, v in victims.items() if v["bereaved_relative"] == "true"]
    assert 0.8 < len({(r["victim_id"], r["crime_id"]) for r in flo}) / len(bereaved) <= 1.0


# -- rates and delays ---------------------------------------------------------------------------


def _first_success_within(t: dict, trigger: str, purpose: str, days: int) -> float:
    """Share of (event, victim) pairs whose victim was told successfully within ``days`` WD."""
    victims: dict[str, list[str]] = defaultdict(list)
    for v in t["victims"]:
        victims[v["crime_id"]].append(v["victim_id"])
    told: dict[tuple[str, str], list[str]] = defaultdict(list)
    for k in t["agency_contacts"]:
        if k["purpose"] == purpose and k["successful"] == "true":
            told[(k["victim_id"], k["crime_id"])].append(k["contact_at"])
    n = met = 0
    for e in t["agency_events"]:
        if e["event_type"] != trigger or e["event_at"] > "2025-06-01":
            continue
        for vid in [e["victim_id"]] if e["victim_id"] else victims[e["crime_id"]]:
            n += 1
            met += any(
                at >= e["event_at"] and wd(e["event_at"], at) <= days
                for at in told[(vid, e["crime_id"])]
            )
    assert n > 10, trigger
    return met / n


@pytest.mark.parametrize(
    ("trigger", "purpose", "days", "lo", "hi"),
    [
        ("not_guilty_plea", "wcu_needs_assessment", 1, 0.7, 0.93),
        ("witness_warned", "required_to_give_evidence", 1, 0.7, 0.93),
        ("bail_hearing_outcome", "hearing_outcome", 5, 0.75, 0.97),
        ("special_measures_decided", "special_measures_outcome", 5, 0.6, 0.9),
        ("vcs_accepted", "vlo_first_contact", 20, 0.65, 0.92),
    ],
)
def test_most_contacts_are_on_time_some_late_a_few_never(
    t: dict, trigger: str, purpose: str, days: int, lo: float, hi: float
) -> None:
    assert lo < _first_success_within(t, trigger, purpose, days) < hi


def test_unsuccessful_attempts(t: dict) -> None:
    contacts = t["agency_contacts"]
    failed = sum(k["successful"] == "false" for k in contacts) / len(contacts)
    assert 0.03 < failed < 0.15
    assert all(k["channel"] for k in contacts)


def test_the_court_result_reaches_witness_care_within_days(t: dict) -> None:
    results: dict[str, list[str]] = defaultdict(list)
    for e in t["agency_events"]:
        if e["event_type"] == "result_received":
            results[e["crime_id"]].append(e["event_at"])
    hearings = [
        e
        for e in t["agency_events"]
        if e["event_type"] == "hearing_outcome" and e["event_at"] < "2025-06-01"
    ]
    within = sum(
        any(wd(h["event_at"], at) <= 5 for at in results[h["crime_id"]] if at >= h["event_at"])
        for h in hearings
    )
    assert 0.8 < within / len(hearings) < 0.97


def test_reviews_complaints_expenses_interpretation(t: dict) -> None:
    def share(rows: list[dict[str, str]], start: str, end: str, days: int) -> float:
        old = [r for r in rows if r[start] < "2025-03-01"]
        assert len(old) > 10
        return sum(bool(r[end]) and wd(r[start], r[end]) <= days for r in old) / len(old)

    vrr = [r for r in t["review_requests"] if r["agency"] == "police"]
    assert 0.6 < share(vrr, "requested_at", "completed_at", 30) < 0.9
    assert 0.7 < share(vrr, "requested_at", "acknowledged_at", 10) < 0.95
    assert all(r["outcome"] for r in t["review_requests"] if r["completed_at"])
    assert all(not r["outcome"] for r in t["review_requests"] if not r["completed_at"])
    answered = [
        {**c, "first": min(x for x in (c["acknowledged_at"], c["responded_at"]) if x)}
        for c in t["complaints"]
        if c["acknowledged_at"] or c["responded_at"]
    ]
    assert 0.7 < share(answered, "received_at", "first", 10) < 0.95
    assert 0.7 < share(t["expense_claims"], "received_at", "paid_at", 10) < 0.95
    warned = {
        (e["victim_id"], e["crime_id"])
        for e in t["agency_events"]
        if e["event_type"] == "witness_warned"
    }
    assert all((c["victim_id"], c["crime_id"]) in warned for c in t["expense_claims"])
    needs = t["interpretation_needs"]
    assert 0.015 < len(needs) / len(t["victims"]) < 0.04
    declined = [n for n in needs if n["declined"] == "true"]
    assert 0.04 < len(declined) / len(needs) < 0.2
    assert not any(n["provided_at"] for n in declined)
    column = next(
        c for c in load_schema().table("interpretation_needs").columns if c.name == "need"
    )
    assert {n["need"] for n in needs} == set(column.allowed or ())
    assert Counter(n["need"] for n in needs)["interpreter"] > len(needs) / 3


def test_volumes_are_plausible(t: dict) -> None:
    victims = len(t["victims"])
    assert 0.001 < len(t["review_requests"]) / victims < 0.02
    assert 0.001 < len(t["complaints"]) / victims < 0.01
    pleas = sum(e["event_type"] == "not_guilty_plea" for e in t["agency_events"])
    with_victims = {v["crime_id"] for v in t["victims"]}
    charged = sum(
        e["event_type"] == "charged" and e["crime_id"] in with_victims for e in t["case_events"]
    )
    assert 0.2 < pleas / charged < 0.6  # the rest plead guilty (or the charge is too recent)


# -- determinism and parameters -----------------------------------------------------------------


def test_same_seed_same_partner_files_other_seed_other_files(tmp_path: Path, small: Path) -> None:
    generate(tmp_path / "again", seed=7, scale=0.02, end=END)
    generate(tmp_path / "other", seed=8, scale=0.02, end=END)
    for table in PARTNER_TABLES:
        name = f"{table}.csv"
        assert (tmp_path / "again" / name).read_bytes() == (small / name).read_bytes()
    assert (tmp_path / "other" / "agency_events.csv").read_bytes() != (
        small / "agency_events.csv"
    ).read_bytes()


def test_partner_parameters_load_and_add_up() -> None:
    p = load_partner_params()
    assert p.deadlines_wd["vlo_first_contact"] == 20
    assert p.deadlines_wd["expenses"] == 10 and p.deadlines_wd["complaint"] == 10
    assert 0 < p.rate("complaint") < 0.05
    assert sum(p.mix("vrr_outcome").values()) == pytest.approx(1.0)
