"""`vcop batches --undo N`: take one batch back (:func:`vcop.ingest.history.undo_batch`)."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table as RichTable

from vcop.cli.app import console, fail, ops_path_setting
from vcop.ingest.history import UndoError, Undone, undo_batch
from vcop.store import StoreError
from vcop.store.build import changing


def undo_command(
    db: Path, batch_id: int, *, user: str | None, reason: str | None, dry_run: bool
) -> None:
    """``vcop batches --undo N``: an admin's, with a reason, written to the access log."""
    from vcop.cli.access import record_reader
    from vcop.spec.schema import load_schema

    reader = record_reader(
        db, user=user, reason=reason, action="batches_undo", what=f"undo batch {batch_id}",
        roles=("admin",), detail=f"batch={batch_id}",
    )  # fmt: skip
    if not db.exists():
        fail(f"{db}: no such vcop database")
    try:
        with changing(db, "batches --undo", ops_path=ops_path_setting(db)) as change:
            done = undo_batch(change.con, load_schema(), batch_id, dry_run=dry_run)
            if dry_run:
                change.discard()
    except StoreError as exc:
        fail(str(exc))
    except UndoError as exc:
        reader.log(f"batch {batch_id} not undone: {exc}")
        fail(f"{exc}. Nothing was changed.", code=1)
    verb = "Would undo" if dry_run else "Undid"
    table = RichTable(
        title=f"{verb} batch {batch_id} ({escape(done.file)}, {done.table})", title_justify="left"
    )
    for name in ("table", "rows removed", "rows put back"):
        table.add_column(name, justify="left" if name == "table" else "right")
    for name in done.removed:
        table.add_row(name, f"{done.removed[name]:,}", f"{done.restored.get(name, 0):,}")
    console.print(table)
    if dry_run:
        reader.log(f"dry run: batch {batch_id} ({done.file}) would be undone: {_counts(done)}")
        return
    console.print(
        f"{done.rejects:,} rejected row(s) of the batch forgotten. The ledger still counts the "
        f"rows as they were until `vcop evaluate --as-of DATE --db {escape(str(db))}` or the "
        "next refresh.",
        highlight=False,
    )
    reader.log(f"batch {batch_id} ({done.file}) undone: {_counts(done)}")


def _counts(done: Undone) -> str:
    return "; ".join(
        f"{t}: {done.removed[t]:,} removed, {done.restored.get(t, 0):,} put back"
        for t in done.removed
    )
