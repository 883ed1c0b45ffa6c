"""Mapping profiles: how a source system's export maps onto the vcop standard extract.

A profile is a YAML file. It names, per canonical table, the files or sheets that hold it, the
source headers for each canonical column, value codes to translate, and the date formats the
source writes, and the character encoding of its CSV files (``encoding``, default ``utf-8``; e.g.
``cp1252`` for Excel's plain "CSV" on Windows, or ``latin-1``). The ``standard`` profile is the vcop standard extract itself; copy
``definitions/profiles/example-rms.yaml`` to describe your own system's layout.
"""

from __future__ import annotations

import codecs
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vcop.spec.schema import Schema, load_schema


class ProfileError(ValueError):
    """A profile that cannot be used, with the file it came from."""


class TableMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: File stems or sheet names holding this table (compared case-insensitively).
    files: tuple[str, ...] = ()
    #: Source header -> canonical column. Headers not listed map to themselves when they are
    #: canonical names.
    columns: dict[str, str] = Field(default_factory=dict)
    #: Canonical column -> {source value: canonical value}.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: delta (default: add and update) or full (the file is a full snapshot: rows absent are retired).
    mode: Literal["delta", "full"] = "delta"


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

    def table_for_file(self, stem: str, schema: Schema | None = None) -> str | None:
        """The canonical table a file (or sheet) with this stem holds, if any."""
        schema = schema or load_schema()
        wanted = stem.strip().lower()
        for name in schema.table_names:
            names = {name} | {f.lower() for f in self.mapping(name).files}
            if wanted in names:
                return name
        return None

    def canonical_column(self, table: str, header: str) -> str | None:
        """The canonical column a source header maps to, or None for an unknown header."""
        header = header.strip()
        mapping = self.mapping(table).columns
        lowered = {k.strip().lower(): v for k, v in mapping.items()}
        if header.lower() in lowered:
            return lowered[header.lower()]
        normal = re.sub(r"[\s\-]+", "_", header.lower())
        columns = load_schema().table(table).column_names
        return normal if normal in columns else None


def _from_yaml(text: str, source: str) -> Profile:
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: a profile must be a mapping with name, description, tables")
    try:
        profile = Profile(**raw, source=source)
    except ValidationError as exc:
        shown = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"{source}: {shown}") from exc
    problems = profile_problems(profile)
    if problems:
        raise ProfileError(f"{source}: " + "; ".join(problems))
    return profile


def profile_problems(profile: Profile) -> list[str]:
    """Every way a profile disagrees with the canonical schema."""
    schema = load_schema()
    problems = []
    encoding_problem = _encoding_problem(profile.encoding)
    if encoding_problem:
        problems.append(f"encoding: {encoding_problem}")
    for table, mapping in profile.tables.items():
        if table not in schema.table_names:
            problems.append(f"tables.{table}: no canonical table of that name")
            continue
        columns = schema.table(table).column_names
        for header, column in mapping.columns.items():
            if column not in columns:
                problems.append(
                    f"tables.{table}.columns.{header}: {column!r} is not a column of {table}"
                )
        for column in mapping.values:
            if column not in columns:
                problems.append(f"tables.{table}.values.{column}: not a column of {table}")
    return problems


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
