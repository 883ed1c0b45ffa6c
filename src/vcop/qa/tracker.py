"""The inspection tracker: inspection reports, their recommendations and areas for improvement,
and each one's status history, kept in the operational store (tables ``tracker_reports``,
``tracker_items`` and ``tracker_updates``).

A Police and Crime Commissioner must publish comments on an HMICFRS report about their force
"before the end of the period of 56 days beginning with the day on which the report is published"
(Police Act 1996 s.55(5A), inserted by the Policing and Crime Act 2017 s.37). The publication day
is day 1 of the 56, so the last day to publish is the publication date plus 55 days
(:func:`response_due`): a report published on 19 December 2023 is due by 12 February 2024.

A recommendation's status is one of :class:`Status` (``open``, ``in_progress``, ``complete``,
``closed``). Its history is append-only: each update is a new row with who recorded it, when, the
day the change took effect (``changed_on``), a note and an evidence link; a row is never changed
or deleted (the store's triggers refuse it). Its status on a day is the latest row that took
effect by then. Closing needs evidence.

Nothing here reads the clock for a judgement: what is overdue is judged on a day the caller gives
(``as_of``); only the time an update is recorded (``recorded_at``) is the wall clock's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from vcop.privacy import scrub
from vcop.store.ops import OpsStore

#: The statutory period for a PCC's comments, counted from the publication day as day 1.
RESPONSE_DAYS = 56


class Status(StrEnum):
    open = "open"
    in_progress = "in_progress"
    complete = "complete"
    closed = "closed"


#: Statuses under which a recommendation is still being worked on (and can be overdue).
ACTIVE = (Status.open, Status.in_progress)

STATUS_LABELS = {
    Status.open: "Open",
    Status.in_progress: "In progress",
    Status.complete: "Complete",
    Status.closed: "Closed",
}


class Kind(StrEnum):
    recommendation = "recommendation"
    area_for_improvement = "area_for_improvement"


KIND_LABELS = {
    Kind.recommendation: "Recommendation",
    Kind.area_for_improvement: "Area for improvement",
}

#: A report id: short, lower case, for commands and links (``joint-victims-2023``).
REPORT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
#: An item's reference within its report (``R3``, ``AFI1``, ``3.2``).
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,15}")
#: The longest free text kept (a recommendation's text, a note, an evidence link).
MAX_TEXT = 4000


class TrackerError(ValueError):
    """A value the tracker refuses; the message names the field and what it may be."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def response_due(published_on: date) -> date:
    """The last day to publish comments on a report published on ``published_on``: the end of
    the period of 56 days beginning with the publication day (day 1), i.e. 55 days after it."""
    return published_on + timedelta(days=RESPONSE_DAYS - 1)


@dataclass(frozen=True)
class Report:
    report_id: str
    title: str
    inspectorate: str
    published_on: date
    url: str | None = None
    responded_on: date | None = None
    #: Where the entry came from when not typed in (the demo's data file and its source note).
    origin: str | None = None

    @property
    def response_due(self) -> date:
        return response_due(self.published_on)


@dataclass(frozen=True)
class Item:
    """A recommendation or area for improvement of a report."""

    report_id: str
    reference: str
    kind: Kind
    text: str
    owner: str
    agency: str | None = None
    #: The date the report asks it to be done by, if it gives one.
    due_by: date | None = None

    @property
    def key(self) -> str:
        return f"{self.report_id}/{self.reference}"


@dataclass(frozen=True)
class Update:
    status: Status
    changed_on: date
    note: str | None = None
    evidence: str | None = None


# --- checking values -------------------------------------------------------------------------


def check_report_id(value: str, field: str = "report") -> str:
    value = value.strip()
    if not REPORT_ID.fullmatch(value):
        raise TrackerError(
            field,
            f"{value!r} is not a report id: lower-case letters, digits and hyphens, e.g. "
            "joint-victims-2023",
        )
    return value


def check_reference(value: str, field: str = "reference") -> str:
    value = value.strip()
    if not REFERENCE.fullmatch(value):
        raise TrackerError(
            field, f"{value!r} is not a reference: up to 16 letters, digits, dots and hyphens"
        )
    return value


def check_status(value: str, field: str = "status") -> Status:
    try:
        return Status(value.strip())
    except ValueError:
        raise TrackerError(
            field, f"{value!r} is not a status: one of {', '.join(s.value for s in Status)}"
        ) from None


