"""The metric catalogue, loaded from ``definitions/metrics/*.yaml`` into frozen models.

``catalogue.yaml`` holds the settings and the breakdowns; every other file is one family of
metrics. :func:`load_catalogue` validates everything and raises :class:`DefinitionError` listing
every problem with its file and line; :func:`check_catalogue` returns the problems instead (for
``vcop check``). :func:`catalogue_doc` writes ``docs/metrics.md``.

This module knows the shape of every table a metric can count (the canonical schema, the
entitlement ledger and the derived ``victim_crimes``) so that a typo in a column, a status or an
obligation id is a problem found by ``vcop check``, not a silent zero.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vcop.spec.check import DefinitionError, LineMap, Loc, Problem, load_yaml
from vcop.spec.code import LedgerStatus
from vcop.spec.schema import load_schema

_STRICT = ConfigDict(frozen=True, extra="forbid")

CATALOGUE_FILE = "catalogue.yaml"

Kind = Literal["proportion", "share", "count", "median", "mean"]
Unit = Literal["proportion", "count", "minutes", "days"]
PolarityName = Literal["higher_is_better", "lower_is_better", "neutral"]
Op = Literal["equals", "not_equals", "in", "not_in", "is_null", "gt", "gte", "lt", "lte"]
OPS: tuple[str, ...] = ("equals", "not_equals", "in", "not_in", "is_null", "gt", "gte", "lt", "lte")

#: Metric ids named in the issue that created the catalogue: the public interface, never renamed.
REQUIRED_METRICS: tuple[str, ...] = (
    "needs_assessment_completion",
    "needs_assessment_on_time",
    "support_referral_on_time",
    "victim_updates_on_time",
    "compliance_by_obligation",
    "compliance_by_right",
    "vcc_agreed",
    "vcc_updates_on_time",
    "supervisory_reviews_overdue",
    "vcs_referral_on_time",
    *(
        f"{prefix}satisfaction_{q}"
        for prefix in ("", "da_")
        for q in ("whole_experience", "ease_of_contact", "actions_taken", "follow_up", "treatment")
    ),
    "response_time_median_immediate",
    "response_time_median_prompt",
    "delay_reason_share",
    "recorded_crime",
    "prosecution_possible_outcome_rate",
    "average_investigation_length_days",
    "repeat_victimisation_rate",
)

# --------------------------------------------------------------------------------------------
# The tables a metric can count
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceColumn:
    type: str
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Source:
    """A table metrics count rows of, and its columns."""

    name: str
    description: str
    columns: Mapping[str, SourceColumn]


#: The ledger columns metrics may read (written by ``vcop evaluate``; see vcop.rules.ledger).
LEDGER_COLUMNS: dict[str, SourceColumn] = {
    "victim_id": SourceColumn("string"),
    "crime_id": SourceColumn("string"),
    "obligation_id": SourceColumn("string"),
    "right": SourceColumn("integer"),
    "owner": SourceColumn("string"),
    "trigger_event_id": SourceColumn("string"),
    "trigger_at": SourceColumn("datetime"),
    "due_date": SourceColumn("date"),
    "met_at": SourceColumn("datetime"),
    "status": SourceColumn("string", tuple(s.value for s in LedgerStatus)),
    "enhanced": SourceColumn("boolean"),
    "enhanced_reason": SourceColumn("string"),
    "reason": SourceColumn("string"),
    "as_of": SourceColumn("date"),
    "definitions_hash": SourceColumn("string"),
}

LEDGER = "entitlements"
VICTIM_CRIMES = "victim_crimes"
REFERRAL_CRIMES = "referral_crimes"
CONTRACT_CONTACTS = "contract_contacts"
ENHANCED_ELIGIBILITY = "enhanced_eligibility"


@cache
def sources() -> dict[str, Source]:
    """Every source a metric may name: the canonical tables, the ledger, ``victim_crimes`` and
    ``enhanced_eligibility``."""
    schema = load_schema()
    out: dict[str, Source] = {}
    for table in schema.tables:
        out[table.name] = Source(
            table.name,
            table.description,
            {c.name: SourceColumn(c.type, c.allowed) for c in table.columns},
        )
    out[LEDGER] = Source(
        LEDGER,
        "The entitlement ledger (`vcop evaluate`): one row per victim, crime, obligation and trigger.",
        LEDGER_COLUMNS,
    )
    vc = {**out["crimes"].columns, **out["victims"].columns}
    vc["days_since_previous_crime"] = SourceColumn("number")
    out[VICTIM_CRIMES] = Source(
        VICTIM_CRIMES,
        "Each victim of each crime (victims joined to crimes), with days_since_previous_crime: the "
        "days from the same victim's previous crime report to this one (blank if none).",
        vc,
    )
    ee = {**out["crimes"].columns, **out["victims"].columns}
    ee["eligible_enhanced"] = SourceColumn("boolean")
    ee["eligible_reasons"] = SourceColumn("string")
    ee["eligible_labels"] = SourceColumn("string")
    ee["enhanced_identified"] = SourceColumn("boolean")
    ee["identified_at"] = SourceColumn("datetime")
    out[ENHANCED_ELIGIBILITY] = Source(
        ENHANCED_ELIGIBILITY,
        "Each victim of each crime (victims joined to crimes) with eligible_enhanced: whether the "
        "Code's enhanced-rights criteria (code/<edition>/eligibility.yaml) hold by the offence, "
        "age and the victim's and crime's flags alone, as the ledger decides them but leaving out "
        "what a needs assessment recorded; eligible_reasons / eligible_labels: the ids / labels "
        'of the criteria that hold, joined by "; "; and enhanced_identified: a needs assessment '
        "completed by the as-of date identified the victim as entitled to enhanced rights "
        "(identified_at: when the first such assessment was completed).",
        ee,
    )
    rc = {**out["referrals"].columns, "reported_at": out["crimes"].columns["reported_at"]}
    out[REFERRAL_CRIMES] = Source(
        REFERRAL_CRIMES,
        "Each referral to a support service (referrals), with reported_at: when its crime was "
        "reported (blank if the crime is not loaded). A referral never made (consent declined) "
        "is kept; one made after the as-of date is not yet seen.",
        rc,
    )
    contract = out["care_contracts"].columns
    ct = {
        **out["contacts"].columns,
        **{c: contract[c] for c in ("contract_id", "agreed_at", "update_interval_days")},
        "preferred_channel": contract["preferred_channel"],
        "by_preferred_channel": SourceColumn("boolean"),
    }
    out[CONTRACT_CONTACTS] = Source(
        CONTRACT_CONTACTS,
        "Each contact made under a victim care contract (contacts joined to the contract for the "
        "same victim and crime in force when the contact was made: the latest agreed at or "
        "before it), with the contract's preferred_channel and by_preferred_channel: whether the "
        "contact used it (false when the contact's channel is blank). Contacts before any "
        "contract are left out.",
        ct,
    )
    return out


# --------------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------------


class Condition(BaseModel):
    """One condition a counted row must meet, written ``{column: c, <op>: value}``."""

    model_config = _STRICT

    column: str
    op: Op
    value: Any

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "op" in data:
            return data
        ops = [k for k in data if k != "column"]
        if len(ops) != 1 or ops[0] not in OPS:
            raise ValueError(f"a condition is {{column: name, <one of {', '.join(OPS)}>: value}}")
        value = data[ops[0]]
        if ops[0] in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"{ops[0]} takes a non-empty list")
            value = tuple(value)
        return {"column": data.get("column"), "op": ops[0], "value": value}

    def describe(self) -> str:
        words = {
            "equals": "=",
            "not_equals": "≠",
            "gt": ">",
            "gte": "≥",
            "lt": "<",
            "lte": "≤",
        }
        if self.op == "is_null":
            return f"`{self.column}` is {'blank' if self.value else 'present'}"
        if self.op in ("in", "not_in"):
            values = ", ".join(f"`{v}`" for v in self.value)
            return f"`{self.column}` {'in' if self.op == 'in' else 'not in'} {values}"
        return f"`{self.column}` {words[self.op]} `{self.value}`"


class Measure(BaseModel):
    """The value a median or mean is taken of."""

    model_config = _STRICT

    kind: Literal["minutes_between", "days_between", "column"]
    columns: tuple[str, ...]

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" in data:
            return data
        if len(data) != 1:
            raise ValueError(
                "a measure is one of {minutes_between: [a, b]}, {days_between: [a, b]}, {column: c}"
            )
        kind, value = next(iter(data.items()))
        columns = tuple(value) if isinstance(value, list) else (value,)
        if kind in ("minutes_between", "days_between") and len(columns) != 2:
            raise ValueError(f"{kind} takes two columns: [from, to]")
        return {"kind": kind, "columns": columns}

    def describe(self) -> str:
        if self.kind == "column":
            return f"`{self.columns[0]}`"
        unit = "minutes" if self.kind == "minutes_between" else "days"
        return f"{unit} from `{self.columns[0]}` to `{self.columns[1]}`"


class Band(BaseModel):
    model_config = _STRICT

    label: str
    min: int | None = None
    max: int | None = None


#: The victim's age when the crime was reported: what a breakdown's ``age_under`` compares.
AGE_COLUMN = "age_at_report"


class LedgerFlag(BaseModel):
    """A breakdown derived from the entitlement ledger, per victim and crime: of the victim's
    ledger rows for the crime that meet every ``where`` condition, whether all of them also meet
    every ``all`` condition (true), or some do not (false). A victim with no such row gets the
    breakdown's ``missing_label``. The ledger is read as of its date (as it stood on an earlier
    date for a comparison at the same age)."""

    model_config = _STRICT

    where: tuple[Condition, ...] = Field(min_length=1)
    all: tuple[Condition, ...] = Field(min_length=1)


class Breakdown(BaseModel):
    """A way to split a figure: by a column of the row, its crime or its victim, or by what the
    entitlement ledger holds for the victim and crime (``from_ledger``)."""

    model_config = _STRICT

    id: str
    title: str
    table: str
    column: str
    labels: dict[bool, str] | None = None
    bands: tuple[Band, ...] | None = None
    #: A Home Office offence-code list of the Victims' Code definitions (offence_codes.yaml):
    #: the value is labels[true] when the code is on the list, labels[false] when not.
    offence_list: str | None = None
    #: The codes of ``offence_list``, filled in from the Code definitions when the catalogue loads.
    members: tuple[str, ...] | None = None
    #: With ``offence_list``: only victims younger than this when the crime was reported
    #: (``victims.age_at_report``) count as on the list, e.g. child abuse (offence and age).
    age_under: int | None = Field(None, ge=1)
    #: Derived per victim and crime from the entitlement ledger (``table: entitlements``; the
    #: row needs ``victim_id`` and ``crime_id``); ``labels`` name true and false.
    from_ledger: LedgerFlag | None = None
    missing_label: str = "not recorded"


class SpcSettings(BaseModel):
    model_config = _STRICT

    months: int = Field(24, ge=2, le=120)
    min_points: int = Field(12, ge=2)
    limit: float = Field(2.66, gt=0)
    run_length: int = Field(7, ge=2)
    trend_length: int = Field(7, ge=3)
    two_of_three: bool = True
    screen_outliers: bool = True


class Settings(BaseModel):
    model_config = _STRICT

    confidence: float = Field(0.95, gt=0.5, lt=1)
    small_sample: int = Field(30, ge=1)
    spc: SpcSettings = SpcSettings()


class Metric(BaseModel):
    """One declared figure."""

    model_config = _STRICT

    id: str
    family: str
    title: str
    description: str
    kind: Kind
    source: str
    date: tuple[str, ...]
    where: tuple[Condition, ...] = ()
    numerator: tuple[Condition, ...] = ()
    count_distinct: str | None = None
    measure: Measure | None = None
    share_of: str | None = None
    group_by: tuple[str, ...] = ()
    unit: Unit
    polarity: PolarityName
    breakdowns: tuple[str, ...] = ()
    #: Days after a period ends before its figure is complete (late completions, outcomes …
    #: still arriving). Blank in the file: the default (see :func:`default_maturity_days`),
    #: filled in when the catalogue loads.
    maturity_days: int | None = Field(None, ge=0, le=730)
    #: Days of history before a row's date that its figure depends on (a repeat victim's earlier
    #: crime, the crime behind an outcome or an entitlement). A window starting less than this
    #: after the data begin is in the warm-up: not comparable, and no SPC point. Blank in the
    #: file: the default for the source (see :func:`default_warm_up_days`).
    warm_up_days: int | None = Field(None, ge=0, le=3650)
    #: Months from which the process is judged afresh (NHS "rebasing"): SPC limits are computed
    #: within each segment. Dates are the first day of a month.
    spc_rebase: tuple[dt.date, ...] = ()
    benchmark_years: int | None = Field(None, ge=1, le=10)
    #: A count also given per 1,000 residents of its group (the force, an area or a district),
    #: from the ``population`` table the force loads (:mod:`vcop.metrics.population`).
    per_1000_residents: bool = False
    local_measure: bool = False
    notes: str | None = None
    file: str = ""
    line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _date_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("date"), str):
            return {**data, "date": (data["date"],)}
        return data

    @property
    def grouping(self) -> tuple[str, ...]:
        """Breakdowns every value of this metric is split by (group_by, then share_of)."""
        return (*self.group_by, *((self.share_of,) if self.share_of else ()))

    def columns(self) -> set[str]:
        """Every source column the definition reads."""
        cols = set(self.date)
        cols |= {c.column for c in (*self.where, *self.numerator)}
        if self.count_distinct:
            cols.add(self.count_distinct)
        if self.measure:
            cols |= set(self.measure.columns)
        return cols


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int
    settings: Settings
    breakdowns: tuple[Breakdown, ...]
    metrics: tuple[Metric, ...]
    files_hash: str

    def metric(self, metric_id: str) -> Metric:
        for m in self.metrics:
            if m.id == metric_id:
                return m
        raise KeyError(f"no metric {metric_id!r}")

    def breakdown(self, breakdown_id: str) -> Breakdown:
        for b in self.breakdowns:
            if b.id == breakdown_id:
                return b
        raise KeyError(f"no breakdown {breakdown_id!r}")

    @property
    def metric_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.metrics)


# --------------------------------------------------------------------------------------------
# Reading the files
# --------------------------------------------------------------------------------------------


class _Header(BaseModel):
    model_config = _STRICT

    version: int
    settings: Settings = Settings()
    #: The family files, in the order the catalogue presents them (file name without .yaml).
    families: tuple[str, ...]
    breakdowns: dict[str, dict[str, Any]]


class _Family(BaseModel):
    model_config = _STRICT

    family: str
    title: str
    metrics: dict[str, dict[str, Any]]


def package_root() -> Traversable:
    return resources.files("vcop.definitions").joinpath("metrics")


def _display(root: Traversable | Path, name: str) -> str:
    if str(root) == str(package_root()):
        return f"definitions/metrics/{name}"
    return str(root.joinpath(name))


def _validation_problems(
    exc: ValidationError, lines: LineMap, loc: Loc, prefix: str = ""
) -> list[Problem]:
    out = []
    for error in exc.errors():
        sub = tuple(
            p for p in error["loc"] if not isinstance(p, str) or not p.startswith("function-")
        )
        field = ".".join(str(p) for p in sub)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (a typo?)"
        elif error["type"] == "missing":
            message = "is required"
        text = f"{prefix}{field}: {message}" if field else f"{prefix}{message}"
        out.append(lines.problem((*loc, *sub), text))
    return out


def _files_hash(root: Traversable | Path) -> str:
    digest = hashlib.sha256()
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            digest.update(f"{entry.name}\0".encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()


@dataclass
class _Draft:
    header: _Header | None
    header_lines: LineMap | None
    breakdowns: list[tuple[Breakdown, LineMap, Loc]]
    metrics: list[tuple[Metric, LineMap, Loc]]
    family_files: list[tuple[str, str]]


def _read(root: Traversable | Path, problems: list[Problem]) -> _Draft:
    draft = _Draft(None, None, [], [], [])
    entries = sorted((e for e in root.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    if not any(e.name == CATALOGUE_FILE for e in entries):
        problems.append(Problem(_display(root, CATALOGUE_FILE), None, "file is missing"))
    for entry in entries:
        display = _display(root, entry.name)
        try:
            data, lines = load_yaml(entry.read_text("utf-8"), display)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(data, dict):
            problems.append(Problem(display, 1, "expected a mapping at the top of the file"))
            continue
        if entry.name == CATALOGUE_FILE:
            try:
                draft.header = _Header.model_validate(data)
                draft.header_lines = lines
            except ValidationError as exc:
                problems.extend(_validation_problems(exc, lines, ()))
                continue
            for bid, raw in draft.header.breakdowns.items():
                loc: Loc = ("breakdowns", bid)
                try:
                    b = Breakdown.model_validate({"id": bid, **raw})
                except ValidationError as exc:
                    problems.extend(_validation_problems(exc, lines, loc, f"breakdown {bid}: "))
                    continue
                draft.breakdowns.append((b, lines, loc))
            continue
        draft.family_files.append((entry.name.removesuffix(".yaml"), display))
        try:
            family = _Family.model_validate(data)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, lines, ()))
            continue
        for mid, raw in family.metrics.items():
            loc = ("metrics", mid)
            try:
                m = Metric.model_validate(
                    {
                        **raw,
                        "id": mid,
                        "family": family.family,
                        "file": display,
                        "line": lines.line(loc),
                    }
                )
            except ValidationError as exc:
                problems.extend(_validation_problems(exc, lines, loc, f"{mid}: "))
                continue
            draft.metrics.append((m, lines, loc))
    return draft


# --------------------------------------------------------------------------------------------
# The named checks: each looks at the whole draft and yields every problem it finds
# --------------------------------------------------------------------------------------------

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_NUMERIC = ("integer", "number", "scale7")


def _resolvable(b: Breakdown, source: Source) -> bool:
    """Whether rows of ``source`` can be split by ``b`` (own column, or via crime or victim)."""
    cols = source.columns
    if b.from_ledger is not None:
        return "crime_id" in cols and "victim_id" in cols
    if b.age_under is not None and not (
        AGE_COLUMN in cols or ("crime_id" in cols and "victim_id" in cols)
    ):
        return False
    if b.column in cols:
        return True
    if b.table == "crimes":
        return "crime_id" in cols
    if b.table == "victims":
        return "crime_id" in cols and "victim_id" in cols
    return False


def _offence_lists() -> dict[str, tuple[str, ...]] | None:
    """The newest Code edition's offence-code lists (None: the Code does not load)."""
    try:
        from vcop.spec.code import load_code

        edition = load_code().editions[-1]
        return {
            k: tuple(c.upper() for c in v.codes) for k, v in edition.offence_lists.lists.items()
        }
    except Exception:  # the Code's own check reports why it does not load
        return None


