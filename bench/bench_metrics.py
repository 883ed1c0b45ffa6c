"""Benchmark: the whole metric catalogue on a 1-year and a 3-year demo force, against hand-written SQL.

For each force: the time to compute every metric (rolling 12 months, overall) and the peak memory
of the process doing it, and — in the same run — three representative metrics computed by vcop
and by hand-written DuckDB SQL over the same windows (current, previous, year before and the 24
SPC months), with the ratio of their times:

* ``support_referral_on_time``: a proportion of the ledger (flagged counts);
* ``response_time_median_prompt``: a median of incidents (order statistics);
* ``recorded_crime`` by district: a count of crimes, broken down via a column of the row.

Each measurement runs in a fresh process (so its peak memory is its own); times are the best of
``--repeat``. The machines are shared and noisy: compare the ratios, not the seconds.

    uv run python bench/bench_metrics.py [--years 1 3] [--repeat 3] [--work var/bench]

The forces are generated, loaded and evaluated once into ``--work`` and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

AS_OF = date(2025, 6, 30)
THREE = ("support_referral_on_time", "response_time_median_prompt", "recorded_crime")


# --- building the forces ----------------------------------------------------------------------


def build_force(years: int, work: Path) -> Path:
    """The demo force of ``years`` years (built in a child process, cached in ``work``)."""
    db = work / f"demo{years}.duckdb"
    if not db.exists():
        subprocess.run(
            [sys.executable, __file__, "--build", str(years), "--work", str(work)], check=True
        )
    return db


def _build(years: int, work: Path) -> None:
    """Generate, load and evaluate the demo force of ``years`` years."""
    db = work / f"demo{years}.duckdb"
    from vcop.ingest import load_paths
    from vcop.rules.ledger import evaluate
    from vcop.spec.profile import load_profile
    from vcop.store import connect
    from vcop.synth import generate

    extract = work / f"demo{years}"
    start = time.perf_counter()
    generate(extract, seed=1, years=years, end=AS_OF)
    partial = db.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = connect(partial)
    load_paths(con, [extract], load_profile("standard"))
    evaluate(con, AS_OF)
    con.close()
    partial.rename(db)
    print(
        f"built the {years}-year demo force in {time.perf_counter() - start:.0f} s: {db}",
        flush=True,
    )


# --- hand-written SQL: the baseline -----------------------------------------------------------


def _windows_sql(metric_id: str) -> str:
    from vcop.metrics.periods import windows
    from vcop.spec.metrics import load_catalogue

    pw = windows("rolling_12m", AS_OF, load_catalogue().settings.spc.months)
    ws = list(
        dict.fromkeys([pw.current, pw.previous, pw.year_ago, *pw.spc_months])
    )  # current first
    if metric_id == "recorded_crime":  # the count's long-term benchmark and coverage windows
        ws.append(pw.benchmark(3))
    values = ", ".join(f"({i}, DATE '{w.start}', DATE '{w.end}')" for i, w in enumerate(ws))
    return f"windows(w, ws, we) AS (VALUES {values})"


BASELINE = {
    "support_referral_on_time": """
        WITH {windows}
        SELECT w, count(*) AS den, count(*) FILTER (WHERE status = 'met') AS num
        FROM entitlements e JOIN windows ON e.due_date BETWEEN ws AND we
        WHERE obligation_id = 'R4.referral-to-support' AND status IN ('met', 'late', 'overdue')
        GROUP BY w ORDER BY w
    """,
    "response_time_median_prompt": """
        WITH {windows},
        v AS (
            SELECT CAST(received_at AS DATE) AS d,
                   (floor(epoch(arrived_at)) - floor(epoch(received_at))) / 60 AS minutes
            FROM incidents
            WHERE grade = 'prompt' AND arrived_at IS NOT NULL AND arrived_at < DATE '{next_day}'
              AND received_at < DATE '{next_day}'
        ),
        s AS (
            SELECT w, count(*) AS n, list_sort(list(minutes)) AS sorted
            FROM v JOIN windows ON d BETWEEN ws AND we WHERE minutes >= 0 GROUP BY w
        )
        SELECT w, n,
               (sorted[(n + 1) // 2] + sorted[n // 2 + 1]) / 2 AS median,
               sorted[greatest(1, round((n - 1.959964 * sqrt(n)) / 2)::BIGINT)] AS ci_low,
               sorted[n - greatest(1, round((n - 1.959964 * sqrt(n)) / 2)::BIGINT) + 1] AS ci_high
        FROM s ORDER BY w
    """,
    "recorded_crime": """
        WITH {windows}
        SELECT w, coalesce(district, 'not recorded') AS district, count(*) AS n
        FROM crimes c JOIN windows ON CAST(c.recorded_at AS DATE) BETWEEN ws AND we
        WHERE recorded_at IS NOT NULL AND recorded_at < DATE '{next_day}'
          AND (crime_type IS NULL OR crime_type <> 'Anti-social behaviour')
        GROUP BY ALL ORDER BY ALL
    """,
}


def baseline(con: Any, metric_id: str) -> list[tuple[Any, ...]]:
    sql = BASELINE[metric_id].format(windows=_windows_sql(metric_id), next_day=date(2025, 7, 1))
    rows: list[tuple[Any, ...]] = con.execute(sql).fetchall()
    return rows


# --- the measurements (each in a child process) -----------------------------------------------


def _best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def child(task: str, db: str, repeat: int) -> dict[str, Any]:
    import warnings

    import duckdb
    import ibis

    from vcop.metrics.engine import compute

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    con = duckdb.connect(db, read_only=True)
    backend = ibis.duckdb.from_connection(con)
    if task == "catalogue":
        seconds, result = _best(repeat, lambda: compute(backend, AS_OF, "rolling_12m"))
        out: dict[str, Any] = {
            "seconds": seconds,
            "values": len(result.values),
            "notes": result.notes,
        }
    elif task.startswith("vcop:"):
        metric = task.split(":", 1)[1]
        by = "district" if metric == "recorded_crime" else None
        seconds, result = _best(repeat, lambda: compute(backend, AS_OF, metrics=[metric], by=by))
        v = result.values[0]
        out = {"seconds": seconds, "check": [v.current.denominator, v.current.value]}
    else:
        metric = task.split(":", 1)[1]
        seconds, rows = _best(repeat, lambda: baseline(con, metric))
        r = rows[0]  # window 0 is the current period in both
        if metric == "support_referral_on_time":
            check = [r[1], r[2] / r[1]]
        elif metric == "response_time_median_prompt":
            check = [r[1], float(r[2])]
        else:
            check = [None, float(r[2])]
        out = {"seconds": seconds, "check": check}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux keeps ru_maxrss across exec (a child would
    report its parent's peak), so read the high-water mark of this address space instead."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(task: str, db: Path, repeat: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", task, "--db", str(db), "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _rows(db: Path) -> str:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    counts = {
        t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
        for t in ("crimes", "victims", "incidents", "survey_responses", "entitlements")
    }
    con.close()
    return ", ".join(f"{t} {n:,}" for t, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("var/bench"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        _build(args.build, args.work)
        return
    if args.child:
        print(json.dumps(child(args.child, args.db, args.repeat)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    for years in args.years:
        db = build_force(years, args.work)
        print(f"\n{years}-year demo force ({_rows(db)})")
        cat = measure("catalogue", db, args.repeat)
        print(
            f"  whole catalogue, rolling 12 months: {cat['values']} values in {cat['seconds']:.2f} s, "
            f"peak memory {cat['peak_rss_mb']:.0f} MB"
            + (f"  notes: {cat['notes']}" if cat["notes"] else "")
        )
        for metric in THREE:
            ours = measure(f"vcop:{metric}", db, args.repeat)
            theirs = measure(f"sql:{metric}", db, args.repeat)
            same = ours["check"][1] == theirs["check"][1] and theirs["check"][0] in (
                None,
                ours["check"][0],
            )
            print(
                f"  {metric:<28} vcop {ours['seconds']:6.2f} s ({ours['peak_rss_mb']:4.0f} MB)   "
                f"hand-written SQL {theirs['seconds']:6.2f} s ({theirs['peak_rss_mb']:4.0f} MB)   "
                f"ratio {ours['seconds'] / theirs['seconds']:5.1f}x   same figure: {'yes' if same else 'NO'}"
            )


if __name__ == "__main__":
    main()
