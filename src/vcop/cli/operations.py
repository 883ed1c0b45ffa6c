"""Commands for running vcop: refresh, status, backup, restore, and the access log's checks."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from vcop.cli.access import record_reader
from vcop.cli.app import (
    app,
    cli_settings,
    console,
    err_console,
    fail,
    open_ops_store,
    ops_path_setting,
)
from vcop.cli.data import DbOption, share_option
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row


class Format(StrEnum):
    table = "table"
    json = "json"


@app.command()
def refresh(
    source: Annotated[
        Path,
        typer.Option(
            "--from",
            help="The folder of the day's extracts: one folder per agency (police, cps, wcu, "
            "hmcts, hmpps, parole_board, victim_hub, any_service_provider), each with an "
            "optional profile.yaml, or one plain extract folder.",
        ),
    ],
    db: DbOption = DEFAULT_DB,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Evaluate the ledger as of this day (default: yesterday, the last complete day).",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Mapping profile for folders without their own profile.yaml (default standard)."
        ),
    ] = None,
    max_reject_share: Annotated[
        float | None,
        typer.Option(
            parser=share_option,
            metavar="SHARE",
            help="Refuse to publish when more than this share of rows is rejected, as a fraction "
            "or a percentage: 0.1 or 10% (setting refresh.max_reject_share; 0.10 by default).",
        ),
    ] = None,
    max_retire_share: Annotated[
        float | None,
        typer.Option(
            parser=share_option,
            metavar="SHARE",
            help="Refuse to publish when a full extract would retire more than this share of a "
            "table's rows (unless --confirm-retire): 0.1 or 10% (setting "
            "refresh.max_retire_share; 0.10 by default).",
        ),
    ] = None,
    confirm_retire: Annotated[
        bool,
        typer.Option(
            "--confirm-retire",
            help="Retire the rows absent from a full extract even past --max-retire-share.",
        ),
    ] = False,
    summary: Annotated[
        Format, typer.Option("--summary", help="How to print the summary: table or json.")
    ] = Format.table,
    partner_release: Annotated[
        bool,
        typer.Option(
            "--partner-release/--no-partner-release",
            help="Make and keep the partners' release of the latest month end when it is not "
            "kept yet (once a month; the dashboard then never builds it on a partner's click).",
        ),
    ] = True,
) -> None:
    """The daily job: load the day's extracts, evaluate the ledger, publish the new build.

    Works on a copy of the build: the dashboard keeps serving the previous build and switches to
    the new one by itself when it is published. A failure publishes nothing, is recorded (see
    `vcop status`) and exits non-zero; two refreshes never overlap. Schedule it with the systemd
    timer or cron line in docs/operations.md.
    """
    from vcop.cli.reports import force_targets
    from vcop.ingest.history import RetirePolicy
    from vcop.refresh import RefreshError
    from vcop.refresh import refresh as run_refresh
    from vcop.store.build import BuildBusy

    settings = cli_settings(db)
    day = as_of.date() if as_of else dt.date.today() - dt.timedelta(days=1)
    standards = settings.standards.local_standards()
    limit = settings.refresh.max_reject_share if max_reject_share is None else max_reject_share
    retire = RetirePolicy(
        None,
        settings.refresh.max_retire_share if max_retire_share is None else max_retire_share,
        confirm_retire,
    )
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def progress(description: str, done: int, total: int) -> None:
            bar.update(task, description=escape(description), completed=done, total=total or None)

        def say(line: str) -> None:
            err_console.print(escape(line), highlight=False)

        try:
            done = run_refresh(
                db, source, day, ops_path=ops_path_setting(db), profile=profile,
                standards=standards, max_reject_share=limit, progress=progress, say=say,
                release_threshold=(
                    settings.publication.suppression_threshold if partner_release else None
                ),
                targets=force_targets(db), retire=retire,
            )  # fmt: skip
        except BuildBusy as exc:
            fail(str(exc))
        except RefreshError as exc:
            fail(f"refresh failed; the dashboard keeps the previous build.\n{escape(str(exc))}", 1)
    if summary is Format.json:
        print(json.dumps({"refresh_id": done.refresh_id, **done.summary()}, indent=1))
        return
    table = RichTable(title=f"Refresh {done.refresh_id} of {db}", title_justify="left")
    for name in ("agency", "files", "rows read", "rows loaded", "rejected"):
        table.add_column(name, justify="left" if name == "agency" else "right")
    for agency, part in done.summary()["agencies"].items():
        table.add_row(
            agency,
            *(f"{part[k]:,}" for k in ("files", "rows_read", "rows_loaded", "rows_rejected")),
        )
    console.print(table)
    console.print(
        f"Ledger as of {day}: {done.ledger_rows:,} entitlements ({done.by_status}). "
        f"{done.reject_share:.1%} of rows rejected. Partners: {done.release}. "
        f"Done in {done.seconds:.1f} s.",
        highlight=False,
    )


@app.command()
def status(
    db: DbOption = DEFAULT_DB,
    output: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """When the data were loaded, what the ledger is as of, and whether the last refresh worked.

    Exits 0 when all is well, 1 when something needs a person (no build, no ledger, or the last
    refresh failed), so a monitoring check can run it.
    """
    from vcop.store import connect
    from vcop.store.db import StoreError
    from vcop.store.status import jsonable
    from vcop.store.status import status as read_status

    con = None
    if db.exists():
        try:
            con = connect(db, read_only=True)
        except StoreError as exc:
            fail(str(exc))
    ops_file = ops_path_setting(db)
    ops = open_ops_store(db) if ops_file.exists() else None
    try:
        facts = read_status(db, con, ops, dt.datetime.now())
    finally:
        if con is not None:
            con.close()
        if ops is not None:
            ops.close()
    if output is Format.json:
        print(json.dumps(jsonable(facts), indent=1))
    else:
        _print_status(facts)
    if not facts["ok"]:
        raise typer.Exit(1)


def _print_status(facts: dict[str, object]) -> None:
    def when(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, dt.datetime) else str(value or "—")

    share = facts.get("reject_share")
    lines = [
        ("database", str(facts["database"])),
        ("published", when(facts.get("published_at"))),
        ("last load", f"{when(facts.get('last_load_at'))} (load {facts.get('last_load_id') or '—'})"),
        ("data age", f"{facts['data_age_hours']} hours" if facts.get("data_age_hours") is not None else "—"),
        ("rows rejected", f"{share:.1%} of the last load" if isinstance(share, float) else "—"),
        ("ledger as of", str(facts.get("ledger_as_of") or "—")),
    ]  # fmt: skip
    for key, label in (
        ("last_refresh", "last refresh"),
        ("last_successful_refresh", "last success"),
    ):
        r = facts.get(key)
        if isinstance(r, dict):
            lines.append(
                (label, f"{r['status']} at {when(r['finished_at'] or r['started_at'])} "
                        f"(as of {r['as_of']}){': ' + str(r['message']) if r['message'] else ''}")
            )  # fmt: skip
        else:
            lines.append((label, "never"))
    if facts.get("refresh_running"):
        lines.append(("running now", str(facts["refresh_running"])))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        console.print(f"{key:<{width}}  {escape(value)}", highlight=False)
    for problem in facts["problems"]:  # type: ignore[attr-defined]
        err_console.print(f"[bold red]problem:[/] {escape(str(problem))}", highlight=False)


@app.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the backup into.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Back up the build and the operational store (safe while the dashboard runs), with checksums.

    Keeps the newest N backups in --out (setting retention.backups_keep; 0 keeps all).
    """
    from vcop.backup import BackupError, backup

    settings = cli_settings(db)
    try:
        made = backup(db, out, ops_path=ops_path_setting(db), keep=settings.retention.backups_keep)
    except BackupError as exc:
        fail(str(exc))
    console.print(f"Backed up {db} to {made.folder}:", highlight=False)
    for name, digest in made.files.items():
        console.print(f"  {name}  sha256 {digest}", highlight=False)


