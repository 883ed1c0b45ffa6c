"""An export's files as a profile describes them: which file holds each table, the row its headers
are on, the rows it keeps, the transforms on its text and the codes it maps.

`vcop profile init` and `vcop profile check` read exports through these small functions; they
follow the agreed profile format (file patterns with the latest dated file chosen, ``sheet``,
``header_row``, ``where``, ``transforms``, ``values`` naming a shipped code list, ``unmapped``).
A profile is read here as plain YAML data (a dict), so a draft with TODOs left in it can still be
checked and reported on, line by line.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from vcop.ingest.readers import (
    ROW,
    SUFFIXES,
    ExtractError,
    RawTable,
    SourceFile,
    _cell_text,
    _sheet_names,
    check_text,
    read,
)
from vcop.spec.schema import Table

#: A date in a file name: 20250630, 2025-06-30 or 2025_06_30.
NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d)")
#: The operations a profile's ``transforms`` may apply, in the agreed format.
TRANSFORMS = ("trim", "strip_thousands", "upper", "lower")
#: Thousands separators: a comma between digits.
THOUSANDS = re.compile(r"(?<=\d),(?=\d)")
#: What ``unmapped`` may say of a column.
UNMAPPED = ("reject", "blank")
MODES = ("delta", "full")


def norm(text: str) -> str:
    """A header or name compared ignoring case, spaces, underscores, hyphens and full stops."""
    return " ".join(re.sub(r"[\s_\-./]+", " ", text.casefold()).split())


# -- files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """A CSV or Parquet file, or one sheet of a workbook."""

    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name

    @property
    def is_workbook(self) -> bool:
        return self.path.suffix.lower() == ".xlsx"

    @property
    def name_date(self) -> dt.date | None:
        return name_date(self.path.stem)


def name_date(name: str) -> dt.date | None:
    """The last date written in a file name (YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD), if any."""
    for match in reversed(list(NAME_DATE.finditer(name))):
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return None


def name_pattern(stem: str) -> str:
    """A file stem as a pattern matching its other dated copies: ``People_20250630`` → ``People_*``."""
    for match in reversed(list(NAME_DATE.finditer(stem))):
        try:
            dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
        return stem[: match.start()] + "*" + stem[match.end() :]
    return stem


def export_files(paths: Iterable[Path]) -> list[ExportFile]:
    """Every CSV and Parquet file and every workbook sheet in ``paths`` (files or folders)."""
    found: list[ExportFile] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(c for c in p.rglob("*") if c.is_file() and c.suffix.lower() in SUFFIXES)
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                raise ExtractError(f"{p}: not a CSV, XLSX or Parquet file")
            files = [p]
        else:
            raise ExtractError(f"{p}: no such file or folder")
        for f in files:
            if f.suffix.lower() == ".xlsx":
                found.extend(ExportFile(f, s) for s in _sheet_names(f))
            else:
                found.append(ExportFile(f))
    return found


def _entry_matches(entry: str, name: str) -> bool:
    entry, name = entry.strip().casefold(), name.strip().casefold()
    if "*" in entry or "?" in entry:
        return fnmatch.fnmatchcase(name, entry)
    return entry == name


def file_matches(file: ExportFile, table: str, mapping: Mapping[str, Any]) -> bool:
    """Whether a table's ``files`` (stems, sheet names or patterns; the table's own name always
    counts) and ``sheet`` take this file or sheet."""
    entries = [table, *(str(e) for e in mapping.get("files") or ())]
    sheet = mapping.get("sheet")
    if file.is_workbook and sheet is not None:
        if str(sheet).strip().casefold() != (file.sheet or "").casefold():
            return False
        names = [file.path.stem, file.sheet or ""]
    else:
        names = [file.sheet if file.is_workbook and file.sheet else file.path.stem]
    return any(_entry_matches(e, n) for e in entries for n in names)


def choose_latest(files: list[ExportFile]) -> tuple[ExportFile | None, list[ExportFile]]:
    """The file to load among several that match one table, and the superseded others: the latest
    date in the name, else the latest modified."""
    if not files:
        return None, []

    def key(f: ExportFile) -> tuple[dt.date, float, str]:
        return (f.name_date or dt.date.min, os.stat(f.path).st_mtime, f.label)

    ordered = sorted(files, key=key)
    return ordered[-1], ordered[:-1]


# -- reading -------------------------------------------------------------------------------------


def read_file(file: ExportFile, encoding: str = "utf-8", header_row: int = 1) -> RawTable:
    """The rows of a file or sheet as text, the headers on ``header_row`` (1-based). Row numbers
    are those a person would look for in the file."""
    if header_row <= 1 or file.path.suffix.lower() == ".parquet":
        return read(SourceFile(file.path, "", file.sheet), encoding)
    rows = list(_numbered_rows(file, encoding))
    for number, cells in rows:
        if number == header_row:
            headers = _headers(file.label, cells, header_row)
            break
    else:
        raise ExtractError(f"{file.label}: has no row {header_row} (header_row)")
    width = len(headers)
    columns: list[list[str]] = [[] for _ in headers]
    numbers: list[int] = []
    for number, cells in rows:
        if number <= header_row or not any(c.strip() for c in cells):
            continue
        numbers.append(number)
        cells = (cells + [""] * width)[:width]
        for i, value in enumerate(cells):
            columns[i].append(value)
    arrays = [pa.array(numbers, pa.int64())] + [pa.array(c, pa.string()) for c in columns]
    return RawTable(headers, pa.table(arrays, names=[ROW, *headers]))


def _headers(label: str, cells: list[str], header_row: int) -> list[str]:
    cleaned = [c.strip().lstrip("\ufeff") for c in cells]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    if not any(cleaned):
        raise ExtractError(f"{label}: row {header_row} (header_row) holds no column headers")
    seen: set[str] = set()
    for h in cleaned:
        if not h or h.lower() in seen or h.lower() == ROW:
            raise ExtractError(
                f"{label}: row {header_row} (header_row) has a blank, repeated or reserved "
                f"header {h!r}"
            )
        seen.add(h.lower())
    return cleaned


def peek_rows(file: ExportFile, encoding: str = "utf-8", n: int = 20) -> list[list[str]]:
    """The first ``n`` rows of a file or sheet, as text (blank rows included)."""
    out = []
    for _, cells in _numbered_rows(file, encoding):
        out.append(cells)
        if len(out) >= n:
            break
    return out


def _numbered_rows(file: ExportFile, encoding: str) -> Iterator[tuple[int, list[str]]]:
    suffix = file.path.suffix.lower()
    if suffix == ".csv":
        check_text(file.path, encoding)
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        with file.path.open(encoding=codec, newline="") as f:
            yield from enumerate(csv.reader(f), start=1)
    elif suffix == ".xlsx":
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(file.path, read_only=True, data_only=True)
        try:
            ws = wb[file.sheet or wb.sheetnames[0]]
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        finally:
            wb.close()
    else:
        raw = read(SourceFile(file.path, ""), encoding)
        yield 1, list(raw.headers)
        for i, record in enumerate(raw.table.drop_columns([ROW]).to_pylist(), start=2):
            yield i, ["" if v is None else str(v) for v in record.values()]


def find_header_row(rows: list[list[str]]) -> int:
    """The 1-based row holding a table's headers below any title rows: the first row that is as
    wide as the table below it and holds only text that is not a number."""
    widths = [sum(1 for c in r if c.strip()) for r in rows]
    if not widths:
        return 1
    widest = max(widths)
    for i, (cells, width) in enumerate(zip(rows, widths, strict=True)):
        if width < max(2, widest * 0.8):
            continue
        texts = [c.strip() for c in cells if c.strip()]
        if all(not re.fullmatch(r"[\d.,:/\-\s]+", t) for t in texts):
            return i + 1
    return 1


# -- rows kept, transforms, codes ----------------------------------------------------------------


def header_index(headers: list[str]) -> dict[str, str]:
    """Header as compared (case-insensitively, trimmed) -> header as written."""
    return {h.strip().casefold(): h for h in headers}


def where_values(condition: Any) -> list[str]:
    values = condition if isinstance(condition, list) else [condition]
    return [str(v).strip().casefold() for v in values]


def apply_where(raw: RawTable, where: Mapping[str, Any]) -> tuple[RawTable, Counter[str]]:
    """Only the rows whose headers hold the values ``where`` names (trimmed, ignoring case), and
    a count of the rows left out by their value (of the first header named)."""
    if not where:
        return raw, Counter()
    index = header_index(raw.headers)
    keep = None
    dropped: Counter[str] = Counter()
    for header, condition in where.items():
        source = index.get(str(header).strip().casefold())
        if source is None:
            raise ExtractError(f"where: no header {header!r} in the file")
        column = pc.utf8_lower(pc.utf8_trim_whitespace(raw.table.column(source)))
        match = pc.is_in(column, pa.array(where_values(condition), pa.string()))
        if keep is None:
            for value in raw.table.column(source).filter(pc.invert(match)).to_pylist():
                dropped[value] += 1
        keep = match if keep is None else pc.and_(keep, match)
    assert keep is not None
    rows = set(raw.table.column(ROW).filter(keep).to_pylist())
    issues = [i for i in raw.cell_issues if i.row in rows]
    return RawTable(raw.headers, raw.table.filter(keep), raw.broken_rows, issues), dropped


def transform_text(value: str, operations: Iterable[str]) -> str:
    for op in operations:
        if op == "trim":
            value = value.strip()
        elif op == "strip_thousands":
            value = THOUSANDS.sub("", value)
        elif op == "upper":
            value = value.upper()
        elif op == "lower":
            value = value.lower()
        else:
            raise ValueError(f"unknown transform {op!r}; use one of {', '.join(TRANSFORMS)}")
    return value


def apply_transforms(raw: RawTable, transforms: Mapping[str, Any]) -> RawTable:
    """The table with each named header's text transformed (``transforms`` in the profile)."""
    if not transforms:
        return raw
    index = header_index(raw.headers)
    table = raw.table
    for header, operations in transforms.items():
        source = index.get(str(header).strip().casefold())
        if source is None:
            continue  # reported by the check
        ops = [str(o) for o in (operations or [])]
        values = [transform_text(v or "", ops) for v in table.column(source).to_pylist()]
        table = table.set_column(
            table.column_names.index(source), source, pa.array(values, pa.string())
        )
    return RawTable(raw.headers, table, raw.broken_rows, raw.cell_issues)


