"""What a reader can work out from published figures: the linear model and its audit.

Every published count is a sum of **atoms**: the number of rows of one kind, in one month, in one
group. A figure for a quarter is the sum of its three months' atoms; a right's compliance is the
sum of its obligations'; a force-wide figure is the sum of its areas'. A reader who knows the
definitions (docs/metrics.md is public) can write every figure they see as such a sum and solve
for what is hidden. :class:`Model` holds those sums; :meth:`Model.audit` does what such a reader
would do — linear programming over everything visible — and reports every hidden figure whose
count (or shortfall: denominator minus numerator) it can pin to one value from 1 to
``threshold - 1``, or bound entirely within that range.

The audit first fixes every atom that one visible figure determines on its own, then splits the
remaining atoms into connected components and solves, for each hidden figure, a minimum and a
maximum over its component only (SciPy's HiGHS). A reader knows counts are whole numbers, so a
bound is rounded inwards.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: An atom: a hashable tuple naming one kind of row, month and group (the caller's choice).
Atom = Any
#: A linear sum of atoms: atom → coefficient.
Expr = Mapping[Atom, int]

#: Quantities of a figure a reader must not recover: (name, {component: sign}).
PROPORTION_QUANTITIES = (("count", {"num": 1}), ("shortfall", {"den": 1, "num": -1}))
COUNT_QUANTITIES = (("count", {"n": 1}),)

_EPS = 1e-6


@dataclass
class Cell:
    """One published figure: its components as sums of atoms, and (for the publisher) its counts."""

    key: Any
    exprs: dict[str, dict[Atom, int]]
    counts: dict[str, int] | None = None
    #: A category of a share: its denominator is the whole every category shows.
    share: bool = False

    @property
    def quantities(self) -> tuple[tuple[str, dict[str, int]], ...]:
        return PROPORTION_QUANTITIES if "num" in self.exprs else COUNT_QUANTITIES

    def quantity(self, signs: Mapping[str, int]) -> dict[Atom, int]:
        out: dict[Atom, int] = defaultdict(int)
        for comp, sign in signs.items():
            for atom, c in self.exprs[comp].items():
                out[atom] += sign * c
        return {a: c for a, c in out.items() if c}

    def small(self, threshold: int) -> list[str]:
        """The quantities of this figure that are from 1 to ``threshold - 1``."""
        if self.counts is None:
            return []
        out = []
        for name, signs in self.quantities:
            value = sum(sign * self.counts[comp] for comp, sign in signs.items())
            if 0 < value < threshold:
                out.append(name)
        return out


@dataclass(frozen=True)
class Finding:
    """A hidden figure a reader can recover: the quantity and the bounds the audit found."""

    key: Any
    quantity: str
    low: int
    high: int


@dataclass
class Model:
    """Published figures as sums of atoms, and structural equations between atoms."""

    cells: dict[Any, Cell] = field(default_factory=dict)
    #: Sums of atoms known to be zero (a total minus its parts).
    constraints: list[dict[Atom, int]] = field(default_factory=list)

    def add(self, cell: Cell) -> None:
        self.cells.setdefault(cell.key, cell)

    def audit(
        self,
        hidden: Iterable[Hashable],
        threshold: int,
        values: Mapping[Hashable, Mapping[str, int]] | None = None,
        check: Iterable[Hashable] | None = None,
    ) -> list[Finding]:
        """Every figure in ``check`` (default: the hidden ones with a small count) whose small
        count or shortfall a reader can recover from the figures not in ``hidden``.

        ``values``: the published counts of visible figures (default: the cells' own counts).
        """
        hidden = set(hidden)
        equations: list[tuple[dict[Atom, int], float]] = [(dict(c), 0.0) for c in self.constraints]
        for key, cell in self.cells.items():
            if key in hidden:
                continue
            counts = values.get(key) if values is not None else cell.counts
            if counts is None:
                continue
            for comp, expr in cell.exprs.items():
                if comp in counts:
                    equations.append((dict(expr), float(counts[comp])))
        solver = _Solver(equations)
        out: list[Finding] = []
        targets = hidden if check is None else set(check)
        for key in targets:
            cell = self.cells[key]
            wanted = cell.small(threshold) if cell.counts is not None else None
            for name, signs in cell.quantities:
                if wanted is not None and name not in wanted:
                    continue
                low, high = solver.bounds(cell.quantity(signs), threshold)
                if not (math.isfinite(low) and math.isfinite(high)):
                    continue
                lo, hi = math.ceil(low - _EPS), math.floor(high + _EPS)
                if lo >= 1 and hi <= threshold - 1:
                    out.append(Finding(key, name, lo, hi))
        return out


class _Solver:
    """Equations over atoms: the atoms they fix outright, and LPs over what remains."""

    def __init__(self, equations: list[tuple[dict[Atom, int], float]]) -> None:
        self.fixed: dict[Atom, float] = {}
        self._eliminate(equations)
        self._components(equations)

    def _eliminate(self, equations: list[tuple[dict[Atom, int], float]]) -> None:
        """Fix every atom that an equation with one unknown left determines (repeatedly)."""
        uses: dict[Atom, list[int]] = defaultdict(list)
        for i, (expr, _) in enumerate(equations):
            for a in expr:
                uses[a].append(i)
        unknown = [set(expr) for expr, _ in equations]
        queue = [i for i, u in enumerate(unknown) if len(u) == 1]
        while queue:
            i = queue.pop()
            if len(unknown[i]) != 1:
                continue
            (atom,) = unknown[i]
            expr, rhs = equations[i]
            rest = sum(c * self.fixed[a] for a, c in expr.items() if a != atom)
            self.fixed[atom] = (rhs - rest) / expr[atom]
            for j in uses[atom]:
                unknown[j].discard(atom)
                if len(unknown[j]) == 1:
                    queue.append(j)
        self._unknown = unknown

    def _components(self, equations: list[tuple[dict[Atom, int], float]]) -> None:
        parent: dict[Atom, Atom] = {}

        def find(a: Atom) -> Atom:
            while parent.setdefault(a, a) != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for u in self._unknown:
            items = list(u)
            for b in items[1:]:
                ra, rb = find(items[0]), find(b)
                if ra != rb:
                    parent[ra] = rb
        self._find = find
        self._rows: dict[Atom, list[tuple[dict[Atom, int], float]]] = defaultdict(list)
        self._constrained: set[Atom] = set()
        for (expr, rhs), u in zip(equations, self._unknown, strict=True):
            if not u:
                continue
            const = sum(c * self.fixed[a] for a, c in expr.items() if a in self.fixed)
            free = {a: c for a, c in expr.items() if a not in self.fixed}
            self._rows[find(next(iter(u)))].append((free, rhs - const))
            self._constrained.update(free)

    def bounds(self, expr: Mapping[Atom, int], stop: float = math.inf) -> tuple[float, float]:
        """The least and greatest value ``expr`` can take, atoms being counts (>= 0). When the
        greatest is ``stop`` or more the least is not looked for (returned as -inf)."""
        const = sum(c * self.fixed[a] for a, c in expr.items() if a in self.fixed)
        free = {a: c for a, c in expr.items() if a not in self.fixed}
        if not free:
            return const, const
        if any(c > 0 and a not in self._constrained for a, c in free.items()):
            return -math.inf, math.inf  # an atom nothing visible bounds: no upper bound
        roots = {self._find(a) for a in free}
        rows = [row for r in roots for row in self._rows.get(r, [])]
        atoms = list(dict.fromkeys([*free, *(a for expr_, _ in rows for a in expr_)]))
        index = {a: i for i, a in enumerate(atoms)}
        # imported here: half a second, and only a cell bounded by others needs it
        from scipy.optimize import linprog
        from scipy.sparse import csr_matrix

        objective = np.zeros(len(atoms))
        for a, c in free.items():
            objective[index[a]] = c
        a_eq = None
        b_eq = None
        if rows:
            data, ri, ci = [], [], []
            for r, (e, _) in enumerate(rows):
                for a, c in e.items():
                    data.append(c)
                    ri.append(r)
                    ci.append(index[a])
            a_eq = csr_matrix((data, (ri, ci)), shape=(len(rows), len(atoms)))
            b_eq = np.array([rhs for _, rhs in rows])
        out = []
        for sign in (1, -1):
            res = linprog(sign * objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status == 3 or res.status != 0:  # unbounded
                out.append(-sign * math.inf)
            else:
                out.append(sign * res.fun)
        return const + out[0], const + out[1]
