"""Sections 4.2 and 4.3 of the board paper: Victims' Code compliance by right, the key measures,
the weakest obligations (and every obligation, for Appendix C), and the month's priority areas;
with the caveat that low rates owed before finalisation carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vcop.metrics.values import MetricValue
from vcop.reports.document import Table
from vcop.reports.figures import FigureBook, period_words
from vcop.reports.narrative import (
    change_of,
    change_sentence,
    compared_sentences,
    drivers_sentence,
    listing,
    moved_phrase,
    moved_sentence,
    size_words,
    spc_sentence,
)
from vcop.reports.parts import (
    Charter,
    Numbering,
    add_chart,
    before_finalisation,
    marked_table,
    measure_table,
    obligation_key,
    obligation_titles,
    right_key,
    right_label,
    right_of,
    right_titles,
    sig_word,
)
from vcop.spec.returns import load_return

#: The Victims' Code measures shown for the force and each priority area. Care contracts are
#: counted twice, and named so the two are not confused: agreed at all (on time or late), here,
#: and agreed by the due date (the obligation, in the tables by obligation).
CODE_MEASURES = (
    ("needs_assessment_on_time", "Needs assessments completed on time"),
    ("support_referral_on_time", "Referrals to support services on time (Right 4)"),
    ("victim_updates_on_time", "Updates on time about the investigation (Right 6)"),
    ("vcc_agreed", "Victim care contracts agreed, on time or late"),
    ("vcc_updates_on_time", "Care-contract updates given on time"),
    ("vcs_referral_on_time", "Referrals to the Victim Contact Scheme on time (Right 11)"),
    ("supervisory_reviews_overdue", "Supervisory reviews overdue"),
)
#: The obligation behind ``vcc_agreed``, whose compliance is the share agreed by the due date.
CARE_CONTRACT = "R6.care-contract-agreed"
#: How many of the weakest obligations the body of the paper shows (Appendix C shows them all).
WEAKEST = 8
#: A compliance rate below this, for an obligation owed before finalisation, carries the caveat
#: the quarterly return's notes carry (the rate counts only offers recorded by finalisation).
LOW_RATE = 0.5


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


def _owed_before_finalisation(right: str) -> bool:
    """Whether a right's obligations include one owed before the crime is finalised."""
    return any(right_of(o) == right for o in before_finalisation())


def compliance(book: FigureBook, n: Numbering, chart: Charter | None) -> Table | None:
    """Compliance by right (Table 4) with what drove a significant change (by obligation and by
    district), the key measures (Table 5), the weakest obligations (Table 6) and the districts
    where they are weakest, what moved among all the obligations, and the MoJ's five areas;
    returns the table of every obligation, for Appendix C (its figures are cited
    here, so Appendix A lists them)."""
    family = book.comparisons
    rights = [v for v in book.values(["compliance_by_right"]) if book.shown(v)]
    if not rights:
        n.para(
            "No Victims' Code entitlement fell due in the period (or the ledger is missing): "
            "compliance cannot be reported."
        )
        return None
    titles = right_titles()
    where = n.next()
    # highest and lowest: of the Code's rights, each on at least small_sample entitlements
    ranked = [v for v in rights if v.group[0].isdigit() and not v.small_sample]
    period = period_words(rights[0].current, rights[0].period)
    moved = [
        moved_phrase(book, v, where, right_label(v.group[0], titles).split(":")[0])
        for v in sorted(rights, key=lambda v: right_key(v.group[0]))
        if (c := change_of(v, "year_ago", family)) is not None and c.claim in ("higher", "lower")
    ]
    changes = moved_sentence(
        rights,
        moved,
        lead="",
        none="No right's compliance differs significantly from a year before.",
        family=family,
    )
    n.para(
        f"Table 4 shows, for each right of the Victims' Code, the share of entitlements that "
        f"fell due in {period} which were met by their due date.",
        _extremes(book, ranked, titles, where),
        changes,
        *(said := _right_drivers(book, rights, where)),
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
                book.cite(v, "Table 4", "year_ago", small=True) if earlier else "–",
                sig_word(v, "year_ago", book),
            )
        )
    n.doc.add(
        marked_table(
            ("Right", "Met on time", "Met", "Due", "Year before", "Change"),
            tuple(rows),
            caption=f"Table 4: Victims' Code compliance by right, {period}",
            numeric=(False, True, True, True, True, False),
        )
    )
    book.values([m for m, _ in CODE_MEASURES])
    obligations = {v.group[0]: v for v in book.values(["compliance_by_obligation"])}
    where = n.next()
    vcc = book.value("vcc_agreed")
    vcc_on_time = obligations.get(CARE_CONTRACT)
    updates = book.value("victim_updates_on_time")
    n.para(
        "Table 5 shows the measures of the Code the force manages most closely.",
        f"Victims were updated on time about their investigation in "
        f"{book.cite(updates, where)} of the updates that fell due (n = "
        f"{book.cite_n(updates, where)})." if book.shown(updates) else "",
        change_sentence(book, updates, where) if book.shown(updates)
        else "",
        _unsaid(drivers_sentence(book, updates, _district_parts(book, updates), where,
                                 by="district"), said)
        if book.shown(updates) else "",
        f"Victim care contracts were agreed, on time or late, with {book.cite(vcc, where)} of "
        f"the victims for whom one fell due (n = {book.cite_n(vcc, where)})."
        if book.shown(vcc) else "",
        compared_sentences(book, [(vcc, "This")], where) if book.shown(vcc) else "",
        f"Agreed by the due date (the obligation's own measure, in Appendix C), the share is "
        f"{book.cite(vcc_on_time, where)}."
        if book.shown(vcc) and book.shown(vcc_on_time) else "",
        spc_sentence(updates, subject="Monthly rates of updates on time")
        if book.shown(updates) else "",
        number=where,
    )  # fmt: skip
    n.doc.add(
        measure_table(book, CODE_MEASURES, "Table 5", "Key Victims' Code measures, 12 months")
    )
    add_chart(n.doc, chart, book, "victim_updates_on_time")
    shown = sorted(
        (v for v in obligations.values() if book.shown(v)), key=lambda v: obligation_key(v.group[0])
    )
    if not shown:
        return None
    table = _obligations(book, n, shown)
    _moj_areas(book, n, obligations)
    return table


