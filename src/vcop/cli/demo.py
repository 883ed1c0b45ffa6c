"""`vcop demo-data`: write the seeded synthetic force, Demoshire, as a standard extract."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail

DEFAULT_END = dt.datetime(2025, 6, 30)


@app.command("demo-data")
def demo_data(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder to write the extract to: one CSV per canonical table. Created if missing; "
            "files of the same names in it are replaced.",
            show_default=False,
        ),
    ],
    seed: Annotated[
        int, typer.Option(help="Random seed. The same seed and options give byte-identical files.")
    ] = 1,
    years: Annotated[int, typer.Option(min=1, max=20, help="Years of data, ending on --end.")] = 1,
    end: Annotated[
        dt.datetime,
        typer.Option(
            formats=["%Y-%m-%d"],
            show_default="2025-06-30",
            help="Last day the extract covers (YYYY-MM-DD). The extract is as a force's would be at "
            "the end of that day, with open cases and pending updates; today's date is never used.",
        ),
    ] = DEFAULT_END,
    dirty: Annotated[
        bool,
        typer.Option(
            "--dirty",
            help="Also append malformed rows (bad dates and booleans, unknown values, missing and "
            "duplicate keys, broken references) to several files, to exercise `vcop ingest`.",
        ),
    ] = False,
    scale: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Multiply every volume (1.0 = a whole force, about 29,000 victims a year). For "
            "tests and quick tries, e.g. 0.02.",
        ),
    ] = 1.0,
    national: Annotated[
        bool,
        typer.Option(
            "--national",
            help="Write the national synthetic year instead: the 43 forces of England and Wales "
            "(or --forces), one folder of Parquet files per force (OUT/<CODE>, the force's id "
            "prefix), each loaded with `vcop ingest OUT/<CODE>`. Resumable: a force whose folder "
            "is complete for the same options is skipped.",
        ),
    ] = False,
    forces: Annotated[
        str | None,
        typer.Option(
            "--forces",
            metavar="N|LIST",
            help="With --national: the first N forces of the table of forces, or a comma-separated "
            "list of force names or codes (e.g. CAM,COL,MET). Default: all 43.",
        ),
    ] = None,
) -> None:
    """Generate Demoshire, a synthetic police force, as a standard extract.

    Demoshire has North and South areas, six districts, response, CID and safeguarding units and a few hundred officers. Its crime mix, seasons and outcomes are calibrated on Cambridgeshire's 2024 data.police.uk figures; like real data it has repeat victims, late and missed updates, voicemail-only contacts, missed referrals, overdue reviews and blank optional fields.

    Every id is pseudonymous: no names, addresses or phone numbers anywhere.
    """
    if national:
        if dirty or years != 1:
            fail("--national writes one clean year: leave out --dirty and --years")
        _national(out, forces, seed=seed, scale=scale, end=end.date())
        return
    if forces is not None:
        fail("--forces goes with --national")
    from vcop.synth import generate

    started = time.monotonic()
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    try:
        with bar:
            task = bar.add_task("starting", total=100)

            def report(description: str, done: int, total: int) -> None:
                bar.update(task, description=escape(description), completed=done, total=total)

            counts = generate(
                out,
                seed=seed,
                years=years,
                end=end.date(),
                dirty=dirty,
                scale=scale,
                progress=report,
            )
    except OSError as exc:
        fail(f"could not write the extract to {out}: {exc}")
    except KeyboardInterrupt:
        fail(f"interrupted; nothing was written to {out}.", code=130)

    table = RichTable(
        title=f"Demoshire extract in {out} (seed {seed}, {years} year(s) to {end.date()}"
        f"{', scale ' + format(scale, 'g') if scale != 1.0 else ''}{', with malformed rows' if dirty else ''})",
        title_justify="left",
    )
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(f"{name}.csv", f"{n:,}")
    table.add_section()
    table.add_row("total", f"{sum(counts.values()):,}")
    console.print(table)
    console.print(f"Written in {time.monotonic() - started:.1f} s. Load it with: vcop ingest {out}")


def _national(out: Path, forces: str | None, *, seed: int, scale: float, end: dt.date) -> None:
    """`vcop demo-data --national`: each force's extract, with a line per force as it is done."""
    from vcop.spec.forces import load_forces
    from vcop.synth.national import ForceResult, generate_national

    table = load_forces()
    try:
        if forces is None:
            picked = table.pick()
        elif forces.strip().isdigit():
            if not 1 <= int(forces) <= len(table.forces):
                fail(f"--forces: give 1 to {len(table.forces)} forces")
            picked = table.pick(first=int(forces))
        else:
            picked = table.pick([f for f in forces.split(",") if f.strip()])
    except KeyError as exc:
        fail(f"--forces: no force {exc.args[0]} (see definitions/synth/forces.yaml)")
    if not picked:
        fail("--forces: name at least one force")
    started = time.monotonic()

    def report(r: ForceResult, done: int, total: int) -> None:
        what = "already complete, skipped" if r.skipped else f"written in {r.seconds:.1f} s"
        console.print(
            f"[{done}/{total}] {r.force.code} {escape(r.force.force)} "
            f"({r.force.size_source} size {r.force.crimes_per_year:,}): "
            f"{r.counts['crimes']:,} crimes, {r.counts['victims']:,} victims, "
            f"{sum(r.counts.values()):,} rows; {what}"
        )

    try:
        results = generate_national(out, picked, seed=seed, scale=scale, end=end, progress=report)
    except OSError as exc:
        fail(f"could not write the national extract to {out}: {exc}")
    except KeyboardInterrupt:
        fail(f"interrupted; the forces completed in {out} are kept and skipped on a rerun.", 130)
    crimes = sum(r.counts["crimes"] for r in results)
    victims = sum(r.counts["victims"] for r in results)
    console.print(
        f"{len(results)} force(s), {crimes:,} crimes and {victims:,} victim records in {out} "
        f"(seed {seed}, scale {scale:g}, the year to {end}) in {time.monotonic() - started:.1f} s. "
        f"Load them all in one load with: vcop ingest {out}/*/ (or some: {out}/<CODE> …)"
    )
