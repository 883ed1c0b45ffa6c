"""Signing in and out, sessions, CSRF, accounts, and the headers every response carries."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.helpers import Clock, csrf_of, form_token, sign_in
from tests.webdata import PASSWORD, WebData
from vcop.cli import app as cli
from vcop.metrics.release import Release
from vcop.store import connect
from vcop.store.ops import open_ops
from vcop.web.app import CSP
from vcop.web.audit import reason_text


def test_login_form_has_csrf_and_error_summary(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    assert 'for="username"' in page.text and 'for="password"' in page.text
    bad = client.post(
        "/login",
        data={
            "username": "analyst1",
            "password": "wrong password!",
            "csrf_token": form_token(page.text),
        },
    )
    assert bad.status_code == 401
    assert "govuk-error-summary" in bad.text and "There is a problem" in bad.text
    assert "vcop_session" not in bad.cookies
    empty = client.post(
        "/login", data={"username": "", "password": "", "csrf_token": form_token(page.text)}
    )
    assert empty.status_code == 400
    assert "Enter your user name" in empty.text and "Enter your password" in empty.text


def test_login_without_csrf_token_is_refused(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    client.get("/login")
    response = client.post("/login", data={"username": "analyst1", "password": PASSWORD})
    assert response.status_code == 400
    response = client.post(
        "/login", data={"username": "analyst1", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400


def test_session_cookie_is_httponly_samesite_and_expires(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "analyst1",
            "password": PASSWORD,
            "csrf_token": form_token(page.text),
            "next": "/worklist",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/worklist"
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("vcop_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Max-Age=28800" in cookie
    assert "Path=/" in cookie


def test_the_database_holds_only_hashes(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    token = client.cookies.get("vcop_session")
    ops = app.state.vcop.ops
    hashes = [r[0] for r in ops.query("SELECT password_hash FROM users").rows]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert PASSWORD not in str(hashes)
    sessions = [r[0] for r in ops.query("SELECT session_hash FROM sessions").rows]
    assert token not in sessions and len(sessions) == 1


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_next_never_leaves_the_site(app: FastAPI, target: str) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "analyst1",
            "password": PASSWORD,
            "csrf_token": form_token(page.text),
            "next": target,
        },
    )
    assert response.headers["location"] == "/"


def test_pages_send_people_who_are_not_signed_in_to_sign_in(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    response = client.get("/worklist?category=referral")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fworklist%3Fcategory%3Dreferral"
    for twin in ("/worklist.json", "/worklist.csv", "/index.json", "/victims/X.csv"):
        assert client.get(twin).status_code == 401


def test_sign_out_ends_the_session(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    token = client.cookies.get("vcop_session")
    assert client.post("/logout", data={}).status_code == 400  # no CSRF token
    response = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    replay = TestClient(app, follow_redirects=False, cookies={"vcop_session": token})
    assert replay.get("/").status_code == 303


def test_sessions_expire_when_idle_and_after_eight_hours(app: FastAPI, clock: Clock) -> None:
    client = sign_in(app, "analyst1")
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/").status_code == 303  # idle for 31 minutes
    client = sign_in(app, "analyst1")
    for _ in range(16):
        clock.advance(minutes=29)
        assert client.get("/").status_code == 200
    clock.advance(minutes=29)  # 8h12m after sign-in, though never idle for long
    assert client.get("/").status_code == 303


def test_sessions_survive_a_server_restart(data: WebData, clock: Clock) -> None:
    from vcop.web import create_app

    first = create_app(data.db, clock=clock)
    client = sign_in(first, "analyst1")
    token = client.cookies.get("vcop_session")
    first.state.vcop.close()
    second = create_app(data.db, clock=clock)
    again = TestClient(second, follow_redirects=False, cookies={"vcop_session": token})
    assert again.get("/").status_code == 200
    second.state.vcop.close()


def test_an_account_disabled_while_the_server_runs_is_signed_out_at_once(
    app: FastAPI, data: WebData, clock: Clock
) -> None:
    """`vcop users disable` (another process) ends the account's live sessions on the running
    server at its next request, not when the session would have expired."""
    client = sign_in(app, "analyst1")
    assert client.get("/").status_code == 200
    runner = CliRunner()
    done = runner.invoke(cli, ["users", "disable", "analyst1", "--db", str(data.db)])
    assert done.exit_code == 0, done.output
    assert client.get("/").status_code == 303


def test_any_process_of_the_server_answers_any_request(data: WebData, clock: Clock) -> None:
    """Two servers over one build (as `vcop serve --workers 2` runs): a session started on one
    is served by the other, the reason given on one opens the journey on the other, and signing
    out on one ends the session on both."""
    from vcop.web import create_app

    first, second = create_app(data.db, clock=clock), create_app(data.db, clock=clock)
    try:
        client = sign_in(first, "super1")
        token = client.cookies.get("vcop_session")
        other = TestClient(second, follow_redirects=False, cookies={"vcop_session": token})
        victim = data.failed_contact_victim
        asked = other.get(f"/victims/{victim}")
        assert asked.status_code == 200 and "Why are you opening this victim" in asked.text
        given = client.post(
            f"/victims/{victim}/reason",
            data={"reason": "supervision", "csrf_token": csrf_of(client)},
        )
        assert given.status_code == 303
        shown = other.get(f"/victims/{victim}")
        assert shown.status_code == 200 and "Timeline" in shown.text
        entry = second.state.vcop.ops.query(
            "SELECT reason FROM access_log WHERE victim_id = ?", [victim]
        ).rows
        assert entry == [(reason_text("supervision", ""),)]
        assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
        assert other.get("/").status_code == 303
        reasons = first.state.vcop.ops.scalar("SELECT count(*) FROM session_reasons")
        assert reasons == 0  # they ended with the session
    finally:
        first.state.vcop.close()
        second.state.vcop.close()


def test_responses_carry_security_headers(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    page = client.get("/")
    assert page.headers["content-security-policy"] == CSP
    assert "unsafe-eval" not in CSP and "script-src 'self';" in CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    static = client.get("/static/vcop.css")
    assert static.status_code == 200 and "max-age" in static.headers["cache-control"]


def test_the_server_log_never_names_a_victim(
    app: FastAPI, webdata: WebData, caplog: pytest.LogCaptureFixture
) -> None:
    client = sign_in(app, "analyst1")
    victim = webdata.in_unit_victim
    with caplog.at_level(logging.INFO, logger="vcop.web"):
        client.post(
            f"/victims/{victim}/reason",
            data={"reason": "investigation", "csrf_token": csrf_of(client)},
        )
        assert client.get(f"/victims/{victim}").status_code == 200
        client.get(f"/victims/{victim}.csv")
    assert "/victims/{victim_id}" in caplog.text
    assert victim not in caplog.text


# -- accounts (vcop users) ----------------------------------------------------------------------


def test_users_add_list_disable(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "v.duckdb"
    connect(db).close()
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "add", "ana", "--role", "analyst", "--db", str(db)], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli, ["users", "add", "sup", "--role", "supervisor", "--unit", "CID North", "--db", str(db)],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["users", "list", "--db", str(db), "--format", "csv"])
    assert listed.output.splitlines()[0].startswith(
        "username,role,area,district,unit,officer_id,disabled"
    )
    assert "sup,supervisor,,,CID North" in listed.output
    assert PASSWORD not in listed.output and "argon2" not in listed.output

    from vcop.web import create_app

    app = create_app(db, clock=clock)
    client = sign_in(app, "ana")
    app.state.vcop.close()

    new = "another long passphrase"
    changed = runner.invoke(cli, ["users", "password", "ana", "--db", str(db)], input=new + "\n")
    assert changed.exit_code == 0, changed.output
    app = create_app(db, clock=clock)
    sign_in(app, "ana", new)
    app.state.vcop.close()

    assert runner.invoke(cli, ["users", "disable", "ana", "--db", str(db)]).exit_code == 0
    app = create_app(db, clock=clock)
    replay = TestClient(
        app, follow_redirects=False, cookies={"vcop_session": client.cookies["vcop_session"]}
    )
    assert replay.get("/").status_code == 303  # the disabled account's session ended
    page = replay.get("/login")
    refused = replay.post(
        "/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": form_token(page.text)},
    )
    assert refused.status_code == 401
    app.state.vcop.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--role", "supervisor"], "needs --unit"),
        (["x", "--role", "officer"], "needs --officer-id"),
        (["x", "--role", "partner", "--unit", "CID"], "for supervisors only"),
        (["bad name", "--role", "analyst"], "user name may use only"),
        (
            ["x", "--role", "analyst", "--agency", "cps"],
            "--agency is for partners and auditors only",
        ),
        (["x", "--role", "partner", "--agency", "mi5"], "unknown agency 'mi5'"),
        (["x", "--role", "auditor"], "an auditor needs --agency"),
        (["x", "--role", "auditor", "--agency", "hmcts"], "an auditor needs --agency"),
    ],
)
def test_users_add_refuses_bad_accounts(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "v.duckdb"
    result = CliRunner().invoke(
        cli, ["users", "add", *args, "--db", str(db)], input=PASSWORD + "\n"
    )
    assert result.exit_code == 2
    assert message in result.output


def test_users_add_refuses_a_short_password_and_a_duplicate(tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    runner = CliRunner()
    short = runner.invoke(
        cli, ["users", "add", "a", "--role", "admin", "--db", str(db)], input="short\n"
    )
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    assert (
        runner.invoke(
            cli, ["users", "add", "a", "--role", "admin", "--db", str(db)], input=PASSWORD + "\n"
        ).exit_code
        == 0
    )
    again = runner.invoke(
        cli, ["users", "add", "a", "--role", "admin", "--db", str(db)], input=PASSWORD + "\n"
    )
    assert again.exit_code == 2 and "already exists" in again.output


def test_the_demo_account_is_made_once_with_a_password_shown_once(
    tmp_path: Path, clock: Clock
) -> None:
    from vcop.web import create_app
    from vcop.web.auth import DEMO_ACCOUNT, ensure_demo_account

    db = tmp_path / "v.duckdb"
    connect(db).close()
    ops = open_ops(db)
    password = ensure_demo_account(ops, now=clock())
    assert password and len(password) >= 12
    assert ensure_demo_account(ops, now=clock()) is None  # never reset behind the user's back
    stored = ops.query("SELECT role, password_hash FROM users").rows
    assert stored[0][0] == "analyst" and password not in stored[0][1]
    ops.close()
    app = create_app(db, clock=clock)
    client = sign_in(app, DEMO_ACCOUNT, password)
    assert client.get("/").status_code == 200
    app.state.vcop.close()


def test_a_partner_account_is_tied_to_its_body_and_sees_its_obligations_marked(
    app: FastAPI, data: WebData, published: Release
) -> None:
    """`users add --role partner --agency cps`: the account lists its body, and the compliance
    page by obligation marks the obligations the CPS owes beside every other body's."""
    db = str(data.db)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "add", "cps1", "--role", "partner", "--agency", "cps", "--db", db],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "aggregate figures only (cps)" in result.output
    listed = runner.invoke(cli, ["users", "list", "--db", db, "--format", "json"])
    mine = next(u for u in json.loads(listed.output) if u["username"] == "cps1")
    assert (mine["role"], mine["agency"]) == ("partner", "cps")

    client = sign_in(app, "cps1")
    rows = client.get("/compliance.json?measure=obligation").json()["tables"]["compliance"]["rows"]
    owners = {r["group"]: r["owner"] for r in rows}
    assert owners["R6.cps-stop-or-alter"] == "cps"
    assert owners["R6.suspect-arrested"] == "police"
    marked = {r["group"] for r in rows if "(your body)" in r["owner_label"]}
    assert marked == {g for g, o in owners.items() if o == "cps"}
    assert (
        "Crown Prosecution Service (your body)" in client.get("/compliance?measure=obligation").text
    )
    other = sign_in(app, "partner1")  # a partner tied to no body: nothing marked
    rows = other.get("/compliance.json?measure=obligation").json()["tables"]["compliance"]["rows"]
    assert rows and not [r for r in rows if "(your body)" in r["owner_label"]]
