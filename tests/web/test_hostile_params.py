"""Hostile query parameters: every GET route, every parameter it reads, every hostile value, as an
analyst, an admin and a partner — never a 500, and every 400 says which parameter and why.

The parameters a route reads are found by asking it: a first visit to each route with no query
records every name the page reads through :class:`vcop.web.pages.Ctx` (whose typed helpers all
go through ``Ctx.param``), to which the names FastAPI declares are added. Each of those gets every
hostile value on the JSON twin (and on routes without twins), and the values that reach the
rendering on the HTML page and the CSV twin. A common list of names used across the dashboard is
sent too, all at once, to every route (in case a route reads one some other way). Path
parameters get plausible ids from the test data (and a few hostile ones).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import THRESHOLD
from tests.web.helpers import csrf_of, served_copy, sign_in
from tests.webdata import WebData
from vcop.metrics.release import Release
from vcop.spec.metrics import load_catalogue
from vcop.web.app import api_routes
from vcop.web.pages import Ctx, twin_path

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

USERS = ("analyst1", "admin1", "partner1")

#: The hostile values: not numbers, numbers out of every range, impossible and far-off dates,
#: SQL, markup, a NUL (``%00`` once decoded, and the three characters themselves), 10,000
#: characters, and nothing at all.
HOSTILE = [
    "²",
    "-1",
    "2147483648",
    "99999999999999999999",
    "9999-12-31",
    "0000-00-00",
    "1e9",
    "' OR 1=1 --",
    "<script>",
    "\x00",
    "%00",
    "x" * 10_000,
    "",
]
#: The values tried on the HTML page and the CSV twin (those a text parameter lets through to
#: the page, and one of each kind a typed one refuses).
RENDERED = ["<script>", "' OR 1=1 --", "²", "9999-12-31", ""]
#: The values of the common names, sent all at once (see the module's docstring; 1,000 characters
#: each, as 10,000 in every one would make an address no client sends).
FEW = ["²", "9999-12-31", "' OR 1=1 --", "<script>", "x" * 1_000]

#: Names of parameters used across the dashboard (and some it might be sent anyway).
COMMON = sorted(
    {
        "days", "as_of", "batch", "period", "by", "measure", "group", "category", "table",
        "from", "to", "username", "action", "victim_id", "victim", "crime", "metric", "page",
        "sort", "q", "limit", "next",
        *(b.id for b in load_catalogue().breakdowns),
    }
)  # fmt: skip

METRIC = "compliance_by_right"


@pytest.fixture(scope="module")
def served(
    webdata: WebData, published: Release, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    with served_copy(
        webdata, tmp_path_factory.mktemp("hostile"), suppression_threshold=THRESHOLD
    ) as application:
        yield application


@pytest.fixture(scope="module")
def clients(served: FastAPI, webdata: WebData) -> dict[str, TestClient]:
    out = {user: sign_in(served, user) for user in USERS}
    # the analyst says why they open the victim's journey, so its pages and twins are served
    analyst = out["analyst1"]
    reason = analyst.post(
        f"/victims/{webdata.in_unit_victim}/reason",
        data={"reason": "supervision", "csrf_token": csrf_of(analyst)},
    )
    assert reason.status_code == 303, reason.text
    return out


def get_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in api_routes(app) if "GET" in r.methods]


def fill(path: str, data: WebData, **values: str) -> str:
    """The route's path with its parameters filled in (plausible ids unless ``values`` say)."""
    ids = {"metric_id": METRIC, "victim_id": data.in_unit_victim, "token": "no-such-link",
           "audit_id": "2025Q1", "crime_id": "DS-C-000001", **values}  # fmt: skip
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


@pytest.fixture(scope="module")
def reads(served: FastAPI, clients: dict[str, TestClient], webdata: WebData) -> dict[str, set[str]]:
    """Route path -> the query parameters it reads, by visiting each route once as each user."""
    seen: dict[str, set[str]] = defaultdict(set)
    original = Ctx.param

    def recording(self: Ctx, name: str, **kwargs: Any) -> str | None:
        seen[self.request.scope["route"].path].add(name)
        return original(self, name, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Ctx, "param", recording)
        for route in get_routes(served):
            for client in clients.values():
                assert client.get(fill(route.path, webdata)).status_code < 500, route.path
    for route in get_routes(served):
        seen[route.path] |= {p.alias for p in route.dependant.query_params}
    return seen


