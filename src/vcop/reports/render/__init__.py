"""Write a :class:`~vcop.reports.document.Document` as Word, PDF or HTML, and charts as PNG.

A report is built once, as a list of blocks of finished text, and each renderer here only lays
that text out: nothing is computed, rounded or reworded, so the Word paper, the PDF and the HTML
page say exactly what :meth:`Document.text` says. Each renderer is one pure function from a
``Document`` to bytes (or a string), one module per format (:mod:`.word`, :mod:`.pdf`,
:mod:`.htmlpage`) over the shared page and column widths (:mod:`.layout`), with charts drawn by
:mod:`.png`; :func:`write` is the only thing that touches the disk.

The three formats share one page design: A4 portrait (landscape from a
:class:`~vcop.reports.document.PageBreak` that asks for it, e.g. for a wide appendix), 2.2 cm
side margins, an Arial-like 11 pt
face (Arial in Word, Helvetica in the PDF, Arial then any sans-serif in HTML), the protective
marking centred at the top and bottom of every page, "Page N of M" in the footer, headings in
bold with their paragraph numbers, numbered paragraphs with a hanging indent, notes in smaller grey
text, tables with a shaded header row that repeats on every page, numeric columns right-aligned,
and charts as pictures with their text alternative (Word's picture description, HTML's ``alt``)
and a caption. Column widths are shared too (:func:`table_widths`), measured with Helvetica's
metrics, which are Arial's: every column is at least as wide as its longest word, so no word or
figure is broken across lines. A compact table (an appendix) is set in smaller type.

The PDF uses reportlab's standard (non-embedded) fonts so that it stays small and its text is
extractable. Those fonts cover Windows-1252 plus the Symbol and ZapfDingbats fonts, which
reportlab switches to by itself, so "–", "’", "£", "†" and "≥" all print as themselves; any
other character is replaced in the PDF only (see :func:`.layout._pdf_safe`).

Charts are Vega-Lite specs (:mod:`vcop.reports.charts`, in the dashboard's colours from
:mod:`vcop.web.charts`) drawn by vl-convert, which
runs Vega in-process, fetches nothing (``allowed_base_urls=[]``) and carries its own Liberation
Sans (metrically Arial), so the charts' "arial, sans-serif" renders without Arial installed.
"""

from __future__ import annotations

import html  # noqa: F401  (the tests read html.escape through this module, as before the split)
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from vcop.reports.document import Document
from vcop.reports.render.htmlpage import html_text
from vcop.reports.render.layout import _text_width, cell_size, table_widths, text_width_pt
from vcop.reports.render.pdf import pdf_bytes
from vcop.reports.render.png import chart_png
from vcop.reports.render.word import docx_bytes

__all__ = [
    "FORMATS",
    "_text_width",
    "cell_size",
    "chart_png",
    "docx_bytes",
    "html_text",
    "pdf_bytes",
    "table_widths",
    "text_width_pt",
    "write",
]

#: The formats :func:`write` knows, each its file extension.
FORMATS = ("docx", "pdf", "html")


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
