"""The inspection tracker: the statutory response date, recording and listing recommendations,
their append-only history, the CSV import's rejects, and the demo's December 2023 inspection."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vcop.cli import app
from vcop.qa import tracker as t
from vcop.qa.tracker_demo import DEMO_MARK, load_demo, read_content
from vcop.store import access_log
from vcop.store.ops import OpsStore, open_ops
from vcop.web.auth import Role, add_user

PASSWORD = "correct horse battery staple"
REPORT = "joint-victims-2023"
TITLE = (
    "An inspection of how well the police, the Crown Prosecution Service and the Probation "
    "Service support victims of crime"
)
NOW = datetime(2025, 6, 30, 9, 0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A build path whose operational store holds an analyst and a partner (no build is needed:
    the tracker lives in the operational store)."""
    path = tmp_path / "vcop.duckdb"
    ops = open_ops(path)
    add_user(ops, "analyst1", Role.analyst, PASSWORD, now=NOW)
    add_user(ops, "partner1", Role.partner, PASSWORD, now=NOW)
    add_user(ops, "service1", Role.service, PASSWORD, now=NOW)
    ops.close()
    return path


def vcop(db: Path, *args: str, code: int = 0) -> str:
    result = CliRunner(env={"VCOP_PASSWORD": PASSWORD}).invoke(app, [*args, "--db", str(db)])
    assert result.exit_code == code, result.output
    return result.output


def ops_of(db: Path) -> OpsStore:
    return open_ops(db)


def _add_joint(db: Path) -> None:
    vcop(db, "tracker", "add-report", "--id", REPORT, "--title", TITLE,
         "--inspectorate", "HMICFRS, HMCPSI and HMI Probation", "--published", "2023-12-19",
         "--user", "opcc1")  # fmt: skip


# -- the statutory response date ---------------------------------------------------------------


def test_response_due_is_the_last_of_the_56_days_beginning_with_publication() -> None:
    # Published Tuesday 19 December 2023. Counting the publication day as day 1: December has
    # 13 days from the 19th to the 31st (days 1-13), January 31 (days 14-44), and the 12th of
    # February is day 56. The comments had to be published by 12 February 2024 (DECISIONS).
    assert t.response_due(date(2023, 12, 19)) == date(2024, 2, 12)
    # day 1 is the publication day itself: a report published on 1 March is due by 25 April
    # (1-31 March are days 1-31, 1-25 April days 32-56)
    assert t.response_due(date(2024, 3, 1)) == date(2024, 4, 25)
    assert t.response_due(date(2024, 3, 1)) != date(2024, 4, 26)  # not 56 days *after*


def test_the_cli_says_the_due_date_and_list_carries_it(db: Path) -> None:
    out = vcop(db, "tracker", "add-report", "--id", REPORT, "--title", TITLE,
               "--inspectorate", "HMICFRS", "--published", "2023-12-19")  # fmt: skip
    assert "comments due by 12 February 2024" in out
    vcop(db, "tracker", "add", REPORT, "R3", "--text", "Minimum standards for needs assessments",
         "--owner", "College of Policing", "--agency", "police", "--due-by", "2024-12-31",
         "--on", "2024-01-08")  # fmt: skip
    data = json.loads(vcop(db, "tracker", "list", "--format", "json", "--as-of", "2024-03-01",
                           "--user", "analyst1", "--reason", "board pack"))  # fmt: skip
    assert data["items"][0]["response_due"] == "2024-02-12"


# -- recording and listing ---------------------------------------------------------------------


