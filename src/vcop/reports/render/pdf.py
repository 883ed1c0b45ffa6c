"""The PDF renderer: a :class:`~vcop.reports.document.Document` laid out with reportlab."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import reportlab.platypus as rl
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.platypus.frames import Frame

from vcop.reports.document import Document, Heading, Image, PageBreak, Paragraph, Table
from vcop.reports.render.layout import (
    BODY_PT,
    BORDER,
    CELL_PT,
    COMPACT_PT,
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
    STRIPE_FILL,
    TEXT,
    _level,
    _number_indent,
    _pdf_safe,
    _rl,
    cell_size,
    table_widths,
)


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
    compact = like("compact_cell", fontSize=COMPACT_PT, leading=COMPACT_PT * 1.2, spaceAfter=0)
    compact_head = like("compact_head", parent=compact, fontName="Helvetica-Bold")
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
        "table_caption": like(
            "table_caption",
            fontName="Helvetica-Bold",
            fontSize=CELL_PT,
            leading=CELL_PT * 1.3,
            spaceBefore=6,
            spaceAfter=4,
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
        "compact_cell": compact,
        "compact_cell_num": like("compact_cell_num", parent=compact, alignment=TA_RIGHT),
        "compact_head": compact_head,
        "compact_head_num": like("compact_head_num", parent=compact_head, alignment=TA_RIGHT),
    }


def _pdf_table(block: Table, styles: dict[str, ParagraphStyle], landscape: bool) -> list[Any]:
    prefix = "compact_" if block.compact else ""
    _, pad = cell_size(block)

    def row(values: Sequence[str], kind: str) -> list[Any]:
        return [
            rl.Paragraph(
                _rl(v), styles[f"{prefix}{kind}_num" if block.is_numeric(i) else prefix + kind]
            )
            for i, v in enumerate(values)
        ]

    data = [row(block.columns, "head"), *(row(r, "cell") for r in block.rows)]
    table = rl.Table(
        data,
        colWidths=table_widths(block, landscape),
        repeatRows=1,
        hAlign="LEFT",
        spaceAfter=10,
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
                ("LEFTPADDING", (0, 0), (-1, -1), pad / 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), pad / 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5 if block.compact else 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5 if block.compact else 4),
            ]
        )
    )
    # A long table starts on this page if its caption, heading row and two rows fit (keeping
    # the caption with the whole table would push a page-long table to the next page, leaving
    # a page with only what came before it); a caption is never left alone at a page's foot.
    widths = table_widths(block, landscape)
    vertical = (1.5 + 2.5) if block.compact else (3 + 4)
    needed = sum(
        vertical + max(cell.wrap(w - pad, 0)[1] for cell, w in zip(row, widths, strict=True))
        for row in data[:3]
    )
    caption = [rl.Paragraph(_rl(block.caption), styles["table_caption"])] if block.caption else []
    if caption:
        needed += caption[0].wrap(sum(widths), 0)[1] + 10
    return [rl.CondPageBreak(needed + 8), *caption, table]


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
    """The flowables of ``doc``; ``width`` and ``height``: a portrait page's frame (a landscape
    one swaps the page's sides)."""
    styles = _pdf_styles(_number_indent(doc))
    landscape = doc.orientation == "landscape"
    wide = width + (PAGE_HEIGHT_CM - PAGE_WIDTH_CM) * cm
    tall = height - (PAGE_HEIGHT_CM - PAGE_WIDTH_CM) * cm
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
            story += _pdf_table(block, styles, landscape)
        elif isinstance(block, Image):
            story.append(
                _pdf_image(block, styles, *((wide, tall) if landscape else (width, height)))
            )
        elif isinstance(block, PageBreak):
            if block.orientation is not None:
                landscape = block.orientation == "landscape"
                story.append(rl.NextPageTemplate(block.orientation))
            story.append(rl.PageBreak())
    return story


def _pdf_build(doc: Document, total_pages: int | None) -> tuple[bytes, int]:
    """One layout pass; the page count it returns is what the next pass prints as "of M"."""
    out = io.BytesIO()
    template = rl.BaseDocTemplate(
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
        page_w, page_h = canvas._pagesize
        canvas.saveState()
        canvas.setFillColor(colors.HexColor(f"#{TEXT}"))
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawCentredString(page_w / 2, page_h - 1.4 * cm, marking)
        canvas.drawCentredString(page_w / 2, 1.2 * cm, marking)
        canvas.setFont("Helvetica", SMALL_PT)
        number = f"Page {pages} of {total_pages}" if total_pages else f"Page {pages}"
        canvas.drawRightString(page_w - MARGIN_SIDE_CM * cm, 1.2 * cm, number)
        canvas.restoreState()

    side, top, bottom = MARGIN_SIDE_CM * cm, MARGIN_TOP_CM * cm, MARGIN_BOTTOM_CM * cm
    templates = []
    for name, size in (("portrait", A4), ("landscape", landscape(A4))):
        frame = Frame(side, bottom, size[0] - 2 * side, size[1] - top - bottom, id=name)
        templates.append(rl.PageTemplate(id=name, frames=[frame], onPage=decorate, pagesize=size))
    if doc.orientation == "landscape":  # the first template is the first page's
        templates.reverse()
    template.addPageTemplates(templates)
    story = _pdf_story(doc, template.width, template.height)
    template.build(story)
    return out.getvalue(), pages


def pdf_bytes(doc: Document) -> bytes:
    """The document as a PDF: laid out twice, the first time only to count the pages."""
    _, pages = _pdf_build(doc, None)
    data, again = _pdf_build(doc, pages)
    if again != pages:  # cannot happen: the page furniture sits outside the frame
        raise RuntimeError(f"PDF layout changed between passes ({pages} then {again} pages)")
    return data
