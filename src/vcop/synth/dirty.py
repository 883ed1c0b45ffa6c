"""Malformed rows for ``--dirty``: the faults real extracts arrive with.

Each table gets a handful of rows per kind of fault, appended after the clean rows: dates that do
not parse, booleans like ``maybe``, values outside the allowed lists, required fields left blank,
out-of-range numbers, references to rows that do not exist, a key repeated with different values,
and exact duplicate lines. Nothing in the files marks which rows are the bad ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

Row = tuple[str, ...]
#: make(r, clean_row, column_index, new_key) -> bad row
Make = Callable[[random.Random, Row, dict[str, int], str], Row]

BAD_DATES = (
    "31/02/2025 10:00",
    "2025-13-01T09:00:00",
    "yesterday",
    "2025-02-30T25:61:00",
    "00/00/0000",
)
BAD_BOOLS = ("maybe", "unknown", "2", "yess")


def _set(row: Row, idx: dict[str, int], **values: str) -> Row:
    out = list(row)
    for col, value in values.items():
        out[idx[col]] = value
    return tuple(out)


def _faults(table: str) -> list[tuple[str, Make]]:
    """(name, make) pairs; ``make(r, clean_row, column_index, new_key)`` returns the bad row."""

    def bad_date(col: str) -> Make:
        return lambda r, row, idx, key: _set(
            _rekey(row, idx, table, key), idx, **{col: r.choice(BAD_DATES)}
        )

    def bad_value(col: str, values: Sequence[str]) -> Make:
        return lambda r, row, idx, key: _set(
            _rekey(row, idx, table, key), idx, **{col: r.choice(values)}
        )

    def blank(col: str) -> Make:
        return lambda r, row, idx, key: _set(_rekey(row, idx, table, key), idx, **{col: ""})

    def conflict(col: str, values: Sequence[str]) -> Make:
        # Same key as a clean row, a different value.
        return lambda r, row, idx, key: _set(
            row, idx, **{col: r.choice([v for v in values if v != row[idx[col]]])}
        )

    def duplicate() -> Make:
        return lambda r, row, idx, key: row

    missing_crime = ("DS-C-9000001", "DS-C-9000002", "DS-C-0000000", "DS-X-000001")
    faults: dict[str, list[tuple[str, Make]]] = {
        "crimes": [
            ("bad reported_at", bad_date("reported_at")),
            ("bad boolean", bad_value("domestic_abuse", BAD_BOOLS)),
            (
                "unknown crime type",
                bad_value(
                    "crime_type", ("Cyber-enabled crime", "Dog fouling", "BURGLARY - DWELLING")
                ),
            ),
            ("missing crime type", blank("crime_type")),
            ("missing crime id", blank("crime_id")),
            ("outcome out of range", bad_value("outcome_code", ("0", "27", "99", "charged"))),
            (
                "conflicting duplicate",
                conflict("crime_type", ("Burglary", "Shoplifting", "Public order")),
            ),
            ("exact duplicate", duplicate()),
        ],
        "victims": [
            ("unknown crime", bad_value("crime_id", missing_crime)),
            ("age out of range", bad_value("age_at_report", ("150", "-3", "999", "forty"))),
            ("bad boolean", bad_value("vulnerable", BAD_BOOLS)),
            ("missing victim id", blank("victim_id")),
            ("value not allowed", bad_value("sex", ("F", "M", "unknown"))),
            ("conflicting duplicate", conflict("age_at_report", ("17", "34", "61"))),
            ("exact duplicate", duplicate()),
        ],
        "case_events": [
            (
                "unknown event type",
                bad_value("event_type", ("suspect_questioned", "NFA", "charged_or_summonsed")),
            ),
            ("bad event_at", bad_date("event_at")),
            ("missing event_at", blank("event_at")),
            ("unknown crime", bad_value("crime_id", missing_crime)),
            (
                "conflicting duplicate",
                conflict("event_type", ("charged", "not_charged", "suspect_arrested")),
            ),
            ("exact duplicate", duplicate()),
        ],
        "contacts": [
            ("bad contact_at", bad_date("contact_at")),
            ("missing contact_at", blank("contact_at")),
            ("value not allowed", bad_value("purpose", ("telepathy", "Update", "chat"))),
            ("bad boolean", bad_value("successful", BAD_BOOLS)),
            ("unknown event", bad_value("about_event_id", ("DS-E-9999999", "DS-E-0000000"))),
            ("unknown victim", bad_value("victim_id", ("DS-V-9000001", "DS-V-0000000"))),
            ("exact duplicate", duplicate()),
        ],
        "referrals": [
            ("value not allowed", bad_value("service", ("dog_warden", "IDVA service", "hub"))),
            ("bad consent", bad_value("consent", ("perhaps", "Y"))),
            ("bad referred_at", bad_date("referred_at")),
            ("exact duplicate", duplicate()),
        ],
        "needs_assessments": [
            ("bad number", bad_value("questions_answered", ("-1", "seven", "3.5"))),
            ("bad completed_at", bad_date("completed_at")),
            ("bad boolean", bad_value("support_needed", BAD_BOOLS)),
        ],
        "care_contracts": [
            (
                "interval out of range",
                bad_value("update_interval_days", ("0", "500", "fortnightly")),
            ),
            ("missing agreed_at", blank("agreed_at")),
            ("exact duplicate", duplicate()),
        ],
        "supervisory_reviews": [
            ("bad due_at", bad_date("due_at")),
            ("unknown crime", bad_value("crime_id", missing_crime)),
        ],
        "incidents": [
            ("value not allowed", bad_value("grade", ("urgent", "P1", "Immediate response"))),
            ("bad received_at", bad_date("received_at")),
            ("bad arrived_at", bad_date("arrived_at")),
            ("unknown crime", bad_value("crime_id", missing_crime)),
        ],
        "survey_responses": [
            ("scale out of range", bad_value("follow_up", ("0", "9", "10"))),
            ("not a scale label", bad_value("whole_experience", ("very happy", "ok", "5/7"))),
            ("missing survey", blank("survey")),
        ],
        "agency_events": [
            ("unknown crime", bad_value("crime_id", missing_crime)),
            ("unknown agency", bad_value("agency", ("CPS", "probation", "court"))),
            (
                "unknown event type",
                bad_value("event_type", ("plea_not_guilty", "trial", "Warrant")),
            ),
            ("bad event_at", bad_date("event_at")),
            ("exact duplicate", duplicate()),
        ],
        "agency_contacts": [
            ("unknown victim", bad_value("victim_id", ("DS-V-9000001", "DS-V-0000000"))),
            ("bad contact_at", bad_date("contact_at")),
            ("value not allowed", bad_value("purpose", ("letter", "VCL", "call"))),
            ("bad boolean", bad_value("successful", BAD_BOOLS)),
        ],
        "review_requests": [
            ("unknown crime", bad_value("crime_id", missing_crime)),
            ("bad requested_at", bad_date("requested_at")),
        ],
        "expense_claims": [("missing received_at", blank("received_at"))],
        "interpretation_needs": [("value not allowed", bad_value("need", ("BSL", "Polish")))],
    }
    return faults.get(table, [])


#: The id prefix and width of each table's generated key, for new keys on bad rows.
KEYS = {
    "crimes": ("DS-C-", 6),
    "victims": ("DS-V-", 6),
    "case_events": ("DS-E-", 7),
    "contacts": ("DS-CT-", 7),
    "referrals": ("DS-R-", 7),
    "needs_assessments": ("DS-NA-", 7),
    "care_contracts": ("DS-CC-", 7),
    "supervisory_reviews": ("DS-SR-", 7),
    "incidents": ("DS-I-", 7),
    "survey_responses": ("DS-S-", 6),
    "agency_events": ("DS-X-E-", 7),
    "agency_contacts": ("DS-X-CT-", 7),
    "review_requests": ("DS-X-VRR-", 7),
    "complaints": ("DS-X-CMP-", 7),
    "expense_claims": ("DS-X-EXP-", 7),
    "interpretation_needs": ("DS-X-INT-", 7),
}
#: The column a new key goes in, where it is not the first (the partners' tables lead with agency).
KEY_COLUMN = {
    "agency_events": "event_id",
    "agency_contacts": "contact_id",
    "review_requests": "request_id",
    "complaints": "complaint_id",
    "expense_claims": "claim_id",
    "interpretation_needs": "need_id",
}


def _rekey(row: Row, idx: dict[str, int], table: str, key: str) -> Row:
    """Give a bad row its own key so it is not mistaken for a duplicate of the row it came from."""
    column = KEY_COLUMN.get(table) or next(iter(idx))
    return _set(row, idx, **{column: key})


def add_dirty(
    tables: dict[str, list[Row]], columns: dict[str, tuple[str, ...]], r: random.Random
) -> dict[str, int]:
    """Append malformed rows to the tables in place; the number added per table."""
    added: dict[str, int] = {}
    for table, rows in tables.items():
        faults = _faults(table)
        if not faults or not rows:
            continue
        idx = {c: i for i, c in enumerate(columns[table])}
        prefix, width = KEYS.get(table, ("", 0))
        next_no = len(rows) + 1
        per_fault = max(1, round(len(rows) * 0.0004))
        bad: list[Row] = []
        for _, make in faults:
            for _ in range(per_fault):
                key = f"{prefix}{next_no:0{width}d}" if prefix else ""
                next_no += 1
                bad.append(make(r, rows[r.randrange(len(rows))], idx, key))
        r.shuffle(bad)
        rows.extend(bad)
        added[table] = len(bad)
    return added
