"""`vcop import police-uk` on real data.police.uk files read from ../shared/data (never copied)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED
from vcop.ingest import ExtractError
from vcop.ingest.police_uk import import_police_uk
from vcop.spec.outcomes import load_outcomes
from vcop.store import connect

CAMBS = SHARED / "data" / "cambs-2024"
CUMBRIA = SHARED / "data" / "cumbria-2016-03"

needs_data = pytest.mark.skipif(
    not CAMBS.exists(), reason="../shared/data is not beside the project"
)


def published_counts() -> dict[tuple[str, str], int]:
    """(crime type, YYYY-MM) -> rows, from the table in cambs-2024/SOURCE.md."""
    text = (CAMBS / "SOURCE.md").read_text()
    section = text.split("### Street files: rows by crime type and month", 1)[1].split("###", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    months = [m.strip() for m in lines[0].strip("|").split("|")[1:13]]
    counts = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0].startswith("**"):
            continue
        for month, value in zip(months, cells[1:13], strict=True):
            counts[(cells[0], month)] = int(value)
    assert len(counts) == 14 * 12
    return counts


@pytest.fixture(scope="module")
def cambs(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path_factory.mktemp("cambs") / "cambs.duckdb")
    import_police_uk(con, [CAMBS])
    return con


@needs_data
def test_recorded_crime_by_month_and_type_equals_published_counts(
    cambs: duckdb.DuckDBPyConnection,
) -> None:
    got = dict.fromkeys(published_counts(), 0)
    for crime_type, month, n in cambs.execute(
        "SELECT crime_type, strftime(reported_at, '%Y-%m'), count(*) FROM crimes GROUP BY ALL "
        "UNION ALL SELECT incident_type, strftime(received_at, '%Y-%m'), count(*) FROM incidents GROUP BY ALL"
    ).fetchall():
        got[(crime_type, month)] = n
    assert got == published_counts()
    # anti-social behaviour is never a crime
    assert cambs.execute(
        "SELECT count(*) FROM crimes WHERE crime_type = 'Anti-social behaviour'"
    ).fetchall() == [(0,)]
    assert cambs.execute("SELECT count(*), count(DISTINCT crime_id) FROM crimes").fetchall() == [
        (69622, 69622)
    ]


@needs_data
def test_outcomes_become_deduplicated_events_and_early_crimes_wait(
    cambs: duckdb.DuckDBPyConnection,
) -> None:
    # 68,619 outcome rows, 1,976 exact duplicates; outcomes of crimes from before 2024 wait aside
    events = cambs.execute(
        "SELECT count(*) FROM case_events WHERE event_type = 'outcome_recorded'"
    ).fetchall()[0][0]
    pending = cambs.execute(
        "SELECT count(*), count(DISTINCT crime_id) FROM police_uk_pending_outcomes"
    ).fetchall()[0]
    assert events + pending[0] == 68619 - 1976
    assert pending[1] == 65823 - 61818  # outcome Crime IDs not among the 2024 street crimes
    assert cambs.execute("SELECT count(DISTINCT crime_id) FROM case_events").fetchall() == [
        (61818,)
    ]
    # a crime's outcome is its latest outcome event
    assert cambs.execute(
        """
        SELECT count(*) FROM crimes c JOIN (
            SELECT crime_id, max(event_at) AS last FROM case_events GROUP BY crime_id) e USING (crime_id)
        WHERE c.outcome_at IS DISTINCT FROM e.last
        """
    ).fetchall() == [(0,)]
    assert cambs.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)]


@needs_data
def test_locations_districts_and_out_of_area(cambs: duckdb.DuckDBPyConnection) -> None:
    unlocated = cambs.execute(
        "SELECT (SELECT count(*) FROM crimes WHERE location IS NULL AND lsoa_code IS NULL AND longitude IS NULL)"
        " + (SELECT count(*) FROM incidents WHERE location IS NULL AND lsoa_code IS NULL)"
    ).fetchall()[0][0]
    assert unlocated == 2793
    districts = dict(cambs.execute("SELECT district, count(*) FROM crimes GROUP BY 1").fetchall())
    assert set(districts) - {None} == {
        "Peterborough", "Cambridge", "Huntingdonshire", "Fenland", "South Cambridgeshire",
        "East Cambridgeshire", "Outside force area",
    }  # fmt: skip
    by_la = dict(cambs.execute(
        "SELECT local_authority, count(*) FROM (SELECT local_authority FROM crimes UNION ALL "
        "SELECT CASE WHEN district = 'Outside force area' THEN 'x' ELSE district END FROM incidents) GROUP BY 1"
    ).fetchall())  # fmt: skip
    assert by_la["Peterborough"] == 27143 and by_la["East Cambridgeshire"] == 5169


@needs_data
def test_every_outcome_category_seen_is_mapped() -> None:
    outcomes = load_outcomes()
    seen: set[str] = set()
    files = [*CAMBS.rglob("*.csv"), *CUMBRIA.rglob("*.csv")]
    for path in files:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                for column in ("Last outcome category", "Outcome type"):
                    if row.get(column):
                        seen.add(row[column])
    assert (
        len(seen) == 19
    )  # 12 in Cambridgeshire's street files, 'Suspect charged', 6 old ones from Cumbria
    unmapped = sorted(c for c in seen if outcomes.category(c) is None)
    assert unmapped == []
    # every mapped category names real Home Office outcome types, and gives a crime one of them
    for category in outcomes.categories.values():
        assert all(t in outcomes.types for t in category.types)
        assert category.outcome_code in (*category.types, None)
        assert (category.outcome_code is None) == (not category.types)


@needs_data
def test_old_vocabulary_cumbria_2016(tmp_path: Path) -> None:
    con = connect(tmp_path / "cumbria.duckdb")
    result = import_police_uk(con, [CUMBRIA])
    assert not result.unmapped_categories
    assert con.execute("SELECT count(*) FROM crimes").fetchall() == [(2227,)]
    assert con.execute("SELECT count(*) FROM incidents").fetchall() == [(1099,)]
    got = dict(
        con.execute("SELECT outcome_category, outcome_code FROM crimes GROUP BY ALL").fetchall()
    )
    assert got["Offender sent to prison"] == 1
    assert got["Offender given penalty notice"] == 6
    assert got["Under investigation"] is None
    assert (
        dict(con.execute("SELECT district, count(*) FROM crimes GROUP BY 1").fetchall())["Carlisle"]
        > 0
    )


@needs_data
def test_reimport_is_idempotent_and_order_does_not_matter(tmp_path: Path) -> None:
    street = sorted((CAMBS / "street").glob("2024-0[12]-*.csv"))
    outcomes = sorted((CAMBS / "outcomes").glob("2024-0[12]-*.csv"))
    # outcomes first: their crimes are not there yet, so they wait; then the street files link them
    con = connect(tmp_path / "a.duckdb")
    first = import_police_uk(con, outcomes)
    assert first.pending_outcomes > 0
    second = import_police_uk(con, street)
    assert second.linked_outcomes == first.pending_outcomes - second.pending_outcomes
    # the same files in one import give the same tables
    other = connect(tmp_path / "b.duckdb")
    import_police_uk(other, [*street, *outcomes])
    for table in ("crimes", "incidents", "case_events", "police_uk_pending_outcomes"):
        cols = (
            "* EXCLUDE (batch_id)"
            if table != "police_uk_pending_outcomes"
            else '* EXCLUDE ("row", file)'
        )
        query = f"SELECT {cols} FROM {table} ORDER BY ALL"
        assert con.execute(query).fetchall() == other.execute(query).fetchall(), table
    # importing again changes nothing, even when forced
    before = {
        t: other.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("crimes", "case_events")
    }
    again = import_police_uk(other, [*street, *outcomes])
    assert all(f.skipped for f in again.load.files)
    forced = import_police_uk(other, [*street, *outcomes], force=True)
    assert all(f.rows_inserted == 0 and f.rows_updated == 0 for f in forced.load.files)
    after = {
        t: other.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("crimes", "case_events")
    }
    assert after == before


# -- hand-written files (issue 17, item 6): no shared data needed -------------------------------

STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
)


def street_file(
    folder: Path, name: str, force: str, rows: list[str], encoding: str = "utf-8"
) -> Path:
    """A street file of one force: ``rows`` are 'crime id|location' pairs (no id: anti-social
    behaviour). Locations are data.police.uk-style anonymised snap points, never addresses."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for row in rows:
        crime_id, location = row.split("|")
        crime_type = "Burglary" if crime_id else "Anti-social behaviour"
        outcome = "Under investigation" if crime_id else ""
        lines.append(
            f"{crime_id},2024-01,{force},{force},-0.1,52.2,{location},E01000001,Northtown 001A,"
            f"{crime_type},{outcome},\n"
        )
    path = folder / name
    path.write_bytes((STREET_HEADER + "".join(lines)).encode(encoding))
    return path


