"""Commands that bring data in and show what came in: ingest, rejects, batches."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, TypeVar

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail, open_store, ops_path_setting
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row
from vcop.ingest.thresholds import (
    DEFAULT_MAX_REJECT_SHARE,
    DEFAULT_MAX_RETIRE_SHARE,
    Thresholds,
    parse_share,
)

if TYPE_CHECKING:
    import duckdb

    from vcop.ingest import FileResult, LoadResult
    from vcop.ingest.history import RetirePolicy
    from vcop.ingest.load import Progress as LoadProgress
    from vcop.spec.profile import Profile

#: The bodies whose extracts load (``vcop ingest --agency``), as the help text names them. They are
#: the schema's ``agencies`` value list (``vcop.ingest.AGENCIES``, police first); reading the schema
#: would cost every command's start-up, so the list is written here and a test holds them equal.
AGENCY_IDS: tuple[str, ...] = (
    "police",
    "cps",
    "wcu",
    "hmcts",
    "hmpps",
    "parole_board",
    "victim_hub",
    "any_service_provider",
)

DbOption = Annotated[Path, typer.Option("--db", help="The vcop DuckDB database file.")]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class SummaryFormat(StrEnum):
    table = "table"
    json = "json"


def share_option(text: str | float) -> float:
    """A share option's value (``5%`` or ``0.05``), as :func:`vcop.ingest.thresholds.parse_share`
    reads it for every command."""
    try:
        return parse_share(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


class Mode(StrEnum):
    delta = "delta"
    full = "full"


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Extract files or folders (CSV, XLSX, Parquet).")
    ],
    db: DbOption = DEFAULT_DB,
    profile: Annotated[
        str,
        typer.Option(
            help="Mapping profile: a packaged name (standard, example-rms, example-survey-supplier) "
            "or a .yaml path."
        ),
    ] = "standard",
    force: Annotated[
        bool,
        typer.Option("--force", help="Load files even if their exact bytes were loaded before."),
    ] = False,
    agency: Annotated[
        str | None,
        typer.Option(
            "--agency",
            help=f"Load one body's own extract: {', '.join(AGENCY_IDS)}. A partner's may hold only "
            "the tables it supplies; rows of tables with an agency column take this agency and "
            "any naming another is rejected. Default: a plain extract (the police's, or one "
            "whose rows carry their own agency).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Run the whole load on a scratch copy of the database and report what it would "
            "load and reject (by table and column), then throw the copy away: nothing is written.",
        ),
    ] = False,
    mode: Annotated[
        Mode | None,
        typer.Option(
            "--mode",
            help="full: every file is a full snapshot of its table, and rows absent from it are "
            "retired (kept in history, out of the ledger and the figures); delta: add and update "
            "only. Default: each table's mode in the profile (delta unless it says full).",
        ),
    ] = None,
    max_reject_share: Annotated[
        float,
        typer.Option(
            parser=share_option,
            metavar="SHARE",
            help="Exit 3 when more than this share of the rows read is rejected: 5% or 0.05.",
        ),
    ] = DEFAULT_MAX_REJECT_SHARE,
    max_retire_share: Annotated[
        float,
        typer.Option(
            parser=share_option,
            metavar="SHARE",
            help="Stop, loading nothing, when a full extract would retire more than this share "
            "of a table's rows (unless --confirm-retire): 10% or 0.1.",
        ),
    ] = DEFAULT_MAX_RETIRE_SHARE,
    confirm_retire: Annotated[
        bool,
        typer.Option(
            "--confirm-retire",
            help="Retire the rows absent from a full extract even past --max-retire-share "
            "(the load then exits 3).",
        ),
    ] = False,
    summary: Annotated[
        SummaryFormat,
        typer.Option(
            "--summary",
            help="table, or json: one JSON object on stdout for a scheduler (fields in "
            "docs/operations.md); everything else goes to stderr.",
        ),
    ] = SummaryFormat.table,
) -> None:
    """Validate an extract and load its good rows into the database, in one transaction.

    Bad rows are rejected with file, row, column and reason (see `vcop rejects`). Loading the same
    extract again changes nothing; a newer extract updates the rows that changed. A partner's
    extract (`--agency cps`, …) links to the police's crimes and victims: load the police's first.
    A full extract (`--mode full`, or `mode: full` in the profile) retires the rows it no longer
    holds; `vcop batches --undo N` takes a load's batch back.

    Exit codes: 0 loaded; 1 error, nothing loaded; 2 a wrong option or argument, or the database
    is busy; 3 loaded, with warnings past a threshold (a file that is not a table of the profile,
    rejects past --max-reject-share, retirements past --max-retire-share).
    """
    from vcop.ingest import AGENCIES, load_paths
    from vcop.ingest import summary as ingest_summary
    from vcop.ingest.history import RetirePolicy
    from vcop.spec.profile import ProfileError, load_profile

    limits = Thresholds(max_reject_share, max_retire_share)
    as_json = summary is SummaryFormat.json
    chosen: Profile | None = None
    mode_name: Literal["delta", "full"] | None = (
        "full" if mode is Mode.full else "delta" if mode is Mode.delta else None
    )

    def failed(message: str, code: int) -> None:
        if as_json:  # a scheduler reads why from the same object
            document = ingest_summary.summary(
                None, chosen or profile, limits, mode=mode_name, error=message, code=code
            )
            print(json.dumps(document, indent=1))

    def stop(message: str, code: int) -> NoReturn:
        failed(message, code)
        fail(message, code=code)

    if agency is not None and agency not in AGENCIES:
        stop(f"unknown agency {agency!r}; use one of {', '.join(AGENCIES)}", 2)
    try:
        chosen = load_profile(profile)
    except ProfileError as exc:
        stop(str(exc), 1)
    for path in paths:
        if not path.exists():  # a wrong argument: nothing was tried
            stop(f"{path}: no such file or folder", 2)
    policy = RetirePolicy(mode_name, max_retire_share, confirm_retire)
    if dry_run:
        _dry_run(db, paths, chosen, force=force, agency=agency, retire=policy)
        return
    result = run_load(
        db,
        lambda con, progress: load_paths(
            con, paths, chosen, force=force, progress=progress, agency=agency, retire=policy
        ),
        changed=lambda r: bool(r.files),  # every file loaded is recorded, even with no new rows
        on_error=failed,
    )
    if as_json:  # the human summary goes to stderr; stdout holds the JSON object alone
        with contextlib.redirect_stdout(sys.stderr):
            print_load_summary(result, db)
    else:
        print_load_summary(result, db)
    if result.rows_rejected:
        err_console.print(
            f"[yellow]{result.rows_rejected:,} row(s) rejected[/] — list them with "
            f"`vcop rejects --db {db} --batch N --user YOU --reason WHY` (reading them is "
            "logged), or on the dashboard's data-quality page",
            highlight=False,
        )
    warned = ingest_summary.warnings(result, limits)
    for warning in warned:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    code = ingest_summary.WARNED if warned else ingest_summary.LOADED
    if as_json:
        document = ingest_summary.summary(result, chosen, limits, mode=mode_name, code=code)
        print(json.dumps(document, indent=1))
    if code:
        raise typer.Exit(code)


def _dry_run(
    db: Path,
    paths: list[Path],
    profile: Profile,
    *,
    force: bool,
    agency: str | None,
    retire: RetirePolicy,
) -> None:
    """`vcop ingest --dry-run`: the load on a scratch copy of the database, thrown away."""
    from vcop.cli.profile import print_rejects
    from vcop.ingest import ExtractError
    from vcop.ingest.dry_run import dry_run_load
    from vcop.store import StoreError

    try:
        result, rejects = dry_run_load(
            db, paths, profile, force=force, agency=agency, retire=retire
        )
    except (ExtractError, StoreError) as exc:
        fail(f"{exc}\nNothing was loaded (dry run).", code=1)
    console.print(
        f"Dry run on a scratch copy of {escape(str(db))}: nothing is written to it.",
        highlight=False,
    )
    print_load_summary(result, db)
    print_rejects(rejects)
    console.print(f"Dry run: nothing was written to {escape(str(db))}.", highlight=False)


T = TypeVar("T")


def run_load(
    db: Path,
    work: Callable[[duckdb.DuckDBPyConnection, LoadProgress], T],
    *,
    what: str = "ingest",
    changed: Callable[[T], bool] = lambda _: True,
    on_error: Callable[[str, int], None] | None = None,
) -> T:
    """Run a load with a progress bar on a copy of the build, published when it succeeds (and
    ``changed(result)`` says it changed something); a bad extract (exit 1) or Ctrl-C ends it with
    nothing written, and a dashboard reading the build keeps serving it throughout. A database
    that cannot be opened or is busy exits 2. ``on_error(message, code)`` is told first."""
    from vcop.ingest import ExtractError
    from vcop.store import StoreError
    from vcop.store.build import changing

    def stop(message: str, code: int) -> NoReturn:
        if on_error is not None:
            on_error(message, code)
        fail(message, code=code)

    try:
        with changing(db, what, ops_path=ops_path_setting(db)) as change, _progress() as bar:
            task = bar.add_task("starting", total=None)

            def report(description: str, done: int, total: int) -> None:
                bar.update(task, description=escape(description), total=total, completed=done)

            result = work(change.con, report)
            if not changed(result):
                change.discard()
            return result
    except StoreError as exc:
        stop(str(exc), 2)
    except ExtractError as exc:
        stop(f"{exc}\nNothing was loaded.", 1)
    except KeyboardInterrupt:
        stop("interrupted; nothing was loaded (the database is as it was before).", 130)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _short(label: str) -> str:
    """A file's name (with its sheet), short enough for a summary table, escaped for the console
    (file, folder and sheet names are user text: ``[/y]`` must print, not be read as markup)."""
    from rich.markup import escape

    path, sheet = label, ""
    if label.endswith("]") and "[" in label:  # a workbook's sheet: names cannot hold [ or ]
        path, _, name = label[:-1].rpartition("[")
        sheet = f"[{name}]"
    return escape(Path(path).name + sheet)


def print_load_summary(result: LoadResult, db: Path) -> None:
    """The load's table of files and counts, then notes; every piece of user text (paths, column
    headers, skip reasons) is escaped, so a name like ``[/x]`` prints as itself."""
    from rich.markup import escape

    whose = f" ({result.agency}'s extract)" if result.agency else ""
    table = RichTable(
        title=f"Load {result.load_id}{whose} into {escape(str(db))}", title_justify="left"
    )
    for name in (
        "file",
        "table",
        "batch",
        "read",
        "loaded",
        "new",
        "changed",
        "unchanged",
        "rejected",
    ):
        table.add_column(name, justify="left" if name in ("file", "table") else "right")
    for f in result.files:
        if f.skipped:
            table.add_row(_short(f.label), f.table, "", "", "", "", "", "", "", end_section=False)
            table.add_row(f"  skipped: {escape(f.skipped)}", "", "", "", "", "", "", "", "")
            continue
        table.add_row(
            _short(f.label), f.table, str(f.batch_id),
            *(f"{n:,}" for n in (f.rows_read, f.rows_loaded, f.rows_inserted, f.rows_updated,
                                 f.rows_unchanged, f.rows_rejected)),
        )  # fmt: skip
    console.print(table)
    for f in result.files:
        if f.personal_columns:
            console.print(
                f"[yellow]{escape(f.label)}: columns {escape(', '.join(f.personal_columns))} look "
                "like personal details and were not loaded — vcop holds pseudonymous ids only.[/]",
                highlight=False,
            )
        others = [c for c in f.ignored_columns if c not in f.personal_columns]
        if others:
            console.print(
                f"{escape(f.label)}: columns not in the standard extract, not loaded: "
                f"{escape(', '.join(others))}",
                highlight=False,
            )
        if f.scrubbed:
            console.print(
                f"{escape(f.label)}: {f.scrubbed:,} free-text value(s) held a phone number, email "
                "address, postcode or street address, replaced by a marker such as [phone] before "
                "loading.".replace("[phone]", "\\[phone]"),
                highlight=False,
            )
        if f.rows_retired:
            console.print(escape(_retired(f)), highlight=False)
        if f.rows_filtered:
            console.print(
                f"{escape(f.label)}: {f.rows_filtered:,} row(s) not selected by the profile's "
                "`where`, not loaded (not rejects)",
                highlight=False,
            )
        if f.blanked:
            shown = [f"{c} {v!r} ×{n:,}" for (c, v), n in sorted(f.blanked.items())]
            more = f" and {len(shown) - 10:,} more" if len(shown) > 10 else ""
            console.print(
                f"[yellow]{escape(f.label)}: unknown codes blanked (unmapped: blank), the rows "
                f"loaded without them: {escape(', '.join(shown[:10]) + more)}[/]",
                highlight=False,
            )
    for warning in result.warnings:
        console.print(f"[yellow]{escape(warning)}[/]", highlight=False)
    for note in result.notes:
        console.print(f"skipped {escape(note)}", highlight=False)
    for note in result.superseded:
        console.print(escape(note), highlight=False)


def _retired(f: FileResult) -> str:
    """What a full extract retired: its own table's rows, and what went with them."""
    line = (
        f"{f.label}: {f.rows_retired:,} of {f.retire_base:,} row(s) of {f.table} absent from "
        "this full extract were retired (kept in history, out of the ledger and the figures)"
    )
    if f.dependants_retired:
        line += "; with them " + ", ".join(f"{n:,} of {t}" for t, n in f.dependants_retired.items())
    if f.links_cleared:
        line += "; links to them cleared in " + ", ".join(
            f"{n:,} of {t}" for t, n in f.links_cleared.items()
        )
    return line + f". `vcop batches --undo {f.batch_id}` puts them back."


