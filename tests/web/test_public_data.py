"""Issue 16, item 6: a database holding only published data (a data.police.uk import: crimes,
outcomes and anti-social behaviour, no victims) gets a dashboard of what those data support,
says once and plainly that victim-level pages need a force extract, and reads month-stamped
data as covering the whole of each month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.web.helpers import Clock, sign_in
from tests.webdata import PASSWORD
from vcop.cli import app as cli
from vcop.ingest.police_uk import import_police_uk
from vcop.store import connect
from vcop.store.coverage import NEEDS_FORCE_EXTRACT, latest_data_day, month_stamped
from vcop.store.ops import open_ops
from vcop.web import create_app
from vcop.web.auth import Role, add_user

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

STREET = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
)
OUTCOMES = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Outcome type\n"
)
#: (month, crimes of each type, anti-social behaviour incidents)
MONTHS = [("2024-10", {"Burglary": 3, "Shoplifting": 2}, 2),
          ("2024-11", {"Burglary": 1, "Shoplifting": 4}, 1),
          ("2024-12", {"Burglary": 5, "Vehicle crime": 2}, 3)]  # fmt: skip
PLACES = [("E01000001", "Northtown 001A"), ("E01000002", "Southvale 002B")]


def write_files(folder: Path) -> int:
    """Three months of one force's street and outcomes files; the number of crimes."""
    n = 0
    for month, crimes, asb in MONTHS:
        street, outcomes = [STREET], [OUTCOMES]
        for crime_type, count in crimes.items():
            for _ in range(count):
                n += 1
                code, name = PLACES[n % 2]
                crime_id = f"{n:064x}"
                street.append(
                    f"{crime_id},{month},Demo Police,Demo Police,-0.1,52.2,On or near Park,"
                    f"{code},{name},{crime_type},Under investigation,\n"
                )
                if n % 3 == 0:
                    outcomes.append(
                        f"{crime_id},{month},Demo Police,Demo Police,-0.1,52.2,On or near Park,"
                        f"{code},{name},Suspect charged\n"
                    )
        for i in range(asb):
            code, name = PLACES[i % 2]
            street.append(
                f",{month},Demo Police,Demo Police,-0.1,52.{i},On or near Street {i},{code},"
                f"{name},Anti-social behaviour,,\n"
            )
        (folder / f"{month}-demo-street.csv").write_text("".join(street))
        (folder / f"{month}-demo-outcomes.csv").write_text("".join(outcomes))
    return n


@pytest.fixture(scope="module")
def public_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("public")
    folder = root / "files"
    folder.mkdir()
    crimes = write_files(folder)
    db = root / "vcop.duckdb"
    con = connect(db)
    import_police_uk(con, [folder])
    con.close()
    ops = open_ops(db)
    add_user(ops, "analyst1", Role.analyst, PASSWORD, now=datetime(2025, 1, 1))
    add_user(ops, "super1", Role.supervisor, PASSWORD, now=datetime(2025, 1, 1), unit="U1")
    ops.close()
    return db, crimes


@pytest.fixture(scope="module")
def app(public_db: tuple[Path, int]) -> Iterator[FastAPI]:
    application = create_app(public_db[0], clock=Clock(datetime(2025, 7, 1, 9, 0)))
    yield application
    application.state.vcop.close()


def test_month_stamped_data_cover_their_whole_last_month(public_db: tuple[Path, int]) -> None:
    con = connect(public_db[0])
    try:
        assert month_stamped(con)
        assert latest_data_day(con) == date(2024, 12, 31)  # not the 1st
    finally:
        con.close()


def test_the_overview_shows_what_published_data_support(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    page = client.get("/")
    assert page.status_code == 200
    assert page.text.count("need a force") == 1
    assert "vcop evaluate" not in page.text and "has not been built" not in page.text
    body = client.get("/index.json").json()
    assert body["notes"].count(NEEDS_FORCE_EXTRACT) == 1
    assert body["meta"]["published_data_only"] is True
    assert body["meta"]["as_of"] == "2024-12-31" and body["meta"]["data_as_of"] == "2024-12-31"
    tables = body["tables"]
    for name in ("crime_outcomes", "recorded_crime_by_crime_type", "recorded_crime_by_district",
                 "outcomes_given", "harm_by_district", "anti_social_behaviour"):  # fmt: skip
        assert name in tables, name
    by_type = {r["group"]: r["value"] for r in tables["recorded_crime_by_crime_type"]["rows"]}
    assert by_type == {"Burglary": 9, "Shoplifting": 6, "Vehicle crime": 2}
    assert sum(r["incidents"] for r in tables["anti_social_behaviour"]["rows"]) == 6
    assert sum(r["crimes"] for r in tables["outcomes_given"]["rows"]) == 17 // 3  # every third


def test_the_last_month_counts_whole(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    rows = client.get("/index.json?period=month").json()["tables"]["crime_outcomes"]["rows"]
    recorded = next(r for r in rows if r["metric_id"] == "recorded_crime")
    assert recorded["period_start"] == "2024-12-01" and recorded["period_end"] == "2024-12-31"
    assert recorded["value"] == 7  # December's crimes, all dated the 1st


def test_victim_pages_say_once_that_they_need_a_force_extract(app: FastAPI) -> None:
    client = sign_in(app, "analyst1")
    for path in ("/compliance", "/satisfaction", "/response-times", "/services", "/worklist"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.text.count("need a force") == 1, path
        assert "vcop evaluate" not in page.text and "has not been built" not in page.text, path
    outcomes = client.get("/outcomes")
    assert "need a force" not in outcomes.text and "vcop evaluate" not in outcomes.text
    assert "Harm by district" in outcomes.text


def test_navigation_shows_only_what_the_data_support(app: FastAPI) -> None:
    page = sign_in(app, "analyst1").get("/")
    nav = page.text.split('id="navigation"', 1)[1].split("</ul>", 1)[0]
    assert 'href="/outcomes"' in nav and 'href="/"' in nav
    for path in ("/compliance", "/satisfaction", "/response-times", "/services", "/worklist"):
        assert f'href="{path}"' not in nav, path
    assert "published data only, covering to 31 Dec 2024" in page.text


@pytest.mark.filterwarnings(  # raised by a library the command imports, not by vcop
    "ignore:The 'future.infer_string' option is deprecated:pandas.errors.Pandas4Warning"
)
def test_vcop_metrics_says_what_it_cannot_give(public_db: tuple[Path, int]) -> None:
    result = CliRunner().invoke(
        cli, ["metrics", "--db", str(public_db[0]), "--as-of", "2024-12-31"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "vcop evaluate" not in text
    assert "published data only" in text
    assert "recorded_crime" in text


def test_the_public_overview_downloads_as_pdf(app: FastAPI) -> None:
    from tests.web.test_pdf_download import pdf_text

    response = sign_in(app, "analyst1").get("/index.pdf")
    assert response.status_code == 200 and response.content[:5] == b"%PDF-"
    text = " ".join(pdf_text(response.content).split())
    assert "Recorded crime and outcomes" in text and "Anti-social behaviour" in text
