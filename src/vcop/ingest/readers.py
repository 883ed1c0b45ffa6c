"""Find the files of an extract and read each into an Arrow table of strings.

Every value is read as text, exactly as written; parsing and validation happen later, in one
place (:mod:`vcop.ingest.validate`), so a value that cannot be parsed is reported, never silently
turned into a blank. Each row carries ``_row``: the row number a person would look for — in a CSV
the record number counting the header as row 1 (so the first data row is row 2), in a workbook
the spreadsheet row, in Parquet the 1-based record number. A profile's ``header_row`` says which
row holds the headers (rows above it, such as a title, are not read); the numbers stay those of
the file.

Which files hold which table is the profile's ``files`` (:func:`discover`): names, or patterns of
which only the latest dated file loads (:func:`pick_latest`).

Nothing a file holds makes reading crash: a file that cannot be read at all (binary, not in its
declared encoding, a damaged workbook) is an :class:`ExtractError` naming the file and what to do;
a row that cannot be split into the header's fields is a *broken row*; a cell that holds no value
vcop may load — a workbook formula with no saved value, a spreadsheet error such as ``#DIV/0!``, a
field longer than :data:`MAX_FIELD_CHARS` — is a *cell issue*, which rejects its row when the
column is loaded.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vcop.spec.profile import Profile

if TYPE_CHECKING:
    import duckdb

SUFFIXES = {".csv", ".xlsx", ".parquet"}
#: The longest field vcop loads (characters); a longer one is a cell issue, never a crash.
MAX_FIELD_CHARS = 1_000_000
#: The csv module's field limit while vcop reads (its default, 128 KB, is below MAX_FIELD_CHARS).
_CSV_FIELD_LIMIT = 2**31 - 1
#: pyarrow's CSV block size; a record longer than a block is read by the careful reader instead.
_BLOCK_SIZE = 16 << 20
#: The column that numbers the rows; no source column may be called this.
ROW = "_row"
#: A CSV record whose fields hold only these characters is a blank line, not a row.
BLANK = " \t\r\n"

_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an XLSX workbook named .csv? name it .xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook or another Office file"),
    (b"%PDF", "a PDF document"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class ExtractError(Exception):
    """A file that cannot be read at all. The message names the file."""


class EncodingError(ExtractError):
    """A text file with a byte sequence that is not a character in the encoding tried."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where  # e.g. "byte 0xE9 on line 3"


@dataclass(frozen=True)
class SourceFile:
    """One table's worth of an extract: a CSV or Parquet file, or one sheet of a workbook."""

    path: Path
    table: str
    sheet: str | None = None
    #: The 1-based row holding the headers (CSV and workbooks).
    header_row: int = 1
    #: Matched only by a pattern of the profile's ``files`` (so it competes with other matches).
    by_pattern: bool = False

    @property
    def label(self) -> str:
        return f"{self.path}[{self.sheet}]" if self.sheet else str(self.path)


@dataclass(frozen=True)
class CellIssue:
    """A cell whose text cannot be loaded as written; its row is rejected if the column is loaded."""

    row: int
    header: str
    value: str  # what the reject shows: the formula, the error, or the start of a long field
    reason: str


@dataclass
class RawTable:
    """A file's rows as text, plus the rows that could not even be split into fields and the
    cells that hold no loadable value."""

    headers: list[str]
    table: pa.Table  # columns: _row (int64) then one string column per header, in order
    broken_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    cell_issues: list[CellIssue] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)


@dataclass
class StoredRaw:
    """A file's rows as text in a temporary table of the database (:func:`read_into`), plus the
    rows that could not be split into fields and the cells that hold no loadable value."""

    headers: list[str]
    name: str  # the temporary table: _row (BIGINT) then c1, c2, … (VARCHAR): one per header
    num_rows: int
    broken_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    cell_issues: list[CellIssue] = field(default_factory=list)
    #: The headers whose values may begin or end with a space (:func:`may_be_padded`); None:
    #: not known, every column may. Staging trims only these (trimming copies every value).
    padded: frozenset[str] | None = None

    def select(self) -> str:
        """SQL selecting the rows as ``_row`` and a column named by each (non-blank) header."""
        named = "".join(f", c{i} AS {_ident(h)}" for i, h in enumerate(self.headers, start=1) if h)
        return f"SELECT {_ident(ROW)}{named} FROM {_ident(self.name)}"


