"""The joint compliance review: how each criminal justice body met the Victims' Code in a quarter.

The Victims and Prisoners Act 2024 makes the Police and Crime Commissioner keep Victims' Code
compliance under review jointly with the bodies that owe victims its obligations: the police, the
CPS, witness care, the courts, probation and prisons, the Parole Board and the services the
Commissioner funds. This review is for the Local Criminal Justice Board that does it. For each
body it shows every obligation the body owes that vcop can evaluate — the share met by its due
date, the number that fell due and the 95% interval — against the quarter before, its weakest
obligations, and what cannot be measured yet and why; then compliance by right, and the five
areas of the Ministry of Justice's quarterly return.

Every figure is the release's (:mod:`vcop.metrics.release`) at the quarter's end — the release the
quarterly return is cut from — so each figure, and each hidden one
(:data:`~vcop.metrics.release.SUPPRESSED`), is as in every other output partners see for that
month end. The review computes, publishes and hides nothing of its own, and holds no record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from vcop.metrics.release import SUPPRESSED, suppressed_note
from vcop.metrics.values import MetricValue
from vcop.reports.board import (
    Numbering,
    appendices,
    comparability_notes,
    right_key,
    right_label,
    right_titles,
    sig_word,
)
from vcop.reports.document import Document, Paragraph, Table
from vcop.reports.figures import PROVISIONAL, FigureBook, period_words
from vcop.spec.agencies import AGENCY_NAMES, agency_name
from vcop.spec.code import Obligation, load_code
from vcop.spec.returns import ReturnDefinition

#: How many of a body's obligations "weakest" names.
WEAKEST = 3
PERIOD = "quarter"
OBLIGATION_METRIC = "compliance_by_obligation"
RIGHT_METRIC = "compliance_by_right"


@dataclass(frozen=True)
class Body:
    """One body's obligations: those with a figure this quarter, and those vcop cannot evaluate."""

    owner: str
    figures: tuple[tuple[Obligation, MetricValue], ...]
    not_evaluated: tuple[Obligation, ...]
    #: Evaluated, but nothing fell due in the quarter.
    nothing_due: tuple[Obligation, ...]

    @property
    def name(self) -> str:
        return agency_name(self.owner)


def bodies(book: FigureBook) -> list[Body]:
    """Every body that owes a Code obligation (local standards are the police's), with its
    obligations' figures for the quarter."""
    values = {v.group[0]: v for v in book.values([OBLIGATION_METRIC], PERIOD)}
    owners: dict[str, list[Obligation]] = {}
    for o in load_code().obligations:
        owners.setdefault(o.owner, []).append(o)
    order = [*AGENCY_NAMES, *sorted(set(owners) - set(AGENCY_NAMES))]
    out = []
    for owner in order:
        mine = owners.get(owner)
        if not mine:
            continue
        out.append(
            Body(
                owner,
                tuple((o, values[o.id]) for o in mine if o.id in values),
                tuple(o for o in mine if o.evaluate is None),
                tuple(o for o in mine if o.evaluate is not None and o.id not in values),
            )
        )
    return out


def _interval(book: FigureBook, v: MetricValue) -> str:
    """'61.2%–66.0%': the figure's 95% interval ('–' when hidden or there is none)."""
    e = v.current
    if not book.shown(v) or e.ci_low is None or e.ci_high is None:
        return "–"
    return f"{100 * e.ci_low:.1f}%–{100 * e.ci_high:.1f}%"


def _before(book: FigureBook, v: MetricValue, where: str) -> str:
    """The quarter before, as the release gives it: [c] when hidden, – when there is none."""
    if book.shown(v, "previous") or book.hidden(v, "previous"):
        return book.cite(v, where, "previous")
    return "–"


def _weakest(book: FigureBook, body: Body) -> list[tuple[Obligation, MetricValue]]:
    """The body's obligations met least often this quarter, among those shown (a provisional
    one is cited with its mark: it may still rise as late completions arrive)."""
    shown = [(o, v) for o, v in body.figures if book.shown(v) and v.current.value is not None]
    shown.sort(key=lambda ov: (ov[1].current.value or 0.0, ov[0].id))
    return shown[:WEAKEST]