@app.command("restore")
def restore_command(
    backup_folder: Annotated[Path, typer.Argument(help="A backup folder made by `vcop backup`.")],
    db: DbOption = DEFAULT_DB,
    replace_ops: Annotated[
        bool,
        typer.Option(
            "--replace-ops",
            help="Also replace an existing operational store (accounts, access log) with the "
            "backup's; the current one is first saved beside it. Without this, it is restored "
            "only where there is none.",
        ),
    ] = False,
) -> None:
    """Restore a backup: checks every checksum, then publishes its build (a running dashboard
    switches to it)."""
    from vcop.backup import BackupError, restore
    from vcop.store.build import BuildBusy

    try:
        done = restore(backup_folder, db, ops_path=ops_path_setting(db), replace_ops=replace_ops)
    except (BackupError, BuildBusy) as exc:
        fail(str(exc))
    console.print(f"Restored the build {db} from {backup_folder}.", highlight=False)
    if done.ops is not None:
        console.print(f"Restored the operational store {done.ops}.", highlight=False)
    else:
        console.print(
            "The operational store (accounts, access log) was kept as it is "
            "(--replace-ops replaces it).",
            highlight=False,
        )
    if done.set_aside is not None:
        console.print(f"The previous operational store was saved as {done.set_aside}.")


