"""Obligation kinds are declared once (vcop.spec.code.OBLIGATION_KINDS) with one evaluator each
(vcop.rules.obligations.EVALUATORS): an unknown kind fails the check and never borrows another
kind's wording, and every kind has a reason for every status it can produce."""

from __future__ import annotations

import shutil
from pathlib import Path
from string import Formatter

import pytest
from typer.testing import CliRunner

from vcop.cli import rules as _rules  # noqa: F401  (registers the commands)
from vcop.cli.app import app
from vcop.rules.obligations import EVALUATORS, evaluator
from vcop.rules.status import REASON_VALUES, STATUSES, reason
from vcop.spec.check import DefinitionError
from vcop.spec.code import (
    OBLIGATION_KINDS,
    OPTED_OUT,
    REASON_FIELDS,
    LedgerStatus,
    UnknownKind,
    check_code,
    load_code,
    obligation_kind,
    package_root,
)

#: The statuses no kind can do without: every row is met, late, pending or overdue unless it is
#: excused.
ALWAYS = {LedgerStatus.met, LedgerStatus.late, LedgerStatus.pending, LedgerStatus.overdue}


def test_statuses_are_one_enum_equal_to_their_strings() -> None:
    assert tuple(LedgerStatus) == STATUSES
    assert [str(s) for s in STATUSES] == ["met", "late", "pending", "overdue", "not_applicable"]
    assert all(s == s.value and s.name == s.value for s in LedgerStatus)
    assert {"met": 1}[LedgerStatus.met] == 1


def test_every_kind_used_in_the_code_is_declared_and_has_an_evaluator() -> None:
    used = {o.evaluate.kind for o in load_code().obligations if o.evaluate is not None}
    assert used
    assert used <= set(OBLIGATION_KINDS)
    assert used <= set(EVALUATORS)


def test_every_declared_kind_has_exactly_one_evaluator() -> None:
    assert list(EVALUATORS) == list(OBLIGATION_KINDS)
    assert len(set(EVALUATORS.values())) == len(EVALUATORS)


@pytest.mark.parametrize("kind", list(OBLIGATION_KINDS))
def test_each_kind_has_a_reason_for_each_status_it_can_produce(kind: str) -> None:
    k = OBLIGATION_KINDS[kind]
    assert k.name == kind
    can_produce = set(k.statuses())
    assert can_produce >= ALWAYS
    if k.opt_out:  # an opt-out makes a row not applicable
        assert OPTED_OUT in k.excuses.values(), kind
        assert LedgerStatus.not_applicable in can_produce, kind
    missing = can_produce - set(k.reasons)
    assert not missing, f"kind {kind} has no reason for {sorted(missing)}"
    assert set(k.reasons) <= set(LedgerStatus)
    for status, template in k.reasons.items():
        assert template.strip(), (kind, status)
        fields = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
        assert fields <= set(REASON_FIELDS), (kind, status, fields)
    if LedgerStatus.not_applicable in k.reasons:
        assert "{na_reason}" in k.reasons[LedgerStatus.not_applicable]


def test_every_reason_placeholder_has_a_value() -> None:
    assert set(REASON_VALUES) == set(REASON_FIELDS)


def test_each_kind_declares_triggers_and_a_deadline() -> None:
    for k in OBLIGATION_KINDS.values():
        assert k.triggers, k.name
        assert k.deadlines, k.name
        assert set(k.deadlines) <= {
            "count",
            "by_finalisation",
            "before_event",
            "agreed_with_victim",
            "none",
        }
        if k.hours:
            assert "count" in k.deadlines, k.name


def test_an_unknown_kind_raises_rather_than_falling_through() -> None:
    with pytest.raises(UnknownKind, match="'complaint_response'"):
        obligation_kind("complaint_response")
    with pytest.raises(UnknownKind, match="'complaint_response'"):
        evaluator("complaint_response")
    with pytest.raises(UnknownKind, match="'complaint_response'"):
        reason(None, "complaint_response", None)  # type: ignore[arg-type]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged Code definitions."""
    root = tmp_path / "code"
    shutil.copytree(str(package_root()), root)
    return root


def _unknown_kind(root: Path) -> int:
    """Give R3.information-pack an undeclared kind; return the line of its ``kind:``."""
    path = root / "2021" / "right_03.yaml"
    text = path.read_text("utf-8")
    anchor = text.index("id: R3.information-pack")
    old = "kind: contact_presence"
    at = text.index(old, anchor)
    path.write_text(text[:at] + "kind: complaint_response" + text[at + len(old) :], "utf-8")
    return text[:at].count("\n") + 1


def test_an_unknown_kind_in_a_definition_fails_the_check_naming_it(copy: Path) -> None:
    line = _unknown_kind(copy)
    problems = [str(p).replace(str(copy) + "/", "") for p in check_code(copy)]
    assert problems == [
        f"2021/right_03.yaml:{line}: R3.information-pack: evaluate.kind 'complaint_response' "
        f"is not a kind of obligation vcop knows (one of {', '.join(OBLIGATION_KINDS)})"
    ]
    with pytest.raises(DefinitionError, match="complaint_response"):
        load_code(copy)


def test_vcop_check_fails_on_an_unknown_kind(copy: Path) -> None:
    _unknown_kind(copy)
    result = CliRunner().invoke(app, ["check", "--code-dir", str(copy)])
    assert result.exit_code != 0
    assert "complaint_response" in result.output
