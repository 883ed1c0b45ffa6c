"""What a partner sees is the release of the latest month end, and nothing else: every page and
twin shows the release's figures, a figure it hides is [c] in every place it appears and carries
no count, the XmR series are the release's, and a split or filter it does not publish is refused.

The release is built once per session (the ``published`` fixture; the dashboard keeps it for the
process, so the apps here serve that very release)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import THRESHOLD
from tests.web.helpers import served_copy, sign_in
from tests.webdata import AS_OF, WebData, copy_of
from vcop.metrics.engine import MetricsError
from vcop.metrics.release import PERIODS, SUPPRESSED, Release, suppressed_note
from vcop.metrics.series import Series
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import load_catalogue
from vcop.web import create_app
from vcop.web.routes.compliance import LEVELS, SPLITS
from vcop.web.routes.figures import PUBLIC_COLUMNS

CATALOGUE = load_catalogue()
#: The measures /compliance offers, and the metric behind each.
MEASURES = {
    "right": "compliance_by_right",
    "obligation": "compliance_by_obligation",
    **{
        m.id: m.id
        for m in CATALOGUE.metrics
        if m.family == "victims_code" and not m.grouping and m.kind == "proportion"
    },
}
FAMILY_PAGES = ["/", "/satisfaction", "/response-times", "/outcomes"]
#: What a figure says of its own window: none of it may be shown for a hidden one (its earlier
#: windows are figures of their own, shown when the release shows them).
COUNTS = (
    "numerator", "denominator", "value", "ci_low", "ci_high", "change", "p_value",
    "significant_change", "year_ago_change", "year_ago_p_value", "spc_variation",
    "spc_assurance", "provisional_share",
)  # fmt: skip


@pytest.fixture(scope="module")
def shared(
    webdata: WebData, published: Release, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("partner")
    with served_copy(webdata, folder, suppression_threshold=THRESHOLD) as application:
        yield application


@pytest.fixture(scope="module")
def partner(shared: FastAPI) -> TestClient:
    return sign_in(shared, "partner1")


@pytest.fixture(scope="module")
def analyst(shared: FastAPI) -> TestClient:
    return sign_in(shared, "analyst1")


def get_json(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.text[:300])
    body: dict[str, Any] = response.json()
    return body


def json_of(v: MetricValue) -> dict[str, Any]:
    """A value's public columns as a twin writes them (JSON: dates as text)."""
    return {c.key: _plain(v.record().get(c.key)) for c in PUBLIC_COLUMNS}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def assert_shows(row: dict[str, Any], v: MetricValue) -> None:
    """A twin's row is the release's value: every public column, and [c] for a hidden one."""
    want = json_of(v)
    assert {c.key: row.get(c.key) for c in PUBLIC_COLUMNS} == want, (v.metric_id, v.group)
    if v.suppressed:
        assert row["suppressed"] is True
        assert all(row.get(k) is None for k in COUNTS), row
        assert row["value_text"] == row["n"] == row["interval"] == SUPPRESSED
    elif (
        v.previous is not None
        and v.previous.estimate.numerator is v.previous.estimate.denominator is None
    ):
        assert row["change_text"] == f"Previous period {SUPPRESSED}"  # hidden in the release


def rows_with_mark(html: str) -> int:
    """How many table rows of a page show a hidden figure: [c] for its value, n and interval
    (a figure shown beside a hidden earlier one has [c] in its change only)."""
    cell = re.compile(r">\s*" + re.escape(SUPPRESSED) + r"\s*</(td|span)>")
    return sum(len(cell.findall(tr)) >= 3 for tr in re.findall(r"<tr.*?</tr>", html, flags=re.S))


# -- every figure is the release's --------------------------------------------------------------


def test_the_release_is_of_the_latest_month_end_and_hides_some_figures(
    published: Release,
) -> None:
    assert published.as_of == AS_OF and published.threshold == THRESHOLD
    assert published.splits == ("area",)
    assert 0 < published.primary <= published.hidden


