"""Victims and the service each one gets: needs assessment, care contract, referrals and contacts.

A victim is a pseudonymous person id (``DS-V-000001``) kept across crimes, so repeat victims --
above all of domestic abuse -- show up under one id. Nothing here records a name, an address or a
phone number, real or invented.

How well a victim is kept informed depends on the officer in charge (each officer has a diligence
on the logit scale, set in :mod:`vcop.synth.force`), so compliance varies by unit and officer the way
it does in a real force, while the force-wide rates stay close to the calibration targets.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from vcop.synth.clock import DAY, HOUR, Formatter, day_date
from vcop.synth.crimes import (
    CHILD_VICTIM,
    COURT_EVENTS,
    HARASSMENT,
    HOMICIDE,
    INJURY_CODES,
    INJURY_OR_LOSS_TYPES,
    RAPE,
    SERIOUS_VIOLENCE,
    Crime,
    Window,
)
from vcop.synth.params import SynthParams
from vcop.synth.rand import Choice, expit, logit

#: Channels of contact for standard victims, and their weights (the national generator draws
#: from the same mix).
CHANNEL_WEIGHTS = {
    "phone": 0.55,
    "email": 0.2,
    "sms": 0.08,
    "letter": 0.06,
    "in_person": 0.07,
    "portal": 0.02,
    "video": 0.01,
    "other": 0.01,
}
CHANNELS = Choice(CHANNEL_WEIGHTS)
PREFERRED_CHANNELS = Choice(
    {
        "phone": 0.52,
        "email": 0.25,
        "sms": 0.09,
        "letter": 0.05,
        "in_person": 0.03,
        "portal": 0.02,
        "video": 0.01,
        "": 0.03,
    }
)
#: Repeat victims are drawn from people victimised within this many days.
REPEAT_WITHIN_DAYS = 365
NA_DELAY = Choice({0: 0.55, 1: 0.15, 2: 0.1, 3: 0.05, -1: 0.15})  # working days; -1 = late
HUB_DAY = Choice({0: 0.5, 1: 0.3, 2: 0.2})
ACK_DAY = Choice({0: 0.35, 1: 0.3, 2: 0.15, 3: 0.08, 5: 0.07, 8: 0.05})
INFO_CHANNEL = Choice({"in_person": 0.4, "email": 0.4, "letter": 0.2})
ACK_CHANNEL = Choice({"email": 0.5, "letter": 0.3, "sms": 0.2})
NA_CHANNEL = Choice({"phone": 0.6, "in_person": 0.4})
REFERRAL_OUTCOMES = Choice({"engaged": 0.3, "no_contact": 0.25, "declined_support": 0.35, "": 0.1})
SUPPORT_OUTCOMES = Choice({"engaged": 0.55, "no_contact": 0.2, "declined_support": 0.2, "": 0.05})


def _bool(v: bool | None) -> str:
    return "" if v is None else ("true" if v else "false")


class Person:
    __slots__ = (
        "birth_day",
        "crime_days",
        "disability",
        "ethnicity",
        "sex",
        "victim_id",
        "vulnerability",
    )

    birth_day: int
    crime_days: list[int]
    disability: bool | None
    ethnicity: str
    sex: str
    victim_id: str
    vulnerability: float

    def __init__(self, victim_id: str) -> None:
        self.victim_id = victim_id
        self.crime_days = []


class VictimCrime:
    __slots__ = (
        "age",
        "bereaved",
        "crime",
        "crime_index",
        "diligence",
        "enhanced",
        "intimidated",
        "on_time",
        "opt_out",
        "owed",
        "person",
        "vcs_referred",
        "vps_offered",
        "vulnerable",
    )

    age: int
    bereaved: bool
    crime: Crime
    crime_index: int
    diligence: float
    enhanced: bool
    intimidated: bool
    on_time: int
    opt_out: bool
    owed: int
    person: Person
    #: When the victim was referred to the Victim Contact Scheme / offered a VPS (if they were).
    vcs_referred: int | None
    vps_offered: int | None
    vulnerable: bool

    def __init__(self, person: Person, crime: Crime, crime_index: int) -> None:
        self.person = person
        self.crime = crime
        self.crime_index = crime_index
        self.owed = 0
        self.on_time = 0
        self.bereaved = self.vulnerable = self.intimidated = False
        self.vcs_referred = None
        self.vps_offered = None

    @property
    def informed_share(self) -> float:
        """Share of the updates owed so far that were made on time (1.0 when none were owed)."""
        return self.on_time / self.owed if self.owed else 1.0


@dataclass
class VictimTables:
    victims: list[tuple[str, ...]] = field(default_factory=list)
    needs_assessments: list[tuple[str, ...]] = field(default_factory=list)
    care_contracts: list[tuple[str, ...]] = field(default_factory=list)
    referrals: list[tuple[str, ...]] = field(default_factory=list)
    # contacts are sorted by time before they get ids: (minute, crime index, seq, row without id)
    contacts: list[tuple[int, int, int, tuple[str, ...]]] = field(default_factory=list)
    victim_crimes: list[VictimCrime] = field(default_factory=list)


class Shifted:
    """A choice whose ``good`` outcome can be made likelier or rarer per draw (a logit shift); the
    other outcomes keep their relative shares."""

    def __init__(self, shares: dict[str, float], good: str) -> None:
        self.good = good
        self.base = logit(shares[good])
        self.rest = Choice({k: v for k, v in shares.items() if k != good})

    def draw(self, r: random.Random, shift: float) -> str:
        if r.random() < expit(self.base + shift):
            return self.good
        return self.rest.draw(r)


class VictimModel:
    def __init__(
        self, params: SynthParams, window: Window, fmt: Formatter, r: random.Random
    ) -> None:
        self.t = params.targets
        self.window = window
        self.wd = window.wd
        self.fmt = fmt
        self.r = r
        t = self.t
        self.sex = Choice(t.sex)
        self.sex_da = Choice(t.sex_domestic_abuse)
        self.ethnicity = Choice(t.ethnicity)
        self.disability = Choice(t.disability)
        self.interval_enh = Choice(t.care_contract_interval_enhanced)
        self.interval_std = Choice(t.care_contract_interval_standard)
        self.hub = Shifted(t.victim_hub_referral, "on_time")
        self.police_update = Shifted(t.event_update, "on_time")
        self.court_update = Choice(t.court_event_update)
        self.periodic = Shifted(t.periodic_update, "on_time")
        self.persons: list[Person] = []
        self._shifts: dict[tuple[str, int], float] = {}
        # Per district: (report days, people), in report order, for drawing repeat victims.
        self.pool: dict[str, tuple[list[int], list[Person]]] = {}
        self.da_pool: dict[str, tuple[list[int], list[Person]]] = {}
        self.out = VictimTables()
        self._seq = 0
        self._ids = {"na": 0, "cc": 0, "rf": 0}

    # -- people --------------------------------------------------------------------------------

    def _new_person(self, c: Crime) -> Person:
        r = self.r
        p = Person(f"DS-V-{len(self.persons) + 1:06d}")
        self.persons.append(p)
        p.sex = (self.sex_da if c.da else self.sex).draw(r)
        p.ethnicity = self.ethnicity.draw(r)
        dis = self.disability.draw(r)
        p.disability = None if dis == "blank" else dis == "true"
        if c.da:
            age = int(r.triangular(16, 80, 29))
        elif c.offence in CHILD_VICTIM or r.random() < self.t.under_18_rate:
            age = int(r.triangular(4, 18, 15))
        else:
            age = int(r.triangular(18, 92, 30))
        p.birth_day = c.reported // DAY - int(age * 365.25) - r.randrange(365)
        base = self.t.vulnerable_rate * 0.6
        if age >= 75:
            base = 0.4
        elif p.disability:
            base = 0.35
        p.vulnerability = base
        return p

    def _pick(
        self, pool: tuple[list[int], list[Person]], day: int, exclude: list[Person]
    ) -> Person | None:
        """Someone victimised in the last year in this district, the more recent the likelier."""
        days, people = pool
        # Early in the window part of the look-back year lies before the extract: someone drawn
        # from there first appears here, so counts as new. (The draw below puts a share
        # sqrt(a / year) of its picks within the last a days.)
        seen = day - self.window.start_day
        if seen < REPEAT_WITHIN_DAYS and self.r.random() > (seen / REPEAT_WITHIN_DAYS) ** 0.5:
            return None
        lo = bisect_left(days, day - REPEAT_WITHIN_DAYS)
        n = len(people) - lo
        if n <= 0:
            return None
        for _ in range(3):
            p = people[len(people) - 1 - int(n * self.r.random() ** 2)]
            if p not in exclude:
                return p
        return None

    def _person(self, c: Crime, exclude: list[Person]) -> Person:
        r = self.r
        rates = self.t.repeat_victim_rate
        district = c.district.name
        day = c.reported // DAY
        pool = self.pool.setdefault(district, ([], []))
        da_pool = self.da_pool.setdefault(district, ([], []))
        p: Person | None = None
        if c.da and r.random() < rates["domestic_abuse"]:
            p = self._pick(da_pool, day, exclude)
        elif not c.da and r.random() < rates["other"]:
            p = self._pick(pool, day, exclude)
        if p is None:
            p = self._new_person(c)
        pool[0].append(day)
        pool[1].append(p)
        if c.da:
            da_pool[0].append(day)
            da_pool[1].append(p)
        return p

    # -- one crime's victims --------------------------------------------------------------------

    def victims_of(self, c: Crime, ci: int) -> None:
        r = self.r
        t = self.t
        rate = 0.97 if c.da else t.victim_rate.get(c.crime_type, 0.0)
        if c.offence in HOMICIDE:
            rate = 1.0
        if r.random() >= rate:
            return
        n = 1 + (r.random() < t.second_victim_rate)
        if c.offence in HOMICIDE:
            n = r.randint(1, 3)
        chosen: list[Person] = []
        for _ in range(n):
            p = self._person(c, chosen)
            if p in chosen:
                continue
            chosen.append(p)
            self._victim_crime(p, c, ci)

    def _victim_crime(self, p: Person, c: Crime, ci: int) -> None:
        r = self.r
        t = self.t
        vc = VictimCrime(p, c, ci)
        rep_day = c.reported // DAY
        vc.age = age = int((rep_day - p.birth_day) / 365.25)
        recent = sum(1 for d in p.crime_days if rep_day - d <= 365)
        p.crime_days.append(rep_day)
        bereaved = c.offence in HOMICIDE
        if bereaved:
            age = vc.age = max(age, 18)
        vulnerable = r.random() < (0.5 if age < 18 else p.vulnerability)
        if c.da:
            p_int = 0.75
        elif c.sexual:
            p_int = 0.8
        elif c.hate:
            p_int = 0.6
        else:
            p_int = 0.05
        intimidated = r.random() < p_int
        if recent >= 2:
            persistent = r.random() < 0.6
        elif c.offence in HARASSMENT:
            persistent = r.random() < 0.35
        else:
            persistent = r.random() < 0.01
        vc.opt_out = r.random() < t.updates_opt_out_rate
        vc.vulnerable, vc.intimidated, vc.bereaved = vulnerable, intimidated, bereaved
        vc.enhanced = (
            age < 18
            or vulnerable
            or intimidated
            or persistent
            or bereaved
            or c.da
            or c.sexual
            or c.hate
            or c.offence in SERIOUS_VIOLENCE
        )
        vc.diligence = (
            c.officer_diligence
            + self.t.district_diligence.get(c.district.name, 0.0)
            + r.gauss(0.0, 0.3)
        )

        def blank(v: bool, p_blank: float) -> str:
            return "" if r.random() < p_blank else _bool(v)

        self.out.victims.append(
            (
                p.victim_id,
                c.crime_id,
                "" if r.random() < 0.03 else str(age),
                blank(vulnerable, 0.02),
                blank(intimidated, 0.04),
                blank(persistent, 0.06),
                blank(bereaved, 0.1),
                blank(vc.opt_out, 0.03),
                "" if p.sex == "blank" else p.sex,
                "" if p.ethnicity == "blank" else p.ethnicity,
                _bool(p.disability),
            )
        )
        self.out.victim_crimes.append(vc)
        if c.recorded is None:
            return  # not yet recorded: nothing else has happened for this victim yet
        na = self._needs_assessment(vc)
        contract = self._care_contract(vc, na)
        self._referrals(vc)
        self._contacts(vc, na, contract)

    # -- Right 4: needs assessment and referrals --------------------------------------------

    def _shift(self, draw: str, minute: int) -> float:
        """The calibration's shifts of this draw in force at ``minute`` (logit, added)."""
        key = (draw, minute // DAY)
        value = self._shifts.get(key)
        if value is None:
            day = day_date(key[1])
            value = self._shifts[key] = sum(
                s.logit
                for s in self.t.shifts
                if s.draw == draw and s.start <= day and (s.end is None or day < s.end)
            )
        return value

    def _office(self, day: int) -> int:
        return day * DAY + self.r.randint(8 * HOUR, 19 * HOUR)

    def _needs_assessment(self, vc: VictimCrime) -> int | None:
        r, t, c = self.r, self.t, vc.crime
        end = self.window.end_minute
        u = r.random()
        completed: int | None = None
        started = False
        if u < t.needs_assessment_completed:
            k = NA_DELAY.draw(r)
            if k == 0:
                completed = c.reported + r.randint(20, 6 * HOUR)
            else:
                days = r.randint(4, 25) if k < 0 else k
                completed = self._office(self.wd.add(c.reported // DAY, days))
            if completed > end:
                completed = None
                started = r.random() < 0.5
        elif u < t.needs_assessment_completed + t.needs_assessment_started_not_completed:
            started = True
        if completed is None and not started:
            return None
        q = t.needs_assessment_questions
        if completed is not None:
            answered = q if r.random() < 0.85 else r.randint(q - 2, q - 1)
            enhanced = vc.enhanced if r.random() < 0.95 else not vc.enhanced
        else:
            answered = r.randint(0, max(0, q - 3))
            enhanced = False
        support = r.random() < (0.6 if c.da else 0.45 if vc.enhanced else 0.25)
        self._ids["na"] += 1
        self.out.needs_assessments.append(
            (
                f"DS-NA-{self._ids['na']:07d}",
                vc.person.victim_id,
                c.crime_id,
                self.fmt.ts(completed),
                "" if completed is None and r.random() < 0.5 else _bool(enhanced),
                "" if completed is None else _bool(support),
                str(answered),
            )
        )
        # A few long investigations get a second assessment when needs change.
        if (
            completed is not None
            and not c.open
            and c.outcome_minute - completed > 60 * DAY
            and r.random() < 0.04
        ):
            again = completed + int((c.outcome_minute - completed) * r.random())
            self._ids["na"] += 1
            self.out.needs_assessments.append(
                (
                    f"DS-NA-{self._ids['na']:07d}",
                    vc.person.victim_id,
                    c.crime_id,
                    self.fmt.ts(again),
                    _bool(vc.enhanced),
                    _bool(True),
                    str(q),
                )
            )
        return completed

    def _referral(
        self, vc: VictimCrime, service: str, at: int | None, consent: str, outcome: str = ""
    ) -> None:
        end = self.window.end_minute
        if at is not None and at > end:
            return  # not made yet
        if at is not None and not outcome and at < end - 14 * DAY:
            outcome = (SUPPORT_OUTCOMES if service != "victim_hub" else REFERRAL_OUTCOMES).draw(
                self.r
            )
        self._ids["rf"] += 1
        self.out.referrals.append(
            (
                f"DS-R-{self._ids['rf']:07d}",
                vc.person.victim_id,
                vc.crime.crime_id,
                service,
                self.fmt.ts(at),
                consent,
                outcome if at is not None else "",
            )
        )

    def _referrals(self, vc: VictimCrime) -> None:
        r, t, c, wd = self.r, self.t, vc.crime, self.wd
        rep_day = c.reported // DAY
        explicit = c.da or c.sexual or c.offence in HOMICIDE
        kind = self.hub.draw(r, vc.diligence * 0.5 + self._shift("hub", c.reported))
        consent = "given" if explicit or r.random() < 0.4 else "not_asked"
        if kind == "on_time":
            at = max(self._office(wd.add(rep_day, HUB_DAY.draw(r))), c.reported + 15)
            self._referral(vc, "victim_hub", at, consent)
        elif kind == "late":
            self._referral(
                vc, "victim_hub", self._office(wd.add(rep_day, r.randint(3, 15))), consent
            )
        elif kind == "declined":
            self._referral(vc, "victim_hub", None, "declined")
        if c.da and r.random() < t.idva_referral_domestic_abuse:
            if r.random() < 0.8:
                self._referral(vc, "idva", self._office(wd.add(rep_day, r.randint(0, 2))), "given")
            else:
                self._referral(vc, "idva", None, "declined")
        if c.sexual and r.random() < t.isva_referral_sexual:
            self._referral(vc, "isva", self._office(wd.add(rep_day, r.randint(0, 5))), "given")
        if c.offence in RAPE and r.random() < t.sarc_referral_rape:
            self._referral(vc, "sarc", c.reported + r.randint(HOUR, 3 * DAY), "given")
        if c.custody_months >= 12 and c.violent_or_sexual and c.sentenced_minute is not None:
            sent_day = c.sentenced_minute // DAY
            u = r.random()
            vcs_at: int | None = None
            if u < 0.8:
                vcs_at = self._office(wd.add(sent_day, r.randint(1, 10)))
            elif u < 0.92:
                vcs_at = self._office(wd.add(sent_day, r.randint(11, 30)))
            if vcs_at is not None:
                self._referral(vc, "victim_contact_scheme", vcs_at, "not_asked")
                if vcs_at <= self.window.end_minute:
                    vc.vcs_referred = vcs_at
        if not c.open and c.outcome in (1, 8) and r.random() < 0.03:
            self._referral(
                vc, "restorative_justice", c.outcome_minute + r.randint(1, 30) * DAY, "given"
            )
        if r.random() < 0.02:
            self._referral(vc, "other", self._office(wd.add(rep_day, r.randint(1, 20))), "given")

    # -- care contract ---------------------------------------------------------------------

    def _care_contract(self, vc: VictimCrime, na: int | None) -> tuple[int, int, str] | None:
        r, t, c = self.r, self.t, vc.crime
        p = t.care_contract_rate * (0.5 if c.screened else 1.0) * (0.4 if vc.opt_out else 1.0)
        if r.random() >= p:
            return None
        if na is not None and r.random() < 0.7:
            agreed = na + r.randint(0, 30)
        else:
            agreed = c.reported + r.randint(HOUR, 3 * DAY)
        if agreed > self.window.end_minute:
            return None
        interval = (self.interval_enh if vc.enhanced else self.interval_std).draw(r)
        channel = PREFERRED_CHANNELS.draw(r)
        self._ids["cc"] += 1
        self.out.care_contracts.append(
            (
                f"DS-CC-{self._ids['cc']:07d}",
                vc.person.victim_id,
                c.crime_id,
                self.fmt.ts(agreed),
                str(interval),
                channel,
            )
        )
        return agreed, interval, channel

    # -- contacts --------------------------------------------------------------------------

    def _add(
        self,
        vc: VictimCrime,
        minute: int,
        purpose: str,
        successful: bool,
        channel: str,
        about: str = "",
        officer: str | None = None,
    ) -> None:
        c = vc.crime
        self._seq += 1
        self.out.contacts.append(
            (
                minute,
                vc.crime_index,
                self._seq,
                (
                    vc.person.victim_id,
                    c.crime_id,
                    self.fmt.ts(minute),
                    purpose,
                    _bool(successful),
                    channel,
                    about,
                    c.officer if officer is None else officer,
                ),
            )
        )

    def _later(self, minute: int, lo_days: int, hi_days: int) -> int:
        """Office hours on a day ``lo_days``..``hi_days`` after ``minute``, never before it."""
        t = self._office(minute // DAY + self.r.randint(lo_days, hi_days))
        return t if t > minute + 15 else self._office(minute // DAY + 1)

    def _after(self, minute: int, k: int) -> int:
        """A contact time ``k`` working days after ``minute`` (k=0: later the same day if it can)."""
        r = self.r
        day = minute // DAY
        if k == 0:
            t = minute + r.randint(20, 5 * HOUR)
            if t // DAY == day and t % DAY < 8 * HOUR:
                return day * DAY + r.randint(8 * HOUR, 11 * HOUR)  # first thing that morning
            if t // DAY == day and t % DAY <= 21 * HOUR:
                return t
            k = 1
        return self._office(self.wd.add(day, k))

    def _attempt(
        self,
        vc: VictimCrime,
        minute: int,
        purpose: str,
        channel: str,
        about: str = "",
        officer: str | None = None,
    ) -> int | None:
        """One update attempt, with a voicemail/no-answer and maybe a retry; the time the victim
        was actually informed, or None."""
        r, t = self.r, self.t
        end = self.window.end_minute
        fail_p = t.unsuccessful_attempt_rate if channel == "phone" else 0.01
        if r.random() >= fail_p:
            self._add(vc, minute, purpose, True, channel, about, officer)
            return minute
        self._add(vc, minute, purpose, False, channel, about, officer)
        if r.random() < t.retry_after_unsuccessful:
            again = self._after(minute, r.randint(0, 2))
            if again <= end:
                self._add(vc, again, purpose, True, channel, about, officer)
                return again
        return None

    def _channel(self, preferred: str) -> str:
        if preferred and self.r.random() < 0.75:
            return preferred
        return CHANNELS.draw(self.r)

    def _contacts(
        self, vc: VictimCrime, na: int | None, contract: tuple[int, int, str] | None
    ) -> None:
        r, t, c = self.r, self.t, vc.crime
        end = self.window.end_minute
        wd = self.wd
        rep_day = c.reported // DAY
        preferred = contract[2] if contract else ""

        def add_if(minute: int, purpose: str, channel: str) -> None:
            if minute <= end:
                self._add(vc, minute, purpose, True, channel)

        # Right 3: information when reporting; written acknowledgement.
        if r.random() < 0.85:
            channel = INFO_CHANNEL.draw(r)
            if channel == "in_person":  # handed over at the scene or the front counter
                add_if(c.reported + r.randint(10, 3 * HOUR), "information_pack", channel)
            else:
                add_if(self._later(c.reported, 0, 2), "information_pack", channel)
        if r.random() < 0.82:
            k = ACK_DAY.draw(r)
            add_if(
                max(self._office(wd.add(rep_day, k)), c.reported + 15),
                "written_acknowledgement",
                ACK_CHANNEL.draw(r),
            )
        if na is not None and r.random() < 0.9:
            night = not 8 * HOUR <= na % DAY <= 21 * HOUR
            add_if(na, "needs_assessment", "in_person" if night else NA_CHANNEL.draw(r))
        # Right 5: compensation; Right 7: victim personal statement.
        if (
            c.crime_type in INJURY_OR_LOSS_TYPES or c.offence in INJURY_CODES
        ) and r.random() < 0.55:
            add_if(
                self._later(c.reported, 0, 14),
                "compensation_info",
                self._channel(preferred),
            )
        for e in c.events:
            if e.type in ("suspect_interviewed", "charged"):
                if r.random() < 0.6:
                    offered = self._later(e.minute, 0, 10)
                    add_if(offered, "vps_offer", "in_person" if r.random() < 0.5 else "phone")
                    if offered <= end:
                        vc.vps_offered = offered
                break
        if r.random() < 0.03:  # anything else: property return, a query from the victim...
            add_if(self._later(c.reported, 1, 60), "other", self._channel(preferred))
        if vc.opt_out:
            return

        # Right 6 (and 8, 9 through the witness care unit): an update about each event.
        informed: list[int] = []
        for e in c.events:
            is_court = e.type in COURT_EVENTS
            if e.type == "offender_release":
                if r.random() < 0.7:
                    add_if(self._later(e.minute, 1, 10), "offender_release", "letter")
                continue
            n = 1 if (vc.enhanced or e.type == "hearing_listed") else 5
            kind = (
                self.court_update.draw(r)
                if is_court
                else self.police_update.draw(
                    r, vc.diligence + self._shift("police_update", e.minute)
                )
            )
            due = wd.add(e.minute // DAY, n) * DAY + DAY - 1
            if kind == "missed":
                if due <= end:
                    vc.owed += 1
                continue
            if kind == "on_time":
                k = 0 if r.random() < 0.55 else r.randint(1, n)
            else:
                k = n + 1 + int(r.expovariate(0.25))
            at = self._after(e.minute, k)
            if at > end:
                if due <= end:
                    vc.owed += 1  # overdue at the extract date
                continue
            vc.owed += 1
            about = "" if r.random() < t.about_event_id_blank else e.event_id
            officer = "" if is_court else (c.officer if r.random() < 0.9 else "")
            channel = "phone" if is_court and r.random() < 0.7 else self._channel(preferred)
            done = self._attempt(vc, at, e.type, channel, about, officer)
            if done is not None:
                informed.append(done)
                if done <= due:
                    vc.on_time += 1

        # Regular updates at the care contract's interval (28 days when there is no contract).
        if contract is not None:
            last, interval = contract[0], contract[1]
        elif r.random() < 0.5:
            last, interval = c.reported, 28
        else:
            return
        close = min(end, c.outcome_minute)
        step = interval * DAY
        informed.sort()
        si = 0
        for _ in range(80):
            due = last + step
            while si < len(informed) and informed[si] <= last:
                si += 1
            if si < len(informed) and informed[si] <= due:
                last = informed[si]
                continue
            if due > close:
                break
            kind = self.periodic.draw(r, vc.diligence + self._shift("periodic_update", due))
            if kind == "on_time":
                at = due - int(r.random() * 0.3 * step)
            elif kind == "late":
                at = due + r.randint(1, 10) * DAY
            else:
                at = due + int(step * r.uniform(1.0, 2.0))
            day = wd.on_or_after(at // DAY)
            at = max(self._office(day), last + HOUR)
            if at > close:
                if due <= end:
                    vc.owed += 1
                break
            vc.owed += 1
            if at <= due:
                vc.on_time += 1
            purpose = "vcc_update" if contract is not None and r.random() < 0.7 else "update"
            self._attempt(vc, at, purpose, self._channel(preferred))
            last = at


def generate_victims(
    params: SynthParams,
    crimes: list[Crime],
    window: Window,
    fmt: Formatter,
    r: random.Random,
    tick: Callable[[float], None] | None = None,
) -> VictimTables:
    """Victims of each crime and everything done for them, in crime order."""
    model = VictimModel(params, window, fmt, r)
    n = max(len(crimes), 1)
    for ci, c in enumerate(crimes):
        model.victims_of(c, ci)
        if tick is not None and ci % 2000 == 0:
            tick(ci / n)
    return model.out