def _resolved(b: Breakdown) -> Breakdown:
    if b.offence_list is None:
        return b
    members = (_offence_lists() or {}).get(b.offence_list)
    return b if members is None else b.model_copy(update={"members": members})


def _known_obligations() -> set[str] | None:
    try:
        from vcop.spec.code import load_code

        return {o.id for o in load_code().obligations}
    except Exception:  # the Code's own check reports why it does not load
        return None


def _check_condition(
    who: str, cond: Condition, source: Source, lines: LineMap, loc: Loc
) -> Iterator[Problem]:
    """Problems of one condition on rows of ``source``, named after ``who`` (a metric or a
    breakdown)."""
    col = source.columns.get(cond.column)
    if col is None:
        yield lines.problem(loc, f"{who}: {source.name} has no column {cond.column!r}")
        return
    if cond.op == "is_null":
        if not isinstance(cond.value, bool):
            yield lines.problem(loc, f"{who}: is_null takes true or false")
        return
    values = cond.value if cond.op in ("in", "not_in") else (cond.value,)
    if cond.op in ("gt", "gte", "lt", "lte") and col.type not in _NUMERIC:
        yield lines.problem(
            loc, f"{who}: {cond.op} needs a numeric column; {cond.column} is {col.type}"
        )
    for v in values:
        if col.type in _NUMERIC and (isinstance(v, bool) or not isinstance(v, int | float)):
            yield lines.problem(loc, f"{who}: {cond.column} is {col.type}; {v!r} is not a number")
        elif col.type == "boolean" and not isinstance(v, bool):
            yield lines.problem(loc, f"{who}: {cond.column} is boolean; {v!r} is not true/false")
        elif col.type == "string" and not isinstance(v, str):
            yield lines.problem(loc, f"{who}: {cond.column} is text; write {v!r} as text")
        elif col.allowed is not None and isinstance(v, str) and v not in col.allowed:
            yield lines.problem(
                loc,
                f"{who}: {v!r} is not a value of {source.name}.{cond.column} ({', '.join(col.allowed)})",
            )


