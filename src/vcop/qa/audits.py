"""Dip-sample audits, kept in the operational store (SQLite).

An *audit* (``audits``) is one quarter's review, named by its id (``2025Q1``, say). Each agency's
panel draws its own sample of cases into it with `vcop report sample --audit ID --agency AGENCY`
(``audit_cases``; one sample per agency, DECISIONS "QA & tracker"). Its auditors then record, per
case, a *finding* for each right they judged — met, partly met, not met or not applicable — and
one for the case as a whole (``right`` blank) with a quality score from 1 to 4 against each of the
five areas of the Ministry of Justice's quarterly return, notes, and whether the case is a
candidate "voice of the victim" case study. Any finding may carry notes; notes are scrubbed of
phone numbers, email addresses, postcodes and street addresses (:func:`vcop.privacy.scrub`)
before they are stored.

``audit_findings`` is append-only: a changed finding is a new row whose ``supersedes`` names the
row it replaces, with who recorded it and when; no finding is ever updated or deleted. The
*current* findings are the rows nothing supersedes. When an agency submits its part
(``audit_submissions``) its findings are fixed, and only then may the other agencies (and the
report) see them; until then each agency sees only its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from vcop.privacy import scrub
from vcop.spec.agencies import agency_name
from vcop.store.ops import OpsStore, timestamp, with_value

#: The agencies whose panels audit (DESIGN: police, victim hub, CPS, witness care, probation), as
#: the Code's owner ids.
AUDIT_AGENCIES: tuple[str, ...] = ("police", "victim_hub", "cps", "wcu", "hmpps")

#: An auditor's judgement of a right, and how it is written.
JUDGEMENTS: dict[str, str] = {
    "met": "Met",
    "partly_met": "Partly met",
    "not_met": "Not met",
    "not_applicable": "Not applicable",
}

#: The quality scale (DECISIONS "QA & tracker": 1–4).
QUALITY_SCORES: dict[int, str] = {1: "Poor", 2: "Requires improvement", 3: "Good", 4: "Excellent"}

#: The Code's rights (1–12) a finding may judge.
RIGHTS = range(1, 13)

#: The columns of a finding's quality scores, one per area of the MoJ return.
QUALITY_COLUMNS = ("quality_1", "quality_2", "quality_3", "quality_4", "quality_5")

AUDIT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


class AuditError(ValueError):
    """What cannot be done to an audit, with a reason a person can act on."""


@cache
def quality_areas() -> tuple[tuple[int, str], ...]:
    """The five areas quality is scored against: the areas of the MoJ's quarterly compliance
    return (``definitions/returns/moj_quarterly.yaml``), as (number, title)."""
    from vcop.spec.returns import load_return

    areas = tuple((a.number, a.title) for a in load_return().areas)
    if len(areas) != len(QUALITY_COLUMNS):
        raise AuditError(f"the MoJ return has {len(areas)} areas, not {len(QUALITY_COLUMNS)}")
    return areas


@dataclass(frozen=True)
class Finding:
    """What one agency's auditor found on one case: for one right, or (``right`` None) for the
    case as a whole."""

    audit_id: str
    agency: str
    crime_id: str
    right: int | None
    judgement: str | None = None
    quality: tuple[int | None, ...] = (None, None, None, None, None)
    notes: str = ""
    case_study: bool = False
    #: The right is no longer judged: recording this withdraws the current judgement of
    #: ``right`` (a row with no judgement that supersedes it; history keeps the old one).
    withdrawn: bool = False

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong) for each problem of the finding on its own."""
        out: list[tuple[str, str]] = []
        if self.withdrawn:
            if self.right is None:
                out.append(("right", "only a right's judgement can be withdrawn"))
            if self.judgement is not None or self.notes:
                out.append(("judgement", "a withdrawn judgement has no judgement or notes"))
            return out
        if self.agency not in AUDIT_AGENCIES:
            out.append(("agency", f"{self.agency!r} is not one of {', '.join(AUDIT_AGENCIES)}"))
        if self.right is not None and self.right not in RIGHTS:
            out.append(("right", f"{self.right} is not a right of the Code (1 to 12)"))
        if self.judgement is not None and self.judgement not in JUDGEMENTS:
            out.append(("judgement", f"{self.judgement!r} is not one of {', '.join(JUDGEMENTS)}"))
        if self.right is not None and self.judgement is None:
            out.append(("judgement", f"right {self.right} needs a judgement"))
        if self.right is None and self.judgement is not None:
            out.append(("right", "a judgement needs the right it judges"))
        if len(self.quality) != len(QUALITY_COLUMNS):
            out.append(("quality", f"needs {len(QUALITY_COLUMNS)} scores"))
        for column, score in zip(QUALITY_COLUMNS, self.quality, strict=False):
            if score is not None and score not in QUALITY_SCORES:
                out.append((column, f"{score} is not a score from 1 to 4"))
        if self.right is not None and any(q is not None for q in self.quality):
            out.append(("quality", "quality is scored for the case as a whole (no right)"))
        return out


