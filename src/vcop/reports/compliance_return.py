"""The quarterly Victims' Code compliance return: the release's figures, in a workbook.

The return answers the areas of a return definition (``definitions/returns/moj_quarterly.yaml``,
the five areas the Ministry of Justice asks forces about) and, beside them, gives compliance with
every right and every obligation the data can show, force-wide and by policing area. It computes
nothing of its own: a return is cut from the release at its quarter's end
(:mod:`vcop.metrics.release`), and every figure is the release's ``quarter`` value (the calendar
quarter ending on the release's month end), force-wide or by area, read from a ledger evaluated as
of that day.

**Small numbers.** The release has already hidden, once for every partner output of that month
end, what must be hidden: a count (or shortfall) from 1 to the threshold minus one, and whatever
would let one be worked out from the figures that are really published (areas within the force,
obligations within their right, months within a quarter and a year), audited by linear
programming. The return shows a hidden figure as :data:`~vcop.metrics.release.SUPPRESSED` and
explains it in the release's one sentence; it hides nothing of its own. A measure of the return
that names an obligation or a right is the same cell as on the other sheets, so it is shown (or
hidden) the same way everywhere.

:func:`compute_return` makes the figures and :func:`notes` the words of its notes (from
``definitions/returns/notes/workbook.yaml``); :mod:`vcop.reports.render.return_workbook` writes
them as a workbook.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import duckdb

from vcop.metrics.periods import PeriodKind, Window, windows
from vcop.metrics.release import SUPPRESSED, Release, suppressed_note
from vcop.metrics.targets import Targets
from vcop.metrics.values import MetricValue
from vcop.reports.source import ReportSource, build_release
from vcop.rules.ledger import last_run
from vcop.spec.code import Code, LocalStandards, Obligation, load_code, obligation_kind
from vcop.spec.metrics import Catalogue, load_catalogue
from vcop.spec.returns import (
    AREA,
    OBLIGATION_METRIC,
    RIGHT_METRIC,
    ReturnDefinition,
    ReturnMeasure,
)
from vcop.store.ops import OpsStore

__all__ = ["SUPPRESSED", "NoteSection", "ReturnError", "ReturnFigures", "compute_return", "notes"]

#: Where a figure is for: a policing area, or None for the whole force.
Scope = str | None
#: A figure's key within its metric: (group, scope); the group is () for an ungrouped metric.
Key = tuple[tuple[str, ...], Scope]

#: The text in the % cell of a figure with nothing due (n = 0).
NONE_DUE = "–"
#: The release's period a return shows.
QUARTER = PeriodKind.quarter.value

SHEET_RETURN = "Return"
SHEET_RIGHTS = "Rights by area"
SHEET_OBLIGATIONS = "Obligations by area"
SHEET_NOTES = "Notes"


class ReturnError(ValueError):
    """A return that cannot be made, with a reason a person can act on."""


def scope_of(v: MetricValue) -> Scope:
    return v.group[-1] if v.breakdown and v.breakdown[-1] == AREA else None


def group_of(v: MetricValue) -> tuple[str, ...]:
    return v.group[:-1] if scope_of(v) is not None else v.group


# --------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure as it may be shown: a published metric value, or None (nothing fell due)."""

    value: MetricValue | None

    @property
    def suppressed(self) -> bool:
        return self.value is not None and self.value.suppressed

    @property
    def numerator(self) -> int:
        return 0 if self.value is None else self.value.current.numerator or 0

    @property
    def denominator(self) -> int:
        return 0 if self.value is None else self.value.current.denominator or 0

    @property
    def share(self) -> float | None:
        return None if self.value is None else self.value.current.value