def check_kind(value: str, field: str = "kind") -> Kind:
    try:
        return Kind(value.strip())
    except ValueError:
        raise TrackerError(
            field, f"{value!r} is not a kind: one of {', '.join(k.value for k in Kind)}"
        ) from None


def check_agency(value: str | None, field: str = "agency") -> str | None:
    """One of the Code's owner ids (DECISIONS "Agencies"), or blank for a body outside them (a
    government department, the College of Policing)."""
    from vcop.spec.agencies import AGENCY_NAMES

    value = (value or "").strip()
    if not value:
        return None
    if value not in AGENCY_NAMES:
        raise TrackerError(
            field,
            f"{value!r} is not an agency: one of {', '.join(AGENCY_NAMES)}, or blank for a body "
            "outside them",
        )
    return value


def check_date(value: str | date, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise TrackerError(field, f"{value!r} is not a date like 2024-02-12") from None


def check_text(value: str | None, field: str, *, required: bool = True) -> str | None:
    """Free text, tidied and scrubbed of phone numbers, emails, postcodes and street addresses
    (:func:`vcop.privacy.scrub`); a required one may not be blank."""
    tidy = " ".join((value or "").split())
    if not tidy:
        if required:
            raise TrackerError(field, "must not be blank")
        return None
    if len(tidy) > MAX_TEXT:
        raise TrackerError(field, f"must be at most {MAX_TEXT} characters, not {len(tidy)}")
    return scrub(tidy).text


def check_evidence(value: str | None, field: str = "evidence") -> str | None:
    """An evidence link (an http(s) address) or a document reference; scrubbed like a note
    unless it is an address."""
    tidy = " ".join((value or "").split())
    if not tidy:
        return None
    if len(tidy) > MAX_TEXT:
        raise TrackerError(field, f"must be at most {MAX_TEXT} characters, not {len(tidy)}")
    if re.fullmatch(r"https?://\S+", tidy):
        return tidy
    return scrub(tidy).text


def check_update(update: Update) -> Update:
    if update.status is Status.closed and not update.evidence:
        raise TrackerError(
            "evidence", "closing needs evidence: a link to, or the reference of, what shows it done"
        )
    return update


# --- writing ---------------------------------------------------------------------------------


def add_report(ops: OpsStore, report: Report, *, username: str, now: datetime) -> None:
    """Add an inspection report; TrackerError when its id is taken."""
    with ops.transaction() as tx:
        insert_report(tx, report, username=username, now=now)


def insert_report(tx: Any, report: Report, *, username: str, now: datetime) -> None:
    if tx.execute(
        "SELECT 1 FROM tracker_reports WHERE report_id = ?", [report.report_id]
    ).fetchone():
        raise TrackerError("report", f"there is already a report {report.report_id!r}")
    tx.execute(
        "INSERT INTO tracker_reports (report_id, title, inspectorate, published_on, url, "
        "response_due, responded_on, origin, added_at, added_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [report.report_id, report.title, report.inspectorate, report.published_on.isoformat(),
         report.url, report.response_due.isoformat(),
         report.responded_on.isoformat() if report.responded_on else None, report.origin,
         now.isoformat(sep=" "), username],
    )  # fmt: skip


def add_items(
    ops: OpsStore,
    items: Sequence[tuple[Item, Update]],
    *,
    username: str,
    os_user: str | None,
    now: datetime,
) -> None:
    """Add items, each with its first status, in one transaction: all or none."""
    with ops.transaction() as tx:
        for item, first in items:
            insert_item(tx, item, first, username=username, os_user=os_user, now=now)


def insert_item(
    tx: Any, item: Item, first: Update, *, username: str, os_user: str | None, now: datetime
) -> None:
    if not tx.execute(
        "SELECT 1 FROM tracker_reports WHERE report_id = ?", [item.report_id]
    ).fetchone():
        raise TrackerError(
            "report", f"no report {item.report_id!r}: add it first (vcop tracker add-report)"
        )
    if tx.execute(
        "SELECT 1 FROM tracker_items WHERE report_id = ? AND reference = ?",
        [item.report_id, item.reference],
    ).fetchone():
        raise TrackerError(
            "reference", f"{item.key} is in the tracker already: use vcop tracker update"
        )
    tx.execute(
        "INSERT INTO tracker_items (report_id, reference, kind, text, owner, agency, due_by, "
        "added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [item.report_id, item.reference, item.kind.value, item.text, item.owner, item.agency,
         item.due_by.isoformat() if item.due_by else None, now.isoformat(sep=" "), username],
    )  # fmt: skip
    insert_update(tx, item.report_id, item.reference, check_update(first),
                   username=username, os_user=os_user, now=now)  # fmt: skip


