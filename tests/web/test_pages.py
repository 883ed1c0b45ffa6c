"""Every page, for every role, in every format: who may open what, and what they see."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.helpers import Clock, csrf_of, sign_in
from tests.webdata import AS_OF, USERS, WebData, copy_of
from vcop.metrics.release import Release
from vcop.web import create_app
from vcop.web.app import api_routes
from vcop.web.auth import GRANTS, Permission, Role
from vcop.web.pages import REGISTRY, twin_path
from vcop.web.routes import ROUTERS

ROLES = list(USERS)
assert ROUTERS, "importing vcop.web.routes registers every page"


@pytest.fixture(scope="module")
def shared(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """One app for the read-only checks of this module (they only add to the access log)."""
    from datetime import datetime

    data = copy_of(webdata, tmp_path_factory.mktemp("shared"))
    application = create_app(data.db, clock=Clock(datetime(2025, 7, 1, 9, 0)))
    yield application
    application.state.vcop.close()


@pytest.fixture(scope="module")
def clients(shared: FastAPI) -> dict[str, TestClient]:
    return {name: sign_in(shared, name) for name in ROLES}


def concrete(path: str, webdata: WebData) -> str:
    return path.replace("{victim_id}", webdata.in_unit_victim).replace(
        "{metric_id}", "support_referral_on_time"
    )


def give_reason(client: TestClient, victim: str, reason: str = "supervision") -> None:
    response = client.post(
        f"/victims/{victim}/reason", data={"reason": reason, "csrf_token": csrf_of(client)}
    )
    assert response.status_code == 303, response.text


# -- the permission matrix --------------------------------------------------------------------


def test_every_route_declares_a_permission(shared: FastAPI) -> None:
    routes = api_routes(shared)
    assert len(routes) > 30
    for route in routes:
        assert isinstance(getattr(route.endpoint, "vcop_permission", None), Permission), route.path


def test_a_route_without_a_permission_is_refused(data: WebData) -> None:
    application = create_app(data.db)

    @application.get("/undeclared")
    def undeclared() -> str:
        return "secret"

    client = sign_in(application, "analyst1")
    assert client.get("/undeclared").status_code == 403
    application.state.vcop.close()


#: Pages that need a dip-sample audit drawn first (and have no twins): tests/web/test_audits.py
#: holds their matrix of roles.
AUDIT_PAGES = ("/audits/{audit_id}", "/audits/{audit_id}/cases/{crime_id}")

CASES = [
    (path, permission, fmt, role)
    for path, permission, _ in REGISTRY
    for fmt in ("html", "json", "csv")
    for role in ROLES
    if (fmt == "html" or path != "/victims") and path not in AUDIT_PAGES
]


@pytest.mark.parametrize(("path", "permission", "fmt", "role"), CASES, ids=lambda v: str(v))
def test_role_may_open_page_or_gets_403(
    clients: dict[str, TestClient],
    webdata: WebData,
    path: str,
    permission: Permission,
    fmt: str,
    role: str,
) -> None:
    client = clients[role]
    url = twin_path(concrete(path, webdata), fmt)  # type: ignore[arg-type]
    if "{victim_id}" in path and USERS[role] in (Role.analyst, Role.supervisor):
        give_reason(client, webdata.in_unit_victim)
    if "{victim_id}" in path and USERS[role] is Role.officer:
        url = twin_path(path.replace("{victim_id}", webdata.officer_victim), fmt)  # type: ignore[arg-type]
        give_reason(client, webdata.officer_victim, "victim_contact")
    response = client.get(url)
    allowed = permission in GRANTS[USERS[role]]
    if not allowed:
        assert response.status_code == 403, f"{role} opened {url}"
        return
    assert response.status_code == 200, (
        f"{role} {url}: {response.status_code} {response.text[:300]}"
    )
    kind = response.headers["content-type"]
    if fmt == "html":
        assert kind.startswith("text/html")
        assert "<main" in response.text and 'class="govuk-skip-link"' in response.text
    elif fmt == "json":
        assert kind.startswith("application/json")
        body = response.json()
        assert set(body) >= {"title", "meta", "tables"}
    else:
        assert kind.startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]


def test_partner_gets_403_for_a_victim_in_every_format(
    clients: dict[str, TestClient], webdata: WebData
) -> None:
    partner = clients["partner1"]
    victim = webdata.in_unit_victim
    for url in (
        f"/victims/{victim}",
        f"/victims/{victim}.json",
        f"/victims/{victim}.csv",
        "/victims",
    ):
        assert partner.get(url).status_code == 403, url
    assert (
        partner.post(
            f"/victims/{victim}/reason", data={"reason": "other", "csrf_token": csrf_of(partner)}
        ).status_code
        == 403
    )
    for url in (
        "/worklist",
        "/worklist.csv",
        "/data-quality.csv",
        "/access-log.csv",
        "/users.json",
    ):
        assert partner.get(url).status_code == 403, url


def test_navigation_shows_only_what_the_role_may_open(clients: dict[str, TestClient]) -> None:
    nav = {
        role: re.findall(
            r'class="govuk-service-navigation__link" href="([^"]+)"', clients[role].get("/").text
        )
        for role in ROLES
    }
    aggregates = ["/", "/compliance", "/satisfaction", "/response-times", "/outcomes", "/services"]
    assert nav["partner1"] == [*aggregates, "/tracker"]  # the inspection tracker: no victim data
    assert nav["officer1"] == [*aggregates, "/worklist", "/feedback", "/victims", "/tracker"]
    assert "/access-log" in nav["admin1"] and "/worklist" not in nav["admin1"]
    assert "/access-log" not in nav["analyst1"] and "/data-quality" in nav["analyst1"]


# -- twins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/compliance", "/satisfaction", "/metrics/compliance_by_right", "/data-quality",
     "/data-quality/rejects", "/worklist"],
)  # fmt: skip
def test_json_and_csv_twins_hold_the_same_rows(clients: dict[str, TestClient], path: str) -> None:
    client = clients["analyst1"] if path != "/" else clients["partner1"]
    body = client.get(twin_path(path, "json")).json()
    for name, table in body["tables"].items():
        text = client.get(twin_path(path, "csv") + f"?table={name}").text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0].keys()) if rows else True
        assert len(rows) == len(table["rows"]), name
        header = next(csv.reader(io.StringIO(text)))
        assert header == table["columns"]
    html = client.get(path).text
    assert twin_path(path, "csv") in html and twin_path(path, "json") in html


def test_csv_twin_names_an_unknown_table(clients: dict[str, TestClient]) -> None:
    response = clients["analyst1"].get("/data-quality.csv?table=nope")
    assert response.status_code == 404
    assert "batches" in response.text


# -- metric pages ---------------------------------------------------------------------------------


def engine_values(application: FastAPI) -> dict[tuple[str, str], dict[str, object]]:
    view = application.state.vcop.metrics
    result = view.result(view.as_of(), "rolling_12m")
    return {(v.metric_id, v.group_name): v.record() for v in result.values}


def test_overview_shows_every_headline_figure_as_the_engine_computes_it(
    shared: FastAPI, clients: dict[str, TestClient]
) -> None:
    page = clients["analyst1"].get("/")
    assert "Victims' Code compliance" in page.text and "Victim satisfaction" in page.text
    assert 'class="vcop-chart vcop-sparkline"' in page.text
    body = clients["analyst1"].get("/index.json").json()
    assert body["meta"]["as_of"] == AS_OF.isoformat() and body["meta"]["definitions_hash"]
    expected = engine_values(shared)
    seen = 0
    for table in body["tables"].values():
        for row in table["rows"]:
            want = expected[(row["metric_id"], row["group"])]
            for key in (
                "value",
                "ci_low",
                "ci_high",
                "denominator",
                "spc_variation",
                "spc_assurance",
            ):
                assert row[key] == want[key], (row["metric_id"], key)
            seen += 1
    assert seen == sum(1 for (_, group) in expected if group == "all")
    assert "trend" not in next(iter(body["tables"].values()))["columns"]  # sparklines are HTML only


def test_partner_figures_are_the_releases(
    published: Release, clients: dict[str, TestClient]
) -> None:
    """A partner's figures are cut from the release (tests/web/test_partner.py has the rest)."""
    body = clients["partner1"].get("/index.json").json()
    assert body["meta"]["suppressed"] is True
    wanted = {v.metric_id: v for v in published.values("rolling_12m") if not v.breakdown}
    for row in (r for t in body["tables"].values() for r in t["rows"]):
        v = wanted[row["metric_id"]]
        assert row["suppressed"] == v.suppressed
        if v.suppressed:
            assert row["value"] is None and row["denominator"] is None
    compliance = clients["partner1"].get("/compliance.json").json()["tables"]["compliance"]["rows"]
    assert any(r["suppressed"] for r in compliance), "the test data should have small groups"
    assert all(r["value"] is None for r in compliance if r["suppressed"])
    assert "[c]" in clients["partner1"].get("/compliance").text
    # a partner never sees victims' comments
    assert "What victims said" not in clients["partner1"].get("/satisfaction").text
    assert "What victims said" in clients["analyst1"].get("/satisfaction").text


