"""Partner extracts: `vcop ingest --agency ID` and one folder per agency under `vcop refresh`.

A partner's extract loads exactly like the police's (profiles, rejects, batches, idempotent
reloads), may hold only the tables its body supplies, and links to the police's crimes and
victims: a record that links to nothing is a reject naming its file, row and field. Fixtures hold
pseudonymous ids only.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from vcop.ingest import AGENCIES, ExtractError, load_paths, supplied_tables
from vcop.refresh import sources
from vcop.spec.profile import load_profile
from vcop.spec.schema import load_schema
from vcop.store import connect

STANDARD = load_profile("standard")
CONTACT_COLUMNS = ["contact_id", "victim_id", "crime_id", "contact_at", "purpose", "about_event_id"]

POLICE = {
    "crimes": [
        ["crime_id", "reported_at", "crime_type"],
        ["P-C1", "2025-01-06T09:30:00", "Burglary"],
        ["P-C2", "2025-01-07T10:00:00", "Robbery"],
    ],
    "victims": [
        ["victim_id", "crime_id", "age_at_report", "bereaved_relative"],
        ["P-V1", "P-C1", "34", "no"],
        ["P-V2", "P-C2", "51", "yes"],
    ],
}

CPS = {
    # no agency column: every row is the CPS's
    "agency_events": [
        ["event_id", "crime_id", "victim_id", "event_type", "event_at"],
        ["CPS-E1", "P-C1", "P-V1", "special_measures_applied", "2025-02-03T10:00:00"],
        ["CPS-E2", "P-C2", "", "appeal_lodged", "2025-02-04"],
    ],
    "agency_contacts": [
        CONTACT_COLUMNS,
        ["CPS-K1", "P-V1", "P-C1", "2025-02-05", "special_measures_outcome", "CPS-E1"],
        ["CPS-K2", "P-V2", "P-C2", "2025-02-06", "bereaved_meeting_offer", ""],
    ],
    "review_requests": [
        ["request_id", "victim_id", "crime_id", "requested_at", "completed_at", "outcome"],
        ["CPS-R1", "P-V1", "P-C1", "2025-03-01", "2025-03-20", "not_upheld"],
    ],
    "expense_claims": [
        ["agency", "claim_id", "victim_id", "crime_id", "received_at", "paid_at"],
        ["cps", "CPS-X1", "P-V2", "P-C2", "2025-03-03", "2025-03-10"],
    ],
}


def write(folder: Path, tables: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    return folder


def rejects(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, str, str]]:
    """(file name, table, row, column, reason) of every reject."""
    return [
        (Path(file).name, table, row, column, reason)
        for file, table, row, column, reason in con.execute(
            'SELECT file, table_name, "row", "column", reason FROM rejects '
            'ORDER BY table_name, "row", "column"'
        ).fetchall()
    ]


@pytest.fixture
def police(tmp_path: Path) -> Path:
    return write(tmp_path / "police", POLICE)


@pytest.fixture
def con(tmp_path: Path, police: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [police], STANDARD)
    assert result.rows_rejected == 0
    return con


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    names = [*load_schema().table_names, "rejects"]
    return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


def test_the_agencies_and_what_each_supplies() -> None:
    assert load_schema().value_lists["agencies"] == AGENCIES and AGENCIES[0] == "police"
    assert set(supplied_tables("police")) == set(load_schema().table_names)
    partner = {"agency_events", "agency_contacts", "complaints", "interpretation_needs"}
    assert set(supplied_tables("cps")) == partner | {"review_requests", "expense_claims"}
    assert set(supplied_tables("wcu")) == partner | {"expense_claims"}
    assert set(supplied_tables("hmpps")) == partner
    for agency in AGENCIES[1:]:
        assert "crimes" not in supplied_tables(agency)
        assert "referrals" not in supplied_tables(agency)


def test_a_cps_extract_loads_beside_the_police_one(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    result = load_paths(con, [write(tmp_path / "cps", CPS)], STANDARD, agency="cps")
    assert result.agency == "cps" and result.rows_rejected == 0, rejects(con)
    assert {f.table: f.rows_loaded for f in result.files} == {
        "agency_events": 2, "agency_contacts": 2, "review_requests": 1, "expense_claims": 1,
    }  # fmt: skip
    # the agency column comes from --agency where the file has none
    assert con.execute(
        "SELECT agency, event_id, crime_id, victim_id FROM agency_events ORDER BY event_id"
    ).fetchall() == [("cps", "CPS-E1", "P-C1", "P-V1"), ("cps", "CPS-E2", "P-C2", None)]
    assert con.execute(
        "SELECT DISTINCT agency FROM agency_contacts UNION ALL SELECT agency FROM review_requests"
    ).fetchall() == [("cps",), ("cps",)]
    # the police's rows are untouched and every file is a batch of its own
    assert con.execute("SELECT count(*) FROM crimes").fetchall() == [(2,)]
    assert con.execute("SELECT count(*) FROM batches").fetchall() == [(6,)]


def test_reloading_a_partner_extract_changes_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    cps = write(tmp_path / "cps", CPS)
    load_paths(con, [cps], STANDARD, agency="cps")
    before = snapshot(con)
    again = load_paths(con, [cps], STANDARD, agency="cps")
    assert all(f.skipped for f in again.files)
    forced = load_paths(con, [cps], STANDARD, agency="cps", force=True)
    assert sum(f.rows_unchanged for f in forced.files) == 6
    assert sum(f.rows_inserted + f.rows_updated for f in forced.files) == 0
    assert snapshot(con) == before


def test_the_same_bytes_as_another_bodys_extract_are_not_skipped(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    events = {"agency_events": CPS["agency_events"]}
    load_paths(con, [write(tmp_path / "cps", events)], STANDARD, agency="cps")
    wcu = write(tmp_path / "wcu", {"agency_events": CPS["agency_events"]})
    result = load_paths(con, [wcu], STANDARD, agency="wcu")
    assert not result.files[0].skipped and result.files[0].rows_inserted == 2
    assert con.execute(
        "SELECT agency, count(*) FROM agency_events GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("cps", 2), ("wcu", 2)]


def test_a_partner_row_that_links_to_nothing_is_rejected(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    extract = write(
        tmp_path / "cps",
        {
            "agency_events": [
                ["event_id", "crime_id", "event_type", "event_at"],
                ["CPS-E1", "P-C1", "hearing_outcome", "2025-02-03"],
                ["CPS-E2", "P-C9", "hearing_outcome", "2025-02-03"],  # no such crime
            ],
            "agency_contacts": [
                CONTACT_COLUMNS,
                ["CPS-K1", "P-V1", "P-C1", "2025-02-05", "hearing_outcome", "CPS-E1"],
                ["CPS-K2", "P-V1", "P-C2", "2025-02-05", "other", ""],  # not a victim of P-C2
                ["CPS-K3", "P-V1", "P-C1", "2025-02-05", "hearing_outcome", "CPS-E7"],  # no event
                ["CPS-K4", "P-V1", "P-C1", "2025-02-05", "hearing_outcome", "CPS-E2"],  # rejected
            ],
        },
    )
    result = load_paths(con, [extract], STANDARD, agency="cps")
    assert {f.table: (f.rows_loaded, f.rows_rejected) for f in result.files} == {
        "agency_events": (1, 1),
        "agency_contacts": (1, 3),
    }
    found = rejects(con)
    assert [(f, t, r, c) for f, t, r, c, _ in found] == [
        ("agency_contacts.csv", "agency_contacts", 3, "victim_id"),
        ("agency_contacts.csv", "agency_contacts", 4, "about_event_id"),
        ("agency_contacts.csv", "agency_contacts", 5, "about_event_id"),
        ("agency_events.csv", "agency_events", 3, "crime_id"),
    ]
    reasons = [reason for *_, reason in found]
    assert reasons[0].startswith(
        "victim_id 'P-V1', crime_id 'P-C2' is not a victim of that crime in this extract or the "
        "database; partner records link to the police's crimes and victims"
    )
    assert reasons[1] == (
        "about_event_id 'CPS-E7', agency 'cps' is not an event of the same agency in "
        "agency_events in this extract or the database"
    )
    assert reasons[2].endswith("; its row 3 in agency_events.csv was rejected")
    assert reasons[3].startswith("crime_id 'P-C9' is not a crime in this extract or the database")
    assert "load the police extract first" in reasons[3]
    assert con.execute("SELECT contact_id FROM agency_contacts").fetchall() == [("CPS-K1",)]


def test_a_contact_about_another_bodys_event_is_rejected(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    wcu = write(
        tmp_path / "wcu",
        {
            "agency_events": [
                ["event_id", "crime_id", "victim_id", "event_type", "event_at"],
                ["W-E1", "P-C1", "P-V1", "witness_warned", "2025-02-03"],
            ]
        },
    )
    load_paths(con, [wcu], STANDARD, agency="wcu")
    hmcts = write(
        tmp_path / "hmcts",
        {
            "agency_contacts": [
                CONTACT_COLUMNS,
                ["H-K1", "P-V1", "P-C1", "2025-02-04", "other", "W-E1"],
            ]
        },
    )
    result = load_paths(con, [hmcts], STANDARD, agency="hmcts")
    assert result.rows_rejected == 1
    assert [(r[2], r[3]) for r in rejects(con)] == [(2, "about_event_id")]


def test_a_mismatched_agency_is_rejected(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    extract = write(
        tmp_path / "cps",
        {
            "complaints": [
                ["agency", "complaint_id", "victim_id", "crime_id", "received_at"],
                ["cps", "Q1", "P-V1", "P-C1", "2025-02-03"],
                ["WCU", "Q2", "P-V1", "P-C1", "2025-02-03"],  # another body's record
                ["", "Q3", "P-V2", "P-C2", "2025-02-03"],  # blank: the extract's own body
                ["nobody", "Q4", "P-V2", "P-C2", "2025-02-03"],  # not an agency at all
            ]
        },
    )
    result = load_paths(con, [extract], STANDARD, agency="cps")
    assert (result.files[0].rows_loaded, result.files[0].rows_rejected) == (2, 2)
    found = rejects(con)
    assert [(f, r, c) for f, _, r, c, _ in found] == [
        ("complaints.csv", 3, "agency"),
        ("complaints.csv", 5, "agency"),
    ]
    assert found[0][4] == (
        "agency 'wcu' is not cps: this is cps's own extract (--agency cps), so every row must be "
        "cps's record; load another body's records with its own --agency"
    )
    assert found[1][4].startswith("'nobody' is not an allowed agency")
    assert con.execute("SELECT complaint_id, agency FROM complaints ORDER BY 1").fetchall() == [
        ("Q1", "cps"),
        ("Q3", "cps"),
    ]


def test_a_police_only_table_in_a_partner_extract_is_refused(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    extract = write(tmp_path / "cps", {**CPS, "crimes": POLICE["crimes"]})
    before = snapshot(con)
    with pytest.raises(ExtractError) as refused:
        load_paths(con, [extract], STANDARD, agency="cps")
    message = str(refused.value)
    assert "a cps extract (--agency cps) may hold only the tables cps supplies" in message
    assert "crimes.csv: crimes is a police-only table" in message
    assert snapshot(con) == before  # nothing at all was loaded
    # a partner table the body does not keep is refused too
    wcu = write(tmp_path / "wcu", {"review_requests": CPS["review_requests"]})
    with pytest.raises(ExtractError, match="review_requests holds only the records of police, cps"):
        load_paths(con, [wcu], STANDARD, agency="wcu")
    with pytest.raises(ExtractError, match="unknown agency 'courts'"):
        load_paths(con, [wcu], STANDARD, agency="courts")


def test_the_police_may_supply_every_table_but_only_its_own_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    extract = write(
        tmp_path / "more",
        {
            "review_requests": [
                ["agency", "request_id", "victim_id", "crime_id", "requested_at"],
                ["police", "PR1", "P-V1", "P-C1", "2025-02-01"],
                ["cps", "PR2", "P-V1", "P-C1", "2025-02-01"],
            ],
            "interpretation_needs": [
                ["need_id", "victim_id", "crime_id", "identified_at", "need"],
                ["PN1", "P-V1", "P-C1", "2025-01-06", "interpreter"],
            ],
        },
    )
    result = load_paths(con, [extract], STANDARD, agency="police")
    assert result.rows_rejected == 1 and [(r[2], r[3]) for r in rejects(con)] == [(3, "agency")]
    assert con.execute("SELECT agency FROM interpretation_needs").fetchall() == [("police",)]


def test_a_plain_extract_keeps_each_rows_own_agency(tmp_path: Path) -> None:
    """A combined extract (as the demo writes): partner rows name their body; a partner table
    with no agency column is the police's."""
    extract = write(
        tmp_path / "plain",
        {
            **POLICE,
            "agency_events": [
                ["agency", "event_id", "crime_id", "event_type", "event_at"],
                ["cps", "E1", "P-C1", "hearing_outcome", "2025-02-03"],
                ["hmcts", "E1", "P-C1", "hearing_outcome", "2025-02-03"],
                ["", "E2", "P-C1", "hearing_outcome", "2025-02-03"],  # blank: a reject
            ],
            "agency_contacts": [
                ["agency", *CONTACT_COLUMNS],
                ["hmcts", "K1", "P-V1", "P-C1", "2025-02-04", "hearing_outcome", "E1"],
            ],
            "interpretation_needs": [
                ["need_id", "victim_id", "crime_id", "identified_at", "need"],
                ["N1", "P-V1", "P-C1", "2025-01-06", "interpreter"],
            ],
        },
    )
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [extract], STANDARD)
    assert result.agency is None
    assert [(r[1], r[2], r[3]) for r in rejects(con)] == [("agency_events", 4, "agency")]
    assert con.execute("SELECT agency, event_id FROM agency_events ORDER BY 1").fetchall() == [
        ("cps", "E1"),
        ("hmcts", "E1"),
    ]
    assert con.execute("SELECT agency FROM agency_contacts").fetchall() == [("hmcts",)]
    assert con.execute("SELECT agency FROM interpretation_needs").fetchall() == [("police",)]


