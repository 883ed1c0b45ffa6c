"""Every family page splits and drills like compliance (issue 16, items 2 and 3), read from the
JSON twins and the HTML a user sees: each split's groups add up to the filtered whole, each split
has a chart, a split by a protected characteristic tests each group against the rest of the force
(Benjamini–Hochberg), a partner gets 403 for any split below area or by unit or officer, and an
officer or supervisor sees their own scope beside the force."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.helpers import served_copy, sign_in
from tests.webdata import WebData, copy_of
from vcop.metrics.groups import versus_rest
from vcop.metrics.multiplicity import bh_adjusted
from vcop.metrics.stats import two_proportion_test
from vcop.spec.metrics import load_catalogue

#: Each family page, a measure of it, and the splits it must offer (place, crime, victim).
PAGES = {
    "/satisfaction": ("satisfaction_whole_experience", ["area", "district", "crime_type"]),
    "/response-times": ("response_time_median_prompt", ["area", "incident_type", "delay_reason"]),
    "/outcomes": ("prosecution_possible_outcome_rate", ["area", "crime_type", "hate_crime"]),
}


@pytest.fixture(scope="module")
def shared(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with served_copy(webdata, tmp_path_factory.mktemp("family")) as application:
        yield application


@pytest.fixture(scope="module")
def analyst(shared: FastAPI) -> TestClient:
    return sign_in(shared, "analyst1")


def twin(client: TestClient, path: str, **query: str) -> dict[str, Any]:
    response = client.get(f"{path}.json?{urlencode(query)}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def table(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    assert name in data["tables"], f"no table {name} in {list(data['tables'])}"
    rows: list[dict[str, Any]] = data["tables"][name]["rows"]
    return rows


@pytest.mark.parametrize("path", list(PAGES))
def test_each_split_adds_up_to_the_whole_and_has_a_chart(analyst: TestClient, path: str) -> None:
    measure, splits = PAGES[path]
    for by in splits:
        data = twin(analyst, path, measure=measure, by=by)
        whole = table(data, "whole")[0]
        rows = table(data, "split")
        assert len(rows) >= 2, (path, by)
        assert {r["breakdown"] for r in rows} == {by}
        if whole["denominator"] is not None and all(r["denominator"] for r in rows):
            assert sum(r["denominator"] for r in rows) == whole["denominator"], (path, by)
        html = analyst.get(f"{path}?{urlencode({'measure': measure, 'by': by})}").text
        assert 'id="chart-split"' in html, (path, by)
        assert "Monthly trend" in html


def test_drill_down_from_area_to_district_to_unit(analyst: TestClient) -> None:
    data = twin(analyst, "/outcomes", measure="prosecution_possible_outcome_rate", by="area")
    first = table(data, "split")[0]
    assert first["drill"].startswith("/outcomes?") and "by=district" in first["drill"]
    area = first["group"]
    down = analyst.get(first["drill"].replace("/outcomes?", "/outcomes.json?")).json()
    districts = table(down, "split")
    whole = table(down, "whole")[0]
    assert {r["breakdown"] for r in districts} == {"district"}
    assert sum(r["denominator"] for r in districts) == whole["denominator"]
    assert whole["denominator"] == first["denominator"], "the drilled whole is the area's figure"
    unit_link = districts[0]["drill"]
    assert f"area={area}".replace(" ", "+") in unit_link and "by=unit" in unit_link


def test_pages_say_which_splits_a_measure_cannot_have(analyst: TestClient) -> None:
    html = analyst.get("/response-times?measure=response_time_median_prompt&by=area").text
    assert "cannot be split by ethnicity: calls for service record no victim" in html
    # survey answers now carry the victim who answered: satisfaction splits by ethnicity
    html = analyst.get("/satisfaction?measure=satisfaction_whole_experience").text
    assert "cannot be split by ethnicity" not in html
    data = twin(analyst, "/satisfaction", measure="satisfaction_whole_experience", by="ethnicity")
    assert len(table(data, "split")) > 1


def test_protected_characteristics_are_tested_against_the_rest(analyst: TestClient) -> None:
    data = twin(analyst, "/outcomes", measure="repeat_victimisation_rate", by="ethnicity")
    whole = table(data, "whole")[0]
    rows = table(data, "split")
    tested = [r for r in rows if r["vs_rest_p_adjusted"] is not None]
    assert tested, rows
    # recompute: each group against the rest, then Benjamini–Hochberg over the groups
    raw = []
    for r in tested:
        rest_x = whole["numerator"] - r["numerator"]
        rest_n = whole["denominator"] - r["denominator"]
        result = two_proportion_test(r["numerator"], r["denominator"], rest_x, rest_n)
        assert result is not None
        raw.append(result.p_value)
    for r, adjusted in zip(tested, bh_adjusted(raw), strict=True):
        assert r["vs_rest_p_adjusted"] == pytest.approx(adjusted, abs=1e-6)
        assert r["vs_rest_significant"] == (adjusted <= 0.05)
    html = analyst.get("/outcomes?measure=repeat_victimisation_rate&by=ethnicity").text
    assert "Against the rest of the force" in html
    # a place split is not tested against the rest
    rows = table(
        twin(analyst, "/outcomes", measure="repeat_victimisation_rate", by="area"), "split"
    )
    assert "vs_rest_significant" not in rows[0]


def test_compliance_by_ethnicity_is_tested_with_victims_as_clusters(analyst: TestClient) -> None:
    data = twin(analyst, "/compliance", measure="right", by="ethnicity")
    rows = table(data, "compliance")
    assert any(r["vs_rest_p_adjusted"] is not None for r in rows)
    html = analyst.get("/compliance?measure=right&by=ethnicity").text
    assert 'id="chart-compliance"' in html


def test_versus_rest_finds_a_real_gap_and_not_a_chance_one() -> None:
    from datetime import date

    from vcop.metrics.values import Estimate, MetricValue

    def value(group: tuple[str, ...], x: int, n: int) -> MetricValue:
        est = Estimate(date(2025, 1, 1), date(2025, 12, 31), x, n, x / n)
        return MetricValue(
            metric_id="m", kind="proportion", unit="proportion", period="rolling_12m",
            as_of=date(2025, 12, 31), breakdown=("b",) if group else (), group=group,
            current=est, previous=None, year_ago=None, small_sample=False,
        )  # fmt: skip

    even = [value(("a",), 60, 100), value(("b",), 61, 100), value(("c",), 59, 100)]
    tests = versus_rest(even, value((), 180, 300))
    assert not any(t.significant for t in tests.values()), "a chance gap is not reported"
    assert tests[("b",)].text == "Higher (not significant)"
    groups = [value(("a",), 60, 100), value(("b",), 61, 100), value(("c",), 95, 100)]
    whole = value((), 216, 300)
    tests = versus_rest(groups, whole)
    assert tests[("c",)].significant and tests[("c",)].text == "Higher (significant)"
    assert all(t.adjusted is not None and t.p_value is not None and t.adjusted >= t.p_value
               for t in tests.values())  # fmt: skip
    # groups that do not add up to the whole are not tested
    bad = versus_rest(groups[:2], whole)
    assert all(t.reason for t in bad.values())


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/satisfaction", {"measure": "satisfaction_whole_experience", "by": "district"}),
        ("/satisfaction", {"measure": "satisfaction_whole_experience", "by": "unit"}),
        ("/outcomes", {"measure": "prosecution_possible_outcome_rate", "by": "officer"}),
        ("/outcomes", {"by": "unit"}),
        ("/response-times", {"measure": "response_time_median_prompt", "by": "district"}),
        ("/outcomes", {"measure": "recorded_crime", "by": "district", "area": "North"}),
        ("/services", {"by": "unit"}),
        ("/compliance", {"by": "officer"}),
    ],
)
def test_a_partner_gets_403_for_any_split_below_area(
    shared: FastAPI, path: str, query: dict[str, str]
) -> None:
    partner = sign_in(shared, "partner1")
    for suffix in ("", ".json"):
        response = partner.get(f"{path}{suffix}?{urlencode(query)}")
        assert response.status_code == 403, (path, suffix, query, response.text[:200])


def test_a_partner_may_split_by_area_and_sees_no_finer_choice(shared: FastAPI) -> None:
    partner = sign_in(shared, "partner1")
    response = partner.get("/satisfaction?measure=satisfaction_whole_experience&by=area")
    assert response.status_code == 200, response.text
    assert '<option value="district"' not in response.text
    assert '<option value="officer"' not in response.text


def test_a_supervisor_sees_their_scope_beside_the_force(shared: FastAPI, webdata: WebData) -> None:
    supervisor = sign_in(shared, "super1")
    data = supervisor.get("/outcomes.json").json()
    rows = table(data, "crime_outcomes")
    mine = {r["metric_id"]: r for r in rows}["prosecution_possible_outcome_rate"]
    assert mine["scope_text"] is not None
    assert any(webdata.unit in note and "Your scope" in note for note in data["notes"])
    page = supervisor.get("/outcomes.json?measure=prosecution_possible_outcome_rate").json()
    wheres = [r["where"] for r in table(page, "whole")]
    assert wheres[0] == "Whole force" and wheres[1].startswith("Your scope")


def test_recorded_crime_shows_its_long_term_benchmark(analyst: TestClient) -> None:
    data = twin(analyst, "/outcomes", measure="recorded_crime", by="area")
    whole = table(data, "whole")[0]
    assert "benchmark" in whole and "benchmark_significant" in whole
    assert (whole["benchmark"] is None) == (whole["benchmark_text"] is None)
    html = analyst.get("/outcomes?measure=recorded_crime&by=area").text
    assert "Long-term benchmark" in html
    assert all(r["interval"] is None for r in table(data, "split")), "no interval on a count"


def test_outcomes_split_by_outcome_type_add_up_to_the_whole(analyst: TestClient) -> None:
    data = twin(analyst, "/outcomes", measure="crimes_finalised", by="outcome_type")
    rows = table(data, "split")
    assert len(rows) > 3, "each outcome type given in the period"
    (whole,) = table(data, "whole")
    assert sum(r["value"] for r in rows) == whole["value"]


def test_catalogue_declares_the_new_splits() -> None:
    catalogue = load_catalogue()
    assert "hate_crime" in catalogue.metric("prosecution_possible_outcome_rate").breakdowns
    assert "delay_reason" in catalogue.metric("response_time_median_prompt").breakdowns
    assert "outcome_type" in catalogue.metric("crimes_finalised").breakdowns


def test_recorded_crime_per_1000_residents_of_each_place(
    analyst: TestClient, webdata: WebData, tmp_path: Path
) -> None:
    import duckdb

    con = duckdb.connect(str(copy_of(webdata, tmp_path).db), read_only=True)
    try:
        residents = dict(con.execute("SELECT district, population FROM population").fetchall())
    finally:
        con.close()
    assert residents, "the demo force's synthetic population is loaded"
    data = twin(analyst, "/outcomes", measure="recorded_crime", by="district")
    rows = [r for r in table(data, "split") if r["split"] in residents]
    assert rows
    for r in rows:
        assert r["per_1000"] == pytest.approx(1000 * r["value"] / residents[r["split"]])
    (whole,) = table(data, "whole")
    assert whole["per_1000"] == pytest.approx(1000 * whole["value"] / sum(residents.values()))
    assert any("per 1,000 residents" in n for n in data["notes"])
    by_unit = twin(analyst, "/outcomes", measure="recorded_crime", by="unit")
    assert all(r.get("per_1000") is None for r in table(by_unit, "split")), (
        "a unit has no residents"
    )
