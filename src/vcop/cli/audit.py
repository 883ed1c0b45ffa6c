"""`vcop audit …`: dip-sample audits — list them, import a panel's findings, submit an agency's
part, record the actions agreed, export the findings.

An audit is made by drawing an agency's sample into it: `vcop report sample … --audit ID --agency
AGENCY`. Findings are recorded in the dashboard (``/audits/{id}/cases/{case}``) or imported here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from vcop.cli.access import record_reader
from vcop.cli.app import app, console, err_console, fail, open_ops_store
from vcop.cli.data import DbOption
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row
from vcop.spec.agencies import agency_name

audit_app = typer.Typer(
    help="Dip-sample audits: each agency's panel records what it found in its sample of cases "
    "(draw a sample into an audit with `vcop report sample --audit ID --agency AGENCY`).",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

#: Roles that record findings: an agency's auditors, and the OPCC's analysts for any agency.
RECORDING_ROLES = ("analyst", "auditor")

UserOption = Annotated[
    str,
    typer.Option(
        "--user",
        help="Your vcop account (an auditor or an analyst). Its password is asked for at a "
        "terminal, else read from VCOP_PASSWORD.",
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (logged).")]
AuditOption = Annotated[str, typer.Option("--audit", help="The audit's id, e.g. 2025Q1.")]


def _agency_of(db: Path, username: str) -> str | None:
    """An auditor's agency (None for an analyst)."""
    ops = open_ops_store(db)
    try:
        row = ops.query("SELECT role, agency FROM users WHERE username = ?", [username]).rows
    finally:
        ops.close()
    return str(row[0][1]) if row and row[0][0] == "auditor" and row[0][1] else None


@audit_app.command("list")
def list_command(db: DbOption = DEFAULT_DB) -> None:
    """Every audit: its quarter, each agency's sample size and whether the agency has submitted
    (counts only, no case)."""
    from vcop.qa.audits import audits, current_findings

    ops = open_ops_store(db)
    try:
        found = audits(ops)
        if not found:
            console.print(
                "No audit yet: draw one with `vcop report sample … --audit ID --agency AGENCY`."
            )
            return
        for a in found:
            console.print(f"[bold]{a.audit_id}[/] ({a.quarter}, made {a.created_at:%-d %B %Y})")
            for agency, cases in a.samples.items():
                done = {f["crime_id"] for f in current_findings(ops, a.audit_id, agencies=[agency])}
                state = (
                    f"submitted {a.submitted[agency][0]:%-d %B %Y}"
                    if agency in a.submitted
                    else "not submitted"
                )
                console.print(
                    f"  {agency_name(agency)} ({agency}): {len(cases)} case(s), "
                    f"{len(done & set(cases))} with findings; "
                    f"{state}"
                )
    finally:
        ops.close()


@audit_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(help="A CSV (or .xlsx) of findings.", exists=True, dir_okay=False),
    ],
    user: UserOption,
    reason: ReasonOption = "importing a panel's dip-sample findings",
    db: DbOption = DEFAULT_DB,
    rejects: Annotated[
        Path | None, typer.Option(help="Write the rejected rows here as CSV.")
    ] = None,
) -> None:
    """Record findings from a panel's spreadsheet: columns audit, agency, crime_id, right,
    judgement, quality_1 … quality_5, notes, case_study (see docs/reports.md).

    The header is row 1. Each row with a problem is rejected with its row, field, value and why;
    the others are recorded, each superseding the current finding for its case and right. An
    auditor imports their own agency's findings only. Exit code 0: all recorded; 3: recorded
    with rejects; 1: nothing could be read.
    """
    from vcop.qa.audit_import import FindingsFileError, check_against_store, parse, read_rows
    from vcop.qa.audits import AuditError, record

    reader = record_reader(
        db, user=user, reason=reason, action="audit_import", what="record audit findings",
        roles=RECORDING_ROLES, detail=f"file={file.name}",
    )  # fmt: skip
    try:
        parsed = parse(read_rows(file))
    except (FindingsFileError, OSError, ValueError) as exc:
        fail(str(exc), code=1)
    ops = open_ops_store(db)
    try:
        good, bad = check_against_store(ops, parsed, agency=_agency_of(db, reader.user.username))
        try:
            record(
                ops, [f for _, f in good], by=reader.user.username, now=datetime.now(),
                channel="import",
            )  # fmt: skip
        except AuditError as exc:
            fail(str(exc), code=1)
    finally:
        ops.close()
    reader.log(
        f"file={file.name}; {len(good)} finding(s) recorded, {len(bad)} reject(s)",
        records=[(None, f.crime_id) for _, f in good],
    )
    console.print(f"Recorded {len(good)} finding(s) from {file.name}.")
    if bad:
        for r in bad[:50]:
            err_console.print(
                f"row {r.row}, {r.field}: {r.reason} (value {r.value!r})", highlight=False
            )
        if len(bad) > 50:
            err_console.print(f"… and {len(bad) - 50} more", highlight=False)
        if rejects is not None:
            with rejects.open("w", newline="") as f:
                writer = csv_writer(f)
                writer.writerow(["row", "field", "value", "reason"])
                writer.writerows(safe_row([r.row, r.field, r.value, r.reason]) for r in bad)
        err_console.print(f"{len(bad)} reject(s) in {len({r.row for r in bad})} row(s).")
        raise typer.Exit(3)


