"""`vcop report compliance-return`: the quarterly Victims' Code return as an Excel workbook.

A return is cut from the release at its quarter's end. Every number in the workbook is read back
and compared with the release's ``quarter`` value it came from (force-wide and by area); every
figure the release hides is "[c]", and nothing else is. Each release is built once for the module
(tens of seconds each): the command's own build is kept and reused. A hand-made release checks
that one small obligation cell hides no other right (the old "linked set" over-hid Rights 9 and
11 by area for 8 missed CPS letters in one area).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from tests.webdata import WebData, build, copy_of
from vcop.cli import app
from vcop.metrics.periods import Window
from vcop.metrics.release import SUPPRESSED, Release, publish, suppressed_note
from vcop.metrics.values import Estimate, MetricValue
from vcop.reports import compliance_return
from vcop.reports.compliance_return import (
    NONE_DUE,
    SHEET_NOTES,
    SHEET_OBLIGATIONS,
    SHEET_RETURN,
    SHEET_RIGHTS,
    ReturnError,
    compute_return,
    notes,
    notes_definition,
)
from vcop.reports.figures import FigureBook
from vcop.reports.partner import partner_pack
from vcop.reports.render.return_workbook import write_workbook
from vcop.reports.source import ReportSource, open_source
from vcop.spec.check import DefinitionError
from vcop.spec.code import load_code
from vcop.spec.metrics import load_catalogue
from vcop.spec.returns import MOJ_QUARTERLY, load_return

THRESHOLD = 10
Q1 = (date(2025, 1, 1), date(2025, 3, 31))  # evaluated in memory (the stored ledger is 30 June)
Q2 = (date(2025, 4, 1), date(2025, 6, 30))  # the stored ledger's own quarter

#: (metric id, group, scope): scope None is the whole force.
Key = tuple[str, tuple[str, ...], str | None]
#: The three cells of a figure as read back: %, numerator, n.
Cells = tuple[Any, Any, Any]
#: (database, as-of date, threshold) → the release the command built.
Releases = dict[tuple[Path, date, int], Release]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    """A copy of the shared web data: the return keeps the release it publishes in the copy's
    operational store, which must not become every other test's publication ledger."""
    return copy_of(build(tmp_path_factory), tmp_path_factory.mktemp("return"))


@pytest.fixture(scope="module")
def releases() -> Releases:
    return {}


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch, releases: Releases) -> Callable[[Path], None]:
    """``kept(db)``: the command's releases for ``db`` are built once for the module and kept
    (in ``releases``), so a later run, and the test, use the very release a run was cut from."""
    real = compliance_return.build_release

    def use(db: Path) -> None:
        def build_once(source: ReportSource, *, threshold: int, **kw: Any) -> Release:
            key = (db, source.as_of, threshold)
            if key not in releases:
                releases[key] = real(source, threshold=threshold, **kw)
            return releases[key]

        monkeypatch.setattr(compliance_return, "build_release", build_once)

    return use


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["report", "compliance-return", *args])


def said(result: Any) -> str:
    """What the command printed, with its line wrapping undone."""
    return " ".join(result.output.split())


def state(db: Path) -> tuple[str, float, int]:
    """What must not change: the file's bytes, its mtime and the ledger runs it records."""
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    mtime = db.stat().st_mtime
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("SELECT count(*) FROM ledger_runs").fetchall()[0][0]
    con.close()
    return digest, mtime, runs


def key_of(v: MetricValue) -> Key:
    if v.breakdown and v.breakdown[-1] == "area":
        return (v.metric_id, v.group[:-1], v.group[-1])
    return (v.metric_id, v.group, None)


def released(release: Release) -> dict[Key, MetricValue]:
    """The return's metrics as the release publishes them for the quarter it ends."""
    ids = load_return().metric_ids
    values = [*release.values("quarter", None, ids), *release.values("quarter", "area", ids)]
    start = release.as_of.replace(day=1, month=release.as_of.month - 2)
    assert values and all(v.current.start == start for v in values)
    return {key_of(v): v for v in values}