def value_counts(raw: RawTable, header: str) -> Counter[str]:
    """Each distinct non-blank value of a column (trimmed) and how many rows hold it."""
    counts: Counter[str] = Counter()
    for value in raw.table.column(header).to_pylist():
        text = (value or "").strip()
        if text:
            counts[text] += 1
    return counts


# -- code lists ----------------------------------------------------------------------------------


@cache
def shipped_code_lists() -> dict[str, dict[str, str]]:
    """Name -> {code or label: canonical value} of every code list shipped in
    definitions/codelists (read by :mod:`vcop.spec.codelists`, as the loader reads them)."""
    from vcop.spec.codelists import codelist_names, load_codelist

    return {name: load_codelist(name).values for name in codelist_names()}


def code_map(spec: Any, code_lists: Mapping[str, Mapping[str, str]]) -> dict[str, str | None]:
    """A ``values`` entry as {source code (lower case): canonical value, or None if left blank}:
    the named code list, or the mapping written out. KeyError for an unknown list."""
    if isinstance(spec, str):
        return {k.strip().casefold(): v for k, v in code_lists[spec].items()}
    if isinstance(spec, dict):
        return {
            _text(k).strip().casefold(): (None if v is None else _text(v)) for k, v in spec.items()
        }
    return {}


def _text(value: Any) -> str:
    """A YAML scalar as the text it was meant as (``yes`` read as True is ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- a table as the profile maps it --------------------------------------------------------------


def mapped_headers(table: Table, mapping: Mapping[str, Any], headers: list[str]) -> dict[str, str]:
    """Canonical column -> source header: the profile's ``columns`` (headers compared ignoring
    case), then headers that are canonical column names. Ignored headers never map."""
    columns = {str(k).strip().casefold(): str(v) for k, v in (mapping.get("columns") or {}).items()}
    ignored = {str(h).strip().casefold() for h in (mapping.get("ignore") or ())}
    out: dict[str, str] = {}
    for header in headers:
        key = header.strip().casefold()
        if key in ignored:
            continue
        if key in columns:
            target: str | None = columns[key]
        else:
            normal = re.sub(r"[\s\-]+", "_", key)
            target = normal if normal in table.column_names else None
        if target and target in table.column_names and target not in out:
            out[target] = header
    return out


@dataclass
class Prepared:
    """A file's rows ready for the loader: kept by ``where``, transformed, unknown codes blanked
    where the profile says ``unmapped: blank``."""

    raw: RawTable
    columns: dict[str, str]  # canonical column -> source header
    values: dict[str, dict[str, str]]  # canonical column -> {code: canonical value}
    filtered_out: Counter[str] = field(default_factory=Counter)
    blanked: dict[str, Counter[str]] = field(default_factory=dict)  # column -> code -> rows


def prepare(
    raw: RawTable,
    table: Table,
    mapping: Mapping[str, Any],
    code_lists: Mapping[str, Mapping[str, str]],
) -> Prepared:
    """Apply a table mapping's ``where``, ``transforms``, ``values`` and ``unmapped`` to a file."""
    raw, filtered = apply_where(raw, mapping.get("where") or {})
    raw = apply_transforms(raw, mapping.get("transforms") or {})
    columns = mapped_headers(table, mapping, raw.headers)
    values: dict[str, dict[str, str]] = {}
    for column, spec in (mapping.get("values") or {}).items():
        try:
            codes = code_map(spec, code_lists)
        except KeyError:
            continue  # reported by the check
        values[str(column)] = {k: v for k, v in codes.items() if v is not None}
    blanked: dict[str, Counter[str]] = {}
    unmapped = mapping.get("unmapped") or {}
    constants = {str(k): _text(v) for k, v in (mapping.get("constants") or {}).items()}
    table_data = raw.table
    for column, how in unmapped.items():
        if how != "blank" or column not in columns:
            continue
        header = columns[column]
        known = set(values.get(column, {}))
        allowed = {a.casefold() for a in (table.column(column).allowed or ())}
        texts = table_data.column(header).to_pylist()
        out, counts = [], Counter[str]()
        for text in texts:
            key = (text or "").strip().casefold()
            if key and key not in known and key not in allowed:
                counts[(text or "").strip()] += 1
                out.append("")
            else:
                out.append(text)
        if counts:
            blanked[column] = counts
            index = table_data.column_names.index(header)
            table_data = table_data.set_column(index, header, pa.array(out, pa.string()))
    for column, value in constants.items():
        if column in table.column_names and column not in columns:
            header = f"{column} (constant)"
            table_data = table_data.append_column(
                header, pa.array([value] * table_data.num_rows, pa.string())
            )
            columns[column] = header
    headers = [*raw.headers, *(h for h in table_data.column_names[1:] if h not in raw.headers)]
    return Prepared(
        RawTable(headers, table_data, raw.broken_rows, raw.cell_issues),
        columns,
        values,
        filtered,
        blanked,
    )
