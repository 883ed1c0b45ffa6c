"""`vcop report board` and `vcop report partner`: every figure is the metric value it came from.

The documents are built from the shared small Demoshire database (ledger as of 2025-06-30). Each
figure a document cites is checked against a fresh computation by the engine (and, for the
partner pack, the suppression layer); the files are read back (Word with python-docx, PDF text
with pypdfium2, figures.csv) and the PDF's pages are turned into PNGs. The board paper's text is
compared with a golden snapshot: after a deliberate change, regenerate it with
``VCOP_UPDATE_GOLDEN=1 uv run pytest tests/test_report_board.py`` and read the diff.

What may be said about a figure is the engine's: every citation carries the engine's marks
(provisional, comparable, SPC reading), checked here against a fresh computation, and targets come
only from a targets.yaml beside the database, adopted ones only.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterator
from datetime import date
from html import unescape
from pathlib import Path

import docx
import ibis
import pypdfium2 as pdfium
import pytest
from typer.testing import CliRunner

from tests.webdata import AS_OF, WebData, build, copy_of
from vcop.cli import app
from vcop.metrics.engine import compute
from vcop.metrics.series import monthly_series
from vcop.metrics.suppress import publish
from vcop.metrics.targets import targets_for_db
from vcop.metrics.values import MetricValue
from vcop.reports.board import NOT_COMPARED, board_paper
from vcop.reports.compliance_return import publish_linked, right_links
from vcop.reports.document import Document, Paragraph, Table
from vcop.reports.figures import (
    PROVISIONAL,
    SUPPRESSED,
    Citation,
    FigureBook,
    number,
    quietly,
)
from vcop.reports.partner import partner_pack
from vcop.reports.source import ReportSource, open_source
from vcop.spec.code import load_code

LINKED = ("compliance_by_right", "compliance_by_obligation")
GOLDEN = Path(__file__).parent / "golden" / "board-paper.txt"
THRESHOLD = 10


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="module")
def source(data: WebData) -> Iterator[ReportSource]:
    with open_source(data.db, AS_OF) as src:
        yield src


@pytest.fixture(scope="module")
def board(source: ReportSource) -> tuple[Document, FigureBook]:
    book = FigureBook(ibis.duckdb.from_connection(source.con), AS_OF)
    return board_paper(book, force="Demoshire Police"), book


@pytest.fixture(scope="module")
def partner(source: ReportSource) -> tuple[Document, FigureBook]:
    book = FigureBook(ibis.duckdb.from_connection(source.con), AS_OF, threshold=THRESHOLD)
    return partner_pack(book, force="Demoshire Police"), book


def _fresh(
    source: ReportSource, c: Citation, *, suppressed: bool
) -> dict[tuple[str, ...], MetricValue]:
    """The engine's values for a citation's metric, period and breakdown, computed afresh."""
    backend = ibis.duckdb.from_connection(source.con)
    from vcop.spec.metrics import load_catalogue

    metric = load_catalogue().metric(c.metric_id)
    grouping = "/".join(metric.grouping)
    by = None
    if c.breakdown not in ("all", grouping):
        by = c.breakdown.removeprefix(grouping + "/") if grouping else c.breakdown
    if suppressed and c.metric_id in LINKED:
        # the partner pack publishes rights and obligations, force-wide and by area, together
        whole = _compute(backend, list(LINKED), None)
        split = _compute(backend, list(LINKED), "area")
        raw = [*whole, *split]
        right_of = {o.id: str(o.right) if o.right is not None else "local standard"
                    for o in load_code().obligations}  # fmt: skip
        linked, _ = publish_linked(raw, THRESHOLD, right_links(raw, right_of))
        part = linked[: len(whole)] if by is None else linked[len(whole) :]
        return {v.group: v for v in part if v.metric_id == c.metric_id}
    values = _compute(backend, [c.metric_id], by, c.period)
    if suppressed:
        values = publish(values, THRESHOLD)
    return {v.group: v for v in values}


def _compute(
    backend: ibis.BaseBackend, metrics: list[str], by: str | None, period: str = "rolling_12m"
) -> list[MetricValue]:
    with quietly():
        return compute(backend, AS_OF, period, metrics=metrics, by=by).values


def _check_citations(source: ReportSource, book: FigureBook, *, suppressed: bool) -> int:
    cache: dict[tuple[str, str, str], dict[tuple[str, ...], MetricValue]] = {}
    series: dict[str, object] = {}
    checked = 0
    for c in book.citations:
        group = () if c.group == "all" else tuple(c.group.split("/"))
        if c.where.endswith("(n)") or c.where.endswith("(numerator)"):
            shown = c.denominator if c.where.endswith("(n)") else c.numerator
            assert c.text == f"{shown:,}", c
        if c.source == "month":
            # a month of a monthly series (the 'last three months' of a paragraph)
            if c.metric_id not in series:
                with quietly():
                    series[c.metric_id] = monthly_series(
                        ibis.duckdb.from_connection(source.con), book.catalogue, c.metric_id, AS_OF
                    )
            months = series[c.metric_id][group]  # type: ignore[index]
            types = dict(zip([q.month for q in months.points], months.point_types(), strict=True))
            p = {q.month: q for q in months.points}[c.start]
            assert (p.numerator, p.denominator, p.value) == (c.numerator, c.denominator, c.value)
            # the engine's marks of the month: provisional, judged by SPC, its SPC type
            assert (c.provisional, c.comparable, c.spc_variation) == (
                p.provisional,
                p.judged,
                types[p.month],
            ), c
            checked += 1
            continue
        key = (c.metric_id, c.period, c.breakdown)
        if key not in cache:
            cache[key] = _fresh(source, c, suppressed=suppressed)
        v = cache[key][group]
        if suppressed:
            assert not v.suppressed, f"{c}: a suppressed figure was shown"
        windows = {"current": v.current}
        if v.previous is not None:
            windows["previous"] = v.previous.estimate
        if v.year_ago is not None:
            windows["year_ago"] = v.year_ago.estimate
        match = [e for e in windows.values() if (e.start, e.end) == (c.start, c.end)]
        assert match, f"{c}: no window of {v.metric_id} {v.group} is {c.start}–{c.end}"
        e = match[0]
        assert (e.numerator, e.denominator, e.value) == (c.numerator, c.denominator, c.value), c
        # the engine's marks, as the value carries them (an earlier window is never provisional)
        assert c.provisional == (v.provisional and e is v.current), c
        assert (c.comparable, c.comparable_reason, c.spc_variation) == (
            v.comparable,
            v.comparable_reason,
            v.spc_variation,
        ), c
        if e is not v.current:
            assert v.comparable or not v.provisional, f"{c}: a provisional value was compared"
        if not (c.where.endswith("(n)") or c.where.endswith("(numerator)")):
            assert e.value is not None and c.text == number(e.value, v.unit), c
        checked += 1
    return checked


def test_every_figure_in_the_board_paper_is_its_metric_value(
    source: ReportSource, board: tuple[Document, FigureBook]
) -> None:
    _, book = board
    assert len(book.citations) > 100
    assert _check_citations(source, book, suppressed=False) == len(book.citations)


def test_percentages_have_one_decimal_place(board: tuple[Document, FigureBook]) -> None:
    doc, book = board
    text = doc.text()
    # the paper's figures (Appendix B quotes the catalogue's own words, e.g. a target's source)
    text = text[: text.index("Appendix A: every figure")] + " ".join(c.text for c in book.citations)
    percents = re.findall(r"\d[\d,]*(?:\.\d+)?%", text)
    assert percents
    assert all(re.fullmatch(r"\d{1,3}\.\d%", p) for p in percents if p != "5%"), [
        p for p in percents if not re.fullmatch(r"\d{1,3}\.\d%", p)
    ]


CHANGE_WORDS = {"significantly higher", "significantly lower", "normal variation", "unchanged",
                "too few to test", NOT_COMPARED, "–"}  # fmt: skip


@pytest.mark.parametrize("which", ["board", "partner"])
def test_no_sentence_or_cell_claims_a_change_without_a_significant_test(
    which: str, request: pytest.FixtureRequest
) -> None:
    doc, _ = request.getfixturevalue(which)
    numbered = [b.text for b in doc.blocks if isinstance(b, Paragraph) and b.number]
    narrative = [t for t in numbered if not t.startswith(("A figure is described", "A change"))]
    assert narrative
    for text in narrative:
        for m in re.finditer(r"\b(higher|lower|improvement|deterioration)\b", text):
            before = text[: m.start()]
            assert before.endswith("significantly ") or re.search(
                r"significantly (higher|lower) than .*\), an? $", before
            ), text
        assert not re.search(r"\b(rose|fell(?! due)|increased|decreased|worse|better)\b", text), (
            text
        )
    for block in doc.blocks:
        if isinstance(block, Table) and block.columns[-1].startswith("Change"):
            assert {row[-1] for row in block.rows} <= CHANGE_WORDS, block.caption


@pytest.mark.parametrize("which", ["board", "partner"])
def test_a_provisional_figure_is_marked_and_never_compared(
    which: str, request: pytest.FixtureRequest
) -> None:
    doc, book = request.getfixturevalue(which)
    provisional = [c for c in book.citations if c.provisional]
    assert provisional  # the ledger's latest months are younger than their maturity
    text = doc.text()
    for c in provisional:
        if c.where.endswith(("(n)", "(numerator)")):
            continue
        assert f"{c.text} {PROVISIONAL}" in text or f"{c.text} † {PROVISIONAL}" in text, c
    # nor is a provisional value ever quoted beside an earlier window of itself
    provisional_values = {(c.metric_id, c.group, c.period) for c in provisional}
    for c in book.citations:
        if (c.metric_id, c.group, c.period) in provisional_values and c.source == "value":
            assert (c.start, c.end) == next(
                (p.start, p.end) for p in provisional
                if (p.metric_id, p.group, p.period) == (c.metric_id, c.group, c.period)
            ), c  # fmt: skip
    for block in doc.blocks:
        if isinstance(block, Table) and block.columns[-1].startswith("Change"):
            for row in block.rows:
                if any(cell.endswith(PROVISIONAL) for cell in row):
                    assert row[-1] == NOT_COMPARED, (block.caption, row)
    # the caveats say what provisional means
    assert f"Figures marked {PROVISIONAL}" in text


def test_the_board_paper_text_matches_the_golden_snapshot(
    board: tuple[Document, FigureBook],
) -> None:
    doc, _ = board
    text = doc.text()
    if os.environ.get("VCOP_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), (
        "the board paper's text changed; if that is intended, run "
        "VCOP_UPDATE_GOLDEN=1 uv run pytest tests/test_report_board.py and review the diff"
    )


def test_every_figure_in_the_partner_pack_went_through_suppression(
    source: ReportSource, partner: tuple[Document, FigureBook]
) -> None:
    doc, book = partner
    assert _check_citations(source, book, suppressed=True) == len(book.citations)
    # the small database has small groups: some are suppressed, and shown as [c]
    assert SUPPRESSED in doc.text()


def test_the_partner_pack_holds_no_record_level_identifier(
    source: ReportSource, partner: tuple[Document, FigureBook]
) -> None:
    doc, _ = partner
    text = doc.text()
    for table, column in (("victims", "victim_id"), ("crimes", "crime_id"),
                          ("crimes", "officer_id")):  # fmt: skip
        ids = [r[0] for r in source.con.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()]  # fmt: skip
        assert ids
        assert not [i for i in ids if len(i) > 3 and i in text][:5]


def test_the_cli_writes_word_pdf_html_and_csv_that_say_the_same(
    data: WebData, tmp_path: Path, board: tuple[Document, FigureBook]
) -> None:
    out = tmp_path / "board"
    result = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(data.db), "--as-of", AS_OF.isoformat(),
         "--out", str(out), "--force", "Demoshire Police"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _, book = board
    stem = f"board-paper-{AS_OF:%Y-%m}"
    word = docx.Document(str(out / f"{stem}.docx"))
    word_text = "\n".join(p.text for p in word.paragraphs)
    cells = {c.text for t in word.tables for r in t.rows for c in r.cells}
    pdf = pdfium.PdfDocument(str(out / f"{stem}.pdf"))
    pdf_text = " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in pdf)
    html = (out / f"{stem}.html").read_text()
    with (out / "figures.csv").open() as f:
        rows = list(csv.DictReader(f))
    # the files hold the same figures as the Document built in-process, and charts in Word
    assert len(rows) == len(book.citations)
    for row, c in zip(rows, book.citations, strict=True):
        assert (row["metric_id"], row["group"], row["shown_as"]) == (c.metric_id, c.group, c.text)
        assert row["denominator"] == ("" if c.denominator is None else str(c.denominator))
        # the engine's marks, which _check_citations compares with a fresh computation
        assert (row["provisional"], row["comparable"]) == (
            str(c.provisional).lower(),
            str(c.comparable).lower(),
        )
        assert row["spc_variation"] == (c.spc_variation or "")
        assert row["comparable_reason"] == (c.comparable_reason or "")
    assert any(row["provisional"] == "true" for row in rows)
    for c in book.citations:
        if c.where.startswith("Table"):
            assert any(c.text in cell for cell in cells), c
        else:
            number_ = c.where.split(" ")[0]
            para = next(p.text for p in word.paragraphs if p.text.startswith(number_ + "\t"))
            assert c.text in para, c
        assert c.text in pdf_text or c.text.replace(",", "") in pdf_text, c
        assert c.text in html, c
    assert "Police and Crime Plan Update: Victims" in word_text
    assert len(word.inline_shapes) == 3  # the three XmR charts
    # the PDF, as pictures a person can look at
    keep = os.environ.get("VCOP_REPORT_PNG_DIR")
    for i, page in enumerate(pdf):
        image = page.render(scale=1).to_pil()
        image.save(tmp_path / f"board-page-{i + 1}.png")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            image.save(Path(keep) / f"board-page-{i + 1}.png")
        assert image.convert("L").getextrema()[0] < 100  # there is ink on every page
    assert len(pdf) >= 5


def test_the_partner_cli_writes_the_pack(data: WebData, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    result = CliRunner().invoke(
        app,
        ["report", "partner", "--db", str(data.db), "--as-of", AS_OF.isoformat(),
         "--out", str(out), "--format", "docx,html"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stem = f"partner-pack-{AS_OF:%Y-%m}"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}.docx", f"{stem}.html", "figures.csv"]
    )
    word = docx.Document(str(out / f"{stem}.docx"))
    cells = [c.text for t in word.tables for r in t.rows for c in r.cells]
    assert SUPPRESSED in cells


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_report_for_another_date_evaluates_in_memory_and_leaves_the_file_alone(
    data: WebData, tmp_path: Path
) -> None:
    before = _sha(data.db)
    month_end = date(2025, 5, 31)
    with open_source(data.db, month_end) as src:
        assert src.evaluated_here and src.stored_as_of == AS_OF
        as_of = src.con.execute("SELECT DISTINCT as_of FROM entitlements").fetchall()
        assert as_of == [(month_end,)]
    assert _sha(data.db) == before
    result = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(data.db), "--as-of", "2025-05-31",
         "--out", str(tmp_path / "may"), "--format", "html", "--no-charts"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "evaluated as of 2025-05-31" in result.output
    assert (
        "12 months ending May 2025" in (tmp_path / "may" / "board-paper-2025-05.html").read_text()
    )
    assert _sha(data.db) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "docx,odt"], "odt: choose from docx, pdf, html"),
        (["--db", "nowhere.duckdb"], "no such database"),
        (["--as-of", "2025-06-15"], "the last day of a month (e.g. 2025-06-30)"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(
    data: WebData, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    base = ["report", "board", "--db", str(data.db), "--as-of", AS_OF.isoformat(),
            "--out", str(out)]  # fmt: skip
    if "--db" in args:
        base = base[:2] + base[4:]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert not out.exists()


ADOPTED = "Demoshire Police and Crime Plan 2024-28, priority 3 (test)"
UNADOPTED = "A draft target the board never agreed (test)"
PER_CASE = "National standard for attendance at emergencies (test)"


def test_an_adopted_target_appears_with_its_source_and_an_unadopted_one_nowhere(
    data: WebData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """targets.yaml beside the database: the adopted aggregate target is judged against (the
    SPC assurance sentence names it with its source) and shown in Appendix B; the one the force
    has not adopted appears nowhere, not even as a number; a per-case standard is shown with its
    source but never judged against the median."""
    monkeypatch.delenv("VCOP_TARGETS_FILE", raising=False)
    own = copy_of(data, tmp_path)
    (tmp_path / "targets.yaml").write_text(
        f"""targets:
  - metric: response_time_median_immediate
    value: 19
    source: {ADOPTED}
    adopted: true
    effective_from: 2024-04-01
    basis: aggregate
  - metric: satisfaction_whole_experience
    value: 0.973
    source: {UNADOPTED}
    adopted: false
  - metric: response_time_median_prompt
    value: 60
    source: {PER_CASE}
    adopted: true
    basis: per_incident
