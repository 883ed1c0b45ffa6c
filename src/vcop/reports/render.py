"""Write a :class:`~vcop.reports.document.Document` as Word, PDF or HTML, and charts as PNG.

A report is built once, as a list of blocks of finished text, and each renderer here only lays
that text out: nothing is computed, rounded or reworded, so the Word paper, the PDF and the HTML
page say exactly what :meth:`Document.text` says. Each renderer is one pure function from a
``Document`` to bytes (or a string), and :func:`write` is the only thing that touches the disk.

The three formats share one page design: A4 portrait, 2.2 cm side margins, an Arial-like 11 pt
face (Arial in Word, Helvetica in the PDF, Arial then any sans-serif in HTML), the protective
marking centred at the top and bottom of every page, "Page N of M" in the footer, headings in
bold with their paragraph numbers, numbered paragraphs with a hanging indent, notes in smaller grey
text, tables with a shaded header row that repeats on every page, numeric columns right-aligned,
and charts as pictures with their text alternative (Word's picture description, HTML's ``alt``)
and a caption. Column widths are shared too (:func:`_column_widths`), measured with Helvetica's
metrics, which are Arial's.

The PDF uses reportlab's standard (non-embedded) fonts so that it stays small and its text is
extractable. Those fonts cover Windows-1252 plus the Symbol and ZapfDingbats fonts, which
reportlab switches to by itself, so "–", "’", "£", "†" and "≥" all print as themselves; any
other character is replaced in the PDF only (see :func:`_pdf_safe`).

Charts are Vega-Lite specs (:mod:`vcop.reports.charts`, in the dashboard's colours from
:mod:`vcop.web.charts`) drawn by vl-convert, which
runs Vega in-process, fetches nothing (``allowed_base_urls=[]``) and carries its own Liberation
Sans (metrically Arial), so the charts' "arial, sans-serif" renders without Arial installed.
"""

from __future__ import annotations

import base64
import copy
import html
import io
import os
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import docx
import reportlab.platypus as rl
import vl_convert as vlc
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle as DocxParagraphStyle
from docx.text.paragraph import Paragraph as DocxParagraph
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics

from vcop.reports.document import Document, Heading, Image, PageBreak, Paragraph, Table

__all__ = ["FORMATS", "chart_png", "docx_bytes", "html_text", "pdf_bytes", "write"]

#: The formats :func:`write` knows, each its file extension.
FORMATS = ("docx", "pdf", "html")

# --- the page, shared by every format --------------------------------------------------------

PAGE_WIDTH_CM, PAGE_HEIGHT_CM = 21.0, 29.7
MARGIN_SIDE_CM, MARGIN_TOP_CM, MARGIN_BOTTOM_CM = 2.2, 2.5, 2.5
TEXT_WIDTH_CM = PAGE_WIDTH_CM - 2 * MARGIN_SIDE_CM  # 16.6 cm
BODY_PT, NOTE_PT, CELL_PT, SMALL_PT = 11.0, 9.0, 9.5, 8.5
HEADING_PT = {0: 20.0, 1: 14.0, 2: 12.0, 3: 11.0}  # 0: the title
#: Cell padding (left + right) in points, added to the widest text when sizing a column.
CELL_PAD_PT = 12.0

TEXT = "0b0c0c"
GREY = "505a5f"
BORDER = "b1b4b6"
HEAD_FILL = "dee0e2"
STRIPE_FILL = "f3f2f1"