@pytest.mark.parametrize("period", PERIODS)
def test_every_headline_figure_is_the_releases(
    partner: TestClient, published: Release, period: str
) -> None:
    wanted = {v.metric_id: v for v in published.values(period) if not v.breakdown}
    seen: set[str] = set()
    hidden = 0
    for path in FAMILY_PAGES:
        twin = "/index" if path == "/" else path
        body = get_json(partner, f"{twin}.json?period={period}")
        assert body["meta"]["as_of"] == published.as_of.isoformat()
        assert body["meta"]["definitions_hash"] == published.definitions_hash
        assert suppressed_note(THRESHOLD) in body["notes"]
        for name, table in body["tables"].items():
            assert not name.startswith("harm"), "harm is not in a release"
            for row in table["rows"]:
                assert_shows(row, wanted[row["metric_id"]])
                seen.add(row["metric_id"])
                hidden += row["suppressed"] and path == "/"  # the overview has them all
        html = partner.get(f"{path}?period={period}").text
        assert rows_with_mark(html) == sum(
            wanted[r["metric_id"]].suppressed for t in body["tables"].values() for r in t["rows"]
        )
    assert seen == set(wanted)
    assert hidden == sum(v.suppressed for v in wanted.values())


@pytest.mark.parametrize("measure", ["right", "obligation", "victim_updates_on_time"])
@pytest.mark.parametrize("by", [None, "area"])
def test_compliance_hides_the_releases_cells(
    partner: TestClient, published: Release, measure: str, by: str | None
) -> None:
    """By right, by obligation and one measure, force-wide and by area, in every period: the page,
    its JSON twin and its CSV twin show the release's figures and hide the same cells."""
    metric_id = MEASURES[measure]
    for period in PERIODS:
        query = urlencode({"measure": measure, "period": period, **({"by": by} if by else {})})
        body = get_json(partner, f"/compliance.json?{query}")
        rows = body["tables"]["compliance"]["rows"]
        wanted = {v.group_name: v for v in published.values(period, by, [metric_id])}
        assert {r["group"] for r in rows} == set(wanted)
        for row in rows:
            assert_shows(row, wanted[row["group"]])
        text = partner.get(f"/compliance.csv?{query}").text
        for line in csv.DictReader(io.StringIO(text)):
            v = wanted[line["group"]]
            assert line["suppressed"] == str(v.suppressed)
            assert line["numerator"] == ("" if v.suppressed else str(v.current.numerator))
        html = partner.get(f"/compliance?{query}").text
        table = html.split('data-table="compliance"')[1].split("</table>")[0]
        assert rows_with_mark(table) == sum(v.suppressed for v in wanted.values())


def test_a_right_hidden_in_one_place_is_hidden_in_every_place(
    partner: TestClient, published: Release
) -> None:
    """A right's June figure the release hides is [c] on the compliance page by right, on the
    page of that one right, and in the June row of its XmR chart (the same count)."""
    values = published.values("month", None, ["compliance_by_right"])
    hidden = [v for v in values if v.suppressed]
    assert hidden, "the test data should hide a right's month"
    for v in hidden:
        (row,) = [
            r
            for r in get_json(partner, f"/compliance.json?period=month&group={v.group[0]}")[
                "tables"
            ]["compliance"]["rows"]
        ]
        assert row["suppressed"] is True and row["value"] is None
        months = get_json(partner, f"/metrics/compliance_by_right.json?group={v.group[0]}")
        (june,) = [r for r in months["tables"]["months"]["rows"] if r["month"] == "2025-06-01"]
        assert june["suppressed"] is True and june["value_text"] == SUPPRESSED
        assert published.series["compliance_by_right"][v.group].points[-1].suppressed


def test_one_area_is_its_group_of_the_area_split(partner: TestClient, published: Release) -> None:
    body = get_json(partner, "/compliance.json?area=North")
    rows = body["tables"]["compliance"]["rows"]
    wanted = {
        v.group_name: v
        for v in published.values("rolling_12m", "area", ["compliance_by_right"])
        if v.group[-1] == "North"
    }
    assert rows and {r["group"] for r in rows} == set(wanted)
    for row in rows:
        assert_shows(row, wanted[row["group"]])
    assert "trend" not in body["tables"], "a release publishes no monthly series of a place"


def test_a_partner_is_offered_no_split_or_drill_below_area(partner: TestClient) -> None:
    body = get_json(partner, "/compliance.json?by=area")
    assert all(r["drill"] is None for r in body["tables"]["compliance"]["rows"])
    html = partner.get("/compliance?by=area").text
    assert 'value="district"' not in html and 'value="crime_type"' not in html
    assert 'value="area"' in html
    assert "/metrics/compliance_by_right?" not in html  # no XmR chart of one area
    whole = partner.get("/compliance").text
    assert "/metrics/compliance_by_right?group=" in whole  # the force-wide ones are published


# -- the XmR series are the release's -----------------------------------------------------------


def months_of(series: Series) -> list[dict[str, Any]]:
    return [
        {
            "month": p.month.isoformat(),
            "suppressed": p.suppressed,
            "value": None if p.suppressed else p.value,
            "numerator": SUPPRESSED if p.suppressed else p.numerator,
            "denominator": SUPPRESSED if p.suppressed else p.denominator,
        }
        for p in series.points
    ]


