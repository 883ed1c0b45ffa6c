"""Harm per crime, per area and month, harm concentration and victims ranked by harm.

Each crime gets two harm values:

* ``css``: the ONS Crime Severity Score weight of its Home Office offence code, or, when the
  crime has no (known) offence code, the median weight of its crime type's offences;
* ``cchi``: Cambridge Crime Harm Index days for its crime type, using the force's own offence
  mix when the force is known to the index, otherwise the national mix.

Anti-social behaviour is not a crime and carries no harm. All functions take the period
explicitly; nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import duckdb
import pyarrow as pa

from vcop.harm.weights import load_weights

HARM_INDICES = ("cchi", "css")
HarmIndex = Literal["cchi", "css"]


def register_crime_harm(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temporary view ``crime_harm`` (one row per crime with css and cchi)."""
    w = load_weights()
    con.register(
        "_harm_css_code",
        pa.table(
            {"code": list(w.css_by_offence_code), "weight": list(w.css_by_offence_code.values())}
        ),
    )
    con.register(
        "_harm_type",
        pa.table({
            "crime_type": list(w.css_by_crime_type),
            "css": list(w.css_by_crime_type.values()),
            "cchi": [w.cchi_by_crime_type.get(t) for t in w.css_by_crime_type],
        }),
    )  # fmt: skip
    forces = [(f, t, d) for f, types in w.cchi_by_force.items() for t, d in types.items()]
    con.register(
        "_harm_force",
        pa.table({
            "force": [f for f, _, _ in forces], "crime_type": [t for _, t, _ in forces],
            "cchi": [d for _, _, d in forces],
        }),
    )  # fmt: skip
    con.execute(
        r"""
        CREATE OR REPLACE TEMP VIEW crime_harm AS
        SELECT c.crime_id, c.reported_at, date_trunc('month', c.reported_at)::DATE AS month,
               c.crime_type, c.offence_code, c.force, c.area, c.district, c.lsoa_code,
               c.longitude, c.latitude,
               coalesce(k.weight, t.css) AS css,
               coalesce(f.cchi, t.cchi) AS cchi
        FROM crimes c
        LEFT JOIN _harm_css_code k ON k.code = upper(trim(c.offence_code))
        LEFT JOIN _harm_type t ON t.crime_type = c.crime_type
        LEFT JOIN _harm_force f ON f.crime_type = c.crime_type
            AND f.force = regexp_replace(trim(c.force), '\s+(Constabulary|Police Service|Police)$', '')
        """
    )


def _period(start: dt.date, end: dt.date) -> list[object]:
    return [start, end]


def harm_by_area(
    con: duckdb.DuckDBPyConnection,
    *,
    level: Literal["lsoa_code", "district", "area", "force"],
    start: dt.date,
    end: dt.date,
) -> list[tuple[object, ...]]:
    """(place, month, crimes, css, cchi) for crimes reported in [start, end]."""
    register_crime_harm(con)
    return con.execute(
        f"""
        SELECT {level} AS place, month, count(*) AS crimes, round(sum(css), 2) AS css,
               round(sum(cchi), 2) AS cchi
        FROM crime_harm WHERE reported_at::DATE BETWEEN ? AND ?
        GROUP BY ALL ORDER BY month, cchi DESC NULLS LAST, place
        """,
        _period(start, end),
    ).fetchall()


def concentration(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date,
    end: dt.date,
    index: HarmIndex = "cchi",
    top_share: float = 0.05,
) -> dict[str, float | int]:
    """The share of harm in the most harmed ``top_share`` of the force area's LSOAs (those with any
    crime in [start, end]; LSOAs outside the force area are left out)."""
    register_crime_harm(con)
    rows = con.execute(
        f"""
        SELECT lsoa_code, sum({index}) AS harm FROM crime_harm
        WHERE reported_at::DATE BETWEEN ? AND ? AND lsoa_code IS NOT NULL AND {index} IS NOT NULL
          AND coalesce(district, '') <> 'Outside force area'
        GROUP BY 1 ORDER BY harm DESC, lsoa_code
        """,
        _period(start, end),
    ).fetchall()
    total = math.fsum(h for _, h in rows)
    top = max(1, math.ceil(top_share * len(rows))) if rows else 0
    top_harm = math.fsum(h for _, h in rows[:top])
    return {
        "lsoas": len(rows),
        "top_lsoas": top,
        "total_harm": round(total, 2),
        "top_harm": round(top_harm, 2),
        "share": (top_harm / total) if total else 0.0,
    }


def victims_by_harm(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date,
    area: str | None = None,
    top: int = 20,
    index: HarmIndex = "cchi",
    scope: tuple[str, list[object]] | None = None,
) -> tuple[list[str], list[tuple[object, ...]]]:
    """Victims with the highest harm from crimes reported in the 12 months ending ``as_of``, with
    how many crimes they suffered (repeat victimisation) — a record-level list.

    ``scope`` is a SQL condition on ``crimes`` as ``c`` and its parameters (a reader's
    :meth:`vcop.web.auth.User.crime_scope`): only those crimes count, and only their victims
    are listed.
    """
    register_crime_harm(con)
    start = twelve_months_before(as_of)
    where = "AND h.area = ?" if area else ""
    params: list[object] = [start, as_of] + ([area] if area else [])
    if scope is not None:
        where += f" AND ({scope[0]})"
        params += scope[1]
    params.append(top)
    cur = con.execute(
        f"""
        SELECT v.victim_id, count(*) AS crimes, round(sum(h.{index}), 2) AS harm,
               round(sum(h.{"css" if index == "cchi" else "cchi"}), 2) AS other_index,
               min(h.reported_at)::DATE AS first_crime, max(h.reported_at)::DATE AS latest_crime,
               string_agg(DISTINCT h.crime_type, '; ' ORDER BY h.crime_type) AS crime_types,
               bool_or(coalesce(c.domestic_abuse, false)) AS domestic_abuse,
               any_value(h.area) AS area
        FROM victims v JOIN crime_harm h USING (crime_id) JOIN crimes c USING (crime_id)
        WHERE h.reported_at::DATE > ? AND h.reported_at::DATE <= ? {where}
        GROUP BY v.victim_id
        ORDER BY harm DESC NULLS LAST, crimes DESC, v.victim_id
        LIMIT ?
        """,
        params,
    )
    names = [d[0] for d in cur.description]
    names[names.index("other_index")] = "css" if index == "cchi" else "cchi"
    return names, cur.fetchall()


def twelve_months_before(as_of: dt.date) -> dt.date:
    """The same day twelve months earlier (28 Feb for 29 Feb): the rolling year is (start, as_of]."""
    try:
        return as_of.replace(year=as_of.year - 1)
    except ValueError:
        return as_of.replace(year=as_of.year - 1, day=28)