def test_add_update_and_list_in_each_format(db: Path) -> None:
    _add_joint(db)
    vcop(db, "tracker", "add", REPORT, "R3", "--text", "Minimum standards for needs assessments",
         "--owner", "College of Policing", "--agency", "police", "--due-by", "2024-12-31",
         "--on", "2024-01-08", "--user", "opcc1")  # fmt: skip
    vcop(db, "tracker", "add", REPORT, "R6", "--text", "Victim Contact Scheme training",
         "--owner", "Probation Service", "--agency", "hmpps", "--due-by", "2024-09-30",
         "--on", "2024-01-08")  # fmt: skip
    vcop(db, "tracker", "update", f"{REPORT}/R3", "--status", "in_progress", "--on", "2024-02-09",
         "--note", "force response published")  # fmt: skip
    vcop(db, "tracker", "update", f"{REPORT}/R6", "--status", "closed", "--on", "2024-11-11",
         "--evidence", "https://lcjb.example/minutes-2024-11")  # fmt: skip
    vcop(db, "tracker", "update", REPORT, "--responded-on", "2024-02-09")

    table = vcop(db, "tracker", "list", "--as-of", "2025-06-30")
    assert "R3" in table and "in_progress" in table and "2024-02-12" in table
    assert "comments due by 2024-02-12 (published)" in table.replace("\n", " ")

    text = vcop(db, "tracker", "list", "--format", "csv", "--as-of", "2025-06-30",
                "--user", "analyst1", "--reason", "board pack")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["reference"] for r in rows] == ["R3", "R6"]
    assert set(rows[0]) == set(t.LIST_FIELDS) and "response_due" in rows[0]
    r3, r6 = rows
    assert (r3["status"], r3["status_on"], r3["overdue"], r3["response_due"]) == (
        "in_progress", "2024-02-09", "True", "2024-02-12")  # fmt: skip
    assert (r6["status"], r6["overdue"], r6["evidence"]) == (
        "closed", "False", "https://lcjb.example/minutes-2024-11")  # fmt: skip
    assert r3["responded_on"] == "2024-02-09"

    # as it stood on an earlier day: R3 was open and not yet overdue
    data = json.loads(vcop(db, "tracker", "list", "--format", "json", "--as-of", "2024-02-01",
                           "--user", "partner1", "--reason", "LCJB"))  # fmt: skip
    assert data["as_of"] == "2024-02-01"
    assert [(i["reference"], i["status"], i["overdue"]) for i in data["items"]] == [
        ("R3", "open", False), ("R6", "open", False)]  # fmt: skip

    # --since: only what changed on or after the day; --overdue: only what is overdue
    since = vcop(db, "tracker", "list", "--format", "json", "--as-of", "2025-06-30", "--since",
                 "2024-06-01", "--user", "analyst1", "--reason", "board pack")  # fmt: skip
    assert [i["reference"] for i in json.loads(since)["items"]] == ["R6"]
    late = vcop(db, "tracker", "list", "--format", "json", "--as-of", "2025-06-30", "--overdue",
                "--user", "analyst1", "--reason", "board pack")  # fmt: skip
    assert [i["reference"] for i in json.loads(late)["items"]] == ["R3"]


def test_an_export_needs_an_account_and_a_reason_and_is_logged(db: Path) -> None:
    _add_joint(db)
    vcop(db, "tracker", "add", REPORT, "R3", "--text", "x", "--owner", "College of Policing")
    vcop(db, "tracker", "list", "--format", "csv", "--user", "analyst1", code=2)  # no reason
    vcop(db, "tracker", "list", "--format", "csv", "--user", "service1", "--reason", "x", code=3)
    vcop(db, "tracker", "list", "--format", "csv", "--user", "analyst1", "--reason", "pack")
    vcop(db, "tracker", "list")  # the table on screen is not an export
    ops = ops_of(db)
    try:
        log = access_log.entries(ops)
    finally:
        ops.close()
    actions = [(e["username"], e["action"], e["reason"]) for e in log]
    assert actions == [
        ("service1", "tracker_export_refused", "x"),
        ("analyst1", "tracker_export", "pack"),
    ]
    assert "format=csv" in str(log[-1]["detail"]) and "1 item(s)" in str(log[-1]["detail"])


