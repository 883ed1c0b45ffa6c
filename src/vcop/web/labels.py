"""Words for the codes the dashboard shows, and the order it lists rights and obligations in.

Every page writes a code through :func:`label` — a breakdown's group (``asian``, ``not_stated``),
a service, a channel, a delay reason, a body that owes an obligation, a right or an obligation —
so a code has the same words everywhere. The words are data: ``definitions/labels.yaml``, and,
for what has its own definitions, the Code's titles of rights and obligations,
:data:`vcop.spec.agencies.AGENCY_NAMES` and the Home Office outcome types. Only the page shows
words: the ``group`` column and the other public columns of the CSV and JSON twins keep the codes.

:func:`order_key` lists rights and obligations as the Code does (Right 3 before Right 11,
``R3.…`` before ``R11.…``, local standards last) wherever they are listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: A code as vcop stores it, or the lower-case words the metric engine writes for a group
#: (``higher_priority_incident``, ``not recorded``, ``under 18``): written with a capital first
#: letter and spaces. Anything else (a place, a crime type, an officer id) is a name: left alone.
_CODE = re.compile(r"[a-z][a-z0-9_]*(?: [a-z0-9_]+)*")
_OBLIGATION = re.compile(r"R(\d+)\.")


@cache
def _labels() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    text = resources.files("vcop.definitions").joinpath("labels.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    aliases = {str(k): str(v) for k, v in data.get("aliases", {}).items()}
    lists = {
        str(kind): {str(code): str(words) for code, words in (codes or {}).items()}
        for kind, codes in data["labels"].items()
    }
    return aliases, lists


def kinds() -> dict[str, dict[str, str]]:
    """Every list of ``labels.yaml`` (kind -> code -> words)."""
    return dict(_labels()[1])


def label(kind: str | None, code: object) -> str:
    """The words for ``code``, a value of ``kind`` (a breakdown id such as ``ethnicity`` or
    ``service``, or a list of ``labels.yaml`` such as ``channel``); a blank code is "Not recorded"."""
    if code is None or code == "":
        return "Not recorded"
    text = str(code)
    aliases, lists = _labels()
    kind = aliases.get(kind or "", kind)
    if kind == "right":
        return _right(text)
    if kind == "obligation":
        title = _obligation_titles().get(text)
        return f"{text}: {title}" if title else text
    if kind == "agency":
        from vcop.spec.agencies import agency_name

        return agency_name(text)
    if kind == "outcome_type":
        return _outcome_title(text)
    for source in (lists.get(kind or "", {}), lists.get("any", {})):
        if text in source:
            return source[text]
    if _CODE.fullmatch(text):
        words = text.replace("_", " ")
        return words[:1].upper() + words[1:]
    return text


def group_text(breakdowns: Sequence[str], group: Sequence[str], sep: str = " — ") -> str:
    """A group of a value split by several breakdowns (``("idva", "engaged")`` by service and
    referral outcome), each part in words."""
    return sep.join(label(b, g) for b, g in zip(breakdowns, group, strict=False))


def order_key(code: object) -> tuple[int, int, str]:
    """Where a right (``"3"``) or an obligation (``"R3.information-pack"``) comes in the Code:
    by right number, then in the Code's own order; local standards (and anything else) last."""
    text = str(code)
    if text.isdigit():
        return (int(text), -1, "")
    position = _obligation_positions().get(text, 10_000)
    found = _OBLIGATION.match(text)
    return (int(found[1]) if found else 99, position, text)


def with_article(noun: str) -> str:
    """``noun`` after "a" or "an" ("an obligation", "a right")."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def month(day: date) -> str:
    """A month as the dashboard writes it: "Jul 2023"."""
    return f"{day:%b %Y}"


def months(start: date, end: date) -> str:
    """The months a period covers: "Jul 2024 to Jun 2025", or one month: "Jun 2025"."""
    if (start.year, start.month) == (end.year, end.month):
        return month(start)
    return f"{month(start)} to {month(end)}"


def _right(text: str) -> str:
    if not text.isdigit():
        return _labels()[1].get("any", {}).get("local standard", "Local standards")
    title = _right_titles().get(text, "")
    return f"Right {text}: {title}" if title else f"Right {text}"


@cache
def _right_titles() -> dict[str, str]:
    from vcop.spec.code import load_code

    return {str(r.right): r.title for e in load_code().editions for r in e.header.rights}


@cache
def _obligation_titles() -> dict[str, str]:
    from vcop.spec.code import load_code

    return {o.id: o.title for o in load_code().obligations}


@cache
def _obligation_positions() -> dict[str, int]:
    from vcop.spec.code import load_code

    return {o.id: i for i, o in enumerate(load_code().obligations)}


def _outcome_title(text: str) -> str:
    from vcop.spec.outcomes import load_outcomes

    found = load_outcomes().types.get(int(text)) if text.isdigit() else None
    return found.title if found else text