def _check_metric(
    m: Metric,
    lines: LineMap,
    loc: Loc,
    breakdowns: Mapping[str, Breakdown],
    obligations: set[str] | None,
) -> Iterator[Problem]:
    if not _ID.match(m.id):
        yield lines.problem(loc, f"{m.id}: a metric id is lower_snake_case")
    source = sources().get(m.source)
    if source is None:
        yield lines.problem(
            (*loc, "source"), f"{m.id}: no source {m.source!r} ({', '.join(sorted(sources()))})"
        )
        return
    for c in m.date:
        col = source.columns.get(c)
        if col is None:
            yield lines.problem((*loc, "date"), f"{m.id}: {m.source} has no column {c!r}")
        elif col.type not in ("date", "datetime"):
            yield lines.problem(
                (*loc, "date"), f"{m.id}: date column {c} is {col.type}, not a date"
            )
    for part in ("where", "numerator"):
        for i, cond in enumerate(getattr(m, part)):
            yield from _check_condition(m.id, cond, source, lines, (*loc, part, i))
            if cond.column == "obligation_id" and obligations is not None:
                values = cond.value if cond.op in ("in", "not_in") else (cond.value,)
                for v in values:
                    if isinstance(v, str) and v not in obligations:
                        yield lines.problem(
                            (*loc, part, i),
                            f"{m.id}: no obligation {v!r} in the Victims' Code definitions",
                        )
            if cond.column == "right" and cond.op in ("equals", "in", "not_in", "not_equals"):
                values = cond.value if cond.op in ("in", "not_in") else (cond.value,)
                for v in values:
                    if isinstance(v, int) and not 1 <= v <= 12:
                        yield lines.problem(
                            (*loc, part, i), f"{m.id}: the Code has rights 1 to 12, not {v}"
                        )
    if m.count_distinct and m.count_distinct not in source.columns:
        yield lines.problem(
            (*loc, "count_distinct"), f"{m.id}: {m.source} has no column {m.count_distinct!r}"
        )
    if m.measure:
        for c in m.measure.columns:
            col = source.columns.get(c)
            if col is None:
                yield lines.problem((*loc, "measure"), f"{m.id}: {m.source} has no column {c!r}")
            elif m.measure.kind != "column" and col.type not in ("date", "datetime"):
                yield lines.problem(
                    (*loc, "measure"), f"{m.id}: {c} is {col.type}, not a date or time"
                )
            elif m.measure.kind == "column" and col.type not in _NUMERIC:
                yield lines.problem((*loc, "measure"), f"{m.id}: {c} is {col.type}, not a number")
    # what each kind needs
    need = {
        "proportion": ("numerator",),
        "share": ("share_of",),
        "count": (),
        "median": ("measure",),
        "mean": ("measure",),
    }[m.kind]
    for field in need:
        if not getattr(m, field):
            yield lines.problem(loc, f"{m.id}: a {m.kind} metric needs {field}")
    forbidden = {
        "proportion": ("measure", "share_of"),
        "share": ("numerator", "measure", "count_distinct"),
        "count": ("numerator", "measure", "share_of"),
        "median": ("numerator", "share_of", "count_distinct"),
        "mean": ("numerator", "share_of", "count_distinct"),
    }[m.kind]
    for field in forbidden:
        if getattr(m, field):
            yield lines.problem((*loc, field), f"{m.id}: a {m.kind} metric has no {field}")
    units = {
        "proportion": ("proportion",),
        "share": ("proportion",),
        "count": ("count",),
        "median": ("minutes", "days"),
        "mean": ("minutes", "days"),
    }[m.kind]
    if m.unit not in units:
        yield lines.problem(
            (*loc, "unit"), f"{m.id}: a {m.kind} metric is in {' or '.join(units)}, not {m.unit}"
        )
    if m.measure and m.measure.kind != "column" and m.unit != m.measure.kind.split("_")[0]:
        yield lines.problem(
            (*loc, "unit"),
            f"{m.id}: the measure is in {m.measure.kind.split('_')[0]}, the unit says {m.unit}",
        )
    for d in m.spc_rebase:
        if d.day != 1:
            yield lines.problem(
                (*loc, "spc_rebase"), f"{m.id}: spc_rebase {d} is not the first day of a month"
            )
    if m.benchmark_years is not None and m.kind != "count":
        yield lines.problem(
            (*loc, "benchmark_years"), f"{m.id}: only a count has a long-term benchmark"
        )
    if m.per_1000_residents and (m.kind != "count" or m.group_by):
        yield lines.problem(
            (*loc, "per_1000_residents"),
            f"{m.id}: only a count not split by group_by has a rate per 1,000 residents",
        )
    for field in ("breakdowns", "group_by"):
        for bid in getattr(m, field):
            b = breakdowns.get(bid)
            if b is None:
                yield lines.problem(
                    (*loc, field), f"{m.id}: no breakdown {bid!r} ({', '.join(sorted(breakdowns))})"
                )
            elif not _resolvable(b, source):
                yield lines.problem(
                    (*loc, field), f"{m.id}: {m.source} rows cannot be split by {bid}"
                )
    if m.share_of:
        b = breakdowns.get(m.share_of)
        if b is None or not _resolvable(b, source):
            yield lines.problem(
                (*loc, "share_of"), f"{m.id}: cannot share {m.source} rows out by {m.share_of!r}"
            )
    overlap = set(m.breakdowns) & set(m.grouping)
    if overlap:
        yield lines.problem(
            (*loc, "breakdowns"),
            f"{m.id}: {', '.join(sorted(overlap))} is already how every value is split",
        )


