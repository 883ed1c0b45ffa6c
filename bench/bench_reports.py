"""Benchmark: writing the board paper and the partner pack, against computing the whole catalogue.

On one demo force (a vcop database whose ledger is evaluated as of ``--as-of``), in the same run:

* the baseline: every metric of the catalogue, rolling 12 months, overall (what `vcop metrics`
  computes);
* the board paper: its figures (several periods and breakdowns), charts and three documents;
* the partner pack: the release of the month end (every partner figure, suppressed and audited), and three documents;
* the board paper as of a month the stored ledger is not evaluated for (the ledger evaluated in
  memory first).

Each is timed as the best of ``--repeat`` and shown with its ratio to the baseline. The machines
are shared and noisy: compare the ratios, not the seconds.

    uv run python bench/bench_reports.py --db var/vcop.duckdb --as-of 2025-06-30 [--repeat 2]

(`make demo` builds var/vcop.duckdb; bench/bench_metrics.py builds forces of 1 and 3 years into
var/bench.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import ibis

    from vcop.metrics import release
    from vcop.metrics.engine import compute
    from vcop.reports.board import board_paper
    from vcop.reports.charts import xmr_image
    from vcop.reports.figures import FigureBook, quietly
    from vcop.reports.partner import partner_pack
    from vcop.reports.render import write
    from vcop.reports.source import open_source

    out = Path(tempfile.mkdtemp(prefix="vcop-bench-reports-"))
    day: date = args.as_of
    earlier = day.replace(day=1) - timedelta(days=1)

    with open_source(args.db, day) as src:
        backend = ibis.duckdb.from_connection(src.con)

        def catalogue() -> None:
            with quietly():
                compute(backend, day, "rolling_12m")

        def board() -> None:
            book = FigureBook(backend, day)
            doc = board_paper(book, chart=xmr_image)
            write(doc, out / "board", "board", ["docx", "pdf", "html"])

        def partner() -> None:
            with quietly():
                published = release.build(backend, day, threshold=10)
            book = FigureBook.of_release(published)
            write(partner_pack(book), out / "partner", "partner", ["docx", "pdf", "html"])

        base = best(catalogue, args.repeat)
        timed = {
            "board paper": best(board, args.repeat),
            "partner pack": best(partner, args.repeat),
        }

    def board_elsewhere() -> None:
        with open_source(args.db, earlier) as other:
            book = FigureBook(ibis.duckdb.from_connection(other.con), earlier)
            write(board_paper(book), out / "earlier", "board", ["html"])

    timed[f"board paper as of {earlier} (ledger in memory)"] = best(board_elsewhere, 1)
    print(f"database: {args.db}  as of {day}  best of {args.repeat}")
    print(f"{'whole catalogue (baseline)':<52} {base:8.1f} s   1.0x")
    for name, seconds in timed.items():
        print(f"{name:<52} {seconds:8.1f} s  {seconds / base:4.1f}x")


if __name__ == "__main__":
    main()