# --- reading the workbook back -----------------------------------------------------------------


def figure_rows(ws: Any) -> tuple[dict[Any, dict[str | None, Cells]], dict[Any, str]]:
    """Each row's figures by scope (None: the force), and each row's note."""
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value in ("No.", "Right",
                                                                                 "Obligation"))  # fmt: skip
    assert [ws.cell(header + 1, c).value for c in range(1, ws.max_column + 1)].count("%") >= 2
    starts = [c for c in range(1, ws.max_column + 1) if ws.cell(header + 1, c).value == "%"]
    scopes = {c: ws.cell(header, c).value for c in starts}
    assert scopes[starts[0]] == "Force"
    note_col = starts[-1] + 3
    assert ws.cell(header, note_col).value == "Note"
    rows: dict[Any, dict[str | None, Cells]] = {}
    notes: dict[Any, str] = {}
    r = header + 2
    while ws.cell(r, 1).value is not None:
        key = ws.cell(r, 1).value
        rows[key] = {
            (None if scopes[c] == "Force" else scopes[c]): tuple(
                ws.cell(r, c + j).value for j in range(3)
            )
            for c in starts
        }
        notes[key] = ws.cell(r, note_col).value or ""
        for c in starts:
            if isinstance(ws.cell(r, c).value, float):
                assert ws.cell(r, c).number_format == "0.0%"
                assert ws.cell(r, c + 1).number_format == ws.cell(r, c + 2).number_format == "#,##0"
        r += 1
    return rows, notes


def figures_of(path: Path) -> tuple[dict[Key, Cells], dict[str, Any]]:
    """Every figure in the workbook by (metric, group, scope), checking that the return's
    measures show the same cells as the rights and obligations sheets."""
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEET_RETURN, SHEET_RIGHTS, SHEET_OBLIGATIONS, SHEET_NOTES]
    out: dict[Key, Cells] = {}
    rights, _ = figure_rows(wb[SHEET_RIGHTS])
    for right, by_scope in rights.items():
        group = ("local standard",) if right == "local" else (str(right),)
        if by_scope[None][0] == "not held in the force's data":
            assert all(c == (None, None, None) for s, c in by_scope.items() if s is not None)
            continue
        out.update({("compliance_by_right", group, s): c for s, c in by_scope.items()})
    obligations, _ = figure_rows(wb[SHEET_OBLIGATIONS])
    for oid, by_scope in obligations.items():
        out.update({("compliance_by_obligation", (oid,), s): c for s, c in by_scope.items()})
    measures, notes = figure_rows(wb[SHEET_RETURN])
    definition = load_return()
    for area in definition.areas:
        for i, m in enumerate(area.measures):
            by_scope = measures[area.measure_number(i)]
            if m.kind == "not_held":
                assert by_scope[None][0] == "not held in the force's data"
                assert notes[area.measure_number(i)].startswith("Not held in the force's data: ")
                continue
            assert m.metric_id is not None
            for scope, cells in by_scope.items():
                key = (m.metric_id, m.group, scope)
                assert out.setdefault(key, cells) == cells, f"{key}: the sheets disagree"
    fields = {
        ws_row[0]: ws_row[1] for ws_row in wb[SHEET_RETURN].iter_rows(max_col=2, values_only=True)
    }
    return out, fields


def check_book(path: Path, release: dict[Key, MetricValue]) -> int:
    """Every figure equals the release's value; a figure is "[c]" in all three cells exactly
    when the release hides it. Returns how many are hidden."""
    shown, _ = figures_of(path)
    assert set(release) <= set(shown), (
        f"values not in the workbook: {sorted(set(release) - set(shown))}"
    )
    hidden = 0
    for key, cells in shown.items():
        v = release.get(key)
        if v is None:
            assert cells == (NONE_DUE, 0, 0), key  # nothing fell due
        elif v.suppressed:
            assert cells == (SUPPRESSED,) * 3, key
            hidden += 1
        else:
            now = v.current
            assert now.value is not None
            # the value to full precision, as xlsx holds it (openpyxl writes 16 significant digits)
            assert cells == (float(f"{now.value:.16g}"), now.numerator, now.denominator), key
    return hidden


