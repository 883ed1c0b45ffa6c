"""Issue 17, items 4 and 5: ingest never alters a value and never crashes.

Every value either loads exactly as written or is a reject naming the column, the value and why;
every file that cannot be read is a clear error naming it, never a traceback. Fixtures are small
hand-written files with pseudonymous ids only.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from vcop.cli import app
from vcop.ingest import ExtractError, LoadResult, load_paths
from vcop.spec.profile import Profile, ProfileError, load_profile
from vcop.store import connect

STANDARD = load_profile("standard")
TODAY = dt.date.today()
CRIMES = "crime_id,reported_at,crime_type,outcome_code,outcome_at\n"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(
    tmp_path: Path, *paths: Path, profile: Profile = STANDARD
) -> tuple[LoadResult, duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "v.duckdb")
    return load_paths(con, list(paths), profile), con


def rejects(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, list[tuple[str, str, str]]]:
    """row -> [(column, value, reason)] of one table's rejects."""
    out: dict[int, list[tuple[str, str, str]]] = {}
    for row, column, value, reason in con.execute(
        'SELECT "row", "column", value, reason FROM rejects WHERE table_name = ? ORDER BY "row"',
        [table],
    ).fetchall():
        out.setdefault(row, []).append((column, value, reason))
    return out


def counts_add_up(result: LoadResult) -> None:
    for f in result.files:
        assert f.rows_read == f.rows_loaded + f.rows_rejected, f


# -- 4. values are never altered -----------------------------------------------------------------


def test_integers_are_never_rounded_or_converted(tmp_path: Path) -> None:
    """12.7 is not 13, 1e1 is not 10, 0x10 is not 16: each is a reject naming column and value."""
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        CRIMES + "T-C1,2025-01-06,Burglary,,\n"
        "T-C2,2025-01-06,Burglary,3.5,2025-02-01\n"
        "T-C3,2025-01-06,Burglary,0x0F,2025-02-01\n"
        "T-C4,2025-01-06,Burglary,1_0,2025-02-01\n"
        "T-C5,2025-01-06,Burglary,018,2025-02-01\n",
    )
    write(
        d,
        "victims.csv",
        "victim_id,crime_id,age_at_report\n"
        "T-V1,T-C1,12.7\nT-V2,T-C1,1e1\nT-V3,T-C1,0x10\nT-V4,T-C1,0b11\nT-V5,T-C1,34\n"
        "T-V6,T-C1, 17 \nT-V7,T-C1,+40\nT-V8,T-C1,1.0\n",
    )
    result, con = load(tmp_path, d)
    counts_add_up(result)
    assert con.execute("SELECT crime_id, outcome_code FROM crimes ORDER BY 1").fetchall() == [
        ("T-C1", None),
        ("T-C5", 18),
    ]
    bad = rejects(con, "crimes")
    assert sorted(bad) == [3, 4, 5]
    for row, value in ((3, "3.5"), (4, "0x0F"), (5, "1_0")):
        ((column, got, reason),) = bad[row]
        assert (column, got) == ("outcome_code", value)
        assert f"outcome_code '{value}' is not a whole number" in reason
    assert con.execute("SELECT victim_id, age_at_report FROM victims ORDER BY 1").fetchall() == [
        ("T-V5", 34),
        ("T-V6", 17),
        ("T-V7", 40),
    ]
    bad = rejects(con, "victims")
    assert sorted(bad) == [2, 3, 4, 5, 9]
    for row, value in ((2, "12.7"), (3, "1e1"), (4, "0x10"), (5, "0b11"), (9, "1.0")):
        ((column, got, reason),) = bad[row]
        assert (column, got) == ("age_at_report", value)
        assert f"age_at_report '{value}' is not a whole number" in reason


