"""Streaming ingest: a CSV goes into the database a block at a time (never whole in memory), with
the same rows, row numbers, rejects and cell issues as reading it whole; and a load caps DuckDB's
memory so that the staging tables spill to disk instead of growing with the file. A small file is
read whole, and staging trims only the columns whose values may need it, with the same rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from vcop.ingest import load, load_paths, readers
from vcop.ingest.load import INGEST_MEMORY_LIMIT, WHOLE_FILE_BYTES, Load, _bytes
from vcop.ingest.readers import SourceFile, may_be_padded, read, read_into
from vcop.spec.profile import load_profile
from vcop.store import connect

STANDARD = load_profile("standard")
DAY = (dt.date.today() - dt.timedelta(days=30)).isoformat()


def crimes_file(path: Path, rows: int, *, broken_at: int | None = None) -> Path:
    """A crimes CSV of ``rows`` records with, every 97th, a blank line; every 131st, an
    unparseable date; and on record ``broken_at`` (if given) a row with a field too many."""
    lines = ["crime_id,reported_at,crime_type,area"]
    for n in range(1, rows + 1):
        if n % 97 == 0:
            lines.append("")
        reported = "not a date" if n % 131 == 0 else DAY
        extra = ",extra" if n == broken_at else ""
        lines.append(f"T-C{n},{reported},Burglary,North{extra}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of about 4 KB (and careful-reader blocks of 50 rows): a small file spans many; and
    a load streams every file, however small (:data:`vcop.ingest.load.WHOLE_FILE_BYTES`)."""
    monkeypatch.setattr(readers, "_BLOCK_SIZE", 4096)
    monkeypatch.setattr(readers, "_SLOW_BLOCK_ROWS", 50)
    monkeypatch.setattr(load, "WHOLE_FILE_BYTES", 0)


def stored_rows(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[object, ...]]:
    return con.execute(f'SELECT * FROM "{name}" ORDER BY _row').fetchall()


@pytest.mark.parametrize("broken_at", [None, 1900])
def test_streamed_rows_are_those_read_whole(
    tmp_path: Path, small_blocks: None, broken_at: int | None
) -> None:
    """Across many blocks — and when a broken row late in the file sends the reader back to the
    careful reader after blocks were stored — the stored rows and numbers equal read()'s."""
    path = crimes_file(tmp_path / "x" / "crimes.csv", 2000, broken_at=broken_at)
    source = SourceFile(path, "crimes")
    whole = read(source)
    con = duckdb.connect()
    stored = read_into(con, source, "_raw")
    assert stored.num_rows == whole.num_rows == 2000 - (1 if broken_at else 0)
    assert stored.broken_rows == whole.broken_rows
    assert stored_rows(con, "_raw") == [tuple(r.values()) for r in whole.table.to_pylist()]
    numbers = [r[0] for r in stored_rows(con, "_raw")]
    assert numbers[:3] == [2, 3, 4]
    assert numbers[-1] == 2000 + 2000 // 97 + 1  # each blank line keeps its number
    if broken_at:
        ((row, reason),) = stored.broken_rows
        assert row == broken_at + (broken_at - 1) // 97 + 1
        assert reason == "the row has 5 fields but the header has 4"


def test_a_load_over_many_blocks_rejects_with_the_files_row_numbers(
    tmp_path: Path, small_blocks: None
) -> None:
    crimes_file(tmp_path / "x" / "crimes.csv", 2000, broken_at=1900)
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [tmp_path / "x"], STANDARD)
    (f,) = result.files
    bad_dates = 2000 // 131
    assert (f.rows_read, f.rows_rejected) == (2000, bad_dates + 1)
    assert f.rows_loaded == f.rows_inserted == 2000 - bad_dates - 1
    found = con.execute(
        'SELECT "row", "column", value FROM rejects WHERE "column" IS NOT NULL ORDER BY 1'
    ).fetchall()
    # record n is on file row n + 1 (the header) + the blank lines before it
    assert found == [
        (n + (n - 1) // 97 + 1, "reported_at", "not a date") for n in range(131, 2001, 131)
    ]
    # the temporary table of the file's rows is gone once the file is merged
    assert not con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_raw'"
    ).fetchall()[0][0]


