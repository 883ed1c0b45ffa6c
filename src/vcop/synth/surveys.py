"""Victim survey responses on the 7-point scale (1 = completely satisfied .. 7 = completely dissatisfied).

Adult victims of the surveyed crime types are asked 6-12 weeks after reporting (domestic-abuse
victims by a separate survey, 4-12 weeks after). Each answer comes from a latent score shared by the
five questions of one response (people who are unhappy are unhappy across the board) plus noise per
question; the follow-up answer also moves with how well that victim was in fact kept informed, and
a victim any of whose updates came late answers a little less satisfied throughout (a synthetic
effect, ``late_update_satisfaction_shift`` in the parameters). Cut points put each question's share
of "at least fairly satisfied" (codes 1-3) on its target. A response linked to a crime carries the
victim who answered and the crime's investigating unit and officer in charge.
"""

from __future__ import annotations

import calendar
import math
import random
from datetime import date
from statistics import NormalDist, fmean, pstdev

from vcop.synth.clock import DAY, HOUR, Formatter, day_date, day_number
from vcop.synth.crimes import Window
from vcop.synth.force import Force
from vcop.synth.params import SynthParams
from vcop.synth.victims import VictimCrime

DIMENSIONS = ("ease_of_contact", "actions_taken", "follow_up", "treatment", "whole_experience")
BLANK = {
    "ease_of_contact": 0.02,
    "actions_taken": 0.03,
    "follow_up": 0.06,
    "treatment": 0.02,
    "whole_experience": 0.01,
}
#: How strongly each answer follows the victim's real experience of being kept informed.
SERVICE_WEIGHT = {
    "ease_of_contact": 0.0,
    "actions_taken": 0.1,
    "follow_up": 0.6,
    "treatment": 0.1,
    "whole_experience": 0.25,
}
SURVEYED_TYPES = frozenset(
    {
        "Burglary",
        "Violence and sexual offences",
        "Vehicle crime",
        "Robbery",
        "Criminal damage and arson",
        "Theft from the person",
        "Other theft",
        "Bicycle theft",
    }
)
POSITIVE = (
    "Officer was helpful and kind.",
    "Kept informed throughout.",
    "Quick response.",
    "Clear explanation of what would happen next.",
    "Felt listened to.",
)
NEGATIVE = (
    "Would have liked more updates.",
    "Took a long time for anyone to attend.",
    "Hard to get through on the phone.",
    "Was not told the case had been closed.",
    "Had to chase for information.",
    "Initial response was good but follow-up was poor.",
)
COMMON, OWN = 0.75, 0.66


def _code_cuts(p_satisfied: float) -> list[float]:
    """Latent cut points for codes 1..7 given the share answering 1-3."""
    p = min(max(p_satisfied, 0.02), 0.99)
    probs = [
        p * 0.3,
        p * 0.4,
        p * 0.3,
        (1 - p) * 0.35,
        (1 - p) * 0.26,
        (1 - p) * 0.195,
        (1 - p) * 0.195,
    ]
    nd = NormalDist()
    cuts: list[float] = []
    cum = 0.0
    for q in probs[:-1]:
        cum += q
        cuts.append(nd.inv_cdf(min(cum, 1 - 1e-9)))
    return cuts


def _code(z: float, cuts: list[float]) -> int:
    for i, cut in enumerate(cuts):
        if z < cut:
            return i + 1
    return 7


class Respondent:
    """One victim answering a survey: linked to a crime in the extract, or (early in the window) to
    one reported before it, which the extract does not hold."""

    __slots__ = (
        "area",
        "crime_id",
        "crime_type",
        "day",
        "district",
        "informed",
        "late",
        "officer_id",
        "survey",
        "unit",
        "victim_id",
    )

    def __init__(
        self,
        day: int,
        survey: str,
        crime_id: str,
        crime_type: str,
        area: str,
        district: str,
        informed: float,
        late: bool,
        victim_id: str = "",
        unit: str = "",
        officer_id: str = "",
    ) -> None:
        self.day = day
        self.survey = survey
        self.crime_id = crime_id
        self.crime_type = crime_type
        self.area = area
        self.district = district
        self.informed = informed
        #: some update the victim was owed came late (or not at all)
        self.late = late
        self.victim_id = victim_id
        self.unit = unit
        self.officer_id = officer_id


def _pooled(informed: float) -> tuple[float, bool]:
    """The informed share of a respondent drawn from the pool, and whether an update was late."""
    return informed, informed < 1.0


def _months(first_day: int, last_day: int) -> list[tuple[int, int]]:
    months: list[tuple[int, int]] = []
    d = day_date(first_day)
    last = day_date(last_day)
    while (d.year, d.month) <= (last.year, last.month):
        months.append((d.year, d.month))
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return months


