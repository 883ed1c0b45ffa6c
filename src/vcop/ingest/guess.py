"""What an export's files probably hold: the canonical table of each file, the column each header
names, the types and date formats of the values, a role column in a file of people.

Used by `vcop profile init` (:mod:`vcop.ingest.draft`); the words other systems use are data, in
``definitions/profiles/drafting/synonyms.yaml``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from vcop.ingest.profile_files import ExportFile, name_pattern, norm, value_counts
from vcop.ingest.readers import RawTable
from vcop.ingest.validate import FALSE_WORDS, TRUE_WORDS
from vcop.spec.schema import Column, Schema, Table

#: strptime formats tried on date values, most specific first (ISO 8601 needs none).
DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
    "%d-%m-%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d/%m/%y %H:%M", "%d/%m/%y", "%d %b %Y %H:%M",
    "%d %b %Y", "%d-%b-%Y %H:%M", "%d-%b-%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
)  # fmt: skip
#: A header resembling a known name at least this closely (difflib's ratio) is a guess.
SIMILAR = 0.8
#: Share of a column's rows whose values must fit a type for the column to be that type.
FITS = 0.8
#: Distinct values of a text column screened for personal details.
SCREEN_SAMPLE = 2000
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
GROUPED = re.compile(r"\d{1,3}(,\d{3})+")


@dataclass(frozen=True)
class Synonyms:
    tables: dict[str, tuple[str, ...]]
    columns: dict[str, tuple[str, ...]]
    role_headers: tuple[str, ...]
    victim_roles: tuple[str, ...]
    codes: dict[str, dict[str, str]]


@cache
def load_synonyms() -> Synonyms:
    """The synonyms shipped in ``definitions/profiles/drafting/synonyms.yaml``."""
    text = (
        resources.files("vcop.definitions")
        .joinpath("profiles/drafting/synonyms.yaml")
        .read_text("utf-8")
    )
    raw = yaml.safe_load(text)
    return Synonyms(
        tables={t: tuple(norm(w) for w in ws) for t, ws in raw["tables"].items()},
        columns={c: tuple(norm(w) for w in ws) for c, ws in raw["columns"].items()},
        role_headers=tuple(norm(h) for h in raw["roles"]["headers"]),
        victim_roles=tuple(norm(v) for v in raw["roles"]["victim"]),
        codes={
            c: {str(k).casefold(): str(v) for k, v in m.items()} for c, m in raw["codes"].items()
        },
    )


# -- the guesses ----------------------------------------------------------------------------------


@dataclass
class Guess:
    """A header and the canonical column it is mapped to (or None)."""

    header: str
    column: str | None
    how: str = ""  # name | synonym | similar
    certain: bool = False
    note: str = ""


@dataclass
class FileDraft:
    file: ExportFile
    header_row: int
    raw: RawTable
    table: str | None = None
    score: float = 0.0
    guesses: list[Guess] = field(default_factory=list)
    superseded: list[ExportFile] = field(default_factory=list)
    pattern: str = ""


# -- values ---------------------------------------------------------------------------------------


def _parses(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _iso(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass
class DateFinding:
    formats: list[str]
    unparsed: Counter[str]
    ambiguous: bool = False


def detect_date_formats(values: Iterable[str]) -> DateFinding:
    """The formats (of :data:`DATE_FORMATS`) that read the most values, greedily, until no format
    reads any more; and the values none reads. Day-first formats win a tie with month-first."""
    values = list(values)
    distinct = [v for v in {v.strip() for v in values} if v and not _iso(v)]
    left = set(distinct)
    chosen: list[str] = []
    while left:
        best, best_read = "", set[str]()
        for fmt in DATE_FORMATS:
            got = {v for v in left if _parses(v, fmt)}
            if len(got) > len(best_read):
                best, best_read = fmt, got
        if not best:
            break
        chosen.append(best)
        left -= best_read
    day_first = [v for v in distinct if any(_parses(v, f) for f in chosen if f.startswith("%d/%m"))]
    ambiguous = bool(day_first) and all(
        any(_parses(v, f.replace("%d/%m", "%m/%d")) for f in chosen if f.startswith("%d/%m"))
        for v in day_first
    )
    unparsed = Counter(v for v in values if v.strip() and v.strip() in left)
    return DateFinding(chosen, unparsed, ambiguous)


def _share(values: Counter[str], test: Any) -> float:
    total = sum(values.values())
    return sum(n for v, n in values.items() if test(v)) / total if total else 1.0


def type_fit(column: Column, values: Counter[str]) -> str:
    """Why the values do not fit the column's type ("" when they do, or are all blank)."""
    if not values:
        return ""
    t = column.type
    words = set(TRUE_WORDS + FALSE_WORDS)
    dates = detect_date_formats(values) if t in ("datetime", "date") else None
    fits: dict[str, Any] = {
        "integer": _INTEGER.fullmatch,
        "number": _NUMBER.fullmatch,
        "datetime": lambda v: dates is not None and v not in dates.unparsed,
        "date": lambda v: dates is not None and v not in dates.unparsed,
        "boolean": lambda v: v.casefold() in words,
    }
    test = fits.get(t)
    if test is None or _share(values, test) >= FITS:
        return ""
    if t == "boolean" and len(values) <= 3:
        return ""  # two or three codes of a flag (T/F, J/N…): mapped under values
    example = next(v for v in values if not test(v))
    what = {"integer": "whole numbers", "number": "numbers", "boolean": "yes/no flags"}
    return f"values are not {what.get(t, 'dates')} (e.g. {example!r})"


