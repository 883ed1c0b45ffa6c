"""The rows a metric counts, as Ibis expressions: the same code on DuckDB and on PySpark.

:func:`metric_rows` turns a catalogue metric into one table with a row per counted thing and the
columns the engine aggregates:

* ``_d``: the date that puts the row in a period;
* ``_g0``, ``_g1``, …: the group labels (text; a blank value is the breakdown's missing label);
* ``_num``: whether the row is in the numerator (proportions);
* ``_k``: the value counted distinctly (``count_distinct``);
* ``_v``: the measure (medians and means).

Visibility: vcop sees only what had happened by the end of the as-of date, so every time stamp of
a canonical table that is later than that reads as blank (not yet happened) — a call answered
after the as-of date is not yet answered, an outcome assigned later is not yet assigned. The
ledger is already as of its date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

from vcop.spec.metrics import (
    AGE_COLUMN,
    CONTRACT_CONTACTS,
    ENHANCED_ELIGIBILITY,
    LEDGER,
    REFERRAL_CRIMES,
    VICTIM_CRIMES,
    Breakdown,
    Condition,
    Measure,
    Metric,
    sources,
)
from vcop.spec.schema import load_schema


def cutoff(as_of: date) -> ir.TimestampScalar:
    """The first instant after the as-of date."""
    return ibis.literal(datetime.combine(as_of + timedelta(days=1), time()), type="timestamp")


def _canonical(
    backend: ibis.BaseBackend, name: str, as_of: date, columns: set[str] | None = None
) -> ir.Table:
    """A canonical table as seen on the as-of date (only ``columns``, if given)."""
    return _as_seen(backend.table(name), name, as_of, columns)


#: The Ibis type of each schema type, for a column an older build does not have yet.
IBIS_TYPES = {
    "string": "string", "integer": "int64", "number": "float64", "boolean": "boolean",
    "datetime": "timestamp", "date": "date", "scale7": "int8",
}  # fmt: skip


def _as_seen(t: ir.Table, name: str, as_of: date, columns: set[str] | None = None) -> ir.Table:
    """Rows ``t`` of canonical table ``name`` as seen on the as-of date: a time stamp after it
    reads as blank (only ``columns``, if given). A column the schema gained since the build was
    made (a published build is read as it is until the next refresh adds it) reads as blank, as
    it will in the build's existing rows."""
    table = load_schema().table(name)
    have = set(t.columns)
    cols: dict[str, ir.Value] = {}
    for c in table.columns:
        if columns is not None and c.name not in columns:
            continue
        col = t[c.name] if c.name in have else ibis.null(IBIS_TYPES[c.type])
        if c.type == "datetime":
            col = col.cast("timestamp")
            col = ibis.ifelse(col < cutoff(as_of), col, ibis.null("timestamp"))
        cols[c.name] = col
    return t.select(**cols)


def victim_crimes(
    backend: ibis.BaseBackend, as_of: date, columns: set[str] | None = None
) -> ir.Table:
    """Each victim of each crime reported by the as-of date, with days since their previous crime."""
    schema = load_schema()
    crime_cols = victim_cols = None
    if columns is not None:
        crime_cols = (columns & set(schema.table("crimes").column_names)) | {
            "crime_id",
            "reported_at",
        }
        victim_cols = (columns & set(schema.table("victims").column_names)) | {
            "victim_id",
            "crime_id",
        }
        victim_cols -= crime_cols - {"crime_id"}
    crimes = _canonical(backend, "crimes", as_of, crime_cols)
    crimes = crimes.filter(crimes.reported_at.notnull())
    victims = _canonical(backend, "victims", as_of, victim_cols)
    t = victims.join(crimes, "crime_id")
    previous = t.reported_at.lag().over(
        ibis.window(group_by="victim_id", order_by=["reported_at", "crime_id"])
    )
    gap = (t.reported_at.epoch_seconds().floor() - previous.epoch_seconds().floor()).cast(
        "float64"
    ) / 86400
    return t.mutate(days_since_previous_crime=gap)


