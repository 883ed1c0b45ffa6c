"""The partner pack for the Local Criminal Justice Board: aggregate figures only, all suppressed.

CPS, witness care, probation and court colleagues see how victims fare across the criminal justice
system: Victims' Code compliance by right (force-wide and by policing area), the obligations each
partner shares with the police, victim satisfaction and crime outcomes. The pack holds no record
and no name: every figure is an aggregate computed by the metric engine and put through
:func:`vcop.metrics.suppress.publish` (the :class:`~vcop.reports.figures.FigureBook` is made with
a suppression threshold), so a count that could identify a handful of victims, or that could be
worked out from the figures around it, shows as "[c]". No monthly chart is drawn: a month of a
small group is exactly what suppression hides.
"""

from __future__ import annotations

from datetime import date

from vcop.metrics.values import MetricValue
from vcop.reports.board import (
    Numbering,
    appendices,
    comparability_notes,
    measure_table,
    obligation_titles,
    right_key,
    right_label,
    right_titles,
    sig_word,
)
from vcop.reports.document import Document, Paragraph, Table
from vcop.reports.figures import PROVISIONAL, SUPPRESSED, FigureBook, period_words
from vcop.reports.narrative import change_of, change_sentence, moved_sentence
from vcop.spec.code import load_code

#: The obligations each partner shares with the police, in the order the pack presents them.
PARTNER_OBLIGATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Crown Prosecution Service", ("R6.charge-no-charge-oocd", "R6.cps-stop-or-alter")),
    ("Witness Care Units", ("R8.hearing-time-date-venue", "R9.case-outcome", "R9.sentence")),
    ("Courts", ("R7.vps-offer",)),
    ("Probation Service", ("R11.vcs-referral",)),
)
OUTCOMES = (
    ("prosecution_possible_outcome_rate", "Prosecution-possible outcome rate"),
    ("average_investigation_length_days", "Average investigation length (days)"),
)
SATISFACTION = (
    ("satisfaction_whole_experience", "Victim survey: satisfied with the whole experience"),
    ("satisfaction_follow_up", "Victim survey: satisfied with follow-up"),
    ("da_satisfaction_whole_experience", "Domestic abuse survey: satisfied with the whole experience"),
)  # fmt: skip


def _cell(book: FigureBook, v: MetricValue | None, where: str) -> str:
    """ "72.5% (1,234)": a value and its sample size, or [c]."""
    if v is None:
        return "–"
    if not book.shown(v):
        return SUPPRESSED
    return f"{book.cite(v, where)} ({book.cite_n(v, where)})"