def test_bad_values_are_refused_naming_the_field(db: Path) -> None:
    _add_joint(db)
    assert "--agency" in vcop(db, "tracker", "add", REPORT, "R1", "--text", "x", "--owner", "y",
                              "--agency", "mi5", code=2)  # fmt: skip
    assert "--status" in vcop(db, "tracker", "add", REPORT, "R1", "--text", "x", "--owner", "y",
                              "--status", "done", code=2)  # fmt: skip
    assert "no report 'other'" in vcop(db, "tracker", "add", "other", "R1", "--text", "x",
                                       "--owner", "y", code=2)  # fmt: skip
    vcop(db, "tracker", "add", REPORT, "R1", "--text", "x", "--owner", "y")
    assert "in the tracker already" in vcop(db, "tracker", "add", REPORT, "R1", "--text", "x",
                                            "--owner", "y", code=2)  # fmt: skip
    assert "closing needs evidence" in vcop(db, "tracker", "update", f"{REPORT}/R1", "--status",
                                            "closed", code=2)  # fmt: skip
    assert "already a report" in vcop(db, "tracker", "add-report", "--id", REPORT, "--title", "t",
                                      "--inspectorate", "i", "--published", "2024-01-01",
                                      code=2)  # fmt: skip


def test_free_text_is_scrubbed_of_contact_details(db: Path) -> None:
    _add_joint(db)
    vcop(db, "tracker", "add", REPORT, "R1", "--text", "Standards", "--owner", "OPCC",
         "--note", "ring the lead on 07700 900123 or lead@example.com")  # fmt: skip
    ops = ops_of(db)
    try:
        note = t.items_as_of(ops, date.today())[0].note
    finally:
        ops.close()
    assert note is not None and "07700" not in note and "example.com" not in note


# -- the history is append-only ----------------------------------------------------------------


