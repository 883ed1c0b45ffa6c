"""Reading ahead: while one file of a load is staged and merged, the next small CSV file is read in
the background; the load's rows, counts and skips are those of reading each file in its turn."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from vcop.ingest import load, load_paths
from vcop.ingest.readers import RawTable, SourceFile
from vcop.spec.profile import load_profile
from vcop.store import connect

STANDARD = load_profile("standard")
DAY = (dt.date.today() - dt.timedelta(days=30)).isoformat()


def extract(folder: Path, crimes: int = 50) -> Path:
    folder.mkdir(parents=True)
    (folder / "crimes.csv").write_text(
        "crime_id,reported_at,crime_type,area\n"
        + "".join(f"C{n},{DAY},Burglary,North\n" for n in range(crimes)),
        encoding="utf-8",
    )
    (folder / "victims.csv").write_text(
        "victim_id,crime_id\n" + "".join(f"V{n},C{n}\n" for n in range(crimes)),
        encoding="utf-8",
    )
    (folder / "contacts.csv").write_text(
        "contact_id,victim_id,crime_id,contact_at,purpose\n"
        + "".join(f"K{n},V{n},C{n},{DAY},needs_assessment\n" for n in range(crimes)),
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(file name, thread name) of each file read whole by a load."""
    found: list[tuple[str, str]] = []
    read = load.read

    def recording(source: SourceFile, encoding: str = "utf-8") -> RawTable:
        found.append((source.path.name, threading.current_thread().name))
        return read(source, encoding)

    monkeypatch.setattr(load, "read", recording)
    return found


def test_the_next_file_is_read_in_the_background(
    tmp_path: Path, reads: list[tuple[str, str]]
) -> None:
    folder = extract(tmp_path / "x")
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [folder], STANDARD)
    assert [(f.table, f.rows_loaded, f.rows_rejected) for f in result.files] == [
        ("crimes", 50, 0),
        ("victims", 50, 0),
        ("contacts", 50, 0),
    ]
    names = [(name, thread.startswith("vcop-read")) for name, thread in reads]
    assert names == [("crimes.csv", False), ("victims.csv", True), ("contacts.csv", True)]
    # loaded again: every file is skipped, and none is read
    reads.clear()
    again = load_paths(con, [folder], STANDARD)
    assert all(f.skipped for f in again.files) and reads == []


def test_a_file_already_loaded_is_not_read_ahead(
    tmp_path: Path, reads: list[tuple[str, str]]
) -> None:
    folder = extract(tmp_path / "x")
    con = connect(tmp_path / "v.duckdb")
    load_paths(con, [folder / "victims.csv", folder / "crimes.csv"], STANDARD)
    (folder / "crimes.csv").write_text(
        f"crime_id,reported_at,crime_type,area\nC0,{DAY},Burglary,South\n", encoding="utf-8"
    )
    reads.clear()
    result = load_paths(con, [folder], STANDARD)
    assert [(f.table, f.skipped is not None) for f in result.files] == [
        ("crimes", False),
        ("victims", True),
        ("contacts", False),
    ]
    assert [name for name, _ in reads] == ["crimes.csv", "contacts.csv"]


def test_the_same_bytes_twice_for_a_table_load_once(
    tmp_path: Path, reads: list[tuple[str, str]]
) -> None:
    first, second = extract(tmp_path / "a"), tmp_path / "b"
    second.mkdir()
    (second / "crimes.csv").write_bytes((first / "crimes.csv").read_bytes())
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [first / "crimes.csv", second / "crimes.csv"], STANDARD)
    assert [f.skipped for f in result.files] == [None, "already loaded as batch 1"]
    assert [name for name, _ in reads] == ["crimes.csv"]


def test_a_bad_file_read_ahead_fails_the_load_in_its_turn(tmp_path: Path) -> None:
    folder = extract(tmp_path / "x")
    (folder / "victims.csv").write_bytes(b"victim_id,crime_id\nV1,C\xff\n")
    con = connect(tmp_path / "v.duckdb")
    seen: list[str] = []
    with pytest.raises(load.ExtractError, match=r"victims\.csv: is not UTF-8 text"):
        load_paths(con, [folder], STANDARD, after_file=lambda f: seen.append(f.table))
    assert seen == ["crimes"]  # crimes was staged first; nothing was committed
    assert con.execute("SELECT count(*) FROM crimes").fetchall() == [(0,)]
