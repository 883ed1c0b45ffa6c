"""The Victim Voice questionnaire at /voice/{token}: answered once without an account, each
answer kept with the officer in charge and its comment scrubbed; used, expired and unknown links,
guessing, the copy into the build at a refresh, and `vcop serve --public`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import THRESHOLD
from tests.web.helpers import Clock, form_token, sign_in
from tests.webdata import WebData
from vcop.store import connect
from vcop.store.ops import OpsStore, open_ops
from vcop.voice.answers import MAX_MISSES, copy_into_build, look_up, store_answer
from vcop.voice.invitations import Due, issue
from vcop.voice.questions import questions
from vcop.web import create_app
from vcop.web.voice_app import create_public_app

#: A comment with a UK mobile number, an email address, a postcode and a street address.
COMMENT = (
    "The officer was kind. Ring me on 07700 900123 or write to jo.bloggs@example.com, "
    "I live at 12 Acacia Avenue, DS9 4AB."
)
PERSONAL = ("07700", "900123", "jo.bloggs", "example.com", "DS9 4AB", "DS94AB", "Acacia")


def victim_crime(db: Path) -> tuple[str, str, str]:
    """A victim, a crime of theirs with an officer in charge, and that officer."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT v.victim_id, v.crime_id, c.officer_id FROM victims v JOIN crimes c "
            "USING (crime_id) WHERE c.officer_id IS NOT NULL ORDER BY 2, 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


def invite(ops: OpsStore, victim: str, crime: str, now: datetime, days: int = 28) -> str:
    """A new link for ``victim`` of ``crime``; its token."""
    made = issue(ops, [Due(victim, crime, "reached")], as_of=now.date(), now=now, days=days,
                 base_url="https://voice.example", username="ana")  # fmt: skip
    assert len(made) == 1
    return made[0].url.rsplit("/", 1)[1]


def answers(**changed: str) -> dict[str, str]:
    chosen = {q.name: q.options[1].value for q in questions()}  # the second answer of each
    chosen["ease_of_contact"] = "not_say"
    return {"consent": "yes", **chosen, "comment": COMMENT, **changed}


@pytest.fixture
def token(app: FastAPI, data: WebData, clock: Clock) -> str:
    victim, crime, _ = victim_crime(data.db)
    return invite(app.state.vcop.ops, victim, crime, clock())


def post(client: TestClient, token: str, form: dict[str, str]) -> object:
    page = client.get(f"/voice/{token}")
    assert page.status_code == 200, page.text
    return client.post(f"/voice/{token}", data={**form, "csrf_token": form_token(page.text)})


def stored(ops: OpsStore) -> list[dict[str, object]]:
    return ops.query("SELECT * FROM survey_answers").dicts()


def test_answered_once_without_an_account(app: FastAPI, data: WebData, token: str) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get(f"/voice/{token}")
    assert page.status_code == 200
    text = page.text
    assert token not in text  # the form posts back to its own address
    privacy = text.index("How we use your answers")
    consent = text.index("Do you agree to take part?")
    first = text.index(questions()[0].text)
    assert privacy < consent < first  # the notice and consent come before any question
    for q in questions():
        assert q.text in text
    assert text.count('<fieldset class="govuk-fieldset"') == len(questions()) + 1
    assert 'name="comment"' in text and "Sign in" not in text

    done = client.post(f"/voice/{token}", data={**answers(), "csrf_token": form_token(text)})
    assert done.status_code == 200, done.text
    assert "Thank you for your answers" in done.text

    ops = app.state.vcop.ops
    (row,) = stored(ops)
    victim, crime, officer = victim_crime(data.db)
    assert (row["victim_id"], row["crime_id"], row["officer_id"]) == (victim, crime, officer)
    assert row["ease_of_contact"] is None  # "does not apply, or rather not say"
    assert row["whole_experience"] == 2 and row["confidence_to_report"] == "fairly_confident"
    comment = str(row["comment"])
    assert "The officer was kind." in comment
    assert not [p for p in PERSONAL if p in comment], comment
    assert {"[phone]", "[email]", "[postcode]", "[address]"} <= set(re.findall(r"\[\w+\]", comment))
    assert ops.scalar("SELECT used_at FROM survey_invitations") is not None

    again = client.get(f"/voice/{token}")
    assert again.status_code == 410
    assert "You have already answered this questionnaire" in again.text
    twice = client.post(f"/voice/{token}", data={**answers(), "csrf_token": form_token(text)})
    assert twice.status_code == 410 and len(stored(ops)) == 1


