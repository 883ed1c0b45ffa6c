"""The dashboard's hold on the DuckDB file: one connection, a cursor per thread, and a query cache.

``vcop serve`` is the only process with the file open while it runs (DuckDB allows one writer),
so the canonical tables, the ledger and the metric values cannot change under it: what a query
over them returns is cached for the life of the server (:meth:`WebStore.cached`). Only the web's
own tables — ``users``, ``sessions`` and the append-only ``access_log`` — are written, under one
lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from vcop.store import connect

T = TypeVar("T")

#: The web's own tables. ``access_log`` is append-only: vcop has no code path that updates or
#: deletes its rows (a test greps for one).
WEB_DDL = """
CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    area VARCHAR,
    district VARCHAR,
    unit VARCHAR,
    officer_id VARCHAR,
    disabled BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash VARCHAR PRIMARY KEY,
    username VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS access_seq START 1;
CREATE TABLE IF NOT EXISTS access_log (
    access_id BIGINT NOT NULL DEFAULT nextval('access_seq'),
    accessed_at TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    victim_id VARCHAR,
    crime_id VARCHAR,
    reason VARCHAR,
    detail VARCHAR,
    session VARCHAR
);
"""


def ensure_web_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``users``, ``sessions`` and ``access_log`` if they are missing (idempotent)."""
    con.execute(WEB_DDL)


@dataclass(frozen=True)
class Rows:
    """A query's column names and rows."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


class WebStore:
    """The open database, shared by every request of one server."""

    def __init__(self, path: Path, *, cache_size: int = 1024) -> None:
        self.path = path
        self.con = connect(path)
        ensure_web_tables(self.con)
        # An in-memory database beside the file for what the server pre-arranges (journeys.py).
        self.con.execute("ATTACH IF NOT EXISTS ':memory:' AS webcache")
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._flights: dict[tuple[Any, ...], threading.Lock] = {}
        self._cache_size = cache_size
        self._tables: set[str] | None = None

    # -- reading ----------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections are not shared between threads)."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
        return cur

    def query(self, sql: str, params: Sequence[object] = ()) -> Rows:
        cur = self.cursor().execute(sql, list(params))
        columns = [d[0] for d in cur.description] if cur.description else []
        return Rows(columns, cur.fetchall())

    def scalar(self, sql: str, params: Sequence[object] = ()) -> Any:
        # fetchall, not fetchone: DuckDB 2 refuses new work on a cursor with an unfinished result
        rows = self.cursor().execute(sql, list(params)).fetchall()
        return rows[0][0] if rows else None

    def has_table(self, name: str) -> bool:
        if self._tables is None or name not in self._tables:
            self._tables = {
                r[0]
                for r in self.query(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
                ).rows
            }
        return name in self._tables

    def columns(self, table: str) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).rows
        ]

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``'s result, computed once per key for the life of the server.

        Requests that ask for the same key while it is being computed wait for that one
        computation instead of starting their own. Only for queries over data the server never
        writes (canonical tables, the ledger, metric values); never for the web's own tables.
        """
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]  # type: ignore[no-any-return]
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._cache_lock:
                if key in self._cache:
                    return self._cache[key]  # type: ignore[no-any-return]
            value = compute()
            with self._cache_lock:
                self._cache[key] = value
                self._flights.pop(key, None)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return value

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()
        self._tables = None

    # -- writing (the web's own tables only) ------------------------------------------------

    def write(self, sql: str, params: Sequence[object] = ()) -> None:
        with self._write_lock:
            self.cursor().execute(sql, list(params))

    def close(self) -> None:
        self.con.close()