@app.command()
def rejects(
    db: DbOption = DEFAULT_DB,
    batch: Annotated[int | None, typer.Option(help="Only this batch.")] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
    limit: Annotated[
        int | None, typer.Option(help="At most this many rows (table format: default 200).")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Your vcop account, an admin or analyst (default: your login name). Its password "
            "is asked for at a terminal, else read from VCOP_PASSWORD.",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why you are reading rejected values (logged).")
    ] = None,
) -> None:
    """List rejected rows: file, row, column, value and the reason, in plain English.

    The values are the records as they came in: only admins and analysts may list them, with
    their password and a reason, and every listing is written to the access log.
    """
    from vcop.cli.access import record_reader, rows_shown

    shown_as = f"batch={batch if batch is not None else 'all'} format={output.value}"
    reader = record_reader(
        db, user=user, reason=reason, action="rejects", what="read rejected rows",
        permission="data_quality", detail=shown_as,
    )  # fmt: skip
    con = open_store(db, read_only=True)
    where, params = ("WHERE batch_id = ?", [batch]) if batch is not None else ("", [])
    if limit is None and output is OutputFormat.table:
        limit = 200
    sql = (
        'SELECT batch_id, file, table_name, "row", "column", value, reason FROM rejects '
        f'{where} ORDER BY batch_id, file, "row", "column"'
    )
    total = con.execute(f"SELECT count(*) FROM rejects {where}", params).fetchall()[0]
    rows = con.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), params).fetchall()
    reader.log(f"{shown_as}; {len(rows)} of {total[0]:,} rejected value(s): {rows_shown(rows)}")
    names = ["batch_id", "file", "table", "row", "column", "value", "reason"]
    _emit(names, rows, output, title="Rejected rows")
    if output is OutputFormat.table and total and total[0] > len(rows):
        console.print(f"… {total[0] - len(rows):,} more; use --format csv for all of them")