@dataclass
class _Found:
    """What reading found beside the rows (which went to a sink)."""

    headers: list[str]
    broken_rows: list[tuple[int, str]] = field(default_factory=list)
    cell_issues: list[CellIssue] = field(default_factory=list)


class _Sink:
    """Where a reader puts its rows, a block at a time (``_row`` then the headers' texts)."""

    rows = 0

    def start(self, headers: list[str]) -> None:
        """Begin (or begin again, dropping what was added) a table of these headers."""
        raise NotImplementedError

    def add(self, block: pa.Table) -> None:
        raise NotImplementedError


class _ArrowSink(_Sink):
    """Blocks kept in memory, as one Arrow table (:func:`read`)."""

    def __init__(self) -> None:
        self.blocks: list[pa.Table] = []

    def start(self, headers: list[str]) -> None:
        self.blocks, self.rows = [], 0

    def add(self, block: pa.Table) -> None:
        self.blocks.append(block)
        self.rows += block.num_rows

    def table(self, headers: list[str]) -> pa.Table:
        if not self.blocks:
            return _empty(headers)
        return pa.concat_tables(self.blocks).combine_chunks()


class _DuckSink(_Sink):
    """Blocks appended to a temporary table of the database (:func:`read_into`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        self.con, self.name = con, name
        self.headers: list[str] = []
        #: Positions (1-based, as in a block) of the columns a value of which may be padded.
        self.padded: set[int] = set()

    def start(self, headers: list[str]) -> None:
        # columns by position (a header may be blank): StoredRaw.select names them
        columns = ", ".join(f"c{i} VARCHAR" for i in range(1, len(headers) + 1))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_ident(self.name)} ({_ident(ROW)} BIGINT, {columns})"
        )
        self.rows = 0
        self.headers, self.padded = headers, set()

    def add(self, block: pa.Table) -> None:
        if not block.num_rows:
            return
        for index in range(1, block.num_columns):
            if index not in self.padded and may_be_padded(block.column(index)):
                self.padded.add(index)
        self.con.from_arrow(block).insert_into(self.name)
        self.rows += block.num_rows

    def padded_headers(self) -> frozenset[str]:
        return frozenset(self.headers[i - 1] for i in self.padded)


#: The first byte, in UTF-8, of each character DuckDB's ``trim`` removes: the space and the other
#: Unicode space separators (U+00A0, U+1680, U+2000 to U+200A, U+202F, U+205F, U+3000). Each of
#: them but the space ends in a byte of 0x80 or more (a continuation byte).
SPACE_FIRST_BYTES = (0x20, 0xC2, 0xE1, 0xE2, 0xE3)


def may_be_padded(column: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a value of ``column`` may begin or end with a character DuckDB's ``trim`` removes.

    False only when trimming would change no value, read from the bytes: every non-empty value
    begins with a byte no such character begins with, and ends with an ASCII byte other than a
    space. A column of another type than ``string`` is taken to be padded."""
    import numpy as np

    may_begin = np.zeros(256, dtype=bool)
    may_begin[list(SPACE_FIRST_BYTES)] = True
    may_end = np.zeros(256, dtype=bool)
    may_end[0x20] = may_end[0x80:] = True
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if chunk.type != pa.string():
            return True
        if not len(chunk):
            continue
        _, offsets_buffer, data_buffer = chunk.buffers()
        if offsets_buffer is None or data_buffer is None or not data_buffer.size:
            continue  # every value is empty
        offsets = np.frombuffer(
            offsets_buffer, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4
        )
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        first, last = data[starts[filled]], data[ends[filled] - 1]
        if may_begin[first].any() or may_end[last].any():
            return True
    return False


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _empty(headers: list[str]) -> pa.Table:
    return pa.table(
        [pa.array([], pa.int64())] + [pa.array([], pa.string()) for _ in headers],
        names=[ROW, *headers],
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ExtractError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _expand(paths: Iterable[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(
                c for c in p.rglob("*") if c.is_file() and c.suffix.lower() in SUFFIXES
            )
        elif p.is_file():
            yield p
        else:
            raise ExtractError(f"{p}: no such file or folder")


@dataclass
class Discovery:
    """What :func:`discover_sources` found: the sources to load, the files and sheets that hold no
    table of the profile (skipped), and older dated files replaced by a newer one (superseded)."""

    found: list[SourceFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


def discover(paths: Iterable[Path], profile: Profile) -> tuple[list[SourceFile], list[str]]:
    """The canonical tables found in files and folders (the latest of those a pattern matches),
    and notes on files that were skipped."""
    found = discover_sources(paths, profile)
    return found.found, found.skipped


def discover_sources(paths: Iterable[Path], profile: Profile) -> Discovery:
    """The sources in files and folders: each file or sheet is read for every table whose
    ``files`` name it (a file named after a table holds that table); of the files a table's
    patterns match, only the latest is kept (:func:`pick_latest`)."""
    result = Discovery()
    for path in _expand(paths):
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise ExtractError(f"{path}: not a CSV, XLSX or Parquet file")
        names = (path.stem, path.name)
        if suffix == ".xlsx":
            _discover_sheets(path, profile, result)
            continue
        tables = profile.tables_for_file(names)
        for table, by_pattern in tables:
            header_row = profile.mapping(table).header_row if suffix == ".csv" else 1
            result.found.append(SourceFile(path, table, None, header_row, by_pattern))
        if not tables:
            result.skipped.append(f"{path}: file name is not a table of profile '{profile.name}'")
    result.found, result.superseded = pick_latest(result.found)
    return result


def _discover_sheets(path: Path, profile: Profile, result: Discovery) -> None:
    """A workbook's sources: the named ``sheet`` of each table whose ``files`` name the workbook,
    and every other sheet by its own name."""
    sheets = _sheet_names(path)
    by_lower = {s.strip().lower(): s for s in sheets}
    claimed: set[str] = set()
    named = profile.tables_for_file((path.stem, path.name), sheet=True)
    for table, by_pattern in named:
        mapping = profile.mapping(table)
        wanted = (mapping.sheet or "").strip().lower()
        if wanted not in by_lower:
            result.skipped.append(
                f"{path}: has no sheet {mapping.sheet!r}, which the profile reads {table} from "
                f"(its sheets: {', '.join(sheets)})"
            )
            continue
        sheet = by_lower[wanted]
        claimed.add(sheet)
        result.found.append(SourceFile(path, table, sheet, mapping.header_row, by_pattern))
    for sheet in sheets:
        if sheet in claimed:
            continue
        tables = profile.tables_for_file((sheet,), sheet=False)
        for table, by_pattern in tables:
            mapping = profile.mapping(table)
            result.found.append(SourceFile(path, table, sheet, mapping.header_row, by_pattern))
        if not tables and not named:  # a workbook read by sheet: its other sheets are not tables
            result.skipped.append(
                f"{path}[{sheet}]: sheet name is not a table of profile '{profile.name}'"
            )


#: A date in a file name: YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD (not inside a longer number).
_NAME_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})([-_]?)([01][0-9])\2([0-3][0-9])(?![0-9])")


def date_in_name(name: str) -> dt.date | None:
    """The latest valid date written in a file or sheet name, or None."""
    found = []
    for match in _NAME_DATE.finditer(name):
        try:
            found.append(dt.date(int(match[1]), int(match[3]), int(match[4])))
        except ValueError:
            continue
    return max(found, default=None)


def pick_latest(sources: list[SourceFile]) -> tuple[list[SourceFile], list[str]]:
    """Of the sources of one table matched by a pattern, keep the one with the latest date in its
    name (files without one count as older), then the latest modified; the rest are superseded,
    each with a note saying by which file. Sources matched by name are all kept."""
    competing: dict[str, list[SourceFile]] = {}
    for source in sources:
        if source.by_pattern:
            competing.setdefault(source.table, []).append(source)
    dropped: set[SourceFile] = set()
    notes = []
    for table, group in competing.items():
        if len(group) < 2:
            continue

        def newest(s: SourceFile) -> tuple[dt.date, int, str]:
            named = date_in_name(s.path.name) or date_in_name(s.sheet or "")
            return named or dt.date.min, s.path.stat().st_mtime_ns, s.label

        keep = max(group, key=newest)
        for source in sorted(group, key=lambda s: s.label):
            if source is not keep:
                dropped.add(source)
                notes.append(
                    f"{source.label}: superseded by {keep.label} (the latest {table} file matched "
                    "by the profile's pattern is loaded; older ones are not)"
                )
    return [s for s in sources if s not in dropped], notes


def read(source: SourceFile, encoding: str = "utf-8") -> RawTable:
    """A source's rows as text. ``encoding`` is that of a CSV file (workbooks and Parquet files
    say their own)."""
    sink = _ArrowSink()
    found = _read_into(sink, source, encoding)
    return RawTable(found.headers, sink.table(found.headers), found.broken_rows, found.cell_issues)


def read_into(
    con: duckdb.DuckDBPyConnection, source: SourceFile, name: str, encoding: str = "utf-8"
) -> StoredRaw:
    """A source's rows as text, streamed into the temporary table ``name`` of ``con`` (``_row``,
    then one VARCHAR column per header) a block at a time: the file is never whole in memory, and
    the database spills the table to disk past its memory limit. The rows, their numbers, the
    broken rows and the cell issues are exactly those :func:`read` finds."""
    sink = _DuckSink(con, name)
    found = _read_into(sink, source, encoding)
    return StoredRaw(
        found.headers, name, sink.rows, found.broken_rows, found.cell_issues,
        padded=sink.padded_headers(),
    )  # fmt: skip


def _read_into(sink: _Sink, source: SourceFile, encoding: str) -> _Found:
    suffix = source.path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(sink, source.path, encoding, source.header_row)
        if suffix == ".parquet":
            raw = _read_parquet(source.path)
        else:
            raw = _read_sheet(source.path, source.sheet or source.table, source.header_row)
        issues = list(raw.cell_issues)
        sink.start(raw.headers)
        sink.add(_limit_fields(raw.headers, raw.table, issues))
        return _Found(raw.headers, raw.broken_rows, issues)
    except ExtractError:
        raise
    except (OSError, pa.ArrowException, ValueError, KeyError, csv.Error, MemoryError) as exc:
        raise ExtractError(f"{source.label}: cannot be read: {exc}") from exc


def _check_headers(path: str, headers: list[str], header_row: int = 1) -> list[str]:
    cleaned = [h.strip().lstrip("\ufeff") for h in headers]
    if not any(cleaned):
        where = (
            "the first row" if header_row == 1 else f"row {header_row} (the profile's header_row)"
        )
        raise ExtractError(f"{path}: {where} has no column headers")
    seen: set[str] = set()
    for h in cleaned:
        if h.lower() == ROW:
            raise ExtractError(
                f"{path}: the column header {h!r} is reserved by vcop (it numbers the rows); "
                "rename that column"
            )
        if h.lower() in seen:
            raise ExtractError(f"{path}: the column header {h!r} appears twice")
        seen.add(h.lower())
    return cleaned


# -- text: encodings and binary files ------------------------------------------------------------


def _codec(encoding: str) -> str:
    return codecs.lookup(encoding).name


def _is_utf8(encoding: str) -> bool:
    return _codec(encoding) in ("utf-8", "utf-8-sig")


def _python_encoding(encoding: str) -> str:
    """The codec Python reads the file with (a UTF-8 byte-order mark is not part of the text)."""
    return "utf-8-sig" if _is_utf8(encoding) else encoding


def check_text(path: Path, encoding: str = "utf-8") -> None:
    """Raise :class:`ExtractError` unless the whole file is text in ``encoding``: no binary
    content, no NUL byte, every byte sequence valid. The message says where and what to do."""
    wide = _codec(encoding).startswith(("utf-16", "utf-32"))
    with path.open("rb") as f:
        head = f.read(8)
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise ExtractError(f"{path}: is {what}, not a text file of comma-separated values")
        if not wide:
            for bom, name in _WIDE_BOMS:
                if head.startswith(bom):
                    raise ExtractError(
                        f"{path}: is {name} text (Excel's 'Unicode Text'), not {encoding}; save it "
                        f"as 'CSV UTF-8', or declare `encoding: {name.lower()}` in the profile"
                    )
        f.seek(0)
        decoder = codecs.getincrementaldecoder(_python_encoding(encoding))()
        line, offset = 1, 0
        for chunk in iter(lambda: f.read(1 << 20), b""):
            nul = -1 if wide else chunk.find(b"\x00")
            if nul >= 0:
                at = line + chunk.count(b"\n", 0, nul)
                raise ExtractError(
                    f"{path}: is not a text file: it holds a NUL byte on line {at:,} "
                    f"(byte {offset + nul:,}) — a binary file named .csv?"
                )
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = line + bytes(exc.object[: exc.start]).count(b"\n")
                raise _decode_error(
                    path, encoding, bytes(exc.object[exc.start : exc.end]), at
                ) from exc
            line += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _decode_error(path, encoding, bytes(exc.object[exc.start :]), line) from exc


def _decode_error(path: Path, encoding: str, bad: bytes, line: int) -> EncodingError:
    where = f"byte {' '.join(f'0x{b:02X}' for b in bad[:4])} on line {line:,}"
    if not _is_utf8(encoding):
        return EncodingError(
            f"{path}: is not {encoding} text: {where} is not a character in {encoding}; "
            "check the profile's `encoding`",
            where,
        )
    try:
        guess = f" (in Windows-1252 it would be {bad[:1].decode('cp1252')!r})"
    except UnicodeDecodeError:
        guess = ""
    return EncodingError(
        f"{path}: is not UTF-8 text: {where} cannot be read as UTF-8{guess}. Save it as "
        "'CSV UTF-8' and load again, or declare its encoding in the profile (`encoding: cp1252` "
        "for Excel's plain 'CSV' on Windows, or `encoding: latin-1`)",
        where,
    )


def detect_encoding(path: Path, candidates: Iterable[str] = ("utf-8", "cp1252")) -> str:
    """The first of ``candidates`` the whole file reads as. :class:`ExtractError` if the file is
    not text, or is text in none of them."""
    tried = list(candidates)
    first: EncodingError | None = None
    for encoding in tried:
        try:
            check_text(path, encoding)
        except EncodingError as exc:
            first = first or exc
            continue
        return encoding
    assert first is not None
    raise ExtractError(
        f"{path}: is not text in {' or '.join(tried)} ({first.where} is not a character in "
        f"{tried[0]}); save it as UTF-8"
    )


# -- CSV -----------------------------------------------------------------------------------------


@contextmanager
def _big_fields() -> Iterator[None]:
    """Let the csv module read fields up to 2 GB (vcop limits them itself, with a reason)."""
    before = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _csv_header(path: Path, encoding: str, header_row: int = 1) -> tuple[list[str], int]:
    """The headers on record ``header_row``, and how many lines the file has up to them."""
    with _big_fields(), path.open(encoding=_python_encoding(encoding), newline="") as f:
        reader = csv.reader(f)
        first = None
        for _ in range(header_row):
            first = next(reader, None)
            if first is None:
                break
        lines = reader.line_num
    if first is None:
        if header_row == 1:
            raise ExtractError(f"{path}: the file is empty (no header row)")
        raise ExtractError(
            f"{path}: the file ends before row {header_row}, the profile's header_row"
        )
    return _check_headers(str(path), first, header_row), lines


def _read_csv(sink: _Sink, path: Path, encoding: str = "utf-8", header_row: int = 1) -> _Found:
    check_text(path, encoding)
    headers, header_lines = _csv_header(path, encoding, header_row)
    if header_lines != header_row:
        # a record above the headers spans lines: only the careful reader counts records exactly
        return _read_csv_slow(sink, path, headers, encoding, header_row)
    invalid: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row.number or -1)
        return "skip"

    sink.start(headers)
    issues: list[CellIssue] = []
    first = header_row + 1  # the number of the next block's first record
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=headers,
                skip_rows=header_row,
                block_size=_BLOCK_SIZE,
                encoding="utf8" if _is_utf8(encoding) else encoding,
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True,
                # a blank line is not a row, but it is a line: the careful reader numbers rows
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(headers, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            if invalid:
                break
            block = pa.Table.from_batches([batch])
            rows = _numbers(first, block.num_rows)
            first += block.num_rows
            sink.add(_limit_fields(headers, _drop_blank(block.add_column(0, ROW, rows)), issues))
    except pa.ArrowInvalid:
        # e.g. a record longer than a block: the careful reader copes with anything the csv
        # module can split, and reports what it cannot
        return _read_csv_slow(sink, path, headers, encoding, header_row)
    if invalid:
        # Some rows could not be split into the header's fields: read again record by record so
        # every row number is exact, and report the broken rows.
        return _read_csv_slow(sink, path, headers, encoding, header_row)
    return _Found(headers, [], issues)


def _numbers(first: int, count: int) -> pa.Array:
    """first, first + 1, … (``count`` of them) as int64, built from a buffer: ``pa.array`` of a
    range would import pandas (a second or more of a command's start)."""
    import numpy as np

    return pa.Array.from_buffers(
        pa.int64(), count, [None, pa.py_buffer(np.arange(first, first + count, dtype=np.int64))]
    )


def _drop_blank(table: pa.Table) -> pa.Table:
    """The rows that are not blank lines (a blank line is not a row, but keeps its number)."""
    blank = None
    for column in table.columns[1:]:
        # (a length cast to boolean is whether it is not 0: comparing with a Python 0 would
        # make pyarrow import pandas)
        empty = pc.invert(pc.cast(pc.utf8_length(pc.utf8_trim(column, BLANK)), pa.bool_()))
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return table  # no row is blank in every column so far (usually: the first)
    if blank is not None and pc.any(blank).as_py():
        table = table.filter(pc.invert(blank))
    return table


#: Rows the careful reader gathers before it hands them on as one block.
_SLOW_BLOCK_ROWS = 100_000


def _read_csv_slow(
    sink: _Sink, path: Path, headers: list[str], encoding: str = "utf-8", header_row: int = 1
) -> _Found:
    sink.start(headers)
    columns: list[list[str]] = [[] for _ in headers]
    row_numbers: list[int] = []
    broken: list[tuple[int, str]] = []
    issues: list[CellIssue] = []

    def flush() -> None:
        arrays = [pa.array(row_numbers, type=pa.int64())]
        arrays += [pa.array(c, pa.string()) for c in columns]
        sink.add(_limit_fields(headers, pa.table(arrays, names=[ROW, *headers]), issues))
        row_numbers.clear()
        for c in columns:
            c.clear()

    with _big_fields(), path.open(encoding=_python_encoding(encoding), newline="") as f:
        reader = csv.reader(f)
        for _ in range(header_row):
            next(reader)
        number = header_row
        try:
            for number, record in enumerate(reader, start=header_row + 1):
                if not any(v.strip(BLANK) for v in record):
                    continue  # a blank line is not a row
                if len(record) != len(headers):
                    reason = f"the row has {len(record)} fields but the header has {len(headers)}"
                    lines = max(v.count("\n") for v in record)
                    if lines > 10:
                        reason += (
                            f'; one field runs over {lines + 1:,} lines — probably a quote (") '
                            "that is never closed"
                        )
                    broken.append((number, reason))
                    continue
                row_numbers.append(number)
                for i, value in enumerate(record):
                    columns[i].append(value)
                if len(row_numbers) >= _SLOW_BLOCK_ROWS:
                    flush()
        except csv.Error as exc:
            raise ExtractError(
                f"{path}: cannot be read as CSV after row {number:,}: {exc}"
            ) from exc
    flush()
    return _Found(headers, broken, issues)


def _limit_fields(headers: list[str], table: pa.Table, issues: list[CellIssue]) -> pa.Table:
    """Fields longer than MAX_FIELD_CHARS become cell issues (added to ``issues``), and blank, so
    they are not staged."""
    for index, header in enumerate(headers, start=1):
        column = table.column(index)
        # a character is at least a byte: a column with no value that long in bytes has none in
        # characters (the bytes are read from the offsets; the characters need every byte)
        if (pc.max(pc.binary_length(column)).as_py() or 0) <= MAX_FIELD_CHARS:
            continue
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is None or longest <= MAX_FIELD_CHARS:
            continue  # (the usual case, without a Python scalar, which imports pandas)
        too_long = pc.greater(pc.utf8_length(column), MAX_FIELD_CHARS)
        if not pc.any(too_long).as_py():
            continue
        rows = table.column(ROW).filter(too_long).to_pylist()
        values = column.filter(too_long).to_pylist()
        for row, value in zip(rows, values, strict=True):
            reason = (
                f"the {header} field is {len(value):,} characters long; vcop loads at most "
                f"{MAX_FIELD_CHARS:,} characters in one field"
            )
            lines = value.count("\n")
            if lines:
                reason += f" (it runs over {lines + 1:,} lines: is a quote never closed?)"
            issues.append(CellIssue(row, header, value[:40] + "…", reason))
        table = table.set_column(
            index, header, pc.if_else(too_long, pa.scalar("", pa.string()), column)
        )
    return table


# -- Parquet -------------------------------------------------------------------------------------


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq  # here: a load of CSV files need not import it

    table = pq.read_table(path)
    headers = _check_headers(str(path), table.column_names)
    arrays = [column.cast(pa.string()) for column in table.columns]
    rows = pa.array(range(1, table.num_rows + 1), type=pa.int64())
    return RawTable(headers, pa.table([rows, *arrays], names=[ROW, *headers]))


# -- XLSX ----------------------------------------------------------------------------------------


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise ExtractError(f"{path}: cannot be opened as an XLSX workbook: {exc}") from exc
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _formula_text(value: object) -> str:
    text = getattr(value, "text", None)  # an array formula
    return str(text if isinstance(text, str) else value)


def _read_sheet(path: Path, sheet: str, header_row: int = 1) -> RawTable:
    try:
        with warnings.catch_warnings():
            # openpyxl warns, e.g., of a date cell out of range (it then reads it as an error)
            warnings.simplefilter("ignore")
            return _read_sheet_cells(path, sheet, header_row)
    except ExtractError:
        raise
    except Exception as exc:  # openpyxl and its XML parser raise many kinds for a damaged sheet
        raise ExtractError(f"{path}[{sheet}]: cannot be read: {exc}") from exc


def _may_hold_formulas(path: Path, part: str | None) -> bool:
    """Whether the sheet's XML holds a formula or an error cell (if unsure: True). Reading a sheet
    for formulas costs a second pass, so a sheet of plain values is read once."""
    if not part:
        return True
    pattern = re.compile(rb"<(?:\w+:)?f[\s>/]|\st=[\"']e[\"']")
    with zipfile.ZipFile(path) as z, z.open(part.lstrip("/")) as f:
        tail = b""
        for chunk in iter(lambda: f.read(1 << 20), b""):
            if pattern.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def _read_sheet_cells(path: Path, sheet: str, header_row: int = 1) -> RawTable:
    """A sheet's saved values. When the sheet holds formulas it is read twice in step — the saved
    values and the formulas — as a formula cell whose saved value is missing reads as empty among
    the values, and must not load as a blank; and an error cell (``#DIV/0!``) must not load as
    text."""
    import openpyxl

    label = f"{path}[{sheet}]"
    values_wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    formulas_wb = None
    try:
        ws = values_wb[sheet]
        careful = _may_hold_formulas(path, getattr(ws, "_worksheet_path", None))
        rows: Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]
        if careful:
            formulas_wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
            rows = zip(
                ws.iter_rows(min_row=header_row),
                formulas_wb[sheet].iter_rows(min_row=header_row),
                strict=True,
            )
        else:
            rows = ((r, ()) for r in ws.iter_rows(min_row=header_row, values_only=True))
        first = next(rows, None)
        if first is None:
            if header_row == 1:
                raise ExtractError(f"{label}: the sheet is empty (no header row)")
            raise ExtractError(
                f"{label}: the sheet ends before row {header_row}, the profile's header_row"
            )
        header_values = [getattr(c, "value", None) if careful else c for c in first[0]]
        width = len(header_values)
        while width and header_values[width - 1] is None:
            width -= 1
        headers = _check_headers(label, [_cell_text(v) for v in header_values[:width]], header_row)
        columns: list[list[str]] = [[] for _ in headers]
        numbers: list[int] = []
        issues: list[CellIssue] = []
        for number, (cells, formulas) in enumerate(rows, start=header_row + 1):
            if careful:
                values, found = _careful_row(number, headers, cells, formulas)
            else:
                values, found = [_cell_text(v) for v in cells[:width]], []
                values += [""] * (width - len(values))
            if not found and not any(v.strip() for v in values):
                continue
            numbers.append(number)
            issues.extend(found)
            for i, v in enumerate(values):
                columns[i].append(v)
    finally:
        values_wb.close()
        if formulas_wb is not None:
            formulas_wb.close()
    arrays = [pa.array(numbers, pa.int64())] + [pa.array(c, pa.string()) for c in columns]
    return RawTable(headers, pa.table(arrays, names=[ROW, *headers]), cell_issues=issues)


def _careful_row(
    number: int, headers: list[str], cells: tuple[Any, ...], formulas: tuple[Any, ...]
) -> tuple[list[str], list[CellIssue]]:
    """One row's texts from its value cells and formula cells, and the cells that cannot load."""
    values: list[str] = []
    found: list[CellIssue] = []
    for i, header in enumerate(headers):
        cell = cells[i] if i < len(cells) else None
        formula = formulas[i] if i < len(formulas) else None
        value = getattr(cell, "value", None)
        kind = getattr(cell, "data_type", "n")
        if value is None and getattr(formula, "data_type", None) == "f" and kind != "str":
            # (kind 'str' with no value: a formula whose saved result is the empty string)
            text = _formula_text(getattr(formula, "value", ""))
            values.append(text)
            found.append(
                CellIssue(
                    number,
                    header,
                    text,
                    f"the {header} cell is a formula ({text}) with no saved value; open the "
                    "workbook in Excel and save it (or paste values) so its results are stored",
                )
            )
        elif kind == "e":
            values.append(str(value))
            found.append(
                CellIssue(
                    number,
                    header,
                    str(value),
                    f"the {header} cell holds the spreadsheet error {value}, not a value",
                )
            )
        else:
            values.append(_cell_text(value))
    return values, found
