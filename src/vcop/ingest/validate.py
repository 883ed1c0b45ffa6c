"""SQL that parses an extract's text values into canonical types and finds every bad value.

All parsing rules live here, once. A value that cannot be parsed rejects its row with a reason in
plain English; it never becomes a blank. Conventions:

* blank (empty or only spaces) means missing; a column's ``default`` then applies;
* integers are written as integers: ``12.7``, ``1e1``, ``0x10`` or ``1_000`` are rejects, never
  13, 10, 16 or 1000 (vcop never rounds or converts a value); numbers are decimal (``-0.12``,
  ``5.2E1``), finite, with no hex, underscores or thousands separators;
* booleans: true/false, yes/no, y/n, 1/0, in any case;
* datetimes: the profile's formats, then ISO 8601 (a date alone is the start of that day). A UTC
  offset, if written, is ignored: times are taken as written, in UK local time;
* a profile's value codes and allowed values are matched ignoring case; allowed values are
  stored in their canonical spelling. A code that is neither a code of the profile nor an allowed
  value is a reject, unless the profile says ``unmapped: blank`` for the column: then the field
  is blanked, and the load counts it (:func:`unknown_condition`);
* a profile's ``transforms`` and ``where`` apply to the source text before anything else
  (:func:`transformed`, :func:`where_condition`);
* the 7-point satisfaction scale: a code 1..7 or its label, stored as the code;
* dates lie between 1900 and the load date plus one day: an event cannot be in the future. Due
  dates and scheduled hearings may be (:func:`may_be_future`);
* events keep their order where the Code depends on it (:data:`ORDER_RULES`): an outcome, any
  case event, or a partner's event, contact, review request, complaint or expense claim, dated
  before its crime was reported is a reject. Dates are compared by day, so a
  time written as a date alone is never out of order with the same day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vcop.spec.profile import TableMapping
from vcop.spec.schema import Column, Schema

TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")
YEAR_RANGE = (1900, 2100)
#: A whole number as written: optional sign, ASCII digits.
INTEGER_PATTERN = "[+-]?[0-9]+"
#: A decimal number as written: optional sign, digits with an optional point, optional exponent.
NUMBER_PATTERN = "[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
#: Case event types that name something scheduled ahead (DECISIONS: "scheduled hearings may" be in
#: the future): their event_at may be after the load date.
SCHEDULED_EVENTS = ("hearing_listed",)
#: The same for a partner's events (``agency_events``): a parole hearing is listed ahead.
SCHEDULED_AGENCY_EVENTS = ("parole_hearing",)


@dataclass(frozen=True)
class OrderRule:
    """``column`` of ``table`` must not be dated (by day) before ``earlier``: on the same row when
    ``via`` is None, else on the row of table ``via`` that the row's ``crime_id`` names."""

    table: str
    column: str
    earlier: str
    via: str | None
    what: str


#: Orders the Code depends on: its clocks start when the crime is reported, so nothing that
#: happens to the crime can come before that.
ORDER_RULES = (
    OrderRule(
        "crimes", "outcome_at", "reported_at", None,
        "an outcome cannot come before the crime was reported",
    ),
    OrderRule(
        "case_events", "event_at", "reported_at", "crimes",
        "an event on a crime cannot come before the crime was reported",
    ),
    OrderRule(
        "agency_events", "event_at", "reported_at", "crimes",
        "an event on a crime cannot come before the crime was reported",
    ),
    OrderRule(
        "agency_contacts", "contact_at", "reported_at", "crimes",
        "a contact about a crime cannot come before the crime was reported",
    ),
    OrderRule(
        "review_requests", "requested_at", "reported_at", "crimes",
        "a review of a decision on a crime cannot be asked for before the crime was reported",
    ),
    OrderRule(
        "complaints", "received_at", "reported_at", "crimes",
        "a complaint about a crime cannot come before the crime was reported",
    ),
    OrderRule(
        "expense_claims", "received_at", "reported_at", "crimes",
        "an expense claim for giving evidence cannot come before the crime was reported",
    ),
)  # fmt: skip