def test_missing_answers_are_shown_in_an_error_summary(app: FastAPI, token: str) -> None:
    client = TestClient(app, follow_redirects=False)
    form = answers(consent="")
    del form["treatment"]
    response = post(client, token, form)
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert 'href="#consent"' in response.text and 'href="#treatment"' in response.text
    assert 'id="treatment-error"' in response.text
    assert COMMENT in response.text  # what was typed is kept (it was not stored)
    assert stored(app.state.vcop.ops) == []
    assert post(client, token, answers()).status_code == 200


def test_the_form_needs_its_csrf_token(app: FastAPI, token: str) -> None:
    client = TestClient(app, follow_redirects=False)
    client.get(f"/voice/{token}")
    refused = client.post(f"/voice/{token}", data={**answers(), "csrf_token": "forged"})
    assert refused.status_code == 400
    stranger = TestClient(app, follow_redirects=False)  # no cookie from the page
    assert stranger.post(f"/voice/{token}", data=answers()).status_code == 400
    assert stored(app.state.vcop.ops) == []


def test_an_expired_link_says_so(app: FastAPI, token: str, clock: Clock) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get(f"/voice/{token}")
    clock.advance(days=28)
    expired = client.get(f"/voice/{token}")
    assert expired.status_code == 410
    assert "This link has expired" in expired.text and "already answered" not in expired.text
    late = client.post(f"/voice/{token}", data={**answers(), "csrf_token": form_token(page.text)})
    assert late.status_code == 410 and stored(app.state.vcop.ops) == []


def test_unknown_links_are_404_and_guessing_is_throttled(
    app: FastAPI, token: str, clock: Clock
) -> None:
    guesser = TestClient(app, follow_redirects=False, client=("203.0.113.9", 40000))
    other = TestClient(app, follow_redirects=False, client=("198.51.100.7", 40000))
    for i in range(MAX_MISSES):
        response = guesser.get(f"/voice/guess{i}")
        assert response.status_code == 404
        assert "This link is not right" in response.text
    throttled = guesser.get(f"/voice/{token}")  # even a real link: 429 tells nothing
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert guesser.get("/voice/another-guess").status_code == 429
    assert other.get(f"/voice/{token}").status_code == 200  # per client address
    clock.advance(minutes=16)
    assert guesser.get(f"/voice/{token}").status_code == 200


def test_the_refresh_copies_answers_into_survey_responses(data: WebData) -> None:
    ops = open_ops(data.db)
    victim, crime, officer = victim_crime(data.db)
    now = datetime(2025, 7, 1, 9, 0)
    try:
        token = invite(ops, victim, crime, now)
        link = look_up(ops, token, now)
        form = answers()
        values = {q.name: q.stored(form[q.name]) for q in questions()}
        response_id = store_answer(
            ops, link, {**values, "comment": COMMENT}, now, lambda _: (officer, "U9")
        )
        assert response_id is not None
        assert store_answer(ops, link, values, now) is None  # once
        con = connect(data.db)
        try:
            assert copy_into_build(con, ops) == 1
            assert copy_into_build(con, ops) == 1  # again: replaced, not added
            rows = con.execute(
                "SELECT s.survey, s.victim_id, s.crime_id, s.officer_id, s.unit, s.crime_type, "
                "c.crime_type, s.whole_experience, s.kept_informed, s.comment, s.row_hash "
                "FROM survey_responses s JOIN crimes c USING (crime_id) WHERE s.response_id = ?",
                [response_id],
            ).fetchall()
            assert len(rows) == 1
            survey, v, c, o, unit, kind, crime_kind, whole, informed, comment, digest = rows[0]
            assert (survey, v, c, o, unit) == ("victim_voice", victim, crime, officer, "U9")
            assert kind == crime_kind and whole == 2 and informed == 2 and digest
            assert not [p for p in PERSONAL if p in comment]
            # an erased victim's answers are not copied back
            ops.execute(
                "INSERT INTO erasures (erased_at, victim_id, username, reason) "
                "VALUES (?, ?, 'dpo', 'SAR')",
                [now, victim],
            )
            con.execute("DELETE FROM survey_responses WHERE victim_id = ?", [victim])
            assert copy_into_build(con, ops) == 0
        finally:
            con.close()
    finally:
        ops.close()


@pytest.fixture
def public_app(data: WebData, clock: Clock) -> Iterator[FastAPI]:
    application = create_public_app(data.db, clock=clock)
    yield application
    application.state.vcop.close()


