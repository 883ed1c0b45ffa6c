"""How each kind of obligation is evaluated, as Ibis expressions (no per-row Python).

A kind evaluates all the obligations of that kind in an edition at once, and returns one row per
obligation, victim, crime and trigger with the same columns (:data:`ROW_COLUMNS`): when the
trigger happened, the due date, when and by what the obligation was met, and why it does not
apply (if it does not). :func:`status` then decides the status the same way for every kind, and
:func:`reason` writes the plain-English reason.

The obligations' parameters (event types, deadlines, whether an opt-out applies, the dates they
are in force) enter the expressions as a small in-memory table joined to the triggers, so ten
Right 6 obligations are one query, not ten.

Deadlines follow the working-day convention written down in :mod:`vcop.store.calendar` (a join
on ``working_day_seq``). Data stamped after the as-of date is invisible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from string import Formatter
from typing import Any

import ibis
import ibis.expr.types as ir

from vcop.rules.eligibility import cutoff, visible
from vcop.rules.sources import Sources
from vcop.spec.code import (
    OBLIGATION_KINDS,
    OPTED_OUT,
    REASON_FIELDS,
    RECORD_TABLES,
    Edition,
    Evaluation,
    LedgerStatus,
    LocalStandards,
    Obligation,
    UnknownKind,
    obligation_kind,
)
from vcop.store.calendar import CALENDAR_START

#: The columns every kind produces.
ROW_COLUMNS = (
    "obligation_id",
    "victim_id",
    "crime_id",
    "trigger_type",
    "trigger_event_id",
    "trigger_at",
    "due_date",
    "met_at",
    "met_by_id",
    "na_reason",
    "enhanced",
    "enhanced_reason",
    "detail",
    "on_time",
)

#: The statuses, in order (the enum is :class:`vcop.spec.code.LedgerStatus`).
STATUSES: tuple[LedgerStatus, ...] = tuple(LedgerStatus)

_NULL_TS = ibis.null("timestamp")
_NULL_STR = ibis.null("string")
_NULL_DATE = ibis.null("date")
_NULL_BOOL = ibis.null("boolean")

#: How each referral service reads in a sentence.
SERVICE_WORDS = {
    "victim_hub": "the victim and witness hub",
    "idva": "an IDVA",
    "isva": "an ISVA",
    "sarc": "a SARC",
    "restorative_justice": "restorative justice",
    "victim_contact_scheme": "the Victim Contact Scheme",
    "family_liaison": "a Family Liaison Officer",
    "other": "a support service",
}

#: How each contact purpose checked for presence reads in a sentence.
PURPOSE_WORDS = {
    "information_pack": "the information pack",
    "compensation_info": "information about compensation",
    "vps_offer": "the offer of a Victim Personal Statement",
    "written_acknowledgement": "written confirmation of the crime",
    "restorative_justice_info": "information about restorative justice",
    "bereaved_meeting_offer": "the offer of a meeting with the CPS",
}

#: How each partner event that meets an ``event_followed`` obligation reads in a sentence.
FOLLOW_WORDS = {
    "result_received": "the Witness Care Unit received the result",
    "vps_considered": "the court considered the Victim Personal Statement",
}


@dataclass(frozen=True)
class Context:
    """What every kind needs besides the base rows: the inputs, the date, the edition."""

    src: Sources
    as_of: date
    standards: LocalStandards
    edition: Edition

    @property
    def cutoff(self) -> ir.TimestampScalar:
        return cutoff(self.as_of)


def _how(obligation: Obligation) -> Evaluation:
    if obligation.evaluate is None:
        raise ValueError(f"{obligation.id} is not evaluated")
    return obligation.evaluate


# ---------------------------------------------------------------------------------------------
# Parameters, calendar and other helpers
# ---------------------------------------------------------------------------------------------

_PARAM_SCHEMA = {
    "obligation_id": "string",
    "_enh": "int64",
    "_std": "int64",
    "_opt_out": "boolean",
    "_from": "date",
    "_to": "date",
    "_form": "string",
}


def _form(o: Obligation) -> str:
    """How the obligation falls due: a deadline form, or ``hours`` for a count in hours."""
    return "hours" if o.deadline.clock == "hours" else o.deadline.form


def _params(
    obligations: Sequence[Obligation],
    ctx: Context,
    fan_out: Callable[[Obligation], Sequence[dict[str, Any]]] | None = None,
    extra: dict[str, str] | None = None,
) -> ir.Table:
    """The obligations' parameters as a small table, one row per obligation (or per
    ``fan_out(obligation)`` row, e.g. one per triggering event type)."""
    rows = []
    for o in obligations:
        days = o.deadline_counts(ctx.standards)
        common = {
            "obligation_id": o.id,
            # 0, not null, when there is no count: an integer column with nulls reaches Spark
            # as floats and is lost. Only a ``count`` or ``hours`` deadline reads them.
            "_enh": days[0] if days else 0,
            "_std": days[1] if days else 0,
            "_opt_out": _how(o).opt_out_applies,
            "_from": o.effective_from,
            "_to": o.effective_to,
            "_form": _form(o),
        }
        for more in fan_out(o) if fan_out else [{}]:
            rows.append({**common, **more})
    schema = {**_PARAM_SCHEMA, **(extra or {})}
    return ibis.memtable({k: [r.get(k) for r in rows] for k in schema}, schema=schema)


def in_force(t: ir.Table) -> ir.Table:
    """Only the triggers dated while their obligation was in force (``_from``/``_to``)."""
    day = t.trigger_at.date()
    return t.filter((day >= t._from) & (t._to.isnull() | (day <= t._to)))


def due_in_working_days(t: ir.Table, ctx: Context) -> ir.Table:
    """Add ``due_date``: ``_enh`` or ``_std`` working days after ``trigger_at``'s date.

    Two joins on the calendar: the trigger's date gives its ``working_day_seq``; the working day
    whose number is that plus N is the due date.
    """
    cal = ctx.src.calendar
    on = cal.select(_trigger_date=cal.date, _trigger_seq=cal.working_day_seq)
    t = t.left_join(on, t.trigger_at.date() == on._trigger_date)
    workdays = cal.filter(cal.is_working_day).select(
        _due_seq=cal.working_day_seq, due_date=cal.date
    )
    n = ibis.ifelse(t.enhanced, t._enh, t._std)
    return t.left_join(workdays, t._trigger_seq + n == workdays._due_seq)


def _day_number(day: ir.DateValue) -> ir.IntegerValue:
    """Days since the calendar's first date (calendar-day arithmetic needs no join)."""
    return day.delta(ibis.literal(CALENDAR_START), unit="day")


