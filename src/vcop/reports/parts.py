"""The pieces every report is built from: paragraph numbering, the standard measure table and its
Change column, and the Victims' Code's names for rights and obligations (their titles, in the
Code's order: never a raw id in the body of a report)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from vcop.metrics.values import MetricValue
from vcop.reports.document import Document, Heading, Image, Paragraph, Table
from vcop.reports.figures import PROVISIONAL, FigureBook, Which
from vcop.reports.narrative import change_of, size_words
from vcop.spec.code import load_code

Charter = Callable[[FigureBook, str, tuple[str, ...]], Image | None]

#: The table's word for a figure the engine does not compare (``comparable`` false: the data's
#: warm-up, or a provisional figure whose earlier period cannot be seen at the same age).
NOT_COMPARED = "not compared"


class Numbering:
    """Paragraph numbers in the seed paper's style: 1.0 headings, 1.1 paragraphs, 4.1.2 …"""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.s = self.sub = self.p = 0

    def section(self, title: str) -> None:
        self.s, self.sub, self.p = self.s + 1, 0, 0
        self.doc.add(Heading(title, 1, f"{self.s}.0"))

    def subsection(self, title: str) -> None:
        self.sub, self.p = self.sub + 1, 0
        self.doc.add(Heading(title, 2, f"{self.s}.{self.sub}"))

    def next(self) -> str:
        self.p += 1
        return f"{self.s}.{self.sub}.{self.p}" if self.sub else f"{self.s}.{self.p}"

    def para(self, *sentences: str, number: str | None = None) -> None:
        text = " ".join(s for s in sentences if s)
        if text:
            self.doc.add(Paragraph(text, number or self.next()))


def sig_word(v: MetricValue, which: Which = "year_ago", book: FigureBook | None = None) -> str:
    """The table's word for a change: its direction only when significant; "not compared" when
    the engine says the figure may not be compared (the caveats say why). A provisional figure
    is compared as the engine compared it, with the earlier period as it stood at the same age.

    With the ``book`` of a report that judges its comparisons together, a significant change is
    its size and interval ("down 4.2 points (95% CI 1.1 to 7.3)"), and a small one says so."""
    change = change_of(v, which, book.comparisons if book is not None else None)
    if change is None:
        return NOT_COMPARED if not v.comparable else "–"
    claim = change.claim
    if claim in ("higher", "lower"):
        size = size_words(change, v.unit)
        if not size:
            return f"significantly {claim}"
        return f"small change: {size}" if change.small else size
    return {"unchanged": "unchanged", "untested": "too few to test"}.get(claim, "normal variation")


def marked_table(
    columns: tuple[str, ...],
    rows: tuple[tuple[str, ...], ...],
    *,
    caption: str = "",
    numeric: tuple[bool, ...] = (),
    compact: bool = False,
) -> Table:
    """A table whose columns of figures that are all provisional say so once, in the heading
    ("Value (provisional)"), instead of after every figure; a column that mixes provisional
    and complete figures keeps the mark on each provisional one."""
    mark = f" {PROVISIONAL}"
    cols, body = list(columns), [list(r) for r in rows]
    for i in range(1, len(cols)):
        figures = [r[i] for r in body if r[i] not in ("", "–")]
        if figures and all(f.endswith(mark) for f in figures):
            cols[i] += mark
            for r in body:
                r[i] = r[i].removesuffix(mark)
    return Table(
        tuple(cols), tuple(tuple(r) for r in body), caption=caption, numeric=numeric,
        compact=compact,
    )  # fmt: skip


def measure_rows(
    book: FigureBook,
    measures: Sequence[tuple[str, str]],
    where: str,
    *,
    period: str = "rolling_12m",
    by: str | None = None,
    group: tuple[str, ...] = (),
    which: Which = "year_ago",
) -> tuple[tuple[str, ...], ...]:
    """Measure | value | n | earlier value | n | change: one row per measure with data (a
    hidden figure, current or earlier, is cited as the mark of a hidden figure; a figure on few
    cases is marked on either side)."""
    rows = []
    for metric_id, title in measures:
        v = book.value(metric_id, period, by, group)
        if v is None or not (book.shown(v) or book.hidden(v)):
            continue
        earlier = book.shown(v, which) or book.hidden(v, which)
        rows.append(
            (
                title,
                book.cite(v, where, small=True),
                book.cite_n(v, where),
                book.cite(v, where, which, small=True) if earlier else "–",
                book.cite_n(v, where, which) if earlier else "–",
                sig_word(v, which, book) if book.shown(v) else "–",
            )
        )
    return tuple(rows)


def measure_table(
    book: FigureBook,
    measures: Sequence[tuple[str, str]],
    table_no: str,
    caption: str,
    *,
    first: str = "Measure",
    **rows: Any,
) -> Table:
    """The standard measure table: Measure | Value | n | Year before | n | Change."""
    return marked_table(
        (first, "Value", "n", "Year before", "n", "Change"),
        measure_rows(book, measures, table_no, **rows),
        caption=f"{table_no}: {caption}",
        numeric=(False, True, True, True, True, False),
    )


def add_chart(doc: Document, chart: Charter | None, book: FigureBook, metric_id: str) -> None:
    """The metric's XmR chart, if charts are wanted and it has months to draw."""
    image = chart(book, metric_id, ()) if chart is not None else None
    if image is not None:
        doc.add(image)


# -- the Code's names ---------------------------------------------------------------------------


def right_titles() -> dict[str, str]:
    return {str(r.right): r.title for e in load_code().editions for r in e.header.rights}


def obligation_titles() -> dict[str, str]:
    return {o.id: o.title for o in load_code().obligations}


@lru_cache(maxsize=1)
def before_finalisation() -> frozenset[str]:
    """The obligations the Code sets no deadline for, which the ledger counts due when the crime
    is finalised (``deadline.by_finalisation``)."""
    return frozenset(o.id for o in load_code().obligations if o.deadline.by_finalisation)


def right_of(obligation_id: str) -> str:
    """The right an obligation belongs to ("6"), or "" for a local standard."""
    m = re.match(r"R(\d+)\.", obligation_id)
    return m.group(1) if m else ""


def right_key(group: str) -> tuple[bool, int]:
    """Rights in the Code's order (1, 2, … 12), the local standards last."""
    return (not group.isdigit(), int(group) if group.isdigit() else 0)


def obligation_key(obligation_id: str) -> tuple[bool, int, str]:
    """Obligations in the Code's order of rights (Right 3 before Right 11), then by id; the
    local standards last."""
    right = right_of(obligation_id)
    return (*right_key(right or "local"), obligation_id)


def right_label(group: str, titles: dict[str, str]) -> str:
    if not group.isdigit():
        return "Local standards"
    return f"Right {group}: {titles.get(group, '')}".rstrip(": ")


def obligation_label(obligation_id: str, titles: dict[str, str]) -> str:
    """An obligation as a reader knows it: its title ("Right 6: Agree a victim care contract …"),
    never its id (the appendix and figures.csv give that)."""
    title = titles.get(obligation_id, obligation_id)
    right = right_of(obligation_id)
    return f"Right {right}: {title}" if right else f"Local standard: {title}"
