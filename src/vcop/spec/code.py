"""The Victims' Code as data: editions, obligations, enhanced-rights eligibility, offence lists.

Each edition is a folder under ``definitions/code/`` (``2021/``): ``code.yaml`` (the edition),
``eligibility.yaml``, ``offence_codes.yaml`` and any number of obligation files (``right_06.yaml``,
``local.yaml``), each with a ``right`` and its ``obligations``. A revised Code is a new folder.
:func:`load_code` reads them into frozen models; :func:`check_code` runs the named checks and
returns every problem with its file and line (``vcop check``).

Local minimum standards that a force sets for itself (how soon a needs assessment or a victim care
contract is due) are :class:`LocalStandards`: settings with defaults, not Code data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vcop.spec.check import DefinitionError, LineMap, Loc, Problem, load_yaml
from vcop.spec.schema import load_schema

Status = Literal["confirmed", "partial", "unconfirmed", "local"]
Owner = Literal[
    "police",
    "cps",
    "wcu",
    "hmcts",
    "hmpps",
    "parole_board",
    "cica",
    "yot",
    "any_service_provider",
    "phso",
    "pcc_commissioned_services",
]
Trigger = Literal[
    "crime_reported",
    "crime_recorded",
    "case_event",
    "agency_event",
    "record",
    "care_contract",
    "supervisory_review",
]


class LedgerStatus(StrEnum):
    """The status of an entitlement in the ledger (the one declaration; a member equals its
    string, so code that compares with ``"met"`` still works)."""

    met = "met"
    late = "late"
    pending = "pending"
    overdue = "overdue"
    not_applicable = "not_applicable"


#: How a kind's deadline is given in an obligation's ``deadline``.
DeadlineForm = Literal["count", "by_finalisation", "before_event", "agreed_with_victim", "none"]

#: What each deadline form needs, in words (for ``vcop check``).
DEADLINE_FORM_WORDS: dict[str, str] = {
    "count": "enhanced and standard day counts, or a local_standard",
    "by_finalisation": "by_finalisation: true",
    "before_event": "before_event: [event types]",
    "agreed_with_victim": "agreed_with_victim: true",
    "none": "",
}

#: The parameters a kind can take in ``evaluate`` (besides ``events``, which go with
#: ``trigger: case_event`` or ``trigger: agency_event``), and how each reads in a message.
PARAMETER_WORDS: dict[str, str] = {
    "purposes": "contact purposes",
    "services": "referral services",
    "qualifying_offences": "an offence list",
    "min_sentence_months": "a minimum sentence",
    "agencies": "the agencies whose records count",
    "table": "a canonical table",
    "start": "the column that starts the clock",
    "end": "the columns that stop it",
    "excused_by": "a column that excuses it",
    "excused_values": "the values of excused_by that excuse it",
    "victim_flag": "a victim flag",
    "crime_events": "case events the crime must have had",
    "if_contacted": "contact purposes the victim must have had",
    "follow_events": "the partner events that meet it",
}

#: The victims' flags an obligation can be limited to (``evaluate.victim_flag``).
VICTIM_FLAGS = ("vulnerable", "intimidated", "persistently_targeted", "bereaved_relative")


@dataclass(frozen=True)
class RecordTable:
    """A table whose rows each start a clock (``trigger: record``, or the crime's report)."""

    #: The column naming the row (with the agency, for partner tables, in the ledger's id).
    id_column: str
    #: The ledger's ``trigger_type`` for a row of it.
    trigger_type: str
    #: What doing it is called, as in "paid by the due date".
    done: str


#: The tables ``completed_in_time`` can time, and how their rows read in the ledger.
RECORD_TABLES: dict[str, RecordTable] = {
    "crimes": RecordTable("crime_id", "crime_reported", "recorded"),
    "interpretation_needs": RecordTable("need_id", "interpretation_need", "provided"),
    "review_requests": RecordTable("request_id", "review_request", "completed"),
    "complaints": RecordTable("complaint_id", "complaint", "acknowledged or answered"),
    "expense_claims": RecordTable("claim_id", "expense_claim", "paid"),
}

#: The placeholders a reason template may use; the rules supply each from the row.
REASON_FIELDS: dict[str, str] = {
    "detail": "the row's detail, as the kind's evaluator writes it",
    "service": "the referral service that met it, in words",
    "attempts": "'; N unsuccessful attempts' (empty if none)",
    "na_reason": "why the obligation does not apply",
}


@dataclass(frozen=True)
class ObligationKind:
    """One kind of evaluation, declared once: everything about it but its evaluator (which
    :mod:`vcop.rules.obligations` registers under the same name).

    ``reasons`` gives the plain-English reason for each status the kind can produce, as a
    template whose ``{placeholders}`` are :data:`REASON_FIELDS`; a status it cannot produce has
    none.
    """

    name: str
    #: The ``evaluate.trigger`` values it accepts.
    triggers: tuple[str, ...]
    #: The forms of deadline the obligation may give (one of them).
    deadlines: tuple[DeadlineForm, ...]
    reasons: dict[LedgerStatus, str]
    #: ``evaluate`` parameters it must set.
    requires: tuple[str, ...] = ()
    #: ``evaluate`` parameters it must set with a given trigger (and may not set otherwise).
    trigger_requires: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``evaluate`` parameters it may set.
    options: tuple[str, ...] = ()
    #: ``evaluate`` parameters it may set, only with ``trigger: case_event``.
    event_filters: tuple[str, ...] = ()
    #: Whether a counted deadline may be in hours (``clock: hours``, a local standard).
    hours: bool = False
    #: Whether ``opt_out_applies`` (the victim's opt-out from updates) can switch it off.
    opt_out: bool = False
    #: Why a row of this kind can be not applicable (name -> the words the ledger gives); a
    #: kind with none is never ``not_applicable``.
    excuses: dict[str, str] = field(default_factory=dict)
    #: The deadline in words for the docs, when the obligation's own does not say it.
    deadline_words: str | None = None

    @property
    def parameters(self) -> tuple[str, ...]:
        by_trigger = (p for ps in self.trigger_requires.values() for p in ps)
        return tuple(
            dict.fromkeys((*self.requires, *by_trigger, *self.options, *self.event_filters))
        )

    def required(self, trigger: str) -> tuple[str, ...]:
        """The parameters an obligation of this kind with ``trigger`` must set."""
        return (*self.requires, *self.trigger_requires.get(trigger, ()))

    def statuses(self) -> tuple[LedgerStatus, ...]:
        """The statuses it can produce: all but ``not_applicable`` unless it has excuses."""
        return tuple(
            s for s in LedgerStatus if s is not LedgerStatus.not_applicable or self.excuses
        )


_NA = "{na_reason}"
#: Why an obligation the victim opted out of does not apply.
OPTED_OUT = "the victim asked not to receive updates"

#: Every kind, by name, in the order the docs list them.
OBLIGATION_KINDS: dict[str, ObligationKind] = {
    k.name: k
    for k in (
        ObligationKind(
            "event_update",
            triggers=("case_event", "agency_event"),
            deadlines=("count", "by_finalisation", "before_event"),
            trigger_requires={"agency_event": ("purposes", "agencies")},
            opt_out=True,
            excuses={"opted_out": OPTED_OUT},
            reasons={
                LedgerStatus.met: "the victim was told by the due date",
                LedgerStatus.late: "the victim was told after the due date",
                LedgerStatus.overdue: "the victim has not been told and the due date has "
                "passed{attempts}",
                LedgerStatus.pending: "not yet due; the victim has not been told yet{attempts}",
                LedgerStatus.not_applicable: _NA,
            },
        ),
        ObligationKind(
            "referral",
            triggers=("crime_reported", "case_event"),
            deadlines=("count", "by_finalisation"),
            requires=("services",),
            options=("victim_flag",),
            event_filters=("qualifying_offences", "min_sentence_months"),
            excuses={"declined": "the victim declined the referral"},
            reasons={
                LedgerStatus.met: "referred to {service} by the due date",
                LedgerStatus.late: "referred to {service} after the due date",
                LedgerStatus.overdue: "no referral was made and the due date has passed",
                LedgerStatus.pending: "not yet due; no referral yet",
                LedgerStatus.not_applicable: _NA,
            },
        ),
        ObligationKind(
            "needs_assessment",
            triggers=("crime_recorded", "crime_reported"),
            deadlines=("count",),
            reasons={
                LedgerStatus.met: "needs assessment completed within the local standard",
                LedgerStatus.late: "needs assessment completed after the local standard",
                LedgerStatus.overdue: "no completed needs assessment and the local standard "
                "has passed",
                LedgerStatus.pending: "not yet due; no completed needs assessment yet",
            },
        ),
        ObligationKind(
            "contact_presence",
            triggers=("crime_reported",),
            deadlines=("by_finalisation", "before_event"),
            requires=("purposes",),
            options=("agencies", "victim_flag", "crime_events"),
            reasons={
                LedgerStatus.met: "{detail} given",
                LedgerStatus.late: "{detail} given only after the due date",
                LedgerStatus.overdue: "no record of {detail}; the due date passed without it",
                LedgerStatus.pending: "no record of {detail} yet; not yet due",
            },
        ),
        ObligationKind(
            "completed_in_time",
            triggers=("crime_reported", "record"),
            deadlines=("count", "by_finalisation"),
            requires=("table", "start", "end"),
            options=("agencies", "excused_by", "excused_values"),
            hours=True,
            excuses={
                "declined": "the victim declined it",
                "recorded": "never {detail}: {column} recorded as {value}",
            },
            reasons={
                LedgerStatus.met: "{detail} by the due date",
                LedgerStatus.late: "{detail} after the due date",
                LedgerStatus.overdue: "not {detail} and the due date has passed",
                LedgerStatus.pending: "not yet due; not {detail} yet",
                LedgerStatus.not_applicable: _NA,
            },
        ),
        ObligationKind(
            "event_followed",
            triggers=("case_event", "agency_event"),
            deadlines=("count", "before_event"),
            requires=("follow_events", "agencies"),
            options=("if_contacted",),
            reasons={
                LedgerStatus.met: "{detail} by the due date",
                LedgerStatus.late: "{detail} after the due date",
                LedgerStatus.overdue: "no record that {detail}; the due date has passed",
                LedgerStatus.pending: "not yet due; no record yet that {detail}",
            },
        ),
        ObligationKind(
            "care_contract_agreed",
            triggers=("crime_reported",),
            deadlines=("count",),
            opt_out=True,
            excuses={
                "opted_out": OPTED_OUT,
                "finalised_first": "the crime was finalised before a care contract was due",
            },
            reasons={
                LedgerStatus.met: "care contract agreed within the local standard",
                LedgerStatus.late: "care contract agreed after the local standard",
                LedgerStatus.overdue: "no care contract agreed and the local standard has passed",
                LedgerStatus.pending: "not yet due; no care contract yet",
                LedgerStatus.not_applicable: _NA,
            },
        ),
        ObligationKind(
            "care_contract_updates",
            triggers=("care_contract",),
            deadlines=("agreed_with_victim",),
            opt_out=True,
            excuses={"opted_out": OPTED_OUT},
            reasons={
                LedgerStatus.met: "updated within the agreed {detail} days",
                LedgerStatus.late: "no successful update within the agreed {detail} days; the "
                "next came later",
                LedgerStatus.overdue: "no successful update within the agreed {detail} days",
                LedgerStatus.pending: "not yet due; no update yet in this interval",
                LedgerStatus.not_applicable: _NA,
            },
        ),
        ObligationKind(
            "supervisory_review",
            triggers=("supervisory_review",),
            deadlines=("none",),
            deadline_words="the due date set for the review (`supervisory_reviews.due_at`)",
            reasons={
                LedgerStatus.met: "review completed by its due date",
                LedgerStatus.late: "review completed after its due date",
                LedgerStatus.overdue: "review not completed and its due date has passed",
                LedgerStatus.pending: "not yet due; review not completed yet",
            },
        ),
    )
}


class UnknownKind(KeyError):
    """A kind of evaluation no :class:`ObligationKind` declares."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown kind {self.name!r} (one of {', '.join(OBLIGATION_KINDS)})"


def obligation_kind(name: str) -> ObligationKind:
    """The declared kind called ``name``; raises :class:`UnknownKind` if there is none."""
    try:
        return OBLIGATION_KINDS[name]
    except KeyError:
        raise UnknownKind(name) from None


_STRICT = ConfigDict(frozen=True, extra="forbid")


class LocalStandards(BaseModel):
    """Local minimum standards a force sets for itself; vcop measures the ledger against them."""

    model_config = _STRICT

    needs_assessment_working_days: int = Field(
        1,
        ge=1,
        description="Working days after a crime is recorded by which the victim's needs "
        "assessment should be complete (1 = by the end of the next working day).",
    )
    care_contract_working_days: int = Field(
        5,
        ge=1,
        description="Working days after a crime is reported by which a victim care contract "
        "should be agreed.",
    )
    crime_recording_hours: int = Field(
        24,
        ge=1,
        description="Hours after a crime is reported by which it should be recorded (Right 2; "
        "the Code says only 'without unjustified delay': 24 hours is the commonly cited "
        "National Crime Recording Standard practice, unconfirmed).",
    )
    wcu_needs_assessment_working_days: int = Field(
        1,
        ge=1,
        description="Working days after a not-guilty plea by which the Witness Care Unit "
        "should have assessed the victim's needs (the Code gives no timescale).",
    )
    police_vrr_working_days: int = Field(
        30,
        ge=1,
        description="Working days after a Victims' Right to Review request by which the police "
        "review should be complete (the NPCC scheme's 30, not the Code's text).",
    )
    cps_vrr_working_days: int = Field(
        30,
        ge=1,
        description="Working days after a Victims' Right to Review request by which the CPS "
        "review should be complete (unconfirmed: the reference gives none; as the police "
        "scheme).",
    )
    appeal_information_working_days: int = Field(
        1,
        ge=1,
        description="Working days after an appeal is lodged or decided by which the Witness "
        "Care Unit should tell the victim (2015 guidance said 1; the 2021 value is unconfirmed).",
    )


class Deadline(BaseModel):
    """When an obligation falls due, as the Code (or a local standard) says."""

    model_config = _STRICT

    clock: Literal["working_days", "calendar_days", "hours"] | None
    enhanced: int | None = None
    standard: int | None = None
    local_standard: str | None = None
    agreed_with_victim: bool = False
    by_finalisation: bool = False
    #: Due by the date of the first of these case or partner events on the crime at or after
    #: the trigger (pending until one happens).
    before_event: tuple[str, ...] = ()
    period_text: str | None = None

    @property
    def form(self) -> str:
        """Which :data:`DeadlineForm` it is."""
        if (self.enhanced is not None and self.standard is not None) or self.local_standard:
            return "count"
        if self.by_finalisation:
            return "by_finalisation"
        if self.before_event:
            return "before_event"
        if self.agreed_with_victim:
            return "agreed_with_victim"
        return "none"

    def describe(self) -> str:
        """The deadline in words, e.g. '1 working day (enhanced) / 5 working days (standard)'."""

        def days(n: int) -> str:
            unit = (self.clock or "days").replace("_", " ")
            return f"{n} {unit.removesuffix('s')}" if n == 1 else f"{n} {unit}"

        if self.local_standard:
            unit = "hours" if self.clock == "hours" else "working days"
            return f"{unit} set by the local standard `{self.local_standard}`"
        if self.agreed_with_victim:
            return "the interval agreed in the victim care contract (calendar days)"
        if self.enhanced is not None and self.standard is not None:
            if self.enhanced == self.standard:
                return days(self.standard)
            return f"{days(self.enhanced)} (enhanced) / {days(self.standard)} (standard)"
        if self.by_finalisation:
            return "no deadline in the Code: vcop expects it before the crime is finalised"
        if self.before_event:
            events = " or ".join(e.replace("_", " ") for e in self.before_event)
            return f"no deadline in the Code: vcop expects it by the day of the {events}"
        return self.period_text or "no deadline in the Code"


class CodeParagraph(BaseModel):
    """Where in the 2021 Code (the GOV.UK text) an obligation comes from.

    ``paragraph`` is the Code's paragraph number where the reference gives one; otherwise the
    obligation cites the right and section heading and is marked ``verified: false``.
    """

    model_config = _STRICT

    section: str
    paragraph: str | None = None
    verified: bool = False

    def describe(self) -> str:
        cite = f"para {self.paragraph}, {self.section}" if self.paragraph else self.section
        if self.verified or not self.section.startswith("Right "):
            return cite  # verified, or a local standard (no Code paragraph to verify)
        return f"{cite} (unverified)"


class Evaluation(BaseModel):
    """How vcop evaluates an obligation from the canonical tables."""

    model_config = _STRICT

    kind: str
    trigger: Trigger
    events: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    qualifying_offences: str | None = None
    min_sentence_months: int | None = None
    #: The partner agencies whose contacts, events or records count.
    agencies: tuple[str, ...] = ()
    #: ``completed_in_time``: the table, the column that starts the clock and those that stop
    #: it (the earliest counts), and a boolean column that excuses the row when true — or,
    #: with ``excused_values``, a text column that excuses it when it holds one of them (a
    #: review request the victim withdrew is never owed a completed review).
    table: str | None = None
    start: str | None = None
    end: tuple[str, ...] = ()
    excused_by: str | None = None
    excused_values: tuple[str, ...] = ()
    #: Only victims with this flag (:data:`VICTIM_FLAGS`).
    victim_flag: str | None = None
    #: Only crimes that have had one of these case events by the as-of date.
    crime_events: tuple[str, ...] = ()
    #: Only victims who had a successful contact with one of these purposes by the trigger.
    if_contacted: tuple[str, ...] = ()
    #: ``event_followed``: the partner event types that meet it.
    follow_events: tuple[str, ...] = ()
    opt_out_applies: bool = False


class Obligation(BaseModel):
    """One thing the Code owes a victim."""

    model_config = _STRICT

    id: str
    right: int | None = None
    title: str
    owner: Owner
    trigger: str
    deadline: Deadline
    status: Status
    effective_from: date
    effective_to: date | None
    notes: str = ""
    source: str
    code_paragraph: CodeParagraph
    evaluate: Evaluation | None = None
    not_evaluated: str | None = None
    edition: str = ""

    def deadline_counts(self, standards: LocalStandards) -> tuple[int, int] | None:
        """(enhanced, standard) counts in the deadline's clock, or None if it is not a count."""
        if self.deadline.local_standard:
            n = int(getattr(standards, self.deadline.local_standard))
            return n, n
        if self.deadline.enhanced is not None and self.deadline.standard is not None:
            return self.deadline.enhanced, self.deadline.standard
        return None

    def deadline_days(self, standards: LocalStandards) -> tuple[int, int] | None:
        """(enhanced, standard) day counts, or None if the deadline is not a count of days."""
        if self.deadline.clock == "hours":
            return None
        return self.deadline_counts(standards)


class Right(BaseModel):
    model_config = _STRICT

    right: int
    title: str


class Condition(BaseModel):
    """One way an enhanced-rights criterion can hold; exactly one field is set."""

    model_config = _STRICT

    crime_flag: str | None = None
    victim_flag: str | None = None
    assessment_flag: str | None = None
    victim_age_under: int | None = None
    offence_list: str | None = None

    def fields_set(self) -> list[str]:
        return [k for k, v in self.model_dump().items() if v is not None]


class Criterion(BaseModel):
    model_config = _STRICT

    id: str
    category: Literal[
        "most_serious_crime", "persistently_targeted", "vulnerable", "intimidated", "assessed"
    ]
    label: str
    status: Status
    when: tuple[Condition, ...]


class Eligibility(BaseModel):
    model_config = _STRICT

    source: str
    effect: str = ""
    criteria: tuple[Criterion, ...]


class OffenceList(BaseModel):
    model_config = _STRICT

    title: str
    status: Status
    notes: str = ""
    codes: tuple[str, ...]


class OffenceLists(BaseModel):
    model_config = _STRICT

    source: str
    lists: dict[str, OffenceList]


class EditionHeader(BaseModel):
    model_config = _STRICT

    edition: str
    title: str
    published: date
    in_force: date
    effective_from: date
    effective_to: date | None
    legal_basis: str
    source: str
    rights: tuple[Right, ...]


class ObligationFile(BaseModel):
    model_config = _STRICT

    right: int | None
    obligations: tuple[dict[str, Any], ...]


class Edition(BaseModel):
    """One edition of the Code, complete."""

    model_config = ConfigDict(frozen=True)

    header: EditionHeader
    obligations: tuple[Obligation, ...]
    eligibility: Eligibility
    offence_lists: OffenceLists

    @property
    def edition(self) -> str:
        return self.header.edition


class Code(BaseModel):
    """Every edition vcop knows, and the hash that stamps the ledger rows they produce."""

    model_config = ConfigDict(frozen=True)

    editions: tuple[Edition, ...]
    files_hash: str

    @property
    def obligations(self) -> tuple[Obligation, ...]:
        return tuple(o for e in self.editions for o in e.obligations)

    @property
    def evaluated(self) -> tuple[Obligation, ...]:
        return tuple(o for o in self.obligations if o.evaluate is not None)

    def obligation(self, obligation_id: str, edition: str | None = None) -> Obligation:
        for o in self.obligations:
            if o.id == obligation_id and (edition is None or o.edition == edition):
                return o
        raise KeyError(f"no obligation {obligation_id!r}")

    def edition(self, name: str) -> Edition:
        for e in self.editions:
            if e.edition == name:
                return e
        raise KeyError(f"no Code edition {name!r}")

    def definitions_hash(self, standards: LocalStandards) -> str:
        """A short hash of the definition files and the local standards in force."""
        digest = hashlib.sha256(self.files_hash.encode())
        digest.update(standards.model_dump_json().encode())
        return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Reading the files, remembering where everything came from
# --------------------------------------------------------------------------------------------

HEADER_FILE = "code.yaml"
ELIGIBILITY_FILE = "eligibility.yaml"
OFFENCES_FILE = "offence_codes.yaml"


@dataclass(frozen=True)
class _Located:
    """Where a value came from: its file's line map and its path in the document."""

    lines: LineMap
    loc: Loc

    def problem(self, message: str, *sub: str | int) -> Problem:
        return self.lines.problem((*self.loc, *sub), message)


@dataclass
class _Draft:
    """An edition as read, with locations, before the cross-file checks."""

    folder: str
    header: EditionHeader | None = None
    header_at: _Located | None = None
    eligibility: Eligibility | None = None
    eligibility_at: _Located | None = None
    offences: OffenceLists | None = None
    offences_at: _Located | None = None
    obligations: list[tuple[Obligation, _Located]] | None = None


def package_root() -> Traversable:
    return resources.files("vcop.definitions").joinpath("code")


def _display(root: Traversable | Path, *parts: str) -> str:
    if isinstance(root, Path):
        return str(root.joinpath(*parts))
    return "/".join(("definitions", "code", *parts))


def _validation_problems(exc: ValidationError, at: _Located, prefix: str = "") -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = ".".join(str(p) for p in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field (a typo?)"
        elif error["type"] == "missing":
            message = "is required"
        out.append(at.problem(f"{prefix}{field}: {message}" if field else prefix + message, *loc))
    return out


def _read(
    root: Traversable | Path, folder: str, name: str, problems: list[Problem]
) -> tuple[Any, LineMap] | None:
    entry = root.joinpath(folder).joinpath(name)
    display = _display(root, folder, name)
    if not entry.is_file():
        problems.append(Problem(display, None, "file is missing"))
        return None
    try:
        data, lines = load_yaml(entry.read_text("utf-8"), display)
    except DefinitionError as exc:
        problems.extend(exc.problems)
        return None
    if not isinstance(data, dict):
        problems.append(Problem(display, 1, "expected a mapping at the top of the file"))
        return None
    return data, lines


def _read_edition(root: Traversable | Path, folder: str, problems: list[Problem]) -> _Draft:
    draft = _Draft(folder)
    got = _read(root, folder, HEADER_FILE, problems)
    if got:
        at = _Located(got[1], ())
        try:
            draft.header = EditionHeader.model_validate(got[0])
            draft.header_at = at
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, at))
    got = _read(root, folder, ELIGIBILITY_FILE, problems)
    if got:
        at = _Located(got[1], ())
        try:
            draft.eligibility = Eligibility.model_validate(got[0])
            draft.eligibility_at = at
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, at))
    got = _read(root, folder, OFFENCES_FILE, problems)
    if got:
        at = _Located(got[1], ())
        try:
            draft.offences = OffenceLists.model_validate(got[0])
            draft.offences_at = at
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, at))
    obligations: list[tuple[Obligation, _Located]] = []
    names = sorted(
        e.name
        for e in root.joinpath(folder).iterdir()
        if e.name.endswith(".yaml") and e.name not in (HEADER_FILE, ELIGIBILITY_FILE, OFFENCES_FILE)
    )
    edition = draft.header.edition if draft.header else folder
    for name in names:
        got = _read(root, folder, name, problems)
        if not got:
            continue
        data, lines = got
        try:
            parsed = ObligationFile.model_validate(data)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, _Located(lines, ())))
            continue
        for index, raw in enumerate(parsed.obligations):
            at = _Located(lines, ("obligations", index))
            label = f"{raw.get('id', f'obligation {index + 1}')}: "
            try:
                obligation = Obligation.model_validate(
                    {**raw, "right": parsed.right, "edition": edition}
                )
            except ValidationError as exc:
                problems.extend(_validation_problems(exc, at, label))
                continue
            obligations.append((obligation, at))
    draft.obligations = obligations
    return draft


