"""Rule cases as data: load ``tests/cases/<obligation>/*.yaml`` and check a ledger against them.

A case file is a tiny timeline and what the ledger must say about it::

    description: Arrest on a Friday afternoon; a standard victim told the next Friday.
    tables:                      # rows of the canonical tables (ids are local to the case)
      crimes: [{crime_id: C1, reported_at: 2025-01-31 09:00, crime_type: Burglary}]
      victims: [{victim_id: V1, crime_id: C1}]
      case_events: [{event_id: E1, crime_id: C1, event_type: suspect_arrested,
                     event_at: 2025-01-31 14:05}]
      contacts: [...]
    checks:                      # one or more: an as-of date and the rows expected then
      - as_of: 2025-02-10
        standards: {needs_assessment_working_days: 2}   # optional local standards
        arrive: {contacts: [...]}                        # optional rows that arrived later
        expect:
          - obligation: R6.suspect-arrested
            trigger: E1          # optional filters: victim, crime, trigger
            status: met          # any ledger column; met_at/trigger_at as 'YYYY-MM-DD HH:MM'
            due_date: 2025-02-07
            reason_contains: told by the due date
          - {obligation: R4.referral-to-support, absent: true}

Every check of every case becomes a *variant* with its own ids (prefixed ``<n>:``), so all the
variants live in one database and each as-of date is evaluated once for all of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from vcop.spec.code import LocalStandards
from vcop.store.db import ensure_schema

CASES_DIR = Path(__file__).parent

#: Columns holding ids, which get the variant's prefix.
ID_COLUMNS = (
    "crime_id",
    "victim_id",
    "event_id",
    "contact_id",
    "about_event_id",
    "referral_id",
    "assessment_id",
    "contract_id",
    "review_id",
    "need_id",
    "request_id",
    "complaint_id",
    "claim_id",
)
#: Ledger columns holding ids.
LEDGER_ID_COLUMNS = ("victim_id", "crime_id", "trigger_event_id", "met_by_id")

DEFAULTS = {"crimes": {"crime_type": "Burglary"}}
FILTERS = {"victim": "victim_id", "crime": "crime_id", "trigger": "trigger_event_id"}


@dataclass(frozen=True)
class Variant:
    """One check of one case, with its own copy of the case's rows."""

    number: int
    case: str
    check: int
    description: str
    as_of: date
    standards: LocalStandards
    tables: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.case}#{self.check + 1}" if self.check else self.case

    @property
    def prefix(self) -> str:
        return f"{self.number}:"

    @property
    def group(self) -> tuple[date, str]:
        return (self.as_of, self.standards.model_dump_json())


def load_variants(root: Path = CASES_DIR) -> list[Variant]:
    variants: list[Variant] = []
    for path in sorted(root.glob("*/*.yaml")):
        raw = yaml.safe_load(path.read_text("utf-8"))
        case = f"{path.parent.name}/{path.stem}"
        checks = raw.get("checks") or [
            {k: raw[k] for k in ("as_of", "expect", "standards", "arrive") if k in raw}
        ]
        for index, check in enumerate(checks):
            tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for source in (raw.get("tables") or {}, check.get("arrive") or {}):
                for name, rows in source.items():
                    tables[name].extend(dict(r) for r in rows)
            variants.append(
                Variant(
                    number=len(variants) + 1,
                    case=case,
                    check=index,
                    description=raw.get("description", ""),
                    as_of=check["as_of"],
                    standards=LocalStandards(**(check.get("standards") or {})),
                    tables=dict(tables),
                    expect=list(check["expect"]),
                )
            )
    return variants


def groups(variants: Iterable[Variant]) -> dict[tuple[date, str], list[Variant]]:
    out: dict[tuple[date, str], list[Variant]] = defaultdict(list)
    for v in variants:
        out[v.group].append(v)
    return dict(out)


def _value(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return v


def database(variants: Iterable[Variant]) -> duckdb.DuckDBPyConnection:
    """An in-memory vcop database holding every variant's rows, ids prefixed."""
    rows_by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in variants:
        for table, rows in v.tables.items():
            for row in rows:
                row = {**DEFAULTS.get(table, {}), **row}
                for column in ID_COLUMNS:
                    if row.get(column) is not None:
                        row[column] = v.prefix + str(row[column])
                rows_by_table[table].append(row)
    return load_tables(rows_by_table)


def load_tables(
    rows_by_table: dict[str, list[dict[str, Any]]], con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A vcop database (in memory unless ``con`` is given) with these rows (a dict per row) in
    its canonical tables."""
    if con is None:
        con = duckdb.connect()
    ensure_schema(con)
    for table, rows in rows_by_table.items():
        if not rows:
            continue
        columns = sorted({c for r in rows for c in r})
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        con.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
            [[_value(r.get(c)) for c in columns] for r in rows],
        )
    return con


def _plain(value: Any) -> Any:
    """Ledger values as case files write them."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.second == 0 else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_of(variant: Variant, ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The variant's ledger rows, ids without the prefix and values as case files write them."""
    out = []
    for row in ledger:
        if not str(row["crime_id"]).startswith(variant.prefix):
            continue
        row = {k: _plain(v) for k, v in row.items()}
        for column in LEDGER_ID_COLUMNS:
            if row.get(column) is not None:
                row[column] = str(row[column]).removeprefix(variant.prefix)
        out.append(row)
    return out


def verify(variant: Variant, ledger: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the ledger for this variant (empty if all is as expected)."""
    mine = rows_of(variant, ledger)
    problems = []
    for expected in variant.expect:
        expected = dict(expected)
        obligation = expected.pop("obligation")
        absent = expected.pop("absent", False)
        found = [r for r in mine if r["obligation_id"] == obligation]
        for key, column in FILTERS.items():
            if key in expected:
                wanted = str(expected.pop(key))
                found = [r for r in found if r[column] == wanted]
        label = f"{obligation} {json.dumps({k: str(v) for k, v in expected.items()})}"
        if absent:
            if found:
                problems.append(f"{label}: expected no row, got {len(found)}: {found}")
            continue
        if len(found) != 1:
            problems.append(f"{label}: expected one row, got {len(found)}: {found}")
            continue
        row = found[0]
        for key, want in expected.items():
            if key == "reason_contains":
                if str(want) not in (row["reason"] or ""):
                    problems.append(f"{label}: reason {row['reason']!r} lacks {want!r}")
                continue
            column = "met_by_id" if key == "met_by" else key
            have = row.get(column)
            if _plain(want) != have:
                problems.append(f"{label}: {column} is {have!r}, expected {_plain(want)!r}")
    return problems
