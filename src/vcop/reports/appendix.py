"""The back of a report: its caveats about comparability, and the appendices that list every figure
it quotes (compactly, in landscape; ``figures.csv`` keeps each citation in full) and define every
measure."""

from __future__ import annotations

from datetime import date, timedelta

from vcop.reports.document import Document, Heading, PageBreak, Paragraph, Table
from vcop.reports.figures import PROVISIONAL, Citation, FigureBook, number
from vcop.reports.parts import marked_table

#: What :func:`target_text` says of a measure with no adopted target.
NO_TARGET = "none adopted"


def target_text(book: FigureBook, metric_id: str) -> str:
    """A metric's target as a report may state it: only one the force has adopted and that is in
    force on the as-of date (targets.yaml, as the engine reads it), with its source. An
    aggregate target is what the engine judged the figure against (the value's ``target``); a
    per-case standard is shown but not judged against an aggregate figure. A target the force
    has not adopted is never shown."""
    unit = book.catalogue.metric(metric_id).unit
    judged = [v for v in book.cached(metric_id) if v.target is not None]
    if judged:
        v = judged[0]
        assert v.target is not None
        return f"{number(v.target, unit)} ({v.target_source})"
    t = book.target(metric_id).target
    if t is None or not t.adopted or not t.in_force(book.as_of):
        return NO_TARGET
    if t.basis == "aggregate":
        return f"{number(t.value, unit)} ({t.source})"
    return (
        f"{number(t.value, unit)} for each case ({t.source}): a standard for each case, so "
        "this figure is not judged against it"
    )


def _definition(book: FigureBook, metric_id: str) -> str:
    """A measure's title and definition, and its adopted target if it has one."""
    metric = book.catalogue.metric(metric_id)
    target = target_text(book, metric_id)
    return (
        f"{metric.title}: " + " ".join(metric.description.split())
        + (f" Target: {target}." if target != NO_TARGET else "")
    )  # fmt: skip


def comparability_notes(book: FigureBook, *, charts: bool = False) -> list[str]:
    """The caveats the engine's marks call for, in its terms: which figures cited are
    provisional (and after how many days each measure is complete), and which the engine does
    not compare with an earlier period, and why (its ``comparable_reason``)."""
    out: list[str] = []
    provisional = list(dict.fromkeys(c.metric_id for c in book.citations if c.provisional))
    if provisional:
        days = sorted({int(book.catalogue.metric(m).maturity_days or 0) for m in provisional})
        span = f"{days[0]} days" if len(days) == 1 else f"{days[0]} to {days[-1]} days"
        out.append(
            f"Figures marked {PROVISIONAL} are for periods that end, or include months that "
            "end, too recently to be complete: obligations that fell due then may still be met "
            "late and records may still arrive, so the figure may change. Where such a figure is "
            "compared, it is with the earlier period as it stood at the same age (counted from "
            "the records as they were a period, or a year, before), so like is compared with "
            "like; "
            "provisional months are not read with statistical process control. A month of "
            f"these measures is complete {span} after it ends (its longest deadline and time "
            "for late records)."
        )
    reasons: dict[str, list[str]] = {}
    for c in book.citations:
        if c.comparable or not c.comparable_reason or c.source != "value":
            continue
        for reason in c.comparable_reason.split("; "):
            titles = reasons.setdefault(reason, [])
            title = book.catalogue.metric(c.metric_id).title
            if title not in titles:
                titles.append(title)
    for reason, titles in reasons.items():
        why = f"the figure is {reason}" if reason.startswith("provisional") else reason
        out.append(f"{', '.join(titles)}: not compared with an earlier period, because {why}.")
    if charts:
        out.append(
            "In the charts, provisional months (P) and months in the data's warm-up (W) are "
            "drawn hollow: statistical process control does not judge them. A series that does "
            "not vary has no variation to judge, and no process limits."
        )
    return out