def _files_hash(root: Traversable | Path) -> str:
    digest = hashlib.sha256()
    for folder in sorted(e.name for e in root.iterdir() if e.is_dir()):
        for entry in sorted(root.joinpath(folder).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".yaml"):
                digest.update(f"{folder}/{entry.name}\0".encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()


def _edition_folders(root: Traversable | Path) -> list[str]:
    return sorted(
        e.name for e in root.iterdir() if e.is_dir() and not e.name.startswith(("_", "."))
    )


# --------------------------------------------------------------------------------------------
# The named checks. Each takes the drafts and returns problems; none stops at the first.
# --------------------------------------------------------------------------------------------

EditionCheck = Callable[[_Draft], Iterator[Problem]]
CODE_CHECKS: dict[str, EditionCheck] = {}


def _check(function: EditionCheck) -> EditionCheck:
    CODE_CHECKS[function.__name__.removeprefix("check_")] = function
    return function


_ID = re.compile(r"^(R(?P<right>[0-9]{1,2})|local)\.[a-z0-9]+(-[a-z0-9]+)*$")
_OFFENCE_CODE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,2})?[A-Z]?$")


@_check
def check_obligation_ids(draft: _Draft) -> Iterator[Problem]:
    seen: dict[str, _Located] = {}
    for obligation, at in draft.obligations or []:
        match = _ID.match(obligation.id)
        if not match:
            yield at.problem(
                f"{obligation.id}: id must look like R<right>.<slug> or local.<slug>", "id"
            )
        elif match["right"] is not None and int(match["right"]) != obligation.right:
            yield at.problem(
                f"{obligation.id}: id names Right {match['right']} but the file is Right "
                f"{obligation.right}",
                "id",
            )
        elif match["right"] is None and obligation.right is not None:
            yield at.problem(f"{obligation.id}: a local obligation has right: null", "id")
        if obligation.id in seen:
            yield at.problem(f"{obligation.id}: duplicate obligation id", "id")
        seen[obligation.id] = at


