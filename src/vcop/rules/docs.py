"""docs/rules.md, generated from the Code definitions and the rules' own docstrings.

``rules_doc()`` returns the text; ``vcop docs`` writes it (register it in ``vcop.spec.docs``) and a
test keeps the file in step.
"""

from __future__ import annotations

import re
from inspect import getdoc

from vcop.rules.ledger import LEDGER_DESCRIPTIONS
from vcop.rules.obligations import evaluator
from vcop.rules.status import STATUSES
from vcop.spec.code import (
    OBLIGATION_KINDS,
    Code,
    Condition,
    LedgerStatus,
    LocalStandards,
    Obligation,
    load_code,
    obligation_kind,
)
from vcop.store import calendar

HEADER = """\
<!-- Generated from src/vcop/definitions/code/ by `vcop docs` (vcop.rules.docs). Do not edit. -->
# The Victims' Code rules and the entitlement ledger

`vcop evaluate --as-of DATE` builds the **entitlement ledger**: for every victim of every crime,
every obligation the Victims' Code owes them, when it fell due, whether and when it was met, and
why. Every compliance figure, worklist and victim journey in vcop is a view of it. The Code is
data: each edition is a folder under `src/vcop/definitions/code/` (one file per right, plus
`eligibility.yaml` and `offence_codes.yaml`); `vcop check` validates it and names the file and line
of every problem. A revised Code is a new folder, not new code.
"""

STATUS_TEXT: dict[str, str] = {
    LedgerStatus.met: "met by the end of the due date (or, with no due date, met at all)",
    LedgerStatus.late: "met, but after the due date",
    LedgerStatus.pending: "not met, and not yet past its due date (or it has none yet)",
    LedgerStatus.overdue: "not met, and the as-of date is after the due date",
    LedgerStatus.not_applicable: "not owed after all; the reason says why (an opt-out, a declined "
    "referral, a crime finalised first)",
}

AS_OF = """\
The ledger is a function of the canonical tables, the definitions, the local standards and the
**as-of date**, which is always given, never read from the clock: only what is stamped on or before
the as-of date is seen (a contact made later, or a crime finalised later, is not), and a due date
is past only once the as-of date is after it. Data that arrives late is seen the next time the
ledger is evaluated. Each row records `definitions_hash`, a hash of the definition files and the
local standards that made it; `ledger_runs` records every evaluation.
"""

