"""Benchmark: `vcop ingest` of a large crimes file, its wall time and peak memory, against DuckDB's
own read_csv of the same file into a table, at two sizes (a quarter of ``--rows``, and ``--rows``).

The crimes file is the demo force's crimes (one generated year) repeated with new crime ids up to
the row count, so the mix of values is the demo's. Each step runs in its own process, so its peak
resident memory (``ru_maxrss``) is its own. "Memory flat in the file's size" shows as the ratio of
the two sizes' peaks being near 1 for vcop, as it is for DuckDB; times are printed as ratios to
DuckDB's read_csv in the same run (the machines are shared and noisy: compare the ratios).

    uv run python bench/bench_ingest_large.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

#: Run in a child process: run ``argv`` as a grandchild and print its wall time and peak memory.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kib": peak_kib, "code": done.returncode,
                  "stderr": done.stderr[-2000:]}))
"""

#: DuckDB's floor: read the CSV into a table of a new database file.
_READ_CSV = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE crimes AS SELECT * FROM read_csv(?, header=true)", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM crimes").fetchall()[0][0])
con.close()
"""


def measure(argv: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result['code']}):\n{result['stderr']}")
    return result


def demo_crimes(work: Path) -> Path:
    """The crimes file of one generated demo year."""
    from vcop.synth import generate

    extract = work / "demo"
    generate(extract, seed=1, years=1)
    return extract / "crimes.csv"


def write_crimes(source: Path, rows: int, out: Path) -> None:
    """``rows`` crimes: the source's, repeated with a suffix on the crime id (``-r<k>``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        "CREATE TABLE src AS SELECT row_number() OVER () AS n, * "
        "FROM read_csv(?, header=true, all_varchar=true)",
        [str(source)],
    )
    have = con.execute("SELECT count(*) FROM src").fetchall()[0][0]
    copies = -(-rows // have)
    con.execute(
        f"""
        COPY (
            SELECT * EXCLUDE (n, k) REPLACE (crime_id || '-r' || k AS crime_id)
            FROM src, range({copies}) AS r(k)
            ORDER BY k, n
            LIMIT {rows}
        ) TO '{out}' (HEADER, DELIMITER ',')
        """
    )
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--source", type=Path, help="a crimes.csv to repeat (default: a demo year)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.source or demo_crimes(work)
        figures = []
        for rows in (args.rows // 4, args.rows):
            extract = work / f"extract-{rows}"
            start = time.perf_counter()
            write_crimes(source, rows, extract / "crimes.csv")
            size = (extract / "crimes.csv").stat().st_size
            print(
                f"{rows:,} crimes: {size / 1e6:,.0f} MB written in {time.perf_counter() - start:.1f} s",
                flush=True,
            )
            floor = measure(
                [
                    sys.executable,
                    "-c",
                    _READ_CSV,
                    str(extract / "crimes.csv"),
                    str(work / f"floor-{rows}.duckdb"),
                ]
            )
            vcop = measure(
                [sys.executable, "-m", "vcop", "ingest", str(extract), "--db", str(work / f"vcop-{rows}.duckdb")]
            )  # fmt: skip
            figures.append((rows, floor, vcop))
            print(
                f"  duckdb read_csv : {floor['seconds']:6.1f} s, peak {floor['peak_kib'] / 1024:7,.0f} MB\n"
                f"  vcop ingest     : {vcop['seconds']:6.1f} s, peak {vcop['peak_kib'] / 1024:7,.0f} MB"
                f"  (time {vcop['seconds'] / floor['seconds']:.1f}x, memory "
                f"{vcop['peak_kib'] / floor['peak_kib']:.1f}x DuckDB's)",
                flush=True,
            )
        (small, small_floor, small_vcop), (large, large_floor, large_vcop) = figures
        print(
            f"peak memory at {large:,} rows / at {small:,} rows: "
            f"vcop {large_vcop['peak_kib'] / small_vcop['peak_kib']:.2f}x, "
            f"duckdb read_csv {large_floor['peak_kib'] / small_floor['peak_kib']:.2f}x "
            "(flat in the file's size: near 1)"
        )


if __name__ == "__main__":
    main()
