"""The operational store: what people and the server write while vcop runs, in SQLite (WAL mode).

vcop keeps two stores (see docs/operations.md). The *build* — canonical tables, the ledger, what
the pages read — is a DuckDB file that a refresh replaces whole and the dashboard only reads. This
store holds everything else: accounts, sessions, sign-in failures, the access log and the record of
each refresh. It sits beside the build (``var/vcop.duckdb`` -> ``var/vcop.ops.sqlite``) unless the
``database.ops`` setting names another file, so a refresh can swap the build without losing a
sign-in or a log entry, and command-line tools can write it while the dashboard runs (SQLite's WAL
lets one writer and many readers share the file between processes).

Access-log entries are written in ``BEGIN IMMEDIATE`` transactions (one per entry, or per group of
entries a process's threads log at once), which take SQLite's write lock before reading the
previous entry's hash, so entries from the server and from commands chain in one order (see
:mod:`vcop.store.access_log`).

Connections write with ``synchronous = NORMAL``: in WAL mode a commit survives the process
crashing, but the last commits before a power cut or an operating-system crash may be lost. That
is acceptable for a session's last-seen time, not for the access log (the record of who read what
must not lose an entry for a page that was shown), so a ``durable`` transaction — every access-log
entry's — commits with ``synchronous = FULL`` (on a connection of its own, kept at ``FULL``): the
write-ahead log is on disk before the commit returns, and so before the page is sent.

Writers take turns on a lock of the store's before asking SQLite for its write lock
(:class:`WriteLock`): a thread lock within a process, and an advisory lock of a file beside the
store (``….ops.sqlite.lock``) between processes — the server's workers and the command line.
SQLite's own wait for a busy lock sleeps and retries with growing sleeps (1, 2, 5, 10 … 100 ms),
which, with twenty threads in two processes logging record-level views, queued a request far
longer than the write itself takes; a thread lock hands over at once, and a process waiting for
the file's lock tries again every millisecond. Where the file cannot be locked (no ``fcntl``, a
read-only folder), processes still meet SQLite's lock and its ``busy_timeout``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

#: The schema, in order of the migrations that made it (``PRAGMA user_version`` counts them).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        area TEXT,
        district TEXT,
        unit TEXT,
        officer_id TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        disabled_at TEXT
    );
    CREATE TABLE sessions (
        session_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users (username),
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE access_log (
        access_id INTEGER PRIMARY KEY,
        accessed_at TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        channel TEXT NOT NULL,
        action TEXT NOT NULL,
        victim_id TEXT,
        crime_id TEXT,
        reason TEXT,
        detail TEXT,
        session TEXT,
        os_user TEXT,
        records INTEGER NOT NULL DEFAULT 0,
        prev_hash TEXT NOT NULL,
        entry_hash TEXT NOT NULL
    );
    CREATE TABLE access_records (
        access_id INTEGER NOT NULL REFERENCES access_log (access_id),
        victim_id TEXT,
        crime_id TEXT
    );
    CREATE INDEX access_records_by_entry ON access_records (access_id);
    CREATE INDEX access_records_by_victim ON access_records (victim_id);
    CREATE TABLE sign_in_failures (
        failed_at TEXT NOT NULL,
        username TEXT NOT NULL,
        address TEXT NOT NULL
    );
    CREATE INDEX sign_in_failures_by_user ON sign_in_failures (username, failed_at);
    CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address, failed_at);
    CREATE TABLE refreshes (
        refresh_id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        as_of TEXT,
        source TEXT,
        os_user TEXT,
        pid INTEGER,
        message TEXT,
        summary TEXT
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    ALTER TABLE users ADD COLUMN totp_secret TEXT;
    """,
    """
    CREATE TABLE erasures (
        erased_at TEXT NOT NULL,
        victim_id TEXT NOT NULL,
        username TEXT NOT NULL,
        os_user TEXT,
        reason TEXT NOT NULL
    );
    CREATE INDEX erasures_by_victim ON erasures (victim_id);
    """,
    """
    CREATE TABLE releases (
        as_of TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        catalogue_hash TEXT NOT NULL,
        published_at TEXT NOT NULL,
        first_output TEXT NOT NULL,
        cells INTEGER NOT NULL,
        hidden INTEGER NOT NULL,
        known INTEGER NOT NULL,
        release BLOB NOT NULL,
        PRIMARY KEY (as_of, threshold, catalogue_hash)
    );
    CREATE TABLE published_cells (
        threshold INTEGER NOT NULL,
        cell TEXT NOT NULL,
        counts TEXT NOT NULL,
        as_of TEXT NOT NULL,
        published_at TEXT NOT NULL,
        PRIMARY KEY (threshold, cell)
    );
    """,
    """
    ALTER TABLE users ADD COLUMN agency TEXT;
    """,
    """
    CREATE TABLE access_log_prunes (
        pruned_at TEXT NOT NULL,
        before TEXT NOT NULL,
        first_id INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        last_hash TEXT NOT NULL,
        username TEXT NOT NULL,
        os_user TEXT,
        archive TEXT,
        archive_sha256 TEXT
    );
    """,
    # Victim Voice (vcop.voice): invitations hold only the SHA-256 of each link's token; answers
    # wait here until the next refresh copies them into the build's survey_responses.
    """
    CREATE TABLE survey_invitations (
        token_hash TEXT PRIMARY KEY,
        victim_id TEXT NOT NULL,
        crime_id TEXT NOT NULL,
        invited_at TEXT NOT NULL,
        as_of TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        username TEXT NOT NULL,
        used_at TEXT
    );
    CREATE UNIQUE INDEX survey_invitations_once ON survey_invitations (victim_id, crime_id);
    CREATE TABLE survey_answers (
        response_id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE REFERENCES survey_invitations (token_hash),
        victim_id TEXT NOT NULL,
        crime_id TEXT NOT NULL,
        answered_at TEXT NOT NULL,
        officer_id TEXT,
        unit TEXT,
        ease_of_contact INTEGER,
        actions_taken INTEGER,
        follow_up INTEGER,
        treatment INTEGER,
        whole_experience INTEGER,
        kept_informed INTEGER,
        listened_to INTEGER,
        needs_met INTEGER,
        confidence_to_report TEXT,
        comment TEXT
    );
    CREATE TABLE survey_link_misses (
        missed_at TEXT NOT NULL,
        address TEXT NOT NULL
    );
    CREATE INDEX survey_link_misses_by_address ON survey_link_misses (address, missed_at);
    """,
    # The inspection tracker (vcop.qa.tracker): inspection reports, their recommendations and
    # areas for improvement, and each one's status history — append-only, as the triggers keep it.
    """
    CREATE TABLE tracker_reports (
        report_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        inspectorate TEXT NOT NULL,
        published_on TEXT NOT NULL,
        url TEXT,
        response_due TEXT NOT NULL,
        responded_on TEXT,
        origin TEXT,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL
    );
    CREATE TABLE tracker_items (
        report_id TEXT NOT NULL REFERENCES tracker_reports (report_id),
        reference TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('recommendation', 'area_for_improvement')),
        text TEXT NOT NULL,
        owner TEXT NOT NULL,
        agency TEXT,
        due_by TEXT,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL,
        PRIMARY KEY (report_id, reference)
    );
    CREATE TABLE tracker_updates (
        update_id INTEGER PRIMARY KEY,
        report_id TEXT NOT NULL,
        reference TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'complete', 'closed')),
        changed_on TEXT NOT NULL,
        note TEXT,
        evidence TEXT,
        username TEXT NOT NULL,
        os_user TEXT,
        recorded_at TEXT NOT NULL,
        FOREIGN KEY (report_id, reference) REFERENCES tracker_items (report_id, reference)
    );
    CREATE INDEX tracker_updates_by_item ON tracker_updates (report_id, reference, changed_on);
    CREATE TRIGGER tracker_updates_are_kept BEFORE UPDATE ON tracker_updates
    BEGIN SELECT RAISE(ABORT, 'tracker_updates is append-only'); END;
    CREATE TRIGGER tracker_updates_are_never_deleted BEFORE DELETE ON tracker_updates
    BEGIN SELECT RAISE(ABORT, 'tracker_updates is append-only'); END;
    """,
    # Dip-sample audits (vcop.qa): each agency's sample of cases, and what its auditors found. A
    # finding is never changed: a new row supersedes it (``supersedes``), with who and when.
    """
    CREATE TABLE audits (
        audit_id TEXT PRIMARY KEY,
        quarter TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TABLE audit_cases (
        audit_id TEXT NOT NULL REFERENCES audits (audit_id),
        agency TEXT NOT NULL,
        crime_id TEXT NOT NULL,
        sample_no INTEGER NOT NULL,
        area TEXT,
        crime_type TEXT,
        finalised_at TEXT,
        enhanced INTEGER NOT NULL DEFAULT 0,
        court INTEGER NOT NULL DEFAULT 0,
        drawn_at TEXT NOT NULL,
        drawn_by TEXT NOT NULL,
        draw TEXT NOT NULL,
        PRIMARY KEY (audit_id, agency, crime_id)
    );
    CREATE TABLE audit_findings (
        finding_id INTEGER PRIMARY KEY,
        audit_id TEXT NOT NULL REFERENCES audits (audit_id),
        agency TEXT NOT NULL,
        crime_id TEXT NOT NULL,
        "right" INTEGER,
        judgement TEXT CHECK (judgement IN ('met', 'partly_met', 'not_met', 'not_applicable')),
        quality_1 INTEGER CHECK (quality_1 BETWEEN 1 AND 4),
        quality_2 INTEGER CHECK (quality_2 BETWEEN 1 AND 4),
        quality_3 INTEGER CHECK (quality_3 BETWEEN 1 AND 4),
        quality_4 INTEGER CHECK (quality_4 BETWEEN 1 AND 4),
        quality_5 INTEGER CHECK (quality_5 BETWEEN 1 AND 4),
        notes TEXT,
        case_study INTEGER NOT NULL DEFAULT 0,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        channel TEXT NOT NULL,
        supersedes INTEGER REFERENCES audit_findings (finding_id)
    );
    CREATE INDEX audit_findings_by_case ON audit_findings (audit_id, agency, crime_id);
    CREATE TRIGGER audit_findings_are_kept BEFORE UPDATE ON audit_findings
    BEGIN SELECT RAISE(ABORT, 'audit_findings is append-only: record a new finding'); END;
    CREATE TABLE audit_submissions (
        audit_id TEXT NOT NULL REFERENCES audits (audit_id),
        agency TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        submitted_by TEXT NOT NULL,
        PRIMARY KEY (audit_id, agency)
    );
    CREATE TABLE audit_actions (
        action_id INTEGER PRIMARY KEY,
        audit_id TEXT NOT NULL REFERENCES audits (audit_id),
        action TEXT NOT NULL,
        owner TEXT NOT NULL,
        due TEXT,
        agreed_at TEXT NOT NULL,
        agreed_by TEXT NOT NULL
    );
    """,
    # the reasons given in a session for opening records, where every process of the server
    # reads them (they were held in one process's memory); they end with their session
    """
    CREATE TABLE session_reasons (
        session_hash TEXT NOT NULL,
        victim_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (session_hash, victim_id)
    );
    CREATE TRIGGER session_reasons_end AFTER DELETE ON sessions BEGIN
        DELETE FROM session_reasons WHERE session_hash = OLD.session_hash;
    END;
    """,
)


