"""The board paper's annex of inspection recommendations: there, with owner, status and
response due date, when the tracker holds something; absent (the paper unchanged) when not."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.webdata import build, copy_of
from vcop.cli import app
from vcop.qa import tracker
from vcop.qa.tracker_demo import load_demo
from vcop.reports.board_tracker import CHANGED, tracker_annex
from vcop.reports.document import Document, Heading, Table
from vcop.store.ops import open_ops

ON = date(2025, 6, 30)


@pytest.fixture
def ops_path(tmp_path: Path) -> Path:
    return tmp_path / "vcop.duckdb"


def _view(db: Path, since: date | None = None, *, demo: bool = True) -> tracker.TrackerView:
    ops = open_ops(db)
    try:
        if demo:
            load_demo(ops, now=datetime(2025, 6, 30, 9, 0), until=ON)
        return tracker.view(ops, ON, since)
    finally:
        ops.close()


def test_an_empty_tracker_adds_nothing(ops_path: Path) -> None:
    doc = Document("paper")
    view = _view(ops_path, demo=False)
    assert view.empty
    tracker_annex(doc, view, "D")
    assert doc.blocks == []


def test_the_annex_lists_each_recommendation_with_owner_status_and_response_due(
    ops_path: Path,
) -> None:
    doc = Document("paper")
    tracker_annex(doc, _view(ops_path, since=date(2025, 1, 1)), "D")
    heading = doc.blocks[0]
    assert isinstance(heading, Heading) and heading.text == "Appendix D: inspection recommendations"
    tables = [b for b in doc.blocks if isinstance(b, Table)]
    assert len(tables) == 1
    table = tables[0]
    assert "response due 12 Feb 2024; comments published 9 Feb 2024" in table.caption
    assert table.columns == ("Ref", "Recommendation", "Owner", "Due by", "Status", "Since",
                             "Since 1 Jan 2025")  # fmt: skip
    by_ref = {r[0]: r for r in table.rows}
    assert list(by_ref) == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert by_ref["R3"][2].startswith("College of Policing")
    assert by_ref["R3"][3:6] == ("31 Dec 2024", "In progress (overdue)", "9 Feb 2024")
    assert by_ref["R6"][4:6] == ("Closed", "11 Nov 2024")
    # only R5 changed since the last board (complete on 17 March 2025)
    assert [r[0] for r in table.rows if r[-1] == CHANGED] == ["R5"]
    text = doc.text()
    assert "4 of 6 are overdue" in text
    assert "56 days beginning with the day the report was published" in text
    assert "statuses synthetic" in text  # the demo's content says what it is


def test_the_board_command_adds_the_annex_when_the_tracker_holds_something(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    data = copy_of(build(tmp_path_factory), tmp_path)
    _view(data.db)  # the demo's inspection, in the build's operational store
    out = tmp_path / "board"
    result = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(data.db), "--as-of", "2025-06-30", "--out", str(out),
         "--format", "html", "--no-charts", "--since", "2025-01-01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / "board-paper-2025-06.html").read_text()
    assert "Appendix D: inspection recommendations" in html
    assert "The last appendix lists the recommendations" in html
    assert "response due 12 Feb 2024" in html and "Since 1 Jan 2025" in html
    bad = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(data.db), "--as-of", "2025-06-30", "--out", str(out),
         "--since", "2025-07-01"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "after the paper's date" in bad.output
