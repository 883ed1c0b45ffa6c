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

:func:`compute_return` makes the figures; :func:`write_workbook` writes them (openpyxl).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import duckdb

from vcop.export import safe_cell
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

__all__ = ["SUPPRESSED", "ReturnError", "ReturnFigures", "compute_return", "write_workbook"]

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


def _d(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def ledger_sentence(figures: ReturnFigures) -> str:
    if figures.evaluated_here:
        stored = (
            f"the ledger stored in the database (as of {_d(figures.stored_as_of)}) was not changed"
            if figures.stored_as_of
            else "the database holds no stored ledger, and none was written"
        )
        return (
            f"The entitlement ledger was evaluated as of {_d(figures.as_of)}, the quarter's last "
            f"day, for this return (in memory, from the stored data); {stored}."
        )
    return (
        f"The entitlement ledger stored in the database, evaluated as of {_d(figures.as_of)} "
        "(the quarter's last day), was used as it is."
    )


def vcop_version() -> str:
    try:
        return version("vcop")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


# --------------------------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------------------------

PERCENT = "0.0%"
COUNT = "#,##0"
DATE = "d mmmm yyyy"


class _Styles:
    """The few styles the workbook uses (openpyxl imported when a workbook is written)."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.title = Font(bold=True, size=14)
        self.bold = Font(bold=True)
        self.muted = Font(italic=True, color="595959")
        self.heading = Font(bold=True, size=12)
        self.header_fill = PatternFill("solid", fgColor="D9E1F2")
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.top = Alignment(vertical="top")
        self.centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.right = Alignment(horizontal="right", vertical="top")
        self.left = Alignment(horizontal="left", vertical="top")
        thin = Side(style="thin", color="BFBFBF")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)


class _Sheet:
    """A worksheet written row by row."""

    def __init__(self, ws: Any, styles: _Styles) -> None:
        self.ws = ws
        self.s = styles
        self.row = 1

    def put(
        self,
        col: int,
        value: Any,
        *,
        fmt: str | None = None,
        font: Any = None,
        align: Any = None,
        fill: Any = None,
        border: bool = False,
    ) -> Any:
        cell = self.ws.cell(row=self.row, column=col, value=safe_cell(value))
        if fmt:
            cell.number_format = fmt
        if font is not None:
            cell.font = font
        cell.alignment = align if align is not None else self.s.top
        if fill is not None:
            cell.fill = fill
        if border:
            cell.border = self.s.box
        return cell

    def field(self, label: str, value: Any, fmt: str | None = None, *, wrap: bool = True) -> None:
        """A label and its value (wrapped in its column, or running on into the empty cells to
        its right)."""
        self.put(1, label, font=self.s.bold, align=self.s.wrap if wrap else None)
        self.put(2, value, fmt=fmt, align=self.s.wrap if wrap else self.s.left)
        self.row += 1

    def widths(self, widths: Sequence[float]) -> None:
        from openpyxl.utils import get_column_letter

        for col, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(col)].width = width

    def landscape(self, title_rows: str) -> None:
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.print_title_rows = title_rows


def _figure_header(sheet: _Sheet, lead: Sequence[str], areas: Sequence[str], note: str) -> int:
    """Two header rows: the lead columns, then 'Force' and each area over %, numerator, n."""
    s = sheet.s
    first = len(lead) + 1
    for col, text in enumerate(lead, start=1):
        sheet.put(col, text, font=s.bold, fill=s.header_fill, align=s.centre, border=True)
        sheet.ws.merge_cells(
            start_row=sheet.row, start_column=col, end_row=sheet.row + 1, end_column=col
        )
    for i, scope in enumerate(["Force", *areas]):
        col = first + 3 * i
        sheet.put(col, scope, font=s.bold, fill=s.header_fill, align=s.centre, border=True)
        sheet.ws.merge_cells(
            start_row=sheet.row, start_column=col, end_row=sheet.row, end_column=col + 2
        )
    last = first + 3 * (len(areas) + 1)
    sheet.put(last, note, font=s.bold, fill=s.header_fill, align=s.centre, border=True)
    sheet.ws.merge_cells(
        start_row=sheet.row, start_column=last, end_row=sheet.row + 1, end_column=last
    )
    sheet.row += 1
    for i in range(len(areas) + 1):
        for j, text in enumerate(("%", "numerator", "n")):
            sheet.put(
                first + 3 * i + j,
                text,
                font=s.bold,
                fill=s.header_fill,
                align=s.centre,
                border=True,
            )
    sheet.row += 1
    return first


def _figure(sheet: _Sheet, col: int, cell: Cell) -> None:
    """A figure's three cells: %, numerator and n (or the mark of a hidden figure in each)."""
    s = sheet.s
    if cell.suppressed:
        for j in range(3):
            sheet.put(col + j, SUPPRESSED, font=s.muted, align=s.right, border=True)
        return
    share = cell.share
    sheet.put(
        col, share if share is not None else NONE_DUE, fmt=PERCENT, align=s.right, border=True
    )
    sheet.put(col + 1, cell.numerator, fmt=COUNT, align=s.right, border=True)
    sheet.put(col + 2, cell.denominator, fmt=COUNT, align=s.right, border=True)


def _not_held(sheet: _Sheet, first: int, scopes: int, text: str) -> None:
    last = first + 3 * scopes - 1
    sheet.put(first, text, font=sheet.s.muted, align=sheet.s.centre, border=True)
    sheet.ws.merge_cells(
        start_row=sheet.row, start_column=first, end_row=sheet.row, end_column=last
    )


def _heading(sheet: _Sheet, figures: ReturnFigures, title: str) -> None:
    s = sheet.s
    sheet.put(1, title, font=s.title, align=s.top)
    sheet.row += 1
    window = figures.window
    sheet.put(
        1,
        f"{figures.force or 'Force not recorded in the data'} · {figures.quarter} "
        f"({_d(window.start)} to {_d(window.end)}) · figures as of {_d(figures.as_of)} · "
        f"definitions {figures.definitions_hash}",
        font=s.muted,
        align=s.top,
    )
    sheet.row += 2


def _return_sheet(ws: Any, figures: ReturnFigures, s: _Styles) -> None:
    sheet = _Sheet(ws, s)
    window = figures.window
    definition = figures.definition
    sheet.put(1, f"{definition.title}: {figures.quarter}", font=s.title)
    sheet.row += 2
    sheet.field("Force", figures.force or "not recorded in the data", wrap=False)
    sheet.field("Quarter", f"{figures.quarter} (calendar quarter)", wrap=False)
    sheet.field("Period from", window.start, DATE, wrap=False)
    sheet.field("Period to", window.end, DATE, wrap=False)
    sheet.field("Figures as of", figures.as_of, DATE, wrap=False)
    sheet.field(
        "Ledger",
        "evaluated as of the quarter's end for this return (the stored ledger was not changed)"
        if figures.evaluated_here
        else "the stored ledger, evaluated as of the quarter's end",
        wrap=False,
    )
    sheet.field("Definitions hash", figures.definitions_hash, wrap=False)
    sheet.field(
        "Release",
        f"the partner release of {_d(figures.release_as_of)}, the quarter's end: every figure, "
        "and every hidden one, as in every partner output of that month end",
        wrap=False,
    )
    if figures.provisional:
        sheet.field(
            "Status",
            "provisional: the metric engine marks "
            + ("every figure" if len(figures.provisional) == len(figures.values) else "figures")
            + " in this return provisional (see Notes)",
            wrap=False,
        )
    sheet.field("Small numbers", suppressed_note(figures.threshold), wrap=False)
    sheet.row += 1
    lead = ["No.", "Area of the return", "Measure", "Figure"]
    header_row = sheet.row
    first = _figure_header(sheet, lead, figures.areas, "Note")
    scopes: list[Scope] = [None, *figures.areas]
    for area in definition.areas:
        for index, measure in enumerate(area.measures):
            sheet.put(1, area.measure_number(index), font=s.bold, border=True)
            if index == 0:  # the area's title, beside all its measures
                sheet.put(2, area.title, align=s.wrap, border=True)
            if index == 0 and len(area.measures) > 1:
                sheet.ws.merge_cells(
                    start_row=sheet.row,
                    start_column=2,
                    end_row=sheet.row + len(area.measures) - 1,
                    end_column=2,
                )
            sheet.put(3, measure.label, align=s.wrap, border=True)
            sheet.put(4, measure.figure, align=s.wrap, border=True)
            if measure.kind == "not_held":
                _not_held(sheet, first, len(scopes), "not held in the force's data")
                note = f"Not held in the force's data: {measure.not_held}"
            else:
                for i, scope in enumerate(scopes):
                    _figure(sheet, first + 3 * i, figures.measure_cell(measure, scope))
                note = measure.note
            sheet.put(first + 3 * len(scopes), note.strip(), align=s.wrap, border=True)
            sheet.row += 1
    sheet.row += 1
    sheet.put(
        1,
        "% = numerator / n. n: the obligations that fell due in the quarter (for a "
        "survey measure, the respondents who answered); numerator: those met by their "
        "due date (late and overdue count as not met) or the satisfied respondents. "
        f"'{NONE_DUE}': nothing fell due; {SUPPRESSED}: see Small numbers above. "
        "Definitions on the Notes sheet.",
        font=s.muted,
    )
    sheet.widths([6, 30, 40, 24, *([9, 10, 8] * len(scopes)), 70])
    ws.freeze_panes = ws.cell(row=header_row + 2, column=first)
    sheet.landscape(f"{header_row}:{header_row + 1}")


def _rights_sheet(ws: Any, figures: ReturnFigures, s: _Styles) -> None:
    sheet = _Sheet(ws, s)
    code = figures.code
    _heading(sheet, figures, "Compliance by right, force-wide and by policing area")
    header_row = sheet.row
    first = _figure_header(sheet, ["Right", "Title"], figures.areas, "Note")
    scopes: list[Scope] = [None, *figures.areas]
    shown = {g[0] for g in figures.groups(RIGHT_METRIC)}
    local = figures.catalogue.breakdown("right").missing_label
    numbers = sorted({r.right for e in code.editions for r in e.header.rights})
    groups = [str(n) for n in numbers] + [local]
    extra = sorted(shown - set(groups))  # a right the ledger holds that the Code no longer has
    for group in [*groups, *extra]:
        right = int(group) if group.isdigit() else None
        obligations = [o for o in code.obligations if o.right == right]
        counted = [o for o in obligations if o.evaluate is not None]
        left_out = [o for o in obligations if o.evaluate is None]
        sheet.put(1, right if right is not None else "local", font=s.bold, border=True)
        sheet.put(2, right_title(code, group), align=s.wrap, border=True)
        if not counted and group not in shown:
            _not_held(sheet, first, len(scopes), "not held in the force's data")
            note = "Not held in the force's data: " + " ".join(
                f"{o.id}: {o.not_evaluated}" for o in left_out
            )
        else:
            for i, scope in enumerate(scopes):
                _figure(sheet, first + 3 * i, figures.cell(RIGHT_METRIC, (group,), scope))
            note = "Counts " + ", ".join(o.id for o in counted) + "."
            if group not in shown:
                note = "Nothing fell due in the quarter. " + note
            if left_out:
                note += (
                    " Not in the data, so not counted: " + ", ".join(o.id for o in left_out) + "."
                )
        sheet.put(first + 3 * len(scopes), note, align=s.wrap, border=True)
        sheet.row += 1
    sheet.widths([7, 48, *([9, 10, 8] * len(scopes)), 70])
    ws.freeze_panes = ws.cell(row=header_row + 2, column=first)
    sheet.landscape(f"{header_row}:{header_row + 1}")


def _obligations_sheet(ws: Any, figures: ReturnFigures, s: _Styles) -> None:
    sheet = _Sheet(ws, s)
    code = figures.code
    _heading(sheet, figures, "Compliance by obligation, force-wide and by policing area")
    header_row = sheet.row
    lead = ["Obligation", "Title", "Right", "Owed by", "Due", "Code reference"]
    first = _figure_header(sheet, lead, figures.areas, "Note")
    scopes: list[Scope] = [None, *figures.areas]
    shown = {g[0] for g in figures.groups(OBLIGATION_METRIC)}
    known = {o.id for o in code.evaluated}
    order = sorted(code.evaluated, key=lambda o: (o.right or 99, o.id))
    for oid in [o.id for o in order] + sorted(shown - known):
        o = next((x for x in code.evaluated if x.id == oid), None)
        sheet.put(1, oid, font=s.bold, border=True)
        sheet.put(
            2, o.title if o else "not in the Victims' Code definitions", align=s.wrap, border=True
        )
        sheet.put(3, (o.right if o.right is not None else "local") if o else "", border=True)
        sheet.put(4, o.owner.replace("_", " ") if o else "", border=True)
        sheet.put(5, deadline_text(o) if o else "", align=s.wrap, border=True)
        sheet.put(6, o.status if o else "", border=True)
        for i, scope in enumerate(scopes):
            _figure(sheet, first + 3 * i, figures.cell(OBLIGATION_METRIC, (oid,), scope))
        note = "" if oid in shown else "Nothing fell due in the quarter."
        sheet.put(first + 3 * len(scopes), note, align=s.wrap, border=True)
        sheet.row += 1
    sheet.widths([30, 40, 7, 12, 30, 13, *([9, 10, 8] * len(scopes)), 30])
    ws.freeze_panes = ws.cell(row=header_row + 2, column=first)
    sheet.landscape(f"{header_row}:{header_row + 1}")


def _notes_sheet(ws: Any, figures: ReturnFigures, s: _Styles) -> None:
    from vcop.rules.docs import STATUS_TEXT

    sheet = _Sheet(ws, s)
    definition = figures.definition
    catalogue = figures.catalogue
    window = figures.window

    def heading(text: str) -> None:
        sheet.row += 1
        sheet.put(1, text, font=s.heading)
        sheet.row += 1

    sheet.put(1, f"Notes: {definition.title}, {figures.quarter}", font=s.title)
    sheet.row += 1

    heading("This return")
    sheet.field(
        "What it is",
        f"{definition.title} for {figures.force or 'the force'}: the "
        "areas below, with compliance for every right and obligation of the Victims' "
        "Code of Practice (2021) that the force's data can show, force-wide and by "
        "policing area. Aggregates only: no record about a victim is in this workbook.",
    )
    sheet.field("The areas", _plain(definition.source))
    sheet.field("Defined in", f"{definition.file} (which figure answers each area)")
    sheet.field(
        "Quarter", f"{figures.quarter}: a calendar quarter, {_d(window.start)} to {_d(window.end)}."
    )
    sheet.field(
        "Ledger",
        ledger_sentence(figures) + " Only what is dated on or before that day is seen. "
        "An obligation due in the quarter and met only after it ended is not met in this "
        "return: it was not done by its due date.",
    )
    sheet.field(
        "Local standards",
        "; ".join(
            f"{name} = {value}: {_plain(str(LocalStandards.model_fields[name].description))}"
            for name, value in figures.standards.model_dump().items()
        ),
    )
    if figures.data_end is not None and figures.data_end.date() < window.end:
        sheet.field(
            "Warning",
            f"The data end on {_d(figures.data_end.date())} (the last crime "
            "reported), before the quarter ends: later contacts may be missing, so "
            "compliance may be understated.",
        )
    sheet.field(
        "Definitions hash",
        f"{figures.definitions_hash}: a hash of the metric "
        "catalogue and of the Victims' Code definitions that made the ledger; the same "
        "hash means the same definitions.",
    )
    if figures.provisional:
        sheet.field("Provisional", figures.provisional_text())
    sheet.field("Made by", f"vcop {vcop_version()}")

    heading("How a figure is counted")
    sheet.field(
        "Due in the quarter",
        "n is the number of obligations (one per victim, crime and "
        "trigger) whose due date fell in the quarter and which were met, late or "
        "overdue at its end. Obligations not yet due (pending) or not owed after all "
        "(not applicable) are left out.",
    )
    sheet.field(
        "Met",
        f"The numerator: met, i.e. {STATUS_TEXT['met']}. Late ("
        f"{STATUS_TEXT['late']}) and overdue ({STATUS_TEXT['overdue']}) count as not "
        "met.",
    )
    sheet.field("Not applicable", STATUS_TEXT["not_applicable"].capitalize() + ".")
    sheet.field(
        "Survey measures",
        "A survey measure counts the respondents surveyed in the "
        "quarter who answered the question (n) and those completely, very or fairly "
        "satisfied (numerator).",
    )
    sheet.field(
        "%",
        "numerator / n, stored to full precision and shown to one decimal place. "
        f"'{NONE_DUE}' with n = 0: nothing fell due.",
    )
    sheet.field(
        "Policing areas",
        f"The area of the crime (crimes.area); "
        f"'{catalogue.breakdown(AREA).missing_label}' is a crime with no area recorded. "
        "The areas add up to the force.",
    )
    sheet.field(
        "Working days",
        "Monday to Friday except bank holidays in England and Wales; "
        "the trigger's date is day 0 and something done on the due date is on time "
        "(docs/rules.md).",
    )

    heading("Small numbers")
    sheet.field(
        "Threshold", f"{figures.threshold} (setting suppression_threshold, or --threshold)."
    )
    sheet.field(SUPPRESSED, suppressed_note(figures.threshold))
    sheet.field(
        "The release",
        f"This return is cut from the force's partner release of {_d(figures.release_as_of)} "
        "(the quarter's end), which decides once, for every output partners see for that "
        "month end, which figures are hidden: a figure with a count (or a shortfall, n minus "
        "numerator) from 1 to the threshold minus one, and in each set of figures that are "
        "published and add up (the areas of the force, the obligations of a right, the months "
        "of a quarter and of a year) whatever else would let one be worked out; a check by "
        "linear programming over every published figure confirms none can be. A hidden figure "
        f"is '{SUPPRESSED}' in %, numerator and n alike. Zero is shown: it describes nobody "
        "(docs/metrics.md).",
    )
    sheet.field(
        "In this workbook", f"{figures.suppressed} of {figures.shown} figures are {SUPPRESSED}."
    )

    heading("The measures of the return")
    for area in definition.areas:
        for index, measure in enumerate(area.measures):
            sheet.field(
                f"{area.measure_number(index)}. {measure.label}",
                f"Area: {area.title}. Figure: {measure.figure}. "
                f"{measure_definition(figures, measure)}"
                + (
                    f" Why this figure: {measure.note.strip()}"
                    if measure.note and measure.kind != "not_held"
                    else ""
                ),
            )

    heading("The metrics")
    for metric_id in definition.metric_ids:
        metric = catalogue.metric(metric_id)
        sheet.field(
            metric.id,
            f"{metric.title}. {metric.description} (defined in {metric.file}, line {metric.line})",
        )

    heading("What the force's data cannot show")
    for o in sorted(
        (o for o in figures.code.obligations if o.evaluate is None),
        key=lambda o: (o.right or 99, o.id),
    ):
        sheet.field(o.id, f"{o.title}: {o.not_evaluated}")
    sheet.widths([34, 120])


def write_workbook(figures: ReturnFigures, path: Path) -> None:
    """Write the return to ``path`` (an .xlsx file; replaced if it exists)."""
    from openpyxl import Workbook

    styles = _Styles()
    wb = Workbook()
    wb.properties.title = f"{figures.definition.title}: {figures.quarter}"
    wb.properties.creator = f"vcop {vcop_version()}"
    _return_sheet(wb.active, figures, styles)
    wb.active.title = SHEET_RETURN
    _rights_sheet(wb.create_sheet(SHEET_RIGHTS), figures, styles)
    _obligations_sheet(wb.create_sheet(SHEET_OBLIGATIONS), figures, styles)
    _notes_sheet(wb.create_sheet(SHEET_NOTES), figures, styles)
    wb.save(path)
