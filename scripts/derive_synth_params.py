"""Derive the Demoshire calibration file from real open data, once.

Reads the Cambridgeshire Constabulary 2024 street-level crime and outcomes files from
data.police.uk (``../shared/data/cambs-2024``, described in its ``SOURCE.md``) and writes
``src/vcop/definitions/synth/demoshire.yaml``: the crime-type mix, the monthly pattern, the
last-outcome mix per crime type (mapped to Home Office outcome types), outcome lags and district
sizes, followed by the calibration targets that do not come from these files (each with its
source). The synthetic-force generator (``vcop.synth``) reads only the YAML, never the CSVs.

Run from the repository root::

    uv run python scripts/derive_synth_params.py [--data ../shared/data/cambs-2024] [--out PATH]

Contains public sector information licensed under the Open Government Licence v3.0.
Source: data.police.uk.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cambs-2024"
DEFAULT_OUT = ROOT / "src" / "vcop" / "definitions" / "synth" / "demoshire.yaml"

ASB = "Anti-social behaviour"
NOT_MAPPED = "Status update unavailable"

#: data.police.uk outcome category -> Home Office outcome types (technical annex numbering) with the
#: share of the category each type takes. One-type categories follow the published descriptions.
#: Where data.police.uk folds several types into one category, the split is vcop's assumption
#: (weights in proportion to national Home Office outcome figures), marked ``assumed`` below.
OUTCOME_MAPPING: dict[str, dict[int, float]] = {
    "Investigation complete; no suspect identified": {18: 1.0},
    # Evidential difficulties (14, 15, 16) and prosecution prevented (5, 11, 12, 13, 17). Assumed split.
    "Unable to prosecute suspect": {
        14: 0.10,
        15: 0.30,
        16: 0.55,
        5: 0.005,
        11: 0.01,
        12: 0.005,
        13: 0.01,
        17: 0.02,
    },
    "Offender given a caution": {3: 0.88, 2: 0.12},  # adults / youths; assumed split
    "Local resolution": {8: 1.0},  # community resolution
    "Offender given penalty notice": {6: 1.0},
    "Offender given a drugs possession warning": {7: 1.0},
    "Action to be taken by another organisation": {20: 1.0},
    "Formal action is not in the public interest": {10: 1.0},
    "Further investigation is not in the public interest": {21: 1.0},
    "Further action is not in the public interest": {9: 0.5, 22: 0.5},  # assumed split
    "Suspect charged as part of another case": {4: 1.0},  # taken into consideration
    # In the street files a charged crime's last outcome is a court-stage category.
    "Suspect charged": {1: 1.0},
    "Awaiting court outcome": {1: 1.0},
    "Court result unavailable": {1: 1.0},
    "Court case unable to proceed": {1: 1.0},
    "Defendant found not guilty": {1: 1.0},
    "Offender sent to prison": {1: 1.0},
    "Offender given suspended prison sentence": {1: 1.0},
    "Offender given community sentence": {1: 1.0},
    "Offender fined": {1: 1.0},
    "Offender given conditional discharge": {1: 1.0},
    "Offender given absolute discharge": {1: 1.0},
    "Offender otherwise dealt with": {1: 1.0},
    "Offender ordered to pay compensation": {1: 1.0},
    "Offender deprived of property": {1: 1.0},
    "Defendant sent to Crown Court": {1: 1.0},
}

#: Crime types with no victim to support or withdraw: evidential difficulties are type 15 (suspect
#: identified) or prosecution prevented, never 14/16 (which turn on the victim's support). Assumed.
NO_VICTIM_UNABLE_SPLIT: dict[int, float] = {15: 0.95, 17: 0.02, 5: 0.01, 11: 0.01, 12: 0.01}
OUTCOME_MAPPING_OVERRIDES: dict[str, dict[str, dict[int, float]]] = {
    "Drugs": {"Unable to prosecute suspect": NO_VICTIM_UNABLE_SPLIT},
    "Possession of weapons": {"Unable to prosecute suspect": NO_VICTIM_UNABLE_SPLIT},
}

#: Outcome-file categories whose lag we measure, keyed by the Home Office types they stand for.
LAG_GROUPS: dict[str, str] = {
    "Investigation complete; no suspect identified": "no_suspect",
    "Unable to prosecute suspect": "evidential",
    "Suspect charged": "charged",
    "Offender given a caution": "out_of_court",
    "Local resolution": "out_of_court",
    "Action to be taken by another organisation": "other",
    "Formal action is not in the public interest": "other",
    "Further action is not in the public interest": "other",
    "Further investigation is not in the public interest": "other",
    "Suspect charged as part of another case": "other",
}

#: Demoshire districts, in the order of the real local authorities they are sized on (largest first
#: within each area). The names are invented.
DISTRICTS: list[tuple[str, str, str]] = [
    # (area, Demoshire district, source local authority)
    ("North", "Northbury", "Peterborough"),
    ("North", "Hollowfen", "Huntingdonshire"),
    ("North", "Marshwick", "Fenland"),
    ("South", "Ashcaster", "Cambridge"),
    ("South", "Greyfield", "South Cambridgeshire"),
    ("South", "Elmsworth", "East Cambridgeshire"),
]

HEADER = """\
# Demoshire: calibration parameters for the synthetic demo force (`vcop demo-data`, vcop.synth).
#
# GENERATED by scripts/derive_synth_params.py -- do not edit by hand; change the script and re-run:
#     uv run python scripts/derive_synth_params.py
#
# Source of the `derived` section: Cambridgeshire Constabulary street-level crime and outcomes files,
# January-December 2024, published by data.police.uk (copy in ../shared/data/cambs-2024, see its
# SOURCE.md). Licence: Open Government Licence v3.0.
# Contains public sector information licensed under the Open Government Licence v3.0. Source: data.police.uk
#
# The generator reads only this file at run time. Only aggregate proportions are kept here; no row,
# identifier or location from the source is copied.
"""

OFFENCE_CODES = """\
# Home Office offence classification codes used per crime type, with relative weights. The codes
# are real Home Office classifications; the weights are vcop's assumptions for a plausible mix.
# `da` weights are used for domestic-abuse crimes of that type (absent: same as `weights`).
offence_codes:
  Violence and sexual offences:
    codes:   ["105A", "8N", "8L", "8R", "8Q", "8U", "5D", "104", "8S", "3B", "105B", "8P", "20A", "17A", "19C", "19D", "19F", "22B", "88E", "20B", "11A", "5E", "2", "1", "71", "88A"]
    weights: [25,     15,   8,    12,   5,    4,    2,    3,     1,    2,    1.2,    0.6,  2.5,   0.4,   1.5,   0.5,   0.15,  0.5,   1.0,   0.3,   0.8,   0.4,  0.08, 0.05, 0.1,  0.2]
    da:      [30,     22,   6,    6,    5,    14,   2,    0,     0,    3,    0,      0,    1,     0.1,   2,     0.2,   0.05,  0,     0.2,   0,     0.5,   0.5,  0.1,  0.05, 0,    0]
  Burglary:
    codes: ["28E", "28F", "30C", "30D", "28G", "29A"]
    weights: [55, 12, 25, 6, 1.5, 0.5]
    da: [85, 10, 0, 0, 0, 5]
  Robbery:
    codes: ["34B", "34A"]
    weights: [85, 15]
    da: [100, 0]
  Theft from the person:
    codes: ["39"]
    weights: [1]
  Bicycle theft:
    codes: ["44"]
    weights: [1]
  Shoplifting:
    codes: ["46"]
    weights: [1]
  Vehicle crime:
    codes: ["45", "48", "126", "37.2"]
    weights: [60, 25, 13, 2]
  Other theft:
    codes: ["49", "40", "49A", "41", "47", "54"]
    weights: [55, 15, 18, 5, 3, 4]
    da: [40, 60, 0, 0, 0, 0]
  Criminal damage and arson:
    codes: ["58A", "58B", "58C", "58D", "56B", "56A", "58J"]
    weights: [28, 15, 35, 15, 4, 1, 2]
    da: [55, 0, 30, 10, 3, 2, 0]
  Drugs:
    codes: ["92D", "92E", "92A", "92C"]
    weights: [30, 45, 22, 3]
  Possession of weapons:
    codes: ["10D", "10C", "90", "81", "10A"]
    weights: [55, 20, 15, 7, 3]
  Public order:
    codes: ["9A", "9B", "66", "62A"]
    weights: [75, 12, 12, 1]
    da: [90, 0, 10, 0]
  Other crime:
    codes: ["95", "83", "802", "99", "54", "35", "59"]
    weights: [30, 15, 15, 15, 10, 5, 10]
    da: [0, 0, 0, 70, 0, 0, 30]
