"""What Demoshire's criminal justice partners record about its crimes, and the police records that
go with them.

The partners work on the crimes the police charge, so everything here follows the court journey the
crime generator drew (:mod:`vcop.synth.crimes`): the first hearing, a not-guilty plea and its trial,
the verdict and the sentence. From it come

* ``agency_events``: the courts' hearing outcomes (``hmcts``) and witness care's receipt of them
  (``wcu``), not-guilty pleas, witness warnings, bail, warrant and re-arrest outcomes, special
  measures applied (``cps``) and decided, appeals, victim personal statements considered at sentence,
  Victim Contact Scheme cases accepted by probation (``hmpps``) and Parole Board reviews and hearings;
* ``agency_contacts``: each partner's contact with the victim after such an event -- mostly on time,
  some late, a few never, some phone calls unanswered -- and the CPS's offer of a meeting to bereaved
  families and its letters when it stops or alters a case;
* ``review_requests`` (police and CPS Victims' Right to Review), ``complaints`` (to any body),
  ``expense_claims`` (witnesses who gave evidence) and ``interpretation_needs``;
* for the police extract: contacts giving restorative justice information before the crime is
  finalised, and family liaison referrals for bereaved relatives.

Rates and delays come from ``definitions/synth/partners.yaml`` (all assumptions). Nothing is dated
before the crime was reported or after the extract's end; a record whose time has not yet come is
not made. Ids are pseudonymous and numbered per agency in time order (``DS-WCU-E-0000001``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from vcop.synth.clock import DAY, HOUR, Formatter
from vcop.synth.crimes import RAPE, SERIOUS_VIOLENCE, Crime, Window
from vcop.synth.params import PartnerParams
from vcop.synth.rand import Choice
from vcop.synth.victims import VictimCrime, VictimTables

#: Each agency's id prefix (ids are unique per agency).
PREFIX = {
    "police": "DS-POL",
    "cps": "DS-CPS",
    "wcu": "DS-WCU",
    "hmcts": "DS-CRT",
    "hmpps": "DS-PRB",
    "parole_board": "DS-PB",
    "victim_hub": "DS-HUB",
    "any_service_provider": "DS-ASP",
}
AGENCIES = tuple(PREFIX)
WCU_CHANNELS = Choice({"phone": 0.7, "letter": 0.12, "email": 0.1, "sms": 0.05, "in_person": 0.03})
CPS_CHANNELS = Choice({"letter": 0.75, "email": 0.2, "phone": 0.05})
VLO_CHANNELS = Choice({"letter": 0.5, "phone": 0.4, "email": 0.1})
RJ_CHANNELS = Choice({"in_person": 0.45, "phone": 0.35, "letter": 0.1, "email": 0.1})


def _bool(v: bool) -> str:
    return "true" if v else "false"


class PEvent:
    """A partner's event; its id is given once all events are drawn (time order per agency)."""

    __slots__ = ("agency", "crime_id", "event_id", "minute", "seq", "type", "victim_id")

    def __init__(
        self, agency: str, minute: int, seq: int, crime_id: str, victim_id: str, type_: str
    ) -> None:
        self.agency = agency
        self.minute = minute
        self.seq = seq
        self.crime_id = crime_id
        self.victim_id = victim_id
        self.type = type_
        self.event_id = ""


@dataclass
class PContact:
    agency: str
    minute: int
    seq: int
    victim_id: str
    crime_id: str
    purpose: str
    successful: bool
    channel: str
    about: PEvent | None


