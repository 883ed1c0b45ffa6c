"""Load an extract into the store: one load is one transaction.

For each file, in the order tables reference each other (crimes before victims before
contacts…):

1. read every value as text (:mod:`vcop.ingest.readers`); apply the profile's ``transforms`` and
   drop the rows its ``where`` does not select (counted as filtered out, never as rejects);
2. map headers and value codes through the profile and parse each value into its canonical type;
   every bad value — or a date in the future, or an outcome before its crime was reported — is a
   reject with file, row, column, value and a reason (:mod:`vcop.ingest.validate`); a value is
   never rounded, converted or blanked — except an unknown code in a column the profile marks
   ``unmapped: blank``, which blanks that field and is counted per value;
3. rows sharing a key: identical ones load once; differing ones are a conflict and all of them
   are rejected, each naming the others;
4. references are checked against the database, which by then holds this load's earlier files,
   and so is the order of events on a crime (none before the crime was reported);
5. good rows are merged by key: new rows inserted, changed rows replaced, unchanged rows left
   alone (so loading the same extract again changes nothing); a replaced version is kept in
   history, and a full extract retires the rows it no longer holds (:mod:`vcop.ingest.history`);
6. the file's batch (file, sha256, counts) and its rejects are recorded.

Everything happens inside one DuckDB transaction: an error, a crash or Ctrl-C leaves the database
exactly as it was. A file whose exact bytes were already loaded with the same profile content for
its table (:meth:`vcop.spec.profile.Profile.content_hash`) is skipped unless ``force`` is given;
an edited profile loads it again.

**Partner extracts.** A load may be one body's own extract (``agency``, one of the Code's owner
ids, the schema's value list ``agencies``). A partner (any body but the police) may supply only
the tables that record the body in an ``agency`` column allowing it (:func:`supplied_tables`);
any other table in its extract refuses the whole load. A table's ``agency``, where the file has
no such column (or, in a body's own extract, leaves it blank), is the load's body; a row naming
another body is a reject. Partner records link to the police's crimes and victims through the
schema's ``references``, and ``agency_contacts.about_event_id`` to an ``agency_events`` event of
the same body (:data:`LINKS`): a record that links to nothing is a reject. Without ``agency``
(a plain extract: the police's, or a combined one such as the demo's) every table may be
present, rows keep their own ``agency``, and a file with no ``agency`` column is the police's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from vcop.ingest.history import (
    UPDATED,
    FullTable,
    RetirePolicy,
    ensure_history,
    keep_versions,
    remember_file,
    retire_absent,
    start_seen,
)
from vcop.ingest.readers import (
    ExtractError,
    RawTable,
    SourceFile,
    StoredRaw,
    discover_sources,
    may_be_padded,
    read,
    read_into,
    sha256_of,
)
from vcop.ingest.validate import (
    ORDER_RULES,
    checks,
    detail_text,
    ident,
    lit,
    mapped_text,
    parsed,
    row_checks,
    transformed,
    unknown_condition,
    where_condition,
)
from vcop.spec.agencies import agencies
from vcop.spec.profile import Profile, TableMapping
from vcop.spec.schema import Schema, Table, load_schema
from vcop.store import ensure_schema
from vcop.store.db import one_thread_for_writing

#: The body a load's records belong to when nothing says otherwise: the police.
DEFAULT_AGENCY = "police"
#: The column that names the body that recorded a row, in the tables partners supply.
AGENCY_COLUMN = "agency"


#: The Code's owner ids (the schema's value list ``agencies``), the police first: the bodies whose
#: extracts load (``vcop ingest --agency``, one folder each under ``vcop refresh --from``).
AGENCIES: tuple[str, ...] = (
    DEFAULT_AGENCY,
    *(a for a in agencies() if a != DEFAULT_AGENCY),
)


@dataclass(frozen=True)
class Link:
    """A reference the schema's ``references`` cannot express: ``columns`` of ``table`` must
    name a row of ``target`` by its ``target_columns`` (its key); a miss is a reject on ``field``."""

    table: str
    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    field: str
    what: str


#: References checked beside the schema's: a partner's contact about one of its events names an
#: event of the same body (agency_events is keyed by agency and event_id).
LINKS = (
    Link(
        "agency_contacts", ("agency", "about_event_id"), "agency_events", ("agency", "event_id"),
        "about_event_id", "an event of the same agency in agency_events",
    ),
)  # fmt: skip


def supplied_tables(agency: str, schema: Schema | None = None) -> tuple[str, ...]:
    """The canonical tables ``agency``'s own extract may hold: every table for the police; for a
    partner, the tables with an ``agency`` column whose allowed values include it."""
    schema = schema or load_schema()
    if agency == DEFAULT_AGENCY:
        return schema.table_names
    return tuple(
        t.name
        for t in schema.tables
        if AGENCY_COLUMN in t.column_names
        and agency in (t.column(AGENCY_COLUMN).allowed or (agency,))
    )


def check_agency(agency: str | None) -> None:
    """Raise :class:`ExtractError` unless ``agency`` is None or one of :data:`AGENCIES`."""
    if agency is not None and agency not in AGENCIES:
        raise ExtractError(f"unknown agency {agency!r}; use one of {', '.join(AGENCIES)}")


def _refuse_tables(sources: list[SourceFile], agency: str, schema: Schema) -> None:
    """Refuse, before anything loads, a body's extract holding tables the body cannot supply."""
    allowed = supplied_tables(agency, schema)
    refused, police = [], False
    for source in sources:
        if source.table in allowed:
            continue
        table = schema.table(source.table)
        if AGENCY_COLUMN in table.column_names:
            bodies = ", ".join(table.column(AGENCY_COLUMN).allowed or ())
            refused.append(f"{source.label}: {source.table} holds only the records of {bodies}")
        else:
            refused.append(f"{source.label}: {source.table} is a police-only table")
            police = True
    if refused:
        raise ExtractError(
            f"a {agency} extract (--agency {agency}) may hold only the tables {agency} supplies "
            f"({', '.join(allowed) or 'none'}); refused: "
            + "; ".join(refused)
            + (". Load police tables from the police's own extract." if police else ".")
        )


def _load_order(schema: Schema) -> dict[str, int]:
    """Table -> position: every table after those it references (the schema's and :data:`LINKS`)."""
    order = list(schema.load_order())
    for link in LINKS:
        if order.index(link.target) > order.index(link.table):
            order.remove(link.target)
            order.insert(order.index(link.table), link.target)
    return {name: i for i, name in enumerate(order)}


