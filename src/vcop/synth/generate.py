"""Generate the Demoshire extract: one CSV per canonical table, the same bytes for the same arguments."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path

from vcop.spec.schema import load_schema
from vcop.synth.clock import Formatter, WorkingDays, day_number
from vcop.synth.crimes import Crime, Window, generate_crimes, supervisory_reviews
from vcop.synth.dirty import add_dirty
from vcop.synth.force import FORCE_NAME, build_force
from vcop.synth.incidents import generate_incidents
from vcop.synth.params import SynthParams, load_params, load_partner_params
from vcop.synth.partners import generate_partners
from vcop.synth.rand import stream
from vcop.synth.surveys import generate_surveys
from vcop.synth.victims import generate_victims
from vcop.synth.writer import write_tables

#: The columns each table's rows are generated with, in order. The files get the schema's columns in
#: the schema's order; a schema column not listed here is written blank.
GENERATED: dict[str, tuple[str, ...]] = {
    "crimes": (
        "crime_id", "reported_at", "recorded_at", "crime_type", "offence_code", "domestic_abuse",
        "hate_crime", "area", "district", "unit", "officer_id", "lsoa_code", "outcome_code",
        "outcome_at", "force", "local_authority", "lsoa_name",
    ),
    "victims": (
        "victim_id", "crime_id", "age_at_report", "vulnerable", "intimidated", "persistently_targeted",
        "bereaved_relative", "updates_opt_out", "sex", "ethnicity", "disability",
    ),
    "case_events": ("event_id", "crime_id", "event_type", "event_at"),
    "contacts": (
        "contact_id", "victim_id", "crime_id", "contact_at", "purpose", "successful", "channel",
        "about_event_id", "officer_id",
    ),
    "referrals": ("referral_id", "victim_id", "crime_id", "service", "referred_at", "consent", "outcome"),
    "needs_assessments": (
        "assessment_id", "victim_id", "crime_id", "completed_at", "enhanced_rights_identified",
        "support_needed", "questions_answered",
    ),
    "care_contracts": (
        "contract_id", "victim_id", "crime_id", "agreed_at", "update_interval_days", "preferred_channel",
    ),
    "supervisory_reviews": ("review_id", "crime_id", "due_at", "completed_at"),
    "incidents": (
        "incident_id", "received_at", "grade", "incident_type", "arrived_at", "area", "district",
        "delay_reason", "crime_id", "force", "lsoa_code",
    ),
    "survey_responses": (
        "response_id", "survey", "surveyed_at", "crime_id", "crime_type", "area", "district",
        "ease_of_contact", "actions_taken", "follow_up", "treatment", "whole_experience", "comment",
        "victim_id", "officer_id", "unit",
    ),
    # The criminal justice partners' tables (vcop.synth.partners); each row carries its agency.
    "agency_events": ("agency", "event_id", "crime_id", "victim_id", "event_type", "event_at"),
    "agency_contacts": (
        "agency", "contact_id", "victim_id", "crime_id", "contact_at", "purpose", "successful",
        "channel", "about_event_id",
    ),
    "review_requests": (
        "agency", "request_id", "victim_id", "crime_id", "requested_at", "acknowledged_at",
        "completed_at", "outcome",
    ),
    "complaints": (
        "agency", "complaint_id", "victim_id", "crime_id", "received_at", "acknowledged_at",
        "responded_at",
    ),
    "expense_claims": ("agency", "claim_id", "victim_id", "crime_id", "received_at", "paid_at"),
    "interpretation_needs": (
        "agency", "need_id", "victim_id", "crime_id", "identified_at", "need", "provided_at",
        "declined",
    ),
    # The demo's synthetic residents per district (population_rows), for rates per 1,000.
    "population": ("area", "district", "population", "source"),
}  # fmt: skip

#: The source line of the demo's population file: what it is, so no one takes it for real.
POPULATION_SOURCE = (
    "synthetic (vcop demo): {per} residents per LSOA of the local authority the district is "
    "sized on (the 2021 Census average for England and Wales), scale {scale:g}; not a real "
    "population"
)

#: progress(what is happening, work done, work in all)
Progress = Callable[[str, int, int], None]

DEFAULT_END = date(2025, 6, 30)
#: The stages of a run and their rough share of the work (out of 100).
STAGES = (
    ("crimes and case events", 22),
    ("victims, referrals and contacts", 41),
    ("criminal justice partners", 4),
    ("supervisory reviews", 4),
    ("calls for service", 10),
    ("survey responses", 2),
    ("writing files", 17),
)


class _Tracker:
    """Turns stage-by-stage progress into one 0..100 count for the caller's callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.stage = 0
        self.last = -1

    def start(self, stage: int) -> None:
        self.stage = stage
        self.part(0.0)

    def part(self, fraction: float) -> None:
        if self.progress is None:
            return
        name, weight = STAGES[self.stage]
        done = sum(w for _, w in STAGES[: self.stage]) + int(weight * min(max(fraction, 0.0), 1.0))
        if done != self.last:
            self.last = done
            self.progress(name, done, 100)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress("done", 100, 100)


