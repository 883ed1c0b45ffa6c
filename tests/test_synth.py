"""The synthetic demo force, Demoshire (`vcop demo-data`, vcop.synth)."""

from __future__ import annotations

import csv
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vcop.spec.schema import Schema, load_schema
from vcop.synth import generate
from vcop.synth.params import load_params

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
END = date(2025, 6, 30)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def read(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def header(folder: Path, table: str) -> list[str]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def schema_problems(folder: Path, schema: Schema) -> list[str]:
    """Every way the extract breaks the canonical schema, as short descriptions."""
    problems: list[str] = []
    rows = {t.name: read(folder, t.name) for t in schema.tables}
    keys: dict[str, set[tuple[str, ...]]] = {}
    labels = set(schema.scale7_labels.values())
    for t in schema.tables:
        seen: set[tuple[str, ...]] = set()
        for n, row in enumerate(rows[t.name], start=2):
            where = f"{t.name}.csv:{n}"
            key = tuple(row[k] for k in t.key)
            if key in seen:
                problems.append(f"{where}: duplicate key {key}")
            seen.add(key)
            for col in t.columns:
                v = row[col.name]
                if v == "":
                    if col.required:
                        problems.append(f"{where}: {col.name} is required")
                    continue
                if col.type == "datetime":
                    if not ISO.match(v):
                        problems.append(f"{where}: {col.name} not ISO 8601: {v!r}")
                    else:
                        try:
                            datetime.fromisoformat(v)
                        except ValueError:
                            problems.append(f"{where}: {col.name} not a date: {v!r}")
                elif col.type == "boolean":
                    if v not in ("true", "false"):
                        problems.append(f"{where}: {col.name} not a boolean: {v!r}")
                elif col.type in ("integer", "scale7", "number"):
                    try:
                        x = float(v) if col.type == "number" else int(v)
                    except ValueError:
                        if not (col.type == "scale7" and v in labels):
                            problems.append(f"{where}: {col.name} not a number: {v!r}")
                        continue
                    lo, hi = (1, 7) if col.type == "scale7" else (col.min, col.max)
                    if (lo is not None and x < lo) or (hi is not None and x > hi):
                        problems.append(f"{where}: {col.name} out of range: {v!r}")
                if col.allowed is not None and v not in col.allowed:
                    problems.append(f"{where}: {col.name} not allowed: {v!r}")
        keys[t.name] = seen
    for t in schema.tables:
        for ref in t.references:
            target = keys[ref.table]
            for n, row in enumerate(rows[t.name], start=2):
                value = tuple(row[c] for c in ref.columns)
                if "" in value:
                    continue
                if value not in target:
                    problems.append(
                        f"{t.name}.csv:{n}: {','.join(ref.columns)} {value} not in {ref.table}"
                    )
    return problems


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "small"
    generate(out, seed=7, scale=0.02)
    return out


@pytest.fixture(scope="module")
def modest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough for the calibration figures to settle (about 10,000 crimes)."""
    out = tmp_path_factory.mktemp("synth") / "modest"
    generate(out, seed=3, scale=0.15)
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


# -- reproducible ---------------------------------------------------------------------------------


def test_same_seed_same_bytes(tmp_path: Path, small: Path) -> None:
    again = tmp_path / "again"
    counts = generate(again, seed=7, scale=0.02)
    assert files(again) == files(small)
    assert counts == {name[:-4]: b.count(b"\n") - 1 for name, b in files(again).items()}


def test_same_bytes_in_another_process(tmp_path: Path, small: Path) -> None:
    """No dependence on string hashing (set order) or anything else that varies by process."""
    out = tmp_path / "other"
    code = f"from pathlib import Path; from vcop.synth import generate; generate(Path({str(out)!r}), seed=7, scale=0.02)"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert files(out) == files(small)


def test_different_seed_different_data(tmp_path: Path, small: Path) -> None:
    other = tmp_path / "seed8"
    generate(other, seed=8, scale=0.02)
    a, b = files(small), files(other)
    assert a.keys() == b.keys()
    # the population file is not drawn: the same residents whatever the seed
    assert all(a[name] != b[name] for name in a if name != "population.csv")
    assert a["population.csv"] == b["population.csv"]


# -- the shape of the extract --------------------------------------------------------------------


def test_one_file_per_table_with_schema_header(small: Path) -> None:
    schema = load_schema()
    assert sorted(p.name for p in small.iterdir()) == sorted(f"{t}.csv" for t in schema.table_names)
    for t in schema.tables:
        assert header(small, t.name) == list(t.column_names)


def test_every_clean_row_satisfies_the_schema(small: Path) -> None:
    assert schema_problems(small, load_schema()) == []


def test_everything_lies_in_the_window(small: Path) -> None:
    first = datetime(2024, 7, 1)
    last = datetime(2025, 6, 30, 23, 59, 59)
    crimes = read(small, "crimes")
    reported = [datetime.fromisoformat(c["reported_at"]) for c in crimes]
    assert min(reported) >= first and max(reported) <= last
    assert min(reported) < first + timedelta(days=2) and max(reported) > last - timedelta(days=2)
    dated = {
        "crimes": ["recorded_at", "outcome_at"],
        "case_events": ["event_at"],
        "contacts": ["contact_at"],
        "referrals": ["referred_at"],
        "needs_assessments": ["completed_at"],
        "care_contracts": ["agreed_at"],
        "supervisory_reviews": ["completed_at"],  # due_at may lie ahead: the next review
        "incidents": ["received_at", "arrived_at"],
        "survey_responses": ["surveyed_at"],
        "agency_events": ["event_at"],
        "agency_contacts": ["contact_at"],
        "review_requests": ["requested_at", "acknowledged_at", "completed_at"],
        "complaints": ["received_at", "acknowledged_at", "responded_at"],
        "expense_claims": ["received_at", "paid_at"],
        "interpretation_needs": ["identified_at", "provided_at"],
    }
    for table, cols in dated.items():
        for row in read(small, table):
            for col in cols:
                if row[col]:
                    assert first <= datetime.fromisoformat(row[col]) <= last, (table, col, row)


def test_structure_is_consistent(small: Path) -> None:
    crimes = {c["crime_id"]: c for c in read(small, "crimes")}
    events = {e["event_id"]: e for e in read(small, "case_events")}
    for e in events.values():
        assert e["event_at"] >= crimes[e["crime_id"]]["reported_at"]
    for c in crimes.values():
        if c["outcome_code"]:
            assert c["outcome_at"] > c["reported_at"]
            assert c["recorded_at"]
        if c["recorded_at"]:
            assert c["recorded_at"] >= c["reported_at"]
    contacts = read(small, "contacts")
    linked = [k for k in contacts if k["about_event_id"]]
    assert linked
    for k in linked:
        e = events[k["about_event_id"]]
        assert e["crime_id"] == k["crime_id"]
        assert k["purpose"] == e["event_type"]
        assert k["contact_at"] >= e["event_at"]
    event_types = {e["event_type"] for e in events.values()}
    unlinked_updates = [
        k for k in contacts if not k["about_event_id"] and k["purpose"] in event_types
    ]
    assert unlinked_updates, "some event updates are recorded without the event id"
    ids = [c["crime_id"] for c in crimes.values()]
    assert all(re.fullmatch(r"DS-C-\d{6}", i) for i in ids)
    officers = {c["officer_id"] for c in crimes.values() if c["officer_id"]}
    assert all(re.fullmatch(r"DS-O-\d{4}", o) for o in officers)
    assert {c["area"] for c in crimes.values()} == {"North", "South"}
    assert len({c["district"] for c in crimes.values()}) == 6
    units = {c["unit"] for c in crimes.values() if c["unit"]}
    assert any("Safeguarding" in u for u in units) and any("CID" in u for u in units)
    no_victim = set(crimes) - {v["crime_id"] for v in read(small, "victims")}
    assert {crimes[c]["crime_type"] for c in no_victim} >= {
        "Drugs",
        "Possession of weapons",
        "Shoplifting",
    }


def test_no_personal_details(small: Path) -> None:
    """No column for names, addresses or phone numbers, and no value that looks like one.

    ``lsoa_name`` is the ONS name of a statistical area (e.g. 'Northbury 012C'), not a person's."""
    personal = re.compile(
        r"(^|_)(name|surname|forename|address|phone|telephone|mobile|email|postcode|birth|dob)($|_)"
    )
    phone = re.compile(r"(\+44|\b0\d{3,4}[ -]?\d{3}[ -]?\d{3,4}\b)")
    postcode = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
    for t in load_schema().table_names:
        cols = header(small, t)
        assert not [c for c in cols if personal.search(c) and c != "lsoa_name"], t
        for row in read(small, t):
            for col, v in row.items():
                assert "@" not in v and not phone.search(v) and not postcode.search(v), (t, col, v)


# -- calibration ----------------------------------------------------------------------------------


def test_calibration(modest: Path) -> None:
    scale = 0.15
    params = load_params()
    crimes = read(modest, "crimes")
    n = len(crimes)
    assert n == pytest.approx(params.derived.crimes_per_year * scale, rel=0.05)

    mix = Counter(c["crime_type"] for c in crimes)
    for crime_type, share in params.derived.crime_type_mix.items():
        assert mix[crime_type] / n == pytest.approx(share, abs=0.015), crime_type

    da = [c for c in crimes if c["domestic_abuse"] == "true"]
    by_month = Counter(c["reported_at"][:7] for c in da)
    assert max(by_month.values()) == pytest.approx(1000 * scale, rel=0.2)
    assert 0.12 < len(da) / n < 0.19
    assert sum(c["crime_type"] == "Violence and sexual offences" for c in da) / len(da) > 0.75
    hate = sum(c["hate_crime"] == "true" for c in crimes) / n
    assert 0.015 < hate < 0.035

    victims = read(modest, "victims")
    people = Counter(v["victim_id"] for v in victims)
    assert len(people) == pytest.approx(29000 * scale, rel=0.12)
    da_ids = {c["crime_id"] for c in da}
    da_people = Counter(v["victim_id"] for v in victims if v["crime_id"] in da_ids)
    assert sum(1 for k in da_people.values() if k > 1) / len(da_people) > 0.1, "repeat DA victims"
    opted_out = sum(v["updates_opt_out"] == "true" for v in victims) / len(victims)
    assert 0.005 < opted_out < 0.04
    assert any(v["age_at_report"] and int(v["age_at_report"]) < 18 for v in victims)

    done = {
        (a["victim_id"], a["crime_id"])
        for a in read(modest, "needs_assessments")
        if a["completed_at"]
    }
    completed = sum((v["victim_id"], v["crime_id"]) in done for v in victims) / len(victims)
    assert 0.80 < completed < 0.88

    surveys = read(modest, "survey_responses")
    dims = ["ease_of_contact", "actions_taken", "follow_up", "treatment", "whole_experience"]
    satisfied = {}
    for d in dims:
        answered = [int(s[d]) for s in surveys if s[d]]
        satisfied[d] = sum(x <= 3 for x in answered) / len(answered)
    assert 0.71 < satisfied["whole_experience"] < 0.82
    assert min(satisfied, key=satisfied.__getitem__) == "follow_up"
    assert {s["survey"] for s in surveys} == {"victim_satisfaction", "domestic_abuse"}
    assert len(surveys) / 12 == pytest.approx(250 * scale, rel=0.25)

    def minutes(i: dict[str, str]) -> float:
        return (
            datetime.fromisoformat(i["arrived_at"]) - datetime.fromisoformat(i["received_at"])
        ).total_seconds() / 60

    incidents = [i for i in read(modest, "incidents") if i["arrived_at"]]
    immediate = statistics.median(minutes(i) for i in incidents if i["grade"] == "immediate")
    prompt = statistics.median(minutes(i) for i in incidents if i["grade"] == "prompt")
    da_prompt = statistics.median(
        minutes(i)
        for i in incidents
        if i["grade"] == "prompt" and i["incident_type"] == "Domestic abuse"
    )
    assert 15 <= immediate <= 21
    assert 90 <= prompt <= 120
    assert da_prompt > 1.8 * prompt
    assert any(i["delay_reason"] for i in incidents)
    assert any(i["crime_id"] for i in incidents) and any(not i["crime_id"] for i in incidents)


def test_imperfections(modest: Path) -> None:
    contacts = read(modest, "contacts")
    unsuccessful = sum(k["successful"] == "false" for k in contacts) / len(contacts)
    assert 0.01 < unsuccessful < 0.15
    purposes = Counter(k["purpose"] for k in contacts)
    for purpose in (
        "information_pack",
        "written_acknowledgement",
        "needs_assessment",
        "vps_offer",
        "compensation_info",
        "vcc_update",
        "update",
        "restorative_justice_info",
    ):
        assert purposes[purpose] > 0, purpose
    referrals = read(modest, "referrals")
    services = Counter(r["service"] for r in referrals)
    assert services["victim_hub"] > services["idva"] > 0 and services["isva"] > 0
    assert services["family_liaison"] > 0  # bereaved relatives (homicide)
    assert any(r["consent"] == "declined" and not r["referred_at"] for r in referrals)
    victims = read(modest, "victims")
    hub = {(r["victim_id"], r["crime_id"]) for r in referrals if r["service"] == "victim_hub"}
    missed = sum((v["victim_id"], v["crime_id"]) not in hub for v in victims) / len(victims)
    assert 0.02 < missed < 0.2, "some victims are never referred"
    reviews = read(modest, "supervisory_reviews")
    overdue = [s for s in reviews if not s["completed_at"] and s["due_at"] < "2025-06-20"]
    assert 0.03 < len(overdue) / len(reviews) < 0.2
    intervals = Counter(c["update_interval_days"] for c in read(modest, "care_contracts"))
    assert set(intervals) == {"7", "14", "28"}
    assert any(v["sex"] == "" for v in victims) and any(v["ethnicity"] == "" for v in victims)


def test_last_days_look_like_a_live_extract(modest: Path) -> None:
    crimes = read(modest, "crimes")
    recent = [c for c in crimes if c["reported_at"] >= "2025-06-16"]
    open_share = sum(not c["outcome_code"] for c in recent) / len(recent)
    assert open_share > 0.3
    older = [c for c in crimes if c["reported_at"] < "2024-10-01"]
    assert sum(not c["outcome_code"] for c in older) / len(older) < 0.1
    assert sum(e["event_at"] >= "2025-06-28" for e in read(modest, "case_events")) > 10
    assert sum(k["contact_at"] >= "2025-06-28" for k in read(modest, "contacts")) > 10
    assert any(
        s["due_at"] > "2025-07-01" and not s["completed_at"]
        for s in read(modest, "supervisory_reviews")
    )


# -- dirty, atomic, CLI, parameters --------------------------------------------------------------


def test_dirty_adds_rows_that_break_the_rules(tmp_path: Path, small: Path) -> None:
    out = tmp_path / "dirty"
    counts = generate(out, seed=7, scale=0.02, dirty=True)
    clean = files(small)
    for name, data in files(out).items():
        assert data.startswith(clean[name]), "the clean rows come first, unchanged"
    assert sum(counts.values()) > sum(b.count(b"\n") - 1 for b in clean.values())
    problems = schema_problems(out, load_schema())
    text = "\n".join(problems)
    for expected in (
        "duplicate key",
        "is required",
        "not ISO 8601",
        "not a boolean",
        "not allowed",
        "out of range",
        "not in crimes",
    ):
        assert expected in text, expected
    tables = {p.split(".csv")[0] for p in problems}
    assert len(tables) >= 6


def test_a_failed_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "extract"

    def crash(what: str, done: int, total: int) -> None:
        if what == "writing files" and done > 90:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        generate(out, scale=0.01, progress=crash)
    assert list(tmp_path.iterdir()) == []


def test_rewrites_an_existing_folder(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    generate(out, seed=1, scale=0.01)
    (out / "notes.txt").write_text("kept")
    generate(out, seed=2, scale=0.01)
    assert (out / "notes.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]


def test_years_and_end(tmp_path: Path) -> None:
    out = tmp_path / "two"
    generate(out, years=2, end=date(2024, 2, 29), scale=0.01)
    reported = sorted(c["reported_at"] for c in read(out, "crimes"))
    assert reported[0] >= "2022-03-01" and reported[-1] < "2024-03-01"
    assert reported[0] < "2022-03-05" and reported[-1] > "2024-02-27"
    with pytest.raises(ValueError):
        generate(out, years=0)


def test_cli(tmp_path: Path) -> None:
    import vcop.cli.demo  # noqa: F401  (registers the command)
    from vcop.cli.app import app

    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app, ["demo-data", "--out", str(out), "--scale", "0.01", "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "crimes.csv" in result.output and "total" in result.output
    assert (out / "contacts.csv").exists()
    help_text = CliRunner().invoke(app, ["demo-data", "--help"]).output
    for option in ("--out", "--seed", "--years", "--end", "--dirty", "--scale"):
        assert option in help_text


def test_parameter_file_names_its_source() -> None:
    params = load_params()
    assert params.source["licence"] == "Open Government Licence v3.0"
    assert "data.police.uk" in params.source["attribution"]
    assert params.source["generated_by"] == "scripts/derive_synth_params.py"
    assert "Anti-social behaviour" not in params.derived.crime_type_mix
    for crime_type, mix in params.derived.outcome_mix.items():
        assert sum(mix.values()) == pytest.approx(1.0, abs=0.001), crime_type
        assert all(1 <= code <= 22 for code in mix)
    for mapping in params.outcome_mapping.values():
        assert sum(mapping.values()) == pytest.approx(1.0)


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "data" / "cambs-2024").exists(), reason="needs ../shared/data/cambs-2024"
)
def test_parameter_file_is_what_the_script_writes(tmp_path: Path) -> None:
    out = tmp_path / "demoshire.yaml"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "derive_synth_params.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    packaged = ROOT / "src" / "vcop" / "definitions" / "synth" / "demoshire.yaml"
    assert out.read_text() == packaged.read_text(), "re-run scripts/derive_synth_params.py"
    assert yaml.safe_load(out.read_text())["version"] == 1
