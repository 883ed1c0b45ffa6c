"""The access log: who looked at which victim's or crime's records, when, and why.

Part 3 of the Data Protection Act 2018 (s.62) requires a log of every consultation and disclosure
of personal data processed for law-enforcement purposes, with its justification, date and time and
the identity of the person. vcop writes one row per record-level page view or export. The log is
append-only: this module only ever INSERTs into it, and no code in vcop updates or deletes its
rows (a test checks that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vcop.web.db import WebStore

#: Reasons a person may give for opening a victim's records. "other" needs a few words.
REASONS: dict[str, str] = {
    "victim_contact": "Updating or contacting the victim",
    "investigation": "Investigating the crime",
    "supervision": "Supervisory review of the investigation",
    "quality_assurance": "Quality assurance or audit (e.g. dip sample)",
    "complaint": "Responding to a complaint",
    "other": "Other (say what)",
}

#: What the ``access_log`` table holds, in order.
COLUMNS = (
    "access_id",
    "accessed_at",
    "username",
    "role",
    "channel",
    "action",
    "victim_id",
    "crime_id",
    "reason",
    "detail",
    "session",
)


@dataclass(frozen=True)
class Access:
    """One consultation of records, as logged."""

    at: datetime
    username: str
    role: str
    action: str
    victim_id: str | None = None
    crime_id: str | None = None
    reason: str | None = None
    detail: str | None = None
    session: str | None = None
    channel: str = "web"


def reason_text(code: str, detail: str) -> str:
    """The reason as logged: its label, and the person's own words if they gave any."""
    label = REASONS[code]
    detail = " ".join(detail.split())
    return f"{label}: {detail}" if detail else label


def record(store: WebStore, access: Access) -> None:
    """Append one row to the access log."""
    values = {
        "accessed_at": access.at,
        "username": access.username,
        "role": access.role,
        "channel": access.channel,
        "action": access.action,
        "victim_id": access.victim_id,
        "crime_id": access.crime_id,
        "reason": access.reason,
        "detail": access.detail,
        "session": access.session,
    }
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    store.write(f"INSERT INTO access_log ({names}) VALUES ({marks})", list(values.values()))