@_check
def check_rights_exist(draft: _Draft) -> Iterator[Problem]:
    if draft.header is None:
        return
    rights = {r.right for r in draft.header.rights}
    for obligation, at in draft.obligations or []:
        if obligation.right is not None and obligation.right not in rights:
            yield at.problem(f"{obligation.id}: right {obligation.right} is not in code.yaml", "id")


@_check
def check_deadlines(draft: _Draft) -> Iterator[Problem]:
    standards = LocalStandards.model_fields
    for obligation, at in draft.obligations or []:
        d = obligation.deadline
        oid = obligation.id
        for name in ("enhanced", "standard"):
            value = getattr(d, name)
            if value is not None and value <= 0:
                yield at.problem(f"{oid}: deadline.{name} must be > 0", "deadline", name)
        if (d.enhanced is None) != (d.standard is None):
            yield at.problem(
                f"{oid}: deadline needs both enhanced and standard, or neither", "deadline"
            )
        if d.enhanced is not None and d.standard is not None and d.enhanced > d.standard:
            yield at.problem(
                f"{oid}: deadline.enhanced ({d.enhanced}) is longer than deadline.standard "
                f"({d.standard})",
                "deadline",
                "enhanced",
            )
        ways = [
            d.enhanced is not None or d.standard is not None,
            d.local_standard is not None,
            d.agreed_with_victim,
            d.by_finalisation,
        ]
        if sum(ways) > 1:
            yield at.problem(
                f"{oid}: deadline has more than one of enhanced/standard, local_standard, "
                "agreed_with_victim, by_finalisation",
                "deadline",
            )
        ways.append(bool(d.before_event))
        if sum(ways) > 1 and not sum(ways[:4]) > 1:
            yield at.problem(
                f"{oid}: deadline has before_event and another way of falling due", "deadline"
            )
        if ways[0] and d.clock != "working_days":
            yield at.problem(f"{oid}: a day count needs deadline.clock: working_days", "deadline")
        if ways[1] and d.clock not in ("working_days", "hours"):
            yield at.problem(
                f"{oid}: a local standard needs deadline.clock: working_days or hours", "deadline"
            )
        if d.clock == "hours" and not (
            d.local_standard is not None and d.local_standard.endswith("_hours")
        ):
            yield at.problem(
                f"{oid}: deadline.clock: hours needs a local_standard counted in hours",
                "deadline",
            )
        if (
            d.clock == "working_days"
            and d.local_standard is not None
            and not d.local_standard.endswith("_working_days")
            and d.local_standard in standards
        ):
            yield at.problem(
                f"{oid}: local standard {d.local_standard} is not counted in working days",
                "deadline",
                "local_standard",
            )
        if d.before_event and d.clock is not None:
            yield at.problem(f"{oid}: before_event needs deadline.clock: null", "deadline")
        if d.agreed_with_victim and d.clock != "calendar_days":
            yield at.problem(
                f"{oid}: an agreed interval needs deadline.clock: calendar_days", "deadline"
            )
        if d.by_finalisation and d.clock is not None:
            yield at.problem(f"{oid}: by_finalisation needs deadline.clock: null", "deadline")
        if d.local_standard is not None and d.local_standard not in standards:
            yield at.problem(
                f"{oid}: deadline.local_standard {d.local_standard!r} is not a local standard "
                f"(one of {', '.join(standards)})",
                "deadline",
                "local_standard",
            )


