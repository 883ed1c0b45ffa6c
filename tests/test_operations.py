"""Operations: refresh while the dashboard serves, status, backup and restore, the access log's
chain, the old build's accounts, a path prefix and the request log."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.helpers import Clock, form_token, sign_in
from tests.webdata import PASSWORD, copy_build
from vcop.cli import app as cli
from vcop.store.build import writer_lock
from vcop.store.ops import OpsStore, open_ops, ops_path_for
from vcop.web import create_app
from vcop.web.auth import Role, add_user

FIRST = date(2025, 6, 27)
SECOND = date(2025, 6, 30)
#: Long enough for a throttled sign-in to be allowed again.
THROTTLE_WAIT = timedelta(minutes=16)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vcop.synth import generate

    out = tmp_path_factory.mktemp("ops") / "extract"
    generate(out, seed=3, years=1, scale=0.02, end=SECOND)
    return out


@pytest.fixture(scope="module")
def first_build(extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build refreshed once, as of FIRST, with an analyst and a supervisor."""
    db = tmp_path_factory.mktemp("first") / "vcop.duckdb"
    done = refresh(db, extract, FIRST)
    assert done.exit_code == 0, done.output
    ops = open_ops(db)
    add_user(ops, "analyst1", Role.analyst, PASSWORD, now=datetime(2025, 6, 1))
    ops.close()
    return db


@pytest.fixture
def db(first_build: Path, tmp_path: Path) -> Path:
    """A copy of the first build (and its operational store) of this test's own."""
    return copy_build(first_build, tmp_path)


def refresh(db: Path, source: Path, as_of: date, *extra: str) -> object:
    """``vcop refresh`` (without the month's partner release unless ``extra`` asks for it: it
    takes a while, and one test checks it)."""
    if "--partner-release" not in extra:
        extra = ("--no-partner-release", *extra)
    return CliRunner().invoke(
        cli,
        ["refresh", "--from", str(source), "--db", str(db), "--as-of", as_of.isoformat(), *extra],
    )


@pytest.fixture
def served(db: Path) -> Iterator[TestClient]:
    application = create_app(db, clock=Clock(datetime(2025, 7, 1, 9, 0)))
    try:
        yield sign_in(application, "analyst1")
    finally:
        application.state.vcop.close()


def as_of_shown(client: TestClient) -> str:
    body = client.get("/worklist.json").json()
    return str(body["meta"]["ledger_as_of"])


# -- refresh while serving ------------------------------------------------------------------


