"""Shares and the thresholds a load is held to, defined once for ``vcop ingest`` and ``vcop refresh``.

A share (of rows rejected, of rows retired) is written as a fraction (``0.05``) or a percentage
(``5%``); a bare number above 1 is refused rather than guessed at. A share is *past* its threshold
when it is strictly greater: a limit of 5% allows 5 rejected rows in 100, not 6; a limit of 0
allows none. Nothing is past a threshold when there are no rows at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``vcop ingest --max-reject-share``: a load rejecting more than this share of its rows exits 3.
DEFAULT_MAX_REJECT_SHARE = 0.05
#: ``vcop ingest --max-retire-share``: a full extract retiring more than this share of a table's
#: rows stops (nothing loaded) unless ``--confirm-retire`` is given; then the load exits 3.
DEFAULT_MAX_RETIRE_SHARE = 0.10

_SHARE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*")


def parse_share(text: str | float) -> float:
    """A share from ``5%``, ``0.05`` or ``.05`` (or a float), between 0 and 1; ValueError saying
    how to write it otherwise."""
    if isinstance(text, float | int):
        value, percent = float(text), False
    else:
        match = _SHARE.fullmatch(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a share: write a percentage (5%) or a fraction (0.05)"
            )
        value, percent = float(match.group(1)), bool(match.group(2))
    if percent:
        value /= 100
    if not 0.0 <= value <= 1.0:
        given = text if isinstance(text, str) else repr(text)
        hint = f"; did you mean {value:g}%?" if not percent and 1 < value <= 100 else ""
        raise ValueError(f"{given!r} is not a share between 0 and 1 (0% and 100%){hint}")
    return value


def share(part: int, whole: int) -> float:
    """``part`` as a share of ``whole`` (0 when there is nothing)."""
    return part / whole if whole else 0.0


def past(part: int, whole: int, limit: float) -> bool:
    """Whether ``part`` of ``whole`` is more than the share ``limit`` allows."""
    return whole > 0 and part / whole > limit


def shown(value: float) -> str:
    """A share as a percentage for messages: ``5%``, ``12.5%``."""
    return f"{value * 100:.1f}".rstrip("0").rstrip(".") + "%"


@dataclass(frozen=True)
class Thresholds:
    """The limits a load is held to (``vcop ingest``'s options)."""

    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE
    max_retire_share: float = DEFAULT_MAX_RETIRE_SHARE