def screened(column: Column) -> bool:
    """Whether the loader refuses this column when its values look personal (as it does any
    text column that is not free text, coded or an id)."""
    c = column
    return c.type == "string" and not (c.free_text or c.allowed or c.name.endswith("_id"))


def looks_id(column: str, table: Table) -> bool:
    return column.endswith("_id") or column in table.key


# -- matching headers and tables ------------------------------------------------------------------


def match_header(header: str, table: Table, syn: Synonyms) -> Guess:
    """The canonical column of ``table`` a header names: by name, by synonym, or by resemblance."""
    n = norm(header)
    for c in table.columns:
        if n == norm(c.name):
            return Guess(header, c.name, "name", True)
    hits = [c.name for c in table.columns if n in syn.columns.get(c.name, ())]
    if hits:
        return Guess(header, hits[0], "synonym", len(hits) == 1)
    known: dict[str, str] = {}
    for c in table.columns:
        for name in (norm(c.name), *syn.columns.get(c.name, ())):
            known.setdefault(name, c.name)
    close = difflib.get_close_matches(n, list(known), n=1, cutoff=SIMILAR)
    if close:
        return Guess(
            header, known[close[0]], "similar", False, f"guessed: {header!r} resembles {close[0]!r}"
        )
    return Guess(header, None)


def _name_hint(file: FileDraft, table: str, syn: Synonyms) -> bool:
    names = [norm(name_pattern(file.file.path.stem).replace("*", " "))]
    if file.file.sheet:
        names.append(norm(file.file.sheet))
    words = syn.tables.get(table, ())
    return any(w == n or w in n.split() or n.startswith(w) for w in words for n in names if n)


def guess_table(file: FileDraft, schema: Schema, syn: Synonyms) -> None:
    """Set the file's table (the best match by headers, file name as a tie-breaker) and guesses."""
    best: tuple[float, str, list[Guess]] | None = None
    for table in schema.tables:
        guesses = [match_header(h, table, syn) for h in file.raw.headers]
        matched = {g.column: g for g in guesses if g.column}
        required = [c.name for c in table.columns if c.required and c.name != "agency"]
        covered = sum(1 for c in required if c in matched)
        if len(matched) < 2 or covered < max(1, len(required) / 2):
            continue
        score = sum(1.0 if g.certain else 0.5 for g in matched.values())
        score += 2 * covered / max(1, len(required))
        if norm(name_pattern(file.file.path.stem)) == norm(table.name) or (
            file.file.sheet and norm(file.file.sheet) == norm(table.name)
        ):
            score += 10  # named after the table, as in the standard extract
        elif _name_hint(file, table.name, syn):
            score += 3
        if best is None or score > best[0]:
            best = (score, table.name, guesses)
    if best is not None:
        file.score, file.table, file.guesses = best


def resolve_conflicts(guesses: list[Guess]) -> None:
    """Two headers mapped to one column: the surer keeps it, the other is unmapped."""
    rank = {"name": 0, "synonym": 1, "similar": 2}
    by_column: dict[str, list[Guess]] = {}
    for g in guesses:
        if g.column:
            by_column.setdefault(g.column, []).append(g)
    for column, found in by_column.items():
        if len(found) < 2:
            continue
        found.sort(key=lambda g: (rank[g.how], not g.certain))
        for loser in found[1:]:
            loser.note = f"also resembles {column} (mapped from {found[0].header!r})"
            loser.column, loser.certain = None, False


def role_header(file: FileDraft, syn: Synonyms) -> tuple[str, str, Counter[str]] | None:
    """(header, victim value, every value's count) of a role column in a file of people."""
    for header in file.raw.headers:
        if norm(header) not in syn.role_headers:
            continue
        counts = value_counts(file.raw, header)
        for value in counts:
            if norm(value) in syn.victim_roles:
                return header, value, counts
    return None