@dataclass
class PartnerTables:
    """Rows for the partner tables (without their agency-numbered ids until :meth:`rows`), plus the
    police contacts (in :class:`VictimTables` form) and referral rows (without ids)."""

    events: list[PEvent] = field(default_factory=list)
    contacts: list[PContact] = field(default_factory=list)
    #: (agency, minute, seq, row without agency and id)
    other: dict[str, list[tuple[str, int, int, tuple[str, ...]]]] = field(
        default_factory=lambda: {
            "review_requests": [],
            "complaints": [],
            "expense_claims": [],
            "interpretation_needs": [],
        }
    )
    police_contacts: list[tuple[int, int, int, tuple[str, ...]]] = field(default_factory=list)
    referrals: list[tuple[str, ...]] = field(default_factory=list)

    def rows(
        self, fmt: Formatter, r: random.Random, blank_about: float
    ) -> dict[str, list[tuple[str, ...]]]:
        """The partner tables' rows, ids numbered per agency in time order."""
        out: dict[str, list[tuple[str, ...]]] = {}
        events = sorted(self.events, key=lambda e: (AGENCIES.index(e.agency), e.minute, e.seq))
        counts: dict[str, int] = {}
        for e in events:
            counts[e.agency] = n = counts.get(e.agency, 0) + 1
            e.event_id = f"{PREFIX[e.agency]}-E-{n:07d}"
        out["agency_events"] = [
            (e.agency, e.event_id, e.crime_id, e.victim_id, e.type, fmt.ts(e.minute))
            for e in events
        ]
        contacts = sorted(self.contacts, key=lambda k: (AGENCIES.index(k.agency), k.minute, k.seq))
        counts = {}
        rows: list[tuple[str, ...]] = []
        for k in contacts:
            counts[k.agency] = n = counts.get(k.agency, 0) + 1
            about = "" if k.about is None or r.random() < blank_about else k.about.event_id
            rows.append(
                (
                    k.agency,
                    f"{PREFIX[k.agency]}-CT-{n:07d}",
                    k.victim_id,
                    k.crime_id,
                    fmt.ts(k.minute),
                    k.purpose,
                    _bool(k.successful),
                    k.channel,
                    about,
                )
            )
        out["agency_contacts"] = rows
        tags = {
            "review_requests": "VRR",
            "complaints": "CMP",
            "expense_claims": "EXP",
            "interpretation_needs": "INT",
        }
        for table, items in self.other.items():
            items.sort(key=lambda t: (AGENCIES.index(t[0]), t[1], t[2]))
            counts = {}
            rows = []
            for agency, _, _, row in items:
                counts[agency] = n = counts.get(agency, 0) + 1
                rows.append((agency, f"{PREFIX[agency]}-{tags[table]}-{n:07d}", *row))
            out[table] = rows
        return out