CONTACTS = """\
Only a **successful** contact for the same victim and crime meets an update obligation (a
voicemail or no answer does not). It must be about the trigger: its `about_event_id` is the
event, or — when it names no event — its `purpose` is the event's type and it was made at or
after the event. A partner's event (`agency_events`) is told by a contact in `agency_contacts`
from one of the obligation's agencies: about the event (the same agency's `about_event_id`), or
naming no event, with one of the obligation's purposes, made at or after the event. A victim
with `updates_opt_out` is owed no update obligation that says so (`not_applicable`, with that
reason). Partner ids are unique only within their agency, so the ledger writes them with it:
`E1@wcu`.
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |"
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _rst_to_md(text: str) -> str:
    text = re.sub(r":(?:func|mod|class):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def convention() -> str:
    """The working-day convention, from the one place it is written (vcop.store.calendar)."""
    doc = getdoc(calendar) or ""
    body = doc.split("\n\n", 1)[1]
    body = body.split("The rule exists twice", 1)[0]
    body = "\n".join(
        line
        for line in body.splitlines()
        if not set(line) <= {"-"} and "written down here once" not in line
    )
    return _rst_to_md(body.strip()) + "\n"


def _condition(c: Condition) -> str:
    if c.crime_flag:
        return f"crime flag `{c.crime_flag}`"
    if c.victim_flag:
        return f"victim flag `{c.victim_flag}`"
    if c.assessment_flag:
        return f"a completed needs assessment with `{c.assessment_flag}`"
    if c.victim_age_under is not None:
        return f"aged under {c.victim_age_under} at report"
    return f"offence code in `{c.offence_list}`"


def _evaluated(o: Obligation) -> str:
    if o.evaluate is None:
        return f"not evaluated: {o.not_evaluated}"
    e = o.evaluate
    what = f"`{e.kind}`"
    if e.events:
        what += " on " + ", ".join(f"`{x}`" for x in e.events)
    if e.purposes:
        what += ": contact purpose " + ", ".join(f"`{x}`" for x in e.purposes)
    if e.services:
        what += ": referral to " + ", ".join(f"`{x}`" for x in e.services)
    if e.qualifying_offences:
        what += f"; offence in `{e.qualifying_offences}`"
    if e.table:
        ends = " or ".join(f"`{c}`" for c in e.end)
        what += f": `{e.table}` from `{e.start}` to {ends}"
    if e.follow_events:
        what += ": followed by " + ", ".join(f"`{x}`" for x in e.follow_events)
    if e.agencies:
        what += "; by " + ", ".join(f"`{x}`" for x in e.agencies)
    if e.excused_by:
        what += f"; not applicable if `{e.excused_by}`"
    if e.victim_flag:
        what += f"; victims with `{e.victim_flag}`"
    if e.crime_events:
        what += "; crimes with " + ", ".join(f"`{x}`" for x in e.crime_events)
    if e.if_contacted:
        what += "; victims given " + ", ".join(f"`{x}`" for x in e.if_contacted)
    if e.opt_out_applies:
        what += "; opt-out applies"
    return what


def _deadline(o: Obligation) -> str:
    words = obligation_kind(o.evaluate.kind).deadline_words if o.evaluate is not None else None
    return words or o.deadline.describe()


def rules_doc(code: Code | None = None) -> str:
    code = code or load_code()
    out = [HEADER, "\n## The ledger\n\n", "One row per victim, crime, obligation and trigger.\n\n"]
    out.append(
        _table(["column", "meaning"], [[f"`{k}`", v] for k, v in LEDGER_DESCRIPTIONS.items()])
    )
    out.append("\nStatuses:\n\n")
    out.append("".join(f"- `{s}`: {STATUS_TEXT[s]}.\n" for s in STATUSES))
    out.append("\n" + AS_OF + "\n## Working days\n\n" + convention())
    out.append("\n## What counts as telling the victim\n\n" + CONTACTS)
    out.append(
        "\n## Local standards\n\nSettings a force sets for itself (`vcop evaluate` options):\n\n"
    )
    out.append(
        _table(
            ["setting", "default", "meaning"],
            [
                [f"`{name}`", str(field.default), field.description or ""]
                for name, field in LocalStandards.model_fields.items()
            ],
        )
    )
    out.append("\n## How each kind of obligation is evaluated\n\n")
    for kind in OBLIGATION_KINDS:
        doc = " ".join(_rst_to_md(getdoc(evaluator(kind)) or "").split())
        doc = " ".join(part for part in re.split(r"(?<=\.) ", doc) if "`detail`" not in part)
        out.append(f"- **`{kind}`**: {doc}\n")
    for edition in code.editions:
        h = edition.header
        to = f"to {h.effective_to}" if h.effective_to else "onwards"
        out.append(f"\n## {h.title}, {h.edition} edition\n\n")
        out.append(
            f"In force from {h.in_force}; applies to triggers from {h.effective_from} {to}. "
        )
        out.append(f"Legal basis: {h.legal_basis}. Source: {h.source}\n\n")
        out.append(
            "`status` says how sure the transcription is: confirmed, partial, unconfirmed (see "
            "`../shared/reference/victims-code.md`), or local (a local standard, not a Code duty).\n"
        )
        out.append(
            "\n### Enhanced rights\n\nThe first criterion that holds is recorded in `enhanced_reason`.\n\n"
        )
        out.append(
            _table(
                ["criterion", "category", "holds when any of"],
                [
                    [
                        f"`{c.id}` ({c.label})",
                        c.category.replace("_", " "),
                        "; ".join(_condition(w) for w in c.when),
                    ]
                    for c in edition.eligibility.criteria
                ],
            )
        )
        out.append("\n### Home Office offence code lists\n\n")
        out.append(
            _table(
                ["list", "title", "status", "codes"],
                [
                    [f"`{name}`", lst.title, lst.status, ", ".join(lst.codes) or "(none yet)"]
                    for name, lst in edition.offence_lists.lists.items()
                ],
            )
        )
        titles = {r.right: r.title for r in edition.header.rights}
        by_right: dict[int | None, list[Obligation]] = {}
        for o in edition.obligations:
            by_right.setdefault(o.right, []).append(o)
        for right in sorted(by_right, key=lambda r: 99 if r is None else r):
            name = (
                f"Right {right}: {titles.get(right, '')}"
                if right is not None
                else "Local standards"
            )
            out.append(f"\n### {name}\n\n")
            out.append(
                _table(
                    [
                        "obligation",
                        "owed by",
                        "deadline",
                        "status",
                        "Code paragraph",
                        "how vcop evaluates it",
                    ],
                    [
                        [
                            f"`{o.id}` {o.title}",
                            o.owner,
                            _deadline(o),
                            o.status,
                            o.code_paragraph.describe(),
                            _evaluated(o),
                        ]
                        for o in by_right[right]
                    ],
                )
            )
    return "".join(out)
