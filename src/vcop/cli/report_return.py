"""`vcop report compliance-return`: the quarterly Victims' Code return, as an Excel workbook."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from vcop.cli.app import cli_settings, console, err_console, fail, open_ops_store
from vcop.cli.data import DbOption
from vcop.cli.reports import force_targets, report_app
from vcop.config import DEFAULT_DB


@report_app.command("compliance-return")
def compliance_return_command(
    quarter: Annotated[str, typer.Option(help="Calendar quarter, e.g. 2025Q1 (January-March).")],
    db: DbOption = DEFAULT_DB,
    out: Annotated[
        Path | None,
        typer.Option(
            help="The workbook to write (.xlsx); default victims-code-return-<quarter>.xlsx."
        ),
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option(
            min=1, help="Suppression threshold (default: the suppression_threshold setting, 10)."
        ),
    ] = None,
    force: Annotated[
        str | None,
        typer.Option(help="The force's name (default: the most common crimes.force)."),
    ] = None,
) -> None:
    """Write the quarterly Victims' Code compliance return as an Excel workbook.

    The five areas forces report to the Ministry of Justice (written
    acknowledgement, referral to support services, updates on time and their
    quality, the offer of a Victim Personal Statement, advance notice of an
    offender's release where the data hold it), then compliance with every
    right and obligation the data can show, force-wide and by policing area,
    with n; a Notes sheet gives the definitions.

    The return is cut from the partner release at the quarter's end: its
    figures, and the small numbers it hides as \\[c], are those of every partner
    output for that month end. The release is made from a ledger as of the
    quarter's last day: the stored one if it is for that day, else one
    evaluated in memory. The database is never changed.
    """
    import duckdb

    from vcop.metrics.engine import MetricsError
    from vcop.metrics.periods import Window
    from vcop.metrics.release import SUPPRESSED
    from vcop.reports.compliance_return import (
        ReturnError,
        compute_return,
        coverage,
        quarter_label,
    )
    from vcop.reports.render.return_workbook import write_workbook
    from vcop.reports.sample import SampleError, quarter_bounds
    from vcop.reports.source import open_source
    from vcop.spec.check import DefinitionError
    from vcop.spec.returns import load_return
    from vcop.store import StoreError, connect

    started = time.perf_counter()
    try:
        start, end = quarter_bounds(quarter)
    except SampleError as exc:
        fail(str(exc))
    label = quarter_label(quarter)
    target = out or Path(f"victims-code-return-{label}.xlsx")
    if target.suffix.lower() != ".xlsx":
        fail(f"--out must be an .xlsx file, not {target}")
    if not target.parent.is_dir():
        fail(f"{target.parent}: no such folder to write the return into")
    if not db.exists():
        fail(f"{db}: no such database")
    try:
        definition = load_return()
    except DefinitionError as exc:
        fail(f"the return definition has problems:\n{exc}")
    window = Window(start, end)
    try:
        with connect(db, read_only=True) as con:
            found = coverage(con, window)
    except StoreError as exc:
        fail(str(exc))
    except duckdb.Error as exc:  # a DuckDB file, but not a vcop database
        fail(f"{db}: cannot be read as a vcop database: {exc}")
    if not found.crimes_in_quarter:
        held = (
            f"the data hold crimes reported from {found.first_report:%Y-%m-%d} to "
            f"{found.last_report:%Y-%m-%d}"
            if found.first_report and found.last_report
            else "the database holds no crimes"
        )
        fail(f"no crime was reported in {label} ({start} to {end}): {held}")
    if found.last_report is not None and found.last_report.date() < end:
        err_console.print(
            f"[yellow]warning:[/] the data end on {found.last_report:%Y-%m-%d}, before {label} "
            "ends: updates given later are missing, so compliance may be understated",
            highlight=False,
        )
    limit = threshold or cli_settings(db).suppression_threshold
    targets = force_targets(db)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"opening {db}", total=None)

        def report(description: str, done: int, total: int) -> None:
            bar.update(task, description=escape(description), completed=done, total=total)

        ops = open_ops_store(db)
        try:
            with open_source(db, end, progress=report) as source:

                def step(description: str) -> None:
                    bar.update(task, description=f"the release of {end}: {description}",
                               completed=0, total=None)  # fmt: skip

                step("computing the figures")
                figures = compute_return(
                    source,
                    definition,
                    label,
                    window,
                    threshold=limit,
                    force=force or found.force,
                    targets=targets,
                    progress=step,
                    ops=ops,
                )
        except (StoreError, ReturnError, MetricsError) as exc:
            fail(str(exc))
        finally:
            ops.close()
        bar.update(task, description=f"writing {target}")
        _write_atomically(target, lambda path: write_workbook(figures, path))
    seconds = time.perf_counter() - started

    table = RichTable(
        title=f"{definition.title}: {label} ({start} to {end}), force-wide",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("no.")
    table.add_column("measure", overflow="fold")
    table.add_column("%", justify="right")
    table.add_column("numerator", justify="right")
    table.add_column("n", justify="right")
    for area in definition.areas:
        for index, measure in enumerate(area.measures):
            if measure.kind == "not_held":
                cells = ["not held", "", ""]
            else:
                cell = figures.measure_cell(measure, None)
                if cell.suppressed:
                    cells = [escape(SUPPRESSED)] * 3
                else:
                    share = "–" if cell.share is None else f"{100 * cell.share:.1f}%"
                    cells = [share, f"{cell.numerator:,}", f"{cell.denominator:,}"]
            table.add_row(area.measure_number(index), measure.label, *cells)
    console.print(table)
    ledger = (
        f"ledger evaluated as of {end} in memory (the stored ledger was left as it was)"
        if figures.evaluated_here
        else f"stored ledger as of {end}"
    )
    console.print(
        f"Wrote {target}: {len(figures.areas)} policing area(s); {ledger}; cut from the "
        f"release of {end}: {figures.suppressed:,} of {figures.shown:,} figures are "
        f"{escape(SUPPRESSED)} (threshold {limit}); definitions {figures.definitions_hash}; "
        f"{seconds:.1f} s.",
        highlight=False,
    )


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file beside ``target``, then rename it into place."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        # mkstemp makes the file private; give it the mode a new file would have had
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp, 0o666 & ~mask)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
