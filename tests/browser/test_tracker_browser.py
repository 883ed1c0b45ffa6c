"""The inspection tracker's page in Debian's Chromium: a partner reads what is overdue and picks
the date of the last board with the keyboard; axe-core finds no WCAG 2.2 AA violation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_browser import Person
from vcop.qa.tracker_demo import load_demo

pytestmark = pytest.mark.browser


@pytest.fixture
def person(browser: Browser, live: LiveServer) -> Iterator[Person]:
    ops = live.app.state.vcop.ops
    load_demo(ops, now=datetime(2025, 6, 30, 9, 0), until=date(2025, 6, 30))  # once a session
    p = Person(browser, live)
    yield p
    p.close()


def test_a_partner_reads_the_tracker_and_what_changed_since_the_last_board(
    person: Person,
) -> None:
    person.sign_in("partner1")
    person.page.get_by_role("link", name="Inspections").click()
    person.page.wait_for_load_state()
    expect(person.page.get_by_role("heading", level=1)).to_have_text("Inspection tracker")
    overdue = person.page.locator("table[data-table='overdue']")
    expect(overdue).to_contain_text("joint-victims-2023/R3")
    expect(overdue).not_to_contain_text("joint-victims-2023/R6")
    person.assert_accessible()
    # the last board met on 1 September 2024: typed in, submitted with Enter
    since = person.page.get_by_label("Changed since (YYYY-MM-DD)")
    since.fill("2024-09-01")
    since.press("Enter")
    person.page.wait_for_load_state()
    assert "since=2024-09-01" in person.page.url
    changed = person.page.locator("table[data-table='changed']")
    expect(changed).to_contain_text("Closed by the LCJB")
    expect(changed).not_to_contain_text("Chief Constable's response published")
    person.assert_accessible()
    person.assert_no_console_errors()