def test_a_refresh_is_served_without_a_restart_and_no_request_fails(
    db: Path, extract: Path, served: TestClient
) -> None:
    app = served.app
    assert as_of_shown(served) == FIRST.isoformat()
    pages = ["/worklist.json", "/compliance.json", "/index.json", "/data-quality.json"]
    before = {p: served.get(p).json() for p in pages}
    seen: list[tuple[str, int, dict[str, object] | None]] = []
    stop = threading.Event()

    def load() -> None:
        client = TestClient(app, cookies=served.cookies, follow_redirects=False)
        while not stop.is_set():
            for p in pages:
                r = client.get(p)
                seen.append((p, r.status_code, r.json() if r.status_code == 200 else None))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        done = refresh(db, extract, SECOND)
        assert done.exit_code == 0, done.output
        assert app.state.vcop.builds.check() is True  # what `vcop serve` does every 2 seconds
        switched = len(seen)
        while len(seen) < switched + 12:  # some requests after the switch too
            threading.Event().wait(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    after = {p: served.get(p).json() for p in pages}
    assert as_of_shown(served) == SECOND.isoformat()
    assert before["/worklist.json"] != after["/worklist.json"]
    failed = [(p, s) for p, s, _ in seen if s != 200]
    assert not failed, failed
    for page, _, body in seen:  # each response is wholly the old build's or the new one's
        assert body in (before[page], after[page]), page


def test_a_server_keeps_what_it_warmed_out_of_the_collector_until_it_switches(
    db: Path, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a server's warm-up computed is frozen (the collector no longer scans it on every full
    collection); a switch to a newer build lets it go before the new build is warmed and frozen
    in turn. A process that is not a server's (the tests' apps) freezes nothing."""
    import time

    from vcop.web import builds as builds_module

    calls: list[str] = []
    monkeypatch.setattr(builds_module, "keep_for_good", lambda: calls.append("keep"))
    monkeypatch.setattr(builds_module, "let_go", lambda: calls.append("let go"))

    def warmed(builds: builds_module.Builds) -> None:
        deadline = time.monotonic() + 120
        while builds.warming and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not builds.warming

    plain = builds_module.Builds(db, warm=True)
    try:
        plain.start_warming()
        warmed(plain)
    finally:
        plain.close()
    assert calls == []
    server = builds_module.Builds(db, warm=True, freeze=True)
    try:
        server.start_warming()
        warmed(server)
        assert calls == ["keep"]
        done = refresh(db, extract, SECOND)
        assert done.exit_code == 0, done.output
        assert server.check() is True
        warmed(server)
        assert calls == ["keep", "let go", "keep"]
    finally:
        server.close()


def test_the_collector_freezes_what_is_kept_and_lets_it_go() -> None:
    import gc

    from vcop.collector import keep_for_good, let_go

    try:
        keep_for_good()
        assert gc.get_freeze_count() > 0
    finally:
        let_go()
    assert gc.get_freeze_count() == 0


def test_a_failed_refresh_keeps_the_previous_build_and_says_so(
    db: Path, served: TestClient, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "crimes.csv").write_text("this is not,an extract\n1,2\n")
    published = db.stat().st_ino
    done = refresh(db, broken, SECOND)
    assert done.exit_code == 1
    assert "refresh failed; the dashboard keeps the previous build" in done.output
    assert db.stat().st_ino == published  # nothing was published
    assert not served.app.state.vcop.builds.check()
    assert as_of_shown(served) == FIRST.isoformat()
    ready = served.get("/readyz")
    assert ready.status_code == 200  # the previous build is still served
    body = ready.json()
    assert body["ok"] is False and body["last_refresh"]["status"] == "failed"
    assert any("the last refresh failed" in p for p in body["problems"])
    assert body["ledger_as_of"] == FIRST.isoformat()
    assert "database" not in body and "source" not in body["last_refresh"]
    status = CliRunner().invoke(cli, ["status", "--db", str(db), "--format", "json"])
    assert status.exit_code == 1
    facts = json.loads(status.stdout)
    assert facts["last_refresh"]["status"] == "failed"
    assert facts["last_successful_refresh"]["status"] == "succeeded"


def test_too_many_rejects_publish_nothing(db: Path, tmp_path: Path) -> None:
    from vcop.synth import generate

    dirty = tmp_path / "dirty"
    generate(dirty, seed=4, years=1, scale=0.01, end=SECOND, dirty=True)
    published = db.stat().st_ino
    done = refresh(db, dirty, SECOND, "--max-reject-share", "0")
    assert done.exit_code == 1 and "more than the 0% allowed" in done.output
    assert db.stat().st_ino == published


def test_two_refreshes_never_overlap(db: Path, extract: Path) -> None:
    with writer_lock(db, "refresh"):
        done = refresh(db, extract, SECOND)
    assert done.exit_code == 2
    assert "`vcop refresh`" in done.output and "is changing this database" in done.output


def split_by_agency(extract: Path, day: Path) -> list[str]:
    """Write a plain extract as one folder per agency: the police's tables to ``day/police``,
    each row of a table with an ``agency`` column to its body's folder. The agencies written."""
    written: set[str] = {"police"}
    (day / "police").mkdir(parents=True)
    for path in sorted(extract.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or "agency" not in rows[0]:
            shutil.copyfile(path, day / "police" / path.name)
            continue
        at = rows[0].index("agency")
        by_agency: dict[str, list[list[str]]] = {}
        for row in rows[1:]:
            by_agency.setdefault(row[at], []).append(row)
        for agency, own in by_agency.items():
            (day / agency).mkdir(exist_ok=True)
            with (day / agency / path.name).open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([rows[0], *own])
            written.add(agency)
    from vcop.refresh import AGENCIES

    return [a for a in AGENCIES if a in written]


def test_a_refresh_reads_one_folder_per_agency(db: Path, extract: Path, tmp_path: Path) -> None:
    day = tmp_path / "day"
    agencies = split_by_agency(extract, day)
    standard = Path(__file__).parents[1] / "src/vcop/definitions/profiles/standard.yaml"
    shutil.copyfile(standard, day / "police" / "profile.yaml")  # an agency's own profile
    done = refresh(db, day, SECOND, "--summary", "json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert list(summary["agencies"]) == agencies  # the police first
    assert summary["as_of"] == SECOND.isoformat() and summary["ledger_rows"] > 0
    for agency, part in summary["agencies"].items():
        assert part["folder"] == str(day / agency) and part["extract"] == "agency"
        assert part["rows_read"] == sum(t["rows_read"] for t in part["tables"].values())


def test_status_says_when_and_what(db: Path) -> None:
    done = CliRunner().invoke(cli, ["status", "--db", str(db)])
    assert done.exit_code == 0, done.output
    lines = dict(
        line.split(None, 1) if " " not in line[:14] else (line[:14].strip(), line[14:].strip())
        for line in done.stdout.splitlines()
    )
    assert lines["ledger as of"] == FIRST.isoformat()
    assert lines["last refresh"].startswith("succeeded at ")


def test_healthz_and_readyz(served: TestClient) -> None:
    anonymous = TestClient(served.app)
    assert anonymous.get("/healthz").text == "ok"
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["ledger_as_of"] == FIRST.isoformat()
    assert body["reject_share"] is not None and body["data_age_hours"] is not None
    assert body["warming"] is False  # this app was not asked to warm


def test_readyz_says_while_the_server_computes_its_first_pages(db: Path) -> None:
    application = create_app(db, clock=Clock(datetime(2025, 7, 1, 9, 0)), warm=True)
    try:
        anonymous = TestClient(application)
        assert anonymous.get("/readyz").json()["warming"] is True  # begun as the app was made
        for warmer in application.state.vcop.builds._warmers:
            warmer.join(timeout=300)
        assert anonymous.get("/readyz").json()["warming"] is False
    finally:
        application.state.vcop.close()


# -- backup and restore ------------------------------------------------------------------------


def test_backup_and_restore_round_trip(db: Path, extract: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "backups"
    made = runner.invoke(cli, ["backup", "--db", str(db), "--out", str(out)])
    assert made.exit_code == 0, made.output
    (folder,) = out.iterdir()
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert set(manifest["files"]) >= {"vcop.duckdb", "vcop.ops.sqlite"}

    assert refresh(db, extract, SECOND).exit_code == 0
    ops = open_ops(db)
    add_user(ops, "later", Role.admin, PASSWORD, now=datetime(2025, 7, 1))
    ops.close()

    restored = runner.invoke(cli, ["restore", str(folder), "--db", str(db)])
    assert restored.exit_code == 0, restored.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT max(as_of) FROM entitlements").fetchone()[0] == FIRST
    con.close()
    ops = open_ops(db)  # the operational store was kept: nothing written since is lost
    assert ops.scalar("SELECT count(*) FROM users WHERE username = 'later'") == 1
    ops.close()

    replaced = runner.invoke(cli, ["restore", str(folder), "--db", str(db), "--replace-ops"])
    assert replaced.exit_code == 0, replaced.output
    ops = open_ops(db)
    assert ops.scalar("SELECT count(*) FROM users WHERE username = 'later'") == 0
    ops.close()
    aside = list(db.parent.glob("vcop.ops.sqlite.before-restore-*"))
    assert len(aside) == 1
    kept = sqlite3.connect(aside[0])
    assert kept.execute("SELECT count(*) FROM users WHERE username = 'later'").fetchone()[0] == 1
    kept.close()

    (folder / "vcop.duckdb").write_bytes(b"damaged")
    refused = runner.invoke(cli, ["restore", str(folder), "--db", str(db)])
    assert refused.exit_code == 2 and "does not match the manifest" in refused.output


def test_backup_while_serving(db: Path, served: TestClient, tmp_path: Path) -> None:
    served.get("/worklist")  # the server holds the build and has written the access log
    made = CliRunner().invoke(cli, ["backup", "--db", str(db), "--out", str(tmp_path / "b")])
    assert made.exit_code == 0, made.output
    (folder,) = (tmp_path / "b").iterdir()
    copy = sqlite3.connect(folder / "vcop.ops.sqlite")
    assert copy.execute("SELECT count(*) FROM access_log").fetchone()[0] >= 1
    copy.close()


# -- the access log ----------------------------------------------------------------------------


def test_the_access_log_chain_verifies_and_shows_tampering(db: Path, served: TestClient) -> None:
    served.get("/worklist")
    served.get("/worklist.csv")
    runner = CliRunner()
    ok = runner.invoke(cli, ["access-log", "verify", "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    assert "chain holds" in ok.stdout
    ops = open_ops(db)
    rows = ops.query("SELECT access_id, records FROM access_log ORDER BY access_id").rows
    assert rows and all(n > 0 for _, n in rows)  # the worklist logs the victims it showed
    ops.execute("UPDATE access_records SET victim_id = 'someone-else' WHERE access_id = 1")
    ops.close()
    broken = runner.invoke(cli, ["access-log", "verify", "--db", str(db)])
    assert broken.exit_code == 1 and "entry 1:" in broken.output


def test_an_older_builds_accounts_and_log_move_to_the_operational_store(
    tmp_path: Path, extract: Path
) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE users (username VARCHAR, role VARCHAR, password_hash VARCHAR, area VARCHAR, "
        "district VARCHAR, unit VARCHAR, officer_id VARCHAR, disabled BOOLEAN, "
        "created_at TIMESTAMP, disabled_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO users VALUES ('old-analyst', 'analyst', '$argon2id$x', NULL, NULL, NULL, "
        "NULL, false, TIMESTAMP '2024-01-01 09:00', NULL)"
    )
    con.execute(
        "CREATE TABLE access_log (access_id BIGINT, accessed_at TIMESTAMP, username VARCHAR, "
        "role VARCHAR, channel VARCHAR, action VARCHAR, victim_id VARCHAR, crime_id VARCHAR, "
        "reason VARCHAR, detail VARCHAR, session VARCHAR)"
    )
    con.execute(
        "INSERT INTO access_log VALUES (1, TIMESTAMP '2024-02-01 10:00', 'old-analyst', "
        "'analyst', 'web', 'journey', 'V9', NULL, 'Investigating the crime', NULL, 'abc')"
    )
    con.close()
    # an account made with this version while the old file could not be read (an old server
    # held it): the copy, when it happens, must keep both
    early = OpsStore(ops_path_for(db))
    add_user(early, "newbie", Role.analyst, PASSWORD, now=datetime(2025, 7, 1))
    early.close()
    assert refresh(db, extract, FIRST).exit_code == 0
    ops = open_ops(db)
    assert ops.query("SELECT username, role FROM users ORDER BY 1").rows == [
        ("newbie", "analyst"),
        ("old-analyst", "analyst"),
    ]
    assert ops.query("SELECT action, victim_id FROM access_log").rows == [("journey", "V9")]
    ops.close()
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert not tables & {"users", "sessions", "access_log"}  # no stale password hashes in the build


# -- behind a proxy ----------------------------------------------------------------------------


def test_served_under_a_path_prefix(db: Path) -> None:
    application = create_app(db, clock=Clock(datetime(2025, 7, 1, 9, 0)), root_path="/vcop")
    try:
        client = TestClient(application, follow_redirects=False)
        redirect = client.get("/compliance")
        assert redirect.status_code == 303
        assert redirect.headers["location"].startswith("/vcop/login?next=")
        login = client.get("/login")
        assert 'action="/vcop/login"' in login.text
        assert 'href="/vcop/static/' in login.text and 'href="/static/' not in login.text
        assert "path=/vcop/login" in login.headers["set-cookie"].lower()
        client.post(  # the browser asks for /vcop/login; the proxy may or may not strip /vcop
            "/vcop/login",
            data={
                "username": "analyst1",
                "password": PASSWORD,
                "csrf_token": form_token(login.text),
            },
        )
        page = client.get("/vcop/compliance")
        assert page.status_code == 200
        assert 'href="/compliance' not in page.text and 'href="/vcop/compliance' in page.text
        assert "/vcop/vcop/" not in page.text
    finally:
        application.state.vcop.close()


def test_json_request_log_with_a_request_id(served: TestClient) -> None:
    from vcop.web.logs import configure_logging

    stream = io.StringIO()
    configure_logging(json_lines=True, stream=stream)
    response = served.get("/compliance", headers={"X-Request-ID": "proxy-req-12345"})
    assert response.headers["x-request-id"] == "proxy-req-12345"
    fresh = served.get("/worklist")
    assert len(fresh.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [e for e in lines if e.get("request_id") == "proxy-req-12345"]
    assert mine and mine[-1]["route"] == "/compliance" and mine[-1]["status"] == 200
    assert all("V" not in str(e.get("route")) for e in lines)  # templates, never victim ids


# -- signing in --------------------------------------------------------------------------------


def test_sign_in_is_throttled_per_account_and_per_address(served: TestClient) -> None:
    from vcop.web.auth import MAX_FAILURES

    app = served.app
    client = TestClient(app, follow_redirects=False)

    def attempt(username: str, password: str) -> int:
        page = client.get("/login")
        return client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": form_token(page.text)},
        ).status_code

    assert [attempt("analyst1", "wrong password!") for _ in range(MAX_FAILURES)] == [
        401
    ] * MAX_FAILURES
    refused = client.post(
        "/login",
        data={
            "username": "analyst1",
            "password": PASSWORD,
            "csrf_token": form_token(client.get("/login").text),
        },
    )
    assert refused.status_code == 429  # even the right password waits
    assert "too many attempts" in refused.text and int(refused.headers["retry-after"]) > 0
    # the address is throttled too: another account from the same address waits
    assert attempt("someone-else", "anything at all") == 429
    clock = app.state.vcop.clock
    clock.now += THROTTLE_WAIT
    assert attempt("analyst1", PASSWORD) == 303


def test_a_password_must_be_hard_to_guess(db: Path) -> None:
    from vcop.web.auth import AuthError, set_password

    ops = open_ops(db)
    try:
        for weak in (" " * 12, "password1234", "qwertyuiop12", "analyst1analyst1"):
            with pytest.raises(AuthError):
                set_password(ops, "analyst1", weak, now=datetime(2025, 7, 1))
        set_password(ops, "analyst1", "violet kettle orbit lantern", now=datetime(2025, 7, 1))
    finally:
        ops.close()


def test_an_authenticator_app_as_a_second_factor(db: Path) -> None:
    import pyotp

    runner = CliRunner()
    added = runner.invoke(cli, ["users", "totp", "analyst1", "--db", str(db)])
    assert added.exit_code == 0, added.output
    secret = added.stdout.split("secret", 1)[1].split()[0]
    application = create_app(db, clock=Clock(datetime.now()))
    try:
        client = TestClient(application, follow_redirects=False)

        def attempt(code: str) -> int:
            page = client.get("/login")
            return client.post(
                "/login",
                data={"username": "analyst1", "password": PASSWORD, "code": code,
                      "csrf_token": form_token(page.text)},
            ).status_code  # fmt: skip

        assert attempt("") == 401
        assert attempt("000000" if pyotp.TOTP(secret).now() != "000000" else "111111") == 401
        assert attempt(pyotp.TOTP(secret).now()) == 303
    finally:
        application.state.vcop.close()
    ops = open_ops(db)
    add_user(ops, "partner9", Role.partner, PASSWORD, now=datetime(2025, 7, 1))
    ops.close()
    refused = runner.invoke(cli, ["users", "totp", "partner9", "--db", str(db)])
    assert refused.exit_code == 2 and "only admins and analysts" in refused.output


def test_the_data_quality_page_says_a_refresh_failed(
    db: Path, served: TestClient, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "crimes.csv").write_text("this is not,an extract\n1,2\n")
    assert refresh(db, broken, SECOND).exit_code == 1
    notes = served.get("/data-quality.json").json()["notes"]
    assert any("The last refresh" in n and "failed" in n and "previous build" in n for n in notes)


def test_reading_rejected_rows_and_victims_comments_is_logged(served: TestClient) -> None:
    served.get("/data-quality/rejects.json")
    served.get("/satisfaction")
    ops = served.app.state.vcop.ops
    actions = [r[0] for r in ops.query("SELECT action FROM access_log ORDER BY access_id").rows]
    assert "rejects_json" in actions and "survey_comments" in actions
    comments = ops.query("SELECT records FROM access_log WHERE action = 'survey_comments'").rows
    assert comments[0][0] > 0  # the crimes whose victims' words were shown


def test_the_access_log_export_needs_an_admin_and_is_logged(db: Path, served: TestClient) -> None:
    served.get("/worklist")
    ops = open_ops(db)
    add_user(ops, "dpo", Role.admin, PASSWORD, now=datetime(2025, 7, 1))
    ops.close()
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})
    refused = runner.invoke(
        cli, ["access-log", "export", "--db", str(db), "--user", "analyst1", "--reason", "x"]
    )
    assert refused.exit_code == 3
    done = runner.invoke(
        cli, ["access-log", "export", "--db", str(db), "--user", "dpo", "--reason", "SAR 12"]
    )
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    worklist = [r for r in rows if r["action"] == "worklist"]
    assert worklist and worklist[0]["shown"].count("/") == int(worklist[0]["records"])
    ops = open_ops(db)
    assert ops.scalar("SELECT count(*) FROM access_log WHERE action = 'access_log_export'") == 1
    ops.close()


def test_a_refresh_keeps_the_partners_release_of_the_month_once(db: Path, extract: Path) -> None:
    from vcop.store.publications import releases

    done = refresh(db, extract, SECOND, "--partner-release", "--summary", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["partner_release"] == (
        f"the release of {SECOND} was made and kept"
    )
    ops = open_ops(db)
    kept = [r for r in releases(ops) if r["as_of"] == SECOND.isoformat()]
    ops.close()
    assert len(kept) == 1 and kept[0]["first_output"] == "refresh" and kept[0]["cells"] > 0
    again = refresh(db, extract, SECOND, "--partner-release", "--summary", "json")
    assert json.loads(again.stdout)["partner_release"] == (
        f"the release of {SECOND} was already published"
    )


def test_a_noted_head_finds_the_newest_entries_removed(db: Path, served: TestClient) -> None:
    for _ in range(3):
        served.get("/worklist.json")
    runner = CliRunner()
    first = runner.invoke(cli, ["access-log", "verify", "--db", str(db)])
    head = first.stdout.split("head ")[1].split()[0]
    ops = open_ops(db)
    last = ops.scalar("SELECT max(access_id) FROM access_log")
    ops.execute("DELETE FROM access_records WHERE access_id = ?", [last])  # tampering, by hand
    ops.execute("DELETE FROM access_log WHERE access_id = ?", [last])
    ops.close()
    plain = runner.invoke(cli, ["access-log", "verify", "--db", str(db)])
    assert plain.exit_code == 0  # a truncated chain still holds on its own …
    noted = runner.invoke(cli, ["access-log", "verify", "--db", str(db), "--head", head])
    assert (
        noted.exit_code == 1 and "no longer in the chain" in noted.output
    )  # … not past a noted head
    served.get("/worklist.json")
    later = runner.invoke(cli, ["access-log", "verify", "--db", str(db)])
    new_head = later.stdout.split("head ")[1].split()[0]
    ok = runner.invoke(cli, ["access-log", "verify", "--db", str(db), "--head", new_head])
    assert ok.exit_code == 0, ok.output
