"""Fuzzing the CSV and XLSX readers through `load_paths` (issue 17, item 5).

Whatever a file holds, every row ends loaded or rejected, a loaded value is exactly what was
written, and the only exception that may escape is :class:`ExtractError` (a file that cannot be
read at all, named in the message).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcop.ingest import ExtractError, FileResult, load_paths
from vcop.spec.profile import load_profile
from vcop.store import connect

STANDARD = load_profile("standard")
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Text an extract might hold: anything printable or not (but no NUL, which makes a file binary),
#: plus the values that used to be altered or crash the loader.
HOSTILE = st.sampled_from(
    [
        "12.7", "1e1", "0x10", "0x0F", "3.5", "1_000", "+5", "-0", "007", "inf", "nan", " 4 ",
        "2099-01-01", "1899-12-31", "2025-02-30", "2025-01-06T09:30", "31/01/2025", "",
        "[/x]", "[bold]", "=1+1", "@SUM(1)", '"', '""', "a,b", "line\nbreak", "\r", "\ufeff",
        "Caf\u00e9", "\u2019", "\U0001f600", "٣", "x" * 70_000, "y" * 140_000,
    ]
)  # fmt: skip
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
VALUE = st.one_of(HOSTILE, TEXT)
HEADER = st.sampled_from(
    ["area", "unit", "[/x]", "[bold]", "name", "Crime ID", "", "\u00e9", "a;b", "_row"]
)

COLUMNS = ["crime_id", "reported_at", "crime_type", "outcome_code", "outcome_at"]
GOOD = {
    "crime_id": st.sampled_from(["T-C1", "T-C2", "T-C3", "T-C4"]),
    "reported_at": st.sampled_from(["2025-01-06", "2025-01-06T09:30:00", "2025-03-01"]),
    "crime_type": st.sampled_from(["Burglary", "robbery", "Drugs"]),
    "outcome_code": st.sampled_from(["", "1", "16", "22"]),
    "outcome_at": st.sampled_from(["", "2025-03-02", "2025-01-06"]),
}


def row_strategy(extra: int) -> st.SearchStrategy[list[str]]:
    """A row: each canonical column mostly a good value, sometimes anything."""
    cells = [st.one_of(GOOD[c], GOOD[c], VALUE) for c in COLUMNS]
    return st.tuples(*cells, *([VALUE] * extra)).map(list)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    extra = draw(st.lists(HEADER, max_size=2, unique_by=str.lower))
    extra = [h for h in extra if h.lower() not in COLUMNS]
    rows = draw(st.lists(row_strategy(len(extra)), min_size=1, max_size=8))
    # sometimes a row with too few or too many fields
    if draw(st.booleans()):
        at = draw(st.integers(0, len(rows)))
        width = draw(st.sampled_from([1, len(COLUMNS) - 1, len(COLUMNS) + len(extra) + 1]))
        rows.insert(at, draw(st.lists(VALUE, min_size=width, max_size=width)))
    return [*COLUMNS, *extra], rows


def check(con: duckdb.DuckDBPyConnection, f: FileResult) -> None:
    """Every row loaded or rejected, the counts agree with the batch and rejects tables."""
    assert f.rows_read == f.rows_loaded + f.rows_rejected
    assert con.execute(
        'SELECT count(DISTINCT "row") FROM rejects WHERE batch_id = ?', [f.batch_id]
    ).fetchall() == [(f.rows_rejected,)]
    assert con.execute(
        "SELECT rows_read, rows_loaded, rows_rejected FROM batches WHERE batch_id = ?",
        [f.batch_id],
    ).fetchall() == [(f.rows_read, f.rows_loaded, f.rows_rejected)]


def check_values(con: duckdb.DuckDBPyConnection, rows: list[list[Any]]) -> None:
    """A loaded crime holds exactly what one of its written rows said (never a rounded value)."""
    written: dict[str, list[list[str]]] = {}
    for r in rows:
        if len(r) >= len(COLUMNS):
            # trimmed as vcop trims (DuckDB's trim: spaces, not tabs or line breaks)
            trimmed = con.execute("SELECT [trim(v) FOR v IN ?]", [r[: len(COLUMNS)]]).fetchall()
            written.setdefault(trimmed[0][0][0], []).append(trimmed[0][0])
    for crime_id, outcome_code, outcome_at in con.execute(
        "SELECT crime_id, outcome_code, outcome_at FROM crimes"
    ).fetchall():
        candidates = written[crime_id]
        assert any(
            (outcome_code is None and c[3] == "")
            or (re.fullmatch(r"[+-]?[0-9]+", c[3]) and int(c[3]) == outcome_code)
            for c in candidates
        ), (crime_id, outcome_code, candidates)
        if outcome_at is not None:
            assert outcome_at.date() <= dt.date.today() + dt.timedelta(days=1)


@FUZZ
@given(csv_files())
def test_fuzz_csv_every_row_loaded_or_rejected(data: tuple[list[str], list[list[str]]]) -> None:
    headers, rows = data
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        with (folder / "crimes.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(headers)
            writer.writerows(rows)
        con = connect(folder / "f.duckdb")
        try:
            result = load_paths(con, [folder / "crimes.csv"], STANDARD)
        except ExtractError as exc:
            assert "crimes.csv" in str(exc)
            con.close()
            return
        (f,) = result.files
        # a record whose fields are all empty or spaces is a blank line, not a row
        assert f.rows_read == sum(any(v.strip(" \t\r\n") for v in r) for r in rows)
        check(con, f)
        check_values(con, rows)
        con.close()


ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CELL = st.one_of(
    VALUE.map(lambda s: ILLEGAL_XML.sub("", s)[:32_000]),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    st.just(None),
    st.sampled_from(["=1+1", "=A1", "=SUM(C2:C3)", "=1/0"]),
)


@st.composite
def sheets(draw: st.DrawFn) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for _ in range(draw(st.integers(1, 6))):
        row: list[Any] = [draw(st.one_of(GOOD[c], CELL)) for c in COLUMNS]
        rows.append(row[: draw(st.integers(1, len(row)))] if draw(st.booleans()) else row)
    return rows


def nonblank(row: list[Any]) -> bool:
    return any(v is not None and (not isinstance(v, str) or v.strip()) for v in row)


@FUZZ
@given(sheets())
def test_fuzz_xlsx_every_row_loaded_or_rejected(rows: list[list[Any]]) -> None:
    import openpyxl

    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "crimes"
        ws.append(COLUMNS)
        for r in rows:
            ws.append(r)
        wb.save(folder / "extract.xlsx")
        con = connect(folder / "f.duckdb")
        try:
            result = load_paths(con, [folder / "extract.xlsx"], STANDARD)
        except ExtractError as exc:
            assert "extract.xlsx" in str(exc)
            con.close()
            return
        (f,) = result.files
        assert f.rows_read == sum(nonblank(r) for r in rows)
        check(con, f)
        con.close()
