"""``vcop tracker``: the inspection tracker (reports, recommendations, their status history).

The tracker lives in the operational store beside the build, so these commands work while the
dashboard runs. It holds no victim data; its exports (``list --format csv|json``) are still
logged, with an account and a reason, like every export (DECISIONS "Data protection").
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail, open_ops_store
from vcop.cli.data import DbOption
from vcop.config import DEFAULT_DB

if TYPE_CHECKING:
    from vcop.qa.tracker import Row

tracker_app = typer.Typer(
    help="The inspection tracker: inspection reports, their recommendations, the statutory "
    "response due date and each recommendation's status history.",
    no_args_is_help=True,
)
app.add_typer(tracker_app, name="tracker")

DayOption = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user", help="Who records this (kept in the history; default: your login name)."
    ),
]


class ListFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _who(user: str | None) -> tuple[str, str]:
    """The name recorded with a change, and the operating-system user who ran the command."""
    from vcop.store.access_log import os_user

    return (user or getpass.getuser()), os_user()


def _tracker_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a tracker function, ending the command with its message when it refuses a value."""
    from vcop.qa.tracker import TrackerError

    try:
        return fn(*args, **kwargs)
    except TrackerError as exc:
        fail(str(exc))


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


@tracker_app.command("add-report")
def add_report(
    report_id: Annotated[
        str, typer.Option("--id", help="A short id for the report, e.g. joint-victims-2023.")
    ],
    title: Annotated[str, typer.Option(help="The report's title.")],
    inspectorate: Annotated[str, typer.Option(help="Who inspected, e.g. HMICFRS.")],
    published: Annotated[
        dt.datetime,
        typer.Option(formats=["%Y-%m-%d"], help="The day the report was published."),
    ],
    url: Annotated[str | None, typer.Option(help="Where the report is published.")] = None,
    responded_on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day the PCC's comments were published."),
    ] = None,
    user: UserOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add an inspection report. Its response due date follows from its publication date: the
    PCC's comments are due before the end of the 56 days beginning with the publication day
    (Police Act 1996 s.55(5A))."""
    from vcop.qa.tracker import Report, add_report, check_report_id, check_text

    who, _ = _who(user)
    report = _tracker_call(
        lambda: Report(
            check_report_id(report_id, "--id"),
            str(check_text(title, "--title")),
            str(check_text(inspectorate, "--inspectorate")),
            published.date(),
            (url or "").strip() or None,
            _date(responded_on),
        )
    )
    ops = open_ops_store(db)
    try:
        _tracker_call(add_report, ops, report, username=who, now=dt.datetime.now())
    finally:
        ops.close()
    console.print(
        f"Added report {report.report_id}: comments due by {report.response_due:%-d %B %Y}.",
        highlight=False,
    )


@tracker_app.command("add")
def add_item(
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    reference: Annotated[str, typer.Argument(help="The item's reference in the report, e.g. R3.")],
    text: Annotated[str, typer.Option(help="What it asks, in short.")],
    owner: Annotated[str, typer.Option(help="The body or role that owns it (no personal names).")],
    agency: Annotated[
        str | None,
        typer.Option(help="The Code's owner id (police, cps, wcu, hmcts, hmpps, …), if one."),
    ] = None,
    kind: Annotated[
        str, typer.Option(help="recommendation or area_for_improvement.")
    ] = "recommendation",
    due_by: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The date the report asks it done by."),
    ] = None,
    status: Annotated[str, typer.Option(help="Its status now.")] = "open",
    on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day the status took effect (default today)."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note.")] = None,
    evidence: Annotated[str | None, typer.Option(help="A link to the evidence.")] = None,
    user: UserOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add a recommendation or area for improvement to a report, with its first status."""
    from vcop.qa import tracker as t

    who, os_name = _who(user)

    def made() -> tuple[Any, Any]:
        item = t.Item(
            t.check_report_id(report_id),
            t.check_reference(reference),
            t.check_kind(kind, "--kind"),
            str(t.check_text(text, "--text")),
            str(t.check_text(owner, "--owner")),
            t.check_agency(agency, "--agency"),
            _date(due_by),
        )
        first = t.Update(
            t.check_status(status, "--status"),
            _date(on) or dt.date.today(),
            t.check_text(note, "--note", required=False),
            t.check_evidence(evidence, "--evidence"),
        )
        return item, first

    item, first = _tracker_call(made)
    ops = open_ops_store(db)
    try:
        _tracker_call(t.add_items, ops, [(item, first)], username=who, os_user=os_name,
                      now=dt.datetime.now())  # fmt: skip
    finally:
        ops.close()
    console.print(f"Added {item.key} ({first.status.value}).", highlight=False)


