"""The dip sample: a reproducible, stratified random sample of finalised cases for quality review.

Cases are crimes finalised (given an outcome) in the quarter that have at least one victim in the
entitlement ledger. Strata are (area, crime type). The sample size is shared between strata in
proportion to their weighted size (largest remainders), and drawn within each stratum by weighted
sampling without replacement (Efraimidis–Spirakis keys ``u ** (1 / w)``). A case whose victim has
enhanced rights weighs ``enhanced_weight``, and a case that reached court (a hearing was listed, or a
verdict or sentence recorded) weighs ``court_weight``; a case that is both weighs their product
(1 = no over-representation), so the later rights are tested too. The same data, quarter, size,
weights and seed always give the same sample.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

import duckdb


class SampleError(ValueError):
    """A sample that cannot be drawn, with a reason a person can act on."""


@dataclass(frozen=True)
class Case:
    crime_id: str
    area: str
    crime_type: str
    outcome_at: dt.datetime
    enhanced: bool
    #: A hearing was listed, or a verdict or sentence recorded (the case reached court).
    court: bool = False

    @property
    def stratum(self) -> tuple[str, str]:
        return (self.area, self.crime_type)


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """'2025Q1' → (2025-01-01, 2025-03-31): calendar quarters."""
    match = re.fullmatch(r"(\d{4})\s*[Qq]([1-4])", quarter.strip())
    if not match:
        raise SampleError(f"quarter {quarter!r} is not like 2025Q1")
    year, q = int(match.group(1)), int(match.group(2))
    start = dt.date(year, 3 * q - 2, 1)
    end = (dt.date(year + (q == 4), (3 * q) % 12 + 1, 1)) - dt.timedelta(days=1)
    return start, end


#: The case events that show a case reached court.
COURT_EVENTS = ("hearing_listed", "verdict", "sentenced")


def finalised_cases(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> list[Case]:
    has_events = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'case_events'"
    ).fetchall()[0][0]
    court = (
        "c.crime_id IN (SELECT crime_id FROM case_events WHERE list_contains(?, event_type))"
        if has_events
        else "false AND ? IS NOT NULL"
    )
    rows = con.execute(
        f"""
        SELECT c.crime_id, coalesce(c.area, 'Not known'), c.crime_type, c.outcome_at,
               bool_or(coalesce(e.enhanced, false)), {court}
        FROM crimes c JOIN entitlements e USING (crime_id)
        WHERE c.outcome_at::DATE BETWEEN ? AND ?
        GROUP BY ALL ORDER BY c.crime_id
        """,
        [list(COURT_EVENTS), start, end],
    ).fetchall()
    return [Case(*r) for r in rows]


def allocate(sizes: dict[tuple[str, str], float], n: int) -> dict[tuple[str, str], int]:
    """Share ``n`` between strata in proportion to ``sizes`` by largest remainders (ties by name)."""
    total = sum(sizes.values())
    quotas = {s: n * w / total for s, w in sizes.items()}
    shares = {s: int(q) for s, q in quotas.items()}
    left = n - sum(shares.values())
    for s in sorted(quotas, key=lambda s: (-(quotas[s] - shares[s]), s))[:left]:
        shares[s] += 1
    return shares


def draw(
    cases: list[Case],
    *,
    n: int,
    seed: int,
    enhanced_weight: float = 1.0,
    court_weight: float = 1.0,
) -> list[Case]:
    """The sample, in stratum then draw order."""
    if n < 1:
        raise SampleError("--n must be at least 1")
    if enhanced_weight < 1:
        raise SampleError("--enhanced-weight must be 1 or more (1: no over-representation)")
    if court_weight < 1:
        raise SampleError("--court-weight must be 1 or more (1: no over-representation)")
    if len(cases) <= n:
        return sorted(cases, key=lambda c: (c.stratum, c.crime_id))
    weight = {
        c.crime_id: (enhanced_weight if c.enhanced else 1.0) * (court_weight if c.court else 1.0)
        for c in cases
    }
    strata: dict[tuple[str, str], list[Case]] = {}
    for c in sorted(cases, key=lambda c: c.crime_id):
        strata.setdefault(c.stratum, []).append(c)
    shares = allocate({s: sum(weight[c.crime_id] for c in cs) for s, cs in strata.items()}, n)
    # bandit B311: a reproducible audit sample, not a secret
    rng = random.Random(seed)  # nosec B311
    chosen: list[Case] = []
    for stratum in sorted(strata):
        members = strata[stratum]
        keys = [(rng.random() ** (1.0 / weight[c.crime_id]), c) for c in members]
        keys.sort(key=lambda kc: (-kc[0], kc[1].crime_id))
        chosen.extend(c for _, c in keys[: min(shares.get(stratum, 0), len(members))])
    return chosen


def case_ledger(
    con: duckdb.DuckDBPyConnection, crime_ids: list[str]
) -> tuple[list[str], list[tuple[object, ...]]]:
    """Every ledger row of the sampled cases."""
    if not crime_ids:
        return [], []
    cur = con.execute(
        """
        SELECT crime_id, victim_id, obligation_id, "right", owner, trigger_at, due_date, met_at,
               status, enhanced, enhanced_reason, reason, as_of, definitions_hash
        FROM entitlements WHERE list_contains(?, crime_id)
        ORDER BY crime_id, victim_id, due_date, obligation_id
        """,
        [crime_ids],
    )
    return [d[0] for d in cur.description], cur.fetchall()
