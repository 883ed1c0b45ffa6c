"""Who is owed what: each victim of each crime, with enhanced rights decided from the data.

:func:`victim_crimes` is the base every obligation starts from: one row per victim and crime
reported by the as-of date, carrying the crime's dates, whether the victim opted out of updates,
and ``enhanced`` / ``enhanced_reason`` — the first criterion of the edition's
``eligibility.yaml`` that holds (see that file for the order and the conditions).

:func:`enhanced_eligibility` splits the same criteria in two for the enhanced-rights
identification measure and worklist: whether the victim is eligible from the data alone (offence,
age, the victim's and crime's flags: every condition but what a needs assessment recorded) and
whether the force's record identified them (a completed needs assessment said so).
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


def _assessed_column(flag: str) -> str:
    return f"_assessed_{flag}"


def _assessment_flags(edition: Edition) -> list[str]:
    """The needs-assessment columns the edition's criteria read."""
    return sorted(
        {
            c.assessment_flag
            for criterion in edition.eligibility.criteria
            for c in criterion.when
            if c.assessment_flag is not None
        }
    )


def _base(
    crimes: ir.Table, victims: ir.Table, needs_assessments: ir.Table, edition: Edition, as_of: date
) -> tuple[ir.Table, dict[str, str]]:
    """Every victim of every crime reported by ``as_of`` with what the criteria read, and the
    column holding each assessment flag (a completed needs assessment said so by ``as_of``)."""
    crimes = crimes.filter(crimes.reported_at < cutoff(as_of))
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
    victims = victims.select(
        "victim_id",
        "crime_id",
        "age_at_report",
        "vulnerable",
        "intimidated",
        "persistently_targeted",
        "bereaved_relative",
        opted_out=victims.updates_opt_out.fill_null(False),
    )
    base = victims.join(crimes, "crime_id")

    assessed: dict[str, str] = {}
    for flag in _assessment_flags(edition):
        na = needs_assessments
        done = (
            na.filter((na.completed_at < cutoff(as_of)) & na[flag].fill_null(False))
            .select("victim_id", "crime_id")
            .distinct()
            .mutate(**{_assessed_column(flag): ibis.literal(True)})
        )
        base = base.left_join(done, ["victim_id", "crime_id"]).select(
            ~ibis.selectors.endswith("_right")
        )
        assessed[flag] = _assessed_column(flag)
    return base, assessed


def victim_crimes(src: Sources, edition: Edition, as_of: date) -> ir.Table:
    """Every victim of every crime reported by ``as_of``, with enhanced rights decided."""
    base, assessed = _base(src.crimes, src.victims, src.needs_assessments, edition, as_of)
    branches = []
    for criterion in edition.eligibility.criteria:
        holds = ibis.or_(*(_condition(base, c, edition, assessed) for c in criterion.when))
        branches.append((holds, ibis.literal(criterion.id)))
    reason = ibis.cases(*branches, else_=ibis.null("string")) if branches else ibis.null("string")
    return base.mutate(enhanced_reason=reason, enhanced=reason.notnull())


def enhanced_eligibility(
    crimes: ir.Table, victims: ir.Table, needs_assessments: ir.Table, edition: Edition, as_of: date
) -> ir.Table:
    """Every victim of every crime reported by ``as_of`` (``victim_id``, ``crime_id``,
    ``reported_at``) with:

    * ``eligible_enhanced``: a criterion of ``eligibility.yaml`` holds by the data alone — its
      offence, crime or victim flag or age conditions, leaving out what a needs assessment
      recorded (the same conditions :func:`victim_crimes` evaluates for the ledger);
    * ``eligible_reasons`` / ``eligible_labels``: the ids / labels of those criteria, in the
      file's order, joined by "; " (blank when not eligible);
    * ``enhanced_identified``: a needs assessment completed by ``as_of`` identified the victim
      as entitled to enhanced rights (the criteria's assessment flags), and ``identified_at``:
      when the first such assessment was completed (blank if none).
    """
    base, assessed = _base(crimes, victims, needs_assessments, edition, as_of)
    firsts: list[ir.TimestampValue] = []
    for flag in _assessment_flags(edition):
        na = needs_assessments
        first = (
            na.filter((na.completed_at < cutoff(as_of)) & na[flag].fill_null(False))
            .group_by(_fv=na.victim_id, _fc=na.crime_id)
            .aggregate(**{f"_first_{flag}": na.completed_at.cast("timestamp").min()})
        )
        base = base.left_join(
            first, [base.victim_id == first._fv, base.crime_id == first._fc]
        ).drop("_fv", "_fc")
        firsts.append(base[f"_first_{flag}"])
    identified_at = (
        (ibis.least(*firsts) if len(firsts) > 1 else firsts[0])
        if firsts
        else ibis.null("timestamp")
    )
    eligible: list[ir.BooleanValue] = []
    ids: list[ir.StringValue] = []
    labels: list[ir.StringValue] = []
    identified: list[ir.BooleanValue] = []
    for criterion in edition.eligibility.criteria:
        by_data = [c for c in criterion.when if c.assessment_flag is None]
        identified += [
            _condition(base, c, edition, assessed)
            for c in criterion.when
            if c.assessment_flag is not None
        ]
        if not by_data:
            continue
        holds = ibis.or_(*(_condition(base, c, edition, assessed) for c in by_data))
        eligible.append(holds)
        ids.append(ibis.ifelse(holds, ibis.literal(criterion.id), ibis.null("string")))
        labels.append(ibis.ifelse(holds, ibis.literal(criterion.label), ibis.null("string")))
    is_eligible = ibis.or_(*eligible) if eligible else ibis.literal(False)
    blank = ibis.null("string")
    sep = ibis.literal("; ")
    return base.select(
        "victim_id",
        "crime_id",
        "reported_at",
        eligible_enhanced=is_eligible,
        eligible_reasons=ibis.ifelse(is_eligible, sep.join(ids), blank) if ids else blank,
        eligible_labels=ibis.ifelse(is_eligible, sep.join(labels), blank) if labels else blank,
        enhanced_identified=ibis.or_(*identified) if identified else ibis.literal(False),
        identified_at=identified_at,
    )