def joint_review(
    book: FigureBook,
    quarter: str,
    *,
    force: str = "the force",
    board: str = "Local Criminal Justice Board",
    paper_date: date | None = None,
    moj_return: ReturnDefinition | None = None,
) -> Document:
    """The joint review of ``quarter`` (e.g. 2025Q1) from ``book``'s release, the release at the
    quarter's end (see the module docstring); ``moj_return``: the return whose five areas it
    shows."""
    release = book.release
    if release is None:
        raise ValueError("the joint review is cut from a release: make the book with one")
    rights = book.values([RIGHT_METRIC], PERIOD)
    period = period_words(rights[0].current, PERIOD) if rights else f"the quarter {quarter}"
    doc = Document(
        title=f"Victims' Code joint compliance review: {quarter}",
        memo=[
            ("To", board),
            ("From", f"{force}, for the Police and Crime Commissioner"),
            ("Date", f"{paper_date or book.as_of:%-d %B %Y}"),
            ("Quarter", f"{quarter} ({period})"),
        ],
    )
    n = Numbering(doc)
    n.section("About this review")
    n.para(
        "The Victims and Prisoners Act 2024 asks the Police and Crime Commissioner to keep "
        "compliance with the Victims' Code under review with the criminal justice bodies that "
        f"owe victims its obligations. This review shows, for {period}, each body's compliance "
        "with every obligation it owes that the data can measure: the share of the obligations "
        "that fell due in the quarter which were met by their due date, how many fell due, the "
        "95% interval of the share, and the quarter before."
    )
    n.para(
        "It holds aggregate figures only: no record of any victim, case or officer. Its figures "
        f"are the partner release for {book.as_of:%-d %B %Y}, the quarter's end: the same "
        "figures, hidden the same way, as the quarterly return and every other output partners "
        "see for that month end.",
        suppressed_note(release.threshold),
    )
    n.para(
        "A change from the quarter before is called higher or lower only when it is "
        "statistically significant at the 5% level; otherwise it is within normal variation. "
        f"A figure marked {PROVISIONAL} is for a quarter too recent to be complete (late "
        "completions still count towards it): it is compared with the quarter before as that "
        "stood at the same age."
    )

    found = bodies(book)
    n.section("Summary")
    where = n.next()
    lines = []
    for body in found:
        weakest = _weakest(book, body)
        if body.figures and weakest:
            named = "; ".join(
                f"{o.id} {book.cite(v, where)} (of {book.cite_n(v, where)})" for o, v in weakest
            )
            lines.append(
                f"{body.name}: {len(body.figures)} obligation(s) measured; weakest: {named}."
            )
        elif body.figures:
            lines.append(
                f"{body.name}: {len(body.figures)} obligation(s) measured, all hidden "
                f"({SUPPRESSED})."
            )
        else:
            lines.append(
                f"{body.name}: no obligation measured this quarter "
                f"({len(body.not_evaluated)} not yet measurable, {len(body.nothing_due)} with "
                "none due)."
            )
    n.para(*lines, number=where)

    for body in found:
        if not body.figures and not body.not_evaluated:
            continue
        n.section(body.name)
        if body.figures:
            label = f"Table {n.s}"
            n.para(
                f"{label} shows each obligation {body.name} owes that fell due in {period}, "
                "with the quarter before."
            )
            doc.add(
                Table(
                    (
                        "Obligation",
                        "Met on time",
                        "Due",
                        "95% interval",
                        "Quarter before",
                        "Change",
                    ),
                    tuple(
                        (
                            f"{o.id}: {o.title}",
                            book.cite(v, label, small=True),
                            book.cite_n(v, label),
                            _interval(book, v),
                            _before(book, v, label),
                            sig_word(v, "previous") if book.shown(v) else "–",
                        )
                        for o, v in body.figures
                    ),
                    caption=f"{label}: {body.name}, obligations met on time, {period}",
                    numeric=(False, True, True, True, True, False),
                )
            )
        if body.nothing_due:
            n.para(
                "None fell due in the quarter for: "
                + "; ".join(f"{o.id} ({o.title})" for o in body.nothing_due)
                + "."
            )
        if body.not_evaluated:
            n.para(
                "Not yet measured: "
                + "; ".join(
                    f"{o.id} ({o.title}): {(o.not_evaluated or 'not evaluated').rstrip('.')}"
                    for o in body.not_evaluated
                )
                + "."
            )

    n.section("Compliance by right")
    titles = right_titles()
    label = f"Table {n.s}"
    n.para(
        f"{label} shows, for each right, the share of its obligations that fell due in {period} "
        "which were met by their due date, whichever body owed them."
    )
    doc.add(
        Table(
            ("Right", "Met on time", "Due", "95% interval", "Quarter before", "Change"),
            tuple(
                (
                    right_label(v.group[0], titles),
                    book.cite(v, label, small=True),
                    book.cite_n(v, label),
                    _interval(book, v),
                    _before(book, v, label),
                    sig_word(v, "previous") if book.shown(v) else "–",
                )
                for v in sorted(rights, key=lambda v: right_key(v.group[0]))
            ),
            caption=f"{label}: Victims' Code compliance by right, {period}",
            numeric=(False, True, True, True, True, False),
        )
    )

    if moj_return is not None:
        _moj(book, n, moj_return, period)

    for text in comparability_notes(book, charts=False):
        doc.add(Paragraph(text, note=True))
    for note in book.notes:
        doc.add(Paragraph(f"Note: {note}.", note=True))
    appendices(book, doc, noun="review")
    return doc


def _moj(book: FigureBook, n: Numbering, definition: ReturnDefinition, period: str) -> None:
    """The five areas of the Ministry of Justice's quarterly return, force-wide, as the return
    shows them (the same cells of the same release)."""
    n.section("The Ministry of Justice's five areas")
    label = f"Table {n.s}"
    n.para(
        f"{label} gives the figures the quarterly compliance return gives for the five areas the "
        f"Ministry of Justice asks about, force-wide, for {period}. {definition.source.strip()}"
    )
    rows: list[tuple[str, ...]] = []
    for area in definition.areas:
        for index, measure in enumerate(area.measures):
            number = area.measure_number(index)
            if measure.metric_id is None:
                rows.append((number, measure.label, "not held", "–", "–"))
                continue
            v = book.value(measure.metric_id, PERIOD, None, measure.group)
            if v is None:
                rows.append((number, measure.label, "none due", "–", "–"))
                continue
            rows.append(
                (
                    number,
                    measure.label,
                    book.cite(v, label, small=True),
                    book.cite_n(v, label),
                    _before(book, v, label),
                )
            )
    n.doc.add(
        Table(
            ("No.", "Measure", "Figure", "n", "Quarter before"),
            tuple(rows),
            caption=f"{label}: the five areas of the quarterly return, {period}",
            numeric=(False, False, True, True, True),
        )
    )


def measured(found: Sequence[Body]) -> int:
    """How many obligations have a figure for the quarter, across the bodies."""
    return sum(len(b.figures) for b in found)
