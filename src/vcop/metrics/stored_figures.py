"""What storing the dashboard's figures did, and which figures the settings want stored.

Apart from :mod:`vcop.metrics.precompute`, which imports the metrics engine and Ibis (a third of
a second): ``vcop evaluate`` and ``vcop refresh`` on a build whose settings store none
(``metrics.dashboard_figures = none``) ask here and import neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from vcop.metrics.precompute import Stamp

#: The table of the build that holds them.
TABLE = "dashboard_figures"

#: Why nothing was computed when the figures stored are the build's own (``if_stale``).
CURRENT = "the figures stored are current"


@dataclass
class Precomputed:
    """What :func:`vcop.metrics.precompute.precompute` stored, and what it cost."""

    stamp: Stamp | None = None
    rows: int = 0
    seconds: float = 0.0
    #: Why nothing was stored (None: stored).
    skipped: str | None = None
    #: Seconds per part (results per period, series, clusters).
    parts: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """What was stored and what it cost, in a line."""
        if self.skipped == CURRENT:
            return f"dashboard figures: {CURRENT}, nothing computed"
        if self.skipped is not None:
            return f"dashboard figures: none stored ({self.skipped})"
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in self.parts.items())
        return (
            f"dashboard figures: {self.rows:,} stored in '{TABLE}' in {self.seconds:.1f} s "
            f"({parts})"
        )


def wanted(con: duckdb.DuckDBPyConnection, db: Path | None) -> str | Precomputed:
    """Which figures the settings of build ``db`` want stored (``metrics.dashboard_figures``:
    all or periods); or, when they want none (any stored before are dropped) or have
    mistakes, that nothing was stored and why."""
    from vcop.config import SettingsError, load_settings

    try:
        which = load_settings(db).metrics.dashboard_figures
    except SettingsError as exc:
        return Precomputed(skipped=f"the settings have mistakes ({exc})")
    if which == "none":
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        return Precomputed(skipped="the settings say none (metrics.dashboard_figures)")
    return which
