"""Section 4.1 of the board paper, the strategic measures: victim satisfaction overall, by policing
area and by aspect of service, burglary victims, the domestic abuse survey, and median response
times by grade and for dwelling burglary and domestic abuse incidents, with the reasons for
delayed attendance."""

from __future__ import annotations

from itertools import pairwise

from vcop.reports.figures import FigureBook, period_words
from vcop.reports.narrative import (
    change_of,
    change_sentence,
    moved_phrase,
    moved_sentence,
    spc_sentence,
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
        area_text = "By policing area: " + "; ".join(parts) + ". " + moved_sentence(
            areas, moved, lead="", family=family,
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
            "In the domestic abuse victim survey, "
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
        "incidents).",
        change_sentence(book, immediate, where, which="previous", subject="This"),
        f"For prompt-grade incidents it was {book.cite(prompt, where, small=True)} "
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