@audit_app.command("submit")
def submit_command(
    audit: AuditOption,
    agency: Annotated[str, typer.Option("--agency", help="The agency whose part is submitted.")],
    user: UserOption,
    reason: ReasonOption = "submitting an agency's dip-sample findings",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Submit an agency's part of an audit: its findings become final, and the other agencies
    (and the QA report) see them. Every case of its sample needs a finding first."""
    from vcop.qa.audits import AuditError, submit

    reader = record_reader(
        db, user=user, reason=reason, action="audit_submit", what="submit audit findings",
        roles=RECORDING_ROLES, detail=f"audit={audit} agency={agency}",
    )  # fmt: skip
    own = _agency_of(db, reader.user.username)
    if own is not None and own != agency:
        fail(f"{reader.user.username} audits for {agency_name(own)}, not {agency_name(agency)}")
    ops = open_ops_store(db)
    try:
        submit(ops, audit, agency, by=reader.user.username, now=datetime.now())
    except AuditError as exc:
        fail(str(exc))
    finally:
        ops.close()
    reader.log(f"audit={audit} agency={agency} submitted")
    console.print(f"Submitted {agency_name(agency)}'s part of audit {audit}.")


@audit_app.command("action")
def action_command(
    audit: AuditOption,
    text: Annotated[str, typer.Option("--text", help="The action the panel agreed.")],
    owner: Annotated[str, typer.Option("--owner", help="Who owns it (a role or agency).")],
    user: UserOption,
    due: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="When it is due.")
    ] = None,
    reason: ReasonOption = "recording an action agreed at the audit panel",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Record an action the audit panel agreed (shown in the QA report)."""
    from vcop.qa.audits import AuditError, add_action

    reader = record_reader(
        db, user=user, reason=reason, action="audit_action", what="record audit actions",
        roles=("analyst",), detail=f"audit={audit}",
    )  # fmt: skip
    ops = open_ops_store(db)
    try:
        number = add_action(
            ops, audit, text, owner=owner, due=due.date().isoformat() if due else None,
            by=reader.user.username, now=datetime.now(),
        )  # fmt: skip
    except AuditError as exc:
        fail(str(exc))
    finally:
        ops.close()
    reader.log(f"audit={audit} action {number} recorded")
    console.print(f"Recorded action {number} of audit {audit}.")


@audit_app.command("findings")
def findings_command(
    audit: AuditOption,
    user: UserOption,
    reason: ReasonOption,
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export an audit's current findings (record level: logged with every case in it). An
    auditor sees their own agency's and the submitted ones; an analyst the submitted ones."""
    from vcop.qa.audits import FINDING_COLUMNS, AuditError, current_findings, visible_agencies
    from vcop.qa.audits import audit as get_audit

    reader = record_reader(
        db, user=user, reason=reason, action="audit_export", what="export audit findings",
        roles=RECORDING_ROLES, detail=f"audit={audit}",
    )  # fmt: skip
    ops = open_ops_store(db)
    try:
        try:
            a = get_audit(ops, audit)
        except AuditError as exc:
            fail(str(exc))
        shown = visible_agencies(a, _agency_of(db, reader.user.username))
        rows = current_findings(ops, audit, agencies=shown)
    finally:
        ops.close()
    cases = list(dict.fromkeys(str(r["crime_id"]) for r in rows))
    reader.log(
        f"audit={audit} agencies={','.join(shown)}; {len(rows)} finding(s) of {len(cases)} case(s)",
        records=[(None, c) for c in cases],
    )
    with out.open("w", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(FINDING_COLUMNS)
        writer.writerows(safe_row([r[c] for c in FINDING_COLUMNS]) for r in rows)
    console.print(f"Wrote {len(rows)} finding(s) of {len(cases)} case(s) to {out}.")
