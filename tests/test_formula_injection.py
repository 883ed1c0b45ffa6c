"""No export is a formula: hostile text in an extract comes out of vcop's CSVs as plain text.

An area or unit named like a spreadsheet formula (``=HYPERLINK(...)``, ``@SUM(1+1)*cmd|...``)
must reach every CSV and XLSX cell as text (an apostrophe before it), while numbers — negative
ones included — stay numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests import test_metrics_data as metrics_data
from vcop.cli import app
from vcop.export import FORMULA_STARTS, safe_cell, safe_row
from vcop.store.ops import open_ops
from vcop.web.auth import Role, add_user

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3",
           "\tTAB", "\rCR"]  # fmt: skip

#: The password of the account that lists rejects (given as a scheduled job gives it).
PASSWORD = "violet kettle orbit lantern"

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_becomes_text(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-0.05, -3, 0, 12.5, "-0.05", "1e3", "North", "", None, True])
def test_everything_else_is_left_alone(value: object) -> None:
    assert safe_cell(value) == value
    assert safe_row([value]) == ["" if value is None else value]


def _unsafe(cells: list[str]) -> list[str]:
    out = []
    for c in cells:
        if c[:1] in FORMULA_STARTS:
            try:
                float(c)
            except ValueError:
                out.append(c)
    return out


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "vcop.duckdb"
    con = duckdb.connect(str(db))
    metrics_data.build(con, crimes=600)
    units = [r[0] for r in con.execute("SELECT DISTINCT unit FROM crimes ORDER BY 1").fetchall()]
    for unit, name in zip(units, HOSTILE, strict=False):
        con.execute("UPDATE crimes SET unit = ? WHERE unit = ?", [name, unit])
    con.close()
    return db


def test_vcop_metrics_csv_writes_no_formula(hostile_db: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["metrics", "--db", str(hostile_db), "--as-of", "2025-06-30", "--by", "unit",
         "--metric", "victim_updates_on_time", "--format", "csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    groups = {r[rows[0].index("group")] for r in rows[1:]}
    assert {
        "'" + h for h in HOSTILE[: len(groups)]
    } & groups  # the hostile units are there, as text
    assert _unsafe([c for r in rows for c in r]) == []


def test_vcop_rejects_csv_writes_no_formula(tiny: Path, tmp_path: Path) -> None:
    """The README's own example: a rejected value that looks like a formula is listed as text."""
    import shutil

    extract = tmp_path / "extract"
    shutil.copytree(tiny, extract)
    crimes = extract / "crimes.csv"
    text = crimes.read_text("utf-8").splitlines()
    header = text[0].split(",")
    row = ["" for _ in header]
    row[header.index("crime_id")] = "T-HOSTILE"
    row[header.index("reported_at")] = "@SUM(1+1)*cmd"  # not a date: rejected, value listed
    row[header.index("crime_type")] = "Burglary"
    crimes.write_text("\n".join([*text, ",".join(row)]) + "\n", "utf-8")
    runner = CliRunner()
    db = tmp_path / "c.duckdb"
    # loaded with rejects past --max-reject-share: exit 3
    assert runner.invoke(app, ["ingest", str(extract), "--db", str(db)]).exit_code == 3
    ops = open_ops(db)  # rejected values are records: only an admin or analyst may list them
    add_user(ops, "dq", Role.analyst, PASSWORD, now=datetime(2025, 7, 1))
    ops.close()
    listed = runner.invoke(
        app,
        ["rejects", "--db", str(db), "--format", "csv", "--user", "dq", "--reason", "fix extract"],
        env={"VCOP_PASSWORD": PASSWORD},
    )
    assert listed.exit_code == 0, listed.output
    rows = list(csv.reader(io.StringIO(listed.stdout)))
    assert any("'@SUM(1+1)*cmd" in r for r in rows)
    assert _unsafe([c for r in rows for c in r]) == []
