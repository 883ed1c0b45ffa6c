"""Compute the metric catalogue: every figure with its interval, comparisons and SPC reading.

:func:`compute` takes any Ibis backend holding the canonical tables (and the ledger), an as-of
date and a period, and returns :class:`MetricValue` objects. The heavy work — filtering, joining
breakdowns, putting rows into windows, counting, and picking the order statistics of medians — is
done by Ibis queries, so it runs unchanged on DuckDB and PySpark. What comes back is small (a few
numbers per window and group); the statistics (:mod:`vcop.metrics.stats`) and SPC
(:mod:`vcop.metrics.spc`) are computed from it in Python.

Every row is counted in every window it falls in: the current period, the previous period, the
same period a year before, the long-term benchmark, and each month of the SPC series. The windows
form a small table joined to the rows on ``start <= date <= end``.

Metrics are computed in **batches**, one query per batch (two for medians), because on a cluster
each query has a fixed cost: proportions that share a source, date and grouping are counted
together (a pair of flags per metric), and medians that share a source, date, grouping and
measure are stacked (a metric number per row). Every other metric is a batch of its own.
"""

from __future__ import annotations

import hashlib
import math
import sys
import warnings
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any, cast

import ibis
import ibis.expr.types as ir

from vcop.metrics import policy, spc, stats
from vcop.metrics.periods import PeriodKind, PeriodWindows, Window, add_months, month_end, windows
from vcop.metrics.relations import Filters, flagged_rows, metric_rows
from vcop.metrics.targets import NONE as NO_TARGETS
from vcop.metrics.targets import Targets
from vcop.metrics.values import Comparison, Estimate, MetricValue
from vcop.spec.metrics import (
    CONTRACT_CONTACTS,
    ENHANCED_ELIGIBILITY,
    LEDGER,
    REFERRAL_CRIMES,
    VICTIM_CRIMES,
    Catalogue,
    Metric,
    load_catalogue,
    sources,
)
from vcop.store.coverage import NEEDS_FORCE_EXTRACT

Group = tuple[str, ...]
#: Aggregates per (metric index in the batch, window, group).
Aggregates = dict[tuple[int, int, Group], dict[str, Any]]

#: The start of time, for the window "everything before the benchmark".
_EPOCH = date(1900, 1, 1)


@contextmanager
def quietly() -> Iterator[None]:
    """Engine work without the deprecation notices ibis 12 raises on DuckDB 2 and pandas 3
    (theirs to fix; each is named, so any other warning still shows)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        yield


class MetricsError(ValueError):
    """The metrics cannot be computed as asked (unknown metric or breakdown, …)."""


@dataclass
class Result:
    """What :func:`compute` produced, and anything the reader should know."""

    values: list[MetricValue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    definitions_hash: str = ""


def spc_rules(catalogue: Catalogue) -> spc.SpcRules:
    s = catalogue.settings.spc
    return spc.SpcRules(
        limit=s.limit,
        run_length=s.run_length,
        trend_length=s.trend_length,
        two_of_three=s.two_of_three,
        screen_outliers=s.screen_outliers,
        min_points=s.min_points,
    )


def definitions_hash(catalogue: Catalogue, code_hashes: Sequence[str]) -> str:
    """A short hash of the catalogue files and the Victims' Code definitions behind the ledger."""
    digest = hashlib.sha256(catalogue.files_hash.encode())
    for h in sorted(set(code_hashes)):
        digest.update(b"\0" + h.encode())
    return digest.hexdigest()[:16]


def _packaged_code_hash() -> list[str]:
    try:
        from vcop.spec.code import LocalStandards, load_code

        return [load_code().definitions_hash(LocalStandards())]
    except Exception:  # no usable Code definitions: the catalogue alone
        return []