def _unsaid(sentence: str, said: Sequence[str]) -> str:
    """A drivers sentence, unless a right's (the same figures: Right 6 and updates on time
    count the same entitlements) already said it."""
    return "" if any(t.endswith(sentence.removeprefix("By ")) for t in said) else sentence


def _district_parts(book: FigureBook, v: MetricValue) -> list[tuple[MetricValue, str]]:
    """Every district's value of the metric of ``v`` (within ``v``'s group of its grouping):
    together, the whole of ``v``."""
    missing = book.catalogue.breakdown("district").missing_label
    return [
        (d, d.group[-1] if d.group[-1] != missing else "crimes with no district recorded")
        for d in book.values([v.metric_id], by="district")
        if d.group[:-1] == v.group
    ]


def _right_drivers(book: FigureBook, rights: Sequence[MetricValue], where: str) -> list[str]:
    """For each right whose compliance moved significantly, which of its obligations and which
    districts made up most of the change."""
    family = book.comparisons
    titles = obligation_titles()
    duties = [
        v for v in book.values(["compliance_by_obligation"]) if v.breakdown == ("obligation",)
    ]
    out = []
    for v in sorted(rights, key=lambda v: right_key(v.group[0])):
        c = change_of(v, "year_ago", family)
        if c is None or c.claim not in ("higher", "lower") or not v.group[0].isdigit():
            continue
        label = f"Right {v.group[0]}"
        mine = [(d, _short(titles.get(d.group[0], d.group[0])))
                for d in duties if right_of(d.group[0]) == v.group[0]]  # fmt: skip
        for parts, by in ((mine, "obligation"), (_district_parts(book, v), "district")):
            if by == "obligation" and len(parts) < 2:
                continue
            text = drivers_sentence(book, v, parts, where, by=by)
            if text:
                out.append(text.replace("By ", f"For {label}, by ", 1))
    return out


def _short(title: str) -> str:
    """An obligation's title as a phrase inside a sentence, quoted."""
    return f"“{title}”"


def _obligation_row(book: FigureBook, v: MetricValue, where: str) -> tuple[str, ...]:
    oid = v.group[0]
    right = right_of(oid)
    return (
        right or "local",
        obligation_titles().get(oid, oid),
        book.cite(v, where, small=True),
        book.cite_n(v, where),
        book.cite(v, where, "year_ago", small=True) if book.shown(v, "year_ago") else "–",
        sig_word(v, "year_ago", book),
    )


OBLIGATION_COLUMNS = ("Right", "Obligation", "Met on time", "Due", "Year before", "Change")
OBLIGATION_NUMERIC = (False, False, True, True, True, False)