def _kinds_taking(parameter: str) -> str:
    return " or ".join(k.name for k in OBLIGATION_KINDS.values() if parameter in k.parameters)


#: The partner tables (keyed by agency) and the triggers that read them.
_EVENT_LISTS = {"case_event": "event_types", "agency_event": "agency_event_types"}


def _parameter_problems(
    obligation: Obligation, kind: ObligationKind, at: _Located
) -> Iterator[Problem]:
    """Each ``evaluate`` parameter is set when the kind (with this trigger) requires it, and
    only if the kind takes it."""
    assert obligation.evaluate is not None
    e = obligation.evaluate
    required = kind.required(e.trigger)
    allowed = {*required, *kind.options}
    if e.trigger == "case_event":
        allowed |= set(kind.event_filters)
    for parameter in PARAMETER_WORDS:
        value = getattr(e, parameter)
        is_set = value is not None and value != ()
        if parameter in required and not is_set:
            yield at.problem(
                f"{obligation.id}: kind {e.kind} with trigger: {e.trigger} needs evaluate."
                f"{parameter} ({PARAMETER_WORDS[parameter]})",
                "evaluate",
            )
        elif is_set and parameter not in allowed:
            if parameter in ("qualifying_offences", "min_sentence_months"):
                continue  # check_evaluation says where these belong
            yield at.problem(
                f"{obligation.id}: evaluate.{parameter} ({PARAMETER_WORDS[parameter]}) belong with "
                f"kind {_kinds_taking(parameter)}",
                "evaluate",
            )