def asb_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(
        con.execute(
            "SELECT incident_id, force FROM incidents WHERE incident_type = 'Anti-social behaviour'"
        ).fetchall()
    )


def test_asb_ids_are_unique_across_forces_and_stable_across_imports(tmp_path: Path) -> None:
    """Two forces' files for the same month once shared ids (month + row number): the second
    overwrote the first. Ids are now the force, the month and a hash of the row."""
    same = ["|On or near Parking Area", "|On or near Parking Area", "|On or near Sports Area"]
    north = street_file(tmp_path / "n", "2024-01-north-street.csv", "Northshire Police", same)
    south = street_file(tmp_path / "s", "2024-01-south-street.csv", "Southshire Police", same)
    con = connect(tmp_path / "a.duckdb")
    import_police_uk(con, [north, south])
    ids = asb_ids(con)
    assert len(ids) == 6  # identical rows within a file are both kept
    assert sorted(ids.values()) == ["Northshire Police"] * 3 + ["Southshire Police"] * 3
    assert all(
        i.startswith("PUK-ASB-northshire-police-2024-01-")
        for i, f in ids.items()
        if f.startswith("North")
    )

    # the same rows, reordered, with a crime and a new incident in front: same ids for the old rows
    again = street_file(
        tmp_path / "n2", "2024-01-north-street.csv", "Northshire Police",
        ["C-1|On or near Shopping Area", "|On or near Park", *reversed(same)],
    )  # fmt: skip
    result = import_police_uk(con, [again])
    incidents = next(f for f in result.load.files if f.table == "incidents")
    assert (incidents.rows_inserted, incidents.rows_updated, incidents.rows_unchanged) == (1, 0, 3)
    assert set(ids) < set(asb_ids(con))
    assert len(asb_ids(con)) == 7