def _check_breakdown(b: Breakdown, lines: LineMap, loc: Loc) -> Iterator[Problem]:
    src = sources().get(b.table)
    if src is None:
        yield lines.problem((*loc, "table"), f"breakdown {b.id}: no table {b.table!r}")
        return
    col = src.columns.get(b.column)
    if col is None:
        yield lines.problem(
            (*loc, "column"), f"breakdown {b.id}: {b.table} has no column {b.column!r}"
        )
        return
    if b.from_ledger is not None:
        yield from _check_ledger_flag(b, src, lines, loc)
        return
    if b.offence_list is not None:
        lists = _offence_lists()
        if b.column != "offence_code":
            yield lines.problem(
                (*loc, "offence_list"), f"breakdown {b.id}: offence_list is for offence_code"
            )
        if b.labels is None or set(b.labels) != {True, False}:
            yield lines.problem(
                (*loc, "labels"),
                f"breakdown {b.id}: an offence_list needs labels for true (on it) and false",
            )
        if lists is not None and b.offence_list not in lists:
            yield lines.problem(
                (*loc, "offence_list"),
                f"breakdown {b.id}: no offence list {b.offence_list!r} in the Code definitions "
                f"({', '.join(sorted(lists))})",
            )
    elif b.age_under is not None:
        yield lines.problem(
            (*loc, "age_under"), f"breakdown {b.id}: age_under goes with an offence_list"
        )
    elif b.labels is not None and col.type != "boolean":
        yield lines.problem(
            (*loc, "labels"), f"breakdown {b.id}: labels are for a true/false column"
        )
    if b.bands is not None:
        if col.type not in _NUMERIC:
            yield lines.problem(
                (*loc, "bands"), f"breakdown {b.id}: bands are for a numeric column"
            )
        previous_max: int | None = None
        for i, band in enumerate(b.bands):
            if i and (band.min is None or previous_max is None or band.min != previous_max + 1):
                yield lines.problem(
                    (*loc, "bands", i),
                    f"breakdown {b.id}: band {band.label!r} does not start where the previous one ends",
                )
            if band.min is not None and band.max is not None and band.min > band.max:
                yield lines.problem(
                    (*loc, "bands", i), f"breakdown {b.id}: band {band.label!r} is empty"
                )
            previous_max = band.max


