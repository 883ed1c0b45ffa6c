"""`vcop report …`: documents written from the ledger and the metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vcop.cli.access import in_scope, record_reader
from vcop.cli.app import app, cli_settings, console, err_console, fail, open_ops_store, open_store
from vcop.cli.data import DbOption
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row

report_app = typer.Typer(
    help="Reports: the monthly board paper, the quarterly compliance return, the partner pack "
    "and the dip sample for quality review.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

if TYPE_CHECKING:
    from vcop.metrics.release import Release
    from vcop.metrics.targets import Targets
    from vcop.reports.document import Document
    from vcop.reports.figures import FigureBook
    from vcop.reports.sample import Case
    from vcop.reports.source import ReportSource

#: Roles that may draw a dip sample (a record-level list of cases and victims).
SAMPLE_ROLES = ("analyst",)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


@report_app.command("sample")
def sample_command(
    quarter: Annotated[str, typer.Option(help="Calendar quarter of finalisation, e.g. 2025Q1.")],
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="Your vcop account (an analyst). Its password is asked for at a terminal, else "
            "read from VCOP_PASSWORD.",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the sample is drawn (logged).")],
    db: DbOption = DEFAULT_DB,
    n: Annotated[int, typer.Option("--n", min=1, max=1000, help="Cases to sample.")] = 30,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same sample.")
    ] = 1,
    enhanced_weight: Annotated[
        float, typer.Option(help="Over-represent enhanced-rights victims' cases by this factor.")
    ] = 1.0,
    court_weight: Annotated[
        float,
        typer.Option(
            help="Over-represent cases that reached court (a hearing listed, a verdict or a "
            "sentence) by this factor, so the later rights are tested."
        ),
    ] = 1.0,
    out: Annotated[Path | None, typer.Option(help="Folder to write the sample into.")] = None,
    audit: Annotated[
        str | None,
        typer.Option(
            "--audit",
            help="Make the sample an agency's part of this dip-sample audit (e.g. 2025Q1; made "
            "if new), for its auditors to record findings in the dashboard or with `vcop audit "
            "import`. Needs --agency.",
        ),
    ] = None,
    agency: Annotated[
        str | None,
        typer.Option(
            "--agency",
            help="With --audit: the agency whose panel reviews this sample (police, victim_hub, "
            "cps, wcu, hmpps); each agency draws one sample per audit.",
        ),
    ] = None,
) -> None:
    """Draw a reproducible stratified random sample of cases finalised in a quarter (by area and
    crime type) and write the list with each case's ledger — the quarterly dip-sample audit.

    With --audit and --agency the sample becomes that agency's part of a dip-sample audit: each
    panel (police, victim hub, CPS, witness care, probation) draws its own, e.g. `vcop report
    sample --quarter 2025Q1 --n 30 --enhanced-weight 2 --court-weight 2 --audit 2025Q1 --agency
    police --user analyst1 --reason "quarterly dip sample"`.

    Record-level: only analysts may draw it, with their password and a reason, and every draw is
    written to the access log with every victim and crime in it.
    """
    from vcop.reports.sample import SampleError, case_ledger, draw, finalised_cases, quarter_bounds

    try:
        start, end = quarter_bounds(quarter)
    except SampleError as exc:
        fail(str(exc))
    if (audit is None) != (agency is None):
        fail("--audit and --agency go together: the audit, and the agency whose sample it is")
    if audit is not None and agency is not None:
        from vcop.qa.audits import AuditError, check_agency, check_audit_id

        try:
            check_audit_id(audit)
            check_agency(agency)
        except AuditError as exc:
            fail(str(exc))
    detail = f"quarter={quarter} n={n} seed={seed} enhanced_weight={enhanced_weight}"
    if court_weight != 1.0:
        detail += f" court_weight={court_weight}"
    if audit is not None:
        detail += f" audit={audit} agency={agency}"
    reader = record_reader(
        db, user=user, reason=reason, action="dip_sample", what="draw a dip sample of case records",
        roles=SAMPLE_ROLES, detail=detail,
    )  # fmt: skip
    con = open_store(db, read_only=True)
    has_ledger = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'entitlements'"
    ).fetchall()[0][0]
    if not has_ledger:
        fail("no entitlement ledger in the database: run `vcop evaluate` first")
    cases = finalised_cases(con, start, end)
    allowed = in_scope(con, reader, [c.crime_id for c in cases])
    cases = [c for c in cases if c.crime_id in allowed]
    if not cases:
        fail(f"no case was finalised in {quarter} ({start} to {end})")
    try:
        chosen = draw(
            cases, n=n, seed=seed, enhanced_weight=enhanced_weight, court_weight=court_weight
        )
    except SampleError as exc:
        fail(str(exc))
    names, ledger = case_ledger(con, [c.crime_id for c in chosen])
    con.close()
    crime_at, victim_at = names.index("crime_id"), names.index("victim_id")
    pairs = list(
        dict.fromkeys((_text_or_none(r[victim_at]), _text_or_none(r[crime_at])) for r in ledger)
    )
    with_victims = {crime_id for _, crime_id in pairs}
    reader.log(  # every victim and crime written, before anything is written
        f"{detail}; {len(chosen)} case(s): " + ", ".join(c.crime_id for c in chosen),
        records=[*pairs, *((None, c.crime_id) for c in chosen if c.crime_id not in with_victims)],
    )
    if audit is not None and agency is not None:
        _sample_into_audit(db, audit, quarter.upper(), agency, chosen, reader.user.username, detail)
    folder = out or Path(f"dip-sample-{quarter.upper()}-seed{seed}")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "cases.csv").open("w", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(
            ["sample_no", "crime_id", "area", "crime_type", "finalised_at", "enhanced", "court"]
        )
        for i, c in enumerate(chosen, start=1):
            writer.writerow(
                safe_row(
                    [i, c.crime_id, c.area, c.crime_type, c.outcome_at.date(), c.enhanced, c.court]
                )
            )
    with (folder / "ledger.csv").open("w", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(names)
        writer.writerows(safe_row(r) for r in ledger)
    enhanced = sum(c.enhanced for c in chosen)
    court = sum(c.court for c in chosen)
    console.print(
        f"Drew {len(chosen)} of {len(cases):,} cases finalised in {quarter} "
        f"({enhanced} with enhanced-rights victims, {court} that reached court; "
        f"{len({c.stratum for c in chosen})} area × crime "
        f"type strata) and wrote {folder / 'cases.csv'} and {folder / 'ledger.csv'} "
        f"({len(ledger):,} ledger rows)."
    )
    if audit is not None:
        console.print(f"The sample is {agency}'s part of audit {audit}.")


def _sample_into_audit(
    db: Path, audit: str, quarter: str, agency: str, chosen: list[Case], by: str, detail: str
) -> None:
    """Record a drawn sample as an agency's part of a dip-sample audit (or end the command)."""
    from vcop.qa.audits import AuditCase, AuditError, Sample, add_sample

    sample = Sample(
        audit, quarter, agency,
        tuple(AuditCase(c.crime_id, c.area, c.crime_type, c.outcome_at.date().isoformat(),
                        c.enhanced, c.court) for c in chosen),
        detail, by, datetime.now(),
    )  # fmt: skip
    ops = open_ops_store(db)
    try:
        add_sample(ops, sample)
    except AuditError as exc:
        fail(str(exc))
    finally:
        ops.close()


