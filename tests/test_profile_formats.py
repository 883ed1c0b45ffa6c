"""Profiles that fit real exports (issue 20): file-name patterns, sheets, header rows, row
filters, ignored columns, transforms, constants, shipped code lists, `unmapped: blank`, codes
read as text, and batches that remember the profile's content."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from vcop.cli import app
from vcop.ingest import ExtractError, load_paths
from vcop.ingest.readers import date_in_name
from vcop.spec.codelists import codelist_names, load_codelist
from vcop.spec.profile import Profile, ProfileError, load_profile
from vcop.spec.schema import load_schema
from vcop.store import connect

CRIMES = (
    "Crime Ref,Reported,Category\n"
    "OCC/1,06/01/2025,BURG\n"
    "OCC/2,07/01/2025,BURG\n"
    "OCC/3,08/01/2025,BURG\n"
)

#: The top of every test profile: UK dates and a crimes table.
HEAD = """\
name: test-force
description: a force's own export
datetime_formats: ["%d/%m/%Y"]
tables:
  crimes:
    files: [Crimes]
    columns: {Crime Ref: crime_id, Reported: reported_at, Category: crime_type}
    values:
      crime_type: {BURG: Burglary}
"""


def profile_at(tmp_path: Path, tables: str, name: str = "force.yaml") -> Profile:
    """A profile file of HEAD plus ``tables`` (YAML indented under ``tables:``), loaded."""
    path = tmp_path / name
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(tables), "  "), "utf-8")
    return load_profile(str(path))


def export(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    (folder / "Crimes.csv").write_text(CRIMES, "utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, "utf-8")
    return folder


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


# -- codes read as text --------------------------------------------------------------------------


def test_numeric_and_yes_no_keys_are_the_codes_written(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [People]
          columns: {Person: victim_id, Crime Ref: crime_id, Sex: sex, Disabled: disability}
          values:
            sex: {1: male, 2: female, 0: not_stated, NULL: not_stated}
            disability: {Yes: true, No: false, on: yes, off: no}
        """,
    )
    assert profile.mapping("victims").values["sex"] == {
        "1": "male", "2": "female", "0": "not_stated", "NULL": "not_stated",
    }  # fmt: skip
    folder = export(
        tmp_path,
        {
            "People.csv": "Person,Crime Ref,Sex,Disabled\n"
            "P1,OCC/1,1,Yes\nP2,OCC/2,2,on\nP3,OCC/3,NULL,off\n"
        },
    )
    con = connect(tmp_path / "v.duckdb")
    result = load_paths(con, [folder], profile)
    assert result.rows_rejected == 0
    assert rows(con, "SELECT victim_id, sex, disability FROM victims ORDER BY 1") == [
        ("P1", "male", True),
        ("P2", "female", True),
        ("P3", "not_stated", False),
    ]


def test_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="'Y' appears twice"):
        profile_at(tmp_path, "victims:\n  values:\n    sex: {Y: male, Y: female}\n")


# -- row filters, ignored columns, constants, transforms -----------------------------------------


def test_where_loads_only_victims_from_a_combined_people_file(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [People]
          where: {Role: [Victim, Injured Party]}
          ignore: [Notes]
          columns: {Person: victim_id, Crime Ref: crime_id, Age: age_at_report}
        """,
    )
    folder = export(
        tmp_path,
        {
            "People.csv": "Person,Crime Ref,Role,Age,Notes\n"
            "P1,OCC/1,Victim,34,n/a\n"
            "S1,OCC/1,Suspect,not an age,n/a\n"  # a suspect's bad value is not a reject
            "W1,OCC/2,witness,40,n/a\n"
            "P2,OCC/2, victim ,51,n/a\n"  # matched ignoring case and spaces
            "P3,OCC/3,injured party,,n/a\n"
            "P4,OCC/3,Victim,200,n/a\n"  # a victim's bad value is
        },
    )
    con = connect(tmp_path / "w.duckdb")
    result = load_paths(con, [folder], profile)
    victims = next(f for f in result.files if f.table == "victims")
    assert rows(con, "SELECT victim_id FROM victims ORDER BY 1") == [("P1",), ("P2",), ("P3",)]
    assert (victims.rows_filtered, victims.rows_read, victims.rows_rejected) == (2, 4, 1)
    assert victims.rows_loaded == 3
    assert rows(con, 'SELECT "row", "column" FROM rejects WHERE table_name = \'victims\'') == [
        (7, "age_at_report")
    ]
    assert victims.ignored_columns == []  # Role selects rows; Notes is ignored on purpose
    assert rows(con, "SELECT rows_filtered FROM batches WHERE table_name = 'victims'") == [(2,)]


def test_where_reads_the_text_after_its_transforms(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [People]
          where: {Station: "1000"}
          transforms: {Station: strip_thousands}
          columns: {Person: victim_id, Crime Ref: crime_id}
        """,
    )
    folder = export(
        tmp_path, {"People.csv": 'Person,Crime Ref,Station\nP1,OCC/1,"1,000"\nP2,OCC/2,"2,000"\n'}
    )
    con = connect(tmp_path / "s.duckdb")
    load_paths(con, [folder], profile)
    assert rows(con, "SELECT victim_id FROM victims") == [("P1",)]


