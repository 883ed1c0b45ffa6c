"""Every CSV and XLSX vcop writes, fed hostile values: no cell comes out as a live formula.

Issue 17, item 3 ("a hostile-values test of every export"). One small synthetic force is loaded
through ``vcop refresh`` after its extract was rewritten so that place names, ids, free text, the
force's name and a rejected value look like spreadsheet formulas (``=HYPERLINK(...)``,
``@SUM(1+1)*cmd|...``, ``+1+1``, ``-2+3``, a leading tab). Then every export is written from it:
each command's CSV, each report's CSV and workbook, and the ``.csv`` twin of every dashboard page.
No cell that is not a number may begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return, and no workbook cell may be a formula. Each export must also carry one of the hostile
values (as text), else passing would prove nothing.

A second, smaller set (at the end) loads values with a carriage return *inside* them
(``Greyfield\r-CR+1 unit``): a CSV writer that leaves such a field unquoted starts a new row at the
CR, and the text after it becomes a cell of its own — a formula that :func:`vcop.export.safe_cell`
never saw at the start of a value.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.helpers import Clock, csrf_of, sign_in
from vcop.cli import app
from vcop.export import FORMULA_STARTS
from vcop.store.ops import open_ops, ops_path_for
from vcop.synth import generate
from vcop.web.auth import GRANTS, Permission, Role, add_user
from vcop.web.pages import REGISTRY, Format, twin_path
from vcop.web.routes import ROUTERS

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

AS_OF = "2025-06-30"
PASSWORD = "violet kettle orbit lantern"

# -- the hostile values, and where in the extract they go -----------------------------------------

AREA = '=HYPERLINK("http://x","y")'
DISTRICT = "@SUM(1+1)*cmd|' /C calc'!A0"
UNIT_PLUS, UNIT_MINUS, UNIT_TAB = "+1+1", "-2+3", "\tTAB unit"
FORCE = "-Demoshire Police"
OFFICER = "+DS-O-0027"
CRIME = "-DS-C-000002"  # every occurrence of the id, in every file
VICTIM = "@DS-V-000001"
REJECTED = "@SUM(1+1)*cmd"  # a crime's reported_at: not a date, so listed among the rejects
REASON = '=HYPERLINK("http://x","why")'  # a reason given for a record-level read (access log)

#: file -> column -> {synthetic value: hostile value}. (Values with a CR inside them are a set of
#: their own, at the end.)
REWRITE: dict[str, dict[str, dict[str, str]]] = {
    "crimes.csv": {
        "area": {"North": AREA},
        "district": {"Ashcaster": DISTRICT},
        "unit": {"Northbury Response": UNIT_PLUS, "Investigation Management Unit": UNIT_MINUS,
                 "Hollowfen Response": UNIT_TAB},
        "force": {"Demoshire Police": FORCE},
        "officer_id": {"DS-O-0027": OFFICER},
    },
    "incidents.csv": {
        "area": {"North": AREA},
        "district": {"Ashcaster": DISTRICT},
        "delay_reason": {"other": "-delay other"},
        "incident_type": {"Other": "=Other()"},
        "force": {"Demoshire Police": FORCE},
    },
    "survey_responses.csv": {
        "area": {"North": AREA},
        "district": {"Ashcaster": DISTRICT},
        "comment": {"Felt listened to.": "=1+1", "Kept informed throughout.": "@comment"},
    },
    "referrals.csv": {"outcome": {"no_contact": "=no_contact()"}},
    "contacts.csv": {"officer_id": {"DS-O-0027": OFFICER}},
}  # fmt: skip
IDS = {"DS-C-000002": CRIME, "DS-V-000001": VICTIM}

#: What must survive into the database: (table, column, value).
LOADED = [
    ("crimes", "area", AREA), ("crimes", "district", DISTRICT), ("crimes", "unit", UNIT_PLUS),
    ("crimes", "unit", UNIT_MINUS), ("crimes", "unit", UNIT_TAB), ("crimes", "force", FORCE),
    ("crimes", "officer_id", OFFICER), ("crimes", "crime_id", CRIME),
    ("victims", "victim_id", VICTIM), ("incidents", "area", AREA),
    ("incidents", "delay_reason", "-delay other"), ("incidents", "incident_type", "=Other()"),
    ("survey_responses", "district", DISTRICT), ("survey_responses", "comment", "=1+1"),
    ("referrals", "outcome", "=no_contact()"), ("rejects", "value", REJECTED),
]  # fmt: skip

#: Text in a cell that shows a hostile value came through (as text: after an apostrophe).
MARKERS = ("HYPERLINK", "SUM(1+1)", "+1+1", "-2+3", "TAB unit", "-Demoshire", "+DS-O-0027",
           "-DS-C-000002", "@DS-V-000001", "=Other()", "-delay other", "=no_contact()",
           "=1+1", "@comment", "-mallory")  # fmt: skip

# -- accounts --------------------------------------------------------------------------------------

ANALYST, ADMIN, PARTNER = "hx-analyst", "hx-admin", "hx-partner"
SUPERVISOR, OFFICER_USER = "hx-super", "hx-officer"  # of the hostile unit, with the hostile id
MALLORY = "-mallory"  # a user name may begin with '-': it reaches the access log and users list
READ = ["--user", ANALYST, "--reason", "hostile export test"]


@dataclass(frozen=True)
class Hostile:
    db: Path
    root: Path


def _rewrite(
    path: Path,
    change: dict[str, dict[str, str]],
    ids: dict[str, str] | None = None,
    rejected: dict[str, str] | None = None,
) -> None:
    """Replace values of ``path`` (by column, and ``ids`` in every column); append a copy of its
    first row changed by ``rejected``. Written with CRLF line ends, so that a field holding a CR
    is quoted and loads whole."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    for row in rows[1:]:
        for column, values in change.items():
            i = head.index(column)
            row[i] = values.get(row[i], row[i])
        row[:] = [(ids or {}).get(v, v) for v in row]
    if rejected:
        bad = list(rows[1])
        for column, value in rejected.items():
            bad[head.index(column)] = value
        rows.append(bad)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _refresh(extract: Path, db: Path, loaded: list[tuple[str, str, str]]) -> None:
    """Load ``extract`` with ``vcop refresh``, and check each (table, column, value) got in."""
    result = CliRunner().invoke(
        app, ["refresh", "--from", str(extract), "--db", str(db), "--as-of", AS_OF]
    )
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, column, value in loaded:
            n = con.execute(f'SELECT count(*) FROM {table} WHERE "{column}" = ?', [value])
            assert n.fetchone()[0] > 0, f"{table}.{column} {value!r} did not load"  # type: ignore[index]
    finally:
        con.close()


