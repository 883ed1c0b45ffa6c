"""Every split honours every filter: on the web test data, for each measure /compliance shows
(by right, by obligation, each single measure), each split (places and the other splits) and each
drill-down (none, an area, an area and district, an area, district and unit — the unit that works
in the most districts), the groups' numerators and denominators add up to the filtered total
(per right or obligation for the grouped measures). Read from the JSON twins, as a user would."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.helpers import served_copy, sign_in
from tests.webdata import WebData
from vcop.spec.metrics import load_catalogue
from vcop.web.routes.compliance import LEVELS, MEASURE_METRICS, SPLITS

#: The measures /compliance offers (checked against the page below).
MEASURES = [
    "right",
    "obligation",
    *(
        m.id
        for m in load_catalogue().metrics
        if m.family == "victims_code" and not m.grouping and m.kind == "proportion"
    ),
]

Totals = dict[str, tuple[int, int]]


@pytest.fixture(scope="module")
def shared(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with served_copy(webdata, tmp_path_factory.mktemp("splits")) as application:
        yield application


@pytest.fixture(scope="module")
def analyst(shared: FastAPI) -> TestClient:
    return sign_in(shared, "analyst1")


@pytest.fixture(scope="module")
def drill_downs(shared: FastAPI) -> list[dict[str, str]]:
    """No filter, then an area, its district and a unit in it: the unit that works in the most
    districts (where a unit's force-wide figure would be wrong), in its first district."""
    store = shared.state.vcop.store
    unit = store.scalar(
        "SELECT unit FROM crimes WHERE unit IS NOT NULL GROUP BY unit "
        "ORDER BY count(DISTINCT district) DESC, unit LIMIT 1"
    )
    area, district = store.query(
        "SELECT area, district FROM crimes WHERE unit = ? AND area IS NOT NULL "
        "AND district IS NOT NULL ORDER BY area, district LIMIT 1",
        [unit],
    ).rows[0]
    return [
        {},
        {"area": area},
        {"area": area, "district": district},
        {"area": area, "district": district, "unit": unit},
    ]


def totals(rows: list[dict[str, object]], grouped: bool) -> Totals:
    """Numerator and denominator per right or obligation (one total for a single measure)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        head = str(r["group"]).split("/")[0] if grouped else ""
        num, den = r["numerator"], r["denominator"]
        assert isinstance(num, int) and isinstance(den, int), r
        out[head][0] += num
        out[head][1] += den
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_the_measures_are_the_pages(analyst: TestClient) -> None:
    html = analyst.get("/compliance").text
    for measure in MEASURES:
        assert f'<option value="{measure}"' in html, measure


@pytest.mark.parametrize("measure", MEASURES)
def test_every_split_adds_up_to_the_filtered_total(
    analyst: TestClient, drill_downs: list[dict[str, str]], measure: str
) -> None:
    catalogue = load_catalogue()
    metric = catalogue.metric(MEASURE_METRICS.get(measure, measure))
    grouped = bool(metric.grouping)
    checked = 0
    for filters in drill_downs:
        base = {"measure": measure, **filters}
        body = analyst.get("/compliance.json?" + urlencode(base)).json()
        assert body["meta"]["parents"] == filters
        total = totals(body["tables"]["compliance"]["rows"], grouped)
        for split in (*LEVELS, *SPLITS):
            response = analyst.get("/compliance.json?" + urlencode({**base, "by": split}))
            assert response.status_code == 200, response.text[:300]
            tables = response.json()["tables"]
            if split not in metric.breakdowns:
                assert not tables, (measure, split)  # the page says the catalogue has no such split
                continue
            rows = tables["compliance"]["rows"]
            assert totals(rows, grouped) == total, (measure, filters, split)
            if split in filters and rows:
                assert {str(r["group"]).split("/")[-1] for r in rows} == {filters[split]}
            checked += bool(rows)
    assert checked >= 4, "the test data should give most measures figures to split"
