"""Row history: versions a load replaced, rows a full extract retired, and undoing a batch.

**History tables.** Each canonical table ``t`` has a sibling ``t_history`` with the same columns
(``batch_id`` and ``row_hash`` as they were) and four more: ``replaced_by`` (the batch that
replaced or retired the row), ``replaced_at``, ``change`` (``updated``: a newer version took its
place; ``retired``: it left the table) and ``reason``. Every reader of the canonical tables —
rules, metrics, reports, the dashboard — reads only the current rows, so a retired row is out of
the ledger and every figure without any of them knowing history exists. Retention and erasure
(:mod:`vcop.retention`) remove a crime's or a victim's history with its current rows.

**Full extracts.** A table loaded in full mode (``mode: full`` in the profile's table mapping,
or ``vcop ingest --mode full``) is a snapshot: when its files in a load are done, the rows of the
table in the load's scope whose key appears in none of them are *retired*. The scope is the
load's agency (``--agency``) for a table with an ``agency`` column; for a plain extract, the
police and every agency the files name. A rejected row is not an absence: a row whose key
appears anywhere in the file, rejected or not, is kept. (A rejected row with no readable key —
a blank key, or a line the reader could not split — cannot protect anything; the load says so.)

Retiring a row retires what cannot stand without it: a row whose *required* reference (the
schema's ``references`` and :data:`vcop.ingest.load.LINKS`) named it is retired too (a crime's
victims, their contacts, referrals…, a partner's events about it), and a row whose *optional*
reference named it keeps its place with that link cleared (an incident or survey response of
the crime, a contact about a retired case event), as retention does. Refusing such a load
instead would make a full extract of crimes unloadable until every child table was cleaned by
hand; keeping the children would leave victims of a crime that is not there, counted in the
ledger. All of it is reported by table and kept in history under the table's batch.

If a table would lose more than ``--max-retire-share`` of its rows in scope (default 10%), the
load stops, nothing written, unless ``--confirm-retire`` is given (:class:`RetireRefused`).

**Undo** (``vcop batches --undo N``, :func:`undo_batch`): deletes the current rows batch N
inserted or changed, puts back from history the versions it replaced and the rows it retired
(or unlinked), and removes the batch and its rejects. A row is the batch's alone only while no
later batch has loaded the same table, or retired or unlinked rows of it, since: then undo is
refused, naming the later batches to undo first. It is also refused when it would leave a row
naming one that is not there (e.g. a victims batch loaded after the crimes batch being undone),
and for a batch that replaced rows before history was kept. One transaction; nothing changes
unless all of it does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import duckdb

from vcop.ingest.readers import ExtractError
from vcop.ingest.thresholds import DEFAULT_MAX_RETIRE_SHARE, past, share, shown
from vcop.ingest.validate import ident, lit
from vcop.spec.schema import Schema, Table
from vcop.store.db import SYSTEM_COLUMNS, table_names

if TYPE_CHECKING:
    from vcop.ingest.load import FileResult, Link, LoadResult
    from vcop.spec.profile import Profile

Mode = Literal["delta", "full"]
MODES: tuple[Mode, ...] = ("delta", "full")

#: A history table is named after its canonical table with this suffix.
HISTORY_SUFFIX = "_history"
#: What a history row records: the version a newer one replaced, or a row that left the table.
UPDATED, RETIRED = "updated", "retired"
#: The columns a history table adds to its canonical table's.
HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("replaced_by", "BIGINT NOT NULL"),
    ("replaced_at", "TIMESTAMP NOT NULL"),
    ("change", "VARCHAR NOT NULL"),
    ("reason", "VARCHAR"),
)


def history_table(name: str) -> str:
    return name + HISTORY_SUFFIX


def ensure_history(con: duckdb.DuckDBPyConnection, schema: Schema) -> None:
    """Create any missing history table (idempotent)."""
    for table in schema.tables:
        cols = [f"{ident(c.name)} {c.sql_type}" for c in table.columns]
        cols += [f"{n} {t}" for n, t in (*SYSTEM_COLUMNS, *HISTORY_COLUMNS)]
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {ident(history_table(table.name))} ({', '.join(cols)})"
        )


def _stored(table: Table) -> list[str]:
    """The columns a history row copies from its table (canonical and bookkeeping)."""
    return [ident(c.name) for c in table.columns] + [ident(n) for n, _ in SYSTEM_COLUMNS]


def keep_versions(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    where: str,
    batch_id: int,
    at: dt.datetime,
    change: str,
    reason: str | None = None,
) -> int:
    """Copy the rows of ``table`` (aliased ``t``) matching ``where`` into its history, as replaced
    or retired by ``batch_id``; how many."""
    cols = _stored(table)
    extra = [ident(n) for n, _ in HISTORY_COLUMNS]
    found = con.execute(
        f"INSERT INTO {ident(history_table(table.name))} ({', '.join(cols + extra)}) "
        f"SELECT {', '.join('t.' + c for c in cols)}, ?, ?, ?, ? "
        f"FROM {ident(table.name)} t WHERE {where}",
        [batch_id, at, change, reason],
    ).fetchall()
    return int(found[0][0]) if found else 0


# -- full extracts -------------------------------------------------------------------------------


class RetireRefused(ExtractError):
    """A full extract that would retire more of a table than ``--max-retire-share`` allows."""


@dataclass(frozen=True)
class RetirePolicy:
    """How a load treats absences: ``mode`` (``--mode``) overrides each table's profile mode."""

    mode: Mode | None = None
    max_share: float = DEFAULT_MAX_RETIRE_SHARE
    confirmed: bool = False

    def mode_of(self, profile: Profile, table: str) -> Mode:
        if self.mode is not None:
            return self.mode
        mode: Mode = profile.mapping(table).mode
        return mode