def test_every_xmr_series_is_the_releases(partner: TestClient, published: Release) -> None:
    with_gaps = 0
    for metric_id, by_group in published.series.items():
        for group, series in by_group.items():
            query = "?" + urlencode({"group": "/".join(group)}) if group else ""
            body = get_json(partner, f"/metrics/{metric_id}.json{query}")
            rows = body["tables"]["months"]["rows"]
            keys = ("month", "suppressed", "value", "numerator", "denominator")
            assert [{k: r[k] for k in keys} for r in rows] == months_of(series), metric_id
            for r in rows:
                if r["suppressed"]:
                    assert r["value_text"] == SUPPRESSED and r["point_type"] is None
                    assert r["mean"] is None and r["limits_text"] is None
            if series.reading is None:
                assert body["meta"]["variation"] is None and body["meta"]["upl"] is None
                assert all(r["point_type"] is None and r["upl"] is None for r in rows)
            else:
                assert body["meta"]["variation"] == series.reading.variation
            if any(p.suppressed for p in series.points):
                with_gaps += 1
                assert any("no process limits and no signal" in n for n in body["notes"])
    assert with_gaps, "the test data should have a series with hidden months"


def test_hidden_months_are_marked_on_the_page_and_left_out_of_the_charts(
    partner: TestClient, published: Release
) -> None:
    metric_id, group = next(
        (m, g)
        for m, by_group in published.series.items()
        for g, s in by_group.items()
        if g and 0 < sum(p.suppressed for p in s.points) < len(s.points) - 1
    )
    series = published.series[metric_id][group]
    html = partner.get(f"/metrics/{metric_id}?" + urlencode({"group": "/".join(group)})).text
    table = html.split('data-table="months"')[1].split("</table>")[0]
    assert rows_with_mark(table) == sum(p.suppressed for p in series.points)
    drawn = re.search(r'id="chart-months">(.*?)</script>', html, flags=re.S)
    assert drawn is not None and "NaN" not in drawn.group(1)
    # the overview's sparklines and the compliance trend leave hidden months out too
    overview = partner.get("/").text
    assert "NaN" not in overview
    trend = get_json(partner, "/compliance.json")["tables"].get("trend")
    if trend is not None:
        cells = [v for r in trend["rows"] for k, v in r.items() if k.startswith("Right")]
        assert all(c is None or c == SUPPRESSED or isinstance(c, float) for c in cells)


# -- nothing hidden is in any twin --------------------------------------------------------------


def hidden_cells(release: Release) -> set[tuple[str, str, str, str]]:
    """(metric, period, breakdown, group) of every figure the release hides."""
    return {
        (v.metric_id, v.period, v.breakdown_name, v.group_name)
        for values in release.tables.values()
        for v in values
        if v.suppressed
    }


def partner_twins(published: Release) -> list[str]:
    urls = [f"{'/index' if p == '/' else p}.json?period={q}" for p in FAMILY_PAGES for q in PERIODS]
    for measure in MEASURES:
        for period in PERIODS:
            for by in (None, "area"):
                query = {"measure": measure, "period": period, **({"by": by} if by else {})}
                urls.append(f"/compliance.json?{urlencode(query)}")
            urls.append(f"/compliance.json?{urlencode({'measure': measure, 'period': period})}"
                        "&area=South")  # fmt: skip
    for metric_id, by_group in published.series.items():
        for group in by_group:
            urls.append(
                f"/metrics/{metric_id}.json"
                + ("?" + urlencode({"group": "/".join(group)}) if group else "")
            )
    return urls


def test_no_twin_carries_a_count_the_release_hides(partner: TestClient, published: Release) -> None:
    hidden = hidden_cells(published)
    shown: dict[tuple[str, str, str, str], MetricValue] = {
        (v.metric_id, v.period, v.breakdown_name, v.group_name): v
        for values in published.tables.values()
        for v in values
    }
    rows_seen = 0
    for url in partner_twins(published):
        body = get_json(partner, url)
        for table in body["tables"].values():
            for row in table["rows"]:
                rows_seen += 1
                if "metric_id" not in row:  # a trend or an XmR chart's months
                    if row.get("suppressed"):
                        assert row["value"] is None and row.get("numerator") in (None, SUPPRESSED)
                    continue
                key = (row["metric_id"], row["period"], row["breakdown"], row["group"])
                assert key in shown, f"{url}: {key} is not in the release"
                assert (key in hidden) is row["suppressed"], (url, key)
                if row["suppressed"]:
                    assert all(row.get(k) is None for k in COUNTS), (url, row)
                # an earlier window the release hides carries nothing either
                v = shown[key]
                for name, comparison in (("previous", v.previous), ("year_ago", v.year_ago)):
                    if comparison is not None and comparison.estimate.value is None:
                        assert row.get(f"{name}_value") is None
                        assert row.get(f"{name}_denominator") is None
    assert rows_seen > 500


