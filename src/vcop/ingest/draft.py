"""`vcop profile init`: draft a mapping profile from an unknown export.

For each file (CSV, Parquet, or workbook sheet) the draft finds the row holding its headers,
guesses the canonical table it holds from how many of its headers match that table's columns,
and maps each header: by the column's name, by the synonyms shipped in
``definitions/profiles/drafting/synonyms.yaml``, or — marked TODO — by a close resemblance; a
header whose values do not fit the column's type is marked TODO too. It detects the date formats
the files write, thousands separators in references, the encoding of CSV files, dated file names
(drafted as a pattern: the latest dated file loads) and, in a file of people with a role column,
a ``where:`` filter keeping the victims. Every distinct code of a coded column is listed with its
count: mapped where that is certain (the code is the canonical value, or a shipped code list
covers every code), else suggested or left ``null`` with a TODO. Headers it cannot place are
listed under ``ignore:`` with a TODO; headers whose values look like personal details are ignored
for good.

The result is YAML text with comments, in the agreed profile format: the analyst edits the TODO
lines and runs `vcop profile check`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vcop.ingest.guess import (
    DATE_FORMATS,
    GROUPED,
    SCREEN_SAMPLE,
    FileDraft,
    detect_date_formats,
    guess_table,
    load_synonyms,
    looks_id,
    resolve_conflicts,
    role_header,
    screened,
    type_fit,
)
from vcop.ingest.profile_files import (
    ExportFile,
    apply_where,
    choose_latest,
    export_files,
    find_header_row,
    name_pattern,
    norm,
    peek_rows,
    read_file,
    shipped_code_lists,
    transform_text,
    value_counts,
)
from vcop.ingest.readers import detect_encoding
from vcop.ingest.validate import FALSE_WORDS, TRUE_WORDS
from vcop.privacy import personal_share
from vcop.spec.schema import Column, Table, load_schema

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _()&'-]*[A-Za-z0-9)]|[A-Za-z]")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none", "~"}


# -- the draft ------------------------------------------------------------------------------------


@dataclass
class Line:
    """One line of the draft's YAML: text, a comment, and whether it is a TODO."""

    text: str
    comment: str = ""
    todo: bool = False

    def render(self, indent: int) -> str:
        pad = " " * indent
        note = ("TODO: " if self.todo else "") + self.comment
        if not self.text:
            return f"{pad}# {note}".rstrip()
        return f"{pad}{self.text}" + (f"  # {note}" if note else "")


@dataclass
class Draft:
    """A drafted profile: its YAML text, and what was found, for the command's summary."""

    text: str
    tables: dict[str, FileDraft]
    unmatched: list[FileDraft]
    todos: int


# -- drafting -------------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A YAML scalar for ``text`` that reads back as the same text."""
    if _PLAIN.fullmatch(text) and text.casefold() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _counts(values: Counter[str], limit: int = 12) -> str:
    shown = ", ".join(f"{_q(v)} {n:,}" for v, n in values.most_common(limit))
    return shown + (f", … ({len(values) - limit} more)" if len(values) > limit else "")


@dataclass
class _TableText:
    """The lines drafted for one table, section by section."""

    head: list[Line] = field(default_factory=list)
    columns: list[Line] = field(default_factory=list)
    ignore: list[Line] = field(default_factory=list)
    transforms: list[Line] = field(default_factory=list)
    codes: list[Line] = field(default_factory=list)  # comments before `values:`
    values: list[Line] = field(default_factory=list)
    unmapped: list[Line] = field(default_factory=list)


