"""What state a vcop installation is in: the build's data and ledger, and the last refresh.

``vcop status`` prints it and ``/readyz`` answers it as JSON, from this one function, so the
force's monitoring and a person at the command line read the same facts.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from vcop.store.build import lock_holder
from vcop.store.db import table_names
from vcop.store.ops import OpsStore, timestamp


def build_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The build's last load (when, and the share of its rows rejected) and its ledger."""
    tables = table_names(con)
    facts: dict[str, Any] = {
        "last_load_at": None,
        "last_load_id": None,
        "last_load_rows_read": 0,
        "last_load_rows_rejected": 0,
        "reject_share": None,
        "ledger_as_of": None,
        "ledger_evaluated_at": None,
        "ledger_rows": None,
    }
    if "batches" in tables:
        row = con.execute(
            "SELECT load_id, max(loaded_at), sum(rows_read), sum(rows_rejected) FROM batches "
            "WHERE load_id = (SELECT max(load_id) FROM batches) GROUP BY load_id"
        ).fetchall()
        if row:
            load_id, loaded_at, read, rejected = row[0]
            facts.update(
                last_load_id=load_id,
                last_load_at=loaded_at,
                last_load_rows_read=int(read or 0),
                last_load_rows_rejected=int(rejected or 0),
                reject_share=(int(rejected or 0) / int(read)) if read else None,
            )
    if {"ledger_runs", "entitlements"} <= tables:
        row = con.execute(
            "SELECT as_of, evaluated_at, rows FROM ledger_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchall()
        if row:
            facts.update(
                ledger_as_of=row[0][0], ledger_evaluated_at=row[0][1], ledger_rows=row[0][2]
            )
    return facts


def last_refreshes(ops: OpsStore) -> dict[str, Any]:
    """The newest refresh, and the newest that succeeded (None when there has been none)."""

    def one(where: str) -> dict[str, Any] | None:
        rows = ops.query(
            "SELECT refresh_id, started_at, finished_at, status, as_of, source, os_user, pid, "
            f"message, summary FROM refreshes {where} ORDER BY refresh_id DESC LIMIT 1"
        ).dicts()
        if not rows:
            return None
        row = rows[0]
        row["started_at"] = timestamp(row["started_at"])
        row["finished_at"] = timestamp(row["finished_at"])
        row["summary"] = json.loads(row["summary"]) if row["summary"] else None
        return row

    return {"last_refresh": one(""), "last_successful_refresh": one("WHERE status = 'succeeded'")}


def status(
    db: Path, con: duckdb.DuckDBPyConnection | None, ops: OpsStore | None, now: datetime
) -> dict[str, Any]:
    """Everything ``vcop status`` and ``/readyz`` report. ``ready``: a build with a ledger is
    published (it can be served). ``problems`` lists what needs a person, including a failed last
    refresh (the previous build is still served); ``ok`` is True when there are none."""
    problems: list[str] = []
    ready = True
    out: dict[str, Any] = {"database": str(db)}
    try:
        st = db.stat()
        out["published_at"] = datetime.fromtimestamp(st.st_mtime)
    except FileNotFoundError:
        out["published_at"] = None
        ready = False
        problems.append(f"no build has been published at {db} (run `vcop refresh` or `vcop demo`)")
    facts = build_facts(con) if con is not None else {}
    out.update(facts)
    loaded = facts.get("last_load_at")
    out["data_age_hours"] = (
        round((now - loaded).total_seconds() / 3600, 1) if isinstance(loaded, datetime) else None
    )
    if con is not None and facts.get("ledger_as_of") is None:
        ready = False
        problems.append(
            "the build has no entitlement ledger (run `vcop evaluate` or `vcop refresh`)"
        )
    if ops is not None:
        out.update(last_refreshes(ops))
        last = out["last_refresh"]
        if last and last["status"] == "failed":
            problems.append(f"the last refresh failed: {last['message']}")
    out["refresh_running"] = lock_holder(db)
    out["problems"] = problems
    out["ready"] = ready and con is not None
    out["ok"] = not problems
    return out


def jsonable(value: Any) -> Any:
    """``value`` with dates and times as ISO 8601 text (for JSON)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