def test_numbers_and_scale_codes_are_never_converted(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        "crime_id,reported_at,crime_type,longitude,latitude\n"
        "T-C1,2025-01-06,Burglary,-0.12,52.5\n"
        "T-C2,2025-01-06,Burglary,0x10,52.5\n"
        "T-C3,2025-01-06,Burglary,inf,52.5\n"
        "T-C4,2025-01-06,Burglary,1_0,52.5\n"
        "T-C5,2025-01-06,Burglary,1e1,5.2E1\n",
    )
    write(
        d,
        "survey_responses.csv",
        "response_id,survey,surveyed_at,follow_up\n"
        "T-S1,victim_satisfaction,2025-02-01,3\n"
        "T-S2,victim_satisfaction,2025-02-01,3.5\n"
        "T-S3,victim_satisfaction,2025-02-01,0x3\n"
        "T-S4,victim_satisfaction,2025-02-01,fairly satisfied\n",
    )
    result, con = load(tmp_path, d)
    counts_add_up(result)
    assert con.execute(
        "SELECT crime_id, longitude, latitude FROM crimes ORDER BY 1"
    ).fetchall() == [
        ("T-C1", -0.12, 52.5),
        ("T-C5", 10.0, 52.0),
    ]
    assert {r: [(c, v) for c, v, _ in x] for r, x in rejects(con, "crimes").items()} == {
        3: [("longitude", "0x10")],
        4: [("longitude", "inf")],
        5: [("longitude", "1_0")],
    }
    assert con.execute(
        "SELECT response_id, follow_up FROM survey_responses ORDER BY 1"
    ).fetchall() == [("T-S1", 3), ("T-S4", 3)]
    assert sorted(rejects(con, "survey_responses")) == [3, 4]


def test_event_dates_must_not_be_in_the_future(tmp_path: Path) -> None:
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    later = (TODAY + dt.timedelta(days=2)).isoformat()
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        CRIMES + f"T-C1,2025-01-06,Burglary,,\nT-C2,2099-01-01,Burglary,,\n"
        f"T-C3,{tomorrow}T23:59,Burglary,,\nT-C4,{later}T00:00,Burglary,,\n"
        "T-C5,1899-12-31,Burglary,,\nT-C6,1900-01-01,Burglary,,\n"
        f"T-C7,2025-01-06,Burglary,16,{later}\n",
    )
    write(
        d,
        "case_events.csv",
        "event_id,crime_id,event_type,event_at\n"
        f"T-E1,T-C1,hearing_listed,{later}T10:00\n"
        f"T-E2,T-C1,charged,{later}T10:00\n"
        "T-E3,T-C1,charged,2025-02-01\n",
    )
    write(
        d,
        "supervisory_reviews.csv",
        f"review_id,crime_id,due_at,completed_at\nT-SR1,T-C1,{later},\nT-SR2,T-C1,2025-02-01,{later}\n",
    )
    result, con = load(tmp_path, d)
    counts_add_up(result)
    assert [r[0] for r in con.execute("SELECT crime_id FROM crimes ORDER BY 1").fetchall()] == [
        "T-C1",
        "T-C3",
        "T-C6",
    ]
    bad = rejects(con, "crimes")
    assert sorted(bad) == [3, 5, 6, 8]
    ((column, value, reason),) = bad[3]
    assert (column, value) == ("reported_at", "2099-01-01")
    assert "reported_at '2099-01-01'" in reason and "future" in reason
    assert bad[5][0][0] == "reported_at" and "future" in bad[5][0][2]
    assert bad[6][0][0] == "reported_at" and "1899-12-31" in bad[6][0][2]
    assert bad[8][0][:2] == ("outcome_at", later)
    # a scheduled hearing and a due date may lie ahead; other events may not
    assert [
        r[0] for r in con.execute("SELECT event_id FROM case_events ORDER BY 1").fetchall()
    ] == [
        "T-E1",
        "T-E3",
    ]
    assert rejects(con, "case_events")[3][0][:2] == ("event_at", f"{later}T10:00")
    assert [r[0] for r in con.execute("SELECT review_id FROM supervisory_reviews").fetchall()] == [
        "T-SR1"
    ]
    assert rejects(con, "supervisory_reviews")[3][0][0] == "completed_at"


