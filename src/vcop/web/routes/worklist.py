"""The worklist: victims owed something now, for the signed-in person's scope.

A view of the entitlement ledger: police obligations not yet met, put in the categories a
supervisor works through — updates due today, due on the next working day and overdue; needs
assessments missing; referrals not made; supervisory reviews overdue — and, beside the ledger,
victims the Code's rules make eligible for enhanced rights whom no needs assessment has identified
by that day (with why they are eligible). "Today" is the ledger's
as-of date unless ``?as_of=`` names another; the wall clock is never used. Items come most urgent
first (due today, due next working day, overdue with the most recently due first, then the other
categories) unless ``?sort=`` and ``?dir=`` say otherwise; filters narrow them, ``?view=victim``
puts one victim on a row, and the page shows ``?size=`` rows from ``?page=`` while the twins give
everything the filters select. The queries are in :mod:`vcop.web.journeys`.

A person may state a reason once for the worklist (``POST /worklist/reason``, kept in their
session): journeys opened from the worklist in that session are then logged with it, without
asking again. Each view, export and reason is written to the access log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from math import ceil
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from vcop.web import journeys
from vcop.web.audit import REASONS, reason_errors, reason_text
from vcop.web.auth import Permission, Session
from vcop.web.journeys import CATEGORIES, CRIMES, SORTS
from vcop.web.pages import Column, Ctx, Page, Table, make_ctx, page, render
from vcop.web.routes.common import action, ledger_as_of, no_ledger_note, scope_of

__all__ = ["CATEGORIES", "router"]

router = APIRouter()

#: Rows on one page of the worklist unless ``?size=`` says (the twins have every row).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_PAGE = 1_000_000

#: Overdue items older than this many days are left out unless ``?days=`` asks for more: a
#: worklist is for what can still be done, and a force's ledger holds years of history.
DEFAULT_DAYS = 90
#: The most ``?days=`` may ask for (about 270 years: everything a ledger holds).
MAX_DAYS = 100_000
#: How far past the ledger's own as-of date ``?as_of=`` may read it (beyond that every due date
#: is long past and nothing met since is known: the list would say nothing true).
MAX_AHEAD = timedelta(days=366)

#: ``?view=``: one item on a row, or one victim.
VIEWS: dict[str, str] = {"list": "One row for each item", "victim": "One row for each victim"}
YES_NO: dict[str, bool] = {"yes": True, "no": False}
DIRECTIONS: dict[str, str] = {"asc": "Ascending", "desc": "Descending"}

#: The query parameters the worklist reads, kept in its own links and forms.
KEPT = (
    "category", "as_of", "days", "officer", "obligation", "right", "crime_type", "enhanced",
    "crime", "view", "sort", "dir", "size",
)  # fmt: skip
#: The fields of the filter form (the rest of the query goes with it as hidden fields).
FILTER_FIELDS = (
    "officer", "obligation", "right", "crime_type", "enhanced", "crime", "view", "sort", "dir",
)  # fmt: skip

#: What the worklist's own access-log entries say when no reason was stated for it.
DEFAULT_REASON = "Worklist for own scope"


def _one_of(ctx: Ctx, name: str, allowed: Sequence[str]) -> str | None:
    """The query parameter ``name``, one of the values the worklist's items hold (a list too
    long to repeat in full in the 400's message)."""
    value = ctx.param(name)
    if value is None or value in allowed:
        return value
    listed = ", ".join(allowed[:20]) + (
        f" and {len(allowed) - 20} more" if len(allowed) > 20 else ""
    )
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise HTTPException(
        400,
        f"{name} must be one of the values on your worklist ({listed or 'there are none'}), "
        f"not {shown!r}",
    )


def _link(ctx: Ctx, **changes: object) -> str:
    """This worklist's address with ``changes`` made to its query (None drops a parameter)."""
    query = {k: v for k, v in ctx.request.query_params.items() if k in (*KEPT, "page") and v}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = str(value)
    return "/worklist" + (f"?{urlencode(query)}" if query else "")


@page(router, "/worklist", Permission.record, name="worklist")
def worklist(ctx: Ctx) -> Page:
    """Victims with updates due or overdue, assessments missing, enhanced rights not identified,
    referrals and reviews outstanding."""
    return worklist_page(ctx)


