"""Return definitions: which figure answers each area of a return the force sends out.

A return definition is a YAML file under ``definitions/returns/`` (``moj_quarterly.yaml``, the
Ministry of Justice's quarterly Victims' Code return). It lists the return's areas; each area has
measures, and each measure names exactly one figure: a Victims' Code ``obligation`` (its group of
the metric ``compliance_by_obligation``), a ``right`` (its group of ``compliance_by_right``), a
catalogue ``metric`` (a proportion that can be broken down by area), or ``not_held`` with the
reason the force's data cannot show it. :func:`load_return` reads a file into frozen models and
checks every id against the Code and the metric catalogue, raising :class:`DefinitionError` with
the file and line of every problem.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vcop.spec.check import DefinitionError, LineMap, Problem, load_yaml

_STRICT = ConfigDict(frozen=True, extra="forbid")

#: The packaged MoJ quarterly return.
MOJ_QUARTERLY = "moj_quarterly"

#: The metric each kind of ledger figure comes from, and the breakdown that names its group.
OBLIGATION_METRIC = "compliance_by_obligation"
RIGHT_METRIC = "compliance_by_right"

#: The breakdown every figure of a return is split by.
AREA = "area"


class ReturnMeasure(BaseModel):
    """One figure of a return, or the reason it cannot be given."""

    model_config = _STRICT

    label: str = Field(min_length=1)
    obligation: str | None = None
    right: int | None = Field(None, ge=1, le=12)
    metric: str | None = None
    not_held: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _exactly_one(self) -> ReturnMeasure:
        named = [k for k in ("obligation", "right", "metric", "not_held") if getattr(self, k)]
        if len(named) != 1:
            raise ValueError(
                "a measure names exactly one of obligation, right, metric or not_held"
                + (f" (it names {', '.join(named)})" if named else "")
            )
        return self

    @property
    def kind(self) -> Literal["obligation", "right", "metric", "not_held"]:
        if self.obligation:
            return "obligation"
        if self.right:
            return "right"
        if self.metric:
            return "metric"
        return "not_held"

    @property
    def metric_id(self) -> str | None:
        """The catalogue metric the figure is a value of (None: not held)."""
        return {"obligation": OBLIGATION_METRIC, "right": RIGHT_METRIC}.get(self.kind, self.metric)

    @property
    def group(self) -> tuple[str, ...]:
        """The group of :attr:`metric_id` the figure is (before the area split)."""
        if self.obligation:
            return (self.obligation,)
        if self.right:
            return (str(self.right),)
        return ()

    @property
    def figure(self) -> str:
        """Where the figure comes from, in words: 'obligation R3.written-confirmation'."""
        if self.kind == "right":
            return f"right {self.right}"
        if self.kind == "not_held":
            return "not held"
        return f"{self.kind} {self.obligation or self.metric}"


class ReturnArea(BaseModel):
    """One area of a return (numbered as the return numbers it)."""

    model_config = _STRICT

    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    measures: tuple[ReturnMeasure, ...] = Field(min_length=1)

    def measure_number(self, index: int) -> str:
        """'3' for an area's only measure; '3a', '3b', … when it has several."""
        if len(self.measures) == 1:
            return str(self.number)
        return f"{self.number}{chr(ord('a') + index)}"


class ReturnDefinition(BaseModel):
    """A return: its title, where its areas come from, and the areas."""

    model_config = _STRICT

    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    areas: tuple[ReturnArea, ...] = Field(min_length=1)
    #: Where the definition was read from (for messages and the notes sheet).
    file: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _numbers_differ(self) -> ReturnDefinition:
        numbers = [a.number for a in self.areas]
        twice = sorted({n for n in numbers if numbers.count(n) > 1})
        if twice:
            raise ValueError(f"area numbers must differ ({', '.join(map(str, twice))} repeated)")
        return self

    @property
    def metric_ids(self) -> tuple[str, ...]:
        """Every metric the return needs, the two compliance tables first."""
        wanted = [OBLIGATION_METRIC, RIGHT_METRIC]
        wanted += [m.metric_id for a in self.areas for m in a.measures if m.metric_id]
        return tuple(dict.fromkeys(wanted))


