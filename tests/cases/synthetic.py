"""A small seeded synthetic force for comparing engines: every table, every kind of trigger.

Not the demo generator (``vcop.synth``): a few hundred victims with the awkward things the
rules must get right — failed contacts, opt-outs, declined referrals, renegotiated care
contracts, weekend and bank-holiday triggers, crimes finalised early.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

EVENTS = (
    "decision_not_to_investigate",
    "suspect_arrested",
    "suspect_interviewed",
    "released_without_charge",
    "released_on_bail",
    "released_under_investigation",
    "bail_conditions_changed",
    "charged",
    "not_charged",
    "out_of_court_disposal",
    "hearing_listed",
    "verdict",
    "sentenced",
    "case_stopped_or_altered",
)
OFFENCES = ("28E", "8N", "19C", "46", "5D", "8Q", "34B", "56A", "58A", "2", None, " 20a ")
SERVICES = ("victim_hub", "idva", "isva", "sarc", "restorative_justice", "victim_contact_scheme")
PURPOSES = (
    "update",
    "vcc_update",
    "information_pack",
    "compensation_info",
    "vps_offer",
    "written_acknowledgement",
    "needs_assessment",
)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def synthetic_tables(seed: int = 7, crimes: int = 120) -> dict[str, list[dict[str, Any]]]:
    r = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "crimes",
            "victims",
            "case_events",
            "contacts",
            "referrals",
            "needs_assessments",
            "care_contracts",
            "supervisory_reviews",
        )
    }
    start = datetime(2024, 11, 1, 8, 0)
    n = {"event": 0, "contact": 0, "referral": 0, "assessment": 0, "contract": 0, "review": 0}

    def next_id(kind: str, prefix: str) -> str:
        n[kind] += 1
        return f"{prefix}{n[kind]:05d}"

    for c in range(crimes):
        crime_id = f"C{c:05d}"
        reported = start + timedelta(days=r.randint(0, 240), minutes=r.randint(0, 24 * 60 - 1))
        finalised = reported + timedelta(days=r.randint(1, 200)) if r.random() < 0.6 else None
        out["crimes"].append(
            {
                "crime_id": crime_id,
                "reported_at": _ts(reported),
                "recorded_at": _ts(reported + timedelta(hours=r.randint(0, 60)))
                if r.random() < 0.9
                else None,
                "crime_type": "Burglary",
                "offence_code": r.choice(OFFENCES),
                "domestic_abuse": r.random() < 0.15,
                "hate_crime": r.random() < 0.05,
                "outcome_code": 18 if finalised else None,
                "outcome_at": _ts(finalised) if finalised else None,
            }
        )
        events = []
        t = reported
        for _ in range(r.randint(0, 4)):
            t += timedelta(days=r.randint(0, 20), minutes=r.randint(0, 600))
            event_id = next_id("event", "E")
            events.append((event_id, r.choice(EVENTS), t))
            out["case_events"].append(
                {
                    "event_id": event_id,
                    "crime_id": crime_id,
                    "event_type": events[-1][1],
                    "event_at": _ts(t),
                }
            )
        for _ in range(r.randint(0, 2)):
            due = reported + timedelta(days=r.randint(3, 60))
            done = due + timedelta(days=r.randint(-3, 5)) if r.random() < 0.8 else None
            out["supervisory_reviews"].append(
                {
                    "review_id": next_id("review", "S"),
                    "crime_id": crime_id,
                    "due_at": _ts(due.replace(hour=0, minute=0)),
                    "completed_at": _ts(done) if done else None,
                }
            )
        for v in range(r.choice((1, 1, 1, 2, 3))):
            victim_id = f"V{r.randint(0, crimes * 2):05d}" if v else f"V{c:05d}"
            if any(
                x["victim_id"] == victim_id and x["crime_id"] == crime_id for x in out["victims"]
            ):
                continue
            out["victims"].append(
                {
                    "victim_id": victim_id,
                    "crime_id": crime_id,
                    "age_at_report": r.choice((None, 12, 17, 18, 35, 70)),
                    "vulnerable": r.random() < 0.1,
                    "intimidated": r.random() < 0.05,
                    "persistently_targeted": r.random() < 0.05,
                    "bereaved_relative": r.random() < 0.02,
                    "updates_opt_out": r.random() < 0.08,
                }
            )
            for event_id, event_type, at in events:
                for _ in range(r.choice((0, 1, 1, 2))):
                    when = at + timedelta(days=r.randint(-1, 9), minutes=r.randint(0, 900))
                    named = r.random() < 0.5
                    out["contacts"].append(
                        {
                            "contact_id": next_id("contact", "K"),
                            "victim_id": victim_id,
                            "crime_id": crime_id,
                            "contact_at": _ts(when),
                            "purpose": event_type if r.random() < 0.8 else "update",
                            "successful": r.random() < 0.75,
                            "channel": "phone",
                            "about_event_id": event_id if named else None,
                        }
                    )
            for _ in range(r.randint(0, 6)):
                when = reported + timedelta(days=r.randint(0, 150), minutes=r.randint(0, 900))
                out["contacts"].append(
                    {
                        "contact_id": next_id("contact", "K"),
                        "victim_id": victim_id,
                        "crime_id": crime_id,
                        "contact_at": _ts(when),
                        "purpose": r.choice(PURPOSES),
                        "successful": r.random() < 0.8,
                        "channel": "email",
                    }
                )
            for _ in range(r.choice((0, 1, 1, 2))):
                declined = r.random() < 0.15
                when = reported + timedelta(days=r.randint(0, 6), hours=r.randint(0, 12))
                out["referrals"].append(
                    {
                        "referral_id": next_id("referral", "F"),
                        "victim_id": victim_id,
                        "crime_id": crime_id,
                        "service": r.choice(SERVICES),
                        "referred_at": None if declined else _ts(when),
                        "consent": "declined" if declined else "given",
                    }
                )
            if r.random() < 0.85:
                when = reported + timedelta(days=r.randint(0, 4), hours=r.randint(0, 20))
                out["needs_assessments"].append(
                    {
                        "assessment_id": next_id("assessment", "A"),
                        "victim_id": victim_id,
                        "crime_id": crime_id,
                        "completed_at": _ts(when) if r.random() < 0.9 else None,
                        "enhanced_rights_identified": r.random() < 0.1,
                    }
                )
            agreed = reported
            for _ in range(r.choice((0, 1, 1, 1, 2))):
                agreed = agreed + timedelta(days=r.randint(0, 30), hours=r.randint(0, 10))
                out["care_contracts"].append(
                    {
                        "contract_id": next_id("contract", "CC"),
                        "victim_id": victim_id,
                        "crime_id": crime_id,
                        "agreed_at": _ts(agreed),
                        "update_interval_days": r.choice((7, 14, 28, 30)),
                    }
                )
    return out