def test_every_series_agrees_with_the_engines_spc_reading(shared: FastAPI) -> None:
    view = shared.state.vcop.metrics
    as_of = view.as_of()
    values = view.result(as_of, "rolling_12m").values
    assert values
    for v in values:
        series = view.series(v.metric_id, as_of)[v.group]
        reading = series.reading
        assert len(series.judged) == v.spc_points, v.metric_id
        assert (reading.variation if reading else None) == v.spc_variation, (v.metric_id, v.group)
        assert (reading.assurance if reading else None) == v.spc_assurance, (v.metric_id, v.group)


def test_compliance_drills_down_area_district_unit_officer(
    shared: FastAPI, clients: dict[str, TestClient]
) -> None:
    client = clients["analyst1"]
    store = shared.state.vcop.store
    areas = client.get("/compliance.json?by=area").json()["tables"]["compliance"]["rows"]
    area = areas[0]["group"].split("/")[1]
    assert areas[0]["drill"].startswith("/compliance?")
    url = "/compliance.json?" + areas[0]["drill"].split("?", 1)[1]
    districts = client.get(url).json()
    assert districts["meta"]["by"] == "district" and districts["meta"]["parents"] == {"area": area}
    in_area = {
        r[0]
        for r in store.query("SELECT DISTINCT district FROM crimes WHERE area = ?", [area]).rows
    }
    rows = districts["tables"]["compliance"]["rows"]
    assert rows and {r["group"].split("/")[1] for r in rows} <= in_area
    url = "/compliance.json?" + rows[0]["drill"].split("?", 1)[1]
    units = client.get(url).json()["tables"]["compliance"]["rows"]
    assert units and units[0]["drill"]
    # the catalogue breaks compliance by right down to units; single measures go down to officers
    unit_query = units[0]["drill"].split("?", 1)[1]
    assert "officer" in client.get("/compliance?" + unit_query).text
    unit = units[0]["group"].split("/")[1]
    query = unit_query.replace("measure=right", "measure=victim_updates_on_time")
    officers = client.get("/compliance.json?" + query).json()
    assert (
        officers["meta"]["by"] == "officer"
        and officers["meta"]["metric_id"] == "victim_updates_on_time"
    )
    rows_o = officers["tables"]["compliance"]["rows"]
    in_unit = {  # a crime with no officer in charge (e.g. one not investigated) is "not recorded"
        r[0] or "not recorded"
        for r in store.query("SELECT DISTINCT officer_id FROM crimes WHERE unit = ?", [unit]).rows
    }
    assert rows_o and {r["group"] for r in rows_o} <= in_unit
    html = client.get("/compliance?" + rows[0]["drill"].split("?", 1)[1]).text
    assert 'class="govuk-breadcrumbs' in html and area in html
    assert districts["tables"]["compliance"]["rows"][0]["breakdown"] == "right/district"


