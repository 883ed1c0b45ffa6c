"""Cells vcop writes into files a spreadsheet may open (CSV, XLSX): never a formula.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula, so an area named ``=HYPERLINK(...)`` in an extract would come out of an
export as a live link (OWASP "CSV injection"). :func:`safe_cell` puts an apostrophe before such a
text cell — the spreadsheet convention for "this is text" — and leaves every other cell as it is:
numbers, and text that is a number (``-0.05``), stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: What makes a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def safe_cell(value: Any) -> Any:
    """``value`` as a cell a spreadsheet shows and never runs."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not _numeric(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """A row of :func:`safe_cell` values (blank for None)."""
    return ["" if v is None else safe_cell(v) for v in values]