def _record_problems(obligation: Obligation, at: _Located) -> Iterator[Problem]:
    """``completed_in_time``: the table and its columns exist and have the right types."""
    assert obligation.evaluate is not None
    e = obligation.evaluate
    oid = obligation.id
    if e.table is None:
        return
    if e.table not in RECORD_TABLES:
        yield at.problem(
            f"{oid}: evaluate.table {e.table!r} is not a table vcop can time (one of "
            f"{', '.join(RECORD_TABLES)})",
            "evaluate",
            "table",
        )
        return
    if (e.table == "crimes") != (e.trigger == "crime_reported"):
        yield at.problem(
            f"{oid}: table crimes goes with trigger: crime_reported, any other with trigger: "
            "record",
            "evaluate",
            "trigger",
        )
    table = load_schema().table(e.table)
    types = {c.name: c.type for c in table.columns}
    for name, column, want in [
        ("start", e.start, "datetime"),
        *(("end", c, "datetime") for c in e.end),
        ("excused_by", e.excused_by, "string" if e.excused_values else "boolean"),
    ]:
        if column is not None and types.get(column) != want:
            yield at.problem(
                f"{oid}: evaluate.{name} {column!r} is not a {want} column of {e.table}",
                "evaluate",
                name,
            )
    if e.agencies and "agency" not in types:
        yield at.problem(f"{oid}: {e.table} has no agency column", "evaluate", "agencies")
    if e.excused_values:
        allowed = next((c.allowed for c in table.columns if c.name == e.excused_by), None)
        unknown = [v for v in e.excused_values if e.excused_by is None or v not in (allowed or ())]
        if unknown:
            yield at.problem(
                f"{oid}: evaluate.excused_values {', '.join(unknown)} are not values of "
                f"{e.table}.{e.excused_by}",
                "evaluate",
                "excused_values",
            )