class _KnownTables:
    """``backend`` with each table looked up once: Ibis asks DuckDB for a table's schema every
    time it is named, and one :func:`compute` names the same few tables some sixty times. The
    tables do not change while the figures are computed; everything else is ``backend``'s."""

    def __init__(self, backend: ibis.BaseBackend) -> None:
        self._backend = backend
        self._tables: dict[str, ir.Table] = {}

    def table(self, name: str, *args: Any, **kwargs: Any) -> ir.Table:
        if args or kwargs:
            return self._backend.table(name, *args, **kwargs)
        if name not in self._tables:
            self._tables[name] = self._backend.table(name)
        return self._tables[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def _known_tables(backend: ibis.BaseBackend) -> ibis.BaseBackend:
    if isinstance(backend, _KnownTables):
        return backend
    return cast("ibis.BaseBackend", _KnownTables(backend))


def _rows_in(backend: ibis.BaseBackend, name: str) -> bool:
    if not has_table(backend, name):
        return False
    return bool(backend.table(name).limit(1).count().to_pyarrow().as_py())


def _published_only(backend: ibis.BaseBackend) -> bool:
    """Whether the database holds crimes but no victims (a published-data import)."""
    return _rows_in(backend, "crimes") and not _rows_in(backend, "victims")


def has_table(backend: ibis.BaseBackend, name: str) -> bool:
    """Whether ``backend`` holds table ``name`` (``list_tables`` is not portable enough)."""
    try:
        backend.table(name)
    except Exception:
        return False
    return True


def _ledger_stamps(backend: ibis.BaseBackend) -> tuple[list[date], list[str]]:
    """The as-of dates and definitions hashes found in the ledger (one query)."""
    t = backend.table(LEDGER)
    rows = _records(backend, t.select("as_of", "definitions_hash").distinct())
    dates = sorted({_as_date(r["as_of"]) for r in rows if r["as_of"] is not None})
    hashes = sorted({str(r["definitions_hash"]) for r in rows if r["definitions_hash"] is not None})
    return dates, hashes


def _records(backend: ibis.BaseBackend, expr: ir.Table) -> list[dict[str, Any]]:
    """Run ``expr`` and return its rows as plain Python values (through Arrow, not pandas)."""
    if backend.name == "duckdb" and not any(t.is_null() for t in expr.schema().types):
        # what ibis's DuckDB to_pyarrow does, but its result converter lives in a module that
        # imports pandas (a quarter of a second of every `vcop metrics`); that converter differs
        # from ibis's plain Arrow one only for columns of the null type, kept off this path
        with _unfused_selects():
            relation = backend._to_duckdb_relation(expr)
        table = relation.to_arrow_table()
        fast: list[dict[str, Any]] = expr.__pyarrow_result__(table).to_pylist()
        return fast
    rows: list[dict[str, Any]] = backend.to_pyarrow(expr).to_pylist()
    return rows


@contextmanager
def _unfused_selects() -> Iterator[None]:
    """Ibis compiling without its pass that merges each SELECT into the one around it
    (``ibis.options.sql.fuse_selects``): the pass is a third of the time Ibis takes to compile
    these queries (a quarter of a second of every `vcop metrics`), and DuckDB's optimiser
    flattens the nested SELECTs itself, so the queries run as fast and return the same rows.
    The option is Ibis's, for the whole process: it is restored after each query (threads
    compiling at once may see either value, which changes only how long compiling takes)."""
    before = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = False
    try:
        yield
    finally:
        ibis.options.sql.fuse_selects = before


def _as_date(value: Any) -> date:
    result: date = value.date() if isinstance(value, datetime) else value
    return result


# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The windows a batch is counted in, and which window plays which role."""

    windows: tuple[Window, ...]
    current: int
    previous: int
    year_ago: int
    benchmark: int | None
    #: For counts: everything before the earliest window, to tell where the data starts.
    before: int | None
    months: tuple[int, ...]
    #: The provisional part of the current window, by the day it starts (one per maturity).
    tails: Mapping[date, int] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        pw: PeriodWindows,
        benchmark: Window | None,
        *,
        count: bool = False,
        tails: Sequence[date] = (),
    ) -> _Plan:
        unique: dict[Window, int] = {}

        def key(w: Window) -> int:
            return unique.setdefault(w, len(unique))

        cur, prev, year = key(pw.current), key(pw.previous), key(pw.year_ago)
        bench = key(benchmark) if benchmark is not None else None
        months = tuple(key(w) for w in pw.spc_months)
        tail_keys = {d: key(Window(d, pw.current.end)) for d in sorted(set(tails))}
        before = None
        if count:
            earliest = min(w.start for w in unique)
            before = key(Window(_EPOCH, earliest - timedelta(days=1)))
        return cls(tuple(unique), cur, prev, year, bench, before, months, tail_keys)

    def data_start(self, aggs: Aggregates, m: int) -> date | None:
        """Where metric ``m``'s data starts (None: before every window, or no data)."""
        if self.before is None or _first_date(aggs, m, self.before) is not None:
            return None
        found = [
            _as_date(a["first"])
            for (mi, _, _), a in aggs.items()
            if mi == m and a.get("first") is not None
        ]
        return min(found) if found else None


def _memtable(data: dict[str, list[Any]], schema: dict[str, str]) -> ir.Table:
    """``ibis.memtable(data, schema=schema)`` (columns of int64, date or string, no nulls),
    without importing pandas: a quarter of a second of every `vcop metrics`, for a few small
    tables. Ibis makes a pandas DataFrame of a dict, pyarrow imports pandas to build an array
    from Python values (or a table from a dict), and ``ibis.memtable`` imports it to dispatch on
    an Arrow table; so the columns are built from their bytes, and the table as
    ``ibis.memtable`` builds it from an Arrow table."""
    import pyarrow as pa
    from ibis.expr import operations as ops
    from ibis.formats.pyarrow import PyArrowTableProxy

    sch = ibis.schema(schema)
    arrays = [_arrow_column(data[name], str(dtype)) for name, dtype in sch.items()]
    table = pa.Table.from_arrays(arrays, schema=sch.to_pyarrow())
    name = ibis.util.gen_name("pyarrow_memtable")
    return ops.InMemoryTable(name=name, schema=sch, data=PyArrowTableProxy(table)).to_expr()


_UNIX_EPOCH = date(1970, 1, 1)


def _arrow_column(values: Sequence[Any], dtype: str) -> Any:
    """An Arrow array of ``values`` (int64, date or string; no nulls) made from its buffers."""
    import pyarrow as pa

    n = len(values)
    if dtype == "int64":
        return pa.Array.from_buffers(pa.int64(), n, [None, _little("q", values)])
    if dtype == "date":
        days = [(d - _UNIX_EPOCH).days for d in values]
        return pa.Array.from_buffers(pa.date32(), n, [None, _little("i", days)])
    if dtype == "string":
        encoded = [str(v).encode("utf-8") for v in values]
        offsets = list(accumulate((len(b) for b in encoded), initial=0))
        return pa.Array.from_buffers(
            pa.string(), n, [None, _little("i", offsets), pa.py_buffer(b"".join(encoded))]
        )
    raise TypeError(f"no Arrow column of {dtype} here")


