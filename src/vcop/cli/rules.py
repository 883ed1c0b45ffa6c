"""Commands for the Victims' Code rules: check, evaluate, entitlements, explain."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from vcop.cli.app import (
    app,
    cli_settings,
    console,
    err_console,
    fail,
    open_store,
    ops_path_setting,
    progress_bar,
)
from vcop.cli.data import DbOption, OutputFormat, _emit
from vcop.cli.scale import (
    ConfOption,
    Engine,
    EngineOption,
    MasterOption,
    SourceOption,
    evaluate_on_spark_command,
)
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row

if TYPE_CHECKING:
    import duckdb

    from vcop.cli.access import RecordReader
    from vcop.store.access_log import Record
    from vcop.store.build import Change

AsOfOption = Annotated[
    str,
    typer.Option(
        "--as-of",
        help="The date the ledger is as of (YYYY-MM-DD): what was known and due by the end of it.",
    ),
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Your vcop account (default: your login name). Its password is asked for at a "
        "terminal, else read from VCOP_PASSWORD. Logged.",
    ),
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why you are reading these records (logged).")
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


class GroupBy(StrEnum):
    obligation = "obligation"
    status = "status"
    area = "area"
    unit = "unit"


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


def _load_code() -> Any:
    from vcop.spec.check import DefinitionError
    from vcop.spec.code import load_code

    try:
        return load_code()
    except DefinitionError as exc:
        fail(f"the Victims' Code definitions have problems (run `vcop check`):\n{exc}")


@app.command()
def check(
    code_dir: Annotated[
        Path | None,
        typer.Option(
            "--code-dir", help="Check Code editions in this folder instead of vcop's own."
        ),
    ] = None,
    profiles: Annotated[
        list[Path] | None,
        typer.Option(
            "--profile",
            help="Also check this mapping profile of yours (.yaml) against the schema; repeat "
            "for several. To check one against an export too: `vcop profile check`.",
        ),
    ] = None,
) -> None:
    """Validate vcop's definitions and print every problem with its file and line."""
    from vcop.spec.check import CHECKS, check_definitions
    from vcop.spec.code import check_code, load_code

    problems = check_code(code_dir) if code_dir is not None else check_definitions()
    if profiles:
        from vcop.ingest.profile_schema import profile_file_problems

        for path in profiles:
            problems.extend(profile_file_problems(path))
    for problem in problems:
        console.print(str(problem), highlight=False, soft_wrap=True, markup=False)
    if problems:
        err_console.print(f"{len(problems)} problem(s) found")
        raise typer.Exit(1)
    code = load_code(code_dir) if code_dir is not None else load_code()
    checked = "the Code" if code_dir is not None else ", ".join(CHECKS)
    if profiles:
        checked += ", " + ", ".join(str(p) for p in profiles)
    console.print(
        f"Definitions OK (checked: {checked}). Victims' Code: {len(code.editions)} edition(s), "
        f"{len(code.obligations)} obligations, {len(code.evaluated)} evaluated from the data."
    )
    for line in obligation_listing(code):
        console.print(line, highlight=False, soft_wrap=True, markup=False)


