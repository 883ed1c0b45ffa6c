"""Calls for service: grade, type, and the time from call to an officer's arrival.

Some incidents become crimes (``crime_id`` set; the crime's report time is the call); most do not
(anti-social behaviour, concern for welfare, collisions...). Response times are log-normal per grade
and incident type, with medians from the calibration targets: the median for ordinary prompt calls
is solved so that the force-wide prompt median lands on the target even though domestic abuse and
dwelling burglary calls are much slower.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

from vcop.synth.clock import DAY, HOUR, Formatter, day_date
from vcop.synth.crimes import HARASSMENT, SEXUAL, Crime, Window
from vcop.synth.force import FORCE_NAME, Force
from vcop.synth.params import SynthParams
from vcop.synth.rand import Choice, poisson

#: (immediate, prompt, scheduled) shares per incident type. vcop's assumptions.
GRADES: dict[str, tuple[float, float, float]] = {
    "Domestic abuse": (0.45, 0.5, 0.05),
    "Burglary dwelling": (0.25, 0.55, 0.2),
    "Burglary business": (0.2, 0.4, 0.4),
    "Assault": (0.45, 0.4, 0.15),
    "Sexual offence": (0.4, 0.4, 0.2),
    "Harassment": (0.05, 0.35, 0.6),
    "Robbery": (0.7, 0.25, 0.05),
    "Theft": (0.1, 0.35, 0.55),
    "Shoplifting": (0.15, 0.45, 0.4),
    "Vehicle crime": (0.1, 0.35, 0.55),
    "Criminal damage": (0.15, 0.4, 0.45),
    "Public order": (0.35, 0.45, 0.2),
    "Drugs": (0.2, 0.4, 0.4),
    "Weapons": (0.75, 0.2, 0.05),
    "Other": (0.15, 0.4, 0.45),
    "Anti-social behaviour": (0.1, 0.45, 0.45),
    "Concern for welfare": (0.5, 0.4, 0.1),
    "Suspicious circumstances": (0.3, 0.5, 0.2),
    "Road traffic collision": (0.45, 0.4, 0.15),
    "Domestic incident": (0.3, 0.6, 0.1),
    "Missing person": (0.35, 0.55, 0.1),
    "Alarm activation": (0.25, 0.55, 0.2),
}
#: Share of crimes of each type that began as a call for service. assumption.
FROM_CALL = {
    "Violence and sexual offences": 0.5,
    "Burglary": 0.65,
    "Robbery": 0.8,
    "Criminal damage and arson": 0.35,
    "Public order": 0.5,
    "Theft from the person": 0.3,
    "Vehicle crime": 0.3,
    "Shoplifting": 0.25,
    "Other theft": 0.2,
    "Bicycle theft": 0.15,
    "Drugs": 0.3,
    "Possession of weapons": 0.6,
    "Other crime": 0.2,
}
SIGMA = {"immediate": 0.5, "prompt": 0.85, "scheduled": 0.8}
#: Area multipliers on response times (the board paper: "typically higher in North than in South").
AREA_FACTOR = {"North": 1.12, "South": 0.9}
DELAY_REASONS = Choice(
    {
        "resource_availability": 0.45,
        "higher_priority_incident": 0.2,
        "travel_distance": 0.15,
        "caller_request": 0.12,
        "other": 0.08,
    }
)
NON_RESOURCE_REASONS = Choice(
    {"higher_priority_incident": 0.4, "travel_distance": 0.25, "caller_request": 0.25, "other": 0.1}
)
DA_TYPES = frozenset({"Domestic abuse", "Domestic incident"})
NO_ATTENDANCE = {"immediate": 0.01, "prompt": 0.04, "scheduled": 0.35}


def incident_type(c: Crime) -> str:
    ct, oc = c.crime_type, c.offence
    if c.da:
        return "Domestic abuse"
    if ct == "Burglary":
        return "Burglary dwelling" if oc.startswith(("28", "29")) else "Burglary business"
    if ct == "Violence and sexual offences":
        if oc in SEXUAL:
            return "Sexual offence"
        return "Harassment" if oc in HARASSMENT else "Assault"
    return {
        "Robbery": "Robbery",
        "Theft from the person": "Theft",
        "Other theft": "Theft",
        "Bicycle theft": "Theft",
        "Shoplifting": "Shoplifting",
        "Vehicle crime": "Vehicle crime",
        "Criminal damage and arson": "Criminal damage",
        "Public order": "Public order",
        "Drugs": "Drugs",
        "Possession of weapons": "Weapons",
    }.get(ct, "Other")


def _solve_median(
    target: float, sigma: float, fixed: list[tuple[float, float]], w_free: float
) -> float:
    """The median m for the free group such that the mixture median is ``target``.

    ``fixed`` holds (weight, median) of the groups whose medians are given."""
    nd = NormalDist()

    def below(m: float) -> float:
        s = w_free * nd.cdf((math.log(target) - math.log(m)) / sigma)
        for w, med in fixed:
            s += w * nd.cdf((math.log(target) - math.log(med)) / sigma)
        return s

    lo, hi = math.log(target / 10), math.log(target)
    for _ in range(60):
        mid = (lo + hi) / 2
        if below(math.exp(mid)) > 0.5:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def generate_incidents(
    params: SynthParams,
    force: Force,
    crimes: list[Crime],
    window: Window,
    scale: float,
    fmt: Formatter,
    r: random.Random,
) -> list[tuple[str, ...]]:
    t = params.targets
    grades = {
        k: Choice(dict(zip(("immediate", "prompt", "scheduled"), v, strict=True)))
        for k, v in GRADES.items()
    }
    # (received minute, type, grade, district index, crime id, lsoa)
    calls: list[tuple[int, str, str, int, str, str]] = []
    for c in crimes:
        if r.random() < (0.75 if c.da else FROM_CALL.get(c.crime_type, 0.2)):
            itype = incident_type(c)
            received = max(c.reported - r.randint(0, 4), window.start_day * DAY)
            calls.append(
                (received, itype, grades[itype].draw(r), c.district.index - 1, c.crime_id, c.lsoa)
            )
    hours = Choice(list(enumerate(t.report_hour_weights)))
    volumes = dict(t.non_crime_incidents_per_year)
    asb = params.derived.anti_social_behaviour
    for day in range(window.start_day, window.end_day + 1):
        month = day_date(day).month
        for itype, per_year in (("Anti-social behaviour", asb.per_year), *volumes.items()):
            pattern = (
                asb.monthly_pattern
                if itype == "Anti-social behaviour"
                else params.derived.monthly_pattern
            )
            for _ in range(poisson(r, per_year / 365.25 * pattern[month] * scale)):
                minute = day * DAY + hours.draw(r) * HOUR + r.randrange(60)
                di = force.district_choice.draw(r)
                calls.append(
                    (
                        minute,
                        itype,
                        grades[itype].draw(r),
                        di,
                        "",
                        force.districts[di].lsoas.draw(r),
                    )
                )
    calls.sort()

    # Medians: immediate and scheduled as given; prompt solved around the slow DA/burglary calls.
    med = t.response_median_minutes
    prompt = [c for c in calls if c[2] == "prompt"]
    n_prompt = max(len(prompt), 1)
    w_da = sum(1 for c in prompt if c[1] in DA_TYPES) / n_prompt
    w_burg = sum(1 for c in prompt if c[1] == "Burglary dwelling") / n_prompt
    base_prompt = _solve_median(
        med["prompt"],
        SIGMA["prompt"],
        [(w_da, med["prompt_domestic_abuse"]), (w_burg, med["prompt_burglary_dwelling"])],
        1 - w_da - w_burg,
    )
    shares = {a: 0.0 for a in AREA_FACTOR}
    for d in force.districts:
        shares[d.area] += d.share
    norm = math.exp(sum(shares[a] * math.log(f) for a, f in AREA_FACTOR.items()))
    end = window.end_minute
    rows: list[tuple[str, ...]] = []
    for n, (received, itype, grade, di, crime_id, lsoa) in enumerate(calls, start=1):
        district = force.districts[di]
        if grade == "prompt":
            m = (
                med["prompt_domestic_abuse"]
                if itype in DA_TYPES
                else med["prompt_burglary_dwelling"]
                if itype == "Burglary dwelling"
                else base_prompt
            )
        else:
            m = med[grade]
        m *= AREA_FACTOR[district.area] / norm
        # to the second: a median of whole minutes would sit on one value month after month
        seconds = max(30, round(m * 60 * math.exp(r.gauss(0.0, SIGMA[grade]))))
        arrived: int | None = received * 60 + seconds
        if r.random() < NO_ATTENDANCE[grade] or (arrived is not None and arrived > end * 60):
            arrived = None
        reason = ""
        slow = (grade == "immediate" and seconds > 20 * 60) or (
            grade == "prompt" and seconds > 60 * 60
        )
        if arrived is not None and slow:
            if itype in DA_TYPES:
                # Resource non-availability cited for the target share of all delayed DA calls.
                if r.random() < 0.9:
                    share = t.domestic_abuse_delay_resource_share / 0.9
                    reason = (
                        "resource_availability"
                        if r.random() < share
                        else NON_RESOURCE_REASONS.draw(r)
                    )
            elif r.random() < 0.55:
                reason = DELAY_REASONS.draw(r)
        rows.append(
            (
                f"DS-I-{n:07d}",
                fmt.ts(received),
                grade,
                "" if r.random() < 0.004 else itype,
                fmt.ts_seconds(arrived),
                district.area,
                district.name,
                reason,
                crime_id,
                FORCE_NAME,
                "" if r.random() < 0.03 else lsoa,
            )
        )
    return rows
