"""Earlier releases' figures as the data stand today: what a reader who knew every revision would know.

A release publishes each window as its data were seen on the release's month end. A later release
publishes other windows of the same months, seen later: a twelve-month figure today, three
quarterly returns published at their own quarters' ends. The two are linked only through what
changed in between (late records, late completions, erasures), which no reader is told; but a
reader who guessed those revisions — or for a month nothing was revised in — could subtract the
old quarters from today's year and find today's quarter.

Suppression of a new release therefore assumes the worst: a reader knows every figure published
before *as the data stand today*. :func:`current_counts` counts those windows again from the
release's own data (the same rows and counts the engine makes), and :func:`vcop.metrics.release.publish`
treats them as known, so no hidden figure of the new release can be worked out from the old ones,
whatever was or was not revised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import ibis

from vcop.metrics.relations import metric_rows
from vcop.metrics.series import aggregations
from vcop.spec.metrics import Catalogue

#: A figure: metric, window start and end, group of the metric's grouping, split, seen as of
#: (the shape of :data:`vcop.metrics.release.CellKey`).
Key = tuple[str, date, date, tuple[str, ...], frozenset[tuple[str, str]], date]


def current_counts(
    backend: ibis.BaseBackend, catalogue: Catalogue, as_of: date, keys: Iterable[Key]
) -> dict[Key, dict[str, int]]:
    """Each figure of ``keys`` whose window ends by ``as_of``, counted from the data as they
    stand on ``as_of`` and keyed as seen then; figures of metrics or splits the catalogue no
    longer has are left out. One query per metric and split."""
    wanted: dict[tuple[str, tuple[str, ...]], set[Key]] = defaultdict(set)
    for key in keys:
        metric_id, start, end, group, split, _seen = key
        if end > as_of or metric_id not in catalogue.metric_ids:
            continue
        m = catalogue.metric(metric_id)
        names = tuple(sorted(b for b, _ in split))
        if len(group) != len(m.grouping) or not set(names) <= set(m.breakdowns):
            continue
        wanted[(metric_id, names)].add((metric_id, start, end, group, split, as_of))
    out: dict[Key, dict[str, int]] = {}
    for (metric_id, names), cells in wanted.items():
        counted = _counted(
            backend, catalogue, metric_id, names, as_of, {(k[1], k[2]) for k in cells}
        )
        for k in cells:
            labels = dict(k[4])
            out[k] = counted.get(
                (k[1], k[2], k[3], tuple(labels[b] for b in names)), _zero(catalogue, metric_id)
            )
    return out


def _zero(catalogue: Catalogue, metric_id: str) -> dict[str, int]:
    kind = catalogue.metric(metric_id).kind
    return {"num": 0, "den": 0} if kind in ("proportion", "share") else {"n": 0}


def _counted(
    backend: ibis.BaseBackend,
    catalogue: Catalogue,
    metric_id: str,
    names: tuple[str, ...],
    as_of: date,
    spans: set[tuple[date, date]],
) -> dict[tuple[date, date, tuple[str, ...], tuple[str, ...]], dict[str, int]]:
    """(start, end, group, split labels) → counts, for every window of ``spans``, as
    :func:`vcop.metrics.release._counts` keeps them."""
    m = catalogue.metric(metric_id)
    breakdowns = tuple(catalogue.breakdown(b) for b in (*m.grouping, *names))
    rows = metric_rows(backend, m, breakdowns, as_of)
    ordered = sorted(spans)
    rows = rows.filter(
        (rows._d >= min(s for s, _ in ordered)) & (rows._d <= max(e for _, e in ordered))
    )
    wt = ibis.memtable(
        {"_ws": [s for s, _ in ordered], "_we": [e for _, e in ordered]},
        schema={"_ws": "date", "_we": "date"},
    )
    joined = rows.join(wt, [rows._d >= wt._ws, rows._d <= wt._we])
    gcols = [f"_g{i}" for i in range(len(breakdowns))]
    grouped = joined.group_by(["_ws", "_we", *gcols]).aggregate(**aggregations(m, joined))
    ngroup = len(m.grouping)
    raw: dict[tuple[date, date, tuple[str, ...], tuple[str, ...]], dict[str, Any]] = {}
    for rec in backend.to_pyarrow(grouped).to_pylist():
        labels = tuple(str(rec[c]) for c in gcols)
        raw[(_day(rec["_ws"]), _day(rec["_we"]), labels[:ngroup], labels[ngroup:])] = rec
    out: dict[tuple[date, date, tuple[str, ...], tuple[str, ...]], dict[str, int]] = {}
    if m.kind == "proportion":
        for k, rec in raw.items():
            out[k] = {"num": int(rec["num"]), "den": int(rec["den"])}
    elif m.kind == "share":  # a category's denominator is its whole's count
        wholes: dict[tuple[Any, ...], int] = defaultdict(int)
        for (s, e, g, sp), rec in raw.items():
            wholes[(s, e, g[: len(m.group_by)], sp)] += int(rec["n"])
        for (s, e, g, sp), rec in raw.items():
            out[(s, e, g, sp)] = {
                "num": int(rec["n"]),
                "den": wholes[(s, e, g[: len(m.group_by)], sp)],
            }
    else:
        for k, rec in raw.items():
            out[k] = {"n": int(rec["n"])}
    return out


def _day(value: Any) -> date:
    day = value.date() if hasattr(value, "date") and callable(value.date) else value
    assert isinstance(day, date)
    return day
