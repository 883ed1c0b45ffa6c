"""Backups of a vcop installation, and restoring one.

A backup is a folder ``vcop-backup-<timestamp>`` holding a copy of the published build, a
consistent copy of the operational store (SQLite's online backup, safe while the dashboard
writes), the force's ``targets.yaml`` and ``vcop.toml`` when they sit beside the build, and
``MANIFEST.json`` with each file's SHA-256. A published build is never written in place (a
refresh renames a new one over it), so copying the file a backup opened is consistent even while
a refresh runs.

Restoring checks every checksum first, then publishes the backed-up build the way a refresh does
(a running dashboard switches to it), and restores the operational store only onto an
installation that has none — or, when asked, after setting the current one aside, because the
operational store holds the access log and accounts, which a restore must never silently lose.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from vcop.store.build import publish, staging_path, writer_lock
from vcop.store.ops import OpsStore, open_ops, ops_path_for

MANIFEST = "MANIFEST.json"
BUILD_FILE = "vcop.duckdb"
OPS_FILE = "vcop.ops.sqlite"
#: Files kept beside the build that a backup carries too, when present.
BESIDE = ("targets.yaml", "vcop.toml")
PREFIX = "vcop-backup-"


class BackupError(Exception):
    """A backup that cannot be made or restored; the message names the file."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Backup:
    folder: Path
    files: dict[str, str]  # name -> sha256
    created_at: datetime


def backup(
    db: Path, out: Path, *, ops_path: Path | None = None, keep: int = 0, now: datetime | None = None
) -> Backup:
    """Back up build ``db`` and its operational store into a new folder under ``out``; then keep
    only the newest ``keep`` backups there (0: keep all)."""
    if not db.exists():
        raise BackupError(f"{db}: no such vcop database to back up")
    made = now or datetime.now()
    folder = out / f"{PREFIX}{made:%Y%m%dT%H%M%S}"
    if folder.exists():
        raise BackupError(f"{folder} already exists; wait a second and try again")
    partial = out / f".{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with open(db, "rb") as src, open(partial / BUILD_FILE, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)  # the file opened: one published build
        ops = open_ops(db, ops_path)
        try:
            ops.backup_to(partial / OPS_FILE)
        finally:
            ops.close()
        for name in BESIDE:
            if (db.parent / name).exists():
                shutil.copyfile(db.parent / name, partial / name)
        files = {p.name: sha256(p) for p in sorted(partial.iterdir())}
        manifest = {
            "created_at": made.isoformat(timespec="seconds"),
            "vcop_version": version("vcop"),
            "database": str(db),
            "files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if keep > 0:
        older = sorted(p for p in out.iterdir() if p.is_dir() and p.name.startswith(PREFIX))
        for stale in older[:-keep]:
            shutil.rmtree(stale)
    return Backup(folder, files, made)


def verify(folder: Path) -> dict[str, str]:
    """The backup's files and checksums, after checking each one; BackupError if any is wrong."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{folder}: not a vcop backup (no {MANIFEST})")
    try:
        files: dict[str, str] = json.loads(manifest_path.read_text())["files"]
    except (ValueError, KeyError) as exc:
        raise BackupError(f"{manifest_path}: unreadable manifest ({exc})") from exc
    for name, expected in files.items():
        path = folder / name
        if not path.exists():
            raise BackupError(f"{path}: listed in the manifest but missing")
        if sha256(path) != expected:
            raise BackupError(f"{path}: its SHA-256 does not match the manifest (damaged)")
    if BUILD_FILE not in files:
        raise BackupError(f"{folder}: the backup holds no build ({BUILD_FILE})")
    return files


@dataclass(frozen=True)
class Restored:
    build: Path
    ops: Path | None
    set_aside: Path | None


def restore(
    folder: Path, db: Path, *, ops_path: Path | None = None, replace_ops: bool = False
) -> Restored:
    """Restore the backup in ``folder`` as build ``db`` (see the module docstring). Victims
    erased since the backup was made are erased again from the restored build, and stay listed."""
    files = verify(folder)
    target_ops = ops_path or ops_path_for(db)
    erased = _erasures(target_ops) if target_ops.exists() else []
    set_aside: Path | None = None
    restored_ops: Path | None = None
    if OPS_FILE in files and (not target_ops.exists() or replace_ops):
        if target_ops.exists():
            set_aside = target_ops.with_name(
                f"{target_ops.name}.before-restore-{datetime.now():%Y%m%dT%H%M%S}"
            )
            current = OpsStore(target_ops)
            try:
                current.backup_to(set_aside)
            finally:
                current.close()
        source = sqlite3.connect(folder / OPS_FILE)
        dest = sqlite3.connect(target_ops)
        try:
            source.backup(dest)  # page by page under SQLite's locks: safe beside a live server
        finally:
            source.close()
            dest.close()
        restored_ops = target_ops
        _keep_erasures(target_ops, erased)
    with writer_lock(db, "restore"):
        staging = staging_path(db)
        shutil.copyfile(folder / BUILD_FILE, staging)
        if erased:
            from vcop.retention import erase_victim
            from vcop.store.db import connect

            con = connect(staging)
            try:
                for victim_id, *_ in erased:
                    erase_victim(con, victim_id)
                con.execute("CHECKPOINT")
            finally:
                con.close()
        publish(staging, db)
    for name in BESIDE:
        if name in files:
            shutil.copyfile(folder / name, db.parent / name)
    return Restored(db, restored_ops, set_aside)


def _erasures(path: Path) -> list[tuple[str, str, str, str | None, str]]:
    ops = OpsStore(path)
    try:
        return [
            (str(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]))
            for r in ops.query(
                "SELECT victim_id, erased_at, username, os_user, reason FROM erasures"
            ).rows
        ]
    finally:
        ops.close()


def _keep_erasures(path: Path, erased: list[tuple[str, str, str, str | None, str]]) -> None:
    """List again, in a restored operational store, the erasures made after its backup."""
    ops = OpsStore(path)  # migrates an older backup's store to today's tables
    try:
        known = {str(r[0]) for r in ops.query("SELECT victim_id FROM erasures").rows}
        with ops.transaction() as tx:
            tx.executemany(
                "INSERT INTO erasures (victim_id, erased_at, username, os_user, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                [e for e in erased if e[0] not in known],
            )
    finally:
        ops.close()


__all__ = ["Backup", "BackupError", "Restored", "backup", "restore", "verify"]
