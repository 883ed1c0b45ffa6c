"""The dashboard: a FastAPI app, server-rendered with Jinja2 in the GOV.UK Design System's style.

:func:`create_app` opens the database and returns the app. Every route passes through one
dependency, :func:`authorize`: it reads the permission the route was registered with (see
:func:`vcop.web.pages.page`), refuses a route that has none, sends a person who is not signed in
to the sign-in page (``401`` for the ``.json``/``.csv`` twins), answers ``403`` to a role without
the permission, and checks the CSRF token of every form that is posted.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from vcop.store.ops import OpsStore, open_ops
from vcop.store.status import jsonable, status
from vcop.web.asgi import ASGIApp, Message, Receive, Scope, Send
from vcop.web.auth import (
    IDLE_TIMEOUT,
    LOGIN_CSRF_COOKIE,
    MAX_AGE,
    SESSION_COOKIE,
    Permission,
    Sessions,
    Throttle,
    csrf_matches,
)
from vcop.web.builds import REQUEST_BUILD, Build, BuildPerRequest, Builds
from vcop.web.db import WebStore
from vcop.web.logs import REQUEST_ID, request_id
from vcop.web.metrics import MetricsView
from vcop.web.pages import template_globals
from vcop.web.proxy import RootPath, normalise

HERE = Path(__file__).parent
log = logging.getLogger("vcop.web")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@dataclass
class State:
    """Everything the routes share, on ``app.state.vcop``."""

    builds: Builds
    ops: OpsStore
    sessions: Sessions
    templates: Jinja2Templates
    clock: Callable[[], datetime]
    suppression_threshold: int
    #: Answers an officer or unit needs before /feedback shows its satisfaction.
    feedback_min_answers: int = 10

    @property
    def build(self) -> Build:
        """The build this request reads (the current one outside a request)."""
        return REQUEST_BUILD.get() or self.builds.current

    @property
    def store(self) -> WebStore:
        return self.build.store

    @property
    def metrics(self) -> MetricsView:
        return self.build.metrics

    def close(self) -> None:
        self.builds.close()
        self.ops.close()


class NotSignedIn(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _no_paths(text: str) -> str:
    """``text`` with each file path cut to its last part (``/readyz`` answers anyone)."""
    return re.sub(r"(?:[A-Za-z]:)?(?:/[^/\s:'\"`]+)+/([^/\s:'\"`]+)", r"\1", text)


#: What ``/readyz`` (answered to anyone) says of a refresh.
READY_REFRESH_FIELDS = ("refresh_id", "started_at", "finished_at", "status", "as_of", "message")


def route_format(path: str) -> str:
    return "json" if path.endswith(".json") else "csv" if path.endswith(".csv") else "html"


async def authorize(request: Request) -> None:
    """The one check every route passes: signed in, allowed, and (for a form) the right CSRF token."""
    route = request.scope.get("route")
    permission = getattr(getattr(route, "endpoint", None), "vcop_permission", None)
    if not isinstance(permission, Permission):
        raise HTTPException(403, "This page has no declared permission, so no one may open it.")
    state: State = request.app.state.vcop
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    if permission is Permission.public:
        if unsafe:
            form = await request.form()
            token = form.get("csrf_token")
            if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), _str(token)):
                raise HTTPException(
                    400, "The form has expired. Go back, reload the page and try again."
                )
        return
    session = await run_in_threadpool(
        state.sessions.get, request.cookies.get(SESSION_COOKIE), state.clock()
    )
    if session is None:
        raise NotSignedIn(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    request.state.session = session
    if not session.user.may(permission):
        raise HTTPException(403, "Your role does not give access to this page.")
    if unsafe:
        form = await request.form()
        token = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if not csrf_matches(session.csrf, _str(token)):
            raise HTTPException(
                400, "The form has expired. Go back, reload the page and try again."
            )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def public(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.vcop_permission = Permission.public  # type: ignore[attr-defined]
    return fn


def signed_in(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.vcop_permission = Permission.signed_in  # type: ignore[attr-defined]
    return fn


def create_app(
    db: Path,
    *,
    clock: Callable[[], datetime] = datetime.now,
    suppression_threshold: int = 10,
    feedback_min_answers: int = 10,
    warm: bool = False,
    ops_path: Path | None = None,
    watch: float | None = None,
    root_path: str = "",
    session_idle: timedelta = IDLE_TIMEOUT,
    session_max: timedelta = MAX_AGE,
    freeze: bool = False,
) -> FastAPI:
    """The dashboard over the published build ``db``, read-only, writing only the operational
    store (``ops_path``, default beside ``db``: accounts, sessions, the access log).

    ``clock`` tells the time for sessions and the access log only; no figure depends on it.
    ``warm`` starts computing the overview's figures, and the partners' release, in the
    background at once, and warms each newly published build before switching to it.
    ``watch`` checks every so many seconds for a newly published build (None: only when
    ``app.state.vcop.builds.check()`` is called). ``root_path`` is the prefix a reverse proxy
    serves the site under (:mod:`vcop.web.proxy`). ``freeze``: a server process's own, keeps
    what each build's warm-up computed out of the cycle collector's reach
    (:mod:`vcop.collector`).
    """
    ops = open_ops(db, ops_path)
    builds = Builds(
        db, warm=warm, suppression_threshold=suppression_threshold, clock=clock, ops=ops,
        freeze=freeze,
    )  # fmt: skip
    templates = Jinja2Templates(directory=HERE / "templates")
    # the templates ship with vcop and never change under a running server: do not stat each
    # one on every page (Jinja's default, a tenth of a busy server's time)
    templates.env.auto_reload = False
    templates.env.globals["static"] = _static_url
    from vcop.web import filters

    filters.install(templates.env)
    app = FastAPI(
        title="vcop",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(authorize)],
    )
    sessions = Sessions(ops, idle_timeout=session_idle, max_age=session_max)
    app.state.vcop = State(
        builds, ops, sessions, templates, clock, suppression_threshold, feedback_min_answers
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_auth_routes(app)
    from vcop.web.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    _add_error_handlers(app)
    app.add_middleware(StaticGzip)
    app.add_middleware(BuildPerRequest, builds=builds)
    app.add_middleware(SecurityHeaders)
    if normalise(root_path):
        app.add_middleware(RootPath, root=root_path)
    if warm:
        builds.start_warming()
    if watch is not None:
        builds.watch(watch)
    undeclared = [r.path for r in api_routes(app) if not hasattr(r.endpoint, "vcop_permission")]
    if undeclared:  # authorize() would refuse them anyway; say so when the app is built
        raise RuntimeError(f"routes without a declared permission: {', '.join(undeclared)}")
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of the app, including those of included routers."""
    out: list[APIRoute] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                out.append(route)
            elif hasattr(route, "original_router"):
                walk(list(route.original_router.routes))

    walk(list(app.routes))
    return out


