"""The status of a ledger row and its plain-English reason: decided the same way for every kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from string import Formatter

import ibis
import ibis.expr.types as ir

from vcop.rules.blocks import (
    NULL_STR,
    SERVICE_WORDS,
)
from vcop.spec.code import (
    REASON_FIELDS,
    LedgerStatus,
    obligation_kind,
)

#: The statuses, in order (the enum is :class:`vcop.spec.code.LedgerStatus`).
STATUSES: tuple[LedgerStatus, ...] = tuple(LedgerStatus)


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
        else_=NULL_STR,
    )
