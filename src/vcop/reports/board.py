"""The monthly board paper: the Force Performance update on the Victims pillar of the Plan.

It follows the shape of the paper forces send their Commissioner's board each month
(``../shared/seeds/001_*.txt``): purpose and recommendation, background, the strategic measures
(victim satisfaction overall and by aspect of service, the domestic abuse survey, response times
by grade and for dwelling burglary and domestic abuse incidents with the reasons for delay),
Victims' Code compliance by right and obligation, this month's priority areas (domestic abuse,
child abuse, serious sexual offences), data caveats, and appendices listing every figure with its
metric, numerator, denominator and period, and every metric's definition.

Nothing here computes a figure or decides what may be said about one: values come from the metric
engine through a :class:`~vcop.reports.figures.FigureBook` (with the engine's marks: provisional,
comparable, SPC reading, the force's adopted targets), sentences about change from
:mod:`vcop.reports.narrative`, and XmR charts of the engine's monthly series from
:mod:`vcop.reports.charts`, rendered to images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from vcop.metrics.release import suppressed_note
from vcop.metrics.values import MetricValue
from vcop.reports.document import Document, Heading, Image, PageBreak, Paragraph, Table
from vcop.reports.figures import (
    PROVISIONAL,
    SMALL,
    FigureBook,
    Which,
    marks,
    number,
    period_words,
)
from vcop.reports.narrative import (
    as_it_stood,
    change_of,
    change_sentence,
    moved_sentence,
    spc_sentence,
    then_words,
)
from vcop.spec.code import load_code

SATISFACTION = (
    ("satisfaction_whole_experience", "Whole experience"),
    ("satisfaction_ease_of_contact", "Ease of contact"),
    ("satisfaction_actions_taken", "Actions taken"),
    ("satisfaction_follow_up", "Follow-up (being kept informed)"),
    ("satisfaction_treatment", "Treatment by staff"),
)
DA_SATISFACTION = tuple((f"da_{m}", title) for m, title in SATISFACTION)
RESPONSE = (
    ("response_time_median_immediate", "Immediate grade, all incidents"),
    ("response_time_median_prompt", "Prompt grade, all incidents"),
    ("response_time_median_prompt_dwelling_burglary", "Prompt grade, dwelling burglary"),
    ("response_time_median_prompt_domestic_abuse", "Prompt grade, domestic abuse"),
)
#: The Victims' Code measures shown for the force and each priority area.
CODE_MEASURES = (
    ("needs_assessment_on_time", "Needs assessments completed on time"),
    ("support_referral_on_time", "Referrals to support services on time (Right 4)"),
    ("victim_updates_on_time", "Updates on time about the investigation (Right 6)"),
    ("vcc_agreed", "Victim care contracts agreed"),
    ("vcc_updates_on_time", "Care-contract updates given on time"),
    ("vcs_referral_on_time", "Referrals to the Victim Contact Scheme on time (Right 11)"),
    ("supervisory_reviews_overdue", "Supervisory reviews overdue"),
)
#: The incident type whose delay reasons the paper reports, and the reason it dwells on.
DA_INCIDENT = "Domestic abuse"
RESOURCES = "resource_availability"


@dataclass(frozen=True)
class Priority:
    """One of the month's priority areas: the victims in one group of one breakdown."""

    title: str
    who: str  # "victims of domestic abuse"
    by: str
    group: str
    others: str  # the other group of the breakdown, for context ("not domestic abuse")


PRIORITIES = (
    Priority("Domestic abuse", "victims of domestic abuse", "domestic_abuse", "domestic abuse",
             "not domestic abuse"),
    Priority("Child abuse", "victims aged under 18", "age_band", "under 18", ""),
    Priority("Serious sexual offences", "victims of sexual offences", "sexual_offence",
             "sexual offence", "other offence"),
)  # fmt: skip

Charter = Callable[[FigureBook, str, tuple[str, ...]], Image | None]


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


#: The table's word for a figure the engine does not compare (``comparable`` false: the data's
#: warm-up, or a provisional figure whose earlier period cannot be seen at the same age).
NOT_COMPARED = "not compared"