def _check_ledger_flag(b: Breakdown, src: Source, lines: LineMap, loc: Loc) -> Iterator[Problem]:
    """A ``from_ledger`` breakdown: on the ledger, true/false labels, conditions the ledger has."""
    assert b.from_ledger is not None
    if b.table != LEDGER:
        yield lines.problem((*loc, "table"), f"breakdown {b.id}: from_ledger is for table {LEDGER}")
        return
    if b.labels is None or set(b.labels) != {True, False}:
        yield lines.problem(
            (*loc, "labels"),
            f"breakdown {b.id}: from_ledger needs labels for true (all met) and false",
        )
    for extra in ("offence_list", "age_under", "bands"):
        if getattr(b, extra) is not None:
            yield lines.problem((*loc, extra), f"breakdown {b.id}: {extra} is not for from_ledger")
    obligations = _known_obligations()
    who = f"breakdown {b.id}"
    for part in ("where", "all"):
        for i, cond in enumerate(getattr(b.from_ledger, part)):
            where = (*loc, "from_ledger", part, i)
            yield from _check_condition(who, cond, src, lines, where)
            if cond.column == "obligation_id" and obligations is not None:
                values = cond.value if cond.op in ("in", "not_in") else (cond.value,)
                for v in values:
                    if isinstance(v, str) and v not in obligations:
                        yield lines.problem(
                            where, f"{who}: no obligation {v!r} in the Victims' Code definitions"
                        )


def _check_draft(draft: _Draft) -> Iterator[Problem]:
    breakdowns = {b.id: b for b, _, _ in draft.breakdowns}
    for b, lines, loc in draft.breakdowns:
        yield from _check_breakdown(b, lines, loc)
    obligations = _known_obligations()
    seen: dict[str, Metric] = {}
    for m, lines, loc in draft.metrics:
        if m.id in seen:
            yield lines.problem(loc, f"{m.id}: also defined in {seen[m.id].file}:{seen[m.id].line}")
        seen[m.id] = m
        yield from _check_metric(m, lines, loc, breakdowns, obligations)
    if draft.header is not None and draft.header_lines is not None:
        names = [name for name, _ in draft.family_files]
        for name, display in draft.family_files:
            if name not in draft.header.families:
                yield Problem(
                    display, 1, f"{name}.yaml is not listed in the families of {CATALOGUE_FILE}"
                )
        for name in draft.header.families:
            if name not in names:
                yield draft.header_lines.problem(
                    ("families",), f"family {name}: no file {name}.yaml"
                )
    if draft.header is not None:
        where = draft.header_lines
        for mid in REQUIRED_METRICS:
            if mid not in seen:
                problem = f"the catalogue must define {mid} (a public metric id)"
                yield (
                    where.problem((), problem) if where else Problem(CATALOGUE_FILE, None, problem)
                )


def _load(root: Traversable | Path) -> tuple[Catalogue | None, list[Problem]]:
    problems: list[Problem] = []
    draft = _read(root, problems)
    problems.extend(_check_draft(draft))
    if problems or draft.header is None:
        return None, sorted(set(problems), key=Problem.sort_key)
    return (
        Catalogue(
            version=draft.header.version,
            settings=draft.header.settings,
            breakdowns=tuple(_resolved(b) for b, _, _ in draft.breakdowns),
            metrics=tuple(
                with_defaults(m)
                for _, m in sorted(
                    enumerate(m for m, _, _ in draft.metrics),
                    key=lambda im: (_family_rank(draft, im[1].file), im[0]),
                )
            ),
            files_hash=_files_hash(root),
        ),
        [],
    )


#: Days a late completion takes to arrive, on top of an obligation's own deadline: 20 working
#: days, counted as 28 calendar days.
LATE_ARRIVAL_DAYS = 28
#: History a measure that follows a crime through its investigation needs: crimes reported before
#: the data begin are missing from its outcomes, entitlements and repeat victims for about a year.
FOLLOWS_CRIMES_WARM_UP_DAYS = 365
#: Sources whose rows stand on their own (a call, a questionnaire): no warm-up by default.
NO_HISTORY_SOURCES = frozenset({"incidents", "survey_responses"})


def _working_to_calendar(days: int) -> int:
    """Working days as calendar days: 5 working days to the week, rounded up."""
    return -(-days * 7 // 5)


def _scope(m: Metric) -> tuple[set[str] | None, set[int] | None]:
    """The obligations and rights a ledger metric's conditions keep (None: any)."""
    obligations: set[str] | None = None
    rights: set[int] | None = None
    for c in m.where:
        if c.op not in ("equals", "in"):
            continue
        values = list(c.value) if c.op == "in" else [c.value]
        if c.column == "obligation_id":
            obligations = {str(v) for v in values}
        elif c.column == "right":
            rights = {int(v) for v in values}
    return obligations, rights


def default_maturity_days(m: Metric) -> int:
    """When a period's figure is complete, if the catalogue does not say.

    A ledger measure: the longest deadline of the obligations it counts (as calendar days) plus
    :data:`LATE_ARRIVAL_DAYS` for late completions to arrive. Any other measure: 0 (complete as
    soon as the period ends).
    """
    if m.source != LEDGER:
        return 0
    try:
        from vcop.spec.code import LocalStandards, load_code

        code = load_code()
    except Exception:  # the Code's own check reports why it does not load
        return LATE_ARRIVAL_DAYS
    obligations, rights = _scope(m)
    standards = LocalStandards()
    longest = 0
    for o in code.obligations:
        if obligations is not None and o.id not in obligations:
            continue
        if rights is not None and o.right not in rights:
            continue
        days = o.deadline_days(standards)
        if days is not None:
            longest = max(longest, _working_to_calendar(max(days)))
        elif o.deadline.agreed_with_victim:
            longest = max(longest, 28)
    return longest + LATE_ARRIVAL_DAYS


def default_warm_up_days(m: Metric) -> int:
    """History a metric's windows depend on, if the catalogue does not say: none for calls and
    questionnaires and for counts of crimes (a count is compared only where the data cover
    it), a year for everything that follows crimes through their investigation."""
    if m.source in NO_HISTORY_SOURCES or m.kind == "count":
        return 0
    return FOLLOWS_CRIMES_WARM_UP_DAYS


def with_defaults(m: Metric) -> Metric:
    """``m`` with its maturity and warm-up filled in where the file leaves them blank."""
    update: dict[str, int] = {}
    if m.maturity_days is None:
        update["maturity_days"] = default_maturity_days(m)
    if m.warm_up_days is None:
        update["warm_up_days"] = default_warm_up_days(m)
    return m.model_copy(update=update) if update else m


def _family_rank(draft: _Draft, file: str) -> int:
    name = file.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".yaml")
    families = draft.header.families if draft.header else ()
    return families.index(name) if name in families else len(families)


