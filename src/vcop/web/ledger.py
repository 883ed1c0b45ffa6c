"""The entitlement ledger as the dashboard reads it: whether it exists and its as-of date."""

from __future__ import annotations

from datetime import date

from vcop.web.db import WebStore

#: The ledger table the rules write (vcop.rules.ledger.LEDGER_TABLE).
LEDGER = "entitlements"


def ledger_as_of(store: WebStore) -> date | None:
    """The as-of date of the ledger in the database, or None if there is no ledger yet."""
    if not store.has_table(LEDGER):
        return None

    def compute() -> date | None:
        value = store.scalar(f'SELECT max(as_of) FROM "{LEDGER}"')
        return value if isinstance(value, date) else None

    return store.cached(("ledger_as_of",), compute)


def no_ledger_note() -> str:
    return (
        "The entitlement ledger has not been built in this database yet, so there is nothing to "
        "show here. An analyst builds it with `vcop evaluate` (see `vcop --help`)."
    )
