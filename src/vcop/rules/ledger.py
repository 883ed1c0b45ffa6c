"""The entitlement ledger: every obligation the Code owes every victim, with its status as of a date.

One row per victim, crime, obligation and trigger. The ledger is a pure function of the canonical
tables, the Code definitions, the as-of date and the local standards — "now" is always passed
in — built as Ibis expressions, so the same code runs on the DuckDB store and on PySpark.
:func:`evaluate` writes it to the ``entitlements`` table of a vcop database, replacing the
previous ledger in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import duckdb

from vcop.rules.compiled import BASE, Step, base_table, by_kind, part_label, plan
from vcop.spec.code import VICTIM_FLAGS, Code, LedgerStatus, LocalStandards, Obligation, load_code
from vcop.store.calendar import ensure_calendar
from vcop.store.db import one_thread_for_writing

if TYPE_CHECKING:
    # Ibis, and the rules built with it, are imported where the expressions are built: an
    # evaluation whose SQL is kept (vcop.rules.compiled) runs it without them, a quarter of a
    # second sooner.
    import ibis.expr.types as ir
    from ibis.backends.duckdb import Backend as DuckDBBackend

    from vcop.rules.sources import Sources

LEDGER_TABLE = "entitlements"

#: The statuses, in order (:data:`vcop.rules.status.STATUSES`, without importing Ibis).
STATUSES: tuple[LedgerStatus, ...] = tuple(LedgerStatus)


@dataclass(frozen=True)
class LedgerColumn:
    """One column of the ledger: its type (an Ibis type name) and what it holds (docs/rules.md)."""

    type: str
    description: str


_STATUS_WORDS = ", ".join(STATUSES[:-1]) + f" or {STATUSES[-1]}."

#: The ledger's columns, in order: the one declaration of its schema (the public interface:
#: add, never rename). ``LEDGER_SCHEMA`` and ``LEDGER_DESCRIPTIONS`` are views of it.
LEDGER_SPEC: dict[str, LedgerColumn] = {
    "victim_id": LedgerColumn(
        "string",
        "The victim (pseudonymous id).",
    ),
    "crime_id": LedgerColumn(
        "string",
        "The crime.",
    ),
    "obligation_id": LedgerColumn(
        "string",
        "The obligation, e.g. `R6.suspect-arrested` (see the tables below).",
    ),
    "right": LedgerColumn(
        "int64",
        "The Code right it belongs to (1-12); blank for a local standard.",
    ),
    "owner": LedgerColumn(
        "string",
        "Who owes it: police, cps, wcu (Witness Care Unit), ...",
    ),
    "title": LedgerColumn(
        "string",
        "The obligation's title.",
    ),
    "trigger_type": LedgerColumn(
        "string",
        "What started the clock: crime_reported, crime_recorded, a case event type, a "
        "partner's event type (`agency_events`), a record (interpretation_need, "
        "review_request, complaint, expense_claim), care_contract_interval or "
        "supervisory_review.",
    ),
    "trigger_event_id": LedgerColumn(
        "string",
        "The trigger: the case event id; the crime id for a report or "
        "recording; the review id; `<contract_id>#<n>` for the nth interval of a care contract; "
        "`<id>@<agency>` for a partner's event or record.",
    ),
    "trigger_at": LedgerColumn(
        "timestamp",
        "When the trigger happened (day 0 of the deadline).",
    ),
    "due_date": LedgerColumn(
        "date",
        "The last day on which meeting it is on time; blank if there is no due date.",
    ),
    "met_at": LedgerColumn(
        "timestamp",
        "When it was met (the first qualifying contact, referral, assessment, "
        "contract, review completion, partner event, or the record's completion); blank if not "
        "met.",
    ),
    "met_by_id": LedgerColumn(
        "string",
        "The contact, referral, assessment, contract or review that met it.",
    ),
    "status": LedgerColumn(
        "string",
        _STATUS_WORDS,
    ),
    "enhanced": LedgerColumn(
        "boolean",
        "Whether the victim has enhanced rights for this crime.",
    ),
    "enhanced_reason": LedgerColumn(
        "string",
        "The first enhanced-rights criterion that holds (see below).",
    ),
    "reason": LedgerColumn(
        "string",
        "Why the row has its status, in plain English.",
    ),
    "code_status": LedgerColumn(
        "string",
        "How sure the Code reference is: confirmed, partial, unconfirmed, or "
        "local (a local standard, not a Code duty).",
    ),
    "code_edition": LedgerColumn(
        "string",
        "The Code edition whose obligation this is.",
    ),
    "as_of": LedgerColumn(
        "date",
        "The date the ledger is as of.",
    ),
    "definitions_hash": LedgerColumn(
        "string",
        "A hash of the definition files and local standards that made the row.",
    ),
}

#: The ledger's columns and types, in order.
LEDGER_SCHEMA: dict[str, str] = {name: c.type for name, c in LEDGER_SPEC.items()}
LEDGER_COLUMNS = tuple(LEDGER_SCHEMA)

#: What each ledger column holds (docs/rules.md).
LEDGER_DESCRIPTIONS: dict[str, str] = {name: c.description for name, c in LEDGER_SPEC.items()}

#: The ledger's key: at most one row for each.
LEDGER_KEY = ("victim_id", "crime_id", "obligation_id", "trigger_event_id")

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "boolean": "BOOLEAN",
}

__all__ = [
    "LEDGER_COLUMNS",
    "LEDGER_KEY",
    "LEDGER_SCHEMA",
    "LEDGER_SPEC",
    "LEDGER_TABLE",
    "STATUSES",
    "LedgerRun",
    "Materialize",
    "build_ledger",
    "evaluate",
    "insert_rows",
    "last_run",
    "ledger_parts",
]


Materialize = Callable[["ir.Table", str], "ir.Table"]

#: The columns of the victims-and-crimes base the kinds read: the keys, the crime's dates, the
#: opt-out, the offence (``qualifying_offences``), enhanced rights and the victims' flags
#: (``victim_flag``). Carrying no others keeps every expression built on it smaller.
BASE_COLUMNS = (
    "victim_id",
    "crime_id",
    "reported_at",
    "recorded_at",
    "finalised_at",
    "opted_out",
    "_offence",
    "enhanced",
    "enhanced_reason",
    *VICTIM_FLAGS,
)


@dataclass(frozen=True)
class LedgerPart:
    """The ledger rows of the obligations of one kind in one edition, as one expression."""

    edition: str
    kind: str
    obligations: tuple[Obligation, ...]
    rows: ir.Table

    @property
    def label(self) -> str:
        return part_label(self.kind, self.obligations)


def _by_obligation(
    rows: ir.Table, obligations: list[Obligation], field: str, dtype: str
) -> ir.Value:
    """Each row's obligation's ``field`` (looked up by its obligation id)."""
    import ibis

    mapping = {o.id: getattr(o, field) for o in obligations}
    return rows.obligation_id.substitute(mapping, else_=ibis.null(dtype))


def ledger_parts(
    src: Sources,
    code: Code,
    as_of: date,
    standards: LocalStandards,
    materialize: Materialize | None = None,
) -> Iterator[LedgerPart]:
    """The ledger as one expression per edition and kind of obligation.

    ``materialize(expr, name)``, if given, stores the victims-and-crimes base that every
    obligation starts from and returns a table reading it (it keeps the expressions small); an
    edition with one kind of obligation reads the base in its one query instead.
    """
    import ibis

    from vcop.rules.blocks import Context
    from vcop.rules.eligibility import victim_crimes
    from vcop.rules.obligations import evaluator
    from vcop.rules.status import reason, status

    stamp = code.definitions_hash(standards)
    for edition in code.editions:
        base = victim_crimes(src, edition, as_of).select(*BASE_COLUMNS)
        kinds = by_kind(edition)
        if materialize is not None and len(kinds) > 1:
            base = materialize(base, base_table(edition.edition))
        ctx = Context(src=src, as_of=as_of, standards=standards, edition=edition)
        for kind, obligations in kinds.items():
            rows = evaluator(kind)(base, ctx, obligations)
            # The status once, as a column: the reason reads it (not a copy of its expression).
            rows = rows.mutate(status=status(rows, as_of))

            values: dict[str, ir.Value] = {
                "reason": reason(rows, kind, rows.status),
                "right": _by_obligation(rows, obligations, "right", "int64"),
                "owner": _by_obligation(rows, obligations, "owner", "string"),
                "title": _by_obligation(rows, obligations, "title", "string"),
                "code_status": _by_obligation(rows, obligations, "status", "string"),
                "code_edition": ibis.literal(edition.edition),
                "as_of": ibis.literal(as_of, type="date"),
                "definitions_hash": ibis.literal(stamp),
            }
            yield LedgerPart(
                edition=edition.edition,
                kind=kind,
                obligations=tuple(obligations),
                rows=rows.select(
                    **{
                        name: (values[name] if name in values else rows[name]).cast(dtype)
                        for name, dtype in LEDGER_SCHEMA.items()
                    }
                ),
            )


def build_ledger(
    src: Sources,
    as_of: date,
    *,
    code: Code | None = None,
    standards: LocalStandards | None = None,
    materialize: Materialize | None = None,
) -> ir.Table:
    """The whole ledger as one expression (all obligations, unioned)."""
    import ibis

    code = code or load_code()
    standards = standards or LocalStandards()
    parts = [p.rows for p in ledger_parts(src, code, as_of, standards, materialize)]
    return ibis.union(*parts, distinct=False)


@dataclass(frozen=True)
class LedgerRun:
    """One evaluation of the ledger, as recorded in ``ledger_runs``."""

    as_of: date
    definitions_hash: str
    standards: LocalStandards
    rows: int
    by_status: dict[str, int]


Progress = Callable[[str, int, int], None]

RUNS_TABLE = "ledger_runs"

_RUNS_DDL = f"""
CREATE SEQUENCE IF NOT EXISTS ledger_run_seq START 1;
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    run_id BIGINT NOT NULL DEFAULT nextval('ledger_run_seq'),
    evaluated_at TIMESTAMP NOT NULL,
    as_of DATE NOT NULL,
    definitions_hash VARCHAR NOT NULL,
    code_editions VARCHAR NOT NULL,
    standards VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    {", ".join(f"{s} BIGINT NOT NULL" for s in STATUSES)}
)
"""


def insert_rows(backend: DuckDBBackend, name: str, rows: ir.Table) -> None:
    """Append the rows of ``rows`` to the table ``name`` of a DuckDB backend, as one
    ``INSERT ... SELECT``.

    The expression is compiled to SQL once and run as it is (``backend.insert`` compiles it,
    parses that SQL back and prints it again: for a ledger part, more time than the query
    takes on a force's year). Its in-memory tables (the obligations' parameters) are
    registered with the connection first.
    """
    backend._run_pre_execute_hooks(rows)
    sql = backend.compile(rows)
    cols = ", ".join(f'"{c}"' for c in rows.columns)
    backend.con.execute(f'INSERT INTO "{name}" ({cols}) {sql}')


def run_step(con: duckdb.DuckDBPyConnection, step: Step, as_of: date, staging: str) -> None:
    """Run one step of an evaluation as of ``as_of``: store an edition's base as a temporary
    table, or append a part's rows to the table ``staging``."""
    sql = step.sql(as_of)
    if step.kind == BASE:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{base_table(step.edition)}" AS {sql}')
    else:
        cols = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
        con.execute(f'INSERT INTO "{staging}" ({cols}) {sql}')


