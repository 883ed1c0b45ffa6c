"""The same ledger on a local PySpark session: the rule cases pass, and the ledger is identical.

Needs Java (17 or later). One Spark session (``local[1]``) serves the module; the canonical
tables are copied from DuckDB into Spark temporary views, and the ledger expressions — the very
ones ``vcop evaluate`` runs on DuckDB — are executed by Spark through Ibis.
"""

from __future__ import annotations

import shutil
from datetime import date
from typing import Any

import duckdb
import ibis
import pytest

from tests.cases.runner import database, groups, load_variants, verify
from vcop.rules.ledger import Materialize, build_ledger
from vcop.rules.sources import TABLES, Sources
from vcop.spec.code import Code, LocalStandards, load_code
from vcop.store.calendar import CALENDAR_TABLE, ensure_calendar

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="PySpark needs Java"),
    pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"),
    # py4j leaves its gateway sockets for the garbage collector.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
]

#: DuckDB column types as Spark DDL types.
SPARK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp_ntz",
}


@pytest.fixture(scope="module")
def spark(spark_session: Any) -> Any:
    return spark_session


#: The calendar years the test data need (all their dates and due dates fall inside).
YEARS = (2020, 2027)


def copy_to_spark(con: duckdb.DuckDBPyConnection, spark: Any, prefix: str) -> ibis.BaseBackend:
    """Copy the canonical tables and the calendar into Spark temporary views (named with prefix).

    Only the calendar's rows for YEARS are copied (the rows themselves are unchanged: day and
    working-day numbers still count from 2000), which keeps the copy quick.
    """
    for name in (*TABLES, CALENDAR_TABLE):
        columns = con.execute(f'DESCRIBE "{name}"').fetchall()
        schema = ", ".join(f"`{c[0]}` {SPARK_TYPES[c[1]]}" for c in columns)
        where = (
            f"WHERE year(date) BETWEEN {YEARS[0]} AND {YEARS[1]}" if name == CALENDAR_TABLE else ""
        )
        rows = con.execute(f'SELECT * FROM "{name}" {where}').fetchall()
        spark.createDataFrame(rows, schema=schema).createOrReplaceTempView(f"{prefix}{name}")
    return ibis.pyspark.connect(spark)


def spark_sources(backend: ibis.BaseBackend, prefix: str) -> Sources:
    tables = {name: backend.table(f"{prefix}{name}") for name in TABLES}
    return Sources(calendar=backend.table(f"{prefix}{CALENDAR_TABLE}"), **tables)


def collect(backend: ibis.BaseBackend, spark: Any, expr: ibis.Table) -> list[dict[str, Any]]:
    """Run an Ibis expression on Spark and return its rows as dicts.

    Not ``expr.to_pyarrow()``: PySpark 4.0's pandas conversion warns under pandas 3, and the
    rows need no pandas. The private hook registers the expression's in-memory tables.
    """
    backend._run_pre_execute_hooks(expr)  # type: ignore[attr-defined]
    return [row.asDict() for row in spark.sql(backend.compile(expr)).collect()]


def materializer(backend: ibis.BaseBackend, spark: Any) -> Materialize:
    """What ``vcop evaluate`` does on DuckDB, on Spark: keep the victims-and-crimes base every
    obligation starts from (a cached temporary view), so each part's plan stays small."""

    def materialize(expr: ibis.Table, name: str) -> ibis.Table:
        backend._run_pre_execute_hooks(expr)  # type: ignore[attr-defined]
        spark.sql(backend.compile(expr)).cache().createOrReplaceTempView(name)
        return backend.table(name)

    return materialize


def plain(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples, timestamps to the second, for exact comparison."""
    out = []
    for row in rows:
        values = []
        for value in row.values():
            if hasattr(value, "to_pydatetime"):
                value = value.to_pydatetime()
            values.append(value)
        out.append(tuple(values))
    return sorted(out, key=lambda t: tuple("" if v is None else str(v) for v in t))


VARIANTS = load_variants()
GROUPS = groups(VARIANTS)


@pytest.fixture(scope="module")
def cases_db() -> duckdb.DuckDBPyConnection:
    con = database(VARIANTS)
    ensure_calendar(con)
    return con


@pytest.fixture(scope="module")
def cases_spark(cases_db: duckdb.DuckDBPyConnection, spark: Any) -> ibis.BaseBackend:
    return copy_to_spark(cases_db, spark, "cases_")


@pytest.mark.parametrize("group", sorted(GROUPS), ids=lambda g: f"{g[0]}-{len(GROUPS[g])}")
def test_cases_on_spark(
    group: tuple[date, str],
    cases_db: duckdb.DuckDBPyConnection,
    cases_spark: ibis.BaseBackend,
    spark: Any,
) -> None:
    """Every case variant of this as-of date passes on Spark, and Spark's rows equal DuckDB's.

    Only the obligations the group's cases test are evaluated (each Spark plan costs seconds
    to make, whatever the data); the whole ledger on Spark is the synthetic force's test."""
    as_of, standards_json = group
    standards = LocalStandards.model_validate_json(standards_json)
    code = only_obligations(load_code(), {e["obligation"] for v in GROUPS[group] for e in v.expect})
    src = spark_sources(cases_spark, "cases_")
    expr = build_ledger(
        src, as_of, code=code, standards=standards, materialize=materializer(cases_spark, spark)
    )
    rows = collect(cases_spark, spark, expr)
    problems = [
        f"{variant.id}: {problem}" for variant in GROUPS[group] for problem in verify(variant, rows)
    ]
    assert not problems, "\n".join(problems)
    duck = Sources.from_backend(ibis.duckdb.from_connection(cases_db))
    expected = build_ledger(duck, as_of, code=code, standards=standards).to_pyarrow().to_pylist()
    assert plain(rows) == plain(expected)


def only_obligations(code: Code, obligation_ids: set[str]) -> Code:
    """``code`` with only these obligations (in every edition that has them)."""
    editions = tuple(
        e.model_copy(
            update={"obligations": tuple(o for o in e.obligations if o.id in obligation_ids)}
        )
        for e in code.editions
    )
    assert {o.id for e in editions for o in e.obligations} == obligation_ids
    return code.model_copy(update={"editions": editions})


# The whole ledger of a seeded synthetic force is compared with DuckDB's through the user's
# path (vcop export parquet, vcop evaluate --engine spark) in tests/test_spark_commands.py.
