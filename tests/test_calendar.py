"""Working days exist twice — the plain-Python oracle and the SQL calendar table — and agree.

The convention is written down in vcop.store.calendar; these tests hold both versions to it.
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import date, datetime, time, timedelta

import duckdb
import holidays
import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcop.rules.blocks import Context, due_in_working_days
from vcop.rules.sources import Sources
from vcop.spec.code import LocalStandards, load_code
from vcop.store.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    add_working_days,
    bank_holiday,
    calendar_table,
    ensure_calendar,
    is_working_day,
    working_days_after,
)
from vcop.store.db import ensure_schema

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

#: Dates whose due date is still inside the calendar for n up to 30.
DATES = st.dates(min_value=CALENDAR_START, max_value=CALENDAR_END - timedelta(days=60))
DAYS = st.integers(min_value=1, max_value=30)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_calendar(con)
    return con


def sql_due(con: duckdb.DuckDBPyConnection, day: date, n: int) -> date:
    found = con.execute(
        """
        SELECT due.date
        FROM calendar AS trigger
        JOIN calendar AS due
          ON due.working_day_seq = trigger.working_day_seq + ? AND due.is_working_day
        WHERE trigger.date = ?
        """,
        [n, day],
    ).fetchall()
    assert len(found) == 1
    return found[0][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("trigger", "n", "due"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 3)),  # Friday -> Monday
        (date(2025, 2, 1), 1, date(2025, 2, 3)),  # Saturday -> Monday
        (date(2025, 2, 2), 1, date(2025, 2, 3)),  # Sunday -> Monday
        (date(2025, 1, 31), 5, date(2025, 2, 7)),  # Friday -> next Friday
        (date(2024, 12, 24), 1, date(2024, 12, 27)),  # Christmas Eve (25, 26 bank holidays)
        (date(2024, 12, 24), 5, date(2025, 1, 3)),  # ... and New Year's Day
        (date(2025, 12, 31), 1, date(2026, 1, 2)),  # New Year's Eve
        (date(2021, 12, 24), 1, date(2021, 12, 29)),  # Christmas on a Saturday: 27, 28 observed
        (date(2025, 4, 17), 1, date(2025, 4, 22)),  # Maundy Thursday over Easter
        (date(2025, 4, 17), 5, date(2025, 4, 28)),
        (date(2025, 5, 2), 1, date(2025, 5, 6)),  # Early May bank holiday
        (date(2025, 5, 23), 1, date(2025, 5, 27)),  # Spring bank holiday
        (date(2025, 8, 22), 1, date(2025, 8, 26)),  # Summer bank holiday
        (date(2022, 9, 16), 1, date(2022, 9, 20)),  # the Queen's state funeral, 19 September
        (date(2025, 3, 7), 2, date(2025, 3, 11)),  # Right 4: 2 working days
        (date(2025, 12, 1), 10, date(2025, 12, 15)),  # Right 11: 10 working days
    ],
)
def test_known_deadlines(con: duckdb.DuckDBPyConnection, trigger: date, n: int, due: date) -> None:
    assert add_working_days(trigger, n) == due
    assert sql_due(con, trigger, n) == due


def test_n_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(date(2025, 1, 1), 0)


@settings(max_examples=300, deadline=None)
@given(day=DATES, n=DAYS)
def test_oracle_and_sql_agree(con: duckdb.DuckDBPyConnection, day: date, n: int) -> None:
    assert sql_due(con, day, n) == add_working_days(day, n)


@settings(max_examples=300, deadline=None)
@given(day=DATES, n=DAYS)
def test_due_date_is_the_nth_working_day_after(day: date, n: int) -> None:
    due = add_working_days(day, n)
    assert is_working_day(due)
    assert working_days_after(day, due) == n
    assert working_days_after(day, due - timedelta(days=1)) == n - 1


def test_ledger_deadlines_agree_with_the_oracle() -> None:
    """The join the ledger uses (due_in_working_days), on 400 random triggers and times of day."""
    r = random.Random(2021)
    rows = []
    for i in range(400):
        day = CALENDAR_START + timedelta(
            days=r.randint(0, (CALENDAR_END - CALENDAR_START).days - 60)
        )
        at = datetime.combine(day, time(r.choice((0, 9, 17, 23)), r.choice((0, 59))))
        rows.append({"i": i, "trigger_at": at, "enhanced": r.random() < 0.5,
                     "_enh": r.randint(1, 10), "_std": r.randint(1, 30)})  # fmt: skip
    con = duckdb.connect()
    ensure_schema(con)
    ensure_calendar(con)
    backend = ibis.duckdb.from_connection(con)
    ctx = Context(
        src=Sources.from_backend(backend),
        as_of=date(2040, 1, 1),
        standards=LocalStandards(),
        edition=load_code().editions[0],
    )
    triggers = ibis.memtable(pa.Table.from_pylist(rows))
    got = due_in_working_days(triggers, ctx).select("i", "due_date").to_pyarrow().to_pylist()
    due = {g["i"]: g["due_date"] for g in got}
    assert len(due) == len(rows)
    for row in rows:
        n = row["_enh"] if row["enhanced"] else row["_std"]
        assert due[row["i"]] == add_working_days(row["trigger_at"].date(), n), row


def test_the_calendar_table() -> None:
    table = calendar_table().to_pylist()
    assert table[0]["date"] == CALENDAR_START and table[-1]["date"] == CALENDAR_END
    previous = None
    for row in table:
        assert row["is_working_day"] == is_working_day(row["date"])
        assert (row["bank_holiday"] is not None) == (bank_holiday(row["date"]) is not None)
        if previous is not None:
            assert row["date"] == previous["date"] + timedelta(days=1)
            assert row["day_number"] == previous["day_number"] + 1
            step = 1 if row["is_working_day"] else 0
            assert row["working_day_seq"] == previous["working_day_seq"] + step
        previous = row


def test_a_span_of_the_calendar_table() -> None:
    """Any span (here from a Friday): each day's number, working day, count and holiday name."""
    rows = calendar_table(date(2024, 12, 20), date(2025, 1, 6)).to_pylist()
    seq = 0
    for number, row in enumerate(rows):
        day = date(2024, 12, 20) + timedelta(days=number)
        seq += is_working_day(day)
        assert row == {
            "date": day, "day_number": number, "is_working_day": is_working_day(day),
            "working_day_seq": seq, "bank_holiday": bank_holiday(day),
        }  # fmt: skip
    assert rows[5]["bank_holiday"] == "Christmas Day" and rows[0]["working_day_seq"] == 1


def test_the_calendar_table_is_built_without_pandas() -> None:
    """pyarrow imports pandas to build an array from a Python list: a command that publishes a
    build (``vcop ingest``) would pay for that import for the calendar alone."""
    code = (
        "import sys; from vcop.store.calendar import calendar_table; calendar_table(); "
        "print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_ensure_calendar_is_idempotent_and_stamped() -> None:
    con = duckdb.connect()
    ensure_calendar(con)
    ensure_calendar(con)
    count, comment = con.execute(
        "SELECT (SELECT count(*) FROM calendar), comment FROM duckdb_tables() "
        "WHERE table_name = 'calendar'"
    ).fetchall()[0]
    assert count == (CALENDAR_END - CALENDAR_START).days + 1
    assert "holidays" in comment


def test_england_and_wales_share_bank_holidays() -> None:
    years = range(CALENDAR_START.year, CALENDAR_END.year + 1)
    england = holidays.country_holidays("GB", subdiv="ENG", years=years)
    wales = holidays.country_holidays("GB", subdiv="WLS", years=years)
    assert set(england) == set(wales)