def _static_url(path: str) -> str:
    return f"/static/{path}"


# -- sign in and out -------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//elsewhere`` or ``https://…``) is followed after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_page(
    request: Request,
    *,
    next_path: str,
    errors: dict[str, str] | None = None,
    username: str = "",
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    state: State = request.app.state.vcop
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = state.templates.TemplateResponse(
        request,
        "login.html",
        {
            **template_globals(request),
            "login_csrf": token,
            "next_path": next_path,
            "errors": errors or {},
            "username": username,
            "message": message,
            "idle_minutes": int(state.sessions.idle_timeout.total_seconds() // 60),
            "max_hours": round(state.sessions.max_age.total_seconds() / 3600, 1),
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


def _add_auth_routes(app: FastAPI) -> None:
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    @public
    def login_form(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
        return _login_page(
            request,
            next_path=_safe_next(next),
            message="You have signed out." if signed_out else None,
        )

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    @public
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        code: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        state: State = request.app.state.vcop
        errors: dict[str, str] = {}
        if not username.strip():
            errors["username"] = "Enter your user name"
        if not password:
            # bandit B105: an error message
            errors["password"] = "Enter your password"  # nosec B105
        if errors:
            return _login_page(
                request,
                next_path=_safe_next(next),
                errors=errors,
                username=username,
                status_code=400,
            )
        name = username.strip()[:200]
        address = request.client.host if request.client else "unknown"
        throttle = Throttle(state.ops)
        wait = throttle.wait(name, address, state.clock())
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            log.warning(
                "sign-in refused: too many failures for this account or address",
                extra={"status": 429, "client": address},
            )
            response = _login_page(
                request,
                next_path=_safe_next(next),
                errors={
                    "username": "There have been too many attempts to sign in. "
                    f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
                },
                username=username,
                status_code=429,
            )
            response.headers["Retry-After"] = str(int(wait.total_seconds()) + 1)
            return response
        user = state.sessions.authenticate(name, password, code)
        if user is None:
            throttle.failed(name, address, state.clock())
            log.info("sign-in failed", extra={"status": 401, "client": address})
            errors["username"] = (
                "The user name, password or code is not right, or the account is disabled"
            )
            return _login_page(
                request,
                next_path=_safe_next(next),
                errors=errors,
                username=username,
                status_code=401,
            )
        throttle.succeeded(name)
        token, _ = state.sessions.start(user, state.clock())
        target = _safe_next(next)
        if target == "/" and not user.may(Permission.aggregate) and user.may(Permission.qa):
            target = "/audits"  # an auditor sees the audits only
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(state.sessions.max_age.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        log.info("signed in: %s (%s)", user.username, user.role.value)
        return response

    @app.post("/logout", include_in_schema=False)
    @signed_in
    def logout(request: Request) -> Response:
        state: State = request.app.state.vcop
        state.sessions.end(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login?signed_out=true", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/healthz", include_in_schema=False)
    @public
    def healthz() -> PlainTextResponse:
        """Liveness: the process answers (says nothing about the data)."""
        return PlainTextResponse("ok")

    @app.get("/readyz", include_in_schema=False)
    @public
    def readyz(request: Request) -> JSONResponse:
        """Readiness, as JSON for the force's monitoring: 200 when a build with a ledger is
        served, else 503; with the data's age, the last load, the ledger's as-of date, the reject
        share, the last refresh, any problem (a failed refresh keeps the previous build) and
        whether the answering process is still computing its first pages (``warming``)."""
        state: State = request.app.state.vcop
        build = state.build
        facts = status(build.path, build.store.cursor(), state.ops, datetime.now())
        problem = state.builds.problem
        if problem:
            facts["problems"].append(problem)
            facts["ok"] = False
        facts["serving_since"] = build.opened_at
        for key in ("last_refresh", "last_successful_refresh"):  # no paths or accounts here
            if facts.get(key):
                facts[key] = {k: facts[key][k] for k in READY_REFRESH_FIELDS}
        body = jsonable(
            {k: v for k, v in facts.items() if k not in ("database", "refresh_running")}
        )
        body["refresh_running"] = facts["refresh_running"] is not None
        body["warming"] = state.builds.warming  # of the process that answered
        return JSONResponse(body, status_code=200 if facts["ready"] else 503)


# -- errors ------------------------------------------------------------------------------------

_TITLES = {
    400: "There is a problem with the request",
    401: "Sign in to continue",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "Method not allowed",
    428: "Say why you are opening this record",
}


def _error_response(request: Request, status: int, detail: str) -> Response:
    fmt = route_format(request.url.path)
    title = _TITLES.get(status, "Sorry, there is a problem with the service")
    if fmt == "json":
        return JSONResponse({"error": title, "detail": detail}, status_code=status)
    if fmt == "csv":
        return PlainTextResponse(f"{title}: {detail}\n", status_code=status)
    state: State = request.app.state.vcop
    return state.templates.TemplateResponse(
        request,
        "error.html",
        {**template_globals(request), "title": title, "detail": detail, "status": status},
        status_code=status,
    )


def _add_error_handlers(app: FastAPI) -> None:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if (exc.status_code == 404 and not detail.strip()) or detail == "Not Found":
            detail = "If you typed the web address, check it is correct."
        return _error_response(request, exc.status_code, detail)

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotSignedIn)
        if route_format(request.url.path) != "html":
            return _error_response(request, 401, "Sign in first; the session may have expired.")
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NotSignedIn, not_signed_in)


# -- compression ------------------------------------------------------------------------------


class StaticGzip:
    """gzip for the static files (about 1 MB of JavaScript, a fifth of that compressed), when the
    browser accepts it. Pages are never compressed: each holds the session's CSRF token beside
    text taken from the request, which compression would let an attacker guess a byte at a time
    (BREACH)."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        from starlette.middleware.gzip import GZipMiddleware

        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/static/"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# -- headers and the request log ----------------------------------------------------------------


class SecurityHeaders:
    """Security headers on every response; long caching for static files, none for pages; and
    the request log (:mod:`vcop.web.logs`): one line per request with its id, the route's
    template (``/victims/{victim_id}``, never the path itself, so no victim id reaches the
    log), the status and the time taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        static = str(scope.get("path", "")).startswith("/static/")
        status = 500
        headers_in = dict(scope.get("headers") or [])
        rid = request_id(headers_in.get(b"x-request-id", b"").decode("latin-1") or None)
        token = REQUEST_ID.set(rid)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", CSP.encode()),
                    (b"cache-control", b"public, max-age=86400" if static else b"no-store"),
                    (b"x-request-id", rid.encode()),
                ]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if not static:
                route = scope.get("route")
                template = getattr(route, "path", None) or "(no route)"
                elapsed = (time.perf_counter() - started) * 1000
                log.info(
                    "%s %s %d %.1fms",
                    scope.get("method"),
                    template,
                    status,
                    elapsed,
                    extra={
                        "method": scope.get("method"),
                        "route": template,
                        "status": status,
                        "ms": round(elapsed, 1),
                        "client": (scope.get("client") or [None])[0],
                    },
                )
            REQUEST_ID.reset(token)