def _obligations(book: FigureBook, n: Numbering, shown: Sequence[MetricValue]) -> Table:
    """The weakest obligations in the body (Table 6) and where each is weakest, what moved among
    them all, and the table of every obligation for Appendix C."""
    titles = obligation_titles()
    small = book.catalogue.settings.small_sample
    sized = [v for v in shown if not v.small_sample]
    weakest = sorted(sized, key=lambda v: v.current.value or 0.0)[:WEAKEST]
    where = n.next()
    n.para(
        f"Table 6 shows the {len(weakest)} obligations with the lowest compliance, of those "
        f"with at least {small} entitlements due; Appendix C gives every obligation.",
        _weakest_where(book, weakest[:WHERE], titles, where),
        _obligations_moved(book, shown, titles),
        number=where,
    )
    n.doc.add(
        marked_table(
            OBLIGATION_COLUMNS,
            tuple(
                _obligation_row(book, v, "Table 6")
                for v in sorted(weakest, key=lambda v: obligation_key(v.group[0]))
            ),
            caption="Table 6: The obligations with the lowest compliance, 12 months",
            numeric=OBLIGATION_NUMERIC,
        )
    )
    return marked_table(
        OBLIGATION_COLUMNS,
        tuple(_obligation_row(book, v, "Appendix C") for v in shown),
        caption="Appendix C: Victims' Code compliance by obligation, 12 months",
        numeric=OBLIGATION_NUMERIC,
        compact=True,
    )


#: How many of the weakest obligations the text says where they are weakest.
WHERE = 4


def _weakest_where(
    book: FigureBook, weakest: Sequence[MetricValue], titles: dict[str, str], where: str
) -> str:
    """Where each of the weakest obligations is weakest: the district with the lowest
    compliance among those with enough entitlements due, and the range across districts."""
    if not weakest:
        return ""
    small = book.catalogue.settings.small_sample
    missing = book.catalogue.breakdown("district").missing_label
    by_district = book.values(["compliance_by_obligation"], by="district")
    parts = []
    for v in weakest:
        places = [
            d
            for d in by_district
            if d.group[0] == v.group[0] and d.group[-1] != missing and book.shown(d)
            and (d.current.denominator or 0) >= small
        ]  # fmt: skip
        title = _short(titles.get(v.group[0], v.group[0]))
        right = right_of(v.group[0])
        text = f"{title} ({f'Right {right}: ' if right else ''}{book.cite(v, where)}"
        if len(places) >= 2:
            lo = min(places, key=lambda d: d.current.value or 0.0)
            hi = max(places, key=lambda d: d.current.value or 0.0)
            text += (
                f"; by district from {book.cite(lo, where)} in {lo.group[-1]} (n = "
                f"{book.cite_n(lo, where)}) to {book.cite(hi, where)} in {hi.group[-1]}"
            )
        parts.append(text + ")")
    caveat = ""
    if any(
        v.group[0] in before_finalisation() and (v.current.value or 0.0) < LOW_RATE for v in weakest
    ):
        caveat = (
            " The lowest rates are of obligations owed before the crime is finalised: see the "
            "caveats on such rates."
        )
    return f"The weakest are {'; '.join(parts)}.{caveat}"


def _obligations_moved(
    book: FigureBook, shown: Sequence[MetricValue], titles: dict[str, str]
) -> str:
    """What moved among all the obligations, compactly: those significantly higher and those
    significantly lower than a year before, each with its size and interval; the rest in a
    few words."""
    family = book.comparisons
    compared = [(v, c) for v in shown if (c := change_of(v, "year_ago", family)) is not None]
    if not compared:
        if shown and all(not v.comparable for v in shown):
            return "These figures are not compared with a year before (see the caveats below)."
        return "There are no figures from a year before to compare with."
    sentences = []
    for claim in ("higher", "lower"):
        moved = [(v, c) for v, c in compared if c.claim == claim]
        if not moved:
            continue
        moved.sort(key=lambda vc: -abs(vc[1].size or 0.0))
        items = [
            f"{_short(titles.get(v.group[0], v.group[0]))}, "
            + (f"by {size_words(c, v.unit, direction=False)}: a small change" if c.small
               else size_words(c, v.unit))
            for v, c in moved
        ]  # fmt: skip
        count = len(moved)
        noun = (
            "One obligation is"
            if count == 1
            else f"{_NUMBERS.get(count, str(count))} obligations are"
        )
        sentences.append(
            f"{noun[0].upper()}{noun[1:]} significantly {claim} than a year before: "
            f"{'; '.join(items)}."
        )
    rest = len(compared) - sum(c.claim in ("higher", "lower") for _, c in compared)
    if sentences and rest:
        sentences.append(
            f"The other {rest} compared with a year before are within normal variation or "
            "unchanged."
        )
    if not sentences:
        sentences.append("No obligation's compliance differs significantly from a year before.")
    return " ".join(sentences)


