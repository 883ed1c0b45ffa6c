"""The database a report reads: the vcop file, with a ledger evaluated as of the report's date.

Reports never change the database. When the stored ledger was evaluated as of the date a report
needs, the file is opened read-only and used as it is. Otherwise the file is attached read-only
to an in-memory DuckDB, its canonical tables are seen through views, and the ledger is evaluated
there, as of the report's date, with the local standards of the stored ledger's last run (or the
defaults): the figures are the ones ``vcop evaluate --as-of DATE`` followed by ``vcop metrics``
would give, and the stored ledger (which the dashboard and worklists use) stays as it was.

A partner output (the partner pack, the compliance return) is cut from the release of its month
end, built from such a source by :func:`build_release`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from vcop.metrics.engine import quietly
from vcop.metrics.release import Release
from vcop.metrics.targets import Targets
from vcop.rules.ledger import last_run
from vcop.spec.code import LocalStandards
from vcop.spec.schema import load_schema
from vcop.store import StoreError, connect
from vcop.store.db import table_ddl
from vcop.store.ops import OpsStore

#: progress(description, done, total), as :func:`vcop.rules.ledger.evaluate` reports it.
Progress = Callable[[str, int, int], None]


@dataclass
class ReportSource:
    """An open connection for a report, and how its ledger came to be."""

    con: duckdb.DuckDBPyConnection
    as_of: date
    #: True: the ledger was evaluated for this report (the stored one is for another date).
    evaluated_here: bool
    #: The as-of date of the ledger stored in the file (None: there is none).
    stored_as_of: date | None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> ReportSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def has_crimes(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM crimes").fetchall()[0][0])


def open_source(db: Path, as_of: date, *, progress: Progress | None = None) -> ReportSource:
    """``db`` ready for a report as of ``as_of`` (see the module docstring). Raises StoreError."""
    con = connect(db, read_only=True)
    run = last_run(con)
    if run is not None and run.as_of == as_of:
        return ReportSource(con, as_of, evaluated_here=False, stored_as_of=run.as_of)
    con.close()
    return _evaluated_copy(db, as_of, run.standards if run else None, run.as_of if run else None,
                           progress)  # fmt: skip


def _evaluated_copy(
    db: Path,
    as_of: date,
    standards: LocalStandards | None,
    stored_as_of: date | None,
    progress: Progress | None,
) -> ReportSource:
    from vcop.rules.ledger import evaluate

    con = duckdb.connect(":memory:")
    try:
        escaped = str(db).replace("'", "''")
        con.execute(f"ATTACH '{escaped}' AS stored (READ_ONLY)")
        schema = load_schema()
        stored = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'stored'"
            ).fetchall()
        }
        for name in schema.table_names:
            if name in stored:
                con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM stored."{name}"')
            else:  # a table added to the schema since the file was built: empty
                con.execute(table_ddl(schema, name))
        with quietly():
            evaluate(con, as_of, standards=standards, progress=progress)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"{db}: cannot evaluate the ledger as of {as_of}: {exc}") from exc
    except BaseException:
        con.close()
        raise
    return ReportSource(con, as_of, evaluated_here=True, stored_as_of=stored_as_of)


def build_release(
    source: ReportSource,
    *,
    threshold: int,
    targets: Targets | None = None,
    progress: Callable[[str], None] | None = None,
    ops: OpsStore | None = None,
    output: str = "report",
) -> Release:
    """The release of ``source``'s as-of date (a month end): every figure a partner may see,
    suppressed once (:func:`vcop.metrics.release.build`). With the operational store ``ops``, the
    release already published for that month end if there is one, else a new one (suppressed
    knowing every figure published before) recorded in its publication ledger as published by
    ``output``. Raises MetricsError for a date that is not a month end."""
    import ibis

    from vcop.metrics import release
    from vcop.spec.metrics import load_catalogue
    from vcop.store.publications import published_release

    def make(known: Mapping[release.CellKey, Mapping[str, int]]) -> Release:
        with quietly():
            return release.build(
                ibis.duckdb.from_connection(source.con),
                source.as_of,
                threshold=threshold,
                targets=targets,
                progress=progress,
                known=known,
            )

    return published_release(
        ops, source.as_of, threshold, load_catalogue().files_hash, make, output
    )
