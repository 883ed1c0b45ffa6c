"""The Victims' Code rules: who is owed what, by when, and whether they got it.

``vcop.rules.ledger`` builds the entitlement ledger from the canonical tables and the Code
definitions (``vcop.spec.code``); ``vcop.rules.explain`` tells one victim's story from it.
"""

from vcop.rules.ledger import (
    LEDGER_COLUMNS,
    LEDGER_KEY,
    LEDGER_TABLE,
    STATUSES,
    LedgerRun,
    build_ledger,
    evaluate,
)
from vcop.rules.sources import Sources

__all__ = [
    "LEDGER_COLUMNS",
    "LEDGER_KEY",
    "LEDGER_TABLE",
    "STATUSES",
    "LedgerRun",
    "Sources",
    "build_ledger",
    "evaluate",
]
