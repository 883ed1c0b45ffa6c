"""Issue 17, item 1 on the command line: every record-level read is attributable.

Each command that prints or exports records needs an active vcop account allowed that scope,
authenticated by its password (``VCOP_PASSWORD`` here: the tests have no terminal), and a reason;
it logs who, the operating-system user, when, why and every victim and crime it returned, and a
refused attempt is logged too. The first tests reproduce the findings of the issue.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

from tests.webdata import PASSWORD, WebData, build, copy_of
from vcop.cli import app
from vcop.store.access_log import os_user, verify
from vcop.store.ops import open_ops
from vcop.web.auth import GRANTS, Permission, Role, User, add_user, disable_user

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

AS_OF = "2025-06-30"
#: The password of the accounts this file adds itself.
OWN_PASSWORD = "violet kettle orbit lantern"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture
def data(shared: WebData, tmp_path: Path) -> WebData:
    """A copy of the demo force (build and operational store) of this test's own."""
    return copy_of(shared, tmp_path)


def vcop(*args: str, password: str | None = PASSWORD) -> Result:
    """Run a command as a scheduled job would: no terminal, the password in VCOP_PASSWORD."""
    env: dict[str, str | None] = {"VCOP_PASSWORD": password, "VCOP_TOTP_CODE": None}
    return CliRunner().invoke(app, list(args), env=env)


def log(db: Path) -> list[dict[str, Any]]:
    """Every access-log entry, oldest first, with the records each showed."""
    ops = open_ops(db)
    try:
        entries: list[dict[str, Any]] = ops.query(
            "SELECT access_id, username, role, channel, action, victim_id, crime_id, reason, "
            "detail, os_user, records FROM access_log ORDER BY access_id"
        ).dicts()
        for entry in entries:
            entry["shown"] = ops.query(
                "SELECT victim_id, crime_id FROM access_records WHERE access_id = ? ORDER BY rowid",
                [entry["access_id"]],
            ).rows
        assert verify(ops).ok
    finally:
        ops.close()
    return entries


def crimes_in_unit(db: Path, unit: str) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT crime_id FROM crimes WHERE unit = ?", [unit]).fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()


def rows_of(result: Result) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(result.stdout)))


# -- the findings, reproduced -------------------------------------------------------------------


def test_entitlements_without_an_account_are_refused_and_with_one_every_row_is_logged(
    data: WebData,
) -> None:
    """Finding: `vcop entitlements --as-of … --format csv` wrote victim-level rows with no
    reason and no log entry."""
    args = ["entitlements", "--db", str(data.db), "--as-of", AS_OF, "--format", "csv"]
    anonymous = vcop(*args)
    assert anonymous.exit_code != 0
    assert "victim_id" not in anonymous.stdout and "--reason is required" in anonymous.stderr
    assert log(data.db) == []

    listed = vcop(*args, "--user", "analyst1", "--reason", "monthly compliance extract")
    assert listed.exit_code == 0, listed.output
    rows = rows_of(listed)
    assert len(rows) > 100
    (entry,) = log(data.db)
    assert (entry["username"], entry["role"], entry["channel"], entry["action"]) == (
        "analyst1", "analyst", "cli", "entitlements",
    )  # fmt: skip
    assert entry["reason"] == "monthly compliance extract"
    assert entry["os_user"] == os_user()
    assert set(entry["shown"]) == {(r["victim_id"], r["crime_id"]) for r in rows}
    assert entry["records"] == len(entry["shown"])


def test_explain_under_a_made_up_name_is_refused_and_logged(data: WebData) -> None:
    """Finding: `vcop explain … --user totally-made-up-person` was logged under that name."""
    victim, crime = _a_case(data.db, data.unit)
    result = vcop(
        "explain", "--db", str(data.db), "--victim", victim, "--crime", crime, "--as-of", AS_OF,
        "--user", "totally-made-up-person", "--reason", "curious",
    )  # fmt: skip
    assert result.exit_code == 3
    assert "do not match" in result.stderr
    assert result.stdout == ""
    (entry,) = log(data.db)
    assert entry["username"] == "totally-made-up-person"
    assert entry["action"] == "explain_refused" and entry["role"] == "unknown"
    assert entry["reason"] == "curious"
    assert str(entry["detail"]).startswith("refused: no such account")
    assert (entry["victim_id"], entry["crime_id"]) == (victim, crime)


