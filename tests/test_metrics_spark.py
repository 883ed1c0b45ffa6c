"""The whole metric catalogue on a local PySpark session gives the same values as on DuckDB.

Needs Java (17 or later). One Spark session (``local[1]``) serves the module. The seeded test
force (canonical tables and a ledger) is copied from DuckDB into Spark temporary views, and the
very expressions ``vcop metrics`` runs on DuckDB are executed by Spark through Ibis.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest

from vcop.metrics.engine import compute
from vcop.spec.metrics import load_catalogue

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="PySpark needs Java"),
    pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"),
    # ibis's PySpark backend returns results through pandas, and PySpark 4.0 / ibis 12 use pandas
    # options and keywords that pandas 3 deprecates; not ours to fix here.
    pytest.mark.filterwarnings(
        "ignore:The 'future.infer_string' option is deprecated:pandas.errors.Pandas4Warning"
    ),
    pytest.mark.filterwarnings(
        "ignore:The copy keyword is deprecated:pandas.errors.Pandas4Warning"
    ),
    # py4j leaves its gateway sockets to the garbage collector
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
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
TABLES = (
    *("crimes", "victims", "incidents", "survey_responses", "entitlements", "needs_assessments"),
    *("referrals", "care_contracts", "contacts"),
)


def _load(name: str) -> Any:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


data = _load("test_metrics_data")


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    data.build(con, crimes=1500)
    return con


@pytest.fixture(scope="module")
def spark(duck: duckdb.DuckDBPyConnection, spark_session: Any) -> Iterator[ibis.BaseBackend]:
    session = spark_session
    for name in TABLES:
        columns = duck.execute(f'DESCRIBE "{name}"').fetchall()
        schema = ", ".join(f"`{c[0]}` {SPARK_TYPES[c[1]]}" for c in columns)
        rows = duck.execute(f'SELECT * FROM "{name}"').fetchall()
        session.createDataFrame(rows, schema=schema).createOrReplaceTempView(name)
    yield ibis.pyspark.connect(session)


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float) and isinstance(rb[k], float):
                assert ra[k] == pytest.approx(rb[k], rel=1e-9, abs=1e-12), (
                    ra["metric_id"],
                    ra["group"],
                    k,
                )
            else:
                assert ra[k] == rb[k], (ra["metric_id"], ra["group"], k)


def test_the_whole_catalogue_is_the_same_on_spark(
    duck: duckdb.DuckDBPyConnection, spark: ibis.BaseBackend
) -> None:
    as_of = data.AS_OF
    on_spark = compute(spark, as_of, "rolling_12m")
    on_duck = compute(ibis.duckdb.from_connection(duck), as_of, "rolling_12m")
    assert on_spark.notes == on_duck.notes == []
    assert on_spark.definitions_hash == on_duck.definitions_hash
    assert {v.metric_id for v in on_spark.values} == set(load_catalogue().metric_ids)
    _same([v.record(12) for v in on_spark.values], [v.record(12) for v in on_duck.values])


def test_breakdowns_and_a_short_period_are_the_same_on_spark(
    duck: duckdb.DuckDBPyConnection, spark: ibis.BaseBackend
) -> None:
    # one metric of each kind of batch: flagged proportions, stacked medians, a share, a count
    # with its benchmark, a mean; broken down by a column joined from the crime
    metrics = [
        "support_referral_on_time",
        "response_time_median_prompt",
        "delay_reason_share",
        "recorded_crime",
        "average_investigation_length_days",
    ]
    kwargs: dict[str, Any] = {"metrics": metrics, "by": "district"}
    on_spark = compute(spark, data.AS_OF, "month", **kwargs)
    on_duck = compute(ibis.duckdb.from_connection(duck), data.AS_OF, "month", **kwargs)
    assert {v.metric_id for v in on_spark.values} == set(metrics)
    _same([v.record(12) for v in on_spark.values], [v.record(12) for v in on_duck.values])