class PartnerModel:
    def __init__(
        self, params: PartnerParams, window: Window, fmt: Formatter, r: random.Random
    ) -> None:
        self.p = params
        self.window = window
        self.wd = window.wd
        self.end = window.end_minute
        self.fmt = fmt
        self.r = r
        self.out = PartnerTables()
        self.seq = 0
        self.timeliness = {k: Choice(v) for k, v in params.contact_timeliness.items()}
        self.before = {k: Choice(v) for k, v in params.before_deadline.items()}
        self.result = Choice(params.result_received)
        self.vrr_outcome = Choice(params.mix("vrr_outcome"))
        self.vrr_ack = Choice(params.mix("vrr_acknowledged"))
        self.vrr_done = Choice(params.mix("vrr_completed"))
        self.cmp_agency = Choice(params.mix("complaint_agency"))
        self.cmp_agency_charged = Choice(params.mix("complaint_agency_charged"))
        self.cmp_ack = Choice(params.mix("complaint_acknowledged"))
        self.cmp_resp = Choice(params.mix("complaint_responded"))
        self.paid = Choice(params.mix("expense_paid"))
        self.need = Choice(params.mix("interpretation_need"))
        self.need_agency = Choice(params.mix("interpretation_agency_charged"))

    # -- time ----------------------------------------------------------------------------------

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def office(self, day: int) -> int:
        return day * DAY + self.r.randint(9 * HOUR, 17 * HOUR)

    def after(self, minute: int, k: int) -> int:
        """A time ``k`` working days after ``minute`` (k=0: later the same day if it can be),
        always after ``minute``."""
        r = self.r
        day = minute // DAY
        if k == 0:
            t = minute + r.randint(20, 4 * HOUR)
            if t // DAY == day and t % DAY <= 19 * HOUR:
                return max(t, day * DAY + 8 * HOUR)
            k = 1
        return max(self.office(self.wd.add(day, k)), minute + 15)

    def delay_wd(self, kind: str, n: int) -> int | None:
        """Working days to wait for an on-time / late / missed draw against an ``n``-day deadline."""
        r = self.r
        if kind == "missed":
            return None
        if kind == "on_time":
            return 0 if r.random() < 0.45 else r.randint(1, max(1, n))
        return n + 1 + int(r.expovariate(1 / max(2.0, n / 2)))

    # -- records -------------------------------------------------------------------------------

    def event(
        self, agency: str, minute: int, c: Crime, type_: str, victim_id: str = ""
    ) -> PEvent | None:
        if minute > self.end or minute < c.reported:
            return None
        e = PEvent(agency, minute, self._next(), c.crime_id, victim_id, type_)
        self.out.events.append(e)
        return e

    def contact(
        self,
        agency: str,
        vc: VictimCrime,
        minute: int,
        purpose: str,
        channels: Choice[str],
        about: PEvent | None = None,
    ) -> int | None:
        """A contact attempt (a phone call may go unanswered, then perhaps a retry); the time the
        victim was actually informed, or None. Nothing is made after the extract's end."""
        r, p = self.r, self.p
        if minute > self.end:
            return None
        channel = channels.draw(r)
        c = vc.crime

        def add(at: int, ok: bool) -> None:
            self.out.contacts.append(
                PContact(
                    agency, at, self._next(), vc.person.victim_id, c.crime_id, purpose, ok,
                    channel, about,
                )
            )  # fmt: skip

        fail = p.unsuccessful_attempt_rate if channel == "phone" else 0.01
        if r.random() >= fail:
            add(minute, True)
            return minute
        add(minute, False)
        if r.random() < p.retry_after_unsuccessful:
            again = self.after(minute, r.randint(0, 2))
            if again <= self.end:
                add(again, True)
                return again
        return None

    def timely(
        self,
        agency: str,
        vc: VictimCrime,
        e: PEvent,
        purpose: str,
        n: int,
        channels: Choice[str],
        timeliness: str | None = None,
    ) -> None:
        """The contact owed within ``n`` working days of the event ``e``: on time, late or never."""
        k = self.delay_wd(self.timeliness[timeliness or purpose].draw(self.r), n)
        if k is not None:
            self.contact(agency, vc, self.after(e.minute, k), purpose, channels, e)

    def each_victim(
        self,
        agency: str,
        victims: Iterable[VictimCrime],
        e: PEvent | None,
        purpose: str,
        channels: Choice[str],
        enhanced_n: int,
        standard_n: int,
    ) -> None:
        if e is None:
            return
        for vc in victims:
            n = enhanced_n if vc.enhanced else standard_n
            self.timely(agency, vc, e, purpose, n, channels)

    # -- one charged crime's court journey -----------------------------------------------------

    def court(self, c: Crime, victims: list[VictimCrime]) -> None:
        r, p, wd, end = self.r, self.p, self.wd, self.end
        d = p.deadlines_wd
        hn_enh, hn_std = d["hearing_outcome_enhanced"], d["hearing_outcome_standard"]
        first = c.first_hearing
        if first is None or first > end:
            return
        serious = c.offence in RAPE or c.offence in SERIOUS_VIOLENCE
        # The court enters each hearing's result; witness care receives it within days.
        hearings = [first]
        verdict = c.verdict if c.verdict is not None and c.verdict <= end else None
        if verdict is not None and verdict != first:
            hearings.append(verdict)
        sentenced = c.sentenced_minute
        if sentenced is not None and sentenced // DAY != hearings[-1] // DAY:
            hearings.append(sentenced)  # sentenced at a later hearing
        for h in hearings:
            e = self.event("hmcts", h + r.randint(HOUR, 5 * HOUR), c, "hearing_outcome")
            if e is None:
                continue
            k = self.delay_wd(self.result.draw(r), d["result_received"])
            if k is not None:
                self.event("wcu", self.after(e.minute, k), c, "result_received")

        # Bail or remand decided at the first hearing.
        if c.da:
            p_bail = p.rate("bail_hearing_outcome_domestic_abuse")
        elif serious:
            p_bail = p.rate("bail_hearing_outcome_serious")
        else:
            p_bail = p.rate("bail_hearing_outcome")
        if r.random() < p_bail:
            e = self.event("wcu", first + r.randint(2 * HOUR, 6 * HOUR), c, "bail_hearing_outcome")
            self.each_victim("wcu", victims, e, "hearing_outcome", WCU_CHANNELS, hn_enh, hn_std)

        if c.not_guilty:
            self._not_guilty(c, victims, first)

        # Appeals against sentence or conviction.
        if sentenced is not None and r.random() < p.rate("appeal_lodged"):
            lodged = self.event(
                "wcu", self.office(wd.add(sentenced // DAY, r.randint(5, 20))), c, "appeal_lodged"
            )
            if lodged is not None:
                self.each_victim(
                    "wcu", victims, lodged, "appeal", WCU_CHANNELS, d["appeal"], d["appeal"]
                )
                decided = self.event(
                    "wcu",
                    self.office(lodged.minute // DAY + r.randint(60, 200)),
                    c,
                    "appeal_outcome",
                )
                self.each_victim(
                    "wcu", victims, decided, "appeal", WCU_CHANNELS, d["appeal"], d["appeal"]
                )

        # The court considers the victim personal statements made, at sentence.
        if sentenced is not None:
            for vc in victims:
                if vc.vps_offered is None or vc.vps_offered > sentenced:
                    continue
                kind = self.before["vps_considered"].draw(r)
                if kind == "on_time":
                    at = max(sentenced - r.randint(0, 90), vc.vps_offered)
                elif kind == "late":
                    at = self.office(wd.add(sentenced // DAY, r.randint(1, 3)))
                else:
                    continue
                self.event("hmcts", at, c, "vps_considered", vc.person.victim_id)

        # Probation's Victim Contact Scheme: the case taken on, the VLO's first contact, key stages.
        release = next((e.minute for e in c.events if e.type == "offender_release"), None)
        accepted_any = False
        for vc in victims:
            if vc.vcs_referred is None:
                continue
            k = self.delay_wd("on_time" if r.random() < 0.9 else "late", d["vcs_accepted"] // 3)
            assert k is not None
            e = self.event(
                "hmpps", self.after(vc.vcs_referred, k), c, "vcs_accepted", vc.person.victim_id
            )
            if e is None:
                continue
            accepted_any = True
            n = d["vlo_first_contact"]
            kind = self.timeliness["vlo_first_contact"].draw(r)
            if kind != "missed":
                days = r.randint(2, n) if kind == "on_time" else n + r.randint(1, 25)
                first_contact = self.office(wd.add(e.minute // DAY, days))
                self.contact("hmpps", vc, first_contact, "vlo_first_contact", VLO_CHANNELS, e)
            if release is not None and r.random() < p.rate("vcs_key_stage_at_release"):
                stage = max(release - r.randint(5, 30) * DAY, e.minute + DAY)
                self.contact("hmpps", vc, self.office(stage // DAY), "vcs_key_stage", VLO_CHANNELS)

        # The Parole Board reviews a few long sentences.
        if (
            accepted_any
            and sentenced is not None
            and c.custody_months >= 36
            and r.random() < p.rate("parole_review")
        ):
            started = self.event(
                "parole_board",
                self.office(sentenced // DAY + r.randint(120, 540)),
                c,
                "parole_review_started",
            )
            if started is not None:
                hearing_at = self.office(started.minute // DAY + r.randint(90, 240))
                self.event("parole_board", hearing_at, c, "parole_hearing")
                for vc in victims:
                    if vc.vcs_referred is None:
                        continue
                    kind = self.before["parole_vps_offer"].draw(r)
                    if kind == "on_time":
                        gap = hearing_at // DAY - started.minute // DAY
                        at = self.office(started.minute // DAY + r.randint(5, max(6, gap // 2)))
                    elif kind == "late":
                        at = self.office(hearing_at // DAY + r.randint(1, 20))
                    else:
                        continue
                    self.contact("parole_board", vc, at, "parole_vps_offer", VLO_CHANNELS, started)

    def _not_guilty(self, c: Crime, victims: list[VictimCrime], first: int) -> None:
        r, p, wd, end = self.r, self.p, self.wd, self.end
        d = p.deadlines_wd
        plea = self.event("wcu", first + r.randint(HOUR, 4 * HOUR), c, "not_guilty_plea")
        if plea is None:
            return
        n = d["wcu_needs_assessment"]
        self.each_victim("wcu", victims, plea, "wcu_needs_assessment", WCU_CHANNELS, n, n)
        trial = c.trial
        listed = c.trial_listed if c.trial_listed is not None else plea.minute
        for vc in victims:
            vid = vc.person.victim_id
            if r.random() < p.rate("witness_warned"):
                warned = self.event(
                    "wcu",
                    max(self.office(wd.add(listed // DAY, r.randint(0, 3))), listed + 15),
                    c,
                    "witness_warned",
                    vid,
                )
                if warned is not None:
                    n = d["required_to_give_evidence"]
                    self.timely("wcu", vc, warned, "required_to_give_evidence", n, WCU_CHANNELS)
                    if (
                        trial is not None
                        and c.verdict is not None
                        and c.verdict <= end
                        and r.random() < p.rate("expense_claim")
                    ):
                        self._expense_claim(vc, trial)
            eligible = vc.vulnerable or vc.intimidated
            share = "special_measures_applied" if eligible else "special_measures_applied_others"
            if r.random() < p.rate(share):
                applied = self.event(
                    "cps",
                    self.office(wd.add(plea.minute // DAY, r.randint(2, 20))),
                    c,
                    "special_measures_applied",
                    vid,
                )
                if applied is None:
                    continue
                decided = self.event(
                    "wcu",
                    self.office(wd.add(applied.minute // DAY, r.randint(5, 30))),
                    c,
                    "special_measures_decided",
                    vid,
                )
                if decided is not None:
                    n = d["special_measures_outcome"]
                    self.timely("wcu", vc, decided, "special_measures_outcome", n, WCU_CHANNELS)
        # A defendant who fails to attend before the trial: a warrant, then a re-arrest hearing.
        last = trial if trial is not None else first + 120 * DAY
        if r.random() < p.rate("warrant_issued"):
            at = first + int((last - first) * r.uniform(0.1, 0.8))
            warrant = self.event("wcu", self.office(at // DAY), c, "warrant_issued")
            hn_enh, hn_std = d["hearing_outcome_enhanced"], d["hearing_outcome_standard"]
            self.each_victim(
                "wcu", victims, warrant, "hearing_outcome", WCU_CHANNELS, hn_enh, hn_std
            )
            if warrant is not None and r.random() < p.rate("rearrest_after_warrant"):
                rearrest = self.event(
                    "wcu",
                    self.office(warrant.minute // DAY + r.randint(2, 40)),
                    c,
                    "rearrest_hearing_outcome",
                )
                self.each_victim(
                    "wcu", victims, rearrest, "hearing_outcome", WCU_CHANNELS, hn_enh, hn_std
                )
        if trial is not None and r.random() < p.rate("bail_hearing_at_trial"):
            at = first + int((trial - first) * r.uniform(0.2, 0.9))
            e = self.event("wcu", self.office(at // DAY), c, "bail_hearing_outcome")
            hn_enh, hn_std = d["hearing_outcome_enhanced"], d["hearing_outcome_standard"]
            self.each_victim("wcu", victims, e, "hearing_outcome", WCU_CHANNELS, hn_enh, hn_std)

    def _expense_claim(self, vc: VictimCrime, trial: int) -> None:
        r, wd = self.r, self.wd
        received = self.office(wd.add(trial // DAY, r.randint(1, 20)))
        if received > self.end:
            return
        n = self.p.deadlines_wd["expenses"]
        k = self.delay_wd(self.paid.draw(r), n)
        paid = None if k is None else self.office(wd.add(received // DAY, max(k, 1)))
        self._other(
            "expense_claims", "cps", received,
            (vc.person.victim_id, vc.crime.crime_id, self.fmt.ts(received), self._ts(paid)),
        )  # fmt: skip

    def _ts(self, minute: int | None) -> str:
        return "" if minute is None or minute > self.end else self.fmt.ts(minute)

    def _other(self, table: str, agency: str, minute: int, row: tuple[str, ...]) -> None:
        self.out.other[table].append((agency, minute, self._next(), row))

    # -- the CPS: stopped or altered cases, bereaved families ---------------------------------

    def cps(self, c: Crime, victims: list[VictimCrime]) -> None:
        r, p, wd = self.r, self.p, self.wd
        d = p.deadlines_wd
        charged = next((e.minute for e in c.events if e.type == "charged"), None)
        stopped = next((e for e in c.events if e.type == "case_stopped_or_altered"), None)
        if stopped is not None:
            for vc in victims:
                n = d["stop_or_alter_enhanced"] if vc.enhanced else d["stop_or_alter_standard"]
                k = self.delay_wd(self.timeliness["stop_or_alter"].draw(r), n)
                if k is not None:
                    self.contact(
                        "cps", vc, self.after(stopped.minute, k), "stop_or_alter", CPS_CHANNELS
                    )
        if charged is None:
            return
        # Bereaved families are offered a meeting after charge, before sentence (on time) or only
        # after it (late).
        sentenced = c.sentenced_minute
        for vc in victims:
            if not vc.bereaved:
                continue
            kind = self.before["bereaved_meeting_offer"].draw(r)
            if kind == "on_time":
                at = self.after(charged, r.randint(0, 10))
                if sentenced is not None and at > sentenced:
                    at = max(charged + HOUR, sentenced - r.randint(HOUR, DAY))
            elif kind == "late":
                start = sentenced if sentenced is not None else charged + 200 * DAY
                at = self.office(wd.add(start // DAY, r.randint(1, 20)))
            else:
                continue
            self.contact("cps", vc, at, "bereaved_meeting_offer", CPS_CHANNELS)

    # -- police records: restorative justice information, family liaison -----------------------

    def police(self, c: Crime, ci: int, victims: list[VictimCrime]) -> None:
        r, wd, end, fmt = self.r, self.wd, self.end, self.fmt
        if c.recorded is None:
            return
        for vc in victims:
            if not vc.bereaved:
                continue
            kind = self.before["family_liaison"].draw(r)
            if kind == "on_time":
                at = c.reported + r.randint(HOUR, 20 * HOUR)
            elif kind == "late":
                at = self.office(c.reported // DAY + r.randint(2, 10))
            else:
                continue
            if at <= end:
                outcome = "engaged" if at < end - 14 * DAY and r.random() < 0.9 else ""
                self.out.referrals.append(
                    (
                        vc.person.victim_id,
                        c.crime_id,
                        "family_liaison",
                        fmt.ts(at),
                        "given",
                        outcome,
                    )
                )
        decision = next(
            (e for e in c.events if e.type in ("charged", "out_of_court_disposal")), None
        )
        if decision is None:
            return
        suspect = next(
            (e.minute for e in c.events if e.type in ("suspect_arrested", "suspect_interviewed")),
            c.recorded,
        )
        for vc in victims:
            kind = self.before["restorative_justice_info"].draw(r)
            span = decision.minute - suspect
            if kind == "on_time" and span > 2 * HOUR:
                at = suspect + int(span * r.uniform(0.05, 0.95))
                if not 8 * HOUR <= at % DAY <= 20 * HOUR:
                    at = max(suspect + 30, min(decision.minute - 30, self.office(at // DAY)))
            elif kind != "missed":
                at = self.office(wd.add(decision.minute // DAY, r.randint(1, 15)))
            else:
                continue
            if at > end:
                continue
            self.out.police_contacts.append(
                (
                    at,
                    ci,
                    10**9 + self._next(),
                    (
                        vc.person.victim_id,
                        c.crime_id,
                        fmt.ts(at),
                        "restorative_justice_info",
                        "true",
                        RJ_CHANNELS.draw(r),
                        "",
                        c.officer,
                    ),
                )
            )

    # -- Victims' Right to Review, complaints, interpretation ----------------------------------

    def reviews(self, c: Crime, victims: list[VictimCrime]) -> None:
        r, p = self.r, self.p
        for e in c.events:
            if e.type == "not_charged":
                police = p.rate("police_vrr_not_charged")
                cps = (
                    p.rate("cps_vrr_not_charged_serious")
                    if (c.sexual or c.offence in SERIOUS_VIOLENCE)
                    else 0.0
                )
            elif e.type == "decision_not_to_investigate":
                police, cps = p.rate("police_vrr_not_investigated"), 0.0
            elif e.type == "case_stopped_or_altered":
                police, cps = 0.0, p.rate("cps_vrr_stopped")
            else:
                continue
            for vc in victims:
                u = r.random()
                if u < cps:
                    self._review("cps", vc, e.minute)
                elif u < cps + police:
                    self._review("police", vc, e.minute)

    def _review(self, agency: str, vc: VictimCrime, decided: int) -> None:
        r, wd, d = self.r, self.wd, self.p.deadlines_wd
        asked = self.office(wd.add(decided // DAY, r.randint(3, 45)))
        if asked > self.end:
            return
        ack_n = d["police_vrr_acknowledge"]
        k = self.delay_wd(self.vrr_ack.draw(r), ack_n)
        ack = None if k is None else self.office(wd.add(asked // DAY, max(k, 1)))
        n = d["police_vrr"] if agency == "police" else d["cps_vrr"]
        kind = self.vrr_done.draw(r)
        if kind == "on_time":
            done: int | None = self.office(wd.add(asked // DAY, r.randint(8, n)))
        elif kind == "late":
            done = self.office(wd.add(asked // DAY, n + r.randint(1, 30)))
        else:
            done = None
        if done is not None and ack is not None and ack > done:
            ack = done
        outcome = self.vrr_outcome.draw(r) if done is not None and done <= self.end else ""
        self._other(
            "review_requests", agency, asked,
            (
                vc.person.victim_id, vc.crime.crime_id, self.fmt.ts(asked), self._ts(ack),
                self._ts(done), outcome,
            ),
        )  # fmt: skip
        if done is not None and outcome and outcome != "withdrawn":
            self.contact(agency, vc, done, "review_result", CPS_CHANNELS)

    def complaints(self, c: Crime, victims: list[VictimCrime], charged: int | None) -> None:
        r, p, wd = self.r, self.p, self.wd
        n = p.deadlines_wd["complaint"]
        rate = p.rate("complaint" if charged is None else "complaint_charged")
        agencies = self.cmp_agency if charged is None else self.cmp_agency_charged
        for vc in victims:
            if r.random() >= rate:
                continue
            agency = agencies.draw(r)
            since = c.reported if charged is None or agency in ("police", "victim_hub") else charged
            received = self.office(since // DAY + r.randint(7, 240))
            if received > self.end or received < c.reported:
                continue
            k = self.delay_wd(self.cmp_ack.draw(r), n)
            ack = None if k is None else self.office(wd.add(received // DAY, max(k, 1)))
            kind = self.cmp_resp.draw(r)
            if kind == "on_time":
                resp: int | None = self.office(wd.add(received // DAY, r.randint(3, n)))
            elif kind == "late":
                resp = self.office(wd.add(received // DAY, n + r.randint(1, 40)))
            else:
                resp = None
            if ack is not None and resp is not None and ack > resp:
                ack = None  # answered in full before any acknowledgement
            self._other(
                "complaints", agency, received,
                (vc.person.victim_id, c.crime_id, self.fmt.ts(received), self._ts(ack), self._ts(resp)),
            )  # fmt: skip

    def interpretation(self, c: Crime, victims: list[VictimCrime], charged: int | None) -> None:
        """Needs found by the police when the crime is reported, or by a partner before the first
        hearing of a charged case."""
        r, p = self.r, self.p
        first_hearing = c.first_hearing if charged is not None else None
        for vc in victims:
            if r.random() >= p.rate("interpretation"):
                continue
            agency = "police"
            if first_hearing is not None and first_hearing <= self.end:
                agency = self.need_agency.draw(r)
            need = self.need.draw(r)
            if agency == "police":
                identified = c.reported + r.randint(10, 2 * DAY)
            else:
                assert first_hearing is not None and charged is not None
                identified = max(first_hearing - r.randint(1, 10) * DAY, charged + HOUR)
            if identified > self.end:
                continue
            kind = self.before["interpretation"].draw(r)
            declined = kind == "declined"
            provided: int | None = None
            if kind == "on_time":
                # Met before the crime is finalised (an interpreter is booked for the statement).
                by = identified + (3 * DAY if need != "translation" else 8 * DAY)
                if not c.open and identified + 60 < c.outcome_minute < by:
                    by = c.outcome_minute - 30
                provided = identified + r.randint(30, max(31, by - identified))
            elif kind == "late":
                provided = identified + r.randint(10, 45) * DAY
            self._other(
                "interpretation_needs", agency, identified,
                (
                    vc.person.victim_id, c.crime_id, self.fmt.ts(identified), need,
                    self._ts(provided), _bool(declined),
                ),
            )  # fmt: skip


def generate_partners(
    params: PartnerParams,
    crimes: list[Crime],
    vt: VictimTables,
    window: Window,
    fmt: Formatter,
    r: random.Random,
) -> PartnerTables:
    """The partner agencies' records for Demoshire's crimes and victims, in crime order."""
    model = PartnerModel(params, window, fmt, r)
    by_crime: dict[int, list[VictimCrime]] = {}
    for vc in vt.victim_crimes:
        by_crime.setdefault(vc.crime_index, []).append(vc)
    for ci, c in enumerate(crimes):
        victims = by_crime.get(ci)
        if not victims:
            continue
        charged = next((e.minute for e in c.events if e.type == "charged"), None)
        model.police(c, ci, victims)
        if charged is not None:
            model.court(c, victims)
        model.cps(c, victims)
        model.reviews(c, victims)
        model.complaints(c, victims, charged)
        model.interpretation(c, victims, charged)
    return model.out
