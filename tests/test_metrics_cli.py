"""`vcop metrics`: every format, the breakdowns, suppression and the errors a user can make."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rich.text import Text
from typer.testing import CliRunner

import vcop.cli.metrics  # registers the command
import vcop.cli.rules  # noqa: F401  (registers `vcop evaluate`)
from vcop.cli.app import app
from vcop.cli.metrics_table import print_table, row
from vcop.metrics.release import SUPPRESSED, Release, suppressed_note
from vcop.metrics.suppress import is_small
from vcop.metrics.targets import NONE as NO_TARGETS
from vcop.metrics.values import RECORD_COLUMNS, Comparison, Estimate, MetricValue
from vcop.spec.metrics import REQUIRED_METRICS, load_catalogue
from vcop.store.db import ensure_schema

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
    # a quarter younger than its metric's maturity is provisional, and compared with the earlier
    # quarters as they stood at the same age; a complete one with them as they are
    for r in rows:
        assert r["better"] == "higher" if r["metric_id"] == "victim_updates_on_time" else "lower"
        if r["provisional"]:
            assert 0 < r["provisional_share"] <= 1
        assert r["comparable"] is True and isinstance(r["significant_change"], bool)
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


@pytest.fixture(scope="module")
def releases() -> Iterator[list[tuple[dict[str, Any], Release]]]:
    """Every release `vcop metrics --suppress` builds in this module, with what it was given.

    A release takes half a minute to build here, so one built for the same arguments is given
    back again (the command builds it in the same way each time)."""
    import vcop.metrics.release

    real = vcop.metrics.release.build
    made: list[tuple[dict[str, Any], Release]] = []

    def build(backend: Any, as_of: date, **kwargs: Any) -> Release:
        asked = {"as_of": as_of, **{k: v for k, v in kwargs.items() if k != "progress"}}
        for given, release in made:
            if given == asked:
                return release
        release = real(backend, as_of, **kwargs)
        made.append((asked, release))
        return release

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vcop.metrics.release, "build", build)
        yield made


def test_suppress_cuts_the_figures_from_the_release_of_the_month_end(
    db: Path, releases: list[tuple[dict[str, Any], Release]]
) -> None:
    common = ("--db", str(db), "--as-of", "2025-06-30", "--suppress", "--threshold", "12")
    rows = _json(*common, "--period", "quarter", "--by", "area", "--format", "json")
    ((given, release),) = releases
    assert (given["as_of"], given["threshold"]) == (date(2025, 6, 30), 12)
    assert release.splits == ("area",) and release.hidden > 0
    # every figure is the release's, hidden where it hides them: no small count is shown
    assert rows == [v.record() for v in release.values("quarter", "area")]
    assert any(r["suppressed"] for r in rows)
    for r in rows:
        shown = [r["numerator"], r["denominator"]]
        if r["kind"] == "proportion" and r["numerator"] is not None:
            shown.append(r["denominator"] - r["numerator"])
        assert not any(is_small(c, 12) for c in shown), r
        if r["suppressed"]:
            assert r["value"] is None and r["ci_low"] is None and r["change"] is None
            assert r["spc_variation"] is None
    # force-wide, one metric, as a table: the release's figures, its mark and its sentence
    table = run(*common, "--period", "month", "--metric", "compliance_by_right")
    assert table.exit_code == 0, table.output
    assert len(releases) == 1  # the same release
    hidden = [v for v in release.values("month", None, ["compliance_by_right"]) if v.suppressed]
    assert hidden, "the test data should hide a right in June"
    for v in release.values("month", None, ["compliance_by_right"]):
        (line,) = [x for x in table.stdout.splitlines() if x.strip().startswith(v.group_name + " ")]
        assert (SUPPRESSED in line) is v.suppressed, v.group_name
    assert suppressed_note(12) in " ".join(table.stdout.split())
    # without --suppress, the same quarter does show small counts
    raw = _json("--db", str(db), "--as-of", "2025-06-30", "--period", "quarter", "--by", "area",
                "--format", "json")  # fmt: skip
    assert any(
        is_small(r["denominator"], 12) or is_small(r["numerator"], 12)
        for r in raw
        if r["numerator"] is not None
    )


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
        (
            ("--db", "{db}", "--as-of", "2025-06-15", "--suppress"),
            "2025-06-15 is not one: use --as-of 2025-05-31",
        ),
        (
            ("--db", "{db}", "--as-of", "2025-06-30", "--suppress", "--by", "district"),
            "a release publishes figures force-wide and --by area only, not --by district",
        ),
        (
            ("--db", "{db}", "--as-of", "2025-06-30", "--suppress", "--filter", "area=North"),
            "a release publishes no filtered figures",
        ),
    ],
)
def test_mistakes_are_explained(db: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*(a.format(db=db) for a in args))
    assert result.exit_code != 0
    assert message in result.output


# --- a ledger as of another date: evaluated in memory, the database untouched ------------------

LEDGER_METRICS = ("support_referral_on_time", "victim_updates_on_time", "compliance_by_right")


def _fingerprint(path: Path) -> tuple[str, int, list[str]]:
    """The file's bytes, its modification time and the files beside it."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest, path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def _csv_rows(result: Any) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_another_date_evaluates_a_ledger_in_memory(db: Path, tmp_path: Path) -> None:
    asked = ["--as-of", "2025-05-31", "--by", "area", "--format", "csv"]
    asked += [a for m in (*LEDGER_METRICS, "recorded_crime") for a in ("--metric", m)]
    before = _fingerprint(db)
    in_memory = run("--db", str(db), *asked)
    assert _fingerprint(db) == before  # not a byte, not a timestamp, no stray file
    assert "stored ledger is as of 2025-06-30" in in_memory.stderr
    assert "evaluated in memory as of 2025-05-31" in in_memory.stderr
    assert "the database is unchanged" in in_memory.stderr
    assert "vcop evaluate" not in in_memory.stderr  # nobody is asked to overwrite the ledger
    rows = _csv_rows(in_memory)
    assert {r["metric_id"] for r in rows} == {*LEDGER_METRICS, "recorded_crime"}
    assert {r["as_of"] for r in rows} == {"2025-05-31"}

    # the same figures as a ledger evaluated and stored for that date
    copy = tmp_path / "copy" / "force.duckdb"
    copy.parent.mkdir()
    shutil.copy(db, copy)
    evaluated = CliRunner().invoke(app, ["evaluate", "--db", str(copy), "--as-of", "2025-05-31"])
    assert evaluated.exit_code == 0, evaluated.output
    stored = run("--db", str(copy), *asked)
    assert "in memory" not in stored.stderr
    assert _csv_rows(stored) == rows


