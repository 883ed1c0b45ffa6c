"""What a partner sees: the release of the latest month end, and nothing else.

A partner (a user whose figures are suppressed) sees only what a release publishes
(:mod:`vcop.metrics.release`): every figure on every page, twin, XmR chart, sparkline and trend is
cut from the release of the latest month end on or before the ledger's as-of date, so a figure is
hidden in every place it appears and daily figures cannot be subtracted from each other. A split
or filter the release does not publish is refused (403, :class:`NotPublished`).

The first release of a month end shown to a partner is kept in the publication ledger of the
operational store (:mod:`vcop.store.publications`), with every figure it shows: later builds show
partners that same release for that month end, and a new month's release is suppressed knowing
what earlier ones published. A release takes a while to build (about a minute for a small force),
so it is also kept for the life of the process (:func:`release_of`). It is keyed by what it is made of — the ledger's
evaluation and the loads behind it, the month end, the threshold, the targets and the definitions
— not by the file's path, so copies of one database (a backup, the test suite's copies) share it.

When the stored ledger is not as of that month end, a ledger as of the month end is evaluated in
an in-memory database attached beside the file, its canonical tables seen through views (as
:func:`vcop.reports.source.open_source` does for reports); the file is not changed, and the
in-memory database is dropped once the release is built.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date

import duckdb
import ibis
from fastapi import HTTPException

from vcop.metrics.engine import MetricsError, Result
from vcop.metrics.release import (
    PARTNER_SPLITS,
    CellKey,
    Release,
    build,
    month_ends_before,
    suppressed_note,
)
from vcop.metrics.series import Series
from vcop.store.ops import OpsStore
from vcop.store.publications import cell_text, keep, kept, known_cells
from vcop.web.db import WebStore
from vcop.web.ledger import ledger_as_of
from vcop.web.metrics import MetricsView, engine_quietly

#: How many releases the process keeps (one per database it serves; more only in tests).
KEEP = 4


class NotPublished(HTTPException):
    """A partner asked for figures a release does not publish."""

    def __init__(self, what: str, splits: tuple[str, ...]) -> None:
        published = " and by ".join(("for the whole force", *splits))
        super().__init__(
            403,
            f"not published to partners: {what}. The figures published to partners are those of "
            f"the latest month end, {published}.",
        )


@dataclass(frozen=True)
class Built:
    """A release, or why there is none."""

    release: Release | None
    problem: str | None = None
    #: True: its ledger was evaluated in memory (the stored one is for another date).
    evaluated_here: bool = False


_kept: OrderedDict[Hashable, Built] = OrderedDict()
_kept_lock = threading.Lock()
_flights: dict[Hashable, threading.Lock] = {}
_names = itertools.count(1)


def release_of(view: MetricsView, month_end: date, threshold: int) -> Built:
    """The release of ``month_end`` for ``view``'s database: the one its publication ledger kept
    (:mod:`vcop.store.publications`), else one built now — knowing what earlier releases
    published — and kept there. Builds are also kept for the life of the process, keyed by what
    they are made of (requests asking while one is built wait for that one build)."""
    ops = view.ops
    catalogue_hash = view.catalogue.files_hash
    known: dict[CellKey, dict[str, int]] = {}
    if ops is not None:
        found = _published(ops, month_end, threshold, catalogue_hash)
        if found is not None:
            return Built(found)
        known = known_cells(ops, threshold)
    key = (release_key(view, month_end, threshold), _fingerprint(known))
    with _kept_lock:
        built = _kept.get(key)
        if built is not None:
            _kept.move_to_end(key)
        flight = _flights.setdefault(key, threading.Lock())
    if built is None:
        with flight:
            with _kept_lock:
                built = _kept.get(key)
            if built is None:
                built = _build(view, month_end, threshold, known)
                with _kept_lock:
                    _kept[key] = built
                    _flights.pop(key, None)
                    while len(_kept) > KEEP:
                        _kept.popitem(last=False)
    if ops is not None and built.release is not None:
        release = keep(ops, built.release, catalogue_hash, "dashboard")
        built = Built(release, built.problem, built.evaluated_here)
    return built


#: Releases read back from publication ledgers: (ledger file, month end, threshold, catalogue).
_published_cache: dict[tuple[str, date, int, str], Release] = {}


def _published(
    ops: OpsStore, month_end: date, threshold: int, catalogue_hash: str
) -> Release | None:
    """The release the publication ledger ``ops`` kept for ``month_end`` (read once: a kept
    release never changes)."""
    key = (str(ops.path), month_end, threshold, catalogue_hash)
    with _kept_lock:
        found = _published_cache.get(key)
    if found is None:
        found = kept(ops, month_end, threshold, catalogue_hash)
        if found is not None:
            with _kept_lock:
                _published_cache[key] = found
    return found


def _fingerprint(known: Mapping[CellKey, Mapping[str, int]]) -> str:
    """What the figures published before a release were, in a few characters (releases suppressed
    knowing different things are different releases)."""
    digest = hashlib.sha256()
    for cell in sorted(
        cell_text(k) + json.dumps(dict(v), sort_keys=True) for k, v in known.items()
    ):
        digest.update(cell.encode())
    return digest.hexdigest()


def release_key(view: MetricsView, month_end: date, threshold: int) -> Hashable:
    """What a release is made of: the ledger's last evaluation and the last load (the file's
    path only when it records neither), the month end, the threshold, targets and definitions."""
    return (
        view.store.cached(("release_made_of",), lambda: _made_of(view.store)),
        month_end,
        threshold,
        view.targets.targets,
        view.catalogue.files_hash,
    )


def _made_of(store: WebStore) -> tuple[object, ...]:
    ledger: tuple[object, ...] = ()
    if store.has_table("ledger_runs"):
        rows = store.query(
            "SELECT run_id, evaluated_at, as_of, definitions_hash FROM ledger_runs "
            "ORDER BY run_id DESC LIMIT 1"
        ).rows
        ledger = rows[0] if rows else ()
    loads = store.query("SELECT max(batch_id), max(loaded_at), count(*) FROM batches").rows[0]
    if not ledger and not loads[2]:
        return (str(store.path.resolve()),)
    return (ledger, loads)


def _build(
    view: MetricsView,
    month_end: date,
    threshold: int,
    known: Mapping[CellKey, Mapping[str, int]],
) -> Built:
    store = view.store
    stored = ledger_as_of(store)
    cursor = store.new_cursor()
    attached: str | None = None
    try:
        with engine_quietly():
            if stored is not None and stored != month_end:
                attached = _ledger_beside(store, cursor, month_end)
            release = build(
                ibis.duckdb.from_connection(cursor),
                month_end,
                threshold=threshold,
                catalogue=view.catalogue,
                targets=view.targets,
                known=known,
            )
    except (MetricsError, duckdb.Error) as exc:
        return Built(None, f"no release of {month_end:%-d %B %Y} could be made ({exc})")
    finally:
        cursor.close()
        if attached is not None:
            store.cursor().execute(f"DETACH DATABASE IF EXISTS {attached}")
    return Built(release, evaluated_here=attached is not None)


def _ledger_beside(store: WebStore, cursor: duckdb.DuckDBPyConnection, as_of: date) -> str:
    """Attach an in-memory database, see the file's canonical tables through views there,
    evaluate the ledger as of ``as_of`` in it (with the stored run's local standards), and make
    it ``cursor``'s default. Returns its name."""
    from vcop.rules.ledger import evaluate, last_run
    from vcop.spec.schema import load_schema

    name = f"vcop_release_{next(_names)}"
    catalog = store.scalar("SELECT current_database()")
    run = last_run(store.cursor())
    cursor.execute(f"ATTACH ':memory:' AS {name}")
    for table in load_schema().table_names:
        if store.has_table(table):
            cursor.execute(
                f'CREATE VIEW {name}.main."{table}" AS SELECT * FROM "{catalog}".main."{table}"'
            )
    cursor.execute(f"USE {name}")
    evaluate(cursor, as_of, standards=run.standards if run else None)
    return name


class ReleaseFigures:
    """The figures of a release, as a partner asks for them (see the module docstring)."""

    def __init__(
        self, release: Release | None, notes: list[str], splits: tuple[str, ...] = PARTNER_SPLITS
    ) -> None:
        self.release = release
        self.as_of: date | None = release.as_of if release is not None else None
        self.notes = notes
        self.splits = release.splits if release is not None else splits

    def _refusal(self, by: str | None, filters: Mapping[str, str] | None) -> str | None:
        """What is asked for that a release does not publish (None: nothing)."""
        filters = dict(filters or {})
        where = ", ".join(f"{k}={v}" for k, v in filters.items())
        if by is not None and by not in self.splits:
            return f"figures by {by.replace('_', ' ')}"
        if filters and by is not None:
            return f"figures by {by.replace('_', ' ')} within {where}"
        if len(filters) > 1 or any(k not in self.splits for k in filters):
            return f"figures of {where}"
        return None

    def publishes(self, by: str | None = None, filters: Mapping[str, str] | None = None) -> bool:
        return self._refusal(by, filters) is None

    def check(self, by: str | None = None, filters: Mapping[str, str] | None = None) -> None:
        refusal = self._refusal(by, filters)
        if refusal is not None:
            raise NotPublished(refusal, self.splits)

    def publishes_series(self, filters: Mapping[str, str] | None = None) -> bool:
        return not filters

    def result(
        self,
        period: str,
        by: str | None = None,
        only: str | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Result:
        """The release's values for ``period`` (of one place: its group of that split)."""
        self.check(by, filters)
        if self.release is None:
            return Result()
        if filters:
            ((split, label),) = dict(filters).items()
            values = [v for v in self.release.values(period, split) if v.group[-1] == label]
        else:
            values = self.release.values(period, by)
        if only is not None:
            values = [v for v in values if v.metric_id == only]
        return Result(values, list(self.release.notes), self.release.definitions_hash)

    def series(
        self, metric_id: str, filters: Mapping[str, str] | None = None
    ) -> dict[tuple[str, ...], Series]:
        """The release's monthly series of ``metric_id`` (force-wide, per group of its grouping:
        a release publishes no series of a place)."""
        if not self.publishes_series(filters):
            where = ", ".join(f"{k}={v}" for k, v in dict(filters or {}).items())
            raise NotPublished(f"monthly series of {where}", self.splits)
        if self.release is None:
            return {}
        return dict(self.release.series.get(metric_id, {}))


def release_figures(view: MetricsView, threshold: int) -> ReleaseFigures:
    """What a partner sees: the release of the latest month end on or before the data's as-of
    date, with the notes that explain it."""
    as_of = view.as_of()
    if as_of is None:
        return ReleaseFigures(None, ["No data has been loaded yet."])
    month_end = month_ends_before(as_of)
    notes: list[str] = []
    if month_end != as_of:
        notes.append(
            f"Figures for partners are as of the last month end, {month_end:%-d %B %Y} (the data "
            f"are as of {as_of:%-d %B %Y}): partners see the figures of month ends only."
        )
    built = release_of(view, month_end, threshold)
    if built.release is None:
        notes.append(f"No figures are shown: {built.problem}.")
        return ReleaseFigures(None, notes)
    notes.append(suppressed_note(threshold))
    return ReleaseFigures(built.release, notes)