"""
    )
    out = tmp_path / "board"
    result = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(own.db), "--as-of", AS_OF.isoformat(),
         "--out", str(out), "--format", "html", "--no-charts"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / f"board-paper-{AS_OF:%Y-%m}.html").read_text()
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert UNADOPTED not in text and "97.3%" not in text
    appendix_b = text[text.index("Appendix B: definitions") :]
    assert f"19 minutes ({ADOPTED})" in appendix_b
    assert f"60 minutes for each case ({PER_CASE})" in appendix_b
    assert "satisfaction_whole_experience Satisfied with the whole experience" in appendix_b
    # the prompt grade's median is never judged against the per-case standard
    body = text[: text.index("Appendix A: every figure")]
    assert "target of 60 minutes" not in body
    # the engine judged the immediate grade against the adopted target: the sentence says so
    with open_source(own.db, AS_OF) as src, quietly():
        v = compute(
            ibis.duckdb.from_connection(src.con), AS_OF, "month",
            metrics=["response_time_median_immediate"], targets=targets_for_db(own.db),
        ).values[0]  # fmt: skip
    assert v.target == 19 and v.target_source == ADOPTED and v.spc_assurance is not None
    assert f"the target of 19 minutes (adopted by the force: {ADOPTED}; Appendix B)" in body
    with (out / "figures.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert not [r for r in rows if UNADOPTED in str(r)]


def test_a_targets_file_with_problems_stops_the_report(data: WebData, tmp_path: Path) -> None:
    own = copy_of(data, tmp_path)
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  - metric: no_such_metric\n    value: 1\n    source: x\n"
    )
    result = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(own.db), "--as-of", AS_OF.isoformat(),
         "--out", str(tmp_path / "out"), "--format", "html", "--no-charts"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "no metric 'no_such_metric'" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
