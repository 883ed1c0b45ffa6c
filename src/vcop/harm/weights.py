"""The harm weights shipped in ``definitions/harm/weights.yaml`` (made by
scripts/derive_harm_weights.py from public data, with their sources and caveats)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict


class HarmWeights(BaseModel):
    model_config = ConfigDict(frozen=True)

    css_by_offence_code: dict[str, float]
    css_by_crime_type: dict[str, float]
    cchi_by_crime_type: dict[str, float]
    cchi_by_force: dict[str, dict[str, float]]

    @staticmethod
    def force_key(force: str) -> str:
        """'Cambridgeshire Constabulary' → 'Cambridgeshire' (the CCHI tables' short names)."""
        return re.sub(r"\s+(Constabulary|Police Service|Police)$", "", force.strip())


@cache
def load_weights() -> HarmWeights:
    text = resources.files("vcop.definitions").joinpath("harm/weights.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return HarmWeights(
        css_by_offence_code={str(k): float(v) for k, v in raw["css"]["by_offence_code"].items()},
        css_by_crime_type=raw["css"]["by_crime_type"],
        cchi_by_crime_type=raw["cchi"]["by_crime_type"],
        cchi_by_force=raw["cchi"]["by_force"],
    )