def obligation_listing(code: Any) -> list[str]:
    """Each obligation: its edition and id, kind, owner, Code paragraph and whether vcop
    evaluates it (``vcop check``)."""
    rows = [("obligation", "kind", "owner", "evaluated", "Code paragraph")]
    for o in code.obligations:
        kind = o.evaluate.kind if o.evaluate is not None else "-"
        rows.append(
            (
                f"{o.edition} {o.id}",
                kind,
                o.owner,
                "yes" if o.evaluate is not None else "no",
                o.code_paragraph.describe(),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
        for r in rows
    ]


@contextmanager
def _changing(db: Path, what: str) -> Iterator[Change]:
    """The build open for a change on a copy, published at the end; exits with a message when
    another command is changing it or it cannot be opened."""
    from vcop.store import StoreError
    from vcop.store.build import changing

    try:
        with changing(db, what, ops_path=ops_path_setting(db)) as change:
            yield change
    except StoreError as exc:
        fail(str(exc))


@app.command("evaluate")
def evaluate_command(
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    needs_assessment_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Local standard: working days after recording to complete a needs assessment "
            "(setting standards.needs_assessment_days; default 1).",
        ),
    ] = None,
    care_contract_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Local standard: working days after the report to agree a victim care contract "
            "(setting standards.care_contract_days; default 5).",
        ),
    ] = None,
    engine: EngineOption = Engine.duckdb,
    source: SourceOption = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="LEDGER",
            help="With --engine spark: where to write the ledger as Parquet (a folder or URI).",
        ),
    ] = None,
    master: MasterOption = None,
    conf: ConfOption = None,
) -> None:
    """Build the entitlement ledger as of a date and store it (replacing the previous one).

    With --engine spark it is evaluated by PySpark over a lake (`vcop export parquet`) and
    written as Parquet to --out: the same expressions, the same rows (docs/spark.md).
    """
    from vcop.metrics.stored_figures import Precomputed, wanted
    from vcop.rules.ledger import LEDGER_TABLE, STATUSES, evaluate

    day = _as_of(as_of)
    code = _load_code()
    # the force's local standards (settings), unless given here
    standards = cli_settings(db).standards.local_standards(
        needs_assessment_days=needs_assessment_days, care_contract_days=care_contract_days
    )
    if engine is Engine.spark:
        evaluate_on_spark_command(day, source, out, master, conf, standards, code)
        return
    if source is not None or out is not None or master is not None or conf:
        fail("--source, --out, --master and --conf go with --engine spark")
    started = time.perf_counter()
    with _changing(db, "evaluate") as change, progress_bar("evaluating") as report:
        con = change.con
        run = evaluate(con, day, code=code, standards=standards, progress=report)
        seconds = time.perf_counter() - started
        # what the dashboard's pages first show, computed now rather than on the first click
        # (the metrics engine imported only when the settings want some stored)
        figures = wanted(con, db)
        if not isinstance(figures, Precomputed):
            from vcop.metrics.precompute import precompute_for

            figures = precompute_for(con, db, progress=report)
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
    console.print(figures.summary() + ".")
    if run.rows == 0:
        err_console.print(
            f"nothing is owed as of {day}: are there crimes and victims in {db}? "
            "(load an extract with `vcop ingest`)"
        )


@dataclass(frozen=True)
class _Ledger:
    """Ledger rows to print: their columns, the rows (read lazily, once), and every (victim,
    crime) pair they hold (asked for before the rows are read, to log them first)."""

    columns: list[str]
    rows: Iterator[tuple[Any, ...]]
    records: Callable[[], list[Record]]


def _stored_or_computed(
    con: duckdb.DuckDBPyConnection,
    day: date,
    *,
    victim: str | None,
    crime: str | None,
    status: str | None,
    obligation: str | None,
    reader: RecordReader | None = None,
) -> _Ledger:
    """The ledger rows wanted: from the stored ledger if it is as of ``day`` and made by these
    definitions, otherwise computed now (not stored). With a ``reader``, only rows of the crimes
    it may see records of."""
    import ibis

    from vcop.cli.access import in_scope
    from vcop.rules.ledger import LEDGER_COLUMNS, LEDGER_TABLE, build_ledger, last_run
    from vcop.rules.sources import Sources
    from vcop.spec.code import LocalStandards
    from vcop.store.calendar import ensure_calendar

    code = _load_code()
    run = last_run(con)
    standards = run.standards if run is not None else LocalStandards()
    wanted = {"victim_id": victim, "crime_id": crime, "status": status, "obligation_id": obligation}
    columns = list(LEDGER_COLUMNS)
    order = "victim_id, crime_id, trigger_at, obligation_id, trigger_event_id"
    scoped = reader is not None and not reader.sees_everything
    if (
        run is not None
        and run.as_of == day
        and run.definitions_hash == code.definitions_hash(standards)
    ):
        conds = [f'"{k}" = ?' for k, v in wanted.items() if v is not None]
        params: list[object] = [v for v in wanted.values() if v is not None]
        if scoped:
            assert reader is not None
            scope, scope_params = reader.scope("c")
            conds.append(f"crime_id IN (SELECT c.crime_id FROM crimes c WHERE {scope})")
            params += scope_params
        where = " AND ".join(conds) or "true"

        def stored() -> Iterator[tuple[Any, ...]]:
            # Run on first read, after records(): DuckDB keeps one result per connection.
            cursor = con.execute(
                f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {LEDGER_TABLE} "
                f"WHERE {where} ORDER BY {order}",
                params,
            )
            while batch := cursor.fetchmany(10_000):
                yield from batch

        def stored_records() -> list[Record]:
            return con.execute(
                f"SELECT DISTINCT victim_id, crime_id FROM {LEDGER_TABLE} WHERE {where} "
                "ORDER BY victim_id, crime_id",
                params,
            ).fetchall()

        return _Ledger(columns, stored(), stored_records)
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
    if scoped:
        import pyarrow as pa
        import pyarrow.compute as pc

        assert reader is not None
        ids = {str(c) for c in table.column("crime_id").to_pylist() if c is not None}
        allowed = in_scope(con, reader, ids)
        table = table.filter(
            pc.is_in(table.column("crime_id"), value_set=pa.array(sorted(allowed)))
        )

    def computed_records() -> list[Record]:
        pairs = zip(
            table.column("victim_id").to_pylist(), table.column("crime_id").to_pylist(), strict=True
        )
        return sorted(set(pairs), key=lambda p: (p[0] or "", p[1] or ""))

    rows = zip(*(table.column(c).to_pylist() for c in columns), strict=True)
    return _Ledger(columns, rows, computed_records)


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


