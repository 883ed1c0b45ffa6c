"""One victim's journey through one crime, told in words a supervisor understands.

:func:`journey` gathers everything known about the victim and crime by the as-of date — the
report, case events, every contact attempt (failed ones too), referrals, needs assessments, care
contracts and supervisory reviews — and the victim's ledger rows, computed by the same rules as
``vcop evaluate``. :func:`render` turns them into a dated timeline in which each obligation sits
under the thing that triggered it, with its deadline, due date, what met it and its status.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rich.markup import escape

from vcop.rules.blocks import PURPOSE_WORDS, SERVICE_WORDS
from vcop.rules.eligibility import cutoff
from vcop.rules.ledger import build_ledger
from vcop.rules.sources import Sources
from vcop.spec.code import Code, LedgerStatus, LocalStandards, Obligation

EVENT_WORDS = {
    "decision_not_to_investigate": "Decision not to investigate",
    "suspect_arrested": "Suspect arrested",
    "suspect_interviewed": "Suspect interviewed under caution",
    "released_without_charge": "Suspect released without charge",
    "released_on_bail": "Suspect released on bail",
    "released_under_investigation": "Suspect released under investigation",
    "bail_conditions_changed": "Bail conditions changed",
    "charged": "Suspect charged",
    "not_charged": "Decision not to charge",
    "out_of_court_disposal": "Out-of-court disposal",
    "hearing_listed": "Hearing listed",
    "verdict": "Verdict",
    "sentenced": "Sentence passed",
    "case_stopped_or_altered": "CPS stopped or substantially altered the case",
    "investigation_closed": "Investigation closed",
    "offender_release": "Offender released",
    "outcome_recorded": "Outcome recorded",
}
CHANNEL_WORDS = {
    "phone": "phone call",
    "in_person": "in person",
    "email": "email",
    "letter": "letter",
    "sms": "text message",
    "video": "video call",
    "portal": "portal message",
    "other": "contact",
}
CONTACT_PURPOSE_WORDS = {
    "update": "a general update",
    "vcc_update": "a care contract update",
    "needs_assessment": "the needs assessment",
    "other": "other matters",
    **PURPOSE_WORDS,
}
#: How a contact was made, as an adverbial phrase: "told by phone", "told in person".
CHANNEL_HOW = {
    "phone": "by phone",
    "in_person": "in person",
    "email": "by email",
    "letter": "by letter",
    "sms": "by text message",
    "video": "by video call",
    "portal": "through the online portal",
    "other": "",
}
STATUS_WORDS: dict[str, str] = {
    LedgerStatus.met: "[green]met[/]",
    LedgerStatus.late: "[yellow]LATE[/]",
    LedgerStatus.overdue: "[bold red]OVERDUE[/]",
    LedgerStatus.pending: "[cyan]pending[/]",
    LedgerStatus.not_applicable: "not applicable",
}
#: The order statuses are counted in a journey's summary.
_SUMMARY_ORDER = (
    LedgerStatus.met,
    LedgerStatus.late,
    LedgerStatus.overdue,
    LedgerStatus.pending,
    LedgerStatus.not_applicable,
)


class NotFound(LookupError):
    """No such victim of that crime, reported by the as-of date."""


@dataclass
class Journey:
    """Everything :func:`render` needs, as plain rows."""

    victim_id: str
    crime_id: str
    as_of: date
    crime: dict[str, Any]
    victim: dict[str, Any]
    events: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    assessments: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    entitlements: list[dict[str, Any]]
    code: Code
    standards: LocalStandards = field(default_factory=LocalStandards)


def _rows(table: Any) -> list[dict[str, Any]]:
    return list(table.to_pyarrow().to_pylist())


def journey(
    src: Sources,
    victim_id: str,
    crime_id: str,
    as_of: date,
    *,
    code: Code,
    standards: LocalStandards,
) -> Journey:
    """Gather one victim's journey through one crime, as known by the end of ``as_of``."""
    mine = src.restrict(victim_id=victim_id, crime_id=crime_id)
    end = cutoff(as_of)
    crimes = _rows(mine.crimes.filter(mine.crimes.reported_at < end))
    victims = _rows(mine.victims)
    if not crimes or not victims:
        raise NotFound(
            f"no victim {victim_id!r} of crime {crime_id!r} reported by {as_of.isoformat()}"
        )

    def upto(table: Any, column: str) -> list[dict[str, Any]]:
        return _rows(table.filter(table[column].isnull() | (table[column] < end)))

    return Journey(
        victim_id=victim_id,
        crime_id=crime_id,
        as_of=as_of,
        crime=crimes[0],
        victim=victims[0],
        events=_rows(mine.case_events.filter(mine.case_events.event_at < end)),
        contacts=_rows(mine.contacts.filter(mine.contacts.contact_at < end)),
        referrals=upto(mine.referrals, "referred_at"),
        assessments=upto(mine.needs_assessments, "completed_at"),
        contracts=_rows(mine.care_contracts.filter(mine.care_contracts.agreed_at < end)),
        reviews=_rows(mine.supervisory_reviews),
        entitlements=_rows(build_ledger(mine, as_of, code=code, standards=standards)),
        code=code,
        standards=standards,
    )


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------


