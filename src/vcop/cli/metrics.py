"""`vcop metrics`: every figure in the catalogue, with its interval, significance and SPC signal.

The command only shows what :mod:`vcop.metrics` decided: provisional periods, comparability,
SPC readings, targets and suppression are marks on each value, never worked out here. The
database is opened read-only; when the stored ledger was evaluated for another date than the one
asked for, a ledger for that date is evaluated in memory (as the reports do, with
:func:`vcop.reports.source.open_source`) and the stored one is left as it was.

With ``--suppress`` the figures are those a partner sees: the release of the month end
(:func:`vcop.metrics.release.build`, every period and split it publishes, suppressed once) is
built in memory and the period asked for is cut from it, so they are the dashboard's and the
partner pack's figures for that month end, hidden in the same places.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vcop.cli.app import app, cli_settings, console, err_console, fail, open_store
from vcop.cli.scale import (
    ConfOption,
    Engine,
    EngineOption,
    MasterOption,
    SourceOption,
    metrics_on_spark_command,
)
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row
from vcop.metrics.periods import PeriodKind, month_end

if TYPE_CHECKING:
    import duckdb
    import ibis

    from vcop.metrics.engine import Result
    from vcop.metrics.targets import Targets
    from vcop.metrics.values import MetricValue
    from vcop.reports.source import ReportSource
    from vcop.spec.metrics import Catalogue


class MetricsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def metrics(
    db: Annotated[Path, typer.Option("--db", help="The vcop DuckDB database file.")] = DEFAULT_DB,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="The date the figures are as of (required)."
        ),
    ] = None,
    period: Annotated[
        PeriodKind,
        typer.Option(help="month, quarter, fytd (financial year to date) or rolling_12m."),
    ] = PeriodKind.rolling_12m,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Only this metric (repeat for more). Default: all."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Break down by: area, district, unit, officer, crime_type, …"),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="BREAKDOWN=VALUE",
            help="Only the rows in this group, e.g. --filter area=North (repeat for more: "
            "--filter area=North --filter district=Marshwick).",
        ),
    ] = None,
    output: Annotated[
        MetricsFormat, typer.Option("--format", help="Output format.")
    ] = MetricsFormat.table,
    suppress: Annotated[
        bool,
        typer.Option(
            "--suppress",
            help="The figures partners see: cut from the release of a month end (--as-of must "
            "be one), small numbers hidden. Force-wide or --by area only.",
        ),
    ] = False,
    threshold: Annotated[
        int | None,
        typer.Option(
            min=1, help="Suppression threshold (default: the suppression_threshold setting, 10)."
        ),
    ] = None,
    list_metrics: Annotated[
        bool,
        typer.Option("--list", help="List the metrics and breakdowns in the catalogue, and stop."),
    ] = False,
    engine: EngineOption = Engine.duckdb,
    source: SourceOption = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            metavar="LEDGER",
            help="With --engine spark: the ledger `vcop evaluate --engine spark` wrote.",
        ),
    ] = None,
    master: MasterOption = None,
    conf: ConfOption = None,
) -> None:
    """Compute the metric catalogue for a period ending on the as-of date.

    Each figure comes with its sample size, a 95% interval, whether it changed significantly from
    the previous period and from a year before, the SPC signal of its monthly series, whether it
    is provisional or not comparable, and the force's adopted target (targets.yaml beside the
    database). The database is never changed: when its ledger was evaluated for another date, a
    ledger as of --as-of is evaluated in memory. See docs/metrics.md for every definition.

    With --engine spark the figures are computed by PySpark over a lake (`vcop export parquet`)
    and a ledger evaluated there (--ledger), by the same expressions (docs/spark.md).
    """
    from vcop.cli.metrics_table import print_catalogue
    from vcop.metrics.engine import MetricsError, compute
    from vcop.metrics.targets import targets_for_db
    from vcop.spec.check import DefinitionError
    from vcop.spec.metrics import load_catalogue

    try:
        catalogue = load_catalogue()
    except DefinitionError as exc:
        fail(f"the metric catalogue has problems (run `vcop check`):\n{exc}")
    if list_metrics:
        print_catalogue(catalogue)
        return
    if as_of is None:
        fail(
            "--as-of DATE is required (the figures are as of that date; vcop never reads the clock)"
        )
    filters = parse_filters(filter_ or [])
    if engine is Engine.spark:
        if suppress:
            fail("--suppress cuts from a release of the database: use --engine duckdb")
        result = metrics_on_spark_command(
            source, ledger, master, conf, as_of.date(), period.value, metrics=metric or None,
            by=by, catalogue=catalogue, filters=filters or None,
        )  # fmt: skip
        from vcop.metrics.targets import Targets

        _show(result, catalogue, Targets(), filters, metric, output, None)
        return
    if source is not None or ledger is not None or master is not None or conf:
        fail("--source, --ledger, --master and --conf go with --engine spark")
    if not db.exists():
        fail(f"{db}: no such database")
    try:
        targets = targets_for_db(db, catalogue)
    except DefinitionError as exc:
        fail(f"the targets file has problems:\n{exc}")
    day = as_of.date()
    limit = (threshold or cli_settings(db).suppression_threshold) if suppress else None
    if limit is not None:
        _check_release_request(catalogue, day, by, filters)
    import ibis

    # a release computes every metric force-wide and by area, whatever is shown of it
    wants = (
        _wants_ledger(catalogue, None, None, {})
        if limit is not None
        else _wants_ledger(catalogue, metric, by, filters)
    )
    with _source(db, day, wants) as con:
        backend = ibis.duckdb.from_connection(con)
        try:
            if limit is None:
                result = compute(
                    backend, day, period, metrics=metric or None, by=by, catalogue=catalogue,
                    filters=filters or None, targets=targets,
                )  # fmt: skip
            else:
                result = _from_release(backend, day, period, by, metric, catalogue, targets, limit)
        except MetricsError as exc:
            fail(str(exc))
    _show(result, catalogue, targets, filters, metric, output, limit)


def _show(
    result: Result,
    catalogue: Catalogue,
    targets: Targets,
    filters: Mapping[str, str],
    metric: Sequence[str] | None,
    output: MetricsFormat,
    limit: int | None,
) -> None:
    """Print the notes and the values (table, CSV or JSON)."""
    from vcop.cli.metrics_table import print_table
    from vcop.metrics.values import RECORD_COLUMNS

    notes = list(result.notes)
    if filters and not metric:
        notes += _unfilterable(catalogue, filters)
    for note in notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    values = result.values
    if not values:
        fail(_nothing_computed(notes, filters), code=1)
    if output is MetricsFormat.csv:
        writer = csv_writer(sys.stdout)
        writer.writerow(RECORD_COLUMNS)
        for v in values:
            rec = v.record()
            writer.writerow(safe_row(rec[c] for c in RECORD_COLUMNS))
    elif output is MetricsFormat.json:
        sys.stdout.write(json.dumps([v.record() for v in values], indent=1))
        sys.stdout.write("\n")
    else:
        print_table(values, catalogue, targets, filters, limit)
        if limit is None:
            _print_peers(values)


def _print_peers(values: Sequence[MetricValue]) -> None:
    """With --by force: each force beside its most similar forces (peer groups as data)."""
    from rich.table import Table as RichTable

    from vcop.metrics.peers import PEER_NOTE, peer_figures
    from vcop.spec.forces import load_forces

    figures = peer_figures(values, load_forces())
    if not figures:
        return
    kinds = {v.metric_id: v.unit for v in values}
    table = RichTable(title="Most similar forces", title_justify="left", caption=PEER_NOTE)
    for name in ("metric / group", "force", "value", "peer group", "difference", "peers present"):
        table.add_column(
            name, justify="right" if name in ("value", "peer group", "difference") else "left"
        )
    for f in figures:
        unit = kinds.get(f.metric_id, "")
        diff = None if f.peer_value is None else f.value - f.peer_value
        table.add_row(
            "/".join((f.metric_id, *f.group)),
            f.force,
            _figure(f.value, unit),
            "–" if f.peer_value is None else _figure(f.peer_value, unit),
            "–" if diff is None else _figure(diff, unit, signed=True),
            ", ".join(f.peers) or "none in these figures",
        )
    console.print(table)


def _figure(value: float, unit: str, *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if unit == "proportion":
        return f"{value * 100:{sign}.1f}" + ("pp" if signed else "%")
    return f"{value:{sign},.1f}"


# --- the figures partners see: a release -----------------------------------------------------


def _check_release_request(
    catalogue: Catalogue, day: date, by: str | None, filters: Mapping[str, str]
) -> None:
    """Exit with a message when ``--suppress`` asks for what no release publishes."""
    from vcop.metrics.release import month_ends_before, partner_splits

    splits = partner_splits(catalogue)
    published = "force-wide" + "".join(f" and --by {s}" for s in splits)
    if day != month_end(day):
        fail(
            f"--suppress cuts the figures from the release of a month end, and {day} is not "
            f"one: use --as-of {month_ends_before(day)} (the last month end before it) or another "
            "month end"
        )
    if by is not None and by not in splits:
        fail(f"--suppress: a release publishes figures {published} only, not --by {by}")
    if filters:
        fail(f"--suppress: a release publishes no filtered figures (only {published})")


def _from_release(
    backend: ibis.BaseBackend,
    day: date,
    period: PeriodKind,
    by: str | None,
    metric_ids: Sequence[str] | None,
    catalogue: Catalogue,
    targets: Targets,
    threshold: int,
) -> Result:
    """The values of ``period`` (by ``by``) in the release of ``day``, built in memory."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from vcop.metrics.engine import MetricsError, Result, quietly
    from vcop.metrics.release import build

    unknown = [m for m in metric_ids or () if m not in catalogue.metric_ids]
    if unknown:
        raise MetricsError(f"no metric {', '.join(unknown)} in the catalogue (see --list)")
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(f"release of {day}", total=None)

        def progress(step: str) -> None:
            bar.update(task, description=f"release of {day}: {step}")

        with quietly():
            release = build(
                backend,
                day,
                threshold=threshold,
                catalogue=catalogue,
                targets=targets,
                progress=progress,
            )
    values = release.values(period.value, by, metric_ids or None)
    return Result(values, list(release.notes), release.definitions_hash)