def test_a_partner_event_before_the_crime_was_reported_is_rejected(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    extract = write(
        tmp_path / "wcu",
        {
            "agency_events": [
                ["event_id", "crime_id", "event_type", "event_at"],
                ["W1", "P-C1", "not_guilty_plea", "2025-01-01"],
                ["W2", "P-C1", "parole_hearing", "2099-06-01"],  # a hearing may be listed ahead
            ]
        },
    )
    result = load_paths(con, [extract], STANDARD, agency="wcu")
    assert result.rows_rejected == 1
    ((_, _, row, column, reason),) = rejects(con)
    assert (row, column) == (2, "event_at") and "before the crime was reported" in reason


def test_cli_ingest_agency(police: Path, tmp_path: Path) -> None:
    from vcop.cli import app

    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    done = runner.invoke(app, ["ingest", str(police), "--db", str(db)])
    assert done.exit_code == 0, done.output
    cps = write(tmp_path / "cps", CPS)
    done = runner.invoke(app, ["ingest", str(cps), "--db", str(db), "--agency", "cps"])
    assert done.exit_code == 0, done.output
    assert "cps's extract" in done.output
    refused = write(tmp_path / "bad", {"victims": POLICE["victims"]})
    done = runner.invoke(app, ["ingest", str(refused), "--db", str(db), "--agency", "cps"])
    assert done.exit_code != 0
    assert "victims is a police-only table" in done.output and "Nothing was loaded" in done.output
    done = runner.invoke(app, ["ingest", str(cps), "--db", str(db), "--agency", "courts"])
    assert done.exit_code == 2 and "unknown agency 'courts'" in done.output


# -- vcop refresh: one folder per agency ----------------------------------------------------------


def test_sources_put_the_police_first_and_keep_the_plain_folder(tmp_path: Path) -> None:
    day = tmp_path / "day"
    for agency in ("wcu", "cps", "police"):
        (day / agency).mkdir(parents=True)
    found = sources(day)
    assert [s.agency for s in found] == ["police", "cps", "wcu"]
    assert [s.load_agency for s in found] == ["police", "cps", "wcu"]
    (plain,) = sources(write(tmp_path / "plain", POLICE))
    assert (plain.agency, plain.plain, plain.load_agency) == ("police", True, None)


def test_refresh_loads_each_agency_folder_as_that_agency(tmp_path: Path) -> None:
    day = tmp_path / "day"
    write(day / "police", POLICE)
    write(day / "cps", CPS)
    db = tmp_path / "r.duckdb"
    from vcop.cli import app

    done = CliRunner().invoke(
        app,
        ["refresh", "--from", str(day), "--db", str(db), "--as-of", "2025-03-31",
         "--no-partner-release", "--summary", "json"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert list(summary["agencies"]) == ["police", "cps"]
    cps = summary["agencies"]["cps"]
    assert (cps["files"], cps["rows_read"], cps["rows_loaded"], cps["rows_rejected"]) == (
        4,
        6,
        6,
        0,
    )
    assert cps["extract"] == "agency" and cps["folder"] == str(day / "cps")
    assert cps["tables"]["agency_events"] == {
        "files": 1, "rows_read": 2, "rows_loaded": 2, "rows_rejected": 0,
    }  # fmt: skip
    assert summary["agencies"]["police"]["rows_loaded"] == 4
    assert summary["rows_read"] == 10 and summary["rows_rejected"] == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT DISTINCT agency FROM agency_events").fetchall() == [("cps",)]
    con.close()


def test_refresh_refuses_a_police_table_in_a_partner_folder(tmp_path: Path) -> None:
    day = tmp_path / "day"
    write(day / "police", POLICE)
    write(day / "wcu", {"crimes": POLICE["crimes"]})
    from vcop.refresh import RefreshError, refresh

    with pytest.raises(RefreshError, match=r"wcu: .*crimes is a police-only table"):
        refresh(tmp_path / "r.duckdb", day, date(2025, 3, 31))
