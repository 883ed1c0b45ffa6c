"""`vcop profile check`: find a profile's mistakes before anything is written.

A check reads the profile as plain YAML (so a draft with TODOs left in it is reported on, line by
line, rather than refused whole) and compares it

* with the canonical schema: every table and column it names exists, every code maps to an
  allowed value, every code list it names is shipped, ``unmapped: blank`` only for optional
  columns, transforms and modes are known (:mod:`vcop.ingest.profile_schema`, also run by
  ``vcop check --profile``);
* with the files: each table's files are found (the latest dated one chosen), every header the
  profile names is in its file, every header of the file is mapped, used by ``where`` or
  deliberately ignored, required columns are covered, every code in a coded column is mapped
  (unmapped ones listed with their counts), and no mapped column holds what look like personal
  details;

and then previews the load (:mod:`vcop.ingest.dry_run`): the real validation runs on a scratch
copy of the database (or an empty one), so the rejects it would make are counted per table and
column, and the copy is thrown away. Nothing is written to the database file.
"""

from __future__ import annotations

import codecs
import difflib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcop.ingest.dry_run import RejectGroup, load_checked, reject_groups, scratch_database
from vcop.ingest.guess import screened
from vcop.ingest.load import LoadResult
from vcop.ingest.profile_files import (
    ExportFile,
    Prepared,
    choose_latest,
    code_map,
    export_files,
    file_matches,
    header_index,
    mapped_headers,
    prepare,
    read_file,
    shipped_code_lists,
    value_counts,
)
from vcop.ingest.profile_schema import (
    ParsedProfile,
    allowed_values,
    parse_profile,
    profile_problems,
    todo_problems,
)
from vcop.ingest.readers import ExtractError
from vcop.privacy import column_looks_personal
from vcop.spec.check import Problem
from vcop.spec.schema import Table, load_schema
from vcop.store import StoreError

#: Columns a file may leave out because the load fills them (a table's agency: the police).
FILLED = ("agency",)


# -- against the files ---------------------------------------------------------------------------


@dataclass
class FileReport:
    """What the check found of one table's file."""

    table: str
    file: ExportFile
    superseded: list[ExportFile]
    rows_read: int = 0
    filtered_out: Counter[str] = field(default_factory=Counter)
    blanked: dict[str, Counter[str]] = field(default_factory=dict)
    prepared: Prepared | None = None


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    preview: LoadResult | None = None
    rejects: list[RejectGroup] = field(default_factory=list)
    profile: ParsedProfile | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_profile(
    profile_path: Path,
    paths: list[Path],
    *,
    db: Path | None = None,
    code_lists: Mapping[str, Mapping[str, str]] | None = None,
    preview: bool = True,
) -> CheckReport:
    """Check a profile against the schema and an export, and preview the load (on a scratch
    copy of ``db``, or an empty database). Nothing is written to ``db``."""
    lists = shipped_code_lists() if code_lists is None else code_lists
    report = CheckReport()
    parsed, report.problems = parse_profile(profile_path)
    if parsed is None:
        return report
    report.profile = parsed
    report.problems.extend(todo_problems(parsed))
    report.problems.extend(profile_problems(parsed, lists))
    schema = load_schema()
    try:
        files = export_files(paths)
    except ExtractError as exc:
        report.problems.append(Problem(str(profile_path), None, str(exc)))
        return report
    taken: dict[ExportFile, list[str]] = {}
    for name, mapping in parsed.tables().items():
        if name not in schema.table_names:
            continue
        matched = [f for f in files if file_matches(f, name, mapping)]
        for f in matched:
            taken.setdefault(f, []).append(name)
        chosen, superseded = choose_latest(matched)
        if chosen is None:
            entries = ", ".join(str(e) for e in (mapping.get("files") or [name]))
            report.problems.append(
                parsed.problem(
                    ("tables", name, "files"),
                    f"tables.{name}.files: no file of the export matches {entries}",
                )
            )
            continue
        file_report = FileReport(name, chosen, superseded)
        report.files.append(file_report)
        _check_file(parsed, schema.table(name), mapping, file_report, report, lists)
    for f in files:
        if f not in taken:
            report.notes.append(f"{f.label}: no table of the profile takes it (not loaded)")
        elif len(taken[f]) > 1:
            report.problems.append(
                Problem(
                    parsed.path,
                    None,
                    f"{f.label}: taken by more than one table ({', '.join(taken[f])})",
                )
            )
    if preview and any(r.prepared for r in report.files):
        _preview(parsed, report, db)
    report.problems = _without_repeats(report.problems)
    return report


def _without_repeats(problems: list[Problem]) -> list[Problem]:
    """The problems in file and line order, without a "(TODO)" one on a line whose TODO is
    reported already."""
    todo_lines = {p.line for p in problems if p.message.startswith("TODO left")}
    kept = [p for p in problems if not (p.line in todo_lines and p.message.endswith("(TODO)"))]
    return sorted(kept, key=Problem.sort_key)


