"""Rates per 1,000 residents: a count divided by the population of its group, once, for every
consumer (the board paper, the dashboard).

The population is a table the force loads like any extract (``population.csv``: area, district,
population, source; one row per district — the schema's ``population`` table). An area's
population is the sum of its districts', the force's the sum of every district. A metric declares
that it may be given per 1,000 residents (``per_1000_residents: true``, counts only); a value of it
for the whole force, an area or a district then has a rate, and any other group (a crime type, a
flag) has none, as residents are not divided that way.

The population is one figure per district, not one per year: a rate for an earlier window (a year
before) divides by the same residents, which :data:`SAME_POPULATION` says wherever it is shown.
Without rows in the table (or without the table), there is no rate: never an invented one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis

from vcop.metrics.engine import has_table, quietly
from vcop.metrics.values import MetricValue
from vcop.spec.metrics import Metric

#: Which window of a value a rate is for.
Window = Literal["current", "previous", "year_ago"]

#: What a reader must know about a rate for an earlier window.
SAME_POPULATION = (
    "rates per 1,000 residents divide each period's count by the same population (the "
    "population table holds one figure per district, not one per year)"
)


@dataclass(frozen=True)
class District:
    area: str
    district: str
    population: int
    source: str


@dataclass(frozen=True)
class Population:
    """The residents of each district, as loaded."""

    districts: tuple[District, ...]

    def of(self, breakdown: tuple[str, ...], group: tuple[str, ...]) -> int | None:
        """The residents of a value's group: the force (no breakdown), an area or a district;
        None for any other breakdown or a group the table does not hold."""
        if not breakdown:
            rows = list(self.districts)
        elif breakdown == ("area",):
            rows = [d for d in self.districts if d.area == group[0]]
        elif breakdown == ("district",):
            rows = [d for d in self.districts if d.district == group[0]]
        else:
            return None
        total = sum(d.population for d in rows)
        return total or None

    @property
    def sources(self) -> tuple[str, ...]:
        """Every distinct source line, in the table's order."""
        return tuple(dict.fromkeys(d.source for d in self.districts))


@dataclass(frozen=True)
class Rate:
    """A count per 1,000 residents: ``count`` / ``population`` × 1,000."""

    count: int
    population: int
    value: float


def load_population(backend: ibis.BaseBackend | None) -> Population | None:
    """The ``population`` table of ``backend``'s database; None when it is absent or empty."""
    if backend is None:
        return None
    with quietly():
        if not has_table(backend, "population"):  # a database made before the table existed
            return None
        t = backend.table("population")
        expr = (
            t.filter(t.population.notnull() & (t.population > 0))
            .select("area", "district", "population", "source")
            .order_by(["area", "district"])
        )
        rows = backend.to_pyarrow(expr).to_pylist()
    if not rows:
        return None
    return Population(
        tuple(
            District(str(r["area"]), str(r["district"]), int(r["population"]), str(r["source"]))
            for r in rows
        )
    )


def per_1000(
    metric: Metric,
    v: MetricValue,
    population: Population | None,
    which: Window = "current",
) -> Rate | None:
    """``v``'s count per 1,000 residents of its group, for one window; None when the metric
    has no such rate, the population is not loaded or does not cover the group, or the count is
    blank (hidden or absent)."""
    if population is None or not metric.per_1000_residents or metric.id != v.metric_id:
        return None
    residents = population.of(v.breakdown, v.group)
    if residents is None:
        return None
    if which == "current":
        count = v.current.numerator
    else:
        c = v.previous if which == "previous" else v.year_ago
        count = c.estimate.numerator if c is not None else None
    if count is None or v.suppressed:
        return None
    return Rate(count, residents, 1000 * count / residents)
