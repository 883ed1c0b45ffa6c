"""Benchmark: a full refresh of a demo force by three commands, against DuckDB reading the files.

Issue 15's row "full refresh of a 1-year force (ingest → evaluate → whole catalogue, three CLI
commands) vs DuckDB reading the same CSVs into tables", goal at most 5×. In the same run, each a
fresh process as a person or a scheduler runs it:

* the baseline: ``python -c`` that reads every CSV of the extract into a DuckDB table;
* ``vcop ingest EXTRACT --db DB``, ``vcop evaluate --db DB --as-of END`` and
  ``vcop metrics --db DB --as-of END --format csv`` (every metric of the catalogue, its rolling
  12 months), each timed, with the process's peak memory;
* then, on its own, what ``vcop evaluate`` adds by default after the ledger: the dashboard's
  figures for every period and split (``metrics.dashboard_figures = all``), which the row's three
  commands are run without (``none``), as the issue's row is the ledger and the catalogue.

Each run builds a new database with an empty cache folder (``VCOP_CACHE_DIR``), so its first
``vcop evaluate`` compiles every ledger part, as the first evaluation after a change to vcop or
to the definitions does ("cold"). Then ``vcop evaluate`` runs again on the same database: it reads
the SQL the first kept, as every later refresh of a force does ("warm", the row's figure); the
cold total is printed beside it. ``vcop`` is run as installed by ``make``: compiled to bytecode.

Each is the best of ``--repeat`` on a new database. The machines are shared and noisy: compare the
ratio, not the seconds. Beside each wall-clock time is the process's CPU time (user and system, all
its threads) and its ratio to the baseline's: on a machine saturated by other work a short process
waits less for a core than a long one, so the CPU ratio is the steadier reading there.

    uv run python bench/bench_refresh.py [--years 1] [--repeat 2] [--no-figures]
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


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: The row times the ledger and the catalogue: the dashboard's figures, which ``vcop evaluate``
#: stores after the ledger by default (``metrics.dashboard_figures``), are timed on their own.
NO_FIGURES = {"VCOP_METRICS_DASHBOARD_FIGURES": "none"}

#: ``vcop evaluate``'s first run on the new database: every ledger part compiled.
COLD = "vcop evaluate, cold (compiling)"

FIGURES = """
import sys
from pathlib import Path
import duckdb
from vcop.metrics.precompute import precompute_for
db = Path(sys.argv[1])
con = duckdb.connect(str(db))
print(precompute_for(con, db).summary())
con.close()
"""


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Seconds, CPU seconds and peak resident memory (MiB) of ``argv`` in a fresh process
    (with the environment variables ``env`` added)."""
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120", **(env or {})}
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: loaded with warnings (the demo's dirty rows)
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, _cpu_of_children() - cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--no-figures", action="store_true", help="skip timing the dashboard figures (minutes)"
    )
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
        cpus: dict[str, float] = {}
        peaks: dict[str, float] = {}
        for i in range(args.repeat):
            base_db, db = work / f"base-{i}.duckdb", work / f"vcop-{i}.duckdb"
            machine = {"VCOP_CACHE_DIR": str(work / f"cache-{i}")}  # empty: the first is cold
            evaluate = [*vcop, "evaluate", "--db", str(db), "--as-of", as_of]
            steps = {
                "baseline: DuckDB reads the CSVs": [python, "-c", BASELINE, str(extract), str(base_db)],
                "vcop ingest": [*vcop, "ingest", str(extract), "--db", str(db)],
                COLD: evaluate,
                "vcop evaluate": evaluate,
                "vcop metrics (whole catalogue)": [
                    *vcop, "metrics", "--db", str(db), "--as-of", as_of, "--format", "csv",
                ],
            }  # fmt: skip
            for label, argv in steps.items():
                seconds, cpu, peak = run(argv, {**NO_FIGURES, **machine})
                best[label] = min(best.get(label, seconds), seconds)
                cpus[label] = min(cpus.get(label, cpu), cpu)
                peaks[label] = peak  # RUSAGE_CHILDREN: the largest child so far
        baseline = best.pop("baseline: DuckDB reads the CSVs")
        base_cpu = cpus.pop("baseline: DuckDB reads the CSVs")
        cold, cold_cpu = best.pop(COLD), cpus.pop(COLD)
        print(f"{'baseline: DuckDB reads the CSVs':<34} {baseline:7.2f} s   cpu {base_cpu:6.2f} s")
        print(
            f"{COLD:<34} {cold:7.2f} s   ratio {cold / baseline:5.1f}   "
            f"cpu {cold_cpu:6.2f} s   cpu ratio {cold_cpu / base_cpu:5.1f}"
        )
        for label, seconds in best.items():
            print(
                f"{label:<34} {seconds:7.2f} s   ratio {seconds / baseline:5.1f}   "
                f"cpu {cpus[label]:6.2f} s   cpu ratio {cpus[label] / base_cpu:5.1f}"
            )
        total, total_cpu = sum(best.values()), sum(cpus.values())
        ratio = total / baseline
        verdict = "within" if ratio <= GOAL else "OVER"
        print(
            f"{'full refresh (three commands)':<34} {total:7.2f} s   ratio {ratio:5.1f}   "
            f"cpu {total_cpu:6.2f} s   cpu ratio {total_cpu / base_cpu:5.1f}\n"
            f"({verdict} the goal of {GOAL:g}x in wall-clock time; best of {args.repeat}; "
            f"largest process {max(peaks.values()):,.0f} MiB)"
        )
        first = total - best["vcop evaluate"] + cold
        print(
            f"{'the first refresh (evaluate cold)':<34} {first:7.2f} s   ratio "
            f"{first / baseline:5.1f}   (after a change to vcop or the definitions)"
        )
        if args.no_figures:
            return
        # what vcop evaluate adds by default: the dashboard's figures (issue 15's first views)
        seconds, cpu, _ = run(
            [python, "-c", FIGURES, str(db)], {"VCOP_METRICS_DASHBOARD_FIGURES": "all"}
        )
        print(
            f"{'+ the dashboard figures (all)':<34} {seconds:7.2f} s   ratio {seconds / baseline:5.1f}   "
            f"cpu {cpu:6.2f} s: stored by vcop evaluate after the ledger unless "
            "metrics.dashboard_figures says none; not in the row above"
        )


if __name__ == "__main__":
    main()
