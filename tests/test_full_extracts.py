"""Full and delta extracts, `vcop batches --undo`, and `vcop ingest`'s exit codes and summary.

A full extract retires the rows it no longer holds (kept in history, out of the ledger and the
figures), never a row it holds but rejected, and stops past `--max-retire-share` unless
`--confirm-retire`; `vcop batches --undo N` puts the database back as it was before batch N.
Fixtures hold pseudonymous ids only.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

from tests.webdata import copy_build
from vcop.cli import app
from vcop.ingest.history import HISTORY_SUFFIX
from vcop.ingest.thresholds import parse_share
from vcop.retention import erase_victim
from vcop.spec.schema import load_schema
from vcop.store.ops import open_ops
from vcop.web.auth import Role, add_user

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

N = 20
PASSWORD = "amber socket meadow crane"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"

CRIMES = "crime_id,reported_at,recorded_at,crime_type\n"
VICTIMS = "victim_id,crime_id,age_at_report\n"
NEEDS = "assessment_id,victim_id,crime_id,completed_at\n"
INCIDENTS = "incident_id,received_at,grade,crime_id\n"


def crime(i: int) -> str:
    return f"F-C{i},2025-01-{i:02d}T09:00:00,2025-01-{i:02d}T10:00:00,Burglary\n"


def victim(i: int, age: str = "30", crime_no: int | None = None) -> str:
    return f"F-V{i},F-C{crime_no or i},{age}\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, "utf-8")
    return folder


def base_extract(folder: Path) -> Path:
    """Twenty crimes, each with a victim, a needs assessment and the incident that reported it."""
    r = range(1, N + 1)
    return write(folder, {
        "crimes": CRIMES + "".join(crime(i) for i in r),
        "victims": VICTIMS + "".join(victim(i) for i in r),
        "needs_assessments": NEEDS + "".join(
            f"F-A{i},F-V{i},F-C{i},2025-01-{i:02d}T12:00:00\n" for i in r
        ),
        "incidents": INCIDENTS + "".join(f"F-I{i},2025-01-{i:02d}T08:00:00,prompt,F-C{i}\n" for i in r),
    })  # fmt: skip


def ingest(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["ingest", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base extract loaded once (``base/`` beside it), with an admin and an analyst."""
    root = tmp_path_factory.mktemp("full")
    path = root / "vcop.duckdb"
    done = ingest(path, str(base_extract(root / "base")))
    assert done.exit_code == 0, done.output
    ops = open_ops(path)
    add_user(ops, "admin1", Role.admin, PASSWORD, now=datetime(2025, 1, 1))
    add_user(ops, "ana", Role.analyst, PASSWORD, now=datetime(2025, 1, 1))
    ops.close()
    return path


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A copy of the built database (and its operational store) of this test's own."""
    return copy_build(built, tmp_path)


def rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def ids(db: Path, table: str, column: str) -> set[str]:
    return {str(r[0]) for r in rows(db, f'SELECT "{column}" FROM "{table}"')}


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every canonical, history and bookkeeping table, sorted."""
    names = [*load_schema().table_names, "batches", "rejects"]
    names += [n + HISTORY_SUFFIX for n in load_schema().table_names]
    con = duckdb.connect(str(db), read_only=True)
    try:
        have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return {
            n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr)
            for n in names
            if n in have
        }
    finally:
        con.close()


def summary_of(done: Result) -> dict[str, Any]:
    document = json.loads(done.stdout)  # stdout holds the JSON object alone
    assert isinstance(document, dict)
    return document


# -- full extracts -------------------------------------------------------------------------------


def test_a_full_extract_retires_missing_victims_out_of_the_ledger_and_figures(
    db: Path, tmp_path: Path
) -> None:
    full = write(tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(1, N))})
    done = ingest(db, str(full), "--mode", "full", "--summary", "json")
    assert done.exit_code == 0, done.stderr
    (loaded,) = summary_of(done)["files"]
    assert loaded["rows_retired"] == 1 and loaded["dependants_retired"] == {"needs_assessments": 1}
    assert "F-V20" not in ids(db, "victims", "victim_id")
    assert "F-A20" not in ids(db, "needs_assessments", "assessment_id")
    # kept in history, with the batch that retired it
    assert rows(db, "SELECT victim_id, change FROM victims_history") == [("F-V20", "retired")]
    assert "retired (kept in history" in " ".join(done.stderr.split())  # the human summary

    runner = CliRunner()
    evaluated = runner.invoke(app, ["evaluate", "--as-of", "2025-03-31", "--db", str(db)])
    assert evaluated.exit_code == 0, evaluated.output
    in_ledger = ids(db, "entitlements", "victim_id")
    assert "F-V1" in in_ledger and "F-V20" not in in_ledger
    figures = runner.invoke(
        app, ["metrics", "--as-of", "2025-03-31", "--db", str(db), "--format", "json",
              "--metric", "needs_assessment_completion"],
    )  # fmt: skip
    assert figures.exit_code == 0, figures.output
    (figure,) = [m for m in json.loads(figures.stdout) if m["breakdown"] == "all"]
    assert (figure["numerator"], figure["denominator"]) == (N - 1, N - 1)


def test_a_rejected_row_is_not_an_absence(db: Path, tmp_path: Path) -> None:
    text = VICTIMS + "".join(victim(i) for i in range(1, N - 1))  # F-V19 and F-V20 left out …
    text += victim(N, age="not an age")  # … but F-V20 is there, rejected
    full = write(tmp_path / "full", {"victims": text})
    done = ingest(db, str(full), "--mode", "full", "--summary", "json")
    assert done.exit_code == 3, done.stderr  # 1 of 19 rows rejected: past 5%
    (loaded,) = summary_of(done)["files"]
    assert (loaded["rows_rejected"], loaded["rows_retired"]) == (1, 1)
    assert rows(db, "SELECT victim_id FROM victims_history") == [("F-V19",)]
    assert rows(db, "SELECT age_at_report FROM victims WHERE victim_id = 'F-V20'") == [(30,)]


def test_a_rejected_row_without_a_key_is_reported(db: Path, tmp_path: Path) -> None:
    text = VICTIMS + "".join(victim(i) for i in range(1, N)) + ",F-C20,30\n"
    full = write(tmp_path / "full", {"victims": text})
    done = ingest(db, str(full), "--mode", "full", "--summary", "json")
    assert done.exit_code == 0, done.stderr  # 1 of 20 rejected is 5%, not past it
    (message,) = summary_of(done)["messages"]
    assert "1 rejected row(s) have no readable key" in message


def test_the_retire_threshold_stops_the_load_and_confirm_lets_it_through(
    db: Path, tmp_path: Path
) -> None:
    before = snapshot(db)
    full = write(tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(1, 17))})
    stopped = ingest(db, str(full), "--mode", "full")
    assert stopped.exit_code == 1
    message = " ".join(stopped.stderr.split())
    assert "full extract of victims would retire 4 of its 20 rows (20%)" in message
    assert "--max-retire-share 10%" in message and "--confirm-retire" in message
    assert "Nothing was loaded" in message
    assert snapshot(db) == before
    confirmed = ingest(db, str(full), "--mode", "full", "--confirm-retire", "--summary", "json")
    assert confirmed.exit_code == 3, confirmed.stderr
    document = summary_of(confirmed)
    assert document["retire_share"] == 0.2 and document["exit_code"] == 3
    (warning,) = document["warnings"]
    assert "4 of 20 rows of victims (20%) were retired" in warning
    assert len(ids(db, "victims", "victim_id")) == 16


def test_a_higher_threshold_lets_a_full_extract_through_with_exit_0(
    db: Path, tmp_path: Path
) -> None:
    full = write(tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(1, 17))})
    done = ingest(db, str(full), "--mode", "full", "--max-retire-share", "20%")
    assert done.exit_code == 0, done.output  # 20% is not more than 20%
    assert len(ids(db, "victims", "victim_id")) == 16


def test_a_delta_load_retires_nothing_and_the_profile_can_say_full(
    db: Path, tmp_path: Path
) -> None:
    part = write(tmp_path / "part", {"victims": VICTIMS + victim(1, age="31")})
    done = ingest(db, str(part))
    assert done.exit_code == 0, done.output
    assert len(ids(db, "victims", "victim_id")) == N
    assert rows(db, "SELECT victim_id, change FROM victims_history") == [("F-V1", "updated")]
    profile = tmp_path / "force.yaml"
    profile.write_text(
        "name: force\ndescription: a full victims extract\ntables:\n  victims:\n    mode: full\n",
        "utf-8",
    )
    full = write(
        tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(2, N + 1))}
    )
    done = ingest(db, str(full), "--profile", str(profile), "--summary", "json")
    assert done.exit_code == 0, done.stderr
    assert "F-V1" not in ids(db, "victims", "victim_id")
    # --mode delta overrides the profile
    again = write(tmp_path / "again", {"victims": VICTIMS + victim(5, age="40")})
    done = ingest(db, str(again), "--profile", str(profile), "--mode", "delta")
    assert done.exit_code == 0, done.output
    assert len(ids(db, "victims", "victim_id")) == N - 1


def test_a_retired_crime_takes_its_dependants_and_clears_optional_links(
    db: Path, tmp_path: Path
) -> None:
    full = write(tmp_path / "full", {"crimes": CRIMES + "".join(crime(i) for i in range(1, N))})
    done = ingest(db, str(full), "--mode", "full", "--summary", "json")
    assert done.exit_code == 0, done.stderr
    (loaded,) = summary_of(done)["files"]
    assert loaded["dependants_retired"] == {"victims": 1, "needs_assessments": 1}
    assert loaded["links_cleared"] == {"incidents": 1}
    assert rows(db, "SELECT crime_id FROM incidents WHERE incident_id = 'F-I20'") == [(None,)]
    assert "F-V20" not in ids(db, "victims", "victim_id")


def test_erasure_removes_a_victims_history_too(db: Path, tmp_path: Path) -> None:
    full = write(tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(1, N))})
    assert ingest(db, str(full), "--mode", "full").exit_code == 0
    con = duckdb.connect(str(db))
    try:
        removal = erase_victim(con, "F-V20")
        assert removal.rows.get("victims_history") == 1
        for table in ("victims_history", "needs_assessments_history"):
            assert con.execute(
                f"SELECT count(*) FROM {table} WHERE victim_id = 'F-V20'"
            ).fetchall() == [(0,)]
        # their crime had no other victim: it goes too
        assert con.execute("SELECT count(*) FROM crimes WHERE crime_id = 'F-C20'").fetchall() == [
            (0,)
        ]
    finally:
        con.close()


# -- undo ----------------------------------------------------------------------------------------


def undo(db: Path, batch: int, *args: str, user: str = "admin1") -> Result:
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})
    return runner.invoke(
        app, ["batches", "--undo", str(batch), "--user", user, "--reason", "wrong file",
              "--db", str(db), *args],
    )  # fmt: skip


def test_undo_puts_the_database_back_as_it_was(db: Path, tmp_path: Path) -> None:
    before = snapshot(db)
    full = write(tmp_path / "full", {
        "crimes": CRIMES + "".join(crime(i) for i in range(1, N)),  # F-C20 retired, and its own
        "victims": VICTIMS + victim(1, age="41") + victim(N + 1, crime_no=1)  # one changed, one new
        + "".join(victim(i) for i in range(2, N)) + "bad,,\n",  # and a reject
    })  # fmt: skip
    done = ingest(db, str(full), "--mode", "full", "--summary", "json")
    assert done.exit_code == 0, done.stderr
    crimes, victims = (f["batch_id"] for f in summary_of(done)["files"])
    changed = snapshot(db)
    assert changed != before

    assert undo(db, crimes, user="ana").exit_code == 3  # only an admin
    later = undo(db, crimes)  # the victims batch came after and touched the same table
    assert later.exit_code == 1
    assert "undo those first" in " ".join(later.output.split()) and str(victims) in later.output
    dry = undo(db, victims, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert snapshot(db) == changed
    assert undo(db, victims).exit_code == 0
    assert rows(db, "SELECT age_at_report FROM victims WHERE victim_id = 'F-V1'") == [(30,)]
    done = undo(db, crimes)
    assert done.exit_code == 0, done.output
    assert snapshot(db) == before
    assert undo(db, crimes).exit_code == 1  # gone
    ops = open_ops(db)
    logged = ops.query("SELECT action, reason FROM access_log WHERE action LIKE 'batches%'").rows
    ops.close()
    assert ("batches_undo", "wrong file") in logged and (
        "batches_undo_refused",
        "wrong file",
    ) in logged
    # the same files load again (the batches were forgotten), retiring the same rows
    assert ingest(db, str(full), "--mode", "full").exit_code == 0
    assert "F-V20" not in ids(db, "victims", "victim_id")


def test_undo_refuses_to_leave_rows_naming_nothing(db: Path, tmp_path: Path) -> None:
    more = write(tmp_path / "more", {
        "crimes": CRIMES + crime(21),
        "victims": VICTIMS + victim(21),
    })  # fmt: skip
    done = ingest(db, str(more), "--summary", "json")
    assert done.exit_code == 0, done.stderr
    crimes, victims = (f["batch_id"] for f in summary_of(done)["files"])
    before = snapshot(db)
    refused = undo(db, crimes)
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert "1 row(s) of victims naming a row of crimes" in text and str(victims) in text
    assert snapshot(db) == before


# -- exit codes and the summary ------------------------------------------------------------------


def test_exit_codes(built: Path, db: Path, tmp_path: Path) -> None:
    extract = built.parent / "base"  # loaded with exit 0 by the fixture
    assert ingest(db, str(extract)).exit_code == 0  # already loaded: expected, not a warning
    broken = write(tmp_path / "broken", {"victims": "crime_id\nF-C1\n"})
    failed = ingest(db, str(broken))
    assert failed.exit_code == 1 and "victim_id" in failed.output
    assert "Nothing was loaded" in failed.output
    unknown = write(tmp_path / "unknown", {"notes": "x\n1\n", "victims": VICTIMS + victim(1)})
    warned = ingest(db, str(unknown))
    assert warned.exit_code == 3 and "not a table of the profile" in warned.output
    # rejects: 1 of 20 is 5%, not more than --max-reject-share 5%; past 4% it is
    one_bad = VICTIMS + "".join(victim(i, age="32") for i in range(1, N)) + victim(N, age="old")
    write(tmp_path / "rejects", {"victims": one_bad})
    assert ingest(db, str(tmp_path / "rejects")).exit_code == 0
    again = ingest(db, str(tmp_path / "rejects"), "--force", "--max-reject-share", "4%")
    assert again.exit_code == 3 and "more than --max-reject-share 4%" in again.output
    assert (
        ingest(db, str(tmp_path / "rejects"), "--force", "--max-reject-share", "0.05").exit_code
        == 0
    )
    wrong = ingest(db, str(extract), "--max-reject-share", "5")
    assert wrong.exit_code == 2 and "5%" in wrong.output
    assert ingest(db, str(tmp_path / "nope")).exit_code == 2


@pytest.mark.parametrize(
    ("text", "value"), [("5%", 0.05), ("0.05", 0.05), (".1", 0.1), ("100%", 1.0), ("0", 0.0)]
)
def test_shares_are_fractions_or_percentages(text: str, value: float) -> None:
    assert parse_share(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["5", "150%", "-1%", "five", ""])
def test_a_share_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="share"):
        parse_share(text)


def documented_fields() -> set[str]:
    """The field names in docs/operations.md's table of `vcop ingest --summary json`."""
    text = DOCS.read_text("utf-8")
    section = text.split("## Ingest summary (--summary json)", 1)[1].split("\n## ", 1)[0]
    found: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            found.update(re.findall(r"`([a-z_.]+)`", line.split("|")[1]))
    return found


