"""SQL that parses an extract's text values into canonical types and finds every bad value.

All parsing rules live here, once. A value that cannot be parsed rejects its row with a reason in
plain English; it never becomes a blank. Conventions:

* blank (empty or only spaces) means missing; a column's ``default`` then applies;
* booleans: true/false, yes/no, y/n, 1/0, in any case;
* datetimes: the profile's formats, then ISO 8601 (a date alone is the start of that day). A UTC
  offset, if written, is ignored: times are taken as written, in UK local time;
* a profile's value codes and allowed values are matched ignoring case; allowed values are
  stored in their canonical spelling;
* the 7-point satisfaction scale: a code 1..7 or its label, stored as the code.
"""

from __future__ import annotations

from vcop.spec.profile import TableMapping
from vcop.spec.schema import Column, Schema

TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")
YEAR_RANGE = (1900, 2100)


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


def mapped_text(column: Column, mapping: TableMapping, source: str | None) -> str:
    """The column's text after trimming, blank → NULL, the profile's value codes and case-folding
    of allowed values."""
    if source is None:
        return "CAST(NULL AS VARCHAR)"
    expr = f"NULLIF(trim({ident(source)}), '')"
    codes = mapping.values.get(column.name)
    if codes:
        whens = " ".join(f"WHEN {lit(k.lower())} THEN {lit(v)}" for k, v in codes.items())
        expr = f"(CASE lower({expr}) {whens} ELSE {expr} END)"
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
        expr = f"TRY_CAST({text} AS BIGINT)"
    elif t == "number":
        expr = f"TRY_CAST({text} AS DOUBLE)"
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
            f"CAST(CASE WHEN TRY_CAST({text} AS INTEGER) BETWEEN 1 AND 7 "
            f"THEN TRY_CAST({text} AS INTEGER) "
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


def checks(column: Column, datetime_formats: tuple[str, ...]) -> list[tuple[str, str]]:
    """(condition, reason) pairs over the staging row's ``t_<col>`` text and ``v_<col>`` value.

    Reasons are SQL string expressions so they can quote the offending value."""
    c = column.name
    text, value = ident(f"t_{c}"), ident(f"v_{c}")
    found: list[tuple[str, str]] = []
    if column.required:
        found.append((f"{text} IS NULL", lit(f"{c} is required but is blank")))
    if column.type != "string":
        found.append(
            (
                f"{text} IS NOT NULL AND {value} IS NULL",
                f"'''' || {text} || ''' is not ' || {lit(_expected(column, datetime_formats))}",
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
        found.append(
            (
                f"{value} IS NOT NULL AND (year({value}) < {lo} OR year({value}) > {hi})",
                f"'''' || {text} || {lit(f''' is outside the years {lo}-{hi}, probably a typing error''')}",
            )
        )
    return found
