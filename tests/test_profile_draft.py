"""Onboarding a force's own export: `vcop profile init` drafts a profile, `vcop profile check` and
`vcop ingest --dry-run` find its mistakes without writing anything.

The export is ``tests/fixtures/niche_export`` (made by ``scripts/make_niche_export.py``): a
Niche-style export of synthetic data, its edited profile ``force.yaml`` and the same data as a
standard extract.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from vcop.cli import app
from vcop.ingest import load_paths
from vcop.ingest.draft import detect_date_formats, draft_profile
from vcop.ingest.dry_run import load_checked
from vcop.ingest.profile_check import check_profile
from vcop.ingest.profile_files import (
    ExportFile,
    choose_latest,
    find_header_row,
    name_date,
    name_pattern,
    shipped_code_lists,
)
from vcop.ingest.profile_schema import profile_file_problems
from vcop.spec.profile import load_profile
from vcop.spec.schema import load_schema
from vcop.store import connect, ensure_schema

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "niche_export"
EXPORT = FIXTURE / "export"
FORCE = FIXTURE / "force.yaml"
AS_OF = date(2025, 6, 30)
TABLES = ("crimes", "victims", "contacts", "needs_assessments")

#: The agreed shipped code lists (census_2021_ethnicity: 19 + 1 codes onto the schema's groups;
#: sex), standing in until they are installed in definitions/codelists.
_CENSUS = {
    code: group
    for group, codes in {
        "white": "W1 W2 W3 W4 W9",
        "mixed": "M1 M2 M3 M9",
        "asian": "A1 A2 A3 A4 A9",
        "black": "B1 B2 B9",
        "other": "O1 O9",
        "not_stated": "NS",
    }.items()
    for code in codes.split()
}
STAND_IN = {
    "census_2021_ethnicity": _CENSUS,
    "sex": {"M": "male", "F": "female", "U": "not_stated", "X": "other"},
}


def code_lists() -> Mapping[str, Mapping[str, str]]:
    """The shipped code lists once they are installed, else the stand-in."""
    shipped = shipped_code_lists()
    return shipped if set(STAND_IN) <= set(shipped) else STAND_IN


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def todo_lines(text: str) -> list[str]:
    """The YAML (or, for a comment line, the comment) of each line marked TODO."""
    found = []
    for line in text.splitlines():
        if "# TODO" in line:
            before, _, after = line.partition("# TODO")
            found.append(before.strip() or after.strip(": ").split(":")[0])
    return found


@pytest.fixture(scope="module")
def draft() -> Any:
    return draft_profile([EXPORT], name="niche-example", code_lists=code_lists())


# -- the fixture ---------------------------------------------------------------------------------


def test_fixture_has_no_personal_details_but_the_placeholder_addresses() -> None:
    from vcop.privacy import looks_personal

    for path in (FIXTURE / "standard").iterdir():
        text = path.read_text("utf-8")
        assert not any(looks_personal(line) for line in text.splitlines()), path
    people = (EXPORT / "People_20250630.csv").read_text("cp1252")
    assert not any(looks_personal(line) for line in people.splitlines())
    assert "Example" in (EXPORT / "Occurrences_20250630.csv").read_text("cp1252")


# -- drafting ------------------------------------------------------------------------------------


def test_init_drafts_tables_files_headers_and_formats(draft: Any) -> None:
    profile = yaml.safe_load(draft.text)
    assert profile["encoding"] == "cp1252"
    assert profile["datetime_formats"] == ["%d/%m/%Y %H:%M"]
    tables = profile["tables"]
    assert list(tables) == list(TABLES)  # in load order
    assert tables["crimes"]["files"] == ["Occurrences_*"]
    assert tables["victims"]["files"] == ["People_*"]
    assert tables["contacts"]["files"] == ["Victim_Contacts_*"]
    na = tables["needs_assessments"]
    assert (na["files"], na["sheet"], na["header_row"]) == (["VNA_Export_*"], "Data", 3)
    crimes = tables["crimes"]["columns"]
    assert crimes["Occurrence Ref"] == "crime_id"
    assert crimes["Date Reported"] == "reported_at"
    assert crimes["Hate Flg"] == "hate_crime"  # resembles "hate flag": mapped, with a TODO
    assert crimes["HO Outcome"] == "outcome_code"
    assert "Location Address" not in crimes
    assert set(tables["crimes"]["ignore"]) == {"Location Address", "Occurrence Status", "Beat"}
    victims = tables["victims"]
    assert victims["where"] == {"Role": "Victim"}
    assert victims["columns"]["Nominal Ref"] == "victim_id"
    assert victims["columns"]["Gender"] == "sex"
    for name in ("crimes", "victims", "contacts"):
        assert tables[name]["transforms"] == {"Occurrence Ref": ["strip_thousands"]}
    assert "transforms" not in na  # the workbook holds numbers, not text with separators
    assert victims["values"] == {"sex": "sex", "ethnicity": "census_2021_ethnicity"}
    assert victims["unmapped"] == {"ethnicity": "reject"}  # "99" is not a Census code
    purposes = tables["contacts"]["values"]["purpose"]
    assert purposes["Needs Assessment"] == "needs_assessment"
    assert purposes["VCC Update"] == "vcc_update"
    assert tables["contacts"]["values"]["channel"]["TEL"] == "phone"
    assert [d.file.label for d in draft.unmatched] == ["VNA_Export_20250630.xlsx[Cover]"]
    assert "People_20250531.csv (older: superseded" in draft.text
    assert '"31/02/2025 09:15" 1' in draft.text  # the impossible date is pointed out


def test_init_marks_todo_exactly_the_uncertain_lines(draft: Any) -> None:
    assert sorted(todo_lines(draft.text)) == sorted(
        [
            "Hate Flg: hate_crime",  # a resemblance, not a known name
            "- Occurrence Status",  # unknown headers
            "- Beat",
            "where: {Role: Victim}",  # a combined people file
            "ethnicity: reject",  # a code the Census list does not know
            '"TEL": phone',  # suggested from common codes, not certain
            '"EML": email',
            '"F2F": in_person',
            '"LTR": letter',
            '"TXT": sms',
        ]
    )
    assert draft.todos == 10
    # certain lines carry no TODO: canonical names and synonyms, codes equal to canonical values
    assert "Location Address  # never load" in draft.text
    assert '"Needs Assessment": needs_assessment  # 50 rows\n' in draft.text


def test_init_without_code_lists_lists_every_code_with_a_todo() -> None:
    text = draft_profile([EXPORT], code_lists={}).text
    profile = yaml.safe_load(text)
    ethnicity = profile["tables"]["victims"]["values"]["ethnicity"]
    assert ethnicity["W1"] is None and ethnicity["99"] is None and len(ethnicity) == 13
    assert profile["tables"]["victims"]["values"]["sex"] == {
        "F": "female",
        "M": "male",
        "U": "not_stated",
    }
    todos = todo_lines(text)
    assert '"W1": null' in todos and '"99": null' in todos and '"U": not_stated' in todos
    assert "unmapped" not in profile["tables"]["victims"]


def test_force_yaml_is_the_draft_with_only_its_todo_lines_edited(draft: Any) -> None:
    edited = FORCE.read_text("utf-8")
    assert "# TODO" not in edited
    changed = [
        line[2:]
        for line in difflib.ndiff(draft.text.splitlines(), edited.splitlines())
        if line.startswith("- ")
    ]
    assert changed and all("# TODO" in line for line in changed), changed
    assert len(changed) == draft.todos


def test_dated_names_header_rows_and_date_formats(tmp_path: Path) -> None:
    assert name_pattern("People_20250630") == "People_*"
    assert name_pattern("crimes-2025-06-30-full") == "crimes-*-full"
    assert name_pattern("crimes") == "crimes"
    assert name_date("x_2025_05_31") == date(2025, 5, 31)
    assert name_date("x_20251341") is None
    older, newer = tmp_path / "People_20250531.csv", tmp_path / "People_20250630.csv"
    newer.write_text("a\n1\n")
    older.write_text("a\n1\n")  # modified later, but its name says it is older
    chosen, superseded = choose_latest([ExportFile(older), ExportFile(newer)])
    assert chosen == ExportFile(newer) and superseded == [ExportFile(older)]
    title = [["Report"], ["Run 30/06/2025", ""], ["A", "B", "C"], ["1", "2", "3"]]
    assert find_header_row(title) == 3
    assert find_header_row([["a", "b"], ["1", "2"]]) == 1
    found = detect_date_formats(["13/01/2025 10:00", "02/03/2025", "2025-01-31", "31/02/2025"])
    assert found.formats == ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
    assert list(found.unparsed) == ["31/02/2025"] and not found.ambiguous
    assert detect_date_formats(["01/02/2025", "03/04/2025"]).ambiguous


# -- checking ------------------------------------------------------------------------------------


def test_check_of_the_unedited_draft_reports_every_gap_and_writes_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "force.yaml"
    db = tmp_path / "v.duckdb"
    made = runner.invoke(app, ["profile", "init", str(EXPORT), "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "TODO line(s) to edit" in made.output
    again = runner.invoke(app, ["profile", "init", str(EXPORT), "--out", str(out)])
    assert again.exit_code != 0 and "exists" in again.output
    result = runner.invoke(app, ["profile", "check", str(out), str(EXPORT), "--db", str(db)])
    assert result.exit_code == 1, result.output
    text = result.output
    for header in ("Occurrence Status", "Beat", "Hate Flg"):  # unmatched or guessed headers
        assert f"TODO left: - {header}" in text or f"TODO left: {header}" in text
    assert "TODO left: where: {Role: Victim}" in text
    assert "'99' (3 rows)" in text  # every unmapped code, with its count
    assert 'TODO left: "TEL": phone' in text
    assert "Preview of the load (nothing written)" in text
    assert not db.exists()


def test_check_of_the_edited_profile_is_clean_and_previews_only_the_bad_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "v.duckdb"
    connect(db).close()
    before = digest(db)
    report = check_profile(FORCE, [EXPORT], db=db, code_lists=code_lists())
    assert report.problems == []
    assert report.preview is not None
    loaded = {f.table: (f.rows_read, f.rows_loaded, f.rows_rejected) for f in report.preview.files}
    assert loaded == {
        "crimes": (140, 139, 1),
        "victims": (64, 62, 2),  # only the victims' rows are read: the others are filtered out
        "contacts": (342, 342, 0),
        "needs_assessments": (56, 56, 0),
    }
    assert {(g.table, g.column, g.rows) for g in report.rejects} == {
        ("crimes", "reported_at", 1),  # 31/02/2025
        ("victims", "crime_id", 2),  # no crime reference; a crime not in the export
    }
    victims = next(f for f in report.files if f.table == "victims")
    assert victims.filtered_out == {"Suspect": 48, "Witness": 22}
    assert victims.blanked == {"ethnicity": {"99": 3}}
    assert [s.label for s in victims.superseded] == ["People_20250531.csv"]
    assert digest(db) == before


def _edited(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = FORCE.read_text("utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_finds_each_kind_of_mistake_with_its_line(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        ("Hate Flg: hate_crime", "Hate Flag: hate_crime"),  # a header typo
        ("      - Beat  # not needed\n", ""),  # a header neither mapped nor ignored
        ('"TEL": phone', '"TEL": phon'),  # a code mapped to no allowed value
        ('        "EML": email  # 80 rows\n', ""),  # a code left unmapped
        ("ethnicity: blank", "ethnicity: maybe"),
        ('files: ["VNA_Export_*"]', 'files: ["VNA_Exports_*"]'),  # matches nothing
        ("Age: age_at_report", "Age: age"),
    )
    report = check_profile(path, [EXPORT], code_lists=code_lists(), preview=False)
    lines = path.read_text("utf-8").splitlines()
    shown = [str(p) for p in report.problems]

    def at(fragment: str) -> int:
        return next(i for i, line in enumerate(lines, start=1) if fragment in line)

    expected = {
        at(
            "Hate Flag"
        ): "header 'Hate Flag' is not in Occurrences_20250630.csv (did you mean 'Hate Flg'?)",
        at('"TEL"'): "code 'TEL' maps to 'phon', not an allowed channel",
        at("ethnicity: maybe"): "'maybe' is not reject or blank",
        at("VNA_Exports_*"): "no file of the export matches VNA_Exports_*",
        at("Age: age"): "'age' is not a column of victims (did you mean age_at_report?)",
    }
    for line, message in expected.items():
        assert any(f"edited.yaml:{line}: " in s and message in s for s in shown), (message, shown)
    assert any(
        "header 'Beat' of Occurrences_20250630.csv is neither mapped nor ignored" in s
        for s in shown
    )
    assert any(
        "header 'Hate Flg' of Occurrences_20250630.csv is neither mapped" in s for s in shown
    )
    assert any("'EML' (80 rows)" in s for s in shown)


def test_check_refuses_a_column_of_addresses_whatever_it_maps_to(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        ("      - Location Address", "      - Unused"),
        (
            "      Outcome Date: outcome_at\n",
            "      Outcome Date: outcome_at\n      Location Address: location\n",
        ),
    )
    report = check_profile(path, [EXPORT], code_lists=code_lists())
    shown = [str(p) for p in report.problems]
    assert any(
        "'Location Address' of Occurrences_20250630.csv holds what look like personal details" in s
        for s in shown
    )
    assert any("the load would stop" in s and "'location'" in s for s in shown)  # the loader too
    assert report.preview is None


def test_required_columns_and_unmapped_blank_on_a_required_column(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        ("Date Reported: reported_at", "Date Reported: recorded_at"),
        ("Date Recorded: recorded_at", "Date Recorded: outcome_at"),
        ("ethnicity: blank", "ethnicity: blank\n      crime_id: blank"),
    )
    shown = [
        str(p)
        for p in check_profile(path, [EXPORT], code_lists=code_lists(), preview=False).problems
    ]
    assert any("required column reported_at is not mapped" in s for s in shown)
    assert any("both map to recorded_at" in s or "both map to outcome_at" in s for s in shown)
    assert any("crime_id is required, so an unknown code cannot be blanked" in s for s in shown)


def test_vcop_check_validates_a_users_profile(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ndescription: x\ntables:\n  victim:\n    files: [People]\n"
        "  crimes:\n    columns: {Ref: crime_idd}\n    mode: snapshot\n",
        encoding="utf-8",
    )
    shown = [str(p) for p in profile_file_problems(bad)]
    assert shown == [
        f"{bad}:4: tables.victim: no canonical table of that name (did you mean victims?)",
        f"{bad}:7: tables.crimes.columns.Ref: 'crime_idd' is not a column of crimes (did you mean crime_id?)",
        f"{bad}:8: tables.crimes.mode: 'snapshot' is not delta or full",
    ]
    result = CliRunner().invoke(app, ["check", "--profile", str(bad)])
    assert result.exit_code == 1 and "bad.yaml:8: tables.crimes.mode" in result.output
    good = ROOT / "src" / "vcop" / "definitions" / "profiles" / "example-rms.yaml"
    result = CliRunner().invoke(app, ["check", "--profile", str(good)])
    assert result.exit_code == 0, result.output


# -- dry runs and loading ------------------------------------------------------------------------


def test_ingest_dry_run_reports_rejects_and_writes_nothing(tmp_path: Path, tiny: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "v.duckdb"
    result = runner.invoke(app, ["ingest", str(tiny), "--db", str(db), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Rejects by table and column" in result.output
    assert "'Burglery'" in result.output  # a reject, in the user's own file
    assert "nothing was written" in result.output
    assert not db.exists()
    connect(db).close()
    before = digest(db)
    result = runner.invoke(app, ["ingest", str(tiny), "--db", str(db), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert digest(db) == before


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every canonical column of the four tables (not ``ethnicity_detail``, which only the export's
    Census codes fill), sorted."""
    out = {}
    for table in TABLES:
        columns = [c for c in load_schema().table(table).column_names if c != "ethnicity_detail"]
        select = ", ".join(f'"{c}"' for c in columns)
        out[table] = con.execute(f"SELECT {select} FROM {table} ORDER BY ALL").fetchall()
    return out


