"""The page every format shares, and the widths of table columns: measured with Helvetica's
metrics (Arial's), so that Word, the PDF and HTML lay a table out alike and no column is narrower
than its longest word. Also the PDF's character set (:func:`_pdf_safe`), which the measuring uses.
"""

from __future__ import annotations

import html
import unicodedata
from functools import lru_cache

from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics

from vcop.reports.document import Document, Heading, Paragraph, Table

# --- the page, shared by every format --------------------------------------------------------

PAGE_WIDTH_CM, PAGE_HEIGHT_CM = 21.0, 29.7
MARGIN_SIDE_CM, MARGIN_TOP_CM, MARGIN_BOTTOM_CM = 2.2, 2.5, 2.5
TEXT_WIDTH_CM = PAGE_WIDTH_CM - 2 * MARGIN_SIDE_CM  # 16.6 cm
#: The text width of a landscape page (the same margins).
WIDE_TEXT_WIDTH_CM = PAGE_HEIGHT_CM - 2 * MARGIN_SIDE_CM  # 25.3 cm
BODY_PT, NOTE_PT, CELL_PT, SMALL_PT = 11.0, 9.0, 9.5, 8.5
#: The type of a compact table (an appendix).
COMPACT_PT = 8.0
HEADING_PT = {0: 20.0, 1: 14.0, 2: 12.0, 3: 11.0}  # 0: the title
#: Cell padding (left + right) in points, added to the widest text when sizing a column.
CELL_PAD_PT = 12.0
COMPACT_PAD_PT = 7.0
#: Room beside a column's longest word, so that rounding in a renderer's line breaking never
#: splits a word that exactly fits.
WORD_SLACK_PT = 1.0
#: reportlab's frame keeps this much padding inside each side of the text width.
FRAME_PAD_PT = 6.0

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


def cell_size(table: Table) -> tuple[float, float]:
    """A table's type size and cell padding (left + right), in points."""
    return (COMPACT_PT, COMPACT_PAD_PT) if table.compact else (CELL_PT, CELL_PAD_PT)


def text_width_pt(landscape: bool) -> float:
    """The width of the text on a page, in points."""
    return (WIDE_TEXT_WIDTH_CM if landscape else TEXT_WIDTH_CM) / 2.54 * 72


def table_widths(table: Table, landscape: bool = False, *, pdf: bool = True) -> list[float]:
    """The column widths, in points, of ``table`` on a portrait (or landscape) page: the whole
    text width in Word, less the frame's padding in the PDF."""
    size, pad = cell_size(table)
    total = text_width_pt(landscape) - (2 * FRAME_PAD_PT if pdf else 0)
    return _column_widths(table, total, size, pad)


def _column_widths(
    table: Table, total: float, size: float = CELL_PT, pad: float = CELL_PAD_PT
) -> list[float]:
    """Column widths in points that add up to ``total``.

    Each column wants its widest cell on one line ("natural"; a heading may wrap), and needs at
    least its longest word ("minimum"). If every column's natural width fits, the spare width is shared in
    proportion to them; otherwise every column gets its minimum, then the columns that want
    least more get all they want while the spare lasts, and what is left is shared among the
    others in proportion to how much more each wants: long text wraps, short cells do not.
    """
    natural: list[float] = []
    minimum: list[float] = []
    pad += WORD_SLACK_PT
    for i, column in enumerate(table.columns):
        cells = [row[i] for row in table.rows]
        natural.append(
            min(
                total,
                pad
                + max([_longest_word(column, size, True)] + [_text_width(c, size) for c in cells]),
            )
        )
        minimum.append(
            min(
                total,
                pad
                + max(
                    [_longest_word(column, size, True)] + [_longest_word(c, size) for c in cells]
                ),
            )
        )
    if sum(natural) <= total:
        return [w * total / sum(natural) for w in natural]
    if sum(minimum) >= total:
        return [w * total / sum(minimum) for w in minimum]
    # every column its longest word; then, the columns that want least first, each its whole
    # line while the spare lasts (so short cells such as dates and figures stay on one line),
    # and what is left shared among the rest in proportion to what they want (they wrap)
    widths = list(minimum)
    spare = total - sum(minimum)
    want = [n - m for n, m in zip(natural, minimum, strict=True)]
    waiting = sorted(range(len(widths)), key=lambda i: want[i])
    while waiting and want[waiting[0]] <= spare:
        i = waiting.pop(0)
        widths[i] += want[i]
        spare -= want[i]
    rest = sum(want[i] for i in waiting)
    for i in waiting:
        widths[i] += spare * want[i] / rest if rest else 0.0
    if not waiting and spare > 0:  # cannot happen: the natural widths did not fit
        widths = [w * total / sum(widths) for w in widths]
    return widths


def _number_indent(doc: Document, size: float = BODY_PT) -> float:
    """The hanging indent in points for numbered paragraphs: the widest number plus a gap."""
    widths = [
        _text_width(b.number, size)
        for b in doc.blocks
        if isinstance(b, Paragraph) and b.number and not b.note
    ]
    return float(max([1.2 * cm, *(w + 0.35 * cm for w in widths)]))


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
