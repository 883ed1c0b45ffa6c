"""Seeded random helpers. Every draw comes from a ``random.Random`` seeded from the caller's seed.

Separate named streams (``stream(seed, "crimes")``) keep one part of the generator from shifting
every other part's draws when it changes. String seeds are hashed with SHA-512 by ``random``, so
they give the same stream in every process (unlike ``hash()``).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class FastRandom(random.Random):
    """``random.Random`` with integer draws made from one ``random()`` call each.

    The standard ``randint`` goes through several layers of checks per call; the generator makes
    millions of them. The tiny bias of scaling a float does not matter here."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + step * int(self.random() * ((stop - start + step - 1) // step))


def stream(seed: int, name: str) -> random.Random:
    return FastRandom(f"vcop-demoshire:{seed}:{name}")


class Choice(Generic[T]):
    """A fixed weighted choice among items, drawn in O(log n)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, weights: Mapping[T, float] | Sequence[tuple[T, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        pairs = [(item, w) for item, w in pairs if w > 0]
        if not pairs:
            raise ValueError("a choice needs at least one positive weight")
        self._items = [item for item, _ in pairs]
        cum: list[float] = []
        total = 0.0
        for _, w in pairs:
            total += w
            cum.append(total)
        self._cum = cum
        self._total = total

    def draw(self, r: random.Random) -> T:
        i = bisect_right(self._cum, r.random() * self._total)
        if i == len(self._items):
            i -= 1
        return self._items[i]

    @property
    def items(self) -> list[T]:
        return list(self._items)


def poisson(r: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(r.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    k = 0
    p = r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


def lognormal_minutes(r: random.Random, median: float, sigma: float) -> int:
    return max(1, round(median * math.exp(r.gauss(0.0, sigma))))


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
