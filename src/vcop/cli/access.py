"""Record-level commands: who may run them, and the access-log row each run writes.

The dashboard logs its record-level views through :mod:`vcop.web.audit`; commands that list
victims or cases log here, into the same append-only ``access_log`` (channel ``cli``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from vcop.cli.app import fail


def require_account(
    con: duckdb.DuckDBPyConnection, db: Path, user: str, roles: tuple[str, ...], what: str
) -> tuple[str, str | None]:
    """The (role, area) of an active account allowed to do ``what``; exits with a message if not."""
    from vcop.web.db import ensure_web_tables

    ensure_web_tables(con)
    found = con.execute(
        "SELECT role, area, disabled FROM users WHERE username = ?", [user]
    ).fetchall()
    if not found or found[0][2]:
        fail(f"no active vcop account {user!r} in {db} (an admin adds one with `vcop users add`)")
    role, area, _ = found[0]
    if role not in roles:
        fail(f"{user} is a {role}: only {' and '.join(r + 's' for r in roles)} may {what}", code=3)
    return role, area


def require_reason(reason: str, what: str) -> str:
    """The stated reason, tidied; a blank one ends the command."""
    tidy = " ".join(reason.split())
    if not tidy:
        fail(f"--reason is required: say why you {what} (it is logged)")
    return tidy


def log_access(
    con: duckdb.DuckDBPyConnection,
    *,
    user: str,
    role: str,
    action: str,
    reason: str,
    detail: str,
    victim_id: str | None = None,
    crime_id: str | None = None,
) -> None:
    """Append one row to the access log for a command's record-level output."""
    from vcop.web.db import ensure_web_tables  # the access log the dashboard writes too

    ensure_web_tables(con)
    con.execute(
        "INSERT INTO access_log (accessed_at, username, role, channel, action, victim_id, crime_id, "
        "reason, detail, session) VALUES (?, ?, ?, 'cli', ?, ?, ?, ?, ?, NULL)",
        [dt.datetime.now(), user, role, action, victim_id, crime_id, reason, detail],
    )