#: Header words that suggest personal details vcop must never hold.
PERSONAL_HEADER_WORDS = (
    "name", "address", "postcode", "phone", "mobile", "email", "telephone", "dob", "birth",
)  # fmt: skip


@dataclass
class FileResult:
    label: str
    table: str
    batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    skipped: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    #: Values of free-text columns from which personal details were scrubbed.
    scrubbed: int = 0
    #: ``delta`` (add and update) or ``full`` (a snapshot: rows absent from it are retired).
    mode: str = "delta"
    #: Full mode: rows of the table retired as absent (counted on the table's last file in the
    #: load), the rows in scope before the load, and rows of other tables retired with them or
    #: whose link to them was cleared (:mod:`vcop.ingest.history`).
    rows_retired: int = 0
    retire_base: int = 0
    dependants_retired: dict[str, int] = field(default_factory=dict)
    links_cleared: dict[str, int] = field(default_factory=dict)
    #: Rows the profile's ``where`` did not select: not loaded, not rejects, not in ``rows_read``.
    rows_filtered: int = 0
    #: (canonical column, source value as written) -> rows whose unknown code was blanked
    #: (``unmapped: blank``); the rows loaded without it.
    blanked: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def personal_columns(self) -> list[str]:
        """Ignored headers that look like personal details (never loaded; worth telling the user)."""
        return [
            h for h in self.ignored_columns if any(w in h.lower() for w in PERSONAL_HEADER_WORDS)
        ]


@dataclass
class LoadResult:
    load_id: int
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # files skipped, and why
    #: Older files a profile's pattern matched, replaced by the latest (expected, not a warning).
    superseded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # loaded, but worth telling the user
    #: The body whose own extract this was (``--agency``); None for a plain extract.
    agency: str | None = None

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


#: Called as progress(description, bytes_done, bytes_total) as the load works through its files.
Progress = Callable[[str, int, int], None]


def load_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    profile: Profile,
    *,
    force: bool = False,
    progress: Progress | None = None,
    after_file: Callable[[FileResult], None] | None = None,
    agency: str | None = None,
    retire: RetirePolicy | None = None,
) -> LoadResult:
    """Load files and folders in one transaction and return what happened to each file.

    ``agency`` makes it that body's own extract (see the module's notes on partner extracts);
    None is a plain extract. ``after_file`` is called after each file is staged (tests use it to
    interrupt a load). ``retire`` says which tables are full extracts and how much of one may be
    retired (:mod:`vcop.ingest.history`)."""
    check_agency(agency)
    schema = load_schema()
    discovery = discover_sources([Path(p) for p in paths], profile)
    sources, skipped = discovery.found, discovery.skipped
    if not sources:
        raise ExtractError(
            "no files of the vcop standard extract were found "
            f"(profile '{profile.name}' expects files named after tables, e.g. crimes.csv)"
            + ("; " + "; ".join(skipped) if skipped else "")
        )
    if agency is not None:
        _refuse_tables(sources, agency, schema)
    order = _load_order(schema)
    sources.sort(key=lambda s: (order[s.table], str(s.path), s.sheet or ""))
    sizes = [s.path.stat().st_size for s in sources]
    digests: dict[int, str] = {}

    def digest_of(i: int) -> str:
        if i not in digests:
            source = sources[i]
            digest = sha256_of(source.path) + (f":{source.sheet}" if source.sheet else "")
            if agency is not None and AGENCY_COLUMN in schema.table(source.table).column_names:
                digest += f":agency={agency}"  # the same bytes as another body's are another load
            digests[i] = digest
        return digests[i]

    with (
        Load(con, profile, agency=agency, retire=retire, largest_file=max(sizes)) as load,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcop-read") as reader,
    ):
        load.result.notes.extend(skipped)
        load.result.superseded.extend(discovery.superseded)
        done, total = 0, sum(sizes)
        ahead: dict[int, Future[RawTable]] = {}  # the next file, read while this one loads
        for i, (source, size) in enumerate(zip(sources, sizes, strict=True)):
            if progress:
                progress(f"{source.table}: {source.label}", done, total)
            digest = digest_of(i)
            previous = None if force else load.already_loaded(digest, source.table)
            read_ahead = ahead.pop(i, None)
            if previous is not None:
                if read_ahead is not None:
                    read_ahead.exception()  # not needed after all: let it end (one read at a time)
                file_result = FileResult(source.label, source.table, skipped=previous)
                load.result.files.append(file_result)
            else:
                raw: RawTable | StoredRaw
                if read_ahead is not None:
                    raw = read_ahead.result()
                elif load.reads_whole(size):
                    raw = read(source, profile.encoding)
                else:
                    raw = read_into(con, source, RAW_TABLE, profile.encoding)
                if _reads_ahead(load, sources, sizes, i, digest_of, force=force):
                    ahead[i + 1] = reader.submit(read, sources[i + 1], profile.encoding)
                columns = _map_headers(
                    profile, schema.table(source.table), source.label, raw, load.filled
                )
                file_result = load.load_raw(source.label, source.table, raw, digest, columns)
            done += size
            if progress:
                progress(f"{source.table}: {source.label}", done, total)
            if after_file is not None:
                after_file(file_result)
    return load.result


def _reads_ahead(
    load: Load,
    sources: list[SourceFile],
    sizes: list[int],
    i: int,
    digest_of: Callable[[int], str],
    *,
    force: bool,
) -> bool:
    """Whether to read the file after ``sources[i]`` (which loads) in the background while this
    one is staged and merged: the database's work lets the reading run beside it, on the other
    core. Only a CSV file read whole (:meth:`Load.reads_whole`) that will load: not one already
    loaded (nor one with the same bytes for the same table as this one, which this load makes
    already loaded). Files are read one at a time, so the CSV reader's field limit
    (:func:`vcop.ingest.readers._big_fields`) is never changed by two at once."""
    if i + 1 >= len(sources):
        return False
    after = sources[i + 1]
    if after.path.suffix.lower() != ".csv" or not load.reads_whole(sizes[i + 1]):
        return False
    if force:
        return True
    try:
        digest = digest_of(i + 1)
    except ExtractError:  # unreadable: said in its turn, after this file's own errors
        return False
    same = digest == digest_of(i) and after.table == sources[i].table
    return not same and load.already_loaded(digest, after.table) is None