"""

# The calibration targets, written out verbatim (with their sources) below the derived section.
TARGETS = """\
# ---------------------------------------------------------------------------------------------------
# TARGETS: calibration figures that do not come from the data.police.uk files above. Each says where
# it comes from. "seed 001" is the Business Coordination Board paper "Police and Crime Plan Update:
# Victims" (25 February 2020) in ../shared/seeds/001_77b0d96a3b73318d.txt; "seed 003" is the
# Norfolk response to the 2024 HMICFRS victims inspection (../shared/seeds/003_cb089b6694c0c139.txt);
# "Code" is the Victims' Code 2021 summary in ../shared/reference/victims-code.md. "assumption"
# marks a modelling choice of vcop's with no published figure behind it.
# ---------------------------------------------------------------------------------------------------
targets:
  # Distinct victims (people) with a crime reported in a year, at scale 1. Issue spec ("about 29,000
  # victims a year"); DESIGN.md gives ~30k victims for a force. A check for the tests: the generator
  # reaches it through victim_rate and repeat_victim_rate below.
  victims_per_year: 29000
  # Domestic-abuse crimes in the peak month. seed 001 para 5.1.3 ("More than 1,000 Domestic Abuse
  # crimes were recorded in December; the highest number recorded in a single month").
  domestic_abuse_peak_month: 1000
  # Where domestic-abuse crimes fall by crime type. assumption (most DA crimes are violence).
  domestic_abuse_crime_types:
    Violence and sexual offences: 0.86
    Criminal damage and arson: 0.06
    Public order: 0.03
    Other crime: 0.03
    Other theft: 0.01
    Burglary: 0.01
  # Domestic-abuse crimes end differently: the suspect is known, so 'no suspect identified' (18) is
  # mostly evidential difficulties instead, and victims often withdraw support (16). assumption.
  domestic_abuse_outcomes: {no_suspect_becomes_evidential: 0.8, evidential_becomes_victim_withdrawal: 0.35}
  # Share of crimes flagged as hate crime, by crime type (overall about 2.5%). assumption.
  hate_crime_rate: {Public order: 0.18, Violence and sexual offences: 0.036, Criminal damage and arson: 0.015, default: 0.002}
  # Share of crimes with at least one person recorded as victim, by crime type; the rest have a
  # business, the public or nobody as victim (e.g. drugs, weapons possession). assumption, chosen
  # with the repeat rates below so that victims_per_year holds.
  victim_rate:
    Violence and sexual offences: 0.71
    Burglary: 0.58
    Robbery: 0.76
    Theft from the person: 0.78
    Bicycle theft: 0.42
    Vehicle crime: 0.42
    Other theft: 0.30
    Criminal damage and arson: 0.37
    Shoplifting: 0.0
    Public order: 0.20
    Other crime: 0.14
    Drugs: 0.0
    Possession of weapons: 0.0
  second_victim_rate: 0.03  # crimes with two victims. assumption.
  # Chance that a victim-crime belongs to someone already a victim in the same district in the past
  # year (a repeat victim, same victim_id). assumption; repeat victimisation is far higher for
  # domestic abuse.
  repeat_victim_rate: {domestic_abuse: 0.45, other: 0.17}
  # Victim characteristics. assumption, loosely on 2021 Census shares for the East of England;
  # under_18_rate applies to new victims of crimes other than domestic abuse.
  under_18_rate: 0.14
  vulnerable_rate: 0.14
  updates_opt_out_rate: 0.02  # issue spec (~2%)
  sex: {female: 0.50, male: 0.46, other: 0.004, not_stated: 0.02, blank: 0.016}
  sex_domestic_abuse: {female: 0.76, male: 0.21, other: 0.004, not_stated: 0.01, blank: 0.016}
  ethnicity: {white: 0.78, asian: 0.07, black: 0.03, mixed: 0.025, other: 0.015, not_stated: 0.04, blank: 0.04}
  disability: {"true": 0.11, "false": 0.55, blank: 0.34}
  # Needs assessments completed for ~84% of victim-crimes. seed 003 (Norfolk: "assessments were
  # completed in 84.22% of crime investigations recorded in the last 12 months").
  needs_assessment_completed: 0.84
  needs_assessment_started_not_completed: 0.05  # completed_at blank. assumption
  needs_assessment_questions: 7  # seed 000 (IVNA "seven-point question set")
  # Right 4: referral to support within 2 working days (Code). Shares of victims: referred on time,
  # referred late, declined consent, never referred (missed). assumption.
  victim_hub_referral: {on_time: 0.78, late: 0.08, declined: 0.07, missed: 0.07}
  idva_referral_domestic_abuse: 0.32  # high-risk DA victims referred to an IDVA. assumption
  isva_referral_sexual: 0.60  # assumption
  sarc_referral_rape: 0.35  # assumption
  # Right 6: updates within 1 working day (enhanced rights) or 5 (others) of an event (Code). Shares
  # of owed event updates: made on time, made late, never made. assumption.
  event_update: {on_time: 0.78, late: 0.12, missed: 0.10}
  court_event_update: {on_time: 0.90, late: 0.07, missed: 0.03}  # witness care unit. assumption
  unsuccessful_attempt_rate: 0.16  # phone attempts ending in voicemail / no answer (successful=false). assumption
  retry_after_unsuccessful: 0.62  # a successful retry follows. assumption
  about_event_id_blank: 0.10  # event updates recorded without the event id. assumption
  # Victim care contracts: share of victim-crimes with one, and the agreed update interval (days).
  # seed 001 para 4.1.3 / 6.1.2 (VCC compliance "challenging"); intervals and shares assumption.
  care_contract_rate: 0.86
  care_contract_interval_enhanced: {7: 0.35, 14: 0.40, 28: 0.25}
  care_contract_interval_standard: {7: 0.05, 14: 0.20, 28: 0.75}
  # Periodic updates at the care-contract interval: on time, late, gap (an update skipped). assumption
  periodic_update: {on_time: 0.70, late: 0.18, gap: 0.12}
  # Supervisory reviews: due 7 days after recording (3 for domestic abuse), then every 28 days while
  # open; completed on time / late / never. seed 001 para 4.3.5 ("high numbers of overdue
  # supervisory reviews"); shares assumption.
  supervisory_review: {first_due_days: 7, first_due_days_domestic_abuse: 3, interval_days: 28, on_time: 0.74, late: 0.16, never: 0.10}
  # Differences between districts: a logit shift on the share of every officer's work done on time
  # (updates, care-contract updates, referrals) in each district, so that place matters as it does
  # in the seed's districts. assumption.
  district_diligence: {Northbury: -0.35, Hollowfen: 0.1, Marshwick: 0.25, Ashcaster: -0.15, Greyfield: 0.3, Elmsworth: 0.0}
  # Residents per LSOA, for the demo's synthetic population file (population.csv: rates per 1,000
  # residents). Each district gets this many residents per LSOA of the local authority it is sized
  # on (derived.districts[].lsoas), times the scale. ONS built LSOAs to hold 1,000-3,000 residents;
  # at the 2021 Census England and Wales had 59.6 million residents in 35,672 LSOAs, about 1,670
  # each. Synthetic: Demoshire has no real residents, and the file says so.
  residents_per_lsoa: 1670
  # Real shifts, so that SPC and the board paper's narrative have something true to find: from the
  # month given, the named draw's on-time share moves by a logit shift. assumption (a new
  # victim-updates process from October 2024; a dip in care-contract updates in summer 2023).
  shifts:
    - {from: 2024-10-01, draw: police_update, logit: 0.8, what: a new victim-updates process}
    - {from: 2023-07-01, to: 2023-10-01, draw: periodic_update, logit: -0.6, what: a staffing gap in the updates team}
  # Calls for service. Medians in minutes from call to arrival. seed 001 para 4.1.7 (immediate 18,
  # prompt 105), 4.1.8 (dwelling burglary prompt 191), 4.1.9 (domestic abuse prompt 249; resource
  # non-availability cited in 54% of delayed DA attendances).
  response_median_minutes: {immediate: 18, prompt: 105, prompt_domestic_abuse: 249, prompt_burglary_dwelling: 191, scheduled: 1500}
  domestic_abuse_delay_resource_share: 0.54
  # Incidents that are not crimes, per year at scale 1 (ASB comes from the derived section).
  # assumption, in line with a force of this size.
  non_crime_incidents_per_year:
    Concern for welfare: 12000
    Suspicious circumstances: 8000
    Road traffic collision: 6000
    Domestic incident: 5000
    Missing person: 3000
    Alarm activation: 3000
    Other: 6000
  # Victim satisfaction: share at least fairly satisfied (codes 1-3 on the 7-point scale).
  # seed 001 para 4.1.2 (whole experience 76.5%), 4.1.3 (follow-up lowest, 61-71% by month),
  # 4.1.4 (ease of contact 92.3%), 4.1.5 (burglary whole 84.3%, follow-up 78.7%), 4.1.6 (DA survey
  # whole 81.8%, follow-up 59.4%). The other figures: assumption.
  satisfaction:
    victim_satisfaction: {ease_of_contact: 0.923, actions_taken: 0.80, follow_up: 0.66, treatment: 0.90, whole_experience: 0.765}
    victim_satisfaction_burglary: {ease_of_contact: 0.94, actions_taken: 0.86, follow_up: 0.787, treatment: 0.93, whole_experience: 0.843}
    domestic_abuse: {ease_of_contact: 0.90, actions_taken: 0.84, follow_up: 0.594, treatment: 0.92, whole_experience: 0.818}
  # Survey responses per month at scale 1. Issue spec ("a few hundred a month in total"); seed 001
  # reports 1,340 surveyed in 12 months plus a separate DA survey.
  survey_responses_per_month: {victim_satisfaction: 210, domestic_abuse: 40}
  # How much less satisfied (standard deviations of the latent score behind every answer but ease of
  # contact) a respondent is when any update they were owed came late. Synthetic: an assumption
  # chosen to give a modest gap of a few points, not a measured figure.
  late_update_satisfaction_shift: 0.12
  # Hour-of-day pattern of crime reports (relative weights for hours 0-23). assumption.
  report_hour_weights: [3, 2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 5, 5.5, 5.5, 5.5, 5.5, 5.5, 5.5, 6, 6, 6, 6, 5.5, 5, 4.5, 4]
