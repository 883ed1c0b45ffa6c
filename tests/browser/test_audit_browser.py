"""Two auditors of different agencies record their findings for the same case in Debian's
Chromium, with the keyboard only: the police auditor records and submits; the victim hub's
auditor then sees the police's findings beside the case's ledger and journey and records their
own. axe-core finds no WCAG 2.2 AA violation on the form or its error summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_browser import Person
from tests.test_qa_audits import add_auditors, draw_audit, ledger_rights
from tests.webdata import WebData, copy_of
from vcop.qa.audits import current_findings
from vcop.store.ops import open_ops

pytestmark = pytest.mark.browser


@pytest.fixture
def audit_server(
    webdata: WebData, tmp_path: Path
) -> Iterator[tuple[LiveServer, WebData, list[str]]]:
    data = copy_of(webdata, tmp_path)
    add_auditors(data.db)
    cases = draw_audit(data, tmp_path)
    with LiveServer(data.db) as server:
        yield server, data, cases


def press_tab_to(person: Person, label: str, *, exact: bool = True) -> None:
    """Focus a field the way a keyboard user reaches it (its label names it)."""
    field = person.page.get_by_label(label, exact=exact)
    field.focus()
    expect(field).to_be_focused()


def record_with_keyboard(person: Person, rights: list[int], choice_steps: int, note: str) -> None:
    page = person.page
    for right in rights:  # "Not judged" first: ArrowDown once = Met, twice = Partly met, …
        press_tab_to(person, f"Right {right}: judgement")
        for _ in range(choice_steps):
            page.keyboard.press("ArrowDown")
    for area in range(1, 6):
        radio = page.locator(f"input[name=quality_{area}][value='3']")
        radio.focus()
        page.keyboard.press("Space")
        expect(radio).to_be_checked()
    press_tab_to(person, "Notes on the case")
    page.keyboard.type(note)
    box = page.get_by_label('A candidate "voice of the victim" case study')
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    page.get_by_role("button", name="Record findings").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_text("Findings recorded.")).to_be_visible()


def test_two_agencies_record_findings_for_a_case(
    browser: Browser, audit_server: tuple[LiveServer, WebData, list[str]]
) -> None:
    live, data, cases = audit_server
    case = cases[0]
    rights = ledger_rights(data.db, case)
    assert rights

    police = Person(browser, live)
    police.sign_in("auditor_police")
    assert police.page.url.endswith("/audits")
    police.page.get_by_role("link", name="2025Q1").click()
    police.page.get_by_role("link", name=case, exact=True).click()
    expect(police.page.get_by_role("heading", name=f"Case {case}")).to_be_visible()
    expect(police.page.get_by_role("heading", name="The ledger's view of the case")).to_be_visible()
    expect(police.page.get_by_role("heading", name="The case's journey")).to_be_visible()
    police.assert_accessible()

    # a missing score: the error summary names the field, and the page stays accessible
    police.page.get_by_role("button", name="Record findings").focus()
    police.page.keyboard.press("Enter")
    police.page.wait_for_load_state()
    expect(police.page.get_by_text("There is a problem")).to_be_visible()
    police.assert_accessible()
    assert police.errors == [  # the form's own 400, which the browser reports, and nothing else
        "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    police.errors.clear()

    record_with_keyboard(police, rights, 1, "Updates were timely; call 07700 900123")
    # every other case of the sample, then submit
    for other in cases[1:]:
        police.go(f"/audits/2025Q1/cases/{other}")
        record_with_keyboard(police, ledger_rights(data.db, other), 1, "Reviewed")
    police.go("/audits/2025Q1")
    police.page.get_by_role("button", name="Submit Police's findings").focus()
    police.page.keyboard.press("Enter")
    police.page.wait_for_load_state()
    expect(police.page.get_by_text("Police: submitted")).to_be_visible()

    hub = Person(browser, live)
    hub.sign_in("auditor_hub")
    hub.go(f"/audits/2025Q1/cases/{case}")
    others = hub.page.locator("[data-table=others]")
    expect(others).to_contain_text("Updates were timely")
    expect(others).not_to_contain_text("07700")  # scrubbed before it was stored
    record_with_keyboard(hub, rights, 2, "Referral made late")
    hub.assert_accessible()
    assert not police.errors and not hub.errors, police.errors + hub.errors

    ops = open_ops(data.db)
    try:
        found = current_findings(ops, "2025Q1", crime_id=case)
    finally:
        ops.close()
    judged = {(f["agency"], f["right"]): f["judgement"] for f in found if f["right"] is not None}
    assert judged == {
        **{("police", r): "met" for r in rights},
        **{("victim_hub", r): "partly_met" for r in rights},
    }
    whole = {f["agency"]: f for f in found if f["right"] is None}
    assert whole["police"]["case_study"] and whole["victim_hub"]["quality_1"] == 3
    assert "[phone]" in whole["police"]["notes"] or "07700" not in whole["police"]["notes"]