def partner_pack(
    book: FigureBook,
    *,
    force: str = "the force",
    board: str = "Local Criminal Justice Board",
    paper_date: date | None = None,
) -> Document:
    """The LCJB pack as of ``book.as_of``; ``book`` must suppress (``threshold`` set)."""
    if book.threshold is None:
        raise ValueError("the partner pack is made only from suppressed figures (set threshold)")
    as_of = book.as_of
    doc = Document(
        title="Victims' Code performance: pack for criminal justice partners",
        memo=[
            ("To", f"{board} (CPS, witness care, probation and courts)"),
            ("From", force),
            ("Date", f"{paper_date or as_of:%-d %B %Y}"),
            ("Figures to", f"{as_of:%-d %B %Y}"),
        ],
    )
    _publish_compliance(book)
    n = Numbering(doc)
    n.section("About this pack")
    n.para(
        "This pack gives criminal justice partners the force's figures on how victims are "
        "treated under the Victims' Code of Practice. It holds aggregate figures only: no "
        "record of any victim, case or officer."
    )
    n.para(
        f"Counts from 1 to {book.threshold - 1} could point to identifiable victims, so every "
        f"figure built on one is suppressed and shown as {SUPPRESSED}; so is any figure from "
        "which a suppressed one could be worked out (for example the last area of a "
        "force-wide total). Figures in brackets are the number of cases a figure is based on."
    )
    n.para(
        "A change is called higher or lower only when it is statistically significant at the "
        "5% level; otherwise it is within normal variation. A figure for a period too recent "
        f"to be complete is marked {PROVISIONAL} and is not compared with earlier periods. "
        "Appendix A lists every figure with its metric, numerator, denominator and period, and "
        "Appendix B defines each metric."
    )

    n.section("Victims' Code compliance")
    titles = right_titles()
    rights = book.values(["compliance_by_right"])
    period = period_words(rights[0].current, rights[0].period) if rights else "the period"
    where = n.next()
    moved = [
        f"{right_label(v.group[0], titles).split(':')[0]} is significantly {c.claim} "
        f"({book.cite(v, where, 'year_ago')} then)"
        for v in rights
        if book.shown(v) and (c := change_of(v)) is not None and c.claim in ("higher", "lower")
    ]
    n.para(
        f"Table 1 shows, for each right, the share of entitlements that fell due in {period} "
        "which the force met by their due date.",
        moved_sentence(
            [v for v in rights if book.shown(v)], moved, lead="Compared with a year before: ",
            none="No right's compliance differs significantly from a year before.",
        ),
        number=where,
    )  # fmt: skip
    doc.add(
        Table(
            ("Right", "Met on time", "Due", "Year before", "Change"),
            tuple(
                (
                    right_label(v.group[0], titles),
                    book.cite(v, "Table 1", small=True),
                    book.cite_n(v, "Table 1") if book.shown(v) else SUPPRESSED,
                    _earlier(book, v, "Table 1"),
                    sig_word(v) if book.shown(v) else "–",
                )
                for v in sorted(rights, key=lambda v: right_key(v.group[0]))
            ),
            caption=f"Table 1: Victims' Code compliance by right, {period}",
            numeric=(False, True, True, True, False),
        )
    )
    by_area = book.values(["compliance_by_right"], by="area")
    areas = sorted({v.group[1] for v in by_area})
    if areas:
        cells = {v.group: v for v in by_area}
        n.para(
            "Table 2 shows compliance by policing area: the share met on time, with the number "
            "of entitlements that fell due in brackets."
        )
        doc.add(
            Table(
                ("Right", *areas),
                tuple(
                    (
                        right_label(r, titles).split(":")[0],
                        *(_cell(book, cells.get((r, a)), "Table 2") for a in areas),
                    )
                    for r in sorted({v.group[0] for v in by_area}, key=right_key)
                ),
                caption=f"Table 2: Victims' Code compliance by right and policing area, {period}",
                numeric=(False, *(True for _ in areas)),
            )
        )

    n.section("Obligations shared with partners")
    otitles = obligation_titles()
    obligations = {v.group[0]: v for v in book.values(["compliance_by_obligation"])}
    n.para(
        "Table 3 shows the obligations of the Code in which each partner plays a part: the "
        "police record them, and the partner's own process decides how many are met on time."
    )
    rows: list[tuple[str, ...]] = []
    for partner, ids in PARTNER_OBLIGATIONS:
        for oid in ids:
            v = obligations.get(oid)
            if v is None:
                continue
            rows.append(
                (
                    partner,
                    f"{oid}: {otitles.get(oid, '')}".rstrip(": "),
                    book.cite(v, "Table 3", small=True),
                    book.cite_n(v, "Table 3") if book.shown(v) else SUPPRESSED,
                    sig_word(v) if book.shown(v) else "–",
                )
            )
    doc.add(
        Table(
            ("Partner", "Obligation", "Met on time", "Due", "Change from a year before"),
            tuple(rows),
            caption=f"Table 3: Obligations shared with partners, {period}",
            numeric=(False, False, True, True, False),
        )
    )

    n.section("Victims' experience and outcomes")
    book.values([m for m, _ in SATISFACTION])
    whole = book.value("satisfaction_whole_experience")
    if book.shown(whole):
        where = n.next()
        n.para(
            f"{book.cite(whole, where)} of the {book.cite_n(whole, where)} victims surveyed in "
            f"{period_words(whole.current, whole.period)} were at least fairly satisfied with "
            "the whole experience.",
            change_sentence(book, whole, where),
            number=where,
        )
    book.values([m for m, _ in OUTCOMES])
    rate = book.value("prosecution_possible_outcome_rate")
    if book.shown(rate):
        where = n.next()
        n.para(
            f"The prosecution-possible outcome rate for {period_words(rate.current, rate.period)}"
            f" was {book.cite(rate, where)} (n = {book.cite_n(rate, where)}; Appendix B "
            "defines it).",
            change_sentence(book, rate, where),
            number=where,
        )
    doc.add(
        measure_table(book, (*SATISFACTION, *OUTCOMES), "Table 4",
                      "Victim satisfaction and outcomes, 12 months")
    )  # fmt: skip
    for text in comparability_notes(book):
        doc.add(Paragraph(text, note=True))
    for note in book.notes:
        doc.add(Paragraph(f"Note: {note}.", note=True))
    appendices(book, doc, noun="pack")
    return doc


def _publish_compliance(book: FigureBook) -> None:
    """Compliance by right and by obligation, force-wide and by area, published together: a
    right is the sum of its obligations, so an obligation hidden in one table must not be
    recoverable as its right minus the others (the compliance return's linked suppression).
    Earlier windows are published table by table; the pack shows them for rights only."""
    from vcop.reports.compliance_return import publish_linked, right_links

    assert book.threshold is not None
    metrics = ["compliance_by_right", "compliance_by_obligation"]
    whole, split = book.raw(metrics), book.raw(metrics, by="area")
    raw = [*whole, *split]
    missing = book.catalogue.breakdown("right").missing_label
    right_of = {o.id: str(o.right) if o.right is not None else missing
                for o in load_code().obligations}  # fmt: skip
    published, _ = publish_linked(raw, book.threshold, right_links(raw, right_of))
    book.preload(published[: len(whole)], "rolling_12m", None)
    book.preload(published[len(whole) :], "rolling_12m", "area")


def _earlier(book: FigureBook, v: MetricValue, where: str) -> str:
    """A figure's year-before value: [c] when suppressed (blanked by the suppression layer),
    – when there is none (no data then, or the engine does not compare the figure)."""
    if book.shown(v, "year_ago"):
        return book.cite(v, where, "year_ago")
    blanked = v.year_ago is not None and v.year_ago.estimate.denominator is None
    return SUPPRESSED if blanked else "–"
