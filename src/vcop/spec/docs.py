"""Generated documentation: the data dictionary, made from the schema definition.

``make docs`` (``vcop docs``) rewrites the files under docs/; a test fails when they are stale.
"""

from __future__ import annotations

from vcop.spec.metrics import catalogue_doc
from vcop.spec.schema import Column, load_schema

DATA_DICTIONARY_HEADER = """\
<!-- Generated from src/vcop/definitions/schema/canonical.yaml by `vcop docs`. Do not edit. -->
# The vcop standard extract — data dictionary

An extract is one file per table, named after the table: `crimes.csv`, a sheet named `crimes`
in an XLSX workbook, or `crimes.parquet`. Headers are the column names below (a mapping profile
can translate another system's headers, codes and date formats: see
`src/vcop/definitions/profiles/example-rms.yaml`). Required columns are marked **yes**.

Values:

- **boolean**: true/false, yes/no, y/n or 1/0, in any case.
- **datetime**: ISO 8601 (`2025-01-31T14:05:00`); a date alone means the start of that day.
  Times are UK local time; a UTC offset, if written, is ignored.
- **scale7**: the 7-point satisfaction scale, as a code or its label: {scale}.
- Allowed values are matched ignoring case. Blank means not known.

vcop holds pseudonymous ids only: no names, addresses, dates of birth or phone numbers. Columns
not listed here are not loaded (and `vcop ingest` warns about any that look like personal
details). Every loaded row also records `batch_id` (the load that last wrote it, see the
`batches` table) and `row_hash`.

Criminal justice partners (CPS, witness care, courts, probation and prisons, the Parole Board,
victim services) supply their own extracts of the tables with an `agency` column, loaded with
`vcop ingest --agency ID` or from a folder per agency under `vcop refresh --from DIR`; their
records link to the police's crimes by crime reference and to victims by pseudonymous victim id,
and a record that links to nothing is rejected. See `docs/operations.md` ("Partner extracts").
"""


def _type(column: Column) -> str:
    text: str = column.type
    if column.min is not None or column.max is not None:
        lo = "" if column.min is None else f"{column.min:g}"
        hi = "" if column.max is None else f"{column.max:g}"
        text += f" ({lo}–{hi})"
    return text


def _allowed(column: Column) -> str:
    if not column.allowed:
        return ""
    return ", ".join(f"`{v}`" for v in column.allowed)


def data_dictionary() -> str:
    schema = load_schema()
    scale = "; ".join(f"{k} = {v}" for k, v in sorted(schema.scale7_labels.items()))
    lines = [DATA_DICTIONARY_HEADER.format(scale=scale)]
    lines.append("| table | rows | key | references |")
    lines.append("|---|---|---|---|")
    for t in schema.tables:
        refs = "; ".join(f"{', '.join(r.columns)} → {r.table}" for r in t.references)
        lines.append(f"| [`{t.name}`](#{t.name}) | {t.description} | {', '.join(t.key)} | {refs} |")
    for t in schema.tables:
        lines += ["", f"## {t.name}", "", t.description, "", f"Key: {', '.join(t.key)}.", ""]
        lines.append("| column | type | required | allowed values | description |")
        lines.append("|---|---|---|---|---|")
        for c in t.columns:
            default = (
                f" Default when blank: `{str(c.default).lower()}`." if c.default is not None else ""
            )
            lines.append(
                f"| `{c.name}` | {_type(c)} | {'**yes**' if c.required else ''} | "
                f"{_allowed(c)} | {c.description}{default} |"
            )
    return "\n".join(lines) + "\n"


#: Every generated document: path under the project root -> generator.
def _rules_doc() -> str:
    from vcop.rules.docs import rules_doc  # the rules stage sits above spec; import when asked

    return rules_doc()


GENERATED = {
    "docs/data-dictionary.md": data_dictionary,
    "docs/metrics.md": catalogue_doc,
    "docs/rules.md": _rules_doc,
}