def _little(code: str, numbers: Sequence[int]) -> Any:
    """``numbers`` as a buffer of C integers (``code``: ``q`` 64-bit, ``i`` 32-bit), in Arrow's
    little-endian order."""
    import pyarrow as pa

    packed = array(code, numbers)
    if sys.byteorder != "little":
        packed.byteswap()
    return pa.py_buffer(packed.tobytes())


def _in_span(rows: ir.Table, plan: _Plan) -> ir.Table:
    """The rows dated inside some window of ``plan``."""
    lo = min(w.start for w in plan.windows)
    hi = max(w.end for w in plan.windows)
    return rows.filter((rows._d >= lo) & (rows._d <= hi))


def _windowed(rows: ir.Table, plan: _Plan) -> ir.Table:
    """Each row of ``rows`` once per window it falls in (the window's number in ``_w``)."""
    return _join_windows(_in_span(rows, plan), plan)


def _by_day(
    rows: ir.Table, plan: _Plan, keys: Sequence[str], counts: Mapping[str, ir.Value]
) -> ir.Table:
    """``counts`` (counts of ``rows``) per day and ``keys``, each day once per window it falls
    in. A row falls in a dozen windows or more (the periods, the benchmark, the SPC months):
    counting each day's rows first and then adding up the days of each window joins days to
    the windows, not rows, and gives the very same counts (integers add up in any order)."""
    days = rows.group_by(["_d", *keys]).aggregate(**counts)
    return _join_windows(days, plan)


def _join_windows(rows: ir.Table, plan: _Plan) -> ir.Table:
    wt = _memtable(
        {
            "_w": list(range(len(plan.windows))),
            "_ws": [w.start for w in plan.windows],
            "_we": [w.end for w in plan.windows],
        },
        schema={"_w": "int64", "_ws": "date", "_we": "date"},
    )
    j = rows.join(wt, [rows._d >= wt._ws, rows._d <= wt._we])
    return j.drop("_ws", "_we")


# --------------------------------------------------------------------------------------------
# Batches and their queries
# --------------------------------------------------------------------------------------------


def batch_key(metric: Metric) -> tuple[object, ...] | None:
    """Metrics with the same key are computed in one batch; None: a batch of its own."""
    if metric.kind == "proportion" and metric.count_distinct is None:
        return ("proportion", metric.source, metric.date, metric.grouping)
    if metric.kind == "median":
        return ("median", metric.source, metric.date, metric.grouping, metric.measure)
    return None


def _group_of(rec: dict[str, Any], ngroups: int) -> Group:
    return tuple(str(rec[f"_g{i}"]) for i in range(ngroups))


def _flag_aggregates(
    backend: ibis.BaseBackend, rows: ir.Table, plan: _Plan, nmetrics: int, ngroups: int
) -> Aggregates:
    """Numerator and denominator of each flagged proportion, per window and group."""
    keys = [f"_g{i}" for i in range(ngroups)]
    rows = _in_span(rows, plan)
    counts: dict[str, ir.Value] = {}
    for i in range(nmetrics):
        counts[f"den{i}"] = rows.count(where=rows[f"_w{i}"])
        counts[f"num{i}"] = rows.count(where=rows[f"_n{i}"])
    j = _by_day(rows, plan, keys, counts)
    gcols = ["_w", *keys]
    aggs = {name: j[name].sum() for name in counts}
    out: Aggregates = {}
    for rec in _records(backend, j.group_by(gcols).aggregate(**aggs)):
        for i in range(nmetrics):
            if int(rec[f"den{i}"]):
                out[(i, int(rec["_w"]), _group_of(rec, ngroups))] = {
                    "den": int(rec[f"den{i}"]),
                    "num": int(rec[f"num{i}"]),
                }
    return out


def _stacked_aggregates(
    backend: ibis.BaseBackend,
    metric: Metric,
    rows: ir.Table,
    plan: _Plan,
    ngroups: int,
    confidence: float,
) -> Aggregates:
    """Per metric (``_m``), window and group: the numbers the statistics of its kind need."""
    kind = metric.kind
    distinct = metric.count_distinct is not None
    gcols = ["_m", "_w", *(f"_g{i}" for i in range(ngroups))]
    if kind in ("proportion", "share", "count", "median") and not distinct:
        counted = _counted_by_day(backend, kind, rows, plan, ngroups)
        if kind == "median" and counted:
            _order_statistics(backend, _windowed(rows, plan), gcols, counted, confidence)
        return counted
    j = _windowed(rows, plan)
    aggs: dict[str, ir.Value]
    if kind == "proportion":
        aggs = {
            "den": j._k.nunique() if distinct else j.count(),
            "num": j._k.nunique(where=j._num) if distinct else j.count(where=j._num),
        }
    elif kind == "mean":
        aggs = {"n": j.count(), "s": j._v.sum(), "ss": (j._v * j._v).sum()}
    else:  # share, count, median
        aggs = {"n": j._k.nunique() if distinct else j.count()}
    if kind == "count":
        aggs["first"] = j._d.min()
    out: Aggregates = {}
    for rec in _records(backend, j.group_by(gcols).aggregate(**aggs)):
        key = (int(rec["_m"]), int(rec["_w"]), _group_of(rec, ngroups))
        out[key] = {k: rec[k] for k in aggs}
    if kind == "median" and out:
        _order_statistics(backend, j, gcols, out, confidence)
    return out


