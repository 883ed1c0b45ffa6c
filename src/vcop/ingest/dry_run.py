"""Loads that write nothing: `vcop ingest --dry-run` and the preview of `vcop profile check`.

The real load runs on a scratch copy of the database (or an empty database when there is none),
so its references see the rows already loaded; the copy is deleted after. The database file is
copied, never written.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from vcop.ingest.history import RetirePolicy
from vcop.ingest.load import Load, LoadResult, load_paths
from vcop.ingest.profile_files import (
    ExportFile,
    Prepared,
)
from vcop.ingest.readers import sha256_of
from vcop.spec.profile import Profile, TableMapping
from vcop.spec.schema import load_schema
from vcop.store import StoreError, connect


@dataclass(frozen=True)
class RejectGroup:
    """A load's rejects in one column of one table, and the first few of them."""

    table: str
    column: str
    rows: int
    examples: tuple[str, ...]


@contextmanager
def scratch_database(db: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A throw-away copy of ``db`` (or an empty database when there is none), deleted after."""
    with tempfile.TemporaryDirectory(prefix="vcop-dry-run-") as tmp:
        copy = Path(tmp) / "scratch.duckdb"
        if db is not None and Path(db).exists():
            try:
                shutil.copyfile(db, copy)
                wal = Path(db).with_name(Path(db).name + ".wal")
                if wal.exists():
                    shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
            except OSError as exc:
                raise StoreError(f"{db}: cannot copy the database for a dry run: {exc}") from exc
        con = connect(copy)
        try:
            yield con
        finally:
            con.close()


def reject_groups(con: duckdb.DuckDBPyConnection, load_id: int) -> list[RejectGroup]:
    """The load's rejects by table and column, with the first few of each."""
    rows = con.execute(
        """
        SELECT r.table_name, coalesce(r."column", '(whole row)'), count(*),
               list(r.file || ' row ' || r."row" || ': ' || r.reason ORDER BY r.file, r."row")
        FROM rejects r JOIN batches b USING (batch_id)
        WHERE b.load_id = ?
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        [load_id],
    ).fetchall()
    return [RejectGroup(t, c, int(n), tuple(examples[:3])) for t, c, n, examples in rows]


def load_checked(
    con: duckdb.DuckDBPyConnection,
    profile: Mapping[str, Any],
    files: Iterable[tuple[str, ExportFile, Prepared]],
) -> LoadResult:
    """Load files a check prepared — (table, file, rows kept by ``where``, transformed, codes
    blanked where the profile says so) — through the real validation, in the tables' load
    order, in one load. ``profile`` is the profile's YAML data (for its name and date formats)."""
    order = {name: i for i, name in enumerate(load_schema().load_order())}
    ready = sorted(files, key=lambda f: order[f[0]])
    formats = profile.get("datetime_formats") or []
    mapping = Profile(
        name=str(profile.get("name") or "draft"),
        description="preview",
        datetime_formats=tuple(str(f) for f in formats if isinstance(f, str)),
        tables={
            table: TableMapping(
                columns={h: c for c, h in prepared.columns.items()}, values=prepared.values
            )
            for table, _, prepared in ready
        },
    )
    with Load(con, mapping) as load:
        for table, file, prepared in ready:
            digest = sha256_of(file.path) + (f":{file.sheet}" if file.sheet else "")
            load.load_raw(file.label, table, prepared.raw, digest, prepared.columns)
    return load.result


def dry_run_load(
    db: Path,
    paths: list[Path],
    profile: Profile,
    *,
    force: bool = False,
    agency: str | None = None,
    retire: RetirePolicy | None = None,
) -> tuple[LoadResult, list[RejectGroup]]:
    """`vcop ingest --dry-run`: the real load on a scratch copy of ``db``, thrown away after;
    what it did and the rejects it made. Nothing is written to ``db``."""
    with scratch_database(db) as con:
        result = load_paths(con, paths, profile, force=force, agency=agency, retire=retire)
        return result, reject_groups(con, result.load_id)
