"""Most similar forces on the dashboard (``/peers``) and ``/compliance?by=force``: on a small
national database (three forces of the national generator, loaded and evaluated), each force's
figure, its peer group's and the national figure are `vcop metrics --by force`'s; a difference is
called significant only when the test says so; a partner is not offered what the release does
not publish; and a database of one force looks as it always has."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.nationaldata import AS_OF, CODES, build_national, invoke
from tests.web.helpers import Clock, sign_in
from tests.webdata import WebData
from vcop.metrics.multiplicity import bh_adjusted
from vcop.metrics.peers import peer_figures
from vcop.metrics.stats import two_proportion_test, wilson_interval
from vcop.metrics.values import Estimate, MetricValue
from vcop.spec.forces import load_forces
from vcop.web import create_app
from vcop.web.auth import GRANTS, Permission, Role
from vcop.web.nav import ITEMS

# ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table() when it reads a table's schema
pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

#: A ledger proportion (tested on effective sizes), a plain proportion and a mean.
LEDGER_MEASURE = "needs_assessment_completion"
PLAIN_MEASURE = "prosecution_possible_outcome_rate"
MEAN_MEASURE = "average_investigation_length_days"


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_national(tmp_path_factory.mktemp("peers"))


@pytest.fixture(scope="module")
def served(national: Path) -> Iterator[FastAPI]:
    application = create_app(
        national, clock=Clock(datetime(2025, 7, 1, 9, 0)), suppression_threshold=10
    )
    yield application
    application.state.vcop.close()


@pytest.fixture(scope="module")
def analyst(served: FastAPI) -> TestClient:
    return sign_in(served, "analyst1")


def cli_values(db: Path, metric: str, by: str | None) -> dict[str, dict[str, Any]]:
    """`vcop metrics --format json` of one metric: each group's record (by force: by name)."""
    printed = invoke(
        "metrics", "--db", str(db), "--as-of", AS_OF, "--metric", metric, "--format", "json",
        *(("--by", by) if by else ()),
    )  # fmt: skip
    return {r["group"]: r for r in json.loads(printed)}


def peers_of(force: str, present: set[str]) -> list[str]:
    """The force's peers in forces.yaml that are in the figures, by name."""
    forces = load_forces()
    name = {f.code: f.force for f in forces.forces}
    mine = next(f for f in forces.forces if f.force == force)
    return [name[c] for c in mine.peers if name[c] in present]


def page_rows(client: TestClient, measure: str | None = None) -> dict[str, list[dict[str, Any]]]:
    response = client.get("/peers.json" + (f"?measure={measure}" if measure else ""))
    assert response.status_code == 200, response.text[:300]
    return {name: t["rows"] for name, t in response.json()["tables"].items()}


@pytest.mark.parametrize("measure", [LEDGER_MEASURE, PLAIN_MEASURE, MEAN_MEASURE])
def test_each_force_is_beside_its_peers_and_the_nation_as_vcop_metrics_gives(
    national: Path, analyst: TestClient, measure: str
) -> None:
    by_force = cli_values(national, measure, "force")
    whole = cli_values(national, measure, None)["all"]
    rows = {r["force"]: r for r in page_rows(analyst, measure)[measure]}
    assert set(rows) == set(by_force) and len(rows) == len(CODES)
    for force, row in rows.items():
        mine = by_force[force]
        assert row["value"] == pytest.approx(mine["value"], abs=1e-6)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(
            (mine["ci_low"], mine["ci_high"]), abs=1e-6
        )
        assert row["provisional"] == mine["provisional"]
        assert row["national_value"] == pytest.approx(whole["value"], abs=1e-6)
        assert row["national_ci_low"] == pytest.approx(whole["ci_low"], abs=1e-6)
        peers = peers_of(force, set(by_force))
        assert row["peers"] == "; ".join(peers)
        if not peers:
            assert row["peer_value"] is None and row["versus_peers"].startswith("Not tested")
            continue
        theirs = [by_force[p] for p in peers]
        if mine["kind"] == "proportion":
            num = sum(p["numerator"] for p in theirs)
            den = sum(p["denominator"] for p in theirs)
            assert (row["peer_numerator"], row["peer_denominator"]) == (num, den)
            assert row["peer_value"] == pytest.approx(num / den)
            low, high = wilson_interval(num, den) or (None, None)
            assert (row["peer_ci_low"], row["peer_ci_high"]) == pytest.approx((low, high))
        else:  # a mean: the peers' values averaged, and not tested
            assert row["peer_value"] == pytest.approx(
                sum(p["value"] for p in theirs) / len(theirs), abs=1e-6
            )
            assert row["significant"] is None and "only proportions" in row["versus_peers"]
        assert row["difference"] == pytest.approx(row["value"] - row["peer_value"])