access_log_app = typer.Typer(
    help="The access log: check its hash chain, export it for a data protection officer.",
    no_args_is_help=True,
)
app.add_typer(access_log_app, name="access-log")


@access_log_app.command("verify")
def access_log_verify(
    db: DbOption = DEFAULT_DB,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="A head hash noted at an earlier verify: the chain must still pass through it.",
        ),
    ] = None,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            exists=True,
            dir_okay=False,
            help="Check an archive written by `vcop retention apply --access-log-archive` "
            "instead of the log.",
        ),
    ] = None,
) -> None:
    """Recompute the access log's hash chain and report any entry changed, added or removed.

    Prints the head hash: note it down (outside vcop); `--head HASH` later checks the chain still
    passes through it, so removing the newest entries is found too. Entries pruned past their
    retention are accounted for: the chain goes on from the last one removed. Exits 1 when the
    chain is broken or the noted head is gone.
    """
    from vcop.store.access_log import verify, verify_archive

    if archive is not None:
        try:
            found = verify_archive(archive)
        except (ValueError, KeyError) as exc:
            fail(f"{archive}: not a readable access-log archive ({exc})")
        _report_chain(found, "The archive's chain", "it ends at")
        return
    ops = open_ops_store(db)
    try:
        found = verify(ops, head.strip().lower() if head else None)
    finally:
        ops.close()
    if found.pruned is not None:
        gone = found.pruned
        console.print(
            f"Entries {gone.first_id:,}–{gone.last_id:,} (written before {gone.before:%Y-%m-%d}) "
            f"were pruned on {gone.pruned_at:%Y-%m-%d} by {gone.username}; the chain goes on from "
            f"{gone.last_hash}",
            highlight=False,
        )
    _report_chain(found, "The access log's chain", "head")


def _report_chain(found: object, what: str, head: str) -> None:
    """Print each break of a verified chain, then its verdict; exit 1 when it is broken."""
    from vcop.store.access_log import Verification

    assert isinstance(found, Verification)
    for access_id, problem in found.breaks:
        err_console.print(f"[bold red]entry {access_id}:[/] {problem}", highlight=False)
    verdict = "holds" if found.ok else f"is BROKEN at {len(found.breaks)} point(s)"
    console.print(
        f"{what} {verdict}: {found.entries:,} entries; {head} {found.head}", highlight=False
    )
    if not found.ok:
        raise typer.Exit(1)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


