"""Mapping profiles: how a source system's export maps onto the vcop standard extract.

A profile is a YAML file (``definitions/profiles/example-rms.yaml`` is a commented example; the
``standard`` profile is the vcop standard extract itself). At the top: ``name``, ``description``,
``datetime_formats`` (strptime formats tried before ISO 8601) and ``encoding`` (of CSV files,
default ``utf-8``; e.g. ``cp1252`` for Excel's plain "CSV" on Windows, or ``latin-1``). Then, per
canonical table under ``tables``:

``files``
    File stems, file names or sheet names holding the table, or glob patterns (``*``, ``?``,
    ``[…]``) matched against them, all ignoring case. Of the files a table's *patterns* match, only
    the one with the latest date in its name (``YYYYMMDD``, ``YYYY-MM-DD`` or ``YYYY_MM_DD``; else
    the latest modified) is loaded; the others are reported as superseded. Files named exactly
    all load, as before.
``sheet``
    For a workbook named in ``files``, the sheet to read (else sheets are matched by name).
``header_row``
    The 1-based row holding the headers (rows above it, e.g. a title, are not read); default 1.
``mode``
    ``delta`` (default: rows are added or updated) or ``full`` (the file is a full snapshot).
``where``
    Source header -> a value or a list of values: only rows holding one of them (after
    ``transforms``, ignoring case and surrounding spaces; ``""`` is a blank) are loaded. The others
    are counted as filtered out, never as rejects.
``ignore``
    Source headers deliberately not loaded (not reported as unknown).
``columns``
    Source header -> canonical column. Headers not listed map to themselves when they are
    canonical names.
``transforms``
    Source header -> operations applied in order to its text before anything else: ``trim``
    (spaces, tabs and non-breaking spaces at either end), ``strip_thousands`` (a comma between
    digits: ``12,345`` -> ``12345``), ``upper``, ``lower``.
``constants``
    Canonical column -> the text every row takes (no file column may also give it).
``values``
    Canonical column -> either ``{source code: canonical value}`` or the name of a shipped code
    list (:mod:`vcop.spec.codelists`, e.g. ``census_2021_ethnicity``, ``home_office_outcome``,
    ``sex``). Codes are matched ignoring case.
``unmapped``
    Canonical column -> ``reject`` (default: a value that is not a code of ``values`` or an allowed
    value rejects the row) or ``blank`` (it blanks the field, counted and reported per value; only
    for columns that are not required).

Every key and value is read as the text written (:mod:`vcop.spec.yamltext`): ``Yes:``, ``1:`` or
``on:`` are the codes ``Yes``, ``1`` and ``on``.
"""

from __future__ import annotations

import codecs
import fnmatch
import hashlib
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vcop.spec.codelists import CodeListError, load_codelist
from vcop.spec.schema import Column, Schema, load_schema
from vcop.spec.yamltext import load_text_yaml

Transform = Literal["trim", "strip_thousands", "upper", "lower"]
#: Characters that make a ``files`` entry a glob pattern.
PATTERN_CHARS = "*?["


class ProfileError(ValueError):
    """A profile that cannot be used, with the file it came from."""


def is_pattern(entry: str) -> bool:
    """Whether a ``files`` entry is a glob pattern rather than a name."""
    return any(c in entry for c in PATTERN_CHARS)


class TableMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: File stems, names or sheet names holding this table, or glob patterns (ignoring case).
    files: tuple[str, ...] = ()
    #: For a workbook named in ``files``: the sheet to read.
    sheet: str | None = None
    #: The 1-based row holding the headers.
    header_row: int = Field(default=1, ge=1)
    #: delta: add or update rows; full: the file is a full snapshot of the table.
    mode: Literal["delta", "full"] = "delta"
    #: Source header -> the values a row must hold in it to be loaded.
    where: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: Source headers deliberately not loaded.
    ignore: tuple[str, ...] = ()
    #: Source header -> canonical column. Headers not listed map to themselves when they are
    #: canonical names.
    columns: dict[str, str] = Field(default_factory=dict)
    #: Source header -> operations on its text, in order.
    transforms: dict[str, tuple[Transform, ...]] = Field(default_factory=dict)
    #: Canonical column -> the text every row takes.
    constants: dict[str, str] = Field(default_factory=dict)
    #: Canonical column -> {source value: canonical value}, or the name of a shipped code list.
    values: dict[str, dict[str, str] | str] = Field(default_factory=dict)
    #: Canonical column -> what an unknown code does: reject the row, or blank the field.
    unmapped: dict[str, Literal["reject", "blank"]] = Field(default_factory=dict)

    @field_validator("where", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("transforms", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    def codes(self, column: str) -> dict[str, str]:
        """Source code -> canonical value for a column (a named code list resolved), or {}.
        Raises :class:`~vcop.spec.codelists.CodeListError` for an unknown list name."""
        given = self.values.get(column)
        if given is None:
            return {}
        if isinstance(given, str):
            return load_codelist(given).values
        return given

    def detail_source(self, column: str) -> tuple[str, dict[str, str]] | None:
        """For a detail column (e.g. ``ethnicity_detail``) kept through a code list: the column
        whose source it shares and source code -> detailed code; else None."""
        for base, given in self.values.items():
            if isinstance(given, str):
                codelist = load_codelist(given)
                if codelist.detail == column:
                    return base, codelist.detail_values
        return None

    def is_ignored(self, header: str) -> bool:
        return header.strip().lower() in {h.strip().lower() for h in self.ignore}

    def matches(self, name: str) -> tuple[bool, bool]:
        """Whether a file stem, file name or sheet name is one of this table's ``files``, and
        whether only through a pattern: (matched, by_pattern)."""
        wanted = name.strip().lower()
        by_pattern = False
        for entry in self.files:
            entry = entry.strip().lower()
            if is_pattern(entry):
                by_pattern = by_pattern or fnmatch.fnmatchcase(wanted, entry)
            elif wanted == entry:
                return True, False
        return by_pattern, by_pattern


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    #: strptime formats (Python/DuckDB % codes) tried, in order, before ISO 8601.
    datetime_formats: tuple[str, ...] = ()
    #: The character encoding of the source's CSV files (a Python codec name).
    encoding: str = "utf-8"
    tables: dict[str, TableMapping] = Field(default_factory=dict)
    source: str = Field(default="", exclude=True)

    def mapping(self, table: str) -> TableMapping:
        return self.tables.get(table, TableMapping())

    def tables_for_file(
        self, names: tuple[str, ...], schema: Schema | None = None, *, sheet: bool | None = None
    ) -> list[tuple[str, bool]]:
        """The canonical tables a file or sheet known by any of ``names`` (its stem and name, or
        a sheet's name) holds: (table, matched only by a pattern), in schema order. ``sheet``
        True keeps the tables that read a named ``sheet``, False those that do not."""
        schema = schema or load_schema()
        found = []
        for table in schema.table_names:
            mapping = self.mapping(table)
            if sheet is not None and (mapping.sheet is not None) != sheet:
                continue
            exact = any(n.strip().lower() == table for n in names)
            results = [mapping.matches(n) for n in names]
            if exact or any(m and not p for m, p in results):
                found.append((table, False))
            elif any(m for m, _ in results):
                found.append((table, True))
        return found

    def table_for_file(self, stem: str, schema: Schema | None = None) -> str | None:
        """The canonical table a file (or sheet) with this stem holds, if any."""
        found = self.tables_for_file((stem,), schema)
        return found[0][0] if found else None

    def canonical_column(self, table: str, header: str) -> str | None:
        """The canonical column a source header maps to, or None for an unknown header or one
        the profile ignores."""
        header = header.strip()
        mapping = self.mapping(table)
        lowered = {k.strip().lower(): v for k, v in mapping.columns.items()}
        if header.lower() in lowered:
            return lowered[header.lower()]
        if mapping.is_ignored(header):
            return None
        normal = re.sub(r"[\s\-]+", "_", header.lower())
        columns = load_schema().table(table).column_names
        return normal if normal in columns else None

    def content_hash(self, table: str) -> str:
        """A hash of everything in the profile that decides how a file of ``table`` loads: the
        table's mapping (code lists by their content), the date formats and the encoding. A file
        already loaded under the same hash is skipped; any edit to these loads it again."""
        mapping = self.mapping(table)
        content = {
            "datetime_formats": list(self.datetime_formats),
            "encoding": self.encoding,
            "mapping": mapping.model_dump(mode="json"),
            "codes": {c: mapping.codes(c) for c in sorted(mapping.values)},
        }
        text = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _from_yaml(text: str, source: str) -> Profile:
    try:
        raw: Any = load_text_yaml(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: a profile must be a mapping with name, description, tables")
    try:
        profile = Profile(**raw, source=source)
    except ValidationError as exc:
        shown = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            + (f" (got {e['input']!r})" if not isinstance(e["input"], dict) else "")
            for e in exc.errors()
        )
        raise ProfileError(f"{source}: {shown}") from exc
    problems = profile_problems(profile)
    if problems:
        raise ProfileError(f"{source}: " + "; ".join(problems))
    return profile


def profile_problems(profile: Profile) -> list[str]:
    """Every way a profile disagrees with the canonical schema or the shipped code lists."""
    schema = load_schema()
    problems = []
    encoding_problem = _encoding_problem(profile.encoding)
    if encoding_problem:
        problems.append(f"encoding: {encoding_problem}")
    for table, mapping in profile.tables.items():
        if table not in schema.table_names:
            problems.append(f"tables.{table}: no canonical table of that name")
            continue
        problems.extend(f"tables.{table}.{p}" for p in _mapping_problems(schema, table, mapping))
    return problems


def _mapping_problems(schema: Schema, table: str, mapping: TableMapping) -> list[str]:
    canonical = schema.table(table)
    columns = canonical.column_names
    problems = []
    for header, column in mapping.columns.items():
        if column not in columns:
            problems.append(f"columns.{header}: {column!r} is not a column of {table}")
        if mapping.is_ignored(header):
            problems.append(f"ignore: {header!r} is both mapped (columns) and ignored")
    for column in mapping.constants:
        if column not in columns:
            problems.append(f"constants.{column}: not a column of {table}")
    for column, given in mapping.values.items():
        if column not in columns:
            problems.append(f"values.{column}: not a column of {table}")
            continue
        try:
            codes = mapping.codes(column)
        except CodeListError as exc:
            problems.append(f"values.{column}: {exc}")
            continue
        wrong = _wrong_targets(canonical.column(column), codes)
        if wrong:
            where = f"the code list {given!r}" if isinstance(given, str) else "it"
            problems.append(
                f"values.{column}: {where} maps to {', '.join(repr(v) for v in wrong)}, not "
                f"allowed in {column} (allowed: {', '.join(canonical.column(column).allowed or ())})"
            )
    for column, action in mapping.unmapped.items():
        if column not in columns:
            problems.append(f"unmapped.{column}: not a column of {table}")
            continue
        spec = canonical.column(column)
        if action == "blank" and spec.required:
            problems.append(
                f"unmapped.{column}: blank is allowed only for optional columns, and {column} is "
                "required (a row without it cannot load); map every code instead"
            )
        elif action == "blank" and not spec.allowed and column not in mapping.values:
            problems.append(
                f"unmapped.{column}: blank needs codes to tell a known value from an unknown "
                f"one; give values.{column} (a mapping or a code list)"
            )
    return problems


def _wrong_targets(column: Column, codes: dict[str, str]) -> list[str]:
    """Canonical values a mapping gives that the column does not allow."""
    if not column.allowed:
        return []
    allowed = {a.lower() for a in column.allowed}
    return sorted({v for v in codes.values() if v.strip().lower() not in allowed})


def _encoding_problem(encoding: str) -> str | None:
    """Why ``encoding`` cannot be used to read text files, or None."""
    try:
        codecs.lookup(encoding)
        "a".encode(encoding).decode(encoding)
    except LookupError:
        return f"{encoding!r} is not a text encoding (use e.g. utf-8, cp1252 or latin-1)"
    return None


def packaged_profiles() -> dict[str, str]:
    """Name -> YAML text of every profile shipped with vcop."""
    folder = resources.files("vcop.definitions").joinpath("profiles")
    return {
        p.name.removesuffix(".yaml"): p.read_text("utf-8")
        for p in folder.iterdir()
        if p.name.endswith(".yaml")
    }


@cache
def _packaged(name: str) -> Profile:
    return _from_yaml(packaged_profiles()[name], f"definitions/profiles/{name}.yaml")


def load_profile(name_or_path: str | None = None) -> Profile:
    """A packaged profile by name (default ``standard``) or a profile YAML file by path."""
    name_or_path = name_or_path or "standard"
    if name_or_path in packaged_profiles():
        return _packaged(name_or_path)
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise ProfileError(f"{path}: no such profile file")
        return _from_yaml(path.read_text("utf-8"), str(path))
    known = ", ".join(sorted(packaged_profiles()))
    raise ProfileError(
        f"unknown profile {name_or_path!r}; use one of {known} or a path to a .yaml file"
    )