def test_a_partner_may_not_read_records(data: WebData) -> None:
    """Finding: `--user` of a partner worked."""
    victim, crime = _a_case(data.db, data.unit)
    result = vcop(
        "explain", "--db", str(data.db), "--victim", victim, "--crime", crime, "--as-of", AS_OF,
        "--user", "partner1", "--reason", "checking",
    )  # fmt: skip
    assert result.exit_code == 3
    assert "partner1 is a partner: only analysts, supervisors and officers" in result.stderr
    assert "Victim" not in result.stdout
    (entry,) = log(data.db)
    assert (entry["username"], entry["role"], entry["action"]) == (
        "partner1", "partner", "explain_refused",
    )  # fmt: skip
    assert "a partner may not" in str(entry["detail"])


def test_harm_victims_of_a_supervisor_are_limited_to_their_unit(data: WebData) -> None:
    """Finding: `vcop harm victims --user SUP` returned the force-wide list."""
    args = ["harm", "victims", "--db", str(data.db), "--as-of", AS_OF, "--top", "10000",
            "--format", "csv", "--reason", "unit harm review"]  # fmt: skip
    force = vcop(*args, "--user", "analyst1")
    unit = vcop(*args, "--user", "super1")
    assert force.exit_code == 0 and unit.exit_code == 0, force.output + unit.output
    everyone = {r["victim_id"] for r in rows_of(force)}
    mine = {r["victim_id"] for r in rows_of(unit)}
    assert mine and mine < everyone
    con = duckdb.connect(str(data.db), read_only=True)
    in_unit = {
        r[0]
        for r in con.execute(
            "SELECT v.victim_id FROM victims v JOIN crimes c USING (crime_id) WHERE c.unit = ?",
            [data.unit],
        ).fetchall()
    }
    con.close()
    assert mine <= in_unit
    entries = log(data.db)
    assert [(e["username"], e["action"]) for e in entries] == [
        ("analyst1", "harm_victims"),
        ("super1", "harm_victims"),
    ]
    assert {v for v, _ in entries[1]["shown"]} == mine


def test_rejects_are_logged_with_the_batch_and_rows_shown(tiny: Path, tmp_path: Path) -> None:
    """Finding: `vcop rejects` (which prints record values) was not logged."""
    db = tmp_path / "c.duckdb"
    # the tiny extract loads with rejects past --max-reject-share: exit 3
    assert CliRunner().invoke(app, ["ingest", str(tiny), "--db", str(db)]).exit_code == 3
    ops = open_ops(db)
    add_user(ops, "dq", Role.analyst, OWN_PASSWORD, now=datetime(2025, 7, 1))
    add_user(ops, "sup", Role.supervisor, OWN_PASSWORD, now=datetime(2025, 7, 1), unit="U1")
    ops.close()
    anonymous = vcop("rejects", "--db", str(db), "--format", "csv", password=None)
    assert anonymous.exit_code != 0 and "31/01/2025" not in anonymous.stdout
    supervisor = vcop(
        "rejects", "--db", str(db), "--user", "sup", "--reason", "why", password=OWN_PASSWORD
    )
    assert supervisor.exit_code == 3 and "only admins and analysts" in supervisor.stderr
    listed = vcop(
        "rejects", "--db", str(db), "--format", "csv", "--batch", "1", "--user", "dq",
        "--reason", "fixing the extract", password=OWN_PASSWORD,
    )  # fmt: skip
    assert listed.exit_code == 0, listed.output
    shown = rows_of(listed)
    assert shown
    entries = log(db)
    assert [(e["username"], e["action"]) for e in entries] == [
        ("sup", "rejects_refused"),
        ("dq", "rejects"),
    ]
    detail = str(entries[1]["detail"])
    assert detail.startswith("batch=1 format=csv;")
    assert f"{len(shown)} of {len(shown)} rejected value(s)" in detail
    first = shown[0]
    assert f"batch 1 {Path(first['file']).name} row" in detail and first["row"] in detail