#: The most memory DuckDB may use while a load of a large file runs, unless the settings give
#: ``database.memory_limit``: past it, the file's rows and the staging tables spill to the
#: database's temporary directory, so a load's memory stays flat however large the file (a file
#: streams in a block at a time, :func:`vcop.ingest.readers.read_into`).
INGEST_MEMORY_LIMIT = "512MiB"

#: How many times its size on disk a file may take in DuckDB's memory while it is staged and
#: merged (its text, the staging table's texts and values, the rows to merge). A load whose
#: largest file fits the limit this many times over is not capped: capping only makes it spill.
STAGING_FACTOR = 16

#: A file at most this large on disk, which the load's memory limit holds :data:`STAGING_FACTOR`
#: times over, is read whole into memory (as Arrow) and staged from there; a larger one streams
#: into a temporary table of the database a block at a time, which spills to disk past the limit
#: (:func:`vcop.ingest.readers.read_into`). Staging from Arrow spares copying every value into
#: the database first (some 7% of the CPU time of the 1-year demo's load); Arrow holds a file in
#: about 1.35 times its size (the demo's crimes and contacts).
WHOLE_FILE_BYTES = 32 << 20


def ingest_memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    """The memory limit a load of a large file runs under: the settings' ``database.memory_limit``
    for this database (``VCOP_DATABASE_MEMORY_LIMIT``, or the settings file), else
    :data:`INGEST_MEMORY_LIMIT`."""
    from vcop.config import SettingsError, load_settings

    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = rows[0][0] if rows else None
    try:
        configured = load_settings(Path(path) if path else None).database.memory_limit
    except SettingsError:  # the command reports bad settings; a load keeps its default
        configured = ""
    return configured or INGEST_MEMORY_LIMIT


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}  # fmt: skip


def _bytes(setting: str) -> float | None:
    """A DuckDB memory setting ("18.8 GiB", "1GB") in bytes; None if unreadable."""
    number = setting.strip().rstrip("BbIiKkMmGgTt ")
    unit = setting.strip()[len(number) :].strip().lower()
    try:
        return float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        return None


def _cap_memory(
    con: duckdb.DuckDBPyConnection, limit: str, largest_file: int | None = None
) -> str | None:
    """Lower DuckDB's memory limit to ``limit`` (never raise it) when the database can spill to
    a temporary directory (an in-memory database without one cannot) and the load's largest file
    (``largest_file`` bytes; None: unknown) may not fit in it (:data:`STAGING_FACTOR`); the
    limit it had, to put back when the load ends, or None if it was left alone."""
    wanted = _bytes(limit)
    if largest_file is not None and wanted is not None and largest_file * STAGING_FACTOR <= wanted:
        return None
    current, temp, path = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
        "(SELECT path FROM duckdb_databases() WHERE database_name = current_database())"
    ).fetchall()[0]
    now = _bytes(str(current))
    if not temp or not path or now is None or wanted is None or now <= wanted:
        return None
    con.execute(f"SET memory_limit = {lit(limit)}")
    return str(current)


def _scalar_text(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    return str(con.execute(sql).fetchall()[0][0])


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0])