def test_an_outcome_before_its_crime_was_reported_is_rejected(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        CRIMES + "T-C1,2025-01-06T09:30,Burglary,16,2025-01-05T10:00\n"
        "T-C2,2025-01-06T09:30,Burglary,16,2025-01-06\n"  # the same day, written as a date
        "T-C3,2025-01-06T09:30,Burglary,16,2025-03-01\n",
    )
    write(
        d,
        "case_events.csv",
        "event_id,crime_id,event_type,event_at,outcome_code\n"
        "T-E1,T-C3,outcome_recorded,2024-12-31,16\n"
        "T-E2,T-C3,outcome_recorded,2025-03-01,16\n"
        "T-E3,T-C3,suspect_arrested,2024-12-20T10:00,\n",
    )
    result, con = load(tmp_path, d)
    counts_add_up(result)
    assert [r[0] for r in con.execute("SELECT crime_id FROM crimes ORDER BY 1").fetchall()] == [
        "T-C2",
        "T-C3",
    ]
    ((column, value, reason),) = rejects(con, "crimes")[2]
    assert (column, value) == ("outcome_at", "2025-01-05T10:00")
    assert "before" in reason and "reported_at" in reason
    assert [r[0] for r in con.execute("SELECT event_id FROM case_events").fetchall()] == ["T-E2"]
    bad = rejects(con, "case_events")
    assert sorted(bad) == [2, 4]
    assert bad[2][0][:2] == ("event_at", "2024-12-31")
    assert "before" in bad[2][0][2] and "reported" in bad[2][0][2]


def _workbook_with_formulas(path: Path, cached: dict[str, object]) -> None:
    """A workbook whose 'victims' sheet has formula cells; ``cached`` gives saved values (as Excel
    writes them) for some of the cells, by reference. openpyxl never saves values, so the saved
    values are written into the sheet XML afterwards."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "victims"
    ws.append(["victim_id", "crime_id", "age_at_report"])
    ws.append(["T-V1", "T-C1", 30])
    ws.append(["T-V2", "T-C1", "=20+1"])
    ws.append(["T-V3", "T-C1", "=20+2"])
    ws.append(["T-V4", "T-C1", "=1/0"])
    ws.append(["T-V5", "T-C1", '=IF(TRUE,"","x")'])
    ws.append(["T-V6", "T-C1", 40])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = parts[name].decode()
    for ref, value in cached.items():
        # Excel's types: t="e" an error, t="str" a formula's text result (here, the empty string)
        kind = ' t="str"' if value == "" else ' t="e"' if isinstance(value, str) else ""
        xml, n = re.subn(
            rf'<c r="{ref}"([^>]*)><f>([^<]*)</f><v\s*/>',
            rf'<c r="{ref}"\1{kind}><f>\2</f><v>{value}</v>',
            xml,
        )
        if not n:
            xml, n = re.subn(
                rf'<c r="{ref}"([^>]*)><f>([^<]*)</f>(<v></v>)?</c>',
                rf'<c r="{ref}"\1{kind}><f>\2</f><v>{value}</v></c>',
                xml,
            )
        assert n == 1, xml
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)


def test_xlsx_formula_without_saved_value_is_a_reject_not_a_blank(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(d, "crimes.csv", CRIMES + "T-C1,2025-01-06,Burglary,,\n")
    book = tmp_path / "victims.xlsx"
    _workbook_with_formulas(book, {"C3": 21, "C5": "#DIV/0!", "C6": ""})
    result, con = load(tmp_path, d, book)
    counts_add_up(result)
    assert con.execute("SELECT victim_id, age_at_report FROM victims ORDER BY 1").fetchall() == [
        ("T-V1", 30),
        ("T-V2", 21),  # a formula with its saved value loads the value
        ("T-V5", None),  # ... and one whose saved value is the empty string is blank
        ("T-V6", 40),
    ]
    bad = rejects(con, "victims")
    assert sorted(bad) == [4, 5]
    ((column, value, reason),) = bad[4]
    assert column == "age_at_report" and value == "=20+2"
    assert "formula" in reason and "no saved value" in reason
    ((column, value, reason),) = bad[5]
    assert column == "age_at_report" and "#DIV/0!" in value and "error" in reason


# -- 5. ingest never crashes ---------------------------------------------------------------------


def test_a_field_over_the_csv_module_limit_with_a_broken_row(tmp_path: Path) -> None:
    """200 KB is over the csv module's 128 KB default: the careful reader must cope with it."""
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        "crime_id,reported_at,crime_type,area\n"
        f"T-C1,2025-01-06,Burglary,{'x' * 200_000}\n"
        "T-C2,2025-01-06,Burglary,North,extra\n"
        "T-C3,2025-01-06,Burglary,North\n",
    )
    result, con = load(tmp_path, d)
    counts_add_up(result)
    assert con.execute("SELECT crime_id, length(area) FROM crimes ORDER BY 1").fetchall() == [
        ("T-C1", 200_000),
        ("T-C3", 5),
    ]
    assert rejects(con, "crimes")[3][0][2] == "the row has 5 fields but the header has 4"


