"""`vcop report board` and `vcop report partner`: every figure is the metric value it came from.

The documents are built from the shared small Demoshire database (ledger as of 2025-06-30). Each
figure the board paper cites is checked against a fresh computation by the engine; each figure
the partner pack shows (and each it hides) against the release of the month end it is cut from,
built once for this module. The files are read back (Word with python-docx, PDF text with
pypdfium2, figures.csv) and the PDF's pages are turned into PNGs. The board paper's text is
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
from typing import Any

import docx
import ibis
import pypdfium2 as pdfium
import pytest
from typer.testing import CliRunner

from tests.webdata import AS_OF, WebData, build, copy_of
from vcop.cli import app
from vcop.metrics.engine import compute
from vcop.metrics.population import load_population
from vcop.metrics.release import SUPPRESSED, Release, suppressed_note
from vcop.metrics.series import monthly_series
from vcop.metrics.targets import targets_for_db
from vcop.metrics.values import MetricValue
from vcop.reports.appendix import SOURCE_WORDS, in_a_table
from vcop.reports.board import NOT_COMPARED, board_paper
from vcop.reports.document import Document, Paragraph, Table
from vcop.reports.figures import (
    PROVISIONAL,
    Citation,
    FigureBook,
    number,
    quietly,
)
from vcop.reports.partner import partner_pack
from vcop.reports.source import ReportSource, build_release, open_source

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
def release(source: ReportSource) -> Release:
    """The release of the month end the partner pack is cut from (built once: tens of
    seconds)."""
    return build_release(source, threshold=THRESHOLD)


@pytest.fixture(scope="module")
def partner(release: Release) -> tuple[Document, FigureBook]:
    book = FigureBook.of_release(release)
    return partner_pack(book, force="Demoshire Police"), book


def _fresh(source: ReportSource, c: Citation) -> dict[tuple[str, ...], MetricValue]:
    """The engine's values for a citation's metric, period and breakdown, computed afresh."""
    backend = ibis.duckdb.from_connection(source.con)
    with quietly():
        values = compute(backend, AS_OF, c.period, metrics=[c.metric_id], by=_by(c)).values
    return {v.group: v for v in values}


def _by(c: Citation) -> str | None:
    """The split of a citation's breakdown beyond its metric's own grouping (None: none)."""
    from vcop.spec.metrics import load_catalogue

    grouping = "/".join(load_catalogue().metric(c.metric_id).grouping)
    if c.breakdown in ("all", grouping):
        return None
    return c.breakdown.removeprefix(grouping + "/") if grouping else c.breakdown


def _group(c: Citation) -> tuple[str, ...]:
    return () if c.group == "all" else tuple(c.group.split("/"))


def _window(v: MetricValue, c: Citation) -> Any:
    """The window of ``v`` a citation quotes (current, previous or a year before)."""
    windows = [v.current]
    windows += [x.estimate for x in (v.previous, v.year_ago) if x is not None]
    match = [e for e in windows if (e.start, e.end) == (c.start, c.end)]
    assert match, f"{c}: no window of {v.metric_id} {v.group} is {c.start}–{c.end}"
    return match[0]


def _check_citations(source: ReportSource, book: FigureBook) -> int:
    cache: dict[tuple[str, str, str], dict[tuple[str, ...], MetricValue]] = {}
    series: dict[str, object] = {}
    checked = 0
    for c in book.citations:
        group = _group(c)
        assert not c.suppressed, c  # the board paper is internal: nothing is hidden
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
            cache[key] = _fresh(source, c)
        v = cache[key][group]
        if c.source in ("per_1000", "benchmark"):
            checked += _check_derived(source, c, v)
            continue
        e = _window(v, c)
        assert (e.numerator, e.denominator, e.value) == (c.numerator, c.denominator, c.value), c
        # the engine's marks, as the value carries them (an earlier window is never provisional)
        assert c.provisional == (v.provisional and e is v.current), c
        assert (c.comparable, c.comparable_reason, c.spc_variation) == (
            v.comparable,
            v.comparable_reason,
            v.spc_variation,
        ), c
        if e is not v.current:
            assert v.comparable, f"{c}: a value the engine does not compare was compared"
        if not (c.where.endswith("(n)") or c.where.endswith("(numerator)")):
            assert e.value is not None and c.text == number(e.value, v.unit), c
        checked += 1
    return checked


def _check_derived(source: ReportSource, c: Citation, v: MetricValue) -> int:
    """A count per 1,000 residents (its count over the residents of its group, from the
    population table) or a count's long-term benchmark, against the engine's value."""
    if c.source == "benchmark":
        assert v.benchmark is not None and c.value == v.benchmark, c
        assert c.text == number(v.benchmark, v.unit), c
        return 1
    e = _window(v, c)
    population = load_population(ibis.duckdb.from_connection(source.con))
    assert population is not None
    residents = population.of(v.breakdown, v.group)
    assert (c.numerator, c.denominator) == (e.numerator, residents), c
    assert c.value is not None and abs(c.value - 1000 * e.numerator / residents) < 1e-9, c
    assert c.text == f"{c.value:,.1f}", c
    return 1


def test_every_figure_in_the_board_paper_is_its_metric_value(
    source: ReportSource, board: tuple[Document, FigureBook]
) -> None:
    _, book = board
    assert len(book.citations) > 100
    assert _check_citations(source, book) == len(book.citations)


def test_percentages_have_one_decimal_place(board: tuple[Document, FigureBook]) -> None:
    doc, book = board
    text = doc.text()
    # the paper's figures (the note on method states its levels, "5%", "95%"; Appendix B quotes
    # the catalogue's own words, e.g. a target's source)
    text = text[: text.index("About these figures")] + " ".join(c.text for c in book.citations)
    percents = re.findall(r"\d[\d,]*(?:\.\d+)?%", text)
    assert percents
    assert all(re.fullmatch(r"\d{1,3}\.\d%", p) for p in percents if p != "5%"), [
        p for p in percents if not re.fullmatch(r"\d{1,3}\.\d%", p)
    ]


CHANGE_WORDS = {"significantly higher", "significantly lower", "normal variation", "unchanged",
                "too few to test", NOT_COMPARED, "–"}  # fmt: skip
#: A significant change in a table, with its size and interval (the board paper's family).
SIZED = re.compile(
    r"(small change: )?(up|down) [\d.,]+( points| minutes| days)?"
    r"( \(95% CI -?[\d.,]+ to -?[\d.,]+\))?"
)


def change_word(cell: str) -> bool:
    return cell in CHANGE_WORDS or SIZED.fullmatch(cell) is not None


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
            assert all(change_word(row[-1]) for row in block.rows), block.caption


@pytest.mark.parametrize("which", ["board", "partner"])
def test_a_provisional_figure_is_marked_and_compared_only_as_it_stood_at_the_same_age(
    which: str, request: pytest.FixtureRequest
) -> None:
    doc, book = request.getfixturevalue(which)
    provisional = [c for c in book.citations if c.provisional and not c.suppressed]
    assert provisional  # the ledger's latest months are younger than their maturity
    text = doc.text()
    # a table column of figures that are all provisional says so once, in its heading
    marked_columns = {
        (b.caption.split(":")[0], row[i])
        for b in doc.blocks
        if isinstance(b, Table)
        for i, column in enumerate(b.columns)
        if column.endswith(PROVISIONAL)
        for row in b.rows
    }
    for c in provisional:
        if c.where.endswith(("(n)", "(numerator)")):
            continue
        in_column = {(c.where, c.text), (c.where, f"{c.text} †")} & marked_columns
        assert (
            f"{c.text} {PROVISIONAL}" in text or f"{c.text} † {PROVISIONAL}" in text or in_column
        ), c
    # an earlier window of a provisional value is quoted only where the engine compared it (as
    # it stood at the same age), and a sentence quoting it says so
    provisional_values = {(c.metric_id, c.group, c.period): c for c in provisional}
    paragraphs = {b.number: b.text for b in doc.blocks if isinstance(b, Paragraph) and b.number}
    for c in book.citations:
        now = provisional_values.get((c.metric_id, c.group, c.period))
        if now is None or c.source != "value" or (c.start, c.end) == (now.start, now.end):
            continue
        assert c.comparable, c
        if c.where in paragraphs:
            assert "as it stood on" in paragraphs[c.where], paragraphs[c.where]
    # the caveats say what provisional means
    assert f"Figures marked {PROVISIONAL}" in text
    assert "with the earlier period as it stood at the same age" in text
    assert "not compared with earlier periods" not in text


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


def _release_value(release: Release, c: Citation) -> MetricValue:
    found = release.value(c.metric_id, c.period, _by(c), _group(c))
    assert found is not None, f"{c}: not in the release"
    return found


def test_every_figure_in_the_partner_pack_is_the_releases(
    release: Release, partner: tuple[Document, FigureBook]
) -> None:
    """Each figure the pack shows, and each it hides, is the release's: the same numerator,
    denominator and value, hidden exactly when the release hides it; each month is the
    release's month."""
    doc, book = partner
    assert book.citations and any(c.suppressed for c in book.citations)
    for c in book.citations:
        if c.source == "month":
            points = {p.month: p for p in release.series[c.metric_id][_group(c)].points}
            p = points[c.start]
            assert c.suppressed == p.suppressed, c
            if p.suppressed:
                assert (c.numerator, c.denominator, c.value, c.text) == (None, None, None,
                                                                         SUPPRESSED)  # fmt: skip
            else:
                assert (c.numerator, c.denominator, c.value) == (p.numerator, p.denominator,
                                                                 p.value)  # fmt: skip
            continue
        v = _release_value(release, c)
        assert c.period == "rolling_12m" and _by(c) in (None, "area"), c
        e = _window(v, c)
        assert (c.numerator, c.denominator, c.value) == (e.numerator, e.denominator, e.value), c
        hidden = v.suppressed if e is v.current else e.denominator is None and e.value is None
        assert c.suppressed == hidden, c
        assert (c.text == SUPPRESSED) == hidden, c
        assert (c.comparable, c.comparable_reason) == (v.comparable, v.comparable_reason), c
    # every right, force-wide (Table 1) and by area (Table 2), is in the pack: shown or hidden
    # as the release has it
    for table, by in (("Table 1", None), ("Table 2", "area")):
        values = release.values("rolling_12m", by, ["compliance_by_right"])
        now = (values[0].current.start, values[0].current.end)
        cited = {
            (c.group, c.suppressed)
            for c in book.citations
            if c.where == table and (c.start, c.end) == now
        }
        assert cited == {(v.group_name, v.suppressed) for v in values}, table
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
        assert row["figure"] == c.source
    assert any(row["provisional"] == "true" for row in rows)
    assert any(row["figure"] == "per_1000" for row in rows)  # the demo's synthetic population
    for c in book.citations:
        if c.where.startswith(("Table", "Appendix")):
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