def _level(heading: Heading) -> int:
    """Heading levels 1 to 3 (a deeper one is drawn as 3)."""
    return min(max(heading.level, 1), 3)


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of one line of ``text`` in Helvetica (= Arial's metrics)."""
    font = "Helvetica-Bold" if bold else "Helvetica"
    return float(pdfmetrics.stringWidth(_pdf_safe(text), font, size))


def _longest_word(text: str, size: float, bold: bool = False) -> float:
    return max((_text_width(w, size, bold) for w in text.split()), default=0.0)


def _column_widths(table: Table, total: float, size: float = CELL_PT) -> list[float]:
    """Column widths in points that add up to ``total``.

    Each column wants its widest cell on one line ("natural"), and needs at least its longest
    word ("minimum"). If every column's natural width fits, the spare width is shared in
    proportion to them; otherwise every column gets its minimum and the rest is shared in
    proportion to how much more each one wants, so long text wraps and short figures do not.
    """
    natural: list[float] = []
    minimum: list[float] = []
    for i, column in enumerate(table.columns):
        cells = [row[i] for row in table.rows]
        natural.append(
            min(
                total,
                CELL_PAD_PT
                + max([_text_width(column, size, True)] + [_text_width(c, size) for c in cells]),
            )
        )
        minimum.append(
            min(
                total,
                CELL_PAD_PT
                + max(
                    [_longest_word(column, size, True)] + [_longest_word(c, size) for c in cells]
                ),
            )
        )
    if sum(natural) <= total:
        return [w * total / sum(natural) for w in natural]
    if sum(minimum) >= total:
        return [w * total / sum(minimum) for w in minimum]
    spare = total - sum(minimum)
    want = [n - m for n, m in zip(natural, minimum, strict=True)]
    return [m + spare * w / sum(want) for m, w in zip(minimum, want, strict=True)]


def _number_indent(doc: Document, size: float = BODY_PT) -> float:
    """The hanging indent in points for numbered paragraphs: the widest number plus a gap."""
    widths = [
        _text_width(b.number, size)
        for b in doc.blocks
        if isinstance(b, Paragraph) and b.number and not b.note
    ]
    return float(max([1.2 * cm, *(w + 0.35 * cm for w in widths)]))


# --- Word -----------------------------------------------------------------------------------


def _rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.upper())


def _docx_font(
    style: DocxParagraphStyle,
    size: float,
    *,
    bold: bool | None = None,
    italic: bool | None = None,
    colour: str = TEXT,
) -> None:
    """Set a style's font to Arial, replacing the template's theme fonts and theme colours."""
    font = style.font
    font.name = "Arial"
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    font.color.rgb = _rgb(colour)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is not None:
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), "Arial")
    colour_el = rpr.find(qn("w:color"))
    if colour_el is not None:
        for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
            colour_el.attrib.pop(qn(attr), None)


def _docx_styles(d: DocxDocument) -> None:
    styles = d.styles
    normal: Any = styles["Normal"]
    _docx_font(normal, BODY_PT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-GB")
    normal.element.get_or_add_rPr().append(lang)
    title: Any = styles["Title"]
    _docx_font(title, HEADING_PT[0], bold=True)
    ppr = title.element.get_or_add_pPr()
    border = ppr.find(qn("w:pBdr"))
    if border is not None:  # the template's blue rule under the title, made grey
        for edge in border:
            edge.attrib.pop(qn("w:themeColor"), None)
            edge.set(qn("w:color"), BORDER.upper())
    title.paragraph_format.space_after = Pt(12)
    for level in (1, 2, 3):
        heading: Any = styles[f"Heading {level}"]
        _docx_font(heading, HEADING_PT[level], bold=True, italic=False)
        heading.paragraph_format.space_before = Pt(18 if level == 1 else 12)
        heading.paragraph_format.space_after = Pt(6)
        heading.paragraph_format.keep_with_next = True
    caption: Any = styles["Caption"]
    _docx_font(caption, CELL_PT, bold=True)
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.space_after = Pt(4)
    for name in ("Header", "Footer"):
        style: Any = styles[name]
        _docx_font(style, SMALL_PT)


def _docx_field(paragraph: DocxParagraph, instruction: str) -> None:
    """A Word field (``PAGE``, ``NUMPAGES``) that Word and LibreOffice fill in when drawing."""

    def char(kind: str) -> None:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(el)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    char("separate")
    paragraph.add_run("1")
    char("end")


def _docx_page(d: DocxDocument, doc: Document) -> None:
    section = d.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(PAGE_WIDTH_CM), Cm(PAGE_HEIGHT_CM)
    section.left_margin = section.right_margin = Cm(MARGIN_SIDE_CM)
    section.top_margin, section.bottom_margin = Cm(MARGIN_TOP_CM), Cm(MARGIN_BOTTOM_CM)
    section.header_distance = section.footer_distance = Cm(1.2)
    top = section.header.paragraphs[0]
    top.alignment = WD_ALIGN_PARAGRAPH.CENTER
    top.add_run(doc.marking).bold = True
    bottom = section.footer.paragraphs[0]
    bottom.alignment = WD_ALIGN_PARAGRAPH.CENTER
    bottom.add_run(doc.marking).bold = True
    pages = section.footer.add_paragraph(style="Footer")
    pages.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    pages.add_run("Page ")
    _docx_field(pages, "PAGE")
    pages.add_run(" of ")
    _docx_field(pages, "NUMPAGES")


def _shade(cell: Any, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill.upper())
    cell._tc.get_or_add_tcPr().append(shd)


def _docx_table(d: DocxDocument, block: Table) -> None:
    if block.caption:
        caption = d.add_paragraph(block.caption, style="Caption")
        caption.paragraph_format.keep_with_next = True
    table = d.add_table(rows=1 + len(block.rows), cols=len(block.columns))
    table.style = d.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    widths = _column_widths(block, TEXT_WIDTH_CM / 2.54 * 72)
    for i, width in enumerate(widths):
        table.columns[i].width = Pt(width)
    if block.caption:  # the table's alt text (Word 2010+); tblCaption goes last in tblPr
        alt = OxmlElement("w:tblCaption")
        alt.set(qn("w:val"), block.caption)
        table._tbl.tblPr.append(alt)
    for r, values in enumerate((block.columns, *block.rows)):
        row = table.rows[r]
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if r == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))  # repeated at the top of every page
        for i, value in enumerate(values):
            cell = row.cells[i]
            cell.width = Pt(widths[i])
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_before = Pt(1)
            paragraph.paragraph_format.space_after = Pt(1)
            if block.is_numeric(i):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = paragraph.add_run(value)
            run.font.size = Pt(CELL_PT)
            if r == 0:
                run.bold = True
                _shade(cell, HEAD_FILL)
    d.add_paragraph().paragraph_format.space_after = Pt(0)  # keeps two tables apart