def check_catalogue(root: Traversable | Path | None = None) -> list[Problem]:
    """Every problem in the metric catalogue (the packaged one unless ``root`` is given)."""
    return _load(package_root() if root is None else root)[1]


def load_catalogue(root: Traversable | Path | None = None) -> Catalogue:
    """The metric catalogue, validated. Raises :class:`DefinitionError` listing every problem."""
    if root is None:
        return _packaged_catalogue()
    catalogue, problems = _load(root)
    if catalogue is None:
        raise DefinitionError(problems)
    return catalogue


@cache
def _packaged_catalogue() -> Catalogue:
    catalogue, problems = _load(package_root())
    if catalogue is None:
        raise DefinitionError(problems)
    return catalogue


# --------------------------------------------------------------------------------------------
# docs/metrics.md
# --------------------------------------------------------------------------------------------

_KIND_WORDS = {
    "proportion": "proportion (0 to 1) with a Wilson 95% interval; change tested with a two-proportion test",
    "share": "share of the whole (0 to 1) for each category, with Wilson 95% intervals",
    "count": "count with an exact Poisson 95% interval; change tested with an exact test of two Poisson rates",
    "median": "median with a distribution-free 95% interval; change tested with the Bonett–Price interval for a difference of medians",
    "mean": "mean with a t 95% interval; change tested with Welch's t-test",
}

DOC_HEADER = """\
<!-- Generated from src/vcop/definitions/metrics/*.yaml by `vcop docs`. Do not edit. -->
# The vcop metric catalogue

Every figure vcop reports is one of the metrics below, computed the same way everywhere
(`vcop metrics`, the dashboard, reports and returns) from the definitions in
`src/vcop/definitions/metrics/`. Each value says how sure it is.

## How every figure is made

- **Periods.** A value is for one of four periods ending on the as-of date: `month` (the calendar
  month of the as-of date, up to and including it), `quarter` (the calendar quarter, likewise;
  April–June is quarter 1 of the financial year), `fytd` (financial year to date, from 1 April)
  and `rolling_12m` (the 12 months ending on the as-of date). A row belongs to the period its
  date column falls in. vcop sees only what had happened by the end of the as-of date: a time
  stamped later counts as not yet happened.
- **Comparisons.** Each value is compared with the **previous period** (the month or quarter
  before; for `fytd` and `rolling_12m`, which would otherwise overlap, the same span a year
  earlier) and with the **same period a year before**. A month or quarter that is not yet
  complete is compared with the same number of days of the earlier periods. A count is not
  compared with a window that starts before the data does (its count there would be too low,
  not a fall). A provisional figure, and a window in the warm-up, are not compared at all (see
  [What may be said about a figure](#what-may-be-said-about-a-figure)).
- **Significance.** A change is called significant only when a test says so at the 5% level:
  proportions by the two-proportion z-test (Fisher's exact test when an expected count is under
  5); counts by the exact conditional test of two Poisson rates (allowing for different lengths);
  medians when the Bonett–Price 95% interval for the difference of medians excludes zero; means
  by Welch's t-test. A value whose sample is under {small_sample} is flagged `small_sample`.
- **Intervals.** Proportions: Wilson score 95% interval. Counts: exact Poisson. Medians:
  distribution-free order-statistic interval (Bonett). Means: t interval. Durations are counted
  in whole seconds, so every engine gets the same answer.
- **Statistical process control** (NHS "Making Data Count"). An XmR chart of the metric's
  monthly series (the {spc_months} complete months up to the as-of date, from the first month
  with data; only mature months out of the warm-up are points, see
  [SPC: which months are judged](#spc-which-months-are-judged)): limits at the mean
  ± {spc_limit} × the mean moving range, leaving out moving ranges
  of 3.267 × their mean or more (screen_outliers: {screen}). Special cause: a point outside the
  limits; {trend} points in a row rising or
  falling; 2 of 3 points beyond two sigma on the same side (two_of_three: {two_of_three}); {run}
  points in a row on one side of the mean. `spc_variation` is the latest point's type:
  `common_cause`, `special_cause_improvement`, `special_cause_concern`, or for a neutral metric
  `special_cause_neutral_high` / `_low`. `spc_assurance`, when the metric has a target:
  `consistently_pass`, `consistently_fail` or `hit_and_miss`. No signal under {min_points} months.
- **Small numbers.** Partner and public outputs (`vcop metrics --suppress`) go through one
  suppression layer, and a hidden figure is shown as `[c]` (see
  [Small numbers](#small-numbers-suppression) below).
- **Stamp.** Every value carries `definitions_hash`, a hash of this catalogue and of the Victims'
  Code definitions that made the ledger.

"""

DOC_BREAKDOWNS = """\
## Breakdowns

| breakdown | what | from |
|---|---|---|
"""

DOC_SOURCES = """\
## Sources that are not canonical tables

Most metrics count rows of a canonical table (see docs/data-dictionary.md). These are the others:
the ledger, and tables vcop derives by joining canonical tables, as seen on the as-of date.

| source | what a row is |
|---|---|
"""