def insert_update(
    tx: Any,
    report_id: str,
    reference: str,
    update: Update,
    *,
    username: str,
    os_user: str | None,
    now: datetime,
) -> None:
    tx.execute(
        "INSERT INTO tracker_updates (report_id, reference, status, changed_on, note, evidence, "
        "username, os_user, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [report_id, reference, update.status.value, update.changed_on.isoformat(), update.note,
         update.evidence, username, os_user, now.isoformat(sep=" ")],
    )  # fmt: skip


def record_update(
    ops: OpsStore,
    report_id: str,
    reference: str,
    update: Update,
    *,
    username: str,
    os_user: str | None,
    now: datetime,
) -> None:
    """Append a status change or an update (a note, evidence) to an item's history."""
    check_update(update)
    with ops.transaction() as tx:
        if not tx.execute(
            "SELECT 1 FROM tracker_items WHERE report_id = ? AND reference = ?",
            [report_id, reference],
        ).fetchone():
            raise TrackerError("item", f"no item {report_id}/{reference} in the tracker")
        insert_update(tx, report_id, reference, update, username=username, os_user=os_user,
                       now=now)  # fmt: skip


def record_response(ops: OpsStore, report_id: str, responded_on: date) -> None:
    """Record the day the Commissioner's comments on a report were published."""
    changed = ops.execute(
        "UPDATE tracker_reports SET responded_on = ? WHERE report_id = ?",
        [responded_on.isoformat(), report_id],
    )
    if not changed:
        raise TrackerError("report", f"no report {report_id!r} in the tracker")


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """An item as it stood on a day: its report, its latest status and whether it is overdue."""

    report: Report
    item: Item
    status: Status
    status_on: date
    note: str | None
    evidence: str | None
    #: The item's history up to the day, oldest first.
    history: tuple[HistoryRow, ...] = field(default=())

    @property
    def response_due(self) -> date:
        return self.report.response_due

    def overdue(self, as_of: date) -> bool:
        """Its due date has passed (before ``as_of``) while it is still open or in progress."""
        return self.item.due_by is not None and self.item.due_by < as_of and self.status in ACTIVE

    def changed_since(self, since: date) -> bool:
        return any(h.changed_on >= since for h in self.history)

    def as_dict(self, as_of: date) -> dict[str, Any]:
        """The fields of ``vcop tracker list`` and the page's twins, in order."""
        return {
            "report_id": self.report.report_id,
            "reference": self.item.reference,
            "kind": self.item.kind.value,
            "text": self.item.text,
            "owner": self.item.owner,
            "agency": self.item.agency,
            "due_by": self.item.due_by,
            "status": self.status.value,
            "status_on": self.status_on,
            "overdue": self.overdue(as_of),
            "response_due": self.report.response_due,
            "responded_on": self.report.responded_on,
            "note": self.note,
            "evidence": self.evidence,
            "report_title": self.report.title,
            "inspectorate": self.report.inspectorate,
            "published_on": self.report.published_on,
        }


@dataclass(frozen=True)
class HistoryRow:
    update_id: int
    status: Status
    changed_on: date
    note: str | None
    evidence: str | None
    username: str
    recorded_at: datetime


#: The fields of :meth:`Row.as_dict`, in order (the CSV's columns).
LIST_FIELDS = (
    "report_id", "reference", "kind", "text", "owner", "agency", "due_by", "status", "status_on",
    "overdue", "response_due", "responded_on", "note", "evidence", "report_title", "inspectorate",
    "published_on",
)  # fmt: skip


def _day(value: object) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def reports(ops: OpsStore) -> list[Report]:
    rows = ops.query(
        "SELECT report_id, title, inspectorate, published_on, url, responded_on, origin "
        "FROM tracker_reports ORDER BY published_on, report_id"
    ).rows
    return [
        Report(
            str(r[0]), str(r[1]), str(r[2]), date.fromisoformat(str(r[3])), r[4], _day(r[5]), r[6]
        )
        for r in rows
    ]


def is_empty(ops: OpsStore) -> bool:
    return bool(ops.scalar("SELECT count(*) FROM tracker_items") == 0)