def _counted_by_day(
    backend: ibis.BaseBackend, kind: str, rows: ir.Table, plan: _Plan, ngroups: int
) -> Aggregates:
    """:func:`_stacked_aggregates` for the kinds made of row counts (proportions, shares and
    counts, and the sample sizes of medians; not of distinct keys), counted per day first (see
    :func:`_by_day`)."""
    keys = ["_m", *(f"_g{i}" for i in range(ngroups))]
    rows = _in_span(rows, plan)
    counts: dict[str, ir.Value] = {"n": rows.count()}
    if kind == "proportion":
        counts = {"den": rows.count(), "num": rows.count(where=rows._num)}
    j = _by_day(rows, plan, keys, counts)
    aggs: dict[str, ir.Value] = {name: j[name].sum() for name in counts}
    if kind == "count":
        aggs["first"] = j._d.min()
    out: Aggregates = {}
    for rec in _records(backend, j.group_by(["_m", "_w", *keys[1:]]).aggregate(**aggs)):
        key = (int(rec["_m"]), int(rec["_w"]), _group_of(rec, ngroups))
        out[key] = {k: rec[k] for k in aggs}
    return out


def _order_statistics(
    backend: ibis.BaseBackend, j: ir.Table, gcols: list[str], out: Aggregates, confidence: float
) -> None:
    """Fetch, for every metric, window and group, just the order statistics its median needs."""
    wanted: dict[str, list[Any]] = {c: [] for c in (*gcols, "_r")}
    for (m, w, group), agg in out.items():
        for r in stats.median_ranks(int(agg["n"]), confidence):
            wanted["_m"].append(m)
            wanted["_w"].append(w)
            for i, g in enumerate(group):
                wanted[f"_g{i}"].append(g)
            wanted["_r"].append(r)
    schema = {"_m": "int64", "_w": "int64", "_r": "int64", **{c: "string" for c in gcols[2:]}}
    ranks = _memtable(wanted, schema=schema)
    ranked = j.mutate(_r=ibis.row_number().over(group_by=gcols, order_by=j._v) + 1)
    picked = ranked.join(ranks, [*gcols, "_r"]).select(*gcols, "_r", "_v")
    ngroups = len(gcols) - 2
    for rec in _records(backend, picked):
        key = (int(rec["_m"]), int(rec["_w"]), _group_of(rec, ngroups))
        out[key].setdefault("order", {})[int(rec["_r"])] = float(rec["_v"])


# --------------------------------------------------------------------------------------------
# From aggregates to estimates, comparisons and SPC
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Point:
    estimate: Estimate
    summary: stats.MedianSummary | stats.MeanSummary | None
    n: int


def _point(
    kind: str, window: Window, agg: dict[str, Any] | None, total: int, conf: float
) -> _Point:
    start, end = window.start, window.end
    if kind in ("proportion", "share"):
        if kind == "proportion":
            num, den = (int(agg["num"]), int(agg["den"])) if agg else (0, 0)
        else:
            num, den = (int(agg["n"]) if agg else 0), total
        ci = stats.wilson_interval(num, den, conf)
        value = num / den if den else None
        return _Point(Estimate(start, end, num, den, value, *(ci or (None, None))), None, den)
    if kind == "count":
        c = int(agg["n"]) if agg else 0
        lo, hi = stats.poisson_interval(c, conf)
        return _Point(Estimate(start, end, c, None, float(c), lo, hi), None, c)
    n = int(agg["n"]) if agg else 0
    if agg is None or n == 0:
        return _Point(Estimate(start, end, None, 0, None), None, 0)
    if kind == "mean":
        ms = stats.MeanSummary.from_sums(n, float(agg["s"]), float(agg["ss"]))
        ci = ms.interval(conf)
        return _Point(Estimate(start, end, None, n, ms.mean, *(ci or (None, None))), ms, n)
    med = stats.MedianSummary.from_order_statistics(n, agg["order"], conf)
    return _Point(Estimate(start, end, None, n, med.median, med.ci_low, med.ci_high), med, n)


def _compare(
    kind: str, now: _Point, then: _Point, conf: float, seen_at: date | None = None
) -> Comparison:
    a, b = now.estimate, then.estimate
    change = None if a.value is None or b.value is None else a.value - b.value
    result: stats.TestResult | None = None
    if kind in ("proportion", "share"):
        result = stats.two_proportion_test(
            a.numerator or 0, a.denominator or 0, b.numerator or 0, b.denominator or 0
        )
    elif kind == "count":
        result = stats.poisson_rate_test(
            a.numerator or 0,
            (a.end - a.start).days + 1,
            b.numerator or 0,
            (b.end - b.start).days + 1,
        )
    elif (
        kind == "mean"
        and isinstance(now.summary, stats.MeanSummary)
        and isinstance(then.summary, stats.MeanSummary)
    ):
        result = stats.welch_test(now.summary, then.summary)
    elif (
        kind == "median"
        and isinstance(now.summary, stats.MedianSummary)
        and isinstance(then.summary, stats.MedianSummary)
    ):
        result, _ = stats.median_difference_test(now.summary, then.summary, conf)
    return Comparison(
        estimate=b,
        change=change,
        p_value=None if result is None else result.p_value,
        method=None if result is None else result.method,
        seen_at=seen_at,
    )


