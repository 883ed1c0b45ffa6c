"""Working days on the England and Wales bank-holiday calendar, and the ``calendar`` table.

The convention — written down here once, and used by every deadline in vcop
--------------------------------------------------------------------------------

* A **working day** is a Monday to Friday that is not a bank holiday in England and Wales (the
  ``holidays`` package, ``GB`` subdivision ``ENG``; Wales has the same bank holidays, and
  substitute "(observed)" days and one-off days such as a state funeral count as bank holidays).
* The **trigger's date is day 0**, whatever its time of day and whether or not it is a working day.
  A timestamp's date is taken as recorded (local time, as the force's systems hold it).
* **"Within N working days"** (N >= 1) is due at the **end of the Nth working day after the
  trigger's date**. So an arrest on a Friday with 1 working day is due on Monday; a trigger on a
  Saturday or Sunday with 1 working day is due on Monday; a trigger on 24 December 2024 with
  1 working day is due on Friday 27 December (25 and 26 December are bank holidays).
* Something done **on** the due date (at any time that day) is on time; something done on a later
  date is late. A due date is **past** only once the as-of date is after it.
* **Calendar days** (a care contract's update interval) count every day: due at the end of the
  trigger's date plus N days.

The rule exists twice, on purpose:

* :func:`add_working_days` is the plain-Python oracle (a loop over days); it is the reference.
* The ``calendar(date, day_number, is_working_day, working_day_seq)`` table is what SQL uses.
  ``working_day_seq`` counts working days from the start of the table up to and including the
  date, so a non-working day carries the number of the working day before it. The due date of
  "N working days after D" is then the working day whose ``working_day_seq`` equals D's plus N: a
  join, which scales in SQL. ``day_number`` counts calendar days from the table's first date.

Property tests (``tests/test_calendar.py``) prove the two agree on random dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

#: The span the ``calendar`` table covers; deadlines outside it have no due date.
CALENDAR_START = date(2000, 1, 1)
CALENDAR_END = date(2040, 12, 31)

CALENDAR_TABLE = "calendar"


@cache
def calendar_schema() -> pa.Schema:
    """The ``calendar`` table's Arrow schema. Arrow (and the holidays package) are imported only
    when the table is built: a command that finds it current, such as a ``vcop evaluate`` whose
    ledger SQL is kept, starts a tenth of a second sooner without them."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("date", pa.date32(), nullable=False),
            pa.field("day_number", pa.int64(), nullable=False),
            pa.field("is_working_day", pa.bool_(), nullable=False),
            pa.field("working_day_seq", pa.int64(), nullable=False),
            pa.field("bank_holiday", pa.string()),
        ]
    )


@cache
def _bank_holidays(first_year: int, last_year: int) -> dict[date, str]:
    import holidays

    years = range(first_year, last_year + 1)
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=years).items())


def bank_holiday(day: date) -> str | None:
    """The name of the England and Wales bank holiday on ``day``, or None."""
    if CALENDAR_START.year <= day.year <= CALENDAR_END.year:
        return _bank_holidays(CALENDAR_START.year, CALENDAR_END.year).get(day)
    return _bank_holidays(day.year, day.year).get(day)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England and Wales bank holiday."""
    return day.weekday() < 5 and bank_holiday(day) is None


def add_working_days(day: date, n: int) -> date:
    """The due date of "within ``n`` working days" of something that happened on ``day``.

    The oracle: day 0 is ``day`` itself; walk forward one calendar day at a time and stop on the
    ``n``-th working day. ``n`` must be at least 1.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    current = day
    counted = 0
    while counted < n:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def working_days_after(start: date, end: date) -> int:
    """How many working days fall after ``start`` up to and including ``end`` (0 if end <= start)."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def _days(start: date, end: date) -> Iterable[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


@cache
def calendar_table(start: date = CALENDAR_START, end: date = CALENDAR_END) -> pa.Table:
    """The calendar rows from ``start`` to ``end`` inclusive, as an Arrow table.

    The columns are built from NumPy buffers, not Python lists: ``pa.array`` of a list imports
    pandas, which ``vcop ingest`` otherwise never does (0.1 to 0.25 s of each load)."""
    import numpy as np
    import pyarrow as pa

    count = (end - start).days + 1
    names = [bank_holiday(day) for day in _days(start, end)]
    weekday = (np.arange(count) + start.weekday()) % 7
    working = (weekday < 5) & np.array([name is None for name in names], dtype=bool)
    texts = [(name or "").encode() for name in names]
    ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
    offsets = np.concatenate([np.zeros(1, np.int32), ends.astype(np.int32)])
    holiday = np.array([name is not None for name in names], dtype=bool)

    def bits(values: np.ndarray) -> pa.Buffer:
        return pa.py_buffer(np.packbits(values, bitorder="little"))

    first = (start - date(1970, 1, 1)).days
    return pa.Table.from_arrays(
        [
            pa.Array.from_buffers(
                pa.date32(),
                count,
                [None, pa.py_buffer(np.arange(first, first + count, dtype=np.int32))],
            ),
            pa.Array.from_buffers(
                pa.int64(), count, [None, pa.py_buffer(np.arange(count, dtype=np.int64))]
            ),
            pa.Array.from_buffers(pa.bool_(), count, [None, bits(working)]),
            pa.Array.from_buffers(
                pa.int64(), count, [None, pa.py_buffer(np.cumsum(working, dtype=np.int64))]
            ),
            pa.Array.from_buffers(
                pa.string(),
                count,
                [bits(holiday), pa.py_buffer(offsets), pa.py_buffer(b"".join(texts))],
            ),
        ],
        schema=calendar_schema(),
    )


def _signature() -> str:
    """What the calendar table was built from: its span and the holidays package version."""
    return f"{CALENDAR_START}..{CALENDAR_END} holidays {metadata.version('holidays')}"


def ensure_calendar(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``calendar`` table in a vcop database, or rebuild it if it is out of date."""
    found = con.execute(
        # this database's own table: an attached database's calendar is not one to use here
        "SELECT comment FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()",
        [CALENDAR_TABLE],
    ).fetchall()
    if found and found[0][0] == _signature():
        return
    con.register("_vcop_calendar_rows", calendar_table())
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {CALENDAR_TABLE} AS SELECT * FROM _vcop_calendar_rows"
        )
        con.execute(f"COMMENT ON TABLE {CALENDAR_TABLE} IS '{_signature()}'")
    finally:
        con.unregister("_vcop_calendar_rows")
