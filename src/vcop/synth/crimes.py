"""Crimes, the investigation and court events on each, and supervisory reviews.

Each crime's final Home Office outcome is drawn first (from the crime type's real outcome mix),
then the time it takes (from the real outcome lags), and the case events are laid out backwards
from that: arrest, interview, bail or release under investigation, then the decision -- charge
(followed by hearings, verdict and sentence), an out-of-court disposal, no further action -- or, for
screened-out crimes, a decision not to investigate. Anything after the extract's end is cut off, so
the last weeks hold open investigations with only their first events.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable
from dataclasses import dataclass

from vcop.synth.clock import DAY, HOUR, WorkingDays, day_date, day_number
from vcop.synth.force import District, Force, Unit
from vcop.synth.params import SynthParams
from vcop.synth.rand import Choice, lognormal_minutes, poisson

RAPE = frozenset({"19C", "19D", "19E", "19F", "19G", "19H"})
SEXUAL = RAPE | {"20A", "20B", "17A", "17B", "22A", "22B", "21", "88A", "88E", "71", "73"}
HOMICIDE = frozenset({"1", "4.1"})
#: Offences whose victims are children by definition (the offence's own wording).
CHILD_VICTIM = frozenset(
    {"11A", "19D", "19E", "19G", "19H", "20B", "17B", "21", "22B", "71", "88A"}
)
SERIOUS_VIOLENCE = HOMICIDE | {"2", "5D", "5E"}
HARASSMENT = frozenset({"8L", "8M", "8Q", "8R", "8U"})
#: Offences with an injury or a loss, for which compensation information is owed.
INJURY_OR_LOSS_TYPES = frozenset(
    {
        "Burglary",
        "Robbery",
        "Theft from the person",
        "Bicycle theft",
        "Vehicle crime",
        "Other theft",
        "Criminal damage and arson",
    }
)
INJURY_CODES = frozenset({"8N", "8P", "8S", "5D", "5E", "2"}) | SEXUAL

OUTCOME_GROUP: dict[int, str] = {18: "no_suspect", 1: "charged"}
OUTCOME_GROUP.update(dict.fromkeys((14, 15, 16, 5, 11, 12, 13, 17), "evidential"))
OUTCOME_GROUP.update(dict.fromkeys((2, 3, 6, 7, 8, 22), "out_of_court"))
OUTCOME_GROUP.update(dict.fromkeys((4, 9, 10, 19, 20, 21), "other"))

COURT_EVENTS = frozenset({"hearing_listed", "verdict", "sentenced", "case_stopped_or_altered"})


class Event:
    __slots__ = ("event_id", "minute", "type")
    event_id: str
    minute: int
    type: str

    def __init__(self, minute: int, type_: str) -> None:
        self.minute = minute
        self.type = type_
        self.event_id = ""


class Crime:
    __slots__ = (
        "crime_id",
        "crime_type",
        "custody_months",
        "da",
        "district",
        "events",
        "first_hearing",
        "hate",
        "lsoa",
        "not_guilty",
        "offence",
        "officer",
        "officer_diligence",
        "open",
        "outcome",
        "outcome_minute",
        "recorded",
        "reported",
        "screened",
        "sentenced_minute",
        "trial",
        "trial_listed",
        "unit",
        "verdict",
    )

    crime_id: str
    crime_type: str
    custody_months: int
    da: bool
    district: District
    events: list[Event]
    #: The court journey as drawn (times may lie after the extract's end; the partner agencies'
    #: records use them, cut off at the end): first hearing, plea, trial listing, trial, verdict.
    first_hearing: int | None
    hate: bool
    lsoa: str
    offence: str
    officer: str
    officer_diligence: float
    not_guilty: bool
    open: bool
    outcome: int
    outcome_minute: int
    recorded: int | None
    reported: int
    screened: bool
    sentenced_minute: int | None
    trial: int | None
    trial_listed: int | None
    unit: str
    verdict: int | None

    def __init__(self) -> None:
        self.crime_id = ""
        self.events = []
        self.custody_months = 0
        self.sentenced_minute: int | None = None
        self.screened = False
        self.open = True
        self.first_hearing = None
        self.not_guilty = False
        self.trial_listed = None
        self.trial = None
        self.verdict = None

    @property
    def outcome_group(self) -> str:
        return OUTCOME_GROUP[self.outcome]

    @property
    def sexual(self) -> bool:
        return self.offence in SEXUAL

    @property
    def violent_or_sexual(self) -> bool:
        return self.crime_type == "Violence and sexual offences" or self.crime_type == "Robbery"


@dataclass
class Window:
    """The extract's period: whole days ``start_day``..``end_day`` (day numbers), inclusive."""

    start_day: int
    end_day: int
    wd: WorkingDays

    @property
    def end_minute(self) -> int:
        return (self.end_day + 1) * DAY - 1


