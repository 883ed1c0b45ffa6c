"""The ledger's SQL kept per definitions stamp (vcop.rules.compiled): it never changes a ledger.

The decisive checks: the SQL run from the cache, for several as-of dates and two sets of local
standards, is character for character the SQL a fresh build and compile gives for that date;
the ledger written from it equals one built afresh, row for row; and a changed definition,
standard, table or engine is a miss.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import ibis
import pytest

import vcop.rules.compiled as compiled
from tests.cases.runner import load_tables
from tests.cases.synthetic import synthetic_tables
from vcop.rules.compiled import (
    AS_OF_TOKEN,
    BASE,
    CACHE_TABLE,
    CUTOFF_TOKEN,
    SENTINEL,
    Step,
    compile_steps,
    plan,
    step_keys,
)
from vcop.rules.ledger import LEDGER_COLUMNS, LEDGER_TABLE, build_ledger, evaluate, insert_rows
from vcop.rules.sources import Sources
from vcop.spec.code import Code, LocalStandards, load_code
from vcop.store.calendar import ensure_calendar

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

OTHER = LocalStandards(needs_assessment_working_days=3, care_contract_working_days=2)


@pytest.fixture(autouse=True)
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder for this test alone (the suite's is shared by every test)."""
    folder = tmp_path / "machine-cache"
    monkeypatch.setenv("VCOP_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = load_tables(synthetic_tables(seed=5, crimes=60))
    ensure_calendar(con)
    return con


def _backend(con: duckdb.DuckDBPyConnection) -> ibis.BaseBackend:
    return ibis.duckdb.from_connection(con)


@pytest.mark.parametrize(
    ("standards", "days"),
    [
        # a leap day, the demo's date, and a year's last day (its cut-off is the next year's)
        (LocalStandards(), (date(2024, 2, 29), date(2025, 6, 30), date(2026, 12, 31))),
        (OTHER, (date(2025, 3, 31),)),
    ],
)
def test_the_cached_sql_is_a_fresh_compile_exactly(
    con: duckdb.DuckDBPyConnection, standards: LocalStandards, days: tuple[date, ...]
) -> None:
    code = load_code()
    backend = _backend(con)
    first = plan(backend, code, standards, days[0])
    assert not first.cached
    kept = plan(backend, code, standards, days[0])
    assert kept.cached
    assert [s.template for s in kept.steps] == [s.template for s in first.steps]
    # Every part has its tokens: the date reaches the SQL only through them.
    assert all(AS_OF_TOKEN in s.template or s.kind == BASE for s in kept.steps)
    assert all(CUTOFF_TOKEN in s.template for s in kept.steps)
    for day in days:
        fresh = compile_steps(backend, code, standards, day)
        assert [s.key for s in fresh] == [s.key for s in kept.steps]
        for cached, made in zip(kept.steps, fresh, strict=True):
            assert cached.sql(day) == made.sql(day), (cached.label, day)


def _ledger(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    columns = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
    return con.execute(f'SELECT {columns} FROM "{LEDGER_TABLE}" ORDER BY ALL').fetchall()


def test_the_ledger_from_the_cache_equals_a_fresh_one(con: duckdb.DuckDBPyConnection) -> None:
    for day in (date(2025, 6, 30), date(2025, 1, 15)):
        fresh_run = evaluate(con, day, use_cache=False, standards=OTHER)
        fresh = _ledger(con)
        assert fresh and len(fresh) == fresh_run.rows
        evaluate(con, day, standards=OTHER)  # compiled (the first time) and kept
        assert _ledger(con) == fresh
        evaluate(con, day, standards=OTHER)  # read from the cache
        assert _ledger(con) == fresh
        # ... and one whole expression, run as Ibis registers and runs it (no cache, no CTEs).
        backend = _backend(con)
        expr = build_ledger(Sources.from_backend(backend), day, standards=OTHER)
        con.execute(f'CREATE OR REPLACE TEMP TABLE _direct AS FROM "{LEDGER_TABLE}" LIMIT 0')
        insert_rows(backend, "_direct", expr)
        columns = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
        assert con.execute(f"SELECT {columns} FROM _direct ORDER BY ALL").fetchall() == fresh
    kept = con.execute(f"SELECT count(*), count(DISTINCT engine) FROM {CACHE_TABLE}").fetchall()
    assert kept == [(len(step_keys(con, load_code(), OTHER)), 1)]


def _changed_title(code: Code) -> Code:
    edition = code.editions[0]
    first, *rest = edition.obligations
    changed = first.model_copy(update={"title": first.title + " (amended)"})
    return code.model_copy(
        update={"editions": (edition.model_copy(update={"obligations": (changed, *rest)}),)}
    )


def test_a_change_to_what_makes_the_sql_is_a_miss(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = load_code()
    backend = _backend(con)
    plan(backend, code, LocalStandards(), date(2025, 6, 30))
    keys = {k[3] for k in step_keys(con, code, LocalStandards())}
    assert plan(backend, code, LocalStandards(), date(2025, 6, 30)).cached

    def missed(code: Code, standards: LocalStandards) -> bool:
        return not keys & {k[3] for k in step_keys(con, code, standards)}

    assert missed(code, OTHER)
    assert missed(_changed_title(code), LocalStandards())
    assert not plan(backend, _changed_title(code), LocalStandards(), date(2025, 6, 30)).cached
    # A column added to a table the rules read (one can change the SQL) ...
    con.execute("ALTER TABLE case_events ADD COLUMN sentence_months INTEGER")
    assert missed(code, LocalStandards())
    con.execute("ALTER TABLE case_events DROP COLUMN sentence_months")
    assert not missed(code, LocalStandards())
    # ... and a change to vcop's code.
    monkeypatch.setattr(compiled, "engine_version", lambda: "another engine")
    assert missed(code, LocalStandards())


def test_a_compile_that_shows_the_date_otherwise_is_not_kept(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    def step(sql: str) -> Step:
        return Step("2021", "k", "k", "key", sql)

    assert not compiled._leftover([step(f"SELECT {CUTOFF_TOKEN}, 86400, 10")])
    assert compiled._leftover([step("SELECT MAKE_DATE(2187, 6, 13)")])  # the date less 30 days
    assert compiled._leftover([step("SELECT DATE '2188-01-01'")])
    day = (SENTINEL - date(2000, 1, 1)).days
    assert compiled._leftover([step(f"SELECT least(x, {day - 7})")])  # a day number near it

    real = compiled.compile_steps
    as_ofs: list[date] = []

    def leaky(
        backend: ibis.BaseBackend, code: Code, standards: LocalStandards, as_of: date
    ) -> list[Step]:
        as_ofs.append(as_of)
        steps = real(backend, code, standards, as_of)  # type: ignore[arg-type]
        first = steps[0]
        leak = f" AND {(as_of - date(2000, 1, 1)).days} > 0"
        return [Step(first.edition, first.kind, first.label, first.key, first.template + leak),
                *steps[1:]]  # fmt: skip

    monkeypatch.setattr(compiled, "compile_steps", leaky)
    made = plan(_backend(con), load_code(), LocalStandards(), date(2025, 6, 30))
    assert not made.cached and as_ofs == [SENTINEL, date(2025, 6, 30)]
    assert con.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchall() == [(0,)]


def test_a_cache_table_of_another_shape_is_made_again(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE {CACHE_TABLE} (key VARCHAR, setup VARCHAR NOT NULL)")
    evaluate(con, date(2025, 6, 30))
    columns = con.execute(f"SELECT * FROM {CACHE_TABLE} LIMIT 0").description
    assert [c[0] for c in columns] == list(compiled._CACHE_COLUMNS)
    assert plan(_backend(con), load_code(), LocalStandards(), date(2025, 6, 30)).cached


def test_a_new_database_starts_warm_from_the_machines_copy(
    con: duckdb.DuckDBPyConnection, machine: Path
) -> None:
    code = load_code()
    day = date(2025, 6, 30)
    first = plan(_backend(con), code, LocalStandards(), day)
    assert not first.cached
    files = sorted(machine.glob("ledger-sql/*.sql"))
    assert [f.stem for f in files] == sorted(s.key for s in first.steps)

    other = load_tables(synthetic_tables(seed=6, crimes=40))  # another force's database
    ensure_calendar(other)
    warm = plan(_backend(other), code, LocalStandards(), day)
    assert warm.cached
    assert [s.template for s in warm.steps] == [s.template for s in first.steps]
    # ... kept in that database too, and its ledger is the one a fresh compile gives
    assert other.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchall() == [(len(files),)]
    evaluate(other, day)
    from_cache = _ledger(other)
    evaluate(other, day, use_cache=False)
    assert _ledger(other) == from_cache and from_cache


def test_the_machines_copy_is_only_a_cache(
    con: duckdb.DuckDBPyConnection, machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = load_code()
    day = date(2025, 6, 30)
    # turned off: nothing written, and a new database compiles
    monkeypatch.setenv("VCOP_CACHE_DIR", "")
    assert compiled.cache_dir() is None
    assert not plan(_backend(con), code, LocalStandards(), day).cached
    assert not machine.exists()
    # a folder that cannot be made (a file in its place) is no error: it compiles, as without
    blocked = machine.parent / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("VCOP_CACHE_DIR", str(blocked))
    fresh = load_tables(synthetic_tables(seed=6, crimes=40))
    ensure_calendar(fresh)
    assert not plan(_backend(fresh), code, LocalStandards(), day).cached
    assert evaluate(fresh, day).rows > 0
    # the default folder follows XDG_CACHE_HOME
    monkeypatch.delenv("VCOP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(machine.parent / "xdg"))
    assert compiled.cache_dir() == machine.parent / "xdg" / "vcop"
    # ... else the home folder's, and none when there is no home folder
    monkeypatch.delenv("XDG_CACHE_HOME")

    def homeless() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(homeless))
    assert compiled.cache_dir() is None