def test_a_long_field_in_a_later_block_is_a_cell_issue(
    tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_FIELD_CHARS", 100)
    path = tmp_path / "x" / "crimes.csv"
    lines = ["crime_id,reported_at,crime_type,area"]
    lines += [f"T-C{n},{DAY},Burglary,North" for n in range(1, 500)]
    lines.append(f"T-C500,{DAY},Burglary,{'y' * 101}")
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = duckdb.connect()
    stored = read_into(con, SourceFile(path, "crimes"), "_raw")
    (issue,) = stored.cell_issues
    assert (issue.row, issue.header, issue.value) == (501, "area", "y" * 40 + "…")
    assert con.execute("SELECT c4 FROM _raw WHERE _row = 501").fetchall() == [("",)]
    assert stored.num_rows == 500


def test_a_load_caps_duckdbs_memory_and_puts_it_back(tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    cap = _bytes(INGEST_MEMORY_LIMIT)
    assert cap is not None and (_bytes(before) or 0) > cap  # the machine has more than the cap
    with Load(con, STANDARD):
        during = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert _bytes(during) == cap
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == before
    with pytest.raises(RuntimeError), Load(con, STANDARD):
        raise RuntimeError("a failed load")
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == before


def test_an_in_memory_database_is_not_capped() -> None:
    """It has nowhere to spill to: a cap would only make a large load fail."""
    con = duckdb.connect()
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    with Load(con, STANDARD):
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == before


def test_memory_settings_are_read_in_bytes() -> None:
    assert _bytes("1.0 GiB") == 1024**3
    assert _bytes("512MiB") == 512 * 1024**2
    assert _bytes("953.6 MiB") == pytest.approx(953.6 * 1024**2)
    assert _bytes("2GB") == 2 * 1000**3
    assert _bytes("no limit") is None


def test_a_small_file_is_read_whole_and_a_large_one_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = connect(tmp_path / "v.duckdb")
    with Load(con, STANDARD) as small:
        assert small.reads_whole(1024) and small.reads_whole(WHOLE_FILE_BYTES)
        assert not small.reads_whole(WHOLE_FILE_BYTES + 1)
    # a file the load's memory limit does not hold many times over streams, however small
    monkeypatch.setenv("VCOP_DATABASE_MEMORY_LIMIT", "1MiB")
    with Load(con, STANDARD) as capped:
        assert capped.reads_whole(1024) and not capped.reads_whole(1024**2 // 16 + 1)


#: Characters around the values below: those DuckDB's trim removes and some it keeps.
AROUND = [
    " ",
    "\u00a0",
    "\u1680",
    "\u2003",
    "\u202f",
    "\u205f",
    "\u3000",
    "\t",
    "\n",
    "é",
    "€",
    "x",
]


def test_a_column_whose_values_trim_would_change_is_padded() -> None:
    con = duckdb.connect()
    # every character DuckDB's trim removes, asked of DuckDB (not the list readers.py holds)
    removed = [
        chr(i)
        for (i,) in con.execute(
            "SELECT i FROM range(1, 1114112) t(i) WHERE (i < 55296 OR i > 57343) "
            "AND trim(chr(i::INTEGER) || 'a' || chr(i::INTEGER)) <> chr(i::INTEGER) || 'a' || chr(i::INTEGER)"
        ).fetchall()
    ]
    assert " " in removed and "\u00a0" in removed and "\t" not in removed
    for c in removed:
        for value in (c + "a", "a" + c, c, c + c):
            assert may_be_padded(pa.chunked_array([["b", value, "", "d"]], pa.string())), value
    # and whenever a column is not padded, trimming changes none of its values
    values = [a + "v" + b for a in AROUND for b in AROUND] + ["", "v"]
    for value in values:
        column = pa.chunked_array([["b", value]], pa.string())
        if not may_be_padded(column):
            assert con.execute("SELECT trim(?)", [value]).fetchall() == [(value,)], value
    assert not may_be_padded(pa.chunked_array([["C1", "", "Burglary", "\tx"]], pa.string()))
    # a slice reads only its own values
    assert not may_be_padded(pa.array([" a", "b", "c"]).slice(1))
    assert may_be_padded(pa.array([" a", "b", "c"]).slice(0, 1))
    assert may_be_padded(pa.chunked_array([["b"], ["c "]], pa.string()))
    assert may_be_padded(pa.array([1, 2]))  # not text: taken to be padded


@pytest.mark.parametrize("streamed", [False, True])
def test_padded_values_are_trimmed_and_plain_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    if streamed:
        monkeypatch.setattr(load, "WHOLE_FILE_BYTES", 0)
    path = tmp_path / "x" / "crimes.csv"
    path.parent.mkdir()
    path.write_text(
        "crime_id,reported_at,crime_type,area\n"
        f"T-C1,{DAY},\u00a0burglary,North\u3000\n"
        f"T-C2,{DAY}  ,Burglary,North\n"
        f"T-C3,{DAY},Burglary ,\u2009South\n",
        encoding="utf-8",
    )
    con = connect(tmp_path / "v.duckdb")
    (f,) = load_paths(con, [path.parent], STANDARD).files
    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (3, 3, 0)
    rows = con.execute(
        "SELECT crime_id, CAST(reported_at AS DATE), crime_type, area FROM crimes ORDER BY 1"
    ).fetchall()
    day = dt.date.fromisoformat(DAY)
    assert rows == [
        ("T-C1", day, "Burglary", "North"),
        ("T-C2", day, "Burglary", "North"),
        ("T-C3", day, "Burglary", "South"),
    ]