def _grouped(
    con: duckdb.DuckDBPyConnection, ledger: _Ledger, by: GroupBy
) -> tuple[list[str], list[tuple[object, ...]]]:
    """Counts of the ledger's rows per obligation, status, area or unit (and per status)."""
    from vcop.rules.ledger import STATUSES

    key = {"obligation": "obligation_id", "status": "status"}.get(by.value)
    place: dict[str, str] = {}
    if key is None:  # area or unit: the crime's
        place = {
            str(crime_id): str(value)
            for crime_id, value in con.execute(
                f'SELECT crime_id, "{by.value}" FROM crimes WHERE "{by.value}" IS NOT NULL'
            ).fetchall()
        }
    picked = ledger.columns.index(key or "crime_id")
    status_at = ledger.columns.index("status")
    counts: dict[str, dict[str, int]] = {}
    for row in ledger.rows:
        value = row[picked]
        group = (str(value) if value is not None else "") if key else place.get(str(value), "")
        counts.setdefault(group or "Not known", dict.fromkeys(STATUSES, 0))[row[status_at]] += 1
    if by is GroupBy.status:
        return ["status", "entitlements"], [(s, counts[s][s]) for s in STATUSES if s in counts]
    names = [by.value, "entitlements", *STATUSES]
    return names, [
        (group, sum(c.values()), *(c[s] for s in STATUSES)) for group, c in sorted(counts.items())
    ]


