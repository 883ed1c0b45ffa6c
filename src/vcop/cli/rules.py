"""Commands for the Victims' Code rules: check, evaluate, entitlements, explain."""

from __future__ import annotations

import csv
import getpass
import json
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import ibis
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from vcop.cli.access import log_access
from vcop.cli.app import app, console, err_console, fail, open_store
from vcop.cli.data import DbOption, OutputFormat
from vcop.config import DEFAULT_DB
from vcop.export import safe_row
from vcop.rules.explain import NotFound, journey, render
from vcop.rules.ledger import (
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    STATUSES,
    build_ledger,
    evaluate,
    last_run,
)
from vcop.rules.sources import Sources
from vcop.spec.check import CHECKS, DefinitionError, check_definitions
from vcop.spec.code import LocalStandards, check_code, load_code
from vcop.store.calendar import ensure_calendar

AsOfOption = Annotated[
    str,
    typer.Option(
        "--as-of",
        help="The date the ledger is as of (YYYY-MM-DD): what was known and due by the end of it.",
    ),
]
UserOption = Annotated[
    str | None, typer.Option("--user", help="Who is reading (logged); defaults to your login name.")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why you are reading this victim's records (logged).")
]

#: The columns `vcop entitlements --format table` shows (csv and json have them all).
TABLE_COLUMNS = (
    "victim_id",
    "crime_id",
    "obligation_id",
    "trigger_event_id",
    "due_date",
    "met_at",
    "status",
    "reason",
)


class Status(StrEnum):
    met = "met"
    late = "late"
    pending = "pending"
    overdue = "overdue"
    not_applicable = "not_applicable"


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date like 2025-06-30, not {value!r}")


def _standards(needs_assessment_days: int | None, care_contract_days: int | None) -> LocalStandards:
    values = {
        "needs_assessment_working_days": needs_assessment_days,
        "care_contract_working_days": care_contract_days,
    }
    return LocalStandards(**{k: v for k, v in values.items() if v is not None})


def _load_code() -> Any:
    try:
        return load_code()
    except DefinitionError as exc:
        fail(f"the Victims' Code definitions have problems (run `vcop check`):\n{exc}")


def _require_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        fail(
            "--reason is required: reading a victim's records is logged with who, when and why "
            '(e.g. --reason "supervisor review of overdue updates")'
        )
    return " ".join(reason.split())


def _log_access(
    con: duckdb.DuckDBPyConnection,
    *,
    user: str | None,
    reason: str,
    action: str,
    victim_id: str | None,
    crime_id: str | None,
    detail: str,
) -> None:
    """Append a record-level read to the access log (who, when, which records, why)."""
    log_access(
        con, user=user or getpass.getuser(), role="cli", action=action, reason=reason,
        detail=detail, victim_id=victim_id, crime_id=crime_id,
    )  # fmt: skip


@app.command()
def check(
    code_dir: Annotated[
        Path | None,
        typer.Option(
            "--code-dir", help="Check Code editions in this folder instead of vcop's own."
        ),
    ] = None,
) -> None:
    """Validate vcop's definitions and print every problem with its file and line."""
    problems = check_code(code_dir) if code_dir is not None else check_definitions()
    for problem in problems:
        console.print(str(problem), highlight=False, soft_wrap=True, markup=False)
    if problems:
        err_console.print(f"{len(problems)} problem(s) found")
        raise typer.Exit(1)
    code = load_code(code_dir) if code_dir is not None else load_code()
    checked = "the Code" if code_dir is not None else ", ".join(CHECKS)
    console.print(
        f"Definitions OK (checked: {checked}). Victims' Code: {len(code.editions)} edition(s), "
        f"{len(code.obligations)} obligations, {len(code.evaluated)} evaluated from the data."
    )