def _docx_image(d: DocxDocument, block: Image) -> None:
    holder = d.add_paragraph()
    holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
    holder.paragraph_format.keep_with_next = bool(block.caption)
    shape = holder.add_run().add_picture(
        io.BytesIO(block.png), width=Cm(min(block.width_cm, TEXT_WIDTH_CM))
    )
    doc_pr = shape._inline.docPr  # Word's "alt text" is the drawing's description
    doc_pr.set("descr", block.alt)
    if block.caption:
        doc_pr.set("title", block.caption)
        d.add_paragraph(block.caption, style="Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER


def docx_bytes(doc: Document) -> bytes:
    """The document as a Word (.docx) file."""
    d = docx.Document()
    _docx_styles(d)
    _docx_page(d, doc)
    props = d.core_properties
    props.title = doc.title
    props.author = props.last_modified_by = props.comments = ""
    props.language = "en-GB"
    props.category = doc.marking
    d.add_paragraph(doc.title, style="Title")
    for key, value in doc.memo:
        memo = d.add_paragraph()
        memo.paragraph_format.space_after = Pt(2)
        memo.add_run(f"{key}:").bold = True
        memo.add_run(f" {value}")
    if doc.memo:
        d.paragraphs[-1].paragraph_format.space_after = Pt(12)
    indent = Pt(_number_indent(doc))
    for block in doc.blocks:
        if isinstance(block, Heading):
            d.add_paragraph(block.label, style=f"Heading {_level(block)}")
        elif isinstance(block, Paragraph):
            p = d.add_paragraph()
            if block.number:
                fmt = p.paragraph_format
                fmt.left_indent, fmt.first_line_indent = indent, -indent
                fmt.tab_stops.add_tab_stop(indent)
                runs = [p.add_run(block.number), p.add_run("\t"), p.add_run(block.text)]
            else:
                runs = [p.add_run(block.text)]
            if block.note:
                for run in runs:
                    run.font.size = Pt(NOTE_PT)
                    run.font.color.rgb = _rgb(GREY)
        elif isinstance(block, Table):
            _docx_table(d, block)
        elif isinstance(block, Image):
            _docx_image(d, block)
        elif isinstance(block, PageBreak):
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


# --- PDF ------------------------------------------------------------------------------------

#: Characters outside the standard fonts, given their nearest printable equivalent. Everything
#: else unprintable is decomposed (é → e + accent) or, failing that, printed as "?".
_PDF_SUBSTITUTES = {
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "–",  # figure dash
    "\u2009": " ",  # thin space
    "\u202f": "\u00a0",  # narrow no-break space (as in "10 %" in some locales)
    "\u200b": "",  # zero-width space
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Ħ": "H",
    "ħ": "h",
}


@lru_cache(maxsize=4096)
def _printable(ch: str) -> bool:
    """Whether reportlab's Helvetica can print ``ch``, itself or by switching to Symbol or
    ZapfDingbats (which it does unasked: "≥" comes from Symbol, "✓" from ZapfDingbats)."""
    if ch in "\n\t":
        return True
    for name in ("Helvetica", "Symbol", "ZapfDingbats"):
        try:
            ch.encode(pdfmetrics.getFont(name).encName)
        except UnicodeEncodeError:
            continue
        return True
    return False


def _pdf_safe(text: str) -> str:
    """``text`` with every character the standard PDF fonts lack replaced (PDF only).

    reportlab would draw such a character as a black square ("■") and extract it as one. Word
    and HTML need none of this: their readers fall back to another installed font.
    """
    if all(_printable(ch) for ch in text):
        return text
    out: list[str] = []
    for ch in text:
        if _printable(ch):
            out.append(ch)
        elif ch in _PDF_SUBSTITUTES:
            out.append(_PDF_SUBSTITUTES[ch])
        else:
            plain = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            out.append(plain if plain and all(_printable(c) for c in plain) else "?")
    return "".join(out)


def _rl(text: str) -> str:
    """Text for a reportlab Paragraph, whose markup is a little XML: escape it."""
    return html.escape(_pdf_safe(text), quote=False)


def _pdf_styles(number_indent: float) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body",
        fontName="Helvetica",
        fontSize=BODY_PT,
        leading=BODY_PT * 1.32,
        textColor=colors.HexColor(f"#{TEXT}"),
        spaceAfter=6,
    )

    def like(name: str, parent: ParagraphStyle = base, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=parent, **kw)

    def heading(level: int) -> ParagraphStyle:
        size = HEADING_PT[level]
        return like(
            f"h{level}",
            fontName="Helvetica-Bold",
            fontSize=size,
            leading=size * 1.25,
            spaceBefore=14 if level == 1 else 10,
            spaceAfter=6,
            keepWithNext=1,
        )

    grey = colors.HexColor(f"#{GREY}")
    cell = like("cell", fontSize=CELL_PT, leading=CELL_PT * 1.25, spaceAfter=0)
    head = like("head", parent=cell, fontName="Helvetica-Bold")
    return {
        "body": base,
        "title": like("title", fontName="Helvetica-Bold", fontSize=20, leading=25, spaceAfter=10),
        "h1": heading(1),
        "h2": heading(2),
        "h3": heading(3),
        "memo": like("memo", spaceAfter=2),
        "numbered": like(
            "numbered", leftIndent=number_indent, bulletIndent=0, bulletFontSize=BODY_PT
        ),
        "note": like("note", fontSize=NOTE_PT, leading=NOTE_PT * 1.3, textColor=grey),
        "note_numbered": like(
            "note_numbered",
            fontSize=NOTE_PT,
            leading=NOTE_PT * 1.3,
            textColor=grey,
            leftIndent=number_indent,
            bulletIndent=0,
            bulletFontSize=NOTE_PT,
        ),
        "caption": like(
            "caption",
            fontName="Helvetica-Bold",
            fontSize=CELL_PT,
            leading=CELL_PT * 1.3,
            spaceBefore=6,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "figcaption": like(
            "figcaption",
            fontName="Helvetica-Bold",
            fontSize=CELL_PT,
            leading=CELL_PT * 1.3,
            alignment=TA_CENTER,
            spaceBefore=4,
            spaceAfter=10,
        ),
        "cell": cell,
        "cell_num": like("cell_num", parent=cell, alignment=TA_RIGHT),
        "head": head,
        "head_num": like("head_num", parent=head, alignment=TA_RIGHT),
    }


def _pdf_table(block: Table, styles: dict[str, ParagraphStyle], width: float) -> list[Any]:
    def row(values: Sequence[str], kind: str) -> list[Any]:
        return [
            rl.Paragraph(_rl(v), styles[f"{kind}_num" if block.is_numeric(i) else kind])
            for i, v in enumerate(values)
        ]

    data = [row(block.columns, "head"), *(row(r, "cell") for r in block.rows)]
    table = rl.Table(
        data, colWidths=_column_widths(block, width), repeatRows=1, hAlign="LEFT", spaceAfter=10
    )
    border = colors.HexColor(f"#{BORDER}")
    table.setStyle(
        rl.TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, border),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(f"#{HEAD_FILL}")),
                ("LINEBELOW", (0, 0), (-1, 0), 1, colors.HexColor(f"#{GREY}")),
                (
                    "ROWBACKGROUNDS",
                    (0, 1),
                    (-1, -1),
                    [colors.white, colors.HexColor(f"#{STRIPE_FILL}")],
                ),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD_PT / 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD_PT / 2),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    caption = [rl.Paragraph(_rl(block.caption), styles["caption"])] if block.caption else []
    return [*caption, table]