def sig_word(v: MetricValue, which: Which = "year_ago") -> str:
    """The table's word for a change: its direction only when significant; "not compared" when
    the engine says the figure may not be compared (the caveats say why). A provisional figure
    is compared as the engine compared it, with the earlier period as it stood at the same age."""
    change = change_of(v, which)
    if change is None:
        return NOT_COMPARED if not v.comparable else "–"
    claim = change.claim
    if claim in ("higher", "lower"):
        return f"significantly {claim}"
    return {"unchanged": "unchanged", "untested": "too few to test"}.get(claim, "normal variation")


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
    hidden figure, current or earlier, is cited as the mark of a hidden figure)."""
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
                book.cite(v, where, which) if earlier else "–",
                book.cite_n(v, where, which) if earlier else "–",
                sig_word(v, which) if book.shown(v) else "–",
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
    return Table(
        (first, "Value", "n", "Year before", "n", "Change"),
        measure_rows(book, measures, table_no, **rows),
        caption=f"{table_no}: {caption}",
        numeric=(False, True, True, True, True, False),
    )


def add_chart(n: Numbering, chart: Charter | None, book: FigureBook, metric_id: str) -> None:
    """The metric's XmR chart, if charts are wanted and it has months to draw."""
    image = chart(book, metric_id, ()) if chart is not None else None
    if image is not None:
        n.doc.add(image)


def right_titles() -> dict[str, str]:
    return {str(r.right): r.title for e in load_code().editions for r in e.header.rights}


def obligation_titles() -> dict[str, str]:
    return {o.id: o.title for o in load_code().obligations}


def right_key(group: str) -> tuple[bool, int]:
    """Rights in the Code's order (1, 2, … 12), the local standards last."""
    return (not group.isdigit(), int(group) if group.isdigit() else 0)


def right_label(group: str, titles: dict[str, str]) -> str:
    if not group.isdigit():
        return "Local standards"
    return f"Right {group}: {titles.get(group, '')}".rstrip(": ")