# -- refusals -----------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_logged(data: WebData) -> None:
    args = ["entitlements", "--db", str(data.db), "--as-of", AS_OF, "--format", "csv",
            "--user", "analyst1", "--reason", "extract"]  # fmt: skip
    wrong = vcop(*args, password="not the right password at all")
    assert wrong.exit_code == 3 and wrong.stdout == ""
    assert "the vcop account 'analyst1' and this password do not match" in wrong.stderr
    missing = vcop(*args, password=None)
    assert missing.exit_code == 3 and "VCOP_PASSWORD" in missing.stderr
    entries = log(data.db)
    assert [(e["username"], e["role"], e["action"], e["reason"]) for e in entries] == [
        ("analyst1", "analyst", "entitlements_refused", "extract"),
        ("analyst1", "analyst", "entitlements_refused", "extract"),
    ]
    assert str(entries[0]["detail"]).startswith("refused: wrong password;")
    assert str(entries[1]["detail"]).startswith("refused: no password given;")


def test_the_password_is_never_a_command_line_option(data: WebData) -> None:
    result = vcop(
        "explain", "--db", str(data.db), "--victim", "V", "--crime", "C", "--as-of", AS_OF,
        "--user", "analyst1", "--reason", "x", "--password", PASSWORD, password=None,
    )  # fmt: skip
    assert result.exit_code == 2 and "No such option" in result.output


def test_a_disabled_account_is_refused_and_logged(data: WebData) -> None:
    ops = open_ops(data.db)
    disable_user(ops, "analyst1", now=datetime(2025, 7, 1))
    ops.close()
    result = vcop(
        "harm", "victims", "--db", str(data.db), "--as-of", AS_OF, "--user", "analyst1",
        "--reason", "monthly list",
    )  # fmt: skip
    assert result.exit_code == 3 and "'analyst1' is disabled" in result.stderr
    (entry,) = log(data.db)
    assert entry["action"] == "harm_victims_refused"
    assert str(entry["detail"]).startswith("refused: account disabled")


def test_repeated_wrong_passwords_are_throttled(data: WebData) -> None:
    args = ["entitlements", "--db", str(data.db), "--as-of", AS_OF, "--victim", "V1",
            "--user", "officer1", "--reason", "guessing"]  # fmt: skip
    for _ in range(5):
        assert vcop(*args, password="a wrong guess, again").exit_code == 3
    right = vcop(*args)
    assert right.exit_code == 3 and "too many failed sign-ins" in right.stderr
    assert log(data.db)[-1]["detail"] == (
        f"refused: too many failed sign-ins; as_of={AS_OF} victim=V1 format=table"
    )


def test_a_blank_reason_is_refused_before_the_password_is_asked(data: WebData) -> None:
    result = vcop(
        "explain", "--db", str(data.db), "--victim", "V", "--crime", "C", "--as-of", AS_OF,
        "--user", "analyst1", "--reason", "  ",
    )  # fmt: skip
    assert result.exit_code == 2 and "--reason is required" in result.stderr


# -- scope: the web's rule ----------------------------------------------------------------------