@dataclass
class ReturnFigures:
    """Everything the workbook shows, made by :func:`compute_return`."""

    definition: ReturnDefinition
    quarter: str
    window: Window
    force: str
    threshold: int
    evaluated_here: bool
    stored_as_of: date | None
    standards: LocalStandards
    definitions_hash: str
    #: The policing areas, in the order the sheets show them.
    areas: tuple[str, ...]
    #: metric id → (group, scope) → the release's value.
    values: dict[str, dict[Key, MetricValue]]
    #: The as-of date of the release the figures are cut from (the quarter's end).
    release_as_of: date
    #: When the last crime in the data was reported (None: no crimes).
    data_end: datetime | None
    code: Code = field(repr=False)
    catalogue: Catalogue = field(repr=False)

    @property
    def as_of(self) -> date:
        return self.window.end

    def cell(self, metric_id: str, group: tuple[str, ...], scope: Scope) -> Cell:
        return Cell(self.values.get(metric_id, {}).get((group, scope)))

    def measure_cell(self, measure: ReturnMeasure, scope: Scope) -> Cell:
        assert measure.metric_id is not None
        return self.cell(measure.metric_id, measure.group, scope)

    def groups(self, metric_id: str) -> list[tuple[str, ...]]:
        return sorted({g for g, _ in self.values.get(metric_id, {})})

    @property
    def shown(self) -> int:
        return sum(len(v) for v in self.values.values())

    @property
    def suppressed(self) -> int:
        return sum(v.suppressed for t in self.values.values() for v in t.values())

    @property
    def provisional(self) -> list[str]:
        """The metrics whose figures the engine marks provisional (the quarter is younger than
        their maturity: late records may still arrive), in the return's order."""
        return [m for m, t in self.values.items() if any(v.provisional for v in t.values())]

    def provisional_text(self) -> str:
        """Which figures are provisional and when each is complete, in the engine's terms."""
        days = "; ".join(
            f"{self.catalogue.metric(m).title}: {self.catalogue.metric(m).maturity_days} days"
            for m in self.provisional
        )
        return (
            "Provisional: the quarter ended less than the measure's maturity before the figures' "
            "date, so obligations may still be met late and records may still arrive; the "
            f"figures may change. Days after a month ends before each measure is complete: {days}."
        )


@dataclass(frozen=True)
class Coverage:
    """What the data hold around a quarter."""

    crimes_in_quarter: int
    first_report: datetime | None
    last_report: datetime | None
    force: str | None


def quarter_label(quarter: str) -> str:
    """'2025q1' → '2025Q1'."""
    return re.sub(r"\s+", "", quarter).upper()


def coverage(con: duckdb.DuckDBPyConnection, window: Window) -> Coverage:
    """How many crimes were reported in the quarter, the span of the data, and the force named
    most often in ``crimes.force``."""
    found = con.execute(
        "SELECT count(*) FILTER (WHERE reported_at::DATE BETWEEN ? AND ?), min(reported_at), "
        "max(reported_at), mode(force) FROM crimes",
        [window.start, window.end],
    ).fetchall()[0]
    return Coverage(int(found[0]), found[1], found[2], found[3])


def _area_order(catalogue: Catalogue, areas: set[str]) -> tuple[str, ...]:
    missing = catalogue.breakdown(AREA).missing_label
    return tuple(sorted(areas, key=lambda a: (a == missing, a.lower())))


def compute_return(
    source: ReportSource,
    definition: ReturnDefinition,
    quarter: str,
    window: Window,
    *,
    threshold: int,
    force: str | None = None,
    targets: Targets | None = None,
    release: Release | None = None,
    progress: Callable[[str], None] | None = None,
    ops: OpsStore | None = None,
) -> ReturnFigures:
    """The return's figures for ``window`` (a calendar quarter), cut from the release as of its
    last day: ``release`` if given (it must be that release, with that threshold), else the one
    built here from ``source`` (a ledger as of that day) with the force's ``targets``.

    Raises :class:`ReturnError` when the metrics cannot be computed as the return needs them.
    """
    if source.as_of != window.end:
        raise ReturnError(f"the ledger is as of {source.as_of}, not the quarter's end {window.end}")
    if windows(PeriodKind.quarter, window.end).current != window:
        raise ReturnError(f"{window} is not a calendar quarter")
    code = load_code()
    catalogue = load_catalogue()
    if release is None:
        release = build_release(
            source, threshold=threshold, targets=targets, progress=progress, ops=ops,
            output=f"compliance return {quarter}",
        )  # fmt: skip
    if release.as_of != window.end or release.threshold != threshold:
        raise ReturnError(
            f"the release is of {release.as_of} with threshold {release.threshold}, not of the "
            f"quarter's end {window.end} with threshold {threshold}"
        )
    ids = list(definition.metric_ids)
    if AREA not in release.splits:
        raise ReturnError(f"the release of {release.as_of} publishes no figures by {AREA}")
    whole = release.values(QUARTER, None, ids)
    split = release.values(QUARTER, AREA, ids)
    # the release's notes that concern the return (the ledger, or one of its metrics)
    notes = [n for n in release.notes if "ledger" in n or any(m in n for m in ids)]
    if notes:
        raise ReturnError("; ".join(notes))
    values: dict[str, dict[Key, MetricValue]] = defaultdict(dict)
    for v in [*whole, *split]:
        values[v.metric_id][(group_of(v), scope_of(v))] = v
    run = last_run(source.con)
    found = coverage(source.con, window)
    return ReturnFigures(
        definition=definition,
        quarter=quarter,
        window=window,
        force=force or found.force or "",
        threshold=release.threshold,
        evaluated_here=source.evaluated_here,
        stored_as_of=source.stored_as_of,
        standards=run.standards if run else LocalStandards(),
        definitions_hash=release.definitions_hash,
        areas=_area_order(catalogue, {s for v in split if (s := scope_of(v)) is not None}),
        values=dict(values),
        release_as_of=release.as_of,
        data_end=found.last_report,
        code=code,
        catalogue=catalogue,
    )


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------