def may_be_future(table: str, column: Column) -> str | None:
    """SQL condition (over the staging row) under which the date column may lie after the load
    date: ``TRUE`` for a due date, a condition for a scheduled hearing, None for an event date."""
    if column.name == "due_at" or column.name.endswith("_due_at"):
        return "TRUE"
    if table == "case_events" and column.name == "event_at":
        return f"{ident('v_event_type')} IN {_in_list(SCHEDULED_EVENTS)}"
    if table == "agency_events" and column.name == "event_at":
        return f"{ident('v_event_type')} IN {_in_list(SCHEDULED_AGENCY_EVENTS)}"
    return None


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """A SQL literal for a string or number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _in_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


#: SQL for each ``transforms`` operation, applied to the expression ``{x}``.
TRANSFORMS = {
    # spaces, tabs, line breaks and non-breaking spaces at either end
    "trim": "regexp_replace({x}, '^[[:space:]\\x{{00A0}}]+|[[:space:]\\x{{00A0}}]+$', '', 'g')",
    # a comma between two digits, twice so that 1,2,3 loses both
    "strip_thousands": (
        "regexp_replace(regexp_replace({x}, '([0-9]),([0-9])', '\\1\\2', 'g'), "
        "'([0-9]),([0-9])', '\\1\\2', 'g')"
    ),
    "upper": "upper({x})",
    "lower": "lower({x})",
}


def transformed(header: str, operations: tuple[str, ...]) -> str:
    """SQL for a source column's text after the profile's ``transforms`` for it, in order."""
    expr = ident(header)
    for operation in operations:
        expr = TRANSFORMS[operation].format(x=expr)
    return expr


def where_condition(source: str, values: tuple[str, ...]) -> str:
    """SQL true for a row whose source text (the SQL expression ``source``, after its
    transforms) holds one of ``values``, compared ignoring case and surrounding spaces; ``""``
    matches a blank."""
    text = f"lower(trim({source}))"
    wanted = sorted({v.strip().lower() for v in values})
    parts = []
    if any(v for v in wanted):
        parts.append(f"coalesce({text} IN {_in_list([v for v in wanted if v])}, FALSE)")
    if "" in wanted:
        parts.append(f"coalesce({text}, '') = ''")
    return "(" + " OR ".join(parts) + ")"


def known_values(column: Column, codes: dict[str, str]) -> list[str]:
    """The texts (lower case) a column's value may be without being an unknown code: the codes,
    what they map to, and the column's allowed values."""
    known = {k.strip().lower() for k in codes} | {v.strip().lower() for v in codes.values()}
    known |= {a.lower() for a in column.allowed or ()}
    return sorted(known)


def source_text(source: str, *, bare: bool = False) -> str:
    """A source column's text, trimmed, blank as NULL. ``bare``: no value of the column begins
    or ends with a space (:attr:`vcop.ingest.readers.StoredRaw.padded`), so trimming would
    change nothing and is left out (it copies every value)."""
    return f"NULLIF({ident(source)}, '')" if bare else f"NULLIF(trim({ident(source)}), '')"


def unknown_condition(
    column: Column, mapping: TableMapping, source: str, *, bare: bool = False
) -> str | None:
    """For a column whose unknown codes are blanked (``unmapped: blank``): SQL true where the
    source text is an unknown code. None for a column whose unknown codes are rejects."""
    if mapping.unmapped.get(column.name) != "blank":
        return None
    known = known_values(column, mapping.codes(column.name))
    text = source_text(source, bare=bare)
    return f"({text} IS NOT NULL AND lower({text}) NOT IN {_in_list(known)})"


def mapped_text(
    column: Column, mapping: TableMapping, source: str | None, *, bare: bool = False
) -> str:
    """The column's text after trimming, blank → NULL, the profile's value codes (or its constant
    for the column), case-folding of allowed values, and blanking of unknown codes where the
    profile says ``unmapped: blank``. ``bare``: as for :func:`source_text`."""
    if column.name in mapping.constants:
        expr = f"NULLIF(trim({lit(mapping.constants[column.name])}), '')"
        return _allowed_spelling(column, expr)
    if source is None:
        return "CAST(NULL AS VARCHAR)"
    expr = source_text(source, bare=bare)
    codes = mapping.codes(column.name)
    if codes:
        whens = " ".join(f"WHEN {lit(k.strip().lower())} THEN {lit(v)}" for k, v in codes.items())
        expr = f"(CASE lower({expr}) {whens} ELSE {expr} END)"
    unknown = unknown_condition(column, mapping, source, bare=bare)
    if unknown is not None:
        expr = f"(CASE WHEN {unknown} THEN NULL ELSE {expr} END)"
    return _allowed_spelling(column, expr)


