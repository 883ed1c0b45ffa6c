"""``vcop tracker import FILE``: recommendations from a spreadsheet (CSV), checked like an extract.

Every row is checked before anything is written: a row with a problem is a *reject* naming its
row (the header is row 1, so the first data row is row 2) and its field. One reject and nothing
is written; none and every row is written in one transaction, each with its first status.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from vcop.qa.tracker import (
    Item,
    Status,
    TrackerError,
    Update,
    add_items,
    check_agency,
    check_date,
    check_evidence,
    check_kind,
    check_reference,
    check_report_id,
    check_status,
    check_text,
    check_update,
)
from vcop.store.ops import OpsStore

#: The file's columns: the required ones, then the optional.
REQUIRED = ("report_id", "reference", "kind", "text", "owner")
OPTIONAL = ("agency", "due_by", "status", "changed_on", "note", "evidence")
COLUMNS = REQUIRED + OPTIONAL


@dataclass(frozen=True)
class Reject:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class ImportFileError(ValueError):
    """A file that cannot be read as a tracker import at all (the message says why)."""


@dataclass(frozen=True)
class Checked:
    items: list[tuple[Item, Update]]
    rejects: list[Reject]


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of ``path`` by column; ImportFileError for a file with unknown or missing
    columns, or one that is not UTF-8 CSV."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            # cells past the header's columns go under None: _rows_and_extras rejects them
            rows = [{k.strip(): (v or "") for k, v in r.items() if k is not None} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFileError(f"{path}: cannot be read as a UTF-8 CSV file: {exc}") from exc
    unknown = [h for h in header if h not in COLUMNS]
    missing = [h for h in REQUIRED if h not in header]
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise ImportFileError(
            f"{path}: {'; '.join(problems)} (the columns are {', '.join(COLUMNS)}; the first "
            f"{len(REQUIRED)} are required)"
        )
    return rows


class _Cells:
    """One row's cells, checked field by field; each problem is kept as a reject."""

    def __init__(self, number: int, raw: dict[str, str]) -> None:
        self.number = number
        self.raw = raw
        self.problems: list[Reject] = []

    def take(self, field: str, check: Callable[[str, str], Any]) -> Any:
        try:
            return check(self.raw.get(field, ""), field)
        except TrackerError as exc:
            self.problems.append(Reject(self.number, exc.field, exc.message))
            return None

    def reject(self, field: str, message: str) -> None:
        self.problems.append(Reject(self.number, field, message))


def check_rows(
    ops: OpsStore, rows: list[dict[str, str]], *, on: date, extra_cells: list[int] | None = None
) -> Checked:
    """Each row as an item and its first status, or its rejects (every problem of every row)."""
    known_reports = {str(r[0]) for r in ops.query("SELECT report_id FROM tracker_reports").rows}
    known_items = {
        (str(r[0]), str(r[1]))
        for r in ops.query("SELECT report_id, reference FROM tracker_items").rows
    }
    seen: dict[tuple[str, str], int] = {}
    items: list[tuple[Item, Update]] = []
    rejects: list[Reject] = []
    for number, raw in enumerate(rows, start=2):
        cells = _Cells(number, raw)
        if extra_cells and number in extra_cells:
            cells.reject("(row)", "has more cells than the header has columns")
        report_id = cells.take("report_id", check_report_id)
        reference = cells.take("reference", check_reference)
        kind = cells.take("kind", check_kind)
        text = cells.take("text", check_text)
        owner = cells.take("owner", check_text)
        agency = cells.take("agency", check_agency)
        due_by = cells.take("due_by", _optional_date)
        status = cells.take("status", _status_or_open)
        changed_on = cells.take("changed_on", _optional_date) or on
        note = cells.take("note", _optional_text)
        evidence = cells.take("evidence", check_evidence)
        if report_id is not None and report_id not in known_reports:
            cells.reject("report_id", f"no report {report_id!r}: add it first (vcop tracker "
                         "add-report)")  # fmt: skip
        if report_id is not None and reference is not None:
            key = (report_id, reference)
            if key in known_items:
                cells.reject("reference", f"{report_id}/{reference} is in the tracker already: "
                             "use vcop tracker update")  # fmt: skip
            elif key in seen:
                cells.reject("reference", f"{report_id}/{reference} is on row {seen[key]} too")
            else:
                seen[key] = number
        first = None
        if not cells.problems:
            first = Update(status, changed_on, note, evidence)
            try:
                check_update(first)
            except TrackerError as exc:
                cells.reject(exc.field, exc.message)
        if cells.problems or first is None:
            rejects.extend(cells.problems)
            continue
        items.append((Item(report_id, reference, kind, text, owner, agency, due_by), first))
    return Checked(items, rejects)


def _optional_date(value: str, field: str) -> date | None:
    return check_date(value, field) if value.strip() else None


def _status_or_open(value: str, field: str) -> Status:
    return check_status(value, field) if value.strip() else Status.open


def _optional_text(value: str, field: str) -> str | None:
    return check_text(value, field, required=False)


def import_file(
    ops: OpsStore, path: Path, *, on: date, username: str, os_user: str | None, now: datetime
) -> Checked:
    """Check every row of ``path``; write them all (one transaction) only when none is rejected."""
    rows, extra = _rows_and_extras(path)
    checked = check_rows(ops, rows, on=on, extra_cells=extra)
    if not checked.rejects:
        add_items(ops, checked.items, username=username, os_user=os_user, now=now)
    return checked


def _rows_and_extras(path: Path) -> tuple[list[dict[str, str]], list[int]]:
    """The rows, and the numbers of rows with more cells than the header (a stray comma)."""
    rows = read_rows(path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    width = len(lines[0]) if lines else 0
    extra = [i for i, cells in enumerate(lines[1:], start=2) if len(cells) > width]
    return rows, extra