# -- documents: the board paper and the partner pack -----------------------------------------

FORMATS = ("docx", "pdf", "html")

AsOfOption = Annotated[
    datetime,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="The date the figures are as of (a month end)."
    ),
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format", help="Comma-separated formats to write: docx, pdf, html (default: all three)."
    ),
]


ForceOption = Annotated[
    str | None,
    typer.Option(help="The force's name (default: from the data, else 'the force')."),
]
DateOption = Annotated[
    datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="Date of the document (default: as-of)."),
]


def month_end(as_of: datetime) -> date:
    """The as-of date of a monthly document: it must be the last day of a month."""
    day = as_of.date()
    if (day + timedelta(days=1)).day != 1:
        last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        fail(
            f"--as-of {day}: a monthly report is as of the last day of a month (e.g. {last}); "
            "its figures are for whole months"
        )
    return day


def parse_formats(text: str) -> list[str]:
    chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        fail(f"--format: {', '.join(bad) or 'nothing given'}: choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(chosen))


def open_with_progress(db: Path, as_of: date) -> ReportSource:
    """:func:`vcop.reports.source.open_source` (a ledger as of ``as_of``, evaluated in memory if
    the stored one is for another date) with a progress bar on standard error when it is a
    terminal; a database that cannot be opened ends the command with the reason."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vcop.reports.source import open_source
    from vcop.store import StoreError

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("opening the database", total=None)

        def progress(description: str, done: int, total: int) -> None:
            bar.update(task, description=f"ledger as of {as_of}: {description}",
                       completed=done, total=total)  # fmt: skip

        try:
            return open_source(db, as_of, progress=progress)
        except StoreError as exc:
            fail(str(exc))


@contextmanager
def report_source(db: Path, as_of: date) -> Iterator[ReportSource]:
    """The database with a ledger as of ``as_of`` (evaluated in memory if the stored one is for
    another date, with a progress bar), closed afterwards."""
    from vcop.reports.source import has_crimes

    if not db.exists():
        fail(f"{db}: no such database (load one with `vcop ingest` or `vcop demo`)")
    source = open_with_progress(db, as_of)
    if source.evaluated_here:
        stored = source.stored_as_of.isoformat() if source.stored_as_of else "none"
        err_console.print(
            f"[yellow]note:[/] the stored ledger is as of {stored}; the ledger was evaluated as of "
            f"{as_of} for this report (the database is unchanged)",
            highlight=False,
        )
    try:
        if not has_crimes(source.con):
            fail(f"{db}: holds no crimes")
        yield source
    finally:
        source.close()


def _force_name(con: object) -> str:
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    rows = con.execute(
        "SELECT force FROM crimes WHERE force IS NOT NULL GROUP BY force ORDER BY count(*) DESC "
        "LIMIT 1"
    ).fetchall()
    return str(rows[0][0]) if rows else "the force"


#: The columns of figures.csv (add beside them, never rename them). ``provisional``,
#: ``comparable``, ``comparable_reason`` and ``spc_variation`` are the engine's marks of the value
#: a figure came from (see :class:`vcop.reports.figures.Citation`); ``suppressed``: the figure is
#: hidden in the release (shown as [c], with no numbers); ``figure``: what the figure is (the
#: citation's ``source``: ``value``, ``month``, ``per_1000``, ``benchmark``).
FIGURES_COLUMNS = ("ref", "where", "metric_id", "breakdown", "group", "period", "period_start",
                   "period_end", "numerator", "denominator", "value", "shown_as",
                   "definitions_hash", "provisional", "comparable", "comparable_reason",
                   "spc_variation", "suppressed", "figure")  # fmt: skip


def write_figures_csv(book: FigureBook, path: Path) -> None:
    """Every figure a document cites, as CSV (the appendix, machine-readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(FIGURES_COLUMNS)
        for c in book.citations:
            writer.writerow(safe_row([
                c.ref, c.where, c.metric_id, c.breakdown, c.group, c.period, c.start.isoformat(),
                c.end.isoformat(), c.numerator, c.denominator,
                None if c.value is None else repr(c.value), c.text, book.definitions_hash,
                str(c.provisional).lower(), str(c.comparable).lower(), c.comparable_reason,
                c.spc_variation, str(c.suppressed).lower(), c.source,
            ]))  # fmt: skip
    tmp.replace(path)


def force_targets(db: Path) -> Targets:
    """The targets the force keeps beside ``db`` (targets.yaml, or VCOP_TARGETS_FILE); none
    when there is no such file. A file with problems stops the command, naming each."""
    from vcop.metrics.targets import targets_for_db
    from vcop.spec.check import DefinitionError

    try:
        return targets_for_db(db)
    except DefinitionError as exc:
        fail(f"the targets file has problems:\n{exc}")


def write_documents(
    doc: Document, book: FigureBook, stem: Path, formats: list[str], what: str, started: float
) -> None:
    """Write ``stem.<format>`` for each format and ``figures.csv`` beside them, and say so."""
    from vcop.reports.render import write

    with console.status("writing the documents"):
        paths = write(doc, stem.parent, stem.name, formats)
        write_figures_csv(book, stem.parent / "figures.csv")
    console.print(
        f"Wrote {what} in {time.perf_counter() - started:.1f} s: "
        + ", ".join(str(p) for p in [*paths, stem.parent / "figures.csv"])
    )


@report_app.command("board")
def board_command(
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: board-paper-YYYY-MM).")
    ] = None,
    formats: FormatOption = "docx,pdf,html",
    board: Annotated[str, typer.Option(help="The board the paper goes to.")] = (
        "Business Coordination Board"
    ),
    author: Annotated[str, typer.Option(help="Who the paper is from.")] = "Chief Constable",
    force: ForceOption = None,
    paper_date: DateOption = None,
    charts: Annotated[bool, typer.Option(help="Include SPC chart images.")] = True,
    threshold: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Suppress counts below this, for a paper that will be published (default: no "
            "suppression, the paper is internal). Implies --no-charts.",
        ),
    ] = None,
    notes: Annotated[
        Path | None,
        typer.Option(
            help="A markdown file of the sections the author writes: '## Plan objectives', "
            "'## Good practice', '## Recommendation' (each optional; see docs/reports.md). "
            "They are placed where the model paper puts them and marked as the author's words; "
            "a section not written is left out.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="The date of the last board: the inspection tracker's annex marks what changed "
            "since then.",
        ),
    ] = None,
) -> None:
    """Write the monthly board paper on the Victims pillar (Word, PDF and HTML).

    Satisfaction, the domestic abuse survey, response times, Victims' Code compliance by right
    and obligation, the month's priority areas and data caveats, in the shape of the paper forces
    send their Commissioner's board. Every figure comes from the metric catalogue and is listed
    in an appendix (and in figures.csv) with its metric id, numerator, denominator and period;
    a change is called higher or lower only when it is statistically significant. When the
    inspection tracker holds recommendations, an appendix lists them with owner, status and
    response due date, as they stood on the paper's date.
    """
    from vcop.qa.tracker import view as tracker_view
    from vcop.reports.board import board_paper
    from vcop.reports.board_demand import NotesError, read_notes
    from vcop.reports.charts import xmr_image
    from vcop.reports.figures import FigureBook

    chosen = parse_formats(formats)
    day = month_end(as_of)
    folder = out or Path(f"board-paper-{day:%Y-%m}")
    started = time.perf_counter()
    try:
        author_notes = read_notes(notes) if notes is not None else None
    except (NotesError, UnicodeDecodeError) as exc:
        fail(f"--notes: {exc}")
    import ibis

    targets = force_targets(db)
    on = paper_date.date() if paper_date else day
    if since is not None and since.date() > on:
        fail(f"--since {since.date()} is after the paper's date {on}")
    with report_source(db, day) as source:
        ops = open_ops_store(db)  # the build exists: its operational store holds the tracker
        try:
            tracker = tracker_view(ops, on, since.date() if since else None)
        finally:
            ops.close()
        book = FigureBook(
            ibis.duckdb.from_connection(source.con), day, threshold=threshold, targets=targets
        )
        with console.status("computing the figures"):
            doc = board_paper(
                book,
                board=board,
                author=author,
                force=force or _force_name(source.con),
                paper_date=paper_date.date() if paper_date else None,
                chart=xmr_image if charts and threshold is None else None,
                notes=author_notes,
                tracker=None if tracker.empty else tracker,
            )
    write_documents(doc, book, folder / f"board-paper-{day:%Y-%m}", chosen,
                    f"the board paper as of {day} ({len(book.citations)} figures cited)",
                    started)  # fmt: skip