def test_a_database_without_a_ledger_gets_one_in_memory(db: Path, tmp_path: Path) -> None:
    bare = tmp_path / "force.duckdb"
    shutil.copy(db, bare)
    con = duckdb.connect(str(bare))
    con.execute("DROP TABLE entitlements")
    con.close()
    before = _fingerprint(bare)
    result = run(
        "--db", str(bare), "--as-of", "2025-06-30", "--metric", LEDGER_METRICS[0],
        "--format", "csv",
    )  # fmt: skip
    assert {r["metric_id"] for r in _csv_rows(result)} == {LEDGER_METRICS[0]}
    assert "the database holds no ledger" in result.stderr
    assert "evaluated in memory as of 2025-06-30" in result.stderr
    assert _fingerprint(bare) == before


def test_the_stored_ledger_is_used_when_it_is_for_the_date(db: Path) -> None:
    result = run("--db", str(db), "--as-of", "2025-06-30", "--metric", LEDGER_METRICS[0])
    assert result.exit_code == 0, result.output
    assert "in memory" not in result.stderr


def test_metrics_without_the_ledger_evaluate_nothing(db: Path) -> None:
    result = run(
        "--db", str(db), "--as-of", "2025-05-31", "--metric", "recorded_crime", "--format", "csv"
    )
    assert "in memory" not in result.stderr
    assert {r["metric_id"] for r in _csv_rows(result)} == {"recorded_crime"}


