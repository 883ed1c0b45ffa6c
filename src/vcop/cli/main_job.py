"""`vcop demo`: vcop's main job on its embedded default — the Demoshire demo force.

Generates the seeded demo force as a standard extract, loads it into a DuckDB file with the same
validation as any real extract, and reports what was loaded. Re-running it is cheap: an extract
already generated with the same settings is reused and a file already loaded is skipped.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from vcop.cli.app import app, console, fail, open_store
from vcop.cli.data import print_load_summary
from vcop.config import DEFAULT_DB
from vcop.ingest import ExtractError, load_paths
from vcop.spec.profile import load_profile
from vcop.spec.schema import load_schema

DEMO_END = dt.datetime(2025, 6, 30)


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="The DuckDB file to build.")] = DEFAULT_DB,
    out: Annotated[Path, typer.Option(help="Folder for the generated extract.")] = Path("var/demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the demo force.")] = 1,
    years: Annotated[int, typer.Option(min=1, max=10, help="Years of data before --end.")] = 3,
    end: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day of the extract.")
    ] = DEMO_END,
) -> None:
    """Build the Demoshire demo force: generate it, load it, and show what was loaded."""
    from vcop.synth import generate

    settings = {"seed": seed, "years": years, "end": end.date().isoformat(), "scale": 1.0}
    manifest = out / "demo.json"
    if not (manifest.exists() and json.loads(manifest.read_text()) == settings):
        console.print(f"Generating the Demoshire demo force ({years} year(s) to {end.date()}) in {out} …")
        generate(out, seed=seed, years=years, end=end.date())
        manifest.write_text(json.dumps(settings))
    else:
        console.print(f"Using the demo extract already in {out}.")
    con = open_store(db)
    try:
        result = load_paths(con, [out], load_profile("standard"))
    except ExtractError as exc:
        fail(str(exc))
    print_load_summary(result, db)
    print_store_summary(con)
    con.close()


def print_store_summary(con: object) -> None:
    """Rows in each canonical table of the store."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    table = RichTable(title="What the database holds", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("from", justify="left")
    table.add_column("to", justify="left")
    dates = {
        "crimes": "reported_at", "case_events": "event_at", "contacts": "contact_at",
        "referrals": "referred_at", "needs_assessments": "completed_at", "care_contracts": "agreed_at",
        "supervisory_reviews": "due_at", "incidents": "received_at", "survey_responses": "surveyed_at",
    }  # fmt: skip
    for name in load_schema().table_names:
        column = dates.get(name)
        span = f", min({column})::DATE, max({column})::DATE" if column else ", NULL, NULL"
        n, lo, hi = con.execute(f'SELECT count(*){span} FROM "{name}"').fetchall()[0]
        table.add_row(name, f"{n:,}", str(lo or ""), str(hi or ""))
    console.print(table)