def _ddl(name: str) -> str:
    cols = ", ".join(f'"{c}" {_DUCKDB_TYPES[t]}' for c, t in LEDGER_SCHEMA.items())
    return f'CREATE TABLE "{name}" ({cols})'


def evaluate(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    *,
    code: Code | None = None,
    standards: LocalStandards | None = None,
    progress: Progress | None = None,
    evaluated_at: datetime | None = None,
    use_cache: bool = True,
) -> LedgerRun:
    """Build the ledger as of ``as_of`` and replace the ``entitlements`` table with it.

    Either the whole new ledger is written, or (on any error) the old one stays as it was. The
    run is recorded in ``ledger_runs`` (with ``evaluated_at``, by default the clock's time: it
    is a record of when, and changes nothing in the ledger). ``progress(description, done,
    total)`` hears of each step.

    Each part's SQL is compiled once for the definitions, the standards and vcop's code, and
    kept in the database (:mod:`vcop.rules.compiled`); ``use_cache=False`` builds and compiles
    every part afresh and keeps nothing.
    """
    code = code or load_code()
    standards = standards or LocalStandards()
    parts_of_code = sum(
        len({o.evaluate.kind for o in e.obligations if o.evaluate is not None})
        for e in code.editions
    )
    total = parts_of_code + 2
    if progress:
        progress("preparing the calendar and victims", 0, total)
    ensure_calendar(con)
    con.execute(_RUNS_DDL)

    staging = "_entitlements_new"
    threads = one_thread_for_writing(con)
    con.execute("BEGIN TRANSACTION")
    try:
        steps = plan(con, code, standards, as_of, use_cache=use_cache).steps
        con.execute(f'DROP TABLE IF EXISTS "{staging}"')
        con.execute(_ddl(staging))
        done = 1
        for step in steps:
            if step.kind != BASE and progress:
                progress(step.label, done, total)
            run_step(con, step, as_of, staging)
            done += step.kind != BASE
        if progress:
            progress("writing the ledger", done, total)
        con.execute(f'DROP TABLE IF EXISTS "{LEDGER_TABLE}"')
        con.execute(f'ALTER TABLE "{staging}" RENAME TO "{LEDGER_TABLE}"')
        counts = con.execute(
            f'SELECT status, count(*) FROM "{LEDGER_TABLE}" GROUP BY status'
        ).fetchall()
        by_status: dict[str, int] = {s.value: 0 for s in STATUSES}
        by_status.update({str(s): int(n) for s, n in counts})
        run = LedgerRun(
            as_of=as_of,
            definitions_hash=code.definitions_hash(standards),
            standards=standards,
            rows=sum(by_status.values()),
            by_status=by_status,
        )
        con.execute(
            f"INSERT INTO {RUNS_TABLE} (evaluated_at, as_of, definitions_hash, code_editions, "
            f"standards, rows, {', '.join(STATUSES)}) "
            f"VALUES ({', '.join('?' * (6 + len(STATUSES)))})",
            [
                evaluated_at or datetime.now(),
                as_of,
                run.definitions_hash,
                ",".join(e.edition for e in code.editions),
                standards.model_dump_json(),
                run.rows,
                *(by_status[s] for s in STATUSES),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        if threads is not None:
            con.execute(f"SET threads = {threads}")
    if progress:
        progress("done", total, total)
    return run


def last_run(con: duckdb.DuckDBPyConnection) -> LedgerRun | None:
    """The evaluation that wrote the ``entitlements`` table now in the database, if any."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN (?, ?) AND schema_name = 'main'",
        [RUNS_TABLE, LEDGER_TABLE],
    ).fetchall()
    if exists[0][0] < 2:
        return None
    found = con.execute(
        f"SELECT as_of, definitions_hash, standards, rows, {', '.join(STATUSES)} "
        f"FROM {RUNS_TABLE} ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    if not found:
        return None
    as_of, stamp, standards, rows, *counts = found[0]
    return LedgerRun(
        as_of=as_of,
        definitions_hash=stamp,
        standards=LocalStandards.model_validate_json(standards),
        rows=rows,
        by_status=dict(zip((s.value for s in STATUSES), counts, strict=True)),
    )
