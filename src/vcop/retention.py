"""Retention and erasure: removing records vcop no longer needs, or may no longer hold.

Two ways a record leaves the build:

* **retention** (``vcop retention apply``): a crime finalised more than ``retention.finalised_crime_years``
  years ago (its outcome date) is removed with everything about it — its victims' records for that
  crime (partner bodies' included: every table with a victim or crime id), its events, reviews,
  survey responses and ledger rows; an incident keeps its times for
  response-time history but loses its link to the crime;
* **erasure** (``vcop erase --victim ID``): one victim's records are removed, and each crime of
  theirs that had no other victim.

Both work on a copy of the build and publish it (:mod:`vcop.store.build`), are written to the
access log, and erasures are kept in the operational store (``erasures``) so that restoring an
older backup, or loading an older extract again, does not bring an erased victim back. Figures
computed afterwards no longer count the removed records: published releases keep what they
published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from vcop.ingest.history import HISTORY_SUFFIX, history_table
from vcop.store.db import table_names

#: Tables the schema does not describe: the ledger (victim and crime).
LEDGER = "entitlements"
#: A crime's incidents keep their times for response-time history; only their link goes.
UNLINKED = ("incidents",)


def record_tables() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The canonical tables that hold a victim's records (a ``victim_id`` column, with the ledger)
    and those that hold a crime's only (a ``crime_id`` column), from the schema, so a table added
    to it — a partner body's contacts, complaints, expense claims — is erased and retained with
    the rest instead of being left behind."""
    from vcop.spec.schema import load_schema

    victim: list[str] = []
    crime: list[str] = []
    for table in load_schema().tables:
        names = {c.name for c in table.columns}
        if table.name in ("crimes", *UNLINKED) or "crime_id" not in names:
            continue
        (victim if "victim_id" in names else crime).append(table.name)
    return (*victim, LEDGER), tuple(crime)


@dataclass
class Removal:
    """What a retention run or an erasure removes (or would remove), per table."""

    crimes: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _apply(
    con: duckdb.DuckDBPyConnection,
    crimes: list[str],
    victim: str | None,
    *,
    dry_run: bool,
) -> Removal:
    """Remove ``crimes`` with all their records, and (with ``victim``) that victim's records of
    any crime; count per table, and only count when ``dry_run``."""
    tables = table_names(con)
    con.execute("CREATE OR REPLACE TEMP TABLE _gone_crimes (crime_id VARCHAR)")
    if crimes:  # DuckDB refuses executemany with no rows (a victim whose crimes all have others)
        con.executemany("INSERT INTO _gone_crimes VALUES (?)", [[c] for c in crimes])
    done = Removal(crimes=list(crimes))
    conditions: list[tuple[str, str, list[object]]] = []
    victim_tables, crime_tables = record_tables()
    for table in victim_tables:
        if table in tables:
            cond = "crime_id IN (SELECT crime_id FROM _gone_crimes)"
            params: list[object] = []
            if victim is not None:
                cond = f"({cond} OR victim_id = ?)"
                params = [victim]
            conditions.append((table, cond, params))
    for table in (*crime_tables, "crimes"):
        if table in tables:
            conditions.append((table, "crime_id IN (SELECT crime_id FROM _gone_crimes)", []))
    if victim is not None and "rejects" in tables:
        conditions.append(("rejects", "value = ?", [victim]))
    # the versions loads replaced and the rows full extracts retired go too (vcop.ingest.history)
    conditions += [
        (history_table(table), cond, params)
        for table, cond, params in list(conditions)
        if history_table(table) in tables
    ]
    for table, cond, params in conditions:
        n = con.execute(f'SELECT count(*) FROM "{table}" WHERE {cond}', params).fetchall()
        count = int(n[0][0]) if n else 0
        if count or not table.endswith(HISTORY_SUFFIX):
            done.rows[table] = count
        if not dry_run and count:
            con.execute(f'DELETE FROM "{table}" WHERE {cond}', params)
    for table in (*UNLINKED, *map(history_table, UNLINKED)):
        if table not in tables:
            continue
        n = con.execute(
            f'SELECT count(*) FROM "{table}" WHERE crime_id IN (SELECT crime_id FROM _gone_crimes)'
        ).fetchall()
        count = int(n[0][0]) if n else 0
        if count or table in UNLINKED:
            done.rows[f"{table} (unlinked)"] = count
        if not dry_run:
            con.execute(
                f'UPDATE "{table}" SET crime_id = NULL '
                "WHERE crime_id IN (SELECT crime_id FROM _gone_crimes)"
            )
    con.execute("DROP TABLE _gone_crimes")
    return done


def due_for_retention(con: duckdb.DuckDBPyConnection, today: date, years: int) -> list[str]:
    """Crimes finalised (given an outcome) more than ``years`` years before ``today``."""
    cutoff = years_before(today, years)
    return [
        r[0]
        for r in con.execute(
            "SELECT crime_id FROM crimes WHERE outcome_at IS NOT NULL AND outcome_at < ? "
            "ORDER BY crime_id",
            [datetime.combine(cutoff, datetime.min.time())],
        ).fetchall()
    ]


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def apply_retention(
    con: duckdb.DuckDBPyConnection, today: date, years: int, *, dry_run: bool
) -> Removal:
    """Remove (or, with ``dry_run``, count) every crime past retention, with its records."""
    return _apply(con, due_for_retention(con, today, years), None, dry_run=dry_run)


#: The build's list of erased victims, which loading reads so a reload does not bring one back.
ERASED_TABLE = "erased_victims"


def erase_victim(
    con: duckdb.DuckDBPyConnection, victim_id: str, *, dry_run: bool = False
) -> Removal:
    """Remove one victim's records, and each crime of theirs with no other victim; list the
    victim in the build's ``erased_victims`` so that loading an extract that still holds them
    rejects those rows."""
    victims = "victims"
    if history_table("victims") in table_names(con):  # retired victims are theirs too
        victims = (
            "(SELECT victim_id, crime_id FROM victims UNION ALL "
            f'SELECT victim_id, crime_id FROM "{history_table("victims")}")'
        )
    sole = [
        r[0]
        for r in con.execute(
            f"SELECT crime_id FROM {victims} GROUP BY crime_id "
            "HAVING bool_and(victim_id = ?) ORDER BY crime_id",
            [victim_id],
        ).fetchall()
    ]
    removal = _apply(con, sole, victim_id, dry_run=dry_run)
    if not dry_run:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {ERASED_TABLE} "
            "(victim_id VARCHAR PRIMARY KEY, erased_at TIMESTAMP NOT NULL)"
        )
        con.execute(
            f"INSERT OR IGNORE INTO {ERASED_TABLE} VALUES (?, ?)", [victim_id, datetime.now()]
        )
    return removal


def erased_victims(ops: object) -> list[str]:
    """The victims erased so far (kept so that a restore or a reload does not bring them back)."""
    from vcop.store.ops import OpsStore

    assert isinstance(ops, OpsStore)
    return [str(r[0]) for r in ops.query("SELECT victim_id FROM erasures ORDER BY erased_at").rows]