@access_log_app.command("export")
def access_log_export(
    user: Annotated[
        str | None,
        typer.Option("--user", help="Your vcop account (an admin's; default: your login name)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why you export it (logged).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    start: Annotated[
        dt.datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day to include."),
    ] = None,
    end: Annotated[
        dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day to include.")
    ] = None,
    victim: Annotated[
        str | None, typer.Option(help="Only entries that show this victim (a subject access).")
    ] = None,
    output: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.csv,
) -> None:
    """Export access-log entries (with every victim and crime each showed) for a data protection
    officer. Exporting the log is itself logged."""
    from vcop.store.access_log import COLUMNS, entries, records_of

    reader = record_reader(
        db, user=user, reason=reason, action="access_log_export", what="export the access log",
        permission="audit",
        detail=f"from={start and start.date()} to={end and end.date()} victim={victim}",
        victim_id=victim,
    )  # fmt: skip
    ops = open_ops_store(db)
    try:
        rows = entries(
            ops,
            start=start,
            end=(end + dt.timedelta(days=1)) if end else None,
            victim_id=victim,
        )
        records = records_of(ops, [int(r["access_id"]) for r in rows])  # type: ignore[call-overload]
    finally:
        ops.close()
    for row in rows:
        shown = records[int(row["access_id"])]  # type: ignore[call-overload]
        row["shown"] = "; ".join(f"{v or ''}/{c or ''}" for v, c in shown)
    reader.log(
        f"from={start and start.date()} to={end and end.date()} victim={victim}; "
        f"{len(rows)} entries",
        victim_id=victim,
        records=[
            (str(r["victim_id"]) if r["victim_id"] else None,
             str(r["crime_id"]) if r["crime_id"] else None)
            for r in rows if r["victim_id"] or r["crime_id"]
        ],
    )  # fmt: skip
    names = [*COLUMNS, "shown", "entry_hash"]
    if output is ExportFormat.json:
        print(json.dumps(rows, default=str, indent=1))
        return
    writer = csv_writer(sys.stdout)
    writer.writerow(names)
    for row in rows:
        writer.writerow(safe_row(row[n] for n in names))


# -- retention and erasure -------------------------------------------------------------------


def _print_removal(title: str, removal: object) -> None:
    from vcop.retention import Removal

    assert isinstance(removal, Removal)
    console.print(title, highlight=False)
    table = RichTable()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in removal.rows.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@app.command("erase")
def erase(
    victim: Annotated[str, typer.Option("--victim", help="The victim's pseudonymous id.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (e.g. the erasure request's reference); logged.")
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", help="Your vcop account (an admin's; default: your login name)."),
    ] = None,
    db: DbOption = DEFAULT_DB,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")
    ] = False,
) -> None:
    """Erase one victim's records from the build, and each crime of theirs with no other victim.

    The erasure is logged and kept in the operational store, so a restore of an older backup
    or a reload of an older extract does not bring the victim back. The access log keeps its
    entries for its own retention: it is the record of who read what.
    """
    from vcop.retention import erase_victim
    from vcop.store import StoreError
    from vcop.store.access_log import os_user
    from vcop.store.build import changing

    reader = record_reader(
        db, user=user, reason=reason, action="erase", what="erase a victim's records",
        permission="audit", victim_id=victim,
    )  # fmt: skip
    if not db.exists():
        fail(f"{db}: no such vcop database")
    try:
        with changing(db, "erase", ops_path=ops_path_setting(db)) as change:
            removal = erase_victim(change.con, victim, dry_run=dry_run)
            if dry_run or removal.total == 0:
                change.discard()
    except StoreError as exc:
        fail(str(exc))
    _print_removal(f"{'Would remove' if dry_run else 'Removed'} for victim {victim}", removal)
    if dry_run:
        reader.log(f"dry run: {removal.total:,} row(s) would be removed", victim_id=victim)
        return
    if removal.total == 0:
        err_console.print(f"[yellow]No record of victim {escape(victim)} in {db}.[/]")
    ops = open_ops_store(db)
    try:
        ops.execute(
            "INSERT INTO erasures (erased_at, victim_id, username, os_user, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            [dt.datetime.now(), victim, reader.user.username, os_user(), reader.reason],
        )
        from vcop.voice.answers import forget_victim

        forget_victim(ops, victim)  # Victim Voice invitations and answers
        from vcop.qa.audits import forget_cases

        forget_cases(ops, removal.crimes)  # dip-sample audits of the crimes removed
    finally:
        ops.close()
    reader.log(
        f"{removal.total:,} row(s) removed; crimes removed: {', '.join(removal.crimes) or 'none'}",
        victim_id=victim,
        records=[(victim, c) for c in removal.crimes],
    )


retention_app = typer.Typer(
    help="Retention: remove the records of crimes finalised longer ago than the force keeps them.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


@retention_app.command("apply")
def retention_apply(
    db: DbOption = DEFAULT_DB,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Your vcop account (an admin's; default: your login name)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what is due for removal; change nothing.")
    ] = False,
    years: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Keep crimes this many years after finalisation "
            "(setting retention.finalised_crime_years; 6 by default).",
        ),
    ] = None,
    today: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Count the years back from this day (default today)."
        ),
    ] = None,
    access_log_archive: Annotated[
        Path | None,
        typer.Option(
            "--access-log-archive",
            dir_okay=False,
            help="Write the access-log entries past their retention to this file (JSON lines, "
            "checked by `vcop access-log verify --archive`) before removing them.",
        ),
    ] = None,
) -> None:
    """Remove every crime finalised more than N years ago, with all its records, and the
    access-log entries older than retention.access_log_years (logged).

    Run with --dry-run first to see what is due. The access log's chain still verifies after its
    oldest entries go: the hash of the last one removed is kept.
    """
    from vcop.retention import apply_retention, years_before
    from vcop.store import StoreError
    from vcop.store.access_log import due_for_pruning, prune
    from vcop.store.build import changing

    settings = cli_settings(db)
    keep = years or settings.retention.finalised_crime_years
    if access_log_archive is not None and access_log_archive.exists():
        fail(f"{access_log_archive}: already exists; name a new file for the archive")
    reader = record_reader(
        db, user=user, reason=f"retention: crimes finalised more than {keep} years ago",
        action="retention_apply", what="apply the retention policy", permission="audit",
    )  # fmt: skip
    day = today.date() if today else dt.date.today()
    if not db.exists():
        fail(f"{db}: no such vcop database")
    try:
        with changing(db, "retention apply", ops_path=ops_path_setting(db)) as change:
            removal = apply_retention(change.con, day, keep, dry_run=dry_run)
            if dry_run or removal.total == 0:
                change.discard()
    except StoreError as exc:
        fail(str(exc))
    verb = "Due for removal" if dry_run else "Removed"
    cutoff = years_before(day, keep)
    _print_removal(f"{verb}: {len(removal.crimes):,} crime(s) finalised before {cutoff}", removal)
    log_years = settings.retention.access_log_years
    log_cutoff = dt.datetime.combine(years_before(day, log_years), dt.time())
    ops = open_ops_store(db)
    try:
        if not dry_run and removal.crimes:  # Victim Voice invitations and answers about them
            from vcop.voice.answers import forget_crimes

            forget_crimes(ops, removal.crimes)
            from vcop.qa.audits import forget_cases

            forget_cases(ops, removal.crimes)  # and dip-sample audits of them
        span = due_for_pruning(ops, log_cutoff)
        pruned = None
        if span is not None and not dry_run:
            pruned = prune(
                ops, log_cutoff, username=reader.user.username, archive=access_log_archive
            )
    finally:
        ops.close()
    entries = 0 if span is None else span[1] - span[0] + 1
    where = (
        f"; archived to {access_log_archive} (sha256 {pruned.archive_sha256})"
        if pruned is not None and pruned.archive_sha256
        else ""
    )
    console.print(
        f"{verb}: {entries:,} access-log entr{'y' if entries == 1 else 'ies'} written before "
        f"{log_cutoff:%Y-%m-%d} (kept {log_years} years){where}",
        highlight=False,
    )
    if not dry_run:
        reader.log(
            f"{len(removal.crimes):,} crime(s) finalised before {cutoff}, {removal.total:,} row(s) "
            f"removed; {entries:,} access-log entries written before {log_cutoff:%Y-%m-%d} pruned"
            + (
                f" (archive sha256 {pruned.archive_sha256})"
                if pruned and pruned.archive_sha256
                else ""
            )
        )
