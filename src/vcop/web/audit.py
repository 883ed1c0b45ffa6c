"""The access log, as the dashboard writes it: the reasons a person may give, and one entry per
record-level page view or export (see :mod:`vcop.store.access_log` for the log itself).

Part 3 of the Data Protection Act 2018 (s.62) requires a log of every consultation and disclosure
of personal data processed for law-enforcement purposes, with its justification, date and time and
the identity of the person. The log is append-only and hash-chained: no code in vcop updates or
deletes its rows (a test checks that).
"""

from __future__ import annotations

from vcop.store.access_log import COLUMNS, Access, append
from vcop.store.ops import OpsStore

__all__ = ["COLUMNS", "MAX_DETAIL", "REASONS", "Access", "reason_errors", "reason_text", "record"]

#: Reasons a person may give for opening a victim's records. "other" needs a few words.
REASONS: dict[str, str] = {
    "victim_contact": "Updating or contacting the victim",
    "investigation": "Investigating the crime",
    "supervision": "Supervisory review of the investigation",
    "quality_assurance": "Quality assurance or audit (e.g. dip sample)",
    "complaint": "Responding to a complaint",
    "other": "Other (say what)",
}


#: The most characters a person's own words for a reason may have.
MAX_DETAIL = 200


def reason_errors(code: str, detail: str, doing: str = "opening this record") -> dict[str, str]:
    """What is wrong with a reason given on a form (field -> message; empty when it will do).
    ``doing`` says what the reason is for, in the messages."""
    errors: dict[str, str] = {}
    detail = detail.strip()
    if code not in REASONS:
        errors["reason"] = f"Select why you are {doing}"
    elif code == "other" and not detail:
        errors["detail"] = f"Say why you are {doing}"
    if len(detail) > MAX_DETAIL:
        errors["detail"] = f"The reason must be {MAX_DETAIL} characters or fewer"
    return errors


def reason_text(code: str, detail: str) -> str:
    """The reason as logged: its label, and the person's own words if they gave any."""
    label = REASONS[code]
    detail = " ".join(detail.split())
    return f"{label}: {detail}" if detail else label


def record(ops: OpsStore, access: Access) -> None:
    """Append one entry to the access log."""
    append(ops, access)