def _first_date(aggs: Aggregates, m: int, w: int | None) -> date | None:
    found = [
        _as_date(a["first"])
        for (mi, wi, _), a in aggs.items()
        if mi == m and wi == w and a.get("first") is not None
    ]
    return min(found) if found else None


def _size(kind: str, agg: dict[str, Any] | None) -> int:
    """How many cases an aggregate holds (a proportion's denominator, others' count)."""
    if agg is None:
        return 0
    return int(agg["den"]) if kind == "proportion" else int(agg["n"])


def _values_for_metric(
    metric: Metric,
    m: int,
    aggs: Aggregates,
    plan: _Plan,
    pw: PeriodWindows,
    catalogue: Catalogue,
    breakdown: tuple[str, ...],
    stamp: str,
    ctx: _Context,
    aged: Mapping[str, Aggregates] | None = None,
) -> list[MetricValue]:
    """The values of metric ``m`` of a batch. ``aged``: the comparison windows' aggregates as
    the data stood at the same age (see :func:`compute_batch`), for provisional values."""
    kind = metric.kind
    conf = catalogue.settings.confidence
    # a share's whole: the sum over its categories, per window and every other group column (the
    # category column is the share_of breakdown, right after group_by; a --by column comes after)
    cat = len(metric.group_by)

    def whole(g: Group) -> Group:
        return g[:cat] + g[cat + 1 :]

    totals: dict[tuple[int, Group], int] = defaultdict(int)
    if kind == "share":
        for (mi, w, g), agg in aggs.items():
            if mi == m:
                totals[(w, whole(g))] += int(agg["n"])

    # A count over a window the data does not cover would be too low, not a fall: counts are
    # compared only with windows that start on or after the first day of data, and the long-term
    # benchmark is the years before the current window that have data (at least one).
    start = plan.data_start(aggs, m)
    bench_window: Window | None = None
    if plan.benchmark is not None:
        window = plan.windows[plan.benchmark]
        first = window.start if start is None else max(start, window.start)
        if (window.end - first).days + 1 >= 365:
            bench_window = Window(first, window.end)

    def covered(w: int) -> bool:
        return kind != "count" or start is None or plan.windows[w].start >= start

    def point(w: int, g: Group) -> _Point:
        window = plan.windows[w]
        if w == plan.benchmark and bench_window is not None:
            window = bench_window
        return _point(kind, window, aggs.get((m, w, g)), totals.get((w, whole(g)), 0), conf)

    def then(which: str, g: Group) -> _Point:
        """An earlier window as it stood at the same age as the current one."""
        a = (aged or {})[which]
        total = 0
        if kind == "share":
            total = sum(
                int(x["n"]) for (mi, _, gg), x in a.items() if mi == m and whole(gg) == whole(g)
            )
        window = plan.windows[plan.previous if which == "previous" else plan.year_ago]
        return _point(kind, window, a.get((m, 0, g)), total, conf)

    groups = sorted({g for (mi, w, g) in aggs if mi == m and w == plan.current})
    # the SPC series: the months the data covers (for counts, an empty month after that is 0),
    # judged only where mature and out of the warm-up (see vcop.metrics.policy)
    with_data = {w for (mi, w, _) in aggs if mi == m}
    starts = [i for i, w in enumerate(plan.months) if w in with_data]
    months = plan.months[starts[0] :] if starts else ()
    if kind == "count" and start is not None:
        months = tuple(w for w in months if plan.windows[w].start >= start)
    ready = policy.ready_from(ctx.data_start, metric)
    months = tuple(
        w for w in months if policy.judged_month(plan.windows[w].start, pw.as_of, metric, ready)
    )
    tail_start = policy.provisional_from(pw.current, pw.as_of, policy.maturity(metric))
    tail = plan.tails.get(tail_start) if tail_start is not None else None
    at_same_age = tail is not None and aged is not None
    ages = {which: same_age(pw, which) for which in ("previous", "year_ago")}
    rules = spc_rules(catalogue)
    polarity = spc.Polarity(metric.polarity)
    target = ctx.targets.for_metric(metric.id, pw.as_of)
    provenance = target.target
    out = []
    for g in groups:
        now = point(plan.current, g)
        bench_value: float | None = None
        bench_sig: bool | None = None
        bench_p: float | None = None
        if plan.benchmark is not None and bench_window is not None:
            b = point(plan.benchmark, g).estimate
            days_now, days_b = pw.current.days, bench_window.days
            bench_value = (b.numerator or 0) * days_now / days_b
            test = stats.poisson_rate_test(
                now.estimate.numerator or 0, days_now, b.numerator or 0, days_b
            )
            bench_sig = None if test is None else test.significant
            bench_p = None if test is None else test.p_value
        judged = [
            (plan.windows[w].start, v)
            for w, v in ((w, point(w, g).estimate.value) for w in months)
            if v is not None and not math.isnan(v)
        ]
        rebase = policy.rebase_indexes(
            [d for d, _ in judged], metric, ctx.targets.rebase_months(metric.id)
        )
        series = [v for _, v in judged]
        reading = spc.analyse(series, polarity, target.value, rules, rebase)
        share: float | None = None
        if tail is not None:
            size = _size(kind, aggs.get((m, plan.current, g)))
            share = _size(kind, aggs.get((m, tail, g))) / size if size else None
        value = MetricValue(
            metric_id=metric.id,
            kind=kind,
            unit=metric.unit,
            period=pw.kind.value,
            as_of=pw.as_of,
            breakdown=breakdown,
            group=g,
            current=now.estimate,
            previous=_compare(kind, now, then("previous", g), conf, ages["previous"])
            if at_same_age
            else _compare(kind, now, point(plan.previous, g), conf),
            year_ago=_compare(kind, now, then("year_ago", g), conf, ages["year_ago"])
            if at_same_age
            else _compare(kind, now, point(plan.year_ago, g), conf),
            small_sample=now.n < catalogue.settings.small_sample,
            benchmark=bench_value,
            benchmark_significant=bench_sig,
            benchmark_p_value=bench_p,
            spc_variation=reading.variation if reading else None,
            spc_assurance=reading.assurance if reading else None,
            spc_points=len(series),
            target=target.value,
            definitions_hash=stamp,
            provisional=tail is not None,
            provisional_share=share,
            target_source=provenance.source if provenance else None,
            target_adopted=bool(provenance and provenance.adopted),
            target_effective_from=provenance.effective_from if provenance else None,
            target_effective_to=provenance.effective_to if provenance else None,
            target_basis=provenance.basis if provenance else None,
            better=policy.better(metric),
        )
        out.append(_comparability(value, metric, plan, pw, ready, covered, at_same_age))
    return out


