"""A mapping profile read as plain YAML data, and checked against the canonical schema and the
agreed profile format — no files read (`vcop check --profile FILE`, and the first part of
`vcop profile check`).

Reading the profile as data, with the line of every value, lets a draft with TODOs left in it be
reported on line by line rather than refused whole.
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcop.ingest.profile_files import (
    MODES,
    TRANSFORMS,
    UNMAPPED,
    shipped_code_lists,
)
from vcop.ingest.validate import FALSE_WORDS, TRUE_WORDS
from vcop.spec.check import DefinitionError, LineMap, Problem, load_yaml
from vcop.spec.schema import Column, Table, load_schema

PROFILE_KEYS = ("name", "description", "encoding", "datetime_formats", "tables")
TABLE_KEYS = (
    "files", "sheet", "header_row", "mode", "where", "ignore", "columns", "transforms",
    "constants", "values", "unmapped",
)  # fmt: skip


@dataclass
class ParsedProfile:
    """A profile file read as plain data, with where each value is."""

    path: str
    data: dict[str, Any]
    lines: LineMap
    text: str = ""

    def tables(self) -> dict[str, dict[str, Any]]:
        tables = self.data.get("tables") or {}
        return {str(k): (v or {}) for k, v in tables.items() if isinstance(v, dict) or v is None}

    def problem(self, loc: tuple[str | int, ...], message: str) -> Problem:
        return self.lines.problem(loc, message)


def parse_profile(path: Path) -> tuple[ParsedProfile | None, list[Problem]]:
    """The profile's data, or the problem that it is not a YAML mapping."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), None, f"cannot be read: {exc}")]
    try:
        data, lines = load_yaml(text, str(path))
    except DefinitionError as exc:
        return None, list(exc.problems)
    if not isinstance(data, dict):
        return None, [Problem(str(path), 1, "a profile is a mapping: name, description, tables")]
    return ParsedProfile(str(path), data, lines, text), []


def todo_problems(profile: ParsedProfile) -> list[Problem]:
    """Every TODO comment left in the profile (a draft's guesses and gaps, until edited)."""
    found = []
    for number, line in enumerate(profile.text.splitlines(), start=1):
        at = line.find("# TODO")
        if at >= 0:
            what = line[at + len("# TODO") :].lstrip(": ").strip()
            entry = line[:at].strip()
            found.append(
                Problem(profile.path, number, f"TODO left: {entry + ' — ' if entry else ''}{what}")
            )
    return found


# -- against the schema --------------------------------------------------------------------------