def _own_columns(table: str, columns: set[str] | None, always: set[str]) -> set[str] | None:
    """The columns of canonical ``table`` among ``columns`` (None: all), with ``always``."""
    if columns is None:
        return None
    return (columns & set(load_schema().table(table).column_names)) | always


def referral_crimes(
    backend: ibis.BaseBackend, as_of: date, columns: set[str] | None = None
) -> ir.Table:
    """Each referral to a support service, with its crime's ``reported_at`` (blank when the
    crime is not loaded). A referral made after the as-of date is not yet seen and left out; a
    referral that was never made (``referred_at`` blank: consent declined) is kept."""
    ref_cols = _own_columns("referrals", columns, {"crime_id", "referred_at"})
    raw = backend.table("referrals")
    made = raw.referred_at.cast("timestamp")
    raw = raw.filter(made.isnull() | (made < cutoff(as_of)))
    refs = _as_seen(raw, "referrals", as_of, ref_cols)
    crimes = _canonical(backend, "crimes", as_of, {"crime_id", "reported_at"})
    crimes = crimes.filter(crimes.reported_at.notnull()).select(
        _rc_crime=crimes.crime_id, reported_at=crimes.reported_at
    )
    t = refs.left_join(crimes, refs.crime_id == crimes._rc_crime)
    return t.drop("_rc_crime")


#: The care-contract columns ``contract_contacts`` adds to each contact.
CONTRACT_COLUMNS = ("contract_id", "agreed_at", "update_interval_days", "preferred_channel")


def contract_contacts(
    backend: ibis.BaseBackend, as_of: date, columns: set[str] | None = None
) -> ir.Table:
    """Each contact made by the as-of date under a victim care contract: the contact joined to
    the victim's contract for the same crime that was in force when it was made (the latest
    agreed at or before the contact). Contacts before any contract are left out.
    ``by_preferred_channel``: the contact's channel is the contract's preferred channel (false
    when the contact's channel is blank, blank when the contract names no channel)."""
    contact_cols = _own_columns(
        "contacts", columns, {"contact_id", "victim_id", "crime_id", "contact_at", "channel"}
    )
    contract_cols = {"victim_id", "crime_id", *CONTRACT_COLUMNS}
    contacts = _canonical(backend, "contacts", as_of, contact_cols)
    contacts = contacts.filter(contacts.contact_at.notnull())
    cc = _canonical(backend, "care_contracts", as_of, contract_cols)
    cc = cc.filter(cc.agreed_at.notnull())
    cc = cc.select(
        _cc_victim=cc.victim_id, _cc_crime=cc.crime_id, **{c: cc[c] for c in CONTRACT_COLUMNS}
    )
    t = contacts.join(
        cc,
        [
            contacts.victim_id == cc._cc_victim,
            contacts.crime_id == cc._cc_crime,
            cc.agreed_at <= contacts.contact_at,
        ],
    ).drop("_cc_victim", "_cc_crime")
    latest = ibis.row_number().over(
        ibis.window(
            group_by=[t.contact_id, t.victim_id, t.crime_id, t.contact_at],
            order_by=[ibis.desc(t.agreed_at), ibis.desc(t.contract_id)],
        )
    )
    t = t.mutate(_cc_rank=latest)
    t = t.filter(t._cc_rank == 0).drop("_cc_rank")
    by_preferred = ibis.cases(
        (t.preferred_channel.isnull(), ibis.null("boolean")),
        (t.channel.isnull(), ibis.literal(False)),
        else_=t.channel == t.preferred_channel,
    )
    return t.mutate(by_preferred_channel=by_preferred)


