"""Cells vcop writes into files a spreadsheet may open (CSV, XLSX): never a formula.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula, so an area named ``=HYPERLINK(...)`` in an extract would come out of an
export as a live link (OWASP "CSV injection"). :func:`safe_cell` puts an apostrophe before such a
text cell — the spreadsheet convention for "this is text" — and leaves every other cell as it is:
numbers, and text that is a number (``-0.05``), stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

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


def csv_writer(stream: IO[str]) -> Any:
    """The one way vcop writes CSV: RFC 4180 (CRLF between rows), so a field holding a line
    break of either kind — a bare carriage return too — is quoted and cannot start a row of its
    own whose first cell :func:`safe_cell` never saw. Write rows through :func:`safe_row`."""
    return csv.writer(stream, lineterminator="\r\n")
