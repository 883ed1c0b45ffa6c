"""The board paper's annex of inspection recommendations, from the inspection tracker.

Present only when the tracker holds something on the paper's date: each recommendation or area
for improvement with its owner, status (and since when), the date its report asks it done by, and
the date the PCC's comments on the report are due. With a date of the last board (``--since``),
what changed since then is marked. The rows come from :func:`vcop.qa.tracker.view`; nothing is
computed here.
"""

from __future__ import annotations

from vcop.qa.tracker import KIND_LABELS, STATUS_LABELS, TrackerView
from vcop.reports.document import Document, Heading, Paragraph, Table

#: The mark of a row that changed since the last board.
CHANGED = "changed"


def _day(d: object) -> str:
    return f"{d:%-d %b %Y}" if d is not None else "–"


def background_sentence() -> str:
    """The Background's pointer to the annex (its letter depends on the appendices before it)."""
    return (
        "The last appendix lists the recommendations of inspection reports that the Board "
        "tracks, with their owners, status and the date the Commissioner's comments were due."
    )


def tracker_annex(doc: Document, view: TrackerView, letter: str) -> None:
    """Append the annex (``Appendix {letter}``) to ``doc``; nothing when the tracker is empty."""
    if view.empty:
        return
    overdue = view.overdue()
    late = [s for s in view.responses if s.overdue]
    intro = (
        f"The recommendations and areas for improvement of the inspection reports in the "
        f"tracker, as they stood on {view.on:%-d %B %Y}: who owns each, its status and since "
        "when, the date its report asks it done by, and the date the Commissioner's comments on "
        "the report were due — before the end of the 56 days beginning with the day the report "
        "was published (Police Act 1996 s.55(5A)). "
        f"{len(overdue)} of {len(view.rows)} {'is' if len(overdue) == 1 else 'are'} overdue "
        "(past the date asked and still open or in progress)."
    )
    if late:
        named = ", ".join(f"“{s.report.title}”" for s in late)
        intro += f" The Commissioner's comments on {named} are overdue."
    if view.since is not None:
        intro += f" Rows marked “{CHANGED}” changed on or after {view.since:%-d %B %Y}."
    doc.add(
        Heading(f"Appendix {letter}: inspection recommendations", 1), Paragraph(intro, note=True)
    )
    for state in view.responses:
        rows = [r for r in view.rows if r.report.report_id == state.report.report_id]
        if not rows:
            continue
        report = state.report
        columns: tuple[str, ...] = ("Ref", "Recommendation", "Owner", "Due by", "Status", "Since")
        if view.since is not None:
            columns += (f"Since {view.since:%-d %b %Y}",)
        cells: list[tuple[str, ...]] = []
        for r in rows:
            status = STATUS_LABELS[r.status] + (" (overdue)" if r.overdue(view.on) else "")
            kind = "" if r.item.kind.value == "recommendation" else f" [{KIND_LABELS[r.item.kind]}]"
            row: tuple[str, ...] = (r.item.reference, r.item.text + kind, r.item.owner, _day(r.item.due_by),
                   status, _day(r.status_on))  # fmt: skip
            if view.since is not None:
                row += (CHANGED if view.changed(r) else "",)
            cells.append(row)
        responded = (
            f"; comments published {_day(report.responded_on)}"
            if report.responded_on is not None and report.responded_on <= view.on
            else ""
        )
        doc.add(
            Table(
                columns,
                tuple(cells),
                caption=(
                    f"{report.title} ({report.inspectorate}, published "
                    f"{_day(report.published_on)}): response due {_day(report.response_due)}"
                    f"{responded}"
                ),
                compact=True,
            )
        )
        if report.origin:
            doc.add(Paragraph(f"Source: {report.origin}.", note=True))
