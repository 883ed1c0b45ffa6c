"""How much memory a load may use: DuckDB's limit is lowered for a load whose files may not fit in
it (to the settings' ``database.memory_limit``, else :data:`INGEST_MEMORY_LIMIT`), and left alone
for a small one, which would only spill for nothing; and a first load into an empty table gives
the same rows, row hashes and counts as merging into a table that already holds rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from vcop.ingest import load as load_module
from vcop.ingest import load_paths
from vcop.ingest.load import INGEST_MEMORY_LIMIT, STAGING_FACTOR, WHOLE_FILE_BYTES, Load, _bytes
from vcop.spec.profile import load_profile
from vcop.store import connect

STANDARD = load_profile("standard")
DAY = (dt.date.today() - dt.timedelta(days=30)).isoformat()


def limit(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_a_small_load_is_not_capped_and_a_large_one_is(tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    before = limit(con)
    cap = _bytes(INGEST_MEMORY_LIMIT)
    assert cap is not None and (_bytes(before) or 0) > cap
    small = int(cap // STAGING_FACTOR)
    with Load(con, STANDARD, largest_file=small):
        assert limit(con) == before
    with Load(con, STANDARD, largest_file=small + 1):
        assert _bytes(limit(con)) == cap
    assert limit(con) == before


def test_the_cap_comes_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect(tmp_path / "v.duckdb")
    before = limit(con)
    monkeypatch.setenv("VCOP_DATABASE_MEMORY_LIMIT", "300MiB")
    with Load(con, STANDARD, largest_file=10 * 1024**3):
        assert _bytes(limit(con)) == 300 * 1024**2
    assert limit(con) == before
    # a file that fits 300 MiB many times over is not capped
    with Load(con, STANDARD, largest_file=1024):
        assert limit(con) == before


def threads(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_a_load_of_small_files_runs_on_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a database file, a load whose files are all read whole inserts on one thread (each
    table's rows compressed once, at commit) and gives the connection its threads back, after a
    failure too; one with a file streamed through DuckDB's reader keeps them, and so does a load
    into memory, where the setting is the server's too."""
    con = connect(tmp_path / "v.duckdb")
    con.execute("SET threads = 3")
    seen: list[int] = []
    real = load_module._merge

    def counting(*args: object, **kwargs: object) -> None:
        seen.append(threads(con))
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(load_module, "_merge", counting)
    folder = tmp_path / "x"
    crimes(folder / "crimes.csv", range(20))
    load_paths(con, [folder], STANDARD)
    assert seen == [1] and threads(con) == 3
    with pytest.raises(RuntimeError, match="disk full"), Load(con, STANDARD, largest_file=1024):
        assert threads(con) == 1
        raise RuntimeError("disk full")
    assert threads(con) == 3
    with Load(con, STANDARD, largest_file=WHOLE_FILE_BYTES + 1):
        assert threads(con) == 3
    memory = connect(":memory:")
    memory.execute("SET threads = 3")
    with Load(memory, STANDARD, largest_file=1024):
        assert threads(memory) == 3


def crimes(path: Path, ids: range, area: str = "North", *, repeat: int | None = None) -> Path:
    lines = ["crime_id,reported_at,crime_type,area"]
    lines += [f"C{n},{DAY},Burglary,{area}" for n in ids]
    if repeat is not None:  # the same key again, with another area: a conflict
        lines.append(f"C{repeat},{DAY},Burglary,Elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_first_load_equals_a_merge(tmp_path: Path) -> None:
    """The same rows loaded into an empty table, and into one that already held other rows,
    get the same row hashes; loading them again changes nothing; a changed row is an update."""
    first = connect(tmp_path / "a.duckdb")
    (f,) = load_paths(first, [crimes(tmp_path / "x" / "crimes.csv", range(1, 51))], STANDARD).files
    assert (f.rows_inserted, f.rows_updated, f.rows_unchanged) == (50, 0, 0)
    merged = connect(tmp_path / "b.duckdb")
    load_paths(merged, [crimes(tmp_path / "y" / "crimes.csv", range(1, 3))], STANDARD)
    (g,) = load_paths(merged, [tmp_path / "x" / "crimes.csv"], STANDARD).files
    assert (g.rows_inserted, g.rows_updated, g.rows_unchanged) == (48, 0, 2)
    query = "SELECT crime_id, row_hash FROM crimes ORDER BY crime_id"
    assert first.execute(query).fetchall() == merged.execute(query).fetchall()
    (again,) = load_paths(first, [tmp_path / "x" / "crimes.csv"], STANDARD, force=True).files
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 50)
    changed = crimes(tmp_path / "z" / "crimes.csv", range(1, 51), area="South")
    (h,) = load_paths(first, [changed], STANDARD).files
    assert (h.rows_inserted, h.rows_updated, h.rows_unchanged) == (0, 50, 0)


def test_a_repeated_key_with_other_values_is_rejected_on_a_first_load(tmp_path: Path) -> None:
    con = connect(tmp_path / "v.duckdb")
    path = crimes(tmp_path / "x" / "crimes.csv", range(1, 11), repeat=4)
    (f,) = load_paths(con, [path], STANDARD).files
    assert (f.rows_read, f.rows_rejected, f.rows_inserted) == (11, 2, 9)
    found = con.execute('SELECT "row", reason FROM rejects ORDER BY "row"').fetchall()
    assert [r for r, _ in found] == [5, 12]
    assert "appears again on row 12 with different values" in found[0][1]
    # an identical repeat loads once and is no reject
    other = tmp_path / "y" / "crimes.csv"
    other.parent.mkdir()
    other.write_text(path.read_text().replace("Elsewhere", "North"), encoding="utf-8")
    fresh = connect(tmp_path / "w.duckdb")
    (g,) = load_paths(fresh, [other], STANDARD).files
    assert (g.rows_read, g.rows_rejected, g.rows_inserted) == (11, 0, 10)
