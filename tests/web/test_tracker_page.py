"""The inspection tracker's page (/tracker): what is overdue on a day, what changed since a date,
who may read it, and its downloads logged as exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from tests.web.helpers import sign_in
from tests.webdata import WebData
from vcop.qa import tracker
from vcop.qa.tracker_demo import load_demo
from vcop.store import access_log
from vcop.store.ops import open_ops

REPORT = "joint-victims-2023"


@pytest.fixture
def tracked(data: WebData) -> WebData:
    """The web data with the demo's December 2023 joint inspection in its tracker."""
    ops = open_ops(data.db)
    try:
        assert load_demo(ops, now=datetime(2025, 6, 30, 9, 0), until=date(2025, 6, 30))
    finally:
        ops.close()
    return data


def _tables(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {name: t["rows"] for name, t in body["tables"].items()}


def test_overdue_on_a_day_is_hand_checked(tracked: WebData, app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    # On 1 October 2024: R2 and R4 (due by 30 September 2024) are still in progress, so overdue;
    # R6, due the same day, was complete on 23 September; R1, R3 and R5 are due by 31 December.
    tables = _tables(client.get("/tracker.json?as_of=2024-10-01").json())
    assert [(r["item"], r["days_overdue"]) for r in tables["overdue"]] == [
        (f"{REPORT}/R2", 1), (f"{REPORT}/R4", 1)]  # fmt: skip
    # On 1 July 2025 (the clock): R1 to R4 are overdue, R5 is complete and R6 closed.
    tables = _tables(client.get("/tracker.json").json())
    assert [r["item"] for r in tables["overdue"]] == [f"{REPORT}/R{i}" for i in (1, 2, 3, 4)]
    assert {r["reference"]: r["status"] for r in tables["items"]} == {
        "R1": "in_progress", "R2": "in_progress", "R3": "in_progress", "R4": "in_progress",
        "R5": "complete", "R6": "closed"}  # fmt: skip
    assert {r["response_due"] for r in tables["items"]} == {"2024-02-12"}
    # its response was published on 9 February 2024, in time
    assert [(r["response_due"], r["response"]) for r in tables["reports"]] == [
        ("2024-02-12", "published")]  # fmt: skip


def test_an_unanswered_report_is_overdue_after_its_56_days(tracked: WebData, app: FastAPI) -> None:
    ops = open_ops(tracked.db)
    try:
        tracker.add_report(
            ops,
            tracker.Report(
                "pcc-inspection-2025", "A force inspection", "HMICFRS", date(2025, 5, 1)
            ),
            username="opcc1",
            now=datetime(2025, 5, 2, 9, 0),
        )
    finally:
        ops.close()
    client = sign_in(app, "analyst1")
    # 1 May is day 1, 25 June day 56: due by 25 June 2025, and on 1 July six days overdue
    rows = _tables(client.get("/tracker.json").json())["overdue"]
    assert rows[0]["item"] == "pcc-inspection-2025"
    assert (rows[0]["due"], rows[0]["days_overdue"], rows[0]["status"]) == (
        "2025-06-25", 6, "overdue")  # fmt: skip
    on_time = _tables(client.get("/tracker.json?as_of=2025-06-25").json())["overdue"]
    assert "pcc-inspection-2025" not in [r["item"] for r in on_time]


def test_the_page_writes_kinds_and_agencies_in_words_and_its_twins_keep_the_codes(
    tracked: WebData, app: FastAPI
) -> None:
    client = sign_in(app, "analyst1")
    html = client.get("/tracker").text
    table = html[html.index("All recommendations and areas for improvement") :]
    table = table[: table.index("</table>")]
    # R4 is owed with the witness care units, R5 and R6 with the prison and probation service
    assert "Witness Care Units" in table and "HM Prison and Probation Service" in table
    assert "Recommendation" in table
    for code in (">wcu<", ">hmpps<", ">police<", ">recommendation<"):
        assert code not in table.replace(" ", "").replace("\n", "")
    rows = _tables(client.get("/tracker.json").json())["items"]
    assert {r["reference"]: r["agency"] for r in rows}["R4"] == "wcu"
    assert {r["kind"] for r in rows} == {"recommendation"}
    assert "kind_label" not in rows[0] and "agency_label" not in rows[0]


def test_changed_since_a_date(tracked: WebData, app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    changed = _tables(client.get("/tracker.json?since=2025-01-01").json())["changed"]
    assert [(r["item"], r["status"], r["changed_on"]) for r in changed] == [
        (f"{REPORT}/R5", "complete", "2025-03-17")]  # fmt: skip
    changed = _tables(client.get("/tracker.json?since=2024-09-01").json())["changed"]
    assert [r["changed_on"] for r in changed] == ["2025-03-17", "2024-11-11", "2024-09-23"]
    # by default, the last 30 days: nothing changed in June 2025
    assert _tables(client.get("/tracker.json").json())["changed"] == []
    page = client.get("/tracker?since=2024-09-01")
    assert page.status_code == 200
    assert "Changed since 1 September 2024" in page.text and "Closed by the LCJB" in page.text
    assert client.get("/tracker?since=2024-02-30").status_code == 400
    assert client.get("/tracker?since=2025-08-01").status_code == 400  # after the as-of day


@pytest.mark.parametrize(
    ("username", "code"),
    [("analyst1", 200), ("admin1", 200), ("partner1", 200), ("super1", 200), ("officer1", 200)],
)
def test_who_may_read_it(tracked: WebData, app: FastAPI, username: str, code: int) -> None:
    response = sign_in(app, username).get("/tracker")
    assert response.status_code == code
    assert "Inspection tracker" in response.text and "Inspections" in response.text


def test_downloads_are_logged_and_the_page_is_not(tracked: WebData, app: FastAPI) -> None:
    client = sign_in(app, "partner1")
    assert client.get("/tracker").status_code == 200
    csv = client.get("/tracker.csv?table=items")
    assert csv.status_code == 200 and "response_due" in csv.text.splitlines()[0]
    ops = open_ops(tracked.db)
    try:
        entries = [e for e in access_log.entries(ops) if str(e["action"]).startswith("tracker")]
    finally:
        ops.close()
    assert [(e["username"], e["action"]) for e in entries] == [("partner1", "tracker_csv")]


def test_an_empty_tracker_says_so(data: WebData, app: FastAPI) -> None:
    page = sign_in(app, "analyst1").get("/tracker")
    assert page.status_code == 200
    assert "The tracker holds no recommendation yet" in page.text
    assert "Nothing is overdue." in page.text