@dataclass(frozen=True)
class AuditCase:
    """One case of an agency's sample."""

    crime_id: str
    area: str | None
    crime_type: str | None
    finalised_at: str | None
    enhanced: bool
    court: bool


@dataclass(frozen=True)
class Sample:
    """One agency's sample, as drawn."""

    audit_id: str
    quarter: str
    agency: str
    cases: tuple[AuditCase, ...]
    draw: str
    by: str
    at: datetime


@dataclass
class Audit:
    """An audit: its samples, who has submitted, and when."""

    audit_id: str
    quarter: str
    created_at: datetime
    created_by: str
    samples: dict[str, list[str]] = field(default_factory=dict)
    submitted: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    @property
    def crime_ids(self) -> list[str]:
        return list(dict.fromkeys(c for cs in self.samples.values() for c in cs))


def check_audit_id(audit_id: str) -> str:
    if not AUDIT_ID.fullmatch(audit_id):
        raise AuditError(
            f"audit id {audit_id!r}: use up to 40 letters, digits, '-', '_' or '.' (e.g. 2025Q1)"
        )
    return audit_id


def check_agency(agency: str) -> str:
    if agency not in AUDIT_AGENCIES:
        raise AuditError(f"agency {agency!r}: audits are by {', '.join(AUDIT_AGENCIES)}")
    return agency


def add_sample(ops: OpsStore, sample: Sample) -> None:
    """Record an agency's sample in the audit (made if new). An agency has one sample per audit;
    drawing another for it is refused."""
    check_audit_id(sample.audit_id)
    check_agency(sample.agency)
    with ops.transaction() as tx:
        row = tx.execute(
            "SELECT quarter FROM audits WHERE audit_id = ?", [sample.audit_id]
        ).fetchone()
        if row is None:
            tx.execute(
                "INSERT INTO audits (audit_id, quarter, created_at, created_by) "
                "VALUES (?, ?, ?, ?)",
                with_value([sample.audit_id, sample.quarter, sample.at, sample.by]),
            )
        elif str(row[0]) != sample.quarter:
            raise AuditError(
                f"audit {sample.audit_id} is of {row[0]}, not {sample.quarter}: name another audit"
            )
        if tx.execute(
            "SELECT 1 FROM audit_cases WHERE audit_id = ? AND agency = ? LIMIT 1",
            [sample.audit_id, sample.agency],
        ).fetchone():
            raise AuditError(
                f"audit {sample.audit_id} already holds a sample for {sample.agency}: each "
                "agency draws one sample per audit"
            )
        tx.executemany(
            "INSERT INTO audit_cases (audit_id, agency, crime_id, sample_no, area, crime_type, "
            "finalised_at, enhanced, court, drawn_at, drawn_by, draw) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                with_value(
                    [
                        sample.audit_id,
                        sample.agency,
                        c.crime_id,
                        i,
                        c.area,
                        c.crime_type,
                        c.finalised_at,
                        int(c.enhanced),
                        int(c.court),
                        sample.at,
                        sample.by,
                        sample.draw,
                    ]
                )
                for i, c in enumerate(sample.cases, start=1)
            ],
        )


def audits(ops: OpsStore) -> list[Audit]:
    """Every audit, newest first, with its samples and submissions."""
    found = {
        str(r[0]): Audit(str(r[0]), str(r[1]), _when(r[2]), str(r[3]))
        for r in ops.query(
            "SELECT audit_id, quarter, created_at, created_by FROM audits "
            "ORDER BY created_at DESC, audit_id"
        ).rows
    }
    for audit_id, agency, crime_id in ops.query(
        "SELECT audit_id, agency, crime_id FROM audit_cases ORDER BY audit_id, agency, sample_no"
    ).rows:
        found[str(audit_id)].samples.setdefault(str(agency), []).append(str(crime_id))
    for audit_id, agency, at, by in ops.query(
        "SELECT audit_id, agency, submitted_at, submitted_by FROM audit_submissions"
    ).rows:
        found[str(audit_id)].submitted[str(agency)] = (_when(at), str(by))
    return list(found.values())


def audit(ops: OpsStore, audit_id: str) -> Audit:
    for a in audits(ops):
        if a.audit_id == audit_id:
            return a
    raise AuditError(f"there is no audit {audit_id!r}")