class CrimeModel:
    """Draws crimes for Demoshire from the calibration file."""

    def __init__(self, params: SynthParams, force: Force) -> None:
        self.params = params
        self.force = force
        d, t = params.derived, params.targets
        self.hour = Choice(list(enumerate(t.report_hour_weights)))
        # Domestic abuse: the share of all crimes that makes the peak month ~ the target.
        peak = max(d.monthly_pattern[m] * calendar.monthrange(2023, m)[1] for m in range(1, 13))
        da_share = t.domestic_abuse_peak_month / (d.crimes_per_year / 365.25 * peak)
        self.da_rate = {
            ct: min(0.95, da_share * t.domestic_abuse_crime_types.get(ct, 0.0) / share)
            for ct, share in d.crime_type_mix.items()
        }
        self.hate_rate = {
            ct: t.hate_crime_rate.get(ct, t.hate_crime_rate.get("default", 0.0))
            for ct in d.crime_type_mix
        }
        self.offences: dict[tuple[str, bool], Choice[str]] = {}
        for ct, oc in params.offence_codes.items():
            self.offences[(ct, False)] = Choice(list(zip(oc.codes, oc.weights, strict=True)))
            self.offences[(ct, True)] = Choice(
                list(zip(oc.codes, oc.da or oc.weights, strict=True))
            )
        self.outcomes = {ct: Choice(mix) for ct, mix in d.outcome_mix.items()}
        self.lags = {g: Choice(list(enumerate(p))) for g, p in d.outcome_lag_months.items()}
        self.da_outcomes = t.domestic_abuse_outcomes

    # -- one crime ---------------------------------------------------------------------------

    def crime(self, r: random.Random, day: int, window: Window) -> Crime:
        c = Crime()
        district = self.force.districts[self.force.district_choice.draw(r)]
        c.district = district
        c.crime_type = ct = district.crime_types.draw(r)
        c.reported = day * DAY + self.hour.draw(r) * HOUR + r.randrange(60)
        c.da = r.random() < self.da_rate[ct]
        c.hate = (not c.da) and r.random() < self.hate_rate[ct]
        c.offence = self.offences[(ct, c.da)].draw(r)
        c.lsoa = district.lsoas.draw(r)
        # Recorded within hours as a rule; a few wait days for a crime-recording decision.
        rec = c.reported + min(lognormal_minutes(r, 150, 1.2), 3 * DAY)
        if r.random() < 0.03:
            rec += r.randint(1, 10) * DAY
        c.recorded = rec if rec <= window.end_minute else None

        outcome = self.outcomes[ct].draw(r)
        if c.da:
            if outcome == 18 and r.random() < self.da_outcomes["no_suspect_becomes_evidential"]:
                outcome = 16 if r.random() < 0.6 else 15
            elif (
                outcome in (14, 15)
                and r.random() < self.da_outcomes["evidential_becomes_victim_withdrawal"]
            ):
                outcome = 16
        if c.offence in HOMICIDE:
            outcome = 1 if r.random() < 0.9 else 13
        c.outcome = outcome
        c.outcome_minute = self._outcome_minute(r, c, window)
        c.open = c.recorded is None or c.outcome_minute > window.end_minute
        c.screened = (
            outcome == 18
            and not c.da
            and c.outcome_minute - c.reported <= 10 * DAY
            and c.crime_type != "Violence and sexual offences"
            and r.random() < 0.8
        )
        self._allocate(r, c, district, window)
        return c

    def _outcome_minute(self, r: random.Random, c: Crime, window: Window) -> int:
        lag = self.lags[OUTCOME_GROUP[c.outcome]].draw(r)
        if lag == 7:
            lag = r.randint(7, 18)
        if c.outcome == 1 and (c.offence in RAPE or c.offence in SERIOUS_VIOLENCE):
            lag += r.randint(1, 6)
        day = c.reported // DAY
        d0 = day_date(day)
        if lag == 0:
            left = calendar.monthrange(d0.year, d0.month)[1] - d0.day
            day += min(int((left + 1) * r.random() ** 2), left)
        else:
            y, m = divmod(d0.month - 1 + lag, 12)
            y += d0.year
            m += 1
            day = day_number(
                d0.replace(year=y, month=m, day=r.randint(1, calendar.monthrange(y, m)[1]))
            )
        minute = day * DAY + r.randint(8 * HOUR, 19 * HOUR)
        floor = (c.recorded if c.recorded is not None else c.reported) + 10
        if minute <= floor:
            minute = floor + r.randint(15, 6 * HOUR)
        return minute

    def _allocate(self, r: random.Random, c: Crime, district: District, window: Window) -> None:
        unit: Unit
        if c.screened:
            unit = self.force.imu
        elif c.da or c.offence in SEXUAL or c.offence == "11A":
            unit = district.units["Safeguarding"]
        elif (
            c.crime_type == "Robbery"
            or c.offence in SERIOUS_VIOLENCE
            or c.offence.startswith(("28", "29"))
        ):
            unit = district.units["CID"]
        else:
            unit = district.units["Response"]
        c.unit = unit.name
        i = unit.pick(r)
        c.officer_diligence = unit.diligence[i]
        recent = c.reported >= window.end_minute - 2 * DAY
        c.officer = "" if (recent and r.random() < 0.4) or r.random() < 0.005 else unit.officers[i]

    # -- events ------------------------------------------------------------------------------

    def journey(self, r: random.Random, c: Crime, window: Window) -> None:
        """Lay out the crime's case events, then drop those after the extract's end."""
        if c.recorded is None:
            c.events = []  # a report still awaiting recording has no investigation yet
            return
        start = c.recorded if c.recorded is not None else c.reported
        o = c.outcome_minute
        span = max(o - start, 30)
        group = OUTCOME_GROUP[c.outcome]
        ev: list[tuple[int, str]] = []
        if group == "no_suspect" or c.outcome in (14, 20, 4):
            ev.append((o, "decision_not_to_investigate" if c.screened else "investigation_closed"))
        else:
            if group == "charged":
                p_arrest = 0.95 if c.da else 0.8
            elif group == "out_of_court":
                p_arrest = 0.35
            elif c.crime_type == "Violence and sexual offences":
                p_arrest = 0.7 if c.da else 0.45
            elif c.crime_type in ("Burglary", "Robbery"):
                p_arrest = 0.5
            else:
                p_arrest = 0.25
            released_without_charge = False
            if r.random() < p_arrest:
                delay = lognormal_minutes(r, 4 * HOUR if c.da else 1.5 * DAY, 1.0)
                a = start + min(delay, span // 2)
                i = a + min(r.randint(HOUR, 10 * HOUR), (o - a) // 3)
                ev.append((a, "suspect_arrested"))
                ev.append((i, "suspect_interviewed"))
                if o - i > 2 * DAY:
                    rel = r.randint(30, 6 * HOUR)
                    if group != "charged" and r.random() < 0.15:
                        ev.append((i + rel, "released_without_charge"))
                        released_without_charge = True
                    else:
                        bail = r.random() < (0.55 if c.da else 0.3)
                        ev.append(
                            (
                                i + rel,
                                "released_on_bail" if bail else "released_under_investigation",
                            )
                        )
                        if bail and r.random() < 0.15:
                            ev.append(
                                (
                                    i + rel + int((o - i - rel) * r.random()),
                                    "bail_conditions_changed",
                                )
                            )
            elif group in ("evidential", "out_of_court", "charged") and r.random() < 0.55:
                ev.append((start + int(span * r.uniform(0.2, 0.8)), "suspect_interviewed"))
            if group == "charged":
                ev.append((o, "charged"))
                ev.extend(self._court(r, c, o))
            elif group == "out_of_court":
                ev.append((o, "out_of_court_disposal"))
            elif c.outcome == 16:
                ev.append((o, "investigation_closed" if r.random() < 0.5 else "not_charged"))
            elif c.outcome == 15 and not released_without_charge and r.random() < 0.3:
                ev.append((o, "released_without_charge"))
            elif c.outcome in (10, 21):
                ev.append((o, "investigation_closed"))
            else:
                ev.append((o, "not_charged"))
        end = window.end_minute
        ev.sort()
        c.events = [Event(m, t) for m, t in ev if m <= end and m >= c.reported]
        if c.sentenced_minute is not None and c.sentenced_minute > end:
            c.sentenced_minute = None

    def _court(self, r: random.Random, c: Crime, charged: int) -> list[tuple[int, str]]:
        ev: list[tuple[int, str]] = []
        serious = c.offence in RAPE or c.offence in SERIOUS_VIOLENCE
        # The court lists the first hearing that day or the next, in office hours.
        listed = (charged // DAY + r.randint(0, 1)) * DAY + r.randint(9 * HOUR, 17 * HOUR)
        ev.append((max(listed, charged + 30), "hearing_listed"))
        first = (charged // DAY + r.randint(1, 28)) * DAY + r.randint(10 * HOUR, 16 * HOUR)
        guilty_plea = r.random() < (0.35 if serious else 0.62)
        c.first_hearing = first
        if guilty_plea:
            verdict, guilty = first, True
        else:
            c.not_guilty = True
            trial_listed = first + r.randint(HOUR, DAY)
            ev.append((trial_listed, "hearing_listed"))
            trial = first + (r.randint(180, 540) if serious else r.randint(60, 300)) * DAY
            c.trial_listed = trial_listed
            if r.random() < 0.1:
                ev.append((first + int((trial - first) * r.random()), "case_stopped_or_altered"))
                if r.random() < 0.6:
                    return ev  # discontinued
            c.trial = trial
            verdict = trial + r.randint(0, 3) * DAY
            guilty = r.random() < 0.6
        c.verdict = verdict
        ev.append((verdict, "verdict"))
        if not guilty:
            return ev
        if r.random() < (0.5 if guilty_plea else 0.35):
            sentenced = verdict + r.randint(30, 3 * HOUR)
        else:
            ev.append((verdict + r.randint(HOUR, 4 * HOUR), "hearing_listed"))
            sentenced = verdict + r.randint(21, 42) * DAY
        ev.append((sentenced, "sentenced"))
        c.sentenced_minute = sentenced
        if c.offence in HOMICIDE:
            p, months = 1.0, (120, 360)
        elif serious:
            p, months = 0.85, (24, 120)
        elif c.offence in SEXUAL or c.offence in ("8N", "8P", "28E", "34B", "29A", "3B"):
            p, months = 0.35, (4, 36)
        else:
            p, months = 0.12, (1, 12)
        if r.random() < p:
            c.custody_months = r.randint(*months)
            release = sentenced + int(c.custody_months * 30.4 / 2) * DAY
            ev.append((release, "offender_release"))
        return ev


def generate_crimes(
    params: SynthParams,
    force: Force,
    window: Window,
    scale: float,
    r: random.Random,
    tick: Callable[[float], None] | None = None,
) -> list[Crime]:
    """Draw every crime reported in the window, ordered by report time, with ids and events.

    ``tick(fraction done)`` is called now and then."""
    model = CrimeModel(params, force)
    per_day = params.derived.crimes_per_year / 365.25 * scale
    pattern = params.derived.monthly_pattern
    crimes: list[Crime] = []
    days = window.end_day - window.start_day + 1
    for day in range(window.start_day, window.end_day + 1):
        n = poisson(r, per_day * pattern[day_date(day).month])
        for _ in range(n):
            crimes.append(model.crime(r, day, window))
        if tick is not None and day % 30 == 0:
            tick(0.7 * (day - window.start_day) / days)
    crimes.sort(key=lambda c: c.reported)
    for n, c in enumerate(crimes, start=1):
        c.crime_id = f"DS-C-{n:06d}"
        model.journey(r, c, window)
    # Event ids follow time order across the force, as a crime system's sequence would.
    # (minute, crime index, position) is unique, so the Event itself is never compared.
    events = sorted(
        (e.minute, ci, k, e) for ci, c in enumerate(crimes) for k, e in enumerate(c.events)
    )
    for n, (_, _, _, e) in enumerate(events, start=1):
        e.event_id = f"DS-E-{n:07d}"
    return crimes


def supervisory_reviews(
    params: SynthParams, crimes: list[Crime], window: Window, r: random.Random
) -> list[tuple[int, str, int, int | None]]:
    """(due, crime_id, crime index, completed) for each review, in crime order."""
    sr = params.targets.supervisory_review
    interval = int(sr["interval_days"]) * DAY
    choice = Choice({"on_time": sr["on_time"], "late": sr["late"], "never": sr["never"]})
    end = window.end_minute
    out: list[tuple[int, str, int, int | None]] = []
    for ci, c in enumerate(crimes):
        if c.screened or c.recorded is None:
            continue
        first = sr["first_due_days_domestic_abuse"] if c.da else sr["first_due_days"]
        due = c.recorded + int(first * DAY)
        limit = end if c.open else c.outcome_minute
        for _ in range(60):
            if due > limit:
                if c.open:
                    out.append((due, c.crime_id, ci, None))  # the next review, not yet due
                break
            kind = choice.draw(r)
            done: int | None
            if kind == "on_time":
                done = due - r.randint(0, 3 * DAY)
                done = max(done, c.recorded + HOUR)
            elif kind == "late":
                done = due + r.randint(2 * DAY, 30 * DAY)
            else:
                done = None
            if done is not None and done > end:
                done = None
            out.append((due, c.crime_id, ci, done))
            due += interval
    return out
