"""Most similar forces in Debian's Chromium, on a small national database: the page is in the
navigation, its period selector works, its tables are read as tables, and axe-core finds no
WCAG 2.2 AA violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import AXE, LiveServer
from tests.browser.test_browser import WCAG_TAGS
from tests.nationaldata import build_national
from tests.web.helpers import sign_in
from tests.webdata import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table() when it reads a table's schema
    pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"),
]


class NationalServer(LiveServer):
    """The dashboard over the national database, its /peers figures computed before a browser
    waits for them (no partner's release: a partner is not shown the page)."""

    def prepare(self) -> None:
        warm = sign_in(self.app, "analyst1")
        for url in ("/peers", "/peers?period=fytd"):
            assert warm.get(url).status_code == 200


@pytest.fixture(scope="module")
def national_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NationalServer]:
    db: Path = build_national(tmp_path_factory.mktemp("national-live"))
    with NationalServer(db) as server:
        yield server


def test_most_similar_forces_in_a_browser(browser: Browser, national_live: NationalServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(national_live.url + "/login")
        page.get_by_label("User name").fill("analyst1")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.get_by_role("link", name="Similar forces").click()
        page.wait_for_load_state()
        expect(page.get_by_role("heading", level=1)).to_have_text("Most similar forces")
        table = page.locator("table[data-table=needs_assessment_completion]")
        expect(table.locator("tbody tr")).to_have_count(3)
        expect(table.locator("thead")).to_contain_text("Peer group")
        expect(table.locator("thead")).to_contain_text("National")
        page.get_by_label("Period").select_option("fytd")
        page.get_by_role("button", name="Show").click()
        page.wait_for_load_state()
        assert "period=fytd" in page.url
        heading = page.locator("#table-needs_assessment_completion")
        expect(heading).to_contain_text("financial year to date")
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        assert not result["violations"], [v["id"] for v in result["violations"]]
        assert not errors, errors
    finally:
        context.close()