def test_compliance_splits_and_filters(clients: dict[str, TestClient]) -> None:
    client = clients["analyst1"]
    enhanced = client.get("/compliance.json?by=enhanced").json()["tables"]["compliance"]["rows"]
    assert {r["group"].split("/")[1] for r in enhanced} <= {"enhanced", "standard"}
    one = client.get("/compliance.json?by=sex&group=4").json()["tables"]["compliance"]["rows"]
    assert one and {r["group"].split("/")[0] for r in one} == {"4"}
    obligations = client.get("/compliance.json?measure=obligation").json()
    assert obligations["meta"]["metric_id"] == "compliance_by_obligation"
    quarter = client.get("/compliance.json?period=quarter").json()
    assert quarter["meta"]["period"] == "quarter"
    assert client.get("/compliance?by=shoe_size").status_code == 400
    assert client.get("/compliance?period=decade").status_code == 400
    assert client.get("/compliance?measure=nope").status_code == 400
    trend = client.get("/compliance.json").json()["tables"]["trend"]
    assert trend["columns"][0] == "month" and len(trend["rows"]) >= 12


def test_xmr_chart_shows_limits_signals_and_icons(
    shared: FastAPI, clients: dict[str, TestClient]
) -> None:
    client = clients["analyst1"]
    record = engine_values(shared)
    # a metric the engine judges (a year of data: out of no warm-up, with no maturity)
    judged = next(
        m
        for (m, g), r in record.items()
        if g == "all" and r["spc_variation"] in ("common_cause", "special_cause_improvement",
                                                 "special_cause_concern")
    )  # fmt: skip
    page = client.get(f"/metrics/{judged}")
    assert page.status_code == 200
    assert "Upper process limit" in page.text and 'data-vega-spec="chart-months"' in page.text
    body = client.get(f"/metrics/{judged}.json").json()
    want = record[(judged, "all")]
    assert body["meta"]["variation"] == want["spc_variation"]
    assert body["meta"]["assurance"] == want["spc_assurance"]
    assert body["meta"]["lpl"] < body["meta"]["mean"] < body["meta"]["upl"]
    months = body["tables"]["months"]["rows"]
    assert sum(1 for r in months if r["point_type"]) == want["spc_points"]
    assert all(r["upl"] == body["meta"]["upl"] for r in months if r["point_type"])
    # a Victims' Code measure on a year of data: every month is in the warm-up, none is judged
    code = client.get("/metrics/support_referral_on_time.json").json()
    rows = code["tables"]["months"]["rows"]
    assert rows and all(r["mark"] in ("warm-up", "provisional") for r in rows)
    assert all(r["point_type"] is None and r["upl"] is None for r in rows)
    assert rows[-1]["mark"] == "provisional"
    assert code["meta"]["variation"] is None and any("SPC can judge" in n for n in code["notes"])
    grouped = client.get("/metrics/compliance_by_right.json?group=6").json()
    assert grouped["meta"]["group"] == ["6"]
    assert client.get("/metrics/no_such_metric").status_code == 404
    assert client.get("/metrics/compliance_by_right?group=99").status_code == 404
    assert client.get("/metrics/compliance_by_right?officer=X").status_code == 400