def detail_text(column: Column, codes: dict[str, str], source: str, *, bare: bool = False) -> str:
    """A detail column kept through a code list (e.g. ``ethnicity_detail``): the code the source
    text stands for, NULL for a text that is no code of the list. ``bare``: as for
    :func:`source_text`."""
    text = source_text(source, bare=bare)
    whens = " ".join(f"WHEN {lit(k.strip().lower())} THEN {lit(v)}" for k, v in codes.items())
    return _allowed_spelling(column, f"(CASE lower({text}) {whens} END)")


def _allowed_spelling(column: Column, expr: str) -> str:
    if column.allowed:
        whens = " ".join(f"WHEN {lit(v.lower())} THEN {lit(v)}" for v in column.allowed)
        expr = f"(CASE lower({expr}) {whens} ELSE {expr} END)"
    return expr


def parsed(column: Column, text: str, schema: Schema, datetime_formats: tuple[str, ...]) -> str:
    """SQL turning the text expression into the column's canonical type (NULL if unparseable)."""
    t = column.type
    if t == "string":
        expr = text
    elif t == "integer":
        expr = (
            f"(CASE WHEN regexp_full_match({text}, {lit(INTEGER_PATTERN)}) "
            f"THEN TRY_CAST({text} AS BIGINT) END)"
        )
    elif t == "number":
        expr = (
            f"(CASE WHEN regexp_full_match({text}, {lit(NUMBER_PATTERN)}) "
            f"AND isfinite(TRY_CAST({text} AS DOUBLE)) THEN TRY_CAST({text} AS DOUBLE) END)"
        )
    elif t == "boolean":
        expr = (
            f"(CASE WHEN lower({text}) IN {_in_list(TRUE_WORDS)} THEN TRUE "
            f"WHEN lower({text}) IN {_in_list(FALSE_WORDS)} THEN FALSE END)"
        )
    elif t in ("datetime", "date"):
        target = "TIMESTAMP" if t == "datetime" else "DATE"
        tries = [f"CAST(TRY_STRPTIME({text}, {lit(f)}) AS {target})" for f in datetime_formats]
        tries.append(f"TRY_CAST({text} AS {target})")
        expr = f"COALESCE({', '.join(tries)})"
    elif t == "scale7":
        whens = " ".join(
            f"WHEN {lit(label)} THEN {code}" for code, label in schema.scale7_labels.items()
        )
        expr = (
            f"CAST(CASE WHEN regexp_full_match({text}, '[1-7]') THEN TRY_CAST({text} AS INTEGER) "
            f"ELSE (CASE lower({text}) {whens} END) END AS TINYINT)"
        )
    else:  # pragma: no cover - the schema model forbids other types
        raise ValueError(t)
    if column.default is not None:
        expr = f"(CASE WHEN {text} IS NULL THEN {lit(column.default) if not isinstance(column.default, bool) else str(column.default).upper()} ELSE {expr} END)"
    return expr


def _expected(column: Column, datetime_formats: tuple[str, ...]) -> str:
    t = column.type
    if t == "integer":
        return "a whole number"
    if t == "number":
        return "a number"
    if t == "boolean":
        return "true/false, yes/no, y/n or 1/0"
    if t in ("datetime", "date"):
        shown = ", ".join(f"'{f}'" for f in datetime_formats)
        iso = "ISO 8601, e.g. 2025-01-31 or 2025-01-31T14:05"
        return f"a valid date{'-time' if t == 'datetime' else ''} ({shown + ' or ' if shown else ''}{iso})"
    if t == "scale7":
        return "a satisfaction code 1-7 or its label (e.g. 'fairly satisfied')"
    return "text"


