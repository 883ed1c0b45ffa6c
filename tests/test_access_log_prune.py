"""The access log is pruned past its retention without losing the ability to check its chain."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_retention import STRONG, built, db  # noqa: F401  (module fixtures)
from vcop.cli import app as cli
from vcop.store.access_log import Access, append, due_for_pruning, prune, verify, verify_archive
from vcop.store.ops import OpsStore, open_ops


def _log(ops: OpsStore, days: list[datetime]) -> None:
    for i, at in enumerate(days):
        append(
            ops,
            Access(at=at, username="ana", role="analyst", action="journey",
                   victim_id=f"V{i:04d}", crime_id=f"C{i:04d}", reason="case review",
                   records=[(f"V{i:04d}", f"C{i:04d}"), (None, f"C9{i:03d}")]),
        )  # fmt: skip


@pytest.fixture
def ops(tmp_path: Path) -> OpsStore:
    store = open_ops(tmp_path / "vcop.duckdb")
    _log(
        store,
        [datetime(2018, 1, d) for d in range(1, 6)] + [datetime(2024, 3, d) for d in (1, 2, 3)],
    )
    return store


def test_prune_removes_the_old_prefix_and_the_rest_still_verifies(
    ops: OpsStore, tmp_path: Path
) -> None:
    head = verify(ops).head
    archive = tmp_path / "old.jsonl"
    done = prune(ops, datetime(2019, 1, 1), username="dpo", archive=archive)
    assert done is not None and (done.first_id, done.last_id, done.entries) == (1, 5, 5)
    assert ops.scalar("SELECT count(*) FROM access_log") == 3
    assert ops.scalar("SELECT count(*) FROM access_records WHERE access_id <= 5") == 0
    after = verify(ops, noted_head=head)
    assert after.ok, after.breaks
    assert after.entries == 3 and after.head == head and after.pruned == done
    # the archive holds the removed entries, chains on its own and ends where the log goes on
    kept = verify_archive(archive)
    assert kept.ok and kept.entries == 5 and kept.head == done.last_hash
    assert prune(ops, datetime(2019, 1, 1), username="dpo") is None  # nothing more is due


def test_a_removal_that_was_not_a_recorded_prune_is_still_found(ops: OpsStore) -> None:
    prune(ops, datetime(2019, 1, 1), username="dpo")
    ops.execute("DELETE FROM access_records WHERE access_id = 6")
    ops.execute("DELETE FROM access_log WHERE access_id = 6")
    found = verify(ops)
    assert not found.ok
    assert any("missing" in problem or "chain" in problem for _, problem in found.breaks)


def test_an_altered_archive_does_not_verify(ops: OpsStore, tmp_path: Path) -> None:
    archive = tmp_path / "old.jsonl"
    prune(ops, datetime(2019, 1, 1), username="dpo", archive=archive)
    lines = archive.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["reason"] = "nothing to see"
    lines[2] = json.dumps(entry)
    archive.write_text("\n".join(lines) + "\n")
    assert not verify_archive(archive).ok
    archive.write_text("\n".join(lines[:2] + lines[3:]) + "\n")  # an entry dropped
    assert not verify_archive(archive).ok


def test_an_entry_out_of_time_order_stops_the_prune_there(tmp_path: Path) -> None:
    store = open_ops(tmp_path / "vcop.duckdb")
    _log(store, [datetime(2018, 1, 1), datetime(2024, 1, 1), datetime(2018, 1, 2)])
    assert due_for_pruning(store, datetime(2019, 1, 1)) == (1, 1)
    prune(store, datetime(2019, 1, 1), username="dpo")
    assert verify(store).ok and store.scalar("SELECT count(*) FROM access_log") == 2


def test_retention_apply_prunes_the_access_log_past_its_years(db: Path, tmp_path: Path) -> None:  # noqa: F811
    ops = open_ops(db)
    _log(ops, [datetime(2017, 5, 1), datetime(2017, 6, 1)])
    old = int(ops.scalar("SELECT count(*) FROM access_log WHERE accessed_at < '2019-06-01'"))
    ops.close()
    runner = CliRunner(env={"VCOP_PASSWORD": STRONG})
    archive = tmp_path / "access-2019.jsonl"
    args = ["retention", "apply", "--user", "dpo", "--db", str(db), "--years", "2",
            "--today", date(2025, 6, 1).isoformat()]  # fmt: skip
    dry = runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Due for removal: {old:,} access-log entries written before 2019-06-01" in dry.stdout
    done = runner.invoke(cli, [*args, "--access-log-archive", str(archive)])
    assert done.exit_code == 0, done.output
    assert f"Removed: {old:,} access-log entries written before 2019-06-01" in done.stdout
    checked = runner.invoke(cli, ["access-log", "verify", "--db", str(db)])
    assert checked.exit_code == 0, checked.output
    assert "were pruned on" in checked.stdout
    assert runner.invoke(cli, ["access-log", "verify", "--archive", str(archive)]).exit_code == 0
    ops = open_ops(db)
    try:
        assert ops.scalar("SELECT count(*) FROM access_log WHERE accessed_at < '2019-06-01'") == 0
        assert ops.scalar("SELECT count(*) FROM access_log WHERE action = 'retention_apply'") == 1
    finally:
        ops.close()
