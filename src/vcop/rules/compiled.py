"""The ledger's SQL, compiled once per definitions stamp and kept in the force's database.

Building a ledger part's Ibis expression and compiling it to SQL costs more than running it on a
force's year, and the SQL changes only when what makes it changes: the Code definitions, the
local standards, the edition and kind, the canonical tables' columns and vcop's own code. So
``vcop evaluate`` keeps each part's SQL (and the victims-and-crimes base's) in the table
``ledger_sql_cache``, under a key hashed from exactly those, and a later evaluation runs it
without building anything. The table is only a cache: emptied, the next evaluation compiles
again.

The as-of date is not in the key. A part is compiled as of a sentinel date that no data can
have (:data:`SENTINEL`), and the two literals that date becomes — the as-of date itself and the
cut-off, the first instant after it — are replaced by tokens; running the SQL puts the real
date's literals back, printed exactly as Ibis prints them. So the SQL run from the cache is, to
the character, the SQL a fresh compile for that date gives (``tests/test_ledger_sql_cache.py``
checks it for several dates and standards). A compile whose SQL still shows the sentinel's year
anywhere (a rule that used the date some other way) is never kept: it is compiled afresh each
time, as of the real date.

The obligations' parameters (Ibis in-memory tables, which Ibis names at random) are written into
the SQL as common table expressions named from the key, so a kept query needs nothing else.

A part's SQL is also kept on the machine, one file per key in vcop's cache folder
(:func:`cache_dir`: ``$VCOP_CACHE_DIR``, else ``$XDG_CACHE_HOME/vcop`` or ``~/.cache/vcop``), as
Python keeps compiled modules: a new database (a second force, a rebuilt one, a test's) then
starts warm. The files hold the SQL only, made from the definitions (no record of anyone); the
key names everything that made them, so a file another vcop wrote is never read by mistake. The
folder is only a cache too: a file that cannot be read or written is compiled again, never an
error. ``VCOP_CACHE_DIR`` set empty turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from vcop.spec.code import Code, Edition, LocalStandards, Obligation
from vcop.store.calendar import CALENDAR_START

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends.duckdb import Backend as DuckDBBackend

CACHE_TABLE = "ledger_sql_cache"

#: The as-of date every cached part is compiled for: far past any data, and its year (and the
#: years either side) appears in no definition, so a leftover is easy to see.
SENTINEL = date(2187, 7, 13)

AS_OF_TOKEN = "{{vcop:as_of}}"  # nosec B105: a placeholder in SQL, not a password
CUTOFF_TOKEN = "{{vcop:cutoff}}"  # nosec B105: a placeholder in SQL, not a password

#: The step that materialises an edition's victims-and-crimes base (its ``kind``).
BASE = "_base"

_CACHE_COLUMNS = {
    "key": "VARCHAR PRIMARY KEY",
    "engine": "VARCHAR NOT NULL",
    "edition": "VARCHAR NOT NULL",
    "kind": "VARCHAR NOT NULL",
    "sql": "VARCHAR NOT NULL",
    "compiled_at": "TIMESTAMP NOT NULL",
}


def _ensure_cache(con: duckdb.DuckDBPyConnection, have: list[str] | None = None) -> None:
    """Create the cache table; one of another shape (an older vcop's) is only a cache, so it
    is dropped and made again. ``have``: its columns, if already read (:func:`_catalogue`)."""
    if have is None:
        have = [c for c, _ in _catalogue(con).get(CACHE_TABLE, [])]
    if have == list(_CACHE_COLUMNS):
        return
    con.execute(f"DROP TABLE IF EXISTS {CACHE_TABLE}")
    columns = ", ".join(f"{c} {t}" for c, t in _CACHE_COLUMNS.items())
    con.execute(f"CREATE TABLE {CACHE_TABLE} ({columns})")


#: The source files whose code decides the SQL (with vcop's, Ibis's and DuckDB's versions).
_ENGINE_SOURCES = ("rules/*.py", "spec/code.py", "store/calendar.py")


def base_table(edition: str) -> str:
    """The temporary table an edition's victims-and-crimes base is stored in."""
    return f"_vcop_base_{edition}"


@cache
def engine_version() -> str:
    """vcop's version and a hash of the code that compiles the ledger (so a change to the
    rules recompiles), with the Ibis and DuckDB versions. Ibis's is read from its package's
    metadata (the version it reports), not by importing it: a plan read from the cache needs no
    Ibis."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for pattern in _ENGINE_SOURCES:
        for path in sorted(root.glob(pattern)):
            digest.update(f"{path.relative_to(root)}\0".encode())
            digest.update(path.read_bytes())
    return (
        f"vcop {metadata.version('vcop')} rules {digest.hexdigest()[:16]} "
        f"ibis {metadata.version('ibis-framework')} duckdb {duckdb.__version__}"
    )


def _date_sql(day: date) -> str:
    return f"MAKE_DATE({day.year}, {day.month}, {day.day})"


def _cutoff_sql(day: date) -> str:
    after = day + timedelta(days=1)
    return f"MAKE_TIMESTAMP({after.year}, {after.month}, {after.day}, 0, 0, 0.0)"


def render(template: str, as_of: date) -> str:
    """A cached statement as of ``as_of``: its tokens replaced by the date's literals."""
    return template.replace(AS_OF_TOKEN, _date_sql(as_of)).replace(CUTOFF_TOKEN, _cutoff_sql(as_of))


@dataclass(frozen=True)
class Step:
    """One statement of an evaluation: an edition's base (``kind`` is :data:`BASE`) or the rows
    of one kind of obligation; its query, with the as-of tokens."""

    edition: str
    kind: str
    label: str
    key: str
    template: str

    def sql(self, as_of: date) -> str:
        """The query as of ``as_of``."""
        return render(self.template, as_of)


@dataclass(frozen=True)
class Plan:
    """What an evaluation runs: the steps in order, with their keys."""

    steps: tuple[Step, ...]
    cached: bool


def part_label(kind: str, obligations: tuple[Obligation, ...] | list[Obligation]) -> str:
    """How a ledger part reads in progress messages."""
    ids = ", ".join(o.id for o in obligations)
    return ids if len(obligations) <= 2 else f"{kind} ({len(obligations)} obligations)"


def by_kind(edition: Edition) -> dict[str, list[Obligation]]:
    """The edition's evaluated obligations by kind, the kinds in their first obligation's order
    (the order :func:`vcop.rules.ledger.ledger_parts` builds them in)."""
    kinds: dict[str, list[Obligation]] = {}
    for obligation in edition.obligations:
        if obligation.evaluate is not None:
            kinds.setdefault(obligation.evaluate.kind, []).append(obligation)
    return kinds


def _catalogue(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """The columns and types of the tables the rules read (a column can change the SQL) and of
    the cache, by table: one read of DuckDB's catalogue, a few milliseconds of every plan."""
    from vcop.rules.sources import TABLES
    from vcop.store.calendar import CALENDAR_TABLE

    names = [*TABLES, CALENDAR_TABLE, CACHE_TABLE]
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        f"AND table_name IN ({', '.join('?' * len(names))}) "
        "ORDER BY table_name, column_index",
        names,
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def _schema(tables: dict[str, list[tuple[str, str]]]) -> list[Any]:
    """The rules' tables' [table, column, type], in the catalogue's order, without the cache."""
    return [[t, c, d] for t in sorted(tables) if t != CACHE_TABLE for c, d in tables[t]]


def step_keys(
    con: duckdb.DuckDBPyConnection,
    code: Code,
    standards: LocalStandards,
    tables: dict[str, list[tuple[str, str]]] | None = None,
) -> list[tuple[str, str, str, str]]:
    """(edition, kind, label, key) of every step, in order: each edition's base, then its
    kinds. The key hashes all that decides the step's SQL, but not the as-of date."""
    common = {
        "engine": engine_version(),
        "schema": _schema(_catalogue(con) if tables is None else tables),
        "definitions_hash": code.definitions_hash(standards),
        "standards": standards.model_dump(mode="json"),
    }
    keys = []
    for edition in code.editions:
        text = edition.model_dump_json()
        kinds = [(k, part_label(k, obs)) for k, obs in by_kind(edition).items()]
        if len(kinds) > 1:  # one kind reads the base in its own query (see ledger_parts)
            kinds.insert(0, (BASE, f"victims and crimes ({edition.edition})"))
        for kind, label in kinds:
            ingredients = json.dumps({**common, "edition": text, "kind": kind}, sort_keys=True)
            key = hashlib.sha256(ingredients.encode()).hexdigest()[:32]
            keys.append((edition.edition, kind, label, key))
    return keys


# ---------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


def _table_query(op: Any) -> str:
    """A query giving the rows of an Ibis in-memory table, each value typed."""
    from ibis.backends.sql.datatypes import DuckDBType

    types = {c: DuckDBType.to_string(t) for c, t in op.schema.items()}
    rows = op.data.to_pyarrow(op.schema).to_pylist()

    def select(row: dict[str, Any]) -> str:
        return "SELECT " + ", ".join(
            f'CAST({_literal(row[c])} AS {t}) AS "{c}"' for c, t in types.items()
        )

    if not rows:
        return select(dict.fromkeys(types)) + " WHERE FALSE"
    return " UNION ALL ".join(select(row) for row in rows)


#: A name Ibis made up (``ibis_<what>_<26 random characters>``).
_RANDOM_NAME = re.compile(r"\b(ibis_[a-z_]+?)_([a-z0-9]{26})\b")


def _compiled(backend: DuckDBBackend, expr: ir.Table, key: str) -> str:
    """The SQL of ``expr`` with its in-memory tables (the obligations' parameters) written in
    as common table expressions named from ``key``, and the other names Ibis makes up at
    random numbered: one expression always gives the same text, and it needs nothing
    registered with the connection."""
    import ibis.expr.operations as ops

    sql = backend.compile(expr)
    tables = sorted(expr.op().find(ops.InMemoryTable), key=lambda op: sql.index(op.name))
    ctes = []
    for n, op in enumerate(tables):
        name = f"_vcop_p_{key[:16]}_{n}"
        sql = sql.replace(f'"{op.name}"', f'"{name}"')
        ctes.append(f'"{name}" AS ({_table_query(op)})')
    if ctes:
        # Ibis puts a query's own common table expressions first, after one WITH.
        head = ", ".join(ctes)
        sql = f"WITH {head}, {sql[5:]}" if sql.startswith("WITH ") else f"WITH {head} {sql}"
    # Ibis names some aliases at random too (an unnest's): number them in order of appearance.
    aliases: dict[str, str] = {}
    for found in _RANDOM_NAME.finditer(sql):
        aliases.setdefault(found.group(0), f"{found.group(1)}_{len(aliases)}")
    return _RANDOM_NAME.sub(lambda m: aliases[m.group(0)], sql)


def compile_steps(
    backend: DuckDBBackend, code: Code, standards: LocalStandards, as_of: date
) -> list[Step]:
    """Build and compile every step as of ``as_of`` (no cache). As of :data:`SENTINEL`, the
    date's literals are left as tokens for :func:`render`."""
    import ibis

    from vcop.rules.ledger import ledger_parts
    from vcop.rules.sources import Sources

    keys = {(e, k): (label, key) for e, k, label, key in step_keys(backend.con, code, standards)}
    src = Sources.from_backend(backend)
    steps: list[Step] = []

    def step(edition: str, kind: str, expr: ir.Table) -> Step:
        label, key = keys[(edition, kind)]
        sql = _compiled(backend, expr, key)
        if as_of == SENTINEL:
            sql = sql.replace(_date_sql(as_of), AS_OF_TOKEN).replace(
                _cutoff_sql(as_of), CUTOFF_TOKEN
            )
        return Step(edition, kind, label, key, sql)

    def materialize(expr: ir.Table, name: str) -> ir.Table:
        edition = name.removeprefix(base_table(""))
        steps.append(step(edition, BASE, expr))
        return ibis.table(expr.schema(), name=name)

    for part in ledger_parts(src, code, as_of, standards, materialize):
        steps.append(step(part.edition, part.kind, part.rows))
    return steps


def _leftover(steps: list[Step]) -> bool:
    """Whether the sentinel date shows in the SQL but in its tokens — a date literal within a
    year of it, or a day number (days since the calendar's start) within a year of its — so
    the SQL is not a function of the tokens alone, and is not kept."""
    years = [str(SENTINEL.year + d) for d in (-1, 0, 1)]
    marks = [f"{form}{y}" for y in years for form in ("MAKE_DATE(", "MAKE_TIMESTAMP(", "'")]
    day = (SENTINEL - CALENDAR_START).days
    for s in steps:
        if any(m in s.template for m in marks):
            return True
        numbers = re.findall(r"(?<![\w.])\d{5}(?![\w.])", s.template)
        if any(abs(int(n) - day) <= 366 for n in numbers):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------------


def cached_steps(
    con: duckdb.DuckDBPyConnection,
    keys: list[tuple[str, str, str, str]],
    tables: dict[str, list[tuple[str, str]]] | None = None,
) -> Iterator[Step]:
    """The kept steps for ``keys`` (only those found). ``tables``: the catalogue, if read."""
    _ensure_cache(con, None if tables is None else [c for c, _ in tables.get(CACHE_TABLE, [])])
    wanted = [k[3] for k in keys]
    found = {
        key: sql
        for key, sql in con.execute(
            f"SELECT key, sql FROM {CACHE_TABLE} WHERE key IN ({', '.join('?' * len(wanted))})",
            wanted,
        ).fetchall()
    }
    for edition, kind, label, key in keys:
        if key in found:
            yield Step(edition, kind, label, key, found[key])


def _keep(con: duckdb.DuckDBPyConnection, steps: list[Step]) -> None:
    """Store ``steps``, and drop what an older engine compiled."""
    engine = engine_version()
    con.execute(f"DELETE FROM {CACHE_TABLE} WHERE engine <> ?", [engine])
    now = datetime.now()
    con.executemany(
        f"INSERT OR REPLACE INTO {CACHE_TABLE} "
        "(key, engine, edition, kind, sql, compiled_at) VALUES (?, ?, ?, ?, ?, ?)",
        [[s.key, engine, s.edition, s.kind, s.template, now] for s in steps],
    )


def cache_dir() -> Path | None:
    """The folder vcop keeps compiled SQL in on this machine, or None when it is turned off
    (``VCOP_CACHE_DIR`` set empty)."""
    chosen = os.environ.get("VCOP_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    home = os.environ.get("XDG_CACHE_HOME")
    if not home:
        try:
            home = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder (a service account without one): no cache
            return None
    return Path(home) / "vcop"


def _machine_file(key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / "ledger-sql" / f"{key}.sql"


def machine_steps(keys: list[tuple[str, str, str, str]]) -> Iterator[Step]:
    """The steps for ``keys`` kept on this machine (only those found and readable)."""
    for edition, kind, label, key in keys:
        path = _machine_file(key)
        if path is None:
            return
        try:
            template = path.read_bytes().decode("utf-8")  # as written: the SQL has a \r
        except (OSError, UnicodeError):
            continue
        if template:
            yield Step(edition, kind, label, key, template)


def _keep_on_machine(steps: list[Step]) -> None:
    """Write each step's SQL to its file, whole or not at all (a temporary file renamed, so a
    reader, another process included, never sees half of one)."""
    for step in steps:
        path = _machine_file(step.key)
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(step.template.encode("utf-8"))
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return  # only a cache: the next database compiles again


def plan(
    db: DuckDBBackend | duckdb.DuckDBPyConnection,
    code: Code,
    standards: LocalStandards,
    as_of: date,
    *,
    use_cache: bool = True,
) -> Plan:
    """The steps of an evaluation: from the cache when every one is kept there (the database's,
    else the machine's, then kept in the database too); else compiled (as of the sentinel, and
    kept in both) and, if that cannot be kept, compiled as of ``as_of``.

    ``db`` is the database as an Ibis backend or a DuckDB connection; given a connection, Ibis
    is imported only to compile (a plan read from the cache needs none of it)."""
    con = db if isinstance(db, duckdb.DuckDBPyConnection) else db.con
    tables = _catalogue(con)
    keys = step_keys(con, code, standards, tables)
    if use_cache:
        found = {s.key: s for s in cached_steps(con, keys, tables)}
        missing = [k for k in keys if k[3] not in found]
        from_machine = list(machine_steps(missing))
        if from_machine:
            _keep(con, from_machine)
            found.update((s.key, s) for s in from_machine)
        if len(found) == len(keys):
            return Plan(tuple(found[k[3]] for k in keys), cached=True)
    if isinstance(db, duckdb.DuckDBPyConnection):
        import ibis

        backend = ibis.duckdb.from_connection(con)
    else:
        backend = db
    steps = compile_steps(backend, code, standards, SENTINEL)
    if _leftover(steps):
        return Plan(tuple(compile_steps(backend, code, standards, as_of)), cached=False)
    if use_cache:
        _keep(con, steps)
        _keep_on_machine(steps)
    return Plan(tuple(steps), cached=False)
