"""`vcop ingest`: validation, rejects, idempotency, updates and transactions."""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from vcop.cli import app
from vcop.ingest import ExtractError, load_paths
from vcop.spec.profile import load_profile
from vcop.spec.schema import load_schema
from vcop.store import connect

STANDARD = load_profile("standard")


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: equal snapshots mean an unchanged database."""
    names = [*load_schema().table_names, "batches", "rejects"]
    return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


def rejects_of(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for row, column, reason in con.execute(
        'SELECT "row", "column", reason FROM rejects WHERE table_name = ? ORDER BY "row"', [table]
    ).fetchall():
        out.setdefault(row, []).append((column, reason))
    return out


def test_tiny_extract_loads_good_rows_and_rejects_every_bad_one(tiny: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [tiny], STANDARD)
    by_table = {f.table: f for f in result.files}

    crimes = by_table["crimes"]
    assert (crimes.rows_read, crimes.rows_loaded, crimes.rows_rejected) == (13, 4, 9)
    assert crimes.rows_inserted == 3  # T-C2 appears twice, identically: loaded once
    assert con.execute("SELECT crime_id FROM crimes ORDER BY 1").fetchall() == [
        ("T-C1",),
        ("T-C2",),
        ("T-C3",),
    ]
    # a lower-case allowed value is stored in its canonical spelling; Y means true
    assert con.execute(
        "SELECT crime_type, domestic_abuse FROM crimes WHERE crime_id='T-C3'"
    ).fetchall() == [("Burglary", True)]
    bad = rejects_of(con, "crimes")
    assert set(bad) == {5, 6, 7, 8, 9, 10, 11, 13, 14}
    assert bad[5] == [
        (
            "reported_at",
            "'31/01/2025' is not a valid date-time (ISO 8601, e.g. 2025-01-31 or 2025-01-31T14:05)",
        )
    ]
    assert (
        bad[6][0][0] == "crime_type" and "'Burglery' is not an allowed crime_type" in bad[6][0][1]
    )
    assert bad[7] == [("domestic_abuse", "'maybe' is not true/false, yes/no, y/n or 1/0")]
    assert bad[8] == [("outcome_code", "outcome_code 99 is above the maximum 22")]
    assert bad[9] == [("crime_id", "crime_id is required but is blank")]
    assert bad[10] == [
        (
            "crime_id",
            "crime_id 'T-C8' appears again on row 11 with different values; all are rejected",
        )
    ]
    assert bad[11] == [
        (
            "crime_id",
            "crime_id 'T-C8' appears again on row 10 with different values; all are rejected",
        )
    ]
    assert "outside the years" in bad[13][0][1]
    assert bad[14] == [(None, "the row has 15 fields but the header has 14")]

    victims = by_table["victims"]
    assert (victims.rows_read, victims.rows_loaded, victims.rows_rejected) == (7, 3, 4)
    bad = rejects_of(con, "victims")
    assert bad[4] == [
        ("crime_id", "crime_id 'T-C99' is not a crime in this extract or the database")
    ]
    assert bad[5] == [("age_at_report", "age_at_report 150 is above the maximum 120")]
    assert bad[7] == [
        (
            "crime_id",
            "crime_id 'T-C4' is not a crime in this extract or the database; its row 5 in crimes.csv was rejected",
        )
    ]
    assert bad[8] == [("age_at_report", "'thirty' is not a whole number")]
    assert con.execute("SELECT sex, ethnicity FROM victims WHERE victim_id='T-V5'").fetchall() == [
        ("female", "black")
    ]

    events = rejects_of(con, "case_events")
    assert events[4][0][0] == "event_type" and events[5] == [
        ("event_at", "event_at is required but is blank")
    ]

    contacts = rejects_of(con, "contacts")
    assert contacts[4] == [
        (
            "victim_id",
            "victim_id 'T-V1', crime_id 'T-C2' is not a victim of that crime in this extract or the database",
        )
    ]
    assert contacts[5] == [
        (
            "about_event_id",
            "about_event_id 'T-E404' is not a case event in this extract or the database",
        )
    ]
    assert [c for c, _ in contacts[6]] == ["purpose", "channel"]
    # `successful` defaults to true when blank; a voicemail (false) is kept as false
    assert con.execute("SELECT contact_id, successful FROM contacts ORDER BY 1").fetchall() == [
        ("T-K1", True),
        ("T-K2", False),
    ]

    assert con.execute(
        "SELECT ease_of_contact, follow_up, whole_experience FROM survey_responses"
    ).fetchall() == [(1, 3, 7)]
    assert rejects_of(con, "survey_responses")[3][0][0] == "ease_of_contact"

    for f in result.files:
        assert f.rows_read == f.rows_loaded + f.rows_rejected
        assert con.execute(
            "SELECT rows_read, rows_loaded, rows_rejected FROM batches WHERE batch_id=?",
            [f.batch_id],
        ).fetchall() == [(f.rows_read, f.rows_loaded, f.rows_rejected)]


def test_second_load_changes_nothing(tiny: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    load_paths(con, [tiny], STANDARD)
    before = snapshot(con)
    again = load_paths(con, [tiny], STANDARD)
    assert all(f.skipped and "already loaded" in f.skipped for f in again.files)
    assert snapshot(con) == before
    # even forced (or a renamed copy of the same extract), no canonical row changes
    forced = load_paths(con, [tiny], STANDARD, force=True)
    assert all(f.rows_inserted == 0 and f.rows_updated == 0 for f in forced.files)
    after = snapshot(con)
    for table in load_schema().table_names:
        assert after[table] == before[table]


def test_newer_extract_updates_changed_rows(tiny: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    load_paths(con, [tiny], STANDARD)
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "crimes.csv").write_text(
        "crime_id,reported_at,crime_type,outcome_code,outcome_at\n"
        "T-C1,2025-01-06T09:30:00,Violence and sexual offences,1,2025-03-01T10:00\n"
        "T-C20,2025-03-02,Shoplifting,,\n"
    )
    result = load_paths(con, [newer], STANDARD)
    (f,) = result.files
    assert (f.rows_inserted, f.rows_updated, f.rows_unchanged) == (1, 1, 0)
    assert con.execute(
        "SELECT outcome_code, batch_id FROM crimes WHERE crime_id='T-C1'"
    ).fetchall() == [(1, f.batch_id)]
    assert con.execute("SELECT count(*) FROM crimes").fetchall() == [(4,)]


def test_interrupted_load_leaves_database_unchanged(tiny: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copy(tiny / "crimes.csv", seed)
    load_paths(con, [seed], STANDARD)
    before = snapshot(con)
    calls = []

    def interrupt(_: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_paths(con, [tiny], STANDARD, force=True, after_file=interrupt)
    assert snapshot(con) == before


def test_crash_mid_load_leaves_database_unchanged(tiny: Path, tmp_path: Path) -> None:
    """A process killed outright (SIGKILL) midway through a load: the file is as before."""
    db = tmp_path / "v.duckdb"
    con = connect(db)
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copy(tiny / "crimes.csv", seed)
    load_paths(con, [seed], STANDARD)
    before = snapshot(con)
    con.close()
    script = textwrap.dedent(
        f"""
        import os, signal
        from vcop.ingest import load_paths
        from vcop.spec.profile import load_profile
        from vcop.store import connect
        con = connect({str(db)!r})
        def die(result):
            if result.table == "case_events":
                os.kill(os.getpid(), signal.SIGKILL)
        load_paths(con, [{str(tiny)!r}], load_profile("standard"), force=True, after_file=die)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    con = connect(db)
    assert snapshot(con) == before