class Drafter:
    def __init__(self, paths: list[Path], code_lists: Mapping[str, Mapping[str, str]] | None):
        self.paths = paths
        self.schema = load_schema()
        self.syn = load_synonyms()
        self.code_lists = dict(shipped_code_lists() if code_lists is None else code_lists)
        self.date_formats: Counter[str] = Counter()
        self.date_notes: list[str] = []
        self.ambiguous_dates = False

    def encoding(self, files: list[ExportFile]) -> tuple[str, str]:
        found = {detect_encoding(f.path) for f in files if f.path.suffix.lower() == ".csv"}
        if found <= {"utf-8"}:
            return "utf-8", ""
        return "cp1252", "the CSV files are not UTF-8: cp1252 is Excel's plain 'CSV' on Windows"

    def read(self, files: list[ExportFile], encoding: str) -> list[FileDraft]:
        groups: dict[tuple[str, str | None], list[ExportFile]] = {}
        for f in files:
            key = (name_pattern(f.path.stem).casefold(), (f.sheet or "").casefold() or None)
            groups.setdefault(key, []).append(f)
        drafts = []
        for group in groups.values():
            chosen, superseded = choose_latest(group)
            assert chosen is not None
            header_row = find_header_row(peek_rows(chosen, encoding))
            raw = read_file(chosen, encoding, header_row)
            pattern = name_pattern(chosen.path.stem)
            drafts.append(
                FileDraft(chosen, header_row, raw, superseded=superseded, pattern=pattern)
            )
        return drafts

    def draft(self, name: str) -> Draft:
        files = export_files(self.paths)
        encoding, encoding_note = self.encoding(files)
        drafts = self.read(files, encoding)
        for d in drafts:
            guess_table(d, self.schema, self.syn)
        tables: dict[str, FileDraft] = {}
        unmatched = []
        for d in sorted(drafts, key=lambda d: -d.score):
            if d.table is None or d.table in tables:
                unmatched.append(d)
            else:
                tables[d.table] = d
        order = {t: i for i, t in enumerate(self.schema.load_order())}
        texts = {t: self.table_text(tables[t]) for t in sorted(tables, key=lambda t: order[t])}
        text = self.render(name, encoding, encoding_note, texts, unmatched)
        todos = sum(1 for line in text.splitlines() if "TODO:" in line)
        return Draft(text, tables, sorted(unmatched, key=lambda d: d.file.label), todos)

    # one table

    def table_text(self, d: FileDraft) -> _TableText:
        assert d.table is not None
        table = self.schema.table(d.table)
        out = _TableText()
        raw = d.raw
        role = role_header(d, self.syn) if "victim_id" in table.column_names else None
        self.file_lines(d, out)
        if role is not None:
            header, value, counts = role
            raw, _ = apply_where(raw, {header: value})
            others = Counter({v: n for v, n in counts.items() if v != value})
            out.head.append(
                Line(
                    f"where: {{{_q(header)}: {_q(value)}}}",
                    f"keep only the rows of {value}s ({counts[value]:,}); the file also holds "
                    f"{_counts(others)}",
                    todo=True,
                )
            )
        resolve_conflicts(d.guesses)
        ids_grouped: list[tuple[str, str]] = []
        for g in d.guesses:
            if role is not None and g.header == role[0]:
                out.ignore.append(Line(f"- {_q(g.header)}", "read only by where: above"))
                continue
            values = value_counts(raw, g.header)
            if g.column is None or screened(table.column(g.column)):
                personal = self.personal(values)
                if personal:
                    out.ignore.append(Line(f"- {_q(g.header)}", personal))
                    continue
            if g.column is None:
                out.ignore.append(Line(f"- {_q(g.header)}", g.note or "map or keep ignored", True))
                continue
            column = table.column(g.column)
            if looks_id(g.column, table) and any(GROUPED.fullmatch(v) for v in values):
                example = next(v for v in values if GROUPED.fullmatch(v))
                ids_grouped.append((g.header, example))
                values = Counter(
                    {transform_text(v, ["strip_thousands"]): n for v, n in values.items()}
                )
            misfit = type_fit(column, values)
            todo = not g.certain or bool(misfit)
            note = "; ".join(n for n in (g.note, misfit) if n)
            if todo and not note:
                note = f"{g.header!r} is a synonym of more than one column; check"
            out.columns.append(
                Line(
                    f"{_q(g.header)}: {g.column}",
                    note + ("; check" if g.note and not misfit else ""),
                    todo,
                )
            )
            if not misfit:
                self.column_values(table, column, g.header, values, out)
        for header, example in ids_grouped:
            out.transforms.append(
                Line(f"{_q(header)}: [strip_thousands]", f"references written like {example}")
            )
        mapped = {g.column for g in d.guesses if g.column}
        for c in table.columns:
            if c.required and c.name not in mapped and c.name != "agency":
                out.columns.append(
                    Line("", f"required column {c.name} not found: map a header to it", True)
                )
        return out

    def file_lines(self, d: FileDraft, out: _TableText) -> None:
        f = d.file
        entry = d.pattern
        rows = f"{d.raw.table.num_rows:,} rows"
        note = f"{f.path.name}: {rows}"
        if d.superseded:
            older = ", ".join(s.label for s in d.superseded)
            note += f"; also matches {older} (older: superseded, not loaded)"
        out.head.append(Line(f"files: [{_q(entry)}]", note))
        if f.is_workbook and f.sheet:
            out.head.append(Line(f"sheet: {_q(f.sheet)}"))
        if d.header_row > 1:
            out.head.append(
                Line(
                    f"header_row: {d.header_row}",
                    f"rows 1-{d.header_row - 1} are a title"
                    if d.header_row > 2
                    else "row 1 is a title",
                )
            )
        out.head.append(
            Line(
                "",
                "mode: full  # uncomment if each file is a whole snapshot (rows missing from it are retired)",
            )
        )

    def personal(self, values: Counter[str]) -> str:
        sample = [v for v, _ in values.most_common(SCREEN_SAMPLE)]
        found, present = personal_share(sample)
        if found >= 3 or (present and found / present >= 0.01):
            return (
                f"never load: {found:,} of {present:,} distinct values look like personal details "
                "(phone numbers, email or street addresses, postcodes)"
            )
        return ""

    def column_values(
        self, table: Table, column: Column, header: str, values: Counter[str], out: _TableText
    ) -> None:
        if column.type in ("datetime", "date"):
            found = detect_date_formats(values.elements())
            for fmt in found.formats:
                self.date_formats[fmt] += 1
            self.ambiguous_dates = self.ambiguous_dates or found.ambiguous
            if found.unparsed:
                self.date_notes.append(
                    f"{table.name}.{column.name} ({header}): {sum(found.unparsed.values()):,} "
                    f"value(s) fit no date format and will be rejected: {_counts(found.unparsed, 3)}"
                )
            return
        if column.type == "boolean":
            words = set(TRUE_WORDS + FALSE_WORDS)
            if all(v.casefold() in words for v in values):
                return
            allowed: tuple[str, ...] = ("true", "false")
        elif column.allowed:
            allowed = column.allowed
        else:
            return
        self.codes(table, column, header, values, allowed, out)

    def codes(
        self,
        table: Table,
        column: Column,
        header: str,
        values: Counter[str],
        allowed: tuple[str, ...],
        out: _TableText,
    ) -> None:
        by_fold = {a.casefold(): a for a in allowed}
        if column.type == "boolean":  # yes/no, y/n, 1/0 are read as they are
            by_fold = {w: "true" for w in TRUE_WORDS} | {w: "false" for w in FALSE_WORDS}
        by_norm = {norm(a): a for a in allowed}
        native = Counter({v: n for v, n in values.items() if v.casefold() in by_fold})
        rest = Counter({v: n for v, n in values.items() if v.casefold() not in by_fold})
        name = column.name
        if not rest:
            if native:
                out.codes.append(
                    Line(
                        "",
                        f"{name}: every code is a canonical value (matched ignoring case): {_counts(native)}",
                    )
                )
            return
        listed = self.code_list_for(rest, allowed)
        if listed is not None:
            list_name, missing = listed
            if not missing:
                out.values.append(
                    Line(f"{name}: {list_name}", f"shipped code list; codes: {_counts(values)}")
                )
                return
            if not column.required:
                out.values.append(
                    Line(
                        f"{name}: {list_name}",
                        f"shipped code list; codes: {_counts(values)}; not in the list: "
                        f"{_counts(missing)} (see unmapped)",
                    )
                )
                out.unmapped.append(
                    Line(
                        f"{name}: reject",
                        f"{sum(missing.values()):,} row(s) hold codes not in {list_name} "
                        f"({_counts(missing, 5)}): blank loads them with {name} blank, reject "
                        "refuses those rows",
                        True,
                    )
                )
                return
        hints = self.syn.codes.get(name, {})
        if column.type == "boolean":
            hints = {"t": "true", "f": "false"}
        out.values.append(Line(f"{name}:", f"{_q(header)}: {len(values)} code(s)"))
        for code, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])):
            rows = f"{n:,} row{'s' if n != 1 else ''}"
            if code.casefold() in by_fold:
                out.values.append(
                    Line(f"  {json.dumps(code)}: {_q(by_fold[code.casefold()])}", rows)
                )
            elif norm(code).replace(" ", "_") in by_norm or norm(code) in by_norm:
                target = by_norm.get(norm(code).replace(" ", "_")) or by_norm[norm(code)]
                out.values.append(Line(f"  {json.dumps(code)}: {_q(target)}", rows))
            elif code.casefold() in hints and hints[code.casefold()] in allowed:
                target = hints[code.casefold()]
                out.values.append(
                    Line(f"  {json.dumps(code)}: {_q(target)}", f"{rows}; suggested: check", True)
                )
            else:
                shown = ", ".join(allowed[:10]) + (", …" if len(allowed) > 10 else "")
                out.values.append(
                    Line(f"  {json.dumps(code)}: null", f"{rows}; one of: {shown}", True)
                )

    def code_list_for(
        self, codes: Counter[str], allowed: tuple[str, ...]
    ) -> tuple[str, Counter[str]] | None:
        """The shipped code list whose targets are allowed values and which covers the most of
        ``codes`` (at least half their rows), and the codes it does not cover."""
        folded = {a.casefold() for a in allowed}
        best: tuple[int, str, Counter[str]] | None = None
        total = sum(codes.values())
        for list_name, pairs in self.code_lists.items():
            if not pairs or not all(v.casefold() in folded for v in pairs.values()):
                continue
            keys = {k.strip().casefold() for k in pairs}
            missing = Counter({c: n for c, n in codes.items() if c.casefold() not in keys})
            covered = total - sum(missing.values())
            if covered * 2 >= total and (best is None or covered > best[0]):
                best = (covered, list_name, missing)
        return None if best is None else (best[1], best[2])

    # the whole text

    def render(
        self,
        name: str,
        encoding: str,
        encoding_note: str,
        texts: dict[str, _TableText],
        unmatched: list[FileDraft],
    ) -> str:
        where = ", ".join(p.name or str(p) for p in self.paths)
        lines = [
            f"# Drafted by `vcop profile init` from {where}.",
            "# Lines marked TODO are guesses or gaps: edit each one (and delete its TODO), then",
            "# check the profile against the files with `vcop profile check THIS_FILE EXPORT`.",
            "# Codes are listed with how many rows hold them; a code mapped to null has no",
            "# canonical value yet. Headers: see docs/data-dictionary.md; this format:",
            "# docs/onboarding.md.",
            f"name: {_q(name)}",
            f"description: {json.dumps(f'Drafted from {where} by vcop profile init')}",
            Line(f"encoding: {encoding}", encoding_note).render(0),
        ]
        formats = sorted(self.date_formats, key=DATE_FORMATS.index)
        note = "day/month/year" if any(f.startswith("%d") for f in formats) else ""
        if not formats:
            lines.append(
                "datetime_formats: []  # the files' dates are ISO 8601 (or there are none)"
            )
        else:
            shown = ", ".join(json.dumps(f) for f in formats)
            lines.append(
                Line(
                    f"datetime_formats: [{shown}]",
                    note + ("; every date read fits month/day too: check" if self.ambiguous_dates else ""),
                    self.ambiguous_dates,
                ).render(0)
            )  # fmt: skip
        lines.extend(f"# {n}" for n in self.date_notes)
        lines.append("tables:")
        for table, t in texts.items():
            lines.append(f"  {table}:")
            lines.extend(line.render(4) for line in t.head)
            for key, section in (("columns", t.columns), ("ignore", t.ignore)):
                if section:
                    lines.append(f"    {key}:")
                    lines.extend(line.render(6) for line in section)
            if t.transforms:
                lines.append("    transforms:")
                lines.extend(line.render(6) for line in t.transforms)
            lines.extend(line.render(4) for line in t.codes)
            for key, section in (("values", t.values), ("unmapped", t.unmapped)):
                if section:
                    lines.append(f"    {key}:")
                    lines.extend(line.render(6) for line in section)
        for d in unmatched:
            lines.append(
                f"# {d.file.label}: not drafted: its headers ({', '.join(d.raw.headers[:6])}) "
                f"match no table{' left' if d.table else ''}"
            )
        return "\n".join(lines) + "\n"


def draft_profile(
    paths: Iterable[Path],
    *,
    name: str = "my-force",
    code_lists: Mapping[str, Mapping[str, str]] | None = None,
) -> Draft:
    """Draft a profile for the export in ``paths`` (files or folders). ``code_lists`` replaces
    the shipped code lists (name -> {code: canonical value})."""
    return Drafter([Path(p) for p in paths], code_lists).draft(name)