def _problem(client: TestClient, url: str, names: Sequence[str], value: str) -> str | None:
    """What is wrong with the answer to ``url`` with each of ``names`` set to ``value`` (None:
    nothing)."""
    shown = f"{url} {'&'.join(names)[:60]}={value[:20]!r}{'…' if len(value) > 20 else ''}"
    try:
        response = client.get(url, params=dict.fromkeys(names, value))
    except Exception as error:  # the test client raises what the app did not handle
        return f"{shown}: 500 ({type(error).__name__}: {str(error)[:200]})"
    if response.status_code >= 500:
        return f"{shown}: {response.status_code}"
    if response.status_code == 400:
        body = response.text
        if url.endswith(".json"):
            body = str(response.json().get("detail") or "")
        if not any(name in body for name in names):
            return f"{shown}: 400 without a message naming the parameter: {body[:200]!r}"
    html = "text/html" in response.headers.get("content-type", "")
    if value == "<script>" and html and "<script>" in response.text:
        return f"{shown}: the markup is written into the page unescaped"
    return None


def test_every_route_reads_its_parameters(reads: dict[str, set[str]]) -> None:
    """The discovery found what the routes read (so the walk below is not vacuous)."""
    assert {"days", "as_of", "category"} <= reads["/worklist.json"]
    assert "batch" in reads["/data-quality/rejects.json"]
    assert {"from", "to"} <= reads["/access-log.json"]
    assert {"period", "measure", "by", "area", "group"} <= reads["/compliance"]
    assert "period" in reads["/index.csv"] and "table" in reads["/index.csv"]


@pytest.mark.parametrize("user", USERS)
def test_no_hostile_value_is_a_server_error(
    user: str,
    served: FastAPI,
    clients: dict[str, TestClient],
    reads: dict[str, set[str]],
    webdata: WebData,
) -> None:
    client = clients[user]
    problems: list[str] = []
    walked = 0
    for route in get_routes(served):
        url = fill(route.path, webdata)
        names = reads[route.path]
        # the HTML page and the CSV twin of a page whose JSON twin gets every value; the PDF
        # twin reads its parameters through the same page function as the HTML, so it gets
        # only the common names all at once (rendering a PDF per value would take minutes)
        twin = route.path.endswith(".csv") or twin_path(route.path, "json") in reads
        for name in sorted(names) if not route.path.endswith(".pdf") else ():
            for value in RENDERED if twin else HOSTILE:
                walked += 1
                if (problem := _problem(client, url, [name], value)) is not None:
                    problems.append(problem)
        unread = [n for n in COMMON if n not in names]
        for value in FEW:
            walked += 1
            if (problem := _problem(client, url, unread, value)) is not None:
                problems.append(problem)
    assert walked > 500
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("value", ["' OR 1=1 --", "<script>", "\x00", "²", "x" * 10_000])
def test_hostile_path_parameters(
    value: str, served: FastAPI, clients: dict[str, TestClient], webdata: WebData
) -> None:
    """A hostile id in the path is a 4xx (no such metric or victim), never a 500."""
    for route in get_routes(served):
        if "{" not in route.path:
            continue
        url = fill(
            route.path, webdata, metric_id=quote(value, safe=""), victim_id=quote(value, safe=""),
            audit_id=quote(value, safe=""), crime_id=quote(value, safe=""),
        )  # fmt: skip
        for client in clients.values():
            response = client.get(url)
            assert 400 <= response.status_code < 500, (url[:80], response.status_code)


def test_the_known_server_errors_are_400s(clients: dict[str, TestClient]) -> None:
    """The 500s of issue 17, now 400s that name the parameter and what it may be."""
    analyst, admin = clients["analyst1"], clients["admin1"]
    for query, words in [
        ("days=²", "days must be a whole number from 0 to"),
        ("days=2147483648", "days must be a whole number from 0 to"),
        ("as_of=9999-12-31", "as_of must be a date from 1900-01-01 to"),
    ]:
        response = analyst.get(f"/worklist.json?{query}")
        assert response.status_code == 400 and words in response.json()["detail"], query
    response = admin.get("/data-quality/rejects.json?batch=²")
    assert response.status_code == 400
    assert "batch must be a whole number" in response.json()["detail"]
    response = admin.get("/access-log.json?to=9999-12-31")
    assert response.status_code == 400
    assert "to must be a date from 1900-01-01 to 2100-12-31" in response.json()["detail"]
    # the same on the page and the CSV twin
    page = analyst.get("/worklist?days=²")
    assert page.status_code == 400 and "days must be a whole number" in page.text
    csv = analyst.get("/worklist.csv?days=²")
    assert csv.status_code == 400 and "days must be a whole number" in csv.text
    # and what is allowed still works
    assert analyst.get("/worklist.json?days=0&as_of=2025-06-01").status_code == 200
    assert admin.get("/data-quality/rejects.json?batch=1").status_code == 200
    assert admin.get("/access-log.json?from=2025-01-01&to=2100-12-31").status_code == 200