def window_start(end: date, years: int) -> date:
    """The first day covered: the day after the same date ``years`` earlier."""
    try:
        before = end.replace(year=end.year - years)
    except ValueError:  # 29 February
        before = end.replace(year=end.year - years, day=28)
    return before + timedelta(days=1)


def _bool(v: bool) -> str:
    return "true" if v else "false"


def _crime_rows(crimes: list[Crime], fmt: Formatter, r: random.Random) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for c in crimes:
        closed = not c.open
        lsoa = "" if r.random() < 0.034 else c.lsoa
        rows.append(
            (
                c.crime_id,
                fmt.ts(c.reported),
                fmt.ts(c.recorded),
                c.crime_type,
                "" if r.random() < 0.015 else c.offence,
                "" if r.random() < 0.003 else _bool(c.da),
                "" if r.random() < 0.02 else _bool(c.hate),
                c.district.area,
                c.district.name,
                c.unit if c.recorded is not None else "",
                c.officer if c.recorded is not None else "",
                lsoa,
                str(c.outcome) if closed else "",
                fmt.ts(c.outcome_minute) if closed else "",
                FORCE_NAME,
                c.district.name,
                "" if not lsoa else c.district.lsoa_names[lsoa],
            )
        )
    return rows


def population_rows(params: SynthParams, scale: float) -> list[tuple[str, ...]]:
    """The demo's population file: each district's residents, from the LSOAs of the local
    authority it is sized on (``targets.residents_per_lsoa`` each), times ``scale``; labelled
    synthetic in its ``source`` column. Drawn from nothing random, so the other tables' bytes do
    not change with it."""
    per = params.targets.residents_per_lsoa
    source = POPULATION_SOURCE.format(per=f"{per:,}", scale=scale)
    return [
        (d.area, d.name, str(max(1, round(d.lsoas * per * scale))), source)
        for d in sorted(params.derived.districts, key=lambda d: (d.area, d.name))
    ]


def _project(
    name: str, rows: list[tuple[str, ...]], have: tuple[str, ...], want: tuple[str, ...]
) -> list[tuple[str, ...]]:
    """Rows in the schema's column order, blank for schema columns the generator does not fill."""
    unknown = set(have) - set(want)
    if unknown:
        raise AssertionError(f"{name}: the schema has no column(s) {sorted(unknown)}")
    if have == want:
        return rows
    if want[: len(have)] == have:
        pad = ("",) * (len(want) - len(have))
        return [row + pad for row in rows]
    pos = {c: i for i, c in enumerate(have)}
    get = itemgetter(*(pos.get(c, len(have)) for c in want))  # len(have): the blank added below
    return [get((*row, "")) for row in rows]