def right_title(code: Code, group: str) -> str:
    """'Right 4: To be referred to services …' (or 'Local standards')."""
    if not group.isdigit():
        return "Local standards (set by the force, not Code duties)"
    titles = {str(r.right): r.title for e in code.editions for r in e.header.rights}
    return f"Right {group}: {titles.get(group, '')}".rstrip(": ")


def _plain(text: str) -> str:
    return text.replace("`", "")


def deadline_text(o: Obligation) -> str:
    """When an obligation is due, in the words docs/rules.md uses."""
    kind = obligation_kind(o.evaluate.kind) if o.evaluate is not None else None
    if kind is not None and kind.deadline_words:  # the kind's own deadline, not a day count
        return _plain(kind.deadline_words)
    return _plain(o.deadline.describe())


def obligation_definition(o: Obligation) -> str:
    right = f"Right {o.right}" if o.right is not None else "a local standard"
    return (
        f"{o.id} ({right}): {o.title}. Owed by {o.owner.replace('_', ' ')}; due: "
        f"{deadline_text(o)}. How sure the Code reference is: {o.status}. {o.notes}".strip()
    )


def measure_definition(figures: ReturnFigures, measure: ReturnMeasure) -> str:
    """What a measure counts, from the Code and the metric catalogue."""
    code, catalogue = figures.code, figures.catalogue
    if measure.obligation:
        return (
            obligation_definition(code.obligation(measure.obligation))
            + f" Counted as in the metric {OBLIGATION_METRIC}: "
            + catalogue.metric(OBLIGATION_METRIC).description
        )
    if measure.right:
        counted = [o.id for o in code.evaluated if o.right == measure.right]
        return (
            f"{right_title(code, str(measure.right))}. Counts every obligation of the right the "
            f"ledger evaluates: {', '.join(counted)}. Counted as in the metric {RIGHT_METRIC}: "
            + catalogue.metric(RIGHT_METRIC).description
        )
    if measure.metric:
        metric = catalogue.metric(measure.metric)
        return f"{metric.title} ({metric.id}). {metric.description}"
    return f"Not held in the force's data: {measure.not_held}"


def day_text(day: date) -> str:
    """A day as the return writes it: "30 June 2025"."""
    return f"{day.day} {day:%B %Y}"


def ledger_sentence(figures: ReturnFigures) -> str:
    if figures.evaluated_here:
        stored = (
            f"the ledger stored in the database (as of {day_text(figures.stored_as_of)}) was not changed"
            if figures.stored_as_of
            else "the database holds no stored ledger, and none was written"
        )
        return (
            f"The entitlement ledger was evaluated as of {day_text(figures.as_of)}, the quarter's last "
            f"day, for this return (in memory, from the stored data); {stored}."
        )
    return (
        f"The entitlement ledger stored in the database, evaluated as of {day_text(figures.as_of)} "
        "(the quarter's last day), was used as it is."
    )


def vcop_version() -> str:
    try:
        return version("vcop")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