def board_paper(
    book: FigureBook,
    *,
    board: str = "Business Coordination Board",
    author: str = "Chief Constable",
    force: str = "the force",
    paper_date: date | None = None,
    chart: Charter | None = None,
) -> Document:
    """The board paper as of ``book.as_of`` (a month end, usually). ``chart`` draws XmR charts."""
    as_of = book.as_of
    month = f"{as_of:%B %Y}"
    doc = Document(
        title="Police and Crime Plan Update: Victims",
        memo=[
            ("To", board),
            ("From", author),
            ("Date", f"{paper_date or as_of:%-d %B %Y}"),
            ("Performance to", f"{as_of:%-d %B %Y}"),
        ],
    )
    n = Numbering(doc)
    small = book.catalogue.settings.small_sample

    n.section("Purpose")
    n.para(
        f"The purpose of this paper is to provide an update to the {board} (“the Board”) on "
        f"performance against the Victims pillar of the Police and Crime Plan for {force}, up "
        f"to the end of {month}."
    )
    n.section("Recommendation")
    n.para("The Board is invited to note the contents of the report.")
    n.section("Background")
    n.para(
        f"This report reviews performance up to {as_of:%-d %B %Y}. Every figure in it was "
        "computed by vcop from the force's own records: the victim survey, command and control "
        "incidents, crime records and the Victims' Code entitlement ledger. Appendix A lists "
        "each figure with its metric, numerator, denominator and period; Appendix B defines "
        "each metric."
    )
    n.para(
        "A figure is described as higher or lower than before only when the change is "
        "statistically significant at the 5% level; otherwise the change is described as "
        "within normal variation. A figure for a period too recent to be complete is marked "
        f"{PROVISIONAL}: it may still change, so it is compared with the earlier period as that "
        "stood at the same age. "
        "Monthly series are read with statistical process control (the NHS “Making Data "
        "Count” rules), from complete months only."
    )
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
    _satisfaction(book, n, chart)
    _response(book, n, chart)

    n.subsection("Victims' Code compliance")
    _compliance(book, n, chart)

    n.subsection("Priority areas")
    for p in PRIORITIES:
        _priority(book, n, p)

    n.section("Data caveats")
    n.para(
        f"Figures marked {SMALL} are based on fewer than {small} cases (survey responses, "
        "incidents "
        "or entitlements) and are prone to greater fluctuation. Satisfaction figures come "
        "from a sample of victims surveyed; differences between small groups are rarely "
        "significant."
    )
    stamp = book.definitions_hash
    n.para(
        f"The Victims' Code figures come from the entitlement ledger evaluated as of "
        f"{as_of:%-d %B %Y}: each obligation that fell due in the period counts as met only if "
        "it was met by its due date (met late counts as not met). The interpretations of the "
        "Code that vcop applies are listed in docs/rules.md."
        + (f" The definitions in force carry the stamp {stamp}." if stamp else "")
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
    for text in comparability_notes(book, charts=chart is not None):
        n.para(text)
    if book.threshold is not None:
        n.para(suppressed_note(book.threshold))
    for note in book.notes:
        n.para(f"Note: {note}.")

    appendices(book, doc)
    return doc


# -- 4.1 strategic measures ------------------------------------------------------------------


def _satisfaction(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
    ids = [m for m, _ in SATISFACTION]
    book.values(ids)
    whole = book.value("satisfaction_whole_experience")
    if whole is None or not book.shown(whole):
        n.para("No victim survey responses fall in the period: satisfaction cannot be reported.")
        return
    where = n.next()
    period = period_words(whole.current, whole.period)
    missing = book.catalogue.breakdown("area").missing_label
    areas = [
        v
        for v in book.values(["satisfaction_whole_experience"], by="area")
        if book.shown(v) and v.group[0] != missing
    ]
    area_text = ""
    if areas:
        parts = [f"{v.group[0]} {book.cite(v, where)} (n = {book.cite_n(v, where)})" for v in areas]
        moved = [
            f"{v.group[0]} is significantly {c.claim} than a year before"
            + (f", {stood}" if (stood := as_it_stood(v)) else "")
            for v in areas
            if (c := change_of(v)) is not None and c.claim in ("higher", "lower")
        ]
        area_text = "By policing area: " + "; ".join(parts) + ". " + moved_sentence(
            areas, moved, lead="",
            none="No policing area's rate differs significantly from a year before.",
        )  # fmt: skip
    n.para(
        f"{book.cite_n(whole, where)} victims of crime surveyed in {period} answered the "
        f"question on the whole experience, with {book.cite(whole, where)} of them at least "
        "fairly satisfied.",
        change_sentence(book, whole, where),
        area_text,
        spc_sentence(whole),
        number=where,
    )
    table_where = "Table 1"
    n.doc.add(
        Table(
            (
                "Aspect of service",
                f"12 months to {whole.current.end:%b %Y}",
                "n",
                f"12 months to {whole.year_ago.estimate.end:%b %Y}"
                if whole.year_ago
                else "Year before",
                "n",
                "Change",
            ),
            measure_rows(book, SATISFACTION, table_where),
            caption="Table 1: Victims at least fairly satisfied, by aspect of service",
            numeric=(False, True, True, True, True, False),
        )
    )
    dims = [(v, title) for m, title in SATISFACTION[1:] if book.shown(v := book.value(m))]
    if dims:
        low, title = min(dims, key=lambda d: d[0].current.value or 0.0)
        where = n.next()
        series = book.series(low.metric_id).get(())
        recent = ""
        last = series.points[-3:] if series is not None else ()
        months = [p.month for p in last]
        complete = (
            len(last) == 3
            and months[-1] == book.as_of.replace(day=1)
            and all(
                (b.year * 12 + b.month) - (a.year * 12 + a.month) == 1 for a, b in pairwise(months)
            )
        )
        if complete:
            lo = min(last, key=lambda p: p.value)
            hi = max(last, key=lambda p: p.value)
            recent = (
                f"Monthly rates over the last three months ranged from a low of "
                f"{book.cite_point(low.metric_id, (), lo, where)} ({lo.month:%B %Y}) to a high "
                f"of {book.cite_point(low.metric_id, (), hi, where)} ({hi.month:%B %Y})."
            )
        n.para(
            f"{title} attracts the lowest level of satisfaction of the aspects of service, at "
            f"{book.cite(low, where)} (n = {book.cite_n(low, where)}).",
            change_sentence(book, low, where, subject="It"),
            recent,
            number=where,
        )
    burglary = book.value("satisfaction_whole_experience", by="crime_type", group=("Burglary",))
    follow = book.value("satisfaction_follow_up", by="crime_type", group=("Burglary",))
    if book.shown(burglary):
        where = n.next()
        n.para(
            f"Of victims of burglary, {book.cite(burglary, where, small=True)} "
            f"(n = {book.cite_n(burglary, where)}) were at least fairly satisfied with the whole "
            "experience.",
            change_sentence(book, burglary, where),
            "Satisfaction of burglary victims with follow-up was "
            f"{book.cite(follow, where, small=True)} (n = {book.cite_n(follow, where)})."
            if book.shown(follow)
            else "",
            change_sentence(book, follow, where, subject="This") if book.shown(follow) else "",
            number=where,
        )
    book.values([m for m, _ in DA_SATISFACTION])
    da = book.value("da_satisfaction_whole_experience")
    da_follow = book.value("da_satisfaction_follow_up")
    if book.shown(da):
        where = n.next()
        n.para(
            "Victims of domestic abuse are surveyed separately by a specialist team. "
            f"{book.cite(da, where, small=True)} (n = {book.cite_n(da, where)}) of the victims "
            f"surveyed in {period_words(da.current, da.period)} were at least fairly satisfied "
            "with the whole experience.",
            change_sentence(book, da, where),
            f"Satisfaction with follow-up was {book.cite(da_follow, where, small=True)} "
            f"(n = {book.cite_n(da_follow, where)})."
            if book.shown(da_follow)
            else "",
            number=where,
        )
        n.doc.add(
            measure_table(book, DA_SATISFACTION, "Table 2",
                          "Domestic abuse victim survey, 12 months, by aspect of service",
                          first="Aspect of service")
        )  # fmt: skip
    add_chart(n, chart, book, "satisfaction_whole_experience")


def _response(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
    ids = [m for m, _ in RESPONSE]
    book.values(ids, "month")
    immediate = book.value("response_time_median_immediate", "month")
    prompt = book.value("response_time_median_prompt", "month")
    if immediate is None or not book.shown(immediate):
        n.para("No immediate-grade incidents were attended in the month: response times "
               "cannot be reported.")  # fmt: skip
        return
    month = period_words(immediate.current, "month")
    where = n.next()
    n.para(
        f"The median time to attend immediate-grade incidents in {month} was "
        f"{book.cite(immediate, where)} (n = {book.cite_n(immediate, where)} incidents).",
        change_sentence(book, immediate, where, which="previous", subject="This"),
        f"For prompt-grade incidents it was {book.cite(prompt, where)} "
        f"(n = {book.cite_n(prompt, where)})."
        if book.shown(prompt)
        else "",
        change_sentence(book, prompt, where, which="previous", subject="This")
        if book.shown(prompt)
        else "",
        spc_sentence(immediate, subject="Monthly medians for immediate-grade incidents"),
        number=where,
    )
    burglary = book.value("response_time_median_prompt_dwelling_burglary", "month")
    if book.shown(burglary):
        where = n.next()
        n.para(
            f"The median time to attend prompt-grade dwelling burglary incidents was "
            f"{book.cite(burglary, where, small=True)} in {month} "
            f"(n = {book.cite_n(burglary, where)}).",
            change_sentence(book, burglary, where, which="previous", subject="This"),
            spc_sentence(burglary),
            number=where,
        )
    da = book.value("response_time_median_prompt_domestic_abuse", "month")
    if book.shown(da):
        where = n.next()
        shares = [
            v
            for v in book.values(["delay_reason_share"], "month", by="incident_type")
            if v.group[0] == RESOURCES and book.shown(v)
        ]
        da_share = next((v for v in shares if v.group[1] == DA_INCIDENT), None)
        delay = ""
        if da_share is not None:
            big = [v for v in shares if (v.current.denominator or 0) >= 30]
            highest = da_share in big and max(big, key=lambda v: v.current.value or 0.0) is da_share
            delay = (
                f"Of the {book.cite_n(da_share, where)} immediate- and prompt-grade incidents "
                f"of the type “{DA_INCIDENT}” in {month} with a reason for delayed attendance "
                f"recorded, {book.cite(da_share, where, small=True)} cited no "
                "resources being available to attend"
                + ("; the highest share of any incident type with at least 30 such incidents."
                   if highest else ".")
            )  # fmt: skip
            delay += " " + change_sentence(
                book, da_share, where, which="previous", subject="This share"
            )
        n.para(
            f"The median time to attend prompt-grade domestic abuse incidents was "
            f"{book.cite(da, where, small=True)} in {month} (n = {book.cite_n(da, where)}).",
            change_sentence(book, da, where, which="previous", subject="This"),
            delay.strip(),
            number=where,
        )
    n.doc.add(
        Table(
            (
                "Incidents",
                immediate.current.start.strftime("%B %Y"),
                "n",
                immediate.previous.estimate.start.strftime("%B %Y")
                if immediate.previous
                else "Month before",
                "n",
                "Change",
            ),
            measure_rows(book, RESPONSE, "Table 3", period="month", which="previous"),
            caption="Table 3: Median time to attend (minutes from the call to arrival)",
            numeric=(False, True, True, True, True, False),
        )
    )
    add_chart(n, chart, book, "response_time_median_immediate")


# -- 4.2 Victims' Code compliance ------------------------------------------------------------


def _compliance(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
    rights = [v for v in book.values(["compliance_by_right"]) if book.shown(v)]
    if not rights:
        n.para(
            "No Victims' Code entitlement fell due in the period (or the ledger is missing): "
            "compliance cannot be reported."
        )
        return
    titles = right_titles()
    where = n.next()
    # highest and lowest: of the Code's rights, each on at least small_sample entitlements
    ranked = [v for v in rights if v.group[0].isdigit() and not v.small_sample]
    period = period_words(rights[0].current, rights[0].period)
    moved = [
        (v, c.claim)
        for v in rights
        if (c := change_of(v)) is not None and c.claim in ("higher", "lower")
    ]
    changes = moved_sentence(
        rights,
        [
            f"{right_label(v.group[0], titles).split(':')[0]} is significantly {claim} "
            + then_words(book, v, where)
            for v, claim in moved
        ],
        lead="Compared with a year before, ",
        none="No right's compliance differs significantly from a year before.",
    )
    n.para(
        f"Table 4 shows, for each right of the Victims' Code, the share of entitlements that "
        f"fell due in {period} which were met by their due date.",
        _extremes(book, ranked, titles, where),
        changes,
        number=where,
    )
    rows = []
    for v in sorted(rights, key=lambda v: right_key(v.group[0])):
        earlier = book.shown(v, "year_ago")
        rows.append(
            (
                right_label(v.group[0], titles),
                book.cite(v, "Table 4", small=True),
                book.cite_count(v, "Table 4"),
                book.cite_n(v, "Table 4"),
                book.cite(v, "Table 4", "year_ago") if earlier else "–",
                sig_word(v),
            )
        )
    n.doc.add(
        Table(
            ("Right", "Met on time", "Met", "Due", "Year before", "Change"),
            tuple(rows),
            caption=f"Table 4: Victims' Code compliance by right, {period}",
            numeric=(False, True, True, True, True, False),
        )
    )
    book.values([m for m, _ in CODE_MEASURES])
    where = n.next()
    vcc = book.value("vcc_agreed")
    updates = book.value("victim_updates_on_time")
    n.para(
        "Table 5 shows the measures of the Code the force manages most closely.",
        f"Victims were updated on time about their investigation in "
        f"{book.cite(updates, where)} of the updates that fell due (n = "
        f"{book.cite_n(updates, where)})." if book.shown(updates) else "",
        change_sentence(book, updates, where) if book.shown(updates)
        else "",
        f"Victim care contracts were agreed with {book.cite(vcc, where)} of the victims for whom "
        f"one fell due (n = {book.cite_n(vcc, where)})."
        if book.shown(vcc) else "",
        change_sentence(book, vcc, where) if book.shown(vcc) else "",
        spc_sentence(updates, subject="Monthly rates of updates on time")
        if book.shown(updates) else "",
        number=where,
    )  # fmt: skip
    n.doc.add(
        measure_table(book, CODE_MEASURES, "Table 5", "Key Victims' Code measures, 12 months")
    )
    add_chart(n, chart, book, "victim_updates_on_time")
    obligations = [v for v in book.values(["compliance_by_obligation"]) if book.shown(v)]
    if obligations:
        otitles = obligation_titles()
        n.para(
            "Table 6 breaks compliance down by obligation, the level at which the ledger "
            "records each victim's entitlement."
        )
        n.doc.add(
            Table(
                ("Obligation", "Met on time", "Due", "Year before", "Change"),
                tuple(
                    (
                        f"{v.group[0]}: {otitles.get(v.group[0], '')}".rstrip(": "),
                        book.cite(v, "Table 6", small=True),
                        book.cite_n(v, "Table 6"),
                        book.cite(v, "Table 6", "year_ago") if book.shown(v, "year_ago") else "–",
                        sig_word(v),
                    )
                    for v in obligations
                ),
                caption="Table 6: Victims' Code compliance by obligation, 12 months",
                numeric=(False, True, True, True, False),
            )
        )


def _extremes(
    book: FigureBook, ranked: list[MetricValue], titles: dict[str, str], where: str
) -> str:
    """Which right had the highest and the lowest compliance (a description of the figures,
    not a test): only among rights with enough entitlements to say so."""
    if len(ranked) < 2:
        return ""
    low = min(ranked, key=lambda v: v.current.value or 0.0)
    high = max(ranked, key=lambda v: v.current.value or 0.0)
    return (
        f"Of the rights with at least {book.catalogue.settings.small_sample} entitlements due, "
        f"compliance was highest for {right_label(high.group[0], titles)}, at "
        f"{book.cite(high, where)}, and lowest for {right_label(low.group[0], titles)}, at "
        f"{book.cite(low, where)}."
    )


# -- 4.3 priority areas ----------------------------------------------------------------------


def _priority(book: FigureBook, n: Numbering, p: Priority) -> None:
    measures = [
        (m, title) for m, title in CODE_MEASURES if p.by in book.catalogue.metric(m).breakdowns
    ]
    book.values([m for m, _ in measures], by=p.by)
    table_no = f"Table {7 + PRIORITIES.index(p)}"
    shown = [
        (v, title)
        for m, title in measures
        if book.shown(v := book.value(m, by=p.by, group=(p.group,)))
    ]
    where = n.next()
    if not shown:
        n.para(f"{p.title}: no Victims' Code entitlement of {p.who} fell due in the period.",
               number=where)  # fmt: skip
        return
    sentences = [f"{p.title}."]
    for v, title in shown[:3]:
        sentence = (
            f"{title}: {book.cite(v, where, small=True)} for {p.who} (n = {book.cite_n(v, where)})"
        )
        if p.others:
            other = book.value(v.metric_id, by=p.by, group=(p.others,))
            if book.shown(other):
                sentence += f", against {book.cite(other, where)} for other victims"
        sentences.append(sentence + ".")
    moved = [
        f"{title} is significantly {c.claim} than a year before " + then_words(book, v, where)
        for v, title in shown
        if (c := change_of(v)) is not None and c.claim in ("higher", "lower")
    ]
    sentences.append(
        moved_sentence(
            [v for v, _ in shown],
            moved,
            lead="For these victims: ",
            none="No measure for these victims differs significantly from a year before.",
        )
    )
    sentences.append(f"{table_no} gives every measure.")
    n.para(*sentences, number=where)
    n.doc.add(
        measure_table(book, measures, table_no,
                      f"{p.title} — Victims' Code measures for {p.who}, 12 months",
                      by=p.by, group=(p.group,))
    )  # fmt: skip


# -- appendices ------------------------------------------------------------------------------


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
        return "none adopted"
    if t.basis == "aggregate":
        return f"{number(t.value, unit)} ({t.source})"
    return (
        f"{number(t.value, unit)} for each case ({t.source}): a standard for each case, so "
        "this figure is not judged against it"
    )


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
            "for late records; docs/metrics.md gives each measure's)."
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


def appendices(book: FigureBook, doc: Document, noun: str = "paper") -> None:
    """Appendix A (every figure cited, with its metric, group, period, numerator and
    denominator) and Appendix B (the definition of every metric cited)."""
    doc.add(PageBreak(), Heading(f"Appendix A: every figure in this {noun}", 1))
    doc.add(
        Paragraph(
            "Each figure quoted above, in order, with the metric it comes from (Appendix B "
            "defines each), the group it is for, its period (marked when provisional), "
            "numerator and denominator (for a median, the number of cases).",
            note=True,
        )
    )
    doc.add(
        Table(
            ("Ref", "Where", "Metric", "Group", "Period", "Numerator", "Denominator", "Figure"),
            tuple(
                (
                    c.ref,
                    c.where,
                    c.metric_id,
                    c.group,
                    f"{c.start:%d/%m/%Y}–{c.end:%d/%m/%Y}" + marks(False, c.provisional),
                    "" if c.numerator is None else f"{c.numerator:,}",
                    "" if c.denominator is None else f"{c.denominator:,}",
                    c.text,
                )
                for c in book.citations
            ),
            caption="Appendix A: figures",
            numeric=(False, False, False, False, False, True, True, True),
        )
    )
    used = list(dict.fromkeys(c.metric_id for c in book.citations))
    doc.add(Heading("Appendix B: definitions", 1))
    doc.add(
        Table(
            ("Metric", "Title", "Definition", "Target"),
            tuple(
                (
                    m,
                    book.catalogue.metric(m).title,
                    " ".join(book.catalogue.metric(m).description.split()),
                    target_text(book, m),
                )
                for m in used
            ),
            caption="Appendix B: the metrics quoted, as defined in vcop's metric catalogue "
            "(docs/metrics.md)",
        )
    )