def words_of(path: Path) -> list[str]:
    """Every text cell of the workbook."""
    wb = openpyxl.load_workbook(path)
    return [
        c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
        if isinstance(c, str)
    ]  # fmt: skip


def one_mark_one_sentence(texts: list[str], threshold: int) -> None:
    """A hidden figure is "[c]", explained by the release's one sentence; no other wording."""
    joined = "\n".join(texts)
    assert suppressed_note(threshold) in joined
    assert not re.search(r"\bsuppressed\b", joined, re.IGNORECASE), [
        t for t in texts if re.search(r"\bsuppressed\b", t, re.IGNORECASE)
    ]


# --- the definition -----------------------------------------------------------------------------


def test_the_moj_return_maps_its_five_areas_to_figures_or_says_what_is_not_held() -> None:
    definition = load_return(MOJ_QUARTERLY)
    assert [a.number for a in definition.areas] == [1, 2, 3, 4, 5]
    figures = {a.measure_number(i): m.figure for a in definition.areas
               for i, m in enumerate(a.measures)}  # fmt: skip
    assert figures == {
        "1": "obligation R3.written-confirmation",
        "2": "obligation R4.referral-to-support",
        "3a": "right 6",
        "3b": "metric satisfaction_follow_up",
        "4": "obligation R7.vps-offer",
        "5": "not held",
    }
    assert "Kent Police" in definition.source
    assert definition.metric_ids == (
        "compliance_by_obligation",
        "compliance_by_right",
        "satisfaction_follow_up",
    )


