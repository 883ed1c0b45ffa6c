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
from vcop.store.ops import OpsStore, open_ops

#: SQLite's numbers for ``PRAGMA synchronous``.
NORMAL, FULL = 1, 2


def _access(victim: str) -> Access:
    return Access(
        at=datetime(2025, 7, 1, 9, 0), username="ana", role="analyst", action="journey",
        victim_id=victim, reason="case review", records=[(victim, f"C-{victim}")],
    )  # fmt: skip


def test_each_entry_is_on_disk_before_append_returns(tmp_path: Path) -> None:
    ops = open_ops(tmp_path / "vcop.duckdb")
    assert ops.scalar("PRAGMA synchronous") == NORMAL  # the store's other writes
    durable = ops._durable_connection()  # the access log's, kept at FULL
    assert durable.execute("PRAGMA synchronous").fetchone()[0] == FULL
    seen: list[str] = []
    others: list[str] = []
    durable.set_trace_callback(seen.append)
    ops.connection().set_trace_callback(others.append)
    append(ops, _access("V1"))
    durable.set_trace_callback(None)
    ops.connection().set_trace_callback(None)
    begin, commit = seen.index("BEGIN IMMEDIATE"), seen.index("COMMIT")
    assert begin < commit and not others  # the commit itself waits for the disk
    assert durable.execute("PRAGMA synchronous").fetchone()[0] == FULL
    assert ops.scalar("PRAGMA synchronous") == NORMAL
    assert ops.scalar("SELECT victim_id FROM access_log") == "V1"


def _append_while_the_store_is_held(ops: OpsStore, victims: list[str]) -> dict[str, object]:
    """Each victim's entry appended by a thread of its own, all while another writer holds the
    store, so that they queue; what each append returned or raised."""
    out: dict[str, object] = {}

    def log(victim: str) -> None:
        try:
            out[victim] = append(ops, _access(victim))
        except sqlite3.Error as exc:
            out[victim] = exc

    threads = [threading.Thread(target=log, args=(v,)) for v in victims]
    with ops._writing:
        threads[0].start()
        time.sleep(0.2)  # the first is writing, waiting for the store
        for t in threads[1:]:
            t.start()
        time.sleep(0.3)  # the others wait for its commit
        assert not out
    for t in threads:
        t.join(timeout=30)
    return out


def test_entries_logged_at_once_are_committed_together_in_one_chain(tmp_path: Path) -> None:
    ops = open_ops(tmp_path / "vcop.duckdb")
    commits: list[str] = []
    ops._durable_connection().set_trace_callback(
        lambda sql: commits.append(sql) if sql == "COMMIT" else None
    )
    victims = [f"V{n}" for n in range(8)]
    ids = _append_while_the_store_is_held(ops, victims)
    assert len(commits) == 2  # the first entry, then the seven that waited for it, together
    assert sorted(ids.values()) == list(range(1, 9))  # type: ignore[type-var]
    result = verify(ops)
    assert result.ok and result.entries == 8
    for victim, access_id in ids.items():  # each got its own entry, with its own record
        assert ops.scalar(
            "SELECT victim_id FROM access_records WHERE access_id = ?", [access_id]
        ) == victim  # fmt: skip


def test_a_failed_group_commit_fails_every_entry_in_it(tmp_path: Path) -> None:
    ops = open_ops(tmp_path / "vcop.duckdb")
    ops.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON access_records WHEN NEW.victim_id = 'BAD' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    out = _append_while_the_store_is_held(ops, ["V0", "V1", "BAD", "V3"])
    assert out["V0"] == 1  # committed on its own, before the others queued
    for victim in ("V1", "BAD", "V3"):  # one commit: none of them was written
        assert isinstance(out[victim], sqlite3.Error), out[victim]
    assert ops.scalar("SELECT count(*) FROM access_log") == 1
    assert append(ops, _access("V4")) == 2  # the next chains on
    assert verify(ops).ok


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