# --- filters ---------------------------------------------------------------------------------


def _json(*args: str) -> list[dict[str, Any]]:
    result = run(*args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_a_filter_keeps_only_its_rows(db: Path) -> None:
    common = ("--db", str(db), "--as-of", "2025-06-30", "--format", "json")
    metrics = ("--metric", "victim_updates_on_time", "--metric", "recorded_crime")
    split = {(r["metric_id"], r["group"]): r for r in _json(*common, *metrics, "--by", "district")}
    # one area, split by district: that area's districts, with the figures of the plain split
    north = _json(*common, *metrics, "--by", "district", "--filter", "area=North")
    assert {r["group"] for r in north} == {"Northbury", "Hollowfen"}
    for r in north:
        whole = split[(r["metric_id"], r["group"])]
        assert (r["numerator"], r["denominator"], r["value"]) == (
            whole["numerator"], whole["denominator"], whole["value"],
        )  # fmt: skip
    # two filters: the one district's figure is its group in the split
    one = _json(*common, *metrics, "--filter", "area=North", "--filter", "district=Hollowfen")
    assert {r["group"] for r in one} == {"all"}
    for r in one:
        whole = split[(r["metric_id"], "Hollowfen")]
        assert (r["numerator"], r["denominator"]) == (whole["numerator"], whole["denominator"])
    # a district that is not in the area: nothing
    none = run(*common, *metrics, "--filter", "area=South", "--filter", "district=Hollowfen")
    assert none.exit_code == 1
    assert "no metric could be computed for area=South, district=Hollowfen" in none.output


def test_a_filter_on_every_metric_names_those_left_out(db: Path) -> None:
    result = run(
        "--db", str(db), "--as-of", "2025-06-30", "--filter", "officer=O01", "--format", "csv"
    )  # fmt: skip
    rows = _csv_rows(result)
    unsplit = {m.id for m in load_catalogue().metrics if "officer" not in m.breakdowns}
    assert unsplit and rows
    assert "cannot be filtered by officer and are left out" in result.stderr
    assert all(m in result.stderr for m in unsplit)
    assert not {r["metric_id"] for r in rows} & unsplit


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (("area",), "--filter 'area': write BREAKDOWN=VALUE"),
        (("=North",), "write BREAKDOWN=VALUE"),
        (("area=",), "write BREAKDOWN=VALUE"),
        (("area=North", "area=South"), "--filter area is given twice"),
        (("postcode=AB1",), "no breakdown 'postcode' to filter on"),
    ],
)
def test_a_malformed_filter_is_explained(db: Path, filters: tuple[str, ...], message: str) -> None:
    args = [a for f in filters for a in ("--filter", f)]
    result = run("--db", str(db), "--as-of", "2025-06-30", *args)
    assert result.exit_code == 2
    assert message in result.output


# --- the policy columns in CSV and JSON, and targets -------------------------------------------

NEW_COLUMNS = (
    "provisional", "provisional_share", "comparable", "comparable_reason", "target_source",
    "target_adopted", "target_effective_from", "target_effective_to", "target_basis", "better",
)  # fmt: skip

TARGETS = """\
targets:
  - metric: victim_updates_on_time
    value: 0.9
    source: Police and Crime Plan 2024-28
    adopted: true
    effective_from: 2024-04-01
    basis: aggregate
  - metric: response_time_median_prompt
    value: 60
    source: Local attendance standard
    adopted: true
    basis: per_incident
  - metric: needs_assessment_on_time
    value: 0.95
    source: A draft nobody adopted
    adopted: false
"""

