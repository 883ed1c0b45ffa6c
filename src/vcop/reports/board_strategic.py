"""Section 4.1 of the board paper, the strategic measures: victim satisfaction overall (against a
year before, tested, and the rolling year a quarter earlier, described), what drove a significant
change (by district), by policing area and district, by aspect of service (the weakest, with its
range across areas and districts), burglary victims, the domestic abuse survey, and median response
times by grade and for dwelling burglary and domestic abuse incidents, with the reasons for
delayed attendance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise

from vcop.metrics.engine import data_start
from vcop.metrics.periods import add_months, month_end
from vcop.metrics.received import compare_received
from vcop.metrics.values import MetricValue
from vcop.reports.figures import FigureBook, period_words
from vcop.reports.narrative import (
    change_of,
    change_sentence,
    compared_sentences,
    drivers_sentence,
    moved_phrase,
    spc_sentence,
    steady_sentence,
)
from vcop.reports.parts import (
    Charter,
    Numbering,
    add_chart,
    marked_table,
    measure_rows,
    measure_table,
)

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
#: The incident type whose delay reasons the paper reports, and the reason it dwells on.
DA_INCIDENT = "Domestic abuse"
RESOURCES = "resource_availability"


def _quarter_earlier(book: FigureBook, metric_ids: Sequence[str]) -> dict[str, MetricValue]:
    """The rolling year a quarter earlier (the 12 months ending three month ends before the
    as-of date), of each of ``metric_ids``, overall, as the engine computes it for that date
    (none for a partner release, which holds its own as-of date only)."""
    if book.release is not None or book.backend is None:
        return {}
    as_of = month_end(add_months(book.as_of.replace(day=1), -3))
    earlier = book.as_of_date(as_of)
    start = data_start(book.backend)
    if start is None or start > add_months(as_of + timedelta(days=1), -12):
        return {}  # the data do not cover that year
    earlier.values(list(metric_ids))
    return {m: v for m in metric_ids if book.shown(v := earlier.value(m))}


def _quarter_words(
    book: FigureBook, v: MetricValue, earlier: MetricValue | None, where: str
) -> str:
    """The rolling year a quarter earlier, described (the two years share nine months, so the
    difference is not tested)."""
    if earlier is None:
        return ""
    return (
        f"A quarter earlier, in {period_words(earlier.current, earlier.period)}, it was "
        f"{book.cite(earlier, where, small=True)} (n = {book.cite_n(earlier, where)}); the two "
        "periods share nine months, so that difference is described, not tested."
    )


def _spread(book: FigureBook, metric_id: str, by: str, where: str) -> str:
    """The range of a figure across the groups of ``by`` with enough cases to say so: "from
    68.0% in South (n = 900) to 72.3% in North (n = 1,500)"."""
    missing = book.catalogue.breakdown(by).missing_label
    small = book.catalogue.settings.small_sample
    groups = [
        v
        for v in book.values([metric_id], by=by)
        if book.shown(v) and v.group[-1] != missing and (v.current.denominator or 0) >= small
    ]
    if len(groups) < 2:
        return ""
    lo = min(groups, key=lambda v: v.current.value or 0.0)
    hi = max(groups, key=lambda v: v.current.value or 0.0)
    return (
        f"from {book.cite(lo, where)} in {lo.group[-1]} (n = {book.cite_n(lo, where)}) "
        f"to {book.cite(hi, where)} in {hi.group[-1]} (n = {book.cite_n(hi, where)})"
    )


def _parts(book: FigureBook, metric_id: str, by: str) -> list[tuple[MetricValue, str]]:
    """Every group of a breakdown of an overall figure (the not-recorded group too: together
    they are the whole), named as the reader knows them."""
    missing = book.catalogue.breakdown(by).missing_label
    return [
        (v, v.group[-1] if v.group[-1] != missing else f"{by}s not recorded")
        for v in book.values([metric_id], by=by)
    ]


