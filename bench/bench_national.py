"""Benchmark: the national synthetic year on one machine, against DuckDB reading the same files.

Runs each step as its own `vcop` command (so each has its own peak memory): generate
(`vcop demo-data --national`), ingest every force in one load (`vcop ingest OUT/AVS OUT/BDS …`:
one transaction, one copy of the database), evaluate
(`vcop evaluate`) and the whole catalogue by force (`vcop metrics --by force`). Prints each step's
seconds and peak memory (max RSS), and the ratio of ingest + evaluate + metrics to the floor:
DuckDB reading the same Parquet files into tables, measured in the same run (the machines are
shared and noisy: compare the ratio, not the seconds).

    uv run python bench/bench_national.py [--scale 1.0] [--forces N|LIST] [--work DIR]

--scale 1.0 is the full year (5.2 million crimes). DuckDB's memory limit and spill folder come from
vcop's settings (database.memory_limit, database.temp_directory; e.g.
VCOP_DATABASE_MEMORY_LIMIT=16GB). `vcop evaluate` stores no dashboard figures here
(VCOP_METRICS_DASHBOARD_FIGURES=none unless the environment says otherwise): the issue's measure
is the ledger and the catalogue.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from vcop.synth.national import TABLES

AS_OF = "2025-06-30"


def step(args: list[str]) -> tuple[float, float]:
    """Run one command; its seconds and peak memory in MiB."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(args)} failed: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def floor(out: Path, codes: list[str], db: Path) -> float:
    """DuckDB reading every force's files into one table per canonical table."""
    started = time.monotonic()
    con = duckdb.connect(str(db))
    for table in TABLES:
        files = [str(out / c / f"{table}.parquet") for c in codes]
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)", [files])
    con.close()
    return time.monotonic() - started


def mib(path: Path) -> float:
    """A file's or a folder's size in MiB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--forces", default=None, help="N or a list of codes (default: all 43)")
    ap.add_argument("--work", type=Path, default=None, help="folder to work in (default: temp)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vcop-national-"))
    out, db = work / "extract", work / "vcop.duckdb"
    vcop = [sys.executable, "-m", "vcop"]
    forces = ["--forces", args.forces] if args.forces else []
    times: dict[str, tuple[float, float]] = {}
    os.environ.setdefault("VCOP_METRICS_DASHBOARD_FIGURES", "none")

    def run(name: str, command: list[str]) -> None:
        times[name] = step(command)
        s, mb = times[name]
        print(f"  {name:<9} {s:8.1f} s   peak {mb:8.0f} MiB", flush=True)

    print(f"national year, scale {args.scale:g} ({work})", flush=True)
    run(
        "generate",
        [*vcop, "demo-data", "--national", "--out", str(out), "--scale", str(args.scale), *forces],
    )
    codes = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    run("ingest", [*vcop, "ingest", *(str(out / c) for c in codes), "--db", str(db)])
    run("evaluate", [*vcop, "evaluate", "--db", str(db), "--as-of", AS_OF])
    run(
        "metrics",
        [*vcop, "metrics", "--db", str(db), "--as-of", AS_OF, "--by", "force", "--format", "csv"],
    )
    base = floor(out, codes, work / "floor.duckdb")
    print(f"  floor     {base:8.1f} s   (DuckDB reading the same Parquet files into tables)")
    con = duckdb.connect(str(db), read_only=True)
    crimes, victims = con.execute(
        "SELECT (SELECT count(*) FROM crimes), (SELECT count(*) FROM victims)"
    ).fetchall()[0]
    con.close()
    print(f"{len(codes)} forces, {crimes:,} crimes, {victims:,} victim records; "
          f"disk: extract {mib(out):,.0f} MiB, database {mib(db):,.0f} MiB, "
          f"DuckDB's own load {mib(work / 'floor.duckdb'):,.0f} MiB")  # fmt: skip
    refresh = sum(times[k][0] for k in ("ingest", "evaluate", "metrics"))
    print(f"ingest + evaluate + metrics: {refresh:.1f} s = {refresh / base:.1f}x the floor")


if __name__ == "__main__":
    main()
