"""The dashboard's view of one published build: a read-only connection, a cursor per thread, and
a query cache.

A build never changes once published (:mod:`vcop.store.build` replaces the file whole), so what a
query over it returns is cached for the life of this view (:meth:`WebStore.cached`), in pools that
are each bounded on their own (least recently used first out), so the many small results of
record-level lists (:data:`RESULTS`) never push out the figures the pages are built from. The server
writes only the operational store (:mod:`vcop.store.ops`); when a refresh publishes a new build
it opens a new :class:`WebStore` over it and switches between requests (:mod:`vcop.web.builds`).

The build is attached read-only to an in-memory database, so the server can keep what it
pre-arranges (:mod:`vcop.web.journeys`) in memory beside it, attached as ``webcache``.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from vcop.store.build import Identity
from vcop.store.db import StoreError
from vcop.store.ops import Rows

__all__ = ["BUILD", "FIGURES", "RESULTS", "Rows", "WebStore"]

T = TypeVar("T")

#: The name the published build is attached under (every cursor's default database).
BUILD = "vcop_build"

#: The cache pool for figures, tables built once and other results costly to make again.
FIGURES = "figures"
#: The cache pool for the results of a record-level list as one reader filtered, sorted and paged
#: it (e.g. a worklist): many, small, and cheap to make again.
RESULTS = "results"


class WebStore:
    """The open database, shared by every request of one server."""

    def __init__(self, path: Path, *, cache_size: int = 1024, results_size: int = 2048) -> None:
        self.path = path
        #: Which published file this is (a refresh publishes a new one at the same path).
        self.identity = Identity.of(path)
        if self.identity is None:
            raise StoreError(
                f"{path}: no such vcop database (load one with `vcop ingest` or `vcop demo`)"
            )
        self.con = duckdb.connect(":memory:")
        escaped = str(path).replace("'", "''")
        try:
            self.con.execute(f"ATTACH '{escaped}' AS {BUILD} (READ_ONLY)")
        except duckdb.Error as exc:
            self.con.close()
            raise StoreError(f"{path}: cannot be opened as a vcop database: {exc}") from exc
        self.con.execute(f"USE {BUILD}")
        # An in-memory database beside the build for what the server pre-arranges (journeys.py).
        self.con.execute("ATTACH IF NOT EXISTS ':memory:' AS webcache")
        self._local = threading.local()
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        self._cursors_lock = threading.Lock()
        self._pools: dict[str, OrderedDict[tuple[Any, ...], Any]] = {
            FIGURES: OrderedDict(),
            RESULTS: OrderedDict(),
        }
        self._pool_sizes = {FIGURES: cache_size, RESULTS: results_size}
        self._cache_lock = threading.Lock()
        self._flights: dict[tuple[str, tuple[Any, ...]], threading.Lock] = {}
        self._tables: set[str] | None = None

    # -- reading ----------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections are not shared between threads)."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.new_cursor()
            self._local.cursor = cur
        return cur

    def new_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor over the build (its default database), for work that changes its own
        settings (e.g. attaches a database of its own); the caller closes it."""
        cur = self.con.cursor()
        cur.execute(f"USE {BUILD}")
        with self._cursors_lock:
            self._cursors.add(cur)
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
                    "SELECT table_name FROM information_schema.tables "
                    f"WHERE table_catalog = '{BUILD}' AND table_schema = 'main'"
                ).rows
            }
        return name in self._tables

    def columns(self, table: str) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = "
                f"'{BUILD}' AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).rows
        ]

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T], *, pool: str = FIGURES) -> T:
        """``compute()``'s result, computed once per key for the life of the server (or until
        ``pool`` holds too many and it is the least recently used there).

        Requests that ask for the same key while it is being computed wait for that one
        computation instead of starting their own.
        """
        cache = self._pools[pool]
        with self._cache_lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]  # type: ignore[no-any-return]
            flight = self._flights.setdefault((pool, key), threading.Lock())
        with flight:
            with self._cache_lock:
                if key in cache:
                    return cache[key]  # type: ignore[no-any-return]
            value = compute()
            with self._cache_lock:
                cache[key] = value
                self._flights.pop((pool, key), None)
                while len(cache) > self._pool_sizes[pool]:
                    cache.popitem(last=False)
        return value

    def clear_cache(self) -> None:
        with self._cache_lock:
            for cache in self._pools.values():
                cache.clear()
        self._tables = None

    def interrupt(self) -> None:
        """End the query each open cursor is running (they raise; used when closing)."""
        with self._cursors_lock:
            cursors = list(self._cursors)
        for cur in [self.con, *cursors]:
            with contextlib.suppress(duckdb.Error):
                cur.interrupt()

    def close(self) -> None:
        self.con.close()
