"""`vcop report compliance-return`: the quarterly Victims' Code return as an Excel workbook.

Every number in the workbook is read back and compared with the metric value it came from
(``compute`` for the quarter, then ``publish`` with the force-wide and by-area values of each
metric together); every value ``publish`` hides is shown as 'suppressed'; anything hidden beyond
that is what keeps a right and its obligations from giving each other away.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import openpyxl
import pytest
from typer.testing import CliRunner

from tests.webdata import WebData, build, copy_of
from vcop.cli import app
from vcop.metrics.engine import compute
from vcop.metrics.suppress import is_small, publish
from vcop.metrics.values import Estimate, MetricValue
from vcop.reports.compliance_return import (
    NONE_DUE,
    SHEET_NOTES,
    SHEET_OBLIGATIONS,
    SHEET_RETURN,
    SHEET_RIGHTS,
    SUPPRESSED,
    publish_linked,
    right_links,
)
from vcop.reports.source import open_source
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


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@contextmanager
def quietly() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        yield


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


def engine(db: Path, as_of: date) -> tuple[dict[Key, MetricValue], dict[Key, MetricValue]]:
    """The return's metrics for the quarter ending ``as_of``, as computed and as published."""
    ids = load_return().metric_ids
    with open_source(db, as_of) as source, quietly():
        backend = ibis.duckdb.from_connection(source.con)
        whole = compute(backend, as_of, "quarter", metrics=ids).values
        split = compute(backend, as_of, "quarter", metrics=ids, by="area").values
    raw: dict[Key, MetricValue] = {}
    published: dict[Key, MetricValue] = {}
    for metric_id in ids:
        values = [v for v in [*whole, *split] if v.metric_id == metric_id]
        assert all(v.current.start == as_of.replace(day=1, month=as_of.month - 2) for v in values)
        for v, p in zip(values, publish(values, THRESHOLD), strict=True):
            raw[key_of(v)] = v
            published[key_of(v)] = p
    return raw, published


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


