"""The quarterly QA report of a dip-sample audit (`vcop report audit`): what the panels found.

Built from the submitted findings of the audit (:mod:`vcop.qa.audits`) and the ledger of the
audited cases (:mod:`vcop.qa.agreement`), as a :class:`~vcop.reports.document.Document` the
board paper's renderers write as Word, PDF and HTML. Its sections: the audit and its samples;
findings by right and agency; quality of service against the MoJ's five areas; agreement with
the ledger (rate and Cohen's kappa per right); themes in the auditors' notes (the Victim Voice
classifier, :mod:`vcop.voice.themes`); the case studies chosen (by pseudonymous crime id); and
the actions agreed.

As in the board paper, every figure goes through :meth:`AuditBook.cite`, which formats it and
records where it came from — what it counts, the right, agency or area, the numerator and the
denominator — so ``figures.csv`` lists every figure with a reference the appendix repeats. An
agency that has not submitted is named, and none of its findings is counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from vcop.qa.agreement import Pair, by_right
from vcop.qa.audits import AUDIT_AGENCIES, JUDGEMENTS, QUALITY_COLUMNS, Audit
from vcop.reports.document import Document, Heading, Paragraph, Table
from vcop.reports.figures import percent
from vcop.spec.agencies import agency_name

#: The columns of the report's figures.csv.
FIGURES_COLUMNS = ("ref", "where", "audit_id", "measure", "right", "agency", "area",
                   "numerator", "denominator", "value", "shown_as")  # fmt: skip


@dataclass(frozen=True)
class AuditFigure:
    """One figure the report shows, and what it counts."""

    ref: str
    where: str
    measure: str
    right: int | None
    agency: str | None
    area: int | None
    numerator: float | None
    denominator: int | None
    value: float | None
    text: str

    def row(self, audit_id: str) -> list[object]:
        return [self.ref, self.where, audit_id, self.measure, self.right, self.agency, self.area,
                self.numerator, self.denominator, None if self.value is None else repr(self.value),
                self.text]  # fmt: skip


@dataclass
class AuditBook:
    """The figures of one report, cited in order."""

    audit_id: str
    figures: list[AuditFigure] = field(default_factory=list)

    def cite(
        self,
        where: str,
        measure: str,
        numerator: float | None,
        denominator: int | None,
        *,
        kind: str = "share",
        right: int | None = None,
        agency: str | None = None,
        area: int | None = None,
        value: float | None = None,
    ) -> str:
        """The figure as text: a share ("75.0%"), a count, a mean ("3.2") or a kappa ("0.61");
        "–" when there is nothing to divide by."""
        if kind == "count":
            value = numerator
            text = f"{int(numerator or 0):,}"
        elif kind == "kappa":
            text = "–" if value is None else f"{value:.2f}"
        elif not denominator:
            value, text = None, "–"
        elif kind == "mean":
            value = (numerator or 0) / denominator
            text = f"{value:.1f}"
        else:
            value = (numerator or 0) / denominator
            text = percent(value)
        ref = f"Q{len(self.figures) + 1}"
        self.figures.append(
            AuditFigure(
                ref, where, measure, right, agency, area, numerator, denominator, value, text
            )
        )
        return text


@dataclass(frozen=True)
class AuditData:
    """Everything the report reads, gathered by the command."""

    audit: Audit
    findings: list[dict[str, Any]]  # current findings of the submitted agencies
    pairs: list[Pair]
    actions: list[dict[str, Any]]
    areas: tuple[tuple[int, str], ...]
    themes: dict[str, tuple[str, ...]]  # note -> its themes
    theme_titles: dict[str, str]


def audit_report(data: AuditData, *, force: str, on: date) -> tuple[Document, AuditBook]:
    """The QA report of ``data.audit`` and the book of its figures."""
    a = data.audit
    book = AuditBook(a.audit_id)
    doc = Document(
        title=f"{force}: quarterly quality assurance report — dip-sample audit {a.audit_id}",
        marking="OFFICIAL-SENSITIVE",
        memo=[
            ("Audit", f"{a.audit_id} (cases finalised in {a.quarter})"),
            ("Agencies", ", ".join(agency_name(g) for g in AUDIT_AGENCIES if g in a.samples)),
            ("Date", f"{on:%-d %B %Y}"),
        ],
    )
    _about_audit(doc, data, book)
    _by_right(doc, data, book)
    _quality(doc, data, book)
    _agreement(doc, data, book)
    _themes(doc, data, book)
    _case_studies(doc, data)
    _actions(doc, data)
    _appendix(doc, book)
    return doc, book


def _about_audit(doc: Document, data: AuditData, book: AuditBook) -> None:
    a = data.audit
    doc.add(Heading("The audit", number="1"))
    rows = []
    for g in AUDIT_AGENCIES:
        if g not in a.samples:
            continue
        cases = a.samples[g]
        done = a.submitted.get(g)
        rows.append((
            agency_name(g),
            book.cite("1 Samples", "cases in the agency's sample", len(cases), None, kind="count",
                      agency=g),
            f"{done[0]:%-d %B %Y}" if done else "not submitted",
        ))  # fmt: skip
    doc.add(
        Paragraph(
            f"Each agency's panel reviewed its own sample of cases finalised in {a.quarter}, drawn "
            "at random within area and crime type, and recorded for each "
            "right a judgement (met, partly met, not met, not applicable), and for each case its "
            "quality against the five areas of the Ministry of Justice's quarterly return on a "
            "scale of 1 (poor) to 4 (excellent). Only submitted findings are counted here.",
            number="1.1",
        ),
        Table(
            ("Agency", "Cases", "Submitted"),
            tuple(rows),
            caption="Table 1: the samples",
            numeric=(False, True, False),
        ),
    )
    waiting = [agency_name(g) for g in a.samples if g not in a.submitted]
    if waiting:
        doc.add(
            Paragraph(
                f"Not yet submitted, so not counted: {', '.join(waiting)}.", number="1.2", note=True
            )
        )


def _by_right(doc: Document, data: AuditData, book: AuditBook) -> None:
    doc.add(Heading("Findings by right and agency", number="2"))
    judged = [f for f in data.findings if f["right"] is not None]
    if not judged:
        doc.add(Paragraph("No right has been judged in a submitted part yet.", number="2.1"))
        return
    rows = []
    for right in sorted({int(f["right"]) for f in judged}):
        for g in AUDIT_AGENCIES:
            mine = [f for f in judged if f["right"] == right and f["agency"] == g]
            if not mine:
                continue
            counts = Counter(str(f["judgement"]) for f in mine)
            applicable = len(mine) - counts["not_applicable"]
            where = f"2 Findings, right {right}, {agency_name(g)}"
            rows.append((
                str(right), agency_name(g),
                *(book.cite(where, f"cases judged {JUDGEMENTS[j].lower()}", counts[j], None,
                            kind="count", right=right, agency=g) for j in JUDGEMENTS),
                book.cite(where, "share of applicable judgements that are met", counts["met"],
                          applicable, right=right, agency=g),
            ))  # fmt: skip
    doc.add(
        Paragraph(
            "The auditors' judgement of each right on each case, by the agency that judged it. "
            "The share met leaves out the cases where the right did not apply.",
            number="2.1",
        ),
        Table(
            ("Right", "Agency", *JUDGEMENTS.values(), "Share met"),
            tuple(rows),
            caption="Table 2: findings by right and agency",
            numeric=(True, False, True, True, True, True, True),
        ),
    )


def _quality(doc: Document, data: AuditData, book: AuditBook) -> None:
    doc.add(Heading("Quality of service", number="3"))
    cases = [f for f in data.findings if f["right"] is None]
    rows = []
    for (number, title), column in zip(data.areas, QUALITY_COLUMNS, strict=True):
        for g in AUDIT_AGENCIES:
            scores = [int(f[column]) for f in cases if f["agency"] == g and f[column] is not None]
            if not scores:
                continue
            where = f"3 Quality, area {number}, {agency_name(g)}"
            rows.append((
                f"{number} {title}", agency_name(g),
                book.cite(where, "cases scored", len(scores), None, kind="count", agency=g,
                          area=number),
                book.cite(where, "mean quality score (1-4)", sum(scores), len(scores),
                          kind="mean", agency=g, area=number),
                book.cite(where, "share of cases scored good or excellent (3 or 4)",
                          sum(s >= 3 for s in scores), len(scores), agency=g, area=number),
            ))  # fmt: skip
    if not rows:
        doc.add(Paragraph("No case has been scored in a submitted part yet.", number="3.1"))
        return
    doc.add(
        Paragraph(
            "Each case's quality against the five areas of the Ministry of Justice's quarterly "
            "return, scored 1 (poor), 2 (requires improvement), 3 (good) or 4 (excellent).",
            number="3.1",
        ),
        Table(
            ("Area", "Agency", "Cases scored", "Mean score", "Good or excellent"),
            tuple(rows),
            caption="Table 3: quality scores by area and agency",
            numeric=(False, False, True, True, True),
        ),
    )


def _agreement(doc: Document, data: AuditData, book: AuditBook) -> None:
    doc.add(Heading("Agreement with the ledger", number="4"))
    found = by_right(data.pairs)
    doc.add(
        Paragraph(
            "For every obligation the ledger judged on an audited case, the auditors' judgement "
            "of its right beside it: the ledger's met with met, late with partly met and overdue "
            "with not met; obligations still pending or not applicable, and rights the auditors "
            "found not applicable, are left out. Cohen's kappa corrects the agreement for the "
            "agreement expected by chance (1: complete; 0: no better than chance); it is blank "
            "when both sides gave one judgement throughout. Low agreement on a right means the "
            "ledger's data and what a reader of the case finds differ, and is a data-quality "
            "question in its own right. Each agency's judgement is compared with each "
            "obligation of its right on the case, so an obligation two agencies judged is "
            "compared twice.",
            number="4.1",
        )
    )
    if not found:
        doc.add(Paragraph("No judged obligation can be compared yet.", number="4.2"))
        return
    rows = []
    for r in found:
        label = "All rights" if r.right is None else str(r.right)
        where = f"4 Agreement, right {label}"
        rows.append((
            label,
            book.cite(where, "judgements compared with an obligation", r.pairs, None,
                      kind="count", right=r.right),
            book.cite(where, "agreement rate", r.agreed, r.pairs, right=r.right),
            book.cite(where, "Cohen's kappa", None, r.pairs, kind="kappa", right=r.right,
                      value=r.kappa),
        ))  # fmt: skip
    doc.add(
        Table(
            ("Right", "Judgements compared", "Agreement", "Kappa"),
            tuple(rows),
            caption="Table 4: agreement of the auditors with the ledger, by right",
            numeric=(False, True, True, True),
        )
    )


def _themes(doc: Document, data: AuditData, book: AuditBook) -> None:
    doc.add(Heading("Themes in the auditors' notes", number="5"))
    notes = [str(f["notes"]) for f in data.findings if f["notes"]]
    if not notes:
        doc.add(Paragraph("No submitted finding has notes.", number="5.1"))
        return
    counts: Counter[str] = Counter()
    for note in notes:
        counts.update(data.themes.get(note, ()))
    rows = tuple(
        (title,
         book.cite("5 Themes", f"share of notes on the theme '{title}'", counts[t], len(notes)),
         book.cite("5 Themes", f"notes on the theme '{title}'", counts[t], None, kind="count"))
        for t, title in data.theme_titles.items() if counts[t]
    )  # fmt: skip
    doc.add(
        Paragraph(
            f"The themes of the {len(notes)} notes the auditors wrote, found by the classifier "
            "that reads the victims' own comments (a note may have several themes).",
            number="5.1",
        ),
        Table(
            ("Theme", "Share of notes", "Notes"),
            rows,
            caption="Table 5: themes in the notes",
            numeric=(False, True, True),
        ),
    )


def _case_studies(doc: Document, data: AuditData) -> None:
    doc.add(Heading("Case studies chosen", number="6"))
    chosen = [f for f in data.findings if f["right"] is None and f["case_study"]]
    if not chosen:
        doc.add(Paragraph("No case was put forward as a case study.", number="6.1"))
        return
    doc.add(
        Paragraph(
            'Cases the panels put forward as "voice of the victim" case studies, by crime '
            "reference only (pseudonymous); the notes are as the auditors wrote them, with any "
            "contact details removed.",
            number="6.1",
        ),
        Table(
            ("Case", "Agency", "Notes"),
            tuple(
                (str(f["crime_id"]), agency_name(str(f["agency"])), str(f["notes"] or "–"))
                for f in chosen
            ),
            caption="Table 6: case studies",
        ),
    )


def _actions(doc: Document, data: AuditData) -> None:
    doc.add(Heading("Actions agreed", number="7"))
    if not data.actions:
        doc.add(Paragraph("No action has been recorded for this audit.", number="7.1"))
        return
    doc.add(
        Table(
            ("No.", "Action", "Owner", "Due"),
            tuple(
                (str(i), str(x["action"]), str(x["owner"]), _due(x["due"]))
                for i, x in enumerate(data.actions, start=1)
            ),
            caption="Table 7: actions agreed",
            numeric=(True, False, False, False),
        )
    )


def _appendix(doc: Document, book: AuditBook) -> None:
    doc.add(Heading("Appendix: the figures in this report"))
    doc.add(
        Paragraph(
            "Every figure above, what it counts and from what; figures.csv beside this report "
            "lists the same.",
            note=True,
        ),
        Table(
            ("Ref", "Where", "What", "Numerator", "Denominator", "Shown as"),
            tuple(
                (f.ref, f.where, f.measure, _n(f.numerator), _n(f.denominator), f.text)
                for f in book.figures
            ),
            caption="Figures",
            compact=True,
        ),
    )


def _due(value: object) -> str:
    """An action's due date as the report writes dates ("31 December 2025"); "–" when none."""
    if value in (None, ""):
        return "–"
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day:%-d %B %Y}"


def _n(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def gather(ops: Any, con: Any, audit_id: str) -> AuditData:
    """What the report of ``audit_id`` reads: the operational store ``ops`` and the build
    ``con`` (DuckDB, for the ledger of the audited cases)."""
    from vcop.qa.agreement import ledger_rows, pairs
    from vcop.qa.audits import actions, audit, current_findings, quality_areas, visible_agencies
    from vcop.voice.themes import THEMES, themes_of

    a = audit(ops, audit_id)
    findings = current_findings(ops, audit_id, agencies=visible_agencies(a, None))
    crime_ids = sorted({str(f["crime_id"]) for f in findings})
    found = pairs(ledger_rows(con, crime_ids), findings)
    notes = sorted({str(f["notes"]) for f in findings if f["notes"]})
    themes = dict(zip(notes, themes_of(notes), strict=True)) if notes else {}
    return AuditData(a, findings, found, actions(ops, audit_id), quality_areas(), themes, THEMES)
