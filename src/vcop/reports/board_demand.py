"""The board paper's demand and outcomes (the model paper's section 4.3), the demand, outcomes and
satisfaction of each priority area, the national context, and the sections the author writes.

- **Demand and outcomes**: recorded crime over the 12 months, per 1,000 residents (from the
  population the force loads: :mod:`vcop.metrics.population`), against its long-term benchmark
  and a year before, by district (which districts drove a change); investigation length and
  outcome rates, for all crime and for domestic abuse, hate crime, serious sexual offences and
  child abuse.
- **Priority areas**: beside each area's Code compliance, its demand, outcomes and, where the
  survey allows, satisfaction.
- **National context**: where the database holds the crimes of other forces (a data.police.uk
  import, or a national build: the ``force`` column), the force's recorded crime beside theirs;
  otherwise nothing.
- **The author's words** (``--notes FILE``): Plan objectives, highlighted good practice and the
  recommendation, from a markdown file (:func:`read_notes`), marked as the author's; missing, they
  are left out.

Every figure is cited through the :class:`~vcop.reports.figures.FigureBook`, and every comparison
is stated through the paper's :class:`~vcop.metrics.comparisons.ComparisonFamily` (the benchmark
comparison too), so the false discovery rate is controlled over them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vcop.metrics.values import MetricValue
from vcop.reports.document import Paragraph
from vcop.reports.figures import FigureBook, period_words
from vcop.reports.narrative import (
    Change,
    change_of,
    change_sentence,
    moved_phrase,
    moved_sentence,
    size_words,
    spc_sentence,
)
from vcop.reports.parts import Numbering, marked_table, sig_word

RECORDED = "recorded_crime"
RECORDED_WITH_VICTIM = "recorded_crime_with_victim"
OUTCOME_RATE = "prosecution_possible_outcome_rate"
OUTCOME_RATE_WITH_VICTIM = "prosecution_possible_outcome_rate_with_victim"
CHARGE_RATE = "charge_summons_rate"
INVESTIGATION = "average_investigation_length_days"


@dataclass(frozen=True)
class CrimeGroup:
    """A group of crimes whose demand and outcomes the paper gives: one group of a breakdown,
    counted by crime (``victim``: False) or, for a group defined by the victim's age, by the
    crimes with a victim in it."""

    title: str  # "Domestic abuse"
    by: str
    group: str
    others: str = ""  # the breakdown's other group ("not domestic abuse"); "" none
    victim: bool = False
    #: The crimes, as a sentence names them after a count ("domestic abuse crimes").
    noun: str = "crimes"

    @property
    def recorded(self) -> str:
        return RECORDED_WITH_VICTIM if self.victim else RECORDED

    @property
    def outcome_rate(self) -> str:
        return OUTCOME_RATE_WITH_VICTIM if self.victim else OUTCOME_RATE


DOMESTIC_ABUSE = CrimeGroup("Domestic abuse", "domestic_abuse", "domestic abuse",
                            "not domestic abuse", noun="domestic abuse crimes")  # fmt: skip
HATE_CRIME = CrimeGroup("Hate crime", "hate_crime", "hate crime", "not hate crime",
                        noun="hate crimes")  # fmt: skip
SERIOUS_SEXUAL = CrimeGroup("Serious sexual offences", "serious_sexual_offence",
                            "serious sexual offence", "other offence",
                            noun="serious sexual offences (rape and serious sexual assault)")  # fmt: skip
CHILD_ABUSE = CrimeGroup("Child abuse", "child_abuse", "child abuse", "not child abuse", True,
                         noun="child abuse crimes (a victim under 18)")  # fmt: skip
CHILD_EXPLOITATION = CrimeGroup("Child exploitation", "child_exploitation", "child exploitation",
                                "not child exploitation", True,
                                noun="child exploitation crimes (a victim under 18)")  # fmt: skip

#: The groups of the outcomes table (Table 10), after all crime.
OUTCOME_GROUPS = (DOMESTIC_ABUSE, HATE_CRIME, SERIOUS_SEXUAL, CHILD_ABUSE, CHILD_EXPLOITATION)
#: Each priority area's crime groups (by the breakdown of its Code compliance figures), and its
#: satisfaction measure and group (None: the survey does not record who the victim is in a way
#: that finds them: it records no age).
PRIORITY_GROUPS: dict[str, tuple[CrimeGroup, ...]] = {
    "domestic_abuse": (DOMESTIC_ABUSE,),
    "age_band": (CHILD_ABUSE, CHILD_EXPLOITATION),
    "sexual_offence": (SERIOUS_SEXUAL,),
}
PRIORITY_SATISFACTION: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    # (metric, breakdown, group): the domestic abuse survey is of those victims alone
    "domestic_abuse": ("da_satisfaction_whole_experience", None, ()),
    "sexual_offence": ("satisfaction_whole_experience", "sexual_offence", ("sexual offence",)),
}
#: How many districts the text names as driving a change in recorded crime.
DRIVERS = 2
#: Said where a rate per 1,000 residents would be, when the force has loaded no population.
NO_POPULATION = (
    "No population has been loaded (the population table, one row per district), so no rate "
    "per 1,000 residents is given."
)


def _shown(
    book: FigureBook, metric: str, by: str | None = None, group: tuple[str, ...] = ()
) -> MetricValue | None:
    v = book.value(metric, by=by, group=group)
    return v if book.shown(v) else None


#: The end of the benchmark sentence when the difference is not significant.
BENCHMARK_QUIET = "; the difference from it is within normal variation."


def benchmark_sentence(book: FigureBook, v: MetricValue, where: str) -> str:
    """The 12 months against the count's long-term benchmark, judged with the paper's other
    comparisons (its size and 95% interval when significant); "" when there is no benchmark."""
    bench = book.cite_benchmark(v, where)
    if not bench:
        return ""
    years = book.catalogue.metric(v.metric_id).benchmark_years
    family = book.comparisons
    verdict = family.verdict(v, "benchmark") if family is not None else None
    significant = verdict.significant if verdict is not None else v.benchmark_significant
    text = (
        f"The long-term benchmark, the average 12-month total over up to {years} years before "
        f"(as far as the data go back), is {bench}"
    )
    if significant is None:
        return text + "."
    if not significant:
        return text + BENCHMARK_QUIET
    change = (v.current.value or 0.0) - (v.benchmark or 0.0)
    size = size_words(
        Change("higher" if change > 0 else "lower", True, change,
               verdict.interval if verdict is not None else None),
        v.unit,
    )  # fmt: skip
    claim = "higher" if change > 0 else "lower"
    return text + f": the 12 months are significantly {claim} than the benchmark ({size})."


def _against(book: FigureBook, v: MetricValue, where: str) -> list[str]:
    """Recorded crime against its benchmark and a year before: one sentence for both when
    neither difference is significant, so what did not move is said once."""
    bench = benchmark_sentence(book, v, where)
    year = change_of(v, "year_ago", book.comparisons)
    quiet = bench.endswith(BENCHMARK_QUIET) and year is not None
    if quiet and year is not None and year.claim == "normal variation" and v.year_ago:
        then = period_words(v.year_ago.estimate, v.period)
        figure = book.cite(v, where, "year_ago", small=True)
        return [
            bench.removesuffix(BENCHMARK_QUIET) + ".",
            f"Neither the difference from it nor that from {then} ({figure}) is significant.",
        ]
    return [bench, change_sentence(book, v, where, subject="Recorded crime")]


def demand_outcomes(book: FigureBook, n: Numbering) -> None:
    """Recorded crime (Table 10: by district) and outcomes (Table 11: by crime group)."""
    v = _shown(book, RECORDED)
    if v is None:
        n.para("No crime was recorded in the period: demand and outcomes cannot be reported.")
        return
    where = n.next()
    period = period_words(v.current, v.period)
    rate = book.cite_per_1000(v, where)
    population = book.population()
    n.para(
        f"{book.cite(v, where)} crime{'s were' if v.current.value != 1 else ' was'} recorded "
        f"in {period}" + (f", {rate} per 1,000 residents" if rate else "") + ".",
        *_against(book, v, where),
        _drivers(book, v, where),
        spc_sentence(v, subject="The monthly counts of recorded crime"),
        "" if population is not None else NO_POPULATION,
        number=where,
    )
    _district_table(book, n, population is not None)
    _outcomes(book, n)


def _drivers(book: FigureBook, v: MetricValue, where: str) -> str:
    """The districts that contributed most to a significant change from a year before (their
    counts now and then; a description of the figures, not a test of each)."""
    change = change_of(v, "year_ago", book.comparisons)
    if change is None or change.claim not in ("higher", "lower"):
        return ""
    missing = book.catalogue.breakdown("district").missing_label
    rising = change.claim == "higher"
    moves = []
    for d in book.values([RECORDED], by="district"):
        if d.group[0] == missing or not book.shown(d) or not book.shown(d, "year_ago"):
            continue
        assert d.year_ago is not None and d.year_ago.change is not None
        if (d.year_ago.change > 0) == rising and d.year_ago.change != 0:
            moves.append(d)
    if not moves:
        return ""
    moves.sort(key=lambda d: -abs(d.year_ago.change or 0.0) if d.year_ago else 0.0)
    named = [
        f"{d.group[0]} ({book.cite(d, where)}, against {book.cite(d, where, 'year_ago')})"
        for d in moves[:DRIVERS]
    ]
    return (
        f"The districts whose counts {'rose' if rising else 'fell'} most were "
        + " and ".join(named)
        + "."
    )


def _district_table(book: FigureBook, n: Numbering, per_1000: bool) -> None:
    missing = book.catalogue.breakdown("district").missing_label
    rows = []
    where = "Table 10"
    values = [d for d in book.values([RECORDED], by="district") if book.shown(d)]
    for d in sorted(values, key=lambda d: (d.group[0] == missing, d.group[0])):
        earlier = book.shown(d, "year_ago")
        row = [d.group[0], book.cite(d, where, small=True)]
        if per_1000:
            row.append(book.cite_per_1000(d, where) or "–")
        row += [
            book.cite(d, where, "year_ago", small=True) if earlier else "–",
            sig_word(d, "year_ago", book),
            _bench_word(book, d),
        ]
        rows.append(tuple(row))
    if not rows:
        return
    columns = ["District", "Recorded crime"] + (["Per 1,000 residents"] if per_1000 else [])
    columns += ["Year before", "Change", "Against the benchmark"]
    numeric = [False, True] + ([True] if per_1000 else []) + [True, False, False]
    v = book.value(RECORDED)
    period = period_words(v.current, v.period) if v is not None else "12 months"
    n.doc.add(
        marked_table(
            tuple(columns), tuple(rows),
            caption=f"Table 10: Recorded crime by district, {period}",
            numeric=tuple(numeric),
        )
    )  # fmt: skip


def _bench_word(book: FigureBook, v: MetricValue) -> str:
    """The benchmark cell: the direction of a significant difference, else "in line"."""
    family = book.comparisons
    verdict = family.verdict(v, "benchmark") if family is not None else None
    if v.benchmark is None:
        return "–"
    significant = verdict.significant if verdict is not None else v.benchmark_significant
    if significant is None:
        return "–"
    if not significant:
        return "normal variation"
    return "above" if (v.current.value or 0.0) > v.benchmark else "below"


def _then(book: FigureBook, v: MetricValue, where: str) -> str:
    """ "; 24.8% a year before" (the earlier figure of a comparison the paragraph states), or ""."""
    if not book.shown(v, "year_ago"):
        return ""
    return f"; {book.cite(v, where, 'year_ago', small=True)} a year before"


def _moved(
    book: FigureBook, named: list[tuple[MetricValue, str]], where: str, lead: str, none: str
) -> str:
    """One sentence for what moved among ``named`` (value, subject) since a year before, and
    what did not, grouped."""
    family = book.comparisons
    moved = [
        moved_phrase(book, v, where, subject)
        for v, subject in named
        if (c := change_of(v, "year_ago", family)) is not None and c.claim in ("higher", "lower")
    ]
    return moved_sentence([v for v, _ in named], moved, lead=lead, none=none, family=family)


def _outcomes(book: FigureBook, n: Numbering) -> None:
    """Investigation length and outcome rates for all crime (the text), and by crime group
    (Table 11), with what moved."""
    length = _shown(book, INVESTIGATION)
    rate = _shown(book, OUTCOME_RATE)
    charge = _shown(book, CHARGE_RATE)
    if length is None and rate is None and charge is None:
        n.para("No crime was given an outcome in the period: outcomes cannot be reported.")
        return
    where = n.next()
    sentences: list[str] = []
    named: list[tuple[MetricValue, str]] = []
    if length is not None:
        period = period_words(length.current, length.period)
        sentences.append(
            f"Crimes given an outcome in {period} had been under investigation for "
            f"{book.cite(length, where, small=True)} on average (n = "
            f"{book.cite_n(length, where)}{_then(book, length, where)})."
        )
        named.append((length, "The average investigation length"))
    if rate is not None:
        sentences.append(
            "The prosecution-possible outcome rate (charge or summons, caution, community "
            "resolution and the other outcomes that bring an offender to account, of the crimes "
            f"where a prosecution was possible) was {book.cite(rate, where, small=True)} (n = "
            f"{book.cite_n(rate, where)}{_then(book, rate, where)})."
        )
        named.append((rate, "The prosecution-possible outcome rate"))
    if charge is not None:
        sentences.append(
            f"{book.cite(charge, where, small=True)} of the crimes given an outcome were charged "
            f"or summonsed (n = {book.cite_n(charge, where)}{_then(book, charge, where)})."
        )
        named.append((charge, "The share charged or summonsed"))
    groups = [
        (g, v) for g in OUTCOME_GROUPS if (v := _shown(book, g.outcome_rate, g.by, (g.group,)))
    ]
    named += [(v, f"The rate for {g.title.lower()}") for g, v in groups]
    sentences.append(
        _moved(book, named, where, "Compared with a year before: ",
               "None of these, nor any crime group's outcome rate in Table 11, differs "
               "significantly from a year before.")
    )  # fmt: skip
    if groups:
        sentences.append(
            "Table 11 gives the rates for all crime and for domestic abuse, hate crime, serious "
            "sexual offences and child abuse."
        )
    n.para(*sentences, number=where)
    rows = []
    for g, v in [(None, rate), *groups]:
        if v is None:
            continue
        by, group = (g.by, (g.group,)) if g is not None else (None, ())
        victim = g is not None and g.victim
        other = [] if victim else [_shown(book, m, by, group) for m in (CHARGE_RATE, INVESTIGATION)]
        earlier = book.shown(v, "year_ago")
        rows.append(
            (
                "All crime" if g is None else g.title,
                book.cite(v, "Table 11", small=True),
                book.cite_n(v, "Table 11"),
                book.cite(v, "Table 11", "year_ago", small=True) if earlier else "–",
                sig_word(v, "year_ago", book),
                *(book.cite(o, "Table 11", small=True) if o is not None else "–" for o in other),
                *(["–", "–"] if victim else []),
            )
        )
    if rows:
        n.doc.add(
            marked_table(
                ("Crimes", "Prosecution possible: outcome rate", "n", "Year before", "Change",
                 "Charged or summonsed", "Days to outcome"),
                tuple(rows),
                caption="Table 11: Outcomes by crime group, 12 months (child abuse and "
                "exploitation: crimes with a victim under 18)",
                numeric=(False, True, True, True, False, True, True),
            )
        )  # fmt: skip


def priority_demand(book: FigureBook, n: Numbering, by: str, who: str) -> None:
    """A priority area's demand and outcomes (and satisfaction, where the survey finds its
    victims), beside its Code compliance, in one paragraph; nothing when the data hold none."""
    where = n.next()
    sentences: list[str] = []
    named: list[tuple[MetricValue, str]] = []
    for g in PRIORITY_GROUPS.get(by, ()):
        recorded = _shown(book, g.recorded, g.by, (g.group,))
        rate = _shown(book, g.outcome_rate, g.by, (g.group,))
        parts = []
        if recorded is not None:
            one = recorded.current.value == 1
            noun = g.noun.replace("crimes", "crime", 1) if one else g.noun
            then = _then(book, recorded, where).removeprefix("; ")
            parts.append(
                f"{book.cite(recorded, where, small=True)} {noun} {'was' if one else 'were'} "
                "recorded in the 12 months" + (f" ({then})" if then else "")
            )
            named.append((recorded, f"The number of {g.noun.split(' (')[0]}"))
        if rate is not None:
            other = _shown(book, g.outcome_rate, g.by, (g.others,)) if g.others else None
            against = (
                f", against {book.cite(other, where, small=True)} for other crimes"
                if other is not None
                else ""
            )
            parts.append(
                f"{'their' if parts else 'the'} prosecution-possible outcome rate was "
                f"{book.cite(rate, where, small=True)} (n = {book.cite_n(rate, where)}){against}"
            )
            named.append((rate, f"The outcome rate of {g.noun.split(' (')[0]}"))
        if parts:
            text = " and ".join(parts) + "."
            sentences.append(text[0].upper() + text[1:])
    satisfaction = PRIORITY_SATISFACTION.get(by)
    if satisfaction is not None:
        metric, sby, sgroup = satisfaction
        v = _shown(book, metric, sby, sgroup)
        if v is not None:
            sentences.append(
                f"In the victim survey, {book.cite(v, where, small=True)} of {who} who answered "
                f"(n = {book.cite_n(v, where)}{_then(book, v, where)}) were at least fairly "
                "satisfied with the whole experience."
            )
            named.append((v, "Their satisfaction"))
    if not sentences:
        return
    sentences.append(
        _moved(book, named, where, "Compared with a year before: ",
               "None of these differs significantly from a year before.")
    )  # fmt: skip
    n.para("Demand and outcomes.", *sentences, "Table 11 gives their outcomes.", number=where)


def national_context(book: FigureBook, n: Numbering, force: str) -> None:
    """The force's recorded crime beside the other forces' the database holds (Table 12), under
    its own heading; nothing at all when it holds one force."""
    missing = book.catalogue.breakdown("force").missing_label
    forces = [
        v
        for v in book.values([RECORDED], by="force")
        if book.shown(v) and v.group[0] != missing and (v.current.value or 0) > 0
    ]
    if len(forces) < 2:
        return
    n.subsection("National context")
    where = n.next()
    family = book.comparisons
    own = next((v for v in forces if v.group[0] == force), None)
    period = period_words(forces[0].current, forces[0].period)
    moved = [
        moved_phrase(book, v, where, v.group[0])
        for v in forces
        if (c := change_of(v, "year_ago", family)) is not None and c.claim in ("higher", "lower")
    ]
    n.para(
        f"The force's database also holds the recorded crime of {len(forces) - (own is not None)}"
        " other force" + ("s" if len(forces) - (own is not None) != 1 else "")
        + " (from data.police.uk or a national build), for the same periods.",
        f"{force} recorded {book.cite(own, where)} crimes in {period}." if own is not None else "",
        moved_sentence(
            forces, moved, lead="Compared with a year before: ", family=family,
            none="No force's recorded crime differs significantly from a year before.",
        ),
        "Table 12 gives each force's recorded crime. Forces differ in size, and in when they "
        "were inspected on crime recording, so their counts are not compared with each other.",
        number=where,
    )  # fmt: skip
    rows = tuple(
        (
            v.group[0],
            book.cite(v, "Table 12", small=True),
            book.cite(v, "Table 12", "year_ago", small=True) if book.shown(v, "year_ago") else "–",
            sig_word(v, "year_ago", book),
        )
        for v in sorted(forces, key=lambda v: (v.group[0] != force, v.group[0]))
    )
    n.doc.add(
        marked_table(
            ("Force", "Recorded crime", "Year before", "Change"), rows,
            caption=f"Table 12: Recorded crime by force, {period}",
            numeric=(False, True, True, False),
        )
    )  # fmt: skip


# -- the author's words ---------------------------------------------------------------------------

#: The sections of a notes file (``## Heading``, any case) and the heading each has in the paper.
NOTE_SECTIONS = {
    "plan objectives": "Plan objectives",
    "good practice": "Highlighted good practice",
    "recommendation": "Recommendation",
}
#: Said at the start of each section the author wrote.
AUTHOR_MARK = "The author's words, from the paper's notes: not computed from the force's data."


class NotesError(ValueError):
    """A notes file that cannot be read as one: the message names the line."""


@dataclass(frozen=True)
class AuthorNotes:
    """The sections of the author's notes file: each a tuple of paragraphs (absent: not
    written, so left out of the paper)."""

    sections: dict[str, tuple[str, ...]]

    def get(self, key: str) -> tuple[str, ...]:
        return self.sections.get(key, ())


def read_notes(path: Path) -> AuthorNotes:
    """Read a notes file: markdown whose ``## Plan objectives``, ``## Good practice`` and
    ``## Recommendation`` sections (any order, any case; each optional) hold paragraphs
    separated by blank lines. A line starting ``#`` alone (a title) is ignored; any other
    heading, or text before the first heading, is an error naming its line."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None and lines:
            current.append(" ".join(x.strip() for x in lines))
        lines.clear()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip()
        heading = re.match(r"^(#+)\s+(.*?)\s*#*$", line)
        if heading and len(heading.group(1)) == 1:
            close()
            continue
        if heading:
            close()
            key = heading.group(2).strip().lower()
            key = "good practice" if key == "highlighted good practice" else key
            if key not in NOTE_SECTIONS or len(heading.group(1)) != 2:
                raise NotesError(
                    f"{path}:{number}: unknown section {heading.group(0)!r} (the sections are "
                    + ", ".join(f"'## {t}'" for t in ("Plan objectives", "Good practice",
                                                       "Recommendation"))
                    + ")"
                )  # fmt: skip
            current = sections.setdefault(key, [])
            continue
        if not line.strip():
            close()
            continue
        if current is None:
            raise NotesError(f"{path}:{number}: text before the first '## ' section heading")
        lines.append(line)
    close()
    return AuthorNotes({k: tuple(v) for k, v in sections.items() if v})