def _comparability(
    v: MetricValue,
    metric: Metric,
    plan: _Plan,
    pw: PeriodWindows,
    ready: date | None,
    covered: Any,
    same_age: bool = False,
) -> MetricValue:
    """``v`` with only the comparisons the policy allows (see :mod:`vcop.metrics.policy`): a
    provisional value only with earlier windows as they stood at the same age."""
    if v.provisional and not same_age:
        return v.not_comparable(policy.provisional_reason(metric))
    if policy.in_warm_up(pw.current, ready):
        return v.not_comparable(policy.warm_up_reason(metric, "the period"))
    for which, w, label in (
        ("previous", plan.previous, "the previous period"),
        ("year_ago", plan.year_ago, "the same period a year before"),
    ):
        if not covered(w):
            reason = policy.no_data_reason(label)
        elif policy.in_warm_up(plan.windows[w], ready):
            reason = policy.warm_up_reason(metric, label)
        else:
            continue
        kept = {k: getattr(v, k) for k in ("previous", "year_ago") if k != which}
        v = replace(v.not_comparable(reason), **kept)
    return v


@dataclass(frozen=True)
class _Context:
    """What every metric of one :func:`compute` call shares."""

    data_start: date | None = None
    targets: Targets = NO_TARGETS
    filters: Filters = ()


def data_start(backend: ibis.BaseBackend) -> date | None:
    """The day the data begin: the first crime reported (None: no crimes)."""
    if not has_table(backend, "crimes"):
        return None
    crimes = backend.table("crimes")
    value = _records(backend, crimes.aggregate(first=crimes.reported_at.min()))[0]["first"]
    return None if value is None else _as_date(value)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def compute_batch(
    backend: ibis.BaseBackend,
    metrics: Sequence[Metric],
    as_of: date,
    period: PeriodKind | str = PeriodKind.rolling_12m,
    *,
    by: str | None = None,
    catalogue: Catalogue | None = None,
    stamp: str = "",
    filters: Mapping[str, str] | None = None,
    targets: Targets | None = None,
    context: _Context | None = None,
) -> list[MetricValue]:
    """Values of one metric, or of metrics that share a :func:`batch_key`, in one go."""
    catalogue = catalogue or load_catalogue()
    kind = PeriodKind(period)
    first = metrics[0]
    keys = {batch_key(m) for m in metrics}
    if len(metrics) > 1 and (len(keys) != 1 or None in keys):
        raise MetricsError("only metrics with the same batch key are computed together")
    for metric in metrics:
        if by is not None and by not in metric.breakdowns:
            raise MetricsError(f"{metric.id} cannot be broken down by {by}")
    if context is None:
        context = _Context(
            data_start(backend),
            targets or NO_TARGETS,
            resolve_filters(catalogue, metrics, filters),
        )
    names = (*first.grouping, *((by,) if by else ()))
    breakdowns = tuple(catalogue.breakdown(b) for b in names)
    pw = windows(kind, as_of, catalogue.settings.spc.months)
    conf = catalogue.settings.confidence
    bench = None
    if first.kind == "count" and first.benchmark_years and kind is PeriodKind.rolling_12m:
        bench = pw.benchmark(first.benchmark_years)
    tails = [
        d
        for m in metrics
        if (d := policy.provisional_from(pw.current, as_of, policy.maturity(m))) is not None
    ]
    plan = _Plan.make(pw, bench, count=first.kind == "count", tails=tails)

    def aggregate(p: _Plan, seen_at: date | None = None) -> Aggregates:
        flt = context.filters
        if first.kind == "proportion" and first.count_distinct is None:
            rows = flagged_rows(backend, metrics, breakdowns, as_of, flt, seen_at)
            return _flag_aggregates(backend, rows, p, len(metrics), len(breakdowns))
        parts = [
            metric_rows(backend, m, breakdowns, as_of, flt, seen_at).mutate(
                _m=ibis.literal(i, type="int64")
            )
            for i, m in enumerate(metrics)
        ]
        rows = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
        return _stacked_aggregates(backend, first, rows, p, len(breakdowns), conf)

    aggs = aggregate(plan)
    # a provisional value is compared with the earlier windows as they stood at the same age:
    # each counted again from the data as seen a period (or a year) before the as-of date
    aged: dict[str, Aggregates] | None = None
    if tails:
        aged = {}
        seen_for = {"previous": same_age(pw, "previous"), "year_ago": same_age(pw, "year_ago")}
        for which, window in (("previous", pw.previous), ("year_ago", pw.year_ago)):
            if not _compared(metrics, window, context):
                aged[which] = {}  # no value keeps this comparison: nothing to count it for
                continue
            done = [k for k in aged if seen_for[k] == seen_for[which]]
            if which == "year_ago" and done and pw.previous == pw.year_ago:
                aged[which] = aged[done[0]]
                continue
            one = _Plan((window,), 0, 0, 0, None, None, ())
            aged[which] = aggregate(one, seen_for[which])
    out: list[MetricValue] = []
    for i, metric in enumerate(metrics):
        out.extend(
            _values_for_metric(metric, i, aggs, plan, pw, catalogue, names, stamp, context, aged)
        )
    return out


