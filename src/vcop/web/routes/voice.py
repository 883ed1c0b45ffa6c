"""The Victim Voice questionnaire: ``/voice/{token}``, answered without an account.

A victim reaches it by the one-time link ``vcop survey invite`` wrote. The page follows the
GOV.UK Design System's question pages: a privacy notice and a consent checkbox before any
question, each question a fieldset of radios, an error summary when something is missing, and one
free-text box. The form is protected as the sign-in form is (a CSRF token in a cookie and in the
form, compared by :func:`vcop.web.app.authorize`).

Answers: 200 with the questionnaire for an open link; 410 for a used link (a kind page) and for an
expired one (other words); 404 for a link that was never issued; 429 for a client address that
tried too many unknown links (:class:`vcop.voice.answers.Guesses`). The token never reaches the
request log (it records the route's template) nor any page.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from vcop.voice.answers import Guesses, Link, LinkState, look_up, store_answer
from vcop.voice.questions import COMMENT_MAX, NOT_SAY, NOT_SAY_LABEL, questions
from vcop.web.auth import LOGIN_CSRF_COOKIE, Permission

router = APIRouter()

#: The words of each page that is not the questionnaire: (status, title, paragraphs).
PAGES: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "done": (200, "Thank you for your answers", (
        "We have received your answers. You do not need to do anything else.",
        "What you told us will help the police improve how they support victims of crime.",
    )),
    LinkState.used: (410, "You have already answered this questionnaire", (
        "Thank you: we have your answers. Each link can only be used once, so you cannot "
        "answer again or change your answers.",
        "If you want to tell the police something more about your case, contact the officer "
        "dealing with it.",
    )),
    LinkState.expired: (410, "This link has expired", (
        "The link to this questionnaire only worked for a few weeks, and that time has passed. "
        "We are sorry you did not get the chance to answer.",
        "If you want to tell the police about your experience, contact the officer dealing "
        "with your case.",
    )),
    LinkState.unknown: (404, "This link is not right", (
        "Check that you copied the whole link from the message we sent you.",
        "If it still does not work, contact the officer dealing with your case.",
    )),
    "throttled": (429, "There have been too many attempts", (
        "Too many links that are not right have been tried from this connection.",
    )),
}  # fmt: skip


def public(fn: Callable[..., Any]) -> Callable[..., Any]:
    """No account needed (the link is the key); the form's CSRF token is checked by
    :func:`vcop.web.app.authorize`."""
    fn.vcop_permission = Permission.public  # type: ignore[attr-defined]
    return fn


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def message_page(request: Request, kind: str, *, wait_minutes: int | None = None) -> Response:
    """One of :data:`PAGES`, with its status."""
    status, title, paragraphs = PAGES[kind]
    if wait_minutes is not None:
        paragraphs = (*paragraphs, f"Try again in {wait_minutes} minute"
                      f"{'s' if wait_minutes != 1 else ''}.")  # fmt: skip
    response: Response = request.app.state.vcop.templates.TemplateResponse(
        request,
        "voice_message.html",
        {"title": title, "paragraphs": paragraphs, "status": status},
        status_code=status,
    )
    return response


def _open_link(request: Request, token: str) -> Link | Response:
    """The open link ``token`` names, or the page to answer instead (counting a miss)."""
    state = request.app.state.vcop
    now: datetime = state.clock()
    guesses = Guesses(state.ops)
    address = _address(request)
    wait = guesses.wait(address, now)
    if wait is not None:
        response = message_page(
            request, "throttled", wait_minutes=max(1, math.ceil(wait.total_seconds() / 60))
        )
        response.headers["Retry-After"] = str(int(wait.total_seconds()) + 1)
        return response
    link = look_up(state.ops, token, now)
    if link.state is LinkState.unknown:
        guesses.missed(address, now)
    if link.state is not LinkState.open:
        return message_page(request, link.state)
    return link


def _form_page(
    request: Request,
    link: Link,
    *,
    given: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = request.app.state.vcop
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response: Response = state.templates.TemplateResponse(
        request,
        "voice.html",
        {
            "title": "Tell us how the police dealt with your crime",
            "questions": questions(),
            "not_say": NOT_SAY,
            "not_say_label": NOT_SAY_LABEL,
            "comment_max": COMMENT_MAX,
            "given": given or {},
            "errors": errors or {},
            "csrf": csrf,
            "expires_at": link.expires_at,
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/voice/",  # under a proxy's prefix, vcop.web.proxy.RootPath adds it
    )
    return response


@router.get("/voice/{token}", response_class=HTMLResponse, include_in_schema=False)
@public
def questionnaire(request: Request, token: str) -> Response:
    found = _open_link(request, token)
    if isinstance(found, Response):
        return found
    return _form_page(request, found)


def check(form: dict[str, str]) -> tuple[dict[str, int | str | None], dict[str, str]]:
    """The answers of a posted form, by column, and an error message per field missing."""
    errors: dict[str, str] = {}
    answers: dict[str, int | str | None] = {}
    if form.get("consent") != "yes":
        errors["consent"] = "Tick the box to say you agree to take part, or close this page"
    for number, q in enumerate(questions(), start=1):
        value = form.get(q.name, "")
        if value not in q.values:
            errors[q.name] = f"Question {number}: select an answer, or “{NOT_SAY_LABEL.lower()}”"
            continue
        answers[q.name] = q.stored(value)
    comment = form.get("comment", "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = f"Your comments must be {COMMENT_MAX:,} characters or fewer"
    answers["comment"] = comment or None
    return answers, errors


@router.post("/voice/{token}", response_class=HTMLResponse, include_in_schema=False)
@public
async def answer(request: Request, token: str) -> Response:
    found = await run_in_threadpool(_open_link, request, token)
    if isinstance(found, Response):
        return found
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    answers, errors = check(form)
    if errors:
        return _form_page(request, found, given=form, errors=errors, status_code=400)
    state = request.app.state.vcop

    def officer(crime_id: str) -> tuple[str | None, str | None]:
        rows = state.store.query(
            "SELECT officer_id, unit FROM crimes WHERE crime_id = ?", [crime_id]
        ).rows
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    stored = await run_in_threadpool(
        store_answer, state.ops, found, answers, state.clock(), officer
    )
    if stored is None:  # used (or expired) between the page and the post
        return await run_in_threadpool(
            lambda: message_page(request, look_up(state.ops, token, state.clock()).state)
        )
    return message_page(request, "done")