@dataclass
class FullTable:
    """A table being loaded in full mode: its files so far in this load."""

    table: str
    files: list[FileResult] = field(default_factory=list)
    #: Rejected rows of its files with no readable key (blank key, or a line that did not split).
    unkeyed: int = 0


def _key_sql(table: Table, *, alias: str = "", prefix: str = "") -> str:
    """A row's key as one text, in key order (all of vcop's keys are text); ``prefix`` names the
    staged text columns (``t_``)."""
    at = f"{alias}." if alias else ""
    return "concat_ws(chr(31), " + ", ".join(at + ident(prefix + k) for k in table.key) + ")"


def start_seen(con: duckdb.DuckDBPyConnection) -> None:
    """The load's record of the keys and agencies each full-mode table's files held."""
    con.execute("CREATE OR REPLACE TEMP TABLE _load_seen (table_name VARCHAR, key VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _load_seen_agencies (table_name VARCHAR, agency VARCHAR)"
    )


def remember_file(
    con: duckdb.DuckDBPyConnection, table: Table, pending: FullTable, broken_rows: int
) -> None:
    """Remember every key of the staged file (``_stage``), loaded or rejected."""
    present = " AND ".join(f"{ident('t_' + k)} IS NOT NULL" for k in table.key)
    con.execute(
        f"INSERT INTO _load_seen SELECT DISTINCT ?, {_key_sql(table, prefix='t_')} FROM _stage "
        f"WHERE {present}",
        [table.name],
    )
    if "agency" in table.column_names:
        con.execute(
            "INSERT INTO _load_seen_agencies SELECT DISTINCT ?, t_agency FROM _stage "
            "WHERE t_agency IS NOT NULL",
            [table.name],
        )
    missing = con.execute(f"SELECT count(*) FROM _stage WHERE NOT ({present})").fetchall()
    pending.unkeyed += int(missing[0][0]) + broken_rows