def test_a_wrong_id_fails_naming_the_file_and_line(tmp_path: Path) -> None:
    good = Path(__file__).parents[1] / "src/vcop/definitions/returns/moj_quarterly.yaml"
    text = good.read_text("utf-8")
    bad = tmp_path / "bad_return.yaml"
    bad.write_text(text.replace("right: 6", "right: 6\n        colour: red"), "utf-8")
    with pytest.raises(DefinitionError, match=f"{bad}:\\d+: .*colour: unknown field"):
        load_return(bad)
    wrong = (
        text.replace("obligation: R3.written-confirmation", "obligation: R3.no-such-thing")
        .replace("metric: satisfaction_follow_up", "metric: recorded_crime")
        .replace("obligation: R7.vps-offer", "obligation: R10.property-return")
    )
    bad.write_text(wrong, "utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_return(bad)
    line = {word: n for n, text_line in enumerate(wrong.splitlines(), start=1)
            for word in ("R3.no-such-thing", "recorded_crime", "R10.property-return")
            if word in text_line}  # fmt: skip
    assert str(caught.value).splitlines() == [
        f"{bad}:{line['R3.no-such-thing']}: no obligation 'R3.no-such-thing' in the Victims' "
        "Code (see docs/rules.md)",
        f"{bad}:{line['recorded_crime']}: recorded_crime is a count: a return shows one "
        "proportion per measure (for an obligation or a right, use obligation: or right:)",
        f"{bad}:{line['R10.property-return']}: R10.property-return is not evaluated from the "
        "data (Property held as evidence is not in the data.): use not_held",
    ]
    bad.write_text(text.replace("right: 6", "right: 6\n        metric: vcc_agreed"), "utf-8")
    with pytest.raises(
        DefinitionError, match=r"names exactly one of .* \(it names right, metric\)"
    ):
        load_return(bad)


# --- one small cell hides no other right ----------------------------------------------------------

WINDOWS = {"quarter": Q2, "rolling_12m": (date(2024, 7, 1), Q2[1])}


def value(metric: str, period: str, group: tuple[str, ...], num: int, den: int,
          area: str | None = None) -> MetricValue:  # fmt: skip
    breakdown = ("right",) if metric == "compliance_by_right" else ("obligation",)
    if area is not None:
        breakdown, group = (*breakdown, "area"), (*group, area)
    start, end = WINDOWS[period]
    return MetricValue(
        metric_id=metric, kind="proportion", unit="proportion", period=period, as_of=Q2[1],
        breakdown=breakdown, group=group, current=Estimate(start, end, num, den, num / den),
        previous=None, year_ago=None, small_sample=den < 30,
    )  # fmt: skip


@pytest.fixture(scope="module")
def one_small_cell() -> Release:
    """A release of Rights 6, 8, 9 and 11 in two areas where every count is large but one: 8
    CPS letters missed in the North (40 of 48), published as a release publishes."""
    obligations = [(o.id, str(o.right)) for o in load_code().evaluated if o.right in (6, 8, 9, 11)]
    counts = {(o, a): (100, 150) if a == "North" else (80, 120)
              for o, _ in obligations for a in ("North", "South")}  # fmt: skip
    counts[("R6.cps-stop-or-alter", "North")] = (40, 48)

    def total(ids: list[str], areas: tuple[str, ...]) -> tuple[int, int]:
        return (sum(counts[(o, a)][0] for o in ids for a in areas),
                sum(counts[(o, a)][1] for o in ids for a in areas))  # fmt: skip

    tables: dict[tuple[str, str | None], list[MetricValue]] = {}
    for period in WINDOWS:
        whole: list[MetricValue] = []
        split: list[MetricValue] = []
        parts = [([o], "compliance_by_obligation", o) for o, _ in obligations] + [
            ([o for o, r in obligations if r == right], "compliance_by_right", right)
            for right in dict.fromkeys(r for _, r in obligations)
        ]
        for ids, metric, group in parts:
            whole.append(value(metric, period, (group,), *total(ids, ("North", "South"))))
            for a in ("North", "South"):
                split.append(value(metric, period, (group,), *total(ids, (a,)), area=a))
        tables[(period, None)], tables[(period, "area")] = whole, split
    return publish(Release(Q2[1], THRESHOLD, tables, {}, [], "test"))


def test_one_small_obligation_cell_hides_no_other_right(
    data: WebData, tmp_path: Path, one_small_cell: Release
) -> None:
    """The release hides the small cell and what would give it away within Right 6 (another
    area, another R6 obligation): nothing of Rights 8, 9 and 11, by area or force-wide, in the
    return or in the partner pack, and no right claimed to add up to a total nobody publishes."""
    release = one_small_cell
    hidden = {key_of(v) for t in release.tables.values() for v in t if v.suppressed}
    assert ("compliance_by_obligation", ("R6.cps-stop-or-alter",), "North") in hidden
    assert {k[0] for k in hidden} == {"compliance_by_obligation"}
    assert all(k[1][0].startswith("R6.") for k in hidden)
    # a hidden area is never alone in its row: another area, or the force, is hidden too
    for metric, group, scope in hidden:
        assert any(k[:2] == (metric, group) and k[2] != scope for k in hidden)
    with open_source(data.db, Q2[1]) as source:
        figures = compute_return(source, load_return(), "2025Q2", Window(*Q2),
                                 threshold=THRESHOLD, release=release)  # fmt: skip
    out = tmp_path / "one-small-cell.xlsx"
    write_workbook(figures, out)
    shown, _ = figures_of(out)
    assert check_book(out, released(release)) == len(
        [k for k in hidden if k[0] in load_return().metric_ids]
    )
    for right in ("6", "8", "9", "11"):
        for scope in (None, "North", "South"):
            assert isinstance(shown[("compliance_by_right", (right,), scope)][0], float), right
    # the partner pack, cut from the same release: every right, by area too, is shown
    book = FigureBook.of_release(release)
    pack = partner_pack(book)
    rights = [c for c in book.citations if c.metric_id == "compliance_by_right"]
    assert {c.group for c in rights} >= {f"{r}/{a}" for r in ("6", "8", "9", "11")
                                         for a in ("North", "South")}  # fmt: skip
    # the pack shows obligations force-wide only, where nothing is hidden
    assert not any(c.suppressed for c in book.citations)
    # one mark and one sentence, in the pack and the return alike
    one_mark_one_sentence([pack.text()], THRESHOLD)
    one_mark_one_sentence(words_of(out), THRESHOLD)


def test_the_notes_are_their_definitions_words_filled_in_and_written_whole(
    data: WebData, tmp_path: Path, one_small_cell: Release
) -> None:
    """Every section of definitions/returns/notes/workbook.yaml is on the Notes sheet, with
    every placeholder filled, and the sheet holds exactly what :func:`notes` says."""
    with open_source(data.db, Q2[1]) as source:
        figures = compute_return(source, load_return(), "2025Q2", Window(*Q2),
                                 threshold=THRESHOLD, release=one_small_cell)  # fmt: skip
    sections = notes(figures)
    assert [n.heading for n in sections] == [s["heading"] for s in notes_definition()["sections"]]
    for section in sections:
        assert section.fields, section.heading
        for label, text in section.fields:
            assert "{" not in label + text and "}" not in label + text, (label, text[:80])
    out = tmp_path / "notes.xlsx"
    write_workbook(figures, out)
    sheet = openpyxl.load_workbook(out)[SHEET_NOTES]
    written = [
        (str(r[0].value), str(r[1].value))
        for r in sheet.iter_rows(min_row=2)
        if r[0].value is not None and r[1].value is not None
    ]
    assert written == [f for section in sections for f in section.fields]


def test_a_return_is_cut_only_from_the_release_of_its_quarters_end(
    data: WebData, one_small_cell: Release
) -> None:
    wrong = "not of the quarter's end 2025-06-30 with threshold 5"
    with open_source(data.db, Q2[1]) as source, pytest.raises(ReturnError, match=wrong):
        compute_return(source, load_return(), "2025Q2", Window(*Q2), threshold=5,
                       release=one_small_cell)  # fmt: skip


# --- the command ----------------------------------------------------------------------------------


def test_the_stored_ledgers_quarter(
    data: WebData, tmp_path: Path, kept: Callable[[Path], None], releases: Releases
) -> None:
    kept(data.db)
    before = state(data.db)
    out = tmp_path / "return.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025Q2", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert state(data.db) == before
    assert "stored ledger as of 2025-06-30" in said(done)
    release = releases[(data.db, Q2[1], THRESHOLD)]
    values = released(release)
    hidden = check_book(out, values)
    assert hidden == sum(v.suppressed for v in values.values()) > 0
    assert f"cut from the release of 2025-06-30: {hidden} of {len(values)} figures are [c]" in (
        said(done)
    )
    _, fields = figures_of(out)
    assert fields["Period from"] == datetime(2025, 4, 1)
    assert fields["Period to"] == fields["Figures as of"] == datetime(2025, 6, 30)
    assert fields["Definitions hash"] == release.definitions_hash
    assert fields["Ledger"].startswith("the stored ledger")
    assert fields["Release"].startswith("the partner release of 30 June 2025")
    assert fields["Small numbers"] == suppressed_note(THRESHOLD)
    assert fields["Force"] == "Demoshire Police"  # the data's crimes.force
    assert [p.name for p in tmp_path.iterdir()] == ["return.xlsx"]  # no temporary file left
    one_mark_one_sentence(words_of(out), THRESHOLD)
    assert "suppressed" not in said(done)

    named = tmp_path / "named.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025q2", "--out", str(named),
               "--force", "Testshire Police")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert check_book(named, values) == hidden  # the same release, the same figures
    assert figures_of(named)[1]["Force"] == "Testshire Police"