_NUMBERS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight",
            9: "Nine", 10: "Ten"}  # fmt: skip


def _moj_areas(book: FigureBook, n: Numbering, obligations: dict[str, MetricValue]) -> None:
    """The five areas the Ministry of Justice asks forces about (the quarterly return's
    definition), each with the figure that answers it over the 12 months, or why the force's
    data cannot."""
    definition = load_return()
    rights = {
        v.group[0]: v for v in book.cached("compliance_by_right") if v.breakdown == ("right",)
    }
    where = n.next()
    parts = []
    for area in definition.areas:
        figures = []
        for m in area.measures:
            if m.kind == "not_held":
                figures.append("not held in the force's data")
                continue
            if m.kind == "obligation":
                v = obligations.get(m.group[0])
            elif m.kind == "right":
                v = rights.get(m.group[0])
            else:
                assert m.metric_id is not None
                book.values([m.metric_id])
                v = book.value(m.metric_id)
            if not book.shown(v):
                figures.append("no figure for the period")
                continue
            label = m.label[0].lower() + m.label[1:]
            figures.append(
                f"{book.cite(v, where, small=True)} ({label}, n = {book.cite_n(v, where)})"
            )
        parts.append(f"({area.number}) {area.title}, {listing(figures)}")
    count = _NUMBERS.get(len(definition.areas), str(len(definition.areas))).lower()
    n.para(
        f"Against the {count} areas the Ministry of Justice asks forces to "
        "evidence in the quarterly compliance return, over the 12 months: "
        + "; ".join(parts)
        + ".",
        number=where,
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
    caveat = ""
    if _owed_before_finalisation(low.group[0]) and (low.current.value or 0.0) < LOW_RATE:
        caveat = " (owed before the crime is finalised: see the caveats on such low rates)"
    return (
        f"Of the rights with at least {book.catalogue.settings.small_sample} entitlements due, "
        f"compliance was highest for {right_label(high.group[0], titles)}, at "
        f"{book.cite(high, where)}, and lowest for {right_label(low.group[0], titles)}, at "
        f"{book.cite(low, where)}{caveat}."
    )


def priority(book: FigureBook, n: Numbering, p: Priority) -> None:
    family = book.comparisons
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
                sentence += f", against {book.cite(other, where, small=True)} for other victims"
        sentences.append(sentence + ".")
    moved = [
        moved_phrase(book, v, where, title)
        for v, title in shown
        if (c := change_of(v, "year_ago", family)) is not None and c.claim in ("higher", "lower")
    ]
    sentences.append(
        moved_sentence(
            [v for v, _ in shown],
            moved,
            lead="For these victims: ",
            none="No measure for these victims differs significantly from a year before.",
            family=family,
        )
    )
    sentences.append(f"{table_no} gives every measure.")
    n.para(*sentences, number=where)
    n.doc.add(
        measure_table(book, measures, table_no,
                      f"{p.title} — Victims' Code measures for {p.who}, 12 months",
                      by=p.by, group=(p.group,))
    )  # fmt: skip


def low_before_finalisation(book: FigureBook) -> list[str]:
    """The rights and obligations quoted whose compliance is low and which are owed before the
    crime is finalised ("Right 5 (15.2%)"), in the Code's order."""
    titles = right_titles()
    otitles = obligation_titles()
    out: list[str] = []
    rights = [v for v in book.cached("compliance_by_right") if v.breakdown == ("right",)]
    for v in sorted(rights, key=lambda v: right_key(v.group[0])):
        low = book.shown(v) and (v.current.value or 0) < LOW_RATE
        if low and _owed_before_finalisation(v.group[0]):
            out.append(right_label(v.group[0], titles).split(":")[0])
    listed = set(out)
    duties = [v for v in book.cached("compliance_by_obligation") if v.breakdown == ("obligation",)]
    for v in sorted(duties, key=lambda v: obligation_key(v.group[0])):
        low = book.shown(v) and (v.current.value or 0) < LOW_RATE
        right = f"Right {right_of(v.group[0])}"
        if low and v.group[0] in before_finalisation() and right not in listed:
            out.append(f"“{otitles.get(v.group[0], v.group[0])}” ({right})")
    return out