def worklist_page(
    ctx: Ctx, *, errors: dict[str, str] | None = None, chosen: str = "", detail: str = ""
) -> Page:
    """The worklist as asked for by the query; ``errors`` (with what was ``chosen``) are those of
    a reason stated for it that would not do."""
    ledger_date = ledger_as_of(ctx.store)
    stated = ctx.session.reasons.get(journeys.WORKLIST_REASON)
    reason_context = {"reasons": REASONS, "worklist_reason": stated, "errors": errors or {},
                      "chosen": chosen, "detail": detail}  # fmt: skip
    if ledger_date is None:
        return Page(
            title="Worklist", template="worklist.html", notes=[no_ledger_note()],
            context={"categories": CATEGORIES, "counts": {}, "as_of": None, **reason_context},
        )  # fmt: skip
    as_of = ctx.date_param("as_of", hi=ledger_date + MAX_AHEAD, default=ledger_date)
    category = ctx.choice_param("category", CATEGORIES)
    days = ctx.int_param("days", 0, MAX_DAYS, DEFAULT_DAYS)
    scope, scope_params = scope_of(ctx.user)
    choices = journeys.worklist_choices(ctx.store, scope, scope_params)
    officer = _one_of(ctx, "officer", choices.officers)
    obligation = _one_of(ctx, "obligation", [i for i, _ in choices.obligations])
    crime_type = _one_of(ctx, "crime_type", choices.crime_types)
    right = ctx.int_param("right", 1, 12)
    enhanced = ctx.choice_param("enhanced", YES_NO)
    crime = ctx.choice_param("crime", CRIMES)
    view = ctx.choice_param("view", VIEWS, "list")
    sort = ctx.choice_param("sort", SORTS, "priority")
    direction = ctx.choice_param("dir", DIRECTIONS, SORTS[sort][1])
    page_no = ctx.int_param("page", 1, MAX_PAGE, 1)
    size = ctx.int_param("size", 1, MAX_PAGE_SIZE, PAGE_SIZE)

    wl = journeys.Worklist(
        scope, tuple(scope_params), as_of, days, category=category, officer=officer,
        obligation=obligation, right=right, crime_type=crime_type,
        enhanced=None if enhanced is None else YES_NO[enhanced], crime=crime,
    )  # fmt: skip
    counted = journeys.worklist_counts(ctx.store, wl)
    counts = {
        k: sum(n for (c, f), n in counted.items() if c == k and crime in (None, CRIME_OF[f]))
        for k in CATEGORIES
    }
    crime_counts = {
        s: sum(n for (c, f), n in counted.items() if CRIME_OF[f] == s and category in (None, c))
        for s in CRIMES
    }
    items = sum(counts.values()) if category is None else counts[category]
    total = journeys.worklist_victim_count(ctx.store, wl) if view == "victim" else items
    paged = ctx.as_shown
    pages = max(1, ceil(total / size))
    limit, offset = (size, (page_no - 1) * size) if paged else (None, 0)
    if view == "victim":
        rows = journeys.worklist_victims(ctx.store, wl, sort, direction, limit, offset)
        records = [(str(r["victim_id"]), c) for r in rows for c in str(r["crimes"]).split(", ")]
    else:
        rows = journeys.worklist_items(ctx.store, wl, sort, direction, limit, offset)
        records = [(str(r["victim_id"]), str(r["crime_id"])) for r in rows]
    for r in rows:
        r["category_label"] = CATEGORIES[str(r["category"])]

    filters = {"officer": officer, "obligation": obligation, "right": right,
               "crime_type": crime_type, "enhanced": enhanced, "crime": crime}  # fmt: skip
    chosen_filters = "".join(f"; {k}={v}" for k, v in filters.items() if v is not None)
    ctx.log(
        "worklist",
        reason=stated or DEFAULT_REASON,
        detail=f"{len(rows)} row(s); {ctx.user.scope_label}; as of {as_of}; {days} days"
        + (f"; {category}" if category else "")
        + chosen_filters
        + ("; by victim" if view == "victim" else "")
        + (f"; page {page_no} of {pages}" if paged else ""),
        records=records,
    )
    notes = [
        f"Items that fell due more than {days} days before {as_of:%-d %B %Y} are left out; "
        "add ?days=N to the address to see further back."
    ]
    if as_of != ledger_date:
        notes.append(
            f"The ledger was built as of {ledger_date:%-d %B %Y}; it is read here as of "
            f"{as_of:%-d %B %Y}. Anything met after {ledger_date:%-d %B %Y} is not known to it."
        )
    title = CATEGORIES[category] if category else "Everything outstanding"
    if crime:
        title += f": {CRIMES[crime].lower()}"
    table = _victim_table(title, rows) if view == "victim" else _item_table(title, rows)
    first = offset + 1 if rows else 0
    links = {
        "category": {k: _link(ctx, category=k, page=None) for k in CATEGORIES},
        "all_categories": _link(ctx, category=None, page=None),
        "crime": {k: _link(ctx, crime=k, page=None) for k in CRIMES},
        "all_crimes": _link(ctx, crime=None, page=None),
        "prev": _link(ctx, page=page_no - 1) if paged and page_no > 1 else None,
        "next": _link(ctx, page=page_no + 1) if paged and page_no < pages else None,
        "view": {k: _link(ctx, view=k, page=None) for k in VIEWS},
    }
    active = {k: v for k, v in ctx.request.query_params.items() if k in KEPT and v}
    return Page(
        title="Worklist",
        template="worklist.html",
        tables=[table],
        meta={"as_of": as_of, "ledger_as_of": ledger_date, "scope": ctx.user.scope_label,
              "category": category, "counts": counts, "days": days, "filters": filters,
              "crime_counts": crime_counts, "items": items, "view": view, "total": total,
              "sort": sort, "dir": direction, "page": page_no if paged else None,
              "pages": pages if paged else None, "page_size": size if paged else None,
              "reason": stated},
        context={"categories": CATEGORIES, "counts": counts, "as_of": as_of,
                 "category": category, "ledger_as_of": ledger_date, "choices": choices,
                 "crimes": CRIMES, "crime": crime, "crime_counts": crime_counts,
                 "items": items, "total": total, "view": view, "views": VIEWS,
                 "sorts": SORTS, "sort": sort, "dir": direction, "directions": DIRECTIONS,
                 "filters": filters, "page_no": page_no, "pages": pages, "size": size,
                 "first": first, "last": offset + len(rows), "links": links,
                 "hidden_show": {k: v for k, v in active.items()
                                 if k not in ("category", "as_of")},
                 "hidden_filter": {k: v for k, v in active.items() if k not in FILTER_FIELDS},
                 "back": urlencode(active), **reason_context},
        notes=notes,
    )  # fmt: skip