def test_unreadable_and_malformed_files_name_the_file(tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "crimes.csv").write_bytes(
        "crime_id,reported_at,crime_type\nC1,2025-01-01,Caf\xe9\n".encode("latin-1")
    )
    with pytest.raises(ExtractError, match=r"crimes\.csv: is not UTF-8"):
        load_paths(con, [bad], STANDARD)
    (bad / "crimes.csv").write_text("crime_id,crime_type\nC1,Burglary\n")
    with pytest.raises(ExtractError, match=r"crimes\.csv: required column reported_at missing"):
        load_paths(con, [bad], STANDARD)
    (bad / "crimes.csv").write_text("")
    with pytest.raises(ExtractError, match=r"crimes\.csv: the file is empty"):
        load_paths(con, [bad], STANDARD)
    with pytest.raises(ExtractError, match="no such file or folder"):
        load_paths(con, [tmp_path / "missing"], STANDARD)
    (bad / "crimes.csv").unlink()
    (bad / "notes.txt").write_text("hello")
    with pytest.raises(ExtractError, match="no files of the vcop standard extract"):
        load_paths(con, [bad], STANDARD)
    assert snapshot(con)["batches"] == []


def test_xlsx_and_parquet_extracts(tiny: Path, tmp_path: Path) -> None:
    import openpyxl

    with (tiny / "crimes.csv").open() as f:
        rows = list(csv.reader(f))
    rows = [r for r in rows if len(r) == len(rows[0])]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "crimes"
    for r in rows:
        ws.append(r)
    wb.create_sheet("notes").append(["not a table"])
    wb.save(tmp_path / "extract.xlsx")
    con = connect(tmp_path / "x.duckdb")
    result = load_paths(con, [tmp_path / "extract.xlsx"], STANDARD)
    assert [(f.table, f.rows_read, f.rows_loaded) for f in result.files] == [("crimes", 12, 4)]
    assert result.notes and "notes" in result.notes[0]
    assert rejects_of(con, "crimes")[5][0][0] == "reported_at"  # spreadsheet row numbers

    header, *body = rows
    pq.write_table(
        pa.table({h: [r[i] for r in body] for i, h in enumerate(header)}),
        tmp_path / "crimes.parquet",
    )
    con = connect(tmp_path / "p.duckdb")
    (f,) = load_paths(con, [tmp_path / "crimes.parquet"], STANDARD).files
    assert (f.rows_read, f.rows_loaded) == (12, 4)