class Load:
    """One load: a transaction into which any number of raw tables are staged and merged.

    Use as a context manager: it commits when the block ends normally and rolls back on any
    exception, KeyboardInterrupt included. Importers of other formats (e.g. data.police.uk) build
    :class:`RawTable` objects with canonical headers and load them through here, so every load
    gets the same validation, rejects, batches and idempotency."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        profile: Profile,
        *,
        agency: str | None = None,
        retire: RetirePolicy | None = None,
        largest_file: int | None = None,
    ) -> None:
        check_agency(agency)
        #: The size in bytes of the largest file the load reads (None: unknown): a load whose
        #: files all fit in memory is not capped (:func:`_cap_memory`).
        self.largest_file = largest_file
        self.retire = retire or RetirePolicy()
        #: The table being loaded in full mode, settled when its files are done.
        self._full: FullTable | None = None
        self.con = con
        self.profile = profile
        self.schema = load_schema()
        self.loaded_at = dt.datetime.now()
        self.agency = agency
        self.result = LoadResult(load_id=0, agency=agency)
        #: DuckDB's memory limit before the load lowered it (:func:`_cap_memory`).
        self._memory_limit: str | None = None
        #: The memory limit the load runs under, in bytes (None: unreadable).
        self._limit_bytes: float | None = None
        #: DuckDB's threads before the load took one: a load whose files are all read whole
        #: (:meth:`reads_whole`; the next is read on the other core meanwhile) writes on one
        #: (:func:`vcop.store.db.one_thread_for_writing`); a larger file streams through
        #: DuckDB's own CSV reader, which uses every thread.
        self._threads: int | None = None

    @property
    def filled(self) -> dict[str, str]:
        """Columns a file may leave out, and the value they then take: a table's ``agency`` is
        the load's body (the police in a plain extract)."""
        return {AGENCY_COLUMN: self.agency or DEFAULT_AGENCY}

    def __enter__(self) -> Load:
        ensure_schema(self.con, self.schema)
        limit = ingest_memory_limit(self.con)
        self._limit_bytes = _bytes(limit)
        self._memory_limit = _cap_memory(self.con, limit, self.largest_file)
        if self.largest_file is not None and self.reads_whole(self.largest_file):
            self._threads = one_thread_for_writing(self.con)
        self.con.execute("BEGIN TRANSACTION")
        try:
            ensure_history(self.con, self.schema)
            start_seen(self.con)
            self.result.load_id = _scalar(self.con, "SELECT nextval('load_seq')")
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _load_rejected_keys "
                '(table_name VARCHAR, key VARCHAR, "row" BIGINT, file VARCHAR)'
            )
        except BaseException:
            self.con.execute("ROLLBACK")
            self._uncap()
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                try:
                    self._settle()
                except BaseException:
                    self.con.execute("ROLLBACK")
                    raise
            self.con.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._uncap()

    def _uncap(self) -> None:
        if self._threads is not None:
            self.con.execute(f"SET threads = {self._threads}")
            self._threads = None
        if self._memory_limit is not None:
            # the default limit exactly (a setting shows rounded, so setting it back drifts)
            self.con.execute("RESET memory_limit")
            if _scalar_text(self.con, "SELECT current_setting('memory_limit')") != (
                self._memory_limit
            ):
                self.con.execute(f"SET memory_limit = {lit(self._memory_limit)}")
            self._memory_limit = None

    def _settle(self, next_table: str | None = None) -> None:
        """Retire what a full-mode table's files left out, once they are all loaded (before the
        next table's, so that its references see the result)."""
        if self._full is None or self._full.table == next_table:
            return
        full, self._full = self._full, None
        retire_absent(
            self.con, self.schema, full, self.retire, agency=self.agency, at=self.loaded_at,
            load=self.result,
        )  # fmt: skip

    def reads_whole(self, size: int) -> bool:
        """Whether a file of ``size`` bytes is read whole into memory rather than streamed into
        the database (:data:`WHOLE_FILE_BYTES`)."""
        return (
            size <= WHOLE_FILE_BYTES
            and self._limit_bytes is not None
            and size * STAGING_FACTOR <= self._limit_bytes
        )

    def already_loaded(self, digest: str, table: str) -> str | None:
        """Why a source with these exact bytes need not be loaded again, or None: it was loaded
        into ``table`` with the same profile content for that table (its name does not matter;
        an edit to the table's mapping, the date formats or the encoding loads it again)."""
        previous = self.con.execute(
            "SELECT batch_id FROM batches WHERE sha256 = ? AND table_name = ? AND profile_hash = ?"
            " ORDER BY batch_id LIMIT 1",
            [digest, table, self.profile.content_hash(table)],
        ).fetchall()
        return f"already loaded as batch {previous[0][0]}" if previous else None

    def load_raw(
        self,
        label: str,
        table_name: str,
        raw: RawTable | StoredRaw,
        digest: str,
        columns: dict[str, str] | None = None,
    ) -> FileResult:
        """Validate and merge one table's rows; ``columns`` maps canonical column -> raw header
        (default: the raw headers are canonical names)."""
        con, schema, profile = self.con, self.schema, self.profile
        table = schema.table(table_name)
        self._settle(table_name)
        if columns is None:
            columns = {h: h for h in raw.headers if h in table.column_names}
        result = FileResult(label=label, table=table.name)
        mapping = profile.mapping(table.name)
        used = {h.strip().lower() for h in [*mapping.ignore, *mapping.where]}
        result.ignored_columns = [
            h for h in raw.headers if h not in columns.values() and h.lower() not in used
        ]
        batch_id = _scalar(con, "SELECT nextval('batch_seq')")
        result.batch_id = batch_id
        fill = {c: v for c, v in self.filled.items() if c in table.column_names}
        if self.agency is None:  # plain: a blank agency in a combined extract is a reject
            fill = {c: v for c, v in fill.items() if c not in columns}
        staged = _stage(con, schema, profile, table, raw, columns, fill, label=label)
        result.rows_filtered, result.blanked = staged.rows_filtered, staged.blanked
        result.rows_read = raw.num_rows - staged.rows_filtered + len(raw.broken_rows)
        _refuse_personal_columns(con, table, label)
        result.scrubbed = _scrub_free_text(con, table, staged.aliased)
        _find_issues(con, schema, profile, table, self.loaded_at.date())
        _agency_issues(con, table, self.agency)
        _erased_issues(con, table)
        _cell_issues(con, raw, columns)
        _check_keys(con, table, staged.hashed)
        _check_references(con, schema, table, partner=self.agency not in (None, DEFAULT_AGENCY))
        _check_order(con, table)
        _merge(con, table, batch_id, result, self.loaded_at, hashed=staged.hashed)
        result.mode = self.retire.mode_of(profile, table.name)
        if result.mode == "full":
            self._full = self._full or FullTable(table.name)
            self._full.files.append(result)
            remember_file(con, table, self._full, len(raw.broken_rows))

        con.execute(
            "INSERT INTO rejects SELECT ?, ?, ?, _row, col, val, reason FROM _issues ORDER BY _row, ord",
            [batch_id, label, table.name],
        )
        # remember rejected keys, so a later file's reference to one can say why it is missing
        key = "concat_ws(chr(31), " + ", ".join(ident("t_" + k) for k in table.key) + ")"
        con.execute(
            f"INSERT INTO _load_rejected_keys SELECT DISTINCT ?, {key}, _row, ? FROM _stage "
            "WHERE _row IN (SELECT _row FROM _issues)",
            [table.name, Path(label).name],
        )
        if raw.broken_rows:
            rows, reasons = zip(*raw.broken_rows, strict=True)
            con.register(
                "_broken",
                pa.table({"row": pa.array(rows, pa.int64()), "reason": pa.array(reasons)}),
            )
            con.execute(
                'INSERT INTO rejects SELECT ?, ?, ?, "row", NULL, NULL, reason FROM _broken',
                [batch_id, label, table.name],
            )
            con.unregister("_broken")
        result.rows_rejected = _scalar(con, "SELECT count(DISTINCT _row) FROM _issues") + len(
            raw.broken_rows
        )
        result.rows_loaded = result.rows_read - result.rows_rejected
        con.execute(
            "INSERT INTO batches (batch_id, load_id, file, table_name, sha256, profile, "
            "loaded_at, rows_read, rows_loaded, rows_inserted, rows_updated, rows_unchanged, "
            "rows_rejected, profile_hash, rows_filtered) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id, self.result.load_id, label, table.name, digest, profile.name,
                self.loaded_at, result.rows_read, result.rows_loaded, result.rows_inserted,
                result.rows_updated, result.rows_unchanged, result.rows_rejected,
                profile.content_hash(table.name), result.rows_filtered,
            ],
        )  # fmt: skip
        con.execute("DROP VIEW IF EXISTS _stage")
        for temp in ("_staged", "_issues", "_accepted"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        self.result.files.append(result)
        return result


#: The temporary table a file's rows stream into before they are staged (:func:`read_into`).
RAW_TABLE = "_raw"


def _raw_view(con: duckdb.DuckDBPyConnection, raw: RawTable | StoredRaw) -> None:
    """``_raw_view``: a file's rows as text, from the Arrow table of a :class:`RawTable` or the
    temporary table of a :class:`StoredRaw`."""
    if isinstance(raw, StoredRaw):
        con.execute(f"CREATE OR REPLACE TEMP VIEW _raw_view AS {raw.select()}")
    else:
        con.register("_raw_view", raw.table)


def _drop_raw_view(con: duckdb.DuckDBPyConnection, raw: RawTable | StoredRaw) -> None:
    if isinstance(raw, StoredRaw):
        con.execute("DROP VIEW IF EXISTS _raw_view")
        con.execute(f"DROP TABLE IF EXISTS {ident(raw.name)}")
    else:
        con.unregister("_raw_view")


def _map_headers(
    profile: Profile,
    table: Table,
    label: str,
    raw: RawTable | StoredRaw,
    filled: dict[str, str] | None = None,
) -> dict[str, str]:
    """Canonical column -> source header; unknown and ignored headers are never loaded. A required
    column named in ``filled`` or given by the profile's ``constants`` may be left out (it then
    takes the value given there). Every header the profile's ``where`` names must be present."""
    mapping = profile.mapping(table.name)
    _check_where(profile, table, raw, label)
    columns: dict[str, str] = {}
    for header in raw.headers:
        canonical = profile.canonical_column(table.name, header)
        if canonical is None:
            continue
        if canonical in columns:
            raise ExtractError(
                f"{label}: columns {columns[canonical]!r} and {header!r} both map to {canonical}"
            )
        if canonical in mapping.constants:
            raise ExtractError(
                f"{label}: column {header!r} gives {canonical}, which the profile sets to the "
                f"constant {mapping.constants[canonical]!r}; ignore the column or drop the constant"
            )
        columns[canonical] = header
    given = set(filled or {}) | set(mapping.constants)
    missing = [
        c.name
        for c in table.columns
        if c.required and c.name not in columns and c.name not in given
    ]
    if missing:
        raise ExtractError(
            f"{label}: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} missing (the file has: {', '.join(raw.headers)})"
        )
    return columns


#: How many distinct values of a column the personal-content check reads (enough to find a
#: mis-mapped address or phone column; the check is there for mapping mistakes, not single typos).
PERSONAL_SAMPLE = 20_000


def _refuse_personal_columns(con: duckdb.DuckDBPyConnection, table: Table, label: str) -> None:
    """Refuse the file when a text column that is not free text holds what look like phone
    numbers, email addresses, postcodes or street addresses (DECISIONS: in 1% or more of its
    non-blank values, or three of them): a personal column mapped by mistake, not loaded."""
    from vcop.privacy import personal_share

    for column in table.columns:
        if column.type != "string" or column.free_text or column.allowed:
            continue
        if column.name.endswith("_id"):
            continue
        values = [
            str(r[0])
            for r in con.execute(
                f"SELECT DISTINCT {ident('t_' + column.name)} FROM _stage "
                f"WHERE {ident('t_' + column.name)} IS NOT NULL LIMIT {PERSONAL_SAMPLE}"
            ).fetchall()
        ]
        personal, present = personal_share(values)
        if personal >= 3 or (present and personal / present >= 0.01):
            raise ExtractError(
                f"{label}: column {column.name!r} holds what look like personal details (a phone "
                f"number, email address, postcode or street address) in {personal:,} of "
                f"{present:,} distinct values; vcop holds pseudonymous ids only. Check which "
                "source column the profile maps to it, or leave it out. Nothing was loaded."
            )


def _scrub_free_text(con: duckdb.DuckDBPyConnection, table: Table, aliased: set[str]) -> int:
    """Replace phone numbers, emails, postcodes and street addresses in free-text columns with a
    marker (:func:`vcop.privacy.scrub`); how many values changed. ``aliased``: the columns whose
    value is their text (:attr:`Staged.aliased`), which follows the text."""
    from vcop.privacy import scrub

    changed = 0
    for column in table.columns:
        if not column.free_text:
            continue
        text, value = ident("t_" + column.name), ident("v_" + column.name)
        pairs = []
        for (original,) in con.execute(
            f"SELECT DISTINCT {text} FROM _stage WHERE {text} IS NOT NULL"
        ).fetchall():
            cleaned = scrub(str(original))
            if cleaned.changed:
                pairs.append((original, cleaned.text))
        if not pairs:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE _scrubbed (original VARCHAR, cleaned VARCHAR)")
        con.executemany("INSERT INTO _scrubbed VALUES (?, ?)", pairs)
        changed += _scalar(con, f"SELECT count(*) FROM _stage JOIN _scrubbed ON {text} = original")
        both = f"{text} = cleaned" + ("" if column.name in aliased else f", {value} = cleaned")
        con.execute(f"UPDATE _staged SET {both} FROM _scrubbed WHERE {text} = original")
        con.execute("DROP TABLE _scrubbed")
    return changed


def _check_where(profile: Profile, table: Table, raw: RawTable | StoredRaw, label: str) -> None:
    """Refuse a file without a header the profile's ``where`` selects rows by (else every row
    would load, or none)."""
    present = {h.lower() for h in raw.headers}
    absent = [h for h in profile.mapping(table.name).where if h.strip().lower() not in present]
    if absent:
        raise ExtractError(
            f"{label}: the profile selects rows by {', '.join(repr(h) for h in absent)} (where), "
            f"which the file does not have (it has: {', '.join(raw.headers)})"
        )


@dataclass
class Staged:
    """What staging found beside the rows: those the profile's ``where`` dropped, and the unknown
    codes blanked (column, value as written) -> rows."""

    rows_filtered: int = 0
    blanked: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Whether keys repeat in the file, so that ``_stage`` has ``_text_hash``
    #: (:func:`_hash_repeated_keys`).
    hashed: bool = False
    #: The columns whose value is their text as it is (``v_`` is ``t_`` in the view ``_stage``).
    aliased: set[str] = field(default_factory=set)


def _source_view(
    con: duckdb.DuckDBPyConnection,
    profile: Profile,
    table: Table,
    raw: RawTable | StoredRaw,
    columns: dict[str, str],
    label: str,
) -> int:
    """``_source`` (a view): the raw rows the profile's ``where`` selects, with the columns that
    load (``columns``' headers) each after its ``transforms``; returns how many rows were dropped."""
    _check_where(profile, table, raw, label)
    mapping = profile.mapping(table.name)
    by_lower = {h.lower(): h for h in raw.headers}
    loaded = set(columns.values())
    operations = {by_lower[h.strip().lower()]: ops for h, ops in mapping.transforms.items()
                  if h.strip().lower() in by_lower}  # fmt: skip
    selected = "".join(
        f", {transformed(h, operations.get(h, ()))} AS {ident(h)}"
        for h in raw.headers
        if h in loaded
    )
    conditions = []
    for h, values in mapping.where.items():
        header = by_lower[h.strip().lower()]
        conditions.append(where_condition(transformed(header, operations.get(header, ())), values))
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _source AS SELECT _row{selected} FROM _raw_view "
        f"WHERE {' AND '.join(conditions) or 'TRUE'}"
    )
    if not conditions:
        return 0
    return raw.num_rows - _scalar(con, "SELECT count(*) FROM _source")


