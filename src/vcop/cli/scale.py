"""`vcop export parquet`, and the Spark side of `vcop evaluate` and `vcop metrics`
(``--engine spark``): the path past one machine (docs/spark.md)."""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail, open_store
from vcop.config import DEFAULT_DB

if TYPE_CHECKING:
    from vcop.metrics.engine import Result


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="duckdb (the database, --db) or spark (a lake written by `vcop export parquet`, "
        "--source).",
    ),
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        metavar="LAKE",
        help="With --engine spark: the lake (a folder, or s3a://, abfss://, gs://, hdfs:// …).",
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="With --engine spark: the Spark master (local[*], spark://host:7077, yarn, k8s://…). "
        "Default: spark-submit's or spark-defaults.conf's, else local[*].",
    ),
]
ConfOption = Annotated[
    list[str] | None,
    typer.Option(
        "--conf",
        metavar="KEY=VALUE",
        help="With --engine spark: a Spark setting, e.g. --conf spark.executor.memory=8g (repeat).",
    ),
]

export_app = typer.Typer(
    help="Export the build for other engines (Parquet for Spark).", no_args_is_help=True
)
app.add_typer(export_app, name="export")


@export_app.command("parquet")
def export_parquet_command(
    out: Annotated[Path, typer.Option("--out", metavar="LAKE", help="The folder to write.")],
    db: Annotated[Path, typer.Option("--db", help="The vcop DuckDB database file.")] = DEFAULT_DB,
    force: Annotated[
        str | None,
        typer.Option(
            "--force",
            help="The force of rows without their own force column (default: the commonest "
            "crimes.force, else the database file's name).",
        ),
    ] = None,
) -> None:
    """Write the canonical tables as a Parquet dataset partitioned by force and year.

    LAKE/<table>/force=<force>/year=<year>/*.parquet, the working-day calendar beside them and a
    manifest of every table's columns and types. `vcop evaluate --engine spark --source LAKE` and
    `vcop metrics --engine spark --source LAKE` read it. An existing lake at --out is replaced.
    """
    from vcop.scale.lake import LakeError, export_parquet

    if not db.exists():
        fail(f"{db}: no such database")
    started = time.perf_counter()
    con = open_store(db, read_only=True)
    try:
        exported = export_parquet(con, db, out, force=force)
    except LakeError as exc:
        fail(str(exc))
    finally:
        con.close()
    table = RichTable(title=f"Parquet lake {out}", title_justify="left")
    for name, justify in (("table", "left"), ("rows", "right"), ("files", "right"), ("year of", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for e in exported:
        table.add_row(e.table, f"{e.rows:,}", f"{e.partitions:,}", e.year_from or "—")
    console.print(table)
    console.print(f"Written in {time.perf_counter() - started:.1f} s.")


def spark_conf(items: list[str] | None) -> dict[str, str]:
    conf: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--conf takes KEY=VALUE, not {item!r}")
        conf[key.strip()] = value.strip()
    return conf


def evaluate_on_spark_command(
    day: date,
    source: str | None,
    out: str | None,
    master: str | None,
    conf: list[str] | None,
    standards: Any,
    code: Any,
) -> None:
    """`vcop evaluate --engine spark`: the ledger over a lake, written as Parquet."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vcop.rules.ledger import STATUSES
    from vcop.scale.lake import LakeError
    from vcop.scale.spark import active_session, evaluate_on_spark, session, stop_unless_shared

    if source is None or out is None:
        fail("--engine spark needs --source LAKE (from `vcop export parquet`) and --out LEDGER")
    started = time.perf_counter()
    was_active = active_session()
    spark = session(master, spark_conf(conf))
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), console=err_console, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("evaluating on Spark", total=None)

            def report(description: str, done: int, total: int) -> None:
                bar.update(task, description=escape(description), completed=done, total=total)

            run = evaluate_on_spark(
                spark, source, day, out, code=code, standards=standards, progress=report
            )
    except LakeError as exc:
        fail(str(exc))
    finally:
        stop_unless_shared(spark, was_active)
    table = RichTable(title=f"Entitlement ledger as of {day.isoformat()} (Spark)", title_justify="left")  # fmt: skip
    for status in STATUSES:
        table.add_column(status.replace("_", " "), justify="right")
    table.add_row(*(f"{run.by_status[s]:,}" for s in STATUSES))
    console.print(table)
    console.print(
        f"{run.rows:,} entitlements written to {out} in {time.perf_counter() - started:.1f} s "
        f"(definitions {run.definitions_hash})."
    )


def metrics_on_spark_command(
    source: str | None,
    ledger: str | None,
    master: str | None,
    conf: list[str] | None,
    day: date,
    period: str,
    **kwargs: Any,
) -> Result:
    """`vcop metrics --engine spark`: the catalogue over a lake and a Spark-evaluated ledger."""
    from vcop.metrics.engine import MetricsError
    from vcop.scale.lake import LakeError
    from vcop.scale.spark import active_session, metrics_on_spark, session, stop_unless_shared

    if source is None or ledger is None:
        fail(
            "--engine spark needs --source LAKE (from `vcop export parquet`) and --ledger LEDGER "
            "(from `vcop evaluate --engine spark`)"
        )
    was_active = active_session()
    spark = session(master, spark_conf(conf))
    try:
        return metrics_on_spark(spark, source, ledger, day, period, **kwargs)
    except (LakeError, MetricsError) as exc:
        fail(str(exc))
    finally:
        stop_unless_shared(spark, was_active)