def test_example_rms_profile(tmp_path: Path) -> None:
    (tmp_path / "Occurrences.csv").write_text(
        "Occurrence Ref,Date Reported,Crime Category,DA Flag,LPA,Victim Surname\n"
        "OCC/1,06/01/2025 09:30,VSO,Y,North,\n"
        "OCC/2,07/01/2025,BURG,N,South,\n"
        "OCC/3,2025-01-08,burg,N,South,\n"
        "OCC/4,32/01/2025,BURG,N,South,\n"
    )
    (tmp_path / "Victims.csv").write_text(
        "Person Ref,Occurrence Ref,Age,Gender,Ethnic Group\nP1,OCC/1,34,F,W\nP2,OCC/2,70,U,NS\n"
    )
    con = connect(tmp_path / "r.duckdb")
    result = load_paths(con, [tmp_path], load_profile("example-rms"))
    crimes, victims = result.files
    assert crimes.personal_columns == ["Victim Surname"]
    assert con.execute(
        "SELECT crime_id, reported_at::VARCHAR, crime_type, domestic_abuse FROM crimes ORDER BY 1"
    ).fetchall() == [
        ("OCC/1", "2025-01-06 09:30:00", "Violence and sexual offences", True),
        ("OCC/2", "2025-01-07 00:00:00", "Burglary", False),
        ("OCC/3", "2025-01-08 00:00:00", "Burglary", False),
    ]
    assert (
        "'32/01/2025' is not a valid date-time ('%d/%m/%Y %H:%M:%S'"
        in rejects_of(con, "crimes")[5][0][1]
    )
    assert con.execute("SELECT victim_id, sex, ethnicity FROM victims ORDER BY 1").fetchall() == [
        ("P1", "female", "white"),
        ("P2", "not_stated", "not_stated"),
    ]
    assert victims.rows_rejected == 0


#: A password the policy accepts.
STRONG = "violet kettle orbit lantern"


def test_cli_ingest_and_rejects(tiny: Path, tmp_path: Path) -> None:
    from datetime import datetime

    from vcop.store.ops import open_ops
    from vcop.web.auth import Role, add_user

    runner = CliRunner()
    db = tmp_path / "c.duckdb"
    out = runner.invoke(app, ["ingest", str(tiny), "--db", str(db)])
    assert out.exit_code == 3, out.output  # loaded, with rejects past --max-reject-share
    assert "crimes" in out.output
    add_user(open_ops(db), "dq", Role.analyst, STRONG, now=datetime(2025, 7, 1))
    listed = runner.invoke(
        app,
        ["rejects", "--db", str(db), "--format", "csv", "--user", "dq", "--reason", "data check"],
        env={"VCOP_PASSWORD": STRONG},
    )
    assert listed.exit_code == 0, listed.output
    lines = list(csv.DictReader(listed.output.splitlines()))
    assert {"file", "row", "column", "value", "reason"} <= set(lines[0])
    assert any(
        r["row"] == "5" and r["value"] == "31/01/2025" and r["file"].endswith("crimes.csv")
        for r in lines
    )
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope"), "--db", str(db)])
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.output


VALUES = {
    "crime_id": st.sampled_from(["A", "B", "C", "D", "", "E"]),
    "reported_at": st.sampled_from(
        ["2025-01-01", "2025-02-30", "", "2025-03-01T10:00", "1/1/2025"]
    ),
    "crime_type": st.sampled_from(["Burglary", "robbery", "Nonsense", ""]),
    "domestic_abuse": st.sampled_from(["yes", "N", "", "perhaps", "1"]),
    "outcome_code": st.sampled_from(["", "1", "18", "0", "x"]),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries(VALUES), min_size=1, max_size=12))
def test_property_rows_read_equals_loaded_plus_rejected_and_reload_is_noop(
    rows: list[dict[str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        with (folder / "crimes.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(VALUES))
            writer.writeheader()
            writer.writerows(rows)
        con = connect(folder / "p.duckdb")
        (first,) = load_paths(con, [folder / "crimes.csv"], STANDARD).files
        assert first.rows_read == len(rows)
        assert first.rows_read == first.rows_loaded + first.rows_rejected
        rejected_rows = con.execute('SELECT count(DISTINCT "row") FROM rejects').fetchall()[0][0]
        assert rejected_rows == first.rows_rejected
        before = snapshot(con)
        (second,) = load_paths(con, [folder / "crimes.csv"], STANDARD, force=True).files
        assert (second.rows_inserted, second.rows_updated) == (0, 0)
        after = snapshot(con)
        assert after["crimes"] == before["crimes"]
        con.close()
