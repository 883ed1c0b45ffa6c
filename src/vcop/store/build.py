"""Publishing the build: changes are made to a private copy and swapped in whole.

The dashboard reads the build (``--db``, a DuckDB file) read-only and never sees it half written:
a command that changes it — ``vcop ingest``, ``evaluate``, ``refresh``, ``import police-uk``,
``restore``, ``demo`` — takes the build's writer lock (``<db>.lock``, so two never overlap), copies
the published file to a staging file beside it, works on the copy, and when the work succeeds
checkpoints it and renames it over the published file (an atomic replace on POSIX). A reader
that had the old file open keeps reading the old build until it reopens; a server watching the
file (:mod:`vcop.web.builds`) opens the new build and switches to it between requests. Work that
fails or is interrupted leaves the published build exactly as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb

from vcop.store.db import StoreError, connect


class BuildBusy(StoreError):
    """Another command holds the build's writer lock."""


def lock_path(db: Path) -> Path:
    return db.with_name(f"{db.name}.lock")


def staging_path(db: Path) -> Path:
    return db.with_name(f".{db.name}.staging")


@contextlib.contextmanager
def writer_lock(db: Path, what: str) -> Iterator[None]:
    """Hold the build's writer lock while ``what`` runs; :class:`BuildBusy` if another holds it."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(path, "a+")  # noqa: SIM115 - held for the life of the block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another vcop command"
            raise BuildBusy(
                f"{db}: {holder} is changing this database; wait for it to finish "
                f"(`vcop status --db {db}` says what is running), then try again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"`vcop {what}` (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})"
        )
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def lock_holder(db: Path) -> str | None:
    """Who holds the build's writer lock now (None: no one)."""
    path = lock_path(db)
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            return handle.read().strip() or "another vcop command"
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


@dataclass
class Change:
    """An open change to the build: its connection, and whether to publish it."""

    con: duckdb.DuckDBPyConnection
    db: Path
    publish: bool = True

    def discard(self) -> None:
        """Publish nothing (the work found nothing to change): the build stays as it is."""
        self.publish = False


@contextlib.contextmanager
def changing(db: Path, what: str, *, ops_path: Path | None = None) -> Iterator[Change]:
    """The build open for ``what`` to change, on a private copy published when the block ends.

    ``ops_path`` is the operational store's file (default: beside the build); an older build's
    accounts and access log are copied there before the copy drops them.

    Raises :class:`BuildBusy` when another command is changing it, and StoreError when it cannot
    be copied or opened. An exception in the block (or Ctrl-C) publishes nothing.
    """
    db = Path(db)
    with writer_lock(db, what):
        adopted = True
        if db.exists():
            from vcop.store.ops import open_ops

            ops = open_ops(db, ops_path)  # adopts an older build's accounts and log, once
            adopted = ops.meta("adopted_build_tables") is not None
            ops.close()
        staging = staging_path(db)
        _remove(staging)
        try:
            if db.exists():
                shutil.copyfile(db, staging)
                wal = db.with_name(db.name + ".wal")
                if wal.exists():  # written in place by an older vcop and not checkpointed
                    shutil.copyfile(wal, staging.with_name(staging.name + ".wal"))
        except OSError as exc:
            _remove(staging)
            raise StoreError(f"{db}: cannot copy the build to change it: {exc}") from exc
        con = connect(staging)
        change = Change(con, db)
        try:
            yield change
            if change.publish:
                from vcop.store.calendar import ensure_calendar

                ensure_calendar(con)  # readers that compute working days find it current
                if adopted:
                    drop_legacy_tables(con)
                con.execute("CHECKPOINT")
        except BaseException:
            con.close()
            _remove(staging)
            raise
        con.close()
        if not change.publish:
            _remove(staging)
            return
        publish(staging, db)


def publish(staging: Path, db: Path) -> None:
    """Make ``staging`` the published build at ``db`` in one atomic rename (synced to disk)."""
    fd = os.open(staging, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(staging, db)
    _remove(db.with_name(db.name + ".wal"))
    dir_fd = os.open(db.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def drop_legacy_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the accounts, sessions and access log an older build kept, once the operational store
    holds them (it copies them the first time it is opened beside the build)."""
    from vcop.store.ops import LEGACY_BUILD_TABLES

    for table in LEGACY_BUILD_TABLES:
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
    con.execute("DROP SEQUENCE IF EXISTS access_seq")


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@dataclass(frozen=True)
class Identity:
    """What tells one published build from the next: the file's inode, size and change time."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, db: Path) -> Identity | None:
        try:
            st = os.stat(db)
        except FileNotFoundError:
            return None
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)