TARGETED = ("victim_updates_on_time", "response_time_median_prompt", "needs_assessment_on_time")


@pytest.fixture
def targets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS, "utf-8")
    monkeypatch.setenv("VCOP_TARGETS_FILE", str(path))
    return path


def test_csv_and_json_carry_the_policy_columns(db: Path) -> None:
    args = ("--db", str(db), "--as-of", "2025-06-30", "--period", "month")
    rows = _csv_rows(run(*args, "--format", "csv"))
    assert set(NEW_COLUMNS) <= set(rows[0])
    assert {r["provisional"] for r in rows} == {"True", "False"}
    for r in rows:
        assert r["better"] in ("higher", "lower", "neutral")
        assert r["comparable"] in ("True", "False")
        assert (r["comparable"] == "False") == bool(r["comparable_reason"])
        if r["comparable"] == "False":
            assert r["change"] == "" or r["year_ago_change"] == ""
        assert r["target"] == "" and r["target_source"] == ""  # no targets file: none
    records = _json(*args, "--metric", "victim_updates_on_time", "--format", "json")
    assert [list(r) for r in records] == [list(RECORD_COLUMNS)]
    (mine,) = (r for r in rows if r["metric_id"] == "victim_updates_on_time")
    assert records[0]["provisional"] is True and mine["provisional"] == "True"
    assert (records[0]["comparable_reason"] or "") == mine["comparable_reason"]
    assert records[0]["better"] == mine["better"] == "higher"


def test_targets_come_from_the_targets_file(db: Path, targets_file: Path) -> None:
    args = (
        "--db",
        str(db),
        "--as-of",
        "2025-06-30",
        *(a for m in TARGETED for a in ("--metric", m)),
    )
    rows = {r["metric_id"]: r for r in _csv_rows(run(*args, "--format", "csv"))}
    adopted = rows["victim_updates_on_time"]
    assert (adopted["target"], adopted["target_adopted"], adopted["target_basis"]) == (
        "0.9", "True", "aggregate",
    )  # fmt: skip
    assert adopted["target_source"] == "Police and Crime Plan 2024-28"
    assert adopted["target_effective_from"] == "2024-04-01"
    # a per-incident standard is not judged against the median; an unadopted one not at all
    per_incident = rows["response_time_median_prompt"]
    assert (per_incident["target"], per_incident["target_basis"]) == ("", "per_incident")
    assert per_incident["spc_assurance"] == ""
    draft = rows["needs_assessment_on_time"]
    assert (draft["target"], draft["target_adopted"], draft["spc_assurance"]) == ("", "False", "")

    table = run(*args)
    assert table.exit_code == 0, table.output
    lines = {line.split()[0]: line for line in table.stdout.splitlines() if line.strip()}
    assert "90.0%" in lines["victim_updates_on_time"]
    assert "60.0 each" in lines["response_time_median_prompt"]
    assert "95.0%" not in lines["needs_assessment_on_time"]
    assert "per-incident standard" in table.stdout


def test_a_broken_targets_file_is_explained(db: Path, targets_file: Path) -> None:
    targets_file.write_text("targets:\n  - metric: happiness\n    value: 1\n    source: x\n")
    result = run("--db", str(db), "--as-of", "2025-06-30")
    assert result.exit_code == 2
    assert "the targets file has problems" in result.output
    assert "no metric 'happiness'" in result.output


# --- the marks in the terminal table -----------------------------------------------------------


