"""`vcop evaluate`, `vcop entitlements` and `vcop explain` as a person uses them."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

import vcop.rules.ledger as ledger_module
from tests.cases.runner import load_tables
from tests.cases.synthetic import synthetic_tables
from vcop.cli import rules as _rules  # noqa: F401  (registers the commands)
from vcop.cli.app import app
from vcop.store import connect
from vcop.store.ops import open_ops
from vcop.web.auth import Role, add_user

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

REQUIRED = (
    "victim_id", "crime_id", "obligation_id", "right", "owner", "trigger_event_id", "trigger_at",
    "due_date", "met_at", "status", "enhanced", "enhanced_reason", "reason",
)  # fmt: skip

STORY = {
    "crimes": [
        {"crime_id": "C1", "reported_at": "2025-02-02 22:10:00", "crime_type": "Violence and sexual offences",
         "offence_code": "8N", "domestic_abuse": True, "unit": "CID North"},
    ],
    "victims": [{"victim_id": "V1", "crime_id": "C1", "age_at_report": 34}],
    "case_events": [
        {"event_id": "E1", "crime_id": "C1", "event_type": "suspect_arrested", "event_at": "2025-02-03 14:05:00"},
    ],
    "contacts": [
        {"contact_id": "K1", "victim_id": "V1", "crime_id": "C1", "contact_at": "2025-02-04 09:00:00",
         "purpose": "suspect_arrested", "successful": False, "channel": "phone"},
        {"contact_id": "K2", "victim_id": "V1", "crime_id": "C1", "contact_at": "2025-02-05 10:20:00",
         "purpose": "suspect_arrested", "about_event_id": "E1", "successful": True, "channel": "phone"},
    ],
    "referrals": [
        {"referral_id": "F1", "victim_id": "V1", "crime_id": "C1", "service": "idva",
         "referred_at": "2025-02-04 11:00:00", "consent": "given"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small force's database, and a copy of it with the ledger evaluated as of 30 June 2025."""
    folder = tmp_path_factory.mktemp("force")
    raw = folder / "raw.duckdb"
    con = connect(raw)
    tables = synthetic_tables(seed=3, crimes=40)
    for name, rows in STORY.items():
        tables[name].extend(rows)
    load_tables(tables, con)
    con.close()
    evaluated = folder / "evaluated.duckdb"
    shutil.copy(raw, evaluated)
    con = connect(evaluated)
    ledger_module.evaluate(con, date(2025, 6, 30))
    con.close()
    return raw, evaluated


#: The accounts that read records here (an analyst, and a supervisor of C1's unit), and their
#: password, given as a scheduled job gives it (the tests have no terminal).
ANALYST, SUPERVISOR = "ana", "sup42"
PASSWORD = "violet kettle orbit lantern"
AS_ANALYST = ("--user", ANALYST, "--reason", "testing the listing")


def with_accounts(db: Path) -> Path:
    ops = open_ops(db)
    add_user(ops, ANALYST, Role.analyst, PASSWORD, now=datetime(2025, 7, 1))
    add_user(ops, SUPERVISOR, Role.supervisor, PASSWORD, now=datetime(2025, 7, 1), unit="CID North")
    ops.close()
    return db


