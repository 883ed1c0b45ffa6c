"""A small Demoshire database with an entitlement ledger and one account per role, for the web
tests (in-process and browser). Built once per test session from the seeded generator."""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from vcop.ingest import load_paths
from vcop.spec.profile import load_profile
from vcop.store import connect
from vcop.store.ops import open_ops, ops_path_for
from vcop.synth import generate
from vcop.web.auth import Role, add_user

AS_OF = date(2025, 6, 30)
PASSWORD = "correct horse battery staple"
CREATED = datetime(2025, 6, 30, 9, 0)


@dataclass(frozen=True)
class WebData:
    """The database and facts about it that tests need."""

    db: Path
    unit: str  # the supervisor's unit
    other_unit: str
    officer_id: str
    in_unit_victim: str  # a victim with a crime in the supervisor's unit
    out_of_unit_victim: str  # a victim with no crime in the supervisor's unit
    officer_victim: str  # a victim of one of the officer's crimes
    failed_contact_victim: str  # a victim (in the supervisor's unit) with a failed contact


USERS = {
    "admin1": Role.admin,
    "analyst1": Role.analyst,
    "super1": Role.supervisor,
    "officer1": Role.officer,
    "partner1": Role.partner,
}

_built: dict[str, WebData] = {}


def build(tmp: pytest.TempPathFactory) -> WebData:
    """The shared database (built on first use). Copy it before changing it."""
    if "data" in _built:
        return _built["data"]
    from vcop.rules.ledger import evaluate

    root = tmp.mktemp("webdata")
    extract = root / "extract"
    generate(extract, seed=1, years=1, scale=0.02, end=AS_OF)
    db = root / "vcop.duckdb"
    con = connect(db)
    load_paths(con, [extract], load_profile("standard"))
    with warnings.catch_warnings():
        # ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table(); not ours to fix here.
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        evaluate(con, AS_OF)
    # The supervisor's unit: the unit with the most failed contacts to victims who are also owed
    # something (a busy unit, so every kind of worklist item is in it), and one such victim.
    unit, failed_victim = con.execute(
        "SELECT c.unit, min(k.victim_id) FROM contacts k JOIN crimes c USING (crime_id) "
        "WHERE k.successful = false AND c.unit IS NOT NULL "
        "AND k.victim_id IN (SELECT victim_id FROM entitlements) "
        "GROUP BY c.unit ORDER BY count(*) DESC, c.unit LIMIT 1"
    ).fetchone()
    other_unit = con.execute(
        "SELECT unit FROM crimes WHERE unit IS NOT NULL AND unit <> ? ORDER BY unit LIMIT 1", [unit]
    ).fetchone()[0]
    in_unit = con.execute(
        "SELECT min(v.victim_id) FROM victims v JOIN crimes c USING (crime_id) WHERE c.unit = ?",
        [unit],
    ).fetchone()[0]
    out_of_unit = con.execute(
        "SELECT min(v.victim_id) FROM victims v WHERE v.victim_id NOT IN "
        "(SELECT v2.victim_id FROM victims v2 JOIN crimes c USING (crime_id) WHERE c.unit = ?)",
        [unit],
    ).fetchone()[0]
    officer_id, officer_victim = con.execute(
        "SELECT c.officer_id, min(v.victim_id) FROM victims v JOIN crimes c USING (crime_id) "
        "WHERE c.officer_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    con.close()
    ops = open_ops(db)
    for name, role in USERS.items():
        add_user(
            ops, name, role, PASSWORD, now=CREATED,
            unit=unit if role is Role.supervisor else None,
            officer_id=officer_id if role is Role.officer else None,
        )  # fmt: skip
    add_user(ops, "super2", Role.supervisor, PASSWORD, now=CREATED, unit=other_unit)
    ops.close()
    data = WebData(
        db, unit, other_unit, officer_id, in_unit, out_of_unit, officer_victim, failed_victim
    )
    _built["data"] = data
    return data


def copy_build(source: Path, folder: Path) -> Path:
    """A copy of build ``source`` and its operational store as ``folder/vcop.duckdb``."""
    db = folder / "vcop.duckdb"
    shutil.copyfile(source, db)
    wal = Path(str(source) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(db) + ".wal"))
    ops = open_ops(source)
    ops.backup_to(ops_path_for(db))
    ops.close()
    return db


def copy_of(data: WebData, folder: Path) -> WebData:
    """The same data (build and operational store) in files of its own (tests that write, or a
    second server)."""
    db = copy_build(data.db, folder)
    return WebData(db, *[getattr(data, f) for f in list(data.__dataclass_fields__)[1:]])
