"""The national table of forces (``definitions/synth/forces.yaml``): sizes, id prefixes, peers.

The file is written by ``scripts/derive_force_sizes.py``; its ``source`` section says where each
figure comes from. Only Cambridgeshire's size is real (data.police.uk); the other 42 are synthetic,
drawn to the real national total, and each row says which it is. Peer groups are derived from the
sizes, not HMICFRS's most similar forces groups.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

FORCES_FILE = "synth/forces.yaml"


class ForceSize(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    force: str
    code: str = Field(pattern=r"^[A-Z]{3}$")
    crimes_per_year: int = Field(gt=0)
    size_source: Literal["real", "synthetic"]
    peers: tuple[str, ...]


class Forces(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    source: dict[str, str]
    national_total: int
    forces: tuple[ForceSize, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Forces:
        codes = [f.code for f in self.forces]
        if len(set(codes)) != len(codes) or len({f.force for f in self.forces}) != len(codes):
            raise ValueError("forces.yaml: a force name or code appears twice")
        if sum(f.crimes_per_year for f in self.forces) != self.national_total:
            raise ValueError("forces.yaml: the forces' sizes do not add up to national_total")
        unknown = {p for f in self.forces for p in f.peers} - set(codes)
        if unknown:
            raise ValueError(f"forces.yaml: peers name no force {sorted(unknown)}")
        return self

    def by_code(self, code: str) -> ForceSize:
        for f in self.forces:
            if f.code == code:
                return f
        raise KeyError(code)

    def pick(self, names: list[str] | None = None, first: int | None = None) -> list[ForceSize]:
        """The forces named (by name or code, case-insensitively), or the ``first`` n in the
        table's order, or all 43."""
        if names:
            index = {k.lower(): f for f in self.forces for k in (f.force, f.code)}
            missing = [n for n in names if n.strip().lower() not in index]
            if missing:
                raise KeyError(", ".join(missing))
            picked = [index[n.strip().lower()] for n in names]
            return list(dict.fromkeys(picked))
        return list(self.forces[:first] if first is not None else self.forces)


@cache
def load_forces() -> Forces:
    """The national table of forces shipped with this version of vcop."""
    text = resources.files("vcop.definitions").joinpath(FORCES_FILE).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # bandit B506: a SafeLoader
    return Forces.model_validate(yaml.load(text, Loader=loader))  # nosec B506