def test_serve_public_serves_the_questionnaire_and_nothing_else(
    public_app: FastAPI, data: WebData, clock: Clock
) -> None:
    victim, crime, officer = victim_crime(data.db)
    token = invite(public_app.state.vcop.ops, victim, crime, clock())
    client = TestClient(public_app, follow_redirects=False)
    page = client.get(f"/voice/{token}")
    assert page.status_code == 200
    assert client.get("/static/vcop.css").status_code == 200
    for path in ("/", "/login", "/healthz", "/readyz", "/metrics", "/victims", "/worklist",
                 "/access-log", "/compliance", "/metrics.json", "/voice"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Sign in" not in response.text
    assert client.post("/login", data={"username": "analyst1"}).status_code in (404, 405)
    done = client.post(f"/voice/{token}", data={**answers(), "csrf_token": form_token(page.text)})
    assert done.status_code == 200
    (row,) = stored(public_app.state.vcop.ops)
    assert row["officer_id"] == officer  # the officer in charge, from the published build
    assert client.get(f"/voice/{token}").status_code == 410


def test_the_dashboard_serves_the_questionnaire_too(app: FastAPI, token: str) -> None:
    client = TestClient(app, follow_redirects=False)
    assert client.get(f"/voice/{token}").status_code == 200
    assert client.get("/").status_code == 303  # the dashboard itself still needs a sign-in


def test_a_token_never_reaches_the_request_log(
    app: FastAPI, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="vcop.web")
    TestClient(app, follow_redirects=False).get(f"/voice/{token}")
    assert "/voice/{token}" in caplog.text and token not in caplog.text


def test_answers_appear_in_the_victim_voice_measures(data: WebData, clock: Clock) -> None:
    """Four questionnaires answered, copied into the build at a refresh: the Victim Voice
    questions' measures on the satisfaction page count them, "rather not say" left out."""
    con = duckdb.connect(str(data.db), read_only=True)
    try:
        pairs = con.execute(
            "SELECT v.victim_id, v.crime_id FROM victims v JOIN crimes c USING (crime_id) "
            "WHERE c.officer_id IS NOT NULL ORDER BY 2, 1 LIMIT 4"
        ).fetchall()
    finally:
        con.close()
    informed = ["2", "6", "1", "not_say"]
    confident = ["very_confident", "not_at_all_confident", "fairly_confident", "not_say"]
    when = datetime(2025, 6, 20, 9, 0)  # inside the 12 months to the build's as-of date
    ops = open_ops(data.db)
    try:
        for (victim, crime), k, c in zip(pairs, informed, confident, strict=True):
            link = look_up(ops, invite(ops, str(victim), str(crime), when), when)
            form = answers(kept_informed=k, confidence_to_report=c)
            values = {q.name: q.stored(form[q.name]) for q in questions()}
            assert store_answer(ops, link, values, when) is not None
        build = connect(data.db)
        try:
            assert copy_into_build(build, ops) == 4
        finally:
            build.close()
    finally:
        ops.close()
    application = create_app(data.db, clock=clock, suppression_threshold=THRESHOLD)
    try:
        client = sign_in(application, "analyst1")
        body = client.get("/satisfaction.json").json()
        rows = {r["metric_id"]: r for r in body["tables"]["victim_voice"]["rows"]}
        assert set(rows) == {
            "voice_kept_informed", "voice_listened_to", "voice_needs_met",
            "voice_confidence_to_report",
        }  # fmt: skip
        assert rows["voice_kept_informed"]["n"] == 3  # "rather not say" is left out
        assert rows["voice_kept_informed"]["value"] == pytest.approx(2 / 3)
        assert rows["voice_confidence_to_report"]["n"] == 3
        assert rows["voice_confidence_to_report"]["value"] == pytest.approx(2 / 3)
        assert rows["voice_listened_to"]["n"] == 4 and rows["voice_listened_to"]["value"] == 1
        html = client.get("/satisfaction").text
        assert "Victim Voice questionnaire" in html
        assert "Satisfied that the police listened to them (Victim Voice)" in html
        split = client.get("/satisfaction.json?measure=voice_kept_informed&by=area").json()
        assert split["tables"], split
    finally:
        application.state.vcop.close()


def test_serve_public_does_not_ask_for_accounts(
    webdata: WebData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The questionnaire needs no account: `vcop serve --public` over a store without any does
    not warn "No accounts yet" (the dashboard still does). The server loop itself is not run."""
    import shutil

    import uvicorn
    from typer.testing import CliRunner

    from vcop.cli import app as cli

    db = tmp_path / "vcop.duckdb"
    shutil.copyfile(webdata.db, db)  # the build only: its operational store has no accounts
    served: list[FastAPI] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **_: served.append(application))
    public = CliRunner().invoke(cli, ["serve", "--db", str(db), "--public"])
    assert public.exit_code == 0, public.output
    assert "No accounts yet" not in public.output
    assert "Victim Voice questionnaire only" in public.output
    (application,) = served
    assert TestClient(application).get("/voice/not-a-link").status_code == 404
    dashboard = CliRunner().invoke(cli, ["serve", "--db", str(db), "--watch", "60"])
    assert "No accounts yet" in dashboard.output