def test_where_names_a_header_the_file_lacks(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [People]
          where: {Role: Victim}
          columns: {Person: victim_id, Crime Ref: crime_id}
        """,
    )
    folder = export(tmp_path, {"People.csv": "Person,Crime Ref\nP1,OCC/1\n"})
    with pytest.raises(ExtractError, match=r"People\.csv: the profile selects rows by 'Role'"):
        load_paths(connect(tmp_path / "m.duckdb"), [folder], profile)


def test_thousands_separators_transforms_and_constants(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Ref: crime_id, Sex: sex}
          transforms:
            Ref: [trim, strip_thousands]
            Person: upper
          constants: {ethnicity: not_stated}
        """,
    )
    profile_text = (tmp_path / "force.yaml").read_text()
    profile_text = profile_text.replace(
        "[Crimes]", "[Crimes]\n    transforms: {Crime Ref: [strip_thousands]}"
    )
    (tmp_path / "force.yaml").write_text(profile_text)
    profile = load_profile(str(tmp_path / "force.yaml"))
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Crimes.csv").write_text(
        'Crime Ref,Reported,Category\n"1,234",06/01/2025,BURG\n"1,234,567",07/01/2025,BURG\n'
    )
    (folder / "Victims.csv").write_text(
        'Person,Ref,Sex\np1,"\u00a01,234 ",female\np2,"1,234,567",male\n'
    )
    con = connect(tmp_path / "t.duckdb")
    result = load_paths(con, [folder], profile)
    assert result.rows_rejected == 0
    assert rows(con, "SELECT crime_id FROM crimes ORDER BY 1") == [("1234",), ("1234567",)]
    assert rows(con, "SELECT victim_id, crime_id, ethnicity FROM victims ORDER BY 1") == [
        ("P1", "1234", "not_stated"),
        ("P2", "1234567", "not_stated"),
    ]


def test_a_constant_and_a_file_column_for_the_same_column_is_refused(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Crime Ref: crime_id}
          constants: {sex: female}
        """,
    )
    folder = export(tmp_path, {"Victims.csv": "Person,Crime Ref,sex\nP1,OCC/1,male\n"})
    with pytest.raises(ExtractError, match="constant 'female'"):
        load_paths(connect(tmp_path / "c.duckdb"), [folder], profile)


# -- file names, sheets and header rows ----------------------------------------------------------


def test_a_pattern_loads_the_latest_dated_file(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: ["People_*.csv"]
          columns: {Person: victim_id, Crime Ref: crime_id}
        """,
    )
    folder = export(
        tmp_path,
        {
            "People_20250630.csv": "Person,Crime Ref\nP1,OCC/1\nP2,OCC/2\n",
            "People_2025-05-31.csv": "Person,Crime Ref\nOLD,OCC/1\n",
            "people_2025_04_30.csv": "Person,Crime Ref\nOLDER,OCC/1\n",
        },
    )
    # the oldest is the newest on disk: the date in the name decides
    os.utime(folder / "people_2025_04_30.csv", (2_000_000_000, 2_000_000_000))
    con = connect(tmp_path / "p.duckdb")
    result = load_paths(con, [folder], profile)
    assert [Path(f.label).name for f in result.files] == ["Crimes.csv", "People_20250630.csv"]
    assert rows(con, "SELECT victim_id FROM victims ORDER BY 1") == [("P1",), ("P2",)]
    assert len(result.superseded) == 2
    assert all("superseded by" in n and "People_20250630.csv" in n for n in result.superseded)
    assert not result.notes  # superseded files are expected, not skipped