def generate_surveys(
    params: SynthParams,
    force: Force,
    victim_crimes: list[VictimCrime],
    window: Window,
    scale: float,
    fmt: Formatter,
    r: random.Random,
) -> list[tuple[str, ...]]:
    t = params.targets
    end_day = window.end_day
    buckets: dict[tuple[str, int, int], list[tuple[int, VictimCrime]]] = {}
    informed_pool: dict[str, list[float]] = {"victim_satisfaction": [], "domestic_abuse": []}
    types_pool: dict[str, list[str]] = {"victim_satisfaction": [], "domestic_abuse": []}
    for vc in victim_crimes:
        c = vc.crime
        if vc.age < 18 or c.recorded is None or c.offence in ("1", "4.1"):
            continue
        if c.da:
            survey, day = "domestic_abuse", c.reported // DAY + r.randint(28, 84)
        elif (c.crime_type in SURVEYED_TYPES and not c.sexual) or c.hate:
            survey, day = "victim_satisfaction", c.reported // DAY + r.randint(42, 84)
        else:
            continue
        informed_pool[survey].append(vc.informed_share)
        types_pool[survey].append(c.crime_type)
        if day > end_day:
            continue
        d = day_date(day)
        buckets.setdefault((survey, d.year, d.month), []).append((day, vc))

    # A few hundred a month. In the first months most people surveyed reported before the window:
    # their answers are kept, unlinked to any crime in the extract.
    people: list[Respondent] = []
    for year, month in _months(window.start_day, end_day):
        first = max(day_number(date(year, month, 1)), window.start_day)
        last = min(day_number(date(year, month, calendar.monthrange(year, month)[1])), end_day)
        span = (last - first + 1) / calendar.monthrange(year, month)[1]
        for survey in ("victim_satisfaction", "domestic_abuse"):
            want = round(
                t.survey_responses_per_month[survey] * scale * span * r.uniform(0.85, 1.15)
            )
            candidates = buckets.get((survey, year, month), [])
            for day, vc in r.sample(candidates, min(want, len(candidates))):
                c = vc.crime
                linked = r.random() >= 0.08
                people.append(
                    Respondent(
                        day,
                        survey,
                        c.crime_id if linked else "",
                        c.crime_type,
                        c.district.area,
                        c.district.name,
                        vc.informed_share,
                        vc.on_time < vc.owed,
                        vc.person.victim_id if linked else "",
                        c.unit if linked else "",
                        c.officer if linked else "",
                    )
                )
            if first - window.start_day < 120 and informed_pool[survey]:
                for _ in range(want - len(candidates)):
                    district = force.districts[force.district_choice.draw(r)]
                    people.append(
                        Respondent(
                            r.randint(first, last),
                            survey,
                            "",
                            r.choice(types_pool[survey]),
                            district.area,
                            district.name,
                            *_pooled(r.choice(informed_pool[survey])),
                        )
                    )

    answers: list[dict[str, int | None]] = [{} for _ in people]
    for survey in ("victim_satisfaction", "domestic_abuse"):
        group = [i for i, p in enumerate(people) if p.survey == survey]
        if not group:
            continue
        informed = [people[i].informed for i in group]
        mean, sd = fmean(informed), pstdev(informed) or 1.0
        late_share = fmean(float(people[i].late) for i in group)
        rates = t.satisfaction[survey]
        targets: dict[bool, dict[str, float]] = {False: dict(rates), True: dict(rates)}
        if survey == "victim_satisfaction":
            burglary = t.satisfaction["victim_satisfaction_burglary"]
            w = sum(1 for i in group if people[i].crime_type == "Burglary") / len(group)
            targets[True] = dict(burglary)
            targets[False] = {k: (rates[k] - w * burglary[k]) / (1 - w) for k in DIMENSIONS}
        cuts = {b: {k: _code_cuts(v[k]) for k in DIMENSIONS} for b, v in targets.items()}
        for i in group:
            p = people[i]
            is_burglary = survey == "victim_satisfaction" and p.crime_type == "Burglary"
            x = (mean - p.informed) / sd  # positive = worse informed than usual
            # centred, so the survey's overall shares stay on their targets
            late = (float(p.late) - late_share) * t.late_update_satisfaction_shift
            common = r.gauss(0.0, 1.0)
            for k in DIMENSIONS:
                b = SERVICE_WEIGHT[k]
                z = (COMMON * common + OWN * r.gauss(0.0, 1.0) + b * x) / math.sqrt(
                    COMMON**2 + OWN**2 + b**2
                ) + (late if b else 0.0)
                code = _code(z, cuts[is_burglary][k])
                answers[i][k] = None if r.random() < BLANK[k] else code

    rows: list[tuple[int, tuple[str, ...]]] = []
    for p, a in zip(people, answers, strict=True):
        whole, follow = a["whole_experience"], a["follow_up"]
        comment = ""
        if r.random() < 0.22:
            if (follow or 4) >= 5 or (whole or 4) >= 5:
                comment = r.choice(NEGATIVE)
            elif (whole or 4) <= 3:
                comment = r.choice(POSITIVE)
        minute = p.day * DAY + r.randint(10 * HOUR, 19 * HOUR)
        rows.append(
            (
                minute,
                (
                    p.survey,
                    fmt.ts(minute),
                    p.crime_id,
                    "" if r.random() < 0.02 else p.crime_type,
                    p.area,
                    p.district,
                    *("" if a[k] is None else str(a[k]) for k in DIMENSIONS),
                    comment,
                    p.victim_id,
                    p.officer_id,
                    p.unit,
                ),
            )
        )
    rows.sort(key=lambda t: t[0])  # stable: ties keep their (deterministic) order
    return [(f"DS-S-{n:06d}", *row) for n, (_, row) in enumerate(rows, start=1)]
