"""The metric catalogue: it loads, every public metric is in it, and `vcop check` finds mistakes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vcop.spec.check import DefinitionError
from vcop.spec.metrics import (
    LEDGER_COLUMNS,
    REQUIRED_METRICS,
    catalogue_doc,
    check_catalogue,
    load_catalogue,
    package_root,
    sources,
)

ROOT = Path(__file__).resolve().parents[1]


def test_the_packaged_catalogue_has_no_problems() -> None:
    assert check_catalogue() == []


def test_every_public_metric_is_defined_once() -> None:
    cat = load_catalogue()
    ids = cat.metric_ids
    assert len(ids) == len(set(ids))
    for mid in REQUIRED_METRICS:
        assert mid in ids
    assert all(m.description and m.title for m in cat.metrics)


def test_the_asked_for_breakdowns_exist() -> None:
    cat = load_catalogue()
    wanted = {
        "area",
        "district",
        "unit",
        "officer",
        "crime_type",
        "enhanced",
        "age_band",
        "sex",
        "ethnicity",
        "disability",
    }
    assert wanted <= {b.id for b in cat.breakdowns}
    # compliance by protected characteristic, as the Justice Committee and Victims' Commissioner ask
    for mid in ("support_referral_on_time", "victim_updates_on_time", "needs_assessment_on_time"):
        assert wanted <= set(cat.metric(mid).breakdowns)
    assert "incident_type" in cat.metric("response_time_median_prompt").breakdowns


def test_quality_sits_beside_process() -> None:
    # the inspection's point: compliance (the ledger) next to what victims say (the surveys)
    families = {m.family for m in load_catalogue().metrics}
    assert {"victims_code", "victim_satisfaction", "domestic_abuse_satisfaction"} <= families


def test_the_ledger_columns_are_the_rules_engines() -> None:
    ledger = pytest.importorskip("vcop.rules.ledger")
    assert set(LEDGER_COLUMNS) <= set(ledger.LEDGER_SCHEMA)
    assert set(sources()["entitlements"].columns["status"].allowed or ()) == set(ledger.STATUSES)


def test_the_local_measure_is_said_to_be_local() -> None:
    ppo = load_catalogue().metric("prosecution_possible_outcome_rate")
    assert ppo.local_measure and "local measure" in ppo.description.lower()


# --- vcop check finds every mistake, with its file and line -----------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "metrics"
    shutil.copytree(str(package_root()), root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def _line_of(path: Path, text: str) -> int:
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if text in line:
            return n
    raise AssertionError(text)


def test_a_copy_of_the_catalogue_loads(copy: Path) -> None:
    assert check_catalogue(copy) == []
    assert load_catalogue(copy).metric_ids == load_catalogue().metric_ids


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "victims_code.yaml",
            "{column: status, in: [met, late]}",
            "{column: staus, in: [met, late]}",
            "entitlements has no column 'staus'",
        ),
        (
            "victims_code.yaml",
            "{column: status, in: [met, late]}",
            "{column: status, in: [met, lte]}",
            "'lte' is not a value of entitlements.status",
        ),
        (
            "victims_code.yaml",
            "equals: R4.referral-to-support}",
            "equals: R4.referal-to-support}",
            "no obligation 'R4.referal-to-support'",
        ),
        (
            "response.yaml",
            "breakdowns: [area, district, incident_type, delay_reason, force]",
            "breakdowns: [area, distrct, incident_type, delay_reason, force]",
            "no breakdown 'distrct'",
        ),
        (
            "response.yaml",
            "      - {column: grade, equals: immediate}",
            "      - {column: grade, equals: emergency}",
            "'emergency' is not a value of incidents.grade",
        ),
        (
            "victim_satisfaction.yaml",
            "      - {column: whole_experience, lte: 3}",
            "      - {column: whole_experience, lte: three}",
            "is not a number",
        ),
        ("crime_outcomes.yaml", "    kind: mean", "    kind: average", "kind: Input should be"),
        (
            "crime_outcomes.yaml",
            "    unit: days",
            "    unit: days\n    colour: red",
            "colour: unknown field",
        ),
        (
            "crime_outcomes.yaml",
            "    unit: count\n",
            "    unit: proportion\n",
            "a count metric is in count",
        ),
        (
            "crime_outcomes.yaml",
            "    benchmark_years: 3\n",
            "    benchmark_years: 3\n    spc_rebase: [2024-04-15]\n",
            "spc_rebase 2024-04-15 is not the first day of a month",
        ),
        (
            "crime_outcomes.yaml",
            "    breakdowns: [area, district, crime_type, domestic_abuse, sexual_offence, serious_sexual_offence, hate_crime, child_abuse, child_exploitation, age_band, sex, ethnicity, disability, force]",
            "    breakdowns: [area, enhanced]",
            "victim_crimes rows cannot be split by enhanced",
        ),
        (
            "crime_outcomes.yaml",
            "    breakdowns: [area, district, unit, crime_type, domestic_abuse, hate_crime, sexual_offence, serious_sexual_offence, force]\n",
            "    breakdowns: [area, child_abuse]\n",
            "crimes rows cannot be split by child_abuse",
        ),
        (
            "crime_outcomes.yaml",
            "    measure: {days_between: [reported_at, outcome_at]}\n",
            "    measure: {days_between: [reported_at, outcome_at]}\n    per_1000_residents: true\n",
            "only a count not split by group_by has a rate per 1,000 residents",
        ),
        (
            "catalogue.yaml",
            "    column: domestic_abuse\n",
            "    column: domestic_abuse\n    age_under: 18\n",
            "breakdown domestic_abuse: age_under goes with an offence_list",
        ),
        (
            "catalogue.yaml",
            "    offence_list: sexual_offences\n",
            "    offence_list: sexual_ofences\n",
            "no offence list 'sexual_ofences' in the Code definitions",
        ),
    ],
)
def test_a_mistake_is_reported_with_file_and_line(
    copy: Path, file: str, old: str, new: str, message: str
) -> None:
    path = copy / file
    _edit(path, old, new)
    problems = check_catalogue(copy)
    matching = [p for p in problems if message in p.message]
    assert matching, problems
    problem = matching[0]
    assert problem.file == str(path)
    assert (
        problem.line == _line_of(path, new.strip().splitlines()[0].strip())
        or problem.line is not None
    )
    with pytest.raises(DefinitionError):
        load_catalogue(copy)


def test_a_condition_problem_points_at_its_own_line(copy: Path) -> None:
    path = copy / "victims_code.yaml"
    _edit(
        path,
        "{column: obligation_id, equals: R11.vcs-referral}",
        "{column: obligation, equals: R11.vcs-referral}",
    )
    (problem,) = check_catalogue(copy)
    assert problem.line == _line_of(path, "{column: obligation, equals: R11.vcs-referral}")
    assert str(problem).startswith(f"{path}:{problem.line}: vcs_referral_on_time: ")


def test_every_problem_is_reported_at_once(copy: Path) -> None:
    _edit(copy / "response.yaml", "    unit: minutes\n", "    unit: hours\n")
    _edit(copy / "crime_outcomes.yaml", "    date: outcome_at\n", "    date: outcome_code\n")
    _edit(copy / "catalogue.yaml", "    column: officer_id", "    column: officer")
    problems = check_catalogue(copy)
    files = {Path(p.file).name for p in problems}
    assert files == {"response.yaml", "crime_outcomes.yaml", "catalogue.yaml"}


def test_a_missing_public_metric_and_a_stray_file_are_problems(copy: Path) -> None:
    text = (copy / "crime_outcomes.yaml").read_text("utf-8")
    head, _, tail = text.partition("  repeat_victimisation_rate:")
    (copy / "crime_outcomes.yaml").write_text(head, "utf-8")
    (copy / "extra.yaml").write_text("family: extra\ntitle: Extra\nmetrics: {}\n", "utf-8")
    messages = [p.message for p in check_catalogue(copy)]
    assert any("must define repeat_victimisation_rate" in m for m in messages)
    assert any("extra.yaml is not listed" in m for m in messages)
    del tail


def test_invalid_yaml_is_a_problem_not_a_crash(copy: Path) -> None:
    (copy / "response.yaml").write_text("family: response\nmetrics: [\n", "utf-8")
    problems = check_catalogue(copy)
    assert any("not valid YAML" in p.message for p in problems)


def test_the_catalogue_checks_run_in_vcop_check() -> None:
    from vcop.spec.check import CHECKS, check_definitions

    assert "metrics" in CHECKS
    assert check_definitions(["metrics"]) == []


# --- docs/metrics.md --------------------------------------------------------------------------


def test_the_docs_list_every_metric_with_its_definition() -> None:
    text = catalogue_doc()
    cat = load_catalogue()
    for m in cat.metrics:
        assert f"### {m.id}\n" in text
        assert m.description in text
    for b in cat.breakdowns:
        assert f"| `{b.id}` |" in text


def test_docs_metrics_md_is_current() -> None:
    path = ROOT / "docs" / "metrics.md"
    assert path.exists(), "docs/metrics.md missing: run `uv run vcop docs`"
    assert path.read_text("utf-8") == catalogue_doc(), (
        "docs/metrics.md is stale: run `uv run vcop docs`"
    )