@app.command()
def batches(
    db: DbOption = DEFAULT_DB,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
    undo: Annotated[
        int | None,
        typer.Option(
            "--undo",
            metavar="N",
            help="Undo batch N: remove the rows it inserted or changed, put back the versions it "
            "replaced and the rows it retired, and forget the batch (an admin's, logged).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="With --undo: your vcop account, an admin's (default: your login name). Its "
            "password is asked for at a terminal, else read from VCOP_PASSWORD.",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="With --undo: why (logged).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --undo: show what would change; change nothing.")
    ] = False,
) -> None:
    """List every loaded file: when, its sha256, and rows read, loaded and rejected.

    With --undo N, take batch N back in one transaction: what it inserted goes, what it replaced
    or retired comes back. It is refused (exit 1, nothing changed) when a later batch has loaded
    the same table since (undo that first), when rows loaded later name rows of this batch, and
    for a batch that replaced rows before vcop kept their earlier versions.
    """
    if undo is not None:
        from vcop.cli.undo import undo_command

        undo_command(db, undo, user=user, reason=reason, dry_run=dry_run)
        return
    if user is not None or reason is not None or dry_run:
        fail("--user, --reason and --dry-run go with --undo N")
    con = open_store(db, read_only=True)
    cur = con.execute(
        "SELECT batch_id, load_id, file, table_name, loaded_at, rows_read, rows_loaded, "
        "rows_inserted, rows_updated, rows_unchanged, rows_rejected, sha256 FROM batches ORDER BY batch_id"
    )
    names = [d[0] for d in cur.description]
    _emit(names, cur.fetchall(), output, title="Batches")