def _encoding(parsed: ParsedProfile) -> str:
    encoding = str(parsed.data.get("encoding") or "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        return "utf-8"
    return encoding


def _check_file(
    parsed: ParsedProfile,
    table: Table,
    mapping: dict[str, Any],
    file_report: FileReport,
    report: CheckReport,
    lists: Mapping[str, Mapping[str, str]],
) -> None:
    t, label = table.name, file_report.file.label
    base: tuple[str | int, ...] = ("tables", t)
    header_row = mapping.get("header_row", 1)
    try:
        raw = read_file(
            file_report.file, _encoding(parsed), header_row if isinstance(header_row, int) else 1
        )
    except ExtractError as exc:
        report.problems.append(parsed.problem(base, f"{exc}"))
        return
    file_report.rows_read = raw.table.num_rows + len(raw.broken_rows)
    index = header_index(raw.headers)
    named: list[tuple[str, tuple[str | int, ...]]] = []
    for key in ("columns", "transforms", "where"):
        named += [(str(h), (*base, key, h)) for h in (mapping.get(key) or {})]
    named += [(str(h), (*base, "ignore", i)) for i, h in enumerate(mapping.get("ignore") or [])]
    missing = False
    for header, loc in named:
        if header.strip().casefold() not in index:
            close = difflib.get_close_matches(header, raw.headers, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            report.problems.append(
                parsed.problem(loc, f"tables.{t}: header {header!r} is not in {label}{hint}")
            )
            missing = missing or loc[2] == "where"
    columns = mapped_headers(table, mapping, raw.headers)
    used = {h.casefold() for h in columns.values()}
    used |= {
        str(h).strip().casefold() for key in ("ignore", "where") for h in (mapping.get(key) or [])
    }
    for header in raw.headers:
        if header.casefold() not in used:
            report.problems.append(
                parsed.problem(
                    (*base, "columns"),
                    f"tables.{t}: header {header!r} of {label} is neither mapped nor ignored: map it under columns or list it under ignore",
                )
            )
    constants = set(mapping.get("constants") or {})
    for c in table.columns:
        if (
            c.required
            and c.name not in columns
            and c.name not in constants
            and c.name not in FILLED
        ):
            report.problems.append(
                parsed.problem(
                    (*base, "columns"),
                    f"tables.{t}: required column {c.name} is not mapped from any header of {label}",
                )
            )
    if missing:
        return  # a where: on a missing header would drop every row
    try:
        prepared = prepare(raw, table, mapping, lists)
    except (ExtractError, ValueError) as exc:
        report.problems.append(parsed.problem(base, f"{label}: {exc}"))
        return
    file_report.prepared = prepared
    file_report.filtered_out, file_report.blanked = prepared.filtered_out, prepared.blanked
    if mapping.get("where") and prepared.raw.table.num_rows == 0:
        report.problems.append(
            parsed.problem(
                (*base, "where"),
                f"tables.{t}.where: keeps none of the {file_report.rows_read:,} rows of {label}",
            )
        )
    _check_codes(parsed, table, mapping, label, prepared, report, lists)
    _check_personal(parsed, table, label, prepared, report)


def _check_codes(
    parsed: ParsedProfile,
    table: Table,
    mapping: dict[str, Any],
    label: str,
    prepared: Prepared,
    report: CheckReport,
    lists: Mapping[str, Mapping[str, str]],
) -> None:
    unmapped = mapping.get("unmapped") or {}
    for column, header in prepared.columns.items():
        allowed = allowed_values(table.column(column))
        if allowed is None:
            continue
        folded = {a.casefold() for a in allowed}
        try:
            codes = code_map((mapping.get("values") or {}).get(column), lists)
        except KeyError:
            codes = {}
        unknown: Counter[str] = Counter()
        for value, n in value_counts(prepared.raw, header).items():
            key = value.casefold()
            target = codes.get(key, value if key not in codes else None)
            if target is None or target.casefold() not in folded:
                unknown[value] += n
        if not unknown:
            continue
        shown = ", ".join(
            f"{v!r} ({n:,} row{'s' if n != 1 else ''})" for v, n in unknown.most_common()
        )
        if unmapped.get(column) == "blank":
            report.notes.append(
                f"{label} {header!r}: codes with no {column} will be blanked (unmapped: blank): {shown}"
            )
            continue
        report.problems.append(
            parsed.problem(
                ("tables", table.name, "values", column),
                f"tables.{table.name}.values.{column}: codes in {label} {header!r} not mapped to an allowed {column}: {shown}",
            )
        )
    for column, counts in prepared.blanked.items():
        shown = ", ".join(f"{v!r} ({n:,})" for v, n in counts.most_common())
        report.notes.append(f"{label}: {column} blanked for codes not mapped: {shown}")


def _check_personal(
    parsed: ParsedProfile, table: Table, label: str, prepared: Prepared, report: CheckReport
) -> None:
    for column, header in prepared.columns.items():
        if not screened(table.column(column)):
            continue
        values = list(value_counts(prepared.raw, header))[:20_000]
        if column_looks_personal(values):
            report.problems.append(
                parsed.problem(
                    ("tables", table.name, "columns", header),
                    f"tables.{table.name}: {header!r} of {label} holds what look like personal details (phone numbers, email or street addresses, postcodes); vcop holds pseudonymous ids only, so it is refused whatever it maps to: list it under ignore",
                )
            )


def _preview(parsed: ParsedProfile, report: CheckReport, db: Path | None) -> None:
    """The load on a scratch database: what it would load and reject."""
    try:
        with scratch_database(db) as con:
            ready = [(r.table, r.file, r.prepared) for r in report.files if r.prepared]
            report.preview = load_checked(con, parsed.data, ready)
            report.rejects = reject_groups(con, report.preview.load_id)
    except (ExtractError, StoreError) as exc:
        report.problems.append(Problem(parsed.path, None, f"the load would stop: {exc}"))