def day(d: date) -> str:
    """'Mon 3 Feb 2025'."""
    return f"{d:%a} {d.day} {d:%b %Y}"


def at(t: datetime) -> str:
    """'Mon 3 Feb 2025 at 14:05'."""
    return f"{day(t)} at {t:%H:%M}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _criterion_label(j: Journey, criterion: str | None, edition: str) -> str:
    if criterion is None:
        return ""
    for c in j.code.edition(edition).eligibility.criteria:
        if c.id == criterion:
            return c.label
    return criterion


def _deadline(j: Journey, row: dict[str, Any], o: Obligation) -> str:
    d = o.deadline
    due = row["due_date"]
    if d.agreed_with_victim:
        return f"an update within the agreed interval, due by the end of {day(due)}"
    if d.by_finalisation:
        when = f"the crime was finalised on {day(due)}" if due else "the crime is not finalised"
        return f"no deadline in the Code; expected before the crime is finalised ({when})"
    if d.before_event:
        events = " or ".join(e.replace("_", " ") for e in d.before_event)
        when = f"due by the end of {day(due)}" if due else f"no {events} yet"
        return f"no deadline in the Code; expected by the day of the {events} ({when})"
    if d.clock == "hours":
        counts = o.deadline_counts(j.standards)
        n = counts[1] if counts else 0
        words = f"within {_plural(n, 'hour')} (the force's local standard)"
        return f"{words}; due on {day(due)}" if due else words
    days = o.deadline_days(j.standards)
    if days is None:
        return f"due by the end of {day(due)}" if due else "no due date"
    n = days[0] if row["enhanced"] else days[1]
    words = f"within {_plural(n, 'working day')}"
    if d.local_standard:
        words += " (the force's local standard)"
    elif row["enhanced"] and days[0] != days[1]:
        label = _criterion_label(j, row["enhanced_reason"], row["code_edition"])
        words += f" (enhanced: {label})"
    elif days[0] != days[1]:
        words += " (standard rights)"
    return f"{words}; due by the end of {day(due)}" if due else words


def _met(j: Journey, row: dict[str, Any]) -> str:
    by = row["met_by_id"]
    when = row["met_at"]
    if by is None or when is None:
        return ""
    for c in j.contacts:
        if c["contact_id"] == by:
            how = CHANNEL_HOW.get(c["channel"] or "other", "")
            return f"told {how + ' ' if how else ''}on {at(when)}"
    for r in j.referrals:
        if r["referral_id"] == by:
            return f"referred to {SERVICE_WORDS.get(r['service'], r['service'])} on {at(when)}"
    for a in j.assessments:
        if a["assessment_id"] == by:
            return f"completed on {at(when)}"
    for k in j.contracts:
        if k["contract_id"] == by:
            return f"agreed on {at(when)}"
    return f"done on {at(when)}"


def _obligation_lines(j: Journey, row: dict[str, Any]) -> list[str]:
    o = j.code.obligation(row["obligation_id"], row["code_edition"])
    right = f"Right {o.right}" if o.right is not None else "Local standard"
    lines = [f"    {right} · {escape(o.title)} [dim]({o.id}, owed by {o.owner})[/]"]
    lines.append(f"      {_deadline(j, row, o)}")
    met = _met(j, row)
    outcome = STATUS_WORDS[row["status"]]
    reason = escape(row["reason"] or "")
    lines.append(f"      {met + ' — ' if met else ''}{outcome}: {reason}")
    return lines


def _contact_text(c: dict[str, Any], events: dict[str, dict[str, Any]]) -> str:
    how = CHANNEL_WORDS.get(c["channel"] or "other", "contact").capitalize()
    purpose = c["purpose"]
    if c["about_event_id"] in events:
        event = events[c["about_event_id"]]
        about = f"about {EVENT_WORDS.get(event['event_type'], event['event_type']).lower()} ({c['about_event_id']})"
    elif purpose in EVENT_WORDS:
        about = f"about {EVENT_WORDS[purpose].lower()}"
    else:
        about = f"about {CONTACT_PURPOSE_WORDS.get(purpose, purpose)}"
    ok = c["successful"] is not False
    result = (
        "[green]the victim was told[/]" if ok else "[red]not successful (victim not reached)[/]"
    )
    return f"{how} {escape(about)} — {result} [dim]({escape(c['contact_id'])})[/]"


@dataclass(order=True)
class _Entry:
    """One dated line of the timeline, with the ledger rows it triggered."""

    at: datetime
    order: int
    text: str = field(compare=False)
    rows: list[dict[str, Any]] = field(default_factory=list, compare=False)