def test_the_json_summary_has_the_documented_fields(db: Path, tmp_path: Path) -> None:
    part = write(tmp_path / "part", {"victims": VICTIMS + victim(1, age="33"), "notes": "x\n1\n"})
    done = ingest(db, str(part), "--summary", "json")
    assert done.exit_code == 3, done.stderr
    document = summary_of(done)
    assert document["exit_code"] == 3 and document["profile"]["name"] == "standard"
    loaded, unknown = document["files"]
    assert (loaded["status"], loaded["rows_updated"], unknown["status"]) == ("loaded", 1, "unknown")
    shown = set(document) | {f"profile.{k}" for k in document["profile"]}
    shown |= {f"files.{k}" for k in loaded} | {f"totals.{k}" for k in document["totals"]}
    assert shown == documented_fields()
    failed = ingest(db, str(write(tmp_path / "broken", {"victims": "crime_id\nF-C1\n"})),
                    "--summary", "json")  # fmt: skip
    document = summary_of(failed)
    assert failed.exit_code == 1 and document["exit_code"] == 1
    assert "victim_id missing" in str(document["error"])


def test_refresh_keeps_the_retire_threshold_and_can_confirm_it(db: Path, tmp_path: Path) -> None:
    profile = tmp_path / "force.yaml"
    profile.write_text(
        "name: force\ndescription: a full victims extract\ntables:\n  victims:\n    mode: full\n",
        "utf-8",
    )
    full = write(tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(1, 17))})

    def refresh(*extra: str) -> Result:
        return CliRunner().invoke(
            app,
            ["refresh", "--from", str(full), "--db", str(db), "--as-of", "2025-03-31",
             "--profile", str(profile), "--no-partner-release", *extra],
        )  # fmt: skip

    stopped = refresh()
    assert stopped.exit_code == 1
    assert "would retire 4 of its 20 rows (20%)" in " ".join(stopped.output.split())
    assert len(ids(db, "victims", "victim_id")) == N  # nothing was published
    assert refresh("--max-retire-share", "25%").exit_code == 0, "a higher limit lets it through"
    assert len(ids(db, "victims", "victim_id")) == 16


def test_refresh_can_confirm_a_retire_past_the_threshold(db: Path, tmp_path: Path) -> None:
    full = write(tmp_path / "full", {"victims": VICTIMS + "".join(victim(i) for i in range(1, 17))})
    (full / "profile.yaml").write_text(
        "name: force\ndescription: a full victims extract\ntables:\n  victims:\n    mode: full\n",
        "utf-8",
    )
    done = CliRunner().invoke(
        app,
        ["refresh", "--from", str(full), "--db", str(db), "--as-of", "2025-03-31",
         "--no-partner-release", "--confirm-retire"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert len(ids(db, "victims", "victim_id")) == 16
