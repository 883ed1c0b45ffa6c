"""The quarterly compliance return as an Excel workbook (openpyxl): the figures of
:func:`vcop.reports.compliance_return.compute_return` and the words of its notes
(:func:`vcop.reports.compliance_return.notes`), laid out on four sheets. Nothing here computes a
figure or words a note."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vcop.export import safe_cell
from vcop.metrics.release import SUPPRESSED, suppressed_note
from vcop.reports.compliance_return import (
    NONE_DUE,
    SHEET_NOTES,
    SHEET_OBLIGATIONS,
    SHEET_RETURN,
    SHEET_RIGHTS,
    Cell,
    ReturnFigures,
    Scope,
    day_text,
    deadline_text,
    notes,
    right_title,
    vcop_version,
)
from vcop.spec.returns import OBLIGATION_METRIC, RIGHT_METRIC

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
        f"({day_text(window.start)} to {day_text(window.end)}) · figures as of {day_text(figures.as_of)} · "
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
        f"the partner release of {day_text(figures.release_as_of)}, the quarter's end: every figure, "
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
    sheet = _Sheet(ws, s)
    sheet.put(1, f"Notes: {figures.definition.title}, {figures.quarter}", font=s.title)
    sheet.row += 1
    for section in notes(figures):
        sheet.row += 1
        sheet.put(1, section.heading, font=s.heading)
        sheet.row += 1
        for label, text in section.fields:
            sheet.field(label, text)
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
