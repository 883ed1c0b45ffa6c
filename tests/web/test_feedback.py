"""Officer and unit feedback (/feedback): satisfaction per unit and officer, shown only where
enough victims answered, to the unit's supervisors and analysts; an officer sees their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest
from fastapi import FastAPI

from tests.web.helpers import Clock, sign_in
from tests.webdata import WebData
from vcop.web import create_app


def answers(db: object, column: str) -> dict[str, int]:
    """Whole-experience answers in the 12 months to the as-of date, per unit or officer."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            f"SELECT {column}, count(*) FROM survey_responses "
            "WHERE survey IN ('victim_satisfaction', 'victim_voice') "
            "AND whole_experience IS NOT NULL AND surveyed_at >= ? AND surveyed_at < ? "
            f"AND {column} IS NOT NULL GROUP BY 1",
            [date(2024, 7, 1), date(2025, 7, 1)],
        ).fetchall()
    finally:
        con.close()
    return {k: n for k, n in rows}


@pytest.fixture
def app_min(data: WebData, clock: Clock) -> Iterator[FastAPI]:
    application = create_app(data.db, clock=clock, feedback_min_answers=3)
    yield application
    application.state.vcop.close()


def test_analyst_sees_every_unit_and_officer_with_the_minimum(app: FastAPI, data: WebData) -> None:
    client = sign_in(app, "analyst1")
    body = client.get("/feedback.json").json()
    units = {r["group"]: r for r in body["tables"]["unit"]["rows"]}
    officers = {r["group"]: r for r in body["tables"]["officer"]["rows"]}
    want_units, want_officers = answers(data.db, "unit"), answers(data.db, "officer_id")
    assert set(want_units) <= set(units) and set(want_officers) <= set(officers)
    for rows, want in ((units, want_units), (officers, want_officers)):
        for name, n in want.items():
            if n >= 10:
                assert rows[name]["n"] == n, name
                assert rows[name]["value_text"].endswith("%")
            else:
                assert rows[name]["n"] is None, name
                assert rows[name]["value_text"] == "fewer than 10 answers"
    assert any(n < 10 for n in want_officers.values()), "some officers have too few answers"
    html = client.get("/feedback").text
    assert "fewer than 10 answers" in html


def test_the_minimum_is_a_setting(app_min: FastAPI, data: WebData) -> None:
    client = sign_in(app_min, "analyst1")
    rows = client.get("/feedback.json").json()["tables"]["officer"]["rows"]
    want = answers(data.db, "officer_id")
    shown = {
        r["group"]: r["n"] for r in rows if r["n"] is not None and r["group"] != "not recorded"
    }
    assert shown == {k: n for k, n in want.items() if n >= 3}
    assert all(r["value_text"] == "fewer than 3 answers" for r in rows if r["n"] is None)


def test_supervisor_sees_only_their_unit(app_min: FastAPI, data: WebData) -> None:
    client = sign_in(app_min, "super1")
    body = client.get("/feedback.json").json()
    assert {r["group"] for r in body["tables"]["unit"]["rows"]} <= {data.unit, "not recorded"}
    assert data.other_unit not in client.get("/feedback").text


def test_officer_sees_only_their_own(app_min: FastAPI, data: WebData) -> None:
    client = sign_in(app_min, "officer1")
    body = client.get("/feedback.json").json()
    assert set(body["tables"]) == {"own"}
    n = answers(data.db, "officer_id").get(data.officer_id, 0)
    (row,) = body["tables"]["own"]["rows"] or [{"n": None, "value_text": None}]
    if n >= 3:
        assert row["n"] == n
    else:
        assert row["n"] is None
    assert 'href="/feedback"' in client.get("/").text


def test_partner_and_admin_may_not(app: FastAPI) -> None:
    for user in ("partner1", "admin1"):
        client = sign_in(app, user)
        assert client.get("/feedback").status_code == 403
        assert 'href="/feedback"' not in client.get("/").text