def generate(
    out: Path,
    *,
    seed: int = 1,
    years: int = 1,
    end: date = DEFAULT_END,
    dirty: bool = False,
    scale: float = 1.0,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the synthetic Demoshire extract to the folder ``out``; rows written per table.

    The data cover the ``years`` up to and including ``end`` (never today's date), as a force's
    extract taken at the end of that day would: open cases, pending updates and recent events
    included. ``scale`` multiplies every volume (1.0 is a whole force; tests use ~0.02). ``dirty``
    appends malformed rows to several files. Same arguments, same bytes.
    """
    if years < 1:
        raise ValueError("years must be at least 1")
    if not scale > 0:
        raise ValueError("scale must be more than 0")

    track = _Tracker(progress)
    schema = load_schema()
    params = load_params()
    start = window_start(end, years)
    start_day, end_day = day_number(start), day_number(end)
    window = Window(start_day, end_day, WorkingDays(start_day - 10, end_day + 3 * 366))
    fmt = Formatter()

    track.start(0)
    force = build_force(params, stream(seed, "force"))
    crimes = generate_crimes(params, force, window, scale, stream(seed, "crimes"), track.part)
    track.start(1)
    vt = generate_victims(params, crimes, window, fmt, stream(seed, "victims"), track.part)
    track.start(2)
    pparams = load_partner_params()
    pt = generate_partners(pparams, crimes, vt, window, fmt, stream(seed, "partners"))
    partner_tables = pt.rows(fmt, stream(seed, "partner-rows"), pparams.about_event_id_blank)
    vt.contacts.extend(pt.police_contacts)  # restorative justice information
    vt.contacts.sort(key=lambda t: (t[0], t[1], t[2]))
    contacts = [(f"DS-CT-{n:07d}", *row) for n, (_, _, _, row) in enumerate(vt.contacts, start=1)]
    first_referral = len(vt.referrals) + 1
    vt.referrals.extend(
        (f"DS-R-{n:07d}", *row) for n, row in enumerate(pt.referrals, start=first_referral)
    )  # family liaison
    track.start(3)
    reviews: list[tuple[str, ...]] = [
        (f"DS-SR-{n:07d}", crime_id, fmt.ts(due), fmt.ts(done))
        for n, (due, crime_id, _, done) in enumerate(
            supervisory_reviews(params, crimes, window, stream(seed, "reviews")), start=1
        )
    ]
    track.start(4)
    incidents = generate_incidents(
        params, force, crimes, window, scale, fmt, stream(seed, "incidents")
    )
    track.start(5)
    surveys = generate_surveys(
        params, force, vt.victim_crimes, window, scale, fmt, stream(seed, "surveys")
    )
    track.start(6)

    tables: dict[str, list[tuple[str, ...]]] = {
        "crimes": _crime_rows(crimes, fmt, stream(seed, "crime-rows")),
        "victims": vt.victims,
        "case_events": [
            (e.event_id, c.crime_id, e.type, fmt.ts(e.minute)) for c in crimes for e in c.events
        ],
        "contacts": contacts,
        "referrals": vt.referrals,
        "needs_assessments": vt.needs_assessments,
        "care_contracts": vt.care_contracts,
        "supervisory_reviews": reviews,
        "incidents": incidents,
        "survey_responses": surveys,
        **partner_tables,
        "population": population_rows(params, scale),
    }
    tables["case_events"].sort(key=lambda row: row[0])
    columns = {t.name: t.column_names for t in schema.tables}
    for name, rows in tables.items():
        if rows and len(rows[0]) != len(GENERATED[name]):
            raise AssertionError(
                f"{name}: rows have {len(rows[0])} values for {len(GENERATED[name])} columns"
            )
        tables[name] = _project(name, rows, GENERATED[name], columns[name])
    if dirty:
        add_dirty(tables, columns, stream(seed, "dirty"))
    names = [name for name in schema.table_names if name in tables]
    write_tables(
        out,
        [(f"{name}.csv", columns[name], tables[name]) for name in names],
        lambda i: track.part(i / len(names)),
    )
    track.finish()
    return {name: len(rows) for name, rows in tables.items()}