def check_book(path: Path, raw: dict[Key, MetricValue], published: dict[Key, MetricValue]) -> int:
    """Every figure equals its metric value, every value publish hides is 'suppressed', and what
    else is hidden keeps the rights and obligations consistent. Returns how many else."""
    shown, _ = figures_of(path)
    assert set(raw) <= set(shown), f"values not in the workbook: {sorted(set(raw) - set(shown))}"
    hidden = set()
    for key, cells in shown.items():
        if cells[0] == SUPPRESSED:
            assert cells == (SUPPRESSED,) * 3, key
            assert key in raw, key
            hidden.add(key)
        elif key in raw:
            now = raw[key].current
            assert now.value is not None
            # the value to full precision, as xlsx holds it (openpyxl writes 16 significant digits)
            assert cells == (float(f"{now.value:.16g}"), now.numerator, now.denominator), key
            assert not published[key].suppressed, f"{key} should be suppressed"
        else:
            assert cells == (NONE_DUE, 0, 0), key  # nothing fell due
    by_publish = {k for k, v in published.items() if v.suppressed}
    assert by_publish <= hidden
    extra = hidden - by_publish
    assert {k[0] for k in extra} <= {"compliance_by_obligation", "compliance_by_right"}
    # the rights and their obligations do not give each other away
    code = load_code()
    right_of = {o.id: str(o.right) if o.right is not None else "local standard"
                for o in code.obligations}  # fmt: skip
    for (metric, group, scope), _v in raw.items():
        if metric != "compliance_by_right":
            continue
        parts = [k for k in raw if k[0] == "compliance_by_obligation" and k[2] == scope
                 and right_of.get(k[1][0]) == group[0]]  # fmt: skip
        gone = [k for k in parts if k in hidden]
        if (metric, group, scope) not in hidden:
            assert len(gone) != 1, f"Right {group[0]} ({scope or 'force'}) gives away {gone[0]}"
        if len(parts) == 1:
            assert ((metric, group, scope) in hidden) == (parts[0] in hidden)
    return len(extra)


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
        .replace("obligation: R7.vps-offer", "obligation: R1.interpretation")
    )
    bad.write_text(wrong, "utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_return(bad)
    line = {word: n for n, text_line in enumerate(wrong.splitlines(), start=1)
            for word in ("R3.no-such-thing", "recorded_crime", "R1.interpretation")
            if word in text_line}  # fmt: skip
    assert str(caught.value).splitlines() == [
        f"{bad}:{line['R3.no-such-thing']}: no obligation 'R3.no-such-thing' in the Victims' "
        "Code (see docs/rules.md)",
        f"{bad}:{line['recorded_crime']}: recorded_crime is a count: a return shows one "
        "proportion per measure (for an obligation or a right, use obligation: or right:)",
        f"{bad}:{line['R1.interpretation']}: R1.interpretation is not evaluated from the data "
        "(The canonical tables do not record interpretation needs or their provision.): use "
        "not_held",
    ]
    bad.write_text(text.replace("right: 6", "right: 6\n        metric: vcc_agreed"), "utf-8")
    with pytest.raises(
        DefinitionError, match=r"names exactly one of .* \(it names right, metric\)"
    ):
        load_return(bad)


# --- suppression across the sheets ---------------------------------------------------------------


def value(metric: str, group: tuple[str, ...], num: int, den: int) -> MetricValue:
    by_area = len(group) == 2
    breakdown = (("right",) if metric == "compliance_by_right" else ("obligation",)) + (
        ("area",) if by_area else ()
    )
    return MetricValue(
        metric_id=metric, kind="proportion", unit="proportion", period="quarter",
        as_of=Q1[1], breakdown=breakdown, group=group,
        current=Estimate(Q1[0], Q1[1], num, den, num / den),
        previous=None, year_ago=None, small_sample=den < 30,
    )  # fmt: skip


def test_a_right_never_gives_away_the_obligation_publish_hid() -> None:
    o, r = "compliance_by_obligation", "compliance_by_right"
    values = [
        # A and B are Right 6, C is Right 3. A in the North is small.
        value(o, ("A", "N"), 5, 8), value(o, ("A", "S"), 50, 80),
        value(o, ("B", "N"), 40, 60), value(o, ("B", "S"), 45, 70),
        value(o, ("C", "N"), 20, 30), value(o, ("C", "S"), 25, 40),
        value(o, ("A",), 55, 88), value(o, ("B",), 85, 130), value(o, ("C",), 45, 70),
        value(r, ("6", "N"), 45, 68), value(r, ("6", "S"), 95, 150),
        value(r, ("3", "N"), 20, 30), value(r, ("3", "S"), 25, 40),
        value(r, ("6",), 140, 218), value(r, ("3",), 45, 70),
    ]  # fmt: skip
    links = right_links(values, {"A": "6", "B": "6", "C": "3"})
    assert sorted(map(sorted, links)) == [[0, 2, 9], [1, 3, 10], [4, 11], [5, 12], [6, 7, 13],
                                          [8, 14]]  # fmt: skip
    alone = [v.suppressed for v in publish(values, THRESHOLD)]
    # publish hides A and C in both areas, but not the rights they add up to:
    # A in the North is Right 6 in the North minus B, and C is Right 3 itself.
    assert [i for i, h in enumerate(alone) if h] == [0, 1, 4, 5]
    linked, extra = publish_linked(values, THRESHOLD, links)
    hidden = [v.suppressed for v in linked]
    assert all(h for h, before in zip(hidden, alone, strict=True) if before)
    assert extra == sum(hidden) - sum(alone) > 0
    for link in links:
        *parts, right = link
        gone = [i for i in parts if hidden[i]]
        assert hidden[right] or len(gone) != 1
        if len(parts) == 1:
            assert hidden[right] == hidden[parts[0]]
    for v in linked:
        if v.suppressed:
            assert v.current.numerator is None and v.current.value is None
    # with nothing small there is nothing to hide
    assert publish_linked(values, 1, links) == (publish(values, 1), 0)
    assert not is_small(5, 1)


# --- the command ----------------------------------------------------------------------------------


def test_the_stored_ledgers_quarter(data: WebData, tmp_path: Path) -> None:
    before = state(data.db)
    out = tmp_path / "return.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025Q2", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert state(data.db) == before
    assert "stored ledger as of 2025-06-30" in said(done)
    raw, published = engine(data.db, Q2[1])
    check_book(out, raw, published)
    _, fields = figures_of(out)
    assert fields["Period from"] == datetime(2025, 4, 1)
    assert fields["Period to"] == fields["Figures as of"] == datetime(2025, 6, 30)
    assert fields["Definitions hash"] == next(iter(raw.values())).definitions_hash
    assert fields["Ledger"].startswith("the stored ledger")
    assert fields["Force"] == "Demoshire Police"  # the data's crimes.force
    assert [p.name for p in tmp_path.iterdir()] == ["return.xlsx"]  # no temporary file left

    everything = tmp_path / "everything.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025q2", "--out", str(everything),
               "--threshold", "1", "--force", "Testshire Police")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert check_book(everything, raw, dict(raw)) == 0  # nothing hidden
    assert " 0 of " in said(done)
    assert figures_of(everything)[1]["Force"] == "Testshire Police"


