"""The canonical schema (the vcop standard extract), loaded from ``definitions/schema/canonical.yaml``.

Everything that needs to know a table's columns, types, keys or references asks this module;
nothing else hard-codes them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

ColumnType = Literal["string", "integer", "number", "boolean", "datetime", "date", "scale7"]

#: DuckDB type for each schema type.
SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "date": "DATE",
    "scale7": "TINYINT",
}


class Column(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: ColumnType
    required: bool = False
    description: str
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    default: Any = None
    #: Free text a person typed: phone numbers, email addresses, postcodes and street addresses
    #: are scrubbed from it on load (:mod:`vcop.privacy`). Any other text column whose values look
    #: like those is refused.
    free_text: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


class Reference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: tuple[str, ...]
    table: str


class Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    references: tuple[Reference, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


class Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    tables: tuple[Table, ...]
    value_lists: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    scale7_labels: dict[int, str] = Field(default_factory=dict)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"no canonical table {name!r}")

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    def load_order(self) -> tuple[str, ...]:
        """Tables ordered so that every table comes after the tables it references."""
        done: list[str] = []
        pending = list(self.tables)
        while pending:
            progressed = False
            for t in list(pending):
                deps = {r.table for r in t.references} - {t.name}
                if deps <= set(done):
                    done.append(t.name)
                    pending.remove(t)
                    progressed = True
            if not progressed:
                raise ValueError(f"circular references among {[t.name for t in pending]}")
        return tuple(done)


def _parse(raw: dict[str, Any]) -> Schema:
    value_lists = {k: tuple(v) for k, v in raw.get("value_lists", {}).items()}
    tables = []
    for tname, t in raw["tables"].items():
        cols = []
        for cname, c in t["columns"].items():
            c = dict(c)
            allowed = c.get("allowed")
            if isinstance(allowed, str):
                c["allowed"] = value_lists[allowed]
            cols.append(Column(name=cname, **c))
        refs = [
            Reference(columns=tuple(k.split(",")), table=v)
            for k, v in (t.get("references") or {}).items()
        ]
        tables.append(
            Table(
                name=tname,
                description=t["description"],
                key=tuple(t["key"]),
                columns=tuple(cols),
                references=tuple(refs),
            )
        )
    return Schema(
        version=raw["version"],
        tables=tuple(tables),
        value_lists=value_lists,
        scale7_labels={int(k): v for k, v in raw.get("scale7_labels", {}).items()},
    )


@cache
def load_schema() -> Schema:
    """The canonical schema shipped with this version of vcop."""
    text = resources.files("vcop.definitions").joinpath("schema/canonical.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is there
    return _parse(yaml.load(text, Loader=loader))  # nosec B506 - a SafeLoader