# --- arguments --------------------------------------------------------------------------------


def parse_filters(items: Sequence[str]) -> dict[str, str]:
    """``--filter`` options (``BREAKDOWN=VALUE``) as breakdown id → group label; exits with a
    message on a malformed one. Unknown breakdowns are the engine's to report."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            fail(
                f"--filter {item!r}: write BREAKDOWN=VALUE, e.g. --filter area=North "
                "(`vcop metrics --list` lists the breakdowns)"
            )
        if key in out and out[key] != value:
            fail(
                f"--filter {key} is given twice ({out[key]!r} and {value!r}): a figure is for one "
                f"group of each breakdown (use --by {key} to see them all)"
            )
        out[key] = value
    return out


def _wants_ledger(catalogue: Catalogue, metric_ids: Sequence[str] | None, by: str | None,
                  filters: Mapping[str, str]) -> bool:  # fmt: skip
    """Whether a metric that will be computed counts the entitlement ledger: one asked for (all
    by default) that has the breakdown and the filters asked for. An unknown metric: no (the
    engine reports it before anything is computed)."""
    from vcop.spec.metrics import LEDGER

    chosen = list(metric_ids or catalogue.metric_ids)
    if any(m not in catalogue.metric_ids for m in chosen):
        return False
    return any(
        m.source == LEDGER
        and (by is None or by in m.breakdowns)
        and all(f in m.breakdowns for f in filters)
        for m in map(catalogue.metric, chosen)
    )


def _unfilterable(catalogue: Catalogue, filters: Mapping[str, str]) -> list[str]:
    """A note naming the metrics left out because they cannot be split by a filter's breakdown
    (the engine notes them itself only for metrics asked for by name)."""
    left = [m.id for m in catalogue.metrics if any(f not in m.breakdowns for f in filters)]
    if not left:
        return []
    return [
        f"{len(left)} metric(s) cannot be filtered by {', '.join(filters)} and are left out: "
        + ", ".join(left)
    ]


def _nothing_computed(notes: Sequence[str], filters: Mapping[str, str]) -> str:
    """Why the command printed nothing: the notes, and for a filter a hint about group names."""
    if not filters:
        if notes:
            return "no metric could be computed (see the notes above)"
        return "no metric could be computed: the database holds no rows in the periods asked for"
    shown = ", ".join(f"{k}={v}" for k, v in filters.items())
    groups = f"`vcop metrics --by {next(iter(filters))}` lists the groups"
    if notes:
        return f"no metric could be computed for {shown} (see the notes above; {groups})"
    return f"no metric could be computed for {shown}: no row is in every group named ({groups})"


# --- the database, with a ledger as of the date asked for -------------------------------------


def stored_ledger_dates(con: duckdb.DuckDBPyConnection) -> list[date] | None:
    """The as-of dates of the ledger stored in ``con`` (None: there is no ledger table)."""
    from vcop.spec.metrics import LEDGER

    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [LEDGER],
    ).fetchall()
    if not found[0][0]:
        return None
    rows = con.execute(f'SELECT DISTINCT as_of FROM "{LEDGER}" WHERE as_of IS NOT NULL').fetchall()
    return sorted({d.date() if isinstance(d, datetime) else d for (d,) in rows})


def _holds_victims(con: duckdb.DuckDBPyConnection) -> bool:
    import duckdb

    try:
        return bool(con.execute("SELECT count(*) FROM victims").fetchall()[0][0])
    except duckdb.Error:
        return False


@contextmanager
def _source(db: Path, day: date, wants_ledger: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """``db`` opened read-only; when the metrics asked for count the ledger and the stored one
    is not as of ``day``, an in-memory database over it with a ledger evaluated as of ``day``."""
    con = open_store(db, read_only=True)
    stored = stored_ledger_dates(con)
    if not wants_ledger or stored == [day] or not _holds_victims(con):
        try:
            yield con
        finally:
            con.close()
        return
    con.close()
    source = _evaluate_in_memory(db, day)
    if source.evaluated_here:
        was = (
            "the database holds no ledger"
            if stored is None
            else f"the stored ledger is as of {', '.join(d.isoformat() for d in stored) or 'no date'}"
        )
        err_console.print(
            f"[yellow]note:[/] {was}; a ledger was evaluated in memory as of {day} for these "
            "figures (the database is unchanged)",
            highlight=False,
        )
    try:
        yield source.con
    finally:
        source.close()


def _evaluate_in_memory(db: Path, day: date) -> ReportSource:
    """The database with a ledger evaluated in memory as of ``day`` (as the reports do)."""
    from vcop.cli.reports import open_with_progress

    return open_with_progress(db, day)
