"""`vcop report joint-review`: each body's compliance for a quarter, cut from the release at the
quarter's end.

Built from the shared small Demoshire database (ledger as of 2025-06-30, the end of 2025Q2), so
the release is the one the partner pack and the 2025Q2 return are cut from. Every figure the
review shows, and every one it hides, is checked against that release; each body's section is
checked against the Code's owners; the files are read back.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import docx
import pytest
from typer.testing import CliRunner

from tests.webdata import AS_OF, WebData, build
from vcop.cli import app
from vcop.metrics.release import SUPPRESSED, Release, suppressed_note
from vcop.reports.document import Document, Table
from vcop.reports.figures import FigureBook
from vcop.reports.joint_review import AGENCY_NAMES, bodies, joint_review
from vcop.reports.source import ReportSource, build_release, open_source
from vcop.spec.code import load_code
from vcop.spec.returns import load_return

THRESHOLD = 10
QUARTER = "2025Q2"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="module")
def source(data: WebData) -> Iterator[ReportSource]:
    with open_source(data.db, AS_OF) as src:
        yield src


@pytest.fixture(scope="module")
def release(source: ReportSource) -> Release:
    return build_release(source, threshold=THRESHOLD)


@pytest.fixture(scope="module")
def review(release: Release) -> tuple[Document, FigureBook]:
    book = FigureBook.of_release(release)
    doc = joint_review(book, QUARTER, force="Demoshire Police", moj_return=load_return())
    return doc, book


def _tables(doc: Document) -> list[Table]:
    return [b for b in doc.blocks if isinstance(b, Table)]


def test_every_figure_is_the_releases_quarter(
    release: Release, review: tuple[Document, FigureBook]
) -> None:
    """Each figure shown, and each hidden, is the release's quarter figure force-wide: the same
    numerator, denominator and value, hidden exactly when the release hides it."""
    _, book = review
    assert book.citations
    quarter = {(v.metric_id, v.group): v for v in release.values("quarter")}
    for c in book.citations:
        assert c.period == "quarter", c
        group = () if c.group == "all" else tuple(c.group.split("/"))
        v = quarter[(c.metric_id, group)]
        windows = {(v.current.start, v.current.end): v.current}
        if v.previous is not None:
            windows[(v.previous.estimate.start, v.previous.estimate.end)] = v.previous.estimate
        e = windows[(c.start, c.end)]
        hidden = v.suppressed if e is v.current else e.value is None and e.denominator is None
        assert c.suppressed == hidden, c
        assert (c.text == SUPPRESSED) == hidden, c
        if not hidden:
            assert (c.numerator, c.denominator, c.value) == (e.numerator, e.denominator, e.value)


def test_each_body_shows_the_obligations_it_owes(
    release: Release, review: tuple[Document, FigureBook]
) -> None:
    doc, book = review
    evaluated = {v.group[0] for v in release.values("quarter", None, ["compliance_by_obligation"])}
    code = load_code().obligations
    found = bodies(book)
    assert {b.owner for b in found} == {o.owner for o in code}
    for body in found:
        mine = [o for o in code if o.owner == body.owner]
        assert [o.id for o, _ in body.figures] == [o.id for o in mine if o.id in evaluated]
        assert {o.id for o in body.not_evaluated} == {o.id for o in mine if o.evaluate is None}
    text = doc.text()
    for body in found:
        assert body.name in text
        for o in body.not_evaluated:  # what cannot be measured is said, with why
            assert o.id in text
    police = next(b for b in found if b.owner == "police")
    table = next(
        t for t in _tables(doc) if t.caption.startswith("Table") and "Police," in t.caption
    )
    assert [row[0].split(":")[0] for row in table.rows] == [o.id for o, _ in police.figures]
    assert AGENCY_NAMES["wcu"] in text and AGENCY_NAMES["cps"] in text


def test_the_weakest_obligation_of_each_body_is_its_lowest_shown(
    review: tuple[Document, FigureBook],
) -> None:
    doc, book = review
    summary = next(p for p in doc.text().split("\n") if "weakest:" in p)
    for body in bodies(book):
        shown = [(v.current.value, o.id) for o, v in body.figures if book.shown(v)]
        if not shown:
            continue
        lowest = min(shown)[1]
        assert re.search(rf"{re.escape(body.name)}: .*?weakest: {re.escape(lowest)} ", summary), (
            body.name
        )


def test_the_moj_five_areas_are_the_returns_cells(
    release: Release, review: tuple[Document, FigureBook]
) -> None:
    doc, _ = review
    table = next(t for t in _tables(doc) if "five areas" in t.caption)
    numbers = [row[0] for row in table.rows]
    definition = load_return()
    assert numbers == [
        a.measure_number(i) for a in definition.areas for i in range(len(a.measures))
    ]
    for area in definition.areas:
        for i, m in enumerate(area.measures):
            row = table.rows[numbers.index(area.measure_number(i))]
            if m.metric_id is None:
                assert row[2] == "not held"
                continue
            v = release.value(m.metric_id, "quarter", None, m.group)
            if v is not None and v.suppressed:
                assert row[2] == SUPPRESSED


def test_the_review_holds_no_record_level_identifier(
    source: ReportSource, review: tuple[Document, FigureBook]
) -> None:
    doc, _ = review
    text = doc.text()
    for table, column in (("victims", "victim_id"), ("crimes", "crime_id"),
                          ("crimes", "officer_id")):  # fmt: skip
        ids = [r[0] for r in source.con.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()]  # fmt: skip
        assert ids
        assert not [i for i in ids if len(i) > 3 and i in text][:5]


def test_the_cli_writes_the_review_from_the_release_at_the_quarters_end(
    data: WebData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    release: Release,
    review: tuple[Document, FigureBook],
) -> None:
    import vcop.reports.source

    asked: list[tuple[Any, int]] = []

    def same_release(source: ReportSource, *, threshold: int, **_: Any) -> Release:
        asked.append((source.as_of, threshold))
        return release

    monkeypatch.setattr(vcop.reports.source, "build_release", same_release)
    out = tmp_path / "review"
    result = CliRunner().invoke(
        app,
        ["report", "joint-review", "--quarter", "2025q2", "--db", str(data.db), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert asked == [(AS_OF, THRESHOLD)]
    stem = f"joint-review-{QUARTER}"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}.docx", f"{stem}.pdf", f"{stem}.html", "figures.csv"]
    )
    word = docx.Document(str(out / f"{stem}.docx"))
    cells = [c.text for t in word.tables for r in t.rows for c in r.cells]
    word_text = "\n".join([p.text for p in word.paragraphs] + cells)
    html = " ".join(unescape(re.sub(r"<[^>]+>", " ", (out / f"{stem}.html").read_text())).split())
    for text in (word_text, html):
        assert suppressed_note(THRESHOLD) in text
        assert "Crown Prosecution Service" in text
    _, book = review
    with (out / "figures.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(book.citations)
    assert all(row["period"] == "quarter" for row in rows)


def test_a_bad_quarter_is_refused(data: WebData, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["report", "joint-review", "--quarter", "2025Q5", "--db", str(data.db),
              "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "2025Q5" in result.output