@_check
def check_evaluation(draft: _Draft) -> Iterator[Problem]:
    schema = load_schema()
    lists = schema.value_lists
    event_types = set(lists["event_types"])
    agency_event_types = set(lists.get("agency_event_types", ()))
    all_events = event_types | agency_event_types
    agencies = set(lists.get("agencies", ()))
    services = set(schema.table("referrals").column("service").allowed or ())
    offence_lists = set(draft.offences.lists) if draft.offences else set()
    opt_out_kinds = [k.name for k in OBLIGATION_KINDS.values() if k.opt_out]
    for obligation, at in draft.obligations or []:
        oid = obligation.id
        e = obligation.evaluate
        if (e is None) == (obligation.not_evaluated is None):
            yield at.problem(
                f"{oid}: give exactly one of evaluate (how vcop evaluates it) or not_evaluated "
                "(why it cannot)",
                "evaluate" if e is not None else "id",
            )
        for i, event in enumerate(obligation.deadline.before_event):
            if event not in all_events:
                yield at.problem(
                    f"{oid}: unknown event type {event!r}", "deadline", "before_event", i
                )
        if e is None:
            continue
        kind = OBLIGATION_KINDS.get(e.kind)
        if kind is None:
            yield at.problem(
                f"{oid}: evaluate.kind {e.kind!r} is not a kind of obligation vcop knows (one of "
                f"{', '.join(OBLIGATION_KINDS)})",
                "evaluate",
                "kind",
            )
            continue
        if e.trigger not in kind.triggers:
            yield at.problem(
                f"{oid}: evaluate.trigger {e.trigger} does not fit kind {e.kind} (use "
                f"{' or '.join(kind.triggers)})",
                "evaluate",
                "trigger",
            )
        partner = e.trigger == "agency_event"
        if (e.trigger in _EVENT_LISTS) != bool(e.events):
            yield at.problem(
                f"{oid}: evaluate.events lists the case event types that trigger it, and only "
                "with trigger: case_event or agency_event",
                "evaluate",
            )
        known = agency_event_types if partner else event_types
        for i, event in enumerate(e.events):
            if event not in known:
                yield at.problem(f"{oid}: unknown event type {event!r}", "evaluate", "events", i)
        yield from _parameter_problems(obligation, kind, at)
        purposes = set(lists["agency_contact_purposes" if e.agencies else "contact_purposes"])
        for i, purpose in enumerate(e.purposes):
            if purpose not in purposes:
                yield at.problem(
                    f"{oid}: unknown contact purpose {purpose!r}", "evaluate", "purposes", i
                )
        for i, purpose in enumerate(e.if_contacted):
            if purpose not in lists["contact_purposes"]:
                yield at.problem(
                    f"{oid}: unknown contact purpose {purpose!r}", "evaluate", "if_contacted", i
                )
        for i, service in enumerate(e.services):
            if service not in services:
                yield at.problem(
                    f"{oid}: unknown referral service {service!r}", "evaluate", "services", i
                )
        for i, agency in enumerate(e.agencies):
            if agency not in agencies:
                yield at.problem(f"{oid}: unknown agency {agency!r}", "evaluate", "agencies", i)
        for i, event in enumerate(e.crime_events):
            if event not in event_types:
                yield at.problem(
                    f"{oid}: unknown event type {event!r}", "evaluate", "crime_events", i
                )
        for i, event in enumerate(e.follow_events):
            if event not in agency_event_types:
                yield at.problem(
                    f"{oid}: unknown partner event type {event!r}", "evaluate", "follow_events", i
                )
        if e.victim_flag is not None and e.victim_flag not in VICTIM_FLAGS:
            yield at.problem(
                f"{oid}: evaluate.victim_flag {e.victim_flag!r} is not one of "
                f"{', '.join(VICTIM_FLAGS)}",
                "evaluate",
                "victim_flag",
            )
        yield from _record_problems(obligation, at)
        if e.qualifying_offences is not None and e.qualifying_offences not in offence_lists:
            yield at.problem(
                f"{oid}: no offence list {e.qualifying_offences!r} in {OFFENCES_FILE}",
                "evaluate",
                "qualifying_offences",
            )
        filters = ("qualifying_offences", "min_sentence_months")
        if any(getattr(e, f) is not None for f in filters) and not (
            all(f in kind.event_filters for f in filters) and e.trigger == "case_event"
        ):
            yield at.problem(
                f"{oid}: qualifying_offences and min_sentence_months belong with kind "
                f"{_kinds_taking('qualifying_offences')} and trigger: case_event",
                "evaluate",
            )
        if e.opt_out_applies and not kind.opt_out:
            yield at.problem(
                f"{oid}: opt_out_applies has no effect on kind {e.kind} (only on "
                f"{', '.join(opt_out_kinds)})",
                "evaluate",
                "opt_out_applies",
            )
        if e.min_sentence_months is not None and e.min_sentence_months <= 0:
            yield at.problem(
                f"{oid}: evaluate.min_sentence_months must be > 0",
                "evaluate",
                "min_sentence_months",
            )
        d = obligation.deadline
        if d.form not in kind.deadlines:
            words = " or ".join(DEADLINE_FORM_WORDS[f] for f in kind.deadlines if f != "none")
            yield at.problem(
                f"{oid}: kind {e.kind} needs a deadline with {words or 'no day count'}",
                "deadline",
            )
        if d.clock == "hours" and not kind.hours:
            yield at.problem(
                f"{oid}: kind {e.kind} cannot count a deadline in hours", "deadline", "clock"
            )


