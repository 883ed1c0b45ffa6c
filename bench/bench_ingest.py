"""Benchmark: `vcop ingest` of a 1-year demo force against DuckDB's own read_csv of the same files.

Prints rows per second for both and their ratio, measured in the same run (the machines are
shared and noisy: compare the ratio, not the seconds).

    uv run python bench/bench_ingest.py [--years 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from vcop.ingest import load_paths
from vcop.spec.profile import load_profile
from vcop.store import connect
from vcop.synth import generate


def vcop_ingest(extract: Path, db: Path) -> int:
    con = connect(db)
    result = load_paths(con, [extract], load_profile("standard"))
    con.close()
    return sum(f.rows_read for f in result.files)


def duckdb_read_csv(extract: Path, db: Path) -> int:
    con = duckdb.connect(str(db))
    rows = 0
    for path in sorted(extract.glob("*.csv")):
        con.execute(
            f"CREATE TABLE \"{path.stem}\" AS SELECT * FROM read_csv('{path}', header=true)"
        )
        rows += con.execute(f'SELECT count(*) FROM "{path.stem}"').fetchall()[0][0]
    con.close()
    return rows


def best_of(repeat: int, fn, extract: Path, work: Path, name: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    times = []
    rows = 0
    for i in range(repeat):
        db = work / f"{name}-{i}.duckdb"
        start = time.perf_counter()
        rows = fn(extract, db)
        times.append(time.perf_counter() - start)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extract = work / "demo"
        start = time.perf_counter()
        counts = generate(extract, seed=1, years=args.years)
        print(
            f"demo force: {args.years} year(s), {sum(counts.values()):,} rows in {len(counts)} files "
            f"(generated in {time.perf_counter() - start:.1f} s)"
        )
        base_s, base_rows = best_of(args.repeat, duckdb_read_csv, extract, work, "baseline")
        vcop_s, vcop_rows = best_of(args.repeat, vcop_ingest, extract, work, "vcop")
        assert base_rows == vcop_rows, (base_rows, vcop_rows)
        print(
            f"duckdb read_csv (baseline): {base_rows:,} rows in {base_s:.2f} s = {base_rows / base_s:,.0f} rows/s"
        )
        print(
            f"vcop ingest (validated)   : {vcop_rows:,} rows in {vcop_s:.2f} s = {vcop_rows / vcop_s:,.0f} rows/s"
        )
        print(f"ratio vcop / baseline time: {vcop_s / base_s:.1f}x  (best of {args.repeat})")


if __name__ == "__main__":
    main()
