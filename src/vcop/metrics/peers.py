"""Most-similar-forces comparison: each force's figure beside its peer group's.

The peer groups are data (``definitions/synth/forces.yaml``, :mod:`vcop.spec.forces`): each force's
peers are the forces nearest to it in size in that table. They are derived, not HMICFRS's most
similar forces groups (which could not be read where vcop was built), and say so wherever shown.

A peer group's figure pools the peers present in the values: for a proportion or share, the peers'
numerators over their denominators; for a median or mean, the mean of the peers' values. Counts
are left out (a count follows the force's size). A force none of whose peers is in the values gets
no peer figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vcop.metrics.values import MetricValue
from vcop.spec.forces import Forces

#: How the peer groups are made, for every place that shows them.
PEER_NOTE = (
    "peers: the forces nearest in size in vcop's table of forces (definitions/synth/forces.yaml); "
    "derived, not the HMICFRS most similar forces groups"
)
FORCE = "force"


@dataclass(frozen=True)
class PeerFigure:
    """One force's figure for one metric (and group of the metric's own grouping), beside its
    peer group's."""

    metric_id: str
    group: tuple[str, ...]  # the metric's own grouping (e.g. agency, right), without the force
    force: str
    value: float
    peers: tuple[str, ...]  # the peers present in the values, by name
    peer_value: float | None


def peer_figures(values: Iterable[MetricValue], forces: Forces) -> list[PeerFigure]:
    """The peer comparison of every value split by force (its last breakdown)."""
    by_name = {f.force: f for f in forces.forces}
    name_of = {f.code: f.force for f in forces.forces}
    cells: dict[tuple[str, tuple[str, ...]], dict[str, MetricValue]] = {}
    for v in values:
        if not v.breakdown or v.breakdown[-1] != FORCE or v.current.value is None:
            continue
        if v.kind == "count":  # a count follows the force's size: its peers' mean says nothing
            continue
        cells.setdefault((v.metric_id, v.group[:-1]), {})[v.group[-1]] = v
    out: list[PeerFigure] = []
    for (metric_id, group), by_force in sorted(cells.items()):
        for force, v in sorted(by_force.items()):
            known = by_name.get(force)
            peers = tuple(
                name_of[c] for c in (known.peers if known else ()) if name_of[c] in by_force
            )
            assert v.current.value is not None
            out.append(
                PeerFigure(
                    metric_id,
                    group,
                    force,
                    v.current.value,
                    peers,
                    _pooled([by_force[p] for p in peers]),
                )
            )
    return out


def _pooled(values: Sequence[MetricValue]) -> float | None:
    if not values:
        return None
    if values[0].kind in ("proportion", "share"):
        num = sum(v.current.numerator or 0 for v in values)
        den = sum(v.current.denominator or 0 for v in values)
        return num / den if den else None
    got = [v.current.value for v in values if v.current.value is not None]
    return sum(got) / len(got) if got else None