def _web_copy(db: Path, folder: Path) -> Path:
    """A copy of the build and its operational store, for a dashboard of its own."""
    folder.mkdir()
    copy = folder / "vcop.duckdb"
    shutil.copyfile(db, copy)
    ops = open_ops(db)
    ops.backup_to(ops_path_for(copy))
    ops.close()
    return copy


def vcop(db: Path, *args: str) -> str:
    """Run ``vcop ARGS --db DB`` (passwords from VCOP_PASSWORD); its standard output."""
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD, "COLUMNS": "200"})
    result = runner.invoke(app, [*args, "--db", str(db)])
    assert result.exit_code == 0, f"vcop {' '.join(args)}: {result.output}"
    return result.stdout


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    root = tmp_path_factory.mktemp("hostile-exports")
    extract = root / "extract"
    generate(extract, seed=1, years=1, scale=0.02, end=date(2025, 6, 30))
    for path in sorted(extract.glob("*.csv")):
        rejected = {"crime_id": "DS-C-HOSTILE", "reported_at": REJECTED}
        _rewrite(path, REWRITE.get(path.name, {}), IDS,
                 rejected if path.name == "crimes.csv" else None)  # fmt: skip
    db = root / "vcop.duckdb"
    _refresh(extract, db, LOADED)
    ops = open_ops(db)
    now = datetime(2025, 6, 30, 9, 0)
    add_user(ops, ANALYST, Role.analyst, PASSWORD, now=now)
    add_user(ops, ADMIN, Role.admin, PASSWORD, now=now)
    add_user(ops, PARTNER, Role.partner, PASSWORD, now=now)
    add_user(ops, SUPERVISOR, Role.supervisor, PASSWORD, now=now, area=AREA, unit=UNIT_PLUS)
    add_user(ops, OFFICER_USER, Role.officer, PASSWORD, now=now, officer_id=OFFICER)
    add_user(ops, MALLORY, Role.analyst, PASSWORD, now=now)
    ops.close()
    # record-level reads with a hostile reason, by a hostile user name, of a hostile victim and
    # crime: the access log now holds them all
    vcop(db, "explain", "--victim", VICTIM, "--crime", CRIME, "--as-of", AS_OF,
         f"--user={MALLORY}", "--reason", REASON)  # fmt: skip
    vcop(db, "entitlements", "--as-of", AS_OF, "--victim", VICTIM, "--format", "csv",
         "--user", ANALYST, "--reason", REASON)  # fmt: skip
    # the inspection tracker, with hostile text wherever a person types it
    vcop(db, "tracker", "add-report", "--id", "hostile-2025", "--title", AREA,
         "--inspectorate", DISTRICT, "--published", "2025-01-06")  # fmt: skip
    vcop(db, "tracker", "add", "hostile-2025", "R1", "--text", "=1+1", "--owner", UNIT_MINUS,
         "--due-by", "2025-03-31", "--note", "@comment", "--evidence", UNIT_PLUS,
         "--on", "2025-01-06", f"--user={MALLORY}")  # fmt: skip
    return Hostile(db, root)