def history(ops: OpsStore, report_id: str, reference: str) -> list[HistoryRow]:
    """An item's whole history, oldest first (in the order it took effect, then recorded)."""
    rows = ops.query(
        "SELECT update_id, status, changed_on, note, evidence, username, recorded_at "
        "FROM tracker_updates WHERE report_id = ? AND reference = ? "
        "ORDER BY changed_on, update_id",
        [report_id, reference],
    ).rows
    return [_history_row(r) for r in rows]


def _history_row(r: Sequence[Any]) -> HistoryRow:
    return HistoryRow(int(r[0]), Status(str(r[1])), date.fromisoformat(str(r[2])), r[3], r[4],
                      str(r[5]), datetime.fromisoformat(str(r[6])))  # fmt: skip


def items_as_of(ops: OpsStore, as_of: date, *, report_id: str | None = None) -> list[Row]:
    """Every item with a status by ``as_of`` (its latest update that took effect by then), in
    the order of its report's publication and its reference."""
    by_id = {r.report_id: r for r in reports(ops)}
    where, params = ("WHERE i.report_id = ?", [report_id]) if report_id else ("", [])
    items = ops.query(
        "SELECT i.report_id, i.reference, i.kind, i.text, i.owner, i.agency, i.due_by "
        f"FROM tracker_items i {where}",
        params,
    ).rows
    updates: dict[tuple[str, str], list[HistoryRow]] = {}
    for r in ops.query(
        "SELECT update_id, status, changed_on, note, evidence, username, recorded_at, "
        "report_id, reference FROM tracker_updates WHERE changed_on <= ? "
        "ORDER BY changed_on, update_id",
        [as_of.isoformat()],
    ).rows:
        updates.setdefault((str(r[7]), str(r[8])), []).append(_history_row(r))
    out = []
    for r in items:
        item = Item(str(r[0]), str(r[1]), Kind(str(r[2])), str(r[3]), str(r[4]), r[5], _day(r[6]))
        seen = updates.get((item.report_id, item.reference))
        if not seen:
            continue  # not yet in the tracker on that day
        last = seen[-1]
        note = next((h.note for h in reversed(seen) if h.note), None)
        evidence = next((h.evidence for h in reversed(seen) if h.evidence), None)
        out.append(Row(by_id[item.report_id], item, last.status, last.changed_on, note, evidence,
                       tuple(seen)))  # fmt: skip
    out.sort(key=lambda x: (x.report.published_on, x.report.report_id, _natural(x.item.reference)))
    return out


def _natural(reference: str) -> tuple[object, ...]:
    """``R2`` before ``R10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", reference))


@dataclass(frozen=True)
class ResponseState:
    """Whether a report's statutory comments were published in time, as of a day."""

    report: Report
    as_of: date

    @property
    def state(self) -> str:
        due, done = self.report.response_due, self.report.responded_on
        if done is not None and done <= self.as_of:
            return "published" if done <= due else "published late"
        return "overdue" if self.as_of > due else "due"

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def responses(ops: OpsStore, as_of: date) -> list[ResponseState]:
    return [ResponseState(r, as_of) for r in reports(ops) if r.published_on <= as_of]


def changed_since(rows: Iterable[Row], since: date) -> list[tuple[Row, HistoryRow]]:
    """Each update that took effect on or after ``since``, with its item, newest first."""
    out = [(row, h) for row in rows for h in row.history if h.changed_on >= since]
    out.sort(key=lambda p: (p[1].changed_on, p[1].update_id), reverse=True)
    return out


def status_label(status: str) -> str:
    return STATUS_LABELS[Status(status)]


@dataclass(frozen=True)
class TrackerView:
    """The tracker as a report shows it: every item as it stood on ``on``, each report's response
    state, and (``since``) the day from which a change is new (the last board's)."""

    on: date
    rows: tuple[Row, ...]
    responses: tuple[ResponseState, ...]
    since: date | None = None

    @property
    def empty(self) -> bool:
        return not self.rows

    def overdue(self) -> list[Row]:
        return [r for r in self.rows if r.overdue(self.on)]

    def changed(self, row: Row) -> bool:
        return self.since is not None and row.changed_since(self.since)


def view(ops: OpsStore, on: date, since: date | None = None) -> TrackerView:
    """The tracker on ``on`` for a report (statuses that took effect by then)."""
    return TrackerView(on, tuple(items_as_of(ops, on)), tuple(responses(ops, on)), since)