def sample_cases(ops: OpsStore, audit_id: str, agency: str | None = None) -> list[dict[str, Any]]:
    """The cases of an audit's samples (one agency's, or all), in sample order."""
    where, params = ("AND agency = ?", [audit_id, agency]) if agency else ("", [audit_id])
    rows = ops.query(
        "SELECT agency, sample_no, crime_id, area, crime_type, finalised_at, enhanced, court, "
        f"drawn_at, drawn_by, draw FROM audit_cases WHERE audit_id = ? {where} "
        "ORDER BY agency, sample_no",
        params,
    ).dicts()
    for r in rows:
        r["enhanced"], r["court"] = bool(r["enhanced"]), bool(r["court"])
    return rows


def in_sample(ops: OpsStore, audit_id: str, agency: str, crime_id: str) -> bool:
    return bool(
        ops.scalar(
            "SELECT 1 FROM audit_cases WHERE audit_id = ? AND agency = ? AND crime_id = ?",
            [audit_id, agency, crime_id],
        )
    )


def record(
    ops: OpsStore, findings: Sequence[Finding], *, by: str, now: datetime, channel: str
) -> list[int]:
    """Append ``findings`` (each superseding the current finding for its case and right, if
    any), in one transaction; returns their ids. A finding that has problems, is for a case not
    in its agency's sample, or for an agency that has submitted, is refused (nothing is written).
    A finding equal to the current one is not written again (its id is returned)."""
    ids: list[int] = []
    with ops.transaction() as tx:
        for f in findings:
            problems = f.problems()
            if problems:
                raise AuditError("; ".join(f"{name}: {why}" for name, why in problems))
            if not tx.execute(
                "SELECT 1 FROM audit_cases WHERE audit_id = ? AND agency = ? AND crime_id = ?",
                [f.audit_id, f.agency, f.crime_id],
            ).fetchone():
                raise AuditError(
                    f"case {f.crime_id} is not in {agency_name(f.agency)}'s sample of audit "
                    f"{f.audit_id}"
                )
            if tx.execute(
                "SELECT 1 FROM audit_submissions WHERE audit_id = ? AND agency = ?",
                [f.audit_id, f.agency],
            ).fetchone():
                raise AuditError(
                    f"{agency_name(f.agency)} has submitted its part of audit {f.audit_id}: "
                    "its findings are final"
                )
            notes = scrub(f.notes).text.strip() if f.notes else ""
            current = tx.execute(
                f"SELECT finding_id, judgement, {', '.join(QUALITY_COLUMNS)}, notes, case_study "
                "FROM audit_findings a WHERE audit_id = ? AND agency = ? AND crime_id = ? "
                'AND "right" IS ? AND NOT EXISTS (SELECT 1 FROM audit_findings b '
                "WHERE b.supersedes = a.finding_id)",
                [f.audit_id, f.agency, f.crime_id, f.right],
            ).fetchone()
            values = (f.judgement, *f.quality, notes or None, int(f.case_study))
            if f.withdrawn and (current is None or current[1] is None):
                continue  # nothing judged: nothing to withdraw
            if current is not None and tuple(current[1:]) == values:
                ids.append(int(current[0]))
                continue
            cur = tx.execute(
                'INSERT INTO audit_findings (audit_id, agency, crime_id, "right", judgement, '
                f"{', '.join(QUALITY_COLUMNS)}, notes, case_study, recorded_at, recorded_by, "
                "channel, supersedes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                with_value(
                    [
                        f.audit_id,
                        f.agency,
                        f.crime_id,
                        f.right,
                        *values,
                        now,
                        by,
                        channel,
                        None if current is None else current[0],
                    ]
                ),
            )
            ids.append(int(cur.lastrowid or 0))
    return ids


#: The columns of a current finding (:func:`current_findings`).
FINDING_COLUMNS = (
    "finding_id", "agency", "crime_id", "right", "judgement", *QUALITY_COLUMNS, "notes",
    "case_study", "recorded_at", "recorded_by", "channel", "supersedes",
)  # fmt: skip