def satisfaction(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
    ids = [m for m, _ in SATISFACTION]
    book.values(ids)
    whole = book.value("satisfaction_whole_experience")
    if whole is None or not book.shown(whole):
        n.para("No victim survey responses fall in the period: satisfaction cannot be reported.")
        return
    family = book.comparisons
    where = n.next()
    period = period_words(whole.current, whole.period)
    missing = book.catalogue.breakdown("area").missing_label
    quarter = _quarter_earlier(book, ids)
    areas = [
        v
        for v in book.values(["satisfaction_whole_experience"], by="area")
        if book.shown(v) and v.group[0] != missing
    ]
    area_text = ""
    if areas:
        parts = [
            f"{v.group[0]} {book.cite(v, where, small=True)} (n = {book.cite_n(v, where)})"
            for v in areas
        ]
        moved = [
            moved_phrase(book, v, where, v.group[0])
            for v in areas
            if (c := change_of(v, "year_ago", family)) is not None
            and c.claim in ("higher", "lower")
        ]
        area_text = " ".join(
            t
            for t in (
                "By policing area: " + "; ".join(parts) + ".",
                "; ".join(moved) + "." if moved else "",
                steady_sentence(book, [(v, v.group[0]) for v in areas]),
            )
            if t
        )
    districts = _spread(book, whole.metric_id, "district", where)
    # quality beside process: the gap between victims whose updates were all on time and the rest
    (gap,) = compare_received(
        book.catalogue,
        {
            "updates_on_time": [
                v for v in book.values([whole.metric_id], by="updates_on_time") if v.group
            ]
        },
    )
    n.para(
        f"{book.cite_n(whole, where)} victims of crime surveyed in {period} answered the "
        f"question on the whole experience, with {book.cite(whole, where)} of them at least "
        "fairly satisfied.",
        change_sentence(book, whole, where),
        _quarter_words(book, whole, quarter.get(whole.metric_id), where),
        drivers_sentence(book, whole, _parts(book, whole.metric_id, "district"), where,
                         by="district"),
        area_text,
        f"By district it ranged {districts}; smaller samples fluctuate more."
        if districts else "",
        spc_sentence(whole),
        f"{gap.sentence()[:-1]}: {book.cite(gap.yes, where, small=True)} against "
        f"{book.cite(gap.no, where, small=True)}."
        if gap.difference is not None else "",
        number=where,
    )  # fmt: skip
    n.doc.add(
        marked_table(
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
            measure_rows(book, SATISFACTION, "Table 1"),
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
        by_area = _spread(book, low.metric_id, "area", where)
        by_district = _spread(book, low.metric_id, "district", where)
        ranges = [f"by policing area {by_area}" if by_area else "",
                  f"by district {by_district}" if by_district else ""]  # fmt: skip
        ranges = [r for r in ranges if r]
        others = [(v, t.split(" (")[0].lower()) for v, t in dims if v is not low]
        steady = steady_sentence(book, others)
        n.para(
            f"{title} attracts the lowest level of satisfaction of the aspects of service, at "
            f"{book.cite(low, where)} (n = {book.cite_n(low, where)}).",
            change_sentence(book, low, where, subject="It"),
            _quarter_words(book, low, quarter.get(low.metric_id), where),
            f"It ranged {' and '.join(ranges)}." if ranges else "",
            recent,
            f"Of the other aspects, {steady[0].lower()}{steady[1:]}" if steady else "",
            number=where,
        )
    burglary = book.value("satisfaction_whole_experience", by="crime_type", group=("Burglary",))
    follow = book.value("satisfaction_follow_up", by="crime_type", group=("Burglary",))
    if book.shown(burglary):
        where = n.next()
        n.para(
            f"Of victims of burglary, {book.cite(burglary, where, small=True)} "
            f"(n = {book.cite_n(burglary, where)}) were at least fairly satisfied with the whole "
            "experience"
            + (
                f", and {book.cite(follow, where, small=True)} (n = {book.cite_n(follow, where)}) "
                "with follow-up."
                if book.shown(follow)
                else "."
            ),
            compared_sentences(
                book,
                [(burglary, "their satisfaction with the whole experience")]
                + ([(follow, "with follow-up")] if book.shown(follow) else []),
                where,
            ),
            number=where,
        )
    book.values([m for m, _ in DA_SATISFACTION])
    da = book.value("da_satisfaction_whole_experience")
    da_follow = book.value("da_satisfaction_follow_up")
    if book.shown(da):
        where = n.next()
        n.para(
            "In the domestic abuse victim survey, "
            f"{book.cite(da, where, small=True)} (n = {book.cite_n(da, where)}) of the victims "
            f"surveyed in {period_words(da.current, da.period)} were at least fairly satisfied "
            "with the whole experience"
            + (
                f", and {book.cite(da_follow, where, small=True)} "
                f"(n = {book.cite_n(da_follow, where)}) with follow-up (being kept informed)."
                if book.shown(da_follow)
                else "."
            ),
            compared_sentences(
                book,
                [(da, "satisfaction with the whole experience")]
                + ([(da_follow, "with follow-up")] if book.shown(da_follow) else []),
                where,
            ),
            number=where,
        )
        n.doc.add(
            measure_table(book, DA_SATISFACTION, "Table 2",
                          "Domestic abuse victim survey, 12 months, by aspect of service",
                          first="Aspect of service")
        )  # fmt: skip
    add_chart(n.doc, chart, book, "satisfaction_whole_experience")


def response(book: FigureBook, n: Numbering, chart: Charter | None) -> None:
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
        f"{book.cite(immediate, where, small=True)} (n = {book.cite_n(immediate, where)} "
        "incidents)"
        + (
            f"; for prompt-grade incidents it was {book.cite(prompt, where, small=True)} "
            f"(n = {book.cite_n(prompt, where)})."
            if book.shown(prompt)
            else "."
        ),
        compared_sentences(
            book,
            [(immediate, "the immediate-grade median")]
            + ([(prompt, "the prompt-grade median")] if book.shown(prompt) else []),
            where,
            which="previous",
        ),
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
            compared_sentences(book, [(burglary, "This")], where, which="previous"),
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
            delay += " " + compared_sentences(
                book, [(da_share, "This share")], where, which="previous"
            )
        n.para(
            f"The median time to attend prompt-grade domestic abuse incidents was "
            f"{book.cite(da, where, small=True)} in {month} (n = {book.cite_n(da, where)}).",
            compared_sentences(book, [(da, "This")], where, which="previous"),
            delay.strip(),
            number=where,
        )
    n.doc.add(
        marked_table(
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
    add_chart(n.doc, chart, book, "response_time_median_immediate")
