"""A dashboard page as a PDF ("Download as PDF"): the page's own figures, laid out by the report
renderers on the server (no browser at run time).

Each page's ``.pdf`` twin is computed exactly as the page is (the same query string, so the same
period, split, filters and page of rows) and turned into a
:class:`~vcop.reports.document.Document`: the title, the data's stamp (when the data were loaded,
the ledger's as-of date) and the address of the view, each note, and each table with its caption
and chart (drawn by vl-convert, as in the reports). Cells are written as the page writes them
(:func:`vcop.web.filters.cell`, and the words of the status, SPC and assurance tags);
:func:`vcop.reports.render.pdf_bytes` lays them out on A4 (landscape when a table is wide).
Sparklines are left out: each has its figures in the metric's own page.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from fastapi.responses import Response

from vcop.reports.document import Document, Heading, Image, Paragraph
from vcop.reports.document import Table as DocTable
from vcop.web.filters import STATUS_TAGS, cell
from vcop.web.pages import Column, Ctx, Page, Table

#: Column kinds drawn right-aligned (as on the page).
NUMERIC = ("number", "percent", "coordinate")
#: More columns than this: the PDF is laid out landscape.
PORTRAIT_COLUMNS = 6


def text_of(value: Any, column: Column) -> str:
    """A cell as the page shows it, in words."""
    from vcop.web.charts import SPC_LABELS
    from vcop.web.routes.figures import ASSURANCE_LABELS

    labels: dict[str, tuple[str, str]] | None = {
        "status": STATUS_TAGS, "spc": SPC_LABELS, "assurance": ASSURANCE_LABELS,
    }.get(column.kind)  # fmt: skip
    if labels is not None and value not in (None, ""):
        return labels.get(str(value), (str(value).replace("_", " "), ""))[0]
    return cell(value, column.kind)


def _plain(text: str) -> str:
    """Prose as the page shows it: a `command` in backticks without the backticks."""
    return re.sub(r"`([^`]*)`", r"\1", text)


def _shown(table: Table) -> list[Column]:
    return [c for c in table.columns if c.html and c.kind != "sparkline"]


def _chart(spec: dict[str, Any], description: str) -> Image | None:
    from vcop.reports.render import chart_png

    plain = json.loads(json.dumps(spec, default=str))  # dates as ISO text, as the page sends them
    try:
        png = chart_png(plain, width=640)
    except Exception:  # a chart that cannot be drawn: its figures are in the table below it
        return None
    return Image(png, alt=f"{description}. The figures are in the table.", caption=description)


def document(ctx: Ctx, result: Page, *, marking: str) -> Document:
    """The page ``result`` as a report document."""
    from vcop.web.pages import data_stamp

    query = ctx.request.url.query
    path = ctx.request.url.path.removesuffix(".pdf")
    path = "/" if path == "/index" else path
    memo = [("View", path + (f"?{query}" if query else ""))]
    stamp = data_stamp(ctx.request)
    if stamp.get("loaded_at"):
        memo.append(("Data loaded at", cell(stamp["loaded_at"], "datetime")))
    if stamp.get("ledger_as_of"):
        memo.append(("Ledger as of", cell(stamp["ledger_as_of"], "date")))
    if stamp.get("published_data_only"):
        memo.append(("Data", "published data only (no victims)"))
    as_of = result.context.get("as_of") or result.meta.get("as_of")
    if isinstance(as_of, date):
        memo.append(("Figures as of", cell(as_of, "date")))
    memo.append(("Downloaded", f"{ctx.now:%-d %b %Y %H:%M} by {ctx.user.username}"))
    wide = any(len(_shown(t)) > PORTRAIT_COLUMNS for t in result.tables)
    doc = Document(
        title=result.title,
        marking=marking,
        memo=memo,
        orientation="landscape" if wide else "portrait",
    )
    for note in result.notes:
        doc.add(Paragraph(_plain(note)))
    for t in result.tables:
        doc.add(Heading(t.title))
        if t.caption:
            doc.add(Paragraph(_plain(t.caption), note=True))
        if t.chart is not None and t.rows:
            image = _chart(t.chart, str(t.chart.get("description") or t.title))
            if image is not None:
                doc.add(image)
        if not t.rows:
            doc.add(Paragraph(_plain(t.empty)))
            continue
        columns = _shown(t)
        doc.add(
            DocTable(
                columns=tuple(c.label for c in columns),
                rows=tuple(tuple(text_of(r.get(c.key), c) for c in columns) for r in t.rows),
                numeric=tuple(c.kind in NUMERIC for c in columns),
                compact=len(columns) > PORTRAIT_COLUMNS,
            )
        )
        if t.more:
            doc.add(
                Paragraph(
                    f"{t.more:,} more row(s) are not shown here; the CSV has them all.", note=True
                )
            )
    return doc


def pdf_response(ctx: Ctx, result: Page, *, marking: str) -> Response:
    """The page as a PDF download, named after its address."""
    from vcop.reports.render import pdf_bytes

    data = pdf_bytes(document(ctx, result, marking=marking))
    slug = ctx.request.url.path.strip("/").replace("/", "-").removesuffix(".pdf") or "overview"
    return Response(
        data,
        status_code=result.status_code,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{slug}.pdf"'},
    )
