"""Findings from a panel's spreadsheet (`vcop audit import FILE`), validated like any extract.

The file is CSV (or an ``.xlsx`` workbook's first sheet) with a header row and one finding a row:

==============  ==================================================================================
audit           the audit's id (``2025Q1``)
agency          the panel's agency: police, victim_hub, cps, wcu, hmpps
crime_id        a case of that agency's sample
right           the right judged (1–12); blank for the case as a whole
judgement       met, partly met, not met, not applicable (a right's row only)
quality_1…5     the case's quality, 1–4, against each of the MoJ return's five areas (the case's
                row only; blank: not scored)
notes           free text, scrubbed of phone numbers, emails, postcodes and street addresses
case_study      yes/no: a candidate "voice of the victim" case study
==============  ==================================================================================

Rows are numbered as a person finds them: the header is row 1, so the first finding is row 2. A
row with a problem is rejected with its row, field, value and why; the others are recorded (each
superseding the current finding for its case and right). A row repeating an earlier row's case
and right is rejected, naming that row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vcop.qa.audits import (
    AUDIT_AGENCIES,
    JUDGEMENTS,
    QUALITY_COLUMNS,
    Finding,
    audits,
)
from vcop.store.ops import OpsStore

#: The columns a file must have (in any order; others are ignored).
COLUMNS = ("audit", "agency", "crime_id", "right", "judgement", *QUALITY_COLUMNS, "notes",
           "case_study")  # fmt: skip
REQUIRED = ("audit", "agency", "crime_id")
YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0", "")


@dataclass(frozen=True)
class Reject:
    """A row that was not recorded, and why."""

    row: int
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    findings: list[tuple[int, Finding]]
    rejects: list[Reject]


class FindingsFileError(ValueError):
    """A file that cannot be read as findings at all (not a row's problem)."""


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, values by lower-case header) of a CSV or ``.xlsx`` file."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            header = [str(h or "").strip().lower() for h in next(rows, ())]
            _check_header(header, path)
            for number, values in enumerate(rows, start=2):
                cells = ["" if v is None else str(v).strip() for v in values]
                if any(cells):
                    yield number, dict(zip(header, cells, strict=False))
        finally:
            book.close()
        return
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        _check_header(header, path)
        for number, values in enumerate(reader, start=2):
            cells = [v.strip() for v in values]
            if any(cells):
                yield number, dict(zip(header, cells, strict=False))


def _check_header(header: list[str], path: Path) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise FindingsFileError(
            f"{path.name}: row 1 has no column {', '.join(missing)} (a findings file has the "
            f"columns {', '.join(COLUMNS)})"
        )


def parse(rows: Iterable[tuple[int, dict[str, str]]]) -> Parsed:
    """Each row as a finding, or its rejects (one per field with a problem)."""
    findings: list[tuple[int, Finding]] = []
    rejects: list[Reject] = []
    seen: dict[tuple[str, str, str, int | None], int] = {}
    for number, row in rows:
        bad: list[Reject] = []

        def reject(
            field: str,
            reason: str,
            row: dict[str, str] = row,
            n: int = number,
            bad: list[Reject] = bad,
        ) -> None:
            bad.append(Reject(n, field, row.get(field, ""), reason))

        for field in REQUIRED:
            if not row.get(field):
                reject(field, f"{field} is required")
        agency = row.get("agency", "")
        if agency and agency not in AUDIT_AGENCIES:
            reject("agency", f"not one of {', '.join(AUDIT_AGENCIES)}")
        right: int | None = None
        if row.get("right"):
            text = row["right"].removesuffix(".0")
            if text.isdigit() and 1 <= int(text) <= 12:
                right = int(text)
            else:
                reject("right", "not a right of the Code (a whole number from 1 to 12)")
        judgement = _judgement(row.get("judgement", ""))
        if row.get("judgement") and judgement is None:
            reject("judgement", f"not one of {', '.join(j.replace('_', ' ') for j in JUDGEMENTS)}")
        if row.get("right") and not row.get("judgement"):
            reject("judgement", "a right's row needs a judgement")
        if not row.get("right") and row.get("judgement"):
            reject("right", "a judgement needs the right it judges")
        quality: list[int | None] = []
        for column in QUALITY_COLUMNS:
            text = row.get(column, "").removesuffix(".0")
            if not text:
                quality.append(None)
            elif text in ("1", "2", "3", "4"):
                quality.append(int(text))
                if row.get("right"):
                    reject(column, "quality is scored on the case's row (right blank)")
            else:
                quality.append(None)
                reject(column, "not a score from 1 to 4")
        flag = row.get("case_study", "").lower()
        if flag not in YES + NO:
            reject("case_study", "not yes or no")
        if not bad:
            key = (row["audit"], agency, row["crime_id"], right)
            if key in seen:
                reject(
                    "right" if right is not None else "crime_id",
                    f"repeats row {seen[key]} (the same case and "
                    + (f"right {right})" if right is not None else "case as a whole)"),
                )
            else:
                seen[key] = number
        if bad:
            rejects += bad
            continue
        findings.append((number, Finding(
            row["audit"], agency, row["crime_id"], right, judgement, tuple(quality),
            row.get("notes", ""), flag in YES,
        )))  # fmt: skip
    return Parsed(findings, rejects)


def _judgement(text: str) -> str | None:
    key = "_".join(text.strip().lower().replace("-", " ").split())
    return key if key in JUDGEMENTS else None


def check_against_store(
    ops: OpsStore, parsed: Parsed, *, agency: str | None
) -> tuple[list[tuple[int, Finding]], list[Reject]]:
    """The findings that fit the store — an audit that exists, a case of the agency's sample, an
    agency that has not submitted, and (for an auditor, ``agency``) the auditor's own agency —
    and the rejects of those that do not (after the parse's own)."""
    known = {a.audit_id: a for a in audits(ops)}
    good: list[tuple[int, Finding]] = []
    rejects = list(parsed.rejects)
    for number, f in parsed.findings:
        a = known.get(f.audit_id)
        if a is None:
            rejects.append(Reject(number, "audit", f.audit_id, "no such audit"))
        elif agency is not None and f.agency != agency:
            rejects.append(
                Reject(
                    number,
                    "agency",
                    f.agency,
                    f"an auditor for {agency} records {agency}'s part only",
                )
            )
        elif f.crime_id not in a.samples.get(f.agency, []):
            rejects.append(
                Reject(
                    number,
                    "crime_id",
                    f.crime_id,
                    f"not a case of {f.agency}'s sample in audit {f.audit_id}",
                )
            )
        elif f.agency in a.submitted:
            rejects.append(
                Reject(
                    number,
                    "agency",
                    f.agency,
                    f"{f.agency} has submitted audit {f.audit_id}: its findings are final",
                )
            )
        else:
            good.append((number, f))
    return good, sorted(rejects, key=lambda r: (r.row, COLUMNS.index(r.field)
                                                 if r.field in COLUMNS else 99))  # fmt: skip