def retire_absent(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    pending: FullTable,
    policy: RetirePolicy,
    *,
    agency: str | None,
    at: dt.datetime,
    load: LoadResult,
) -> None:
    """Retire the rows of ``pending``'s table absent from its files, and what depends on them;
    the counts go on its last file. :class:`RetireRefused` past the threshold unless confirmed."""
    from vcop.ingest.load import AGENCY_COLUMN, DEFAULT_AGENCY

    table = schema.table(pending.table)
    last = pending.files[-1]
    assert last.batch_id is not None
    scope = "TRUE"
    if AGENCY_COLUMN in table.column_names:
        if agency is not None:
            scope = f"t.{ident(AGENCY_COLUMN)} = {lit(agency)}"
        else:
            scope = (
                f"(t.{ident(AGENCY_COLUMN)} = {lit(DEFAULT_AGENCY)} OR t.{ident(AGENCY_COLUMN)} IN "
                f"(SELECT agency FROM _load_seen_agencies WHERE table_name = {lit(table.name)}))"
            )
    absent = (
        f"{scope} AND {_key_sql(table, alias='t')} NOT IN "
        f"(SELECT key FROM _load_seen WHERE table_name = {lit(table.name)})"
    )
    target = ident(table.name)
    now = con.execute(f"SELECT count(*) FROM {target} t WHERE {scope}").fetchall()[0][0]
    before = int(now) - sum(f.rows_inserted for f in pending.files)
    gone = int(con.execute(f"SELECT count(*) FROM {target} t WHERE {absent}").fetchall()[0][0])
    last.retire_base = before
    if not gone:
        return
    files = ", ".join(f.label for f in pending.files)
    if past(gone, before, policy.max_share) and not policy.confirmed:
        raise RetireRefused(
            f"{files}: this full extract of {table.name} would retire {gone:,} of its {before:,} "
            f"rows ({shown(share(gone, before))}), more than --max-retire-share "
            f"{shown(policy.max_share)} allows; check that the extract is complete, or load it "
            "with --confirm-retire (or a higher --max-retire-share) if the rows really are gone"
        )
    keep_versions(
        con, table, absent, last.batch_id, at, RETIRED, f"absent from the full extract {files}"
    )
    con.execute(f"DELETE FROM {target} t WHERE {absent}")
    last.rows_retired = gone
    retired, cleared = _cascade(con, schema, table.name, last.batch_id, at)
    last.dependants_retired.update(retired)
    last.links_cleared.update(cleared)
    if pending.unkeyed:
        load.warnings.append(
            f"{files}: {pending.unkeyed:,} rejected row(s) have no readable key, so a row absent "
            f"from this full extract of {table.name} may be one of them; {gone:,} row(s) were "
            "retired (see `vcop rejects`; `vcop batches --undo` puts them back)"
        )


def links(schema: Schema) -> list[Link]:
    """Every reference between tables: the schema's and :data:`vcop.ingest.load.LINKS`."""
    from vcop.ingest.load import LINKS, Link

    found = [
        Link(t.name, ref.columns, ref.table, schema.table(ref.table).key, ref.columns[0], "")
        for t in schema.tables
        for ref in t.references
    ]
    return found + list(LINKS)


def _matches(link: Link, child: str, parent: str) -> str:
    return " AND ".join(
        f"{child}.{ident(c)} = {parent}.{ident(k)}"
        for c, k in zip(link.columns, link.target_columns, strict=True)
    )


