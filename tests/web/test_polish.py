"""Issue 16, item 7 ("Polish"): codes in words, rights and obligations in the Code's order,
correct English, months as "Jul 2023", no interval on a count, the data's stamp on every page,
no literal backticks, no empty chart, CSV cells left alone unless they would be a formula, an
unknown unit refused, gzip for static files, and harm places ranked only when they are places.

The words are for the page only: the CSV and JSON twins keep the codes in ``group`` and the
other public columns."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.helpers import Clock, csrf_of, sign_in
from tests.webdata import PASSWORD, WebData, copy_of
from vcop.cli import app as cli
from vcop.spec.schema import load_schema
from vcop.web import create_app
from vcop.web.labels import kinds, label, months, order_key, with_article
from vcop.web.pages import Column, Table, table_csv
from vcop.web.routes.figures import show

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def shared(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    data = copy_of(webdata, tmp_path_factory.mktemp("polish"))
    application = create_app(data.db, clock=Clock(datetime(2025, 7, 1, 9, 0)))
    yield application
    application.state.vcop.close()


@pytest.fixture(scope="module")
def analyst(shared: FastAPI) -> TestClient:
    return sign_in(shared, "analyst1")


def text_of(html: str) -> str:
    """A page's visible text (scripts and tags left out)."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def cells(html: str, table: str) -> list[str]:
    """The text of every body cell of the page's table ``table``."""
    part = html.split(f'data-table="{table}"', 1)[1].split("</table>", 1)[0]
    return [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", part, flags=re.S)]


# -- labels --------------------------------------------------------------------------------------


def test_every_code_of_a_closed_list_has_words() -> None:
    """Each value the schema allows for sex, ethnicity, channel, service, consent, grade and survey
    is in the labels file, so none reaches a page as a bare code."""
    schema = load_schema()
    listed = kinds()
    for table, column, kind in [
        ("victims", "sex", "sex"), ("victims", "ethnicity", "ethnicity"),
        ("contacts", "channel", "channel"), ("care_contracts", "preferred_channel", "channel"),
        ("referrals", "service", "service"), ("referrals", "consent", "consent"),
        ("incidents", "grade", "grade"), ("survey_responses", "survey", "survey"),
    ]:  # fmt: skip
        allowed = schema.table(table).column(column).allowed
        assert isinstance(allowed, list | tuple), (table, column)
        assert set(allowed) <= set(listed[kind]), (table, column, set(allowed) - set(listed[kind]))


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("ethnicity", "asian", "Asian"),
        ("ethnicity", "not_stated", "Not stated"),
        ("sex", "not recorded", "Not recorded"),
        ("preferred_channel", "in_person", "In person"),
        ("service", "idva", "Independent domestic violence adviser (IDVA)"),
        ("agency", "cps", "Crown Prosecution Service"),
        ("owner", "wcu", "Witness Care Units"),
        ("delay_reason", "some_new_code", "Some new code"),
        ("area", "North", "North"),
        ("officer", "DS-O-0130", "DS-O-0130"),
        ("age_band", "under 18", "Under 18"),
        ("right", "local standard", "Local standards"),
        ("outcome_type", "17", "Prosecution prevented - time limit expired"),
        ("sex", None, "Not recorded"),
    ],
)
def test_a_code_in_words(kind: str, code: object, words: str) -> None:
    assert label(kind, code) == words