def statements(script: str) -> list[str]:
    """A migration's statements, one by one: split at each ``;`` that ends a whole statement (so
    a trigger's ``BEGIN … ; END`` stays one)."""
    out: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip())
    return out


class OpsError(Exception):
    """An operational store that cannot be opened; the message names the file."""


def ops_path_for(db: Path) -> Path:
    """Where the operational store of build ``db`` sits by default: beside it."""
    return db.with_name(f"{db.stem}.ops.sqlite")


@dataclass(frozen=True)
class Rows:
    """A query's column names and rows."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def _value(value: object) -> object:
    """A Python value as SQLite stores it (timestamps as ISO 8601 text, booleans as 0/1)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def timestamp(value: object) -> datetime | None:
    """An ISO 8601 text read back from the store as a datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


#: How long a writer waits for another process's write before giving up (as ``busy_timeout``).
WAIT_SECONDS = 30.0


class WriteLock:
    """The store's writers take turns: the threads of this process on a reentrant lock, and
    processes on an exclusive ``flock`` of the file ``path``, taken by the outermost writer of
    this process and let go (the file closed) when it is done. Waiting for the file polls every
    millisecond, for at most :data:`WAIT_SECONDS`, then raises SQLite's own "database is
    locked"."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> WriteLock:
        self._thread.acquire()
        if self._depth == 0:
            try:
                self._fd = self._lock_file()
            except BaseException:
                self._thread.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)  # lets the lock go
            self._fd = None
        self._thread.release()

    def _lock_file(self) -> int | None:
        """The locked file's descriptor (None: it cannot be locked here)."""
        try:
            import fcntl

            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except (ImportError, OSError):  # no fcntl (Windows), or a folder we may not write
            return None
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise sqlite3.OperationalError(
                        f"database is locked ({self.path} held by another process for "
                        f"{WAIT_SECONDS:.0f} s)"
                    ) from None
                time.sleep(0.001)
            except BaseException:
                os.close(fd)
                raise