def test_without_dates_the_latest_modified_file_loads(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: ["People*"]
          columns: {Person: victim_id, Crime Ref: crime_id}
        """,
    )
    folder = export(
        tmp_path,
        {
            "People_a.csv": "Person,Crime Ref\nA,OCC/1\n",
            "People_b.csv": "Person,Crime Ref\nB,OCC/1\n",
        },
    )
    os.utime(folder / "People_a.csv", (2_000_000_000, 2_000_000_000))
    con = connect(tmp_path / "m.duckdb")
    result = load_paths(con, [folder], profile)
    assert rows(con, "SELECT victim_id FROM victims") == [("A",)]
    assert "People_b.csv: superseded by" in result.superseded[0]


def test_dates_in_names() -> None:
    assert str(date_in_name("Occurrences_20250630")) == "2025-06-30"
    assert str(date_in_name("export 2025-06-30 v2")) == "2025-06-30"
    assert str(date_in_name("x_2025_06_30")) == "2025-06-30"
    assert date_in_name("x_20251399") is None  # no such date
    assert date_in_name("ref_1202506301") is None  # inside a longer number
    assert date_in_name("2025-06_30") is None  # mixed separators


def test_header_row_below_a_title_in_a_csv(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          header_row: 3
          columns: {Person: victim_id, Crime Ref: crime_id, Age: age_at_report}
        """,
    )
    folder = export(
        tmp_path,
        {
            "Victims.csv": "Victims export,,\nProduced 30/06/2025,,\n"
            "Person,Crime Ref,Age\nP1,OCC/1,34\nP2,OCC/2,old\n"
        },
    )
    con = connect(tmp_path / "h.duckdb")
    load_paths(con, [folder], profile)
    assert rows(con, "SELECT victim_id, age_at_report FROM victims") == [("P1", 34)]
    # row numbers are the file's own: the bad age is on line 5
    assert rows(con, "SELECT \"row\" FROM rejects WHERE table_name = 'victims'") == [(5,)]


def test_header_row_and_sheet_in_a_workbook_with_a_cover_sheet(tmp_path: Path) -> None:
    import openpyxl

    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: ["Victims_*"]
          sheet: Data
          header_row: 2
          columns: {Person: victim_id, Crime Ref: crime_id, Age: age_at_report}
        """,
    )
    folder = export(tmp_path, {})
    wb = openpyxl.Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "Cover"
    cover.append(["Victims export, produced 30/06/2025"])
    data = wb.create_sheet("Data")
    data.append(["Victims of crime"])
    data.append(["Person", "Crime Ref", "Age"])
    data.append(["P1", "OCC/1", 34])
    data.append(["P2", "OCC/2", "old"])
    wb.save(folder / "Victims_20250630.xlsx")
    con = connect(tmp_path / "x.duckdb")
    result = load_paths(con, [folder], profile)
    assert rows(con, "SELECT victim_id, age_at_report FROM victims") == [("P1", 34)]
    assert rows(con, "SELECT \"row\" FROM rejects WHERE table_name = 'victims'") == [(4,)]
    assert not result.notes  # the cover sheet is not a table, and not reported as one


# -- code lists and unmapped: blank --------------------------------------------------------------


def test_census_code_list_keeps_the_detailed_code(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Crime Ref: crime_id, SDE: ethnicity, Gender: sex}
          values: {ethnicity: census_2021_ethnicity, sex: sex}
        """,
    )
    folder = export(
        tmp_path,
        {
            "Victims.csv": "Person,Crime Ref,SDE,Gender\n"
            "P1,OCC/1,W1,F\n"
            "P2,OCC/1,a4,Male\n"
            '"P3",OCC/2,"Black, Black British, Black Welsh, Caribbean or African: African",U\n'
            "P4,OCC/2,O1,\n"
            "P5,OCC/3,NS,X\n"
        },
    )
    con = connect(tmp_path / "e.duckdb")
    assert load_paths(con, [folder], profile).rows_rejected == 0
    assert rows(
        con, "SELECT victim_id, ethnicity, ethnicity_detail, sex FROM victims ORDER BY 1"
    ) == [
        ("P1", "white", "W1", "female"),
        ("P2", "asian", "A4", "male"),
        ("P3", "black", "B2", "not_stated"),
        ("P4", "asian", "A4", None),  # O1: the 16+1 code for Chinese
        ("P5", "not_stated", "NS", "other"),
    ]


