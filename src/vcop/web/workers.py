"""The dashboard served by several processes (``vcop serve --workers N``).

One Python process renders one page at a time (the interpreter's lock), so on a machine with more
than one core a single process leaves the others idle while people queue. Uvicorn's supervisor
starts ``N`` processes on one listening socket, restarts one that dies and stops them all on
Ctrl-C; each builds its own app by :func:`app`, from the options ``vcop serve`` was given (passed
in the environment, as the processes are started afresh). Nothing a person sees depends on which
process answers: sessions, their reasons, sign-in throttling and the access log live in the
operational store (:mod:`vcop.web.auth`), and every process reads the same published build.
Each keeps its own cache of figures and warms it on start and on each newly published build.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from vcop.collector import collect_less_often

#: The environment variable that carries :class:`Options` to each process.
OPTIONS_ENV = "VCOP_SERVE_OPTIONS"
#: Uvicorn's import string of :func:`app` (a factory).
FACTORY = "vcop.web.workers:app"


@dataclass(frozen=True)
class Options:
    """What ``vcop serve`` passes to :func:`vcop.web.create_app`, as JSON can carry it."""

    db: str
    suppression_threshold: int
    feedback_min_answers: int
    ops_path: str | None
    watch: float
    root_path: str
    session_idle_seconds: float
    session_max_seconds: float
    json_lines: bool

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Options:
        text = os.environ.get(OPTIONS_ENV)
        if not text:
            raise RuntimeError(f"{FACTORY} is started by `vcop serve --workers N` ({OPTIONS_ENV})")
        return cls(**json.loads(text))


def default_workers() -> int:
    """One process per core this process may run on, at most 8 (each holds its own cache)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def app() -> FastAPI:
    """The dashboard of one worker process, from the options in the environment."""
    from vcop.web import create_app
    from vcop.web.logs import configure_logging

    collect_less_often()  # as the command line does (see vcop.collector)
    options = Options.from_env()
    configure_logging(json_lines=options.json_lines)
    application = create_app(
        Path(options.db),
        suppression_threshold=options.suppression_threshold,
        feedback_min_answers=options.feedback_min_answers,
        warm=True,
        ops_path=Path(options.ops_path) if options.ops_path else None,
        watch=options.watch,
        root_path=options.root_path,
        session_idle=timedelta(seconds=options.session_idle_seconds),
        session_max=timedelta(seconds=options.session_max_seconds),
        freeze=True,
    )

    @asynccontextmanager
    async def closing(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the process is stopping: its connections close cleanly
            application.state.vcop.close()

    application.router.lifespan_context = closing
    return application