def test_partner_sees_hidden_months_as_c(
    published: Release, clients: dict[str, TestClient]
) -> None:
    partner = clients["partner1"].get("/metrics/compliance_by_right.json?group=11").json()
    series = published.series["compliance_by_right"][("11",)]
    rows = partner["tables"]["months"]["rows"]
    assert [r["suppressed"] for r in rows] == [p.suppressed for p in series.points]
    assert any(r["suppressed"] for r in rows), "the test data should hide a month of Right 11"
    assert all(r["value"] is None and r["value_text"] == "[c]" for r in rows if r["suppressed"])
    assert partner["meta"]["upl"] is None and partner["meta"]["variation"] is None
    assert "[c]" in clients["partner1"].get("/metrics/compliance_by_right?group=11").text


# -- a victim's journey ---------------------------------------------------------------------------


def test_journey_asks_why_then_shows_and_logs(app: FastAPI, webdata: WebData) -> None:
    client = sign_in(app, "super1")
    victim = webdata.failed_contact_victim
    first = client.get(f"/victims/{victim}")
    assert first.status_code == 200
    assert "Why are you opening this victim" in first.text
    assert "Timeline" not in first.text
    ops = app.state.vcop.ops
    assert ops.scalar("SELECT count(*) FROM access_log") == 0
    assert client.get(f"/victims/{victim}.json").status_code == 428

    token = csrf_of(client)
    assert (
        client.post(f"/victims/{victim}/reason", data={"reason": "supervision"}).status_code == 400
    )
    missing = client.post(f"/victims/{victim}/reason", data={"csrf_token": token})
    assert missing.status_code == 400 and "Select why you are opening this record" in missing.text
    other = client.post(f"/victims/{victim}/reason", data={"reason": "other", "csrf_token": token})
    assert other.status_code == 400 and "govuk-error-summary" in other.text
    done = client.post(
        f"/victims/{victim}/reason",
        data={"reason": "supervision", "detail": "monthly dip sample 7", "csrf_token": token},
    )
    assert done.status_code == 303 and done.headers["location"] == f"/victims/{victim}"

    page = client.get(f"/victims/{victim}")
    assert page.status_code == 200
    assert "Timeline" in page.text and "What the Code owes this victim" in page.text
    assert "Not reached" in page.text  # the failed contact is shown
    body = client.get(f"/victims/{victim}.json").json()
    timeline = body["tables"]["timeline"]["rows"]
    assert any(r["kind"] == "Contact" and r["outcome"] == "failed" for r in timeline)
    obligations = body["tables"]["obligations"]["rows"]
    assert obligations and all(
        r["status"] in {"met", "late", "pending", "overdue", "not_applicable"} for r in obligations
    )
    assert all(r["reason"] for r in obligations)
    assert client.get(f"/victims/{victim}.csv?table=obligations").status_code == 200

    log = ops.query(
        "SELECT username, role, action, victim_id, reason, session FROM access_log ORDER BY access_id"
    ).rows
    assert [r[2] for r in log] == ["journey", "journey_json", "journey_csv"]
    assert {r[0] for r in log} == {"super1"} and {r[3] for r in log} == {victim}
    assert all(r[4] == "Supervisory review of the investigation: monthly dip sample 7" for r in log)