def test_a_quarter_evaluated_in_memory_leaves_the_database_alone(
    data: WebData, tmp_path: Path, kept: Callable[[Path], None], releases: Releases
) -> None:
    kept(data.db)
    before = state(data.db)
    out = tmp_path / "q1.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025Q1", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert state(data.db) == before
    assert "evaluated as of 2025-03-31 in memory" in said(done)
    release = releases[(data.db, Q1[1], THRESHOLD)]
    hidden = check_book(out, released(release))
    wb = openpyxl.load_workbook(out)
    notes = {r[0]: r[1] for r in wb[SHEET_NOTES].iter_rows(max_col=2, values_only=True) if r[0]}
    assert notes["In this workbook"] == f"{hidden} of {len(released(release))} figures are [c]."
    assert notes[SUPPRESSED] == suppressed_note(THRESHOLD)
    assert "partner release of 31 March 2025" in notes["The release"]
    assert "Across sheets" not in notes and "Secondary" not in notes
    assert "evaluated as of 31 March 2025" in notes["Ledger"]
    assert "30 June 2025) was not changed" in notes["Ledger"]
    for metric_id in load_return().metric_ids:
        assert load_catalogue().metric(metric_id).description in notes[metric_id]
    advance = notes["5. Victims told in advance of the offender's release"]
    assert "Not held in the force's data: Advance notice of release" in advance
    assert wb[SHEET_RETURN].freeze_panes == "E16"  # below the Status field