def _stage(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    profile: Profile,
    table: Table,
    raw: RawTable | StoredRaw,
    columns: dict[str, str],
    fill: dict[str, str] | None = None,
    *,
    label: str = "",
) -> Staged:
    """``_stage``: one row per source row the profile selects, with ``t_<col>`` (mapped text) and
    ``v_<col>`` (value).

    A column in ``fill`` takes the value given there where the file has no such column or leaves
    it blank. A detail column kept through a code list (``ethnicity_detail``) takes the code of
    its base column's source, unless the file maps a column to it."""
    mapping = profile.mapping(table.name)
    _raw_view(con, raw)
    staged = Staged(rows_filtered=_source_view(con, profile, table, raw, columns, label))
    fill = fill or {}
    bare = _bare_headers(mapping, raw)
    texts = []
    for c in table.columns:
        source = columns.get(c.name)
        detail = None if source else mapping.detail_source(c.name)
        if detail is not None and detail[0] in columns:
            base = columns[detail[0]]
            text = detail_text(c, detail[1], base, bare=base in bare)
        else:
            text = mapped_text(c, mapping, source, bare=source in bare)
        if c.name in fill:
            text = f"coalesce({text}, {lit(fill[c.name])})"
        texts.append(f"{text} AS {ident('t_' + c.name)}")
        unknown = unknown_condition(c, mapping, source, bare=source in bare) if source else None
        if source is not None and unknown is not None:
            for value, count in con.execute(
                f"SELECT trim({ident(source)}) AS v, count(*) FROM _source WHERE {unknown} "
                "GROUP BY v ORDER BY v"
            ).fetchall():
                staged.blanked[(c.name, str(value))] = int(count)
    values = []
    for c in table.columns:
        text = ident("t_" + c.name)
        value = parsed(c, text, schema, profile.datetime_formats)
        if value == text:  # text kept as it is: the value is the text, not stored twice
            staged.aliased.add(c.name)
        else:
            values.append(f"{value} AS {ident('v_' + c.name)}")
    # one pass: the mapped texts, and the values parsed from them
    con.execute(
        f"CREATE TEMP TABLE _staged AS SELECT *{''.join(', ' + v for v in values)} "
        f"FROM (SELECT _row, {', '.join(texts)} FROM _source)"
    )
    _stage_view(con, table, staged.aliased)
    # the file's rows are staged: let their memory go before the rest of the load
    con.execute("DROP VIEW IF EXISTS _source")
    _drop_raw_view(con, raw)
    staged.hashed = _hash_repeated_keys(con, table, staged.aliased)
    return staged