@_check
def check_code_paragraphs(draft: _Draft) -> Iterator[Problem]:
    """Each obligation cites the Code: a paragraph, or its right and section heading marked
    unverified."""
    for obligation, at in draft.obligations or []:
        p = obligation.code_paragraph
        oid = obligation.id
        if p.verified and not p.paragraph:
            yield at.problem(
                f"{oid}: a verified code_paragraph gives the paragraph number",
                "code_paragraph",
            )
        if obligation.right is not None and not p.section.startswith(f"Right {obligation.right}:"):
            yield at.problem(
                f"{oid}: code_paragraph.section must start 'Right {obligation.right}:' (the "
                "right, then the section heading)",
                "code_paragraph",
                "section",
            )
        if obligation.right is None and p.paragraph is not None:
            yield at.problem(
                f"{oid}: a local standard has no Code paragraph", "code_paragraph", "paragraph"
            )


@_check
def check_effective_dates(draft: _Draft) -> Iterator[Problem]:
    header = draft.header
    if header is None or draft.header_at is None:
        return
    if header.effective_to is not None and header.effective_to < header.effective_from:
        yield draft.header_at.problem("effective_to is before effective_from", "effective_to")
    for obligation, at in draft.obligations or []:
        oid = obligation.id
        if (
            obligation.effective_to is not None
            and obligation.effective_to < obligation.effective_from
        ):
            yield at.problem(f"{oid}: effective_to is before effective_from", "effective_to")
        if obligation.effective_from < header.effective_from:
            yield at.problem(
                f"{oid}: effective_from {obligation.effective_from} is before the edition's "
                f"({header.effective_from})",
                "effective_from",
            )
        if header.effective_to is not None and (
            obligation.effective_to is None or obligation.effective_to > header.effective_to
        ):
            yield at.problem(
                f"{oid}: effective_to must end by the edition's ({header.effective_to})",
                "effective_to",
            )