def enhanced_eligibility(
    backend: ibis.BaseBackend, as_of: date, columns: set[str] | None = None
) -> ir.Table:
    """Each victim of each crime reported by the as-of date, as seen then, with whether the
    Code's rules make them eligible for enhanced rights and whether their record identifies them
    (:func:`vcop.rules.eligibility.enhanced_eligibility`, the code the ledger's ``enhanced``
    comes from), by the edition of the Code in force on the as-of date."""
    from vcop.rules.eligibility import enhanced_eligibility as decide
    from vcop.spec.code import load_code

    editions = load_code().editions
    in_force = [e for e in editions if e.header.effective_from <= as_of]
    edition = (in_force or list(editions))[-1]
    flags = decide(
        backend.table("crimes"),
        backend.table("victims"),
        backend.table("needs_assessments"),
        edition,
        as_of,
    ).drop("reported_at")
    schema = load_schema()
    own = set(flags.columns) - {"victim_id", "crime_id"}
    crime_cols = victim_cols = None
    if columns is not None:
        crime_cols = (columns & set(schema.table("crimes").column_names)) | {
            "crime_id",
            "reported_at",
        }
        victim_cols = (columns & set(schema.table("victims").column_names)) | {
            "victim_id",
            "crime_id",
        }
        victim_cols -= crime_cols - {"crime_id"}
        flags = flags.select("victim_id", "crime_id", *sorted(own & columns))
    crimes = _canonical(backend, "crimes", as_of, crime_cols)
    crimes = crimes.filter(crimes.reported_at.notnull())
    victims = _canonical(backend, "victims", as_of, victim_cols)
    t = victims.join(crimes, "crime_id")
    return t.join(flags, ["victim_id", "crime_id"]).select(~ibis.selectors.endswith("_right"))


#: The ledger columns that say where a row stood on an earlier date.
_LEDGER_TIMELINE = {"trigger_at", "met_at", "due_date", "status"}


def ledger_seen_at(t: ir.Table, seen: date) -> ir.Table:
    """The ledger as it stood at the end of ``seen`` (an earlier date than its own as-of date),
    rebuilt from its rows' dates: a row triggered later is left out, a completion after ``seen``
    had not happened, and a row not yet met is overdue if its due date had passed, else pending
    (the rule of :func:`vcop.rules.status.status`). Records entered after ``seen`` about
    earlier events count as if entered on time: the stored ledger cannot tell."""
    cut = cutoff(seen)
    t = t.filter(t.trigger_at.isnull() | (t.trigger_at < cut))
    met = t.met_at.notnull() & (t.met_at < cut)
    status = ibis.cases(
        (t.status == "not_applicable", t.status),
        (met, t.status),
        (t.due_date.notnull() & (t.due_date < ibis.literal(seen)), ibis.literal("overdue")),
        else_=ibis.literal("pending"),
    )
    return t.mutate(status=status, met_at=ibis.ifelse(met, t.met_at, ibis.null("timestamp")))


def source_table(
    backend: ibis.BaseBackend,
    name: str,
    as_of: date,
    columns: set[str] | None = None,
    seen_at: date | None = None,
) -> ir.Table:
    """The rows of a catalogue source, as seen on the as-of date (only ``columns``, if given), or
    as they stood on an earlier date ``seen_at``."""
    if name == LEDGER:
        t = backend.table(LEDGER)
        if seen_at is not None and seen_at < as_of:
            keep = None if columns is None else sorted(columns | _LEDGER_TIMELINE)
            t = ledger_seen_at(t.select(*keep) if keep else t, seen_at)
        return t.select(*sorted(columns)) if columns is not None else t
    seen = as_of if seen_at is None else min(seen_at, as_of)
    if name == VICTIM_CRIMES:
        return victim_crimes(backend, seen, columns)
    if name == ENHANCED_ELIGIBILITY:
        return enhanced_eligibility(backend, seen, columns)
    if name == REFERRAL_CRIMES:
        return referral_crimes(backend, seen, columns)
    if name == CONTRACT_CONTACTS:
        return contract_contacts(backend, seen, columns)
    return _canonical(backend, name, seen, columns)