# --------------------------------------------------------------------------------------------
# The notes: the return's words, from definitions/returns/notes/workbook.yaml
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSection:
    """A heading of the notes and its fields (label, text)."""

    heading: str
    fields: list[tuple[str, str]]


def notes_definition() -> dict[str, Any]:
    """The notes' words (``definitions/returns/notes/workbook.yaml``)."""
    import yaml

    from vcop.spec.returns import package_root

    text = package_root().joinpath("notes", "workbook.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def note_values(figures: ReturnFigures) -> dict[str, str]:
    """What the notes' ``{placeholders}`` are filled with."""
    from vcop.rules.docs import STATUS_TEXT

    definition, window = figures.definition, figures.window
    return {
        "title": definition.title,
        "force": figures.force or "the force",
        "areas_source": _plain(definition.source),
        "definition_file": definition.file,
        "quarter": figures.quarter,
        "quarter_start": day_text(window.start),
        "quarter_end": day_text(window.end),
        "ledger": ledger_sentence(figures),
        "local_standards": "; ".join(
            f"{name} = {value}: {_plain(str(LocalStandards.model_fields[name].description))}"
            for name, value in figures.standards.model_dump().items()
        ),
        "data_end": day_text(figures.data_end.date()) if figures.data_end is not None else "",
        "definitions_hash": figures.definitions_hash,
        "provisional": figures.provisional_text() if figures.provisional else "",
        "vcop_version": vcop_version(),
        "status_met": STATUS_TEXT["met"],
        "status_late": STATUS_TEXT["late"],
        "status_overdue": STATUS_TEXT["overdue"],
        "status_not_applicable": STATUS_TEXT["not_applicable"].capitalize(),
        "none_due": NONE_DUE,
        "area_missing": figures.catalogue.breakdown(AREA).missing_label,
        "threshold": str(figures.threshold),
        "suppressed_mark": SUPPRESSED,
        "suppressed_note": suppressed_note(figures.threshold),
        "release_as_of": day_text(figures.release_as_of),
        "suppressed_count": str(figures.suppressed),
        "shown_count": str(figures.shown),
    }


def note_conditions(figures: ReturnFigures) -> dict[str, bool]:
    """When the fields with ``when:`` are given."""
    return {
        "data_end_early": figures.data_end is not None
        and figures.data_end.date() < figures.window.end,
        "provisional": bool(figures.provisional),
    }


def note_lists(figures: ReturnFigures) -> dict[str, list[tuple[str, str]]]:
    """The fields of the sections with ``list:``: one per measure, metric, or obligation the
    data cannot show."""
    definition, catalogue = figures.definition, figures.catalogue
    measures = [
        (
            f"{area.measure_number(index)}. {measure.label}",
            f"Area: {area.title}. Figure: {measure.figure}. "
            f"{measure_definition(figures, measure)}"
            + (
                f" Why this figure: {measure.note.strip()}"
                if measure.note and measure.kind != "not_held"
                else ""
            ),
        )
        for area in definition.areas
        for index, measure in enumerate(area.measures)
    ]
    metrics = [
        (
            metric.id,
            f"{metric.title}. {metric.description} (defined in {metric.file}, line {metric.line})",
        )
        for metric in map(catalogue.metric, definition.metric_ids)
    ]
    not_held = [
        (o.id, f"{o.title}: {o.not_evaluated}")
        for o in sorted(
            (o for o in figures.code.obligations if o.evaluate is None),
            key=lambda o: (o.right or 99, o.id),
        )
    ]
    return {"measures": measures, "metrics": metrics, "not_held": not_held}


def notes(figures: ReturnFigures) -> list[NoteSection]:
    """The return's notes: the words of ``notes/workbook.yaml`` filled in from ``figures``."""
    values = note_values(figures)
    when = note_conditions(figures)
    lists = note_lists(figures)
    sections: list[NoteSection] = []
    for section in notes_definition()["sections"]:
        fields = [
            (str(f["label"]).format(**values), str(f["text"]).format(**values))
            for f in section.get("fields", [])
            if f.get("when") is None or when[f["when"]]
        ]
        if "list" in section:
            fields += lists[section["list"]]
        sections.append(NoteSection(str(section["heading"]), fields))
    return sections
