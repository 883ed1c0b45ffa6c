"""Small-number suppression: the one layer every partner and public output goes through.

A published count from 1 to ``threshold - 1`` (default 10, the ``suppression_threshold`` setting)
could point at a handful of identifiable victims, so it is hidden. Zero is shown: it describes
nobody. The rules:

* **Primary.** A figure is suppressed when any count it publishes or lets a reader work out is
  small: for a proportion its numerator, its denominator and the difference between them (96 of
  100 reveals 4); for a count the count; for a median or mean its sample size. Everything
  computed from a suppressed figure (value, interval, change, p-value, benchmark) goes with it.
* **Secondary.** The groups of a breakdown add up to a total that is published anyway (the
  force-wide figure), so hiding one small group is useless: it is the total minus the others. In
  each set of groups that add up to a total, either nothing is hidden, or at least two groups are
  and together they hold no small count in any column (sum of hidden numerators, of hidden
  denominators, …); until then the smallest visible group is hidden too. A table split two ways
  (for example obligation × area) is checked along both ways, repeatedly, until nothing changes —
  the usual heuristic for two-way tables, not a full audit of every linear combination.
* The earlier windows a figure is compared with (previous period, year before) publish their own
  values and sample sizes, so each is put through the same two rules as a table of its own.

:func:`suppress` is the pure core (counts in, hidden flags out) that the property tests exercise;
:func:`publish` applies it to metric values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

from vcop.metrics.values import Comparison, Estimate, MetricValue

DEFAULT_THRESHOLD = 10


def is_small(count: int | None, threshold: int) -> bool:
    """1 to ``threshold - 1``: a count that could identify somebody."""
    return count is not None and 0 < count < threshold


def suppress(
    counts: Sequence[tuple[int, ...]],
    additive: Sequence[tuple[int, ...]],
    sets: Sequence[Sequence[int]],
    threshold: int = DEFAULT_THRESHOLD,
) -> list[bool]:
    """Which cells to hide.

    ``counts[i]``: every count cell ``i`` reveals (primary rule); ``additive[i]``: the counts of
    cell ``i`` that add up over a set; ``sets``: lists of cell indexes whose additive counts sum
    to a total a reader may know.
    """
    hidden = [any(is_small(c, threshold) for c in cs) for cs in counts]
    changed = True
    while changed:
        changed = False
        for members in sets:
            while True:
                gone = [i for i in members if hidden[i]]
                if not gone:
                    break
                width = max(len(additive[i]) for i in members)
                sums = [
                    sum(additive[i][k] for i in gone if k < len(additive[i])) for k in range(width)
                ]
                if len(gone) > 1 and not any(is_small(s, threshold) for s in sums):
                    break
                visible = [i for i in members if not hidden[i]]
                if not visible:
                    break
                smallest = min(visible, key=lambda i: (sum(additive[i]), i))
                hidden[smallest] = True
                changed = True
    return hidden


def _sets(keys: Sequence[tuple[Hashable, tuple[str, ...]]]) -> list[list[int]]:
    """Sets of cells that add up: same table, and along each dimension of the group key."""
    out: list[list[int]] = []
    tables: dict[Hashable, list[int]] = defaultdict(list)
    for i, (table, _) in enumerate(keys):
        tables[table].append(i)
    for members in tables.values():
        dims = len(keys[members[0]][1])
        for d in range(dims):
            along: dict[tuple[str, ...], list[int]] = defaultdict(list)
            for i in members:
                group = keys[i][1]
                along[group[:d] + group[d + 1 :]].append(i)
            out.extend(m for m in along.values() if len(m) > 1)
    return out


def _blank(e: Estimate) -> Estimate:
    return replace(e, numerator=None, denominator=None, value=None, ci_low=None, ci_high=None)


def _comparison(c: Comparison | None, hide_estimate: bool, hide_change: bool) -> Comparison | None:
    """Blank an earlier window's figure, or only what links it to a hidden current figure."""
    if c is None:
        return None
    if hide_estimate:
        return replace(c, estimate=_blank(c.estimate), change=None, p_value=None)
    if hide_change:
        return replace(c, change=None, p_value=None)
    return c


def publish(values: Sequence[MetricValue], threshold: int = DEFAULT_THRESHOLD) -> list[MetricValue]:
    """``values`` made safe to publish: small numbers and what reveals them hidden.

    A value whose current figure is hidden is marked ``suppressed`` (and its change and p-values
    go, as they would reveal it); a hidden earlier figure is blanked (value, sample size, change,
    p-value) while the current figure stands.
    """
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    keys = [((v.metric_id, v.period, v.breakdown), v.group) for v in values]
    sets = _sets(keys)

    def run(pick: Callable[[MetricValue], Estimate | None]) -> list[bool]:
        estimates = [pick(v) for v in values]
        counts = [e.counts(v.kind) if e else () for e, v in zip(estimates, values, strict=True)]
        additive = [
            e.additive(v.kind) if e else (0,) for e, v in zip(estimates, values, strict=True)
        ]
        return suppress(counts, additive, sets, threshold)

    now = run(lambda v: v.current)
    before = run(lambda v: v.previous.estimate if v.previous else None)
    year = run(lambda v: v.year_ago.estimate if v.year_ago else None)
    out = []
    for v, h_now, h_before, h_year in zip(values, now, before, year, strict=True):
        previous = _comparison(v.previous, h_before, h_now)
        year_ago = _comparison(v.year_ago, h_year, h_now)
        if h_now:
            v = replace(
                v,
                current=_blank(v.current),
                benchmark=None,
                benchmark_significant=None,
                benchmark_p_value=None,
                suppressed=True,
            )
        out.append(replace(v, previous=previous, year_ago=year_ago))
    return out