def _suggest(word: str, names: tuple[str, ...] | list[str]) -> str:
    """ " (did you mean X?)" for the name closest to ``word``, or ""."""
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    close = close or [n for n in names if n.casefold().startswith(word.casefold())][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def allowed_values(column: Column) -> tuple[str, ...] | None:
    if column.type == "boolean":
        return TRUE_WORDS + FALSE_WORDS
    return column.allowed


def profile_problems(
    profile: ParsedProfile, code_lists: Mapping[str, Mapping[str, str]] | None = None
) -> list[Problem]:
    """Every way the profile disagrees with the canonical schema and the agreed format."""
    lists = shipped_code_lists() if code_lists is None else code_lists
    schema = load_schema()
    data, p = profile.data, profile.problem
    found = [
        p((k,), f"{k}: not a profile setting (use {', '.join(PROFILE_KEYS)})")
        for k in data
        if k not in PROFILE_KEYS
    ]
    for key in ("name", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            found.append(p((key,), f"{key}: required, as text"))
    encoding = data.get("encoding", "utf-8")
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        found.append(
            p(
                ("encoding",),
                f"encoding: {encoding!r} is not a text encoding (use e.g. utf-8, cp1252 or latin-1)",
            )
        )
    formats = data.get("datetime_formats") or []
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        found.append(
            p(
                ("datetime_formats",),
                'datetime_formats: a list of strptime formats, e.g. "%d/%m/%Y %H:%M"',
            )
        )
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        found.append(
            p(
                ("tables",),
                "tables: required, a mapping of canonical table -> its files and columns",
            )
        )
        return found
    for name, mapping in tables.items():
        loc: tuple[str | int, ...] = ("tables", name)
        if name not in schema.table_names:
            hint = _suggest(str(name), schema.table_names)
            found.append(p(loc, f"tables.{name}: no canonical table of that name{hint}"))
            continue
        if not isinstance(mapping, dict):
            found.append(p(loc, f"tables.{name}: a mapping of files, columns, values…"))
            continue
        found.extend(_table_problems(profile, schema.table(name), mapping, lists))
    return found


def _table_problems(
    profile: ParsedProfile,
    table: Table,
    mapping: dict[str, Any],
    lists: Mapping[str, Mapping[str, str]],
) -> list[Problem]:
    t = table.name
    p = profile.problem
    found = []
    base: tuple[str | int, ...] = ("tables", t)
    for key in mapping:
        if key not in TABLE_KEYS:
            found.append(
                p(
                    (*base, key),
                    f"tables.{t}.{key}: not a table setting (use {', '.join(TABLE_KEYS)})",
                )
            )
    header_row = mapping.get("header_row", 1)
    if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        found.append(p((*base, "header_row"), f"tables.{t}.header_row: a row number, 1 or more"))
    if mapping.get("mode", "delta") not in MODES:
        found.append(
            p((*base, "mode"), f"tables.{t}.mode: {mapping['mode']!r} is not delta or full")
        )
    targets: dict[str, str] = {}
    ignored = {str(h).strip().casefold() for h in (mapping.get("ignore") or [])}
    for header, column in (mapping.get("columns") or {}).items():
        loc = (*base, "columns", header)
        if column not in table.column_names:
            hint = _suggest(str(column), table.column_names)
            found.append(
                p(loc, f"tables.{t}.columns.{header}: {column!r} is not a column of {t}{hint}")
            )
        elif column in targets:
            found.append(
                p(
                    loc,
                    f"tables.{t}.columns: {targets[column]!r} and {header!r} both map to {column}",
                )
            )
        else:
            targets[column] = str(header)
        if str(header).strip().casefold() in ignored:
            found.append(p(loc, f"tables.{t}: {header!r} is both mapped and ignored"))
    for header, operations in (mapping.get("transforms") or {}).items():
        for op in operations if isinstance(operations, list) else [operations]:
            if op not in TRANSFORMS:
                found.append(
                    p(
                        (*base, "transforms", header),
                        f"tables.{t}.transforms.{header}: {op!r} is not a transform (use {', '.join(TRANSFORMS)})",
                    )
                )
    for column in mapping.get("constants") or {}:
        if column not in table.column_names:
            found.append(
                p(
                    (*base, "constants", column),
                    f"tables.{t}.constants.{column}: not a column of {t}",
                )
            )
    for column, spec in (mapping.get("values") or {}).items():
        found.extend(_values_problems(profile, table, str(column), spec, lists))
    for column, how in (mapping.get("unmapped") or {}).items():
        loc = (*base, "unmapped", column)
        if column not in table.column_names:
            found.append(p(loc, f"tables.{t}.unmapped.{column}: not a column of {t}"))
        elif how not in UNMAPPED:
            found.append(p(loc, f"tables.{t}.unmapped.{column}: {how!r} is not reject or blank"))
        elif how == "blank" and table.column(column).required:
            found.append(
                p(
                    loc,
                    f"tables.{t}.unmapped.{column}: {column} is required, so an unknown code cannot be blanked",
                )
            )
    return found


def _values_problems(
    profile: ParsedProfile,
    table: Table,
    column: str,
    spec: Any,
    lists: Mapping[str, Mapping[str, str]],
) -> list[Problem]:
    t, p = table.name, profile.problem
    loc: tuple[str | int, ...] = ("tables", t, "values", column)
    if column not in table.column_names:
        return [p(loc, f"tables.{t}.values.{column}: not a column of {t}")]
    allowed = allowed_values(table.column(column))
    folded = {a.casefold() for a in allowed} if allowed else None
    if isinstance(spec, str):
        if spec not in lists:
            known = ", ".join(lists) or "none are installed"
            return [p(loc, f"tables.{t}.values.{column}: no shipped code list {spec!r} ({known})")]
        wrong = sorted({v for v in lists[spec].values() if folded and v.casefold() not in folded})
        if wrong:
            return [
                p(
                    loc,
                    f"tables.{t}.values.{column}: code list {spec} gives {', '.join(wrong)}, not allowed values of {column}",
                )
            ]
        return []
    if not isinstance(spec, dict):
        return [p(loc, f"tables.{t}.values.{column}: a code list's name or a mapping of codes")]
    found = []
    for code, value in spec.items():
        here = (*loc, code)
        if value is None:
            found.append(
                p(
                    here,
                    f"tables.{t}.values.{column}: code {code!r} has no canonical value yet (TODO)",
                )
            )
        elif (
            folded is not None
            and str(value).casefold() not in folded
            and not isinstance(value, bool)
        ):
            shown = ", ".join((allowed or ())[:10])
            found.append(
                p(
                    here,
                    f"tables.{t}.values.{column}: code {code!r} maps to {value!r}, not an allowed {column} ({shown})",
                )
            )
    return found


def profile_file_problems(path: Path) -> list[Problem]:
    """`vcop check --profile FILE`: the profile's problems against the schema (no files read)."""
    parsed, problems = parse_profile(path)
    if parsed is not None:
        problems.extend(todo_problems(parsed))
        problems.extend(profile_problems(parsed))
    return sorted(problems, key=Problem.sort_key)