@app.command()
def entitlements(
    as_of: AsOfOption,
    db: DbOption = DEFAULT_DB,
    victim: Annotated[str | None, typer.Option(help="Only this victim.")] = None,
    crime: Annotated[str | None, typer.Option(help="Only this crime.")] = None,
    status: Annotated[Status | None, typer.Option(help="Only rows with this status.")] = None,
    obligation: Annotated[
        str | None, typer.Option(help="Only this obligation, e.g. R6.suspect-arrested.")
    ] = None,
    by: Annotated[
        GroupBy | None,
        typer.Option(
            "--by",
            help="Print only counts per obligation, status, area or unit (no victim in them: "
            "needs no account).",
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table, csv or json.")
    ] = OutputFormat.table,
    limit: Annotated[int, typer.Option(min=1, help="Most rows shown by --format table.")] = 200,
    user: UserOption = None,
    reason: ReasonOption = None,
) -> None:
    """List the entitlement ledger as of a date: every obligation owed to every victim.

    Listing rows is a record-level read: it needs your vcop account (analysts see every crime,
    supervisors their unit's, officers their own cases), its password and --reason, and every
    victim and crime listed is written to the access log. --by prints counts only (no account).
    """
    from vcop.cli.access import record_reader

    day = _as_of(as_of)
    record_level = by is None or victim is not None or crime is not None
    filters = (
        f"as_of={day}"
        + (f" victim={victim}" if victim else "")
        + (f" crime={crime}" if crime else "")
        + (f" status={status.value}" if status else "")
        + (f" obligation={obligation}" if obligation else "")
        + (f" by={by.value}" if by else "")
        + f" format={output.value}"
    )
    reader = None
    if record_level:
        reader = record_reader(
            db, user=user, reason=reason, action="entitlements",
            what="list victims' entitlements", detail=filters, victim_id=victim, crime_id=crime,
        )  # fmt: skip
    with open_store(db, read_only=True) as con:
        ledger = _stored_or_computed(
            con,
            day,
            victim=victim,
            crime=crime,
            status=status.value if status else None,
            obligation=obligation,
            reader=reader,
        )
        if by is not None:
            if reader is not None:
                records = ledger.records()
                reader.log(
                    f"{filters}; counts over {len(records):,} victim-crime pair(s)",
                    records=records,
                    victim_id=victim,
                    crime_id=crime,
                )
            names, counts = _grouped(con, ledger, by)
            _emit(names, counts, output, title=f"Entitlements as of {day} by {by.value}")
            return
        assert reader is not None
        if output is OutputFormat.table:
            shown: list[tuple[Any, ...]] = []
            total = 0
            for row in ledger.rows:
                total += 1
                if len(shown) < limit:
                    shown.append(row)
            at = (ledger.columns.index("victim_id"), ledger.columns.index("crime_id"))
            records = list(dict.fromkeys((r[at[0]], r[at[1]]) for r in shown))
            reader.log(
                f"{filters}; {len(shown)} of {total:,} row(s) shown",
                records=records,
                victim_id=victim,
                crime_id=crime,
            )
            _print_table(ledger.columns, shown, total, day)
            return
        records = ledger.records()
        reader.log(
            f"{filters}; {len(records):,} victim-crime pair(s)",
            records=records,
            victim_id=victim,
            crime_id=crime,
        )
        _print_rows(ledger.columns, ledger.rows, output)


def _print_rows(columns: list[str], rows: Iterator[tuple[Any, ...]], output: OutputFormat) -> None:
    if output is OutputFormat.csv:
        writer = csv_writer(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(safe_row(_text(v) for v in row))
    else:
        sys.stdout.write("[")
        for i, row in enumerate(rows):
            record = {
                c: (None if v is None else (_text(v) if isinstance(v, date) else v))
                for c, v in zip(columns, row, strict=True)
            }
            sys.stdout.write(("," if i else "") + "\n " + json.dumps(record))
        sys.stdout.write("\n]\n")


def _print_table(columns: list[str], shown: list[tuple[Any, ...]], total: int, day: date) -> None:
    table = RichTable(title=f"Entitlements as of {day.isoformat()}", title_justify="left")
    picked = [columns.index(c) for c in TABLE_COLUMNS]
    for c in TABLE_COLUMNS:
        table.add_column(
            c.replace("_", " "), overflow="fold", no_wrap=c in ("due_date", "met_at", "status")
        )
    for row in shown:
        table.add_row(*(_short(row[i]) for i in picked))
    console.print(table)
    if total > len(shown):
        console.print(
            f"showing {len(shown)} of {total:,} rows: use --limit, filters, or --format csv"
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
    """Tell one victim's journey through one crime: events, contacts, and every obligation.

    A record-level read: it needs your vcop account, allowed this crime (analysts: every crime;
    supervisors: their unit's; officers: their own cases), its password and --reason, and is
    written to the access log.
    """
    import ibis

    from vcop.cli.access import in_scope, record_reader
    from vcop.rules.explain import NotFound, journey, render
    from vcop.rules.ledger import last_run
    from vcop.rules.sources import Sources
    from vcop.spec.code import LocalStandards
    from vcop.store.calendar import ensure_calendar

    day = _as_of(as_of)
    detail = f"as_of={day}"
    reader = record_reader(
        db, user=user, reason=reason, action="explain", what="read a victim's journey",
        detail=detail, victim_id=victim, crime_id=crime,
    )  # fmt: skip
    code = _load_code()
    with open_store(db, read_only=True) as con:
        exists = con.execute("SELECT count(*) FROM crimes WHERE crime_id = ?", [crime]).fetchall()
        if exists[0][0] and not in_scope(con, reader, [crime]):
            reader.refuse(
                f"crime outside the account's scope ({reader.user.scope_label})",
                f"{reader.user.username} may not read crime {crime!r}: it is outside their "
                f"scope ({reader.user.scope_label})",
                detail=detail,
                victim_id=victim,
                crime_id=crime,
            )
        reader.log(detail, records=[(victim, crime)], victim_id=victim, crime_id=crime)
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