# -- the check -------------------------------------------------------------------------------------


def _numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _live(value: object) -> bool:
    """Would a spreadsheet read this cell as a formula?"""
    return isinstance(value, str) and value[:1] in FORMULA_STARTS and not _numeric(value)


class LiveFormula(AssertionError):
    """An export wrote a cell a spreadsheet would run."""


def check_rows(
    rows: list[list[str]],
    where: str,
    *,
    carries: bool = True,
    markers: tuple[str, ...] = MARKERS,
) -> list[list[str]]:
    """No live formula among ``rows``; and (``carries``) at least one hostile value, as text."""
    assert rows, f"{where}: nothing written, not even a header"
    live = [
        f"row {i + 1} column {rows[0][j] if j < len(rows[0]) else j + 1}: {cell!r}"
        for i, row in enumerate(rows)
        for j, cell in enumerate(row)
        if _live(cell)
    ]
    if live:
        raise LiveFormula(f"{where} writes {len(live)} live formula cell(s): {live[:10]}")
    if carries:
        assert any(m in cell for row in rows for cell in row for m in markers), (
            f"{where}: no hostile value came through, so the check proves nothing"
        )
    return rows


def check_csv(
    text: str, where: str, *, carries: bool = True, markers: tuple[str, ...] = MARKERS
) -> list[list[str]]:
    """``text`` read as a spreadsheet reads a CSV: a bare CR or LF outside quotes ends a row."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return check_rows(rows, where, carries=carries, markers=markers)


def check_file(path: Path, *, carries: bool = True, markers: tuple[str, ...] = MARKERS) -> None:
    with path.open(newline="", encoding="utf-8") as f:  # no newline translation
        text = f.read()
    check_csv(text, path.name, carries=carries, markers=markers)


def check_workbook(path: Path) -> None:
    """No formula cell and no text cell a spreadsheet would read as one; a hostile value there."""
    from openpyxl import load_workbook

    book = load_workbook(path)  # formulas stay formulas (data_type 'f')
    live, carried = [], False
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or _live(cell.value):
                    live.append(f"{sheet.title}!{cell.coordinate}: {cell.value!r}")
                if isinstance(cell.value, str) and any(m in cell.value for m in MARKERS):
                    carried = True
    if live:
        raise LiveFormula(f"{path.name} has {len(live)} formula cell(s): {live[:10]}")
    assert carried, f"{path.name}: no hostile value came through"


# -- the commands that print CSV -------------------------------------------------------------------

HARM_YEAR = ["--start", "2024-07-01", "--end", AS_OF]

#: (id, arguments, whether a hostile value must come through)
COMMANDS: list[tuple[str, list[str], bool]] = [
    *(
        (f"metrics-by-{by}", ["metrics", "--as-of", AS_OF, "--by", by, "--format", "csv"], True)
        for by in ("area", "district", "unit", "officer", "incident_type")
    ),
    # force-wide: delay_reason_share is grouped by the (free-text) delay reason
    ("metrics", ["metrics", "--as-of", AS_OF, "--format", "csv"], True),
    ("metrics-suppressed-by-area",
     ["metrics", "--as-of", AS_OF, "--by", "area", "--suppress", "--format", "csv"], True),
    ("entitlements", ["entitlements", "--as-of", AS_OF, "--format", "csv", *READ], True),
    *(
        (f"entitlements-by-{by}", ["entitlements", "--as-of", AS_OF, "--by", by, "--format", "csv"], True)
        for by in ("area", "unit")
    ),
    ("rejects", ["rejects", "--format", "csv", *READ], True),
    # file names, hashes and counts only: nothing hostile can reach it
    ("batches", ["batches", "--format", "csv"], False),
    ("users-list", ["users", "list", "--format", "csv"], True),
    *(
        (f"harm-areas-by-{level}", ["harm", "areas", *HARM_YEAR, "--level", level, "--format", "csv"], True)
        for level in ("area", "district")
    ),
    ("harm-victims",
     ["harm", "victims", "--as-of", AS_OF, "--top", "10000", "--format", "csv", *READ], True),
    ("access-log-export",
     ["access-log", "export", "--user", ADMIN, "--reason", "DPO audit", "--format", "csv"], True),
    ("tracker-list", ["tracker", "list", "--as-of", AS_OF, "--format", "csv", *READ], True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "carries"), [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS]
)
def test_command_csv_has_no_formula(hostile: Hostile, args: list[str], carries: bool) -> None:
    rows = check_csv(vcop(hostile.db, *args), "vcop " + " ".join(args), carries=carries)
    assert len(rows) > 1, f"vcop {' '.join(args)}: no rows"


# -- the reports -----------------------------------------------------------------------------------


def test_dip_sample_has_no_formula(hostile: Hostile) -> None:
    out = hostile.root / "sample"
    # every case finalised in the quarter (fewer than 1,000), the hostile crime among them
    vcop(hostile.db, "report", "sample", "--quarter", "2024Q3", "--n", "1000", "--out", str(out),
         *READ)  # fmt: skip
    check_file(out / "cases.csv")
    check_file(out / "ledger.csv")


def test_compliance_return_has_no_formula(hostile: Hostile) -> None:
    out = hostile.root / "return.xlsx"
    vcop(hostile.db, "report", "compliance-return", "--quarter", "2025Q2", "--out", str(out))
    check_workbook(out)


@pytest.mark.parametrize("report", ["partner", "board"])
def test_pack_figures_have_no_formula(hostile: Hostile, report: str) -> None:
    out = hostile.root / report
    vcop(hostile.db, "report", report, "--as-of", AS_OF, "--out", str(out),
         "--format", "html", "--no-charts")  # fmt: skip
    assert (out / "figures.csv").exists()
    for path in out.glob("*.csv"):
        check_file(path, carries=path.name == "figures.csv")
    for book in out.glob("*.xlsx"):
        check_workbook(book)


# -- the dashboard's .csv twins --------------------------------------------------------------------

#: Who fetches each page's twin: the analyst every page they may open; the admin those the analyst
#: may not (the access log, the users); the partner every page they may open (their figures are
#: the partner release); a supervisor of the hostile unit and the officer with the hostile id the
#: record-level lists their scope cuts (the victim's journey asks the analyst why first).
WEB_USERS = {ANALYST: Role.analyst, ADMIN: Role.admin, PARTNER: Role.partner,
             SUPERVISOR: Role.supervisor, OFFICER_USER: Role.officer}  # fmt: skip


def _fetches(user: str, path: str, permission: Permission) -> bool:
    role = WEB_USERS[user]
    if permission not in GRANTS[role]:
        return False
    if role is Role.admin:
        return permission not in GRANTS[Role.analyst]
    if role in (Role.supervisor, Role.officer):
        return permission is Permission.record and "{victim_id}" not in path
    return True


#: Path parameters, filled with hostile ids where the page takes one.
PATH_VALUES = {"{victim_id}": quote(VICTIM, safe=""), "{metric_id}": "support_referral_on_time"}

#: Query strings fetched besides the page's own default view: splits by every place (the partner's
#: release has the force and its areas only).
QUERIES: dict[str, list[dict[str, str]]] = {
    "/compliance": [
        {"by": "area"}, {"by": "district"}, {"by": "unit"}, {"by": "unit", "area": AREA},
        {"measure": "obligation", "by": "area"},
        {"measure": "victim_updates_on_time", "by": "officer", "unit": UNIT_PLUS},
    ],
    "/metrics/{metric_id}": [{"area": AREA}, {"unit": UNIT_PLUS}],
}  # fmt: skip
PARTNER_QUERIES = [{}, {"by": "area"}, {"measure": "obligation", "by": "area"}]

#: Pages whose CSVs hold no text from the data: force-wide figures and monthly series.
#: /feedback: units and officers as the survey recorded them, which the rewrite leaves as they were.
#: /audits: the dip-sample audits of the operational store (none here), no text from the data.
#: /peers: forces beside their peers; a database of one force (as here) has none to show.
NO_TEXT = {"/", "/response-times", "/metrics/{metric_id}", "/feedback", "/audits", "/peers"}
#: Pages whose text partners do not see: victims' comments (analysts only), harm by place.
PARTNER_NO_TEXT = {"/satisfaction", "/outcomes"}


def _carries(path: str, user: str, query: dict[str, str]) -> bool:
    """Must the page show a hostile value? (Force-wide compliance has no place in it.)"""
    if path in NO_TEXT or (path == "/compliance" and "by" not in query):
        return False
    return WEB_USERS[user] is not Role.partner or path not in PARTNER_NO_TEXT


def _has_twin(path: str) -> bool:
    csv_path = twin_path(path, "csv")
    return any(getattr(r, "path", None) == csv_path for router in ROUTERS for r in router.routes)


PAGES = [(path, permission) for path, permission, _ in REGISTRY if _has_twin(path)]

WEB_CASES = [
    (path, user, query)
    for path, permission in PAGES
    for user in WEB_USERS
    if _fetches(user, path, permission)
    for query in [{}, *QUERIES.get(path, [])]
    if WEB_USERS[user] is not Role.partner or query in PARTNER_QUERIES
]


@pytest.fixture(scope="module")
def web(hostile: Hostile) -> Iterator[FastAPI]:
    """The dashboard over a copy of the hostile build (the commands above write to the original)."""
    from vcop.web import create_app

    db = _web_copy(hostile.db, hostile.root / "web")
    application = create_app(db, clock=Clock(datetime(2025, 7, 1, 9, 0)), suppression_threshold=10)
    yield application
    application.state.vcop.close()


@pytest.fixture(scope="module")
def clients(web: FastAPI) -> dict[str, TestClient]:
    signed_in = {user: sign_in(web, user, PASSWORD) for user in WEB_USERS}
    client = signed_in[ANALYST]  # the victim's journey asks why before it is shown
    response = client.post(
        f"/victims/{quote(VICTIM, safe='')}/reason",
        data={"reason": "quality_assurance", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303, response.text
    return signed_in


def test_every_page_with_a_csv_twin_is_fetched() -> None:
    assert len(PAGES) >= 10
    fetched = {path for path, _, _ in WEB_CASES}
    assert fetched == {path for path, _ in PAGES}
    for path in fetched:  # a new path parameter needs a value here
        filled = path
        for name, value in PATH_VALUES.items():
            filled = filled.replace(name, value)
        assert "{" not in filled, f"{path}: add its parameter to PATH_VALUES"


def _url(path: str, fmt: Format, query: dict[str, str]) -> str:
    url: str = twin_path(path, fmt)
    for name, value in PATH_VALUES.items():
        url = url.replace(name, value)
    return url + (f"?{urlencode(query)}" if query else "")


@pytest.mark.parametrize(
    ("path", "user", "query"), WEB_CASES, ids=[f"{u}:{p}?{urlencode(q)}" for p, u, q in WEB_CASES]
)
def test_page_csv_has_no_formula(
    clients: dict[str, TestClient], path: str, user: str, query: dict[str, str]
) -> None:
    """Every table of the page: its .csv twin gives one table, chosen by ?table=."""
    client = clients[user]
    listing = client.get(_url(path, "json", query))
    assert listing.status_code == 200, (
        f"{user} {listing.url}: {listing.status_code} {listing.text[:300]}"
    )
    tables = list(listing.json()["tables"])
    assert tables, f"{user} {listing.url}: no table"
    rows: list[list[str]] = []
    for table in tables:
        url = _url(path, "csv", {**query, "table": table})
        response = client.get(url)
        assert response.status_code == 200, (
            f"{user} {url}: {response.status_code} {response.text[:300]}"
        )
        assert response.headers["content-type"].startswith("text/csv")
        rows += check_csv(response.text, f"{user} {url}", carries=False)
    if _carries(path, user, query):
        check_rows(rows, f"{user} {_url(path, 'csv', query)} (all {len(tables)} tables)")


# -- a carriage return inside a value --------------------------------------------------------------
#
# Fields without a comma or a quote, so that only the CR could make a writer quote them.

CR_AREA = "South\r=CR+1 area"
CR_UNIT = "Greyfield\r-CR+1 unit"
CR_COMMENT = "Quick response.\r@CR+1"
CR_REJECTED = "2025-01-01\r+CR+1"  # a crime's reported_at: rejected, and listed
CR_MARKERS = ("CR+1",)

#: A carriage return inside a value must not end the row: every CSV vcop writes goes through
#: ``vcop.export.csv_writer`` (RFC 4180, CRLF rows), which quotes a field holding one.
CR_REWRITE: dict[str, dict[str, dict[str, str]]] = {
    "crimes.csv": {"area": {"South": CR_AREA}, "unit": {"Greyfield Response": CR_UNIT}},
    "incidents.csv": {"area": {"South": CR_AREA}},
    "survey_responses.csv": {
        "area": {"South": CR_AREA},
        "comment": {"Quick response.": CR_COMMENT},
    },
}
CR_LOADED = [("crimes", "area", CR_AREA), ("crimes", "unit", CR_UNIT),
             ("survey_responses", "comment", CR_COMMENT), ("rejects", "value", CR_REJECTED)]  # fmt: skip


@pytest.fixture(scope="module")
def cr_db(hostile: Hostile) -> Path:
    """The hostile extract again, with CRs inside an area, a unit, a comment and a rejected value."""
    root = hostile.root / "cr"
    extract = root / "extract"
    shutil.copytree(hostile.root / "extract", extract)
    for name, change in CR_REWRITE.items():
        rejected = {"crime_id": "DS-C-CR", "reported_at": CR_REJECTED}
        _rewrite(extract / name, change, rejected=rejected if name == "crimes.csv" else None)
    db = root / "vcop.duckdb"
    _refresh(extract, db, CR_LOADED)
    ops = open_ops(db)
    now = datetime(2025, 6, 30, 9, 0)
    add_user(ops, ANALYST, Role.analyst, PASSWORD, now=now)
    add_user(ops, PARTNER, Role.partner, PASSWORD, now=now)
    add_user(ops, SUPERVISOR, Role.supervisor, PASSWORD, now=now, unit=CR_UNIT)
    ops.close()
    return db


CR_COMMANDS = [
    pytest.param(["metrics", "--as-of", AS_OF, "--by", "area", "--format", "csv"],
                 id="metrics-by-area"),
    pytest.param(["metrics", "--as-of", AS_OF, "--by", "unit", "--format", "csv"],
                 id="metrics-by-unit"),
    pytest.param(["entitlements", "--as-of", AS_OF, "--by", "unit", "--format", "csv"],
                 id="entitlements-by-unit"),
    pytest.param(["rejects", "--format", "csv", *READ], id="rejects"),
    pytest.param(["users", "list", "--format", "csv"], id="users-list"),
    pytest.param(["harm", "areas", *HARM_YEAR, "--level", "area", "--format", "csv"],
                 id="harm-areas-by-area"),
]  # fmt: skip


@pytest.mark.parametrize("args", CR_COMMANDS)
def test_a_cr_inside_a_value_starts_no_row_in_command_csv(cr_db: Path, args: list[str]) -> None:
    check_csv(vcop(cr_db, *args), "vcop " + " ".join(args), markers=CR_MARKERS)


def test_a_cr_inside_a_value_starts_no_row_in_report_csv(cr_db: Path) -> None:
    out = cr_db.parent / "reports"
    vcop(cr_db, "report", "sample", "--quarter", "2024Q3", "--n", "1000", "--out", str(out / "sample"),
         *READ)  # fmt: skip
    check_file(out / "sample" / "cases.csv", markers=CR_MARKERS)
    check_file(out / "sample" / "ledger.csv", carries=False)
    for report in ("partner", "board"):
        vcop(cr_db, "report", report, "--as-of", AS_OF, "--out", str(out / report),
             "--format", "html", "--no-charts")  # fmt: skip
        check_file(out / report / "figures.csv", markers=CR_MARKERS)


CR_PAGES = [
    pytest.param(user, path, query, id=name)
    for name, user, path, query in [
        ("analyst-compliance-by-area", ANALYST, "/compliance", {"by": "area"}),
        ("analyst-compliance-by-unit", ANALYST, "/compliance", {"by": "unit"}),
        ("analyst-satisfaction-comments", ANALYST, "/satisfaction", {"table": "comments"}),
        ("analyst-rejects", ANALYST, "/data-quality/rejects", {}),
        ("analyst-worklist", ANALYST, "/worklist", {}),
        ("supervisor-worklist", SUPERVISOR, "/worklist", {}),
        ("partner-compliance-by-area", PARTNER, "/compliance", {"by": "area"}),
    ]
]


@pytest.fixture(scope="module")
def cr_clients(cr_db: Path) -> Iterator[dict[str, TestClient]]:
    from vcop.web import create_app

    db = _web_copy(cr_db, cr_db.parent / "web")
    application = create_app(db, clock=Clock(datetime(2025, 7, 1, 9, 0)), suppression_threshold=10)
    yield {user: sign_in(application, user, PASSWORD) for user in (ANALYST, PARTNER, SUPERVISOR)}
    application.state.vcop.close()


@pytest.mark.parametrize(("user", "path", "query"), CR_PAGES)
def test_a_cr_inside_a_value_starts_no_row_in_page_csv(
    cr_clients: dict[str, TestClient], user: str, path: str, query: dict[str, str]
) -> None:
    url = _url(path, "csv", query)
    response = cr_clients[user].get(url)
    assert response.status_code == 200, (
        f"{user} {url}: {response.status_code} {response.text[:300]}"
    )
    check_csv(response.text, f"{user} {url}", markers=CR_MARKERS)