def test_a_header_over_the_csv_module_limit(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        f"crime_id,reported_at,crime_type,{'h' * 200_000}\nT-C1,2025-01-06,Burglary,x\n",
    )
    result, _ = load(tmp_path, d)
    counts_add_up(result)
    assert result.files[0].rows_loaded == 1


def test_a_50_mb_field_rejects_its_row_and_the_others_load(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        "crime_id,reported_at,crime_type,area\n"
        "T-C1,2025-01-06,Burglary,North\n"
        f'T-C2,2025-01-06,Burglary,"{"y" * 50_000_000}"\n'
        "T-C3,2025-01-06,Burglary,South\n",
    )
    result, con = load(tmp_path, d)
    counts_add_up(result)
    (f,) = result.files
    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (3, 2, 1)
    ((column, value, reason),) = rejects(con, "crimes")[3]
    assert column == "area" and value == "y" * 40 + "…"
    assert "50,000,000 characters" in reason


def test_non_utf8_is_reported_with_where_and_how_to_fix(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        (CRIMES + "T-C1,2025-01-06,Burglary,,\nT-C2,2025-01-06,Caf\xe9,,\n").encode("cp1252"),
    )
    with pytest.raises(ExtractError) as caught:
        load(tmp_path, d)
    message = str(caught.value)
    assert "crimes.csv: is not UTF-8" in message
    assert "line 3" in message and "0xE9" in message and "encoding" in message


def test_a_profile_can_declare_latin1_or_cp1252(tmp_path: Path) -> None:
    for encoding, text in (("latin-1", "Caf\xe9 \xbd"), ("cp1252", "Caf\xe9 \u2019\u20ac")):
        d = tmp_path / encoding
        write(
            d,
            "crimes.csv",
            (f"crime_id,reported_at,crime_type,area\nT-C1,2025-01-06,Burglary,{text}\n").encode(
                encoding
            ),
        )
        profile = STANDARD.model_copy(update={"encoding": encoding})
        con = connect(tmp_path / f"{encoding}.duckdb")
        (f,) = load_paths(con, [d], profile).files
        assert f.rows_loaded == 1
        assert con.execute("SELECT area FROM crimes").fetchall() == [(text,)]


def test_profile_encoding_key_is_checked(tmp_path: Path) -> None:
    base = "name: mine\ndescription: a test profile\n"
    good = write(tmp_path, "good.yaml", base + "encoding: cp1252\n")
    assert load_profile(str(good)).encoding == "cp1252"
    assert load_profile("standard").encoding == "utf-8"
    for bad in ("no-such-codec", "base64"):
        path = write(tmp_path, f"{bad}.yaml", base + f"encoding: {bad}\n")
        with pytest.raises(ProfileError, match="encoding"):
            load_profile(str(path))


def test_cp1252_byte_undefined_in_the_declared_encoding_is_an_error(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(d, "crimes.csv", b"crime_id,reported_at,crime_type,area\nT-C1,2025-01-06,Burglary,\x81\n")
    profile = STANDARD.model_copy(update={"encoding": "cp1252"})
    with pytest.raises(ExtractError, match=r"crimes\.csv: is not cp1252 text.*line 2"):
        load(tmp_path, d, profile=profile)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not a text file"),
        (bytes(range(256)) * 4, "NUL byte on line 1"),
        (b"PK\x03\x04" + bytes(200), "ZIP"),
        ("crime_id,reported_at\n".encode("utf-16"), "UTF-16"),
        (b"crime_id,reported_at,crime_type\nT-C1,2025-01-06,Burg\x00lary\n", "NUL byte on line 2"),
    ],
    ids=["png", "random", "zip", "utf16", "nul"],
)
def test_binary_files_named_csv_are_a_clear_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    d = tmp_path / "x"
    write(d, "crimes.csv", content)
    with pytest.raises(ExtractError, match=rf"crimes\.csv: .*{expected}"):
        load(tmp_path, d)


