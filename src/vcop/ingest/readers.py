"""Find the files of an extract and read each into an Arrow table of strings.

Every value is read as text, exactly as written; parsing and validation happen later, in one
place (:mod:`vcop.ingest.validate`), so a value that cannot be parsed is reported, never silently
turned into a blank. Each row carries ``_row``: the row number a person would look for — in a CSV
the record number counting the header as row 1 (so the first data row is row 2), in a workbook
the spreadsheet row, in Parquet the 1-based record number.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vcop.spec.profile import Profile

SUFFIXES = {".csv", ".xlsx", ".parquet"}


class ExtractError(Exception):
    """A file that cannot be read at all. The message names the file."""


@dataclass(frozen=True)
class SourceFile:
    """One table's worth of an extract: a CSV or Parquet file, or one sheet of a workbook."""

    path: Path
    table: str
    sheet: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path}[{self.sheet}]" if self.sheet else str(self.path)


@dataclass
class RawTable:
    """A file's rows as text, plus the rows that could not even be split into fields."""

    headers: list[str]
    table: pa.Table  # columns: _row (int64) then one string column per header, in order
    broken_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
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


def discover(paths: Iterable[Path], profile: Profile) -> tuple[list[SourceFile], list[str]]:
    """The canonical tables found in files and folders, and notes on files that were skipped."""
    found: list[SourceFile] = []
    skipped: list[str] = []
    for path in _expand(paths):
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise ExtractError(f"{path}: not a CSV, XLSX or Parquet file")
        if suffix == ".xlsx":
            for sheet in _sheet_names(path):
                table = profile.table_for_file(sheet)
                if table:
                    found.append(SourceFile(path, table, sheet))
                else:
                    skipped.append(
                        f"{path}[{sheet}]: sheet name is not a table of profile '{profile.name}'"
                    )
            continue
        table = profile.table_for_file(path.stem)
        if table:
            found.append(SourceFile(path, table))
        else:
            skipped.append(f"{path}: file name is not a table of profile '{profile.name}'")
    return found, skipped


def read(source: SourceFile) -> RawTable:
    suffix = source.path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(source.path)
        if suffix == ".parquet":
            return _read_parquet(source.path)
        return _read_sheet(source.path, source.sheet or source.table)
    except ExtractError:
        raise
    except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
        raise ExtractError(f"{source.label}: cannot be read: {exc}") from exc


def _check_headers(path: str, headers: list[str]) -> list[str]:
    cleaned = [h.strip().lstrip("\ufeff") for h in headers]
    if not any(cleaned):
        raise ExtractError(f"{path}: the first row has no column headers")
    seen: set[str] = set()
    for h in cleaned:
        if h.lower() in seen:
            raise ExtractError(f"{path}: the column header {h!r} appears twice")
        seen.add(h.lower())
    return cleaned


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        try:
            first = next(csv.reader(f), None)
        except UnicodeDecodeError as exc:
            raise ExtractError(
                f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                "save it as 'CSV UTF-8' and load again"
            ) from exc
    if first is None:
        raise ExtractError(f"{path}: the file is empty (no header row)")
    return _check_headers(str(path), first)


def _read_csv(path: Path) -> RawTable:
    headers = _csv_header(path)
    invalid: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row.number or -1)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=headers, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(headers, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            raise ExtractError(
                f"{path}: is not UTF-8 text; save it as 'CSV UTF-8' and load again"
            ) from exc
        raise ExtractError(f"{path}: cannot be read as CSV: {exc}") from exc
    if invalid:
        # Some rows could not be split into the header's fields: read again record by record so
        # every row number is exact, and report the broken rows.
        return _read_csv_slow(path, headers)
    rows = pa.array(range(2, table.num_rows + 2), type=pa.int64())
    return RawTable(headers, table.add_column(0, "_row", rows))


def _read_csv_slow(path: Path, headers: list[str]) -> RawTable:
    columns: list[list[str]] = [[] for _ in headers]
    row_numbers: list[int] = []
    broken: list[tuple[int, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for number, record in enumerate(reader, start=2):
            if len(record) != len(headers):
                if not any(v.strip() for v in record):
                    continue  # a blank line is not a row
                broken.append(
                    (number, f"the row has {len(record)} fields but the header has {len(headers)}")
                )
                continue
            row_numbers.append(number)
            for i, value in enumerate(record):
                columns[i].append(value)
    arrays = [pa.array(row_numbers, type=pa.int64())] + [pa.array(c, pa.string()) for c in columns]
    return RawTable(headers, pa.table(arrays, names=["_row", *headers]), broken)


def _read_parquet(path: Path) -> RawTable:
    table = pq.read_table(path)
    headers = _check_headers(str(path), table.column_names)
    arrays = [column.cast(pa.string()) for column in table.columns]
    rows = pa.array(range(1, table.num_rows + 1), type=pa.int64())
    return RawTable(headers, pa.table([rows, *arrays], names=["_row", *headers]))


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
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


def _read_sheet(path: Path, sheet: str) -> RawTable:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise ExtractError(f"{path}[{sheet}]: the sheet is empty (no header row)")
        width = len(first)
        while width and first[width - 1] is None:
            width -= 1
        headers = _check_headers(f"{path}[{sheet}]", [_cell_text(v) for v in first[:width]])
        columns: list[list[str]] = [[] for _ in headers]
        numbers: list[int] = []
        for number, record in enumerate(rows, start=2):
            values = [_cell_text(v) for v in record[:width]]
            if not any(v.strip() for v in values):
                continue
            values += [""] * (width - len(values))
            numbers.append(number)
            for i, v in enumerate(values):
                columns[i].append(v)
    finally:
        wb.close()
    arrays = [pa.array(numbers, pa.int64())] + [pa.array(c, pa.string()) for c in columns]
    return RawTable(headers, pa.table(arrays, names=["_row", *headers]))
