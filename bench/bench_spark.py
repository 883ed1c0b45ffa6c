"""Benchmark: what each step of the Spark path costs on a demo force, beside DuckDB's.

Issue 15 asks what each step of running vcop on Spark costs. In the same run, each step a fresh
process as a person or a scheduler runs it, on one generated demo force loaded into DuckDB:

* DuckDB: ``vcop evaluate --db DB`` and ``vcop metrics --db DB --format csv`` (the baseline);
* Spark (local mode): ``vcop export parquet --db DB --out LAKE``,
  ``vcop evaluate --engine spark --source LAKE --out LEDGER`` and
  ``vcop metrics --engine spark --source LAKE --ledger LEDGER --format csv``;
* a bare ``SparkSession`` start and stop (``python -c``), the fixed cost every Spark command pays.

It prints each step's seconds and the Python processes' peak memory, and the Spark steps against their DuckDB
counterparts. It checks the two ledgers hold the same number of rows by status (the row-for-row
comparison is ``tests/test_spark_commands.py``). The machines are shared and noisy: compare the
ratios, not the seconds.

    uv run python bench/bench_spark.py [--years 1] [--master local[2]]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vcop.synth import DEFAULT_END, generate

SPARK_START = """
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.master(sys.argv[1]).appName("vcop-bench").getOrCreate()
spark.range(1).count()
spark.stop()
"""

LEDGER_COUNTS_DUCKDB = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for s, n in con.execute("SELECT status, count(*) FROM entitlements GROUP BY 1 ORDER BY 1").fetchall():
    print(s, n)
"""

LEDGER_COUNTS_PARQUET = """
import sys, duckdb
q = "SELECT status, count(*) FROM read_parquet(?) GROUP BY 1 ORDER BY 1"
for s, n in duckdb.connect().execute(q, [sys.argv[1] + "/**/*.parquet"]).fetchall():
    print(s, n)
"""


def run(argv: list[str]) -> tuple[float, float, str]:
    """Seconds, peak resident memory (MiB) and standard output of ``argv`` in a fresh process.

    The peak is that of the largest process waited for so far (``RUSAGE_CHILDREN``): the Python
    processes. Spark's JVM, which the Python process starts and does not wait for, is not in it.
    """
    start = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: loaded with warnings (the demo's dirty rows)
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--master", default="local[2]", help="Spark's master (default local[2]).")
    args = parser.parse_args()
    python = sys.executable
    vcop = [python, "-m", "vcop"]
    as_of = DEFAULT_END.isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extract, db = work / "extract", work / "vcop.duckdb"
        lake, ledger = work / "lake", work / "ledger"
        counts = generate(extract, seed=1, years=args.years)
        print(
            f"demo force: {args.years} year(s), {sum(counts.values()):,} rows in {len(counts)} "
            f"files; Spark master {args.master}",
            flush=True,
        )
        run([*vcop, "ingest", str(extract), "--db", str(db)])
        spark = ["--master", args.master]
        steps = {
            "DuckDB: vcop evaluate": [*vcop, "evaluate", "--db", str(db), "--as-of", as_of],
            "DuckDB: vcop metrics": [
                *vcop, "metrics", "--db", str(db), "--as-of", as_of, "--format", "csv",
            ],
            "Spark: session start and stop": [python, "-c", SPARK_START, args.master],
            "Spark: vcop export parquet": [
                *vcop, "export", "parquet", "--db", str(db), "--out", str(lake),
            ],
            "Spark: vcop evaluate --engine spark": [
                *vcop, "evaluate", "--engine", "spark", "--source", str(lake),
                "--as-of", as_of, "--out", str(ledger), *spark,
            ],
            "Spark: vcop metrics --engine spark": [
                *vcop, "metrics", "--engine", "spark", "--source", str(lake),
                "--ledger", str(ledger), "--as-of", as_of, "--format", "csv", *spark,
            ],
        }  # fmt: skip
        seconds: dict[str, float] = {}
        for label, argv in steps.items():
            took, peak, _ = run(argv)
            seconds[label] = took
            print(
                f"{label:<38} {took:8.1f} s   (largest Python process so far {peak:,.0f} MiB)",
                flush=True,
            )

        duck = run([python, "-c", LEDGER_COUNTS_DUCKDB, str(db)])[2]
        on_spark = run([python, "-c", LEDGER_COUNTS_PARQUET, str(ledger)])[2]
        same = "the same" if duck == on_spark else "DIFFERENT"
        print(f"ledger rows by status on DuckDB and on Spark: {same}")

        start = seconds["Spark: session start and stop"]
        for what in ("evaluate", "metrics"):
            on_duck = seconds[f"DuckDB: vcop {what}"]
            on_spark_s = seconds[f"Spark: vcop {what} --engine spark"]
            print(
                f"vcop {what:<9} Spark ÷ DuckDB {on_spark_s / on_duck:5.1f}   "
                f"(without the session's start: {(on_spark_s - start) / on_duck:5.1f})"
            )
        total_spark = sum(v for k, v in seconds.items() if k.startswith("Spark: vcop"))
        total_duck = sum(v for k, v in seconds.items() if k.startswith("DuckDB"))
        print(
            f"export + evaluate + metrics on Spark {total_spark:.0f} s; evaluate + metrics on "
            f"DuckDB {total_duck:.0f} s; ratio {total_spark / total_duck:.1f}"
        )


if __name__ == "__main__":
    main()