def test_supervisor_sees_only_their_unit(app: FastAPI, webdata: WebData) -> None:
    client = sign_in(app, "super1")
    token = csrf_of(client)
    outside = webdata.out_of_unit_victim
    assert client.get(f"/victims/{outside}").status_code == 403
    assert (
        client.post(
            f"/victims/{outside}/reason", data={"reason": "supervision", "csrf_token": token}
        ).status_code
        == 403
    )
    # a victim who does not exist gets the same answer: the scope says nothing about others
    assert client.get("/victims/NO-SUCH-VICTIM").status_code == 403
    other = sign_in(app, "super2")
    assert other.get(f"/victims/{webdata.in_unit_victim}.json").status_code == 403
    analyst = sign_in(app, "analyst1")
    assert analyst.get("/victims/NO-SUCH-VICTIM").status_code == 404


def test_supervisor_sees_only_crimes_in_scope_of_a_victim(app: FastAPI) -> None:
    from tests.webdata import CREATED, PASSWORD
    from vcop.web.auth import add_user

    store = app.state.vcop.store
    row = store.query(
        "SELECT v.victim_id, min(c.unit) FROM victims v JOIN crimes c USING (crime_id) "
        "WHERE c.unit IS NOT NULL GROUP BY 1 HAVING count(DISTINCT c.unit) > 1 ORDER BY 1 LIMIT 1"
    ).rows
    assert row, "the test data should have a victim of crimes in two units"
    victim, unit = row[0]
    add_user(app.state.vcop.ops, "super3", Role.supervisor, PASSWORD, now=CREATED, unit=unit)
    client = sign_in(app, "super3")
    give_reason(client, victim)
    body = client.get(f"/victims/{victim}.json").json()
    crimes = body["meta"]["crimes"]
    units = {store.scalar("SELECT unit FROM crimes WHERE crime_id = ?", [c]) for c in crimes}
    assert units == {unit}
    assert {r["crime_id"] for r in body["tables"]["timeline"]["rows"]} == set(crimes)
    assert {r["crime_id"] for r in body["tables"]["obligations"]["rows"]} <= set(crimes)


