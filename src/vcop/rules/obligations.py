"""How each kind of obligation is evaluated, as Ibis expressions (no per-row Python).

A kind evaluates all the obligations of that kind in an edition at once, and returns one row per
obligation, victim, crime and trigger with the same columns (:data:`vcop.rules.blocks.ROW_COLUMNS`):
when the trigger happened, the due date, when and by what the obligation was met, and why it does
not apply (if it does not). :func:`vcop.rules.status.status` then decides the status the same way
for every kind, and :func:`vcop.rules.status.reason` writes the plain-English reason.

Each kind is registered by :func:`evaluates` under the name :data:`vcop.spec.code.OBLIGATION_KINDS`
declares; the parts they share are in :mod:`vcop.rules.blocks`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ibis
import ibis.expr.types as ir

from vcop.rules.blocks import (
    FOLLOW_WORDS,
    NULL_STR,
    PURPOSE_WORDS,
    TRIGGER_KEYS,
    VICTIM_CRIME,
    Context,
    date_of,
    day_number,
    due_in_working_days,
    each_obligation,
    event_triggers,
    first_by,
    hours_on_time,
    how_of,
    in_force,
    obligation_params,
    opt_out_reason,
    partner_id,
    report_triggers,
    rows_of,
    scoped,
    successful_contacts,
    visible_contacts,
    with_due,
)
from vcop.rules.eligibility import visible
from vcop.spec.code import (
    OBLIGATION_KINDS,
    RECORD_TABLES,
    Evaluation,
    Obligation,
    UnknownKind,
    obligation_kind,
)

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
    police = [o for o in obligations if how_of(o).trigger == "case_event"]
    partner = [o for o in obligations if how_of(o).trigger == "agency_event"]
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
    counts the unsuccessful ones. One aggregate finds both (no window, no second pass)."""
    ok = matched.successful
    told = matched.group_by(keys).aggregate(
        met_at=matched.contact_at.min(where=ok),
        met_by_id=matched.contact_id.argmin(
            ibis.struct({"at": matched.contact_at, "id": matched.contact_id}), where=ok
        ),
        _failed=matched.count(where=~ok),
    )
    t = t.left_join(told, keys)
    t = with_due(t, ctx, obligations)
    return rows_of(t, na_reason=opt_out_reason(t), detail=t._failed.fill_null(0).cast("string"))


def _police_update(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    params = obligation_params(
        obligations,
        ctx,
        lambda o: [{"event_type": e} for e in how_of(o).events],
        {"event_type": "string"},
    )
    t = event_triggers(base, ctx, params)
    c = visible_contacts(ctx)
    trig = t.select(*TRIGGER_KEYS, "trigger_type", "trigger_at").distinct()
    # One join: a contact about the event, or one naming no event with the event's type as its
    # purpose made at or after it (the two never both hold, so no contact is counted twice).
    matched = trig.join(
        c,
        [
            trig.victim_id == c.victim_id,
            trig.crime_id == c.crime_id,
            (trig.trigger_event_id == c.about_event_id)
            | (
                c.about_event_id.isnull()
                & (trig.trigger_type == c.purpose)
                & (c.contact_at >= trig.trigger_at)
            ),
        ],
    ).select(*TRIGGER_KEYS, "contact_id", "contact_at", "successful")
    return _told(t, matched, TRIGGER_KEYS, ctx, obligations)


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
        trigger_event_id=partner_id(ev, "event_id"),
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
    pairs = [(o.id, v) for o in obligations for v in getattr(how_of(o), field)]
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
        contact_id=partner_id(c, "contact_id"),
        successful=c.successful.fill_null(True),
    )
    agencies = _per_obligation(obligations, "agencies", "agency")
    return c.join(agencies, "agency")