def _header(j: Journey, finalised: datetime | None) -> list[str]:
    crime = j.crime
    flags = [
        w
        for w, k in (("domestic abuse", "domestic_abuse"), ("hate crime", "hate_crime"))
        if crime.get(k)
    ]
    offence = f", offence {escape(str(crime['offence_code']))}" if crime.get("offence_code") else ""
    ending = (
        f"; finalised {at(finalised)} (outcome {crime.get('outcome_code')})"
        if finalised
        else "; not finalised"
    )
    out = [
        f"[bold]Victim {escape(j.victim_id)} — crime {escape(j.crime_id)}[/] — as of {day(j.as_of)}",
        f"Crime: {escape(str(crime.get('crime_type')))}{offence}"
        + (f" ({', '.join(flags)})" if flags else "")
        + f"; reported {at(crime['reported_at'])}{ending}",
    ]
    first = j.entitlements[0] if j.entitlements else None
    if first is None:
        out.append("Enhanced rights: not decided — nothing is owed under the Code by this date")
    elif first["enhanced"]:
        label = _criterion_label(j, first["enhanced_reason"], first["code_edition"])
        out.append(f"Enhanced rights: yes — {escape(label)}")
    else:
        out.append("Enhanced rights: no — standard deadlines apply")
    if j.victim.get("updates_opt_out"):
        out.append("Updates: the victim asked not to receive updates")
    counts = Counter(r["status"] for r in j.entitlements)
    summary = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in _SUMMARY_ORDER if counts[s])
    out.append(f"Obligations: {len(j.entitlements)}" + (f" — {summary}" if summary else ""))
    return out


def render(j: Journey) -> list[str]:
    """The journey as lines of text (with Rich markup)."""
    crime = j.crime
    end = datetime.combine(j.as_of, datetime.max.time())

    def seen(t: datetime | None) -> datetime | None:
        return t if t is not None and t <= end else None

    finalised = seen(crime.get("outcome_at"))
    out = [*_header(j, finalised), "", "[bold]Timeline[/]"]

    # Entries a ledger row can hang from, by (trigger type, trigger id).
    homes: dict[tuple[str, str], _Entry] = {}
    entries = [_Entry(crime["reported_at"], 0, "Crime reported")]
    homes["crime_reported", j.crime_id] = entries[0]
    recorded = seen(crime.get("recorded_at"))
    homes["crime_recorded", j.crime_id] = entries[0]  # no recording time: the report it is
    if recorded is not None:
        entries.append(_Entry(recorded, 1, "Crime recorded"))
        homes["crime_recorded", j.crime_id] = entries[-1]
    if finalised is not None:
        entries.append(
            _Entry(finalised, 9, f"Crime finalised (outcome {crime.get('outcome_code')})")
        )
    events = {e["event_id"]: e for e in j.events}
    for e in j.events:
        words = EVENT_WORDS.get(e["event_type"], e["event_type"])
        entries.append(_Entry(e["event_at"], 2, f"{words} [dim]({escape(e['event_id'])})[/]"))
        homes[e["event_type"], e["event_id"]] = entries[-1]
    for c in j.contacts:
        entries.append(_Entry(c["contact_at"], 5, _contact_text(c, events)))
    for r in j.referrals:
        service = SERVICE_WORDS.get(r["service"], r["service"])
        if r["referred_at"] is not None:
            text = f"Referred to {service} [dim]({escape(r['referral_id'])})[/]"
            entries.append(_Entry(r["referred_at"], 4, text))
        elif r.get("consent") == "declined":
            text = f"The victim declined referral to {service} (when is not recorded)"
            entries.append(_Entry(crime["reported_at"], 3, text))
    for a in j.assessments:
        if a["completed_at"] is not None:
            found = " — enhanced rights identified" if a.get("enhanced_rights_identified") else ""
            entries.append(_Entry(a["completed_at"], 4, f"Needs assessment completed{found}"))
    for k in j.contracts:
        channel = k.get("preferred_channel")
        how = f" {CHANNEL_HOW.get(channel, '')}".rstrip() if channel else ""
        text = (
            f"Care contract agreed: updates at least every {k['update_interval_days']} days"
            f"{how} [dim]({escape(k['contract_id'])})[/]"
        )
        entries.append(_Entry(k["agreed_at"], 4, text))
    for s in j.reviews:
        review = escape(s["review_id"])
        entries.append(_Entry(s["due_at"], 3, f"Supervisory review due [dim]({review})[/]"))
        homes["supervisory_review", s["review_id"]] = entries[-1]
        done = seen(s.get("completed_at"))
        if done is not None:
            entries.append(_Entry(done, 4, f"Supervisory review completed [dim]({review})[/]"))

    # Each ledger row goes under the entry for its trigger (a care contract's intervals get one
    # line each, where the interval begins).
    for row in sorted(j.entitlements, key=lambda r: (r["trigger_at"], r["obligation_id"])):
        home = homes.get((row["trigger_type"], row["trigger_event_id"]))
        if home is None:
            contract, _, number = row["trigger_event_id"].rpartition("#")
            text = f"Care contract {escape(contract)}: update interval {number} begins"
            home = _Entry(row["trigger_at"], 6, text)
            entries.append(home)
            homes[row["trigger_type"], row["trigger_event_id"]] = home
        home.rows.append(row)

    for entry in sorted(entries):
        out.append(f"{at(entry.at)}  {entry.text}")
        for row in entry.rows:
            out.extend(_obligation_lines(j, row))
    return out
