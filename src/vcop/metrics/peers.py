"""Most-similar-forces comparison: each force's figure beside its peer group's.

The peer groups are data (``definitions/synth/forces.yaml``, :mod:`vcop.spec.forces`): each force's
peers are the forces nearest to it in size in that table. They are derived, not HMICFRS's most
similar forces groups (which could not be read where vcop was built), and say so wherever shown.

A peer group's figure pools the peers present in the values: for a proportion or share, the peers'
numerators over their denominators (with its Wilson interval); for a median or mean, the mean of
the peers' values (no interval: the peers' samples are not pooled). Counts are left out (a count
follows the force's size). A force none of whose peers is in the values gets no peer figure.

A proportion or share is tested against its peer group's pooled figure with the tests every other
comparison uses (:mod:`vcop.metrics.groups`): the engine's two-proportion test, or — given each
force's counts per victim, for a ledger proportion whose entitlements cluster within victims — the
same test on the effective sample sizes (:func:`vcop.metrics.multiplicity.clustered_proportion_test`).
The p-values of one measure's forces are adjusted together by Benjamini–Hochberg at the catalogue's
significance level, so a force is called different from its peers only when that is unlikely to be
chance across all the forces compared. Medians and means are not tested (the engine keeps no
per-row data for them), and a hidden figure is never compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from vcop.metrics import multiplicity as mult
from vcop.metrics.stats import CONFIDENCE, two_proportion_test, wilson_interval
from vcop.metrics.values import MetricValue
from vcop.spec.forces import Forces

#: How the peer groups are made, for every place that shows them.
PEER_NOTE = (
    "peers: the forces nearest in size in vcop's table of forces (definitions/synth/forces.yaml); "
    "derived, not the HMICFRS most similar forces groups"
)
FORCE = "force"
#: The kinds whose figure is a count out of a whole, pooled and tested against the peers.
POOLED = ("proportion", "share")

Group = tuple[str, ...]
#: Each metric's counts per victim, per group of its grouping and the force (last).
Clusters = Mapping[str, Mapping[Group, mult.ClusterCounts]]


@dataclass(frozen=True)
class PeerFigure:
    """One force's figure for one metric (and group of the metric's own grouping), beside its
    peer group's, and the test of the one against the other."""

    metric_id: str
    group: tuple[str, ...]  # the metric's own grouping (e.g. agency, right), without the force
    force: str
    value: float
    peers: tuple[str, ...]  # the peers present in the values, by name
    peer_value: float | None
    #: The force's own value, as the engine made it (interval, n, provisional …).
    own: MetricValue | None = None
    #: The peers' pooled counts (a proportion or share) and its interval.
    peer_numerator: int | None = None
    peer_denominator: int | None = None
    peer_ci: tuple[float, float] | None = None
    #: Some peer's figure is provisional (its period too young to be complete).
    peer_provisional: bool = False
    #: The force's figure less its peers' (None: no peer figure).
    difference: float | None = None
    #: The interval of the difference (Newcombe's, on the effective sizes), for a tested figure.
    difference_ci: tuple[float, float] | None = None
    p_value: float | None = None
    #: Benjamini–Hochberg adjusted over every force of the same measure (and group) tested.
    adjusted: float | None = None
    significant: bool | None = None
    method: str | None = None
    #: Why the force was not tested against its peers (None: it was).
    reason: str | None = None

    @property
    def tested(self) -> bool:
        return self.reason is None and self.significant is not None