def _month_end(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def period_cell(c: Citation) -> str:
    """A citation's window, short: "Jul 2024–Jun 2025", "Jun 2025" (whole months), else the
    dates; marked when provisional."""
    if c.start.day == 1 and c.end == _month_end(c.end):
        if (c.start.year, c.start.month) == (c.end.year, c.end.month):
            text = f"{c.start:%b %Y}"
        else:
            text = f"{c.start:%b %Y}–{c.end:%b %Y}"
    else:
        text = f"{c.start:%d/%m/%Y}–{c.end:%d/%m/%Y}"
    return text + (f" {PROVISIONAL}" if c.provisional else "")


def _place(where: str) -> str:
    return where.removesuffix(" (n)").removesuffix(" (numerator)")


FIGURE_COLUMNS = ("Where", "Measure", "Group", "Numerator / denominator", "Figure",
                  "Earlier numerator / denominator", "Earlier figure")  # fmt: skip


#: What a figure that is not the value itself is, after its measure in Appendix A.
SOURCE_WORDS = {"per_1000": " per 1,000 residents", "benchmark": " long-term benchmark"}


def _window(c: Citation) -> str:
    return period_cell(c).removesuffix(f" {PROVISIONAL}")


def in_a_table(where: str) -> bool:
    """Whether a place a figure is quoted is a table (of the body or an appendix), where the
    figure stands with its counts, rather than a paragraph of the text."""
    return where.startswith(("Table ", "Appendix "))


def figure_tables(book: FigureBook, letter: str = "A") -> list[Table]:
    """Every figure quoted in the text, once: one row per value (a metric's figure for one group
    and period), with every place it is quoted, its numerator and denominator and, beside them,
    the earlier window it is compared with; a figure quoted in the text and again in a table, with
    its n and count, is one row. A figure quoted only in tables is left out: it stands there with
    its counts, and ``figures.csv`` cites every quotation. One table per pair of windows ("Jul
    2024–Jun 2025, compared with Jul 2023–Jun 2024"), in order of first quotation, so the rows
    need no dates."""
    firsts: dict[tuple[object, ...], Citation] = {}
    places: dict[tuple[object, ...], list[str]] = {}
    for c in book.citations:
        key: tuple[object, ...] = (c.metric_id, c.breakdown, c.group, c.period, c.source,
                                   c.start, c.end)  # fmt: skip
        where = places.setdefault(key, [])
        if _place(c.where) not in where:
            where.append(_place(c.where))
        first = firsts.setdefault(key, c)
        if first.where != _place(first.where) and c.where == _place(c.where):
            firsts[key] = c  # the figure itself, rather than its n or count
    # the windows of one value: the latest is the value's own, the others its comparisons
    values: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for k in firsts:
        values.setdefault(k[:5] if k[4] == "value" else k, []).append(k)

    def cells(c: Citation, mark: bool) -> tuple[str, str]:
        text = c.text
        if c.where != _place(c.where) and c.value is not None:  # only its n was quoted
            text = number(c.value, book.catalogue.metric(c.metric_id).unit)
        counts = [f"{x:,}" for x in (c.numerator, c.denominator) if x is not None]
        return " / ".join(counts), text + (f" {PROVISIONAL}" if mark and c.provisional else "")

    tables: dict[str, list[tuple[str, ...]]] = {}
    compared: dict[str, list[str]] = {}
    for keys in values.values():
        if all(in_a_table(w) for k in keys for w in places[k]):
            continue  # shown with its counts in its table; figures.csv cites it
        now, *earlier = sorted(keys, key=lambda k: firsts[k].end, reverse=True)
        c = firsts[now]
        wheres = ", ".join(dict.fromkeys(w for k in keys for w in places[k]))
        rows = tables.setdefault(_window(c), [])
        befores: list[Citation | None] = [firsts[k] for k in earlier] or [None]
        for before in befores:
            if before is not None and _window(before) not in compared.setdefault(_window(c), []):
                compared[_window(c)].append(_window(before))
            rows.append(
                (
                    wheres,
                    c.metric_id + SOURCE_WORDS.get(c.source, ""),
                    "" if c.group == "all" else c.group.replace("/", " / "),
                    *cells(c, True),
                    *(cells(before, False) if before is not None else ("–", "–")),
                )
            )
            wheres = ""  # a second earlier window of the same value: a second row
    out = []
    for i, (window, rows) in enumerate(tables.items(), start=1):
        then = compared.get(window, [])
        caption = f"Appendix {letter}.{i}: {window}"
        if then:
            caption += ", compared with " + " or ".join(then)
        out.append(
            marked_table(
                FIGURE_COLUMNS,
                tuple(rows),
                caption=caption,
                numeric=(False, False, False, True, True, True, True),
                compact=True,
            )
        )
    return out


def appendices(book: FigureBook, doc: Document, noun: str = "paper", first: str = "A") -> None:
    """Appendix A (every figure quoted, once, with its metric, group, period, numerator and
    denominator) and Appendix B (the definition of every metric quoted), in landscape."""
    figures, definitions = first, chr(ord(first) + 1)
    doc.add(
        PageBreak("landscape"),
        Heading(f"Appendix {figures}: the figures quoted in the text", 1),
    )
    doc.add(
        Paragraph(
            f"Each figure quoted in the text above, once, in order, with where it is quoted, the "
            f"measure it comes from (Appendix {definitions} defines each), the group it is for, "
            "its numerator and denominator (for a median, the number of cases; for a count, the "
            "count), and beside it the earlier figure it is compared with; one table for each "
            "period quoted. A figure that appears only in a table stands there with its counts. "
            f"The file figures.csv issued with this {noun} cites every figure in full, with the "
            "engine's marks.",
            note=True,
        )
    )
    doc.add(*figure_tables(book, figures))
    used = list(dict.fromkeys(c.metric_id for c in book.citations))
    doc.add(Heading(f"Appendix {definitions}: definitions", 1))
    doc.add(
        Table(
            ("Measure", "Definition"),
            # the title, the definition and any adopted target in one column, so the definition
            # is not squeezed beside a title or a target's source that takes a line of its own
            tuple((m, _definition(book, m)) for m in used),
            caption=f"Appendix {definitions}: the measures quoted, as the force's metric "
            "catalogue defines them, with the target the force has adopted where it has one",
            compact=True,
        )
    )