def _pdf_image(block: Image, styles: dict[str, ParagraphStyle], width: float, height: float) -> Any:
    px_w, px_h = ImageReader(io.BytesIO(block.png)).getSize()
    w = min(block.width_cm * cm, width)
    h = w * px_h / px_w
    if h > height * 0.8:  # leave room for the caption on the same page
        h = height * 0.8
        w = h * px_w / px_h
    picture = rl.Image(io.BytesIO(block.png), width=w, height=h)
    picture.hAlign = "CENTER"
    caption = [rl.Paragraph(_rl(block.caption), styles["figcaption"])] if block.caption else []
    return rl.KeepTogether([picture, *caption])


def _pdf_story(doc: Document, width: float, height: float) -> list[Any]:
    styles = _pdf_styles(_number_indent(doc))
    story: list[Any] = [rl.Paragraph(_rl(doc.title), styles["title"])]
    for key, value in doc.memo:
        story.append(rl.Paragraph(f"<b>{_rl(key)}:</b> {_rl(value)}", styles["memo"]))
    story.append(
        rl.HRFlowable(
            width="100%", thickness=0.75, color=colors.HexColor(f"#{BORDER}"), spaceBefore=6,
            spaceAfter=8,
        )
    )  # fmt: skip
    for block in doc.blocks:
        if isinstance(block, Heading):
            story.append(rl.Paragraph(_rl(block.label), styles[f"h{_level(block)}"]))
        elif isinstance(block, Paragraph):
            if block.number:
                style = styles["note_numbered" if block.note else "numbered"]
                # bulletText is drawn as given, not parsed as markup: no escaping
                story.append(
                    rl.Paragraph(_rl(block.text), style, bulletText=_pdf_safe(block.number))
                )
            else:
                story.append(
                    rl.Paragraph(_rl(block.text), styles["note" if block.note else "body"])
                )
        elif isinstance(block, Table):
            story += _pdf_table(block, styles, width)
        elif isinstance(block, Image):
            story.append(_pdf_image(block, styles, width, height))
        elif isinstance(block, PageBreak):
            story.append(rl.PageBreak())
    return story


