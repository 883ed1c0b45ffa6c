"""The dashboard's figures, computed when the ledger is evaluated (``dashboard_figures``).

The dashboard's pages first show figures with no drill-down filters: every metric for each
period the pages offer (:data:`PERIODS`), overall and split by each breakdown a page offers
(:data:`SPLITS`); each metric's monthly SPC series; for the splits by a protected
characteristic, the counts per victim behind each group's test against the rest; and, for each
period, every metric filtered to each investigating unit (:data:`SCOPES`: a supervisor's own
scope, shown beside the force's on the overview and family pages). Computing them
on the first click took seconds (ten for a new period on a 3-year force), so ``vcop evaluate``
(and ``vcop refresh`` and ``vcop demo``) compute them once, straight after the ledger, with the
same engine (:func:`vcop.metrics.engine.compute`, one call per period and split, batched over every
metric that has the split), and store them in the build as the table :data:`TABLE`.

Each row is one figure set the web asks for, keyed by what it asks with (``kind``, ``period``,
``split``, ``metric_id``), its payload the engine's own objects as JSON (floats written exactly,
so the stored figures equal the computed ones), deflated with zlib and stored as a BLOB that
DuckDB leaves uncompressed: DuckDB would compress the whole column as one ZSTD segment, and
every lookup of one row then decompressed it all (20-40 ms a key on the 3-year demo; under 2 ms
so). Every row is stamped with what it was made from
(:class:`Stamp`): the ledger run (its id, as-of date and definitions hash), the catalogue's files
and the force's targets. The dashboard (:mod:`vcop.web.metrics`) reads a row only when the stamp
matches the build it serves and its targets; otherwise (an older database, a ledger evaluated
without this step, targets edited since) it computes as before — stale figures are never shown.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import ibis

from vcop.metrics import spc
from vcop.metrics.comparisons import victim_counts
from vcop.metrics.engine import (
    MetricsError,
    Result,
    compute,
    empty_reason,
    missing_source,
    quietly,
)
from vcop.metrics.multiplicity import ClusterCounts
from vcop.metrics.periods import PeriodKind
from vcop.metrics.series import Point, Series, monthly_series
from vcop.metrics.stored_figures import CURRENT, TABLE, Precomputed, wanted
from vcop.metrics.targets import NONE as NO_TARGETS
from vcop.metrics.targets import Targets, targets_for_db
from vcop.metrics.values import Comparison, Estimate, MetricValue
from vcop.spec.metrics import LEDGER, Catalogue, Metric, load_catalogue

if TYPE_CHECKING:
    from vcop.voice.themes import ThemeCounts

#: The layout of a payload; a build stored with another is stale (2: deflated, uncompressed BLOB).
FORMAT = 2

#: The periods the pages offer (``?period=``), in the order they offer them.
PERIODS: tuple[str, ...] = (
    PeriodKind.rolling_12m.value,
    PeriodKind.fytd.value,
    PeriodKind.quarter.value,
    PeriodKind.month.value,
)


@dataclass(frozen=True)
class Splits:
    """Splits a page offers with no filter (``?by=``), and the measures it shows split so."""

    splits: tuple[str, ...]
    #: The metric families whose measures are split (or ``metrics``: these ones).
    families: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()

    def chooses(self, metric: Metric) -> bool:
        return metric.family in self.families or metric.id in self.metrics


#: The splits the pages first show: compliance (each Victims' Code measure, by the drill-down's
#: places and by crime type, enhanced rights and the protected characteristics) and
#: "satisfaction beside what the victim received". Other splits are computed on first view.
SPLITS: tuple[Splits, ...] = (
    Splits(
        ("area", "district", "unit", "officer", "crime_type", "enhanced", "age_band", "sex",
         "ethnicity", "disability"),
        families=("victims_code",),
    ),
    Splits(("updates_on_time", "needs_assessed", "referred"),
           metrics=("satisfaction_whole_experience",)),
)  # fmt: skip
#: The scopes whose figures are stored (for every period): each group of these breakdowns in
#: the data, as a filter of its own — a supervisor's scope (``{"unit": ...}``) is shown beside the
#: force's on the overview and family pages, which computed the whole catalogue filtered to it on
#: the first view of each period (about 3 s a unit and period on a 3-year force, queued behind
#: each other when several supervisors look at once). Officers, many more, are computed on their
#: first view.
SCOPES: tuple[str, ...] = ("unit",)
#: The splits each of whose groups is tested against the rest (their counts per victim stored).
PROTECTED: tuple[str, ...] = ("age_band", "sex", "ethnicity", "disability")

#: Row kinds.
RESULT, SERIES, CLUSTERS, THEMES = "result", "series", "clusters", "themes"
#: The themes of the latest comments the satisfaction page lists, by response id (no text).
COMMENT_THEMES = "comment_themes"
#: ``split`` or ``metric_id`` of a row that is not split, or not of one metric.
NONE = ""


def scope_split(filters: Iterable[tuple[str, str]]) -> str:
    """How a row of figures filtered to a scope names it (the ``split`` column): the filters
    (breakdown id, group label) in order, as JSON — never a breakdown's id."""
    return "scope:" + json.dumps([[str(k), str(v)] for k, v in sorted(filters)])