#: Filters on a metric's rows: (breakdown, group label) pairs a row must all match.
Filters = tuple[tuple[Breakdown, str], ...]


def _needed(
    metrics: Sequence[Metric], breakdowns: tuple[Breakdown, ...], source: str, filters: Filters = ()
) -> set[str]:
    """The source columns a query reads: the metrics' own, breakdown columns and join keys."""
    available = set(sources()[source].columns)
    cols: set[str] = set()
    for m in metrics:
        cols |= m.columns()
    cols |= {b.column for b in (*breakdowns, *(f for f, _ in filters)) if b.from_ledger is None} | {
        "crime_id",
        "victim_id",
    }
    return cols & available


def condition(t: ir.Table, c: Condition) -> ir.BooleanValue:
    """A catalogue condition as an Ibis predicate (a blank value is unequal to everything)."""
    col = t[c.column]
    if c.op == "is_null":
        return col.isnull() if c.value else col.notnull()
    if c.op == "equals":
        return col == c.value
    if c.op == "not_equals":
        return col.isnull() | (col != c.value)
    if c.op == "in":
        return col.isin(list(c.value))
    if c.op == "not_in":
        return col.isnull() | ~col.isin(list(c.value))
    ops = {"gt": col.__gt__, "gte": col.__ge__, "lt": col.__lt__, "lte": col.__le__}
    result: ir.BooleanValue = ops[c.op](c.value)
    return result


def all_of(t: ir.Table, conditions: tuple[Condition, ...]) -> ir.BooleanValue:
    out: ir.BooleanValue = ibis.literal(True)
    for c in conditions:
        out = out & condition(t, c)
    return out


def measure(t: ir.Table, m: Measure) -> ir.FloatingValue:
    if m.kind == "column":
        value: ir.FloatingValue = t[m.columns[0]].cast("float64")
        return value
    # whole seconds on every engine (DuckDB's epoch keeps fractions, Spark's does not)
    a, b = (t[c].cast("timestamp").epoch_seconds().floor() for c in m.columns)
    seconds = (b - a).cast("float64")
    return seconds / (60 if m.kind == "minutes_between" else 86400)


def label(value: ir.Value, b: Breakdown, age: ir.Value | None = None) -> ir.StringValue:
    """The group label of a breakdown value (``age``: the victim's age at report, for a
    breakdown with ``age_under``)."""
    missing = ibis.literal(b.missing_label)
    if b.members is not None and b.labels is not None:
        on_list = value.upper().isin(list(b.members))
        if b.age_under is not None and age is not None:
            # on the list and a child: on it; on the list at an unknown age: not recorded
            return ibis.cases(
                (value.isnull(), missing),
                (on_list & (age < b.age_under), ibis.literal(b.labels[True])),
                (on_list & age.isnull(), missing),
                else_=ibis.literal(b.labels[False]),
            )
        return ibis.cases(
            (value.isnull(), missing),
            (on_list, ibis.literal(b.labels[True])),
            else_=ibis.literal(b.labels[False]),
        )
    if b.labels is not None:
        cases = [(value == k, ibis.literal(v)) for k, v in b.labels.items()]
        return ibis.cases(*cases, else_=missing)
    if b.bands is not None:
        bands = []
        for band in b.bands:
            test: ir.BooleanValue = value.notnull()
            if band.min is not None:
                test = test & (value >= band.min)
            if band.max is not None:
                test = test & (value <= band.max)
            bands.append((test, ibis.literal(band.label)))
        return ibis.cases(*bands, else_=missing)
    return value.cast("string").fill_null(missing)


