"""The report renderers: a Document written as Word, PDF and HTML says what the Document says.

Each format is read back with an independent reader (python-docx, pdfium, the stdlib HTML
parser) and compared with the blocks it was made from. The PDF's pages are also drawn as PNGs so
a person can look at them: set ``VCOP_REPORT_PNG_DIR`` to keep them.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx
import pypdfium2 as pdfium
import pytest
from PIL import Image as PILImage

from vcop.metrics.series import Point, Series
from vcop.metrics.spc import Polarity, analyse
from vcop.reports import render
from vcop.reports.charts import PROVISIONAL_LABEL, WARM_UP_LABEL, reading_words, xmr_spec
from vcop.reports.document import Document, Heading, Image, PageBreak, Paragraph, Table
from vcop.spec.metrics import load_catalogue

VALUES = [0.70, 0.72, 0.71, 0.69, 0.74, 0.75, 0.73, 0.76, 0.78, 0.77, 0.80, 0.82, 0.79, 0.81]


def months(n: int) -> list[dt.date]:
    return [dt.date(2024 + (i // 12), i % 12 + 1, 1) for i in range(n)]


def series_of(
    values: list[float],
    *,
    provisional: int = 0,
    warm_up: int = 0,
    target: float | None = None,
    rebase: tuple[int, ...] = (),
    metric: str = "victim_updates_on_time",
) -> Series:
    """A monthly series as the engine makes one: the first ``warm_up`` months in the warm-up,
    the last ``provisional`` provisional, and the SPC reading of the months between."""
    polarity = Polarity(load_catalogue().metric(metric).polarity)
    n = len(values)
    points = tuple(
        Point(m, v, None, 100, provisional=i >= n - provisional, warm_up=i < warm_up)
        for i, (m, v) in enumerate(zip(months(n), values, strict=True))
    )
    judged = [p.value for p in points if p.judged]
    return Series(points, analyse(judged, polarity, target, rebase=rebase))


def chart_spec(with_reading: bool = True) -> dict[str, Any]:
    """An XmR chart made the way a report makes one (reports.charts.xmr_spec)."""
    metric = load_catalogue().metric("victim_updates_on_time")
    series = series_of(VALUES, target=0.9)
    if not with_reading:
        series = Series(series.points, None)
    return xmr_spec(series, metric, target=0.9, target_source="Police and Crime Plan")


def sample_document(chart: bytes) -> Document:
    """Every kind of block, awkward characters, a table long enough to run onto another page."""
    doc = Document(
        title="Victims’ Code compliance – monthly report to the Police & Crime Commissioner",
        memo=[
            ("To", "Police and Crime Commissioner"),
            ("From", "Assistant Chief Constable (Crime & Justice)"),
            ("Date", "14 March 2025"),
        ],
    )
    long_rows = tuple(
        (m.strftime("%B %Y"), f"{600 + 7 * i:,}", f"{70 + i * 0.5:.1f}%", "Common cause")
        for i, m in enumerate(months(40))
    )
    doc.add(
        Heading("Purpose", number="1"),
        Paragraph(
            "This paper reports the force’s compliance with the Code of Practice for Victims of "
            "Crime in England and Wales for February 2025, and asks the Commissioner to note it.",
            number="1.1",
        ),
        Heading("Summary", number="2"),
        Paragraph(
            "Compliance with Right 4 rose to 81.0% (target ≥ 90%); the cost of interpreters was "
            "£12,400 <within budget> & on plan. Figures marked † are provisional.",
            number="2.1",
        ),
        Paragraph("† Provisional: cases finalised after 3 March are not yet counted.", note=True),
        Heading("Compliance by right", level=2, number="2.2"),
        Table(
            columns=("Right", "Entitlement", "Victims", "On time"),
            rows=(
                ("1", "To be able to understand and to be understood", "1,204", "96.5%"),
                ("4", "To be referred to services that support victims", "3,871", "81.0%"),
                ("6", "To be provided with information about the investigation", "2,950", "88.2%"),
            ),
            caption="Table 1: compliance by right, February 2025",
            numeric=(False, False, True, True),
        ),
        Image(
            png=chart,
            alt="XmR chart of updates given on time: rising from 70% to 81%, below the 90% target",
            caption="Figure 1: victims updated on time, monthly",
            width_cm=16,
        ),
        Paragraph("Points in blue show special-cause improvement.", number="2.3", note=True),
        PageBreak(),
        Heading("Monthly history", number="3"),
        Table(
            columns=("Month", "Victims", "On time", "Signal"),
            rows=long_rows,
            caption="Table 2: monthly figures",
            numeric=(False, True, True, False),
        ),
        Paragraph("The Commissioner is asked to note this report.", number="3.1"),
    )
    return doc


@pytest.fixture(scope="module")
def chart() -> bytes:
    return render.chart_png(chart_spec(), width=640)


@pytest.fixture(scope="module")
def doc(chart: bytes) -> Document:
    return sample_document(chart)


@pytest.fixture(scope="module")
def written(doc: Document, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report") / "out" / "board"
    paths = render.write(doc, folder, "board-paper", ["docx", "pdf", "html"])
    assert paths == [folder / f"board-paper.{ext}" for ext in ("docx", "pdf", "html")]
    return {p.suffix[1:]: p for p in paths}


def squash(text: str) -> str:
    return " ".join(text.split())


def body_texts(doc: Document) -> list[str]:
    """The paragraph texts a reader sees outside tables, in order."""
    out = [doc.title, *(f"{k}: {v}" for k, v in doc.memo)]
    for b in doc.blocks:
        if isinstance(b, Heading | Paragraph):
            out.append(b.label)
        elif isinstance(b, Table | Image) and b.caption:
            out.append(b.caption)
    return out


def tables(doc: Document) -> list[Table]:
    return [b for b in doc.blocks if isinstance(b, Table)]


# --- charts ---------------------------------------------------------------------------------


def test_chart_png_renders_an_xmr_chart_at_the_asked_width(chart: bytes) -> None:
    spec = chart_spec()
    picture = PILImage.open(io.BytesIO(chart))
    assert picture.format == "PNG"
    assert picture.width == pytest.approx(1280, abs=4)  # 640 CSS pixels at scale 2
    assert 400 < picture.height < 1000
    shades = picture.convert("L").getcolors(256) or []
    assert len(shades) > 10  # axes, text and points drawn
    assert spec["width"] == "container"  # the caller's spec is not changed


def test_chart_png_without_a_reading_and_with_a_height() -> None:
    png = render.chart_png(chart_spec(with_reading=False), width=400, height=300, scale=1)
    picture = PILImage.open(io.BytesIO(png))
    assert picture.size == pytest.approx((400, 300), abs=4)


def _layers(spec: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    return [layer for layer in spec["layer"] if layer["mark"]["type"] == mark]


def test_provisional_and_warm_up_months_are_hollow_labelled_and_never_a_signal() -> None:
    metric = load_catalogue().metric("victim_updates_on_time")
    series = series_of([*VALUES, 0.5, 0.95], provisional=2, warm_up=2)
    spec = xmr_spec(series, metric)
    rows = spec["data"]["values"]
    assert [r["signal"] for r in rows[:2]] == [WARM_UP_LABEL] * 2
    assert [r["signal"] for r in rows[-2:]] == [PROVISIONAL_LABEL] * 2
    assert all(r["hollow"] for r in rows[:2] + rows[-2:])
    assert not any(r["hollow"] for r in rows[2:-2])
    assert [r["label"] for r in rows if r["hollow"]] == ["W", "W", "P", "P"]
    # hollow: white inside, in the legend too; the labels are drawn beside the points
    (points,) = _layers(spec, "point")
    fill = points["encoding"]["fill"]["scale"]
    fills = dict(zip(fill["domain"], fill["range"], strict=True))
    assert fills[PROVISIONAL_LABEL] == fills[WARM_UP_LABEL] == "#ffffff"
    assert fills["Common cause"] != "#ffffff"
    (labels,) = _layers(spec, "text")
    assert labels["encoding"]["text"] == {"field": "label"}
    # the limits stop at the last judged month: the provisional ones are not judged
    limit_months = {r["month"] for layer in _layers(spec, "line")[1:]
                    for r in layer["data"]["values"]}  # fmt: skip
    assert limit_months == {r["month"] for r in rows[2:-2]}
    assert render.chart_png(spec, width=480, scale=1)


def test_a_flat_series_has_no_limits_and_no_special_cause() -> None:
    metric = load_catalogue().metric("response_time_median_immediate")
    series = series_of([18.0] * 23 + [30.0], provisional=1, metric=metric.id)
    assert series.reading is not None and series.reading.xmr is None
    spec = xmr_spec(series, metric)
    assert len(_layers(spec, "line")) == 1  # the values' line only: no mean, no limits
    signals = {r["signal"] for r in spec["data"]["values"]}
    assert signals == {"Common cause", PROVISIONAL_LABEL}
    assert reading_words(series, metric) == "no variation to judge, so no process limits"
    assert render.chart_png(spec, width=480, scale=1)


def test_after_a_rebase_each_segment_has_its_own_limits() -> None:
    metric = load_catalogue().metric("response_time_median_immediate")
    values = [20.0, 21, 19, 22, 20, 21, 19, 20, 22, 21, 15, 14, 16, 15, 14, 16, 15, 13, 16, 15]
    series = series_of(values, rebase=(10,), metric=metric.id)
    spec = xmr_spec(series, metric, target=15, target_source="Police and Crime Plan")
    mean = _layers(spec, "line")[1]["data"]["values"]
    assert len({r["segment"] for r in mean}) == 2
    first, second = ({r["y"] for r in mean if r["segment"] == s} for s in (0, 1))
    assert first == {sum(values[:10]) / 10} and second == {sum(values[10:]) / 10}
    assert _layers(spec, "rule")[0]["data"]["values"] == [{"y": 15}]
    assert "Police and Crime Plan" in spec["description"]


def test_chart_png_fetches_nothing() -> None:
    spec = {"data": {"url": "https://example.com/x.csv"}, "mark": "point"}
    with pytest.raises(ValueError, match="not allowed"):
        render.chart_png(spec)


# --- Word -----------------------------------------------------------------------------------


def test_docx_says_what_the_document_says(doc: Document, written: dict[str, Path]) -> None:
    d = docx.Document(str(written["docx"]))
    texts = [p.text.replace("\t", " ") for p in d.paragraphs if p.text.strip()]
    assert texts == body_texts(doc)
    assert [[[c.text for c in row.cells] for row in t.rows] for t in d.tables] == [
        [list(t.columns), *map(list, t.rows)] for t in tables(doc)
    ]
    section = d.sections[0]
    assert [p.text for p in section.header.paragraphs] == [doc.marking]
    assert section.footer.paragraphs[0].text == doc.marking
    assert "Page" in section.footer.paragraphs[1].text
    assert section.page_width is not None and section.page_height is not None
    assert (section.page_width.cm, section.page_height.cm) == pytest.approx((21.0, 29.7), abs=0.01)
    assert d.core_properties.title == doc.title


def test_docx_structure(doc: Document, written: dict[str, Path]) -> None:
    d = docx.Document(str(written["docx"]))
    styles = {p.text.replace("\t", " "): p.style.name for p in d.paragraphs if p.style}
    assert styles[doc.title] == "Title"
    assert styles["1 Purpose"] == "Heading 1"
    assert styles["2.2 Compliance by right"] == "Heading 2"
    (image,) = [b for b in doc.blocks if isinstance(b, Image)]
    (shape,) = d.inline_shapes
    assert shape._inline.docPr.get("descr") == image.alt
    assert shape.width is not None and shape.width.cm == pytest.approx(16, abs=0.01)
    first = d.tables[0]
    assert first.rows[0]._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None
    assert all(cell.paragraphs[0].runs[0].bold for cell in first.rows[0].cells)
    alignment = [c.paragraphs[0].alignment for c in first.rows[1].cells]
    right = docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    assert [a == right for a in alignment] == [False, False, True, True]
    assert sum(c.width.cm for c in first.rows[0].cells if c.width) == pytest.approx(16.6, abs=0.05)
    breaks = d.element.body.xpath('.//w:br[@w:type="page"]')
    assert len(breaks) == 1


# --- PDF ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_pages(written: dict[str, Path]) -> list[str]:
    pdf = pdfium.PdfDocument(written["pdf"])
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()


def test_pdf_says_what_the_document_says(doc: Document, pdf_pages: list[str]) -> None:
    text = squash(" ".join(pdf_pages))
    for expected in body_texts(doc):
        assert squash(expected) in text
    for table in tables(doc):
        for cell in (*table.columns, *(c for row in table.rows for c in row)):
            assert squash(cell) in text
    assert "■" not in text  # no character fell outside the standard fonts


def test_pdf_pages_carry_the_marking_and_numbers(doc: Document, pdf_pages: list[str]) -> None:
    assert 3 <= len(pdf_pages) <= 6
    for n, page in enumerate(pdf_pages, 1):
        assert page.count(doc.marking) >= 2
        assert f"Page {n} of {len(pdf_pages)}" in page
    # The long table runs onto another page, and its header row comes with it.
    assert sum("Month Victims On time Signal" in squash(p) for p in pdf_pages) >= 2


def test_pdf_metadata(doc: Document, written: dict[str, Path]) -> None:
    pdf = pdfium.PdfDocument(written["pdf"])
    try:
        assert pdf.get_metadata_dict()["Title"] == doc.title
    finally:
        pdf.close()


def test_pdf_pages_as_png(written: dict[str, Path], tmp_path: Path) -> None:
    """Draw every page as a PNG; keep them in $VCOP_REPORT_PNG_DIR for a person to look at."""
    keep = os.environ.get("VCOP_REPORT_PNG_DIR")
    folders = [tmp_path, *([Path(keep)] if keep else [])]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(written["pdf"])
    try:
        for n, page in enumerate(pdf, 1):
            picture = page.render(scale=1.5).to_pil()
            assert picture.height / picture.width == pytest.approx(29.7 / 21.0, rel=0.01)
            lo, hi = picture.convert("L").getextrema()
            assert lo < 100 < hi  # dark text on a light page, not one colour
            for folder in folders:
                picture.save(folder / f"board-paper-{n}.png")
    finally:
        pdf.close()
    assert any(tmp_path.glob("board-paper-1.png"))


def test_pdf_replaces_characters_the_standard_fonts_lack() -> None:
    doc = Document(title="Łódź", blocks=[Paragraph("≥ † – ’ £ é Łódź\u2011x")])
    pdf = pdfium.PdfDocument(render.pdf_bytes(doc))
    try:
        text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    assert "≥ † – ’ £ é Lódz-x" in text
    assert "■" not in text


# --- HTML -----------------------------------------------------------------------------------


class Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.header_cells: list[dict[str, str | None]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("style", "title"):
            self._skip += 1
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "th":
            self.header_cells.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def test_html_says_what_the_document_says(doc: Document, written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    reader = Reader()
    reader.feed(page)
    text = squash(" ".join(reader.text))
    for expected in (doc.marking, *body_texts(doc)):
        assert squash(expected) in text
    for table in tables(doc):
        for cell in (*table.columns, *(c for row in table.rows for c in row)):
            assert squash(cell) in text
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en-GB">' in page
    assert f"<title>{render.html.escape(doc.title)}</title>" in page
    assert "&lt;within budget&gt; &amp; on plan" in page  # escaped, and read back as text


def test_html_is_self_contained_and_accessible(doc: Document, written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    reader = Reader()
    reader.feed(page)
    assert reader.images
    for img in reader.images:
        assert (img.get("alt") or "").strip()
        assert (img.get("src") or "").startswith("data:image/png;base64,")
    assert "script" not in reader.tags
    assert "link" not in reader.tags
    assert "http://" not in page and "https://" not in page
    assert reader.tags.count("caption") == len(tables(doc))
    assert reader.header_cells and all(th.get("scope") == "col" for th in reader.header_cells)


# --- writing files --------------------------------------------------------------------------


def test_write_writes_only_the_finished_files(written: dict[str, Path]) -> None:
    folder = written["pdf"].parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "board-paper.docx",
        "board-paper.html",
        "board-paper.pdf",
    ]
    assert written["pdf"].read_bytes().startswith(b"%PDF")
    assert written["docx"].read_bytes().startswith(b"PK")


def test_write_leaves_nothing_behind_when_a_renderer_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(doc: Document) -> bytes:
        raise RuntimeError("out of ink")

    monkeypatch.setattr(render, "pdf_bytes", broken)
    doc = Document(title="A paper", blocks=[Paragraph("Text.")])
    old = tmp_path / "paper.docx"
    old.write_bytes(b"the last good paper")
    with pytest.raises(RuntimeError, match="out of ink"):
        render.write(doc, tmp_path, "paper", ["docx", "pdf", "html"])
    assert [p.name for p in tmp_path.iterdir()] == ["paper.docx"]
    assert old.read_bytes() == b"the last good paper"
    with pytest.raises(RuntimeError):
        render.write(doc, tmp_path / "new", "paper", ["pdf"])
    assert not (tmp_path / "new").exists()


def test_write_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'odt'"):
        render.write(Document(title="A paper"), tmp_path, "paper", ["pdf", "odt"])
    assert list(tmp_path.iterdir()) == []
