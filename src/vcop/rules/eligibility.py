"""Who is owed what: each victim of each crime, with enhanced rights decided from the data.

:func:`victim_crimes` is the base every obligation starts from: one row per victim and crime
reported by the as-of date, carrying the crime's dates, whether the victim opted out of updates,
and ``enhanced`` / ``enhanced_reason`` — the first criterion of the edition's
``eligibility.yaml`` that holds (see that file for the order and the conditions).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

from vcop.rules.sources import Sources
from vcop.spec.code import Condition, Edition


def cutoff(as_of: date) -> ir.TimestampScalar:
    """The first instant after the as-of date: data stamped before it is visible."""
    return ibis.literal(datetime.combine(as_of + timedelta(days=1), time()), type="timestamp")


def visible(column: ir.TimestampValue, as_of: date) -> ir.TimestampValue:
    """``column`` if it happened by the end of the as-of date, else null."""
    return ibis.ifelse(column < cutoff(as_of), column, ibis.null("timestamp"))


def normalised_offence(column: ir.StringValue) -> ir.StringValue:
    return column.strip().upper()


def _condition(
    base: ir.Table, condition: Condition, edition: Edition, assessed: dict[str, str]
) -> ir.BooleanValue:
    if condition.crime_flag is not None:
        return base[condition.crime_flag].fill_null(False)
    if condition.victim_flag is not None:
        return base[condition.victim_flag].fill_null(False)
    if condition.assessment_flag is not None:
        return base[assessed[condition.assessment_flag]].fill_null(False)
    if condition.victim_age_under is not None:
        return (base.age_at_report < condition.victim_age_under).fill_null(False)
    if condition.offence_list is not None:
        codes = [c.upper() for c in edition.offence_lists.lists[condition.offence_list].codes]
        if not codes:
            return ibis.literal(False)
        return base._offence.isin(codes).fill_null(False)
    raise ValueError(f"empty condition {condition!r}")  # check_eligibility prevents this


def victim_crimes(src: Sources, edition: Edition, as_of: date) -> ir.Table:
    """Every victim of every crime reported by ``as_of``, with enhanced rights decided."""
    crimes = src.crimes.filter(src.crimes.reported_at < cutoff(as_of))
    crimes = crimes.select(
        "crime_id",
        "reported_at",
        "offence_code",
        "domestic_abuse",
        "hate_crime",
        recorded_at=visible(crimes.recorded_at, as_of),
        finalised_at=visible(crimes.outcome_at, as_of),
        _offence=normalised_offence(crimes.offence_code),
    )
    victims = src.victims.select(
        "victim_id",
        "crime_id",
        "age_at_report",
        "vulnerable",
        "intimidated",
        "persistently_targeted",
        "bereaved_relative",
        opted_out=src.victims.updates_opt_out.fill_null(False),
    )
    base = victims.join(crimes, "crime_id")

    flags = sorted(
        {
            c.assessment_flag
            for criterion in edition.eligibility.criteria
            for c in criterion.when
            if c.assessment_flag is not None
        }
    )
    assessed: dict[str, str] = {}
    for flag in flags:
        na = src.needs_assessments
        done = (
            na.filter((na.completed_at < cutoff(as_of)) & na[flag].fill_null(False))
            .select("victim_id", "crime_id")
            .distinct()
            .mutate(**{f"_assessed_{flag}": ibis.literal(True)})
        )
        base = base.left_join(done, ["victim_id", "crime_id"]).select(
            ~ibis.selectors.endswith("_right")
        )
        assessed[flag] = f"_assessed_{flag}"

    branches = []
    for criterion in edition.eligibility.criteria:
        holds = ibis.or_(*(_condition(base, c, edition, assessed) for c in criterion.when))
        branches.append((holds, ibis.literal(criterion.id)))
    reason = ibis.cases(*branches, else_=ibis.null("string")) if branches else ibis.null("string")
    return base.mutate(enhanced_reason=reason).mutate(enhanced=ibis._.enhanced_reason.notnull())
