"""The one scrubber of personal details in free text: phone numbers, email addresses, UK postcodes
and house-number-and-street addresses.

vcop holds pseudonymous ids only. Free text — a survey comment, a referral's outcome, a reason
for delay — may still carry a name of a street or a phone number a victim or an officer typed.
:func:`scrub` replaces each such detail with a marker (``[phone]``, ``[email]``, ``[postcode]``,
``[address]``) and says what it found; :func:`looks_personal` tells a value that holds one, for
the check that refuses a column of personal data mapped by mistake. Phone numbers are found with
``phonenumbers`` (Google's libphonenumber), the rest with patterns.

Names are not detected: no pattern tells a name from a word, and a model that could would pull
gigabytes into every install. The data dictionary asks forces not to send names at all.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import Leniency

#: What replaces each kind of detail.
MARKERS = {
    "phone": "[phone]",
    "email": "[email]",
    "postcode": "[postcode]",
    "address": "[address]",
}

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
#: UK postcodes (outward and inward codes, with or without the space), e.g. DS9 4AB, SW1A 1AA.
POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?) ?[0-9][ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
STREET_WORDS = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|cl|way|court|ct|crescent|cres|place|pl|"
    "gardens|gdns|grove|terrace|terr|hill|park|square|sq|mews|row|walk|view|rise|green|parade|"
    "crossing|broadway|boulevard|yard|wharf|quay"
)
#: A house number (or flat) and a street: "150 High Street", "Flat 3, 22 Acacia Avenue", "7a Mill Ln".
ADDRESS = re.compile(
    rf"\b(?:(?:flat|apartment|apt|unit)\s+\d+[a-z]?,?\s+)?\d{{1,4}}[a-z]?,?\s+"
    rf"(?:[A-Z][a-z'’-]+\s+){{1,3}}(?:{STREET_WORDS})\b\.?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Scrubbed:
    """Text with its personal details replaced, and how many of each kind were found."""

    text: str
    found: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.found)


def _phones(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=Leniency.POSSIBLE):
        raw = match.raw_string.strip()
        digits = re.sub(r"\D", "", raw)
        if not 10 <= len(digits) <= 13 or _ISO_DATE.match(raw):
            continue
        if not raw.startswith(("0", "+", "(0", "(+")):  # a reference like 2024/123456 is not one
            continue
        spans.append((match.start, match.end))
    return spans


def scrub(text: str) -> Scrubbed:
    """``text`` with phone numbers, email addresses, postcodes and street addresses replaced."""
    if not text:
        return Scrubbed(text)
    found: Counter[str] = Counter()

    def replace(kind: str) -> Callable[[re.Match[str]], str]:
        def sub(_: re.Match[str]) -> str:
            found[kind] += 1
            return MARKERS[kind]

        return sub

    out = EMAIL.sub(replace("email"), text)  # before phones: digits in an address are not one
    for start, end in reversed(_phones(out)):
        found["phone"] += 1
        out = out[:start] + MARKERS["phone"] + out[end:]
    out = ADDRESS.sub(replace("address"), out)
    out = POSTCODE.sub(replace("postcode"), out)
    return Scrubbed(out, found)


def looks_personal(value: str) -> bool:
    """Whether ``value`` holds a phone number, email address, postcode or street address."""
    return scrub(value).changed


def personal_share(values: list[str]) -> tuple[int, int]:
    """How many of the non-blank ``values`` look personal, and how many there are."""
    present = [v for v in values if v and v.strip()]
    return sum(1 for v in present if looks_personal(v)), len(present)


def column_looks_personal(values: list[str]) -> bool:
    """DECISIONS: a column other than a free-text one is refused when 1% or more of its
    non-blank values, or three values, look personal."""
    personal, present = personal_share(values)
    return personal >= 3 or (present > 0 and personal / present >= 0.01)
