"""What the audit pages read: an audited case's victims, timeline and ledger (from the journey
tables, :mod:`vcop.web.journeys`), the findings an auditor may see, and the form's parsing.

The queries live here, beside the tables they read, so the routes in
:mod:`vcop.web.routes.audits` stay thin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vcop.qa.audits import (
    JUDGEMENTS,
    QUALITY_COLUMNS,
    Audit,
    Finding,
    current_findings,
    visible_agencies,
)
from vcop.store.ops import OpsStore
from vcop.web import journeys
from vcop.web.db import WebStore

#: The longest note kept from a form field.
MAX_NOTES = 2000


def case_victims(store: WebStore, crime_id: str) -> list[dict[str, Any]]:
    """The victims of a crime, with the crime's summary (one row each)."""
    journeys.ensure(store)
    return store.query(
        "SELECT * FROM webcache.victim_crimes WHERE crime_id = ? ORDER BY victim_id", [crime_id]
    ).dicts()


def case_timeline(store: WebStore, crime_id: str) -> list[dict[str, Any]]:
    """Everything dated that happened on the crime, oldest first, codes in words."""
    from vcop.web.routes.journey import in_words

    journeys.ensure(store)
    rows = store.query(
        "SELECT happened_at, victim_id, kind, what, detail, note, outcome FROM webcache.timeline "
        "WHERE crime_id = ? ORDER BY happened_at NULLS LAST, ord, victim_id",
        [crime_id],
    ).dicts()
    for row in rows:
        in_words(row)
    return rows


def case_ledger(store: WebStore, crime_id: str) -> list[dict[str, Any]]:
    """The ledger's rows of the crime, for every victim (none when no ledger is built)."""
    if not journeys.ensure(store):
        return []
    return store.query(
        'SELECT victim_id, "right", title, owner, trigger_at, due_date, met_at, status, reason, '
        "obligation_id FROM webcache.obligations WHERE crime_id = ? "
        'ORDER BY "right" NULLS LAST, victim_id, trigger_at, obligation_id',
        [crime_id],
    ).dicts()


def rights_of(ledger: list[dict[str, Any]]) -> list[int]:
    """The Code's rights the ledger holds obligations of for the case (the form asks of each)."""
    return sorted({int(r["right"]) for r in ledger if r.get("right") is not None})


def findings_for(
    ops: OpsStore, a: Audit, crime_id: str, agency: str | None
) -> tuple[dict[int | None, dict[str, Any]], list[dict[str, Any]]]:
    """The viewer's agency's current findings of the case, by right (None: the case as a
    whole), and the other agencies' that may be shown (submitted ones)."""
    shown = visible_agencies(a, agency)
    rows = current_findings(ops, a.audit_id, agencies=shown, crime_id=crime_id)
    own = {r["right"]: r for r in rows if r["agency"] == agency}
    others = [r for r in rows if r["agency"] != agency]
    return own, others


def parse_form(
    form: Mapping[str, Any], *, audit_id: str, agency: str, crime_id: str, rights: list[int]
) -> tuple[list[Finding], dict[str, str], dict[str, str]]:
    """The findings a posted form holds, the errors by field id, and the values as posted (to
    show the form again). A right left blank is not judged (an earlier judgement of it is
    withdrawn); the case's row is always recorded."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    findings: list[Finding] = []

    def text(name: str) -> str:
        value = form.get(name)
        out = value.strip() if isinstance(value, str) else ""
        values[name] = out
        return out

    for right in rights:
        judgement = text(f"judgement_{right}")
        notes = text(f"notes_{right}")
        if len(notes) > MAX_NOTES:
            errors[f"notes_{right}"] = (
                f"Notes on right {right} must be {MAX_NOTES} characters or fewer"
            )
        if not judgement:
            if notes:
                errors[f"judgement_{right}"] = (
                    f"Choose a judgement for right {right}, or clear its notes"
                )
            else:
                findings.append(Finding(audit_id, agency, crime_id, right, withdrawn=True))
            continue
        if judgement not in JUDGEMENTS:
            errors[f"judgement_{right}"] = f"Choose a judgement for right {right}"
            continue
        findings.append(Finding(audit_id, agency, crime_id, right, judgement, notes=notes))
    quality: list[int | None] = []
    for number, column in enumerate(QUALITY_COLUMNS, start=1):
        score = text(column)
        if score in ("1", "2", "3", "4"):
            quality.append(int(score))
        else:
            quality.append(None)
            errors[column] = f"Choose a quality score from 1 to 4 for area {number}"
    notes = text("notes")
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"Notes must be {MAX_NOTES} characters or fewer"
    case_study = text("case_study") == "yes"
    findings.insert(
        0, Finding(audit_id, agency, crime_id, None, None, tuple(quality), notes, case_study)
    )
    return findings, errors, values


def form_values(own: dict[int | None, dict[str, Any]]) -> dict[str, str]:
    """A form's fields filled from the agency's current findings."""
    values: dict[str, str] = {}
    for right, f in own.items():
        if right is None:
            for column in QUALITY_COLUMNS:
                values[column] = "" if f[column] is None else str(f[column])
            values["notes"] = f["notes"] or ""
            values["case_study"] = "yes" if f["case_study"] else ""
        else:
            values[f"judgement_{right}"] = f["judgement"] or ""
            values[f"notes_{right}"] = f["notes"] or ""
    return values


def agreement_table(store: WebStore, ops: OpsStore) -> list[dict[str, Any]]:
    """Per audit and right, how often the agencies' submitted judgements agree with the ledger
    (:mod:`vcop.qa.agreement`); empty when no audit exists or nothing is submitted yet."""
    from vcop.qa.agreement import by_right, pairs
    from vcop.qa.audits import audits
    from vcop.web.ledger import LEDGER

    out: list[dict[str, Any]] = []
    for a in audits(ops):
        findings = current_findings(ops, a.audit_id, agencies=visible_agencies(a, None))
        if not findings or not store.has_table(LEDGER):
            continue
        crime_ids = sorted({str(f["crime_id"]) for f in findings})
        ledger = store.query(
            f'SELECT crime_id, victim_id, obligation_id, "right", status FROM "{LEDGER}" '
            "WHERE list_contains(?, crime_id)",
            [crime_ids],
        ).dicts()
        for r in by_right(pairs(ledger, findings)):
            out.append({
                "audit_id": a.audit_id,
                "right": "All rights" if r.right is None else str(r.right),
                "pairs": r.pairs, "agreed": r.agreed, "rate": r.rate,
                "kappa": None if r.kappa is None else f"{r.kappa:.2f}",
            })  # fmt: skip
    return out