def test_the_status_history_is_append_only(db: Path) -> None:
    _add_joint(db)
    vcop(db, "tracker", "add", REPORT, "R3", "--text", "x", "--owner", "y", "--on", "2024-01-08",
         "--user", "opcc1")  # fmt: skip
    ops = ops_of(db)
    try:
        first = t.history(ops, REPORT, "R3")
    finally:
        ops.close()
    vcop(db, "tracker", "update", f"{REPORT}/R3", "--status", "in_progress", "--on", "2024-02-09",
         "--user", "opcc2")  # fmt: skip
    vcop(db, "tracker", "update", f"{REPORT}/R3", "--note", "progress reported", "--on",
         "2024-03-01")  # fmt: skip
    ops = ops_of(db)
    try:
        rows = t.history(ops, REPORT, "R3")
        # earlier rows are kept as they were, each change is a row of its own, with who
        assert rows[0] == first[0]
        assert [(h.status, h.changed_on, h.username) for h in rows[:2]] == [
            (t.Status.open, date(2024, 1, 8), "opcc1"),
            (t.Status.in_progress, date(2024, 2, 9), "opcc2"),
        ]
        # a note alone keeps the status
        assert (rows[2].status, rows[2].note) == (t.Status.in_progress, "progress reported")
        # the store refuses to change or delete a row, whoever asks
        for sql in ("UPDATE tracker_updates SET status = 'closed'", "DELETE FROM tracker_updates"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                ops.execute(sql)
        assert len(t.history(ops, REPORT, "R3")) == 3
    finally:
        ops.close()


# -- the import ----------------------------------------------------------------------------------

HEADER = "report_id,reference,kind,text,owner,agency,due_by,status,changed_on,note,evidence\n"


def test_import_rejects_a_bad_row_naming_row_and_field_and_writes_nothing(
    db: Path, tmp_path: Path
) -> None:
    _add_joint(db)
    path = tmp_path / "recs.csv"
    path.write_text(
        HEADER + f"{REPORT},R1,recommendation,Wider review,Ministry of Justice,,2024-12-31,open,"
        "2024-01-08,,\n"
        + f"{REPORT},R2,recommendation,Metrics,Ministry of Justice,,2024-13-45,open,,,\n"
        + f"{REPORT},R3,recommendation,Standards,College of Policing,police,,closed,,,\n"
        + f"{REPORT},R1,advice,Again,OPCC,,,,,,\n"
    )
    out = vcop(db, "tracker", "import", str(path), code=1)
    assert "row 3, due_by: '2024-13-45' is not a date" in out
    assert "row 4, evidence: closing needs evidence" in out
    assert "row 5, kind: 'advice' is not a kind" in out
    assert "row 5, reference: joint-victims-2023/R1 is on row 2 too" in out
    assert "nothing was written" in out
    ops = ops_of(db)
    try:
        assert t.is_empty(ops)
        assert ops.scalar("SELECT count(*) FROM tracker_updates") == 0
    finally:
        ops.close()


def test_import_of_good_rows_writes_them_all(db: Path, tmp_path: Path) -> None:
    _add_joint(db)
    path = tmp_path / "recs.csv"
    path.write_text(
        HEADER + f"{REPORT},R1,recommendation,Wider review,Ministry of Justice,,2024-12-31,open,"
        "2024-01-08,,\n"
        + f"{REPORT},AFI1,area_for_improvement,Needs assessments,Force,police,,in_progress,,"
        "started,\n"
    )
    assert "Added 2 item(s)" in vcop(db, "tracker", "import", str(path), "--on", "2024-02-01")
    ops = ops_of(db)
    try:
        rows = {r.item.reference: r for r in t.items_as_of(ops, date(2024, 3, 1))}
    finally:
        ops.close()
    assert rows["R1"].status_on == date(2024, 1, 8)
    assert (rows["AFI1"].item.kind, rows["AFI1"].status, rows["AFI1"].status_on) == (
        t.Kind.area_for_improvement, t.Status.in_progress, date(2024, 2, 1))  # fmt: skip
    # the same file again: every row is in the tracker already
    assert "row 2, reference" in vcop(db, "tracker", "import", str(path), code=1)


def test_import_refuses_a_file_with_unknown_or_missing_columns(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "recs.csv"
    path.write_text("report_id,reference,text,victim_name\nx,R1,t,n\n")
    out = vcop(db, "tracker", "import", str(path), code=2)
    assert "missing column(s) kind, owner" in out and "unknown column(s) victim_name" in out


# -- the demo's content --------------------------------------------------------------------------


def test_the_demo_holds_the_december_2023_joint_inspection(tmp_path: Path) -> None:
    content = read_content()
    assert content.report.title == TITLE
    assert content.report.published_on == date(2023, 12, 19)
    assert content.report.response_due == date(2024, 2, 12)
    assert "synthetic" in (content.report.origin or "")
    # the origin is read on the page and in the board paper: words, no developer's file path
    assert "/" not in (content.report.origin or "").replace("https://", "")
    assert "seeds" not in (content.report.origin or "")
    # the six recommendations the seeds list, with the dates they give
    assert [(i.reference, i.due_by) for i in content.items] == [
        ("R1", date(2024, 12, 31)), ("R2", date(2024, 9, 30)), ("R3", date(2024, 12, 31)),
        ("R4", date(2024, 9, 30)), ("R5", date(2024, 12, 31)), ("R6", date(2024, 9, 30)),
    ]  # fmt: skip
    # summarised, not copied: no long run of words from the seeds' text of the recommendation
    seeds = Path(__file__).parents[2] / "shared" / "seeds"
    if seeds.is_dir():
        source = " ".join(" ".join(p.read_text().split()) for p in seeds.glob("*.txt")).lower()
        for item in content.items:
            words = item.text.lower().split()
            runs = [" ".join(words[i : i + 8]) for i in range(len(words) - 7)]
            assert not [r for r in runs if r in source], item.reference
    ops = open_ops(tmp_path / "vcop.duckdb")
    try:
        assert load_demo(ops, now=NOW, until=date(2025, 6, 30))
        assert not load_demo(ops, now=NOW, until=date(2025, 6, 30))  # once
        rows = t.items_as_of(ops, date(2025, 6, 30))
        assert len(rows) == 6
        assert all(h.note and h.note.startswith(DEMO_MARK) for r in rows for h in r.history)
        assert {r.status for r in rows} >= {t.Status.in_progress, t.Status.closed}
        closed = [r for r in rows if r.status is t.Status.closed]
        assert all(r.evidence for r in closed)
    finally:
        ops.close()
