"""The Demoshire calibration file (``definitions/synth/demoshire.yaml``), loaded and checked.

The file is written by ``scripts/derive_synth_params.py`` from data.police.uk open data plus a
``targets`` section of published and assumed figures; this module only reads it.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

PARAMS_FILE = "synth/demoshire.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DistrictParams(_Frozen):
    name: str
    area: str
    sized_on: str
    share: float
    lsoas: int
    crime_type_mix: dict[str, float]


class AsbParams(_Frozen):
    per_year: int
    monthly_pattern: dict[int, float]


class Derived(_Frozen):
    year: int
    crimes_per_year: int
    crime_type_counts: dict[str, int]
    crime_type_mix: dict[str, float]
    monthly_counts: dict[int, int]
    monthly_pattern: dict[int, float]
    anti_social_behaviour: AsbParams
    districts: tuple[DistrictParams, ...]
    outcome_category_counts: dict[str, dict[str, int]]
    outcome_mix: dict[str, dict[int, float]]
    outcome_lag_months: dict[str, tuple[float, ...]]


class OffenceCodes(_Frozen):
    codes: tuple[str, ...]
    weights: tuple[float, ...]
    da: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _lengths(self) -> OffenceCodes:
        if len(self.weights) != len(self.codes) or (self.da and len(self.da) != len(self.codes)):
            raise ValueError(f"offence code weights do not match codes {self.codes}")
        return self


class Shift(_Frozen):
    """From a month (to another, or for good), one draw's on-time share moves by a logit shift."""

    start: date = Field(alias="from")
    end: date | None = Field(None, alias="to")
    draw: Literal["police_update", "periodic_update", "hub"]
    logit: float
    what: str


class Targets(_Frozen):
    victims_per_year: int
    domestic_abuse_peak_month: int
    domestic_abuse_crime_types: dict[str, float]
    domestic_abuse_outcomes: dict[str, float]
    hate_crime_rate: dict[str, float]
    victim_rate: dict[str, float]
    second_victim_rate: float
    repeat_victim_rate: dict[str, float]
    under_18_rate: float
    vulnerable_rate: float
    updates_opt_out_rate: float
    sex: dict[str, float]
    sex_domestic_abuse: dict[str, float]
    ethnicity: dict[str, float]
    disability: dict[str, float]
    needs_assessment_completed: float
    needs_assessment_started_not_completed: float
    needs_assessment_questions: int
    victim_hub_referral: dict[str, float]
    idva_referral_domestic_abuse: float
    isva_referral_sexual: float
    sarc_referral_rape: float
    event_update: dict[str, float]
    court_event_update: dict[str, float]
    unsuccessful_attempt_rate: float
    retry_after_unsuccessful: float
    about_event_id_blank: float
    care_contract_rate: float
    care_contract_interval_enhanced: dict[int, float]
    care_contract_interval_standard: dict[int, float]
    periodic_update: dict[str, float]
    supervisory_review: dict[str, float]
    district_diligence: dict[str, float] = Field(default_factory=dict)
    residents_per_lsoa: int = Field(1670, ge=1)
    shifts: tuple[Shift, ...] = ()
    response_median_minutes: dict[str, float]
    domestic_abuse_delay_resource_share: float
    non_crime_incidents_per_year: dict[str, int]
    satisfaction: dict[str, dict[str, float]]
    survey_responses_per_month: dict[str, int]
    late_update_satisfaction_shift: float
    report_hour_weights: tuple[float, ...]


class SynthParams(_Frozen):
    version: int
    source: dict[str, str]
    derived: Derived
    outcome_mapping: dict[str, dict[int, float]]
    outcome_mapping_overrides: dict[str, dict[str, dict[int, float]]]
    offence_codes: dict[str, OffenceCodes]
    targets: Targets

    @model_validator(mode="after")
    def _consistent(self) -> SynthParams:
        types = set(self.derived.crime_type_mix)
        missing = types - set(self.offence_codes)
        if missing:
            raise ValueError(f"no offence codes for crime types {sorted(missing)}")
        if set(self.derived.outcome_mix) != types:
            raise ValueError("outcome_mix must cover every crime type in crime_type_mix")
        if len(self.targets.report_hour_weights) != 24:
            raise ValueError("report_hour_weights needs 24 values")
        unknown = set(self.targets.district_diligence) - {d.name for d in self.derived.districts}
        if unknown:
            raise ValueError(f"district_diligence names no district {sorted(unknown)}")
        return self


def parse_params(raw: dict[str, Any]) -> SynthParams:
    return SynthParams.model_validate(raw)


@cache
def load_params() -> SynthParams:
    """The Demoshire parameters shipped with this version of vcop."""
    text = resources.files("vcop.definitions").joinpath(PARAMS_FILE).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is there
    # bandit B506: a SafeLoader
    return parse_params(yaml.load(text, Loader=loader))  # nosec B506


# -- the criminal justice partners (``definitions/synth/partners.yaml``) -------------------------

PARTNERS_FILE = "synth/partners.yaml"


class PartnerParams(_Frozen):
    """Rates and delays for the partner agencies' records (hand-written, all assumptions)."""

    version: int
    deadlines_wd: dict[str, int]
    contact_timeliness: dict[str, dict[str, float]]
    before_deadline: dict[str, dict[str, float]]
    result_received: dict[str, float]
    unsuccessful_attempt_rate: float
    retry_after_unsuccessful: float
    about_event_id_blank: float
    rates: dict[str, float | dict[str, float]]

    def rate(self, name: str) -> float:
        value = self.rates[name]
        if not isinstance(value, float | int):
            raise TypeError(f"partners.yaml: rates.{name} is not a number")
        return float(value)

    def mix(self, name: str) -> dict[str, float]:
        value = self.rates[name]
        if not isinstance(value, dict):
            raise TypeError(f"partners.yaml: rates.{name} is not a set of shares")
        return value

    @model_validator(mode="after")
    def _shares(self) -> PartnerParams:
        groups = [
            *self.contact_timeliness.items(),
            *self.before_deadline.items(),
            ("result_received", self.result_received),
            *((k, v) for k, v in self.rates.items() if isinstance(v, dict)),
        ]
        for name, shares in groups:
            if abs(sum(shares.values()) - 1.0) > 1e-6:
                raise ValueError(f"partners.yaml: the shares of {name} do not add up to 1")
        return self


@cache
def load_partner_params() -> PartnerParams:
    """The partner agencies' parameters shipped with this version of vcop."""
    text = resources.files("vcop.definitions").joinpath(PARTNERS_FILE).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # bandit B506: a SafeLoader
    return PartnerParams.model_validate(yaml.load(text, Loader=loader))  # nosec B506
