"""The publication ledger: every release published to partners, and every figure it showed.

A release (:mod:`vcop.metrics.release`) is the partner view of one month end. The first time a
release is published — a partner opens the dashboard, or an analyst writes the partner pack or a
compliance return — it is kept here whole, and every figure it shows is recorded with its counts.
From then on every output for that month end is cut from the kept release, so a later build (with
late records) never shows partners a second version of the same month that could be subtracted
from the first; and the suppression of each new release treats every figure already published as
known to the reader, so no combination with earlier releases reveals a small count.
"""

from __future__ import annotations

import json

# bandit B403: only releases vcop itself wrote into its own operational store
import pickle  # nosec B403
from datetime import date, datetime
from typing import Any

from vcop.metrics.release import CellKey, Release
from vcop.store.ops import OpsStore


def cell_text(key: CellKey) -> str:
    """A figure's key as stable text (JSON)."""
    metric_id, start, end, group, split, seen = key
    return json.dumps(
        [
            metric_id,
            start.isoformat(),
            end.isoformat(),
            list(group),
            sorted(split),
            seen.isoformat(),
        ],
        separators=(",", ":"),
    )


def cell_key(text: str) -> CellKey:
    metric_id, start, end, group, split, seen = json.loads(text)
    return (
        metric_id,
        date.fromisoformat(start),
        date.fromisoformat(end),
        tuple(group),
        frozenset((b, g) for b, g in split),
        date.fromisoformat(seen),
    )


def kept(ops: OpsStore, as_of: date, threshold: int, catalogue_hash: str) -> Release | None:
    """The release of ``as_of`` already published at ``threshold`` from the metric catalogue
    whose files hash to ``catalogue_hash`` (a new catalogue makes a new release), if any."""
    blob = ops.scalar(
        "SELECT release FROM releases WHERE as_of = ? AND threshold = ? AND catalogue_hash = ?",
        [as_of, threshold, catalogue_hash],
    )
    if blob is None:
        return None
    # bandit B301: written by keep() below, never by a user
    release = pickle.loads(blob)  # nosec B301
    assert isinstance(release, Release)
    return release


def known_cells(ops: OpsStore, threshold: int) -> dict[CellKey, dict[str, int]]:
    """Every figure published so far at ``threshold``, with the counts it was published with."""
    return {
        cell_key(str(cell)): json.loads(str(counts))
        for cell, counts in ops.query(
            "SELECT cell, counts FROM published_cells WHERE threshold = ?", [threshold]
        ).rows
    }


def keep(
    ops: OpsStore, release: Release, catalogue_hash: str, output: str, now: datetime | None = None
) -> Release:
    """Record ``release`` as published by ``output`` and every figure it shows; returns the
    release kept for its month end (an earlier one, if another process published it first)."""
    when = (now or datetime.now()).isoformat(sep=" ")
    blob = pickle.dumps(release, protocol=pickle.HIGHEST_PROTOCOL)
    with ops.transaction() as tx:
        cur = tx.execute(
            "INSERT OR IGNORE INTO releases (as_of, threshold, catalogue_hash, published_at, "
            "first_output, cells, hidden, known, release) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [release.as_of.isoformat(), release.threshold, catalogue_hash, when, output,
             len(release.visible), release.hidden, release.known, blob],
        )  # fmt: skip
        if cur.rowcount:
            tx.executemany(
                "INSERT OR IGNORE INTO published_cells (threshold, cell, counts, as_of, "
                "published_at) VALUES (?, ?, ?, ?, ?)",
                [
                    (release.threshold, cell_text(k), json.dumps(v, sort_keys=True),
                     release.as_of.isoformat(), when)
                    for k, v in release.visible.items()
                ],
            )  # fmt: skip
    found = kept(ops, release.as_of, release.threshold, catalogue_hash)
    return found if found is not None else release


def releases(ops: OpsStore) -> list[dict[str, Any]]:
    """The releases published, newest first (without their figures)."""
    return ops.query(
        "SELECT as_of, threshold, catalogue_hash, published_at, first_output, cells, hidden, "
        "known FROM releases ORDER BY as_of DESC, published_at DESC"
    ).dicts()


def published_release(
    ops: OpsStore | None,
    as_of: date,
    threshold: int,
    catalogue_hash: str,
    make: Any,
    output: str,
) -> Release:
    """The release of ``as_of``: the one kept, else ``make(known)`` (given every figure published
    so far) kept now. Without an operational store, just ``make({})``."""
    if ops is None:
        release = make({})
        assert isinstance(release, Release)
        return release
    found = kept(ops, as_of, threshold, catalogue_hash)
    if found is not None:
        return found
    made = make(known_cells(ops, threshold))
    assert isinstance(made, Release)
    return keep(ops, made, catalogue_hash, output)