def population_caveat(book: FigureBook) -> str:
    """Where the rates per 1,000 residents come from (the population table's source lines);
    "" when none is loaded (the demand section says so)."""
    population = book.population()
    if population is None:
        return ""
    return (
        "Rates per 1,000 residents divide a count by the residents of the force, area or "
        "district, from the population the force loaded (source: "
        + "; ".join(population.sources)
        + ")."
    )


def author_section(n: Numbering, notes: AuthorNotes | None, key: str) -> bool:
    """The author's section ``key`` as a numbered section of the paper, marked as the author's
    words; False (nothing added) when the notes have no such section."""
    paragraphs = notes.get(key) if notes is not None else ()
    if not paragraphs:
        return False
    n.section(NOTE_SECTIONS[key])
    n.doc.add(Paragraph(AUTHOR_MARK, note=True))
    for text in paragraphs:
        n.para(text)
    return True


def author_recommendation(n: Numbering, notes: AuthorNotes | None) -> bool:
    """The author's recommendation in the paper's Recommendation section (which exists
    already), marked; False when the notes have none."""
    paragraphs = notes.get("recommendation") if notes is not None else ()
    if not paragraphs:
        return False
    n.doc.add(Paragraph(AUTHOR_MARK, note=True))
    for text in paragraphs:
        n.para(text)
    return True


__all__ = [
    "NO_POPULATION",
    "AuthorNotes",
    "NotesError",
    "author_recommendation",
    "author_section",
    "demand_outcomes",
    "national_context",
    "population_caveat",
    "priority_demand",
    "read_notes",
]