def _stage_view(
    con: duckdb.DuckDBPyConnection, table: Table, aliased: set[str], *extra: str
) -> None:
    """``_stage``, the view of the staged rows every check and the merge read: ``_row``, each
    column's ``t_`` and ``v_``, then ``extra`` columns, from the table ``_staged``, which holds
    a ``v_`` only where the value is not the text itself (``aliased``: a text column)."""
    texts = [ident("t_" + c.name) for c in table.columns]
    values = [
        f"{ident('t_' + c.name)} AS {ident('v_' + c.name)}"
        if c.name in aliased
        else ident("v_" + c.name)
        for c in table.columns
    ]
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT _row, {', '.join(texts + values)}"
        f"{''.join(', ' + ident(e) for e in extra)} FROM _staged"
    )


def _bare_headers(mapping: TableMapping, raw: RawTable | StoredRaw) -> set[str]:
    """The source headers whose texts need no trimming: no value of theirs begins or ends with
    a space (:func:`vcop.ingest.readers.may_be_padded`; for a streamed file the reader looked,
    :attr:`StoredRaw.padded`), and the profile transforms none of them."""
    if isinstance(raw, StoredRaw):
        if raw.padded is None:
            return set()
        padded = set(raw.padded)
    else:
        padded = {
            h for i, h in enumerate(raw.headers, start=1) if may_be_padded(raw.table.column(i))
        }
    transformed = {h.strip().lower() for h in mapping.transforms}
    return {h for h in raw.headers if h and h not in padded and h.lower() not in transformed}


def _hash_repeated_keys(con: duckdb.DuckDBPyConnection, table: Table, aliased: set[str]) -> bool:
    """``_stage._text_hash``, on the rows whose key appears more than once in the file, the hash
    of their mapped texts as staged (before free text is scrubbed): :func:`_check_keys` tells
    identical repeats from conflicting ones by it. A file without repeated keys (the usual one)
    gets no such column, and is not hashed."""
    key = ", ".join(ident("t_" + k) for k in table.key)
    not_null = " AND ".join(f"{ident('t_' + k)} IS NOT NULL" for k in table.key)
    repeated = f"SELECT {key} FROM _staged WHERE {not_null} GROUP BY ALL HAVING count(*) > 1"
    if not con.execute(f"SELECT 1 FROM ({repeated}) LIMIT 1").fetchall():
        return False
    text_hash = (
        "md5(concat_ws(chr(31), "
        + ", ".join(f"coalesce(_staged.{ident('t_' + c.name)}, chr(30))" for c in table.columns)
        + "))"
    )
    con.execute("ALTER TABLE _staged ADD COLUMN _text_hash VARCHAR")
    match = " AND ".join(f"_staged.{ident('t_' + k)} = r.{ident('t_' + k)}" for k in table.key)
    con.execute(f"UPDATE _staged SET _text_hash = {text_hash} FROM ({repeated}) r WHERE {match}")
    _stage_view(con, table, aliased, "_text_hash")
    return True


def _find_issues(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    profile: Profile,
    table: Table,
    today: dt.date | None = None,
) -> None:
    parts = []
    ordinal = 0
    for column in table.columns:
        for condition, reason in checks(
            column, profile.datetime_formats, table=table.name, today=today
        ):
            parts.append(
                f"SELECT _row, {ordinal} AS ord, {lit(column.name)} AS col, "
                f"{ident('t_' + column.name)} AS val, {reason} AS reason FROM _stage WHERE {condition}"
            )
            ordinal += 1
    for column_name, condition, reason in row_checks(table.name):
        parts.append(
            f"SELECT _row, {ordinal} AS ord, {lit(column_name)} AS col, "
            f"{ident('t_' + column_name)} AS val, {reason} AS reason FROM _stage WHERE {condition}"
        )
        ordinal += 1
    con.execute(
        "CREATE TEMP TABLE _issues (_row BIGINT, ord INTEGER, col VARCHAR, val VARCHAR, reason VARCHAR)"
    )
    if parts:
        con.execute("INSERT INTO _issues " + " UNION ALL ".join(parts))


