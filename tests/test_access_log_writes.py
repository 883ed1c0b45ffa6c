"""How access-log entries reach the disk: each in its own durable transaction, in one chain, however
many of the server's threads write at once (issue 15 made them faster, never weaker)."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from vcop.store.access_log import Access, append, verify
from vcop.store.ops import open_ops

#: SQLite's numbers for ``PRAGMA synchronous``.
NORMAL, FULL = 1, 2


def _access(victim: str) -> Access:
    return Access(
        at=datetime(2025, 7, 1, 9, 0), username="ana", role="analyst", action="journey",
        victim_id=victim, reason="case review", records=[(victim, f"C-{victim}")],
    )  # fmt: skip


def test_each_entry_is_on_disk_before_append_returns(tmp_path: Path) -> None:
    ops = open_ops(tmp_path / "vcop.duckdb")
    con = ops.connection()
    assert ops.scalar("PRAGMA synchronous") == NORMAL  # the store's other writes
    seen: list[str] = []
    con.set_trace_callback(seen.append)
    append(ops, _access("V1"))
    con.set_trace_callback(None)
    full = seen.index("PRAGMA synchronous = FULL")
    begin, commit = seen.index("BEGIN IMMEDIATE"), seen.index("COMMIT")
    assert full < begin < commit  # the commit itself waits for the disk
    assert "PRAGMA synchronous = NORMAL" in seen[commit:]
    assert ops.scalar("PRAGMA synchronous") == NORMAL
    assert ops.scalar("SELECT victim_id FROM access_log") == "V1"


def test_a_failed_entry_leaves_nothing_and_the_next_one_chains(tmp_path: Path) -> None:
    ops = open_ops(tmp_path / "vcop.duckdb")
    append(ops, _access("V1"))
    ops.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON access_records BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    with pytest.raises(sqlite3.Error, match="no"):
        append(ops, _access("V2"))
    ops.execute("DROP TRIGGER refuse")
    assert ops.scalar("PRAGMA synchronous") == NORMAL
    append(ops, _access("V3"))
    result = verify(ops)
    assert result.ok, result.breaks
    assert [r[0] for r in ops.query("SELECT victim_id FROM access_log ORDER BY 1").rows] == [
        "V1",
        "V3",
    ]


def test_many_threads_and_another_process_log_at_once_in_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "vcop.duckdb"
    server = open_ops(db)
    command = open_ops(db)  # another connection to the file, as `vcop` commands have
    errors: list[BaseException] = []

    def log(ops_index: int, n: int) -> None:
        ops = (server, command)[ops_index]
        try:
            for i in range(15):
                append(ops, _access(f"V{n:02d}-{i:02d}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=log, args=(n % 4 == 0, n)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = verify(server)
    assert result.ok, result.breaks
    assert result.entries == 12 * 15
    logged = {r[0] for r in server.query("SELECT victim_id FROM access_records").rows}
    assert logged == {f"V{n:02d}-{i:02d}" for n in range(12) for i in range(15)}


def test_processes_take_turns_on_the_stores_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two holders of the lock file (as two processes are: each its own open file) write one at
    a time; the waiter goes on within milliseconds of the other letting go, not after one of
    SQLite's sleeps; one that waits too long gets SQLite's own error."""
    from vcop.store import ops as ops_module

    path = tmp_path / "vcop.ops.sqlite.lock"
    first, second = ops_module.WriteLock(path), ops_module.WriteLock(path)
    entered: list[float] = []

    def wait_for_it() -> None:
        with second:
            entered.append(time.monotonic())

    with first:
        with first:  # the same writer again (a transaction that logs): no wait for itself
            pass
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        time.sleep(0.2)
        assert not entered  # still waiting for the file
        released = time.monotonic()
    waiter.join(timeout=5)
    assert entered and 0 <= entered[0] - released < 0.1

    monkeypatch.setattr(ops_module, "WAIT_SECONDS", 0.05)
    with first, pytest.raises(sqlite3.OperationalError, match="database is locked"), second:
        pass
    with second:  # the failed wait left nothing held
        pass


def test_the_store_writes_where_its_lock_file_cannot_be_made(tmp_path: Path) -> None:
    from vcop.store.ops import WriteLock

    lock = WriteLock(tmp_path / "no such folder" / "vcop.ops.sqlite.lock")
    with lock:  # falls back to SQLite's own lock between processes
        pass
