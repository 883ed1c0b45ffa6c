"""A victim's journey: every event, contact and obligation for one victim, in time order.

Opening it is a record-level view: the person is asked why before it is shown (the reason is
kept for the rest of their session for that victim), and every view and export is written to the
access log with that reason. Supervisors and officers see only the victim's crimes in their scope;
a victim with none in scope is refused with 403, whether or not the victim exists, so the answer
says nothing about people outside the scope.

A journey opened from the worklist (``?from=worklist``) of a victim on it is logged with the reason
the person stated once for the worklist in this session, if they did, without asking again.
"Find a victim" takes a victim id or a crime reference, under the same rules of scope.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from vcop.web import journeys
from vcop.web.audit import REASONS, reason_errors, reason_text
from vcop.web.auth import Permission, Session
from vcop.web.labels import label
from vcop.web.pages import Column, Ctx, Page, Table, make_ctx, page, render
from vcop.web.routes.common import action, ledger_as_of, scope_of

router = APIRouter()


@page(router, "/victims", Permission.record, name="find_victim", twins=False)
def find_victim(ctx: Ctx) -> Page | Response:
    """A form to open a victim's journey by their pseudonymous id or a crime reference."""
    victim_id = ctx.param("victim_id")
    if victim_id:
        return RedirectResponse(f"/victims/{quote(victim_id, safe='')}", status_code=303)
    text = ctx.param("q")
    if not text:
        return Page(title="Find a victim", template="find_victim.html", context={"q": ""})
    scope, params = scope_of(ctx.user)
    found = journeys.find(ctx.store, scope, params, text)
    if found.victim_id is None and len(found.victims) == 1:
        found = journeys.Found(victim_id=str(found.victims[0]["victim_id"]))
    if found.victim_id is not None:
        return RedirectResponse(f"/victims/{quote(found.victim_id, safe='')}", status_code=303)
    if found.crime_id is None:
        if ctx.user.role.value == "analyst":
            raise HTTPException(404, f"There is no victim or crime {text!r} in the database.")
        raise HTTPException(403, f"No victim or crime {text!r} is in your cases or your unit.")
    victims = list(found.victims)
    ctx.log(
        "find_victim",
        crime_id=found.crime_id,
        reason="Finding a victim by crime reference",
        detail=f"{len(victims)} victim(s) of the crime in scope",
        records=[(str(v["victim_id"]), found.crime_id) for v in victims],
    )
    return Page(
        title=f"Victims of crime {found.crime_id}",
        template="find_victim.html",
        tables=[
            Table(
                "victims",
                f"Victims of crime {found.crime_id}",
                [
                    Column("victim_id", "Victim", link="/victims/{victim_id}"),
                    Column("crime_type", "Crime type"),
                    Column("reported_at", "Reported", "datetime"),
                    Column("unit", "Unit"),
                    Column("officer_id", "Officer"),
                ],
                victims,
                caption="Choose a victim to open their journey. You will be asked why.",
            )
        ],
        context={"q": text, "crime_id": found.crime_id},
    )


def _crimes_in_scope(ctx: Ctx, victim_id: str) -> list[dict[str, Any]]:
    scope, params = scope_of(ctx.user)
    return journeys.victim_crimes(ctx.store, scope, params, victim_id)


def _check_scope(ctx: Ctx, victim_id: str) -> list[dict[str, Any]]:
    crimes = _crimes_in_scope(ctx, victim_id)
    if crimes:
        return crimes
    if ctx.user.role.value == "analyst":
        raise HTTPException(404, f"There is no victim {victim_id!r} in the database.")
    raise HTTPException(403, "This victim has no crime in your cases or your unit.")