def _date_of(t: ir.Table, ctx: Context, day: ir.IntegerValue, name: str) -> ir.Table:
    """Add column ``name``: the date whose day number is ``day`` (a join on the calendar)."""
    cal = ctx.src.calendar
    dates = cal.select(**{f"{name}_n": cal.day_number, name: cal.date})
    return t.left_join(dates, day == dates[f"{name}_n"])


def _seconds(at: ir.TimestampValue) -> ir.IntegerValue:
    """Seconds since the calendar's first midnight (no time zones: timestamps are local)."""
    return _day_number(at.date()) * 86400 + at.hour() * 3600 + at.minute() * 60 + at.second()


def _events_before(t: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """Add ``_before_date``: the day of the first ``deadline.before_event`` event (a case or
    partner event) on the crime at or after the trigger."""
    pairs = [(o.id, e) for o in obligations for e in o.deadline.before_event]
    if not pairs:
        return t.mutate(_before_date=_NULL_DATE)
    wanted = ibis.memtable(
        {"obligation_id": [p[0] for p in pairs], "_before_type": [p[1] for p in pairs]},
        schema={"obligation_id": "string", "_before_type": "string"},
    )
    ce, ae = ctx.src.case_events, ctx.src.agency_events
    events = ce.select("crime_id", "event_type", "event_at").union(
        ae.select("crime_id", "event_type", "event_at"), distinct=False
    )
    events = events.filter(events.event_at < ctx.cutoff)
    events = events.join(wanted, events.event_type == wanted._before_type).select(
        "obligation_id", _crime="crime_id", _event_at="event_at"
    )
    keys = ["obligation_id", *_TRIGGER]
    trig = t.select(*keys, "trigger_at").distinct()
    found = (
        trig.join(
            events,
            [
                trig.obligation_id == events.obligation_id,
                trig.crime_id == events._crime,
                events._event_at >= trig.trigger_at,
            ],
        )
        .group_by(keys)
        .aggregate(_before_date=ibis._._event_at.min().date())
    )
    found = found.rename(**{f"_b_{k}": k for k in keys})
    joined = t.left_join(found, [t[k] == found[f"_b_{k}"] for k in keys])
    return joined.drop(*(f"_b_{k}" for k in keys))


def with_due(t: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """Add ``due_date`` (and ``on_time`` for a deadline in hours) by each row's ``_form``.

    ``count``: ``_enh``/``_std`` working days after the trigger's date. ``hours``: ``_std`` hours
    after the trigger (due on the day that falls on; met on time only within the hours).
    ``by_finalisation``: the day the crime was finalised. ``before_event``: the day of the first
    such event on the crime at or after the trigger.
    """
    t = due_in_working_days(t, ctx).rename(_count_due="due_date")
    forms = {_form(o) for o in obligations}
    if "hours" in forms:
        start = _seconds(t.trigger_at)
        ends = start + t._std * 3600
        t = _date_of(t, ctx, ends // 86400, "_hours_due")
    else:
        t = t.mutate(_hours_due=_NULL_DATE)
    t = _events_before(t, ctx, obligations)
    due = ibis.cases(
        (t._form == "count", t._count_due),
        (t._form == "hours", t._hours_due),
        (t._form == "by_finalisation", t.finalised_at.date()),
        (t._form == "before_event", t._before_date),
        else_=_NULL_DATE,
    )
    return t.mutate(due_date=due)


def hours_on_time(t: ir.Table) -> ir.BooleanValue:
    """For a deadline in hours: whether ``met_at`` came within ``_std`` hours of the trigger
    (null for any other deadline, whose status goes by the due date)."""
    within = (_seconds(t.met_at) - _seconds(t.trigger_at)) <= t._std * 3600
    return ibis.ifelse((t._form == "hours") & t.met_at.notnull(), within, _NULL_BOOL)


def _scoped(t: ir.Table, ctx: Context, how: Evaluation) -> ir.Table:
    """Only the victims and crimes the obligation is limited to (``victim_flag``,
    ``crime_events``)."""
    if how.victim_flag is not None:
        t = t.filter(t[how.victim_flag].fill_null(False))
    if how.crime_events:
        ev = ctx.src.case_events
        had = ev.filter(ev.event_type.isin(list(how.crime_events)) & (ev.event_at < ctx.cutoff))
        t = t.filter(t.crime_id.isin(had.crime_id))
    return t


def _partner_id(t: ir.Table, column: str) -> ir.StringValue:
    """A partner's id with its agency (``E1@wcu``): ids are unique only within an agency."""
    return t[column].concat("@", t.agency)


def _first(t: ir.Table, keys: list[str], at: str, tiebreak: str, **out: str) -> ir.Table:
    """The first row per ``keys`` by time ``at`` (ties broken by ``tiebreak``): deterministic.

    Returns ``keys`` and the columns of ``out`` (new name -> column).
    """
    rank = ibis.row_number().over(group_by=[t[k] for k in keys], order_by=[t[at], t[tiebreak]])
    ranked = t.select(*keys, _rank=rank, **{new: t[old] for new, old in out.items()})
    return ranked.filter(ranked._rank == 0).drop("_rank")


def _opt_out(t: ir.Table) -> ir.StringValue:
    return ibis.ifelse(t._opt_out & t.opted_out, ibis.literal(OPTED_OUT), _NULL_STR)


def _report_triggers(base: ir.Table, params: ir.Table, *, recorded: bool = False) -> ir.Table:
    """One trigger per victim and obligation: the crime's report (or its recording)."""
    at = base.recorded_at.fill_null(base.reported_at) if recorded else base.reported_at
    t = base.mutate(
        trigger_type=ibis.literal("crime_recorded" if recorded else "crime_reported"),
        trigger_event_id=base.crime_id,
        trigger_at=at,
    ).cross_join(params)
    return in_force(t)


def _event_triggers(base: ir.Table, ctx: Context, params: ir.Table) -> ir.Table:
    """One trigger per victim of the crime, per case event, per obligation it triggers
    (``params`` has an ``event_type`` column)."""
    ev = ctx.src.case_events
    ev = ev.filter(ev.event_at < ctx.cutoff).select(
        "crime_id",
        trigger_type=ev.event_type,
        trigger_event_id=ev.event_id,
        trigger_at=ev.event_at,
    )
    ev = ev.join(params, ev.trigger_type == params.event_type).drop("event_type")
    return in_force(base.join(ev, "crime_id"))


def _rows(t: ir.Table, **columns: ir.Value) -> ir.Table:
    """Select the standard row columns: those given, else ``t``'s, else null."""
    defaults: dict[str, ir.Value] = {
        "met_at": _NULL_TS,
        "met_by_id": _NULL_STR,
        "na_reason": _NULL_STR,
        "detail": _NULL_STR,
        "due_date": _NULL_DATE,
        "on_time": _NULL_BOOL,
    }
    out: dict[str, ir.Value] = {}
    for name in ROW_COLUMNS:
        if name in columns:
            out[name] = columns[name]
        elif name in t.columns:
            out[name] = t[name]
        else:
            out[name] = defaults[name]
    return t.select(**out)


def _visible_contacts(ctx: Context) -> ir.Table:
    c = ctx.src.contacts
    c = c.filter(c.contact_at < ctx.cutoff)
    return c.select(
        "victim_id",
        "crime_id",
        "contact_id",
        "contact_at",
        "purpose",
        "about_event_id",
        successful=c.successful.fill_null(True),
    )


def _successful_contacts(ctx: Context) -> ir.Table:
    c = _visible_contacts(ctx)
    return c.filter(c.successful)


def _each(obligations: Sequence[Obligation], one: Callable[[Obligation], ir.Table]) -> ir.Table:
    """Evaluate obligations one at a time and stack the rows."""
    parts = [one(o) for o in obligations]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


# ---------------------------------------------------------------------------------------------
# The kinds
# ---------------------------------------------------------------------------------------------

Evaluator = Callable[[ir.Table, Context, Sequence[Obligation]], ir.Table]

#: The evaluator of each kind (:data:`vcop.spec.code.OBLIGATION_KINDS`), registered by
#: :func:`evaluates`, in the order the kinds are declared.
EVALUATORS: dict[str, Evaluator] = {}


def evaluates(kind: str) -> Callable[[Evaluator], Evaluator]:
    """Register the decorated function as the one evaluator of the declared ``kind``."""
    obligation_kind(kind)  # an undeclared kind raises UnknownKind here

    def register(function: Evaluator) -> Evaluator:
        if kind in EVALUATORS:
            raise ValueError(f"kind {kind!r} already has an evaluator")
        EVALUATORS[kind] = function
        return function

    return register


def evaluator(kind: str) -> Evaluator:
    """The evaluator of ``kind``; raises :class:`UnknownKind` if none is registered."""
    try:
        return EVALUATORS[kind]
    except KeyError:
        raise UnknownKind(kind) from None


_VC = ["victim_id", "crime_id"]
_TRIGGER = ["victim_id", "crime_id", "trigger_event_id"]


@evaluates("event_update")
def event_update(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """Tell the victim about an event, by a successful contact about that event.

    A case event (``trigger: case_event``) is told by a police contact: one whose
    ``about_event_id`` is the event, or — when it names no event — whose ``purpose`` is the
    event's type and that was made at or after the event. A partner's event
    (``trigger: agency_event``, from ``agency_events``; one with a ``victim_id`` concerns that
    victim only) is told by a contact in ``agency_contacts`` from one of the obligation's
    ``agencies``: one about the event (the same agency's ``about_event_id``), or one naming no
    event whose ``purpose`` is one of the obligation's and that was made at or after the event.
    ``detail`` counts the unsuccessful attempts about the event.
    """
    police = [o for o in obligations if _how(o).trigger == "case_event"]
    partner = [o for o in obligations if _how(o).trigger == "agency_event"]
    parts = []
    if police:
        parts.append(_police_update(base, ctx, police))
    if partner:
        parts.append(_partner_update(base, ctx, partner))
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def _told(
    t: ir.Table, matched: ir.Table, keys: list[str], ctx: Context, obligations: Sequence[Obligation]
) -> ir.Table:
    """Met by the first successful matched contact (ties broken by contact id); ``detail``
    counts the unsuccessful ones."""
    first = _first(
        matched.filter(matched.successful),
        keys,
        "contact_at",
        "contact_id",
        met_at="contact_at",
        met_by_id="contact_id",
    )
    failed = matched.filter(~matched.successful).group_by(keys).aggregate(_failed=ibis._.count())
    t = t.left_join(first, keys).left_join(failed, keys)
    t = with_due(t, ctx, obligations)
    return _rows(t, na_reason=_opt_out(t), detail=t._failed.fill_null(0).cast("string"))


def _police_update(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    params = _params(
        obligations,
        ctx,
        lambda o: [{"event_type": e} for e in _how(o).events],
        {"event_type": "string"},
    )
    t = _event_triggers(base, ctx, params)
    c = _visible_contacts(ctx)
    trig = t.select(*_TRIGGER, "trigger_type", "trigger_at").distinct()
    by_id = trig.join(
        c,
        [
            trig.victim_id == c.victim_id,
            trig.crime_id == c.crime_id,
            trig.trigger_event_id == c.about_event_id,
        ],
    ).select(*_TRIGGER, "contact_id", "contact_at", "successful")
    by_purpose = trig.join(
        c,
        [
            trig.victim_id == c.victim_id,
            trig.crime_id == c.crime_id,
            trig.trigger_type == c.purpose,
            c.about_event_id.isnull(),
            c.contact_at >= trig.trigger_at,
        ],
    ).select(*_TRIGGER, "contact_id", "contact_at", "successful")
    matched = by_id.union(by_purpose, distinct=False)
    return _told(t, matched, _TRIGGER, ctx, obligations)


def _partner_events(base: ir.Table, ctx: Context, params: ir.Table) -> ir.Table:
    """One trigger per victim the partner's event concerns, per obligation it triggers
    (``params`` has an ``event_type`` column)."""
    ev = ctx.src.agency_events
    ev = ev.filter(ev.event_at < ctx.cutoff).select(
        _crime=ev.crime_id,
        _victim=ev.victim_id,
        _agency=ev.agency,
        _event_id=ev.event_id,
        trigger_type=ev.event_type,
        trigger_event_id=_partner_id(ev, "event_id"),
        trigger_at=ev.event_at,
    )
    ev = ev.join(params, ev.trigger_type == params.event_type).drop("event_type")
    t = base.join(
        ev,
        [base.crime_id == ev._crime, ev._victim.isnull() | (ev._victim == base.victim_id)],
    )
    return in_force(t)


def _per_obligation(obligations: Sequence[Obligation], field: str, name: str) -> ir.Table:
    """A small table of (obligation_id, ``name``): each value of each obligation's ``field``."""
    pairs = [(o.id, v) for o in obligations for v in getattr(_how(o), field)]
    return ibis.memtable(
        {"obligation_id": [p[0] for p in pairs], name: [p[1] for p in pairs]},
        schema={"obligation_id": "string", name: "string"},
    )


def _partner_contacts(ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """The visible partner contacts from each obligation's ``agencies`` (with its id)."""
    c = ctx.src.agency_contacts
    c = c.filter(c.contact_at < ctx.cutoff)
    c = c.select(
        "victim_id",
        "crime_id",
        "contact_at",
        "purpose",
        "about_event_id",
        "agency",
        contact_id=_partner_id(c, "contact_id"),
        successful=c.successful.fill_null(True),
    )
    agencies = _per_obligation(obligations, "agencies", "agency")
    return c.join(agencies, "agency")


def _partner_update(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    params = _params(
        obligations,
        ctx,
        lambda o: [{"event_type": e} for e in _how(o).events],
        {"event_type": "string"},
    )
    t = _partner_events(base, ctx, params)
    keys = ["obligation_id", *_TRIGGER]
    c = _partner_contacts(ctx, obligations)
    trig = t.select(*keys, "trigger_at", "_agency", "_event_id").distinct()
    by_id = trig.join(
        c,
        [
            trig.obligation_id == c.obligation_id,
            trig.victim_id == c.victim_id,
            trig.crime_id == c.crime_id,
            trig._event_id == c.about_event_id,
            trig._agency == c.agency,
        ],
    ).select(*keys, "contact_id", "contact_at", "successful")
    purposes = _per_obligation(obligations, "purposes", "purpose")
    cp = c.join(purposes, ["obligation_id", "purpose"])
    by_purpose = trig.join(
        cp,
        [
            trig.obligation_id == cp.obligation_id,
            trig.victim_id == cp.victim_id,
            trig.crime_id == cp.crime_id,
            cp.about_event_id.isnull(),
            cp.contact_at >= trig.trigger_at,
        ],
    ).select(*keys, "contact_id", "contact_at", "successful")
    matched = by_id.union(by_purpose, distinct=False)
    return _told(t, matched, keys, ctx, obligations)


@evaluates("referral")
def referral(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """Refer the victim to one of the listed services; a declined referral excuses it.

    A referral counts if made on or after the trigger's date. If the victim declined a referral
    to one of the services and none was made by the due date, the obligation does not apply.
    A case-event trigger can be limited to crimes whose offence is in a list
    (``qualifying_offences``) and, where ``case_events`` has a ``sentence_months`` column, to
    sentences of at least ``min_sentence_months``; any trigger to victims with a flag
    (``victim_flag``, e.g. bereaved relatives). ``detail`` is the service that met it.
    """

    def one(obligation: Obligation) -> ir.Table:
        how = _how(obligation)
        if how.trigger == "case_event":
            params = _params(
                [obligation],
                ctx,
                lambda o: [{"event_type": e} for e in how.events],
                {"event_type": "string"},
            )
            t = _event_triggers(base, ctx, params)
            if how.qualifying_offences is not None:
                codes = ctx.edition.offence_lists.lists[how.qualifying_offences].codes
                t = t.filter(t._offence.isin([c.upper() for c in codes]).fill_null(False))
            ev = ctx.src.case_events
            if how.min_sentence_months is not None and "sentence_months" in ev.columns:
                long_enough = ev.filter(ev.sentence_months >= how.min_sentence_months)
                t = t.filter(t.trigger_event_id.isin(long_enough.event_id))
        else:
            t = _report_triggers(base, _params([obligation], ctx))
        t = _scoped(t, ctx, how)
        r = ctx.src.referrals
        r = r.filter(r.service.isin(list(how.services)))
        made = r.filter(r.referred_at.notnull() & (r.referred_at < ctx.cutoff))
        trig = t.select(*_TRIGGER, "trigger_at")
        made = trig.join(
            made,
            [
                trig.victim_id == made.victim_id,
                trig.crime_id == made.crime_id,
                made.referred_at.date() >= trig.trigger_at.date(),
            ],
        ).select(*_TRIGGER, "referral_id", "referred_at", "service")
        first = _first(
            made,
            _TRIGGER,
            "referred_at",
            "referral_id",
            met_at="referred_at",
            met_by_id="referral_id",
            _service="service",
        )
        declined = (
            r.filter(
                (r.consent == "declined") & (r.referred_at.isnull() | (r.referred_at < ctx.cutoff))
            )
            .group_by(_VC)
            .aggregate(_declined=ibis._.count())
        )
        t = t.left_join(first, _TRIGGER).left_join(declined, _VC)
        t = with_due(t, ctx, [obligation])
        on_time = t.met_at.notnull() & (t.due_date.isnull() | (t.met_at.date() <= t.due_date))
        na = ibis.ifelse(
            t._declined.notnull() & ~on_time,
            ibis.literal(obligation_kind("referral").excuses["declined"]),
            _NULL_STR,
        )
        return _rows(t, na_reason=na, detail=t._service)

    return _each(obligations, one)


@evaluates("needs_assessment")
def needs_assessment(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """A completed needs assessment, timed against the local standard."""
    na = ctx.src.needs_assessments
    done = na.filter(na.completed_at.notnull() & (na.completed_at < ctx.cutoff))
    first = _first(
        done, _VC, "completed_at", "assessment_id", met_at="completed_at", met_by_id="assessment_id"
    )

    def one(obligation: Obligation) -> ir.Table:
        recorded = _how(obligation).trigger == "crime_recorded"
        t = _report_triggers(base, _params([obligation], ctx), recorded=recorded)
        return _rows(due_in_working_days(t.left_join(first, _VC), ctx))

    return _each(obligations, one)


@evaluates("contact_presence")
def contact_presence(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """A successful contact with one of the purposes, owed before the crime is finalised (or
    before the day of an event, ``deadline.before_event``).

    The contact is the police's, or one in ``agency_contacts`` from the obligation's
    ``agencies``. It can be owed only to victims with a flag (``victim_flag``) and only on
    crimes that have had one of some case events (``crime_events``). ``detail`` says in words
    what the contact gives the victim.
    """
    plain = [o for o in obligations if not _narrowed(_how(o))]
    parts = [_presence(base, ctx, plain)] if plain else []
    parts += [_presence(base, ctx, [o]) for o in obligations if _narrowed(_how(o))]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def _narrowed(how: Evaluation) -> bool:
    return bool(how.agencies or how.victim_flag or how.crime_events)


def _presence(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    params = _params(
        obligations,
        ctx,
        lambda o: [{"_what": " or ".join(PURPOSE_WORDS.get(p, p) for p in _how(o).purposes)}],
        {"_what": "string"},
    )
    purposes = _per_obligation(obligations, "purposes", "purpose")
    t = _report_triggers(base, params)
    if len(obligations) == 1:
        t = _scoped(t, ctx, _how(obligations[0]))
    if _how(obligations[0]).agencies:
        c = _partner_contacts(ctx, obligations)
        c = c.filter(c.successful).drop("obligation_id")
    else:
        c = _successful_contacts(ctx)
    given = c.join(purposes, "purpose")
    first = _first(
        given,
        [*_VC, "obligation_id"],
        "contact_at",
        "contact_id",
        met_at="contact_at",
        met_by_id="contact_id",
    )
    t = with_due(t.left_join(first, [*_VC, "obligation_id"]), ctx, obligations)
    return _rows(t, detail=t._what)


@evaluates("completed_in_time")
def completed_in_time(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """Each row of a table (``table``) is a trigger at its ``start``, met at the earliest of its
    ``end`` columns: a crime recorded after its report, a review request completed, a complaint
    acknowledged or answered, an expense claim paid, an interpretation need provided for.

    Rows of a partner table count only from the obligation's ``agencies`` (any, if it names
    none); a crime's row is owed to each of its victims. A row whose ``excused_by`` column is
    true (the victim declined) and that was never met does not apply. The deadline is a count
    of working days, a count of hours (met only within the hours), or the crime's finalisation.
    ``detail`` says what meeting it is.
    """

    def one(obligation: Obligation) -> ir.Table:
        how = _how(obligation)
        assert how.table is not None and how.start is not None
        spec = RECORD_TABLES[how.table]
        rec = getattr(ctx.src, how.table)
        rec = rec.filter(rec[how.start] < ctx.cutoff)
        if how.agencies:
            rec = rec.filter(rec.agency.isin(list(how.agencies)))
        ends = [visible(rec[c], ctx.as_of) for c in how.end]
        met = ends[0]
        for other in ends[1:]:
            met = ibis.ifelse(met.isnull() | (other < met), other, met)
        keyed = "agency" in rec.columns
        record_id = _partner_id(rec, spec.id_column) if keyed else rec[spec.id_column]
        excused: ir.BooleanValue = ibis.literal(False)
        excuses = obligation_kind("completed_in_time").excuses
        excuse = excuses["declined"]
        if how.excused_by and how.excused_values:
            excused = rec[how.excused_by].isin(list(how.excused_values)).fill_null(False)
            value = " or ".join(how.excused_values)
            excuse = excuses["recorded"].format(
                detail=spec.done, column=how.excused_by, value=value
            )
        elif how.excused_by:
            excused = rec[how.excused_by].fill_null(False)
        rec = rec.select(
            _crime=rec.crime_id,
            _victim=rec.victim_id if "victim_id" in rec.columns else _NULL_STR,
            trigger_event_id=record_id,
            trigger_at=rec[how.start],
            met_at=met,
            _excused=excused,
        )
        on = [base.crime_id == rec._crime]
        if how.table != "crimes":
            on.append(base.victim_id == rec._victim)
        t = base.join(rec, on).cross_join(_params([obligation], ctx))
        t = in_force(t)
        t = with_due(t, ctx, [obligation])
        na = ibis.ifelse(t._excused & t.met_at.isnull(), ibis.literal(excuse), _NULL_STR)
        return _rows(
            t,
            trigger_type=ibis.literal(spec.trigger_type),
            met_by_id=ibis.ifelse(t.met_at.notnull(), t.trigger_event_id, _NULL_STR),
            na_reason=na,
            detail=ibis.literal(spec.done),
            on_time=hours_on_time(t),
        )

    return _each(obligations, one)


@evaluates("event_followed")
def event_followed(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """A case or partner event followed by a partner's event (``follow_events``, recorded by
    one of ``agencies``) on the same crime, on or after the trigger's day: the court's result
    received by the Witness Care Unit, a Victim Personal Statement considered at sentence.

    It can be owed only to victims who had a successful police contact with one of some
    purposes by the trigger (``if_contacted``, e.g. offered a VPS). ``detail`` says what the
    following event records.
    """

    def one(obligation: Obligation) -> ir.Table:
        how = _how(obligation)
        params = _params(
            [obligation],
            ctx,
            lambda o: [{"event_type": e} for e in how.events],
            {"event_type": "string"},
        )
        if how.trigger == "agency_event":
            t = _partner_events(base, ctx, params)
        else:
            t = _event_triggers(base, ctx, params)
        if how.if_contacted:
            c = _successful_contacts(ctx)
            c = c.filter(c.purpose.isin(list(how.if_contacted))).select(
                _cv="victim_id", _cc="crime_id", _offered_at="contact_at"
            )
            trig = t.select(*_TRIGGER, "trigger_at").distinct()
            offered = (
                trig.join(
                    c,
                    [
                        trig.victim_id == c._cv,
                        trig.crime_id == c._cc,
                        c._offered_at <= trig.trigger_at,
                    ],
                )
                .select(*_TRIGGER)
                .distinct()
                .mutate(_offered=ibis.literal(True))
            )
            t = t.left_join(offered, _TRIGGER)
            t = t.filter(t._offered.fill_null(False))
        ev = ctx.src.agency_events
        ev = ev.filter(
            ev.event_type.isin(list(how.follow_events))
            & ev.agency.isin(list(how.agencies))
            & (ev.event_at < ctx.cutoff)
        ).select(_crime=ev.crime_id, _at=ev.event_at, _id=_partner_id(ev, "event_id"))
        trig = t.select(*_TRIGGER, "trigger_at").distinct()
        followed = trig.join(
            ev, [trig.crime_id == ev._crime, ev._at.date() >= trig.trigger_at.date()]
        )
        first = _first(followed, _TRIGGER, "_at", "_id", met_at="_at", met_by_id="_id")
        t = with_due(t.left_join(first, _TRIGGER), ctx, [obligation])
        words = " or ".join(FOLLOW_WORDS.get(e, e.replace("_", " ")) for e in how.follow_events)
        return _rows(t, detail=ibis.literal(words))

    return _each(obligations, one)


@evaluates("care_contract_agreed")
def care_contract_agreed(
    base: ir.Table, ctx: Context, obligations: Sequence[Obligation]
) -> ir.Table:
    """A victim care contract agreed within the local standard of the report.

    Not applicable if the victim opted out of updates, or if the crime was finalised by the due
    date without one.
    """
    cc = ctx.src.care_contracts
    agreed = cc.filter(cc.agreed_at < ctx.cutoff)
    first = _first(
        agreed, _VC, "agreed_at", "contract_id", met_at="agreed_at", met_by_id="contract_id"
    )
    t = _report_triggers(base, _params(obligations, ctx))
    t = due_in_working_days(t.left_join(first, _VC), ctx)
    finalised_first = (
        t.met_at.isnull() & t.finalised_at.notnull() & (t.finalised_at.date() <= t.due_date)
    )
    na = _opt_out(t).fill_null(
        ibis.ifelse(
            finalised_first,
            ibis.literal(obligation_kind("care_contract_agreed").excuses["finalised_first"]),
            _NULL_STR,
        )
    )
    return _rows(t, na_reason=na)


@evaluates("care_contract_updates")
def care_contract_updates(
    base: ir.Table, ctx: Context, obligations: Sequence[Obligation]
) -> ir.Table:
    """An update at least every ``update_interval_days`` while the crime is open.

    The days from the contract's agreement are cut into intervals of the agreed length d:
    interval k (from 0) takes the contacts on days A + k*d + 1 to A + (k+1)*d, where A is the day
    the contract was agreed (interval 0 also takes the rest of day A after the agreement), and
    is due at the end of day A + (k+1)*d. An interval is owed if it began before the crime was
    finalised, before a newer contract was agreed, and (after the first) before the as-of date.
    It is met by its first successful contact; a missed interval is ``late`` once a later
    successful contact came, ``overdue`` until then. ``detail`` is d.
    """
    cc = ctx.src.care_contracts
    cc = cc.filter(cc.agreed_at < ctx.cutoff)
    order = ibis.window(
        group_by=[cc.victim_id, cc.crime_id], order_by=[cc.agreed_at, cc.contract_id]
    )
    cc = cc.select(
        "victim_id",
        "crime_id",
        "contract_id",
        "agreed_at",
        _next=cc.agreed_at.lead().over(order),
        _d=cc.update_interval_days,
        _a=_day_number(cc.agreed_at.date()),
    )
    # Each interval's first successful contact, carried back to the intervals before it that
    # had none (their next update).
    c = _successful_contacts(ctx)
    pairs = cc.join(
        c, [cc.victim_id == c.victim_id, cc.crime_id == c.crime_id, c.contact_at > cc.agreed_at]
    )
    j = _day_number(pairs.contact_at.date()) - pairs._a
    pairs = pairs.select(
        "contract_id",
        "contact_id",
        "contact_at",
        kc=ibis.greatest(0, (j + pairs._d - 1) // pairs._d - 1),
    )
    firsts = _first(
        pairs,
        ["contract_id", "kc"],
        "contact_at",
        "contact_id",
        met_at="contact_at",
        met_by_id="contact_id",
    )
    previous = firsts.kc.lag().over(group_by=firsts.contract_id, order_by=firsts.kc)
    spread = firsts.mutate(k=ibis.range(previous.fill_null(-1) + 1, firsts.kc + 1)).unnest("k")
    spread = spread.select("contract_id", "k", "met_at", "met_by_id")

    t = base.join(cc, _VC).mutate(trigger_at=ibis._.agreed_at).cross_join(_params(obligations, ctx))
    t = in_force(t)
    far = ibis.literal(10**9)
    stop = ibis.least(
        _day_number(t.finalised_at.date()).fill_null(far),
        _day_number(t._next.date()).fill_null(far),
    )
    span = ibis.least(stop, ibis.literal((ctx.as_of - CALENDAR_START).days)) - t._a
    count = ibis.ifelse(t._a < stop, 1 + ibis.greatest(0, (span - 1) // t._d), 0)
    t = t.mutate(k=ibis.range(0, count.cast("int64"))).unnest("k")
    t = _date_of(t, ctx, t._a + t.k * t._d + 1, "_start_date")
    t = _date_of(t, ctx, t._a + (t.k + 1) * t._d, "due_date")
    t = t.left_join(spread, ["contract_id", "k"])
    start = ibis.ifelse(t.k == 0, t.agreed_at, t._start_date.cast("timestamp"))
    return _rows(
        t,
        trigger_type=ibis.literal("care_contract_interval"),
        trigger_event_id=t.contract_id.concat("#", (t.k + 1).cast("string")),
        trigger_at=start,
        na_reason=_opt_out(t),
        detail=t._d.cast("string"),
    )


@evaluates("supervisory_review")
def supervisory_review(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """A supervisory review completed by the end of its due date (owed to each victim)."""
    sr = ctx.src.supervisory_reviews
    sr = sr.select(
        "crime_id",
        trigger_event_id=sr.review_id,
        trigger_at=sr.due_at,
        met_at=visible(sr.completed_at, ctx.as_of),
    )
    t = in_force(base.join(sr, "crime_id").cross_join(_params(obligations, ctx)))
    return _rows(
        t,
        trigger_type=ibis.literal("supervisory_review"),
        due_date=t.trigger_at.date(),
        met_by_id=ibis.ifelse(t.met_at.notnull(), t.trigger_event_id, _NULL_STR),
    )


_missing = [k for k in OBLIGATION_KINDS if k not in EVALUATORS]
if _missing:  # pragma: no cover - a declared kind without an evaluator is a programming error
    raise RuntimeError(f"no evaluator registered for kind {', '.join(_missing)}")


# ---------------------------------------------------------------------------------------------
# Status and reason, the same for every kind
# ---------------------------------------------------------------------------------------------


def status(t: ir.Table, as_of: date) -> ir.StringValue:
    """met, late (met after the due date), pending, overdue (not met, past due), not_applicable."""
    met_date = t.met_at.date()
    by_date = t.due_date.isnull() | (met_date <= t.due_date)
    return ibis.cases(
        (t.na_reason.notnull(), LedgerStatus.not_applicable.value),
        (t.met_at.notnull() & t.on_time.fill_null(by_date), LedgerStatus.met.value),
        (t.met_at.notnull(), LedgerStatus.late.value),
        (t.due_date.notnull() & (t.due_date < ibis.literal(as_of)), LedgerStatus.overdue.value),
        else_=LedgerStatus.pending.value,
    )


def _attempts(n: ir.StringValue) -> ir.StringValue:
    return ibis.cases(
        (n == "0", ""),
        (n == "1", "; 1 unsuccessful attempt"),
        else_=ibis.literal("; ").concat(n, " unsuccessful attempts"),
    )


#: How each placeholder of a reason template (:data:`vcop.spec.code.REASON_FIELDS`) is read
#: from a row.
REASON_VALUES: dict[str, Callable[[ir.Table], ir.StringValue]] = {
    "detail": lambda t: t.detail,
    "service": lambda t: t.detail.substitute(SERVICE_WORDS, else_="a support service"),
    "attempts": lambda t: _attempts(t.detail),
    "na_reason": lambda t: t.na_reason,
}
assert set(REASON_VALUES) == set(REASON_FIELDS), "every reason placeholder needs a value"


def render_reason(t: ir.Table, template: str) -> ir.StringValue:
    """A reason template as an expression: its text, with each ``{placeholder}`` filled in."""
    parts: list[ir.StringValue] = []
    for text, field, _, _ in Formatter().parse(template):
        if text:
            parts.append(ibis.literal(text))
        if field is not None:
            parts.append(REASON_VALUES[field](t))
    if not parts:
        return ibis.literal("")
    first, *rest = parts
    return first.concat(*rest) if rest else first


def reason(t: ir.Table, kind: str, s: ir.StringValue) -> ir.StringValue:
    """A plain-English reason for the status ``s`` of a row of ``kind``, from the kind's
    templates (:class:`vcop.spec.code.ObligationKind`). A status the kind has no template for
    has no reason; an undeclared kind raises :class:`UnknownKind`."""
    templates = obligation_kind(kind).reasons
    return ibis.cases(
        *((s == status.value, render_reason(t, text)) for status, text in templates.items()),
        else_=_NULL_STR,
    )
