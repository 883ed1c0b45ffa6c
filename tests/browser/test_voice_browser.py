"""A victim answers the Victim Voice questionnaire on a phone, with the keyboard, in Debian's
Chromium, through `vcop serve --public`'s app: the page fits 320 CSS px, axe-core finds no WCAG
2.2 AA violation on the questionnaire, its error summary, the thank-you page or the page a used
link shows, and the answer is stored once with its comment scrubbed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page

from tests.browser.conftest import AXE
from tests.browser.test_browser import WCAG_TAGS
from tests.webdata import WebData, copy_of
from vcop.store.ops import open_ops
from vcop.voice.invitations import Due, issue
from vcop.voice.questions import questions
from vcop.web.voice_app import create_public_app

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 640}
COMMENT = "Please call me on 07700 900123 or email jo@example.com. Postcode DS9 4AB."


class PublicServer:
    """`vcop serve --public`'s app, served by uvicorn in a background thread."""

    def __init__(self, db: Path) -> None:
        self.app = create_public_app(db)
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

    def __enter__(self) -> PublicServer:
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


@pytest.fixture
def invited(webdata: WebData, tmp_path: Path) -> Iterator[tuple[PublicServer, str, Path]]:
    data = copy_of(webdata, tmp_path)
    ops = open_ops(data.db)
    try:
        (made,) = issue(
            ops, [Due(data.officer_victim, _crime_of(data), "reached")], as_of=datetime.now().date(),
            now=datetime.now(), days=28, base_url="https://voice.example", username="analyst1",
        )  # fmt: skip
    finally:
        ops.close()
    with PublicServer(data.db) as server:
        yield server, made.url.rsplit("/", 1)[1], data.db


def _crime_of(data: WebData) -> str:
    import duckdb

    con = duckdb.connect(str(data.db), read_only=True)
    try:
        row = con.execute(
            "SELECT min(crime_id) FROM victims WHERE victim_id = ?", [data.officer_victim]
        ).fetchone()
    finally:
        con.close()
    assert row and row[0]
    return str(row[0])


def _accessible(page: Page) -> None:
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    violations = [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
    assert not violations, f"{page.url}: {json.dumps(violations, indent=1)}"


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at {PHONE['width']}px"


def test_a_victim_answers_on_a_phone_with_the_keyboard(
    browser: Browser, invited: tuple[PublicServer, str, Path]
) -> None:
    server, token, db = invited
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server.url}/voice/{token}")
        assert page.get_by_role("heading", level=1).inner_text().startswith("Tell us how")
        _fits(page)
        _accessible(page)

        # Sent empty: the error summary lists every missing answer, and takes the focus.
        page.get_by_role("button", name="Send your answers").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        summary = page.locator(".govuk-error-summary")
        assert summary.is_visible()
        assert summary.locator("a").count() == len(questions()) + 1
        assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
        _fits(page)
        _accessible(page)

        # Following the summary's first link moves to the consent box; Space ticks it.
        summary.locator("a").first.focus()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "consent"
        page.keyboard.press("Space")
        assert page.locator("#consent").is_checked()
        for q in questions():  # each question: Tab into the group, the arrow picks the 2nd answer
            page.locator(f"#{q.name}").focus()
            page.keyboard.press("Space")
            page.keyboard.press("ArrowDown")
            assert page.locator(f"#{q.name}-2").is_checked(), q.name
        page.locator("#comment").focus()
        page.keyboard.type(COMMENT)
        page.get_by_role("button", name="Send your answers").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", level=1).inner_text() == "Thank you for your answers"
        _fits(page)
        _accessible(page)

        page.goto(f"{server.url}/voice/{token}")  # the link works once
        assert "You have already answered" in page.get_by_role("heading", level=1).inner_text()
        _fits(page)
        _accessible(page)
        expected = [  # the page's own status, which Chromium reports as a console error
            f"Failed to load resource: the server responded with a status of {status}"
            for status in ("400 (Bad Request)", "410 (Gone)")
        ]
        assert [e for e in errors if e not in expected] == [], errors
    finally:
        context.close()

    ops = open_ops(db)
    try:
        rows = ops.query("SELECT whole_experience, comment FROM survey_answers").rows
    finally:
        ops.close()
    assert len(rows) == 1 and rows[0][0] == 2
    comment = str(rows[0][1])
    for detail in ("07700", "900123", "jo@example.com", "DS9 4AB"):
        assert detail not in comment, comment
    assert "[phone]" in comment and "[email]" in comment and "[postcode]" in comment