@dataclass(frozen=True)
class Stamp:
    """What stored figures were made from: they are shown only while all of it is unchanged."""

    run_id: int
    as_of: date
    definitions_hash: str
    catalogue_hash: str
    targets_hash: str
    #: What the canonical tables hold besides the ledger (:func:`data_mark`): a load, an undone
    #: batch or an erasure after the figures were made makes them stale.
    data: str = ""
    format: int = FORMAT

    def text(self) -> str:
        return json.dumps(
            {"run_id": self.run_id, "as_of": self.as_of.isoformat(),
             "definitions_hash": self.definitions_hash, "catalogue_hash": self.catalogue_hash,
             "targets_hash": self.targets_hash, "data": self.data, "format": self.format},
            sort_keys=True,
        )  # fmt: skip


def targets_hash(targets: Targets) -> str:
    """A hash of the force's targets and rebase months (not of where the file is)."""
    text = repr((targets.targets, targets.rebases))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ledger_run(con: duckdb.DuckDBPyConnection) -> tuple[int, date, str] | None:
    """The latest ledger run recorded (id, as-of date, definitions hash), if any."""
    try:
        row = con.execute(
            "SELECT run_id, as_of, definitions_hash FROM ledger_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchall()
    except duckdb.Error:
        return None
    if not row:
        return None
    run_id, as_of, defs = row[0]
    return int(run_id), as_of, str(defs)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    try:
        return list(con.execute(sql).fetchall()[0])
    except duckdb.Error:  # no such table (yet)
        return []


def data_mark(con: duckdb.DuckDBPyConnection) -> str:
    """What changes when the canonical tables change outside an evaluation: the loads (their
    latest batch and how many there are), the victims erased, the survey answers."""
    return json.dumps(
        [
            _count(con, "SELECT max(batch_id), count(*) FROM batches"),
            _count(con, "SELECT count(*) FROM erased_victims"),
            _count(con, "SELECT count(*) FROM survey_responses"),
        ],
        default=str,
    )


def stamp_of(
    con: duckdb.DuckDBPyConnection, catalogue: Catalogue, targets: Targets
) -> Stamp | None:
    """The stamp figures made now from ``con`` would carry (None: no ledger run to stamp)."""
    run = ledger_run(con)
    if run is None:
        return None
    return Stamp(
        run[0], run[1], run[2], catalogue.files_hash, targets_hash(targets), data_mark(con)
    )


# --------------------------------------------------------------------------------------------
# Payloads: the engine's objects as JSON, exactly
# --------------------------------------------------------------------------------------------

#: The classes a payload may hold (nothing else is built from one).
_CLASSES: dict[str, type] = {
    c.__name__: c
    for c in (
        Result, MetricValue, Estimate, Comparison, Series, Point, spc.SpcResult, spc.XmR,
        ClusterCounts,
    )
}  # fmt: skip


def _encode(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        name = type(x).__name__
        if _CLASSES.get(name) is not type(x):
            raise TypeError(f"{name} is not stored in {TABLE}")
        return {"@": name, **{f.name: _encode(getattr(x, f.name)) for f in dataclasses.fields(x)}}
    if isinstance(x, date):
        return {"@d": x.isoformat()}
    if isinstance(x, tuple):
        return {"@t": [_encode(v) for v in x]}
    if isinstance(x, list):
        return [_encode(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return {"@f": repr(x)}
    if x is None or isinstance(x, bool | int | float | str):
        return x
    raise TypeError(f"cannot store a {type(x).__name__} in {TABLE}")


def _decode(x: Any) -> Any:
    if isinstance(x, list):
        return [_decode(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "@d" in x:
        return date.fromisoformat(x["@d"])
    if "@t" in x:
        return tuple(_decode(v) for v in x["@t"])
    if "@f" in x:
        return float(x["@f"])
    cls = _CLASSES[x["@"]]
    return cls(**{k: _decode(v) for k, v in x.items() if k != "@"})


def dumps(x: Any) -> str:
    """``x`` (a :class:`Result`, series or cluster counts) as stored: JSON, floats exact."""
    return json.dumps(_encode(x), separators=(",", ":"), allow_nan=False)


def loads(text: str) -> Any:
    """What :func:`dumps` wrote."""
    return _decode(json.loads(text))


def series_payload(series: Mapping[tuple[str, ...], Series]) -> list[Any]:
    return [[group, s] for group, s in series.items()]


def series_of(payload: list[Any]) -> dict[tuple[str, ...], Series]:
    return {tuple(group): s for group, s in payload}


def themes_payload(counts: ThemeCounts) -> list[Any]:
    """The comment themes by month (:func:`vcop.voice.themes.theme_counts`) as stored."""
    return [counts.months, [[theme, n] for theme, n in counts.counts.items()], counts.comments]


def themes_of(payload: list[Any]) -> ThemeCounts:
    from vcop.voice.themes import ThemeCounts

    months, counts, comments = payload
    return ThemeCounts(list(months), {theme: list(n) for theme, n in counts}, list(comments))


def clusters_payload(counts: Mapping[tuple[str, ...], ClusterCounts]) -> list[Any]:
    return [[group, c] for group, c in counts.items()]


def clusters_of(payload: list[Any]) -> dict[tuple[str, ...], ClusterCounts]:
    return {tuple(group): c for group, c in payload}


# --------------------------------------------------------------------------------------------
# Computing them
# --------------------------------------------------------------------------------------------


def only_result(whole: Result, metric: Metric, by: str | None, empty: str | None) -> Result:
    """What ``compute(metrics=[metric.id], by=by)`` gives, cut from ``compute(by=by)`` over
    every metric (``whole``): the metric's values and the notes the engine gives one metric
    (``empty``: why it has no value, when it has none and could be computed)."""
    values = [v for v in whole.values if v.metric_id == metric.id]
    notes: list[str] = []
    if by is not None and by not in metric.breakdowns:
        notes.append(
            f"{metric.id} has no breakdown {by} (it has: {', '.join(metric.breakdowns) or 'none'})"
        )
    else:
        prefix = f"{metric.id} cannot be computed: "
        absent = [n for n in whole.notes if n.startswith(prefix)]
        notes.extend(absent)
        if not absent and not values and empty is not None:
            notes.append(f"{metric.id}: {empty}")
    return Result(values=values, notes=notes, definitions_hash=whole.definitions_hash)


def precompute_for(
    con: duckdb.DuckDBPyConnection,
    db: Path | None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    if_stale: bool = False,
) -> Precomputed:
    """:func:`precompute` with the targets the dashboard of build ``db`` reads (the targets file
    beside it, or as the settings say). ``if_stale``: only when the figures stored are not of
    the ledger and targets now in ``con``. A targets file with mistakes stores nothing (the
    dashboard reports them). The settings' ``metrics.dashboard_figures`` says which figures:
    all, the periods overall only, or none."""
    from vcop.spec.check import DefinitionError

    which = wanted(con, db)
    if isinstance(which, Precomputed):
        return which
    catalogue = load_catalogue()
    try:
        targets = targets_for_db(db, catalogue)
    except DefinitionError as exc:
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        return Precomputed(skipped=f"the targets file has mistakes ({exc})")
    if if_stale:
        now = stamp_of(con, catalogue, targets)
        if now is not None and stored_stamp(con) == now.text():
            return Precomputed(now, skipped=CURRENT)
    try:
        return precompute(
            con, catalogue=catalogue, targets=targets, progress=progress,
            splits=SPLITS if which == "all" else (), scopes=SCOPES if which == "all" else (),
        )  # fmt: skip
    except (MetricsError, duckdb.Error) as exc:  # the ledger stands; the pages compute as before
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        return Precomputed(skipped=f"they could not be computed: {exc}")


def _ledger_is(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    try:
        dates = con.execute("SELECT DISTINCT as_of FROM entitlements").fetchall()
    except duckdb.Error:
        return False
    return [d for (d,) in dates] == [as_of]


def precompute(
    con: duckdb.DuckDBPyConnection,
    *,
    catalogue: Catalogue | None = None,
    targets: Targets | None = None,
    periods: Sequence[str] = PERIODS,
    splits: Sequence[Splits] = SPLITS,
    scopes: Sequence[str] = SCOPES,
    progress: Callable[[str, int, int], None] | None = None,
) -> Precomputed:
    """Compute the dashboard's figures from the ledger in ``con`` and store them in
    :data:`TABLE` (replacing any there), stamped with the ledger's latest run. ``scopes``: the
    breakdowns each of whose groups has every metric stored filtered to it, for each period."""
    started = time.perf_counter()
    catalogue = catalogue or load_catalogue()
    targets = targets or NO_TARGETS
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    stamp = stamp_of(con, catalogue, targets)
    out = Precomputed(stamp)
    if stamp is None or not _ledger_is(con, stamp.as_of):
        out.skipped = "no ledger evaluated as of one date"
        return out
    backend = ibis.duckdb.from_connection(con)
    rows: list[tuple[str, str, str, str, str]] = []
    done = 0

    def step(what: str, steps: int) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(f"dashboard figures: {what}", done, steps)

    as_of = stamp.as_of
    windows: dict[str, tuple[date, date]] = {}
    empties: dict[str, str] = {}
    plan: list[tuple[str | None, list[str]]] = [(None, [])]
    for group in splits:
        for split in group.splits:
            ids = [m.id for m in catalogue.metrics if group.chooses(m) and split in m.breakdowns]
            if ids:
                plan.append((split, ids))
    groups = _scope_groups(con, catalogue, scopes)
    steps = len(periods) * len(plan) + len(groups) + 3
    with quietly():
        for period in periods:
            t0 = time.perf_counter()
            for by, chosen in plan:
                # every metric when not split (with the notes of the whole catalogue), else the
                # measures shown so (the engine batches those that share a query)
                whole = compute(
                    backend, as_of, period, metrics=chosen or None, by=by, catalogue=catalogue,
                    targets=targets,
                )  # fmt: skip
                if by is None:
                    rows.append((RESULT, period, NONE, NONE, dumps(whole)))
                    first = next(iter(whole.values), None)
                    if first is not None:
                        windows[period] = (first.current.start, first.current.end)
                    chosen = [m.id for m in catalogue.metrics]
                have = {v.metric_id for v in whole.values}
                for mid in chosen:
                    metric = catalogue.metric(mid)
                    empty = None
                    if mid not in have and missing_source(backend, metric) is None:
                        if mid not in empties:
                            empties[mid] = empty_reason(backend, metric, as_of)
                        empty = empties[mid]
                    one = only_result(whole, metric, by, empty)
                    rows.append((RESULT, period, by or NONE, mid, dumps(one)))
                step(f"{period}, {by or 'overall'}", steps)
            out.parts[f"results {period}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for metric in catalogue.metrics:
            if missing_source(backend, metric) is not None:
                continue
            series = monthly_series(backend, catalogue, metric.id, as_of, targets=targets)
            rows.append((SERIES, NONE, NONE, metric.id, dumps(series_payload(series))))
        out.parts["series"] = time.perf_counter() - t0
        step("monthly series", steps)
        t0 = time.perf_counter()
        rows.extend(_clusters(backend, catalogue, as_of, windows, splits))
        out.parts["counts per victim"] = time.perf_counter() - t0
        step("counts per victim", steps)
        t0 = time.perf_counter()
        # the satisfaction page's themes of victims' comments: training the themes' model takes
        # seconds, which its first view paid
        from vcop.voice.themes import latest_comment_themes, theme_counts

        themes = theme_counts(con, as_of)
        rows.append((THEMES, NONE, NONE, NONE, dumps(themes_payload(themes))))
        latest = latest_comment_themes(con, as_of)
        rows.append(
            (COMMENT_THEMES, NONE, NONE, NONE, dumps([[r, list(t)] for r, t in latest.items()]))
        )
        out.parts["comment themes"] = time.perf_counter() - t0
        step("comment themes", steps)
        t0 = time.perf_counter()
        for scope in groups:
            # exactly what the page asks the engine for a user of this scope: every metric
            # filtered to it (the engine leaves out those that cannot be), with its notes
            for period in periods:
                whole = compute(
                    backend, as_of, period, catalogue=catalogue, filters=dict(scope),
                    targets=targets,
                )  # fmt: skip
                rows.append((RESULT, period, scope_split(scope), NONE, dumps(whole)))
            step("filtered to " + ", ".join(f"{k} {v}" for k, v in scope), steps)
        if groups:
            out.parts[f"{len(groups)} scopes"] = time.perf_counter() - t0
    _store(con, stamp, rows)
    out.rows = len(rows)
    out.seconds = time.perf_counter() - started
    return out


def _scope_groups(
    con: duckdb.DuckDBPyConnection, catalogue: Catalogue, scopes: Iterable[str]
) -> list[tuple[tuple[str, str], ...]]:
    """Each group of each of ``scopes`` in the data (as the filters of that scope), in order."""
    out: list[tuple[tuple[str, str], ...]] = []
    for bid in scopes:
        b = catalogue.breakdown(bid)
        if b.table is None or b.column is None or b.labels or b.bands or b.members:
            raise MetricsError(f"breakdown {bid} is not a column whose values are its groups")
        try:
            found = con.execute(
                f'SELECT DISTINCT "{b.column}"::VARCHAR FROM "{b.table}" '
                f'WHERE "{b.column}" IS NOT NULL ORDER BY 1'
            ).fetchall()
        except duckdb.Error:  # no such table: no scope
            continue
        out.extend(((bid, str(g)),) for (g,) in found)
    return out


def window_key(start: date, end: date) -> str:
    """How a row of counts per victim names its window (the ``period`` column)."""
    return f"{start.isoformat()}..{end.isoformat()}"


def _clusters(
    backend: ibis.BaseBackend,
    catalogue: Catalogue,
    as_of: date,
    windows: Mapping[str, tuple[date, date]],
    splits: Iterable[Splits],
) -> list[tuple[str, str, str, str, str]]:
    """The counts per victim of each ledger proportion split by a protected characteristic, over
    each period's window, by its grouping and by its grouping and each such split (one query per
    breakdown, every window at once)."""
    spans = list(dict.fromkeys(windows.values()))
    rows = []
    wanted: dict[str, list[str]] = {}
    for group in splits:
        for metric in catalogue.metrics:
            if metric.source != LEDGER or metric.kind != "proportion" or metric.count_distinct:
                continue
            if group.chooses(metric):
                mine = wanted.setdefault(metric.id, [])
                mine += [b for b in group.splits if b in PROTECTED and b in metric.breakdowns]
    for metric_id, protected in wanted.items():
        if not protected or not spans:
            continue
        metric = catalogue.metric(metric_id)
        own = tuple(metric.grouping)
        for breakdown in (own, *((*own, b) for b in dict.fromkeys(protected))):
            counts = victim_counts(backend, catalogue, metric, breakdown, as_of, spans)
            for w, (start, end) in enumerate(spans):
                these = {g: c for (wi, g), c in counts.items() if wi == w}
                rows.append(
                    (CLUSTERS, window_key(start, end), ",".join(breakdown), metric.id,
                     dumps(clusters_payload(these)))
                )  # fmt: skip
    return rows


def _store(
    con: duckdb.DuckDBPyConnection, stamp: Stamp, rows: list[tuple[str, str, str, str, str]]
) -> None:
    con.execute(
        f"CREATE TABLE {TABLE} (kind VARCHAR NOT NULL, period VARCHAR NOT NULL, "
        "split VARCHAR NOT NULL, metric_id VARCHAR NOT NULL, "
        "payload BLOB NOT NULL USING COMPRESSION 'uncompressed', "
        "run_id BIGINT NOT NULL, as_of DATE NOT NULL, stamp VARCHAR NOT NULL, "
        "PRIMARY KEY (kind, period, split, metric_id))"
    )
    text = stamp.text()
    con.executemany(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*r[:4], deflate(r[4]), stamp.run_id, stamp.as_of, text) for r in rows],
    )


# --------------------------------------------------------------------------------------------
# Reading them
# --------------------------------------------------------------------------------------------


def stored_stamp(con: duckdb.DuckDBPyConnection) -> str | None:
    """The stamp of the figures stored in ``con`` (None: none, or not of one stamp)."""
    try:
        found = con.execute(f"SELECT DISTINCT stamp FROM {TABLE}").fetchall()
    except duckdb.Error:
        return None
    return str(found[0][0]) if len(found) == 1 else None


def stored(
    con: duckdb.DuckDBPyConnection, kind: str, period: str, split: str, metric_id: str
) -> Any | None:
    """The stored payload of one key, decoded (None: not stored)."""
    found = con.execute(
        f"SELECT payload FROM {TABLE} WHERE kind = ? AND period = ? AND split = ? "
        "AND metric_id = ?",
        [kind, period, split, metric_id],
    ).fetchall()
    return loads(zlib.decompress(found[0][0]).decode()) if found else None


def deflate(payload: str) -> bytes:
    """A payload as the table holds it (:func:`stored` reads it back)."""
    return zlib.compress(payload.encode(), 6)