#: The suppression threshold of a partner output (default: the setting).
ThresholdOption = Annotated[
    int | None,
    typer.Option(min=1, help="Hide counts below this (default: the suppression_threshold, 10)."),
]


def partner_release(
    db: Path, source: ReportSource, threshold: int, targets: Targets, output: str
) -> Release:
    """The partners' release of ``source``'s date, kept in (or taken from) the publication
    ledger of ``db`` as published by ``output``, with a status line while it is computed."""
    from vcop.metrics.engine import MetricsError
    from vcop.reports.source import build_release

    day = source.as_of
    with console.status(f"the release of {day}: computing the figures") as status:

        def step(description: str) -> None:
            status.update(f"the release of {day}: {description}")

        try:
            ops = open_ops_store(db)
            try:
                return build_release(
                    source, threshold=threshold, targets=targets, progress=step, ops=ops,
                    output=output,
                )  # fmt: skip
            finally:
                ops.close()
        except MetricsError as exc:
            fail(str(exc))


@report_app.command("joint-review")
def joint_review_command(
    quarter: Annotated[str, typer.Option(help="Calendar quarter, e.g. 2025Q1 (January-March).")],
    db: DbOption = DEFAULT_DB,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: joint-review-<quarter>).")
    ] = None,
    formats: FormatOption = "docx,pdf,html",
    threshold: ThresholdOption = None,
    board: Annotated[str, typer.Option(help="The board the review goes to.")] = (
        "Local Criminal Justice Board"
    ),
    force: ForceOption = None,
    paper_date: DateOption = None,
) -> None:
    """Write the joint Victims' Code compliance review of a quarter (Word, PDF and HTML).

    For the Local Criminal Justice Board: each body's compliance with every obligation it owes
    (police, CPS, witness care, courts, probation and prisons, the Parole Board, victim
    services), with n, the 95% interval and the quarter before; each body's weakest
    obligations and what cannot be measured yet; compliance by right; and the five areas of
    the Ministry of Justice's quarterly return. Cut from the partner release at the quarter's
    end (as the return is), so every figure and every hidden one (\\[c]) is as in every partner
    output for that month end. figures.csv lists every figure shown.
    """
    from vcop.reports.compliance_return import quarter_label
    from vcop.reports.figures import FigureBook
    from vcop.reports.joint_review import bodies as review_bodies
    from vcop.reports.joint_review import joint_review, measured
    from vcop.reports.sample import SampleError, quarter_bounds
    from vcop.spec.check import DefinitionError
    from vcop.spec.returns import load_return

    chosen = parse_formats(formats)
    try:
        _start, end = quarter_bounds(quarter)
    except SampleError as exc:
        fail(str(exc))
    label = quarter_label(quarter)
    try:
        definition = load_return()
    except DefinitionError as exc:
        fail(f"the return definition has problems:\n{exc}")
    folder = out or Path(f"joint-review-{label}")
    started = time.perf_counter()
    limit = threshold or cli_settings(db).suppression_threshold
    targets = force_targets(db)
    with report_source(db, end) as source:
        release = partner_release(db, source, limit, targets, "joint review")
        book = FigureBook.of_release(release, targets=targets)
        doc = joint_review(
            book,
            label,
            force=force or _force_name(source.con),
            board=board,
            paper_date=paper_date.date() if paper_date else None,
            moj_return=definition,
        )
    count = measured(review_bodies(book))
    write_documents(doc, book, folder / f"joint-review-{label}", chosen,
                    f"the joint review of {label}, cut from the release of {end} ({count} "
                    f"obligations measured; {len(book.citations)} figures shown; counts below "
                    f"{limit} hidden as \\[c])", started)  # fmt: skip


