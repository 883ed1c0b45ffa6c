"""The dashboard shows the engine's policy and re-derives none of it: filters reach the engine,
provisional and warm-up months are marked and never judged, a flat series has no variation to
judge, rebased segments keep their own limits, and only an adopted target is shown as one."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.helpers import Clock, served_copy, sign_in
from tests.webdata import AS_OF, WebData
from vcop.metrics import spc
from vcop.metrics.series import Point, Series
from vcop.web import create_app
from vcop.web.charts import GREY, RED
from vcop.web.routes.figures import PUBLIC_COLUMNS

ISSUE_URL = (
    "/compliance.json?measure=victim_updates_on_time&by=ethnicity&area=North&district=Marshwick"
)


@pytest.fixture(scope="module")
def shared(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with served_copy(webdata, tmp_path_factory.mktemp("marks")) as application:
        yield application


@pytest.fixture(scope="module")
def analyst(shared: FastAPI) -> TestClient:
    return sign_in(shared, "analyst1")


def rows_of(client: TestClient, url: str, table: str = "compliance") -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.text[:300])
    rows: list[dict[str, Any]] = response.json()["tables"][table]["rows"]
    return rows


def spec_of(html: str, chart_id: str) -> dict[str, Any]:
    """The Vega-Lite spec a page embeds for chart ``chart_id``."""
    match = re.search(rf'<script type="application/json" id="{chart_id}">(.*?)</script>', html)
    assert match, f"no chart {chart_id}"
    spec: dict[str, Any] = json.loads(match.group(1))
    return spec


def hollow_layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        layer
        for layer in spec.get("layer", [])
        if layer["mark"].get("type") == "point" and layer["mark"].get("filled") is False
    ]


# -- every split honours every filter ------------------------------------------------------------


def test_the_issues_filtered_split_is_of_the_filtered_ledger(analyst: TestClient) -> None:
    filtered = rows_of(analyst, ISSUE_URL)
    unfiltered = rows_of(analyst, ISSUE_URL.split("&area=")[0])
    assert filtered and unfiltered
    pairs = [(r["group"], r["numerator"], r["denominator"]) for r in filtered]
    assert pairs != [(r["group"], r["numerator"], r["denominator"]) for r in unfiltered]
    (total,) = rows_of(
        analyst, "/compliance.json?measure=victim_updates_on_time&area=North&district=Marshwick"
    )
    assert sum(r["numerator"] for r in filtered) == total["numerator"]
    assert sum(r["denominator"] for r in filtered) == total["denominator"]
    (force,) = rows_of(analyst, "/compliance.json?measure=victim_updates_on_time")
    assert total["denominator"] < force["denominator"]
    body = analyst.get(ISSUE_URL).json()
    assert body["meta"]["parents"] == {"area": "North", "district": "Marshwick"}
    # each row's XmR chart is of the same filtered rows, narrowed to the row's group
    html = analyst.get(ISSUE_URL.replace(".json", "")).text
    links = re.findall(r'href="(/metrics/victim_updates_on_time\?[^"]+)"', html)
    assert links and all(
        "area=North" in x and "district=Marshwick" in x and "ethnicity=" in x for x in links
    )
    chart = analyst.get(links[0].replace("&amp;", "&").replace("?", ".json?", 1)).json()
    assert set(chart["meta"]["filters"]) == {"area", "district", "ethnicity"}


def test_a_unit_in_several_districts_shows_each_district_its_share(
    shared: FastAPI, analyst: TestClient
) -> None:
    store = shared.state.vcop.store
    unit, districts = store.query(
        "SELECT unit, list(DISTINCT area || '/' || district ORDER BY area || '/' || district) "
        "FROM crimes WHERE unit IS NOT NULL GROUP BY unit ORDER BY count(DISTINCT district) DESC, "
        "unit LIMIT 1"
    ).rows[0]
    assert len(districts) > 1, "the test data should have a unit working in several districts"
    measure = "victim_updates_on_time"
    (force,) = [
        r
        for r in rows_of(analyst, f"/compliance.json?measure={measure}&by=unit")
        if r["group"] == unit
    ]
    shares = []
    for place in districts:
        area, district = place.split("/")
        rows = rows_of(
            analyst, f"/compliance.json?measure={measure}&by=unit&area={area}&district={district}"
        )
        mine = [r for r in rows if r["group"] == unit]
        shares.append(mine[0]["denominator"] if mine else 0)
    assert sum(shares) == force["denominator"]
    assert max(shares) < force["denominator"]


def test_the_monthly_trend_and_xmr_chart_are_of_the_filtered_rows(analyst: TestClient) -> None:
    whole = rows_of(analyst, "/compliance.json?measure=victim_updates_on_time", "trend")
    north = rows_of(analyst, "/compliance.json?measure=victim_updates_on_time&area=North", "trend")
    south = rows_of(analyst, "/compliance.json?measure=victim_updates_on_time&area=South", "trend")
    assert whole and north and south and north != whole
    chart = analyst.get("/metrics/victim_updates_on_time.json?area=North").json()
    assert chart["meta"]["filters"] == {"area": "North"}
    months = chart["tables"]["months"]["rows"]
    everywhere = analyst.get("/metrics/victim_updates_on_time.json").json()["tables"]["months"]
    by_month = {r["month"]: r for r in everywhere["rows"]}
    south_chart = analyst.get("/metrics/victim_updates_on_time.json?area=South").json()
    south_months = {r["month"]: r for r in south_chart["tables"]["months"]["rows"]}
    for r in months:
        assert (
            r["denominator"] + south_months.get(r["month"], {"denominator": 0})["denominator"]
            == (by_month[r["month"]]["denominator"])
        )
    assert "North" in analyst.get("/metrics/victim_updates_on_time?area=North").text


# -- provisional and warm-up ---------------------------------------------------------------------


def test_the_overview_marks_june_2025_provisional(analyst: TestClient) -> None:
    body = analyst.get("/index.json?period=month").json()
    rows = {r["metric_id"]: r for t in body["tables"].values() for r in t["rows"]}
    june = rows["needs_assessment_completion"]
    assert (june["period_start"], june["period_end"]) == ("2025-06-01", AS_OF.isoformat())
    assert june["provisional"] is True and june["provisional_share"] == 1.0
    assert june["comparable"] is False and june["change"] is None
    assert june["change_text"] == f"Not compared: {june['comparable_reason']}"
    assert june["provisional_text"] == "Provisional (100% of cases in months still completing)"
    assert june["spc_variation"] != "special_cause_concern"
    html = analyst.get("/?period=month").text
    assert "Provisional (100% of cases in months still completing)" in html
    # a 12-month figure with its last months still completing says how much of it is
    year = {
        r["metric_id"]: r
        for t in analyst.get("/index.json").json()["tables"].values()
        for r in t["rows"]
    }["needs_assessment_completion"]
    assert year["provisional"] is True and 0 < year["provisional_share"] < 1
    share = f"{year['provisional_share']:.0%}"
    assert year["provisional_text"] == f"Provisional ({share} of cases in months still completing)"


def test_sparklines_and_the_trend_draw_provisional_months_hollow(analyst: TestClient) -> None:
    html = analyst.get("/").text
    spark = spec_of(html, "spark-needs_assessment_completion")
    (hollow,) = hollow_layers(spark)
    assert [v["month"] for v in hollow["data"]["values"]][-1] == "2025-06-01"
    assert not hollow_layers(spec_of(html, "spark-satisfaction_whole_experience"))
    compliance = analyst.get("/compliance").text
    trend = spec_of(compliance, "chart-trend")
    (open_points,) = hollow_layers(trend)
    months = {v["month"] for v in open_points["data"]["values"]}
    rows = rows_of(analyst, "/compliance.json", "trend")
    assert months == {r["month"] for r in rows if r["provisional"]}
    assert rows[-1]["provisional"] is True and rows[0]["provisional"] is False
    assert "Provisional" in compliance


def test_warm_up_months_are_drawn_hollow_and_never_signals(analyst: TestClient) -> None:
    html = analyst.get("/metrics/needs_assessment_completion").text
    spec = spec_of(html, "chart-months")
    (hollow,) = hollow_layers(spec)
    signals = {v["signal"] for v in hollow["data"]["values"]}
    assert signals == {"Warm-up", "Provisional"}
    filled = [
        layer
        for layer in spec["layer"]
        if layer["mark"].get("type") == "point" and layer["mark"].get("filled")
    ]
    assert not filled  # a year of data: every month is in the warm-up
    colours = dict(
        zip(
            hollow["encoding"]["color"]["scale"]["domain"],
            hollow["encoding"]["color"]["scale"]["range"],
            strict=True,
        )
    )
    assert colours == {"Provisional": GREY, "Warm-up": GREY}
    assert "warm-up" in html and "provisional" in html


def fake_series(points: list[Point], rebase: tuple[int, ...] = ()) -> Series:
    """A series as the engine makes one: read from its judged points only."""
    judged = [p.value for p in points if p.judged]
    return Series(
        tuple(points), spc.analyse(judged, spc.Polarity.higher_is_better, None, spc.MDC, rebase)
    )


def months(n: int, start: date = date(2023, 7, 1)) -> list[date]:
    return [date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
            for i in range(n)]  # fmt: skip


@pytest.fixture
def patched(app: FastAPI) -> Iterator[tuple[FastAPI, dict[str, Series]]]:
    """The app with the series of chosen metrics replaced by crafted ones."""
    view = app.state.vcop.metrics
    crafted: dict[str, Series] = {}
    real = view.series

    def series(metric_id: str, as_of: date, filters: Any = None) -> dict[tuple[str, ...], Series]:
        if metric_id in crafted:
            return {(): crafted[metric_id]}
        result: dict[tuple[str, ...], Series] = real(metric_id, as_of, filters)
        return result

    view.series = series
    yield app, crafted


def test_no_concern_colour_on_a_provisional_month(
    patched: tuple[FastAPI, dict[str, Series]],
) -> None:
    app, crafted = patched
    values = [0.83, 0.84, 0.82, 0.85, 0.83, 0.84, 0.82, 0.83, 0.85, 0.84, 0.83, 0.82, 0.84, 0.83,
              0.85, 0.84, 0.83, 0.82, 0.84, 0.83, 0.84, 0.83, 0.84]  # fmt: skip
    dates = months(24)
    points = [Point(m, v, int(v * 100), 100) for m, v in zip(dates, values, strict=False)]
    points.append(Point(dates[-1], 0.60, 60, 100, provisional=True))  # June: still completing
    # were June judged, it would be a concern: below the lower process limit
    judged_too = spc.analyse([p.value for p in points], spc.Polarity.higher_is_better)
    assert judged_too is not None and judged_too.point_type[-1] == "special_cause_concern"
    crafted["needs_assessment_completion"] = fake_series(points)
    client = sign_in(app, "analyst1")
    body = client.get("/metrics/needs_assessment_completion.json").json()
    june = body["tables"]["months"]["rows"][-1]
    assert june["month"] == "2025-06-01" and june["mark"] == "provisional"
    assert june["point_type"] is None and june["upl"] is None
    assert body["meta"]["variation"] == "common_cause"
    html = client.get("/metrics/needs_assessment_completion").text
    spec = spec_of(html, "chart-months")
    (hollow,) = hollow_layers(spec)
    assert [(v["month"], v["signal"]) for v in hollow["data"]["values"]] == [
        ("2025-06-01", "Provisional")
    ]
    signals = {v["signal"] for v in spec["data"]["values"]}
    assert "Concern" not in signals
    assert ">Concern<" not in html


def test_a_flat_series_shows_no_variation_to_judge(analyst: TestClient) -> None:
    overview = {
        r["metric_id"]: r for t in analyst.get("/index.json").json()["tables"].values()
        for r in t["rows"]
    }  # fmt: skip
    flat = [m for m, r in overview.items() if r["spc_variation"] == "no_variation"]
    assert flat, "the test data should have a series with no variation"
    assert "No variation to judge" in analyst.get("/").text
    body = analyst.get(f"/metrics/{flat[0]}.json").json()
    assert body["meta"]["variation"] == "no_variation"
    assert body["meta"]["mean"] is None and body["meta"]["upl"] is None
    assert any(n.startswith("No variation to judge") for n in body["notes"])
    rows = body["tables"]["months"]["rows"]
    assert all(r["upl"] is None and r["point_type"] in (None, "common_cause") for r in rows)
    html = analyst.get(f"/metrics/{flat[0]}").text
    spec = spec_of(html, "chart-months")
    assert not [
        layer for layer in spec["layer"]
        if layer["encoding"].get("y", {}).get("field") in ("mean", "upl", "lpl")
    ]  # fmt: skip
    assert "No variation to judge" in html and "Upper process limit" not in html


def test_rebased_segments_keep_their_own_limits(
    patched: tuple[FastAPI, dict[str, Series]],
) -> None:
    app, crafted = patched
    before = [0.60, 0.62, 0.61, 0.63, 0.60, 0.62, 0.61, 0.63, 0.62, 0.61, 0.60, 0.62]
    after = [0.80, 0.83, 0.81, 0.84, 0.80, 0.82, 0.81, 0.83, 0.82, 0.80, 0.81, 0.83]
    points = [
        Point(m, v, int(v * 100), 100) for m, v in zip(months(24), before + after, strict=True)
    ]
    crafted["satisfaction_whole_experience"] = fake_series(points, rebase=(12,))
    client = sign_in(app, "analyst1")
    rows = client.get("/metrics/satisfaction_whole_experience.json").json()["tables"]["months"]
    limits = [(r["mean"], r["upl"], r["lpl"]) for r in rows["rows"]]
    assert len(set(limits[:12])) == 1 and len(set(limits[12:])) == 1
    assert limits[0] != limits[12]
    assert limits[0][0] == pytest.approx(sum(before) / 12)
    assert limits[12][0] == pytest.approx(sum(after) / 12)
    spec = spec_of(client.get("/metrics/satisfaction_whole_experience").text, "chart-months")
    upl = next(layer for layer in spec["layer"] if layer["encoding"]["y"]["field"] == "upl")
    assert {v["segment"] for v in upl["data"]["values"]} == {0, 1}


# -- targets, which way is better, and the public columns ---------------------------------------

TARGETS = """\
targets:
  - metric: satisfaction_whole_experience
    value: 0.9
    source: Police and Crime Plan (test)
    adopted: true
    effective_from: 2024-04-01
  - metric: satisfaction_ease_of_contact
    value: 0.97
    source: A draft nobody adopted
    adopted: false
  - metric: response_time_median_immediate
    value: 15
    source: Attendance standard (test)
    adopted: true
    basis: per_incident
