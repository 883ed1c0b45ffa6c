"""A release: the partner view of one month end, suppressed once for every output.

Partner-facing outputs (dashboard pages and their twins, XmR series, the partner pack, the
compliance return) are all cut from one :class:`Release`, so the same figure is hidden everywhere
it appears and no two outputs can be combined to reveal a hidden one. A release holds, for its
as-of date (a month end):

* every metric's values for each period (month, quarter, financial year to date, 12 months),
  force-wide and by every split a partner may ask for (places below area, and officers, are for
  the force only), with the earlier windows they are compared with;
* every metric's monthly series (force-wide, per group of its grouping).

:func:`publish` hides what must be hidden:

1. **Primary.** A figure whose count, or shortfall (denominator minus numerator), is from 1 to
   ``threshold - 1``.
2. **Complementary**, over the sets that really are published: the groups of a split within
   their total, the obligations within their right, the months within a quarter and a year, and
   figures that are the same count under two names (Right 6 and "victim updates on time"). In
   each such set a lone hidden figure is joined by the smallest visible one.
3. **Audit.** :mod:`vcop.metrics.disclosure` then does what a reader would: linear programming
   over every visible figure. Any hidden count it can still pin within 1 to ``threshold - 1``
   gets one more complement (a sibling first, then a total, then the nearest figure linked to
   it through hidden ones), and the audit runs again until it finds nothing. Figures earlier
   releases published are known to that reader, both as published and as the data stand now
   (:mod:`vcop.metrics.revisions`).

A hidden figure carries nothing derived from it (value, interval, change, p-value, benchmark, SPC
reading), and a figure split by anything carries no SPC reading for partners: its monthly series
is not published, so nothing may be derived from it. One mark, ``[c]``, stands for a hidden figure
everywhere (:data:`SUPPRESSED`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import ibis

from vcop.metrics.disclosure import Cell, Model
from vcop.metrics.engine import MetricsError, compute, data_start
from vcop.metrics.periods import add_months, month_end
from vcop.metrics.revisions import current_counts
from vcop.metrics.series import Point, Series, monthly_series
from vcop.metrics.suppress import DEFAULT_THRESHOLD
from vcop.metrics.targets import Targets
from vcop.metrics.values import Comparison, Estimate, MetricValue
from vcop.spec.code import LedgerStatus
from vcop.spec.metrics import LEDGER, Catalogue, Metric, load_catalogue

#: The mark for a hidden figure, in every output (GSS style: "[c]" for confidential).
SUPPRESSED = "[c]"


#: One sentence explaining it, in every output.
def suppressed_note(threshold: int) -> str:
    return (
        f"[c]: hidden to protect victims' privacy — a count from 1 to {threshold - 1}, or a figure "
        "from which one could be worked out."
    )


#: The periods of a release.
PERIODS: tuple[str, ...] = ("month", "quarter", "fytd", "rolling_12m")
#: The splits a release publishes: policing areas. Places below area and officers are for the
#: force only; splits by crime type and protected characteristics are too, for now: in a small
#: force most of their cells are under the threshold, and the audit of a release grows with them.
PARTNER_SPLITS: tuple[str, ...] = ("area",)
#: Metrics a release leaves out: each body's compliance by right is a second sum of the same
#: obligations (within each right, the bodies' parts add up to it), and the rare partner
#: obligations in it set off complementary suppression that hid force-wide rights with thousands
#: of cases. The obligations and rights themselves are published; this stays for the force.
FORCE_ONLY: tuple[str, ...] = ("compliance_by_agency",)

Group = tuple[str, ...]
#: A figure: metric, window start and end, group of the metric's grouping, split group(s), and
#: the date the data were seen as of (an earlier window may be counted as it stood then).
CellKey = tuple[str, date, date, Group, frozenset[tuple[str, str]], date]
TableKey = tuple[str, str | None]
#: A parent figure (None: a whole the children show) and the figures that add up to it.
Sum = tuple[CellKey | None, list[CellKey]]
STATUSES: tuple[str, ...] = tuple(s.value for s in LedgerStatus)


def partner_splits(catalogue: Catalogue) -> tuple[str, ...]:
    """The splits a partner may see (those of :data:`PARTNER_SPLITS` some metric offers)."""
    used = {b for m in catalogue.metrics for b in m.breakdowns}
    return tuple(b for b in PARTNER_SPLITS if b in used)


@dataclass
class Release:
    """The published figures of one month end."""

    as_of: date
    threshold: int
    #: (period, split or None) → published values.
    tables: dict[TableKey, list[MetricValue]] = field(default_factory=dict)
    #: metric id → group of its grouping → published monthly series.
    series: dict[str, dict[Group, Series]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    definitions_hash: str = ""
    #: How many figures were hidden for their own small count, and in all.
    primary: int = 0
    hidden: int = 0
    #: Every figure a partner sees, with its counts (what the publication ledger records).
    visible: dict[CellKey, dict[str, int]] = field(default_factory=dict)
    #: Figures published by earlier releases that this one treated as known.
    known: int = 0

    def values(
        self, period: str, by: str | None = None, metric_ids: Iterable[str] | None = None
    ) -> list[MetricValue]:
        if (period, by) not in self.tables:
            raise MetricsError(
                f"the release of {self.as_of} publishes no {period} figures"
                + (f" by {by}" if by else "")
            )
        values = self.tables[(period, by)]
        if metric_ids is None:
            return list(values)
        wanted = set(metric_ids)
        return [v for v in values if v.metric_id in wanted]

    def value(
        self, metric_id: str, period: str, by: str | None = None, group: Group = ()
    ) -> MetricValue | None:
        for v in self.values(period, by, [metric_id]):
            if v.group == group:
                return v
        return None

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(by for _, by in self.tables if by is not None))


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build(
    backend: ibis.BaseBackend,
    as_of: date,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    catalogue: Catalogue | None = None,
    targets: Targets | None = None,
    periods: Sequence[str] = PERIODS,
    splits: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    known: Mapping[CellKey, Mapping[str, int]] | None = None,
) -> Release:
    """Compute every figure of the release of ``as_of`` and :func:`publish` it, treating
    ``known`` (figures earlier releases published, with their counts) as known to a reader."""
    catalogue = catalogue or load_catalogue()
    if as_of != month_end(as_of):
        raise MetricsError(f"a release is made at a month end, not {as_of.isoformat()}")
    chosen = partner_splits(catalogue) if splits is None else tuple(splits)
    tables: dict[TableKey, list[MetricValue]] = {}
    notes: list[str] = []
    stamp = ""
    for period in periods:
        for by in (None, *chosen):
            if progress is not None:
                progress(f"{period}{' by ' + by if by else ''}")
            result = compute(backend, as_of, period, by=by, catalogue=catalogue, targets=targets)
            tables[(period, by)] = [v for v in result.values if v.metric_id not in FORCE_ONLY]
            stamp = result.definitions_hash
            notes.extend(n for n in result.notes if n not in notes)
    series: dict[str, dict[Group, Series]] = {}
    start = data_start(backend)  # once, not once per series
    for metric_id in dict.fromkeys(v.metric_id for v in tables.get((periods[0], None), [])):
        if progress is not None:
            progress(f"monthly series of {metric_id}")
        series[metric_id] = monthly_series(
            backend, catalogue, metric_id, as_of, targets=targets, start=start
        )
    release = Release(as_of, threshold, tables, series, notes, stamp)
    # earlier figures as the data stand now: those whose windows reach this release's months
    # (one that ends before them shares no count with anything it publishes)
    first = _first_month(release)
    earlier = [k for k in known or () if k[5] < as_of and first is not None and k[2] >= first]
    if earlier and progress is not None:
        progress("earlier releases' figures as the data stand now")
    revised = current_counts(backend, catalogue, as_of, earlier) if earlier else {}
    return publish(release, catalogue, known=known, revised=revised)


def _first_month(release: Release) -> date | None:
    """The first day of the earliest month any figure of ``release`` counts."""
    starts = [
        e.start for values in release.tables.values() for v in values for e, _ in _estimates(v)
    ]
    starts += [
        p.month for by_group in release.series.values() for s in by_group.values() for p in s.points
    ]
    return min(starts) if starts else None


# --------------------------------------------------------------------------------------------
# The figures as sums of atoms
# --------------------------------------------------------------------------------------------


def _months(start: date, end: date) -> list[date]:
    out = []
    m = start.replace(day=1)
    while m <= end:
        out.append(m)
        m = add_months(m, 1)
    return out


def _statuses(conds: Iterable[object]) -> set[str] | None:
    for c in conds:
        if getattr(c, "column", None) == "status":
            op, value = c.op, c.value  # type: ignore[attr-defined]
            if op == "equals":
                return {str(value)}
            if op == "in":
                return {str(v) for v in value}
    return None


@dataclass(frozen=True)
class _LedgerForm:
    """A ledger proportion whose conditions name only obligations, rights and statuses."""

    obligations: frozenset[str] | None
    rights: frozenset[str] | None
    den: frozenset[str]
    num: frozenset[str]


def _ledger_form(m: Metric) -> _LedgerForm | None:
    if m.source != LEDGER or m.kind != "proportion" or m.count_distinct is not None:
        return None
    obligations = rights = None
    for c in m.where:
        if c.column not in ("obligation_id", "right", "status"):
            return None
        if c.column == "status":
            continue
        if c.op not in ("equals", "in"):
            return None
        values = frozenset(str(v) for v in (c.value if c.op == "in" else [c.value]))
        if c.column == "obligation_id":
            obligations = values
        else:
            rights = values
    if any(c.column != "status" for c in m.numerator):
        return None
    den = _statuses(m.where) or set(STATUSES)
    num = (_statuses(m.numerator) or set(STATUSES)) & den
    return _LedgerForm(obligations, rights, frozenset(den), frozenset(num))


class _Atoms:
    """How each figure of a release is a sum of atoms (see :mod:`vcop.metrics.disclosure`)."""

    def __init__(self, catalogue: Catalogue, tables: dict[TableKey, list[MetricValue]]) -> None:
        self.catalogue = catalogue
        self.ledger = {m.id: f for m in catalogue.metrics if (f := _ledger_form(m)) is not None}
        # obligations and the label of their right, as the ledger's groups show them
        self.right_of: dict[str, str] = {}
        self.owner_of: dict[str, str] = {}
        try:
            from vcop.spec.code import load_code

            missing = catalogue.breakdown("right").missing_label
            for o in load_code().obligations:
                self.right_of[o.id] = missing if o.right is None else str(o.right)
                self.owner_of[o.id] = o.owner
        except Exception:  # no Code: ledger figures are not linked across metrics
            self.ledger = {}
        seen = {
            v.group[i]
            for values in tables.values()
            for v in values
            if v.metric_id in self.ledger
            for i, b in enumerate(catalogue.metric(v.metric_id).grouping)
            if b == "obligation"
        }
        self.obligations = sorted(
            seen | {o for f in self.ledger.values() for o in f.obligations or ()}
        )
        self.blocks = self._blocks()
        # every group of every share's category, for the share's whole
        self.categories: dict[str, set[str]] = defaultdict(set)
        for values in tables.values():
            for v in values:
                m = catalogue.metric(v.metric_id)
                if m.kind == "share":
                    self.categories[m.id].add(v.group[len(m.group_by)])

    def _blocks(self) -> dict[str, list[frozenset[str]]]:
        """Per obligation, the statuses no published figure tells apart, merged."""
        out: dict[str, list[frozenset[str]]] = {}
        for o in self.obligations:
            blocks = [frozenset(STATUSES)]
            for f in self.ledger.values():
                if not self._covers(f, o):
                    continue
                for cut in (f.den, f.num):
                    blocks = [p for b in blocks for p in (b & cut, b - cut) if p]
            out[o] = blocks
        return out

    def _covers(self, f: _LedgerForm, o: str) -> bool:
        if f.obligations is not None and o not in f.obligations:
            return False
        return f.rights is None or self.right_of.get(o) in f.rights

    def cell(self, key: CellKey) -> dict[str, dict[Any, int]]:
        """The figure's components as sums of atoms; an atom ends with the date its data were
        seen as of and its split (the structural sums rely on that order)."""
        metric_id, start, end, group, split, seen = key
        m = self.catalogue.metric(metric_id)
        months = _months(start, end)
        form = self.ledger.get(metric_id)
        if form is not None:
            obligations = [o for o in self.obligations if self._covers(form, o)]
            for b, g in zip(m.grouping, group, strict=True):
                if b == "obligation":
                    obligations = [o for o in obligations if o == g]
                elif b == "right":
                    obligations = [o for o in obligations if self.right_of.get(o) == g]
                elif b == "agency":
                    obligations = [o for o in obligations if self.owner_of.get(o) == g]
            exprs: dict[str, dict[Any, int]] = {"num": {}, "den": {}}
            for o in obligations:
                for block in self.blocks[o]:
                    for month in months:
                        atom = ("L", o, block, month, seen, split)
                        if block <= form.den:
                            exprs["den"][atom] = 1
                        if block <= form.num:
                            exprs["num"][atom] = 1
            return exprs
        if m.kind == "share":
            whole = group[: len(m.group_by)]
            cat = group[len(m.group_by)]
            return {
                "num": {(m.id, whole, cat, month, seen, split): 1 for month in months},
                "den": {
                    (m.id, whole, c, month, seen, split): 1
                    for c in sorted(self.categories[m.id])
                    for month in months
                },
            }
        if m.kind == "proportion":
            num = {(m.id, group, "num", month, seen, split): 1 for month in months}
            rest = {(m.id, group, "rest", month, seen, split): 1 for month in months}
            return {"num": num, "den": {**num, **rest}}
        return {"n": {(m.id, group, "n", month, seen, split): 1 for month in months}}


def _counts(e: Estimate, kind: str) -> dict[str, int]:
    if kind in ("proportion", "share"):
        return {"num": int(e.numerator or 0), "den": int(e.denominator or 0)}
    if kind == "count":
        return {"n": int(e.numerator or 0)}
    return {"n": int(e.denominator or 0)}


def _split_of(v: MetricValue, m: Metric) -> frozenset[tuple[str, str]]:
    extra = v.breakdown[len(m.grouping) :]
    return frozenset(zip(extra, v.group[len(m.grouping) :], strict=True))


def _estimates(v: MetricValue) -> list[tuple[Estimate, date]]:
    """The windows a value publishes, each with the date its data were seen as of."""
    out = [(v.current, v.as_of)]
    for c in (v.previous, v.year_ago):
        if c is not None:
            out.append((c.estimate, c.seen_at or v.as_of))
    return out


def key_of(v: MetricValue, e: Estimate, catalogue: Catalogue, seen: date | None = None) -> CellKey:
    m = catalogue.metric(v.metric_id)
    group = v.group[: len(m.grouping)]
    return (v.metric_id, e.start, e.end, group, _split_of(v, m), seen or v.as_of)


def series_key(metric_id: str, group: Group, month: date, as_of: date) -> CellKey:
    return (metric_id, month, month_end(month), group, frozenset(), as_of)


@dataclass
class _Figures:
    """Every figure of a release, as cells of a disclosure model, and the sets they add up in."""

    model: Model
    #: Figures a reader knows without their being published (a group missing from a table is
    #: zero there): never hidden, never a complement.
    implied: set[CellKey]
    #: (parent, children): figures that add up, for choosing complements.
    sets: list[Sum]
    #: Figures that are the same count under two names.
    same: dict[CellKey, list[CellKey]]
    #: Earlier releases' windows as the data stand now (known to a reader, not published here).
    revised: set[CellKey] = field(default_factory=set)


def figures(
    release: Release,
    catalogue: Catalogue,
    revised: Mapping[CellKey, Mapping[str, int]] | None = None,
) -> _Figures:
    """The disclosure model of a release's (unpublished) figures, and of the windows of earlier
    releases as the data stand now (``revised``, see :mod:`vcop.metrics.revisions`) that are
    not among them and not small now."""
    atoms = _Atoms(catalogue, release.tables)
    model = Model()
    implied: set[CellKey] = set()

    def add(key: CellKey, counts: dict[str, int]) -> None:
        if key not in model.cells:
            share = catalogue.metric(key[0]).kind == "share"
            model.add(Cell(key, atoms.cell(key), counts, share=share))

    groups_seen: dict[tuple[str, str | None], set[tuple[Group, Group]]] = defaultdict(set)
    for (_period, by), values in release.tables.items():
        for v in values:
            m = catalogue.metric(v.metric_id)
            for e, seen in _estimates(v):
                add(key_of(v, e, catalogue, seen), _counts(e, m.kind))
            groups_seen[(m.id, by)].add((v.group[: len(m.grouping)], v.group[len(m.grouping) :]))
    for metric_id, by_group in release.series.items():
        m = catalogue.metric(metric_id)
        for group, s in by_group.items():
            for p in s.points:
                e = Estimate(p.month, month_end(p.month), p.numerator, p.denominator, p.value)
                add(series_key(metric_id, group, p.month, release.as_of), _counts(e, m.kind))
    extra: set[CellKey] = set()
    for key, counts in (revised or {}).items():
        if key not in model.cells and key[0] in atoms.catalogue.metric_ids:
            cell = Cell(
                key, atoms.cell(key), dict(counts), share=catalogue.metric(key[0]).kind == "share"
            )
            if not cell.small(release.threshold):
                model.add(cell)
                extra.add(key)
    # a group missing from a table had nothing in its current window: a reader knows that zero
    for (_period, by), values in release.tables.items():
        present: dict[str, set[tuple[Group, Group]]] = defaultdict(set)
        window: dict[str, tuple[date, date]] = {}
        names: dict[str, tuple[str, ...]] = {}
        for v in values:
            m = catalogue.metric(v.metric_id)
            present[m.id].add((v.group[: len(m.grouping)], v.group[len(m.grouping) :]))
            window[m.id] = (v.current.start, v.current.end)
            names[m.id] = v.breakdown[len(m.grouping) :]
        for metric_id, have in present.items():
            m = catalogue.metric(metric_id)
            whole = {g for g, _ in groups_seen[(metric_id, by)]}
            parts = {p for _, p in groups_seen[(metric_id, by)]}
            start, end = window[metric_id]
            zero = {"num": 0, "den": 0} if m.kind in ("proportion", "share") else {"n": 0}
            for g in whole:
                for part in parts:
                    if (g, part) not in have:
                        split = frozenset(zip(names[metric_id], part, strict=True))
                        key = (metric_id, start, end, g, split, release.as_of)
                        if key not in model.cells:
                            implied.add(key)
                        add(key, dict(zero))
    # structure: a split's groups add up to their total, atom by atom
    by_parent: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    labels: dict[str, set[str]] = defaultdict(set)
    for cell in model.cells.values():
        for pair in cell.key[4]:
            labels[pair[0]].add(pair[1])
    for cell in model.cells.values():
        for expr in cell.exprs.values():
            for atom in expr:
                split = atom[-1]
                for b, g in split:
                    by_parent[(*atom[:-1], split - {(b, g)}, b)].add(g)
    for *head, parent_split, breakdown in by_parent:
        total: dict[Any, int] = {(*head, parent_split): -1}
        for label in labels[breakdown]:
            total[(*head, parent_split | {(breakdown, label)})] = 1
        model.constraints.append(total)
    return _Figures(model, implied, _sets(model, catalogue, atoms), _same(model), extra)


def _sets(model: Model, catalogue: Catalogue, atoms: _Atoms) -> list[Sum]:
    """Parents and the children that add up to them, among the figures of a release (a parent
    of None: a whole every child shows)."""
    out: list[Sum] = []
    keys: list[CellKey] = list(model.cells)
    # a split's groups within their total
    children: dict[tuple[Any, ...], list[CellKey]] = defaultdict(list)
    for k in keys:
        for b, g in k[4]:
            children[(k[0], k[1], k[2], k[3], k[4] - {(b, g)}, k[5], b)].append(k)
    for (metric_id, start, end, group, parent_split, seen, _b), kids in children.items():
        parent: CellKey = (metric_id, start, end, group, parent_split, seen)
        if parent in model.cells:
            out.append((parent, kids))
    # obligations within their right (the same statuses counted)
    by_right = [
        mid for mid, _ in atoms.ledger.items() if catalogue.metric(mid).grouping == ("right",)
    ]
    by_obligation = [
        mid for mid, _ in atoms.ledger.items() if catalogue.metric(mid).grouping == ("obligation",)
    ]
    index: dict[tuple[Hashable, ...], list[CellKey]] = defaultdict(list)
    for k in keys:
        if k[0] in by_obligation:
            right = atoms.right_of.get(k[3][0])
            index[(atoms.ledger[k[0]], k[1], k[2], right, k[4], k[5])].append(k)
    for k in keys:
        if k[0] in by_right:
            kids = [
                c
                for mid in by_obligation
                for c in index.get((atoms.ledger[k[0]], k[1], k[2], k[3][0], k[4], k[5]), [])
                if atoms.ledger[mid] == atoms.ledger[k[0]] and c[0] == mid
            ]
            if kids:
                out.append((k, kids))
    # the categories of a share within their whole (each category's denominator is the whole)
    shares: dict[tuple[Hashable, ...], list[CellKey]] = defaultdict(list)
    for k in keys:
        m = catalogue.metric(k[0])
        if m.kind == "share":
            shares[(k[0], k[1], k[2], k[3][: len(m.group_by)], k[4], k[5])].append(k)
    for kids in shares.values():
        if len(kids) > 1:
            out.append((None, kids))
    # months within a longer window
    months: dict[tuple[Hashable, ...], dict[date, CellKey]] = defaultdict(dict)
    for k in keys:
        if k[1].day == 1 and k[2] == month_end(k[1]):
            months[(k[0], k[3], k[4], k[5])][k[1]] = k
    for k in keys:
        span = _months(k[1], k[2])
        if len(span) < 2:
            continue
        have = months.get((k[0], k[3], k[4], k[5]), {})
        if all(m in have for m in span):
            out.append((k, [have[m] for m in span]))
    return out


def _same(model: Model) -> dict[CellKey, list[CellKey]]:
    """Figures with identical sums of atoms (one count published under two names)."""
    by_expr: dict[frozenset[tuple[str, frozenset[tuple[Hashable, int]]]], list[CellKey]] = (
        defaultdict(list)
    )
    for key, cell in model.cells.items():
        sig = frozenset((c, frozenset(e.items())) for c, e in cell.exprs.items())
        by_expr[sig].append(key)
    out: dict[CellKey, list[CellKey]] = {}
    for group in by_expr.values():
        if len(group) > 1:
            for k in group:
                out[k] = [o for o in group if o != k]
    return out


# --------------------------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------------------------


def _size(cell: Cell) -> int:
    """How much a figure says (what hiding it costs a reader): its cases; a share's category
    count, as every category shows the same whole."""
    counts = cell.counts or {}
    if "n" in counts:
        return int(counts["n"])
    return int(counts["num"] if cell.share else counts["den"])


def protect(
    figs: _Figures, threshold: int, known: Mapping[CellKey, Mapping[str, int]] | None = None
) -> tuple[set[CellKey], int]:
    """The figures to hide: primary, complementary over the published sets, then whatever the
    audit still finds recoverable. Returns the hidden figures and how many are primary.

    ``known``: figures an earlier release published, with the counts it published. A reader has
    them whatever this release does, so the audit counts them as visible (with those counts) and
    hiding one is never how another is protected; one with a small count is already out, so it
    is not protected again (it is still hidden here, as it was small), nor is a small count the
    known figures reveal on their own (nothing hidden here would protect it)."""
    model = figs.model
    known = {k: dict(v) for k, v in (known or {}).items() if k in model.cells}
    primary = {k for k, c in model.cells.items() if c.small(threshold)}
    hidden: set[CellKey] = set(primary)

    def hide_same() -> None:
        for k in list(hidden):
            hidden.update(figs.same.get(k, ()))

    def smallest(cands: Iterable[CellKey]) -> CellKey | None:
        visible = [
            c
            for c in cands
            if c not in hidden
            and c not in figs.implied
            and c not in known
            and _size(model.cells[c]) > 0
        ]
        return min(visible, key=lambda c: (_size(model.cells[c]), repr(c))) if visible else None

    # complementary: in every published set, no lone hidden figure and no small hidden sum
    changed = True
    while changed:
        changed = False
        hide_same()
        for parent, kids in figs.sets:
            gone = [k for k in kids if k in hidden]
            if parent is not None and parent in hidden:
                if gone:
                    continue
                pick = smallest(kids)
            else:
                if not gone:
                    continue
                sums: dict[str, int] = defaultdict(int)
                for k in gone:
                    for comp, n in (model.cells[k].counts or {}).items():
                        sums[comp] += n
                small = any(0 < n < threshold for n in sums.values()) or (
                    "num" in sums and 0 < sums["den"] - sums["num"] < threshold
                )
                if len(gone) > 1 and not small:
                    continue
                pick = smallest(kids)
            if pick is not None:
                hidden.add(pick)
                changed = True
    # the audit: what a reader could still work out
    parents_of: dict[CellKey, list[CellKey]] = defaultdict(list)
    siblings_of: dict[CellKey, list[CellKey]] = defaultdict(list)
    sharing: dict[Hashable, list[CellKey]] = defaultdict(list)
    for cell_key, cell in model.cells.items():
        for expr in cell.exprs.values():
            for atom in expr:
                sharing[atom].append(cell_key)
    children_of: dict[CellKey, list[CellKey]] = defaultdict(list)
    for parent, kids in figs.sets:
        for k in kids:
            if parent is not None:
                parents_of[k].append(parent)
            siblings_of[k].extend(c for c in kids if c != k)
        if parent is not None:
            children_of[parent].extend(kids)
    values = {k: (known.get(k, c.counts or {})) for k, c in model.cells.items()}
    # what the known figures reveal on their own (with the zeros, which are always shown) is out
    # whatever this release hides
    protectable = primary - known.keys()
    if known:
        fixed = known.keys() | figs.implied | {k for k, c in model.cells.items() if not _size(c)}
        out = model.audit(model.cells.keys() - fixed, threshold, values, protectable)
        protectable -= {f.key for f in out}

    def linked(k: CellKey) -> Iterable[CellKey]:
        yield from siblings_of.get(k, ())
        yield from parents_of.get(k, ())
        yield from children_of.get(k, ())
        for e in model.cells[k].exprs.values():
            for a in e:
                yield from sharing[a]

    def nearest(start: CellKey) -> CellKey | None:
        """The smallest figure that may still be hidden among those linked to ``start`` (as a
        sibling, a parent, a part or by a shared count) directly, else through figures that are hidden
        already or may not be (known, implied, zero), nearest first."""
        reached, frontier = {start}, [start]
        while frontier:
            nxt: list[CellKey] = []
            for k in frontier:
                for c in linked(k):
                    if c not in reached:
                        reached.add(c)
                        nxt.append(c)
            pick = smallest(nxt)
            if pick is not None:
                return pick
            frontier = nxt  # none of them can be hidden: go on through them
        return None

    # Hiding more only takes equations away, so a figure the audit found safe stays safe: after
    # the first round only the figures last found recoverable are audited again.
    check = set(protectable)
    for _ in range(200):
        hide_same()
        findings = model.audit(hidden - known.keys(), threshold, values=values, check=check)
        if not findings:
            return hidden, len(primary)
        check = {f.key for f in findings}
        stuck = []
        for f in findings:
            key: CellKey = f.key
            pick = smallest(siblings_of.get(key, ())) or smallest(parents_of.get(key, ()))
            if pick is None:
                pick = smallest(children_of.get(key, ()))
            if pick is None:  # the nearest figure linked to it through hidden ones
                pick = nearest(key)
            if pick is None:  # perhaps protected by what this round hid already: audit again
                stuck.append(key)
                continue
            hidden.add(pick)
        if len(stuck) == len(findings):
            raise MetricsError(f"cannot protect {stuck[0]}: no figure left to hide beside it")
    raise MetricsError("suppression did not settle after 200 rounds of the audit")


def publish(
    release: Release,
    catalogue: Catalogue | None = None,
    known: Mapping[CellKey, Mapping[str, int]] | None = None,
    revised: Mapping[CellKey, Mapping[str, int]] | None = None,
) -> Release:
    """``release`` with every figure a partner may not see hidden (see the module docstring),
    given the figures earlier releases published (``known``, see :func:`protect`) and those
    figures' windows as the data stand now (``revised``, see :mod:`vcop.metrics.revisions`):
    a reader is assumed to know both."""
    catalogue = catalogue or load_catalogue()
    if release.threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    figs = figures(release, catalogue, revised)
    assumed = dict(known or {})
    for k, counts in (revised or {}).items():
        cell = figs.model.cells.get(k)
        if cell is not None and k not in assumed and not cell.small(release.threshold):
            assumed[k] = dict(counts)
    hidden, primary = protect(figs, release.threshold, assumed)
    visible = {
        k: dict(c.counts)
        for k, c in figs.model.cells.items()
        if k not in hidden
        and k not in figs.implied
        and k not in figs.revised
        and c.counts is not None
    }
    gaps = {
        (metric_id, group)
        for metric_id, by_group in release.series.items()
        for group, s in by_group.items()
        if any(series_key(metric_id, group, p.month, release.as_of) in hidden for p in s.points)
    }
    tables = {
        key: [_published(v, hidden, gaps, catalogue) for v in values]
        for key, values in release.tables.items()
    }
    series = {
        metric_id: {
            group: _published_series(metric_id, group, s, hidden, release.as_of)
            for group, s in by_group.items()
        }
        for metric_id, by_group in release.series.items()
    }
    return replace(
        release,
        tables=tables,
        series=series,
        primary=primary,
        hidden=len(hidden),
        visible=visible,
        known=len((set(known or ()) | set(revised or ())) & figs.model.cells.keys()),
    )


def _blank(e: Estimate) -> Estimate:
    return replace(e, numerator=None, denominator=None, value=None, ci_low=None, ci_high=None)


def _published(
    v: MetricValue,
    hidden: set[CellKey],
    gaps: set[tuple[str, Group]],
    catalogue: Catalogue,
) -> MetricValue:
    now = key_of(v, v.current, catalogue) in hidden

    def comparison(c: Comparison | None) -> Comparison | None:
        if c is None:
            return None
        if key_of(v, c.estimate, catalogue, c.seen_at) in hidden:
            return replace(c, estimate=_blank(c.estimate), change=None, p_value=None)
        if now:
            return replace(c, change=None, p_value=None)
        return c

    out = replace(v, previous=comparison(v.previous), year_ago=comparison(v.year_ago))
    m = catalogue.metric(v.metric_id)
    split = len(v.breakdown) > len(m.grouping)
    if now or split or (v.metric_id, v.group) in gaps:
        # nothing derived from a hidden figure, nor from a series with hidden or unpublished
        # months
        out = replace(out, spc_variation=None, spc_assurance=None, spc_points=0)
    if now:
        out = replace(
            out,
            current=_blank(v.current),
            benchmark=None,
            benchmark_significant=None,
            benchmark_p_value=None,
            small_sample=False,
            provisional_share=None,
            suppressed=True,
        )
    return out


def _published_series(
    metric_id: str, group: Group, s: Series, hidden: set[CellKey], as_of: date
) -> Series:
    points = []
    any_hidden = False
    for p in s.points:
        if series_key(metric_id, group, p.month, as_of) in hidden:
            any_hidden = True
            points.append(
                Point(p.month, math.nan, None, None, p.provisional, p.warm_up, suppressed=True)
            )
        else:
            points.append(p)
    # a reading made from hidden months would carry something of them
    return Series(tuple(points), None if any_hidden else s.reading)


def month_ends_before(as_of: date) -> date:
    """The latest month end on or before ``as_of`` (the release a partner sees)."""
    return as_of if as_of == month_end(as_of) else as_of.replace(day=1) - timedelta(days=1)