class OpsStore:
    """One operational store, shared by the threads of a process (a connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._durable: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            #: Held by the writer while it writes (see the module's doc).
            self._writing = WriteLock(self.path.with_name(self.path.name + ".lock"))
            con = self.connection()
            con.execute("PRAGMA journal_mode = WAL")
            self._migrate(con)
        except (sqlite3.Error, OSError) as exc:
            raise OpsError(
                f"{self.path}: cannot be opened as vcop's operational store: {exc}"
            ) from exc

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; :meth:`transaction` groups statements)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._connect("NORMAL")
            self._local.con = con
        return con

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute(f"PRAGMA synchronous = {synchronous}")
        with self._lock:
            self._connections.append(con)
        return con

    def _durable_connection(self) -> sqlite3.Connection:
        """The process's one connection for durable transactions, ``synchronous = FULL`` for
        good: the threads use it in turn, under the write lock (setting and resetting the pragma
        on a thread's own connection was two more statements for every entry, each a wait for
        the interpreter's lock on a busy server)."""
        if self._durable is None:
            self._durable = self._connect("FULL")
        return self._durable

    def _migrate(self, con: sqlite3.Connection) -> None:
        with self.transaction() as tx:
            version = int(tx.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements(script):
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on an exception): the write lock is taken
        first, so what the transaction reads cannot change before it writes. ``durable``: the
        commit is on disk when this returns (``synchronous = FULL``), not only safe from a crash
        of the process."""
        con = self.connection()
        with self._writing:
            if durable:
                if con.in_transaction:  # its commit would wait for this thread's own lock
                    raise RuntimeError("a durable transaction cannot be nested in another")
                con = self._durable_connection()
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> Rows:
        cur = self.connection().execute(sql, [_value(p) for p in params])
        columns = [d[0] for d in cur.description] if cur.description else []
        return Rows(columns, cur.fetchall())

    def scalar(self, sql: str, params: Sequence[object] = ()) -> Any:
        row = self.connection().execute(sql, [_value(p) for p in params]).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement (its own transaction); returns the number of rows it changed."""
        with self._writing:
            return self.connection().execute(sql, [_value(p) for p in params]).rowcount

    def meta(self, key: str) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", [key])
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the store at ``target`` (SQLite's online backup)."""
        out = sqlite3.connect(target)
        try:
            self.connection().backup(out)
        finally:
            out.close()

    def close(self) -> None:
        with self._lock:
            for con in self._connections:
                con.close()
            self._connections.clear()
        self._durable = None
        self._local = threading.local()


def with_value(params: Sequence[object]) -> list[object]:
    """``params`` as SQLite stores them (for callers that use a connection directly)."""
    return [_value(p) for p in params]


def open_ops(db: Path, path: Path | None = None) -> OpsStore:
    """The operational store of build ``db`` (at ``path``, else beside it), created if missing.

    A build written before vcop had an operational store kept its accounts and access log in its
    own tables; the first open copies them here (the access log re-chained in its order), so no
    account or entry is lost. Raises :class:`OpsError`.
    """
    ops = OpsStore(path or ops_path_for(db))
    if ops.meta("adopted_build_tables") is None and db.exists():
        adopt_build_tables(ops, db)
    return ops


#: The tables an older build kept for the dashboard; their rows now live in the operational store.
LEGACY_BUILD_TABLES = ("users", "sessions", "access_log")


def adopt_build_tables(ops: OpsStore, db: Path) -> None:
    """Copy accounts and access-log entries from an older build's own tables (once)."""
    import duckdb

    from vcop.store.access_log import Access, append

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return  # in use by an older server, or not a database: try again next time
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        users = (
            con.execute(
                "SELECT username, role, password_hash, area, district, unit, officer_id, "
                "disabled, created_at, disabled_at FROM users ORDER BY created_at, username"
            ).fetchall()
            if "users" in tables
            else []
        )
        log = (
            con.execute(
                "SELECT accessed_at, username, role, action, victim_id, crime_id, reason, "
                "detail, session, channel FROM access_log ORDER BY access_id"  # Access's order
            ).fetchall()
            if "access_log" in tables
            else []
        )
    except duckdb.Error:
        return
    finally:
        con.close()
    # Every account the old build knew, beside any made since (a name made since wins), and every
    # entry of its access log, after any written since: nothing is lost, and it happens once.
    with ops.transaction() as tx:
        tx.executemany(
            "INSERT OR IGNORE INTO users (username, role, password_hash, area, district, unit, "
            "officer_id, disabled, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [with_value([*u[:7], int(bool(u[7])), *u[8:]]) for u in users],
        )
    done = int(ops.meta("adopted_log_entries") or 0)
    for i, row in enumerate(log):
        if i < done:
            continue  # copied by an earlier, interrupted adoption
        append(ops, Access(*row))
        ops.set_meta("adopted_log_entries", str(i + 1))
    ops.set_meta("adopted_build_tables", str(db))
