"""`vcop export parquet`: a build's canonical tables as a Parquet dataset partitioned by force
and year (``LAKE/<table>/force=<force>/year=<year>/*.parquet``), with a manifest.

The force of a row is its own ``force`` column where the table has one (crimes, incidents) and
holds a value, else the build's force: the commonest ``crimes.force``, else the database file's
name. The year is that of the table's first date column in schema order (``reported_at`` for
crimes, ``contact_at`` for contacts, …); a table without one (victims) is partitioned by force
alone. The manifest (``_vcop_lake.json``) records each table's columns and DuckDB types, so a
reader gets the tables back exactly, without the partition columns a table does not have.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from vcop.spec.schema import load_schema
from vcop.store.calendar import CALENDAR_TABLE, ensure_calendar

MANIFEST = "_vcop_lake.json"
#: The lake's layout version (a reader refuses another).
VERSION = 1
_DATED = ("DATE", "TIMESTAMP")


class LakeError(Exception):
    """A lake cannot be written or read; the message says why."""


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    partitions: int
    year_from: str | None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def build_force(con: duckdb.DuckDBPyConnection, db: Path) -> str:
    """The build's force: the commonest ``crimes.force``, else the database file's name."""
    columns = {c[0] for c in con.execute('DESCRIBE "crimes"').fetchall()}
    if "force" in columns:
        found = con.execute(
            "SELECT force FROM crimes WHERE force IS NOT NULL AND force <> '' "
            "GROUP BY force ORDER BY count(*) DESC, force LIMIT 1"
        ).fetchall()
        if found:
            return str(found[0][0])
    return db.stem


def export_parquet(
    con: duckdb.DuckDBPyConnection, db: Path, out: Path, *, force: str | None = None
) -> list[Exported]:
    """Write every canonical table and the working-day calendar of ``con`` under ``out``
    (replacing a lake there), partitioned by force and year, and the manifest."""
    if out.exists():
        if not (out / MANIFEST).exists() and any(out.iterdir()):
            raise LakeError(f"{out} exists and is not a vcop lake: choose an empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ensure_calendar(con)
    default = force or build_force(con, db)
    tables: dict[str, Any] = {}
    done: list[Exported] = []
    for name in (*load_schema().table_names, CALENDAR_TABLE):
        described = con.execute(f"DESCRIBE {_q(name)}").fetchall()
        columns = [(str(c[0]), str(c[1])) for c in described]
        names = [c for c, _ in columns]
        dated = next((c for c, t in columns if t in _DATED and c != "replaced_at"), None)
        force_sql = (
            f"coalesce(nullif(CAST(force AS VARCHAR), ''), {_lit(default)})"
            if "force" in names
            else _lit(default)
        )
        extra = [f"{force_sql} AS __force"]
        partition = ["__force"]
        if dated is not None:
            extra.append(f"CAST(year({_q(dated)}) AS VARCHAR) AS __year")
            partition.append("__year")
        select = ", ".join([*(_q(c) for c in names), *extra])
        target = out / name
        # DuckDB names the folders by the partition columns: __force/__year, renamed below.
        con.execute(
            f"COPY (SELECT {select} FROM {_q(name)}) TO {_lit(str(target))} "
            f"(FORMAT parquet, PARTITION_BY ({', '.join(partition)}), OVERWRITE_OR_IGNORE)"
        )
        rows = int(con.execute(f"SELECT count(*) FROM {_q(name)}").fetchall()[0][0])
        parts = _rename_partitions(target)
        tables[name] = {"columns": columns, "year_from": dated, "rows": rows}
        done.append(Exported(name, rows, parts, dated))
    manifest = {"version": VERSION, "force": default, "tables": tables}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return done


def _rename_partitions(target: Path) -> int:
    """``__force=X/__year=Y`` folders to ``force=X/year=Y``; the number of leaf folders."""
    leaves = 0
    if not target.exists():  # an empty table: an empty folder
        target.mkdir(parents=True)
        return 0
    for level, new in (("__force=", "force="), ("__year=", "year=")):
        for folder in sorted(target.rglob(f"{level}*"), key=lambda p: -len(p.parts)):
            folder.rename(folder.with_name(new + folder.name[len(level) :]))
    for _ in target.rglob("*.parquet"):
        leaves += 1
    return leaves


def read_manifest(lake: Path) -> dict[str, Any]:
    """The lake's manifest, or :class:`LakeError` naming what is wrong."""
    path = lake / MANIFEST
    if not path.exists():
        raise LakeError(
            f"{lake}: not a vcop lake (no {MANIFEST}; write one with `vcop export parquet`)"
        )
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("version") != VERSION:
        raise LakeError(
            f"{lake}: lake version {manifest.get('version')}, this vcop reads {VERSION}"
        )
    return manifest
