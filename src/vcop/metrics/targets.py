"""Targets: data with provenance, in a file the force edits (``targets.yaml``).

vcop ships no targets of its own. A force writes the targets it has adopted (in its Police and
Crime Plan, a board decision, a national standard it has signed up to) into ``targets.yaml`` in
its settings folder — beside the database unless the ``targets_file`` setting (environment
variable ``VCOP_TARGETS_FILE``) names another file — one entry per target::

    targets:
      - metric: victim_updates_on_time
        value: 0.9                      # a proportion is written 0.9, a duration in its unit
        source: Police and Crime Plan 2024-28, victims priority 2
        adopted: true                   # false: recorded, but never shown or judged against
        effective_from: 2024-04-01
        effective_to: null              # open-ended
        basis: aggregate                # aggregate: the figure itself; per_incident: each case

The same file records when a process changed, so that SPC judges the months since afresh
(rebasing, as NHSRplotthedots does) — beside the dates the catalogue declares::

    spc_rebase:
      - metric: victim_updates_on_time
        month: 2024-10-01              # the first day of the first month of the new process
        reason: victim care unit took over updates (board decision, September 2024)

A target drives the SPC assurance reading and the board paper's words only when it is adopted
and in force on the as-of date, and only when its basis is ``aggregate``: a per-incident standard
("each emergency attended within 15 minutes") says nothing about a median, so it is shown with
its source but not judged against the median.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from vcop.spec.check import DefinitionError, Problem, load_yaml
from vcop.spec.metrics import Catalogue, load_catalogue

TARGETS_FILE = "targets.yaml"
Basis = Literal["aggregate", "per_incident"]


class Target(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    value: float
    source: str
    adopted: bool = False
    effective_from: date | None = None
    effective_to: date | None = None
    basis: Basis = "aggregate"

    def in_force(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


class Rebase(BaseModel):
    """A month from which a metric's SPC limits are computed afresh, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    month: date
    reason: str


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: tuple[Target, ...] = ()
    spc_rebase: tuple[Rebase, ...] = ()


@dataclass(frozen=True)
class TargetReading:
    """What a value shows of its metric's target on one as-of date."""

    #: The value to judge against: set only for an adopted, in-force, aggregate target.
    value: float | None
    target: Target | None

    @property
    def judged(self) -> bool:
        return self.value is not None


NO_TARGET = TargetReading(None, None)


@dataclass(frozen=True)
class Targets:
    """Every target a force has written down (adopted or not), and where they came from."""

    targets: tuple[Target, ...] = ()
    path: Path | None = None
    #: The force's own SPC rebase months (added to the catalogue's).
    rebases: tuple[Rebase, ...] = ()

    def rebase_months(self, metric_id: str) -> tuple[date, ...]:
        """The months from which the force has ``metric_id`` judged afresh."""
        return tuple(sorted({r.month for r in self.rebases if r.metric == metric_id}))

    def for_metric(self, metric_id: str, as_of: date) -> TargetReading:
        """The target of ``metric_id`` on ``as_of``: the adopted one in force if there is one,
        else the latest one written down (shown with its provenance, never judged against)."""
        mine = [t for t in self.targets if t.metric == metric_id]
        live = [t for t in mine if t.adopted and t.in_force(as_of)]
        if live:
            t = live[-1]
            return TargetReading(t.value if t.basis == "aggregate" else None, t)
        return TargetReading(None, mine[-1]) if mine else NO_TARGET


NONE = Targets()


def targets_path(db: Path | None) -> Path | None:
    """Where the targets file is: the ``metrics.targets_file`` setting (``VCOP_TARGETS_FILE``
    or ``VCOP_METRICS_TARGETS_FILE``, or the settings file), else ``targets.yaml`` beside ``db``."""
    from vcop.config import load_settings

    configured = os.environ.get("VCOP_METRICS_TARGETS_FILE") or os.environ.get("VCOP_TARGETS_FILE")
    if configured:
        return Path(configured)
    if db is None:
        return None
    return load_settings(Path(db)).targets_path


def load_targets(path: Path | None, catalogue: Catalogue | None = None) -> Targets:
    """The targets in ``path`` (none when the file does not exist), checked against
    ``catalogue`` (the packaged one by default). Raises :class:`DefinitionError` naming the file
    and line of every problem."""
    if path is None or not path.exists():
        return NONE
    data, lines = load_yaml(path.read_text("utf-8"), str(path))
    try:
        parsed = _File.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = tuple(error["loc"])
            field = ".".join(str(p) for p in where)
            problems.append(lines.problem(where, f"{field}: {error['msg']}"))
        raise DefinitionError(problems) from exc
    catalogue = catalogue or load_catalogue()
    problems = []
    for i, t in enumerate(parsed.targets):
        loc = ("targets", i)
        if t.metric not in catalogue.metric_ids:
            problems.append(lines.problem((*loc, "metric"), f"no metric {t.metric!r}"))
            continue
        m = catalogue.metric(t.metric)
        if m.polarity == "neutral":
            problems.append(
                lines.problem((*loc, "metric"), f"{m.id}: a neutral metric cannot have a target")
            )
        if m.unit == "proportion" and not 0 <= t.value <= 1:
            problems.append(
                lines.problem(
                    (*loc, "value"), f"{m.id}: a proportion target is between 0 and 1 (0.9 = 90%)"
                )
            )
        if t.effective_from and t.effective_to and t.effective_to < t.effective_from:
            problems.append(
                lines.problem(
                    (*loc, "effective_to"), f"{m.id}: effective_to is before effective_from"
                )
            )
    for i, r in enumerate(parsed.spc_rebase):
        loc = ("spc_rebase", i)
        if r.metric not in catalogue.metric_ids:
            problems.append(lines.problem((*loc, "metric"), f"no metric {r.metric!r}"))
        if r.month.day != 1:
            problems.append(
                lines.problem((*loc, "month"), f"{r.metric}: {r.month} is not the first of a month")
            )
        if not r.reason.strip():
            problems.append(lines.problem((*loc, "reason"), f"{r.metric}: say why (reason)"))
    if problems:
        raise DefinitionError(problems)
    return Targets(parsed.targets, path, parsed.spc_rebase)


def targets_for_db(db: Path | None, catalogue: Catalogue | None = None) -> Targets:
    """The targets a force keeps beside database ``db`` (or at ``VCOP_TARGETS_FILE``)."""
    return load_targets(targets_path(db), catalogue)


__all__ = [
    "NONE",
    "NO_TARGET",
    "Problem",
    "Target",
    "TargetReading",
    "Targets",
    "load_targets",
    "targets_for_db",
    "targets_path",
]