def _pdf_build(doc: Document, total_pages: int | None) -> tuple[bytes, int]:
    """One layout pass; the page count it returns is what the next pass prints as "of M"."""
    out = io.BytesIO()
    template = rl.SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_SIDE_CM * cm,
        rightMargin=MARGIN_SIDE_CM * cm,
        topMargin=MARGIN_TOP_CM * cm,
        bottomMargin=MARGIN_BOTTOM_CM * cm,
        title=_pdf_safe(doc.title),
        subject=_pdf_safe(doc.marking),
        author="",
        creator="vcop",
        lang="en-GB",
        displayDocTitle=True,
        invariant=True,  # no creation time or random id: the same document, the same bytes
    )
    marking = _pdf_safe(doc.marking)
    pages = 0

    def decorate(canvas: Any, _template: Any) -> None:
        nonlocal pages
        pages += 1
        page_w, page_h = A4
        canvas.saveState()
        canvas.setFillColor(colors.HexColor(f"#{TEXT}"))
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawCentredString(page_w / 2, page_h - 1.4 * cm, marking)
        canvas.drawCentredString(page_w / 2, 1.2 * cm, marking)
        canvas.setFont("Helvetica", SMALL_PT)
        number = f"Page {pages} of {total_pages}" if total_pages else f"Page {pages}"
        canvas.drawRightString(page_w - MARGIN_SIDE_CM * cm, 1.2 * cm, number)
        canvas.restoreState()

    story = _pdf_story(doc, template.width, template.height)
    template.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue(), pages