@tracker_app.command("update")
def update(
    item: Annotated[
        str,
        typer.Argument(
            help="REPORT/REFERENCE for a recommendation (e.g. joint-victims-2023/R3); a report's "
            "id alone with --responded-on."
        ),
    ],
    status: Annotated[
        str | None,
        typer.Option(
            help="The new status: open, in_progress, complete or closed (default: as it is)."
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="What changed, or an update.")] = None,
    evidence: Annotated[
        str | None, typer.Option(help="A link to the evidence (required to close).")
    ] = None,
    on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day it took effect (default today)."),
    ] = None,
    responded_on: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="For a report: the day the PCC's comments were published."
        ),
    ] = None,
    user: UserOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Record a status change, a note or evidence for a recommendation (a new row in its
    history: earlier rows are never changed), or the day a report's response was published."""
    from vcop.qa import tracker as t

    who, os_name = _who(user)
    report_id, _, reference = item.partition("/")
    ops = open_ops_store(db)
    try:
        if not reference:
            if responded_on is None or status or note or evidence:
                fail("give REPORT/REFERENCE to update a recommendation, or a report's id with "
                     "--responded-on (and nothing else) to record its response")  # fmt: skip
            _tracker_call(t.record_response, ops, report_id, responded_on.date())
            console.print(f"Recorded {report_id}'s response on {responded_on.date()}.")
            return
        if responded_on is not None:
            fail("--responded-on is for a report: give its id alone")
        if status is None and not note and not evidence:
            fail("nothing to record: give --status, --note or --evidence")
        day = _date(on) or dt.date.today()
        current = t.items_as_of(ops, dt.date.max, report_id=report_id)
        row = next((r for r in current if r.item.reference == reference), None)
        if row is None:
            fail(f"no item {item} in the tracker (see vcop tracker list)")
        chosen = _tracker_call(t.check_status, status, "--status") if status else row.status
        change = _tracker_call(
            lambda: t.Update(
                chosen,
                day,
                t.check_text(note, "--note", required=False),
                t.check_evidence(evidence, "--evidence"),
            )
        )
        _tracker_call(t.record_update, ops, report_id, reference, change, username=who,
                      os_user=os_name, now=dt.datetime.now())  # fmt: skip
    finally:
        ops.close()
    console.print(f"Recorded {item}: {change.status.value} from {day}.", highlight=False)