def _compared(metrics: Sequence[Metric], earlier: Window, context: _Context) -> bool:
    """Whether a value of ``metrics`` may keep its comparison with the ``earlier`` window: none
    is kept with a window in the metric's warm-up (:func:`_comparability`), so then that window
    as it stood at the same age need not be counted (as in a force's first year)."""
    return any(
        not policy.in_warm_up(earlier, policy.ready_from(context.data_start, m)) for m in metrics
    )


def same_age(pw: PeriodWindows, which: str) -> date:
    """The date on which the ``previous`` (or ``year_ago``) window was as old as the current
    window is on the as-of date: a period (or a year) before it; month ends stay month ends."""
    back = 12
    if which == "previous":
        back = {PeriodKind.month: 1, PeriodKind.quarter: 3}.get(pw.kind, 12)
    if pw.as_of == month_end(pw.as_of):
        return month_end(add_months(pw.as_of.replace(day=1), -back))
    return add_months(pw.as_of, -back)


def resolve_filters(
    catalogue: Catalogue, metrics: Sequence[Metric], filters: Mapping[str, str] | None
) -> Filters:
    """``filters`` (breakdown id → group label) checked against the catalogue and ``metrics``."""
    out = []
    known = sorted(b.id for b in catalogue.breakdowns)
    for bid, value in (filters or {}).items():
        if bid not in known:
            raise MetricsError(f"no breakdown {bid!r} to filter on: one of {', '.join(known)}")
        for metric in metrics:
            if bid not in metric.breakdowns:
                raise MetricsError(f"{metric.id} cannot be filtered by {bid}")
        out.append((catalogue.breakdown(bid), str(value)))
    return tuple(out)


def compute_metric(
    backend: ibis.BaseBackend,
    metric: Metric,
    as_of: date,
    period: PeriodKind | str = PeriodKind.rolling_12m,
    *,
    by: str | None = None,
    catalogue: Catalogue | None = None,
    stamp: str = "",
    filters: Mapping[str, str] | None = None,
    targets: Targets | None = None,
) -> list[MetricValue]:
    """One metric's values for ``period`` ending on ``as_of`` (by one breakdown, or overall)."""
    return compute_batch(
        backend, [metric], as_of, period, by=by, catalogue=catalogue, stamp=stamp,
        filters=filters, targets=targets,
    )  # fmt: skip


