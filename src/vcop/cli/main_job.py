"""`vcop demo`: vcop's main job on its embedded default — the Demoshire demo force.

Generates the seeded demo force as a standard extract, loads it into a DuckDB file with the same
validation as any real extract, evaluates the Victims' Code into the entitlement ledger as of the
extract's last day, makes a demo account, puts the December 2023 joint inspection's
recommendations in the inspection tracker (with synthetic statuses), and serves the dashboard on 127.0.0.1. Re-running it is
cheap: an extract already generated with the same settings is reused, a file already loaded is
skipped and a ledger already current is kept.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from vcop.cli.app import app, console, fail, open_ops_store, ops_path_setting, progress_bar
from vcop.cli.data import print_load_summary
from vcop.config import DEFAULT_DB

DEMO_END = dt.datetime(2025, 6, 30)


def install_demo_targets(db: Path) -> Path | None:
    """Copy Demoshire's synthetic targets beside the demo database, unless a targets file is
    already there (it may have been edited); returns the path written, or None."""
    from importlib import resources

    from vcop.metrics.targets import targets_path

    path = targets_path(db)
    if path is None or path.exists():
        return None
    source = resources.files("vcop.definitions").joinpath("synth", "targets.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(source.read_bytes())
    return path


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="The DuckDB file to build.")] = DEFAULT_DB,
    out: Annotated[Path, typer.Option(help="Folder for the generated extract.")] = Path("var/demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the demo force.")] = 1,
    years: Annotated[int, typer.Option(min=1, max=10, help="Years of data before --end.")] = 3,
    end: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day of the extract.")
    ] = DEMO_END,
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve the dashboard when the data are ready."),
    ] = True,
    host: Annotated[
        str, typer.Option(help="Dashboard address (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8000,
) -> None:
    """Build the Demoshire demo force and run vcop on it: generate, load, evaluate, serve."""
    from vcop.ingest import ExtractError, load_paths
    from vcop.metrics.precompute import precompute_for
    from vcop.rules.ledger import evaluate, last_run
    from vcop.spec.profile import load_profile
    from vcop.store import StoreError
    from vcop.store.build import changing
    from vcop.synth import GENERATOR_VERSION, generate
    from vcop.web.auth import DEMO_ACCOUNT, ensure_demo_account

    settings = {"seed": seed, "years": years, "end": end.date().isoformat(), "scale": 1.0,
                "generator": GENERATOR_VERSION}  # fmt: skip
    manifest = out / "demo.json"
    if not (manifest.exists() and json.loads(manifest.read_text()) == settings):
        console.print(
            f"Generating the Demoshire demo force ({years} year(s) to {end.date()}) in {out} …"
        )
        generate(out, seed=seed, years=years, end=end.date())
        manifest.write_text(json.dumps(settings))
    else:
        console.print(f"Using the demo extract already in {out}.")
    # the targets first: the dashboard's figures are computed with them, straight after the ledger
    targets = install_demo_targets(db)
    try:
        with changing(db, "demo", ops_path=ops_path_setting(db)) as change:
            con = change.con
            try:
                result = load_paths(con, [out], load_profile("standard"))
            except ExtractError as exc:
                fail(str(exc))
            print_load_summary(result, db)
            print_store_summary(con)
            previous = last_run(con)
            changed = any(f.rows_inserted or f.rows_updated for f in result.files)
            if changed or previous is None or previous.as_of != end.date():
                console.print(f"Evaluating the Victims' Code as of {end.date()} …")
                run = evaluate(con, end.date())
                console.print(f"{run.rows:,} entitlements in the ledger ({run.by_status}).")
                with progress_bar("the dashboard's figures") as report:
                    figures = precompute_for(con, db, progress=report)
                console.print(figures.summary() + ".")
            else:
                console.print(
                    f"The entitlement ledger as of {previous.as_of} is current ({previous.rows:,} rows)."
                )
                with progress_bar("the dashboard's figures") as report:
                    figures = precompute_for(con, db, progress=report, if_stale=True)
                console.print(figures.summary() + ".")
                if not result.files and figures.rows == 0:
                    change.discard()
    except StoreError as exc:
        fail(str(exc))
    from vcop.qa.tracker_demo import load_demo

    ops = open_ops_store(db)
    try:
        password = ensure_demo_account(ops, now=dt.datetime.now())
        tracked = load_demo(ops, now=dt.datetime.now(), until=end.date())
    finally:
        ops.close()
    if tracked:
        console.print(
            "The December 2023 joint inspection's recommendations are in the inspection tracker, "
            "with Demoshire's synthetic statuses (vcop tracker list, /tracker)."
        )
    if targets is not None:
        console.print(f"Demoshire's (synthetic) targets written to {targets}.")
    if password:
        console.print(
            f"\nA demo account was made: sign in as [bold]{DEMO_ACCOUNT}[/] with the password "
            f"[bold]{password}[/] (shown only this once; change it with "
            f"`vcop users password {DEMO_ACCOUNT} --db {db}`).",
            highlight=False,
        )
    else:
        console.print(
            f"\nSign in as [bold]{DEMO_ACCOUNT}[/] with the password shown when it was made "
            f"(reset it with `vcop users password {DEMO_ACCOUNT} --db {db}`).",
            highlight=False,
        )
    if serve:
        from vcop.cli.web import serve as serve_dashboard

        serve_dashboard(db=db, host=host, port=port)


def print_store_summary(con: object) -> None:
    """Rows in each canonical table of the store."""
    import duckdb

    from vcop.spec.schema import load_schema

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
