"""What drove a change: each group's contribution to the change in a whole's figure.

A rate over a whole (the force) is the mix of its groups' rates (areas, districts, crime types,
obligations): with ``D`` the denominators, ``N`` the numerators, ``w = D_g / D`` a group's share
of the whole's denominator and ``r = N_g / D_g`` its own rate, the whole's rate is ``R = Σ w r``.
Its change from an earlier window (0) to the current one (1) is split exactly among the groups
(Kitagawa's decomposition, centred):

    contribution_g = rate_g + mix_g
    rate_g = w̄_g (r1_g - r0_g)           its own rate moved, weighted by its average size
    mix_g  = (w1_g - w0_g) (r̄_g - R̄)     it grew or shrank, and it sits above or below the whole

where a bar is the average of the two windows. The contributions add up to ``R1 - R0`` exactly
(``Σ (w1 - w0) = 0``, so centring the mix on ``R̄`` changes nothing in the sum, and a group that
grows at the whole's rate contributes nothing by growing). A group with no cases in one window
has no rate there: its rate is taken as the other window's, so all it contributes is its mix.

For a count the contribution is the change in the group's own count.

This is arithmetic on the engine's figures (the numerators and denominators of one value per
group, current and earlier), not a test and not a cause: it says where a change happened, never
why. :func:`contributions` refuses groups that do not add up to the whole, so a driver is only
ever named out of a complete split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vcop.metrics.values import Estimate

Group = tuple[str, ...]

#: The kinds of figure whose change can be split among groups.
DECOMPOSABLE = ("proportion", "count")


@dataclass(frozen=True)
class Contribution:
    """One group's part of a whole's change (in the figure's unit: a proportion for a rate, so
    0.021 is 2.1 percentage points; cases for a count)."""

    group: Group
    #: rate + mix: the group's part of the whole's change.
    change: float
    #: The part from the group's own rate moving (a count: its change).
    rate: float
    #: The part from the group's share of the whole's cases moving (a count: 0).
    mix: float


class NotAWhole(ValueError):
    """The groups do not add up to the whole (a group is missing, or a window's counts differ)."""


def _totals(parts: Sequence[tuple[Estimate, Estimate]], side: int) -> tuple[int, int]:
    return (
        sum(p[side].numerator or 0 for p in parts),
        sum(p[side].denominator or 0 for p in parts),
    )


def contributions(
    kind: str,
    whole: tuple[Estimate, Estimate],
    parts: Sequence[tuple[Group, Estimate, Estimate]],
) -> list[Contribution]:
    """Each group's contribution to the change of ``whole`` (current, earlier) from the groups'
    ``parts`` (group, current, earlier), in the order given. Raises :class:`NotAWhole` when the
    groups' counts do not add up to the whole's in either window, and ValueError for a kind of
    figure that cannot be split (a median, a mean, a share of a breakdown)."""
    if kind not in DECOMPOSABLE:
        raise ValueError(f"the change of a {kind} cannot be split among groups")
    pairs = [(now, then) for _, now, then in parts]
    for side in (0, 1):
        e = whole[side]
        want = (e.numerator or 0, e.denominator or 0) if kind == "proportion" else (
            e.numerator or 0, 0)  # fmt: skip
        got = _totals(pairs, side)
        if kind == "count":
            got = (got[0], 0)
        if got != want:
            which = "current" if side == 0 else "earlier"
            raise NotAWhole(f"the groups add up to {got}, the whole's {which} window to {want}")
    if kind == "count":
        return [
            Contribution(g, float((now.numerator or 0) - (then.numerator or 0)),
                         float((now.numerator or 0) - (then.numerator or 0)), 0.0)
            for g, now, then in parts
        ]  # fmt: skip
    n1, d1 = _totals(pairs, 0)
    n0, d0 = _totals(pairs, 1)
    if d1 == 0 or d0 == 0:
        raise NotAWhole("the whole has no cases in one window: there is no change to split")
    big_r = (n1 / d1 + n0 / d0) / 2
    out = []
    for g, now, then in parts:
        w1, w0 = (now.denominator or 0) / d1, (then.denominator or 0) / d0
        r1 = (now.numerator or 0) / now.denominator if now.denominator else None
        r0 = (then.numerator or 0) / then.denominator if then.denominator else None
        if r1 is None and r0 is None:
            out.append(Contribution(g, 0.0, 0.0, 0.0))
            continue
        r1 = r0 if r1 is None else r1
        r0 = r1 if r0 is None else r0
        assert r1 is not None and r0 is not None
        rate = (w1 + w0) / 2 * (r1 - r0)
        mix = (w1 - w0) * ((r1 + r0) / 2 - big_r)
        out.append(Contribution(g, rate + mix, rate, mix))
    return out


def leading(found: Sequence[Contribution], change: float, *, most: int = 3) -> list[Contribution]:
    """The groups that drove ``change``: those contributing in its direction, largest first,
    as few as make up more than half of it (at most ``most``); none when the change is 0."""
    if change == 0:
        return []
    sign = 1 if change > 0 else -1
    along = sorted((c for c in found if sign * c.change > 0), key=lambda c: -sign * c.change)
    out: list[Contribution] = []
    total = 0.0
    for c in along[:most]:
        out.append(c)
        total += c.change
        if sign * total > abs(change) / 2:
            break
    return out