def peer_figures(
    values: Iterable[MetricValue],
    forces: Forces,
    *,
    confidence: float = CONFIDENCE,
    clusters: Clusters | None = None,
) -> list[PeerFigure]:
    """The peer comparison of every value split by force (its last breakdown), each tested
    against its peers (see the module docstring); ``clusters``: per metric, the counts per victim
    of each group (the metric's grouping and the force), for a clustered proportion."""
    by_name = {f.force: f for f in forces.forces}
    name_of = {f.code: f.force for f in forces.forces}
    cells: dict[tuple[str, Group], dict[str, MetricValue]] = {}
    for v in values:
        if not v.breakdown or v.breakdown[-1] != FORCE or v.current.value is None:
            continue
        if v.kind == "count":  # a count follows the force's size: its peers' mean says nothing
            continue
        cells.setdefault((v.metric_id, v.group[:-1]), {})[v.group[-1]] = v
    out: list[PeerFigure] = []
    for (metric_id, group), by_force in sorted(cells.items()):
        of_metric = (clusters or {}).get(metric_id)
        figures = []
        for force, v in sorted(by_force.items()):
            known = by_name.get(force)
            peers = tuple(
                name_of[c] for c in (known.peers if known else ()) if name_of[c] in by_force
            )
            figures.append(_figure(v, group, force, peers, [by_force[p] for p in peers], of_metric))
        out.extend(_adjusted(figures, confidence))
    return out


def _figure(
    v: MetricValue,
    group: Group,
    force: str,
    peers: tuple[str, ...],
    theirs: Sequence[MetricValue],
    clusters: Mapping[Group, mult.ClusterCounts] | None,
) -> PeerFigure:
    assert v.current.value is not None
    value = v.current.value
    peer_value = _pooled(theirs)
    base = PeerFigure(
        v.metric_id, group, force, value, peers, peer_value, own=v,
        peer_provisional=any(p.provisional for p in theirs),
        difference=None if peer_value is None else value - peer_value,
    )  # fmt: skip
    if not theirs:
        return replace(base, reason="no peer of this force is in these figures")
    if v.kind not in POOLED:
        return replace(base, reason="only proportions and shares are tested against peers")
    if v.suppressed or any(p.suppressed for p in theirs):
        return replace(base, reason="a figure of the comparison is hidden")
    x, n = v.current.numerator or 0, v.current.denominator or 0
    big_x = sum(p.current.numerator or 0 for p in theirs)
    big_n = sum(p.current.denominator or 0 for p in theirs)
    base = replace(
        base, peer_numerator=big_x, peer_denominator=big_n,
        peer_ci=wilson_interval(big_x, big_n) if big_n else None,
    )  # fmt: skip
    deff = (1.0, 1.0)
    mine = clusters.get((*group, force)) if clusters is not None else None
    pooled = [clusters.get((*group, p.group[-1])) for p in theirs] if clusters is not None else []
    if mine is not None and pooled and all(c is not None for c in pooled):
        together = _sum([c for c in pooled if c is not None])
        deff = (mult.design_effect(mine), mult.design_effect(together))
        result = mult.clustered_proportion_test(x, n, deff[0], big_x, big_n, deff[1])
    else:
        result = two_proportion_test(x, n, big_x, big_n)
    if result is None:
        return replace(base, reason="no cases to compare")
    ci = mult.proportion_difference_interval(
        x, n, big_x, big_n, deff1=deff[0], deff2=deff[1]
    )  # fmt: skip
    return replace(base, p_value=result.p_value, method=result.method, difference_ci=ci)


def _adjusted(figures: list[PeerFigure], confidence: float) -> list[PeerFigure]:
    """``figures`` (one measure's forces) with their p-values adjusted together."""
    tested = [i for i, f in enumerate(figures) if f.reason is None and f.p_value is not None]
    found = mult.benjamini_hochberg([figures[i].p_value or 0.0 for i in tested], 1 - confidence)
    out = list(figures)
    for i, d in zip(tested, found, strict=True):
        out[i] = replace(out[i], adjusted=d.adjusted, significant=d.significant)
    return out


def _sum(counts: Sequence[mult.ClusterCounts]) -> mult.ClusterCounts:
    return mult.ClusterCounts(
        sum(c.clusters for c in counts), sum(c.n for c in counts), sum(c.x for c in counts),
        sum(c.sum_mm for c in counts), sum(c.sum_yy for c in counts),
        sum(c.sum_ym for c in counts),
    )  # fmt: skip


def _pooled(values: Sequence[MetricValue]) -> float | None:
    if not values:
        return None
    if values[0].kind in POOLED:
        num = sum(v.current.numerator or 0 for v in values)
        den = sum(v.current.denominator or 0 for v in values)
        return num / den if den else None
    got = [v.current.value for v in values if v.current.value is not None]
    return sum(got) / len(got) if got else None
