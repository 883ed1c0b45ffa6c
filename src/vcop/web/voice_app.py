"""``vcop serve --public``: the Victim Voice questionnaire and nothing else.

DECISIONS: the questionnaire is served to the public through the force's public web proxy; the
dashboard stays internal. :func:`create_public_app` builds an app with only ``/voice/{token}``
(and the static files its pages use): no sign-in page, no dashboard page, no twin, no
``/readyz``. Every other path is 404. It reads the published build (for the officer in charge of
the crime when a victim answers) and writes only the operational store, like the dashboard, and
shares its security headers, request log, proxy prefix and CSRF check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from vcop.store.ops import open_ops
from vcop.web.builds import BuildPerRequest, Builds
from vcop.web.proxy import RootPath, normalise

HERE = Path(__file__).parent


def create_public_app(
    db: Path,
    *,
    clock: Callable[[], datetime] = datetime.now,
    ops_path: Path | None = None,
    watch: float | None = None,
    root_path: str = "",
) -> FastAPI:
    """The questionnaire over the published build ``db`` (see the module docstring)."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from vcop.web import filters
    from vcop.web.app import SecurityHeaders, State, _static_url, authorize
    from vcop.web.auth import Sessions
    from vcop.web.routes import voice

    ops = open_ops(db, ops_path)
    builds = Builds(db, clock=clock, ops=ops)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["static"] = _static_url
    filters.install(templates.env)
    app = FastAPI(
        title="Victim Voice",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(authorize)],
    )
    # No one signs in here; the sessions object is the dashboard's State's, never used.
    app.state.vcop = State(builds, ops, Sessions(ops), templates, clock, 0)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(voice.router)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        title = "Page not found" if status == 404 else "Sorry, there is a problem"
        detail = exc.detail if isinstance(exc.detail, str) and status != 404 else ""
        return templates.TemplateResponse(
            request,
            "voice_message.html",
            {
                "title": title,
                "paragraphs": [detail or "If you typed the web address, check it is correct."],
                "status": status,
            },
            status_code=status,
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(BuildPerRequest, builds=builds)
    app.add_middleware(SecurityHeaders)
    if normalise(root_path):
        app.add_middleware(RootPath, root=root_path)
    if watch is not None:
        builds.watch(watch)
    return app


def serve_public(
    db: Path,
    host: str,
    port: int,
    root_path: str,
    forwarded_allow_ips: str,
    ops_path: Path | None,
    watch: float,
) -> None:
    """Run the questionnaire server (``vcop serve --public``) until Ctrl-C."""
    import sys

    import uvicorn

    from vcop.store import StoreError

    try:
        application = create_public_app(db, ops_path=ops_path, watch=watch, root_path=root_path)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    print(
        f"Victim Voice questionnaire only (no dashboard) on http://{host}:{port}{root_path}/voice/"
        f" over {db} (Ctrl-C to stop)",
        file=sys.stderr,
    )
    try:
        uvicorn.run(
            application, host=host, port=port, access_log=False, log_level="warning",
            proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips, root_path=root_path,
            log_config=None,
        )  # fmt: skip
    finally:
        application.state.vcop.close()
