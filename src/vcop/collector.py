"""How vcop's processes run Python's cycle collector.

A command, and a server once it has warmed up, keep most of the objects they make until they end
(rows, query plans, Ibis's expressions; the figures a server keeps for its build), and with
Python's default thresholds (700, 10, 10) the collector scanned them again and again: py-spy put
15% of `vcop metrics` and 4% of `vcop ingest` in it, and a busy dashboard process stopped for
20-220 ms about once a second, the slowest requests of every page. As mypy does, vcop's processes
collect less often (:func:`collect_less_often`), and a server freezes what its warm-up computed
(:func:`keep_for_good`), so later collections scan only what requests make.
"""

from __future__ import annotations

import gc

#: The collector's thresholds in vcop's processes (Python's are 700, 10, 10).
THRESHOLDS = (200_000, 30, 30)


def collect_less_often() -> None:
    """Set :data:`THRESHOLDS` for this process."""
    gc.set_threshold(*THRESHOLDS)


def keep_for_good() -> None:
    """Collect once, then move every object left out of the collector's reach (:func:`gc.freeze`):
    for what a process keeps from now on. :func:`let_go` undoes it."""
    gc.collect()
    gc.freeze()


def let_go() -> None:
    """Return what :func:`keep_for_good` froze to the collector (it is being let go of)."""
    gc.unfreeze()