@report_app.command("partner")
def partner_command(
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: partner-pack-YYYY-MM).")
    ] = None,
    formats: FormatOption = "docx,pdf,html",
    threshold: ThresholdOption = None,
    board: Annotated[str, typer.Option(help="The board the pack goes to.")] = (
        "Local Criminal Justice Board"
    ),
    force: ForceOption = None,
    paper_date: DateOption = None,
    charts: Annotated[
        bool, typer.Option(help="Include the XmR charts of monthly series with no hidden month.")
    ] = True,
) -> None:
    """Write the partner pack for the Local Criminal Justice Board (Word, PDF and HTML).

    Aggregate figures only, cut from the partner release of the as-of date (a month end), so
    every figure and every hidden one (\\[c]) is as in every partner output for that month end:
    Victims' Code compliance by right and policing area, the obligations shared with CPS,
    witness care, courts and probation, victim satisfaction and outcomes, and the latest months
    of a few monthly series. figures.csv lists every figure shown.
    """
    from vcop.reports.charts import xmr_image
    from vcop.reports.figures import FigureBook
    from vcop.reports.partner import partner_pack

    chosen = parse_formats(formats)
    day = month_end(as_of)
    folder = out or Path(f"partner-pack-{day:%Y-%m}")
    started = time.perf_counter()
    limit = threshold or cli_settings(db).suppression_threshold
    targets = force_targets(db)
    with report_source(db, day) as source:
        release = partner_release(db, source, limit, targets, "partner pack")
        book = FigureBook.of_release(release, targets=targets)
        doc = partner_pack(
            book,
            force=force or _force_name(source.con),
            board=board,
            paper_date=paper_date.date() if paper_date else None,
            chart=xmr_image if charts else None,
        )
    write_documents(doc, book, folder / f"partner-pack-{day:%Y-%m}", chosen,
                    f"the partner pack as of {day}, cut from its release ({len(book.citations)} "
                    f"figures shown; counts below {limit} hidden as \\[c])", started)  # fmt: skip