#: What may be said about a figure, for an analyst: the rules of ``vcop.metrics.policy``,
#: ``vcop.metrics.targets`` and ``vcop.metrics.suppress`` in plain words (keep them in step).
DOC_READING = """\
## What may be said about a figure

A figure can be right and still not ready to be judged: the latest months are not complete yet,
the first months of the data lack the history some measures need, and a small count can point
at a person. vcop decides these things once, in the metric engine, and stamps every value with
them; the dashboard, `vcop metrics` and the reports only show the marks, so they cannot
disagree. The columns named here are in `vcop metrics --format csv` and `--format json`.

### Provisional figures (maturity)

A recent period's figure can still change: an obligation that was missed is often completed a
few days late, and an outcome is recorded weeks after the crime. Each metric declares how many
days after a period ends its figure is complete, `maturity_days` ("Complete after" under each
metric below). Where a metric's file leaves it blank, a Victims' Code measure (one counted from
the entitlement ledger) takes the longest deadline of the obligations it counts, in calendar
days (N working days count as N × 7 ÷ 5, rounded up; a deadline agreed with the victim as 28
days), plus {late} days for late completions to arrive; every other measure takes 0: it is
complete as soon as the period ends.

{month_bullet}
- A **quarter, financial year to date or 12 months** is provisional when it contains a
  provisional month (with a maturity above 0 its latest month always is), and carries
  `provisional_share`: the share of its cases in provisional months (a proportion's
  denominator, a count's rows, a median's or mean's sample size). A 12-month figure with a
  `provisional_share` of 0.08 is 92% settled.
- A provisional figure is **shown, marked and never judged**: `provisional` is true (`p` in
  the `vcop metrics` table, `p(8%)` for a partly provisional one), it is not compared with
  earlier periods (`comparable` is false, `comparable_reason` says why, and the changes and
  p-values are blank), and it is never an SPC point. To compare a period, ask for an as-of date
  at least its maturity after the period ends.

### Warm-up at the start of the data

Some figures depend on what happened before the rows they count: a repeat victim's earlier
crime, the crime behind an outcome, an investigation or an entitlement. In the first months of
the data those earlier events are missing, so a figure there is too low or too high, not a
change. Each metric declares the history it depends on, `warm_up_days` ("Warm-up" under each
metric below; where the file leaves it blank: {warm} days for measures that follow crimes
through their investigation, 0 for calls, questionnaires and counts). The data begin on the
day the first crime was reported.

- A window that starts less than `warm_up_days` after the data begin is **in the warm-up**.
  When the current period is, the figure is not compared at all; when the previous period or
  the same period a year before is, that comparison is left out. Either way `comparable` is
  false and `comparable_reason` names the window.
- A month in the warm-up is not an SPC point.
- A count has no warm-up, but is never compared with a window that starts before its own data
  do (a count there would be too low, not a fall).

### SPC: which months are judged

- The SPC points are the months of the series that are **mature and out of the warm-up**.
  `spc_points` counts them and `spc_variation` describes the latest of them, which can be a
  month or two before the as-of date. With fewer than {min_points} points there is no reading.
- A series whose points are all the same (its mean moving range is 0) has **no variation to
  judge**: no limits, no special cause and no assurance, and `spc_variation` is
  `no_variation` (NHSRplotthedots draws no limits there either).
- **Rebasing.** When a process changes on purpose (a new way of working), the metric lists in
  `spc_rebase` the months (their first days) from which it is judged afresh ("SPC rebased"
  under the metric below), and a force adds its own in `targets.yaml` (below) under
  `spc_rebase:`, each with the metric, the `month` and a `reason`. Limits are computed, and the rules applied, within each segment
  separately, and the reading is the latest segment's; a segment whose points are all the same
  is judged as above. A rebase that would leave a segment of fewer than two points is ignored.

### Targets

vcop ships no targets. A force writes the targets it has adopted into `targets.yaml` beside its
database (or the file named by the environment variable `VCOP_TARGETS_FILE`); without that file
there are none. One entry per target:

```yaml
targets:
  - metric: victim_updates_on_time
    value: 0.9                 # a proportion as 0.9 (90%); a duration in the metric's unit
    source: Police and Crime Plan 2024-28, victims priority 2
    adopted: true              # false (the default): recorded, never shown or judged against
    effective_from: 2024-04-01 # blank: since always
    effective_to: null         # blank: open-ended
    basis: aggregate           # aggregate (the default): the figure itself; per_incident: each case
```

- `metric`, `value` and `source` are required. A target for an unknown or a neutral metric, a
  proportion outside 0 to 1, or an `effective_to` before its `effective_from` stops the
  command, naming the file and line.
- A target is **judged** only when it is adopted, in force on the as-of date and `aggregate`.
  Then `target` holds its value and `spc_assurance` says where it sits against the process
  limits: `consistently_pass`, `consistently_fail` or `hit_and_miss`.
- A **per-incident** standard ("each emergency attended within 15 minutes") says nothing about
  a median or an average, so it is not judged against one: `target` is blank and there is no
  assurance; `target_source` and `target_basis` say what the standard is (the `vcop metrics`
  table shows its value, marked `each`).
- An **unadopted** target's value is never shown and nothing is judged against it;
  `target_source` still names it, with `target_adopted` false, so it is plain that one is
  written down. An adopted target that is not in force on the as-of date is not judged
  either.
- Beside `target`, every value carries `target_source`, `target_adopted`,
  `target_effective_from`, `target_effective_to` and `target_basis`. Where a metric has several
  targets, the adopted one in force is used (the last written, if several are); without one,
  the last written is named and not judged.

### Which way is better

Every value carries `better`: `higher`, `lower` or `neutral` (the metric's polarity; `↑` and `↓`
in the `vcop metrics` table). It decides whether an SPC special cause is an improvement or a
concern and which side of a target passes. A neutral metric (a count of crimes, a share of delay
reasons) has neither, and cannot have a target.

### Small numbers: suppression

Partners see a **release**: every figure for a month end that a partner may see — each metric
for the month, the quarter, the financial year to date and the 12 months, force-wide and by
policing area, with the earlier windows it is compared with, and every metric's monthly series —
suppressed once. The dashboard as a partner sees it, the partner pack, the compliance return (the
release at its quarter's end) and `vcop metrics --suppress` are all cut from it, so the same
figure is hidden everywhere it appears. Splits below area, by officer, and by crime type or
protected characteristic are not in a release. A hidden figure is shown as `[c]` with one
sentence explaining it (in CSV and JSON: `suppressed` is true and the figure is blank); it
carries nothing derived from it (interval, change, p-value, benchmark, SPC reading). Zero is
shown: it describes nobody.

- **Primary suppression** of counts and shortfalls from 1 to the threshold minus one (default
  10, the setting `suppression_threshold`): a proportion's numerator and its shortfall (96 of 100
  reveals 4 not met); a count; the number of cases behind a median or mean.
- **Complementary suppression** over the sets that really are published: the areas within the
  force, the obligations within their right, the months within a quarter and a year, the
  categories of a share, and a figure published under two names (Right 6 and
  `victim_updates_on_time`). In each, a lone hidden figure, or hidden figures whose counts add
  up to a small number, are joined by the smallest visible one.
- **An audit.** Every published figure is a sum of atoms — rows of one kind (an obligation and
  status), month and group — and a reader who knows these definitions can solve for what is
  hidden. vcop does exactly that, by linear programming over everything the release shows, and
  hides one more figure beside any hidden count or shortfall it can still pin to a value from 1
  to the threshold minus one (or bound within that range), until it finds none. A test in the
  suite plays that reader against the dashboard, the partner pack and the return.
- **Earlier releases.** The first release of a month end shown to partners is kept, with every
  figure it showed, in the publication ledger, and every later output for that month end is cut
  from it. A new release is suppressed knowing every figure published before — and, because a
  reader could guess what late records changed since (or nothing did), knowing those figures'
  windows *as the data stand now*: an earlier quarter's return subtracted from this year's
  12-month figure cannot reveal this quarter's hidden count. A test plays a reader with the
  returns of three quarters and then a release every month.
- A split figure and a series with a hidden month carry no SPC reading for partners: it would be
  made from months they cannot see.

"""