def test_the_engines_provisional_figures_are_said_to_be_provisional(
    data: WebData, tmp_path: Path, kept: Callable[[Path], None], releases: Releases
) -> None:
    """A quarter as of its last day is younger than the ledger measures' maturity: the engine
    marks their figures provisional, and the return says so, naming each and when it is
    complete; the survey measure, complete when the quarter ends, is not named."""
    kept(data.db)
    out = tmp_path / "q2.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025Q2", "--out", str(out))
    assert done.exit_code == 0, done.output
    values = released(releases[(data.db, Q2[1], THRESHOLD)])
    provisional = {k[0] for k, v in values.items() if v.provisional}
    settled = {k[0] for k, v in values.items() if not v.provisional}
    assert provisional and settled
    _, fields = figures_of(out)
    assert fields["Status"].startswith("provisional: the metric engine marks figures")
    wb = openpyxl.load_workbook(out)
    notes = {r[0]: r[1] for r in wb[SHEET_NOTES].iter_rows(max_col=2, values_only=True) if r[0]}
    catalogue = load_catalogue()
    for metric_id in provisional:
        m = catalogue.metric(metric_id)
        assert f"{m.title}: {m.maturity_days} days" in notes["Provisional"]
    for metric_id in settled:
        assert catalogue.metric(metric_id).title not in notes["Provisional"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quarter", "2025Q5"], "quarter '2025Q5' is not like 2025Q1"),
        (["--quarter", "2030Q1"], "no crime was reported in 2030Q1 (2030-01-01 to 2030-03-31)"),
        (["--quarter", "2025Q1", "--db", "{tmp}/nowhere.duckdb"], "no such database"),
        (["--quarter", "2025Q1", "--out", "{tmp}/return.csv"], "must be an .xlsx file"),
        (["--quarter", "2025Q1", "--out", "{tmp}/no/folder.xlsx"], "no such folder"),
    ],
)
def test_errors_say_what_is_wrong_and_write_nothing(
    data: WebData, tmp_path: Path, args: list[str], message: str
) -> None:
    filled = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--db" not in filled:
        filled += ["--db", str(data.db)]
    if "--out" not in filled:
        filled += ["--out", str(tmp_path / "return.xlsx")]
    done = run(*filled)
    assert done.exit_code != 0
    assert message in said(done)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_vcop_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    done = run("--db", str(other), "--quarter", "2025Q1", "--out", str(tmp_path / "r.xlsx"))
    assert done.exit_code != 0 and "cannot be read as a vcop database" in said(done)
    assert not (tmp_path / "r.xlsx").exists()