def test_a_plain_proportion_is_tested_with_the_two_proportion_test_adjusted_across_forces(
    national: Path, analyst: TestClient
) -> None:
    by_force = cli_values(national, PLAIN_MEASURE, "force")
    rows = [r for r in page_rows(analyst, PLAIN_MEASURE)[PLAIN_MEASURE] if r["p_value"] is not None]
    assert rows, "no force was tested against its peers"
    for row in rows:
        mine = by_force[row["force"]]
        result = two_proportion_test(
            mine["numerator"], mine["denominator"], row["peer_numerator"], row["peer_denominator"]
        )
        assert result is not None
        assert row["p_value"] == pytest.approx(result.p_value) and row["method"] == result.method
    adjusted = bh_adjusted([r["p_value"] for r in rows])
    for row, a in zip(rows, adjusted, strict=True):
        assert row["p_adjusted"] == pytest.approx(a)


def test_the_page_is_peers_py_over_the_values_of_vcop_metrics_by_force(
    national: Path, analyst: TestClient
) -> None:
    """The peer figures the page shows are :func:`peer_figures` of the CLI's values (the mean's
    and the plain proportion's, whose tests need no per-victim counts)."""
    for measure in (PLAIN_MEASURE, MEAN_MEASURE):
        values = [_value(r) for r in cli_values(national, measure, "force").values()]
        expected = {f.force: f for f in peer_figures(values, load_forces())}
        for row in page_rows(analyst, measure)[measure]:
            f = expected[row["force"]]
            assert row["peer_value"] == pytest.approx(f.peer_value, abs=1e-6)
            assert row["p_adjusted"] == pytest.approx(f.adjusted, abs=1e-6)
            assert row["significant"] == f.significant


def test_a_difference_is_significant_only_when_the_test_says_so(analyst: TestClient) -> None:
    tables = page_rows(analyst)
    assert LEDGER_MEASURE in tables and PLAIN_MEASURE in tables
    assert "compliance_by_right" not in tables  # a measure of groups: shown when chosen
    assert "recorded_crime" not in tables  # a count follows the force's size
    for rows in tables.values():
        for row in rows:
            text = row["versus_peers"]
            if row["significant"]:
                assert row["p_adjusted"] <= 0.05
                assert re.match(
                    r"(Higher|Lower) by [0-9.,]+( pts| min| days)? \(significant\)", text
                )
            elif row["significant"] is False:
                assert row["p_adjusted"] > 0.05 and text.startswith("Not significantly different")
            else:
                assert text.startswith("Not tested: ")
    grouped = page_rows(analyst, "compliance_by_right")["compliance_by_right"]
    assert {r["group"] for r in grouped} and all(r["group"] for r in grouped)


def test_the_page_offers_every_period_and_marks_provisional_figures(
    national: Path, analyst: TestClient
) -> None:
    html = analyst.get("/peers").text
    for period in ("rolling_12m", "fytd", "quarter", "month"):
        assert f'<option value="{period}"' in html
    assert "not the HMICFRS most similar forces groups" in html
    printed = invoke(
        "metrics", "--db", str(national), "--as-of", AS_OF, "--metric", LEDGER_MEASURE,
        "--by", "force", "--period", "month", "--format", "json",
    )  # fmt: skip
    expected = {r["group"]: r for r in json.loads(printed)}
    month = analyst.get(f"/peers.json?period=month&measure={LEDGER_MEASURE}").json()
    rows = month["tables"][LEDGER_MEASURE]["rows"]
    assert month["meta"]["period"] == "month" and len(rows) == len(CODES)
    for r in rows:
        assert r["value"] == pytest.approx(expected[r["force"]]["value"], abs=1e-6)
        assert r["provisional"] == expected[r["force"]]["provisional"]
        assert r["provisional_text"].startswith("Provisional") == r["provisional"]
    # a month ending on the as-of date is too young for late needs assessments to have arrived
    assert all(r["provisional"] for r in rows)


def test_the_navigation_offers_it_and_compliance_splits_by_force(
    national: Path, analyst: TestClient
) -> None:
    page = analyst.get("/compliance?measure=victim_updates_on_time")
    assert 'href="/peers"' in page.text and '<option value="force"' in page.text
    body = analyst.get("/compliance.json?measure=victim_updates_on_time&by=force").json()
    rows = {r["split"]: r for r in body["tables"]["compliance"]["rows"]}
    expected = cli_values(national, "victim_updates_on_time", "force")
    assert set(rows) == set(expected)
    for force, r in rows.items():
        assert r["value"] == pytest.approx(expected[force]["value"], abs=1e-6)
        assert r["denominator"] == expected[force]["denominator"]