def test_the_labels_file_is_data_with_a_list_per_kind() -> None:
    from importlib import resources

    text = resources.files("vcop.definitions").joinpath("labels.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert set(data) == {"aliases", "labels"}
    assert all(isinstance(v, dict) for v in data["labels"].values())


def test_splits_show_words_and_the_twins_keep_the_codes(analyst: TestClient) -> None:
    page = analyst.get("/compliance?by=ethnicity")
    shown = cells(page.text, "compliance")
    assert "Asian" in shown and "Not stated" in shown
    assert not {"asian", "not_stated", "not recorded"} & set(shown)
    rows = analyst.get("/compliance.json?by=ethnicity").json()["tables"]["compliance"]["rows"]
    groups = {r["group"].split("/")[1] for r in rows}
    assert {"asian", "not_stated"} <= groups
    assert {r["split"] for r in rows} == groups  # the machine column keeps the code too
    assert "split_label" not in rows[0]
    head = next(csv.reader(io.StringIO(analyst.get("/compliance.csv?by=ethnicity").text)))
    assert "split_label" not in head and "group" in head


def test_services_journey_and_accounts_show_words(
    shared: FastAPI, analyst: TestClient, webdata: WebData
) -> None:
    services = analyst.get("/services")
    assert "Independent domestic violence adviser (IDVA)" in text_of(services.text)
    rows = analyst.get("/services.json").json()["tables"]["referral_outcome_share"]["rows"]
    assert any(r["group"].startswith("idva/") for r in rows)
    assert any(r["group_text"] == "Victim hub (PCC-commissioned support) — Engaged with the service"
               for r in rows)  # fmt: skip

    victim = webdata.in_unit_victim
    response = analyst.post(
        f"/victims/{victim}/reason",
        data={"reason": "investigation", "csrf_token": csrf_of(analyst)},
    )
    assert response.status_code == 303
    journey = analyst.get(f"/victims/{victim}")
    text = text_of(journey.text)
    assert re.search(r"Home Office outcome type \d+: [A-Z]", text), "an outcome in words"
    timeline = analyst.get(f"/victims/{victim}.json").json()["tables"]["timeline"]["rows"]
    contacts = [r for r in timeline if r["kind"] == "Contact"]
    assert contacts and all(r["what"][0].isupper() and "_" not in r["what"] for r in contacts)
    assert {r["detail"] for r in contacts if r["detail"]} <= set(kinds()["channel"].values())

    admin = sign_in(shared, "admin1")
    accounts = admin.get("/users")
    assert "Supervisor" in cells(accounts.text, "users")
    assert "`" not in text_of(accounts.text)
    assert '<code class="vcop-code">vcop users add</code>' in accounts.text
    assert "(Administrator)" in text_of(accounts.text)  # the header's role, in words
    assert {r["role"] for r in admin.get("/users.json").json()["tables"]["users"]["rows"]} >= {
        "supervisor"
    }


# -- order, English, numbers and months ----------------------------------------------------------


def test_rights_and_obligations_come_in_the_codes_order(analyst: TestClient) -> None:
    assert sorted(["11", "3", "local standard", "1"], key=order_key) == [
        "1", "3", "11", "local standard",
    ]  # fmt: skip
    body = analyst.get("/compliance.json?measure=obligation").json()
    ids = [r["group"] for r in body["tables"]["compliance"]["rows"]]
    rights = [order_key(i)[0] for i in ids]
    assert rights == sorted(rights) and ids.index("R3.information-pack") < ids.index(
        "R11.vcs-referral"
    )
    by_right = analyst.get("/compliance.json").json()["tables"]["compliance"]["rows"]
    numbers = [int(r["group"]) for r in by_right if r["group"].isdigit()]
    assert numbers == sorted(numbers)
    xmr = analyst.get("/metrics/compliance_by_right")
    options = re.findall(r'<option value="([^"]+)"', xmr.text)
    assert options == sorted(options, key=order_key) and options[:3] == ["1", "2", "3"]


def test_an_obligation_takes_an(analyst: TestClient) -> None:
    assert with_article("obligation") == "an obligation" and with_article("right") == "a right"
    text = text_of(analyst.get("/compliance?measure=obligation").text)
    assert "Select an obligation" in text and "Select a obligation" not in text
    assert "Select a right" in text_of(analyst.get("/compliance").text)


@pytest.mark.parametrize(
    ("value", "unit", "change", "shown"),
    [
        (-0.0004, "proportion", True, "0.0 pts"),
        (0.0004, "proportion", True, "0.0 pts"),
        (-0.0123, "proportion", True, "-1.2 pts"),
        (0.0123, "proportion", True, "+1.2 pts"),
        (-0.04, "minutes", True, "0.0 min"),
        (-0.3, "count", True, "0"),
        (-0.0, "proportion", False, "0.0%"),
        (1234.0, "count", False, "1,234"),
    ],
)
def test_a_change_that_rounds_to_zero_has_no_sign(
    value: float, unit: str, change: bool, shown: str
) -> None:
    assert show(value, unit, change=change) == shown


def test_no_page_shows_minus_zero(analyst: TestClient) -> None:
    for path in ("/", "/compliance", "/compliance?by=sex", "/services", "/outcomes"):
        assert not re.search(r"-0\.0(?!\d)", text_of(analyst.get(path).text)), path


def test_months_are_written_as_months(analyst: TestClient) -> None:
    assert months(datetime(2024, 7, 1).date(), datetime(2025, 6, 30).date()) == (
        "Jul 2024 to Jun 2025"
    )
    page = analyst.get("/compliance")
    trend = cells(page.text, "trend")
    assert "Jul 2024" in trend and not any(re.fullmatch(r"\d+ \w{3} \d{4}", c) for c in trend)
    assert "last 12 months (Jul 2024 to Jun 2025)" in text_of(page.text)
    # the chart's axis and tooltips say months too; the twins keep dates
    assert '"format":"%b %Y"' in page.text
    rows = analyst.get("/compliance.json").json()["tables"]["trend"]["rows"]
    assert rows[0]["month"] == "2024-07-01"
    xmr = cells(analyst.get("/metrics/support_referral_on_time").text, "months")
    assert "Jun 2025" in xmr


def test_a_count_has_no_interval(analyst: TestClient) -> None:
    rows = analyst.get("/outcomes.json").json()["tables"]["crime_outcomes"]["rows"]
    count = next(r for r in rows if r["metric_id"] == "recorded_crime")
    assert count["unit"] == "count" and count["interval"] is None
    assert count["ci_low"] is not None  # the engine's figures are unchanged in the twin
    proportions = [r for r in rows if r["unit"] == "proportion" and not r["suppressed"]]
    assert proportions and all(r["interval"] for r in proportions)


# -- on every page -------------------------------------------------------------------------------


def test_every_page_says_when_its_data_were_loaded(shared: FastAPI, analyst: TestClient) -> None:
    loaded = shared.state.vcop.store.scalar("SELECT max(loaded_at) FROM batches")
    stamp = f"Data loaded at {loaded:%-d %b %Y %H:%M}; ledger as of 30 Jun 2025."
    for path in ("/", "/compliance", "/satisfaction", "/worklist", "/victims", "/data-quality"):
        assert stamp in text_of(analyst.get(path).text), path
    assert stamp in text_of(sign_in(shared, "partner1").get("/").text)
    assert "Data loaded" not in TestClient(shared).get("/login").text  # not before signing in


def test_the_navigation_folds_behind_a_menu_button_with_govuk_frontends_script(
    analyst: TestClient,
) -> None:
    page = analyst.get("/")
    assert 'data-module="govuk-service-navigation"' in page.text
    assert re.search(
        r'<button type="button" class="govuk-service-navigation__toggle '
        r'govuk-js-service-navigation-toggle" aria-controls="navigation" hidden>Menu</button>',
        page.text,
    )
    assert '<script type="module" src="/static/govuk-init.js"></script>' in page.text
    init = analyst.get("/static/govuk-init.js")
    assert init.status_code == 200 and "initAll()" in init.text
    script = analyst.get("/static/vendor/govuk-frontend/govuk-frontend.min.js")
    assert script.status_code == 200 and "ServiceNavigation" in script.text
    assert "sourceMappingURL" not in script.text
    # still no inline script: the Content-Security-Policy allows only the site's own files
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\ssrc=)(?![^>]*application/json)[^>]*>", page.text)