# -- what a release does not publish is refused -------------------------------------------------

REFUSED = [
    *(f"/compliance?by={b}" for b in (*LEVELS[1:], *SPLITS)),
    "/compliance?by=area&area=North",
    "/compliance?area=North&district=Marshwick",
    "/compliance?measure=victim_updates_on_time&by=officer",
    "/metrics/compliance_by_right?group=6&area=North",
    "/metrics/victim_updates_on_time?area=North",
]


@pytest.mark.parametrize("url", REFUSED)
def test_what_a_release_does_not_publish_is_refused(
    partner: TestClient, analyst: TestClient, url: str
) -> None:
    path, _, query = url.partition("?")
    for fmt in ("", ".json", ".csv"):
        response = partner.get(f"{path}{fmt}?{query}")
        assert response.status_code == 403, (fmt, url)
        assert "not published to partners" in response.text
    assert analyst.get(url).status_code == 200


# -- a ledger that is not as of a month end -----------------------------------------------------


def reevaluated(webdata: WebData, folder: Path, as_of: date) -> WebData:
    """A copy of the web data whose stored ledger is as of ``as_of``."""
    import warnings

    from vcop.rules.ledger import evaluate
    from vcop.store import connect

    data = copy_of(webdata, folder)
    con = connect(data.db)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        evaluate(con, as_of)
    con.close()
    return data


def test_mid_month_partners_see_the_last_month_end_with_a_ledger_evaluated_in_memory(
    webdata: WebData, published: Release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored ledger is as of 15 June: partners see the release of 31 May, made from a
    ledger evaluated as of 31 May beside the file (the stored ledger is left as it was)."""
    import vcop.web.partner

    data = reevaluated(webdata, tmp_path, date(2025, 6, 15))
    ledgers: list[object] = []

    def build(backend: Any, as_of: date, **kwargs: Any) -> Release:
        # the real build takes a minute: check what it is given, and give back a release
        ledgers.append(backend.raw_sql("SELECT max(as_of) FROM entitlements").fetchall()[0][0])
        assert kwargs["threshold"] == THRESHOLD
        return Release(as_of, kwargs["threshold"], dict(published.tables), {}, [], "hash")

    monkeypatch.setattr(vcop.web.partner, "build", build)
    application = create_app(data.db, suppression_threshold=THRESHOLD)
    try:
        partner = sign_in(application, "partner1")
        body = get_json(partner, "/index.json")
        assert ledgers == [date(2025, 5, 31)]
        assert body["meta"]["as_of"] == "2025-05-31"
        assert any(
            "Figures for partners are as of the last month end, 31 May 2025" in n
            for n in body["notes"]
        )
        assert "as of the last month end" in partner.get("/compliance").text
        # everyone else sees the stored ledger's figures, and it is still as of 15 June
        analyst = sign_in(application, "analyst1")
        assert get_json(analyst, "/index.json")["meta"]["as_of"] == "2025-06-15"
        store = application.state.vcop.store
        assert store.scalar("SELECT max(as_of) FROM entitlements") == date(2025, 6, 15)
        assert store.scalar(
            "SELECT count(*) FROM duckdb_databases() WHERE database_name LIKE 'vcop_release%'"
        ) == 0  # fmt: skip
        assert partner.get("/").status_code == 200  # kept: not built again
        assert len(ledgers) == 1
    finally:
        application.state.vcop.close()


def test_no_release_means_a_note_and_no_figures(
    data: WebData, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vcop.web.partner

    def build(backend: Any, as_of: date, **kwargs: Any) -> Release:
        raise MetricsError("the catalogue cannot be computed")

    monkeypatch.setattr(vcop.web.partner, "build", build)
    application = create_app(data.db, suppression_threshold=7)  # a release of its own
    try:
        partner = sign_in(application, "partner1")
        for url in ("/index.json", "/compliance.json", "/metrics/compliance_by_right.json"):
            body = get_json(partner, url)
            assert not any(t["rows"] for t in body["tables"].values()), url
            assert any(
                "No figures are shown: no release of 30 June 2025" in n for n in body["notes"]
            )
    finally:
        application.state.vcop.close()