"""


def _month_index(month: str) -> int:
    year, mm = month.split("-")
    return int(year) * 12 + int(mm)


def _round(x: float, digits: int = 5) -> float:
    return round(x, digits)


def derive(data: Path) -> dict[str, Any]:
    street_files = sorted((data / "street").glob("*-street.csv"))
    outcome_files = sorted((data / "outcomes").glob("*-outcomes.csv"))
    if len(street_files) != 12 or len(outcome_files) != 12:
        raise SystemExit(f"expected 12 street and 12 outcomes files under {data}")

    type_counts: Counter[str] = Counter()
    month_counts: Counter[int] = Counter()
    asb_month_counts: Counter[int] = Counter()
    last_outcome: dict[str, Counter[str]] = defaultdict(Counter)
    la_counts: Counter[str] = Counter()
    la_type_counts: dict[str, Counter[str]] = defaultdict(Counter)
    la_lsoas: dict[str, set[str]] = defaultdict(set)
    crime_month: dict[str, int] = {}
    year = None

    for path in street_files:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                month = int(row["Month"].split("-")[1])
                year = int(row["Month"].split("-")[0])
                ctype = row["Crime type"]
                if ctype == ASB:
                    asb_month_counts[month] += 1
                    continue
                type_counts[ctype] += 1
                month_counts[month] += 1
                last_outcome[ctype][row["Last outcome category"]] += 1
                crime_month[row["Crime ID"]] = _month_index(row["Month"])
                la = re.sub(r" \w{4}$", "", row["LSOA name"]) if row["LSOA name"] else ""
                if la:
                    la_counts[la] += 1
                    la_type_counts[la][ctype] += 1
                    la_lsoas[la].add(row["LSOA code"])

    # Outcome lags: months from the crime's month to the month of each outcome, for crimes recorded
    # January-June (so at least six months of outcomes are visible). Duplicate rows dropped.
    seen: set[tuple[str, str, str]] = set()
    lags: dict[str, Counter[int]] = defaultdict(Counter)
    for path in outcome_files:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                key = (row["Crime ID"], row["Month"], row["Outcome type"])
                if key in seen:
                    continue
                seen.add(key)
                cm = crime_month.get(row["Crime ID"])
                group = LAG_GROUPS.get(row["Outcome type"])
                if cm is None or group is None or cm > _month_index(f"{year}-06"):
                    continue
                lags[group][min(_month_index(row["Month"]) - cm, 7)] += 1

    total = sum(type_counts.values())
    crime_types = sorted(type_counts)
    unmapped = {
        cat for counts in last_outcome.values() for cat in counts if cat not in OUTCOME_MAPPING
    } - {NOT_MAPPED}
    if unmapped:
        raise SystemExit(f"unmapped outcome categories: {sorted(unmapped)}")

    outcome_mix: dict[str, dict[int, float]] = {}
    for ctype in crime_types:
        counts = {c: n for c, n in last_outcome[ctype].items() if c != NOT_MAPPED}
        n_mapped = sum(counts.values())
        mix: defaultdict[int, float] = defaultdict(float)
        for cat, n in counts.items():
            mapping = OUTCOME_MAPPING_OVERRIDES.get(ctype, {}).get(cat, OUTCOME_MAPPING[cat])
            for code, w in mapping.items():
                mix[code] += n * w / n_mapped
        outcome_mix[ctype] = {code: _round(mix[code]) for code in sorted(mix) if mix[code] > 0}

    # Relative daily rate per calendar month (mean 1), so months of different length compare.
    daily = {m: month_counts[m] / calendar.monthrange(year or 2024, m)[1] for m in range(1, 13)}
    mean_daily = sum(daily.values()) / 12
    asb_daily = {
        m: asb_month_counts[m] / calendar.monthrange(year or 2024, m)[1] for m in range(1, 13)
    }
    asb_mean = sum(asb_daily.values()) / 12

    la_total = sum(la_counts[la] for _, _, la in DISTRICTS)
    districts = []
    for area, name, la in DISTRICTS:
        n = la_counts[la]
        districts.append(
            {
                "name": name,
                "area": area,
                "sized_on": la,
                "share": _round(n / la_total),
                "lsoas": len(la_lsoas[la]),
                "crime_type_mix": {
                    t: _round(la_type_counts[la][t] / n)
                    for t in crime_types
                    if la_type_counts[la][t]
                },
            }
        )

    lag_out = {}
    for group in ("no_suspect", "evidential", "charged", "out_of_court", "other"):
        c = lags[group]
        n = sum(c.values())
        lag_out[group] = [_round(c[i] / n, 4) for i in range(8)]

    return {
        "year": year,
        "crimes_per_year": total,
        "crime_type_counts": {t: type_counts[t] for t in crime_types},
        "crime_type_mix": {t: _round(type_counts[t] / total) for t in crime_types},
        "monthly_counts": {m: month_counts[m] for m in range(1, 13)},
        "monthly_pattern": {m: _round(daily[m] / mean_daily, 4) for m in range(1, 13)},
        "anti_social_behaviour": {
            "per_year": sum(asb_month_counts.values()),
            "monthly_pattern": {m: _round(asb_daily[m] / asb_mean, 4) for m in range(1, 13)},
        },
        "districts": districts,
        "outcome_category_counts": {
            t: dict(sorted(last_outcome[t].items(), key=lambda kv: (-kv[1], kv[0])))
            for t in crime_types
        },
        "outcome_mix": outcome_mix,
        "outcome_lag_months": lag_out,
    }


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(obj: dict[str, Any]) -> str:
    return yaml.dump(
        obj,
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=False,
        width=100,
        default_flow_style=None,
    )


def render(derived: dict[str, Any]) -> str:
    parts = [HEADER, "version: 1\n"]
    parts.append(
        "source:\n"
        "  title: Cambridgeshire Constabulary street-level crime and outcomes, January-December 2024\n"
        "  publisher: data.police.uk\n"
        "  files: ../shared/data/cambs-2024 (street/*.csv, outcomes/*.csv); see its SOURCE.md\n"
        "  licence: Open Government Licence v3.0\n"
        '  attribution: "Contains public sector information licensed under the Open Government'
        ' Licence v3.0. Source: data.police.uk"\n'
        "  generated_by: scripts/derive_synth_params.py\n"
    )
    parts.append(
        "\n# DERIVED from the source files by the script. Anti-social behaviour is not a crime and is\n"
        "# left out of every crime figure (its volume and pattern are kept for calls for service).\n"
        "#   crimes_per_year        street rows with a Crime ID (every non-ASB row)\n"
        "#   crime_type_mix         share of crimes by data.police.uk crime type\n"
        "#   monthly_pattern        crimes per day in each calendar month relative to the yearly mean\n"
        "#   districts              Demoshire's six (invented) districts, each sized on one real local\n"
        "#                          authority by the LSOA names of its crimes: share of crimes, number\n"
        "#                          of LSOAs, crime-type mix\n"
        "#   outcome_category_counts  street 'Last outcome category' per crime type (a late-2025 snapshot)\n"
        "#   outcome_mix            the same mapped to Home Office outcome types with outcome_mapping,\n"
        "#                          'Status update unavailable' left out and the rest renormalised\n"
        "#   outcome_lag_months     months from crime to outcome (0..6, then 7+) per outcome group, from\n"
        "#                          the outcomes files for crimes of January-June\n"
    )
    parts.append("derived:\n" + _indent(_dump(derived)))
    parts.append(
        "\n# data.police.uk outcome category -> Home Office outcome type (1-22, see\n"
        "# ../shared/reference/victims-code.md section 7) with the share of the category each takes.\n"
        "# Single-type categories follow the published descriptions; the splits of 'Unable to\n"
        "# prosecute suspect' (evidential difficulties 14/15/16, prosecution prevented 5/11/12/13/17),\n"
        "# 'Offender given a caution' (adult 3 / youth 2) and 'Further action is not in the public\n"
        "# interest' (9 / 22) are vcop's assumptions. Court-stage categories all mean charged (1).\n"
        "# outcome_mapping_overrides: per crime type, where a category splits differently (no victim).\n"
    )
    parts.append(_dump({"outcome_mapping": OUTCOME_MAPPING}))
    parts.append(_dump({"outcome_mapping_overrides": OUTCOME_MAPPING_OVERRIDES}))
    parts.append("\n" + OFFENCE_CODES)
    parts.append("\n" + TARGETS)
    return "".join(parts)


def _indent(text: str) -> str:
    return "".join("  " + line if line.strip() else line for line in text.splitlines(True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the cambs-2024 folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the YAML file to write")
    args = parser.parse_args()
    text = render(derive(args.data))
    yaml.safe_load(text)  # must parse
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