def test_a_journey_kept_for_the_build_keeps_each_readers_scope_and_is_logged_each_time(
    app: FastAPI,
) -> None:
    """A journey's rows are kept for the build (issue 15), per victim and scope: an analyst's
    view first does not widen a supervisor's, the supervisor's does not narrow the analyst's
    next one, and every view, kept or not, is its own access-log entry."""
    from tests.webdata import CREATED, PASSWORD
    from vcop.web.auth import add_user

    store = app.state.vcop.store
    victim, unit = store.query(
        "SELECT v.victim_id, min(c.unit) FROM victims v JOIN crimes c USING (crime_id) "
        "WHERE c.unit IS NOT NULL GROUP BY 1 HAVING count(DISTINCT c.unit) > 1 ORDER BY 1 LIMIT 1"
    ).rows[0]
    add_user(app.state.vcop.ops, "super4", Role.supervisor, PASSWORD, now=CREATED, unit=unit)
    analyst, supervisor = sign_in(app, "analyst1"), sign_in(app, "super4")
    give_reason(analyst, victim)
    give_reason(supervisor, victim)
    everything = analyst.get(f"/victims/{victim}.json").json()
    mine = supervisor.get(f"/victims/{victim}.json").json()
    again = analyst.get(f"/victims/{victim}.json").json()
    assert set(mine["meta"]["crimes"]) < set(everything["meta"]["crimes"])
    assert again["meta"]["crimes"] == everything["meta"]["crimes"]
    assert again["tables"] == everything["tables"]
    # the timeline's codes are put into words on every view, not on the kept rows
    assert supervisor.get(f"/victims/{victim}.json").json()["tables"] == mine["tables"]
    entries = app.state.vcop.ops.query(
        "SELECT username, action, victim_id, crime_id, reason FROM access_log "
        "WHERE action = 'journey_json' ORDER BY access_id"
    ).rows
    assert [(u, v) for u, _, v, _, _ in entries] == [
        ("analyst1", victim), ("super4", victim), ("analyst1", victim), ("super4", victim),
    ]  # fmt: skip
    assert entries[0][3] == entries[2][3] == ",".join(everything["meta"]["crimes"])
    assert entries[1][3] == entries[3][3] == ",".join(mine["meta"]["crimes"])
    assert all(e[4] for e in entries)


def test_officer_sees_only_their_own_cases(app: FastAPI, webdata: WebData) -> None:
    client = sign_in(app, "officer1")
    give_reason(client, webdata.officer_victim, "victim_contact")
    assert client.get(f"/victims/{webdata.officer_victim}").status_code == 200
    store = app.state.vcop.store
    stranger = store.scalar(
        "SELECT min(victim_id) FROM victims WHERE victim_id NOT IN (SELECT v.victim_id FROM victims v "
        "JOIN crimes c USING (crime_id) WHERE c.officer_id = ?)",
        [webdata.officer_id],
    )
    assert client.get(f"/victims/{stranger}").status_code == 403
    rows = client.get("/worklist.json").json()["tables"]["worklist"]["rows"]
    assert rows and {r["officer_id"] for r in rows} == {webdata.officer_id}


def test_a_reason_lasts_for_the_session_only(app: FastAPI, webdata: WebData) -> None:
    client = sign_in(app, "analyst1")
    give_reason(client, webdata.in_unit_victim, "quality_assurance")
    assert "Timeline" in client.get(f"/victims/{webdata.in_unit_victim}").text
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    again = sign_in(app, "analyst1")
    assert "Why are you opening" in again.get(f"/victims/{webdata.in_unit_victim}").text