@report_app.command("audit")
def audit_report_command(
    audit: Annotated[str, typer.Option("--audit", help="The audit's id, e.g. 2025Q1.")],
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="Your vcop account (an analyst). Its password is asked for at a terminal, else "
            "read from VCOP_PASSWORD.",
        ),
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why the report is written (logged).")
    ] = "quarterly quality assurance report",
    db: DbOption = DEFAULT_DB,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: qa-report-AUDIT).")
    ] = None,
    formats: FormatOption = "docx,pdf,html",
    force: ForceOption = None,
    paper_date: DateOption = None,
) -> None:
    """Write the quarterly QA report of a dip-sample audit (Word, PDF, HTML and figures.csv):
    findings by right and agency, quality scores against the MoJ's five areas, agreement with
    the ledger (rate and Cohen's kappa per right), themes in the auditors' notes, the case
    studies chosen (by pseudonymous crime id) and the actions agreed. Only submitted findings are
    counted.

    Record-level (it names cases and quotes the auditors' notes): analysts only, with their
    password and a reason; the report is written to the access log with every case in it.
    """
    from vcop.qa.audits import AuditError
    from vcop.qa.report import FIGURES_COLUMNS, audit_report, gather
    from vcop.reports.render import write

    started = time.perf_counter()
    chosen = parse_formats(formats)
    reader = record_reader(
        db, user=user, reason=reason, action="audit_report", what="write an audit's QA report",
        roles=SAMPLE_ROLES, detail=f"audit={audit}",
    )  # fmt: skip
    ops = open_ops_store(db)
    con = open_store(db, read_only=True)
    try:
        data = gather(ops, con, audit)
        name = force or _force_name(con)
    except AuditError as exc:
        fail(str(exc))
    finally:
        con.close()
        ops.close()
    doc, book = audit_report(data, force=name, on=(paper_date or datetime.now()).date())
    cases = sorted({str(f["crime_id"]) for f in data.findings})
    reader.log(
        f"audit={audit}; {len(data.findings)} finding(s) of {len(cases)} case(s)",
        records=[(None, c) for c in cases],
    )
    folder = out or Path(f"qa-report-{audit}")
    folder.mkdir(parents=True, exist_ok=True)
    with console.status("writing the documents"):
        paths = write(doc, folder, f"qa-report-{audit}", chosen)
        figures = folder / "figures.csv"
        with figures.open("w", newline="") as f:
            writer = csv_writer(f)
            writer.writerow(FIGURES_COLUMNS)
            writer.writerows(safe_row(x.row(audit)) for x in book.figures)
    console.print(
        f"Wrote the QA report of audit {audit} in {time.perf_counter() - started:.1f} s: "
        + ", ".join(str(p) for p in [*paths, figures])
    )
