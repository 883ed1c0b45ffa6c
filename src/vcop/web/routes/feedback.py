"""Officer and unit feedback: what victims said about the service, per investigating unit and per
officer in charge (``feedback_whole_experience``: the satisfaction survey and Victim Voice).

A unit's or officer's figure is shown only when at least the ``survey.feedback_min_answers``
setting's number of victims answered (default 10); a smaller one says so instead, so no one
reads a rate into two or three answers. Who sees what: analysts every unit and officer; a
supervisor the units and officers of their own scope (area, district, unit); an officer only
their own feedback. Comparison tables are not for officers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vcop.metrics.values import MetricValue
from vcop.web.auth import Permission, Role
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.routes.figures import show
from vcop.web.routes.metric_pages import (
    common_meta,
    figures_of,
    no_values_page,
    period_context,
    period_of,
)
from vcop.web.splits import scope_filters, scope_title

router = APIRouter()

#: The measure feedback is given on.
FEEDBACK_METRIC = "feedback_whole_experience"


def too_few(minimum: int) -> str:
    return f"fewer than {minimum} answers"


def feedback_row(v: MetricValue, minimum: int) -> dict[str, Any]:
    """One unit's or officer's figure: shown with its interval when ``minimum`` victims or more
    answered, otherwise only that there were too few answers."""
    n = v.current.denominator or 0
    row: dict[str, Any] = {"group": v.group[-1] if v.group else "all", "shown": n >= minimum}
    if n < minimum or v.current.value is None:
        return {**row, "n": None, "value_text": too_few(minimum), "interval": None}
    lo, hi = v.current.ci_low, v.current.ci_high
    return {
        **row,
        "n": n,
        "value_text": show(v.current.value, "proportion"),
        "interval": None
        if lo is None or hi is None
        else f"{show(lo, 'proportion')} to {show(hi, 'proportion')}",
    }


COLUMNS = [
    Column("value_text", "Satisfied with the whole experience", "number"),
    Column("n", "Answers (n)", "number"),
    Column("interval", "95% interval"),
]


@page(router, "/feedback", Permission.record, name="feedback")
def feedback(ctx: Ctx) -> Page:
    """Satisfaction per unit and per officer (analysts, supervisors), or one's own (officers)."""
    title = "Feedback from victims"
    figs = figures_of(ctx)
    period = period_of(ctx)
    if figs.as_of is None:
        return no_values_page(title, figs.notes or ["No data has been loaded yet."], ctx, period)
    minimum = ctx.request.app.state.vcop.feedback_min_answers
    user = ctx.user
    scope = scope_filters(user)
    if user.role is Role.officer and (scope is None or "officer" not in scope):
        return Page(
            title=title,
            template="metrics.html",
            notes=["Your account is not linked to an officer id: there is no feedback to show."],
            context=period_context(ctx, period),
        )
    if user.role is Role.supervisor and scope is None:
        return Page(
            title=title,
            template="metrics.html",
            notes=["Your account is not linked to a unit or place: there is no feedback to show."],
            context=period_context(ctx, period),
        )
    tables: list[Table] = []
    if user.role is Role.officer:
        result = figs.result(period, None, FEEDBACK_METRIC, scope)
        rows = [feedback_row(v, minimum) for v in result.values if not v.breakdown]
        tables.append(
            Table(
                "own",
                "Your feedback",
                [Column("group", "Victims of your cases"), *COLUMNS],
                [{**r, "group": "Your cases"} for r in rows],
                empty="No victim of your cases has answered in the period.",
            )
        )
    else:
        for by, heading, what in (
            ("unit", "By investigating unit", "Unit"),
            ("officer", "By officer in charge", "Officer"),
        ):
            result = figs.result(period, by, FEEDBACK_METRIC, scope)
            rows = [feedback_row(v, minimum) for v in result.values if v.breakdown == (by,)]
            rows.sort(key=lambda r: (not r["shown"], r["group"]))
            tables.append(
                Table(
                    by,
                    heading,
                    [Column("group", what), *COLUMNS],
                    rows,
                    empty="No answers in the period.",
                )
            )
    notes = [
        f"A figure is shown only where at least {minimum} victims answered; otherwise "
        f"“{too_few(minimum)}”.",
        "Victims' answers to the satisfaction survey and the Victim Voice questionnaire, "
        "against the crime's investigating unit and officer in charge when they answered.",
    ]
    if scope is not None:
        notes.append(f"{scope_title(scope)}.")
    return Page(
        title=title,
        template="metrics.html",
        tables=tables,
        meta=common_meta(ctx, figs.as_of, period, ""),
        notes=notes,
        context={**period_context(ctx, period), "as_of": figs.as_of},
    )
