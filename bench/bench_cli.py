"""Benchmark: the command line's start-up, `vcop --help` and `vcop <command> --help`, against
`python -c "import duckdb"` measured in the same run.

Every figure is a fresh process (what a person typing the command waits for), the best of
``--repeat`` runs after one warm-up run that leaves Python's bytecode caches written (as an
installed package has them; ``PYTHONDONTWRITEBYTECODE`` is cleared for the runs). The machines
are shared and noisy: compare the ratio, not the seconds. Issue 15's goal is a ratio of at most 2.

    uv run python bench/bench_cli.py [--repeat 7] [--command metrics --command evaluate ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

#: The commands whose `--help` is timed besides `vcop --help` (the heaviest before the lazy CLI).
DEFAULT_COMMANDS = ("metrics", "evaluate", "ingest", "serve", "report board", "refresh")
GOAL = 2.0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["COLUMNS"] = "120"
    return env


def best_of(argv: list[str], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``argv`` in a fresh process (after one warm-up)."""
    env = _env()
    subprocess.run(argv, env=env, check=True, capture_output=True)  # warm-up: bytecode caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--command", action="append", help="a command whose --help to time (repeat)"
    )
    args = parser.parse_args()
    python = sys.executable
    vcop = [python, "-m", "vcop"]
    baseline = best_of([python, "-c", "import duckdb"], args.repeat)
    print(f"baseline  python -c 'import duckdb'      {baseline:6.3f} s")
    rows = [("vcop --help", [*vcop, "--help"])]
    for command in args.command or DEFAULT_COMMANDS:
        rows.append((f"vcop {command} --help", [*vcop, *command.split(), "--help"]))
    worst = 0.0
    for label, argv in rows:
        seconds = best_of(argv, args.repeat)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        print(f"{label:<34} {seconds:6.3f} s   ratio {ratio:4.2f}")
    verdict = "within" if worst <= GOAL else "OVER"
    print(f"worst ratio {worst:.2f} ({verdict} the goal of {GOAL:g}x import duckdb)")


if __name__ == "__main__":
    main()
