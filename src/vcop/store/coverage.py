"""What the data in a build can support: whether it holds victims, and the last day it covers.

A database loaded only from published data (a data.police.uk import: crimes, outcomes and
anti-social behaviour, no victims) supports recorded crime, outcomes, investigation length, harm
and anti-social behaviour, but nothing about victims: no Victims' Code ledger, satisfaction,
services or worklist. :func:`published_only` says which kind a build is, once, for every
consumer (``vcop metrics``, the dashboard).

Month-stamped data (data.police.uk publishes only the month, so every crime is dated the 1st)
covers the whole of its last month: :func:`latest_data_day` answers that month's last day, not
its first, so the last month counts whole (and keeps its SPC reading).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from vcop.metrics.periods import month_end
from vcop.store.db import table_names

#: What every consumer says, once, when a build holds no victims.
NEEDS_FORCE_EXTRACT = (
    "This database holds published data only (such as a data.police.uk import: crimes, outcomes "
    "and anti-social behaviour, with no victims). Figures about victims (Victims' Code "
    "compliance, satisfaction, support services, response times and the worklist) need a "
    "force's own extract, loaded with `vcop ingest`."
)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    if table not in table_names(con):
        return 0
    row = con.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT 1)').fetchone()
    return int(row[0]) if row else 0


def published_only(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the build holds crimes but no victims (published data, not a force extract)."""
    return _rows(con, "crimes") > 0 and _rows(con, "victims") == 0


def month_stamped(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every crime is dated at midnight on the first of a month (only the month known)."""
    if _rows(con, "crimes") == 0:
        return False
    row = con.execute(
        "SELECT bool_and(reported_at = date_trunc('month', reported_at)) FROM crimes "
        "WHERE reported_at IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


def latest_data_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day the crimes cover: the latest report's day, or for month-stamped data the
    last day of the latest month (its crimes are dated the 1st but happened any day of it)."""
    if _rows(con, "crimes") == 0:
        return None
    row = con.execute("SELECT max(reported_at) FROM crimes").fetchone()
    latest = row[0] if row else None
    if isinstance(latest, datetime):
        latest = latest.date()
    if not isinstance(latest, date):
        return None
    return month_end(latest) if month_stamped(con) else latest