def test_the_print_style_sheet_hides_navigation_and_forms(analyst: TestClient) -> None:
    css = analyst.get("/static/vcop.css").text
    printed = css.split("@media print", 1)[1]
    for hidden in (".govuk-service-navigation", ".vcop-filters", ".vcop-downloads", "form"):
        assert hidden in printed.split("display: none", 1)[0]
    assert "@page { size: A4" in css


# -- charts, CSV, static files -------------------------------------------------------------------


def test_no_chart_of_rejects_when_nothing_was_rejected(
    shared: FastAPI, analyst: TestClient
) -> None:
    assert shared.state.vcop.store.scalar("SELECT sum(rows_rejected) FROM batches") == 0
    page = analyst.get("/data-quality")
    assert 'id="chart-by_table"' not in page.text
    assert analyst.get("/data-quality.json").json()["tables"]["by_table"]["rows"]


def test_csv_prefixes_only_what_a_spreadsheet_would_run() -> None:
    rows = [
        {"a": "Ordinary text", "n": "-5"},
        {"a": "=HYPERLINK(1)", "n": -0.5},
        {"a": "+1+1", "n": "@SUM(1)"},
        {"a": "\tTAB", "n": "\rCR"},
        {"a": "Not recorded (50%)", "n": "1e3"},
    ]
    text = table_csv(Table("t", "t", [Column("a", "a"), Column("n", "n")], rows))
    read = list(csv.reader(io.StringIO(text)))[1:]
    assert read == [
        ["Ordinary text", "-5"],
        ["'=HYPERLINK(1)", "-0.5"],
        ["'+1+1", "'@SUM(1)"],
        ["'\tTAB", "'\rCR"],
        ["Not recorded (50%)", "1e3"],
    ]


