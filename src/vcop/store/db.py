"""Open a vcop DuckDB file and make sure its tables exist.

Every canonical table carries two bookkeeping columns beside the schema's own:
``batch_id`` (the load that last inserted or changed the row) and ``row_hash`` (a hash of the row's
canonical values, used to tell an unchanged row from a changed one on re-load).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from vcop.spec.schema import Schema, load_schema

#: Columns vcop adds to every canonical table.
SYSTEM_COLUMNS: tuple[tuple[str, str], ...] = (("batch_id", "BIGINT"), ("row_hash", "VARCHAR"))

_SYSTEM_DDL = """
CREATE SEQUENCE IF NOT EXISTS batch_seq START 1;
CREATE SEQUENCE IF NOT EXISTS load_seq START 1;
CREATE TABLE IF NOT EXISTS batches (
    batch_id BIGINT PRIMARY KEY,
    load_id BIGINT NOT NULL,
    file VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    profile VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL,
    rows_updated BIGINT NOT NULL,
    rows_unchanged BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    profile_hash VARCHAR,
    rows_filtered BIGINT
);
CREATE TABLE IF NOT EXISTS rejects (
    batch_id BIGINT NOT NULL,
    file VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    "row" BIGINT NOT NULL,
    "column" VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL
);
"""


def table_ddl(schema: Schema, name: str) -> str:
    table = schema.table(name)
    cols = [f'"{c.name}" {c.sql_type}' for c in table.columns]
    cols += [f"{n} {t}" for n, t in SYSTEM_COLUMNS]
    return f'CREATE TABLE IF NOT EXISTS "{name}" (\n    ' + ",\n    ".join(cols) + "\n)"


#: Columns added to system tables after they were first made: (table, column, type). An older
#: database gains them when it is next opened for writing (:func:`ensure_schema`).
ADDED_SYSTEM_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("batches", "profile_hash", "VARCHAR"),  # the profile's content for the table (issue 20)
    ("batches", "rows_filtered", "BIGINT"),  # rows a profile's `where` did not select
)


def ensure_schema(con: duckdb.DuckDBPyConnection, schema: Schema | None = None) -> None:
    """Create any missing canonical and system tables, and add the columns a newer schema has
    to the tables of an older database (blank in its existing rows). Idempotent."""
    schema = schema or load_schema()
    for name in schema.table_names:
        con.execute(table_ddl(schema, name))
    con.execute(_SYSTEM_DDL)
    present = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    )
    wanted = [(t.name, c.name, c.sql_type) for t in schema.tables for c in t.columns]
    for table, column, sql_type in [*wanted, *ADDED_SYSTEM_COLUMNS]:
        if (table, column) not in present:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of the connection's own database (not of one it has attached)."""
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }


class StoreError(Exception):
    """A database that cannot be opened. The message names the file and what to do."""


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a vcop database and ensure its schema."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(
            f"{path}: no such vcop database (load one with `vcop ingest` or `vcop demo`)"
        )
    try:
        if read_only:
            return duckdb.connect(str(path), read_only=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(
                f"{path}: the database is in use by another vcop process "
                "(e.g. `vcop serve`); stop it or wait for it to finish, then try again"
            ) from exc
        raise StoreError(f"{path}: cannot be opened as a vcop database: {exc}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"{path}: cannot be opened as a vcop database: {exc}") from exc
    _apply_limits(con, path)
    ensure_schema(con)
    return con


def _apply_limits(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """DuckDB's memory limit and spill folder from the settings (``database.memory_limit``,
    ``database.temp_directory``), so a build larger than memory spills to disk."""
    from vcop.config import load_settings

    db = load_settings(path).database
    if db.memory_limit:
        con.execute(f"SET memory_limit = '{db.memory_limit.replace(chr(39), '')}'")
    if db.temp_directory is not None:
        con.execute(f"SET temp_directory = '{str(db.temp_directory).replace(chr(39), '')}'")


def one_thread_for_writing(con: duckdb.DuckDBPyConnection) -> int | None:
    """Give DuckDB one thread while rows are written to a database file; returns how many it had,
    to be set back once the writing commits or rolls back (None: left as it was).

    With more, DuckDB inserts each statement's rows in parallel batches, compressing each
    thread's part-filled row groups as it writes them, and merges and compresses them all again
    at commit or at the next checkpoint; with one, the rows are compressed once, in full row
    groups (the 1-year demo: its ledger 1.6 s of CPU against 2.2 s, its load 4.1 s against 4.5 s).
    In memory there is nothing to compress, and the setting is the whole DuckDB instance's (a
    report's ledger, a partner's release in the server, whose other requests keep their
    threads): it is left alone there.
    """
    (path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    if not path:
        return None
    (threads,) = con.execute("SELECT current_setting('threads')").fetchall()[0]
    con.execute("SET threads = 1")
    return int(threads)