@pytest.fixture(scope="module")
def standard() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    result = load_paths(con, [FIXTURE / "standard"], load_profile("standard"))
    assert {f.table: f.rows_rejected for f in result.files} == {
        "crimes": 1,
        "victims": 2,
        "contacts": 0,
        "needs_assessments": 0,
    }
    return con


def test_the_checked_export_loads_as_the_standard_extract_does(
    standard: duckdb.DuckDBPyConnection,
) -> None:
    report = check_profile(FORCE, [EXPORT], code_lists=code_lists(), preview=False)
    assert report.problems == [] and report.profile is not None
    con = duckdb.connect()
    ensure_schema(con)
    load_checked(
        con,
        report.profile.data,
        [(r.table, r.file, r.prepared) for r in report.files if r.prepared],
    )
    assert _tables(con) == _tables(standard)
    assert con.execute("SELECT count(*) FROM crimes WHERE location IS NOT NULL").fetchone() == (0,)


def test_the_export_loads_through_its_profile_with_the_standard_extracts_figures(
    standard: duckdb.DuckDBPyConnection,
) -> None:
    import ibis

    from vcop.metrics.engine import compute, quietly
    from vcop.rules.ledger import LEDGER_COLUMNS, evaluate

    con = duckdb.connect()
    ensure_schema(con)
    result = load_paths(con, [EXPORT], load_profile(str(FORCE)))
    rejected = {f.table: f.rows_rejected for f in result.files if not f.skipped}
    assert rejected == {"crimes": 1, "victims": 2, "contacts": 0, "needs_assessments": 0}
    assert _tables(con) == _tables(standard)
    assert con.execute("SELECT count(*) FROM crimes WHERE location IS NOT NULL").fetchone() == (0,)
    ledger = (
        "SELECT " + ", ".join(f'"{c}"' for c in LEDGER_COLUMNS) + " FROM entitlements ORDER BY ALL"
    )
    figures = []
    for db in (con, standard):
        with quietly():
            evaluate(db, AS_OF)
            values = compute(
                ibis.duckdb.from_connection(db), AS_OF, metrics=["needs_assessment_completion"]
            )
        figures.append((db.execute(ledger).fetchall(), [v.current for v in values.values]))
    assert figures[0] == figures[1]
    assert figures[0][0] and figures[0][1]


def test_the_guide_shows_the_real_edit_and_commands(draft: Any) -> None:
    guide = (ROOT / "docs" / "onboarding.md").read_text("utf-8")
    block = guide.split("```diff\n", 1)[1].split("```", 1)[0].splitlines()
    drafted = draft.text.splitlines()
    edited = FORCE.read_text("utf-8").splitlines()
    assert [line[1:] for line in block if line.startswith("-")] == [
        line for line in drafted if "# TODO" in line
    ]
    assert [line[1:] for line in block if line.startswith("+")] == [
        line for line in edited if line not in drafted
    ]
    for command in (
        "vcop profile init tests/fixtures/niche_export/export --out force.yaml",
        "vcop profile check force.yaml tests/fixtures/niche_export/export",
        "--dry-run",
        "vcop batches --undo N",
        "--max-retire-share",
        "--confirm-retire",
        "--summary json",
    ):
        assert command in guide
