"""`vcop metrics`: every format, the breakdowns, suppression and the errors a user can make."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import vcop.cli.metrics  # noqa: F401  (registers the command)
from vcop.cli.app import app
from vcop.metrics.suppress import is_small
from vcop.metrics.values import RECORD_COLUMNS
from vcop.spec.metrics import REQUIRED_METRICS

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

ISSUE_COLUMNS = (
    "metric_id", "period", "period_start", "period_end", "breakdown", "group", "numerator",
    "denominator", "value", "ci_low", "ci_high", "significant_change", "spc_variation",
    "spc_assurance", "suppressed", "definitions_hash",
)  # fmt: skip


def _load(name: str) -> Any:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metrics") / "force.duckdb"
    con = duckdb.connect(str(path))
    _load("test_metrics_data").build(con, crimes=1500)
    con.close()
    return path


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, ["metrics", *args])
    return result


def test_csv_has_every_public_column_and_every_metric(db: Path) -> None:
    result = run("--db", str(db), "--as-of", "2025-06-30", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == RECORD_COLUMNS
    assert set(ISSUE_COLUMNS) <= set(RECORD_COLUMNS)
    assert set(REQUIRED_METRICS) <= {r["metric_id"] for r in rows}
    for r in rows:
        assert r["period"] == "rolling_12m"
        assert (r["period_start"], r["period_end"]) == ("2024-07-01", "2025-06-30")
        if r["unit"] == "proportion" and r["value"]:
            assert float(r["ci_low"]) <= float(r["value"]) <= float(r["ci_high"])
            assert 0 <= float(r["value"]) <= 1


def test_json_with_a_period_metric_and_breakdown(db: Path) -> None:
    result = run(
        "--db", str(db), "--as-of", "2025-06-30", "--period", "quarter",
        "--metric", "victim_updates_on_time", "--metric", "response_time_median_prompt",
        "--by", "area", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {(r["metric_id"], r["breakdown"], r["group"]) for r in rows} == {
        (m, "area", a)
        for m in ("victim_updates_on_time", "response_time_median_prompt")
        for a in ("North", "South")
    }
    assert all(r["period"] == "quarter" and r["period_start"] == "2025-04-01" for r in rows)
    # a quarter younger than its metric's maturity is provisional and not compared; a complete
    # one is compared, with a test
    for r in rows:
        assert r["better"] == "higher" if r["metric_id"] == "victim_updates_on_time" else "lower"
        if r["provisional"]:
            assert r["comparable"] is False and r["significant_change"] is None
            assert r["comparable_reason"].startswith("provisional")
            assert 0 < r["provisional_share"] <= 1
        else:
            assert isinstance(r["significant_change"], bool)
    assert {r["provisional"] for r in rows} == {True, False}


def test_the_table_is_readable(db: Path) -> None:
    result = run(
        "--db",
        str(db),
        "--as-of",
        "2025-06-30",
        "--period",
        "month",
        "--metric",
        "recorded_crime",
        "--metric",
        "support_referral_on_time",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "recorded_crime" in out and "support_referral_on_time" in out
    assert "month 2025-06-01 to 2025-06-30" in out
    assert "significant change" in out


def test_suppressed_output_shows_no_small_count(db: Path) -> None:
    result = run(
        "--db",
        str(db),
        "--as-of",
        "2025-06-30",
        "--period",
        "month",
        "--by",
        "officer",
        "--format",
        "json",
        "--suppress",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert any(r["suppressed"] for r in rows)
    for r in rows:
        shown = [
            r["numerator"],
            r["denominator"],
            r["previous_denominator"],
            r["year_ago_denominator"],
        ]
        if r["kind"] == "proportion" and r["numerator"] is not None:
            shown.append(r["denominator"] - r["numerator"])
        assert not any(is_small(c, 10) for c in shown), r
        if r["suppressed"]:
            assert r["value"] is None and r["ci_low"] is None and r["change"] is None
    # the same figures without --suppress do show small counts
    raw = json.loads(
        run(
            "--db",
            str(db),
            "--as-of",
            "2025-06-30",
            "--period",
            "month",
            "--by",
            "officer",
            "--format",
            "json",
        ).stdout
    )
    assert any(is_small(r["denominator"], 10) for r in raw)


def test_a_higher_threshold_hides_more(db: Path) -> None:
    def hidden(threshold: str) -> int:
        out = run(
            "--db",
            str(db),
            "--as-of",
            "2025-06-30",
            "--by",
            "district",
            "--format",
            "json",
            "--suppress",
            "--threshold",
            threshold,
        )
        return sum(r["suppressed"] for r in json.loads(out.stdout))

    assert hidden("10") <= hidden("200")


def test_list_needs_no_database() -> None:
    result = run("--list")
    assert result.exit_code == 0
    assert "prosecution_possible_outcome_rate" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--db", "{db}"), "--as-of DATE is required"),
        (("--db", "/nonexistent/x.duckdb", "--as-of", "2025-06-30"), "no such database"),
        (("--db", "{db}", "--as-of", "2025-06-30", "--metric", "happiness"), "no metric happiness"),
        (("--db", "{db}", "--as-of", "2025-06-30", "--by", "postcode"), "no breakdown 'postcode'"),
        (("--db", "{db}", "--as-of", "2025-06-30", "--period", "week"), "week"),
    ],
)
def test_mistakes_are_explained(db: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*(a.format(db=db) for a in args))
    assert result.exit_code != 0
    assert message in result.output


def test_a_stale_ledger_is_a_note_not_a_failure(db: Path) -> None:
    result = run(
        "--db",
        str(db),
        "--as-of",
        "2025-05-31",
        "--metric",
        "support_referral_on_time",
        "--metric",
        "recorded_crime",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert "evaluated as of 2025-06-30" in result.stderr
    assert {r["metric_id"] for r in csv.DictReader(io.StringIO(result.stdout))} == {
        "recorded_crime"
    }
