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
from dataclasses import dataclass
from datetime import date
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
Kind = Literal[
    "event_update",
    "referral",
    "needs_assessment",
    "contact_presence",
    "care_contract_agreed",
    "care_contract_updates",
    "supervisory_review",
]
Trigger = Literal[
    "crime_reported", "crime_recorded", "case_event", "care_contract", "supervisory_review"
]

#: Which triggers each kind of evaluation accepts.
KIND_TRIGGERS: dict[str, tuple[str, ...]] = {
    "event_update": ("case_event",),
    "referral": ("crime_reported", "case_event"),
    "needs_assessment": ("crime_recorded", "crime_reported"),
    "contact_presence": ("crime_reported",),
    "care_contract_agreed": ("crime_reported",),
    "care_contract_updates": ("care_contract",),
    "supervisory_review": ("supervisory_review",),
}

#: The kinds of obligation a victim's opt-out from updates can switch off.
OPT_OUT_KINDS = ("event_update", "care_contract_agreed", "care_contract_updates")

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


class Deadline(BaseModel):
    """When an obligation falls due, as the Code (or a local standard) says."""

    model_config = _STRICT

    clock: Literal["working_days", "calendar_days"] | None
    enhanced: int | None = None
    standard: int | None = None
    local_standard: str | None = None
    agreed_with_victim: bool = False
    by_finalisation: bool = False
    period_text: str | None = None

    def describe(self) -> str:
        """The deadline in words, e.g. '1 working day (enhanced) / 5 working days (standard)'."""

        def days(n: int) -> str:
            unit = (self.clock or "days").replace("_", " ")
            return f"{n} {unit.removesuffix('s')}" if n == 1 else f"{n} {unit}"

        if self.local_standard:
            return f"working days set by the local standard `{self.local_standard}`"
        if self.agreed_with_victim:
            return "the interval agreed in the victim care contract (calendar days)"
        if self.enhanced is not None and self.standard is not None:
            if self.enhanced == self.standard:
                return days(self.standard)
            return f"{days(self.enhanced)} (enhanced) / {days(self.standard)} (standard)"
        if self.by_finalisation:
            return "no deadline in the Code: vcop expects it before the crime is finalised"
        return self.period_text or "no deadline in the Code"


class Evaluation(BaseModel):
    """How vcop evaluates an obligation from the canonical tables."""

    model_config = _STRICT

    kind: Kind
    trigger: Trigger
    events: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    qualifying_offences: str | None = None
    min_sentence_months: int | None = None
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
    evaluate: Evaluation | None = None
    not_evaluated: str | None = None
    edition: str = ""

    def deadline_days(self, standards: LocalStandards) -> tuple[int, int] | None:
        """(enhanced, standard) day counts, or None if the deadline is not a fixed count."""
        if self.deadline.local_standard:
            days = int(getattr(standards, self.deadline.local_standard))
            return days, days
        if self.deadline.enhanced is not None and self.deadline.standard is not None:
            return self.deadline.enhanced, self.deadline.standard
        return None


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
        if (ways[0] or ways[1]) and d.clock != "working_days":
            yield at.problem(f"{oid}: a day count needs deadline.clock: working_days", "deadline")
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


#: The deadline each kind of evaluation needs.
_KIND_DEADLINE: dict[str, str] = {
    "event_update": "count",
    "referral": "count",
    "needs_assessment": "count",
    "care_contract_agreed": "count",
    "contact_presence": "by_finalisation",
    "care_contract_updates": "agreed_with_victim",
    "supervisory_review": "none",
}


@_check
def check_evaluation(draft: _Draft) -> Iterator[Problem]:
    schema = load_schema()
    event_types = set(schema.value_lists["event_types"])
    purposes = set(schema.value_lists["contact_purposes"])
    services = set(schema.table("referrals").column("service").allowed or ())
    lists = set(draft.offences.lists) if draft.offences else set()
    for obligation, at in draft.obligations or []:
        oid = obligation.id
        e = obligation.evaluate
        if (e is None) == (obligation.not_evaluated is None):
            yield at.problem(
                f"{oid}: give exactly one of evaluate (how vcop evaluates it) or not_evaluated "
                "(why it cannot)",
                "evaluate" if e is not None else "id",
            )
        if e is None:
            continue
        if e.trigger not in KIND_TRIGGERS[e.kind]:
            yield at.problem(
                f"{oid}: evaluate.trigger {e.trigger} does not fit kind {e.kind} (use "
                f"{' or '.join(KIND_TRIGGERS[e.kind])})",
                "evaluate",
                "trigger",
            )
        if (e.trigger == "case_event") != bool(e.events):
            yield at.problem(
                f"{oid}: evaluate.events lists the case event types that trigger it, and only "
                "with trigger: case_event",
                "evaluate",
            )
        for i, event in enumerate(e.events):
            if event not in event_types:
                yield at.problem(f"{oid}: unknown event type {event!r}", "evaluate", "events", i)
        if (e.kind == "contact_presence") != bool(e.purposes):
            yield at.problem(
                f"{oid}: evaluate.purposes (contact purposes) belong with kind contact_presence",
                "evaluate",
            )
        for i, purpose in enumerate(e.purposes):
            if purpose not in purposes:
                yield at.problem(
                    f"{oid}: unknown contact purpose {purpose!r}", "evaluate", "purposes", i
                )
        if (e.kind == "referral") != bool(e.services):
            yield at.problem(
                f"{oid}: evaluate.services (referral services) belong with kind referral",
                "evaluate",
            )
        for i, service in enumerate(e.services):
            if service not in services:
                yield at.problem(
                    f"{oid}: unknown referral service {service!r}", "evaluate", "services", i
                )
        if e.qualifying_offences is not None and e.qualifying_offences not in lists:
            yield at.problem(
                f"{oid}: no offence list {e.qualifying_offences!r} in {OFFENCES_FILE}",
                "evaluate",
                "qualifying_offences",
            )
        if (e.qualifying_offences is not None or e.min_sentence_months is not None) and not (
            e.kind == "referral" and e.trigger == "case_event"
        ):
            yield at.problem(
                f"{oid}: qualifying_offences and min_sentence_months belong with kind referral "
                "and trigger: case_event",
                "evaluate",
            )
        if e.opt_out_applies and e.kind not in OPT_OUT_KINDS:
            yield at.problem(
                f"{oid}: opt_out_applies has no effect on kind {e.kind} (only on "
                f"{', '.join(OPT_OUT_KINDS)})",
                "evaluate",
                "opt_out_applies",
            )
        if e.min_sentence_months is not None and e.min_sentence_months <= 0:
            yield at.problem(
                f"{oid}: evaluate.min_sentence_months must be > 0",
                "evaluate",
                "min_sentence_months",
            )
        need = _KIND_DEADLINE[e.kind]
        d = obligation.deadline
        has = {
            "count": (d.enhanced is not None and d.standard is not None)
            or d.local_standard is not None,
            "by_finalisation": d.by_finalisation,
            "agreed_with_victim": d.agreed_with_victim,
            "none": True,
        }[need]
        if not has:
            yield at.problem(
                f"{oid}: kind {e.kind} needs a deadline with "
                + {
                    "count": "enhanced and standard day counts, or a local_standard",
                    "by_finalisation": "by_finalisation: true",
                    "agreed_with_victim": "agreed_with_victim: true",
                    "none": "",
                }[need],
                "deadline",
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
