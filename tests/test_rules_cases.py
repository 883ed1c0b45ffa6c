"""The rule cases (tests/cases/<obligation>/*.yaml) on DuckDB, and invariants of every ledger.

Each case file is a small timeline with the ledger rows expected as of a date; see
``tests/cases/runner.py`` for the format. All variants share one database and each distinct
as-of date is evaluated once.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

import ibis
import pytest

from tests.cases.runner import Variant, database, groups, load_variants, verify
from vcop.rules.ledger import LEDGER_KEY, build_ledger
from vcop.rules.sources import Sources
from vcop.spec.code import LocalStandards, load_code
from vcop.store.calendar import add_working_days, ensure_calendar

# ibis 12 reads DuckDB results with a method DuckDB 2.0 deprecates.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

VARIANTS = load_variants()
GROUPS = groups(VARIANTS)


@cache
def _backend() -> ibis.BaseBackend:
    con = database(VARIANTS)
    ensure_calendar(con)
    return ibis.duckdb.from_connection(con)


@cache
def ledger_rows(as_of: date, standards: str) -> list[dict[str, Any]]:
    src = Sources.from_backend(_backend())
    expr = build_ledger(src, as_of, standards=LocalStandards.model_validate_json(standards))
    return expr.to_pyarrow().to_pylist()


def test_there_are_cases_for_every_evaluated_obligation() -> None:
    covered = {v.case.split("/")[0] for v in VARIANTS}
    evaluated = {o.id for o in load_code().evaluated}
    assert evaluated - covered == set()


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_case(variant: Variant) -> None:
    problems = verify(variant, ledger_rows(*variant.group))
    assert not problems, f"{variant.description}\n" + "\n".join(problems)


@pytest.mark.parametrize("group", sorted(GROUPS), ids=lambda g: str(g[0]))
def test_ledger_invariants(group: tuple[date, str]) -> None:
    """One row per key; working-day due dates agree with the plain-Python oracle."""
    rows = ledger_rows(*group)
    keys = [tuple(r[k] for k in LEDGER_KEY) for r in rows]
    assert len(keys) == len(set(keys))
    standards = LocalStandards.model_validate_json(group[1])
    code = load_code()
    for row in rows:
        obligation = code.obligation(row["obligation_id"], row["code_edition"])
        days = obligation.deadline_days(standards)
        assert row["status"] in ("met", "late", "pending", "overdue", "not_applicable")
        assert row["reason"], row
        if days is None or obligation.deadline.clock != "working_days":
            continue
        trigger: datetime = row["trigger_at"]
        n = days[0] if row["enhanced"] else days[1]
        assert row["due_date"] == add_working_days(trigger.date(), n), row