def _cascade(
    con: duckdb.DuckDBPyConnection, schema: Schema, root: str, batch_id: int, at: dt.datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Retire the rows whose required reference named a row retired by ``batch_id``, and clear
    optional references to one; (retired, cleared) rows per table. Tables are visited in load
    order, so a table's parents are settled before it."""
    from vcop.ingest.load import _load_order, row_hash_sql

    order = _load_order(schema)
    by_table: dict[str, list[Link]] = {}
    for link in links(schema):
        by_table.setdefault(link.table, []).append(link)
    gone = {root}
    retired: dict[str, int] = {}
    cleared: dict[str, int] = {}
    for name in sorted(by_table, key=order.__getitem__):
        table = schema.table(name)
        hit = [link for link in by_table[name] if link.target in gone]
        # retire first: a row retired is not also versioned as unlinked
        hit.sort(key=lambda link: any(not table.column(c).required for c in link.columns))
        for link in hit:
            history = ident(history_table(link.target))
            named = (
                f"EXISTS (SELECT 1 FROM {history} h WHERE h.replaced_by = {batch_id} "
                f"AND h.change = '{RETIRED}' AND {_matches(link, 't', 'h')})"
            )
            optional = [c for c in link.columns if not table.column(c).required]
            what = f"{link.target} row ({', '.join(link.columns)})"
            if not optional:
                n = keep_versions(
                    con, table, named, batch_id, at, RETIRED, f"its {what} was retired"
                )
                if n:
                    con.execute(f"DELETE FROM {ident(name)} t WHERE {named}")
                    retired[name] = retired.get(name, 0) + n
                    gone.add(name)
                continue
            # a row is versioned once per batch: one cleared twice keeps its first version
            fresh = f"{named} AND t.batch_id IS DISTINCT FROM {batch_id}"
            n = keep_versions(
                con, table, fresh, batch_id, at, UPDATED,
                f"{', '.join(optional)} cleared: its {what} was retired",
            )  # fmt: skip
            sets = ", ".join(f"{ident(c)} = NULL" for c in optional)
            con.execute(f"UPDATE {ident(name)} t SET {sets}, batch_id = {batch_id} WHERE {named}")
            con.execute(
                f"UPDATE {ident(name)} SET row_hash = {row_hash_sql(table)} "
                f"WHERE batch_id = {batch_id}"
            )
            if n:
                cleared[name] = cleared.get(name, 0) + n
    return retired, cleared


# -- undo ----------------------------------------------------------------------------------------


class UndoError(Exception):
    """A batch that cannot be undone; the message says why and what to do instead."""


@dataclass
class Undone:
    """What undoing a batch did (or, in a dry run, would do), per table."""

    batch_id: int
    file: str
    table: str
    #: Current rows the batch inserted or changed, removed.
    removed: dict[str, int] = field(default_factory=dict)
    #: Versions it replaced and rows it retired, put back.
    restored: dict[str, int] = field(default_factory=dict)
    rejects: int = 0

    @property
    def total(self) -> int:
        return sum(self.removed.values()) + sum(self.restored.values())


def undo_batch(
    con: duckdb.DuckDBPyConnection, schema: Schema, batch_id: int, *, dry_run: bool = False
) -> Undone:
    """Undo batch ``batch_id`` in one transaction (rolled back when ``dry_run``); UndoError when
    it cannot be undone exactly."""
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_history(con, schema)
        done = _undo(con, schema, batch_id)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("ROLLBACK" if dry_run else "COMMIT")
    return done


def _undo(con: duckdb.DuckDBPyConnection, schema: Schema, batch_id: int) -> Undone:
    found = con.execute(
        "SELECT file, table_name, rows_updated, profile FROM batches WHERE batch_id = ?",
        [batch_id],
    ).fetchall()
    if not found:
        raise UndoError(f"there is no batch {batch_id}; list them with `vcop batches`")
    file, table_name, rows_updated, profile = found[0]
    done = Undone(batch_id, str(file), str(table_name))
    if profile == "police-uk":
        raise UndoError(
            f"batch {batch_id} is a data.police.uk import (`vcop import police-uk`), which also "
            "sets crimes' outcomes outside its batch; it cannot be undone exactly"
        )
    present = table_names(con)
    touched = {done.table}
    for table in schema.tables:
        h = history_table(table.name)
        if h in present and _count(
            con, f"SELECT count(*) FROM {ident(h)} WHERE replaced_by = ?", [batch_id]
        ):
            touched.add(table.name)
    _refuse_later(con, schema, batch_id, touched)
    kept = _count(
        con,
        f"SELECT count(*) FROM {ident(history_table(done.table))} "
        f"WHERE replaced_by = ? AND change = '{UPDATED}'",
        [batch_id],
    )
    if kept < int(rows_updated):
        raise UndoError(
            f"batch {batch_id} ({file}) replaced {int(rows_updated) - kept:,} row(s) of "
            f"{done.table} whose earlier versions are not kept (it was loaded before vcop kept "
            "them, or they were erased since), so undo cannot put them back; load the earlier "
            "extract again instead (`vcop ingest --force`)"
        )
    checked = [link for link in links(schema) if link.table in touched or link.target in touched]
    orphans = {id(link): _orphans(con, schema, link) for link in checked}
    for name in sorted(touched, key=schema.table_names.index):
        table = schema.table(name)
        cols = ", ".join(_stored(table))
        h = ident(history_table(name))
        done.removed[name] = _count(
            con, f"SELECT count(*) FROM {ident(name)} WHERE batch_id = ?", [batch_id]
        )
        con.execute(f"DELETE FROM {ident(name)} WHERE batch_id = ?", [batch_id])
        done.restored[name] = _count(
            con, f"SELECT count(*) FROM {h} WHERE replaced_by = ?", [batch_id]
        )
        con.execute(
            f"INSERT INTO {ident(name)} ({cols}) SELECT {cols} FROM {h} WHERE replaced_by = ?",
            [batch_id],
        )
        con.execute(f"DELETE FROM {h} WHERE replaced_by = ?", [batch_id])
    for link in checked:
        now = _orphans(con, schema, link)
        if now > orphans[id(link)]:
            batches = [
                str(r[0])
                for r in con.execute(
                    f"SELECT DISTINCT t.batch_id FROM {ident(link.table)} t "
                    f"WHERE {_dangling(schema, link)} ORDER BY 1"
                ).fetchall()
            ]
            raise UndoError(
                f"undoing batch {batch_id} would leave {now - orphans[id(link)]:,} row(s) of "
                f"{link.table} naming a row of {link.target} ({', '.join(link.columns)}) that is "
                f"not there; undo the batch(es) that loaded them first ({', '.join(batches)}), "
                "newest first"
            )
    done.rejects = _count(con, "SELECT count(*) FROM rejects WHERE batch_id = ?", [batch_id])
    con.execute("DELETE FROM rejects WHERE batch_id = ?", [batch_id])
    con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])
    return done