def _month_bullet(cat: Catalogue) -> str:
    """The rule for a provisional month, with a worked example from the catalogue's own
    figures (the ledger measure that takes longest to complete)."""
    rule = "- A **month is provisional** when it ends less than its maturity before the as-of date."
    ledger = [m for m in cat.metrics if m.source == LEDGER and m.maturity_days]
    if not ledger:
        return rule
    m = max(ledger, key=lambda m: m.maturity_days or 0)
    as_of = dt.date(2025, 6, 30)
    cutoff = as_of - dt.timedelta(days=m.maturity_days or 0)
    month, young = as_of.replace(day=1), []
    while (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1) > cutoff:
        young.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    named = " and ".join(f"{d:%B}" for d in reversed(young))
    example = (
        f" For example, `{m.id}` is complete after {m.maturity_days} days, so as of 30 June 2025"
        f" its figures for {named} 2025 are provisional and {month:%B %Y} is its latest complete"
        " month."
    )
    return textwrap.fill(rule + example, width=96, subsequent_indent="  ", break_on_hyphens=False)


def _polarity_words(p: str) -> str:
    return {
        "higher_is_better": "higher is better",
        "lower_is_better": "lower is better",
        "neutral": "neutral",
    }[p]


def catalogue_doc() -> str:
    """docs/metrics.md: every metric with its definition, made from the catalogue."""
    cat = load_catalogue()
    s = cat.settings
    lines = [
        DOC_HEADER.format(
            small_sample=s.small_sample,
            spc_months=s.spc.months,
            spc_limit=s.spc.limit,
            screen="on" if s.spc.screen_outliers else "off",
            trend=s.spc.trend_length,
            two_of_three="on" if s.spc.two_of_three else "off",
            run=s.spc.run_length,
            min_points=s.spc.min_points,
        ).rstrip("\n")
        + "\n",
        DOC_READING.format(
            late=LATE_ARRIVAL_DAYS,
            warm=FOLLOWS_CRIMES_WARM_UP_DAYS,
            min_points=s.spc.min_points,
            month_bullet=_month_bullet(cat),
        ).rstrip("\n")
        + "\n",
        DOC_BREAKDOWNS.rstrip("\n"),
    ]
    for b in cat.breakdowns:
        how = f"`{b.table}.{b.column}`"
        if b.offence_list:
            how += f" on the offence list `{b.offence_list}`"
        if b.age_under is not None:
            how += f", victim under {b.age_under} (`victims.{AGE_COLUMN}`)"
        if b.from_ledger is not None:
            rows = " and ".join(c.describe() for c in b.from_ledger.where)
            test = " and ".join(c.describe() for c in b.from_ledger.all)
            how = (
                f"the ledger, per victim and crime: of the rows where {rows}, "
                f"{b.labels[True] if b.labels else 'true'} when every one has {test}, "
                f"{b.labels[False] if b.labels else 'false'} when not; "
                f"{b.missing_label} when there is no such row"
            )
        if b.bands:
            how += "; bands " + ", ".join(b.label for b in b.bands)
        lines.append(f"| `{b.id}` | {b.title} | {how} |")
    # what a metric's "Counts rows of" means when it is not a canonical table
    canonical = {t.name for t in load_schema().tables}
    derived = sorted({m.source for m in cat.metrics} - canonical)
    lines += ["", DOC_SOURCES.rstrip("\n")]
    for name in derived:
        lines.append(f"| `{name}` | {sources()[name].description} |")
    lines += [
        "",
        "## Metrics",
        "",
        "| id | title | kind | unit | polarity |",
        "|---|---|---|---|---|",
    ]
    for m in cat.metrics:
        lines.append(
            f"| [`{m.id}`](#{m.id}) | {m.title} | {m.kind} | {m.unit} | {_polarity_words(m.polarity)} |"
        )
    family = None
    for m in cat.metrics:
        if m.family != family:
            family = m.family
            lines += ["", f"## Family: {family}"]
        lines += ["", f"### {m.id}", "", f"**{m.title}.** {m.description}", ""]
        lines.append(
            f"- **Kind:** {_KIND_WORDS[m.kind]}. **Unit:** {m.unit}. **Polarity:** {_polarity_words(m.polarity)}."
        )
        lines.append(
            f"- **Counts rows of:** `{m.source}`, in the period of "
            + " (else ".join(f"`{d}`" for d in m.date)
            + ")" * (len(m.date) - 1)
            + "."
        )
        if m.where:
            label = "Denominator" if m.kind == "proportion" else "Rows counted"
            lines.append(f"- **{label}:** " + "; ".join(c.describe() for c in m.where) + ".")
        if m.numerator:
            lines.append(
                "- **Numerator:** those with " + "; ".join(c.describe() for c in m.numerator) + "."
            )
        if m.count_distinct:
            lines.append(f"- **Counts:** distinct `{m.count_distinct}`, not rows.")
        if m.measure:
            lines.append(f"- **Measure:** {m.measure.describe()}.")
        if m.share_of:
            lines.append(f"- **Share of:** each `{m.share_of}` of the whole.")
        if m.group_by:
            lines.append("- **Always split by:** " + ", ".join(f"`{g}`" for g in m.group_by) + ".")
        if m.breakdowns:
            lines.append("- **Breakdowns:** " + ", ".join(f"`{b}`" for b in m.breakdowns) + ".")
        lines.append(
            f"- **Complete after:** {m.maturity_days} days (periods younger than this are "
            f"provisional). **Warm-up:** {m.warm_up_days} days of history."
        )
        if m.spc_rebase:
            lines.append(
                "- **SPC rebased:** " + ", ".join(f"{d:%B %Y}" for d in m.spc_rebase) + "."
            )
        if m.benchmark_years:
            lines.append(
                f"- **Long-term benchmark:** the average 12-month total over up to {m.benchmark_years} years before the rolling 12 months."
            )
        if m.per_1000_residents:
            lines.append(
                "- **Per 1,000 residents:** also given per 1,000 residents of the force, area or district, from the `population` table (left out where it has no rows)."
            )
        if m.local_measure:
            lines.append(
                "- **Local measure:** defined by vcop / the force, not a national statistic."
            )
        if m.notes:
            lines.append(f"- **Notes:** {m.notes}")
        lines.append(f"- **Defined in:** `src/vcop/{m.file}`, line {m.line}.")
    return "\n".join(lines) + "\n"