@app.command("evaluate")
def evaluate_command(
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    needs_assessment_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Local standard: working days after recording to complete a needs assessment (default 1).",
        ),
    ] = None,
    care_contract_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Local standard: working days after the report to agree a victim care contract (default 5).",
        ),
    ] = None,
) -> None:
    """Build the entitlement ledger as of a date and store it (replacing the previous one)."""
    day = _as_of(as_of)
    code = _load_code()
    standards = _standards(needs_assessment_days, care_contract_days)
    started = time.perf_counter()
    with (
        open_store(db) as con,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("evaluating", total=None)

        def report(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        run = evaluate(con, day, code=code, standards=standards, progress=report)
        seconds = time.perf_counter() - started
        rows = con.execute(
            f"SELECT obligation_id, status, count(*) FROM {LEDGER_TABLE} GROUP BY ALL"
        ).fetchall()
    by_obligation: dict[str, dict[str, int]] = {}
    for obligation_id, status, n in rows:
        by_obligation.setdefault(obligation_id, dict.fromkeys(STATUSES, 0))[status] = n
    table = RichTable(title=f"Entitlement ledger as of {day.isoformat()}", title_justify="left")
    table.add_column("obligation")
    for status in STATUSES:
        table.add_column(status.replace("_", " "), justify="right")
    table.add_column("on time", justify="right")
    order = {
        o.id: i for i, o in enumerate(sorted(code.evaluated, key=lambda o: (o.right or 99, o.id)))
    }
    for obligation_id in sorted(by_obligation, key=lambda i: order.get(i, 999)):
        counts = by_obligation[obligation_id]
        due = counts["met"] + counts["late"] + counts["overdue"]
        share = f"{counts['met'] / due:.0%}" if due else "—"
        table.add_row(obligation_id, *(f"{counts[s]:,}" for s in STATUSES), share)
    console.print(table)
    console.print(
        f"{run.rows:,} entitlements written to '{LEDGER_TABLE}' in {seconds:.1f} s "
        f"(definitions {run.definitions_hash})."
    )
    if run.rows == 0:
        err_console.print(
            f"nothing is owed as of {day}: are there crimes and victims in {db}? "
            "(load an extract with `vcop ingest`)"
        )


def _stored_or_computed(
    con: duckdb.DuckDBPyConnection,
    day: date,
    *,
    victim: str | None,
    crime: str | None,
    status: str | None,
    obligation: str | None,
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The ledger rows wanted: from the stored ledger if it is as of ``day`` and made by these
    definitions, otherwise computed now (not stored)."""
    code = _load_code()
    run = last_run(con)
    standards = run.standards if run is not None else LocalStandards()
    wanted = {"victim_id": victim, "crime_id": crime, "status": status, "obligation_id": obligation}
    columns = list(LEDGER_COLUMNS)
    order = "victim_id, crime_id, trigger_at, obligation_id, trigger_event_id"
    if (
        run is not None
        and run.as_of == day
        and run.definitions_hash == code.definitions_hash(standards)
    ):
        where = " AND ".join(f'"{k}" = ?' for k, v in wanted.items() if v is not None) or "true"
        cursor = con.execute(
            f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {LEDGER_TABLE} "
            f"WHERE {where} ORDER BY {order}",
            [v for v in wanted.values() if v is not None],
        )

        def stored() -> Iterator[tuple[Any, ...]]:
            while batch := cursor.fetchmany(10_000):
                yield from batch

        return columns, stored()
    reason = "no stored ledger" if run is None else f"the stored ledger is as of {run.as_of}"
    if run is not None and run.as_of == day:
        reason = "the stored ledger was made by other definitions"
    err_console.print(f"{reason}: computing the ledger as of {day} now (not stored)")
    ensure_calendar(con)
    src = Sources.from_backend(ibis.duckdb.from_connection(con)).restrict(
        victim_id=victim, crime_id=crime
    )
    expr = build_ledger(src, day, code=code, standards=standards)
    if status is not None:
        expr = expr.filter(expr.status == status)
    if obligation is not None:
        expr = expr.filter(expr.obligation_id == obligation)
    expr = expr.order_by([c.strip() for c in order.split(",")])

    table = expr.to_pyarrow()
    return columns, zip(*(table.column(c).to_pylist() for c in columns), strict=True)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _short(value: Any) -> str:
    """A value for the table: dates without times."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return _text(value)


@app.command()
def entitlements(
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    victim: Annotated[
        str | None,
        typer.Option(help="Only this victim (a record-level read: logged, needs --reason)."),
    ] = None,
    crime: Annotated[
        str | None,
        typer.Option(help="Only this crime (a record-level read: logged, needs --reason)."),
    ] = None,
    status: Annotated[Status | None, typer.Option(help="Only rows with this status.")] = None,
    obligation: Annotated[
        str | None, typer.Option(help="Only this obligation, e.g. R6.suspect-arrested.")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table, csv or json.")
    ] = OutputFormat.table,
    limit: Annotated[int, typer.Option(min=1, help="Most rows shown by --format table.")] = 200,
    user: UserOption = None,
    reason: ReasonOption = None,
) -> None:
    """List the entitlement ledger as of a date: every obligation owed to every victim."""
    day = _as_of(as_of)
    record_level = victim is not None or crime is not None
    why = _require_reason(reason) if record_level else ""
    with open_store(db) as con:
        if record_level:
            _log_access(
                con,
                user=user,
                reason=why,
                action="entitlements",
                victim_id=victim,
                crime_id=crime,
                detail=f"as_of={day}" + (f" status={status.value}" if status else ""),
            )
        columns, rows = _stored_or_computed(
            con,
            day,
            victim=victim,
            crime=crime,
            status=status.value if status else None,
            obligation=obligation,
        )
        _print_rows(columns, rows, output, limit, day)


def _print_rows(
    columns: list[str], rows: Iterator[tuple[Any, ...]], output: OutputFormat, limit: int, day: date
) -> None:
    if output is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(safe_row(_text(v) for v in row))
    elif output is OutputFormat.json:
        sys.stdout.write("[")
        for i, row in enumerate(rows):
            record = {
                c: (None if v is None else (_text(v) if isinstance(v, date) else v))
                for c, v in zip(columns, row, strict=True)
            }
            sys.stdout.write(("," if i else "") + "\n " + json.dumps(record))
        sys.stdout.write("\n]\n")
    else:
        table = RichTable(title=f"Entitlements as of {day.isoformat()}", title_justify="left")
        picked = [columns.index(c) for c in TABLE_COLUMNS]
        for c in TABLE_COLUMNS:
            table.add_column(
                c.replace("_", " "), overflow="fold", no_wrap=c in ("due_date", "met_at", "status")
            )
        shown = total = 0
        for row in rows:
            total += 1
            if shown < limit:
                table.add_row(*(_short(row[i]) for i in picked))
                shown += 1
        console.print(table)
        if total > shown:
            console.print(
                f"showing {shown} of {total:,} rows: use --limit, filters, or --format csv"
            )


@app.command()
def explain(
    victim: Annotated[str, typer.Option(help="The victim's pseudonymous id.")],
    crime: Annotated[str, typer.Option(help="The crime reference.")],
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    user: UserOption = None,
    reason: ReasonOption = None,
) -> None:
    """Tell one victim's journey through one crime: events, contacts, and every obligation."""
    day = _as_of(as_of)
    why = _require_reason(reason)
    code = _load_code()
    with open_store(db) as con:
        _log_access(
            con,
            user=user,
            reason=why,
            action="explain",
            victim_id=victim,
            crime_id=crime,
            detail=f"as_of={day}",
        )
        run = last_run(con)
        standards = run.standards if run is not None else LocalStandards()
        ensure_calendar(con)
        src = Sources.from_backend(ibis.duckdb.from_connection(con))
        try:
            story = journey(src, victim, crime, day, code=code, standards=standards)
        except NotFound as exc:
            fail(str(exc), code=1)
    for line in render(story):
        console.print(line, highlight=False, soft_wrap=True)
