"""The audit pages in-process: who may open them, the form beside the case's ledger and journey,
CSRF, what one agency sees of another's findings, the access log, and the agreement table on the
data-quality page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.test_qa_audits import add_auditors, draw_audit, ledger_rights
from tests.web.conftest import THRESHOLD
from tests.web.helpers import Clock, csrf_of, form_token, sign_in
from tests.webdata import PASSWORD, WebData
from vcop.store.ops import open_ops
from vcop.web import create_app
from vcop.web.auth import Role, add_user


@pytest.fixture
def audited(data: WebData, tmp_path: Path) -> tuple[WebData, list[str]]:
    add_auditors(data.db)
    return data, draw_audit(data, tmp_path)


@pytest.fixture
def served(audited: tuple[WebData, list[str]], clock: Clock) -> Iterator[FastAPI]:
    application = create_app(audited[0].db, clock=clock, suppression_threshold=THRESHOLD)
    yield application
    application.state.vcop.close()


def form_for(client: object, rights: list[int], judgement: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(client),  # type: ignore[arg-type]
        **{f"quality_{i}": "3" for i in range(1, 6)},
        **{f"judgement_{r}": judgement for r in rights},
        **extra,
    }


def test_only_auditors_and_analysts_open_audits(served: FastAPI) -> None:
    for name, expected in (("partner1", 403), ("officer1", 403), ("admin1", 403),
                           ("analyst1", 200), ("auditor_hub", 200)):  # fmt: skip
        assert sign_in(served, name).get("/audits").status_code == expected, name
    # an auditor sees the audits and nothing else
    client = sign_in(served, "auditor_police")
    assert client.get("/").status_code == 403
    assert client.get(f"/victims/{'x'}").status_code == 403


def test_an_auditor_signs_in_to_the_audits(served: FastAPI) -> None:
    client = TestClient(served, follow_redirects=False)
    token = form_token(client.get("/login").text)
    response = client.post("/login", data={"username": "auditor_police", "password": PASSWORD,
                                           "csrf_token": token, "next": "/"})  # fmt: skip
    assert response.headers["location"] == "/audits"


def test_the_form_sits_beside_the_ledger_and_each_opening_is_logged(
    served: FastAPI, audited: tuple[WebData, list[str]]
) -> None:
    data, cases = audited
    case = cases[0]
    client = sign_in(served, "auditor_police")
    page = client.get(f"/audits/2025Q1/cases/{case}")
    assert page.status_code == 200
    html = page.text
    assert "The ledger&#39;s view of the case" in html or "The ledger's view of the case" in html
    assert "The case&#39;s journey" in html or "The case's journey" in html
    rights = ledger_rights(data.db, case)
    assert [int(r) for r in re.findall(r'name="judgement_(\d+)"', html)] == rights
    for i in range(1, 6):
        assert f'name="quality_{i}"' in html
    # each right is named by its title beside its judgement, as the Code words it
    assert "To have the details of the crime recorded without unjustified delay" in html or (
        2 not in rights
    )
    for right in rights:
        assert f'aria-describedby="judgement_{right}-hint"' in html
    # the ledger's owners are in words ("Police"), as on every page, not codes ("police")
    ledger = html[html.index("view of the case") :]
    ledger = ledger[: ledger.index("</table>")]
    owners = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", ledger)
    assert "Police" in owners and "police" not in owners
    ops = open_ops(data.db)
    try:
        entry = ops.query(
            "SELECT access_id, username, crime_id, reason FROM access_log "
            "WHERE action = 'audit_case' ORDER BY access_id DESC LIMIT 1"
        ).rows[0]
        records = ops.query(
            "SELECT victim_id, crime_id FROM access_records WHERE access_id = ?", [entry[0]]
        ).rows
    finally:
        ops.close()
    assert entry[1:] == ("auditor_police", case, "Dip-sample audit 2025Q1")
    assert records and all(r[1] == case and r[0] for r in records)


def test_recording_needs_the_csrf_token_and_errors_name_the_field(
    served: FastAPI, audited: tuple[WebData, list[str]]
) -> None:
    data, cases = audited
    rights = ledger_rights(data.db, cases[0])
    client = sign_in(served, "auditor_police")
    form = form_for(client, rights, "met")
    refused = client.post(f"/audits/2025Q1/cases/{cases[0]}", data={**form, "csrf_token": "x"})
    assert refused.status_code == 400
    missing = client.post(f"/audits/2025Q1/cases/{cases[0]}", data={**form, "quality_2": ""})
    assert missing.status_code == 400
    assert 'href="#quality_2"' in missing.text and "area 2" in missing.text
    ops = open_ops(data.db)
    try:
        assert ops.scalar("SELECT count(*) FROM audit_findings") == 0
    finally:
        ops.close()


def test_another_agencys_findings_show_once_it_has_submitted(
    served: FastAPI, audited: tuple[WebData, list[str]]
) -> None:
    data, cases = audited
    police = sign_in(served, "auditor_police")
    for case in cases:
        rights = ledger_rights(data.db, case)
        done = police.post(f"/audits/2025Q1/cases/{case}",
                           data=form_for(police, rights, "met", notes="Clear updates given"))  # fmt: skip
        assert done.status_code == 303, done.text
    hub = sign_in(served, "auditor_hub")
    before = hub.get(f"/audits/2025Q1/cases/{cases[0]}").text
    assert "Clear updates given" not in before
    assert "No other agency has submitted findings" in before
    assert (
        police.post("/audits/2025Q1/submit", data={"csrf_token": csrf_of(police)}).status_code
        == 303
    )
    after = hub.get(f"/audits/2025Q1/cases/{cases[0]}").text
    assert "Clear updates given" in after
    # police's findings are final now: the form is gone and a post is refused
    final = police.get(f"/audits/2025Q1/cases/{cases[0]}").text
    assert "its findings are final" in final
    # ...and the agency still reads what it recorded: its notes and its quality scores
    own = final[final.index("Your agency") :]
    own = own[: own.index("</table>")]
    assert "Clear updates given" in own and "Area 5" in own
    late = police.post(f"/audits/2025Q1/cases/{cases[0]}",
                       data=form_for(police, ledger_rights(data.db, cases[0]), "not_met"))  # fmt: skip
    assert late.status_code == 403
    # the data-quality page now compares the submitted judgements with the ledger
    analyst = sign_in(served, "analyst1")
    quality = analyst.get("/data-quality.json").json()
    rows = quality["tables"]["audit_agreement"]["rows"]
    assert rows and rows[-1]["right"] == "All rights"
    assert sum(r["pairs"] for r in rows[:-1]) == rows[-1]["pairs"]
    # an analyst reading the case sees each agency's submitted findings, not "your agency's"
    case_page = analyst.get(f"/audits/2025Q1/cases/{cases[0]}").text
    assert "Agencies&#39; findings (submitted)" in case_page or (
        "Agencies' findings (submitted)" in case_page
    )
    assert "Clear updates given" in case_page
    assert "Your agency" not in case_page and "Other agencies" not in case_page


def test_an_auditor_cannot_open_a_case_outside_their_sample(
    served: FastAPI, audited: tuple[WebData, list[str]], tmp_path: Path
) -> None:
    data, _ = audited
    ops = open_ops(data.db)
    try:
        add_user(ops, "auditor_cps", Role.auditor, PASSWORD, now=datetime(2025, 7, 1), agency="cps")
    finally:
        ops.close()
    client = sign_in(served, "auditor_cps")
    assert client.get("/audits/2025Q1").status_code == 403
    assert client.get(f"/audits/2025Q1/cases/{audited[1][0]}").status_code == 403
    assert client.get("/audits/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("user", "expected"),
    [("admin1", 403), ("analyst1", 200), ("super1", 403), ("officer1", 403), ("partner1", 403),
     ("auditor_police", 200), ("auditor_hub", 200)],
)  # fmt: skip
def test_the_audit_pages_by_role(
    served: FastAPI, audited: tuple[WebData, list[str]], user: str, expected: int
) -> None:
    client = sign_in(served, user)
    for path in ("/audits", "/audits/2025Q1", f"/audits/2025Q1/cases/{audited[1][0]}"):
        assert client.get(path).status_code == expected, (user, path)
    for twin in ("/audits.json", "/audits.csv"):
        assert client.get(twin).status_code == expected, (user, twin)