@_check
def check_sources(draft: _Draft) -> Iterator[Problem]:
    for obligation, at in draft.obligations or []:
        if (
            obligation.status != "local"
            and "https://" not in obligation.source
            and ("http://" not in obligation.source)
        ):
            yield at.problem(
                f"{obligation.id}: source must give the URL of the public material relied on",
                "source",
            )


@_check
def check_eligibility(draft: _Draft) -> Iterator[Problem]:
    if draft.eligibility is None or draft.eligibility_at is None:
        return
    schema = load_schema()

    def booleans(table: str) -> set[str]:
        return {c.name for c in schema.table(table).columns if c.type == "boolean"}

    flags = {
        "crime_flag": booleans("crimes"),
        "victim_flag": booleans("victims"),
        "assessment_flag": booleans("needs_assessments"),
    }
    lists = set(draft.offences.lists) if draft.offences else set()
    seen: set[str] = set()
    at = draft.eligibility_at
    for i, criterion in enumerate(draft.eligibility.criteria):
        if criterion.id in seen:
            yield at.problem(f"duplicate criterion id {criterion.id!r}", "criteria", i, "id")
        seen.add(criterion.id)
        if not criterion.when:
            yield at.problem(f"{criterion.id}: criterion has no conditions", "criteria", i)
        for j, condition in enumerate(criterion.when):
            where = ("criteria", i, "when", j)
            set_fields = condition.fields_set()
            if len(set_fields) != 1:
                yield at.problem(
                    f"{criterion.id}: each condition sets exactly one of crime_flag, "
                    "victim_flag, assessment_flag, victim_age_under, offence_list",
                    *where,
                )
                continue
            field = set_fields[0]
            value = getattr(condition, field)
            if field in flags and value not in flags[field]:
                yield at.problem(
                    f"{criterion.id}: {field} {value!r} is not a boolean column "
                    f"({', '.join(sorted(flags[field]))})",
                    *where,
                    field,
                )
            if field == "offence_list" and value not in lists:
                yield at.problem(
                    f"{criterion.id}: no offence list {value!r} in {OFFENCES_FILE}", *where, field
                )
            if field == "victim_age_under" and not 0 < value <= 120:
                yield at.problem(
                    f"{criterion.id}: victim_age_under must be between 1 and 120", *where, field
                )


@_check
def check_offence_codes(draft: _Draft) -> Iterator[Problem]:
    if draft.offences is None or draft.offences_at is None:
        return
    for name, offence_list in draft.offences.lists.items():
        if not offence_list.codes and offence_list.status != "unconfirmed":
            yield draft.offences_at.problem(
                f"offence list {name} is empty; mark it status: unconfirmed and say why",
                "lists",
                name,
            )
        for i, code in enumerate(offence_list.codes):
            if not _OFFENCE_CODE.match(code):
                yield draft.offences_at.problem(
                    f"offence list {name}: {code!r} is not a Home Office offence code "
                    "(e.g. 8N, 19C, 4.1)",
                    "lists",
                    name,
                    "codes",
                    i,
                )


def _overlaps(drafts: list[_Draft]) -> Iterator[Problem]:
    """The same obligation id must not be in force twice on any day, across editions."""
    spans: dict[str, list[tuple[Obligation, _Located]]] = {}
    for draft in drafts:
        for obligation, at in draft.obligations or []:
            spans.setdefault(obligation.id, []).append((obligation, at))
    for oid, found in spans.items():
        found.sort(key=lambda pair: pair[0].effective_from)
        for (earlier, _), (later, at) in pairwise(found):
            if earlier.edition == later.edition:  # a duplicate id: check_obligation_ids says so
                continue
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                yield at.problem(
                    f"{oid}: in force in editions {earlier.edition} and {later.edition} at once",
                    "effective_from",
                )


def _load(root: Traversable | Path) -> tuple[Code | None, list[Problem]]:
    problems: list[Problem] = []
    folders = _edition_folders(root)
    if not folders:
        return None, [Problem(_display(root), None, "no Code edition folders")]
    drafts = [_read_edition(root, folder, problems) for folder in folders]
    for draft in drafts:
        for check in CODE_CHECKS.values():
            problems.extend(check(draft))
    problems.extend(_overlaps(drafts))
    if problems:
        return None, problems
    editions = []
    for draft in drafts:
        assert draft.header and draft.eligibility and draft.offences is not None
        editions.append(
            Edition(
                header=draft.header,
                obligations=tuple(o for o, _ in draft.obligations or []),
                eligibility=draft.eligibility,
                offence_lists=draft.offences,
            )
        )
    return Code(editions=tuple(editions), files_hash=_files_hash(root)), []


def check_code(root: Traversable | Path | None = None) -> list[Problem]:
    """Every problem in the Code definitions (the packaged ones unless ``root`` is given)."""
    return _load(package_root() if root is None else root)[1]


def load_code(root: Traversable | Path | None = None) -> Code:
    """The Code editions, validated. Raises :class:`DefinitionError` listing every problem."""
    if root is None:
        return _packaged_code()
    code, problems = _load(root)
    if code is None:
        raise DefinitionError(problems)
    return code


@cache
def _packaged_code() -> Code:
    code, problems = _load(package_root())
    if code is None:
        raise DefinitionError(problems)
    return code