def test_unknown_code_is_rejected_by_default(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Crime Ref: crime_id, SDE: ethnicity}
          values: {ethnicity: census_2021_ethnicity}
        """,
    )
    folder = export(tmp_path, {"Victims.csv": "Person,Crime Ref,SDE\nP1,OCC/1,W1\nP2,OCC/2,Z7\n"})
    con = connect(tmp_path / "r.duckdb")
    result = load_paths(con, [folder], profile)
    assert result.rows_rejected == 1
    assert rows(con, "SELECT victim_id FROM victims") == [("P1",)]


def test_unmapped_blank_loads_the_victim_and_reports_the_code(tmp_path: Path) -> None:
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Crime Ref: crime_id, SDE: ethnicity, Gender: sex}
          values: {ethnicity: census_2021_ethnicity, sex: {F: female, M: male}}
          unmapped: {ethnicity: blank, sex: blank}
        """,
    )
    folder = export(
        tmp_path,
        {
            "Victims.csv": "Person,Crime Ref,SDE,Gender\n"
            "P1,OCC/1,W1,F\nP2,OCC/1,Z7,M\nP3,OCC/2, Z7 ,Q\nP4,OCC/3,white,female\nP5,OCC/3,,\n"
        },
    )
    con = connect(tmp_path / "b.duckdb")
    result = load_paths(con, [folder], profile)
    victims = next(f for f in result.files if f.table == "victims")
    assert result.rows_rejected == 0
    assert rows(
        con, "SELECT victim_id, ethnicity, ethnicity_detail, sex FROM victims ORDER BY 1"
    ) == [
        ("P1", "white", "W1", "female"),
        ("P2", None, None, "male"),
        ("P3", None, None, None),
        ("P4", "white", None, "female"),  # the schema's own values are known, not blanked
        ("P5", None, None, None),  # a blank is a blank, not an unknown code
    ]
    assert victims.blanked == {("ethnicity", "Z7"): 2, ("sex", "Q"): 1}

    # the summary `vcop ingest` prints says so
    db = tmp_path / "cli.duckdb"
    out = CliRunner().invoke(
        app, ["ingest", str(folder), "--db", str(db), "--profile", str(tmp_path / "force.yaml")]
    )
    assert out.exit_code == 0, out.output
    assert "unknown codes blanked" in out.output and "ethnicity 'Z7' ×2" in out.output


def test_unmapped_blank_is_refused_for_a_required_column(tmp_path: Path) -> None:
    with pytest.raises(
        ProfileError, match=r"unmapped\.crime_id: blank is allowed only for optional"
    ):
        profile_at(
            tmp_path,
            """\
            victims:
              values: {crime_id: {A: B}}
              unmapped: {crime_id: blank}
            """,
        )
    with pytest.raises(
        ProfileError, match=r"unmapped\.ethnicity: Input should be 'reject' or 'blank'"
    ):
        profile_at(tmp_path, "victims:\n  unmapped: {ethnicity: skip}\n")


def test_unknown_code_list_and_wrong_targets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="'census_2011' is not a shipped code list"):
        profile_at(tmp_path, "victims:\n  values: {ethnicity: census_2011}\n")
    with pytest.raises(ProfileError, match=r"values\.sex: it maps to 'femal', not allowed in sex"):
        profile_at(tmp_path, "victims:\n  values: {sex: {F: femal}}\n")
    with pytest.raises(ProfileError, match=r"values\.sex: the code list 'census_2021_ethnicity'"):
        profile_at(tmp_path, "victims:\n  values: {sex: census_2021_ethnicity}\n")


def test_home_office_outcome_code_list(tmp_path: Path) -> None:
    profile = profile_at(tmp_path, "")
    text = (
        (tmp_path / "force.yaml")
        .read_text()
        .replace(
            "Category: crime_type}",
            "Category: crime_type, Outcome: outcome_code, Outcome Date: outcome_at}",
        )
        .replace(
            "crime_type: {BURG: Burglary}",
            "crime_type: {BURG: Burglary}\n      outcome_code: home_office_outcome",
        )
    )
    (tmp_path / "force.yaml").write_text(text)
    profile = load_profile(str(tmp_path / "force.yaml"))
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Crimes.csv").write_text(
        "Crime Ref,Reported,Category,Outcome,Outcome Date\n"
        "C1,06/01/2025,BURG,Outcome 15,07/01/2025\n"
        "C2,06/01/2025,BURG,OC1,07/01/2025\n"
        "C3,06/01/2025,BURG,Investigation complete - no suspect identified,07/01/2025\n"
        "C4,06/01/2025,BURG,08,07/01/2025\n"
        "C5,06/01/2025,BURG,22,07/01/2025\n"
    )
    con = connect(tmp_path / "o.duckdb")
    assert load_paths(con, [folder], profile).rows_rejected == 0
    assert rows(con, "SELECT crime_id, outcome_code FROM crimes ORDER BY 1") == [
        ("C1", 15), ("C2", 1), ("C3", 18), ("C4", 8), ("C5", 22),
    ]  # fmt: skip