#: Whether an item's crime is finalised -> the ``?crime=`` value that selects it.
CRIME_OF = {True: "finalised", False: "open"}

_VICTIM_LINK = "/victims/{victim_id}?from=worklist"


def _item_table(title: str, rows: list[dict[str, Any]]) -> Table:
    return Table(
        "worklist",
        title,
        [
            Column("category_label", "What"),
            Column("victim_id", "Victim", link=_VICTIM_LINK),
            Column("crime_id", "Crime"),
            Column("title", "Obligation"),
            Column("due_date", "Due", "date"),
            Column("days_overdue", "Days overdue (calendar days)", "number"),
            Column("working_days_overdue", "Working days overdue", "number", data=False),
            Column("enhanced", "Enhanced rights", "bool"),
            Column("crime_type", "Crime type"),
            Column("finalised", "Crime finalised", "bool", data=False),
            Column("unit", "Unit"),
            Column("officer_id", "Officer"),
            Column("category", "Category code", html=False),
            Column("obligation_id", "Obligation id", html=False),
            Column("right", "Right", "number", html=False),
            Column("working_days_overdue", "Working days overdue", "number", html=False),
            Column("finalised", "Crime finalised", "bool", html=False),
            Column("finalised_on", "Crime finalised on", "date", html=False),
            Column("area", "Area", html=False),
            Column("district", "District", html=False),
        ],
        rows,
        caption="Days overdue count every calendar day since the due date; working days overdue "
        "count only working days (Monday to Friday, not bank holidays in England and Wales), the "
        "days the Code's deadlines are set in.",
        empty="Nothing is outstanding in your scope.",
    )


def _victim_table(title: str, rows: list[dict[str, Any]]) -> Table:
    return Table(
        "victims",
        f"{title}, by victim",
        [
            Column("victim_id", "Victim", link=_VICTIM_LINK),
            Column("items", "Items outstanding", "number"),
            Column("obligations", "Obligations outstanding (most urgent first)"),
            Column("category_label", "Most urgent"),
            Column("earliest_due", "Earliest due", "date"),
            Column("days_overdue", "Most days overdue (calendar days)", "number"),
            Column("working_days_overdue", "Most working days overdue", "number"),
            Column("enhanced", "Enhanced rights", "bool"),
            Column("on_finalised", "Items on finalised crimes", "number"),
            Column("crimes", "Crimes"),
            Column("crime_types", "Crime types"),
            Column("officers", "Officers"),
            Column("units", "Units"),
            Column("category", "Most urgent category code", html=False),
            Column("obligation_ids", "Obligation ids", html=False),
        ],
        rows,
        caption="One row for each victim: what the police still owe them on the crimes in your "
        "scope. Days overdue count calendar days; working days overdue count Monday to Friday, "
        "not bank holidays in England and Wales.",
        empty="Nothing is outstanding in your scope.",
    )


@action(router, "/worklist/reason", Permission.record, name="worklist_reason")
def give_worklist_reason(
    request: Request,
    reason: str = Form(""),
    detail: str = Form(""),
    back: str = Form(""),
) -> Response:
    """Record why the person is working through the worklist, for the journeys they open from it
    in this session, then go back to it."""
    ctx = make_ctx(request, "html")
    scope_of(ctx.user)
    detail = detail.strip()
    errors = reason_errors(reason, detail, "working through the worklist")
    if errors:
        form = worklist_page(ctx, errors=errors, chosen=reason, detail=detail)
        form.status_code = 400
        return render(ctx, form)
    session: Session = request.state.session
    text = reason_text(reason, detail)
    session.reasons[journeys.WORKLIST_REASON] = text
    ctx.log(
        "worklist_reason",
        reason=text,
        detail=f"reason for journeys opened from the worklist in this session; "
        f"{ctx.user.scope_label}",
    )
    query = urlencode([(k, v) for k, v in parse_qsl(back[:2000]) if k in KEPT])
    return RedirectResponse("/worklist" + (f"?{query}" if query else ""), status_code=303)
