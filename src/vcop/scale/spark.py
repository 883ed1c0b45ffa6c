"""The ledger and the metric catalogue on PySpark, over a lake written by `vcop export parquet`.

The expressions are vcop's own (:func:`vcop.rules.ledger.ledger_parts`,
:func:`vcop.metrics.engine.compute`) run by Spark through Ibis: there is no second engine.
Each lake table becomes a temporary view with exactly the columns and types it had in DuckDB
(the manifest says which), so Spark's results are DuckDB's, row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcop.scale.lake import LakeError, read_manifest

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir

    from vcop.metrics.engine import Result
    from vcop.rules.ledger import LedgerRun
    from vcop.spec.code import Code, LocalStandards

#: DuckDB column types as Spark SQL types.
SPARK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp_ntz",
}

#: Settings vcop's results depend on, applied to every session it makes or is given: timestamps
#: without time zones (as DuckDB's), and partition values left as text (the manifest types them).
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}

Progress = Callable[[str, int, int], None]


def session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """A Spark session: ``master`` if given (``local[*]``, ``spark://…``, ``yarn``, ``k8s://…``),
    else whatever ``spark-submit`` or ``spark-defaults.conf`` set, else ``local[*]``."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("vcop")
    if master is not None:
        builder = builder.master(master)
    elif not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    for key, value in {**REQUIRED_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():
        spark.conf.set(key, value)
    return spark


def stop_unless_shared(spark: Any, was_active: Any) -> None:
    """Stop a session this command started; leave one it found running (a notebook's, a test's)."""
    if was_active is None:
        spark.stop()


def active_session() -> Any:
    """The session already running in this process, if any."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def _path(location: Path | str) -> str:
    """A local path as an absolute one; a URI (s3a://, abfss://, gs://, hdfs://) as given."""
    text = str(location)
    return text if "://" in text else str(Path(text).resolve())


def register_lake(spark: Any, lake: Path | str, prefix: str = "") -> ibis.BaseBackend:
    """Every table of the lake as a temporary view ``prefix + name`` with its DuckDB columns and
    types; an Ibis backend over the session."""
    import ibis

    for key, value in REQUIRED_CONF.items():
        spark.conf.set(key, value)
    manifest = _manifest(lake)
    root = _path(lake)
    for name, table in manifest["tables"].items():
        columns = [(str(c), str(t)) for c, t in table["columns"]]
        schema = ", ".join(f"`{c}` {SPARK_TYPES[t]}" for c, t in columns)
        if not table["rows"]:  # an empty table: no files to read a schema from
            spark.createDataFrame([], schema=schema).createOrReplaceTempView(f"{prefix}{name}")
            continue
        location = f"{root}/{name}"
        frame = spark.read.option("basePath", location).parquet(location)
        present = set(frame.columns)
        frame = frame.selectExpr(
            *(
                f"CAST(`{c}` AS {SPARK_TYPES[t]}) AS `{c}`"
                if c in present
                else f"CAST(NULL AS {SPARK_TYPES[t]}) AS `{c}`"
                for c, t in columns
            )
        )
        frame.createOrReplaceTempView(f"{prefix}{name}")
    return ibis.pyspark.connect(spark)


def _manifest(lake: Path | str) -> dict[str, Any]:
    text = str(lake)
    if "://" not in text:
        return read_manifest(Path(text))
    from pyspark.sql import SparkSession  # a remote lake: read the manifest through Spark

    active = SparkSession.getActiveSession()
    if active is None:
        raise LakeError("no Spark session to read the lake with")
    import json

    lines = active.sparkContext.wholeTextFiles(f"{text}/_vcop_lake.json").collect()
    if not lines:
        raise LakeError(f"{text}: not a vcop lake (no _vcop_lake.json)")
    manifest: dict[str, Any] = json.loads(lines[0][1])
    return manifest


def _collect(spark: Any, backend: ibis.BaseBackend, expr: ir.Table) -> Any:
    """A Spark DataFrame for an Ibis expression (the backend's in-memory tables registered)."""
    backend._run_pre_execute_hooks(expr)
    return spark.sql(backend.compile(expr))


def evaluate_on_spark(
    spark: Any,
    lake: Path | str,
    as_of: date,
    out: Path | str,
    *,
    code: Code | None = None,
    standards: LocalStandards | None = None,
    progress: Progress | None = None,
) -> LedgerRun:
    """The entitlement ledger as of ``as_of`` over the lake, written to ``out`` as Parquet
    (replacing what is there); its run: rows by status and the definitions' hash."""
    import ibis

    from vcop.rules.ledger import STATUSES, LedgerRun, ledger_parts
    from vcop.rules.sources import TABLES, Sources
    from vcop.spec.code import LocalStandards, load_code
    from vcop.store.calendar import CALENDAR_TABLE

    code = code or load_code()
    standards = standards or LocalStandards()
    backend = register_lake(spark, lake)
    src = Sources(calendar=backend.table(CALENDAR_TABLE), **{n: backend.table(n) for n in TABLES})

    def materialize(expr: ir.Table, name: str) -> ir.Table:
        _collect(spark, backend, expr).cache().createOrReplaceTempView(name)
        return backend.table(name)

    total = sum(
        len({o.evaluate.kind for o in e.obligations if o.evaluate is not None})
        for e in code.editions
    )
    parts = []
    for done, part in enumerate(ledger_parts(src, code, as_of, standards, materialize)):
        if progress:
            progress(part.label, done, total + 1)
        parts.append(part.rows)
    if progress:
        progress("writing the ledger", total, total + 1)
    ledger = _collect(spark, backend, ibis.union(*parts, distinct=False))
    ledger.write.mode("overwrite").parquet(_path(out))
    written = spark.read.parquet(_path(out))
    counts = {str(r[0]): int(r[1]) for r in written.groupBy("status").count().collect()}
    by_status = {s.value: counts.get(s.value, 0) for s in STATUSES}
    if progress:
        progress("done", total + 1, total + 1)
    return LedgerRun(
        as_of=as_of,
        definitions_hash=code.definitions_hash(standards),
        standards=standards,
        rows=sum(by_status.values()),
        by_status=by_status,
    )


def metrics_on_spark(
    spark: Any,
    lake: Path | str,
    ledger: Path | str,
    as_of: date,
    period: str,
    *,
    metrics: Sequence[str] | None = None,
    by: str | None = None,
    filters: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Result:
    """The metric catalogue over the lake and a ledger written by :func:`evaluate_on_spark`."""
    from vcop.metrics.engine import compute
    from vcop.rules.ledger import LEDGER_SCHEMA, LEDGER_TABLE

    backend = register_lake(spark, lake)
    frame = spark.read.parquet(_path(ledger))
    types = {"string": "string", "int64": "bigint", "timestamp": "timestamp_ntz"}
    frame.selectExpr(
        *(f"CAST(`{c}` AS {types.get(t, t)}) AS `{c}`" for c, t in LEDGER_SCHEMA.items())
    ).createOrReplaceTempView(LEDGER_TABLE)
    return compute(backend, as_of, period, metrics=metrics, by=by, filters=filters, **kwargs)