def test_shipped_code_lists_agree_with_the_schema_and_outcomes() -> None:
    from importlib import resources

    import yaml

    assert set(codelist_names()) == {"census_2021_ethnicity", "home_office_outcome", "sex"}
    victims = load_schema().table("victims")
    census = load_codelist("census_2021_ethnicity")
    assert len(census.codes) == 20  # 19 categories + not stated
    assert tuple(census.codes) == victims.column("ethnicity_detail").allowed
    assert set(census.codes.values()) == set(victims.column("ethnicity").allowed or ())
    assert set(load_codelist("sex").codes.values()) == set(victims.column("sex").allowed or ())
    outcomes = yaml.safe_load(
        resources.files("vcop.definitions").joinpath("outcomes/home_office.yaml").read_text()
    )
    listed = load_codelist("home_office_outcome")
    assert listed.codes == {str(n): str(n) for n in range(1, 23)}
    for number, outcome in outcomes["types"].items():
        assert listed.values[outcome["title"]] == str(number)


# -- batches remember the profile's content ------------------------------------------------------


def test_an_edited_profile_loads_the_file_again(tmp_path: Path) -> None:
    tables = """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Crime Ref: crime_id, Gender: sex}
          values: {sex: {F: female, M: male}}
        """
    folder = export(tmp_path, {"Victims.csv": "Person,Crime Ref,Gender\nP1,OCC/1,F\nP2,OCC/1,1\n"})
    con = connect(tmp_path / "e.duckdb")
    first = load_paths(con, [folder], profile_at(tmp_path, tables))
    assert first.rows_rejected == 1  # '1' is not a code yet
    again = load_paths(con, [folder], profile_at(tmp_path, tables))
    assert all(f.skipped for f in again.files)  # same bytes, same profile: nothing to do
    renamed = profile_at(tmp_path, tables).model_copy(update={"name": "renamed"})
    assert all(f.skipped for f in load_paths(con, [folder], renamed).files)  # content decides

    edited = profile_at(tmp_path, tables.replace("M: male}", "M: male, 1: male}"))
    result = load_paths(con, [folder], edited)
    crimes, victims = result.files
    assert crimes.skipped  # the crimes mapping did not change
    assert victims.skipped is None and victims.rows_inserted == 1
    assert rows(con, "SELECT victim_id, sex FROM victims ORDER BY 1") == [
        ("P1", "female"),
        ("P2", "male"),
    ]
    hashes = rows(con, "SELECT DISTINCT profile_hash FROM batches WHERE table_name = 'victims'")
    assert len(hashes) == 2


def test_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = connect(db)
    con.execute("ALTER TABLE victims DROP COLUMN ethnicity_detail")
    con.execute("ALTER TABLE batches DROP COLUMN profile_hash")
    con.execute("ALTER TABLE batches DROP COLUMN rows_filtered")
    con.close()
    con = connect(db)
    profile = profile_at(
        tmp_path,
        """\
        victims:
          files: [Victims]
          columns: {Person: victim_id, Crime Ref: crime_id, SDE: ethnicity}
          values: {ethnicity: census_2021_ethnicity}
        """,
    )
    folder = export(tmp_path, {"Victims.csv": "Person,Crime Ref,SDE\nP1,OCC/1,M2\n"})
    load_paths(con, [folder], profile)
    assert rows(con, "SELECT ethnicity, ethnicity_detail FROM victims") == [("mixed", "M2")]


def test_mode_is_accepted_and_checked(tmp_path: Path) -> None:
    assert load_profile("standard").mapping("crimes").mode == "delta"
    profile = profile_at(tmp_path, "victims:\n  mode: full\n")
    assert profile.mapping("victims").mode == "full"
    with pytest.raises(ProfileError, match="mode: Input should be 'delta' or 'full'"):
        profile_at(tmp_path, "victims:\n  mode: snapshot\n")
    with pytest.raises(
        ProfileError, match="header_row: Input should be greater than or equal to 1"
    ):
        profile_at(tmp_path, "victims:\n  header_row: 0\n")
