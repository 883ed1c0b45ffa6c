"""The worklist: victims owed something now, for the signed-in person's scope.

A view of the entitlement ledger: police obligations not yet met, put in the categories a
supervisor works through — updates due today, due on the next working day and overdue; needs
assessments missing; referrals not made; supervisory reviews overdue. "Today" is the ledger's
as-of date unless ``?as_of=`` names another; the wall clock is never used. Each view and export is
written to the access log.
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter

from vcop.store.calendar import add_working_days
from vcop.web import journeys
from vcop.web.auth import Permission
from vcop.web.pages import Column, Ctx, Page, Table, page
from vcop.web.routes.common import ledger_as_of, no_ledger_note, scope_of

router = APIRouter()

HTML_LIMIT = 200

#: category -> label, in the order a supervisor works through them.
CATEGORIES: dict[str, str] = {
    "update_overdue": "Updates overdue",
    "update_today": "Updates due today",
    "update_tomorrow": "Updates due next working day",
    "needs_assessment": "Needs assessments missing",
    "referral": "Referrals not made",
    "review_overdue": "Supervisory reviews overdue",
}


#: Overdue items older than this many days are left out unless ``?days=`` asks for more: a
#: worklist is for what can still be done, and a force's ledger holds years of history.
DEFAULT_DAYS = 90
#: The most ``?days=`` may ask for (about 270 years: everything a ledger holds).
MAX_DAYS = 100_000
#: How far past the ledger's own as-of date ``?as_of=`` may read it (beyond that every due date
#: is long past and nothing met since is known: the list would say nothing true).
MAX_AHEAD = timedelta(days=366)


def worklist_sql(
    ctx: Ctx, as_of: date, days: int, category: str | None
) -> tuple[str, list[object]]:
    """The FROM/WHERE of the worklist for ``ctx.user``'s scope, with its ``category`` column."""
    journeys.ensure(ctx.store)
    scope, scope_params = scope_of(ctx.user)
    tomorrow = add_working_days(as_of, 1)
    sql = f"""
    FROM (
      SELECT CASE
               WHEN c.family = 'needs_assessment' THEN 'needs_assessment'
               WHEN c.family = 'referral' THEN 'referral'
               WHEN c.family = 'review' THEN CASE WHEN c.due_date < ? THEN 'review_overdue' END
               WHEN c.due_date < ? THEN 'update_overdue'
               WHEN c.due_date = ? THEN 'update_today'
               WHEN c.due_date > ? AND c.due_date <= ? THEN 'update_tomorrow'
             END AS category,
             c.*,
             CASE WHEN c.due_date < ? THEN date_diff('day', c.due_date, ?::DATE) END AS days_overdue
      FROM webcache.open_entitlements c
      WHERE ({scope}) AND (c.due_date IS NULL OR c.due_date >= ?::DATE - ?::INTEGER)
    ) w
    WHERE category IS NOT NULL{" AND category = ?" if category else ""}
    """
    params: list[object] = [as_of, as_of, as_of, as_of, tomorrow, as_of, as_of, *scope_params,
                            as_of, days, *([category] if category else [])]  # fmt: skip
    return sql, params


ORDER = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(CATEGORIES))


@page(router, "/worklist", Permission.record, name="worklist")
def worklist(ctx: Ctx) -> Page:
    """Victims with updates due or overdue, assessments missing, referrals and reviews outstanding."""
    ledger_date = ledger_as_of(ctx.store)
    if ledger_date is None:
        return Page(
            title="Worklist", template="worklist.html", notes=[no_ledger_note()],
            context={"categories": CATEGORIES, "counts": {}, "as_of": None},
        )  # fmt: skip
    as_of = ctx.date_param("as_of", hi=ledger_date + MAX_AHEAD, default=ledger_date)
    category = ctx.choice_param("category", CATEGORIES)
    days = ctx.int_param("days", 0, MAX_DAYS, DEFAULT_DAYS)
    sql, params = worklist_sql(ctx, as_of, days, None)
    counted = dict(
        ctx.store.query(f"SELECT category, count(*) {sql} GROUP BY category", params).rows
    )
    counts = {k: int(counted.get(k, 0)) for k in CATEGORIES}
    sql, params = worklist_sql(ctx, as_of, days, category)
    limit = f" LIMIT {HTML_LIMIT}" if ctx.fmt == "html" else ""
    shown = ctx.store.query(
        "SELECT category, victim_id, crime_id, obligation_id, title, due_date, days_overdue, "
        f"enhanced, crime_type, area, district, unit, officer_id {sql} "
        f"ORDER BY CASE category {ORDER} END, due_date, victim_id, crime_id, obligation_id{limit}",
        params,
    ).dicts()
    for r in shown:
        r["category_label"] = CATEGORIES[str(r["category"])]
    total = sum(counts.values()) if category is None else counts[category]
    ctx.log(
        "worklist",
        reason="Worklist for own scope",
        detail=f"{len(shown)} row(s); {ctx.user.scope_label}; as of {as_of}; {days} days"
        + (f"; {category}" if category else ""),
        records=[(str(r["victim_id"]), str(r["crime_id"])) for r in shown],
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
    return Page(
        title="Worklist",
        template="worklist.html",
        tables=[
            Table(
                "worklist",
                CATEGORIES[category] if category else "Everything outstanding",
                [
                    Column("category_label", "What"),
                    Column("victim_id", "Victim", link="/victims/{victim_id}"),
                    Column("crime_id", "Crime"),
                    Column("title", "Obligation"),
                    Column("due_date", "Due", "date"),
                    Column("days_overdue", "Days overdue", "number"),
                    Column("enhanced", "Enhanced rights", "bool"),
                    Column("crime_type", "Crime type"),
                    Column("unit", "Unit"),
                    Column("officer_id", "Officer"),
                    Column("category", "Category code", html=False),
                    Column("obligation_id", "Obligation id", html=False),
                ],
                shown,
                empty="Nothing is outstanding in your scope.",
                more=total - len(shown),
            )
        ],
        meta={"as_of": as_of, "ledger_as_of": ledger_date, "scope": ctx.user.scope_label,
              "category": category, "counts": counts, "days": days},
        context={"categories": CATEGORIES, "counts": counts, "as_of": as_of,
                 "category": category, "ledger_as_of": ledger_date},
        notes=notes,
    )  # fmt: skip
