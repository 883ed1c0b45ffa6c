"""How access-log entries reach the disk: each in its own durable transaction, in one chain, however
many of the server's threads write at once (issue 15 made them faster, never weaker)."""

from __future__ import annotations

import sqlite3
import threading
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
