"""Commands that help map a force's own export: profile init, profile check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail
from vcop.config import DEFAULT_DB

if TYPE_CHECKING:
    from vcop.ingest.dry_run import RejectGroup
    from vcop.ingest.profile_check import CheckReport

profile_app = typer.Typer(
    help="Draft a mapping profile from your system's export, and check it before loading.",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")

ExportArg = Annotated[
    list[Path], typer.Argument(help="The export: files or folders (CSV, XLSX, Parquet).")
]


@profile_app.command("init")
def init(
    export: ExportArg,
    out: Annotated[Path, typer.Option("--out", help="Where to write the drafted profile (.yaml).")],
    name: Annotated[
        str | None, typer.Option("--name", help="The profile's name (default: --out's stem).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite --out if it exists.")
    ] = False,
) -> None:
    """Draft a profile from an export: its files, headers, date formats and codes.

    Each file is matched to a canonical table by its headers, each header to a column (by name,
    synonym, or — marked TODO — resemblance), and every code in a coded column is listed with
    its count. Edit the TODO lines, then run `vcop profile check`.
    """
    from vcop.ingest.draft import draft_profile
    from vcop.ingest.readers import ExtractError

    if out.suffix not in (".yaml", ".yml"):
        fail(f"--out {out}: a profile is a .yaml file")
    if out.exists() and not replace:
        fail(f"{out} exists: edit it, or give --replace to draft it again")
    try:
        draft = draft_profile(export, name=name or out.stem)
    except ExtractError as exc:
        fail(str(exc), code=1)
    if not draft.tables:
        fail("no file of the export looks like any canonical table: nothing drafted", code=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(draft.text, encoding="utf-8")
    table = RichTable(title=f"Drafted {escape(str(out))}", title_justify="left")
    for column in ("table", "file", "rows", "headers mapped"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for name_, d in draft.tables.items():
        mapped = sum(1 for g in d.guesses if g.column)
        table.add_row(
            name_,
            escape(d.file.label),
            f"{d.raw.table.num_rows:,}",
            f"{mapped} of {len(d.raw.headers)}",
        )
    console.print(table)
    for d in draft.unmatched:
        console.print(f"not drafted: {escape(d.file.label)} (matches no table)", highlight=False)
    console.print(
        f"{draft.todos} TODO line(s) to edit in {escape(str(out))}; then run "
        f"`vcop profile check {escape(str(out))} {' '.join(escape(str(p)) for p in export)}`",
        highlight=False,
    )


@profile_app.command("check")
def check(
    profile: Annotated[Path, typer.Argument(help="The profile (.yaml) to check.")],
    export: ExportArg,
    db: Annotated[
        Path,
        typer.Option(
            "--db",
            help="The database the export would load into: its rows count for references "
            "(a scratch copy is used; the file is never written). If it does not exist, an "
            "empty database is used.",
        ),
    ] = DEFAULT_DB,
) -> None:
    """Check a profile against the schema and an export, and preview the load's rejects.

    Reports every TODO left, every header the profile names that the files lack, every file
    header neither mapped nor ignored, every code not mapped (with counts by value), required
    columns not covered and columns whose values look like personal details; then runs the
    load's validation on a scratch copy of the database and counts the rejects per table and
    column. Nothing is written. Exit 0 when the profile is clean, 1 when it has problems.
    """
    from vcop.ingest.profile_check import check_profile

    if not profile.is_file():
        fail(f"{profile}: no such profile file", code=1)
    report = check_profile(profile, export, db=db)
    print_check(report)
    if not report.ok:
        err_console.print(f"{len(report.problems)} problem(s) found")
        raise typer.Exit(1)
    console.print("Profile OK: nothing was written.")


def print_check(report: CheckReport) -> None:
    """The files each table takes, the problems, the notes and the preview."""
    if report.files:
        table = RichTable(title="Files", title_justify="left")
        for column in ("table", "file", "rows", "kept", "superseded"):
            table.add_column(column, justify="right" if column in ("rows", "kept") else "left")
        for f in report.files:
            kept = f.prepared.raw.table.num_rows if f.prepared else None
            table.add_row(
                f.table, escape(f.file.label), f"{f.rows_read:,}",
                "" if kept is None else f"{kept:,}",
                escape(", ".join(s.label for s in f.superseded)),
            )  # fmt: skip
        console.print(table)
    for problem in report.problems:
        console.print(str(problem), highlight=False, soft_wrap=True, markup=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    if report.preview is not None:
        table = RichTable(title="Preview of the load (nothing written)", title_justify="left")
        for column in ("file", "table", "rows", "would load", "new", "changed", "rejected"):
            table.add_column(column, justify="left" if column in ("file", "table") else "right")
        for done in report.preview.files:
            table.add_row(
                escape(Path(done.label).name), done.table,
                *(f"{n:,}" for n in (done.rows_read, done.rows_loaded, done.rows_inserted, done.rows_updated, done.rows_rejected)),
            )  # fmt: skip
        console.print(table)
        print_rejects(report.rejects)


def print_rejects(groups: list[RejectGroup]) -> None:
    """Rejects by table and column, with the first few of each (rows of the user's own files)."""
    if not groups:
        console.print("No row would be rejected.")
        return
    table = RichTable(title="Rejects by table and column", title_justify="left")
    for column in ("table", "column", "rows", "first of them"):
        table.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for g in groups:
        table.add_row(g.table, g.column, f"{g.rows:,}", escape("\n".join(g.examples)))
    console.print(table)