def compute(
    backend: ibis.BaseBackend,
    as_of: date,
    period: PeriodKind | str = PeriodKind.rolling_12m,
    *,
    metrics: Sequence[str] | None = None,
    by: str | None = None,
    catalogue: Catalogue | None = None,
    filters: Mapping[str, str] | None = None,
    targets: Targets | None = None,
) -> Result:
    """Every metric asked for (all by default), for ``period`` ending on ``as_of``.

    ``filters`` (breakdown id → group label, e.g. ``{"area": "North", "district": "Marshwick"}``)
    keeps only the rows in that place or group, so every figure and every split is of the
    filtered rows. ``targets``: the force's targets (:mod:`vcop.metrics.targets`; none by
    default).

    Metrics that cannot be computed are left out with a note saying why: the ledger is missing or
    was evaluated for another date, the metric has no such breakdown or filter, or the table or
    column it counts is missing or blank.
    """
    catalogue = catalogue or load_catalogue()
    PeriodKind(period)  # fail early on a bad period
    backend = _known_tables(backend)
    chosen = list(dict.fromkeys(metrics)) if metrics else list(catalogue.metric_ids)
    unknown = [m for m in chosen if m not in catalogue.metric_ids]
    if unknown:
        raise MetricsError(
            f"no metric {', '.join(unknown)} (see docs/metrics.md or `vcop metrics --list`)"
        )
    known = {b.id for b in catalogue.breakdowns}
    if by is not None and by not in known:
        raise MetricsError(f"no breakdown {by!r}: one of {', '.join(sorted(known))}")
    # each metric's own breakdowns are checked below, with a note for those it lacks
    flt = resolve_filters(catalogue, (), filters)
    result = Result()
    holds: dict[str, bool] = {}

    def present(name: str) -> bool:
        """:func:`has_table`, asked once per table (each asks the backend for its schema)."""
        if name not in holds:
            holds[name] = has_table(backend, name)
        return holds[name]

    wants_ledger = any(catalogue.metric(m).source == LEDGER for m in chosen)
    ledger_ok = False
    code_hashes: list[str] = []
    if present(LEDGER):
        dates, code_hashes = _ledger_stamps(backend)
        ledger_ok = dates == [as_of]
    if wants_ledger and not ledger_ok and _published_only(backend):
        # published data (no victims): say once what it cannot give, not "run vcop evaluate"
        result.notes.append(NEEDS_FORCE_EXTRACT)
    elif present(LEDGER):
        if not ledger_ok and wants_ledger:
            seen = ", ".join(d.isoformat() for d in dates) or "no date (it is empty)"
            result.notes.append(
                f"the ledger was evaluated as of {seen}, not {as_of.isoformat()}: run "
                f"`vcop evaluate --as-of {as_of.isoformat()}` for the Victims' Code metrics"
            )
    elif wants_ledger:
        result.notes.append(
            "no entitlement ledger in the database: run `vcop evaluate` for the Victims' Code metrics"
        )
    result.definitions_hash = definitions_hash(
        catalogue, code_hashes if ledger_ok and code_hashes else _packaged_code_hash()
    )
    batches: dict[object, list[Metric]] = {}
    for mid in chosen:
        metric = catalogue.metric(mid)
        if metric.source == LEDGER and not ledger_ok:
            continue
        if by is not None and by not in metric.breakdowns:
            if metrics:
                result.notes.append(
                    f"{mid} has no breakdown {by} (it has: {', '.join(metric.breakdowns) or 'none'})"
                )
            continue
        missing = [f for f in (filters or {}) if f not in metric.breakdowns]
        if missing:
            if metrics:
                result.notes.append(f"{mid} cannot be filtered by {', '.join(missing)}")
            continue
        absent = missing_source(backend, metric, present)
        if absent is not None:
            result.notes.append(f"{mid} cannot be computed: {absent}")
            continue
        batches.setdefault(batch_key(metric) or mid, []).append(metric)
    context = _Context(
        data_start(backend),
        targets or NO_TARGETS,
        flt,
    )
    values: list[MetricValue] = []
    for batch in batches.values():
        values.extend(
            compute_batch(
                backend,
                batch,
                as_of,
                period,
                by=by,
                catalogue=catalogue,
                stamp=result.definitions_hash,
                context=context,
            )
        )
    have = {v.metric_id for v in values}
    for batch in batches.values():
        for metric in batch:
            if metric.id not in have and metrics:
                result.notes.append(f"{metric.id}: {empty_reason(backend, metric, as_of)}")
    order = {mid: i for i, mid in enumerate(chosen)}
    result.values = sorted(values, key=lambda v: order[v.metric_id])
    return result


# --------------------------------------------------------------------------------------------
# Why a metric has no values
# --------------------------------------------------------------------------------------------

#: The canonical tables behind each derived source.
_TABLES_OF = {
    VICTIM_CRIMES: ("crimes", "victims"),
    ENHANCED_ELIGIBILITY: ("crimes", "victims", "needs_assessments"),
    REFERRAL_CRIMES: ("referrals", "crimes"),
    CONTRACT_CONTACTS: ("contacts", "care_contracts"),
}


def missing_source(
    backend: ibis.BaseBackend, metric: Metric, present: Callable[[str], bool] | None = None
) -> str | None:
    """What is missing for ``metric`` to be computed at all (None: its tables are there).
    ``present`` says whether the backend holds a table (default: :func:`has_table`)."""
    if metric.source == LEDGER:
        return None  # the ledger's own notes say what to run
    for table in _TABLES_OF.get(metric.source, (metric.source,)):
        if not (present(table) if present else has_table(backend, table)):
            return (
                f"there is no {table} table: load a {table} extract (see docs/data-dictionary.md)"
            )
    return None


def empty_reason(backend: ibis.BaseBackend, metric: Metric, as_of: date) -> str:
    """Why ``metric`` has no value: which column it needs is blank in every row, or that no row
    meets its definition in the windows it looks at."""
    table = _TABLES_OF.get(metric.source, (metric.source,))[0]
    if metric.source != LEDGER and has_table(backend, table):
        t = backend.table(table)
        own = set(sources()[table].columns) & set(t.columns)
        needed = sorted(c for c in metric.columns() if c in own)
        if needed:
            counts = _records(
                backend, t.aggregate(_rows=t.count(), **{c: t[c].count() for c in needed})
            )[0]
            if not int(counts["_rows"]):
                return f"the {table} table is empty: load a {table} extract"
            blank = [c for c in needed if not int(counts[c])]
            if blank:
                cols = ", ".join(f"{table}.{c}" for c in blank)
                return (
                    f"{cols} is blank in every row: load {table} with "
                    f"{' and '.join(blank)} filled in (see docs/data-dictionary.md)"
                )
    return (
        f"no row of {metric.source} meets its definition in the 24 months to {as_of.isoformat()} "
        "(see docs/metrics.md)"
    )
