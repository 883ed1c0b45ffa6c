"""Demoshire's shape: two areas, six districts, their units and officers, and synthetic LSOAs.

Officers are pseudonymous ids only (``DS-O-0001``); nothing here names a person or a place that
exists. District names are invented; their sizes and crime mixes come from the calibration file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from vcop.synth.params import SynthParams
from vcop.synth.rand import Choice

FORCE_NAME = "Demoshire Police"
#: Officers per unit kind for the whole force at scale 1, shared out by district size.
OFFICERS_PER_KIND = {"Response": 150, "CID": 66, "Safeguarding": 54}
#: The force-wide unit that screens and files volume crime.
IMU = "Investigation Management Unit"
IMU_OFFICERS = 14
#: How well each kind of unit keeps victims informed, on the logit scale (0 = the force average).
UNIT_DILIGENCE = {"Response": -0.25, "CID": 0.1, "Safeguarding": 0.3, IMU: 0.0}


@dataclass
class Unit:
    name: str
    kind: str
    district: str | None
    officers: list[str] = field(default_factory=list)
    diligence: list[float] = field(default_factory=list)

    def pick(self, r: random.Random) -> int:
        return r.randrange(len(self.officers))


@dataclass
class District:
    index: int
    name: str
    area: str
    share: float
    lsoas: Choice[str]
    lsoa_names: dict[str, str]
    crime_types: Choice[str]
    units: dict[str, Unit]


@dataclass
class Force:
    districts: list[District]
    district_choice: Choice[int]
    imu: Unit
    officer_diligence: dict[str, float]

    @property
    def areas(self) -> list[str]:
        return sorted({d.area for d in self.districts})

    def all_officers(self) -> list[str]:
        return sorted(self.officer_diligence)


def build_force(params: SynthParams, r: random.Random) -> Force:
    """Lay out Demoshire. The same ``r`` state gives the same force."""
    officer_no = 0
    diligence: dict[str, float] = {}

    def staff(unit: Unit, n: int) -> None:
        nonlocal officer_no
        for _ in range(n):
            officer_no += 1
            oid = f"DS-O-{officer_no:04d}"
            d = UNIT_DILIGENCE[unit.kind] + r.gauss(0.0, 0.45)
            unit.officers.append(oid)
            unit.diligence.append(d)
            diligence[oid] = d

    districts: list[District] = []
    for i, dp in enumerate(params.derived.districts, start=1):
        # Synthetic LSOA codes (E0109dnnn, outside the range ONS has issued) named like ONS names:
        # four LSOAs to a middle-layer area, e.g. "Northbury 012C".
        codes = [f"E0109{i}{n:03d}" for n in range(1, dp.lsoas + 1)]
        lsoa_weights = {code: r.gammavariate(2.0, 1.0) for code in codes}
        lsoa_names = {
            code: f"{dp.name} {n // 4 + 1:03d}{'ABCD'[n % 4]}" for n, code in enumerate(codes)
        }
        units = {}
        for kind, total in OFFICERS_PER_KIND.items():
            unit = Unit(name=f"{dp.name} {kind}", kind=kind, district=dp.name)
            staff(unit, max(4, round(total * dp.share)))
            units[kind] = unit
        districts.append(
            District(
                index=i,
                name=dp.name,
                area=dp.area,
                share=dp.share,
                lsoas=Choice(lsoa_weights),
                lsoa_names=lsoa_names,
                crime_types=Choice(dp.crime_type_mix),
                units=units,
            )
        )
    imu = Unit(name=IMU, kind=IMU, district=None)
    staff(imu, IMU_OFFICERS)
    return Force(
        districts=districts,
        district_choice=Choice({d.index - 1: d.share for d in districts}),
        imu=imu,
        officer_diligence=diligence,
    )