def _partner_update(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    params = obligation_params(
        obligations,
        ctx,
        lambda o: [{"event_type": e} for e in how_of(o).events],
        {"event_type": "string"},
    )
    t = _partner_events(base, ctx, params)
    keys = ["obligation_id", *TRIGGER_KEYS]
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
        how = how_of(obligation)
        if how.trigger == "case_event":
            params = obligation_params(
                [obligation],
                ctx,
                lambda o: [{"event_type": e} for e in how.events],
                {"event_type": "string"},
            )
            t = event_triggers(base, ctx, params)
            if how.qualifying_offences is not None:
                codes = ctx.edition.offence_lists.lists[how.qualifying_offences].codes
                t = t.filter(t._offence.isin([c.upper() for c in codes]).fill_null(False))
            ev = ctx.src.case_events
            if how.min_sentence_months is not None and "sentence_months" in ev.columns:
                long_enough = ev.filter(ev.sentence_months >= how.min_sentence_months)
                t = t.filter(t.trigger_event_id.isin(long_enough.event_id))
        else:
            t = report_triggers(base, obligation_params([obligation], ctx))
        t = scoped(t, ctx, how)
        r = ctx.src.referrals
        r = r.filter(r.service.isin(list(how.services)))
        made = r.filter(r.referred_at.notnull() & (r.referred_at < ctx.cutoff))
        trig = t.select(*TRIGGER_KEYS, "trigger_at")
        made = trig.join(
            made,
            [
                trig.victim_id == made.victim_id,
                trig.crime_id == made.crime_id,
                made.referred_at.date() >= trig.trigger_at.date(),
            ],
        ).select(*TRIGGER_KEYS, "referral_id", "referred_at", "service")
        first = first_by(
            made,
            TRIGGER_KEYS,
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
            .group_by(VICTIM_CRIME)
            .aggregate(_declined=ibis._.count())
        )
        t = t.left_join(first, TRIGGER_KEYS).left_join(declined, VICTIM_CRIME)
        t = with_due(t, ctx, [obligation])
        on_time = t.met_at.notnull() & (t.due_date.isnull() | (t.met_at.date() <= t.due_date))
        na = ibis.ifelse(
            t._declined.notnull() & ~on_time,
            ibis.literal(obligation_kind("referral").excuses["declined"]),
            NULL_STR,
        )
        return rows_of(t, na_reason=na, detail=t._service)

    return each_obligation(obligations, one)


@evaluates("needs_assessment")
def needs_assessment(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """A completed needs assessment, timed against the local standard."""
    na = ctx.src.needs_assessments
    done = na.filter(na.completed_at.notnull() & (na.completed_at < ctx.cutoff))
    first = first_by(
        done,
        VICTIM_CRIME,
        "completed_at",
        "assessment_id",
        met_at="completed_at",
        met_by_id="assessment_id",
    )

    def one(obligation: Obligation) -> ir.Table:
        recorded = how_of(obligation).trigger == "crime_recorded"
        t = report_triggers(base, obligation_params([obligation], ctx), recorded=recorded)
        return rows_of(due_in_working_days(t.left_join(first, VICTIM_CRIME), ctx))

    return each_obligation(obligations, one)


@evaluates("contact_presence")
def contact_presence(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    """A successful contact with one of the purposes, owed before the crime is finalised (or
    before the day of an event, ``deadline.before_event``).

    The contact is the police's, or one in ``agency_contacts`` from the obligation's
    ``agencies``. It can be owed only to victims with a flag (``victim_flag``) and only on
    crimes that have had one of some case events (``crime_events``). ``detail`` says in words
    what the contact gives the victim.
    """
    plain = [o for o in obligations if not _narrowed(how_of(o))]
    parts = [_presence(base, ctx, plain)] if plain else []
    parts += [_presence(base, ctx, [o]) for o in obligations if _narrowed(how_of(o))]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def _narrowed(how: Evaluation) -> bool:
    return bool(how.agencies or how.victim_flag or how.crime_events)


def _presence(base: ir.Table, ctx: Context, obligations: Sequence[Obligation]) -> ir.Table:
    params = obligation_params(
        obligations,
        ctx,
        lambda o: [{"_what": " or ".join(PURPOSE_WORDS.get(p, p) for p in how_of(o).purposes)}],
        {"_what": "string"},
    )
    purposes = _per_obligation(obligations, "purposes", "purpose")
    t = report_triggers(base, params)
    if len(obligations) == 1:
        t = scoped(t, ctx, how_of(obligations[0]))
    if how_of(obligations[0]).agencies:
        c = _partner_contacts(ctx, obligations)
        c = c.filter(c.successful).drop("obligation_id")
    else:
        c = successful_contacts(ctx)
    given = c.join(purposes, "purpose")
    first = first_by(
        given,
        [*VICTIM_CRIME, "obligation_id"],
        "contact_at",
        "contact_id",
        met_at="contact_at",
        met_by_id="contact_id",
    )
    t = with_due(t.left_join(first, [*VICTIM_CRIME, "obligation_id"]), ctx, obligations)
    return rows_of(t, detail=t._what)


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
        how = how_of(obligation)
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
        record_id = partner_id(rec, spec.id_column) if keyed else rec[spec.id_column]
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
            _victim=rec.victim_id if "victim_id" in rec.columns else NULL_STR,
            trigger_event_id=record_id,
            trigger_at=rec[how.start],
            met_at=met,
            _excused=excused,
        )
        on = [base.crime_id == rec._crime]
        if how.table != "crimes":
            on.append(base.victim_id == rec._victim)
        t = base.join(rec, on).cross_join(obligation_params([obligation], ctx))
        t = in_force(t)
        t = with_due(t, ctx, [obligation])
        na = ibis.ifelse(t._excused & t.met_at.isnull(), ibis.literal(excuse), NULL_STR)
        return rows_of(
            t,
            trigger_type=ibis.literal(spec.trigger_type),
            met_by_id=ibis.ifelse(t.met_at.notnull(), t.trigger_event_id, NULL_STR),
            na_reason=na,
            detail=ibis.literal(spec.done),
            on_time=hours_on_time(t),
        )

    return each_obligation(obligations, one)


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
        how = how_of(obligation)
        params = obligation_params(
            [obligation],
            ctx,
            lambda o: [{"event_type": e} for e in how.events],
            {"event_type": "string"},
        )
        if how.trigger == "agency_event":
            t = _partner_events(base, ctx, params)
        else:
            t = event_triggers(base, ctx, params)
        if how.if_contacted:
            c = successful_contacts(ctx)
            c = c.filter(c.purpose.isin(list(how.if_contacted))).select(
                _cv="victim_id", _cc="crime_id", _offered_at="contact_at"
            )
            trig = t.select(*TRIGGER_KEYS, "trigger_at").distinct()
            offered = (
                trig.join(
                    c,
                    [
                        trig.victim_id == c._cv,
                        trig.crime_id == c._cc,
                        c._offered_at <= trig.trigger_at,
                    ],
                )
                .select(*TRIGGER_KEYS)
                .distinct()
                .mutate(_offered=ibis.literal(True))
            )
            t = t.left_join(offered, TRIGGER_KEYS)
            t = t.filter(t._offered.fill_null(False))
        ev = ctx.src.agency_events
        ev = ev.filter(
            ev.event_type.isin(list(how.follow_events))
            & ev.agency.isin(list(how.agencies))
            & (ev.event_at < ctx.cutoff)
        ).select(_crime=ev.crime_id, _at=ev.event_at, _id=partner_id(ev, "event_id"))
        trig = t.select(*TRIGGER_KEYS, "trigger_at").distinct()
        followed = trig.join(
            ev, [trig.crime_id == ev._crime, ev._at.date() >= trig.trigger_at.date()]
        )
        first = first_by(followed, TRIGGER_KEYS, "_at", "_id", met_at="_at", met_by_id="_id")
        t = with_due(t.left_join(first, TRIGGER_KEYS), ctx, [obligation])
        words = " or ".join(FOLLOW_WORDS.get(e, e.replace("_", " ")) for e in how.follow_events)
        return rows_of(t, detail=ibis.literal(words))

    return each_obligation(obligations, one)


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
    first = first_by(
        agreed,
        VICTIM_CRIME,
        "agreed_at",
        "contract_id",
        met_at="agreed_at",
        met_by_id="contract_id",
    )
    t = report_triggers(base, obligation_params(obligations, ctx))
    t = due_in_working_days(t.left_join(first, VICTIM_CRIME), ctx)
    finalised_first = (
        t.met_at.isnull() & t.finalised_at.notnull() & (t.finalised_at.date() <= t.due_date)
    )
    na = opt_out_reason(t).fill_null(
        ibis.ifelse(
            finalised_first,
            ibis.literal(obligation_kind("care_contract_agreed").excuses["finalised_first"]),
            NULL_STR,
        )
    )
    return rows_of(t, na_reason=na)


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
        _a=day_number(cc.agreed_at.date()),
    )
    # Each interval's first successful contact, carried back to the intervals before it that
    # had none (their next update).
    c = successful_contacts(ctx)
    pairs = cc.join(
        c, [cc.victim_id == c.victim_id, cc.crime_id == c.crime_id, c.contact_at > cc.agreed_at]
    )
    j = day_number(pairs.contact_at.date()) - pairs._a
    pairs = pairs.select(
        "contract_id",
        "contact_id",
        "contact_at",
        kc=ibis.greatest(0, (j + pairs._d - 1) // pairs._d - 1),
    )
    firsts = first_by(
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

    t = (
        base.join(cc, VICTIM_CRIME)
        .mutate(trigger_at=ibis._.agreed_at)
        .cross_join(obligation_params(obligations, ctx))
    )
    t = in_force(t)
    far = ibis.literal(10**9)
    stop = ibis.least(
        day_number(t.finalised_at.date()).fill_null(far),
        day_number(t._next.date()).fill_null(far),
    )
    span = ibis.least(stop, day_number(ibis.literal(ctx.as_of))) - t._a
    count = ibis.ifelse(t._a < stop, 1 + ibis.greatest(0, (span - 1) // t._d), 0)
    t = t.mutate(k=ibis.range(0, count.cast("int64"))).unnest("k")
    t = date_of(t, ctx, t._a + t.k * t._d + 1, "_start_date")
    t = date_of(t, ctx, t._a + (t.k + 1) * t._d, "due_date")
    t = t.left_join(spread, ["contract_id", "k"])
    start = ibis.ifelse(t.k == 0, t.agreed_at, t._start_date.cast("timestamp"))
    return rows_of(
        t,
        trigger_type=ibis.literal("care_contract_interval"),
        trigger_event_id=t.contract_id.concat("#", (t.k + 1).cast("string")),
        trigger_at=start,
        na_reason=opt_out_reason(t),
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
    t = in_force(base.join(sr, "crime_id").cross_join(obligation_params(obligations, ctx)))
    return rows_of(
        t,
        trigger_type=ibis.literal("supervisory_review"),
        due_date=t.trigger_at.date(),
        met_by_id=ibis.ifelse(t.met_at.notnull(), t.trigger_event_id, NULL_STR),
    )


_missing = [k for k in OBLIGATION_KINDS if k not in EVALUATORS]
if _missing:  # pragma: no cover - a declared kind without an evaluator is a programming error
    raise RuntimeError(f"no evaluator registered for kind {', '.join(_missing)}")
