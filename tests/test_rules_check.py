"""The Code as data: the packaged edition is valid and faithful to the reference, `vcop check`
finds every problem with its file and line, and a revised Code is a new folder, not new code."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import ibis
import pytest
import yaml
from typer.testing import CliRunner

from tests.cases.runner import load_tables
from vcop.cli import rules as _rules  # noqa: F401  (registers the commands)
from vcop.cli.app import app
from vcop.rules.docs import rules_doc
from vcop.rules.ledger import build_ledger
from vcop.rules.sources import Sources
from vcop.spec.check import CHECKS, DefinitionError, check_definitions
from vcop.spec.code import LocalStandards, check_code, load_code, package_root
from vcop.store.calendar import ensure_calendar

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "victims-code-2021.yaml"

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


def test_packaged_definitions_are_valid() -> None:
    assert check_definitions() == []
    assert "code" in CHECKS
    code = load_code()
    assert [e.edition for e in code.editions] == ["2021"]
    assert len(code.evaluated) >= 20


@pytest.mark.skipif(not REFERENCE.exists(), reason="needs ../shared/reference")
def test_every_reference_obligation_is_transcribed_faithfully() -> None:
    reference = yaml.safe_load(REFERENCE.read_text("utf-8"))
    code = load_code()
    ours = {o.id: o for o in code.obligations}
    for ref in reference["obligations"]:
        o = ours[ref["id"]]
        assert o.right == ref["right"], o.id
        assert o.owner == ref["owner"], o.id
        assert o.status == ref["status"], o.id
        assert o.title == ref["title"], o.id
        if o.deadline.local_standard is None and not o.deadline.agreed_with_victim:
            assert o.deadline.clock == ref["clock"], o.id
        assert o.deadline.enhanced == ref["days_enhanced"], o.id
        assert o.deadline.standard == ref["days_standard"], o.id
        assert o.source == ref["source"], o.id
        assert o.effective_from == date(2021, 4, 1), o.id
    local = {o.id for o in code.obligations} - {r["id"] for r in reference["obligations"]}
    assert all(ours[i].status == "local" for i in local), local
    rights = {r["right"]: r["title"] for r in reference["rights"]}
    assert {r.right: r.title for r in code.edition("2021").header.rights} == rights


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged Code definitions."""
    root = tmp_path / "code"
    shutil.copytree(str(package_root()), root)
    return root


def edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` (once) in a file; return the 1-based line it was on."""
    text = path.read_text("utf-8")
    assert text.count(old) >= 1, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), "utf-8")
    return line


def messages(root: Path) -> list[str]:
    return [str(p).replace(str(root) + "/", "") for p in check_code(root)]


def test_a_valid_copy_has_no_problems(copy: Path) -> None:
    assert check_code(copy) == []


def test_every_problem_is_reported_with_file_and_line(copy: Path) -> None:
    r6 = copy / "2021" / "right_06.yaml"
    zero = edit(
        r6,
        "deadline: {clock: working_days, enhanced: 1, standard: 5}\n    status: confirmed\n    effective_from: 2021-04-01\n    effective_to: null\n    notes: Reasons explained where applicable.",
        "deadline: {clock: working_days, enhanced: 1, standard: 0}\n    status: confirmed\n    effective_from: 2021-04-01\n    effective_to: null\n    notes: Reasons explained where applicable.",
    )
    event = edit(r6, "events: [suspect_interviewed]", "events: [suspect_interveiwed]")
    typo = edit(
        r6,
        "opt_out_applies: true\n  - id: R6.bail-or-rui",
        "opt_out_aplies: true\n  - id: R6.bail-or-rui",
    )
    r4 = copy / "2021" / "right_04.yaml"
    dates = edit(
        r4,
        "effective_to: null\n    notes: Automatic",
        "effective_to: 2020-01-01\n    notes: Automatic",
    )
    local = edit(
        r4, "local_standard: needs_assessment_working_days", "local_standard: needs_assesment_days"
    )
    r9 = copy / "2021" / "right_09.yaml"
    duplicate = edit(r9, "id: R9.sentence", "id: R9.case-outcome")
    eligibility = copy / "2021" / "eligibility.yaml"
    flag = edit(eligibility, "victim_flag: intimidated", "victim_flag: frightened")
    offences = copy / "2021" / "offence_codes.yaml"
    code = edit(offences, 'codes: ["2"]', 'codes: ["2", "attempted murder"]')

    found = messages(copy)
    expected = [
        f"2021/right_06.yaml:{zero}: R6.suspect-arrested: deadline.standard must be > 0",
        f"2021/right_06.yaml:{event}: R6.suspect-interviewed: unknown event type 'suspect_interveiwed'",
        f"2021/right_06.yaml:{typo}: R6.released-without-charge: evaluate.opt_out_aplies: unknown field (a typo?)",
        f"2021/right_04.yaml:{dates}: R4.referral-to-support: effective_to is before effective_from",
        f"2021/right_04.yaml:{local}: R4.needs-assessment: deadline.local_standard 'needs_assesment_days' is not a local standard (one of {', '.join(LocalStandards.model_fields)})",
        f"2021/right_09.yaml:{duplicate}: R9.case-outcome: duplicate obligation id",
        f"2021/eligibility.yaml:{flag}: intimidated: victim_flag 'frightened' is not a boolean column (bereaved_relative, disability, intimidated, persistently_targeted, unsafe_to_contact, updates_opt_out, vulnerable)",
        f"2021/offence_codes.yaml:{code}: offence list attempted_murder: 'attempted murder' is not a Home Office offence code (e.g. 8N, 19C, 4.1)",
    ]
    for message in expected:
        assert message in found, f"{message}\nnot in\n" + "\n".join(found)
    assert not any("at once" in m for m in found)  # a duplicate is one problem, not two
    with pytest.raises(DefinitionError) as raised:
        load_code(copy)
    assert len(raised.value.problems) == len(found)


def test_broken_yaml_and_missing_files(copy: Path) -> None:
    bad = edit(
        copy / "2021" / "right_03.yaml",
        "  - id: R3.information-pack",
        "  - id: [R3.information-pack",
    )
    (copy / "2021" / "eligibility.yaml").unlink()
    found = messages(copy)
    assert any(
        m.startswith(f"2021/right_03.yaml:{bad + 1}: not valid YAML")
        or m.startswith(f"2021/right_03.yaml:{bad}: not valid YAML")
        for m in found
    ), found
    assert "2021/eligibility.yaml: file is missing" in found


def test_vcop_check_prints_problems_and_fails(copy: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["check"])
    assert ok.exit_code == 0, ok.output
    assert "Definitions OK" in ok.output
    line = edit(
        copy / "2021" / "right_08.yaml",
        "enhanced: 1, standard: 1}\n    status: confirmed\n    effective_from: 2021-04-01\n    effective_to: null\n    notes: >-",
        "enhanced: 2, standard: 1}\n    status: confirmed\n    effective_from: 2021-04-01\n    effective_to: null\n    notes: >-",
    )
    broken = runner.invoke(app, ["check", "--code-dir", str(copy)])
    assert broken.exit_code == 1
    assert (
        f"2021/right_08.yaml:{line}: R8.hearing-time-date-venue: deadline.enhanced (2) is longer "
        "than deadline.standard (1)"
    ) in broken.output


def _revise(copy: Path) -> None:
    """Make the copy two editions: 2021 until 2025, and a '2026' one with a 3-day arrest update."""
    old, new = copy / "2021", copy / "2026"
    shutil.copytree(old, new)
    for path in old.glob("*.yaml"):
        text = path.read_text("utf-8").replace("effective_to: null", "effective_to: 2025-12-31")
        path.write_text(text, "utf-8")
    for path in new.glob("*.yaml"):
        text = path.read_text("utf-8").replace(
            "effective_from: 2021-04-01", "effective_from: 2026-01-01"
        )
        path.write_text(text.replace('edition: "2021"', 'edition: "2026"'), "utf-8")
    edit(
        new / "right_06.yaml",
        "deadline: {clock: working_days, enhanced: 1, standard: 5}\n    status: confirmed\n    effective_from: 2026-01-01\n    effective_to: null\n    notes: Reasons explained where applicable.",
        "deadline: {clock: working_days, enhanced: 1, standard: 3}\n    status: confirmed\n    effective_from: 2026-01-01\n    effective_to: null\n    notes: Reasons explained where applicable.",
    )


def test_a_revised_code_is_a_new_folder(copy: Path) -> None:
    _revise(copy)
    assert messages(copy) == []
    code = load_code(copy)
    assert [e.edition for e in code.editions] == ["2021", "2026"]
    con = load_tables(
        {
            "crimes": [
                {"crime_id": "C1", "reported_at": "2025-12-01 09:00:00", "crime_type": "Burglary"}
            ],
            "victims": [{"victim_id": "V1", "crime_id": "C1"}],
            "case_events": [
                {
                    "event_id": "E1",
                    "crime_id": "C1",
                    "event_type": "suspect_arrested",
                    "event_at": "2025-12-31 10:00:00",
                },
                {
                    "event_id": "E2",
                    "crime_id": "C1",
                    "event_type": "suspect_arrested",
                    "event_at": "2026-01-05 10:00:00",
                },
            ],
        }
    )
    ensure_calendar(con)
    src = Sources.from_backend(ibis.duckdb.from_connection(con))
    rows = (
        build_ledger(src, date(2026, 2, 1), code=code, standards=LocalStandards())
        .to_pyarrow()
        .to_pylist()
    )
    arrests = {
        r["trigger_event_id"]: r for r in rows if r["obligation_id"] == "R6.suspect-arrested"
    }
    assert arrests["E1"]["code_edition"] == "2021"
    assert arrests["E1"]["due_date"] == date(2026, 1, 8)  # 5 working days (1 January a holiday)
    assert arrests["E2"]["code_edition"] == "2026"
    assert arrests["E2"]["due_date"] == date(2026, 1, 8)  # 3 working days under the revision
    assert len({r["definitions_hash"] for r in rows}) == 1
    assert rows[0]["definitions_hash"] != load_code().definitions_hash(LocalStandards())


def test_editions_must_not_overlap(copy: Path) -> None:
    _revise(copy)
    edit(copy / "2021" / "right_06.yaml", "effective_to: 2025-12-31", "effective_to: 2026-01-01")
    found = messages(copy)
    assert any(
        "R6.decision-not-to-investigate: in force in editions 2021 and 2026 at once" in m
        for m in found
    ), found
    assert any("effective_to must end by the edition's (2025-12-31)" in m for m in found), found


def test_the_hash_follows_the_files_and_the_standards(copy: Path) -> None:
    base = load_code(copy).definitions_hash(LocalStandards())
    assert load_code(copy).definitions_hash(LocalStandards(needs_assessment_working_days=2)) != base
    edit(
        copy / "2021" / "right_06.yaml", "Reasons explained where applicable.", "Reasons explained."
    )
    assert load_code(copy).definitions_hash(LocalStandards()) != base


def test_the_rules_doc_is_current() -> None:
    path = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    assert path.read_text("utf-8") == rules_doc(), "docs/rules.md is stale: regenerate it"


def test_every_obligation_cites_the_code() -> None:
    """Each obligation cites a Code paragraph, or its right and heading marked unverified."""
    for o in load_code().obligations:
        p = o.code_paragraph
        if o.right is None:
            assert p.paragraph is None, o.id
            continue
        assert p.section.startswith(f"Right {o.right}:"), o.id
        assert p.verified or "(unverified)" in p.describe(), o.id


def test_a_code_paragraph_must_name_its_right(copy: Path) -> None:
    line = edit(
        copy / "2021" / "right_12.yaml",
        'code_paragraph: {section: "Right 12:',
        'code_paragraph: {section: "Right 11:',
    )
    assert (
        f"2021/right_12.yaml:{line}: R12.complaint-response: code_paragraph.section must start "
        "'Right 12:' (the right, then the section heading)"
    ) in messages(copy)


def test_new_parameters_are_checked(copy: Path) -> None:
    r12 = copy / "2021" / "right_12.yaml"
    table = edit(r12, "table: complaints", "table: complaint")
    r8 = copy / "2021" / "right_08.yaml"
    purpose = edit(r8, "purposes: [required_to_give_evidence]", "purposes: [told_to_attend]")
    agency = edit(
        r8,
        "agencies: [wcu]\n      purposes: [hearing_outcome]",
        "agencies: [court]\n      purposes: [hearing_outcome]",
    )
    r2 = copy / "2021" / "right_02.yaml"
    hours = edit(
        r2,
        "{clock: hours, local_standard: crime_recording_hours}",
        "{clock: hours, local_standard: needs_assessment_working_days}",
    )
    r11 = copy / "2021" / "right_11.yaml"
    missing = edit(r11, "      purposes: [vlo_first_contact]\n", "")
    found = messages(copy)
    expected = [
        f"2021/right_12.yaml:{table}: R12.complaint-response: evaluate.table 'complaint' is not a "
        "table vcop can time (one of crimes, interpretation_needs, review_requests, complaints, "
        "expense_claims)",
        f"2021/right_08.yaml:{purpose}: R8.required-to-give-evidence: unknown contact purpose "
        "'told_to_attend'",
        f"2021/right_08.yaml:{agency}: R8.hearing-outcomes: unknown agency 'court'",
        f"2021/right_02.yaml:{hours}: R2.record-crime: deadline.clock: hours needs a "
        "local_standard counted in hours",
    ]
    for message in expected:
        assert message in found, f"{message}\nnot in\n" + "\n".join(found)
    assert any(
        "R11.vlo-first-contact: kind event_update with trigger: agency_event needs "
        "evaluate.purposes" in m
        for m in found
    ), found
    assert missing > 0


def test_vcop_check_lists_every_obligation() -> None:
    result = CliRunner().invoke(app, ["check"], terminal_width=250)
    assert result.exit_code == 0, result.output
    code = load_code()
    lines = result.output.splitlines()
    for o in code.obligations:
        mine = [line for line in lines if f"{o.edition} {o.id} " in line]
        assert len(mine) == 1, o.id
        kind = o.evaluate.kind if o.evaluate is not None else "-"
        assert kind in mine[0] and o.owner in mine[0], mine[0]
        assert mine[0].endswith(o.code_paragraph.describe()), mine[0]
        assert (" yes " in mine[0]) == (o.evaluate is not None), mine[0]
    assert sum(1 for o in code.obligations if o.id.startswith("R")) == 43
    assert len([o for o in code.evaluated if o.id.startswith("R")]) >= 36