def ledger_flags(ledger: ir.Table, flagged: Sequence[Breakdown]) -> ir.Table:
    """Per victim and crime, a ``_gl_{id}`` column for each ``from_ledger`` breakdown: true when
    every ledger row meeting its ``where`` also meets its ``all``, false when one does not, blank
    when no row meets ``where``. One pass over the ledger for all of them."""
    flags: dict[str, ir.Value] = {}
    for b in flagged:
        assert b.from_ledger is not None
        counted = all_of(ledger, b.from_ledger.where).fill_null(False)
        ok = all_of(ledger, b.from_ledger.all).fill_null(False)
        # 1 when counted and met, 0 when counted and not met, blank when not counted
        score = ibis.ifelse(counted, ok.cast("int32"), ibis.null("int32"))
        flags[f"_gl_{b.id}"] = score.min()
    t = ledger.group_by(_gk_lvictim=ledger.victim_id, _gk_lcrime=ledger.crime_id).aggregate(**flags)
    return t.mutate(**{k: t[k] == 1 for k in flags})


def with_groups(
    t: ir.Table,
    backend: ibis.BaseBackend,
    breakdowns: tuple[Breakdown, ...],
    filters: Filters = (),
    ledger_seen: date | None = None,
) -> ir.Table:
    """``t`` with a ``_g{i}`` label column per breakdown, joining the crime or victim if needed
    (or the ledger's flags per victim and crime, as it stood at ``ledger_seen`` if given), and
    only the rows whose labels match every filter (a filter compares the same labels a
    breakdown shows, so a split of a filtered figure adds up to it)."""
    own = set(t.columns)
    every = list({b.id: b for b in (*breakdowns, *(f for f, _ in filters))}.values())
    via_ledger = [b for b in every if b.from_ledger is not None]
    every = [b for b in every if b.from_ledger is None]
    via_crime = [b for b in every if b.column not in own and b.table == "crimes"]
    via_victim = [b for b in every if b.column not in own and b.table == "victims"]
    aged = [b for b in every if b.age_under is not None and AGE_COLUMN not in own]
    if via_crime:
        crimes = backend.table("crimes")
        dim = crimes.select(
            _gk_crime=crimes.crime_id, **{f"_gc_{b.id}": crimes[b.column] for b in via_crime}
        )
        t = t.left_join(dim, t.crime_id == dim._gk_crime).drop("_gk_crime")
    if via_victim or aged:
        victims = backend.table("victims")
        dim = victims.select(
            _gk_victim=victims.victim_id,
            _gk_vcrime=victims.crime_id,
            **{f"_gv_{b.id}": victims[b.column] for b in via_victim},
            **({"_ga_age": victims[AGE_COLUMN]} if aged else {}),
        )
        t = t.left_join(dim, [t.victim_id == dim._gk_victim, t.crime_id == dim._gk_vcrime]).drop(
            "_gk_victim", "_gk_vcrime"
        )

    if via_ledger:
        ledger = backend.table(LEDGER)
        if ledger_seen is not None:
            ledger = ledger_seen_at(ledger, ledger_seen)
        dim = ledger_flags(ledger, via_ledger)
        t = t.left_join(dim, [t.victim_id == dim._gk_lvictim, t.crime_id == dim._gk_lcrime]).drop(
            "_gk_lvictim", "_gk_lcrime"
        )

    def raw(b: Breakdown) -> ir.Value:
        if b.from_ledger is not None:
            return t[f"_gl_{b.id}"]
        if b.column in own:
            return t[b.column]
        return t[f"_gc_{b.id}"] if b.table == "crimes" else t[f"_gv_{b.id}"]

    def age(b: Breakdown) -> ir.Value | None:
        if b.age_under is None:
            return None
        return t[AGE_COLUMN] if AGE_COLUMN in own else t._ga_age

    for b, value in filters:
        t = t.filter(label(raw(b), b, age(b)) == value)
    labels: dict[str, ir.Value] = {
        f"_g{i}": label(raw(b), b, age(b)) for i, b in enumerate(breakdowns)
    }
    t = t.mutate(**labels)
    t = t.drop(*(f"_gl_{b.id}" for b in via_ledger))
    return t.drop("_ga_age") if aged else t


