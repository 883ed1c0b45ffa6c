"""Every page on a phone and on paper (issue 16, items 4 and 5).

At 320 CSS px wide (WCAG 2.2, 1.4.10 Reflow) no page may scroll sideways: the document is no
wider than the window — a wide table scrolls inside its own focusable region, a select with a long
option shrinks to the page — and the service navigation is folded behind a "Menu" button (GOV.UK
Frontend's script). Printed (the print style sheet, at the width of an A4 page inside its margins)
no page is wider than the paper and the navigation and forms are not printed.

One browser, one test: every page in turn, so the server and the browser start once.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer
from tests.webdata import PASSWORD, WebData

pytestmark = pytest.mark.browser

#: The narrowest window WCAG's reflow criterion asks a page to work in, in CSS px.
PHONE = 320
#: An A4 page's width inside 12 mm margins (the print style sheet's @page), in CSS px (96 a inch).
A4_INSIDE_MARGINS = round((210 - 2 * 12) / 25.4 * 96)

#: (account, path) of the sign-in page, every aggregate page (with its widest splits), the
#: worklist, a journey and the form asking why, the data-quality and the administrator's pages.
PAGES = [
    ("", "/login"),
    ("analyst1", "/"),
    ("analyst1", "/compliance"),
    ("analyst1", "/compliance?by=area"),
    ("analyst1", "/compliance?measure=obligation"),
    ("analyst1", "/compliance?measure=obligation&by=ethnicity"),
    ("analyst1", "/compliance?measure=victim_updates_on_time&by=officer"),
    ("analyst1", "/satisfaction"),
    ("analyst1", "/response-times"),
    ("analyst1", "/outcomes"),
    ("analyst1", "/services"),
    ("analyst1", "/satisfaction?measure=satisfaction_whole_experience&by=area"),
    ("analyst1", "/outcomes?measure=repeat_victimisation_rate&by=ethnicity"),
    ("analyst1", "/outcomes?measure=crimes_finalised&by=outcome_type"),
    ("analyst1", "/response-times?measure=delay_reason_share&by=grade"),
    ("super1", "/outcomes?measure=prosecution_possible_outcome_rate"),
    ("analyst1", "/metrics/compliance_by_right?group=11"),
    ("analyst1", "/metrics/referral_outcome_share"),
    ("analyst1", "/worklist"),
    ("analyst1", "/worklist?view=victim"),
    ("analyst1", "/victims"),
    ("analyst1", "/victims/{victim}"),
    ("analyst1", "/victims/{other}"),  # the reason form: no reason given for this victim yet
    ("analyst1", "/data-quality"),
    ("analyst1", "/data-quality/rejects"),
    ("admin1", "/access-log"),
    ("admin1", "/users"),
    ("partner1", "/"),
    ("partner1", "/compliance?by=area"),
    ("partner1", "/satisfaction?measure=satisfaction_whole_experience&by=area"),
]


def _sign_in(page: Page, live: LiveServer, username: str) -> None:
    page.goto(live.url + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _charts_drawn(page: Page) -> None:
    charts = page.locator("[data-vega-spec]")
    for i in range(charts.count()):
        expect(charts.nth(i)).to_have_attribute("data-rendered", "true", timeout=10_000)


def _width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def test_every_page_reflows_at_320_px_and_prints_within_a4(
    browser: Browser, live: LiveServer, webdata: WebData
) -> None:
    too_wide: dict[str, int] = {}
    too_wide_printed: dict[str, int] = {}
    signed_in: str | None = None
    context = None
    page: Page | None = None
    try:
        for username, path in PAGES:
            if username != signed_in:
                if context is not None:
                    context.close()
                context = browser.new_context(viewport={"width": PHONE, "height": 800})
                page = context.new_page()
                if username:
                    _sign_in(page, live, username)
                signed_in = username
                if username == "analyst1":  # a journey is shown once a reason is given
                    page.goto(f"{live.url}/victims/{webdata.in_unit_victim}")
                    page.get_by_label("Investigating the crime").check()
                    page.get_by_role("button", name="Continue").click()
                    page.wait_for_load_state()
            assert page is not None
            shown = path.format(victim=webdata.in_unit_victim, other=webdata.out_of_unit_victim)
            response = page.goto(live.url + shown)
            assert response is not None and response.status == 200, shown
            _charts_drawn(page)
            if _width(page) > PHONE:
                too_wide[f"{username} {shown}"] = _width(page)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": A4_INSIDE_MARGINS, "height": 1000})
            if _width(page) > A4_INSIDE_MARGINS:
                too_wide_printed[f"{username} {shown}"] = _width(page)
            assert page.locator(".govuk-service-navigation").is_hidden(), shown
            page.emulate_media(media="screen")
            page.set_viewport_size({"width": PHONE, "height": 800})

        # on a phone the navigation is folded behind "Menu", and opens from it
        assert page is not None
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(page.locator("#navigation")).to_be_hidden()
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("link", name="Overview")).to_be_visible()
    finally:
        if context is not None:
            context.close()
    assert not too_wide, f"wider than {PHONE} px (CSS px per page): {too_wide}"
    assert not too_wide_printed, (
        f"printed wider than A4 ({A4_INSIDE_MARGINS} px inside the margins): {too_wide_printed}"
    )