def pdf_bytes(doc: Document) -> bytes:
    """The document as a PDF: laid out twice, the first time only to count the pages."""
    _, pages = _pdf_build(doc, None)
    data, again = _pdf_build(doc, pages)
    if again != pages:  # cannot happen: the page furniture sits outside the frame
        raise RuntimeError(f"PDF layout changed between passes ({pages} then {again} pages)")
    return data


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
:root { color: #0b0c0c; background: #fff; }
body { font-family: Arial, "Liberation Sans", Helvetica, sans-serif; font-size: 11pt;
  line-height: 1.4; max-width: 17cm; margin: 0 auto; padding: 1rem 1.25rem; }
.marking { text-align: center; font-weight: bold; letter-spacing: 0.05em; margin: 0.5rem 0; }
h1 { font-size: 20pt; margin: 1rem 0 0.75rem; padding-bottom: 0.4rem;
  border-bottom: 1px solid #b1b4b6; }
h2 { font-size: 14pt; margin: 1.5rem 0 0.5rem; }
h3, h4 { font-size: 12pt; margin: 1.1rem 0 0.4rem; }
.memo p { margin: 0.15rem 0; }
.memo { margin-bottom: 1rem; padding-bottom: 0.5rem; border-bottom: 1px solid #b1b4b6; }
p { margin: 0 0 0.5rem; }
p.numbered { padding-left: var(--indent); text-indent: calc(-1 * var(--indent)); }
p.numbered .number { display: inline-block; width: var(--indent); text-indent: 0; }
p.note { font-size: 9pt; color: #505a5f; }
.table-wrap { overflow-x: auto; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #b1b4b6; padding: 3pt 6pt; text-align: left; vertical-align: top; }
thead th { background: #dee0e2; border-bottom: 2px solid #505a5f; }
tbody tr:nth-child(even) { background: #f3f2f1; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption { font-weight: bold; font-size: 9.5pt; margin-top: 0.25rem; }
hr.page-break { border: 0; border-top: 1px dashed #b1b4b6; margin: 1.5rem 0; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  .table-wrap { overflow: visible; }
  thead { display: table-header-group; }
  tr, img, figure { break-inside: avoid; }
  h2, h3, h4, caption { break-after: avoid; }
  hr.page-break { border: 0; margin: 0; break-after: page; }
}
"""


def _css_string(text: str) -> str:
    """A CSS string literal for ``text``: anything but letters, digits and spaces as an escape."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


def html_text(doc: Document) -> str:
    """The document as one self-contained HTML5 page: inline CSS, inline images, no script."""
    e = html.escape
    marking = e(doc.marking)
    indent = _number_indent(doc) / 72 * 2.54
    # Printed, every page carries the marking and its number in the page margins (CSS page-margin
    # boxes: Chromium 131+, WeasyPrint); the marking also stands above the title and after the
    # last block, so a browser without margin boxes still prints it on the first and last pages.
    page_css = (
        f"@page {{ size: A4; margin: {MARGIN_TOP_CM}cm {MARGIN_SIDE_CM}cm "
        f"{MARGIN_BOTTOM_CM}cm;\n  @top-center {{ content: {_css_string(doc.marking)}; "
        "font: bold 9pt Arial, sans-serif; }\n"
        f"  @bottom-center {{ content: {_css_string(doc.marking)}; "
        "font: bold 9pt Arial, sans-serif; }\n"
        '  @bottom-right { content: "Page " counter(page) " of " counter(pages); '
        "font: 8.5pt Arial, sans-serif; } }\n"
        # page 1 has the marking above the title already
        "@page :first { @top-center { content: none; } }\n"
        f":root {{ --indent: {indent:.2f}cm; }}"
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{e(doc.title)}</title>",
        f"<style>{_CSS}{page_css}\n</style>",
        "</head>",
        "<body>",
        f'<header><p class="marking">{marking}</p></header>',
        "<main>",
        f"<h1>{e(doc.title)}</h1>",
    ]
    if doc.memo:
        out.append('<div class="memo">')
        out += [f"<p><strong>{e(k)}:</strong> {e(v)}</p>" for k, v in doc.memo]
        out.append("</div>")
    for block in doc.blocks:
        if isinstance(block, Heading):
            tag = f"h{_level(block) + 1}"
            out.append(f"<{tag}>{e(block.label)}</{tag}>")
        elif isinstance(block, Paragraph):
            kinds = " ".join(
                k for k, on in (("numbered", block.number), ("note", block.note)) if on
            )
            cls = f' class="{kinds}"' if kinds else ""
            # the space inside the span: it ends the fixed-width number box, and copies as text
            number = f'<span class="number">{e(block.number)} </span>' if block.number else ""
            out.append(f"<p{cls}>{number}{e(block.text)}</p>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Image):
            src = "data:image/png;base64," + base64.b64encode(block.png).decode("ascii")
            width = min(block.width_cm, TEXT_WIDTH_CM)
            caption = f"<figcaption>{e(block.caption)}</figcaption>" if block.caption else ""
            out.append(
                f'<figure><img src="{src}" alt="{e(block.alt)}" style="width: {width:g}cm">'
                f"{caption}</figure>"
            )
        elif isinstance(block, PageBreak):
            out.append('<hr class="page-break">')
    out += ["</main>", f'<footer><p class="marking">{marking}</p></footer>', "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_table(block: Table) -> str:
    e = html.escape

    def cls(i: int) -> str:
        return ' class="num"' if block.is_numeric(i) else ""

    head = "".join(f'<th scope="col"{cls(i)}>{e(c)}</th>' for i, c in enumerate(block.columns))
    body = "\n".join(
        "<tr>" + "".join(f"<td{cls(i)}>{e(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in block.rows
    )
    caption = f"<caption>{e(block.caption)}</caption>" if block.caption else ""
    return (
        f'<div class="table-wrap"><table>{caption}\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


# --- charts ---------------------------------------------------------------------------------

#: Vega-Lite views that autosize "fit" does not apply to.
_COMPOSITE = ("concat", "hconcat", "vconcat", "facet", "repeat")


def chart_png(
    spec: dict[str, Any], *, width: int = 640, height: int | None = None, scale: float = 2
) -> bytes:
    """A Vega-Lite spec drawn as a PNG ``width`` CSS pixels wide, at ``scale`` pixels per pixel.

    The dashboard's specs are ``"width": "container"``, which only a browser can resolve. Here
    the copy's width becomes ``width`` and autosize "fit-x" with "contains": "padding" makes
    that the whole chart's width, axes and legend included; ``height`` (if given) likewise sets
    the whole height, otherwise the spec's own height (the plot area's) stands. Composite views
    (concat, facet, repeat) cannot be fitted: they keep their own sizes. The PNG says it is
    ``72 * scale`` pixels per inch, so it has the right physical size wherever it is placed.
    Nothing is fetched: a spec with a data URL fails.
    """
    out = copy.deepcopy(spec)
    if any(key in out for key in _COMPOSITE):
        if out.get("width") == "container":
            del out["width"]
        out.pop("autosize", None)
    else:
        out["width"] = width
        if height is not None:
            out["height"] = height
        out["autosize"] = {"type": "fit" if height is not None else "fit-x", "contains": "padding"}
    return vlc.vegalite_to_png(
        out,
        ppi=72 * scale,  # pixels = width * ppi / 72: the scale, and the PNG's stated resolution
        allowed_base_urls=[],
        format_locale="en-GB",
        time_format_locale="en-GB",
    )


# --- files ----------------------------------------------------------------------------------


def write(doc: Document, folder: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    """Write ``folder/stem.<format>`` for each format (in order, repeats ignored).

    Every file is rendered in memory first, so a renderer that fails leaves nothing on disk; each
    is then written to a hidden temporary file in ``folder`` and renamed over its name, so a
    reader never sees a half-written report.
    """
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format {', '.join(map(repr, unknown))}: use {', '.join(FORMATS)}"
        )
    renderers: dict[str, Callable[[Document], bytes]] = {
        "docx": docx_bytes,
        "pdf": pdf_bytes,
        "html": lambda d: html_text(d).encode("utf-8"),
    }
    rendered = [(f, renderers[f](doc)) for f in wanted]
    folder.mkdir(parents=True, exist_ok=True)
    temporary: list[tuple[Path, Path]] = []
    try:
        for fmt, data in rendered:
            target = folder / f"{stem}.{fmt}"
            temp = folder / f".{stem}.{fmt}.{secrets.token_hex(4)}.tmp"
            # O_EXCL: never follow or reuse an existing file; 0o666 less the umask, like open()
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            temporary.append((temp, target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for temp, target in temporary:
            os.replace(temp, target)
    finally:
        for temp, _ in temporary:
            temp.unlink(missing_ok=True)
    return [target for _, target in temporary]
