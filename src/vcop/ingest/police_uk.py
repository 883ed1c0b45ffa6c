"""Import data.police.uk street-level crime and outcomes files into the canonical tables.

What becomes what:

* a street row with a Crime ID → a ``crimes`` row: reported_at and recorded_at are the first
  day of its month (data.police.uk publishes only the month);
  crime type, force, LSOA, anonymised location and the published last outcome category are kept;
  local_authority comes from the LSOA name ('Cambridge 007A' → 'Cambridge');
* a street row with no Crime ID (anti-social behaviour) → an ``incidents`` row of type
  'Anti-social behaviour' (grade ``ungraded``), never a crime. Its id is made from the force, the
  month and a hash of the row's content (``PUK-ASB-<force>-<YYYY-MM>-<hash>``, with ``-2``, ``-3``…
  for further identical rows in the file): unique across forces, and the same whenever the same
  rows are imported again, whatever their order;
* an outcomes row → a ``case_events`` row of type ``outcome_recorded`` on the first day of the
  outcome's month. Exact duplicate rows (same crime, month and outcome) load once. Outcomes for
  crimes that are not (yet) in the database — crimes from before the imported months, or whose
  street file comes in a later import — are kept aside in ``police_uk_pending_outcomes`` and
  linked as soon as their crime arrives;
* the outcome on the crime (outcome_category, outcome_code, outcome_at) is its latest outcome
  event (by month, ties broken by event id); a crime with no outcome event keeps the street file's
  'Last outcome category'. Categories map to Home Office outcome types through
  ``definitions/outcomes/police_uk.yaml`` (old and new vocabularies);
* 'No Location' / 'No location' rows have no location, coordinates or LSOA;
* district: the local authority when it holds at least ``IN_AREA_SHARE`` of the imported rows,
  otherwise 'Outside force area' (data.police.uk places some of a force's crimes in LSOAs far
  outside its area).

Files are UTF-8, as data.police.uk publishes them; a file that is not (e.g. saved again by Excel
on Windows) is read as Windows-1252 (which covers Latin-1's printable characters), with a warning. A
file that is neither, or is not text at all, is reported and skipped; the other files load.

Loading goes through :class:`vcop.ingest.load.Load`, so it has the guarantees of ``vcop ingest``:
rejects with reasons, one transaction, and re-importing the same files changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from vcop.ingest.load import FileResult, Load, LoadResult, Progress, row_hash_sql
from vcop.ingest.readers import (
    ExtractError,
    RawTable,
    SourceFile,
    detect_encoding,
    read,
    sha256_of,
)
from vcop.spec.outcomes import Outcomes, load_outcomes
from vcop.spec.profile import Profile
from vcop.spec.schema import load_schema

PROFILE = Profile(name="police-uk", description="data.police.uk street and outcomes CSV files")
STREET = "street"
OUTCOMES = "outcomes"
ASB = "Anti-social behaviour"
OUTSIDE = "Outside force area"
#: A local authority holding less than this share of an import's located rows is outside the area.
IN_AREA_SHARE = 0.01
#: Encodings tried, in order, for each file (Windows-1252 reads Latin-1's printable characters too).
ENCODINGS = ("utf-8", "cp1252")
#: The columns of a street row that make an anti-social behaviour incident's content hash.
ASB_CONTENT = (
    "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
    "LSOA name", "Crime type", "Last outcome category", "Context",
)  # fmt: skip
_REQUIRED = {
    STREET: {"Crime ID", "Month", "Falls within", "Crime type", "Last outcome category"},
    OUTCOMES: {"Crime ID", "Month", "Falls within", "Outcome type"},
}

PENDING_DDL = """
CREATE TABLE IF NOT EXISTS police_uk_pending_outcomes (
    event_id VARCHAR PRIMARY KEY, crime_id VARCHAR NOT NULL, month DATE NOT NULL,
    outcome_category VARCHAR NOT NULL, file VARCHAR NOT NULL, "row" BIGINT NOT NULL
)
"""


@dataclass
class PoliceUkFile:
    path: Path
    kind: str  # street | outcomes
    digest: str
    encoding: str = "utf-8"


@dataclass
class ImportResult:
    load: LoadResult
    pending_outcomes: int = 0
    linked_outcomes: int = 0
    unmapped_categories: Counter[str] = field(default_factory=Counter)
    skipped_files: list[str] = field(default_factory=list)


def _classify(path: Path, encoding: str = "utf-8") -> str | None:
    try:
        with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as f:
            header = {h.strip() for h in next(csv.reader(f), [])}
    except csv.Error as exc:
        raise ExtractError(f"{path}: the header row cannot be read as CSV: {exc}") from exc
    for kind, needed in _REQUIRED.items():
        if needed <= header:
            return kind
    return None


def discover_police_uk(paths: Iterable[Path]) -> tuple[list[PoliceUkFile], list[str]]:
    """The street and outcomes files among ``paths``, and notes on the files skipped (not such a
    file, not text, in no encoding vcop can read) — a bad file never stops the others."""
    files, skipped = [], []
    for p in paths:
        if not p.exists():
            raise ExtractError(f"{p}: no such file or folder")
        candidates = sorted(p.rglob("*.csv")) if p.is_dir() else [p]
        for c in candidates:
            try:
                encoding = detect_encoding(c, ENCODINGS)
                kind = _classify(c, encoding)
                digest = sha256_of(c)
            except ExtractError as exc:
                skipped.append(str(exc))
                continue
            except OSError as exc:
                skipped.append(f"{c}: cannot be read: {exc.strerror or exc}")
                continue
            if kind is None:
                skipped.append(f"{c}: not a data.police.uk street or outcomes file")
            else:
                files.append(PoliceUkFile(c, kind, digest, encoding))
    if not files:
        raise ExtractError(
            "no data.police.uk street or outcomes CSV files were found"
            + ("; " + "; ".join(skipped) if skipped else "")
        )
    # street before outcomes, each in file-name (month) order
    files.sort(key=lambda f: (f.kind != STREET, f.path.name, str(f.path)))
    return files, skipped


def _month_start(month: str) -> str:
    return f"{month.strip()}-01" if re.fullmatch(r"\s*\d{4}-\d{2}\s*", month) else month


def _local_authority(lsoa_name: str) -> str:
    return re.sub(r"\s+\w{4}$", "", lsoa_name.strip()) if lsoa_name.strip() else ""


def _event_id(crime_id: str, month: str, category: str) -> str:
    digest = hashlib.sha1(category.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{crime_id}:{month}:{digest}"


def _force_slug(force: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", force.lower()).strip("-") or "unknown-force"


def _asb_ids(rows: list[tuple[str, ...]], forces: list[str], months: list[str]) -> list[str]:
    """Incident ids for anti-social behaviour rows: force, month and a hash of the row's content;
    identical rows (common: same month, same snap point) are told apart by their order among
    themselves, so ids do not depend on row numbers or on the other rows of the file."""
    seen: Counter[str] = Counter()
    ids = []
    for content, force, month in zip(rows, forces, months, strict=True):
        digest = hashlib.sha256("\x1f".join(content).encode("utf-8")).hexdigest()[:16]
        base = f"PUK-ASB-{_force_slug(force)}-{month.strip()}-{digest}"
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _columns(raw: RawTable) -> dict[str, list[Any]]:
    return {h: raw.table.column(h).to_pylist() for h in ["_row", *raw.headers]}


def _raw(rows: dict[str, list[object]], broken: list[tuple[int, str]] | None = None) -> RawTable:
    headers = [h for h in rows if h != "_row"]
    arrays = [pa.array(rows["_row"], pa.int64())] + [
        pa.array(["" if v is None else str(v) for v in rows[h]], pa.string()) for h in headers
    ]
    return RawTable(headers, pa.table(arrays, names=["_row", *headers]), broken or [])


def _bad_rows(raw: RawTable) -> list[tuple[int, str]]:
    """Rows the reader could not split, and rows with a field too long to load: rejects (of the
    file's first table) rather than rows silently left out."""
    reasons: dict[int, list[str]] = {}
    for row, reason in [*raw.broken_rows, *((i.row, i.reason) for i in raw.cell_issues)]:
        reasons.setdefault(row, []).append(reason)
    return [(row, "; ".join(r)) for row, r in sorted(reasons.items())]


def import_police_uk(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import street and outcomes files in one transaction (see the module docstring)."""
    outcomes = load_outcomes()
    files, skipped = discover_police_uk([Path(p) for p in paths])
    con.execute(PENDING_DDL)
    sizes = [f.path.stat().st_size for f in files]
    total, done = sum(sizes), 0
    with Load(con, PROFILE) as load:
        result = ImportResult(load=load.result, skipped_files=skipped)
        todo = []
        for f in files:
            tables = ("crimes", "incidents") if f.kind == STREET else ("case_events",)
            reasons = [load.already_loaded(f"{f.digest}:{t}", t) for t in tables]
            if not force and all(reasons):
                load.result.files.append(FileResult(str(f.path), tables[0], skipped=reasons[0]))
                continue
            todo.append(f)
        raws: dict[Path, RawTable] = {}
        for f in list(todo):
            try:
                raws[f.path] = read(SourceFile(f.path, f.kind), f.encoding)
                missing = _REQUIRED[f.kind] - set(raws[f.path].headers)
                if missing:
                    raise ExtractError(f"{f.path}: columns {', '.join(sorted(missing))} missing")
            except ExtractError as exc:
                result.skipped_files.append(str(exc))
                raws.pop(f.path, None)
                todo.remove(f)
                continue
            if f.encoding != "utf-8":
                load.result.warnings.append(
                    f"{f.path}: not UTF-8; read as {f.encoding} (Windows-1252, which includes "
                    "Latin-1's characters)"
                )
        events = _latest_events(con, todo, raws)
        districts = _districts([raws[f.path] for f in todo if f.kind == STREET])
        for f, size in zip(files, sizes, strict=True):
            if f not in todo or f.path not in raws:
                done += size
                continue
            if progress:
                progress(f"{f.kind}: {f.path.name}", done, total)
            raw = raws[f.path]
            if f.kind == STREET:
                crimes, incidents = _street(raw, outcomes, events, districts, result)
                load.load_raw(str(f.path), "crimes", crimes, f"{f.digest}:crimes")
                load.load_raw(str(f.path), "incidents", incidents, f"{f.digest}:incidents")
            else:
                rows, pending = _outcome_rows(con, raw, outcomes, result)
                load.load_raw(str(f.path), "case_events", rows, f"{f.digest}:case_events")
                _keep_pending(con, pending, str(f.path))
            done += size
            if progress:
                progress(f"{f.kind}: {f.path.name}", done, total)
        result.linked_outcomes = _link_pending(con, load, outcomes)
        _set_crime_outcomes(con, outcomes)
        result.pending_outcomes = int(
            con.execute("SELECT count(*) FROM police_uk_pending_outcomes").fetchall()[0][0]
        )
    return result


def _latest_events(
    con: duckdb.DuckDBPyConnection, files: list[PoliceUkFile], raws: dict[Path, RawTable]
) -> dict[str, tuple[str, str, str]]:
    """crime_id -> (month start, event_id, category) of its latest outcome event, from the
    database and this import's outcomes files (same rule as :func:`_set_crime_outcomes`)."""
    latest: dict[str, tuple[str, str, str]] = {}
    for crime_id, month, event_id, category in con.execute(
        "SELECT crime_id, strftime(event_at, '%Y-%m-%d'), event_id, outcome_category "
        "FROM case_events WHERE event_type = 'outcome_recorded'"
    ).fetchall():
        key = (month, event_id, category)
        if crime_id not in latest or key[:2] > latest[crime_id][:2]:
            latest[crime_id] = key
    for f in files:
        if f.kind != OUTCOMES:
            continue
        cols = _columns(raws[f.path])
        for crime_id, month, category in zip(
            cols["Crime ID"], cols["Month"], cols["Outcome type"], strict=True
        ):
            crime_id, category = crime_id.strip(), category.strip()
            if not crime_id:
                continue
            month = _month_start(month)
            key = (month, _event_id(crime_id, month, category), category)
            if crime_id not in latest or key[:2] > latest[crime_id][:2]:
                latest[crime_id] = key
    return latest


def _districts(raws: list[RawTable]) -> dict[str, str]:
    counts: Counter[str] = Counter()
    for raw in raws:
        if "LSOA name" not in raw.headers:
            continue
        counts.update(_local_authority(n) for n in raw.table.column("LSOA name").to_pylist() if n)
    counts.pop("", None)
    total = sum(counts.values())
    return {la: (la if n >= IN_AREA_SHARE * total else OUTSIDE) for la, n in counts.items()}


def _street(
    raw: RawTable,
    outcomes: Outcomes,
    events: dict[str, tuple[str, str, str]],
    districts: dict[str, str],
    result: ImportResult,
) -> tuple[RawTable, RawTable]:
    cols = _columns(raw)
    crimes: dict[str, list[object]] = {k: [] for k in (
        "_row", "crime_id", "reported_at", "recorded_at", "crime_type", "force", "lsoa_code", "lsoa_name",
        "local_authority", "district", "location", "longitude", "latitude", "outcome_category",
        "outcome_code", "outcome_at",
    )}  # fmt: skip
    incidents: dict[str, list[object]] = {k: [] for k in (
        "_row", "incident_id", "received_at", "grade", "incident_type", "force", "lsoa_code",
        "district", "location", "longitude", "latitude",
    )}  # fmt: skip
    n = len(cols["_row"])
    get = {h: cols.get(h, [""] * n) for h in (
        "Crime ID", "Month", "Falls within", "Crime type", "LSOA code", "LSOA name", "Location",
        "Longitude", "Latitude", "Last outcome category",
    )}  # fmt: skip
    bad = _bad_rows(raw)
    skip = {row for row, _ in bad}
    content = {h: cols.get(h, [""] * n) for h in ASB_CONTENT}
    asb = [i for i in range(n) if not get["Crime ID"][i].strip() and cols["_row"][i] not in skip]
    asb_ids = dict(
        zip(
            asb,
            _asb_ids(
                [tuple(content[h][i].strip() for h in ASB_CONTENT) for i in asb],
                [get["Falls within"][i].strip() for i in asb],
                [get["Month"][i] for i in asb],
            ),
            strict=True,
        )
    )
    for i in range(n):
        if cols["_row"][i] in skip:
            continue
        crime_id = get["Crime ID"][i].strip()
        month = _month_start(get["Month"][i])
        located = get["Location"][i].strip().lower() != "no location"
        lsoa_name = get["LSOA name"][i].strip()
        la = _local_authority(lsoa_name)
        common = {
            "force": get["Falls within"][i].strip(),
            "lsoa_code": get["LSOA code"][i] if located else "",
            "district": districts.get(la, "") if located else "",
            "location": get["Location"][i] if located else "",
            "longitude": get["Longitude"][i] if located else "",
            "latitude": get["Latitude"][i] if located else "",
        }
        if not crime_id:
            incidents["_row"].append(cols["_row"][i])
            incidents["incident_id"].append(asb_ids[i])
            incidents["received_at"].append(month)
            incidents["grade"].append("ungraded")
            incidents["incident_type"].append(get["Crime type"][i].strip() or ASB)
            for k, v in common.items():
                incidents[k].append(v)
            continue
        category = get["Last outcome category"][i].strip()
        outcome_at = ""
        if crime_id in events:
            outcome_at, _, category = events[crime_id]
        mapped = outcomes.category(category)
        if category and mapped is None:
            result.unmapped_categories[category] += 1
        crimes["_row"].append(cols["_row"][i])
        crimes["crime_id"].append(crime_id)
        crimes["reported_at"].append(month)
        crimes["recorded_at"].append(month)
        crimes["crime_type"].append(get["Crime type"][i])
        crimes["lsoa_name"].append(lsoa_name if located else "")
        crimes["local_authority"].append(la if located else "")
        crimes["outcome_category"].append(category)
        crimes["outcome_code"].append(mapped.outcome_code if mapped and mapped.outcome_code else "")
        crimes["outcome_at"].append(outcome_at)
        for k, v in common.items():
            crimes[k].append(v)
    return _raw(crimes, bad), _raw(incidents)


def _outcome_rows(
    con: duckdb.DuckDBPyConnection, raw: RawTable, outcomes: Outcomes, result: ImportResult
) -> tuple[RawTable, list[tuple[str, str, str, str, int]]]:
    """case_events rows for outcomes whose crime is known; the rest are returned to keep aside."""
    cols = _columns(raw)
    ids = [c.strip() for c in cols["Crime ID"]]
    con.register(
        "_puk_ids", pa.table({"crime_id": pa.array(sorted({i for i in ids if i}), pa.string())})
    )
    known = {
        r[0]
        for r in con.execute(
            "SELECT c.crime_id FROM crimes c JOIN _puk_ids USING (crime_id)"
        ).fetchall()
    }
    con.unregister("_puk_ids")
    rows: dict[str, list[object]] = {k: [] for k in (
        "_row", "event_id", "crime_id", "event_type", "event_at", "outcome_category", "outcome_code",
    )}  # fmt: skip
    pending = []
    bad = _bad_rows(raw)
    skip = {row for row, _ in bad}
    for i, crime_id in enumerate(ids):
        if cols["_row"][i] in skip:
            continue
        category = cols["Outcome type"][i].strip()
        month = _month_start(cols["Month"][i])
        event_id = _event_id(crime_id, month, category)
        mapped = outcomes.category(category)
        if category and mapped is None:
            result.unmapped_categories[category] += 1
        if crime_id and crime_id not in known:
            pending.append((event_id, crime_id, month, category, cols["_row"][i]))
            continue
        rows["_row"].append(cols["_row"][i])
        rows["event_id"].append(event_id)
        rows["crime_id"].append(crime_id)
        rows["event_type"].append("outcome_recorded")
        rows["event_at"].append(month)
        rows["outcome_category"].append(category)
        rows["outcome_code"].append(mapped.outcome_code if mapped and mapped.outcome_code else "")
    return _raw(rows, bad), pending


def _keep_pending(
    con: duckdb.DuckDBPyConnection, pending: list[tuple[str, str, str, str, int]], file: str
) -> None:
    if not pending:
        return
    e, c, m, cat, row = zip(*pending, strict=True)
    con.register(
        "_puk_pending",
        pa.table({
            "event_id": pa.array(e, pa.string()), "crime_id": pa.array(c, pa.string()),
            "month": pa.array(m, pa.string()), "outcome_category": pa.array(cat, pa.string()),
            "row": pa.array(row, pa.int64()),
        }),
    )  # fmt: skip
    con.execute(
        "INSERT OR IGNORE INTO police_uk_pending_outcomes "
        'SELECT event_id, crime_id, CAST(month AS DATE), outcome_category, ?, "row" FROM _puk_pending',
        [file],
    )
    con.unregister("_puk_pending")


def _link_pending(con: duckdb.DuckDBPyConnection, load: Load, outcomes: Outcomes) -> int:
    """Load kept-aside outcomes whose crime has now arrived."""
    found = con.execute(
        "SELECT p.\"row\", p.event_id, p.crime_id, strftime(p.month, '%Y-%m-%d'), p.outcome_category "
        "FROM police_uk_pending_outcomes p JOIN crimes USING (crime_id) ORDER BY p.event_id"
    ).fetchall()
    if not found:
        return 0
    rows: dict[str, list[object]] = {
        "_row": [r[0] for r in found],
        "event_id": [r[1] for r in found],
        "crime_id": [r[2] for r in found],
        "event_type": ["outcome_recorded"] * len(found),
        "event_at": [r[3] for r in found],
        "outcome_category": [r[4] for r in found],
        "outcome_code": [
            (c.outcome_code or "") if (c := outcomes.category(r[4])) else "" for r in found
        ],
    }
    digest = hashlib.sha256("\n".join(r[1] for r in found).encode()).hexdigest()
    load.load_raw("police_uk_pending_outcomes", "case_events", _raw(rows), f"pending:{digest}")
    con.execute(
        "DELETE FROM police_uk_pending_outcomes WHERE crime_id IN (SELECT crime_id FROM crimes)"
    )
    return len(found)


def _set_crime_outcomes(con: duckdb.DuckDBPyConnection, outcomes: Outcomes) -> None:
    """Put each crime's latest outcome event on the crime (only where it differs)."""
    codes = [(name, c.outcome_code) for name, c in outcomes.categories.items() if c.outcome_code]
    con.execute("CREATE OR REPLACE TEMP TABLE _puk_codes (category VARCHAR, code BIGINT)")
    con.executemany("INSERT INTO _puk_codes VALUES (?, ?)", [list(c) for c in codes])
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _puk_latest AS
        SELECT e.crime_id, e.event_at, e.outcome_category, k.code
        FROM case_events e LEFT JOIN _puk_codes k ON k.category = e.outcome_category
        WHERE e.event_type = 'outcome_recorded'
        QUALIFY row_number() OVER (PARTITION BY e.crime_id ORDER BY e.event_at DESC, e.event_id DESC) = 1
        """
    )
    con.execute(
        """
        UPDATE crimes c SET outcome_category = l.outcome_category, outcome_code = l.code,
               outcome_at = l.event_at
        FROM _puk_latest l
        WHERE c.crime_id = l.crime_id AND (
            c.outcome_category IS DISTINCT FROM l.outcome_category
            OR c.outcome_code IS DISTINCT FROM l.code OR c.outcome_at IS DISTINCT FROM l.event_at)
        """
    )
    row_hash = row_hash_sql(load_schema().table("crimes"))
    con.execute(
        f"UPDATE crimes SET row_hash = {row_hash} WHERE row_hash IS DISTINCT FROM {row_hash}"
    )
    con.execute("DROP TABLE _puk_latest")
    con.execute("DROP TABLE _puk_codes")
