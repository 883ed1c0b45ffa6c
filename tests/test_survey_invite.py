"""`vcop survey invite`: who is due a Victim Voice questionnaire, the links file, the token kept
only as a hash, and the access-log entry a record-level export writes."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vcop.cli import app as cli
from vcop.store import connect
from vcop.store.ops import open_ops
from vcop.voice.invitations import due
from vcop.web.auth import Role, add_user

PASSWORD = "amber falcon quiet meadow"
BASE = "https://voice.example.police.uk"
AS_OF = date(2025, 6, 30)

#: crime_id, reported_at, outcome_code, outcome_at
CRIMES = [
    ("C1", "2025-04-01 10:00", None, None),  # reached two months on 1 June
    ("C2", "2025-06-01 10:00", 14, "2025-06-15 09:00"),  # finalised before the as-of date
    ("C3", "2025-06-01 10:00", None, None),  # neither
    ("C4", "2025-06-01 10:00", 14, "2025-07-05 09:00"),  # finalised only after the as-of date
    ("C5", "2025-07-02 10:00", 14, "2025-07-03 09:00"),  # reported after the as-of date
    ("C6", "2024-01-01 10:00", 14, "2024-02-01 09:00"),  # due long before the last 31 days
]
#: victim_id, crime_id, updates_opt_out, unsafe_to_contact, age_at_report
VICTIMS = [
    ("V1", "C1", False, None, 18),  # due: the crime reached two months (and 18: an adult)
    ("V2", "C1", True, None, 40),  # opted out of contact
    ("V3", "C1", None, True, 40),  # flagged unsafe to contact
    ("V4", "C1", False, False, 40),  # invited before (below)
    ("=V8", "C1", None, None, 40),  # due; an id a spreadsheet would take for a formula
    ("V5", "C2", False, False, 65),  # due: finalised
    ("V6", "C3", False, False, 40),  # not due yet
    ("V7", "C4", False, False, 40),  # not due yet
    ("V9", "C5", False, False, 40),  # not due: reported after the as-of date
    ("V10", "C6", False, False, 40),  # became due long ago: not invited now
    ("K1", "C1", False, False, 17),  # a child: never invited
    ("K2", "C2", False, False, None),  # age not recorded: never invited (may be a child)
    ("K3", "C3", False, False, 12),  # a child, not due yet anyway: not counted as left out
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "vcop.duckdb"
    con = connect(path)
    con.executemany(
        "INSERT INTO crimes (crime_id, reported_at, crime_type, outcome_code, outcome_at, unit, "
        "officer_id) VALUES (?, ?, 'Burglary', ?, ?, 'U1', 'OFF1')",
        CRIMES,
    )
    con.executemany(
        "INSERT INTO victims (victim_id, crime_id, updates_opt_out, unsafe_to_contact, "
        "age_at_report) VALUES (?, ?, ?, ?, ?)",
        VICTIMS,
    )
    con.close()
    ops = open_ops(path)
    add_user(ops, "ana", Role.analyst, PASSWORD, now=datetime(2025, 1, 1))
    add_user(ops, "off", Role.officer, PASSWORD, now=datetime(2025, 1, 1), officer_id="OFF1")
    ops.execute(
        "INSERT INTO survey_invitations (token_hash, victim_id, crime_id, invited_at, as_of, "
        "expires_at, username) VALUES (?, 'V4', 'C1', ?, ?, ?, 'ana')",
        ["0" * 64, datetime(2025, 6, 1), date(2025, 5, 31), datetime(2025, 6, 29)],
    )
    ops.close()
    return path


def runner(**env: str) -> CliRunner:
    return CliRunner(env={"VCOP_PASSWORD": PASSWORD, "VCOP_SURVEY_PUBLIC_BASE_URL": BASE, **env})


def invite(db: Path, out: Path, *extra: str, user: str = "ana", **env: str) -> object:
    args = ["survey", "invite", "--db", str(db), "--as-of", AS_OF.isoformat(), "--out", str(out),
            "--user", user, "--reason", "monthly Victim Voice round", *extra]  # fmt: skip
    return runner(**env).invoke(cli, args)


def read(out: Path) -> list[dict[str, str]]:
    with out.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def chosen(db: Path, when: str, within_days: int = 31) -> set[str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    ops = open_ops(db)
    try:
        from vcop.voice.invitations import invited_pairs

        return {
            d.victim_id
            for d in due(con, AS_OF, when=when, within_days=within_days, invited=invited_pairs(ops))
        }
    finally:
        ops.close()
        con.close()


def test_each_exclusion_and_each_reason_to_invite(db: Path) -> None:
    assert chosen(db, "reached_or_finalised") == {"V1", "=V8", "V5"}
    assert chosen(db, "reached") == {"V1", "=V8"}
    assert chosen(db, "finalised") == {"V5"}
    assert chosen(db, "reached_or_finalised", within_days=600) == {"V1", "=V8", "V5", "V10"}
    assert chosen(db, "reached", within_days=29) == set()  # C1 reached two months 29 days ago


def test_children_are_never_invited(db: Path, tmp_path: Path) -> None:
    import duckdb

    from vcop.voice.invitations import AGE_NOT_RECORDED, UNDER_18

    con = duckdb.connect(str(db), read_only=True)
    try:
        left_out: Counter[str] = Counter()
        chosen = {d.victim_id for d in due(con, AS_OF, within_days=600, left_out=left_out)}
    finally:
        con.close()
    assert {"K1", "K2", "K3"}.isdisjoint(chosen) and "V1" in chosen  # 18 is an adult
    assert left_out == {UNDER_18: 1, AGE_NOT_RECORDED: 1}  # K3 was not due anyway
    out = tmp_path / "invitations.csv"
    result = invite(db, out)
    assert result.exit_code == 0, result.output
    assert not {r["victim_id"] for r in read(out)} & {"K1", "K2", "K3"}
    said = " ".join(result.stdout.split())
    assert "1 age not recorded, 1 under 18" in said and "never invited" in said
    helped = " ".join(runner().invoke(cli, ["survey", "invite", "--help"]).stdout.split())
    assert "Children are never invited: a victim under 18" in helped
    assert "parent or guardian" in helped


def test_invite_writes_links_keeps_only_hashes_and_logs(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "invitations.csv"
    before = datetime.now()
    result = invite(db, out)
    assert result.exit_code == 0, result.output
    assert "Wrote 3 invitation(s)" in result.stdout
    rows = read(out)
    assert list(rows[0]) == ["victim_id", "crime_id", "url", "expires_at"]
    assert {(r["victim_id"], r["crime_id"]) for r in rows} == {
        ("V1", "C1"),
        ("'=V8", "C1"),
        ("V5", "C2"),
    }  # fmt: skip  (the formula-like id is written as text)
    assert out.stat().st_mode & 0o077 == 0  # the links are bearer secrets: the owner's only
    tokens = []
    for row in rows:
        match = re.fullmatch(re.escape(BASE) + r"/voice/([A-Za-z0-9_-]{43})", row["url"])
        assert match, row["url"]
        tokens.append(match.group(1))
        expires = datetime.fromisoformat(row["expires_at"])
        assert before + timedelta(days=28) - timedelta(seconds=1) <= expires
        assert expires <= datetime.now() + timedelta(days=28)
    assert len(set(tokens)) == 3

    ops = open_ops(db)
    stored = ops.query(
        "SELECT token_hash, victim_id, crime_id, username FROM survey_invitations "
        "WHERE victim_id <> 'V4'"
    ).rows
    log = ops.query(
        "SELECT access_id, username, action, reason, detail FROM access_log "
        "WHERE action LIKE 'survey_invite%'"
    ).dicts()
    records = ops.query(
        "SELECT victim_id, crime_id FROM access_records WHERE access_id = ?", [log[0]["access_id"]]
    ).rows
    ops.close()
    hashes = {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert {r[0] for r in stored} == hashes
    assert {r[3] for r in stored} == {"ana"}
    store_bytes = b"".join(
        p.read_bytes() for p in db.parent.iterdir() if p.name.startswith("vcop.ops.sqlite")
    )
    assert not any(t.encode() in store_bytes for t in tokens), "a token itself was stored"

    assert [(e["username"], e["action"], e["reason"]) for e in log] == [
        ("ana", "survey_invite", "monthly Victim Voice round")
    ]
    assert "3 invitation(s)" in log[0]["detail"]
    assert set(records) == {("V1", "C1"), ("=V8", "C1"), ("V5", "C2")}

    again = invite(db, tmp_path / "again.csv")  # never invited twice for one crime
    assert again.exit_code == 0, again.output
    assert read(tmp_path / "again.csv") == []


def test_expiry_and_rule_follow_options_and_settings(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "i.csv"
    result = invite(db, out, "--days", "7", VCOP_SURVEY_INVITE_WHEN="finalised")
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert [r["victim_id"] for r in rows] == ["V5"]
    expires = datetime.fromisoformat(rows[0]["expires_at"])
    assert expires <= datetime.now() + timedelta(days=7)
    assert expires > datetime.now() + timedelta(days=6)


def test_refusals(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "i.csv"
    officer = invite(db, out, user="off")
    assert officer.exit_code == 3 and not out.exists()
    no_reason = runner().invoke(cli, ["survey", "invite", "--db", str(db), "--as-of",
                                      AS_OF.isoformat(), "--out", str(out), "--user", "ana"])  # fmt: skip
    assert no_reason.exit_code == 2 and not out.exists()
    no_base = invite(db, out, VCOP_SURVEY_PUBLIC_BASE_URL="")
    assert no_base.exit_code == 2 and "survey.public_base_url" in no_base.output
    out.write_text("kept")
    exists = invite(db, out)
    assert exists.exit_code == 2 and out.read_text() == "kept"
    ops = open_ops(db)
    try:
        refused = ops.query(
            "SELECT username, action FROM access_log WHERE action = 'survey_invite_refused'"
        ).rows
        invited = ops.scalar("SELECT count(*) FROM survey_invitations")
    finally:
        ops.close()
    assert refused == [("off", "survey_invite_refused")]
    assert invited == 1  # only the one made before


def test_a_refresh_copies_the_answers_into_survey_responses(tmp_path: Path) -> None:
    """Issued by `vcop survey invite`, answered, and in the build after the next `vcop refresh`
    with the officer in charge — and its comment scrubbed."""
    import duckdb

    from vcop.synth import generate
    from vcop.voice.answers import look_up, store_answer

    end = date(2025, 6, 27)
    extract = tmp_path / "extract"
    generate(extract, seed=3, years=1, scale=0.005, end=end)
    db = tmp_path / "vcop.duckdb"
    args = ["refresh", "--from", str(extract), "--db", str(db), "--as-of", end.isoformat(),
            "--no-partner-release"]  # fmt: skip
    assert CliRunner().invoke(cli, args).exit_code == 0
    ops = open_ops(db)
    add_user(ops, "ana", Role.analyst, PASSWORD, now=datetime(2025, 1, 1))
    ops.close()
    out = tmp_path / "invitations.csv"
    result = runner().invoke(cli, ["survey", "invite", "--db", str(db), "--as-of", end.isoformat(),
                                   "--out", str(out), "--user", "ana", "--reason", "round 1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    first = read(out)[0]
    token = first["url"].rsplit("/", 1)[1]
    con = duckdb.connect(str(db), read_only=True)
    officer = con.execute(
        "SELECT officer_id FROM crimes WHERE crime_id = ?", [first["crime_id"]]
    ).fetchone()[0]
    con.close()
    ops = open_ops(db)
    now = datetime.now()
    stored = store_answer(
        ops, look_up(ops, token, now),
        {"whole_experience": 3, "kept_informed": 5, "comment": "Call 07700 900123 please"},
        now, lambda _: (officer, None),
    )  # fmt: skip
    ops.close()
    assert stored is not None
    assert CliRunner().invoke(cli, args).exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT victim_id, crime_id, officer_id, whole_experience, kept_informed, comment "
        "FROM survey_responses WHERE survey = 'victim_voice'"
    ).fetchall()
    con.close()
    assert rows == [(first["victim_id"], first["crime_id"], officer, 3, 5, "Call [phone] please")]


def test_erasure_removes_the_victims_invitations(db: Path, tmp_path: Path) -> None:
    assert invite(db, tmp_path / "i.csv").exit_code == 0
    ops = open_ops(db)
    add_user(ops, "dpo", Role.admin, PASSWORD, now=datetime(2025, 1, 1))
    ops.close()
    erased = runner().invoke(
        cli, ["erase", "--victim", "V1", "--user", "dpo", "--reason", "SAR-9", "--db", str(db)]
    )
    assert erased.exit_code == 0, erased.output or repr(erased.exception)
    ops = open_ops(db)
    try:
        left = {r[0] for r in ops.query("SELECT victim_id FROM survey_invitations").rows}
    finally:
        ops.close()
    assert left == {"V4", "=V8", "V5"}


def test_retention_removes_invitations_about_the_crimes_it_removes(db: Path) -> None:
    ops = open_ops(db)
    add_user(ops, "dpo", Role.admin, PASSWORD, now=datetime(2025, 1, 1))
    ops.execute(  # an invitation about C6, finalised in February 2024
        "INSERT INTO survey_invitations (token_hash, victim_id, crime_id, invited_at, as_of, "
        "expires_at, username) VALUES (?, 'V10', 'C6', ?, ?, ?, 'ana')",
        ["1" * 64, datetime(2024, 3, 1), date(2024, 2, 29), datetime(2024, 3, 29)],
    )
    ops.close()
    done = runner().invoke(
        cli, ["retention", "apply", "--user", "dpo", "--db", str(db), "--years", "1",
              "--today", "2025-06-30"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output or repr(done.exception)
    ops = open_ops(db)
    try:
        left = {r[0] for r in ops.query("SELECT crime_id FROM survey_invitations").rows}
    finally:
        ops.close()
    assert left == {"C1"}, "C6 went with its crime; C1 (not finalised) stays"