@tracker_app.command("list")
def list_items(
    output: Annotated[
        ListFormat, typer.Option("--format", help="table on screen; csv or json to export.")
    ] = ListFormat.table,
    report: Annotated[str | None, typer.Option(help="Only this report's items.")] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Statuses as they stood on this day, and overdue judged on it (default today).",
        ),
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Only items that changed on or after this day (e.g. the last board's date).",
        ),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue items.")] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why you export the tracker (csv, json: logged).")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Your vcop account, for an export (default: your login name)."),
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """List recommendations: owner, due date, status, whether overdue, and the report's
    ``response_due`` (the last day for the PCC's comments). As csv or json it is an export:
    it needs a vcop account, its password and --reason, and is logged in the access log."""
    from vcop.qa import tracker as t

    day = _date(as_of) or dt.date.today()
    reader = None
    if output is not ListFormat.table:
        from vcop.cli.access import record_reader, roles_with
        from vcop.web.auth import Permission

        reader = record_reader(
            db, user=user, reason=reason, action="tracker_export",
            what="export the inspection tracker", roles=roles_with(Permission.aggregate),
            detail=f"format={output.value} as_of={day}",
        )  # fmt: skip
    ops = open_ops_store(db)
    try:
        rows = t.items_as_of(ops, day, report_id=report)
        states = {s.report.report_id: s for s in t.responses(ops, day)}
    finally:
        ops.close()
    if since is not None:
        rows = [r for r in rows if r.changed_since(since.date())]
    if overdue:
        rows = [r for r in rows if r.overdue(day)]
    if reader is not None:
        reader.log(f"format={output.value} as_of={day}; {len(rows)} item(s)")
    if output is ListFormat.csv:
        _print_csv([r.as_dict(day) for r in rows])
    elif output is ListFormat.json:
        out = [{k: _plain(v) for k, v in r.as_dict(day).items()} for r in rows]
        console.file.write(json.dumps({"as_of": day.isoformat(), "items": out}, indent=2) + "\n")
    else:
        _print_table(rows, day, {k: s.state for k, s in states.items()})


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _print_csv(rows: list[dict[str, Any]]) -> None:
    import sys

    from vcop.export import csv_writer, safe_row
    from vcop.qa.tracker import LIST_FIELDS

    writer = csv_writer(sys.stdout)
    writer.writerow(LIST_FIELDS)
    for r in rows:
        writer.writerow(safe_row(["" if r[k] is None else _plain(r[k]) for k in LIST_FIELDS]))


def _print_table(rows: list[Row], day: dt.date, states: dict[str, str]) -> None:
    """One table per report (its title, the response due date and whether it was met), one row
    per item."""
    if not rows:
        console.print("The tracker holds nothing that matches.")
        return
    by_report: dict[str, list[Row]] = {}
    for r in rows:
        by_report.setdefault(r.report.report_id, []).append(r)
    for report_id, items in by_report.items():
        report = items[0].report
        table = RichTable(
            title=f"{report_id}: {report.title} ({report.inspectorate}, published "
            f"{report.published_on}); comments due by {report.response_due} "
            f"({states.get(report_id, 'due')}). As of {day}.",
            title_justify="left",
            caption=f"Source: {report.origin}" if report.origin else None,
            caption_justify="left",
        )
        for name in ("ref", "due_by", "status", "since", "overdue", "response_due"):
            table.add_column(name, no_wrap=True)
        table.add_column("owner", max_width=22, overflow="fold")
        table.add_column("text", ratio=1, min_width=24)
        for r in items:
            table.add_row(
                r.item.reference, str(r.item.due_by or ""), r.status.value, str(r.status_on),
                "yes" if r.overdue(day) else "", str(r.response_due), r.item.owner, r.item.text,
            )  # fmt: skip
        console.print(table)


@tracker_app.command("import")
def import_items(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A CSV file.")
    ],
    on: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="The day of a row's status when it has no changed_on."
        ),
    ] = None,
    user: UserOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add recommendations from a CSV file (columns report_id, reference, kind, text, owner, and
    optionally agency, due_by, status, changed_on, note, evidence). Every row is checked first:
    a row with a problem is rejected, naming its row (the header is row 1) and field, and then
    nothing is written."""
    from vcop.qa.tracker_import import ImportFileError, import_file

    who, os_name = _who(user)
    ops = open_ops_store(db)
    try:
        checked = import_file(ops, file, on=_date(on) or dt.date.today(), username=who,
                              os_user=os_name, now=dt.datetime.now())  # fmt: skip
    except ImportFileError as exc:
        fail(str(exc))
    finally:
        ops.close()
    if checked.rejects:
        for reject in checked.rejects:
            err_console.print(f"{file.name}: {reject}", highlight=False, markup=False)
        fail(f"{len(checked.rejects)} problem(s) in {file.name}: nothing was written", code=1)
    console.print(f"Added {len(checked.items)} item(s) from {file.name}.", highlight=False)