def _a_case(db: Path, unit: str, *, inside: bool = True) -> tuple[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT v.victim_id, c.crime_id FROM victims v JOIN crimes c USING (crime_id) "
            f"WHERE coalesce(c.unit, '') {'=' if inside else '<>'} ? "
            "AND v.crime_id IN (SELECT crime_id FROM entitlements) ORDER BY 1, 2 LIMIT 1",
            [unit],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return str(row[0]), str(row[1])


def test_a_supervisor_lists_only_entitlements_in_their_unit(data: WebData) -> None:
    mine = crimes_in_unit(data.db, data.unit)
    for as_of in (AS_OF, "2025-03-31"):  # the stored ledger, and one computed now
        result = vcop(
            "entitlements", "--db", str(data.db), "--as-of", as_of, "--format", "csv",
            "--user", "super1", "--reason", "unit review",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = rows_of(result)
        assert rows and {r["crime_id"] for r in rows} <= mine
    entries = log(data.db)
    assert all(c in mine for e in entries for _, c in e["shown"])


def test_explain_of_a_crime_outside_the_scope_is_refused_and_logged(data: WebData) -> None:
    victim, crime = _a_case(data.db, data.unit, inside=False)
    args = ["explain", "--db", str(data.db), "--victim", victim, "--crime", crime,
            "--as-of", AS_OF, "--reason", "supervision"]  # fmt: skip
    refused = vcop(*args, "--user", "super1")
    assert refused.exit_code == 3 and "outside their scope" in refused.stderr
    assert refused.stdout == ""
    allowed = vcop(*args, "--user", "analyst1")
    assert allowed.exit_code == 0, allowed.output
    assert f"Victim {victim} — crime {crime}" in allowed.stdout
    entries = log(data.db)
    assert [(e["username"], e["action"], e["victim_id"], e["crime_id"]) for e in entries] == [
        ("super1", "explain_refused", victim, crime),
        ("analyst1", "explain", victim, crime),
    ]
    assert entries[1]["shown"] == [(victim, crime)]


def test_an_officer_reads_only_their_own_cases(data: WebData) -> None:
    result = vcop(
        "entitlements", "--db", str(data.db), "--as-of", AS_OF, "--format", "csv",
        "--user", "officer1", "--reason", "my caseload",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(data.db), read_only=True)
    theirs = {
        r[0]
        for r in con.execute(
            "SELECT crime_id FROM crimes WHERE officer_id = ?", [data.officer_id]
        ).fetchall()
    }
    con.close()
    crimes = {r["crime_id"] for r in rows_of(result)}
    assert crimes and crimes <= theirs


def test_counts_by_group_need_no_account_and_are_not_logged(data: WebData) -> None:
    everything = vcop(
        "entitlements", "--db", str(data.db), "--as-of", AS_OF, "--format", "csv",
        "--user", "analyst1", "--reason", "reconciling the counts",
    )  # fmt: skip
    total = len(rows_of(everything))
    for by in ("obligation", "status", "area", "unit"):
        result = vcop(
            "entitlements", "--db", str(data.db), "--as-of", AS_OF, "--by", by,
            "--format", "csv", password=None,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = rows_of(result)
        assert rows and list(rows[0])[:2] == [by, "entitlements"]
        assert sum(int(r["entitlements"]) for r in rows) == total
        assert "victim_id" not in result.stdout
    assert [e["action"] for e in log(data.db)] == ["entitlements"]
    table = vcop("entitlements", "--db", str(data.db), "--as-of", AS_OF, "--by", "status")
    assert table.exit_code == 0 and "overdue" in table.stdout


def test_the_dip_sample_logs_every_victim_and_crime(data: WebData, tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = vcop(
        "report", "sample", "--db", str(data.db), "--quarter", "2025Q1", "--n", "5",
        "--user", "analyst1", "--reason", "Q1 audit", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (out / "ledger.csv").open() as f:
        written = {(r["victim_id"], r["crime_id"]) for r in csv.DictReader(f)}
    (entry,) = log(data.db)
    assert entry["action"] == "dip_sample" and set(entry["shown"]) == written


# -- the service account: scheduled jobs refresh, never read ------------------------------------


def test_a_service_account_has_no_record_access(data: WebData) -> None:
    added = CliRunner().invoke(
        app, ["users", "add", "nightly", "--role", "service", "--db", str(data.db)],
        input=OWN_PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "scheduled jobs: no records" in added.output
    service = User("nightly", Role.service)
    assert GRANTS[Role.service] == frozenset({Permission.signed_in})
    assert not service.may(Permission.record) and not service.may(Permission.aggregate)
    assert service.scope_label == "scheduled jobs: no records"
    with pytest.raises(PermissionError):
        service.crime_scope("c")
    for role in (Role.admin, Role.partner):
        with pytest.raises(PermissionError):
            User("x", role).crime_scope("c")
    refused = vcop(
        "entitlements", "--db", str(data.db), "--as-of", AS_OF, "--format", "csv",
        "--user", "nightly", "--reason", "nightly extract", password=OWN_PASSWORD,
    )  # fmt: skip
    assert refused.exit_code == 3 and "nightly is a service" in refused.stderr
    assert refused.stdout == ""
    (entry,) = log(data.db)
    assert (entry["username"], entry["role"], entry["action"]) == (
        "nightly", "service", "entitlements_refused",
    )  # fmt: skip
