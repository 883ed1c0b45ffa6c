"""What a load means for whoever runs it: each file's status, the warnings that make ``vcop
ingest`` exit 3, and the summary ``--summary json`` prints (fields in docs/operations.md).

A load's exit code is decided here, once: 0 when it loaded with nothing past a threshold; 3 when
it loaded but a file was skipped unexpectedly (a name that is not a table of the profile — a file
already loaded, or superseded by a later-dated one, is expected), more than
``--max-reject-share`` of the rows read were rejected, or a full extract retired more than
``--max-retire-share`` of a table's rows (which only loads with ``--confirm-retire``). An error
that loads nothing is 1 (and a wrong option or argument 2), decided where it is raised.
"""

from __future__ import annotations

import hashlib
from typing import Any

from vcop.ingest.load import FileResult, LoadResult
from vcop.ingest.thresholds import Thresholds, past, share, shown
from vcop.spec.profile import Profile

#: Exit codes of ``vcop ingest``.
LOADED, ERROR, USAGE, WARNED = 0, 1, 2, 3

#: The status of each file in a summary.
STATUSES = ("loaded", "already_loaded", "superseded", "unknown")


def profile_hash(profile: Profile) -> str:
    """The SHA-256 of the profile's content: of each table's :meth:`Profile.content_hash` (what
    batches remember), so the summary's hash changes exactly when a reload would happen."""
    tables = sorted(profile.tables)
    text = "\n".join(f"{t}:{profile.content_hash(t)}" for t in tables)
    return hashlib.sha256(text.encode()).hexdigest()


def file_status(f: FileResult) -> str:
    if not f.skipped:
        return "loaded"
    return "superseded" if "superseded" in f.skipped.lower() else "already_loaded"


def note_status(note: str) -> str:
    """A file the load skipped before reading it: superseded (expected) or unknown."""
    return "superseded" if "superseded" in note.lower() else "unknown"


def reject_share(result: LoadResult) -> float:
    loaded = [f for f in result.files if not f.skipped]
    return share(sum(f.rows_rejected for f in loaded), sum(f.rows_read for f in loaded))


def retire_share(f: FileResult) -> float:
    return share(f.rows_retired, f.retire_base)


def warnings(result: LoadResult, limits: Thresholds) -> list[str]:
    """Why the load exits 3 (empty: it does not)."""
    found = []
    unknown = [n for n in result.notes if note_status(n) == "unknown"]
    if unknown:
        found.append(
            f"{len(unknown):,} file(s) skipped, not a table of the profile: " + "; ".join(unknown)
        )
    loaded = [f for f in result.files if not f.skipped]
    read = sum(f.rows_read for f in loaded)
    if past(result.rows_rejected, read, limits.max_reject_share):
        found.append(
            f"{result.rows_rejected:,} of {read:,} rows ({shown(reject_share(result))}) were "
            f"rejected, more than --max-reject-share {shown(limits.max_reject_share)}"
        )
    for f in loaded:
        if past(f.rows_retired, f.retire_base, limits.max_retire_share):
            found.append(
                f"{f.label}: {f.rows_retired:,} of {f.retire_base:,} rows of {f.table} "
                f"({shown(retire_share(f))}) were retired, more than --max-retire-share "
                f"{shown(limits.max_retire_share)} (loaded with --confirm-retire)"
            )
    return found


def exit_code(result: LoadResult, limits: Thresholds) -> int:
    return WARNED if warnings(result, limits) else LOADED


COUNTS = ("rows_read", "rows_loaded", "rows_inserted", "rows_updated", "rows_unchanged",
          "rows_rejected", "rows_retired")  # fmt: skip


def _file(f: FileResult) -> dict[str, Any]:
    loaded = not f.skipped
    return {
        "path": f.label,
        "table": f.table,
        "status": file_status(f),
        "batch_id": f.batch_id if loaded else None,
        "mode": f.mode if loaded else None,
        **{name: getattr(f, name) for name in COUNTS},
        "retire_share": round(retire_share(f), 4),
        "dependants_retired": dict(f.dependants_retired),
        "links_cleared": dict(f.links_cleared),
        "note": f.skipped,
    }


def _note(note: str) -> dict[str, Any]:
    path, _, why = note.partition(": ")
    return {
        "path": path,
        "table": None,
        "status": note_status(note),
        "batch_id": None,
        "mode": None,
        **dict.fromkeys(COUNTS, 0),
        "retire_share": 0.0,
        "dependants_retired": {},
        "links_cleared": {},
        "note": why or note,
    }


def summary(
    result: LoadResult | None,
    profile: Profile | str,
    limits: Thresholds,
    *,
    mode: str | None = None,
    error: str | None = None,
    code: int | None = None,
) -> dict[str, Any]:
    """The ``--summary json`` object of a load (``result``), or of one that failed (``error``;
    ``profile`` is then the name given when it could not be read)."""
    files = [] if result is None else [_file(f) for f in result.files]
    files += [] if result is None else [_note(n) for n in (*result.notes, *result.superseded)]
    totals: dict[str, Any] = {"files": len(files)}
    totals.update({s: sum(1 for f in files if f["status"] == s) for s in STATUSES})
    totals.update({name: sum(int(f[name]) for f in files) for name in COUNTS})
    found = [] if result is None else warnings(result, limits)
    if code is None:
        code = WARNED if found else LOADED
    retire = max((retire_share(f) for f in result.files), default=0.0) if result else 0.0
    return {
        "load_id": result.load_id if result else None,
        "agency": result.agency if result else None,
        "profile": (
            {"name": profile.name, "hash": profile_hash(profile)}
            if isinstance(profile, Profile)
            else {"name": profile, "hash": None}
        ),
        "mode": mode,
        "files": files,
        "totals": totals,
        "reject_share": round(reject_share(result), 4) if result else 0.0,
        "max_reject_share": limits.max_reject_share,
        "retire_share": round(retire, 4),
        "max_retire_share": limits.max_retire_share,
        "warnings": found,
        "messages": [] if result is None else list(result.warnings),
        "exit_code": code,
        "error": error,
    }