def test_latin1_file_imports_and_says_so(tmp_path: Path) -> None:
    path = street_file(
        tmp_path / "x", "2024-01-north-street.csv", "Northshire Police",
        ["C-1|On or near Caf\xe9 Area", "|On or near Caf\xe9 Area"], encoding="latin-1",
    )  # fmt: skip
    con = connect(tmp_path / "a.duckdb")
    result = import_police_uk(con, [path])
    assert con.execute("SELECT location FROM crimes").fetchall() == [("On or near Caf\xe9 Area",)]
    assert con.execute("SELECT location FROM incidents").fetchall() == [
        ("On or near Caf\xe9 Area",)
    ]
    assert any("not UTF-8" in w and "cp1252" in w for w in result.load.warnings)


def test_bad_files_are_reported_and_the_good_ones_load(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    good = street_file(
        folder, "2024-01-north-street.csv", "Northshire Police", ["C-1|On or near Park"]
    )
    (folder / "2024-02-north-street.csv").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
    )
    (folder / "2024-03-north-street.csv").write_bytes(
        STREET_HEADER.encode() + b"C-3,2024-03,N,N,,,On or near \x81\x8d,,,Burglary,,\n"
    )
    (folder / "2024-04-north-street.csv").write_bytes(b"PK\x03\x04" + bytes(64))
    con = connect(tmp_path / "a.duckdb")
    result = import_police_uk(con, [folder])
    assert con.execute("SELECT crime_id FROM crimes").fetchall() == [("C-1",)]
    skipped = "\n".join(result.skipped_files)
    assert "2024-02-north-street.csv: is a PNG image" in skipped
    assert (
        "2024-03-north-street.csv: is not text in utf-8 or cp1252 (byte 0x81 on line 2" in skipped
    )
    assert "2024-04-north-street.csv: is a ZIP archive" in skipped
    assert [f.label for f in result.load.files] == [str(good), str(good)]
    # only bad files: a clear error naming each
    (folder / "2024-01-north-street.csv").unlink()
    with pytest.raises(ExtractError, match=r"no data\.police\.uk.*PNG image.*utf-8 or cp1252.*ZIP"):
        import_police_uk(connect(tmp_path / "b.duckdb"), [folder])


def test_broken_and_oversized_rows_are_rejects_not_lost(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    path = street_file(
        folder, "2024-01-north-street.csv", "Northshire Police", ["C-1|On or near Park"]
    )
    with path.open("a") as f:
        f.write("C-2,2024-01,too,few\n")
        f.write(f"C-3,2024-01,N,N,,,{'z' * 1_100_000},,{'z' * 1_000_001},Burglary,,\n")
    con = connect(tmp_path / "a.duckdb")
    result = import_police_uk(con, [path])
    crimes = next(f for f in result.load.files if f.table == "crimes")
    assert (crimes.rows_read, crimes.rows_loaded, crimes.rows_rejected) == (3, 1, 2)
    reasons = [r[0] for r in con.execute('SELECT reason FROM rejects ORDER BY "row"').fetchall()]
    assert "fields but the header has" in reasons[0]
    assert "1,100,000 characters" in reasons[1] and "1,000,001 characters" in reasons[1]
