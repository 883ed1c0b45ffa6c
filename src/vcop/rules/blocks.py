"""The building blocks every kind of obligation is evaluated with, as Ibis expressions.

What a kind needs besides its own logic: the :class:`Context` (inputs, date, edition), the
obligations' parameters as a small in-memory table joined to the triggers (so ten Right 6
obligations are one query, not ten), due dates in working days, hours or by an event
(:func:`with_due`, on the working-day convention of :mod:`vcop.store.calendar`), triggers from
reports and case events, contacts visible at the as-of date, and the columns every kind returns
(:data:`ROW_COLUMNS`, :func:`rows_of`). Data stamped after the as-of date is invisible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from vcop.rules.eligibility import cutoff
from vcop.rules.sources import Sources
from vcop.spec.code import (
    OPTED_OUT,
    Edition,
    Evaluation,
    LocalStandards,
    Obligation,
)
from vcop.store.calendar import CALENDAR_START

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


_NULL_TS = ibis.null("timestamp")
NULL_STR = ibis.null("string")
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


def how_of(obligation: Obligation) -> Evaluation:
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


def obligation_params(
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
            "_opt_out": how_of(o).opt_out_applies,
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


def day_number(day: ir.DateValue) -> ir.IntegerValue:
    """Days since the calendar's first date (calendar-day arithmetic needs no join)."""
    return day.delta(ibis.literal(CALENDAR_START), unit="day")


def date_of(t: ir.Table, ctx: Context, day: ir.IntegerValue, name: str) -> ir.Table:
    """Add column ``name``: the date whose day number is ``day`` (a join on the calendar)."""
    cal = ctx.src.calendar
    dates = cal.select(**{f"{name}_n": cal.day_number, name: cal.date})
    return t.left_join(dates, day == dates[f"{name}_n"])


def _seconds(at: ir.TimestampValue) -> ir.IntegerValue:
    """Seconds since the calendar's first midnight (no time zones: timestamps are local)."""
    return day_number(at.date()) * 86400 + at.hour() * 3600 + at.minute() * 60 + at.second()


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
    keys = ["obligation_id", *TRIGGER_KEYS]
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
    forms = {_form(o) for o in obligations}
    # The working-day join is made for every form, as it always was: callers hand in chains of
    # joins that it completes. The other forms are computed only if these obligations use them
    # (a join or a CASE branch for a form no row has changes nothing but the query's size).
    t = due_in_working_days(t, ctx).rename(_count_due="due_date")
    dues: dict[str, Callable[[ir.Table], ir.DateValue]] = {}
    if "count" in forms:
        dues["count"] = lambda r: r._count_due
    if "hours" in forms:
        start = _seconds(t.trigger_at)
        ends = start + t._std * 3600
        t = date_of(t, ctx, ends // 86400, "_hours_due")
        dues["hours"] = lambda r: r._hours_due
    if "by_finalisation" in forms:
        dues["by_finalisation"] = lambda r: r.finalised_at.date()
    if "before_event" in forms:
        t = _events_before(t, ctx, obligations)
        dues["before_event"] = lambda r: r._before_date
    if not dues:
        return t.mutate(due_date=_NULL_DATE)
    if forms == set(dues) and len(dues) == 1:
        # Every row has this one form: no CASE on it.
        return t.mutate(due_date=next(iter(dues.values()))(t))
    due = ibis.cases(
        *((t._form == form, value(t)) for form, value in dues.items()), else_=_NULL_DATE
    )
    return t.mutate(due_date=due)


def hours_on_time(t: ir.Table) -> ir.BooleanValue:
    """For a deadline in hours: whether ``met_at`` came within ``_std`` hours of the trigger
    (null for any other deadline, whose status goes by the due date)."""
    within = (_seconds(t.met_at) - _seconds(t.trigger_at)) <= t._std * 3600
    return ibis.ifelse((t._form == "hours") & t.met_at.notnull(), within, _NULL_BOOL)


def scoped(t: ir.Table, ctx: Context, how: Evaluation) -> ir.Table:
    """Only the victims and crimes the obligation is limited to (``victim_flag``,
    ``crime_events``)."""
    if how.victim_flag is not None:
        t = t.filter(t[how.victim_flag].fill_null(False))
    if how.crime_events:
        ev = ctx.src.case_events
        had = ev.filter(ev.event_type.isin(list(how.crime_events)) & (ev.event_at < ctx.cutoff))
        t = t.filter(t.crime_id.isin(had.crime_id))
    return t


def partner_id(t: ir.Table, column: str) -> ir.StringValue:
    """A partner's id with its agency (``E1@wcu``): ids are unique only within an agency."""
    return t[column].concat("@", t.agency)


def first_by(t: ir.Table, keys: list[str], at: str, tiebreak: str, **out: str) -> ir.Table:
    """The first row per ``keys`` by time ``at`` (ties broken by ``tiebreak``): deterministic.

    Returns ``keys`` and the columns of ``out`` (new name -> column).
    """
    rank = ibis.row_number().over(group_by=[t[k] for k in keys], order_by=[t[at], t[tiebreak]])
    ranked = t.select(*keys, _rank=rank, **{new: t[old] for new, old in out.items()})
    return ranked.filter(ranked._rank == 0).drop("_rank")


def opt_out_reason(t: ir.Table) -> ir.StringValue:
    return ibis.ifelse(t._opt_out & t.opted_out, ibis.literal(OPTED_OUT), NULL_STR)


def report_triggers(base: ir.Table, params: ir.Table, *, recorded: bool = False) -> ir.Table:
    """One trigger per victim and obligation: the crime's report (or its recording)."""
    at = base.recorded_at.fill_null(base.reported_at) if recorded else base.reported_at
    t = base.mutate(
        trigger_type=ibis.literal("crime_recorded" if recorded else "crime_reported"),
        trigger_event_id=base.crime_id,
        trigger_at=at,
    ).cross_join(params)
    return in_force(t)


def event_triggers(base: ir.Table, ctx: Context, params: ir.Table) -> ir.Table:
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


def rows_of(t: ir.Table, **columns: ir.Value) -> ir.Table:
    """Select the standard row columns: those given, else ``t``'s, else null."""
    defaults: dict[str, ir.Value] = {
        "met_at": _NULL_TS,
        "met_by_id": NULL_STR,
        "na_reason": NULL_STR,
        "detail": NULL_STR,
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


def visible_contacts(ctx: Context) -> ir.Table:
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


def successful_contacts(ctx: Context) -> ir.Table:
    c = visible_contacts(ctx)
    return c.filter(c.successful)


def each_obligation(
    obligations: Sequence[Obligation], one: Callable[[Obligation], ir.Table]
) -> ir.Table:
    """Evaluate obligations one at a time and stack the rows."""
    parts = [one(o) for o in obligations]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


#: A row's victim and crime; and with its trigger.
VICTIM_CRIME = ["victim_id", "crime_id"]
TRIGGER_KEYS = ["victim_id", "crime_id", "trigger_event_id"]