def _refuse_later(
    con: duckdb.DuckDBPyConnection, schema: Schema, batch_id: int, touched: set[str]
) -> None:
    """Refuse when a later batch loaded, retired or unlinked rows of a table this batch touched:
    what it did is no longer the batch's alone."""
    later: set[int] = set()
    marks = ", ".join("?" for _ in touched)
    later.update(
        int(r[0])
        for r in con.execute(
            f"SELECT batch_id FROM batches WHERE batch_id > ? AND table_name IN ({marks})",
            [batch_id, *sorted(touched)],
        ).fetchall()
    )
    present = table_names(con)
    for name in touched:
        h = history_table(name)
        if h in present:
            later.update(
                int(r[0])
                for r in con.execute(
                    f"SELECT DISTINCT replaced_by FROM {ident(h)} WHERE replaced_by > ?",
                    [batch_id],
                ).fetchall()
            )
        later.update(
            int(r[0])
            for r in con.execute(
                f"SELECT DISTINCT batch_id FROM {ident(name)} WHERE batch_id > ?", [batch_id]
            ).fetchall()
        )
    if later:
        shown_ = ", ".join(str(b) for b in sorted(later, reverse=True))
        raise UndoError(
            f"batch(es) {shown_} loaded after batch {batch_id} changed the same table(s) "
            f"({', '.join(sorted(touched))}), so what batch {batch_id} loaded is no longer its "
            "alone; undo those first, newest first"
        )


def _dangling(schema: Schema, link: Link) -> str:
    """SQL (on ``t``, a row of ``link.table``) for a reference naming no row of its target."""
    present = " AND ".join(f"t.{ident(c)} IS NOT NULL" for c in link.columns)
    return (
        f"{present} AND NOT EXISTS (SELECT 1 FROM {ident(link.target)} p "
        f"WHERE {_matches(link, 't', 'p')})"
    )


def _orphans(con: duckdb.DuckDBPyConnection, schema: Schema, link: Link) -> int:
    return _count(
        con, f"SELECT count(*) FROM {ident(link.table)} t WHERE {_dangling(schema, link)}"
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows else 0