def test_find_a_victim_goes_to_the_journey(
    clients: dict[str, TestClient], webdata: WebData
) -> None:
    response = clients["analyst1"].get(f"/victims?victim_id={webdata.in_unit_victim}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/victims/{webdata.in_unit_victim}"


# -- the worklist ------------------------------------------------------------------------------


def test_worklist_is_the_ledger_due_and_overdue_as_of_its_date(
    app: FastAPI, webdata: WebData
) -> None:
    client = sign_in(app, "super1")
    body = client.get("/worklist.json").json()
    assert body["meta"]["as_of"] == AS_OF.isoformat()
    rows = body["tables"]["worklist"]["rows"]
    assert rows
    assert {r["unit"] for r in rows} == {webdata.unit}
    for r in rows:
        if r["category"] == "update_overdue":
            assert r["due_date"] < AS_OF.isoformat() and r["days_overdue"] > 0
        if r["category"] == "update_today":
            assert r["due_date"] == AS_OF.isoformat()
    store = app.state.vcop.store
    expected = store.scalar(
        "SELECT count(*) FROM entitlements e JOIN crimes c USING (crime_id) WHERE c.unit = ? "
        "AND e.owner = 'police' AND e.status IN ('pending', 'overdue') "
        "AND e.obligation_id IN ('R4.needs-assessment') AND e.due_date >= ?::DATE - 90",
        [webdata.unit, AS_OF],
    )
    assert body["meta"]["days"] == 90
    assert body["meta"]["counts"]["needs_assessment"] == expected
    everything = client.get("/worklist.json?days=100000").json()["meta"]["counts"]
    assert everything["needs_assessment"] == store.scalar(
        "SELECT count(*) FROM entitlements e JOIN crimes c USING (crime_id) WHERE c.unit = ? "
        "AND e.owner = 'police' AND e.status IN ('pending', 'overdue') "
        "AND e.obligation_id IN ('R4.needs-assessment')",
        [webdata.unit],
    )
    assert client.get("/worklist?days=lots").status_code == 400
    only = client.get("/worklist.json?category=update_overdue").json()["tables"]["worklist"]["rows"]
    assert only and {r["category"] for r in only} == {"update_overdue"}
    assert client.get("/worklist?category=nonsense").status_code == 400
    assert client.get("/worklist?as_of=30/06/2025").status_code == 400


def test_worklist_as_of_moves_today(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    later = client.get("/worklist.json?as_of=2025-07-31&days=100000").json()
    assert later["meta"]["as_of"] == "2025-07-31"
    assert later["notes"], "reading the ledger at another date says so"
    base = client.get("/worklist.json?days=100000").json()
    assert later["meta"]["counts"]["update_overdue"] >= base["meta"]["counts"]["update_overdue"]


def test_worklist_views_and_exports_are_logged(app: FastAPI) -> None:
    client = sign_in(app, "super1")
    client.get("/worklist")
    export = client.get("/worklist.csv")
    assert export.text.startswith("category_label,victim_id,crime_id")
    actions = [
        r[0]
        for r in app.state.vcop.ops.query("SELECT action FROM access_log ORDER BY access_id").rows
    ]
    assert actions == ["worklist", "worklist_csv"]


# -- data quality ------------------------------------------------------------------------------


def test_data_quality_shows_batches_rejects_and_blank_fields(
    clients: dict[str, TestClient],
) -> None:
    body = clients["analyst1"].get("/data-quality.json").json()
    batches = body["tables"]["batches"]["rows"]
    assert {b["table_name"] for b in batches} >= {"crimes", "victims", "contacts"}
    assert all("/" not in b["file"] for b in batches)  # file names only, no server paths
    missing = body["tables"]["missing"]["rows"]
    assert all(0 < m["blank"] <= m["rows"] for m in missing)
    rejects = clients["admin1"].get("/data-quality/rejects.json?batch=1").json()
    assert rejects["meta"]["batch"] == 1
    assert clients["admin1"].get("/data-quality/rejects?batch=x").status_code == 400


def test_data_quality_lists_rejected_rows(tmp_path: Path, tiny: Path, clock: Clock) -> None:
    from vcop.ingest import load_paths
    from vcop.spec.profile import load_profile
    from vcop.store import connect
    from vcop.store.ops import open_ops
    from vcop.web.auth import add_user

    db = tmp_path / "v.duckdb"
    con = connect(db)
    load_paths(con, [tiny], load_profile("standard"))
    con.close()
    add_user(open_ops(db), "a", Role.analyst, "correct horse battery", now=clock())
    application = create_app(db, clock=clock)
    client = sign_in(application, "a", "correct horse battery")
    body = client.get("/data-quality.json").json()
    assert body["tables"]["rejects"]["rows"]
    reasons = client.get("/data-quality/rejects.csv").text
    assert "Burglery" in reasons and "is not an allowed crime_type" in reasons
    # the tiny extract has no ledger: the pages say so rather than fail
    assert "has not been built" in client.get("/worklist").text
    assert "has not been built" in client.get("/compliance").text
    assert "no entitlement ledger" in client.get("/").text
    application.state.vcop.close()


# -- the access log ----------------------------------------------------------------------------


def test_admin_reads_and_exports_the_access_log(app: FastAPI, webdata: WebData) -> None:
    supervisor = sign_in(app, "super1")
    give_reason(supervisor, webdata.in_unit_victim)
    supervisor.get(f"/victims/{webdata.in_unit_victim}")
    admin = sign_in(app, "admin1")
    page = admin.get("/access-log")
    assert page.status_code == 200 and webdata.in_unit_victim in page.text
    rows = list(csv.DictReader(io.StringIO(admin.get("/access-log.csv").text)))
    journey = [r for r in rows if r["action"] == "journey"]
    assert journey[0]["username"] == "super1" and journey[0]["victim_id"] == webdata.in_unit_victim
    assert journey[0]["reason"].startswith("Supervisory review")
    filtered = admin.get(
        f"/access-log.json?username=super1&victim_id={webdata.in_unit_victim}"
    ).json()
    assert {r["username"] for r in filtered["tables"]["access_log"]["rows"]} == {"super1"}
    # reading the log is logged too
    assert "access_log" in {
        r["action"] for r in admin.get("/access-log.json").json()["tables"]["access_log"]["rows"]
    }


def test_the_access_log_is_append_only_in_code() -> None:
    """Nothing changes or removes an entry, except the one recorded prune of entries past their
    retention (vcop.store.access_log.prune, which keeps the last removed entry's hash)."""
    root = Path(__file__).resolve().parents[2] / "src"
    pattern = re.compile(
        r"(UPDATE|DELETE\s+FROM|TRUNCATE|DROP\s+TABLE)\s+\"?access_(log|records)\b",
        re.IGNORECASE,
    )

    def code(path: Path) -> str:
        text = path.read_text()
        if path.name == "access_log.py":  # the prune, and nothing else, may delete
            start = text.index("\ndef prune(")
            end = text.index("\ndef ", start + 1)
            pruned = text[start:end]
            assert "INSERT INTO access_log_prunes" in pruned
            text = text[:start] + text[end:]
        return text

    offenders = [str(p) for p in root.rglob("*.py") if pattern.search(code(p))]
    assert offenders == []


def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    from vcop.web.pages import Column, Table, table_csv

    text = table_csv(
        Table("t", "t", [Column("a", "a"), Column("n", "n")], [{"a": "=HYPERLINK(1)", "n": "-5"}])
    )
    assert text.splitlines()[1] == "'=HYPERLINK(1),-5"


def test_a_cells_link_quotes_the_values_it_names() -> None:
    """Only the placeholders of a link are filled (and quoted) from its row; the others are not
    read (issue 15: quoting every column of every row was a fifth of the worklist's rendering)."""
    from vcop.web.pages import Column, Table

    column = Column("victim_id", "Victim", link="/victims/{victim_id}?from=worklist&c={crime_id}")
    table = Table("t", "t", [column], [])

    class Unprintable:
        def __str__(self) -> str:
            raise AssertionError("a column the link does not name was read")

    row = {"victim_id": "V 1/é?", "crime_id": "C&1", "title": Unprintable()}
    assert table.link(column, row) == "/victims/V%201%2F%C3%A9%3F?from=worklist&c=C%261"
    assert table.link(column, {**row, "victim_id": None}) is None
    with pytest.raises(KeyError):  # a link naming a column the row does not have
        table.link(Column("x", "x", link="/x/{missing}"), {"x": "1"})


def test_outcomes_page_shows_harm_by_district(clients: dict[str, TestClient]) -> None:
    """Harm by district on the crime and outcomes page, for the force only: a release publishes
    no place below area, so partners get neither the table nor the map."""
    analyst = clients["analyst1"].get("/outcomes.json").json()["tables"]
    rows = analyst["harm_by_district"]["rows"]
    assert rows and all(r["cchi"] > 0 and r["crimes"] > 0 for r in rows)
    assert [r["cchi"] for r in rows] == sorted((r["cchi"] for r in rows), reverse=True)
    partner = clients["partner1"].get("/outcomes.json").json()
    assert not {"harm_map", "harm_by_district"} & set(partner["tables"])
    assert any("not among the figures published to partners" in n for n in partner["notes"])


def test_services_page_shows_each_service_as_the_engine_computes_it(
    shared: FastAPI, clients: dict[str, TestClient]
) -> None:
    """Referrals per service (consent, what came of them, how soon) are on the support services
    page, one row per service (and outcome), each the engine's own value; a partner's come from
    the release."""
    body = clients["analyst1"].get("/services.json").json()
    tables = body["tables"]
    assert {"referral_consent_rate", "referral_outcome_share", "referral_days_median"} <= set(
        tables
    )
    engine = engine_values(shared)
    outcome_rows = tables["referral_outcome_share"]["rows"]
    assert outcome_rows
    per_service: dict[str, float] = {}
    for row in outcome_rows:
        assert row["breakdown"] == "service/referral_outcome"
        value = engine[("referral_outcome_share", row["group"])]
        assert row["numerator"] == value["numerator"] and row["denominator"] == value["denominator"]
        service = row["group"].split("/")[0]
        per_service[service] = per_service.get(service, 0.0) + row["value"]
    # the outcome shares of each service add up to the whole
    assert all(abs(total - 1.0) < 1e-5 for total in per_service.values()), per_service
    partner = clients["partner1"].get("/services.json")
    assert partner.status_code == 200
