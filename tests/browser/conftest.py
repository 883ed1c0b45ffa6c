"""A real server (uvicorn, in a thread, on a free loopback port) and Debian's Chromium driven by
Playwright. Playwright's own browser downloads are never used."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.webdata import WebData, build, copy_of
from vcop.web import create_app
from vcop.web.auth import Role, User

#: The threshold the server suppresses with (the default), and someone who sees its release.
THRESHOLD = 10
PARTNER = User("partner", Role.partner)

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or os.environ.get("CI"):
        return  # in CI a missing browser is a failure, not a skip
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (make test-system installs it)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


class LiveServer:
    """The dashboard served by uvicorn in a background thread."""

    def __init__(self, db: Path) -> None:
        self.app = create_app(db, clock=datetime.now, suppression_threshold=THRESHOLD)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning",
            access_log=False, lifespan="off", ws="none",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        """What to compute before the server starts, so that no browser waits for it: the
        partners' release, which takes a while to build."""
        self.app.state.vcop.metrics.figures(PARTNER, THRESHOLD)

    def __enter__(self) -> LiveServer:
        self.prepare()
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.vcop.close()


@pytest.fixture(scope="session")
def webdata(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="session")
def live(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = copy_of(webdata, tmp_path_factory.mktemp("live"))
    with LiveServer(data.db) as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
