"""The Word renderer: a :class:`~vcop.reports.document.Document` as a .docx file."""

from __future__ import annotations

import io
from typing import Any

import docx
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle as DocxParagraphStyle
from docx.text.paragraph import Paragraph as DocxParagraph

from vcop.reports.document import Document, Heading, Image, PageBreak, Paragraph, Table
from vcop.reports.render.layout import (
    BODY_PT,
    BORDER,
    CELL_PT,
    GREY,
    HEAD_FILL,
    HEADING_PT,
    MARGIN_BOTTOM_CM,
    MARGIN_SIDE_CM,
    MARGIN_TOP_CM,
    NOTE_PT,
    PAGE_HEIGHT_CM,
    PAGE_WIDTH_CM,
    SMALL_PT,
    TEXT,
    TEXT_WIDTH_CM,
    _level,
    _number_indent,
    cell_size,
    table_widths,
)

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


def _docx_table(d: DocxDocument, block: Table, landscape: bool = False) -> None:
    if block.caption:
        caption = d.add_paragraph(block.caption, style="Caption")
        caption.paragraph_format.keep_with_next = True
    table = d.add_table(rows=1 + len(block.rows), cols=len(block.columns))
    table.style = d.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    widths = table_widths(block, landscape, pdf=False)
    size, pad = cell_size(block)
    for i, width in enumerate(widths):
        table.columns[i].width = Pt(width)
    margins = OxmlElement("w:tblCellMar")  # the padding the widths were sized with
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(round(pad / 2 * 20)))  # twentieths of a point
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.append(margins)
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
            run.font.size = Pt(size)
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
    landscape = False
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
            _docx_table(d, block, landscape)
        elif isinstance(block, Image):
            _docx_image(d, block)
        elif isinstance(block, PageBreak):
            if block.orientation is None or (block.orientation == "landscape") == landscape:
                d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
                continue
            landscape = block.orientation == "landscape"
            section = d.add_section(WD_SECTION.NEW_PAGE)  # headers and footers carry on
            section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
            long_side, short_side = Cm(PAGE_HEIGHT_CM), Cm(PAGE_WIDTH_CM)
            section.page_width = long_side if landscape else short_side
            section.page_height = short_side if landscape else long_side
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()
