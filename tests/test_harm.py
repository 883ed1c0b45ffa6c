"""Harm on the demo force: weights, per-victim lists (restricted and logged), concentration."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.webdata import PASSWORD, WebData, build, copy_of
from vcop.cli import app
from vcop.harm import concentration, load_weights, register_crime_harm
from vcop.store.ops import open_ops


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


def test_every_crime_type_has_both_weights() -> None:
    w = load_weights()
    assert set(w.css_by_crime_type) == set(w.cchi_by_crime_type)
    assert len(w.css_by_crime_type) == 13 and "Anti-social behaviour" not in w.css_by_crime_type
    assert w.css_by_offence_code["46"] == pytest.approx(
        11.8555, abs=1e-4
    )  # shoplifting (SOURCE.md)
    assert w.force_key("Cambridgeshire Constabulary") == "Cambridgeshire"


def test_offence_code_weight_wins_over_crime_type(data: WebData) -> None:
    con = duckdb.connect(str(data.db), read_only=True)
    register_crime_harm(con)
    rows = con.execute(
        "SELECT offence_code, crime_type, css FROM crime_harm WHERE offence_code = '46'"
    ).fetchall()
    assert rows and all(css == pytest.approx(11.8555, abs=1e-4) for _, _, css in rows)
    assert con.execute(
        "SELECT count(*) FROM crime_harm WHERE cchi IS NULL OR css IS NULL"
    ).fetchall() == [(0,)]
    share = concentration(con, start=dt.date(2024, 7, 1), end=dt.date(2025, 6, 30))
    assert 0 < float(share["share"]) < 1 and int(share["top_lsoas"]) >= 1


def test_harm_victims_is_restricted_and_logged(data: WebData, tmp_path: Path) -> None:
    copy = copy_of(data, tmp_path)
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})  # as a scheduled job gives it
    args = [
        "harm",
        "victims",
        "--db",
        str(copy.db),
        "--as-of",
        "2025-06-30",
        "--top",
        "5",
        "--format",
        "csv",
    ]
    refused = runner.invoke(app, [*args, "--user", "partner1", "--reason", "curious"])
    assert refused.exit_code == 3 and "only analysts and supervisors" in refused.output
    no_reason = runner.invoke(app, [*args, "--user", "analyst1", "--reason", " "])
    assert no_reason.exit_code == 2 and "--reason is required" in no_reason.output
    done = runner.invoke(app, [*args, "--user", "analyst1", "--reason", "monthly harm list"])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.output)))
    assert len(rows) == 5
    harms = [float(r["harm"]) for r in rows]
    assert harms == sorted(harms, reverse=True)
    ops = open_ops(copy.db)
    logged = ops.query(
        "SELECT access_id, username, action, reason FROM access_log WHERE channel = 'cli'"
    ).rows
    assert [(u, a, r) for _, u, a, r in logged] == [
        ("partner1", "harm_victims_refused", "curious"),
        ("analyst1", "harm_victims", "monthly harm list"),
    ]
    shown = ops.query(
        "SELECT victim_id, crime_id FROM access_records WHERE access_id = ?", [logged[-1][0]]
    ).rows
    ops.close()
    assert shown == [(r["victim_id"], None) for r in rows]