def test_xlsx_error_constant_without_formulas_is_a_reject(tmp_path: Path) -> None:
    """A sheet with no formula at all is read once; an error typed as a constant still rejects."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "crimes"
    ws.append(["crime_id", "reported_at", "crime_type", "area"])
    ws.append(["T-C1", "2025-01-06", "Burglary", "#N/A"])
    ws.append(["T-C2", "2025-01-06", "Burglary", "North"])
    ws["D2"].data_type = "e"
    wb.save(tmp_path / "book.xlsx")
    result, con = load(tmp_path, tmp_path / "book.xlsx")
    counts_add_up(result)
    assert con.execute("SELECT crime_id, area FROM crimes").fetchall() == [("T-C2", "North")]
    ((column, value, reason),) = rejects(con, "crimes")[2]
    assert (column, value) == ("area", "#N/A") and "spreadsheet error" in reason


def test_damaged_xlsx_and_parquet_are_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "a", "crimes.parquet", b"PAR1 not really parquet")
    with pytest.raises(ExtractError, match=r"crimes\.parquet"):
        load(tmp_path, tmp_path / "a")
    write(tmp_path / "b", "crimes.xlsx", b"PK\x03\x04 not really a workbook")
    with pytest.raises(ExtractError, match=r"crimes\.xlsx"):
        load(tmp_path, tmp_path / "b")


def test_a_header_named_like_the_row_column_is_a_clear_error(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(d, "crimes.csv", "crime_id,reported_at,crime_type,_row\nT-C1,2025-01-06,Burglary,1\n")
    with pytest.raises(ExtractError, match="_row"):
        load(tmp_path, d)


def test_blank_lines_keep_row_numbers_exact(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(d, "crimes.csv", CRIMES + "T-C1,2025-01-06,Burglary,,\n\nT-C2,nonsense,Burglary,,\n")
    _, con = load(tmp_path, d)
    assert sorted(rejects(con, "crimes")) == [4]


def test_markup_like_header_is_printed_not_interpreted(tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(
        d,
        "crimes.csv",
        "crime_id,reported_at,crime_type,[/x],[bold]\nT-C1,2025-01-06,Burglary,1,2\n",
    )
    out = CliRunner().invoke(app, ["ingest", str(d), "--db", str(tmp_path / "c.duckdb")])
    assert out.exit_code == 0, out.output
    assert "[/x]" in out.output and "[bold]" in out.output


def test_markup_like_sheet_label_is_shown_in_the_summary(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "crimes"
    ws.append(["crime_id", "reported_at", "crime_type"])
    ws.append(["T-C1", "2025-01-06", "Burglary"])
    wb.save(tmp_path / "extract.xlsx")
    out = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "extract.xlsx"), "--db", str(tmp_path / "c.duckdb")]
    )
    assert out.exit_code == 0, out.output
    assert "extract.xlsx[crimes]" in out.output


def test_markup_like_folder_name_loads_and_prints(tmp_path: Path) -> None:
    d = tmp_path / "extract_[/y]"
    write(d, "crimes.csv", CRIMES + "T-C1,2025-01-06,Burglary,,\n")
    write(d, "victims.csv", "victim_id,crime_id,age_at_report,victim_name\nT-V1,T-C1,30,\n")
    out = CliRunner().invoke(app, ["ingest", str(d), "--db", str(tmp_path / "c.duckdb")])
    assert out.exit_code == 0, out.output
    assert "extract_[/y]" in out.output
    missing = CliRunner().invoke(app, ["ingest", str(d / "nope_[/z]"), "--db", str(d / "c.duckdb")])
    assert missing.exit_code == 2 and "nope_[/z]" in missing.output  # errors are escaped too


def test_summary_escapes_markup_in_every_user_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """print_load_summary on its own: labels, columns, notes and skip reasons are user text."""
    from vcop.cli import data
    from vcop.ingest import FileResult

    result = LoadResult(
        load_id=1,
        notes=["extract_[/y]/x.csv: file name is not a table"],
        warnings=["[/w] read as cp1252"],
    )
    result.files.append(
        FileResult(
            "extract_[/y]/crimes.csv", "crimes", batch_id=1, ignored_columns=["[/a]", "name[/b]"]
        )
    )
    result.files.append(FileResult("extract_[/y]/book.xlsx[crimes]", "crimes", skipped="[/z]"))
    data.print_load_summary(result, Path("db_[/q].duckdb"))
    text = capsys.readouterr().out
    for shown in (
        "extract_[/y]", "[/a]", "name[/b]", "[/z]", "book.xlsx[crimes]", "db_[/q]", "[/w]",
    ):  # fmt: skip
        assert shown in text, shown