def _agency_issues(con: duckdb.DuckDBPyConnection, table: Table, agency: str | None) -> None:
    """In a body's own extract, a row whose ``agency`` names another body is a reject (unless
    its agency is rejected already, e.g. as not an allowed value)."""
    if agency is None or AGENCY_COLUMN not in table.column_names:
        return
    text = ident("t_" + AGENCY_COLUMN)
    reason = lit(
        f" is not {agency}: this is {agency}'s own extract (--agency {agency}), so every row "
        f"must be {agency}'s record; load another body's records with its own --agency"
    )
    con.execute(
        f"""
        INSERT INTO _issues
        SELECT _row, 1500, {lit(AGENCY_COLUMN)}, {text},
               {lit(AGENCY_COLUMN + " ")} || '''' || {text} || '''' || {reason}
        FROM _stage
        WHERE {ident("v_" + AGENCY_COLUMN)} IS DISTINCT FROM {lit(agency)}
          AND _row NOT IN (SELECT _row FROM _issues WHERE col = {lit(AGENCY_COLUMN)})
        """
    )


def _erased_issues(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Reject the rows of victims erased with ``vcop erase`` (listed in ``erased_victims``):
    an extract that still holds them must not bring them back."""
    if "victim_id" not in table.column_names:
        return
    listed = _scalar(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'erased_victims' "
        "AND database_name = current_database() AND schema_name = 'main'",
    )
    if not listed:
        return
    con.execute(
        "INSERT INTO _issues SELECT _row, 10000, 'victim_id', t_victim_id, "
        "'this victim''s records were erased (vcop erase): they are not loaded again' "
        "FROM _stage WHERE v_victim_id IN (SELECT victim_id FROM erased_victims)"
    )


def _cell_issues(
    con: duckdb.DuckDBPyConnection, raw: RawTable | StoredRaw, columns: dict[str, str]
) -> None:
    """The reader's cell issues (a formula with no saved value, a spreadsheet error, a field too
    long) in loaded columns: each rejects its row, and replaces what the parsed text said of it."""
    canonical = {header: column for column, header in columns.items()}
    found = [
        (i.row, canonical[i.header], i.value, i.reason)
        for i in raw.cell_issues
        if i.header in canonical
    ]
    if not found:
        return
    rows, cols, values, reasons = zip(*found, strict=True)
    con.register(
        "_cells",
        pa.table({
            "row": pa.array(rows, pa.int64()), "col": pa.array(cols, pa.string()),
            "val": pa.array(values, pa.string()), "reason": pa.array(reasons, pa.string()),
        }),
    )  # fmt: skip
    con.execute('DELETE FROM _issues i USING _cells c WHERE i._row = c."row" AND i.col = c.col')
    con.execute(  # a row the profile's `where` dropped is not staged, and not a reject
        'INSERT INTO _issues SELECT "row", -1, col, val, reason FROM _cells '
        'WHERE "row" IN (SELECT _row FROM _stage)'
    )
    con.unregister("_cells")


def _key_text(table: Table, prefix: str = "t_") -> str:
    """A readable rendering of a row's key, e.g. ``crime_id 'C1'`` or ``victim_id 'V1', crime_id 'C1'``."""
    return " || ', ' || ".join(
        f"{lit(k + ' ')} || '''' || coalesce({ident(prefix + k)}, '') || ''''" for k in table.key
    )


def _repeats_keys(table: Table, hashed: bool) -> bool:
    """Whether two staged rows may share a key: a repeated key text was found (``hashed``), or a
    key column is not required text (two texts may then parse to one value, e.g. ``07`` and
    ``7``, or blanks take one default)."""
    text_keys = all(
        (c := table.column(k)).type == "string" and c.required and c.default is None
        for k in table.key
    )
    return not text_keys or hashed


def _check_keys(con: duckdb.DuckDBPyConnection, table: Table, hashed: bool) -> None:
    """Rows sharing a key with different values: every one of them is rejected. Only rows whose
    key repeats were hashed (:func:`_hash_repeated_keys`, ``hashed``); a file with none has
    nothing to check."""
    if not hashed:
        return
    key = ", ".join(ident("t_" + k) for k in table.key)
    not_null = "s._text_hash IS NOT NULL"
    con.execute(
        f"""
        INSERT INTO _issues
        SELECT _row, 1000, {lit(table.key[0])}, {ident("t_" + table.key[0])},
               {_key_text(table)} || ' appears again on row' ||
               CASE WHEN len(others) > 1 THEN 's ' ELSE ' ' END ||
               array_to_string(others, ', ') || ' with different values; all are rejected'
        FROM (
            SELECT s._row, s.* EXCLUDE (_row),
                   list_filter(list(s._row) OVER w, lambda r: r <> s._row) AS others,
                   count(DISTINCT s._text_hash) OVER w AS versions
            FROM _stage s WHERE {not_null}
            WINDOW w AS (PARTITION BY {key})
        )
        WHERE versions > 1
        """
    )


def _check_references(
    con: duckdb.DuckDBPyConnection, schema: Schema, table: Table, *, partner: bool = False
) -> None:
    """Each reference (the schema's ``references`` and :data:`LINKS`) must name a row already in
    the database (this load's earlier files count). In a partner's extract (``partner``) a
    missing crime or victim is the police's: the reason says to load the police extract first."""
    noun = {
        "crimes": "a crime",
        "victims": "a victim of that crime",
        "case_events": "a case event",
    }
    found = [
        Link(table.name, ref.columns, ref.table, schema.table(ref.table).key, ref.columns[0],
             noun.get(ref.table, f"a row of {ref.table}"))
        for ref in table.references
    ] + [link for link in LINKS if link.table == table.name]  # fmt: skip
    hint = (
        "; partner records link to the police's crimes and victims by crime reference and "
        "pseudonymous victim id, so load the police extract first"
    )
    for ordinal, link in enumerate(found, start=2000):
        police = partner and link.target in ("crimes", "victims")
        _check_link(con, schema, link, ordinal, hint if police else "")