def test_the_table_marks_provisional_and_not_comparable_values(db: Path) -> None:
    result = run(
        "--db", str(db), "--as-of", "2025-06-30", "--period", "month",
        "--metric", "victim_updates_on_time", "--metric", "recorded_crime",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    row = next(line for line in out.splitlines() if line.lstrip().startswith("victim_updates"))
    assert "% p " in row  # provisional
    assert "↑" in row
    assert "p provisional" in out
    crimes = next(line for line in out.splitlines() if line.lstrip().startswith("recorded_crime"))
    assert " p" not in crimes.split("recorded_crime")[1]
    # in the data's first year a repeat victim's earlier crime may be missing: not compared
    early = run(
        "--db", str(db), "--as-of", "2023-06-30", "--period", "month",
        "--metric", "repeat_victimisation_rate",
    )  # fmt: skip
    assert early.exit_code == 0, early.output
    row = next(
        line for line in early.stdout.splitlines() if line.lstrip().startswith("repeat_vict")
    )
    assert row.count("–") >= 2  # no change shown, against neither earlier period
    assert "– not comparable: see comparable_reason in --format csv" in early.stdout


def _value(**changes: Any) -> MetricValue:
    now = Estimate(date(2025, 6, 1), date(2025, 6, 30), 80, 100, 0.8, 0.71, 0.87)
    then = Estimate(date(2025, 5, 1), date(2025, 5, 31), 70, 100, 0.7, 0.6, 0.78)
    base = MetricValue(
        metric_id="victim_updates_on_time", kind="proportion", unit="proportion",
        period="month", as_of=date(2025, 6, 30), breakdown=(), group=(), current=now,
        previous=Comparison(then, 0.1, 0.1, "z"), year_ago=Comparison(then, 0.1, 0.1, "z"),
        small_sample=False, spc_variation="common_cause", spc_points=20, better="higher",
    )  # fmt: skip
    return replace(base, **changes)


def _cells(v: MetricValue) -> list[str]:
    return [c.plain for c in row(v, Text("x"), True, NO_TARGETS)]


def test_table_cells_show_each_mark() -> None:
    plain = _cells(_value())
    assert plain[1] == "80.0%" and plain[4] == "70.0% +10.0" and plain[6] == "common"
    assert _cells(_value(spc_variation="no_variation"))[6] == "no variation"
    assert _cells(_value(provisional=True, provisional_share=1.0))[1] == "80.0% p"
    assert _cells(_value(provisional=True, provisional_share=0.22))[1] == "80.0% p(22%)"
    assert _cells(_value(target=0.9, spc_assurance="consistently_fail"))[7] == "90.0% fail"
    kept = _value().not_comparable("the period starts in the data's first 365 days (warm-up)")
    assert _cells(kept)[4:6] == ["–", "–"]
    hidden = _value(
        suppressed=True,
        current=Estimate(date(2025, 6, 1), date(2025, 6, 30), None, None, None),
        provisional=True,
        provisional_share=0.3,
    )
    assert _cells(hidden)[1:4] == ["[c] p", "", ""]


def test_the_legend_explains_no_variation(capsys: pytest.CaptureFixture[str]) -> None:
    print_table([_value(spc_variation="no_variation")], load_catalogue(), NO_TARGETS, {})
    out = capsys.readouterr().out
    assert "no variation" in out and "nothing to judge" in out
    assert "previous: 2025-05-01 to 2025-05-31" in out


# --- a metric that cannot be computed says why (defect 7) ---------------------------------------


def test_crimes_without_recorded_at_name_the_column(tmp_path: Path) -> None:
    path = tmp_path / "force.duckdb"
    con = duckdb.connect(str(path))
    ensure_schema(con)
    crimes = _load("test_metrics_data").frames(crimes=300)["crimes"]
    crimes["recorded_at"] = None
    con.register("_crimes", crimes)
    cols = ", ".join(f'"{c}"' for c in crimes.columns)
    con.execute(f"INSERT INTO crimes ({cols}) SELECT {cols} FROM _crimes")
    con.close()
    result = run("--db", str(path), "--as-of", "2025-06-30", "--metric", "recorded_crime")
    assert result.exit_code == 1
    note = result.stderr.split("error:")[0]
    assert "crimes.recorded_at" in note and "blank in every row" in note
    assert "load crimes with recorded_at filled in" in note
    assert "no metric could be computed (see the notes above)" in result.stderr
