"""A small seeded force for the metric tests: canonical tables plus a hand-built ledger.

The ledger here is made by this module, not by the rules engine, so the metric tests stand on
their own: one row per victim, crime and obligation, with statuses drawn at random.
:func:`build` writes everything into a DuckDB connection; the tests in this module check the
builder itself.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from vcop.store.db import ensure_schema

AS_OF = date(2025, 6, 30)
START = date(2022, 7, 1)

LEDGER_DDL = """
CREATE TABLE entitlements (
    victim_id VARCHAR, crime_id VARCHAR, obligation_id VARCHAR, "right" BIGINT, owner VARCHAR,
    title VARCHAR, trigger_type VARCHAR, trigger_event_id VARCHAR, trigger_at TIMESTAMP,
    due_date DATE, met_at TIMESTAMP, met_by_id VARCHAR, status VARCHAR, enhanced BOOLEAN,
    enhanced_reason VARCHAR, reason VARCHAR, code_status VARCHAR, code_edition VARCHAR,
    as_of DATE, definitions_hash VARCHAR
)
"""

CRIME_TYPES = [
    "Burglary",
    "Violence and sexual offences",
    "Shoplifting",
    "Vehicle crime",
    "Public order",
]
DISTRICTS = {"Northbury": "North", "Hollowfen": "North", "Ashcaster": "South", "Brackmoor": "South"}
INCIDENT_TYPES = ["Burglary dwelling", "Domestic abuse", "Domestic incident", "Assault", "Theft"]
DELAYS = ["resource_availability", "travel_distance", "caller_request"]
OBLIGATIONS = [
    ("R4.needs-assessment", 4),
    ("R4.referral-to-support", 4),
    ("R6.suspect-arrested", 6),
    ("R6.care-contract-agreed", 6),
    ("R6.investigation-updates", 6),
    ("R11.vcs-referral", 11),
    ("local.supervisory-review", None),
]


def _ts(r: random.Random, start: date, end: date) -> datetime:
    span = (end - start).days
    return datetime.combine(start, datetime.min.time()) + timedelta(
        days=r.randrange(span + 1), minutes=r.randrange(24 * 60)
    )


def frames(seed: int = 7, crimes: int = 2400, as_of: date = AS_OF) -> dict[str, pd.DataFrame]:
    """The tables, as data frames (deterministic for a seed)."""
    r = random.Random(seed)
    districts = list(DISTRICTS)
    crime_rows, victim_rows, ledger_rows = [], [], []
    repeat_pool: list[str] = []
    for i in range(crimes):
        cid = f"C{i:05d}"
        reported = _ts(r, START, as_of + timedelta(days=20))  # a few after the as-of date
        district = r.choice(districts)
        outcome = (
            r.choice([1, 1, 2, 3, 6, 8, 9, 10, 14, 15, 16, 18, 18, 18, 20, 21, 22])
            if r.random() < 0.7
            else None
        )
        outcome_at = reported + timedelta(days=r.randrange(1, 200)) if outcome else None
        crime_rows.append(
            {
                "crime_id": cid,
                "reported_at": reported,
                "recorded_at": None
                if r.random() < 0.03
                else reported + timedelta(hours=r.randrange(1, 30)),
                "crime_type": r.choice(CRIME_TYPES),
                "offence_code": None,
                "domestic_abuse": r.random() < 0.2,
                "hate_crime": r.random() < 0.03,
                "area": DISTRICTS[district],
                "district": district,
                "unit": f"U{r.randrange(4)}",
                "officer_id": f"O{r.randrange(12):02d}",
                "lsoa_code": None,
                "outcome_code": outcome,
                "outcome_at": outcome_at,
                # two forces, by area (no draw: the other columns stay as they were)
                "force": f"{DISTRICTS[district]} Force",
            }
        )
        if repeat_pool and r.random() < 0.2:
            vid = r.choice(repeat_pool)
        else:
            vid = f"V{i:05d}"
            repeat_pool.append(vid)
        victim_rows.append(
            {
                "victim_id": vid,
                "crime_id": cid,
                "age_at_report": None if r.random() < 0.05 else r.randrange(10, 90),
                "vulnerable": False,
                "intimidated": False,
                "persistently_targeted": False,
                "bereaved_relative": False,
                "updates_opt_out": False,
                "sex": r.choice(["female", "male", "not_stated"]),
                "ethnicity": r.choice(["asian", "black", "white", "white", "white", "mixed"]),
                "disability": None if r.random() < 0.1 else r.random() < 0.2,
            }
        )
        if reported.date() > as_of:
            continue
        enhanced = r.random() < 0.3
        for oid, right in OBLIGATIONS:
            if oid == "R11.vcs-referral" and r.random() < 0.9:
                continue
            due = reported.date() + timedelta(days=r.randrange(1, 40))
            u = r.random()
            if due > as_of:
                status = "pending" if u < 0.9 else "not_applicable"
            else:
                # compliance drifts upwards over time (a signal for the SPC tests)
                p_met = 0.55 + 0.25 * (due - START).days / (as_of - START).days
                status = (
                    "met"
                    if u < p_met
                    else "late"
                    if u < p_met + 0.15
                    else "overdue"
                    if u < 0.97
                    else "not_applicable"
                )
            ledger_rows.append(
                {
                    "victim_id": vid,
                    "crime_id": cid,
                    "obligation_id": oid,
                    "right": right,
                    "owner": "police",
                    "title": oid,
                    "trigger_type": "test",
                    "trigger_event_id": cid,
                    "trigger_at": reported,
                    "due_date": due,
                    "met_at": None,
                    "met_by_id": None,
                    "status": status,
                    "enhanced": enhanced,
                    "enhanced_reason": None,
                    "reason": "test",
                    "code_status": "confirmed",
                    "code_edition": "2021",
                    "as_of": as_of,
                    "definitions_hash": "testcodehash0001",
                }
            )
    incident_rows = []
    for i in range(int(crimes * 1.5)):
        grade = r.choice(["immediate", "prompt", "prompt", "scheduled"])
        received = _ts(r, START, as_of + timedelta(days=5))
        base = {"immediate": 15, "prompt": 90, "scheduled": 600}[grade]
        minutes = r.lognormvariate(0, 0.6) * base
        arrived = None if r.random() < 0.03 else received + timedelta(minutes=minutes)
        district = r.choice(districts)
        incident_rows.append(
            {
                "incident_id": f"I{i:05d}",
                "received_at": received,
                "grade": grade,
                "incident_type": r.choice(INCIDENT_TYPES),
                "arrived_at": arrived,
                "area": DISTRICTS[district],
                "district": district,
                "delay_reason": r.choice(DELAYS) if r.random() < 0.3 else None,
                "crime_id": None,
            }
        )
    survey_rows = []
    # who answered: a victim of the crime, and the crime's unit and officer (their own random
    # numbers, so the rest of the data stays as it was)
    rv = random.Random(seed + 202)
    victims_of: dict[str, list[str]] = {}
    for v in victim_rows:
        victims_of.setdefault(v["crime_id"], []).append(v["victim_id"])
    crime_of = {c["crime_id"]: c for c in crime_rows}
    for i in range(int(crimes * 0.6)):
        district = r.choice(districts)
        survey = "victim_satisfaction" if r.random() < 0.75 else "domestic_abuse"

        def answer() -> int | None:
            return (
                None if r.random() < 0.08 else r.choices(range(1, 8), [30, 25, 20, 8, 7, 5, 5])[0]
            )

        survey_rows.append(
            {
                "response_id": f"S{i:05d}",
                "survey": survey,
                "surveyed_at": _ts(r, START, as_of),
                "crime_id": f"C{r.randrange(crimes):05d}",
                "crime_type": r.choice(CRIME_TYPES),
                "area": DISTRICTS[district],
                "district": district,
                "ease_of_contact": answer(),
                "actions_taken": answer(),
                "follow_up": answer(),
                "treatment": answer(),
                "whole_experience": answer(),
                "comment": None,
            }
        )
        row = survey_rows[-1]
        answered = victims_of.get(str(row["crime_id"]))
        row["victim_id"] = rv.choice(answered) if answered and rv.random() < 0.9 else None
        crime = crime_of.get(str(row["crime_id"]), {})
        row["unit"], row["officer_id"] = crime.get("unit"), crime.get("officer_id")
    survey_rows.extend(voice_rows(seed, crimes, as_of, crime_rows, victims_of))
    return {
        "crimes": pd.DataFrame(crime_rows),
        "victims": pd.DataFrame(victim_rows),
        "incidents": pd.DataFrame(incident_rows),
        "survey_responses": pd.DataFrame(survey_rows),
        "entitlements": pd.DataFrame(ledger_rows),
        **victim_service_frames(seed, crime_rows, victim_rows),
    }


CONFIDENCE = ["very_confident", "fairly_confident", "not_very_confident", "not_at_all_confident"]


def voice_rows(
    seed: int,
    crimes: int,
    as_of: date,
    crime_rows: list[dict],
    victims_of: dict[str, list[str]],
) -> list[dict]:
    """Victim Voice answers (their own random numbers, so the rest of the data stays as it was):
    a victim of a crime, the crime's unit and officer, the five stages and the Victim Voice
    questions, each sometimes left blank ("rather not say")."""
    r = random.Random(seed + 303)
    rows = []
    for i in range(int(crimes * 0.15)):
        crime = crime_rows[r.randrange(crimes)]
        cid = str(crime["crime_id"])

        def answer() -> int | None:
            return (
                None if r.random() < 0.1 else r.choices(range(1, 8), [25, 25, 20, 10, 8, 6, 6])[0]
            )

        row: dict[str, object] = {
            "response_id": f"VV{i:05d}",
            "survey": "victim_voice",
            "surveyed_at": _ts(r, START, as_of),
            "crime_id": cid,
            "crime_type": crime["crime_type"],
            "area": crime["area"],
            "district": crime["district"],
            "ease_of_contact": answer(),
            "actions_taken": answer(),
            "follow_up": answer(),
            "treatment": answer(),
            "whole_experience": answer(),
            "comment": None,
            "victim_id": r.choice(victims_of[cid]) if cid in victims_of else None,
            "unit": crime.get("unit"),
            "officer_id": crime.get("officer_id"),
            "kept_informed": answer(),
            "listened_to": answer(),
            "needs_met": answer(),
            "confidence_to_report": None
            if r.random() < 0.1
            else r.choices(CONFIDENCE, [30, 35, 20, 15])[0],
        }
        rows.append(row)
    return rows


SERVICES = ["victim_hub", "idva", "isva", "sarc", "restorative_justice"]
SERVICES += ["victim_contact_scheme", "family_liaison", "other"]
CHANNELS = ["phone", "email", "letter", "sms", None]


def victim_service_frames(
    seed: int, crime_rows: list[dict], victim_rows: list[dict]
) -> dict[str, pd.DataFrame]:
    """Referrals, needs assessments, care contracts and contacts for the victims (a random
    stream of their own, so the other tables do not change)."""
    r = random.Random(seed + 101)
    reported = {c["crime_id"]: c["reported_at"] for c in crime_rows}
    refs: list[dict] = []
    nas: list[dict] = []
    ccs: list[dict] = []
    contacts: list[dict] = []
    for v in victim_rows:
        vid, cid = v["victim_id"], v["crime_id"]
        at = reported[cid]
        if r.random() < 0.03:
            cid = f"X{cid}"  # a referral whose crime is not loaded
        for service in r.sample(SERVICES, r.choice([0, 1, 1, 2])):
            consent = r.choice(["given", "given", "declined", "not_asked"])
            made = None if consent == "declined" else at + timedelta(hours=r.randrange(-2, 400))
            outcome = r.choice(["engaged", "accepted", "no_contact", "declined_support", None])
            refs.append(
                {
                    "referral_id": f"R{len(refs):06d}",
                    "victim_id": vid,
                    "crime_id": cid,
                    "service": service,
                    "referred_at": made,
                    "consent": consent,
                    "outcome": outcome if made is not None else None,
                }
            )
        cid = v["crime_id"]
        if r.random() < 0.85:
            done = at + timedelta(hours=r.randrange(1, 500)) if r.random() < 0.9 else None
            nas.append(
                {
                    "assessment_id": f"N{len(nas):06d}",
                    "victim_id": vid,
                    "crime_id": cid,
                    "completed_at": done,
                    "enhanced_rights_identified": r.random() < 0.3,
                    "support_needed": r.random() < 0.4,
                    "questions_answered": r.choice([7, 7, 7, 8, 6, 5, 0, None]),
                }
            )
        if r.random() < 0.5:
            agreed = at + timedelta(hours=r.randrange(1, 300))
            for k in range(1 if r.random() < 0.9 else 2):
                ccs.append(
                    {
                        "contract_id": f"K{len(ccs):06d}",
                        "victim_id": vid,
                        "crime_id": cid,
                        "agreed_at": agreed + timedelta(days=40 * k),
                        "update_interval_days": r.choice([7, 14, 28]),
                        "preferred_channel": r.choice(CHANNELS),
                    }
                )
            for _ in range(r.randrange(5)):
                contacts.append(
                    {
                        "contact_id": f"T{len(contacts):06d}",
                        "victim_id": vid,
                        "crime_id": cid,
                        "contact_at": at + timedelta(hours=r.randrange(1, 2400)),
                        "purpose": r.choice(["update", "vcc_update", "update", "charged"]),
                        "successful": r.random() < 0.8,
                        "channel": r.choice(CHANNELS),
                        "about_event_id": None,
                        "officer_id": f"O{r.randrange(12):02d}",
                    }
                )
    na = pd.DataFrame(nas)
    na["questions_answered"] = na["questions_answered"].astype("Int64")
    return {
        "referrals": pd.DataFrame(refs),
        "needs_assessments": na,
        "care_contracts": pd.DataFrame(ccs),
        "contacts": pd.DataFrame(contacts),
    }


def build(
    con: duckdb.DuckDBPyConnection, seed: int = 7, crimes: int = 2400, as_of: date = AS_OF
) -> None:
    """Create the canonical tables and the ledger in ``con`` and fill them."""
    ensure_schema(con)
    con.execute(LEDGER_DDL)
    for name, df in frames(seed, crimes, as_of).items():
        if df.empty:
            continue
        con.register("_frame", df)
        cols = ", ".join(f'"{c}"' for c in df.columns)
        con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM _frame')
        con.unregister("_frame")


def test_build_is_deterministic() -> None:
    a, b = frames(3, 200), frames(3, 200)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_build_fills_every_table() -> None:
    con = duckdb.connect()
    build(con, crimes=300)
    for table in (
        *("crimes", "victims", "incidents", "survey_responses", "entitlements"),
        *("referrals", "needs_assessments", "care_contracts", "contacts"),
    ):
        (n,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,)
        assert n > 0, table