def test_a_quarter_evaluated_in_memory_leaves_the_database_alone(
    data: WebData, tmp_path: Path
) -> None:
    before = state(data.db)
    out = tmp_path / "q1.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025Q1", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert state(data.db) == before
    assert "evaluated as of 2025-03-31 in memory" in said(done)
    raw, published = engine(data.db, Q1[1])
    extra = check_book(out, raw, published)
    wb = openpyxl.load_workbook(out)
    notes = {r[0]: r[1] for r in wb[SHEET_NOTES].iter_rows(max_col=2, values_only=True) if r[0]}
    assert f"This hid {extra} figure(s)" in notes["Across sheets"]
    assert "evaluated as of 31 March 2025" in notes["Ledger"]
    assert "30 June 2025) was not changed" in notes["Ledger"]
    for metric_id in load_return().metric_ids:
        assert load_catalogue().metric(metric_id).description in notes[metric_id]
    release = notes["5. Victims told in advance of the offender's release"]
    assert "Not held in the force's data: Advance notice of release" in release
    assert wb[SHEET_RETURN].freeze_panes == "E15"  # below the Status field


def test_the_engines_provisional_figures_are_said_to_be_provisional(
    data: WebData, tmp_path: Path
) -> None:
    """A quarter as of its last day is younger than the ledger measures' maturity: the engine
    marks their figures provisional, and the return says so, naming each and when it is
    complete; the survey measure, complete when the quarter ends, is not named."""
    out = tmp_path / "q2.xlsx"
    done = run("--db", str(data.db), "--quarter", "2025Q2", "--out", str(out))
    assert done.exit_code == 0, done.output
    raw, _ = engine(data.db, Q2[1])
    provisional = {k[0] for k, v in raw.items() if v.provisional}
    settled = {k[0] for k, v in raw.items() if not v.provisional}
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


def test_a_small_area_is_suppressed_and_so_is_another(data: WebData, tmp_path: Path) -> None:
    copy = copy_of(data, tmp_path)
    con = duckdb.connect(str(copy.db))
    (crime,) = con.execute(
        "SELECT crime_id FROM entitlements WHERE due_date BETWEEN ? AND ? "
        "AND status IN ('met', 'late', 'overdue') GROUP BY crime_id "
        "ORDER BY count(*) DESC, crime_id LIMIT 1",
        list(Q1),
    ).fetchone()
    con.execute("UPDATE crimes SET area = 'East' WHERE crime_id = ?", [crime])
    con.close()
    out = tmp_path / "east.xlsx"
    done = run("--db", str(copy.db), "--quarter", "2025Q1", "--out", str(out))
    assert done.exit_code == 0, done.output
    shown, _ = figures_of(out)
    east = {k: c for k, c in shown.items() if k[2] == "East"}
    assert any(c[0] == SUPPRESSED for c in east.values())
    assert all(c[0] in (SUPPRESSED, NONE_DUE) for c in east.values())  # no East number shown
    for (metric, group, _), cells in east.items():
        if cells[0] == SUPPRESSED:  # and one more area of the same row, or East is the force
            others = [shown[(metric, group, s)][0] for s in ("North", "South")]
            assert SUPPRESSED in others or shown[(metric, group, None)][0] == SUPPRESSED


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
