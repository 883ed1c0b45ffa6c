"""Code lists shipped as data (``definitions/codelists/<name>.yaml``): how the codes exports
commonly write translate to the schema's values.

A profile names one instead of spelling the codes out (``values: {ethnicity:
census_2021_ethnicity}``). A list has ``codes`` (each code -> the schema's value) and ``labels``
(other spellings an export may write -> a code). A list with ``detail: <column>`` also keeps the
code itself, where the table has that column (the census list keeps ``W1`` in
``victims.ethnicity_detail`` beside ``white`` in ``ethnicity``). Codes and labels are matched
ignoring case and surrounding spaces, like every profile code.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vcop.spec.yamltext import load_text_yaml


class CodeListError(ValueError):
    """A code list that is missing or cannot be used, with the file it came from."""


class CodeList(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    #: ``confirmed`` or ``partial`` (some codes could not be checked against a published source).
    status: str = "partial"
    #: The canonical column that keeps the code itself, where the table has it.
    detail: str | None = None
    #: Code -> the schema's value.
    codes: dict[str, str]
    #: Another spelling -> a code.
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _labels_name_codes(self) -> CodeList:
        codes = {c.lower() for c in self.codes}
        wrong = [f"{k}: {v}" for k, v in self.labels.items() if v.lower() not in codes]
        if wrong:
            raise ValueError(f"labels name codes the list does not have: {', '.join(wrong)}")
        seen: dict[str, str] = {}
        for key in [*self.codes, *self.labels]:
            if key.strip().lower() in seen:
                raise ValueError(f"{key!r} appears twice (codes and labels ignore case)")
            seen[key.strip().lower()] = key
        return self

    def code_of(self, written: str) -> str:
        """The code a code or label stands for (its spelling in ``codes``)."""
        by_lower = {c.lower(): c for c in self.codes}
        return by_lower.get(written.lower()) or by_lower[self.labels[written].lower()]

    @property
    def values(self) -> dict[str, str]:
        """Every code and label -> the schema's value."""
        return {k: self.codes[self.code_of(k)] for k in [*self.codes, *self.labels]}

    @property
    def detail_values(self) -> dict[str, str]:
        """Every code and label -> the code (what the ``detail`` column keeps)."""
        return {k: self.code_of(k) for k in [*self.codes, *self.labels]}


def _folder() -> Any:
    return resources.files("vcop.definitions").joinpath("codelists")


def codelist_names() -> tuple[str, ...]:
    """The names of the shipped code lists."""
    return tuple(
        sorted(
            p.name.removesuffix(".yaml") for p in _folder().iterdir() if p.name.endswith(".yaml")
        )
    )


@cache
def load_codelist(name: str) -> CodeList:
    """A shipped code list by name; :class:`CodeListError` if there is none or it is broken."""
    source = f"definitions/codelists/{name}.yaml"
    if name not in codelist_names():
        raise CodeListError(
            f"{name!r} is not a shipped code list (shipped: {', '.join(codelist_names())})"
        )
    try:
        raw = load_text_yaml(_folder().joinpath(f"{name}.yaml").read_text("utf-8"))
        codelist = CodeList(**raw)
    except yaml.YAMLError as exc:
        raise CodeListError(f"{source}: not valid YAML: {exc}") from exc
    except (ValidationError, TypeError) as exc:
        raise CodeListError(f"{source}: {exc}") from exc
    if codelist.name != name:
        raise CodeListError(f"{source}: its name is {codelist.name!r}, not {name!r}")
    return codelist