def package_root() -> Traversable:
    return resources.files("vcop.definitions").joinpath("returns")


def _validation_problems(exc: ValidationError, lines: LineMap) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        field = ".".join(str(p) for p in loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (a typo?)"
        elif error["type"] == "missing":
            message = "is required"
        out.append(lines.problem(loc, f"{field}: {message}" if field else message))
    return out


def _id_problems(definition: ReturnDefinition, lines: LineMap) -> list[Problem]:
    """Every id the definition names that the Code or the catalogue does not have, or that the
    force's data cannot give by area."""
    from vcop.spec.code import load_code
    from vcop.spec.metrics import load_catalogue

    code = load_code()
    catalogue = load_catalogue()
    obligations = {o.id: o for o in code.obligations}
    evaluated_rights = {o.right for o in code.evaluated if o.right is not None}
    problems: list[Problem] = []
    for a, area in enumerate(definition.areas):
        for m, measure in enumerate(area.measures):
            at = ("areas", a, "measures", m, measure.kind)

            def problem(message: str, at: tuple[str | int, ...] = at) -> None:
                problems.append(lines.problem(at, message))

            if measure.obligation:
                obligation = obligations.get(measure.obligation)
                if obligation is None:
                    problem(f"no obligation {measure.obligation!r} in the Victims' Code "
                            "(see docs/rules.md)")  # fmt: skip
                elif obligation.evaluate is None:
                    problem(f"{measure.obligation} is not evaluated from the data "
                            f"({obligation.not_evaluated}): use not_held")  # fmt: skip
            elif measure.right and measure.right not in evaluated_rights:
                problem(f"no obligation of Right {measure.right} is evaluated from the data: "
                        "use not_held")  # fmt: skip
            elif measure.metric:
                if measure.metric not in catalogue.metric_ids:
                    problem(f"no metric {measure.metric!r} in the catalogue "
                            "(see docs/metrics.md or `vcop metrics --list`)")  # fmt: skip
                    continue
                metric = catalogue.metric(measure.metric)
                if metric.kind != "proportion" or metric.group_by:
                    split = f" split by {', '.join(metric.group_by)}" if metric.group_by else ""
                    problem(f"{metric.id} is a {metric.kind}{split}: a return shows one proportion "
                            "per measure (for an obligation or a right, use obligation: or "
                            "right:)")  # fmt: skip
                elif AREA not in metric.breakdowns:
                    problem(f"{metric.id} cannot be broken down by {AREA}")
    for metric_id in (OBLIGATION_METRIC, RIGHT_METRIC):
        if (
            metric_id not in catalogue.metric_ids
            or AREA not in catalogue.metric(metric_id).breakdowns
        ):
            problems.append(Problem(lines.file, None,
                                    f"the catalogue has no {metric_id} by {AREA}, which every "
                                    "return needs"))  # fmt: skip
    return problems


def load_return(source: str | Path = MOJ_QUARTERLY) -> ReturnDefinition:
    """A return definition: a packaged name (``moj_quarterly``) or a path to a YAML file.

    Raises :class:`DefinitionError` listing every problem, each with the file and line.
    """
    entry: Traversable | Path
    if isinstance(source, Path) or source.endswith((".yaml", ".yml")):
        entry = Path(source)
        display = str(source)
    else:
        entry = package_root().joinpath(f"{source}.yaml")
        display = f"definitions/returns/{source}.yaml"
    if not entry.is_file():
        raise DefinitionError([Problem(display, None, "no such return definition")])
    data, lines = load_yaml(entry.read_text("utf-8"), display)
    if not isinstance(data, dict):
        raise DefinitionError([Problem(display, 1, "expected a mapping at the top of the file")])
    try:
        definition = ReturnDefinition.model_validate({**data, "file": display})
    except ValidationError as exc:
        raise DefinitionError(_validation_problems(exc, lines)) from exc
    problems = _id_problems(definition, lines)
    if problems:
        raise DefinitionError(problems)
    return definition
