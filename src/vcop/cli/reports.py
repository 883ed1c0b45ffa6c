"""`vcop report …`: documents written from the ledger and the metrics."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from vcop.cli.access import log_access, require_account, require_reason
from vcop.cli.app import app, console, fail, open_store
from vcop.cli.data import DbOption
from vcop.config import DEFAULT_DB

report_app = typer.Typer(
    help="Reports: the quarterly dip sample for quality review.", no_args_is_help=True
)
app.add_typer(report_app, name="report")

#: Roles that may draw a dip sample (a record-level list of cases and victims).
SAMPLE_ROLES = ("analyst",)


@report_app.command("sample")
def sample_command(
    quarter: Annotated[str, typer.Option(help="Calendar quarter of finalisation, e.g. 2025Q1.")],
    user: Annotated[str, typer.Option("--user", help="Your vcop account (an analyst).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the sample is drawn (logged).")],
    db: DbOption = DEFAULT_DB,
    n: Annotated[int, typer.Option("--n", min=1, max=1000, help="Cases to sample.")] = 30,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same sample.")
    ] = 1,
    enhanced_weight: Annotated[
        float, typer.Option(help="Over-represent enhanced-rights victims' cases by this factor.")
    ] = 1.0,
    out: Annotated[Path | None, typer.Option(help="Folder to write the sample into.")] = None,
) -> None:
    """Draw a reproducible stratified random sample of cases finalised in a quarter (by area and
    crime type) and write the list with each case's ledger — the quarterly dip-sample audit.

    Record-level: only analysts may draw it, and every draw is written to the access log.
    """
    from vcop.reports.sample import SampleError, case_ledger, draw, finalised_cases, quarter_bounds

    why = require_reason(reason, "draw the sample")
    try:
        start, end = quarter_bounds(quarter)
    except SampleError as exc:
        fail(str(exc))
    con = open_store(db)
    role, _ = require_account(con, db, user, SAMPLE_ROLES, "draw a dip sample of case records")
    has_ledger = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'entitlements'"
    ).fetchall()[0][0]
    if not has_ledger:
        fail("no entitlement ledger in the database: run `vcop evaluate` first")
    cases = finalised_cases(con, start, end)
    if not cases:
        fail(f"no case was finalised in {quarter} ({start} to {end})")
    try:
        chosen = draw(cases, n=n, seed=seed, enhanced_weight=enhanced_weight)
    except SampleError as exc:
        fail(str(exc))
    names, ledger = case_ledger(con, [c.crime_id for c in chosen])
    folder = out or Path(f"dip-sample-{quarter.upper()}-seed{seed}")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "cases.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sample_no", "crime_id", "area", "crime_type", "finalised_at", "enhanced"])
        for i, c in enumerate(chosen, start=1):
            writer.writerow([i, c.crime_id, c.area, c.crime_type, c.outcome_at.date(), c.enhanced])
    with (folder / "ledger.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(["" if v is None else v for v in r] for r in ledger)
    log_access(
        con, user=user, role=role, action="dip_sample", reason=why,
        detail=f"quarter={quarter} n={n} seed={seed} enhanced_weight={enhanced_weight}; "
        f"{len(chosen)} case(s): " + ", ".join(c.crime_id for c in chosen),
    )  # fmt: skip
    con.close()
    enhanced = sum(c.enhanced for c in chosen)
    console.print(
        f"Drew {len(chosen)} of {len(cases):,} cases finalised in {quarter} "
        f"({enhanced} with enhanced-rights victims; {len({c.stratum for c in chosen})} area × crime "
        f"type strata) and wrote {folder / 'cases.csv'} and {folder / 'ledger.csv'} "
        f"({len(ledger):,} ledger rows)."
    )