@page(router, "/victims/{victim_id}", Permission.record, name="journey")
def journey(ctx: Ctx) -> Page | Response:
    """The victim's journey: timeline, obligations with due dates, status and reasons."""
    victim_id = ctx.request.path_params["victim_id"]
    crimes = _check_scope(ctx, victim_id)
    via = ctx.choice_param("from", ["worklist"])
    reason = ctx.session.reasons.get(victim_id)
    from_worklist = False
    if reason is None and via == "worklist":
        stated = ctx.session.reasons.get(journeys.WORKLIST_REASON)
        scope, params = scope_of(ctx.user)
        if stated is not None and journeys.on_worklist(ctx.store, scope, params, victim_id):
            reason, from_worklist = stated, True
    if reason is None:
        if ctx.fmt != "html":
            raise HTTPException(
                428,
                f"Say why you are opening this record first: open /victims/{victim_id} in the "
                "dashboard (or POST a reason to /victims/{victim_id}/reason) in this session.",
            )
        return reason_form(ctx, victim_id)
    crime_ids = [c["crime_id"] for c in crimes]
    timeline = _timeline(ctx, victim_id, crime_ids)
    obligations = _obligations(ctx, victim_id, crime_ids)
    ctx.log(
        "journey",
        victim_id=victim_id,
        crime_id=",".join(crime_ids),
        reason=reason,
        detail=f"{len(crime_ids)} crime(s) in scope"
        + ("; opened from the worklist with the reason stated for it" if from_worklist else ""),
    )
    as_of = ledger_as_of(ctx.store)
    counts: dict[str, int] = {}
    for o in obligations:
        counts[str(o["status"])] = counts.get(str(o["status"]), 0) + 1
    return Page(
        title=f"Victim {victim_id}",
        template="journey.html",
        tables=[
            Table(
                "timeline",
                "Timeline",
                [
                    Column("happened_at", "When", "datetime"),
                    Column("crime_id", "Crime"),
                    Column("kind", "What"),
                    Column("what", "Detail"),
                    Column("detail", "More"),
                    Column("outcome", "Result", "status"),
                ],
                timeline,
                caption="Crimes, case events, contacts (including ones that did not reach the "
                "victim), referrals, assessments, care contracts and reviews, oldest first.",
                empty="Nothing has been recorded yet.",
            ),
            Table(
                "obligations",
                "What the Code owes this victim",
                [
                    Column("right", "Right", "number"),
                    Column("title", "Obligation"),
                    Column("crime_id", "Crime"),
                    Column("trigger_at", "Triggered", "datetime"),
                    Column("due_date", "Due", "date"),
                    Column("met_at", "Met", "datetime"),
                    Column("status", "Status", "status"),
                    Column("reason", "Why"),
                    Column("obligation_id", "Obligation id", html=False),
                    Column("enhanced", "Enhanced rights", "bool", html=False),
                ],
                obligations,
                caption=f"From the entitlement ledger as of {as_of:%-d %B %Y}." if as_of else None,
                empty="The entitlement ledger has not been built yet." if as_of is None
                else "The Code owes this victim nothing yet.",
            ),
        ],
        meta={"victim_id": victim_id, "crimes": crime_ids, "ledger_as_of": as_of,
              "reason": reason, "status_counts": counts,
              "reason_from": "worklist" if from_worklist else "victim"},
        context={"crimes": crimes, "victim_id": victim_id, "as_of": as_of, "counts": counts,
                 "reason": reason},
    )  # fmt: skip


def reason_form(
    ctx: Ctx, victim_id: str, *, errors: dict[str, str] | None = None, chosen: str = "",
    detail: str = "", status_code: int = 200,
) -> Page:  # fmt: skip
    return Page(
        title="Why are you opening this record?",
        template="reason.html",
        context={
            "victim_id": victim_id,
            "reasons": REASONS,
            "errors": errors or {},
            "chosen": chosen,
            "detail": detail,
        },
        status_code=status_code,
    )


@action(router, "/victims/{victim_id}/reason", Permission.record, name="journey_reason")
def give_reason(
    request: Request,
    victim_id: str,
    reason: str = Form(""),
    detail: str = Form(""),
) -> Response:
    """Record why the person is opening this victim's records, then show them."""
    ctx = make_ctx(request, "html")
    _check_scope(ctx, victim_id)
    detail = detail.strip()
    errors = reason_errors(reason, detail)
    if errors:
        form = reason_form(
            ctx, victim_id, errors=errors, chosen=reason, detail=detail, status_code=400
        )
        return render(ctx, form)
    session: Session = request.state.session
    session.reasons[victim_id] = reason_text(reason, detail)
    return RedirectResponse(f"/victims/{quote(victim_id, safe='')}", status_code=303)


def _timeline(ctx: Ctx, victim_id: str, crime_ids: list[str]) -> list[dict[str, Any]]:
    rows = journeys.timeline(ctx.store, victim_id, crime_ids)
    for row in rows:
        in_words(row)
    return rows


def in_words(row: dict[str, Any]) -> None:
    """A timeline row with its codes in words: "Phone", "Consent given; Engaged with the
    service", "Home Office outcome type 17: Prosecution prevented - time limit expired"."""
    codes = journeys.TIMELINE_CODES.get(str(row["kind"]), {})
    words = {
        column: label(kind, row[column]) if row[column] not in (None, "") else None
        for column, kind in codes.items()
    }
    if row["kind"] == "Outcome":
        words["what"] = f"Home Office outcome type {row['what']}: {words['what']}"
    row.update(words)
    note = row.pop("note", None)
    if note:
        row["detail"] = f"{row['detail']}; {note}" if row["detail"] else note


def _obligations(ctx: Ctx, victim_id: str, crime_ids: list[str]) -> list[dict[str, Any]]:
    return journeys.obligations(ctx.store, victim_id, crime_ids)
