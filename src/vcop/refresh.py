"""The daily job: load the morning's extracts, evaluate the ledger, publish — in one step.

:func:`refresh` works on a private copy of the build (:func:`vcop.store.build.changing`): it
loads every agency's extract, refuses the load when too many rows were rejected, evaluates the
Victims' Code as of the date given, and publishes the new build in one atomic rename. A dashboard
reading the build keeps serving the previous one until then and switches by itself. Each refresh
is recorded in the operational store (``refreshes``) — started, succeeded or failed and why — for
``vcop status``, ``/readyz`` and the data-quality page. Anything that goes wrong publishes
nothing: the previous build stays as it was.

The extract folder is either one plain extract (as ``vcop ingest`` takes without ``--agency``:
the police's, or a combined one whose partner rows carry their own ``agency``) or one folder
per agency, named by the Code's owner ids (``police``, ``cps``, ``wcu``, ``hmcts``, ``hmpps``,
``parole_board``, ``victim_hub``, ``any_service_provider``). Each agency's folder loads as that
body's own extract (as ``vcop ingest --agency ID``: only the tables it supplies, its rows its
own), the police's first so that partner records can link to its crimes and victims. A folder
may hold its own ``profile.yaml`` (the mapping of its own extract), which wins; a folder without
one is read with the profile given (``--profile``), else the standard profile.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from vcop.ingest import AGENCIES, DEFAULT_AGENCY, LoadResult, load_paths
from vcop.ingest.history import RetirePolicy
from vcop.ingest.thresholds import past, share, shown
from vcop.metrics.targets import Targets
from vcop.spec.code import LocalStandards
from vcop.spec.profile import load_profile
from vcop.store.access_log import os_user
from vcop.store.build import changing
from vcop.store.ops import OpsStore, open_ops

__all__ = ["AGENCIES", "RefreshError", "Refreshed", "Source", "refresh", "sources"]

#: A folder's own mapping profile, if it has one.
PROFILE_FILE = "profile.yaml"


class RefreshError(Exception):
    """A refresh that published nothing; the message says why and what to do."""


@dataclass(frozen=True)
class Source:
    """One agency's extract folder and the profile its files are read with. A ``plain`` folder
    (not one per agency) is reported as the police's but loads as a plain extract: rows of the
    partner tables keep the agency they name."""

    agency: str
    folder: Path
    profile: str
    plain: bool = False

    @property
    def load_agency(self) -> str | None:
        """The ``agency`` the folder loads as (:func:`vcop.ingest.load_paths`)."""
        return None if self.plain else self.agency


def sources(folder: Path, profile: str | None = None) -> list[Source]:
    """The extracts under ``folder``: one per agency folder, the police's first, or the folder
    itself as a plain extract."""
    if not folder.is_dir():
        raise RefreshError(f"{folder}: no such folder of extracts")
    agencies = [folder / a for a in AGENCIES if (folder / a).is_dir()]
    if not agencies:
        own = folder / PROFILE_FILE
        chosen = str(own) if own.exists() else (profile or "standard")
        return [Source(DEFAULT_AGENCY, folder, chosen, plain=True)]
    out = []
    for path in agencies:
        own = path / PROFILE_FILE
        out.append(Source(path.name, path, str(own) if own.exists() else (profile or "standard")))
    return out


@dataclass
class Refreshed:
    """What a refresh did."""

    refresh_id: int
    as_of: date
    loads: dict[str, LoadResult] = field(default_factory=dict)
    rows_read: int = 0
    rows_rejected: int = 0
    ledger_rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: What became of the partners' release of the latest month end.
    release: str | None = None
    #: The folder each agency's extract was read from.
    sources: dict[str, Source] = field(default_factory=dict)
    #: What was stored of the dashboard's figures, and what it cost (vcop.metrics.precompute).
    figures: str | None = None

    @property
    def reject_share(self) -> float:
        return share(self.rows_rejected, self.rows_read)

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "agencies": {
                agency: _agency_summary(result, self.sources.get(agency))
                for agency, result in self.loads.items()
            },
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "reject_share": round(self.reject_share, 4),
            "ledger_rows": self.ledger_rows,
            "by_status": self.by_status,
            "partner_release": self.release,
            "seconds": round(self.seconds, 1),
        }


def _agency_summary(result: LoadResult, source: Source | None) -> dict[str, Any]:
    """One agency's load: the totals (files, rows_read, rows_loaded, rows_rejected), where it
    came from, and the rows of each table."""
    tables: dict[str, dict[str, int]] = {}
    for f in result.files:
        counts = tables.setdefault(
            f.table, {"files": 0, "rows_read": 0, "rows_loaded": 0, "rows_rejected": 0}
        )
        counts["files"] += 1
        counts["rows_read"] += f.rows_read
        counts["rows_loaded"] += f.rows_loaded
        counts["rows_rejected"] += f.rows_rejected
    return {
        "files": len(result.files),
        "rows_read": sum(f.rows_read for f in result.files),
        "rows_loaded": sum(f.rows_loaded for f in result.files),
        "rows_rejected": result.rows_rejected,
        "files_skipped": sum(1 for f in result.files if f.skipped),
        "folder": str(source.folder) if source else None,
        "profile": source.profile if source else None,
        "extract": "plain" if source is None or source.plain else "agency",
        "tables": tables,
    }


#: Called as progress(description, done, total) while a refresh works.
Progress = Callable[[str, int, int], None]


def refresh(
    db: Path,
    folder: Path,
    as_of: date,
    *,
    ops_path: Path | None = None,
    profile: str | None = None,
    standards: LocalStandards | None = None,
    max_reject_share: float = 0.10,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda _: None,
    release_threshold: int | None = None,
    targets: Targets | None = None,
    retire: RetirePolicy | None = None,
) -> Refreshed:
    """Load ``folder``'s extracts into a copy of build ``db``, evaluate as of ``as_of``, publish.

    With ``release_threshold``, also make the partners' release of the latest month end (with
    the force's ``targets``) and keep it in the publication ledger, if it is not kept yet — once
    a month, so the dashboard never builds it on a partner's first click. ``retire`` says how
    much of a table a full extract may retire, and whether retiring more was confirmed.

    Raises :class:`RefreshError` (recorded as a failed refresh; nothing published), and
    :class:`vcop.store.build.BuildBusy` when another command is changing the build (not recorded:
    that one is still running).
    """
    from vcop.metrics.engine import quietly
    from vcop.metrics.precompute import precompute_for
    from vcop.voice.answers import copy_into_build

    started = time.perf_counter()
    chosen = sources(folder, profile)  # a missing folder fails before anything is recorded
    ops = open_ops(db, ops_path)
    try:
        with changing(db, "refresh", ops_path=ops_path) as change:
            refresh_id = _start(ops, folder, as_of)
            try:
                done = _run(change.con, refresh_id, chosen, as_of, standards, max_reject_share,
                            progress, say, retire)  # fmt: skip
                # Victim Voice answers wait in the operational store until now (vcop.voice)
                copy_into_build(change.con, ops, say)
                # what the dashboard's pages first show, from the ledger and answers now in it
                say("computing the dashboard's figures")
                with quietly():
                    done.figures = precompute_for(change.con, db, progress=progress).summary()
                say(done.figures)
            except Exception as exc:
                _finish(ops, refresh_id, "failed", _reason(exc))
                if isinstance(exc, RefreshError):
                    raise
                raise RefreshError(_reason(exc)) from exc
            except KeyboardInterrupt:
                _finish(ops, refresh_id, "failed", "interrupted")
                raise
        if release_threshold is not None:
            done.release = _keep_release(db, as_of, release_threshold, targets, ops, say)
        done.seconds = time.perf_counter() - started
        _finish(ops, refresh_id, "succeeded", None, done.summary())
        return done
    finally:
        ops.close()


def _keep_release(
    db: Path,
    as_of: date,
    threshold: int,
    targets: Targets | None,
    ops: OpsStore,
    say: Callable[[str], None],
) -> str:
    """The partners' release of the month end on or before ``as_of``: kept already, or made and
    kept now; a problem is reported, not raised (the build is already published)."""
    from vcop.metrics.engine import MetricsError
    from vcop.metrics.release import month_ends_before
    from vcop.reports.source import build_release, open_source
    from vcop.spec.metrics import load_catalogue
    from vcop.store.db import StoreError
    from vcop.store.publications import kept

    month_end = month_ends_before(as_of)
    if kept(ops, month_end, threshold, load_catalogue().files_hash) is not None:
        return f"the release of {month_end} was already published"
    say(f"making the partners' release of {month_end}")
    try:
        with open_source(db, month_end) as source:
            build_release(source, threshold=threshold, targets=targets, ops=ops, output="refresh")
    except (MetricsError, StoreError, duckdb.Error) as exc:
        say(f"warning: no partners' release of {month_end} was made ({exc})")
        return f"no release of {month_end}: {exc}"
    return f"the release of {month_end} was made and kept"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, RefreshError) else f"{type(exc).__name__}: {text}"


def _run(
    con: duckdb.DuckDBPyConnection,
    refresh_id: int,
    chosen: list[Source],
    as_of: date,
    standards: LocalStandards | None,
    max_reject_share: float,
    progress: Progress | None,
    say: Callable[[str], None],
    retire: RetirePolicy | None = None,
) -> Refreshed:
    from vcop.ingest import ExtractError
    from vcop.metrics.engine import quietly
    from vcop.rules.ledger import evaluate
    from vcop.spec.profile import ProfileError

    done = Refreshed(refresh_id, as_of)
    for source in chosen:
        try:
            mapping = load_profile(source.profile)
        except ProfileError as exc:
            raise RefreshError(f"{source.folder}: {exc}") from exc
        what = "a plain extract" if source.plain else source.agency
        say(f"loading {what} from {source.folder} (profile {source.profile})")
        try:
            result = load_paths(
                con,
                [source.folder],
                mapping,
                progress=progress,
                agency=source.load_agency,
                retire=retire,
            )
        except ExtractError as exc:
            raise RefreshError(f"{source.agency}: {exc}") from exc
        done.loads[source.agency] = result
        done.sources[source.agency] = source
        done.rows_read += sum(f.rows_read for f in result.files)
        done.rows_rejected += result.rows_rejected
    if past(done.rows_rejected, done.rows_read, max_reject_share):
        raise RefreshError(
            f"{done.rows_rejected:,} of {done.rows_read:,} rows ({done.reject_share:.1%}) were "
            f"rejected, more than the {shown(max_reject_share)} allowed (setting "
            "refresh.max_reject_share); nothing was published. See why with `vcop rejects`, on a "
            "copy loaded with `vcop ingest`, or raise the limit with --max-reject-share."
        )
    say(f"evaluating the Victims' Code as of {as_of}")
    with quietly():
        run = evaluate(con, as_of, standards=standards, progress=progress)
    done.ledger_rows = run.rows
    done.by_status = dict(run.by_status)
    return done


def _start(ops: OpsStore, folder: Path, as_of: date) -> int:
    with ops.transaction() as tx:
        cur = tx.execute(
            "INSERT INTO refreshes (started_at, status, as_of, source, os_user, pid) "
            "VALUES (?, 'running', ?, ?, ?, ?)",
            [datetime.now().isoformat(sep=" "), as_of.isoformat(), str(folder), os_user(),
             os.getpid()],
        )  # fmt: skip
        return int(cur.lastrowid or 0)


def _finish(
    ops: OpsStore,
    refresh_id: int,
    status: str,
    message: str | None,
    summary: dict[str, Any] | None = None,
) -> None:
    ops.execute(
        "UPDATE refreshes SET finished_at = ?, status = ?, message = ?, summary = ? "
        "WHERE refresh_id = ?",
        [datetime.now(), status, message, json.dumps(summary) if summary else None, refresh_id],
    )