def checks(
    column: Column,
    datetime_formats: tuple[str, ...],
    *,
    table: str = "",
    today: dt.date | None = None,
) -> list[tuple[str, str]]:
    """(condition, reason) pairs over the staging row's ``t_<col>`` text and ``v_<col>`` value.

    Reasons are SQL string expressions so they can quote the offending value. ``today`` is the
    load date (default: today): an event date after the next day is a reject."""
    c = column.name
    text, value = ident(f"t_{c}"), ident(f"v_{c}")
    expected = lit(_expected(column, datetime_formats))
    found: list[tuple[str, str]] = []
    if column.required:
        found.append((f"{text} IS NULL", lit(f"{c} is required but is blank")))
    if column.type in ("integer", "number"):
        # a value DuckDB would have rounded or converted says so, naming the column
        numeric = (
            f"(TRY_CAST({text} AS DOUBLE) IS NOT NULL OR TRY_CAST({text} AS BIGINT) IS NOT NULL)"
        )
        found.append(
            (
                f"{text} IS NOT NULL AND {value} IS NULL AND {numeric}",
                f"{lit(c + ' ')} || '''' || {text} || ''' is not ' || {expected} || "
                f"{lit(' as written; vcop never rounds or converts a value')}",
            )
        )
        found.append(
            (
                f"{text} IS NOT NULL AND {value} IS NULL AND NOT {numeric}",
                f"'''' || {text} || ''' is not ' || {expected}",
            )
        )
    elif column.type != "string":
        found.append(
            (
                f"{text} IS NOT NULL AND {value} IS NULL",
                f"'''' || {text} || ''' is not ' || {expected}",
            )
        )
    if column.allowed:
        shown = ", ".join(column.allowed[:8]) + (", …" if len(column.allowed) > 8 else "")
        found.append(
            (
                f"{value} IS NOT NULL AND {value} NOT IN {_in_list(column.allowed)}",
                f"'''' || {text} || ''' is not an allowed {c} (allowed: ' || {lit(shown)} || ')'",
            )
        )
    if column.min is not None:
        found.append(
            (
                f"{value} < {column.min:g}",
                f"{lit(c + ' ')} || {text} || {lit(f' is below the minimum {column.min:g}')}",
            )
        )
    if column.max is not None:
        found.append(
            (
                f"{value} > {column.max:g}",
                f"{lit(c + ' ')} || {text} || {lit(f' is above the maximum {column.max:g}')}",
            )
        )
    if column.type in ("datetime", "date"):
        lo, hi = YEAR_RANGE
        out_of_years = f"(year({value}) < {lo} OR year({value}) > {hi})"
        found.append(
            (
                f"{value} IS NOT NULL AND {out_of_years}",
                f"'''' || {text} || {lit(f''' is outside the years {lo}-{hi}, probably a typing error''')}",
            )
        )
        ahead = may_be_future(table, column)
        if ahead != "TRUE":
            latest = (today or dt.date.today()) + dt.timedelta(days=1)
            condition = (
                f"{value} IS NOT NULL AND NOT {out_of_years} "
                f"AND CAST({value} AS DATE) > DATE {lit(latest.isoformat())}"
            )
            if ahead is not None:
                condition += f" AND NOT coalesce({ahead}, FALSE)"
            found.append(
                (
                    condition,
                    f"{lit(c + ' ')} || '''' || {text} || '''' || "
                    + lit(
                        f" is in the future (after {latest.isoformat()}, the day after the load);"
                        " an event cannot have happened yet"
                    ),
                )
            )
    return found


def row_checks(table: str) -> list[tuple[str, str, str]]:
    """(column, condition, reason) for the order rules within one row of ``table``."""
    found = []
    for rule in ORDER_RULES:
        if rule.table != table or rule.via is not None:
            continue
        later, earlier = ident(f"v_{rule.column}"), ident(f"v_{rule.earlier}")
        found.append(
            (
                rule.column,
                f"CAST({later} AS DATE) < CAST({earlier} AS DATE)",
                f"{lit(rule.column + ' ')} || '''' || {ident('t_' + rule.column)} || "
                f"''' is before {rule.earlier} ' || '''' || {ident('t_' + rule.earlier)} || "
                f"'''' || {lit(': ' + rule.what)}",
            )
        )
    return found