def current_findings(
    ops: OpsStore,
    audit_id: str,
    *,
    agencies: Iterable[str] | None = None,
    crime_id: str | None = None,
) -> list[dict[str, Any]]:
    """The findings of an audit that nothing supersedes (of ``agencies`` and ``crime_id`` if
    given), by agency, case and right (the case as a whole first). A withdrawn judgement (a
    right's row with no judgement) is not a finding."""
    where, params = ["audit_id = ?"], [audit_id]
    if agencies is not None:
        chosen = list(agencies)
        if not chosen:
            return []
        where.append(f"agency IN ({', '.join('?' for _ in chosen)})")
        params += chosen
    if crime_id is not None:
        where.append("crime_id = ?")
        params.append(crime_id)
    columns = ", ".join(f'a."{c}"' for c in FINDING_COLUMNS)
    rows = ops.query(
        f"SELECT {columns} FROM audit_findings a WHERE {' AND '.join(where)} AND NOT EXISTS "
        "(SELECT 1 FROM audit_findings b WHERE b.supersedes = a.finding_id) "
        'AND NOT (a."right" IS NOT NULL AND a.judgement IS NULL) '
        'ORDER BY agency, crime_id, "right" NULLS FIRST',
        params,
    ).dicts()
    for r in rows:
        r["case_study"] = bool(r["case_study"])
        r["recorded_at"] = timestamp(r["recorded_at"])
    return rows


def history(ops: OpsStore, audit_id: str, agency: str, crime_id: str) -> list[dict[str, Any]]:
    """Every finding ever recorded for one agency's case, oldest first (superseded ones too)."""
    columns = ", ".join(f'"{c}"' for c in FINDING_COLUMNS)
    rows = ops.query(
        f"SELECT {columns} FROM audit_findings WHERE audit_id = ? AND agency = ? AND crime_id = ? "
        "ORDER BY finding_id",
        [audit_id, agency, crime_id],
    ).dicts()
    for r in rows:
        r["recorded_at"] = timestamp(r["recorded_at"])
    return rows


def visible_agencies(a: Audit, viewer_agency: str | None) -> list[str]:
    """The agencies whose findings a person may see: those that have submitted, and their own
    (an auditor's agency; ``viewer_agency`` None for the OPCC's analysts)."""
    shown = set(a.submitted)
    if viewer_agency:
        shown.add(viewer_agency)
    return [g for g in AUDIT_AGENCIES if g in shown]


def submit(ops: OpsStore, audit_id: str, agency: str, *, by: str, now: datetime) -> None:
    """Submit an agency's part of an audit: its findings become final and visible to the others.
    Refused when it has no sample, has already submitted, or has a case with no finding."""
    a = audit(ops, audit_id)
    if agency not in a.samples:
        raise AuditError(f"audit {audit_id} holds no sample for {agency_name(agency)}")
    if agency in a.submitted:
        at, who = a.submitted[agency]
        raise AuditError(
            f"{agency_name(agency)} submitted audit {audit_id} on {at:%-d %B %Y} ({who})"
        )
    done = {f["crime_id"] for f in current_findings(ops, audit_id, agencies=[agency])}
    missing = [c for c in a.samples[agency] if c not in done]
    if missing:
        raise AuditError(
            f"{len(missing)} case(s) of {agency}'s sample have no finding yet: "
            + ", ".join(missing[:10])
            + (" …" if len(missing) > 10 else "")
        )
    ops.execute(
        "INSERT INTO audit_submissions (audit_id, agency, submitted_at, submitted_by) "
        "VALUES (?, ?, ?, ?)",
        [audit_id, agency, now, by],
    )


def add_action(
    ops: OpsStore,
    audit_id: str,
    action: str,
    *,
    owner: str,
    due: str | None,
    by: str,
    now: datetime,
) -> int:
    """Record an action the panel agreed (scrubbed like notes); returns its id."""
    audit(ops, audit_id)
    text = scrub(" ".join(action.split())).text
    if not text:
        raise AuditError("an action needs its text")
    if not owner.strip():
        raise AuditError("an action needs an owner")
    cur = ops.connection().execute(
        "INSERT INTO audit_actions (audit_id, action, owner, due, agreed_at, agreed_by) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        with_value([audit_id, text, scrub(owner.strip()).text, due, now, by]),
    )
    return int(cur.lastrowid or 0)


def actions(ops: OpsStore, audit_id: str) -> list[dict[str, Any]]:
    return ops.query(
        "SELECT action_id, action, owner, due, agreed_at, agreed_by FROM audit_actions "
        "WHERE audit_id = ? ORDER BY action_id",
        [audit_id],
    ).dicts()


def _when(value: object) -> datetime:
    found = timestamp(value)
    assert found is not None
    return found


def forget_cases(ops: OpsStore, crime_ids: Sequence[str]) -> int:
    """Remove the audit cases and findings of crimes removed from the build (``vcop erase`` and
    ``vcop retention apply``): the one deletion from the append-only findings, because the law
    requires it. Returns how many rows went."""
    gone = 0
    with ops.transaction() as tx:
        for start in range(0, len(crime_ids), 500):
            chunk = list(crime_ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            for table in ("audit_findings", "audit_cases"):
                cur = tx.execute(f"DELETE FROM {table} WHERE crime_id IN ({marks})", chunk)
                gone += cur.rowcount
    return gone
