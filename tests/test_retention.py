"""Retention and erasure remove what they should, nothing else, log it, and stay done."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.test_operations import FIRST, refresh
from tests.webdata import copy_build
from vcop.cli import app as cli
from vcop.store.ops import open_ops
from vcop.web.auth import Role, add_user

STRONG = "violet kettle orbit lantern"
#: The module's extract folder (set by the fixture that generates it).
EXTRACT: list[Path] = []


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vcop.synth import generate

    root = tmp_path_factory.mktemp("retention")
    generate(root / "extract", seed=5, years=3, scale=0.01, end=FIRST)
    db = root / "vcop.duckdb"
    EXTRACT[:] = [root / "extract"]
    assert refresh(db, root / "extract", FIRST).exit_code == 0
    ops = open_ops(db)
    add_user(ops, "dpo", Role.admin, STRONG, now=datetime(2025, 1, 1))
    add_user(ops, "ana", Role.analyst, STRONG, now=datetime(2025, 1, 1))
    ops.close()
    return db


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    return copy_build(built, tmp_path)


def count(db: Path, sql: str, *params: object) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute(sql, list(params)).fetchone()[0])
    finally:
        con.close()


def victim_tables(db: Path) -> list[str]:
    """Every table of the build with a ``victim_id`` column."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT table_name FROM duckdb_columns() "
                "WHERE column_name = 'victim_id' AND NOT internal ORDER BY 1"
            ).fetchall()
        ]
    finally:
        con.close()


def test_erase_removes_one_victim_and_their_sole_crimes(db: Path, tmp_path: Path) -> None:
    victim, crime = (
        duckdb.connect(str(db), read_only=True)
        .execute(
            "SELECT victim_id, crime_id FROM victims WHERE crime_id IN "
            "(SELECT crime_id FROM victims GROUP BY 1 HAVING count(*) = 1) "
            "AND victim_id IN (SELECT victim_id FROM contacts) "
            # a partner body's records of them too (witness care's contacts)
            "AND victim_id IN (SELECT victim_id FROM agency_contacts) ORDER BY 1 LIMIT 1"
        )
        .fetchone()
    )
    crimes_before = count(db, "SELECT count(*) FROM crimes")
    rows_before = count(db, "SELECT count(*) FROM victims WHERE victim_id = ?", victim)
    sole = count(
        db, "SELECT count(*) FROM (SELECT crime_id FROM victims GROUP BY 1 "
        "HAVING bool_and(victim_id = ?))", victim,
    )  # fmt: skip
    runner = CliRunner(env={"VCOP_PASSWORD": STRONG})
    out = tmp_path / "backups"
    assert runner.invoke(cli, ["backup", "--db", str(db), "--out", str(out)]).exit_code == 0

    refused = runner.invoke(
        cli, ["erase", "--victim", victim, "--user", "ana", "--reason", "SAR-1", "--db", str(db)]
    )
    assert refused.exit_code == 3  # only an admin may erase
    dry = runner.invoke(
        cli, ["erase", "--victim", victim, "--user", "dpo", "--reason", "SAR-1", "--db", str(db),
              "--dry-run"],
    )  # fmt: skip
    assert dry.exit_code == 0
    assert count(db, "SELECT count(*) FROM victims WHERE victim_id = ?", victim) == rows_before
    done = runner.invoke(
        cli, ["erase", "--victim", victim, "--user", "dpo", "--reason", "SAR-1", "--db", str(db)]
    )
    assert done.exit_code == 0, done.output
    holding = victim_tables(db)
    assert {"victims", "contacts", "entitlements", "agency_contacts", "complaints"} <= set(holding)
    holding.remove("erased_victims")  # the list that keeps them erased holds only the id
    for table in holding:  # every table with a victim_id column, partners' and history included
        assert count(db, f'SELECT count(*) FROM "{table}" WHERE victim_id = ?', victim) == 0, table
    assert count(db, "SELECT count(*) FROM crimes WHERE crime_id = ?", crime) == 0
    # the victim's crimes that had no other victim are gone, and nothing else
    assert sole >= 1 and count(db, "SELECT count(*) FROM crimes") == crimes_before - sole
    ops = open_ops(db)
    assert ops.query("SELECT victim_id, username FROM erasures").rows == [(victim, "dpo")]
    logged = ops.query("SELECT action, victim_id, reason FROM access_log").rows
    assert ("erase", victim, "SAR-1") in logged
    ops.close()

    reload = runner.invoke(  # an extract that still holds the victim does not bring them back
        cli, ["ingest", str(EXTRACT[0]), "--db", str(db), "--force"]
    )
    assert reload.exit_code == 0, reload.output
    assert count(db, "SELECT count(*) FROM victims WHERE victim_id = ?", victim) == 0
    assert (
        count(db, "SELECT count(*) FROM rejects WHERE value = ? AND reason LIKE '%erased%'", victim)
        >= rows_before
    )

    (backup,) = out.iterdir()  # a backup from before the erasure does not bring the victim back
    restored = runner.invoke(cli, ["restore", str(backup), "--db", str(db), "--replace-ops"])
    assert restored.exit_code == 0, restored.output
    assert count(db, "SELECT count(*) FROM victims WHERE victim_id = ?", victim) == 0
    ops = open_ops(db)
    assert ops.query("SELECT victim_id FROM erasures").rows == [(victim,)]
    ops.close()


def test_retention_removes_only_crimes_finalised_long_enough_ago(db: Path) -> None:
    runner = CliRunner(env={"VCOP_PASSWORD": STRONG})
    today = date(2025, 6, 1)
    due = count(db, "SELECT count(*) FROM crimes WHERE outcome_at < TIMESTAMP '2023-06-01'")
    kept = count(db, "SELECT count(*) FROM crimes") - due
    assert due > 0 and kept > 0
    args = ["retention", "apply", "--user", "dpo", "--db", str(db), "--years", "2",
            "--today", today.isoformat()]  # fmt: skip
    dry = runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Due for removal: {due:,} crime(s) finalised before 2023-06-01" in dry.stdout
    assert count(db, "SELECT count(*) FROM crimes") == due + kept
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert count(db, "SELECT count(*) FROM crimes") == kept
    assert count(db, "SELECT count(*) FROM crimes WHERE outcome_at < TIMESTAMP '2023-06-01'") == 0
    orphans = count(
        db, "SELECT count(*) FROM victims WHERE crime_id NOT IN (SELECT crime_id FROM crimes)"
    )
    assert orphans == 0
    ops = open_ops(db)
    assert ops.scalar("SELECT count(*) FROM access_log WHERE action = 'retention_apply'") == 1
    ops.close()
