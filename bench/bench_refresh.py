"""Benchmark: a full refresh of a demo force by three commands, against DuckDB reading the files.

Issue 15's row "full refresh of a 1-year force (ingest → evaluate → whole catalogue, three CLI
commands) vs DuckDB reading the same CSVs into tables", goal at most 5×. In the same run, each a
fresh process as a person or a scheduler runs it:

* the baseline: ``python -c`` that reads every CSV of the extract into a DuckDB table;
* ``vcop ingest EXTRACT --db DB``, ``vcop evaluate --db DB --as-of END`` and
  ``vcop metrics --db DB --as-of END --format csv`` (every metric of the catalogue, its rolling
  12 months), each timed, with the process's peak memory.

Each is the best of ``--repeat`` on a new database. The machines are shared and noisy: compare the
ratio, not the seconds.

    uv run python bench/bench_refresh.py [--years 1] [--repeat 2]
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

GOAL = 5.0

BASELINE = """
import sys
from pathlib import Path
import duckdb
con = duckdb.connect(sys.argv[2])
for path in sorted(Path(sys.argv[1]).glob("*.csv")):
    con.execute(f'CREATE TABLE "{path.stem}" AS SELECT * FROM read_csv(?, header=true)', [str(path)])
con.close()
"""


def run(argv: list[str]) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB) of ``argv`` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: loaded with warnings (the demo's dirty rows)
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    python = sys.executable
    vcop = [python, "-m", "vcop"]
    as_of = DEFAULT_END.isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extract = work / "extract"
        counts = generate(extract, seed=1, years=args.years)
        print(
            f"demo force: {args.years} year(s), {sum(counts.values()):,} rows in {len(counts)} files"
        )
        best: dict[str, float] = {}
        peaks: dict[str, float] = {}
        for i in range(args.repeat):
            base_db, db = work / f"base-{i}.duckdb", work / f"vcop-{i}.duckdb"
            steps = {
                "baseline: DuckDB reads the CSVs": [python, "-c", BASELINE, str(extract), str(base_db)],
                "vcop ingest": [*vcop, "ingest", str(extract), "--db", str(db)],
                "vcop evaluate": [*vcop, "evaluate", "--db", str(db), "--as-of", as_of],
                "vcop metrics (whole catalogue)": [
                    *vcop, "metrics", "--db", str(db), "--as-of", as_of, "--format", "csv",
                ],
            }  # fmt: skip
            for label, argv in steps.items():
                seconds, peak = run(argv)
                best[label] = min(best.get(label, seconds), seconds)
                peaks[label] = peak  # RUSAGE_CHILDREN: the largest child so far
        baseline = best.pop("baseline: DuckDB reads the CSVs")
        print(f"{'baseline: DuckDB reads the CSVs':<34} {baseline:7.2f} s")
        for label, seconds in best.items():
            print(f"{label:<34} {seconds:7.2f} s   ratio {seconds / baseline:5.1f}")
        total = sum(best.values())
        ratio = total / baseline
        verdict = "within" if ratio <= GOAL else "OVER"
        print(
            f"{'full refresh (three commands)':<34} {total:7.2f} s   ratio {ratio:5.1f} "
            f"({verdict} the goal of {GOAL:g}x; best of {args.repeat}; "
            f"largest process {max(peaks.values()):,.0f} MiB)"
        )


if __name__ == "__main__":
    main()
