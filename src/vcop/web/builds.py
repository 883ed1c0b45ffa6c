"""Which build the dashboard serves, and the switch to a newer one without a restart.

A refresh publishes a new build by renaming it over the file the server reads
(:mod:`vcop.store.build`). :class:`Builds` watches that file; when it changes it opens the new
build, arranges and computes what the first pages need (so the first person after the switch does
not wait), and only then switches. Each request is bound to the build that was current when it
began (:class:`BuildPerRequest`), so every response comes entirely from one build; the old build
is closed when its last request ends. A new build that cannot be opened leaves the server on the
one it has, and says why on ``/readyz`` and the data-quality page.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vcop.collector import keep_for_good, let_go
from vcop.store.build import Identity
from vcop.store.db import StoreError
from vcop.store.ops import OpsStore
from vcop.web.asgi import ASGIApp, Receive, Scope, Send
from vcop.web.db import WebStore
from vcop.web.metrics import MetricsView

log = logging.getLogger("vcop.web")


@dataclass(eq=False)
class Build:
    """One published build as the server serves it."""

    store: WebStore
    metrics: MetricsView
    opened_at: datetime
    in_flight: int = 0
    retired: bool = False
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def path(self) -> Path:
        return self.store.path

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store.close()


#: The build the current request reads (set by :class:`BuildPerRequest`).
REQUEST_BUILD: ContextVar[Build | None] = ContextVar("vcop_request_build", default=None)


class Builds:
    """The build a server serves now, and the switch to each newly published one."""

    def __init__(
        self,
        db: Path,
        *,
        warm: bool = False,
        suppression_threshold: int | None = None,
        clock: Callable[[], datetime] = datetime.now,
        ops: OpsStore | None = None,
        freeze: bool = False,
    ) -> None:
        self.db = db
        self.ops = ops
        self.clock = clock
        self.warm = warm
        #: Whether a warmed build's objects are moved out of the cycle collector's reach
        #: (:meth:`_warmed`): for a server process, which keeps them for the build's life.
        self.freeze = freeze
        self.suppression_threshold = suppression_threshold
        self._lock = threading.Lock()
        self._switch_lock = threading.Lock()
        self._current = self._open()
        #: Why the newest published build could not be served (None: it is being served).
        self.problem: str | None = None
        self._failed: Identity | None = None
        self.switches = 0
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._warmers: list[threading.Thread] = []

    def _open(self) -> Build:
        store = WebStore(self.db)
        return Build(store, MetricsView(store, self.ops), self.clock())

    @property
    def current(self) -> Build:
        return self._current

    def start_warming(self) -> None:
        """Compute what the first pages need for the current build in the background."""
        self._warmers.append(
            self._current.metrics.start_warming(self.suppression_threshold, then=self._warmed)
        )

    def _warmed(self) -> None:
        """What the warm-up computed (figures, series, the partners' release) is kept for the
        life of the build: with ``freeze``, out of the cycle collector's reach
        (:func:`vcop.collector.keep_for_good`); a switch to a newer build lets it go again, so
        the old build's objects can be collected once it is closed."""
        if self.freeze:
            keep_for_good()

    @property
    def warming(self) -> bool:
        """Whether this process is still computing its first pages (and the partners' release)
        in the background: its pages answer meanwhile, some more slowly."""
        return any(t.is_alive() for t in self._warmers)

    @contextmanager
    def using(self) -> Iterator[Build]:
        """The current build, held open until the block ends (for one request)."""
        with self._lock:
            build = self._current
            build.in_flight += 1
        try:
            yield build
        finally:
            with self._lock:
                build.in_flight -= 1
                done = build.retired and build.in_flight == 0
            if done:
                build.close()

    def check(self) -> bool:
        """Switch to the published build if it is newer than the one served; True if switched.

        Opening and warming the new build happen before the switch, outside the request path;
        a build that cannot be opened is reported (:attr:`problem`) and not tried again.
        """
        with self._switch_lock:
            published = Identity.of(self.db)
            if published is None or published == self._current.store.identity:
                return False
            if published == self._failed:
                return False
            try:
                fresh = self._open()
            except StoreError as exc:
                self._failed = published
                self.problem = f"the build published at {self.db} could not be opened: {exc}"
                log.error("refresh not served: %s", self.problem)
                return False
            if self.warm:
                try:
                    fresh.metrics.warm(None, first_page_only=True)
                except Exception as exc:  # the old build keeps serving; say why
                    fresh.close()
                    self._failed = published
                    self.problem = f"the build published at {self.db} failed to load: {exc}"
                    log.exception("refresh not served")
                    return False
            with self._lock:
                old, self._current = self._current, fresh
                old.retired = True
                idle = old.in_flight == 0
                self.problem = None
                self._failed = None
                self.switches += 1
            if idle:
                old.close()
            log.info("now serving the build published at %s", self.db)
            if self.freeze:
                let_go()  # the old build's objects may be collected once it is closed
            if self.warm:
                self._warmers = [t for t in self._warmers if t.is_alive()]
                self._warmers.append(
                    fresh.metrics.start_warming(self.suppression_threshold, then=self._warmed)
                )
            return True

    def watch(self, interval: float = 2.0) -> threading.Thread:
        """Check for a newly published build every ``interval`` seconds, in the background."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except Exception:  # keep watching; the error is logged
                    log.exception("checking for a new build failed")

        thread = threading.Thread(target=loop, name="vcop-builds", daemon=True)
        thread.start()
        self._watcher = thread
        return thread

    def close(self) -> None:
        """Stop watching, stop any work in progress on the build and close it."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            current = self._current
        for warmer in self._warmers:
            while warmer.is_alive():
                current.store.interrupt()  # ends the query in progress; the thread then stops
                warmer.join(timeout=0.5)
        current.close()
        if self.freeze:  # what was kept is let go, and collected before the process ends
            let_go()
            gc.collect()


class BuildPerRequest:
    """Bind each HTTP request to the build current when it began (ASGI middleware)."""

    def __init__(self, app: ASGIApp, builds: Builds) -> None:
        self.app = app
        self.builds = builds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.builds.using() as build:
            token = REQUEST_BUILD.set(build)
            try:
                await self.app(scope, receive, send)
            finally:
                REQUEST_BUILD.reset(token)