def test_a_partner_is_neither_offered_nor_shown_what_the_release_does_not_publish(
    served: FastAPI,
) -> None:
    partner = sign_in(served, "partner1")
    assert 'href="/peers"' not in partner.get("/tracker").text
    for url in ("/peers", "/peers.json", "/peers.csv", f"/peers.json?measure={PLAIN_MEASURE}"):
        response = partner.get(url)
        assert response.status_code == 403, url
        assert "not published to partners" in response.text


def test_one_force_looks_as_it_always_has(data: WebData) -> None:
    application = create_app(data.db, clock=Clock(datetime(2025, 7, 1, 9, 0)))
    try:
        analyst = sign_in(application, "analyst1")
        html = analyst.get("/compliance").text
        shown = re.findall(r'class="govuk-service-navigation__link" href="([^"]+)"', html)
        # every page an analyst had before, in the same order, and no other
        assert shown == [h for _, h, p in ITEMS if h != "/peers" and Role.analyst in _roles(p)]
        assert 'href="/peers"' not in html
        assert '<option value="force"' not in html
        body = analyst.get("/peers.json").json()
        assert body["tables"]["peers"]["rows"] == []
        assert "holds one force" in " ".join(body["notes"])
        rows = list(csv.reader(io.StringIO(analyst.get("/peers.csv").text)))
        assert rows[0][:2] == ["force", "value_text"] and len(rows) == 1
    finally:
        application.state.vcop.close()


# -- peers.py on values made by hand -------------------------------------------------------------


def _value(record: dict[str, Any]) -> MetricValue:
    """A value of the CLI's JSON, as the engine made it (for :func:`peer_figures`)."""
    est = Estimate(
        date.fromisoformat(record["period_start"]), date.fromisoformat(record["period_end"]),
        record["numerator"], record["denominator"], record["value"],
        record["ci_low"], record["ci_high"],
    )  # fmt: skip
    return MetricValue(
        record["metric_id"], record["kind"], record["unit"], record["period"],
        date.fromisoformat(record["as_of"]), ("force",), (record["group"],), est, None, None,
        record["small_sample"], provisional=record["provisional"],
    )  # fmt: skip


def _roles(permission: Permission) -> set[Role]:
    return {role for role, grants in GRANTS.items() if permission in grants}


def _made(
    metric: str, kind: str, force: str, num: int, den: int, value: float | None = None
) -> MetricValue:
    record = {
        "metric_id": metric, "kind": kind, "unit": "proportion", "period": "rolling_12m",
        "period_start": "2024-07-01", "period_end": "2025-06-30", "as_of": "2025-06-30",
        "numerator": num, "denominator": den,
        "value": value if value is not None else num / den, "ci_low": None, "ci_high": None,
        "small_sample": False, "provisional": False, "group": force,
    }  # fmt: skip
    return _value(record)


def test_a_force_is_tested_against_its_pooled_peers() -> None:
    forces = load_forces()
    cam = forces.by_code("CAM")
    first, second = (forces.by_code(c).force for c in cam.peers[:2])
    values = [
        _made("m", "proportion", cam.force, 50, 100),
        _made("m", "proportion", first, 160, 200),
        _made("m", "proportion", second, 40, 50),
        _made("d", "median", cam.force, 0, 40, 12.0),
        _made("d", "median", first, 0, 40, 20.0),
    ]
    got = {(f.metric_id, f.force): f for f in peer_figures(values, forces)}
    f = got["m", cam.force]
    assert (f.peer_numerator, f.peer_denominator) == (200, 250)
    assert f.peer_value == pytest.approx(0.8) and f.difference == pytest.approx(-0.3)
    assert f.p_value == pytest.approx(two_proportion_test(50, 100, 200, 250).p_value)  # type: ignore[union-attr]
    assert f.significant is True and f.adjusted is not None and f.adjusted <= 0.05
    assert f.difference_ci is not None and f.difference_ci[1] < 0
    median = got["d", cam.force]
    assert median.peer_value == pytest.approx(20.0) and median.significant is None
    assert median.reason == "only proportions and shares are tested against peers"
    # a small gap on small numbers is not called significant
    close = peer_figures(
        [_made("m", "proportion", cam.force, 8, 10), _made("m", "proportion", first, 7, 10)],
        forces,
    )
    assert all(c.significant is False for c in close if c.force == cam.force)