def _ledger_seen(as_of: date, seen_at: date | None) -> date | None:
    """The earlier date the ledger is to be seen at (None: as stored)."""
    return seen_at if seen_at is not None and seen_at < as_of else None


def period_date(t: ir.Table, columns: tuple[str, ...]) -> ir.DateValue:
    dates = [t[c].cast("date") for c in columns]
    if len(dates) == 1:
        return dates[0]
    result: ir.DateValue = ibis.coalesce(*dates)
    return result


def metric_rows(
    backend: ibis.BaseBackend,
    metric: Metric,
    breakdowns: tuple[Breakdown, ...],
    as_of: date,
    filters: Filters = (),
    seen_at: date | None = None,
    keep: Sequence[str] = (),
) -> ir.Table:
    """The rows ``metric`` counts (its ``where`` and ``filters`` applied), with ``_d``, ``_g*``
    and its kind's columns (as they stood on ``seen_at``, if given), and the source's columns
    ``keep`` (e.g. ``victim_id``, to count per victim)."""
    needed = _needed([metric], breakdowns, metric.source, filters) | set(keep)
    t = source_table(backend, metric.source, as_of, needed, seen_at)
    t = t.filter(all_of(t, metric.where)) if metric.where else t
    extra: dict[str, ir.Value] = {"_d": period_date(t, metric.date)}
    if metric.numerator:
        extra["_num"] = all_of(t, metric.numerator).fill_null(False)
    if metric.count_distinct:
        extra["_k"] = t[metric.count_distinct]
    if metric.measure is not None:
        extra["_v"] = measure(t, metric.measure)
    t = t.mutate(**extra)
    t = t.filter(t._d.notnull())
    if metric.measure is not None:
        # a duration that ends before it starts is a data error, left out
        ok = t._v.notnull() if metric.measure.kind == "column" else t._v.notnull() & (t._v >= 0)
        t = t.filter(ok)
    t = with_groups(t, backend, breakdowns, filters, _ledger_seen(as_of, seen_at))
    columns = [
        "_d",
        *(f"_g{i}" for i in range(len(breakdowns))),
        *(c for c in ("_num", "_k", "_v") if c in extra),
        *keep,
    ]
    return t.select(*columns)


def flagged_rows(
    backend: ibis.BaseBackend,
    metrics: Sequence[Metric],
    breakdowns: tuple[Breakdown, ...],
    as_of: date,
    filters: Filters = (),
    seen_at: date | None = None,
) -> ir.Table:
    """Rows for several proportions of one source, date and grouping, counted in one query.

    Each metric ``i`` gets ``_w{i}`` (the row is in its denominator) and ``_n{i}`` (and in its
    numerator); a row in no metric's denominator is left out.
    """
    first = metrics[0]
    needed = _needed(metrics, breakdowns, first.source, filters)
    t = source_table(backend, first.source, as_of, needed, seen_at)
    flags: dict[str, ir.Value] = {"_d": period_date(t, first.date)}
    for i, m in enumerate(metrics):
        where = all_of(t, m.where).fill_null(False)
        flags[f"_w{i}"] = where
        flags[f"_n{i}"] = where & all_of(t, m.numerator).fill_null(False)
    t = t.mutate(**flags)
    anywhere: ir.BooleanValue = ibis.literal(False)
    for i in range(len(metrics)):
        anywhere = anywhere | t[f"_w{i}"]
    t = t.filter(anywhere & t._d.notnull())
    t = with_groups(t, backend, breakdowns, filters, _ledger_seen(as_of, seen_at))
    keep = ["_d", *(f"_g{i}" for i in range(len(breakdowns)))]
    keep += [f"_{x}{i}" for i in range(len(metrics)) for x in ("w", "n")]
    return t.select(*keep)
