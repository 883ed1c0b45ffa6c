"""Home Office outcome types and the data.police.uk outcome categories mapped onto them (data in
``definitions/outcomes/``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict


class OutcomeType(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: int
    title: str
    group: str


class Rate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    numerator: tuple[int, ...]
    base_excludes: tuple[int, ...]


class Category(BaseModel):
    """A data.police.uk outcome category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    types: tuple[int, ...]
    charged: bool = False
    #: The representative type of a category that stands for several (see police_uk.yaml).
    code: int | None = None

    @property
    def outcome_code(self) -> int | None:
        """The Home Office outcome type for a crime with this category (None: not yet assigned)."""
        return self.types[0] if len(self.types) == 1 else self.code


class Outcomes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: dict[str, str]
    types: dict[int, OutcomeType]
    rates: dict[str, Rate]
    categories: dict[str, Category]

    def category(self, name: str) -> Category | None:
        return self.categories.get(name.strip())

    def group_of_category(self, name: str) -> str | None:
        """The outcome group of a category when all its types share one (None otherwise)."""
        category = self.category(name)
        if category is None or not category.types:
            return None
        groups = {self.types[t].group for t in category.types}
        return groups.pop() if len(groups) == 1 else None


def _read(name: str) -> Any:
    text = resources.files("vcop.definitions").joinpath(f"outcomes/{name}").read_text("utf-8")
    return yaml.safe_load(text)


@cache
def load_outcomes() -> Outcomes:
    ho = _read("home_office.yaml")
    puk = _read("police_uk.yaml")
    types = {int(k): OutcomeType(code=int(k), **v) for k, v in ho["types"].items()}
    categories = {k: Category(name=k, **v) for k, v in puk["categories"].items()}
    for category in categories.values():
        unknown = [t for t in category.types if t not in types]
        if unknown:
            raise ValueError(f"police_uk.yaml: {category.name}: unknown outcome types {unknown}")
        if len(category.types) > 1 and category.code not in category.types:
            raise ValueError(
                f"police_uk.yaml: {category.name}: stands for types {list(category.types)}, "
                "so it needs a representative `code` among them"
            )
    return Outcomes(
        groups=ho["groups"],
        types=types,
        rates={k: Rate(**v) for k, v in ho["rates"].items()},
        categories=categories,
    )