"""


@pytest.fixture
def with_targets(data: WebData, clock: Clock) -> Iterator[FastAPI]:
    (Path(data.db).parent / "targets.yaml").write_text(TARGETS)
    application = create_app(data.db, clock=clock)
    yield application
    application.state.vcop.close()


def test_only_an_adopted_target_is_shown_with_its_source(with_targets: FastAPI) -> None:
    client = sign_in(with_targets, "analyst1")
    rows = {
        r["metric_id"]: r for t in client.get("/index.json").json()["tables"].values()
        for r in t["rows"]
    }  # fmt: skip
    adopted = rows["satisfaction_whole_experience"]
    assert adopted["target"] == 0.9 and adopted["target_source"] == "Police and Crime Plan (test)"
    assert adopted["target_text"] == "90.0% (Police and Crime Plan (test))"
    assert adopted["target_adopted"] is True and adopted["target_basis"] == "aggregate"
    assert adopted["target_effective_from"] == "2024-04-01"
    draft = rows["satisfaction_ease_of_contact"]
    assert draft["target"] is None and draft["target_text"] is None
    assert draft["target_adopted"] is False and draft["spc_assurance"] is None
    standard = rows["response_time_median_immediate"]
    assert standard["target"] is None and standard["target_text"] is None
    assert standard["target_basis"] == "per_incident" and standard["target_adopted"] is True
    html = client.get("/").text
    assert "90.0% (Police and Crime Plan (test))" in html
    assert "A draft nobody adopted" not in html and "97.0%" not in html

    body = client.get("/metrics/satisfaction_whole_experience.json").json()
    assert body["meta"]["target"] == 0.9
    assert body["meta"]["target_source"] == "Police and Crime Plan (test)"
    page = client.get("/metrics/satisfaction_whole_experience").text
    spec = spec_of(page, "chart-months")
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert [(r["data"]["values"][0]["y"], r["mark"]["color"]) for r in rules] == [(0.9, RED)]
    assert "90.0% (Police and Crime Plan (test))" in page
    response = client.get("/metrics/response_time_median_immediate").text
    assert "Per-incident standard, not judged against the monthly figure" in response
    draft_page = client.get("/metrics/satisfaction_ease_of_contact.json").json()
    assert draft_page["meta"]["target"] is None
    draft_html = client.get("/metrics/satisfaction_ease_of_contact").text
    assert "A draft nobody adopted" not in draft_html
    assert not [
        layer for layer in spec_of(draft_html, "chart-months")["layer"]
        if layer["mark"]["type"] == "rule"
    ]  # fmt: skip


def test_every_value_says_which_way_is_better(analyst: TestClient) -> None:
    rows = {
        r["metric_id"]: r for t in analyst.get("/index.json").json()["tables"].values()
        for r in t["rows"]
    }  # fmt: skip
    assert rows["satisfaction_whole_experience"]["better_text"] == "Higher"
    assert rows["response_time_median_immediate"]["better"] == "lower"
    assert rows["response_time_median_immediate"]["better_text"] == "Lower"
    assert rows["recorded_crime"]["better_text"] == "Neither"
    assert all(r["better"] in ("higher", "lower", "neutral") for r in rows.values())


def test_a_figure_not_comparable_says_why_instead_of_a_change(analyst: TestClient) -> None:
    rows = [r for t in analyst.get("/index.json").json()["tables"].values() for r in t["rows"]]
    for r in rows:
        if r["comparable"] is False and r["change"] is None:
            assert r["change_text"] == f"Not compared: {r['comparable_reason']}", r["metric_id"]
    warm = next(r for r in rows if r["metric_id"] == "repeat_victimisation_rate")
    assert warm["comparable"] is False and "warm-up" in warm["comparable_reason"]
    assert "warm-up" in analyst.get("/outcomes").text


def test_the_twins_carry_the_public_columns(analyst: TestClient) -> None:
    wanted = {
        "provisional", "provisional_share", "comparable", "comparable_reason", "target_source",
        "better", "target_adopted", "target_effective_from", "target_effective_to", "target_basis",
    }  # fmt: skip
    assert wanted <= {c.key for c in PUBLIC_COLUMNS}
    for url in ("/index", "/compliance", "/compliance?by=area&area=North"):
        path, _, query = url.partition("?")
        body = analyst.get(f"{path}.json" + (f"?{query}" if query else "")).json()
        table = next(iter(body["tables"].values()))
        assert wanted <= set(table["columns"]), url
        text = analyst.get(f"{path}.csv" + (f"?{query}" if query else "")).text
        header = next(csv.reader(io.StringIO(text)))
        assert wanted <= set(header), url
    counts: dict[bool, int] = defaultdict(int)
    for row in rows_of(analyst, "/compliance.json"):
        counts[row["provisional"]] += 1
    assert counts[True], "the 12 months to the as-of date end with months still completing"
