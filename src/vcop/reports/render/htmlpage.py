"""The HTML renderer: a :class:`~vcop.reports.document.Document` as one self-contained page."""

from __future__ import annotations

import base64
import html

from vcop.reports.document import Document, Heading, Image, PageBreak, Paragraph, Table
from vcop.reports.render.layout import (
    MARGIN_BOTTOM_CM,
    MARGIN_SIDE_CM,
    MARGIN_TOP_CM,
    TEXT_WIDTH_CM,
    _level,
    _number_indent,
)

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
table.compact { font-size: 8pt; }
table.compact th, table.compact td { padding: 1.5pt 3.5pt; }
.landscape { page: landscape; }
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
        "@page landscape { size: A4 landscape; }\n"
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
    wide = False  # inside a landscape part, printed on landscape pages
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
            if block.orientation is not None and (block.orientation == "landscape") != wide:
                out.append("</div>" if wide else '<div class="landscape">')
                wide = not wide
    if wide:
        out.append("</div>")
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
    compact = ' class="compact"' if block.compact else ""
    return (
        f'<div class="table-wrap"><table{compact}>{caption}\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )
