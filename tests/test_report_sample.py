"""`vcop report sample`: the reproducible, stratified dip sample of finalised cases."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.webdata import PASSWORD, WebData, build, copy_of
from vcop.cli import app
from vcop.reports.sample import Case, allocate, draw, finalised_cases, quarter_bounds
from vcop.store.ops import open_ops


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


def cases_of(n: int, enhanced_every: int = 3) -> list[Case]:
    areas, types = ("North", "South"), ("Burglary", "Robbery", "Shoplifting")
    return [
        Case(
            f"C{i:04d}",
            areas[i % 2],
            types[i % 3],
            dt.datetime(2025, 2, 1),
            i % enhanced_every == 0,
        )
        for i in range(n)
    ]


def test_quarters() -> None:
    assert quarter_bounds("2025Q1") == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert quarter_bounds("2024q4") == (dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    with pytest.raises(ValueError, match="not like 2025Q1"):
        quarter_bounds("2025-Q5")


def test_allocation_is_proportional_and_exact() -> None:
    shares = allocate({("N", "a"): 50, ("N", "b"): 30, ("S", "a"): 20}, 30)
    assert shares == {("N", "a"): 15, ("N", "b"): 9, ("S", "a"): 6}
    assert sum(allocate({("x", str(i)): 1 for i in range(7)}, 30).values()) == 30


def test_same_seed_same_sample_and_strata_respected() -> None:
    cases = cases_of(600)
    first = draw(cases, n=30, seed=5)
    assert first == draw(list(reversed(cases)), n=30, seed=5)  # order of the data does not matter
    assert first != draw(cases, n=30, seed=6)
    assert len(first) == 30 and len({c.crime_id for c in first}) == 30
    per_stratum = {s: sum(c.stratum == s for c in first) for s in {c.stratum for c in cases}}
    assert set(per_stratum.values()) == {5}  # six equal strata share 30 equally


def test_enhanced_cases_are_over_represented_on_request() -> None:
    cases = cases_of(3000, enhanced_every=5)  # 20% enhanced
    plain = sum(sum(c.enhanced for c in draw(cases, n=60, seed=s)) for s in range(20)) / (20 * 60)
    heavy = sum(
        sum(c.enhanced for c in draw(cases, n=60, seed=s, enhanced_weight=4.0)) for s in range(20)
    ) / (20 * 60)
    assert 0.14 < plain < 0.26
    assert heavy > 0.4


def test_cli_writes_cases_and_their_ledger_and_logs_the_draw(data: WebData, tmp_path: Path) -> None:
    copy = copy_of(data, tmp_path)
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})  # as a scheduled job gives it
    args = [
        "report",
        "sample",
        "--db",
        str(copy.db),
        "--quarter",
        "2025Q1",
        "--n",
        "12",
        "--seed",
        "3",
    ]
    refused = runner.invoke(app, [*args, "--user", "partner1", "--reason", "audit"])
    assert refused.exit_code == 3 and "only analysts" in refused.output
    out = tmp_path / "sample"
    done = runner.invoke(
        app, [*args, "--user", "analyst1", "--reason", "Q1 audit", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    with (out / "cases.csv").open() as f:
        cases = list(csv.DictReader(f))
    with (out / "ledger.csv").open() as f:
        ledger = list(csv.DictReader(f))
    assert len(cases) == 12
    assert {r["crime_id"] for r in ledger} == {c["crime_id"] for c in cases}
    assert all(
        dt.date(2025, 1, 1) <= dt.date.fromisoformat(c["finalised_at"]) <= dt.date(2025, 3, 31)
        for c in cases
    )
    con = duckdb.connect(str(copy.db))
    assert len(finalised_cases(con, dt.date(2025, 1, 1), dt.date(2025, 3, 31))) >= 12
    con.close()
    ops = open_ops(copy.db)
    logged = ops.query("SELECT access_id, username, action, reason FROM access_log").rows
    assert [r[1:] for r in logged] == [
        ("partner1", "dip_sample_refused", "audit"),
        ("analyst1", "dip_sample", "Q1 audit"),
    ]
    shown = ops.query(
        "SELECT victim_id, crime_id FROM access_records WHERE access_id = ?", [logged[-1][0]]
    ).rows
    ops.close()
    assert set(shown) == {(r["victim_id"], r["crime_id"]) for r in ledger}
    again = tmp_path / "again"
    runner.invoke(app, [*args, "--user", "analyst1", "--reason", "Q1 audit", "--out", str(again)])
    assert (again / "cases.csv").read_text() == (out / "cases.csv").read_text()