def _emit(
    names: list[str], rows: list[tuple[object, ...]], output: OutputFormat, title: str
) -> None:
    if output is OutputFormat.csv:
        writer = csv_writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(safe_row(r) for r in rows)
    elif output is OutputFormat.json:
        sys.stdout.write(
            json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str, indent=1)
        )
        sys.stdout.write("\n")
    else:
        table = RichTable(title=title, title_justify="left")
        for n in names:
            table.add_column(n, overflow="fold")
        for r in rows:
            table.add_row(*("" if v is None else escape(str(v)) for v in r))
        console.print(table)


import_app = typer.Typer(
    help="Import published data in other layouts (data.police.uk).", no_args_is_help=True
)
app.add_typer(import_app, name="import")


@import_app.command("police-uk")
def import_police_uk_command(
    paths: Annotated[
        list[Path], typer.Argument(help="data.police.uk street/outcomes CSV files or folders.")
    ],
    db: DbOption = DEFAULT_DB,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Import files even if their exact bytes were imported before."
        ),
    ] = False,
) -> None:
    """Import data.police.uk street-level crime and outcomes files (any force, any months).

    Crimes become crimes, anti-social behaviour becomes incidents, outcomes become outcome events
    with the latest on the crime. Same guarantees as `vcop ingest`: one transaction, rejects with
    reasons, and importing the same files again changes nothing.
    """
    from vcop.ingest.police_uk import import_police_uk

    result = run_load(
        db,
        lambda con, progress: import_police_uk(con, paths, force=force, progress=progress),
        what="import police-uk",
    )
    print_load_summary(result.load, db)
    if result.linked_outcomes:
        console.print(
            f"{result.linked_outcomes:,} outcome(s) kept aside earlier were linked to their crimes."
        )
    if result.pending_outcomes:
        console.print(
            f"{result.pending_outcomes:,} outcome row(s) belong to crimes not in the database (crimes "
            "from before the imported months); they are kept aside and link when those months are imported."
        )
    if result.unmapped_categories:
        shown = ", ".join(f"{k!r} ({v:,})" for k, v in result.unmapped_categories.most_common())
        err_console.print(
            f"[yellow]outcome categories with no Home Office mapping:[/] {shown} — add them to "
            "definitions/outcomes/police_uk.yaml",
            highlight=False,
        )
    for note in result.skipped_files:
        console.print(f"skipped {escape(note)}", highlight=False)