def test_dashboard_csvs_leave_ordinary_text_alone(analyst: TestClient) -> None:
    for path in ("/index.csv", "/compliance.csv?by=ethnicity", "/services.csv", "/worklist.csv"):
        for row in csv.reader(io.StringIO(analyst.get(path).text)):
            for cell in row:
                if cell.startswith("'"):
                    assert cell[1:2] in ("=", "+", "-", "@", "\t", "\r"), (path, cell)


def test_static_files_are_gzipped_and_pages_are_not(analyst: TestClient) -> None:
    path = "/static/vendor/vega/vega.min.js"
    plain = analyst.get(path, headers={"accept-encoding": "identity"})
    packed = analyst.get(path, headers={"accept-encoding": "gzip"})
    assert plain.headers.get("content-encoding") is None
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.num_bytes_downloaded < plain.num_bytes_downloaded / 2
    assert packed.content == plain.content
    assert gzip.compress(plain.content)  # the same bytes, decompressed by the client
    # a page holds the CSRF token beside text from the request: never compressed (BREACH)
    page = analyst.get("/compliance?by=area", headers={"accept-encoding": "gzip"})
    assert page.headers.get("content-encoding") is None


# -- harm places -------------------------------------------------------------------------------


def test_harm_without_a_district_is_not_ranked_and_places_keep_their_precision(
    webdata: WebData, tmp_path: Path
) -> None:
    data = copy_of(webdata, tmp_path)
    con = duckdb.connect(str(data.db))
    con.execute(
        "UPDATE crimes SET district = NULL WHERE crime_id IN "
        "(SELECT crime_id FROM crimes ORDER BY crime_id LIMIT 300)"
    )
    # places on a grid about 1 km apart (a tenth of a degree would put them all in one)
    con.execute(
        "UPDATE crimes SET longitude = -1.3 + (s.i % 12) * 0.013, "
        "latitude = 52.5 + ((s.i // 12) % 12) * 0.011 "
        "FROM (SELECT crime_id, row_number() OVER (ORDER BY crime_id) AS i FROM crimes) s "
        "WHERE crimes.crime_id = s.crime_id"
    )
    con.close()
    application = create_app(data.db, clock=Clock(datetime(2025, 7, 1, 9, 0)))
    try:
        client = sign_in(application, "analyst1")
        tables = client.get("/outcomes.json").json()["tables"]
        rows = tables["harm_by_district"]["rows"]
        ranked = [r for r in rows if r["rank"] is not None]
        assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
        assert [r["cchi"] for r in ranked] == sorted((r["cchi"] for r in ranked), reverse=True)
        assert rows[-1]["rank"] is None and rows[-1]["district"] == "No district in the force area"
        page = client.get("/outcomes")
        chart = re.search(r'id="chart-harm_by_district">(.*?)</script>', page.text, flags=re.S)
        assert chart and "No district" not in chart.group(1)
        # the map's places are about 1 km apart: their table tells them apart (2 decimals)
        shown = cells(page.text, "harm_map")
        coordinates = [c for c in shown if re.fullmatch(r"-?\d+\.\d+", c)]
        assert coordinates and all(re.fullmatch(r"-?\d+\.\d\d", c) for c in coordinates)
        places = tables["harm_map"]["rows"]
        pairs = [(f"{r['longitude']:.2f}", f"{r['latitude']:.2f}") for r in places]
        assert len(set(pairs)) == len(pairs)
    finally:
        application.state.vcop.close()


# -- vcop users add --unit ---------------------------------------------------------------------


def test_users_add_refuses_a_unit_no_crime_names(webdata: WebData, tmp_path: Path) -> None:
    data = copy_of(webdata, tmp_path)
    runner = CliRunner()

    def add(name: str, *args: str) -> object:
        return runner.invoke(
            cli, ["users", "add", name, "--role", "supervisor", *args, "--db", str(data.db)],
            input=PASSWORD + "\n",
        )  # fmt: skip

    typo = data.unit[:-1]
    refused = add("s1", "--unit", typo)
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    output = refused.output  # type: ignore[attr-defined]
    assert f"named {typo!r}" in output and f"Did you mean {data.unit!r}" in output
    assert "--new-unit" in output
    assert add("s2", "--unit", data.unit).exit_code == 0  # type: ignore[attr-defined]
    assert add("s3", "--unit", "Future Unit", "--new-unit").exit_code == 0  # type: ignore[attr-defined]


def test_users_add_warns_when_there_are_no_crimes_to_check_against(tmp_path: Path) -> None:
    from vcop.store import connect

    db = tmp_path / "v.duckdb"
    connect(db).close()
    result = CliRunner().invoke(
        cli, ["users", "add", "sup", "--role", "supervisor", "--unit", "CID North", "--db", str(db)],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "could not be checked" in result.output
