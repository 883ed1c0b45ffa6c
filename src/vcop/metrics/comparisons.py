"""A family of comparisons judged together: entitlements clustered within victims, and the false
discovery rate controlled across every comparison an output states.

An output (the board paper) notes each comparison it states — a value against its previous or
year-before window — in a :class:`ComparisonFamily`, then settles the family once:

1. **Clustering.** For a ledger proportion (a compliance measure: :data:`~vcop.spec.metrics.LEDGER`
   source), the entitlements of each window are counted per victim (:func:`victim_counts`, one
   query per measure, breakdown and ledger state), each window's design effect is estimated from
   those counts (:func:`~vcop.metrics.multiplicity.design_effect`) and the test is redone on the
   effective sample sizes (:func:`~vcop.metrics.multiplicity.clustered_proportion_test`). Every
   other comparison keeps the engine's test (survey responses and incidents are one per case).
2. **Multiplicity.** The p-values of every comparison noted are adjusted together by
   Benjamini–Hochberg at the catalogue's significance level (1 - ``confidence``); a change is
   significant only when its adjusted p-value is at most that level.
3. **Size.** Each comparison carries the 95% interval of its change: Newcombe's interval on the
   effective sizes for proportions and shares, the interval the engine's test implies otherwise
   (:mod:`vcop.metrics.multiplicity`).

The counts per victim are checked against the engine's numerator and denominator for the same
window and group: a mismatch (a bug: the two would count different rows) stops the output.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from vcop.metrics import multiplicity as mult
from vcop.metrics.engine import quietly
from vcop.metrics.relations import Filters, metric_rows
from vcop.metrics.values import Comparison, Estimate, MetricValue
from vcop.spec.metrics import LEDGER, Catalogue, Metric

#: Which earlier window a comparison is against: the previous window, the year before, or (a
#: count's rolling 12 months) its long-term benchmark, the engine's ``benchmark``.
Earlier = Literal["previous", "year_ago", "benchmark"]
Group = tuple[str, ...]
#: A comparison's identity: metric, period, breakdown, group, which earlier window.
Key = tuple[str, str, str, Group, str]


def victim_counts(
    backend: ibis.BaseBackend,
    catalogue: Catalogue,
    metric: Metric,
    breakdown: Sequence[str],
    as_of: date,
    windows: Sequence[tuple[date, date]],
    *,
    seen_at: date | None = None,
    filters: Filters = (),
) -> dict[tuple[int, Group], mult.ClusterCounts]:
    """For each window (by its index in ``windows``) and group of ``breakdown`` (the metric's
    grouping, then any split), the cluster counts of the proportion ``metric`` with victims as
    clusters: the rows the engine counts (as they stood on ``seen_at``, if given), grouped by
    ``victim_id`` (a row with none is a cluster of its own)."""
    if metric.kind != "proportion" or metric.count_distinct is not None:
        raise ValueError(f"{metric.id}: only a plain proportion is counted per victim")
    with quietly():
        return _victim_counts(backend, catalogue, metric, breakdown, as_of, windows, seen_at,
                              filters)  # fmt: skip


def _victim_counts(
    backend: ibis.BaseBackend,
    catalogue: Catalogue,
    metric: Metric,
    breakdown: Sequence[str],
    as_of: date,
    windows: Sequence[tuple[date, date]],
    seen_at: date | None,
    filters: Filters,
) -> dict[tuple[int, Group], mult.ClusterCounts]:
    breakdowns = tuple(catalogue.breakdown(b) for b in breakdown)
    rows = metric_rows(backend, metric, breakdowns, as_of, filters, seen_at, keep=("victim_id",))
    wt = ibis.memtable(
        {
            "_w": list(range(len(windows))),
            "_ws": [w[0] for w in windows],
            "_we": [w[1] for w in windows],
        },
        schema={"_w": "int64", "_ws": "date", "_we": "date"},
    )
    j = rows.join(wt, [rows._d >= wt._ws, rows._d <= wt._we])
    gcols = ["_w", *(f"_g{i}" for i in range(len(breakdowns)))]
    own = ibis.row_number().over(ibis.window(order_by=[j._d]))
    j = j.mutate(_c=ibis.coalesce(j.victim_id.cast("string"), "\0" + own.cast("string")))
    per = j.group_by([*gcols, "_c"]).aggregate(m=j.count(), y=j.count(where=j._num))
    m, y = per.m.cast("int64"), per.y.cast("int64")
    agg: ir.Table = per.group_by(gcols).aggregate(
        k=per.count(),
        n=m.sum(),
        x=y.sum(),
        mm=(m * m).sum(),
        yy=(y * y).sum(),
        ym=(y * m).sum(),
    )
    out: dict[tuple[int, Group], mult.ClusterCounts] = {}
    records: list[dict[str, Any]] = backend.to_pyarrow(agg).to_pylist()
    for r in records:
        group = tuple(str(r[f"_g{i}"]) for i in range(len(breakdowns)))
        out[(int(r["_w"]), group)] = mult.ClusterCounts(
            int(r["k"]), int(r["n"]), int(r["x"]), int(r["mm"]), int(r["yy"]), int(r["ym"])
        )
    return out


@dataclass(frozen=True)
class Verdict:
    """What may be said about one comparison once the family is settled."""

    #: The test's p-value (for a ledger proportion, on the effective sample sizes).
    p_value: float
    #: Benjamini–Hochberg adjusted over the family.
    adjusted: float
    significant: bool
    #: The change (current minus earlier) and its 95% interval (None: none can be given).
    change: float
    interval: tuple[float, float] | None
    #: The design effects of the current and the earlier window (1: not clustered).
    deff: tuple[float, float] = (1.0, 1.0)
    #: Whether the measure counts entitlements clustered within victims (a ledger proportion).
    clustered: bool = False


def key_of(v: MetricValue, which: Earlier) -> Key:
    return (v.metric_id, v.period, v.breakdown_name, v.group, which)


def comparison_of(v: MetricValue, which: Earlier) -> Comparison | None:
    if which == "benchmark":
        e = v.current
        if v.benchmark is None or v.benchmark_p_value is None or e.value is None:
            return None
        return Comparison(
            Estimate(e.start, e.end, None, None, v.benchmark),
            e.value - v.benchmark,
            v.benchmark_p_value,
            "poisson_exact_conditional",
        )
    return v.previous if which == "previous" else v.year_ago


class ComparisonFamily:
    """The comparisons one output states, judged together (see the module docstring).

    :meth:`note` each comparison while the output is drafted, :meth:`settle` once, then ask
    :meth:`verdict`: after settling, a comparison that was not noted is an error (it would have
    escaped the adjustment)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.alpha = 1 - catalogue.settings.confidence
        self.confidence = catalogue.settings.confidence
        self._noted: dict[Key, tuple[MetricValue, Earlier]] = {}
        self._verdicts: dict[Key, Verdict] | None = None
        #: How many distinct tests the settled family holds (the m of Benjamini–Hochberg).
        self.hypotheses = 0

    @property
    def settled(self) -> bool:
        return self._verdicts is not None

    def verdicts(self) -> list[Verdict]:
        """Every settled verdict, in the order the comparisons were noted."""
        return list(self._verdicts.values()) if self._verdicts is not None else []

    def __len__(self) -> int:
        return len(self._verdicts if self._verdicts is not None else self._noted)

    def note(self, v: MetricValue, which: Earlier) -> None:
        """Note a comparison the output states (one with a test: a p-value)."""
        c = comparison_of(v, which)
        if c is None or c.p_value is None or c.change is None:
            return
        key = key_of(v, which)
        if self._verdicts is not None:
            if key not in self._verdicts:
                raise KeyError(f"comparison {key} was not in the family when it was settled")
            return
        self._noted.setdefault(key, (v, which))

    def verdict(self, v: MetricValue, which: Earlier) -> Verdict | None:
        """The settled verdict (None: no test, or the family is not settled yet)."""
        self.note(v, which)
        if self._verdicts is None:
            return None
        return self._verdicts.get(key_of(v, which))

    def clustered(self, metric_id: str) -> bool:
        """Whether a metric counts entitlements (clustered within victims)."""
        m = self.catalogue.metric(metric_id)
        return m.source == LEDGER and m.kind == "proportion" and m.count_distinct is None

    def settle(self, backend: ibis.BaseBackend | None) -> None:
        """Judge every comparison noted: design effects (from ``backend``'s ledger; None: no
        clustering can be measured, every design effect is 1), tests, then the false discovery
        rate over them all."""
        deffs = self._design_effects(backend) if backend is not None else {}
        keys = list(self._noted)
        tested: list[tuple[Key, float, float, tuple[float, float] | None, tuple[float, float]]] = []
        for key in keys:
            v, which = self._noted[key]
            c = comparison_of(v, which)
            assert c is not None and c.p_value is not None and c.change is not None
            now, then = v.current, c.estimate
            d = deffs.get(key, (1.0, 1.0))
            p = c.p_value
            interval: tuple[float, float] | None
            if v.kind in ("proportion", "share"):
                x1, n1 = now.numerator or 0, now.denominator or 0
                x2, n2 = then.numerator or 0, then.denominator or 0
                if key in deffs:
                    result = mult.clustered_proportion_test(x1, n1, d[0], x2, n2, d[1])
                    p = result.p_value if result is not None else p
                interval = mult.proportion_difference_interval(
                    x1, n1, x2, n2, deff1=d[0], deff2=d[1], confidence=self.confidence
                )
            else:
                interval = mult.interval_from_test(c.change, p, self.confidence)
            tested.append((key, p, c.change, interval, d))
        # one hypothesis per distinct test: the same figures compared twice (a right with a
        # single obligation, a measure quoted by right and by obligation) are one comparison
        hypotheses: dict[tuple[object, ...], int] = {}
        which_test = [
            hypotheses.setdefault(self._identity(key, d), len(hypotheses))
            for key, _, _, _, d in tested
        ]
        p_of = [1.0] * len(hypotheses)
        for (_, p, _, _, _), h in zip(tested, which_test, strict=True):
            p_of[h] = p
        found = mult.benjamini_hochberg(p_of, self.alpha)
        self.hypotheses = len(hypotheses)
        self._verdicts = {
            key: Verdict(p, found[h].adjusted, found[h].significant, change, interval, d,
                         key in deffs)
            for (key, p, change, interval, d), h in zip(tested, which_test, strict=True)
        }  # fmt: skip

    def _identity(self, key: Key, deff: tuple[float, float]) -> tuple[object, ...]:
        """What makes two comparisons the same test: the same kind of figure, with the same
        windows, counts and values on both sides (and the same design effects)."""
        v, which = self._noted[key]
        c = comparison_of(v, which)
        assert c is not None
        a, b = v.current, c.estimate
        return (v.kind, a.start, a.end, a.numerator, a.denominator, a.value,
                b.start, b.end, b.numerator, b.denominator, b.value, c.seen_at, deff)  # fmt: skip

    def _design_effects(self, backend: ibis.BaseBackend) -> dict[Key, tuple[float, float]]:
        """The design effects of the current and earlier window of every clustered comparison:
        one query per metric, breakdown and ledger state (as of now, or as it stood)."""
        # (metric, breakdown, seen_at) -> windows wanted, and which comparison wants them
        plans: dict[tuple[str, tuple[str, ...], date | None], list[tuple[date, date]]] = (
            defaultdict(list)
        )
        wanted: list[tuple[Key, MetricValue, Comparison]] = []
        for key, (v, which) in self._noted.items():
            if not self.clustered(v.metric_id):
                continue
            c = comparison_of(v, which)
            assert c is not None
            now = (v.metric_id, v.breakdown, None)
            then = (v.metric_id, v.breakdown, c.seen_at)
            for plan, e in ((now, v.current), (then, c.estimate)):
                if (e.start, e.end) not in plans[plan]:
                    plans[plan].append((e.start, e.end))
            wanted.append((key, v, c))
        counts: dict[tuple[str, tuple[str, ...], date | None], dict[Any, mult.ClusterCounts]] = {}
        for (metric_id, breakdown, seen_at), windows in plans.items():
            as_of = next(v.as_of for k, v, _ in wanted if k[0] == metric_id)
            counts[(metric_id, breakdown, seen_at)] = victim_counts(
                backend, self.catalogue, self.catalogue.metric(metric_id), breakdown, as_of,
                windows, seen_at=seen_at,
            )  # fmt: skip
        out: dict[Key, tuple[float, float]] = {}
        for key, v, c in wanted:
            pair = []
            for seen_at, e in ((None, v.current), (c.seen_at, c.estimate)):
                plan = (v.metric_id, v.breakdown, seen_at)
                w = plans[plan].index((e.start, e.end))
                cc = counts[plan].get((w, v.group))
                got = (cc.x, cc.n) if cc is not None else (0, 0)
                if got != (e.numerator or 0, e.denominator or 0):
                    raise RuntimeError(
                        f"{v.metric_id} {v.group} {e.start}–{e.end}: counted per victim "
                        f"{got[0]}/{got[1]}, the engine {e.numerator}/{e.denominator}"
                    )
                pair.append(mult.design_effect(cc) if cc is not None else 1.0)
            out[key] = (pair[0], pair[1])
        return out