def _check_link(
    con: duckdb.DuckDBPyConnection, schema: Schema, link: Link, ordinal: int, hint: str
) -> None:
    """Rows whose ``link`` names no row of its target are rejects, on the link's field."""
    target = schema.table(link.target)
    pairs = list(zip(link.columns, link.target_columns, strict=True))
    present = " AND ".join(f"s.{ident('v_' + c)} IS NOT NULL" for c, _ in pairs)
    match = " AND ".join(f"t.{ident(k)} = s.{ident('v_' + c)}" for c, k in pairs)
    shown_columns = [link.field, *(c for c in link.columns if c != link.field)]
    shown = " || ', ' || ".join(
        f"{lit(c + ' ')} || '''' || s.{ident('t_' + c)} || ''''" for c in shown_columns
    )
    # rejected rows of the target are remembered by their key, in key order
    by_key = {k: c for c, k in pairs}
    key = (
        "concat_ws(chr(31), " + ", ".join(f"s.{ident('t_' + by_key[k])}" for k in target.key) + ")"
    )
    con.execute(
        f"""
        INSERT INTO _issues
        SELECT s._row, {ordinal}, {lit(link.field)}, s.{ident("t_" + link.field)},
               {shown} || {lit(f" is not {link.what} in this extract or the database")}
               || coalesce('; its row ' || r."row" || ' in ' || r.file || ' was rejected', '')
               || {lit(hint)}
        FROM _stage s
        LEFT JOIN (
            SELECT key, min("row") AS "row", min(file) AS file FROM _load_rejected_keys
            WHERE table_name = {lit(target.name)} GROUP BY key
        ) r ON r.key = {key}
        WHERE {present}
          AND s._row NOT IN (SELECT _row FROM _issues)
          AND NOT EXISTS (SELECT 1 FROM {ident(target.name)} t WHERE {match})
        """
    )


def _check_order(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Order rules across tables (:data:`vcop.ingest.validate.ORDER_RULES`): e.g. a case event
    dated before its crime was reported. Rows with other issues are not checked again."""
    for ordinal, rule in enumerate(ORDER_RULES, start=3000):
        if rule.table != table.name or rule.via is None:
            continue
        later = f"s.{ident('v_' + rule.column)}"
        earlier = f"t.{ident(rule.earlier)}"
        text = f"s.{ident('t_' + rule.column)}"
        reason = (
            f"{lit(rule.column + ' ')} || '''' || {text} || '''' "
            f"|| {lit(f' is before the crime was reported ({rule.earlier} ')} "
            f"|| strftime({earlier}, '%Y-%m-%d %H:%M') || {lit('): ' + rule.what)}"
        )
        con.execute(
            f"""
            INSERT INTO _issues
            SELECT s._row, {ordinal}, {lit(rule.column)}, {text}, {reason}
            FROM _stage s JOIN {ident(rule.via)} t ON t.crime_id = s.v_crime_id
            WHERE CAST({later} AS DATE) < CAST({earlier} AS DATE)
              AND s._row NOT IN (SELECT _row FROM _issues)
            """
        )


def row_hash_sql(table: Table) -> str:
    """SQL for the hash of a row's canonical values (how a changed row is told from the same)."""
    cols = [ident(c.name) for c in table.columns]
    return (
        "md5(concat_ws(chr(31), "
        + ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(30))" for c in cols)
        + "))"
    )


def _merge(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    batch_id: int,
    result: FileResult,
    at: dt.datetime | None = None,
    *,
    hashed: bool = True,
) -> None:
    """Insert new keys, replace changed rows, leave unchanged ones; identical duplicates load once.
    A replaced row's old version is kept in the table's history (for ``vcop batches --undo``).
    ``hashed``: keys repeat in the file (:func:`_hash_repeated_keys`)."""
    cols = [ident(c.name) for c in table.columns]
    values = ", ".join(f"{ident('v_' + c.name)} AS {ident(c.name)}" for c in table.columns)
    row_hash = row_hash_sql(table)
    # the first row of each key among the rows without issues (a group-by on the key and a
    # semi-join: a window over whole rows is several times slower on a large file)
    first_of_key = f"""_row IN (
                SELECT min(_row) FROM _stage WHERE _row NOT IN (SELECT _row FROM _issues)
                GROUP BY {", ".join(ident("v_" + k) for k in table.key)}
            )"""
    if not _repeats_keys(table, hashed):
        # no key appears twice in the file (a text key's value is its text): every row is first
        first_of_key = "_row NOT IN (SELECT _row FROM _issues)"
    accepted = f"""
        SELECT *, {row_hash} AS row_hash FROM (
            SELECT {values} FROM _stage WHERE {first_of_key}
        )
        """
    target = ident(table.name)
    if not con.execute(f"SELECT 1 FROM {target} LIMIT 1").fetchall():
        # an empty table (a first load): every accepted row is new, so nothing to compare
        inserted = con.execute(
            f"INSERT INTO {target} ({', '.join(cols)}, batch_id, row_hash) "
            f"SELECT {', '.join(cols)}, {batch_id}, row_hash FROM ({accepted})"
        ).fetchall()
        result.rows_inserted = int(inserted[0][0])
        result.rows_updated = result.rows_unchanged = 0
        return
    con.execute(f"CREATE TEMP TABLE _accepted AS {accepted}")
    join = " AND ".join(f"t.{ident(k)} = a.{ident(k)}" for k in table.key)
    counts = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE t.row_hash IS NULL),
               count(*) FILTER (WHERE t.row_hash IS NOT NULL AND t.row_hash <> a.row_hash),
               count(*) FILTER (WHERE t.row_hash = a.row_hash)
        FROM _accepted a LEFT JOIN {target} t ON {join}
        """
    ).fetchall()[0]
    result.rows_inserted, result.rows_updated, result.rows_unchanged = (int(n) for n in counts)
    if result.rows_updated:
        changed = f"EXISTS (SELECT 1 FROM _accepted a WHERE {join} AND t.row_hash <> a.row_hash)"
        keep_versions(con, table, changed, batch_id, at or dt.datetime.now(), UPDATED)
        con.execute(
            f"DELETE FROM {target} t USING _accepted a WHERE {join} AND t.row_hash <> a.row_hash"
        )
    con.execute(
        f"""
        INSERT INTO {target} ({", ".join(cols)}, batch_id, row_hash)
        SELECT {", ".join("a." + c for c in cols)}, {batch_id}, a.row_hash FROM _accepted a
        WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {join})
        """
    )
