"""The monthly board paper: the Force Performance update on the Victims pillar of the Plan.

It follows the shape of the paper forces send their Commissioner's board each month
(``../shared/seeds/001_*.txt``): purpose and recommendation, background, the strategic measures
(victim satisfaction overall and by aspect of service, the domestic abuse survey, response times
by grade and for dwelling burglary and domestic abuse incidents with the reasons for delay),
Victims' Code compliance by right and obligation, this month's priority areas (domestic abuse,
child abuse, serious sexual offences), data caveats, a short note on how the figures are made
("About these figures"), and appendices listing every figure with its measure, numerator,
denominator and period, every measure's definition, and compliance with every obligation.

Nothing here computes a figure or decides what may be said about one: values come from the metric
engine through a :class:`~vcop.reports.figures.FigureBook` (with the engine's marks: provisional,
comparable, SPC reading, the force's adopted targets), sentences about change from
:mod:`vcop.reports.narrative`, and XmR charts of the engine's monthly series from
:mod:`vcop.reports.charts`, rendered to images.

The paper's comparisons are judged together (:class:`~vcop.metrics.comparisons.ComparisonFamily`):
the paper is drafted once to note every comparison it states, the family is settled (compliance
tests widened by the design effect of entitlements clustered within victims, then the false
discovery rate controlled over them all), and the paper is written again with those verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from vcop.metrics.comparisons import ComparisonFamily
from vcop.metrics.release import suppressed_note
from vcop.reports.appendix import appendices, comparability_notes, target_text
from vcop.reports.board_code import (
    CODE_MEASURES,
    PRIORITIES,
    Priority,
    compliance,
    low_before_finalisation,
    priority,
)
from vcop.reports.board_demand import (
    AuthorNotes,
    author_recommendation,
    author_section,
    demand_outcomes,
    national_context,
    population_caveat,
    priority_demand,
)
from vcop.reports.board_strategic import RESPONSE, SATISFACTION, response, satisfaction
from vcop.reports.board_tracker import background_sentence, tracker_annex
from vcop.reports.document import Document, Heading, Paragraph
from vcop.reports.figures import PROVISIONAL, SMALL, FigureBook
from vcop.reports.narrative import (
    SMALL_POINTS,
    SMALL_SHARE,
)
from vcop.reports.parts import (
    NOT_COMPARED,
    Charter,
    Numbering,
    measure_table,
    obligation_titles,
    right_key,
    right_label,
    right_titles,
    sig_word,
)

if TYPE_CHECKING:
    from vcop.qa.tracker import TrackerView

__all__ = [
    "CODE_MEASURES",
    "NOT_COMPARED",
    "PRIORITIES",
    "RESPONSE",
    "SATISFACTION",
    "Charter",
    "Numbering",
    "Priority",
    "appendices",
    "board_paper",
    "comparability_notes",
    "measure_table",
    "obligation_titles",
    "right_key",
    "right_label",
    "right_titles",
    "sig_word",
    "target_text",
]


@dataclass(frozen=True)
class Memo:
    """Who the paper goes to and is from, and its date."""

    board: str
    author: str
    force: str
    paper_date: date | None
    #: The author's sections (``--notes``): None, or a section missing, and it is left out.
    notes: AuthorNotes | None = None
    #: The inspection tracker on the paper's date: its annex, when it holds something.
    tracker: TrackerView | None = None


def board_paper(
    book: FigureBook,
    *,
    board: str = "Business Coordination Board",
    author: str = "Chief Constable",
    force: str = "the force",
    paper_date: date | None = None,
    chart: Charter | None = None,
    notes: AuthorNotes | None = None,
    tracker: TrackerView | None = None,
) -> Document:
    """The board paper as of ``book.as_of`` (a month end, usually). ``chart`` draws XmR charts;
    ``tracker`` (the inspection tracker on the paper's date) adds its annex when not empty.

    Drafted twice: the first draft notes every comparison the paper states in the book's
    :class:`ComparisonFamily`, which is then settled (clustering, false discovery rate), and the
    paper is written with its verdicts (the draft's figures and words are discarded)."""
    memo = Memo(board, author, force, paper_date, notes, tracker)
    family = ComparisonFamily(book.catalogue)
    book.comparisons = family
    _paper(book, memo, None)
    family.settle(book.backend)
    book.citations.clear()
    return _paper(book, memo, chart)


def _paper(book: FigureBook, memo: Memo, chart: Charter | None) -> Document:
    as_of = book.as_of
    month = f"{as_of:%B %Y}"
    doc = Document(
        title="Police and Crime Plan Update: Victims",
        memo=[
            ("To", memo.board),
            ("From", memo.author),
            ("Date", f"{memo.paper_date or as_of:%-d %B %Y}"),
            ("Performance to", f"{as_of:%-d %B %Y}"),
        ],
    )
    n = Numbering(doc)

    n.section("Purpose")
    n.para(
        f"The purpose of this paper is to provide an update to the {memo.board} (“the Board”) "
        f"on performance against the Victims pillar of the Police and Crime Plan for "
        f"{memo.force}, up to the end of {month}."
    )
    n.section("Recommendation")
    if not author_recommendation(n, memo.notes):
        n.para("The Board is invited to note the contents of the report.")
    n.section("Background")
    n.para(
        f"This report reviews performance up to {as_of:%-d %B %Y}, from the force's own "
        "records: the victim survey, command and control incidents, crime records and the "
        "Victims' Code entitlement ledger. “About these figures”, at the end of the paper, says "
        "how the figures are made and how changes are tested; Appendix A lists every figure, "
        "Appendix B defines each measure and Appendix C gives compliance with every obligation "
        "of the Code."
    )
    tracked = memo.tracker is not None and not memo.tracker.empty
    if tracked:
        n.para(background_sentence())
    n.para(
        "Alongside the overall review of performance, this month's priority areas are "
        + ", ".join(p.title.lower() for p in PRIORITIES[:-1])
        + f" and {PRIORITIES[-1].title.lower()}."
    )

    n.section("Performance Meeting Updates")
    n.subsection("Strategic measures")
    n.para(
        "The management information underlying the Victims pillar is victim satisfaction, as "
        "measured by the victim survey, and the time taken to respond to incidents, including "
        "dwelling burglary and domestic abuse."
    )
    satisfaction(book, n, chart)
    response(book, n, chart)

    n.subsection("Victims' Code compliance")
    appendix_c = compliance(book, n, chart)

    n.subsection("Priority areas")
    for p in PRIORITIES:
        priority(book, n, p)
        priority_demand(book, n, p.by, p.who)

    n.subsection("Demand and outcomes")
    demand_outcomes(book, n)
    national_context(book, n, memo.force)
    author_section(n, memo.notes, "plan objectives")
    author_section(n, memo.notes, "good practice")

    n.section("Data caveats")
    _caveats(book, n, chart)
    _about(book, doc)

    appendices(book, doc)
    if appendix_c is not None:
        doc.add(Heading("Appendix C: compliance by obligation", 1), appendix_c)
    if tracked:
        assert memo.tracker is not None
        tracker_annex(doc, memo.tracker, "D" if appendix_c is not None else "C")
    return doc


def _caveats(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
    small = book.catalogue.settings.small_sample
    n.para(
        f"Figures marked {SMALL} are based on fewer than {small} cases (survey responses, "
        "incidents or entitlements) and are prone to greater fluctuation; the mark is on "
        "whichever side of a comparison it applies to, the current period or the one it is "
        "compared with. Satisfaction figures come from a sample of victims surveyed; "
        "differences between small groups are rarely significant."
    )
    n.para(
        f"The Victims' Code figures come from the entitlement ledger evaluated as of "
        f"{book.as_of:%-d %B %Y}: each obligation that fell due in the period counts as met only "
        "if it was met by its due date (met late counts as not met)."
    )
    low = low_before_finalisation(book)
    if low:
        named = ", ".join(low[:-1]) + (" and " if len(low) > 1 else "") + low[-1]
        n.para(
            f"The low compliance shown for {named} needs care: the Code sets no deadline for "
            "what is owed there, so the ledger counts it due when the crime is finalised, and "
            "met only if a successful contact giving it was recorded by then. The rate is of the "
            "offers recorded, not of every offer made: a contact not recorded counts as not "
            "met. The quarterly compliance return carries the same caveat."
        )
    n.para(
        "The force's records hold no child abuse flag: the child abuse section covers every "
        "victim aged under 18 when the crime was reported. Sexual offences are those whose "
        "Home Office offence code is on the Victims' Code definitions' sexual offences list."
    )
    n.para(
        "Response times are for the calendar month and are compared with the month before, "
        "and monthly rates quoted as such are single calendar months; every other figure is "
        "for the 12 months ending with the month, compared with the 12 months before that, so "
        "no two compared periods overlap."
    )
    n.para(population_caveat(book))
    for text in comparability_notes(book, charts=chart is not None):
        n.para(text)
    if book.threshold is not None:
        n.para(suppressed_note(book.threshold))
    for note in book.notes:
        n.para(f"Note: {note}.")


def _about(book: FigureBook, doc: Document) -> None:
    """The short note on method at the end of the body: how changes are tested (multiple
    comparisons, clustering, size), how monthly series are read, and the definitions' stamp."""
    family = book.comparisons
    alpha = 1 - book.catalogue.settings.confidence
    level = f"{100 * alpha:g}%"
    doc.add(Heading("About these figures", 1))
    stated = family.hypotheses if family is not None else 0
    deffs = [
        d
        for verdict in (family.verdicts() if family is not None else [])
        for d in verdict.deff
        if verdict.clustered
    ]
    spread = ""
    if deffs:
        lo, hi = min(deffs), max(deffs)
        spread = (
            f" (in this paper from {lo:.1f} to {hi:.1f})" if f"{lo:.1f}" != f"{hi:.1f}"
            else f" (in this paper {lo:.1f})"
        )  # fmt: skip
    paragraphs = [
        "Each change from an earlier period is tested: rates and shares by a test of two "
        "proportions, medians by the Bonett–Price test, means by Welch's test. "
        f"This paper makes {stated} such comparison{'s' if stated != 1 else ''} (a figure "
        "quoted twice is compared once); so that "
        "differences arising by chance are not reported as real, they are judged together, "
        f"controlling the false discovery rate at {level} (Benjamini and Hochberg, 1995): a "
        f"change is called significantly higher or lower only when its adjusted p-value is at "
        f"most {alpha:g}. Otherwise it is described as within normal variation.",
        "A Victims' Code compliance rate counts entitlements, and one victim holds several, "
        "which tend to be met or missed together, so the rate is less precise than its number "
        "of entitlements suggests. Before they are judged, compliance comparisons are widened "
        "by the design effect of each period (Kish, 1965): the variance of the rate with "
        "victims as clusters, divided by its variance were every entitlement independent"
        f"{spread}; each test and interval is made on the number of entitlements divided by it.",
        "A significant change is given with its size and 95% confidence interval (for a rate, "
        f"in percentage points). One smaller than {100 * SMALL_POINTS:g} percentage point "
        f"(for a time, {100 * SMALL_SHARE:g}% of the earlier figure) is called a small change, "
        "not an improvement or a deterioration. Differences between groups are described, not "
        "tested.",
        f"A figure for a period too recent to be complete is marked {PROVISIONAL}: it may still "
        "change, so it is compared with the earlier period as that stood at the same age. "
        "Monthly series are read with statistical process control (the NHS “Making Data "
        "Count” rules), from complete months only.",
    ]
    if book.definitions_hash:
        paragraphs.append(
            "The figures were made with the force's definitions of the Victims' Code and of "
            f"each measure, identified by the stamp {book.definitions_hash}; figures.csv, "
            "issued with this paper, cites every figure in full."
        )
    for text in paragraphs:
        doc.add(Paragraph(text, note=True))
