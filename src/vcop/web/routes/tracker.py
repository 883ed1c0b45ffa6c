"""The inspection tracker's page: what is overdue, what changed since a date (the last board),
and every recommendation with its status and the report's response due date.

It holds no victim data, so every role that sees aggregate pages may read it (partners too: the
recommendations are theirs as much as the force's). Its downloads (CSV, JSON, PDF) are exports
and are logged (DECISIONS "Data protection": tracker exports).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from vcop.qa import tracker
from vcop.spec.agencies import agency_name
from vcop.web.auth import Permission
from vcop.web.pages import Column, Ctx, Page, Table, page

router = APIRouter()

#: "Changed since" when the page is not given a date: the last 30 days.
DEFAULT_SINCE_DAYS = 30


@page(router, "/tracker", Permission.aggregate, name="tracker")
def tracker_page(ctx: Ctx) -> Page:
    """Inspection recommendations: overdue, changed since a date, and all of them."""
    as_of = ctx.date_param("as_of", default=ctx.now.date())
    since = ctx.date_param("since", hi=as_of, default=as_of - timedelta(days=DEFAULT_SINCE_DAYS))
    rows = tracker.items_as_of(ctx.ops, as_of)
    responses = tracker.responses(ctx.ops, as_of)
    overdue = [
        {"item": s.report.report_id, "what": "The PCC's comments on the report (s.55)",
         "owner": "Police and Crime Commissioner", "due": s.report.response_due,
         "status": "overdue", "days_overdue": (as_of - s.report.response_due).days}
        for s in responses if s.overdue
    ] + [
        {"item": r.item.key, "what": r.item.text, "owner": r.item.owner, "due": r.item.due_by,
         "status": r.status.value, "days_overdue": (as_of - r.item.due_by).days}
        for r in rows if r.overdue(as_of) and r.item.due_by is not None
    ]  # fmt: skip
    changed = [
        {"item": r.item.key, "status": h.status.value, "changed_on": h.changed_on,
         "note": h.note, "evidence": h.evidence}
        for r, h in tracker.changed_since(rows, since)
    ]  # fmt: skip
    items = [
        r.as_dict(as_of)
        | {"item": r.item.key, "kind_label": tracker.KIND_LABELS[r.item.kind],
           "agency_label": agency_name(r.item.agency) if r.item.agency else None}
        for r in rows
    ]  # fmt: skip
    reports = [
        {"report_id": s.report.report_id, "title": s.report.title,
         "inspectorate": s.report.inspectorate, "published_on": s.report.published_on,
         "response_due": s.report.response_due, "responded_on": s.report.responded_on,
         "response": s.state, "origin": s.report.origin}
        for s in responses
    ]  # fmt: skip
    if not ctx.as_shown or ctx.fmt == "pdf":
        ctx.log("tracker", detail=f"as_of={as_of} since={since}; {len(items)} item(s)")
    return Page(
        title="Inspection tracker",
        template="tracker.html",
        tables=[
            Table(
                "overdue",
                f"Overdue on {as_of:%-d %B %Y}",
                [
                    Column("item", "Item"),
                    Column("what", "What is owed"),
                    Column("owner", "Owner"),
                    Column("due", "Due by", "date"),
                    Column("status", "Status", "status"),
                    Column("days_overdue", "Days overdue", "number"),
                ],
                overdue,
                caption="A recommendation is overdue when the date its report asks it done by "
                "has passed while it is open or in progress; a report's response when the PCC's "
                "comments were not published before the end of the 56 days beginning with the "
                "day it was published (Police Act 1996 s.55(5A)).",
                empty="Nothing is overdue.",
            ),
            Table(
                "changed",
                f"Changed since {since:%-d %B %Y}",
                [
                    Column("item", "Item"),
                    Column("status", "Status", "status"),
                    Column("changed_on", "From", "date"),
                    Column("note", "Note", "note"),
                    Column("evidence", "Evidence"),
                ],
                changed,
                caption="Each status change and update that took effect on or after the date "
                "(the last board's, say), newest first.",
                empty="Nothing changed since then.",
            ),
            Table(
                "items",
                "All recommendations and areas for improvement",
                [
                    Column("item", "Item"),
                    Column("report_id", "Report", html=False),
                    Column("reference", "Reference", html=False),
                    Column("kind_label", "Kind", data=False),
                    Column("kind", "kind", html=False),
                    Column("text", "What it asks", "note"),
                    Column("owner", "Owner"),
                    Column("agency_label", "Agency", data=False),
                    Column("agency", "agency", html=False),
                    Column("due_by", "Due by", "date"),
                    Column("status", "Status", "status"),
                    Column("status_on", "Since", "date"),
                    Column("overdue", "Overdue", "bool"),
                    Column("response_due", "Response due", "date"),
                    Column("note", "Latest note", html=False),
                    Column("evidence", "Evidence", html=False),
                ],
                items,
                empty="The tracker holds no recommendation yet (add them with `vcop tracker add` "
                "or `vcop tracker import`).",
            ),
            Table(
                "reports",
                "Inspection reports",
                [
                    Column("report_id", "Report"),
                    Column("title", "Title"),
                    Column("inspectorate", "Inspectorate"),
                    Column("published_on", "Published", "date"),
                    Column("response_due", "Response due", "date"),
                    Column("responded_on", "Response published", "date"),
                    Column("response", "Response", "status"),
                    Column("origin", "Source", "note"),
                ],
                reports,
                empty="No inspection report is in the tracker.",
            ),
        ],
        meta={"as_of": as_of.isoformat(), "since": since.isoformat()},
        context={"as_of": as_of, "since": since},
    )