def test_the_partner_cli_writes_the_pack_from_the_release(
    data: WebData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    release: Release,
    partner: tuple[Document, FigureBook],
) -> None:
    """The command cuts the pack from the release of its month end (the module's, so it is not
    built twice), writes Word, PDF, HTML and figures.csv, and every one of them shows a hidden
    figure as [c] with the one sentence that explains it."""
    import vcop.reports.source

    asked: list[tuple[date, int]] = []

    def same_release(source: ReportSource, *, threshold: int, **_: Any) -> Release:
        asked.append((source.as_of, threshold))
        return release

    monkeypatch.setattr(vcop.reports.source, "build_release", same_release)
    out = tmp_path / "pack"
    result = CliRunner().invoke(
        app,
        ["report", "partner", "--db", str(data.db), "--as-of", AS_OF.isoformat(),
         "--out", str(out), "--no-charts"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert asked == [(AS_OF, THRESHOLD)]
    stem = f"partner-pack-{AS_OF:%Y-%m}"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}.docx", f"{stem}.pdf", f"{stem}.html", "figures.csv"]
    )
    note = suppressed_note(THRESHOLD)
    word = docx.Document(str(out / f"{stem}.docx"))
    cells = [c.text for t in word.tables for r in t.rows for c in r.cells]
    assert SUPPRESSED in cells
    word_text = "\n".join([p.text for p in word.paragraphs] + cells)
    pdf = pdfium.PdfDocument(str(out / f"{stem}.pdf"))
    pdf_text = " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in pdf)
    html = " ".join(unescape(re.sub(r"<[^>]+>", " ", (out / f"{stem}.html").read_text())).split())
    for text in (word_text, pdf_text, html):
        assert note in text
        assert not re.search(r"\bsuppressed\b", text, re.IGNORECASE)
    # figures.csv: every figure the pack shows, a hidden one as [c] with no numbers
    _, book = partner
    with (out / "figures.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(book.citations)
    for row, c in zip(rows, book.citations, strict=True):
        assert (row["metric_id"], row["group"], row["shown_as"]) == (c.metric_id, c.group, c.text)
        assert row["suppressed"] == str(c.suppressed).lower()
        if c.suppressed:
            assert (row["shown_as"], row["numerator"], row["denominator"], row["value"]) == (
                SUPPRESSED,
                "",
                "",
                "",
            )
    assert any(row["suppressed"] == "true" for row in rows)


def test_the_pack_draws_the_charts_of_series_with_no_hidden_month(
    release: Release,
) -> None:
    from vcop.reports.charts import xmr_image
    from vcop.reports.document import Image

    book = FigureBook.of_release(release)
    doc = partner_pack(book, chart=xmr_image)
    images = [b for b in doc.blocks if isinstance(b, Image)]
    drawn = [
        m for m in ("victim_updates_on_time", "support_referral_on_time", "vcs_referral_on_time")
        if m in release.series and () in release.series[m]
        and not any(p.suppressed for p in release.series[m][()].points)
    ]  # fmt: skip
    assert drawn and len(images) == len(drawn)
    assert all(i.png.startswith(b"\x89PNG") for i in images)


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


@pytest.mark.parametrize("command", ["board", "partner"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "docx,odt"], "odt: choose from docx, pdf, html"),
        (["--db", "nowhere.duckdb"], "no such database"),
        # a partner pack is cut from the release of a month end
        (["--as-of", "2025-06-15"], "the last day of a month (e.g. 2025-06-30)"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(
    data: WebData, tmp_path: Path, command: str, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    base = ["report", command, "--db", str(data.db), "--as-of", AS_OF.isoformat(),
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
    body = text[: text.index("Appendix A: the figures quoted")]
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


# -- issue 18: sound statistics, no internals, a compact paper --------------------------------


def _body(doc: Document) -> str:
    text = doc.text()
    return text[: text.index("About these figures")]


def test_the_body_holds_no_internals_and_the_note_on_method_states_the_rules(
    board: tuple[Document, FigureBook],
) -> None:
    """No "computed by vcop", no docs/ paths, no hash stamp, no raw obligation id in the body;
    the stamp and the method go in "About these figures" at the end of the body."""
    from vcop.spec.code import load_code

    doc, book = board
    body = _body(doc)
    assert "vcop" not in body.lower()
    assert "docs/" not in body and ".md" not in body
    assert book.definitions_hash and book.definitions_hash not in body
    ids = [o.id for o in load_code().obligations]
    assert [i for i in ids if i in body] == []
    text = doc.text()
    about = text[text.index("About these figures") : text.index("Appendix A: the figures quoted")]
    assert book.definitions_hash in about
    family = book.comparisons
    assert family is not None and family.settled and family.hypotheses > 0
    assert f"makes {family.hypotheses} such comparisons" in about
    assert "false discovery rate at 5% (Benjamini and Hochberg, 1995)" in about
    assert "design effect" in about and "victims as clusters" in about
    assert "95% confidence interval" in about and "small change" in about


def test_every_change_the_paper_states_was_judged_by_the_family(
    board: tuple[Document, FigureBook],
) -> None:
    """Each Change cell is the family's verdict: sized when significant, else in words."""
    from vcop.reports.parts import sig_word

    _, book = board
    family = book.comparisons
    assert family is not None
    cited = {(c.metric_id, c.group, c.period, c.start, c.end) for c in book.citations}
    checked = 0
    for v in [v for vs in book._results.values() for v in vs]:
        for which in ("previous", "year_ago"):
            c = v.previous if which == "previous" else v.year_ago
            if c is None or c.p_value is None or not book.shown(v):
                continue
            windows = [(v.current.start, v.current.end), (c.estimate.start, c.estimate.end)]
            if any((v.metric_id, v.group_name, v.period, *w) not in cited for w in windows):
                continue  # not compared in the paper
            checked += 1
            verdict = family.verdict(v, which)  # raises if it escaped the family
            assert verdict is not None
            word = sig_word(v, which, book)
            assert (SIZED.fullmatch(word) is not None) == verdict.significant, (v, word)
    assert checked >= family.hypotheses > 0  # the same test quoted twice is one hypothesis


def test_a_figure_on_few_cases_is_marked_on_either_side_of_a_comparison(
    board: tuple[Document, FigureBook],
) -> None:
    doc, book = board
    small = book.catalogue.settings.small_sample
    checked = 0
    for b in doc.blocks:
        if not isinstance(b, Table) or [c.split(" (")[0] for c in b.columns[2::2]] != ["n", "n"]:
            continue
        for row in b.rows:
            for figure, n in ((row[1], row[2]), (row[3], row[4])):
                if n not in ("–", SUPPRESSED) and int(n.replace(",", "")) < small:
                    assert "†" in figure, (b.caption, row)
                    checked += figure is row[3]
                elif n not in ("–", SUPPRESSED):
                    assert "†" not in figure, (b.caption, row)
    assert checked  # an earlier window on few cases (a month of domestic abuse incidents)
    small_then = next(p.text for p in doc.blocks if isinstance(p, Paragraph) and
                      p.number == "4.1.8")  # fmt: skip
    assert re.search(r"May 2025 \([\d.,]+ minutes †\)", small_then), small_then


def test_low_rates_owed_before_finalisation_carry_the_returns_caveat(
    board: tuple[Document, FigureBook],
) -> None:
    doc, _ = board
    caveat = [b.text for b in doc.blocks if isinstance(b, Paragraph) and "finalised" in b.text]
    (note,) = [t for t in caveat if t.startswith("The low compliance shown for")]
    assert "Right 5" in note and "Right 7" in note
    assert "counts it due when the crime is finalised" in note
    assert "The quarterly compliance return carries the same caveat." in note
    text = doc.text()
    assert "(owed before the crime is finalised: see the caveats on such low rates)" in text


def test_care_contracts_agreed_and_agreed_on_time_are_told_apart(
    board: tuple[Document, FigureBook],
) -> None:
    doc, _ = board
    text = doc.text()
    para = next(b.text for b in doc.blocks if isinstance(b, Paragraph) and b.number == "4.2.2")
    assert "Victim care contracts were agreed, on time or late, with" in para
    assert re.search(r"Agreed by the due date \(.*\), the share is [\d.]+%", para), para
    assert "Victim care contracts agreed, on time or late |" in text
    assert "Victim care contracts agreed |" not in _body(doc)


def test_obligations_are_in_the_codes_order_and_named_by_title(
    board: tuple[Document, FigureBook],
) -> None:
    doc, _ = board
    (table,) = [
        b for b in doc.blocks if isinstance(b, Table) and b.caption.startswith("Appendix C")
    ]
    rights = [r[0] for r in table.rows]
    numbers = [int(r) for r in rights if r.isdigit()]
    assert numbers == sorted(numbers) and 11 in numbers and 3 in numbers
    assert rights.index("3") < rights.index("11")
    assert all(r.isdigit() for r in rights[: len(numbers)])  # the local standards last
    assert not [r for r in table.rows if "." in r[1].split()[0]]  # a title, not an id


def test_no_word_or_figure_is_broken_across_lines(board: tuple[Document, FigureBook]) -> None:
    """The PDF, read back, holds every word of the paper as many times as the paper does (a
    token broken across a line, "75./7%", would be two other words); and by the layout every word
    of every table fits its column, on the page orientation it is set on."""
    from collections import Counter

    from vcop.reports import render
    from vcop.reports.document import PageBreak

    doc, _ = board
    pdf = pdfium.PdfDocument(render.pdf_bytes(doc))
    found = Counter(w for page in pdf for w in page.get_textpage().get_text_range().split())
    wanted = Counter(w for w in doc.text().split() if w != "|")
    assert {w: (n, found[w]) for w, n in wanted.items() if found[w] < n} == {}
    landscape = False
    tables = 0
    for b in doc.blocks:
        if isinstance(b, PageBreak) and b.orientation is not None:
            landscape = b.orientation == "landscape"
        if not isinstance(b, Table):
            continue
        tables += 1
        widths = render.table_widths(b, landscape)
        size, pad = render.cell_size(b)
        for r, row in enumerate((b.columns, *b.rows)):
            for cell, width in zip(row, widths, strict=True):
                for word in cell.split():
                    assert render._text_width(word, size, r == 0) + pad <= width, (b.caption, word)
    assert tables > 5
    pages = [page.get_size() for page in pdf]
    assert any(w > h for w, h in pages) and pages[0][0] < pages[0][1]  # landscape appendices


def test_the_appendix_lists_each_figure_once_compactly(
    board: tuple[Document, FigureBook],
) -> None:
    doc, book = board
    tables = [b for b in doc.blocks if isinstance(b, Table) and b.caption.startswith("Appendix A")]
    assert tables and all(t.compact for t in tables)
    rows = [r for t in tables for r in t.rows]
    # a rate per 1,000 residents or a benchmark is a figure of its own, beside its count
    values = {(c.metric_id, c.group, c.period, c.source, c.start, c.end) for c in book.citations}
    assert len(rows) < len(values) < len(book.citations)  # an earlier window sits beside its value
    assert tables[0].caption.startswith("Appendix A.1: Jul 2024–Jun 2025")

    # every figure quoted in the text has a row; one quoted only in tables has none
    def row_of(c: Citation) -> tuple[str, str]:
        return (c.metric_id + SOURCE_WORDS.get(c.source, ""),
                "" if c.group == "all" else c.group.replace("/", " / "))  # fmt: skip

    listed = {(r[1], r[2]) for r in rows}
    in_text = {row_of(c) for c in book.citations if not in_a_table(c.where)}
    only_tables = {row_of(c) for c in book.citations} - in_text
    assert in_text <= listed
    assert only_tables and not only_tables & listed


def test_chart_axes_carry_years_and_titles_that_fit(board: tuple[Document, FigureBook]) -> None:
    from vcop.reports.charts import AXIS_TITLE_CHARS, xmr_spec

    _, book = board
    for metric_id in ("satisfaction_whole_experience", "victim_updates_on_time"):
        series = book.series(metric_id)[()]
        spec = xmr_spec(series, book.catalogue.metric(metric_id))
        x = spec["layer"][0]["encoding"]["x"]
        y = spec["layer"][0]["encoding"]["y"]
        assert x["axis"]["format"] == "%b %Y" and x["title"] is None
        assert 0 < len(y["title"]) <= AXIS_TITLE_CHARS
        points = spec["data"]["values"]
        assert all(d["label"] in ("P", "W") for d in points if d["hollow"])
        if metric_id == "victim_updates_on_time":  # its latest months are provisional
            assert points[-1]["label"] == "P" and points[-1]["hollow"]


def test_entitlements_are_counted_per_victim_as_the_engine_counts_them(
    source: ReportSource,
) -> None:
    """The counts per victim behind the design effect add up to the engine's figures, and match
    a plain SQL count of the ledger; a family of compliance comparisons (a quarter against the
    one before, as it stood at the same age) settles with design effects of at least 1."""
    from vcop.metrics import multiplicity as mult
    from vcop.metrics.comparisons import ComparisonFamily, victim_counts
    from vcop.spec.metrics import load_catalogue

    catalogue = load_catalogue()
    backend = ibis.duckdb.from_connection(source.con)
    with quietly():
        values = compute(backend, AS_OF, "rolling_12m", metrics=["compliance_by_right"]).values
    window = (values[0].current.start, values[0].current.end)
    metric = catalogue.metric("compliance_by_right")
    counts = victim_counts(backend, catalogue, metric, ("right",), AS_OF, [window])
    for v in values:
        cc = counts[(0, v.group)]
        assert (cc.x, cc.n) == (v.current.numerator, v.current.denominator), v.group
    rows = source.con.execute(
        "SELECT \"right\", victim_id, count(*), count(*) FILTER (WHERE status = 'met') "
        "FROM entitlements WHERE status IN ('met', 'late', 'overdue') AND \"right\" IS NOT NULL "
        "AND due_date BETWEEN ? AND ? GROUP BY ALL",
        list(window),
    ).fetchall()
    for right in {str(r[0]) for r in rows}:
        pairs = [(int(y), int(m)) for r, _, m, y in rows if str(r) == right]
        assert counts[(0, (right,))] == mult.ClusterCounts.of(pairs), right
    assert max(mult.design_effect(c) for c in counts.values()) > 1  # updates cluster in victims
    # a family of compliance comparisons (the data are all in their warm-up, so the engine
    # compares none: June is compared here with May as the engine's monthly series counts it)
    from dataclasses import replace

    from vcop.metrics import stats
    from vcop.metrics.values import Comparison, Estimate

    with quietly():
        june = compute(backend, AS_OF, "month", metrics=["compliance_by_right"]).values
        series = monthly_series(backend, catalogue, "compliance_by_right", AS_OF)
    family = ComparisonFamily(catalogue)
    compared = []
    for v in june:
        may = [p for p in series[v.group].points if p.month == date(2025, 5, 1)]
        if not may or not v.current.denominator or not may[0].denominator:
            continue
        m = may[0]
        test = stats.two_proportion_test(
            v.current.numerator or 0, v.current.denominator, m.numerator or 0, m.denominator or 0
        )
        assert test is not None and v.current.value is not None
        then = Estimate(date(2025, 5, 1), date(2025, 5, 31), m.numerator, m.denominator, m.value)
        v = replace(v, previous=Comparison(then, v.current.value - m.value, test.p_value,
                                           test.method))  # fmt: skip
        family.note(v, "previous")
        compared.append(v)
    assert len(compared) > 5
    family.settle(backend)
    verdicts = family.verdicts()
    assert len(verdicts) == len(compared)
    assert all(v.clustered and min(v.deff) >= 1 for v in verdicts)
    assert max(max(v.deff) for v in verdicts) > 1
    # counts per victim that disagree with the engine's stop the report: they would be a bug
    wrong = ComparisonFamily(catalogue)
    v = compared[0]
    assert v.previous is not None
    off = replace(v.previous.estimate, numerator=(v.previous.estimate.numerator or 0) + 1)
    wrong.note(replace(v, previous=replace(v.previous, estimate=off)), "previous")
    with pytest.raises(RuntimeError, match="counted per victim"):
        wrong.settle(backend)


def test_a_significant_change_is_given_with_its_size_and_a_small_one_is_not_dressed_up() -> None:
    from vcop.metrics import stats
    from vcop.metrics.comparisons import ComparisonFamily
    from vcop.metrics.values import Comparison, Estimate
    from vcop.reports.narrative import change_sentence

    def value(num: int, den: int, before: int, metric: str) -> MetricValue:
        test = stats.two_proportion_test(num, den, before, den)
        assert test is not None
        return MetricValue(
            metric_id=metric, kind="proportion", unit="proportion", period="rolling_12m",
            as_of=AS_OF, breakdown=(), group=(),
            current=Estimate(date(2024, 7, 1), AS_OF, num, den, num / den), previous=None,
            year_ago=Comparison(Estimate(date(2023, 7, 1), date(2024, 6, 30), before, den,
                                         before / den), (num - before) / den, test.p_value,
                                test.method),
            small_sample=False,
        )  # fmt: skip

    book = FigureBook(backend=None, as_of=AS_OF)  # type: ignore[arg-type]  # no engine needed
    big = value(600, 1000, 700, "satisfaction_whole_experience")
    tiny = value(10_000, 200_000, 11_000, "supervisory_reviews_overdue")  # 5.0% against 5.5%
    book.comparisons = ComparisonFamily(book.catalogue)
    for v in (big, tiny):
        book.comparisons.note(v, "year_ago")
    book.comparisons.settle(None)
    text = change_sentence(book, big, "4.1.2")
    assert re.fullmatch(
        r"This is significantly lower than the 12 months ending June 2024 \(70\.0%\): down 10\.0 "
        r"points \(95% CI [\d.]+ to [\d.]+\), a deterioration\.",
        text,
    ), text
    small = change_sentence(book, tiny, "4.2.2")
    assert re.search(r"\(5\.5%\), but only by 0\.5 points \(95% CI [\d.]+ to [\d.]+\): a small change\.$",
                     small), small  # fmt: skip
    assert "improvement" not in small
