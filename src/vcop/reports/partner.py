"""The partner pack for the Local Criminal Justice Board: cut from the release of its month end.

CPS, witness care, probation and court colleagues see how victims fare across the criminal justice
system: Victims' Code compliance by right (force-wide and by policing area), the obligations each
partner shares with the police, victim satisfaction and crime outcomes, and the latest months of a
few monthly series. The pack holds no record and no name.

Every figure is the release's (:mod:`vcop.metrics.release`): the partner view of the month end,
suppressed once for every partner output (the dashboard's partner pages, the XmR series, this pack
and the compliance returns), so a figure hidden here is hidden everywhere and no two outputs can
be combined to reveal one. The pack computes, publishes and hides nothing of its own: it reads
:meth:`Release.values` for the 12 months to the month end (force-wide and by policing area, with
the earlier windows the release gives) and the months of :attr:`Release.series`. A hidden figure
shows as :data:`~vcop.metrics.release.SUPPRESSED`, explained in the release's one sentence
(:func:`~vcop.metrics.release.suppressed_note`); a series with a hidden month is not charted.
"""

from __future__ import annotations

from datetime import date

from vcop.metrics.release import SUPPRESSED, suppressed_note
from vcop.metrics.series import Series
from vcop.metrics.values import MetricValue
from vcop.reports.board import (
    NOT_COMPARED,
    Charter,
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
from vcop.reports.figures import PROVISIONAL, FigureBook, period_words
from vcop.reports.narrative import (
    change_of,
    change_sentence,
    moved_sentence,
    spc_sentence,
    then_words,
)

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
#: The force-wide monthly series the pack shows (the months of the release's series).
MONTHLY = (
    ("victim_updates_on_time", "Updates on time (Right 6)"),
    ("support_referral_on_time", "Referrals to support on time (Right 4)"),
    ("vcs_referral_on_time", "Victim Contact Scheme referrals on time (Right 11)"),
)
#: How many of the latest months the monthly table shows.
MONTHS = 6


def _cell(book: FigureBook, v: MetricValue | None, where: str) -> str:
    """ "72.5% (1,234)": a value and its sample size, or [c]."""
    if v is None:
        return "–"
    if not book.shown(v):
        return book.cite(v, where)
    return f"{book.cite(v, where)} ({book.cite_n(v, where)})"


def partner_pack(
    book: FigureBook,
    *,
    force: str = "the force",
    board: str = "Local Criminal Justice Board",
    paper_date: date | None = None,
    chart: Charter | None = None,
) -> Document:
    """The LCJB pack of ``book``'s release (see the module docstring). ``chart`` draws the XmR
    charts of the monthly series with no hidden month."""
    release = book.release
    if release is None:
        raise ValueError("the partner pack is cut from a release: make the book with one")
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
    n = Numbering(doc)
    n.section("About this pack")
    n.para(
        "This pack gives criminal justice partners the force's figures on how victims are "
        "treated under the Victims' Code of Practice. It holds aggregate figures only: no "
        "record of any victim, case or officer. Its figures are the force's partner release "
        f"for {as_of:%-d %B %Y}: the same figures, hidden the same way, as every other output "
        "partners see for that month end."
    )
    n.para(
        suppressed_note(release.threshold),
        "Figures in brackets are the number of cases a figure is based on.",
    )
    n.para(
        "A change is called higher or lower only when it is statistically significant at the "
        "5% level; otherwise it is within normal variation. A figure for a period too recent "
        f"to be complete is marked {PROVISIONAL}: it may still change, so it is compared with "
        "the earlier period as that stood at the same age. A figure marked "
        f"“{NOT_COMPARED}” is not compared at all, for the reason the caveats give. Appendix A "
        "lists every figure with its metric, numerator, denominator and period, and Appendix B "
        "defines each metric."
    )

    n.section("Victims' Code compliance")
    titles = right_titles()
    rights = book.values(["compliance_by_right"])
    period = period_words(rights[0].current, rights[0].period) if rights else "the period"
    where = n.next()
    moved = [
        f"{right_label(v.group[0], titles).split(':')[0]} is significantly {c.claim} "
        + then_words(book, v, where)
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
                    book.cite_n(v, "Table 1"),
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
                    book.cite_n(v, "Table 3"),
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

    _monthly(book, n, chart)

    for text in comparability_notes(book, charts=chart is not None):
        doc.add(Paragraph(text, note=True))
    for note in book.notes:
        doc.add(Paragraph(f"Note: {note}.", note=True))
    appendices(book, doc, noun="pack")
    return doc


def _monthly(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
    """The latest months of a few force-wide series (the release's), what SPC reads in each,
    and the XmR charts of those with no hidden month."""
    series: list[tuple[str, str, Series]] = [
        (metric_id, title, s)
        for metric_id, title in MONTHLY
        if (s := book.series(metric_id).get(())) is not None and s.points
    ]
    if not series:
        return
    n.section("Monthly figures")
    months = sorted({p.month for _, _, s in series for p in s.points})[-MONTHS:]
    where = n.next()
    sentences = [
        f"Table 5 shows the force's figures for each of the last {len(months)} months; "
        "statistical process control reads each series from its complete months."
    ]
    for metric_id, title, s in series:
        v = book.value(metric_id)
        if any(p.suppressed for p in s.points):
            sentences.append(
                f"{title}: some months are hidden ({SUPPRESSED}), so the series is not read "
                "with statistical process control here."
            )
        elif v is not None:
            sentences.append(f"{title}: " + spc_sentence(v, subject="the monthly figures"))
    n.para(*sentences, number=where)
    rows = []
    for month in months:
        cells = []
        for metric_id, _, s in series:
            point = next((p for p in s.points if p.month == month), None)
            cells.append("–" if point is None else book.cite_point(metric_id, (), point, "Table 5"))
        rows.append((f"{month:%B %Y}", *cells))
    n.doc.add(
        Table(
            ("Month", *(title for _, title, _ in series)),
            tuple(rows),
            caption="Table 5: The latest months, force-wide",
            numeric=(False, *(True for _ in series)),
        )
    )
    for metric_id, _, _ in series:
        image = chart(book, metric_id, ()) if chart is not None else None
        if image is not None:
            n.doc.add(image)


def _earlier(book: FigureBook, v: MetricValue, where: str) -> str:
    """A figure's year-before value as the release gives it: [c] when hidden, – when there is
    none (no data then, or the engine does not compare the figure)."""
    if book.shown(v, "year_ago") or book.hidden(v, "year_ago"):
        return book.cite(v, where, "year_ago")
    return "–"