@pytest.fixture
def db(templates: tuple[Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of the force's database, no ledger yet."""
    return with_accounts(Path(shutil.copy(templates[0], tmp_path / "force.duckdb")))


@pytest.fixture
def ready(templates: tuple[Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of the force's database with the ledger as of 30 June 2025."""
    return with_accounts(Path(shutil.copy(templates[1], tmp_path / "force.duckdb")))


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"VCOP_PASSWORD": PASSWORD})


def test_evaluate_writes_the_ledger(db: Path) -> None:
    result = run(
        "evaluate", "--db", str(db), "--as-of", "2025-06-30", "--needs-assessment-days", "2"
    )
    assert result.exit_code == 0, result.output
    assert "Entitlement ledger as of 2025-06-30" in result.output
    assert "R6.suspect-arrested" in result.output
    assert "entitlements written to 'entitlements'" in result.output
    con = duckdb.connect(str(db), read_only=True)
    columns = [c[0] for c in con.execute("DESCRIBE entitlements").fetchall()]
    assert set(REQUIRED) <= set(columns)
    assert {"as_of", "definitions_hash", "code_edition"} <= set(columns)
    rows, as_ofs, hashes = con.execute(
        "SELECT count(*), count(DISTINCT as_of), count(DISTINCT definitions_hash) FROM entitlements"
    ).fetchall()[0]
    assert rows > 100 and as_ofs == 1 and hashes == 1
    assert con.execute("SELECT count(*) FROM ledger_runs").fetchall() == [(1,)]
    standards = json.loads(con.execute("SELECT standards FROM ledger_runs").fetchall()[0][0])
    assert standards["needs_assessment_working_days"] == 2
    con.close()
    # The stored ledger is read back (not recomputed) because its definitions and standards match.
    listed = run(
        "entitlements", "--db", str(db), "--as-of", "2025-06-30", "--format", "csv", *AS_ANALYST
    )
    assert "computing" not in listed.stderr
    assert len(listed.stdout.splitlines()) == rows + 1


def test_a_failed_evaluation_leaves_the_old_ledger(
    ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = connect(ready)
    first = ledger_module.last_run(con)
    assert first is not None
    real = ledger_module.run_step
    steps: list[object] = []

    def broken(*args: object, **kwargs: object) -> None:
        if len(steps) == 2:  # the base and the first part are written; the next one fails
            raise RuntimeError("disk full")
        steps.append(real(*args, **kwargs))  # type: ignore[arg-type,func-returns-value]

    monkeypatch.setattr(ledger_module, "run_step", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ledger_module.evaluate(con, date(2025, 3, 31))
    assert con.execute("SELECT count(*), min(as_of) FROM entitlements").fetchall() == [
        (first.rows, date(2025, 6, 30))
    ]
    assert con.execute("SELECT count(*) FROM ledger_runs").fetchall() == [(1,)]
    con.close()


def threads_of_each_step(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    """DuckDB's threads as each ledger part is written, filled in as ``evaluate`` runs."""
    real = ledger_module.run_step
    seen: list[int] = []

    def counting(*args: object, **kwargs: object) -> None:
        seen.append(int(con.execute("SELECT current_setting('threads')").fetchall()[0][0]))
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger_module, "run_step", counting)
    return seen


def test_the_ledger_is_written_by_one_thread_and_the_setting_restored(
    ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every part is written with DuckDB on one thread (its rows compressed once, at commit),
    and the connection has its threads back afterwards, after a failure too."""
    con = connect(ready)
    con.execute("SET threads = 3")
    seen = threads_of_each_step(con, monkeypatch)
    ledger_module.evaluate(con, date(2025, 6, 30))
    assert seen and set(seen) == {1}
    assert con.execute("SELECT current_setting('threads')").fetchall() == [(3,)]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger_module, "run_step", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ledger_module.evaluate(con, date(2025, 6, 30))
    assert con.execute("SELECT current_setting('threads')").fetchall() == [(3,)]
    con.close()


def test_a_ledger_evaluated_in_memory_keeps_its_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """In memory (a report's ledger, a partner's release in the server) nothing is compressed,
    and the setting is the whole DuckDB instance's: it is left as it is."""
    con = load_tables(synthetic_tables(seed=3, crimes=10))
    con.execute("SET threads = 3")
    seen = threads_of_each_step(con, monkeypatch)
    ledger_module.evaluate(con, date(2025, 6, 30))
    assert seen and set(seen) == {3}
    con.close()


#: Runs `vcop evaluate` in a fresh process; prints which of the libraries named are imported.
_PROBE = """
import json, sys
from vcop.cli import main
heavy = json.loads(sys.argv[1])
sys.argv = ["vcop", "evaluate", "--db", sys.argv[2], "--as-of", "2025-06-30"]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""

_HEAVY = ("ibis", "sqlglot", "pyarrow", "numpy", "vcop.metrics.precompute", "vcop.rules.blocks")


def _evaluate_imports(db: Path, cache: Path) -> list[str]:
    env = {**os.environ, "VCOP_CACHE_DIR": str(cache), "VCOP_METRICS_DASHBOARD_FIGURES": "none"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(_HEAVY), str(db)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_warm_evaluate_imports_no_expression_engine(ready: Path, tmp_path: Path) -> None:
    """`vcop evaluate` whose ledger SQL is kept, with no dashboard figures to store, runs the
    kept SQL without importing Ibis, Arrow or the metrics engine (half a second of every
    refresh); a first evaluation, which compiles, does import them (the check can fail)."""
    cache = tmp_path / "empty-cache"
    con = connect(ready)
    con.execute("DELETE FROM ledger_sql_cache")
    con.close()
    assert {"ibis", "vcop.rules.blocks"} <= set(_evaluate_imports(ready, cache))  # compiles
    assert _evaluate_imports(ready, cache) == []  # reads what the first kept


def test_entitlements_as_csv_and_json(ready: Path) -> None:
    db = ready
    result = run(
        "entitlements",
        "--db",
        str(db),
        "--as-of",
        "2025-06-30",
        "--status",
        "overdue",
        "--format",
        "csv",
        *AS_ANALYST,
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and set(REQUIRED) <= set(rows[0])
    assert {r["status"] for r in rows} == {"overdue"}
    result = run(
        "entitlements", "--db", str(db), "--as-of", "2025-06-30", "--obligation",
        "R4.referral-to-support", "--format", "json", *AS_ANALYST,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert records and {r["obligation_id"] for r in records} == {"R4.referral-to-support"}
    assert all(r["right"] == 4 for r in records)


def test_entitlements_for_another_date_are_computed_the_same_way(ready: Path) -> None:
    args = ["entitlements", "--db", str(ready), "--as-of", "2025-03-31", "--format", "csv",
            *AS_ANALYST]  # fmt: skip
    computed = run(*args)
    assert computed.exit_code == 0, computed.output
    assert (
        "the stored ledger is as of 2025-06-30: computing the ledger as of 2025-03-31"
        in computed.stderr
    )
    assert run("evaluate", "--db", str(ready), "--as-of", "2025-03-31").exit_code == 0
    stored = run(*args)
    assert "computing" not in stored.stderr
    assert computed.stdout == stored.stdout


def test_record_level_reads_need_a_reason_and_are_logged(ready: Path) -> None:
    db = ready
    refused = run("entitlements", "--db", str(db), "--as-of", "2025-06-30", "--victim", "V1")
    assert refused.exit_code == 2
    assert "--reason is required" in refused.stderr
    allowed = run(
        "entitlements", "--db", str(db), "--as-of", "2025-06-30", "--victim", "V1", "--format",
        "csv", "--user", "sup42", "--reason", "weekly review of overdue updates",
    )  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    rows = list(csv.DictReader(io.StringIO(allowed.stdout)))
    assert rows and {r["victim_id"] for r in rows} == {"V1"}
    logged = (
        open_ops(db)
        .query("SELECT username, channel, action, victim_id, crime_id, reason FROM access_log")
        .rows
    )
    assert logged == [
        ("sup42", "cli", "entitlements", "V1", None, "weekly review of overdue updates")
    ]


def test_explain_tells_the_story(ready: Path) -> None:
    db = ready
    args = ["explain", "--db", str(db), "--victim", "V1", "--crime", "C1", "--as-of", "2025-06-30"]
    refused = run(*args)
    assert refused.exit_code == 2 and "--reason is required" in refused.stderr
    result = run(*[*args, "--user", "sup42", "--reason", "dip sample"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Victim V1 — crime C1 — as of Mon 30 Jun 2025" in text
    assert "Enhanced rights: yes — domestic abuse" in text
    assert "Mon 3 Feb 2025 at 14:05  Suspect arrested (E1)" in text
    assert (
        "within 1 working day (enhanced: domestic abuse); due by the end of Tue 4 Feb 2025" in text
    )
    assert (
        "told by phone on Wed 5 Feb 2025 at 10:20 — LATE: the victim was told after the due date"
        in text
    )
    assert "Phone call about suspect arrested — not successful (victim not reached)" in text
    assert "referred to an IDVA on Tue 4 Feb 2025 at 11:00 — met" in text
    logged = open_ops(db).query("SELECT action, victim_id, crime_id, os_user FROM access_log").rows
    assert [r[:3] for r in logged] == [("explain", "V1", "C1")]
    assert logged[0][3]  # the operating-system user who ran it


def test_explain_an_unknown_victim(ready: Path) -> None:
    db = ready
    result = run(
        "explain", "--db", str(db), "--victim", "V1", "--crime", "C999", "--as-of", "2025-06-30",
        "--user", ANALYST, "--reason", "checking",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no victim 'V1' of crime 'C999' reported by 2025-06-30" in result.stderr


def test_a_bad_date_is_refused(db: Path) -> None:
    result = run(*["evaluate", "--db", str(db), "--as-of", "30/06/2025"])
    assert result.exit_code == 2
    assert "--as-of must be a date like 2025-06-30" in result.stderr
