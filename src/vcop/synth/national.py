"""The national synthetic year: every force of England and Wales, drawn in bulk by DuckDB.

``generate_national(out, forces=...)`` writes one folder per force (``out/<CODE>/``, the force's
id prefix) holding that force's standard extract as Parquet files named after the canonical
tables (``vcop ingest out/*/`` loads every force in one load). Each force is sized from the
national table of forces (:mod:`vcop.spec.forces`) and drawn with Demoshire's calibration
(``definitions/synth/demoshire.yaml``): its crime mix, seasons, report hours, outcomes and their
lags, the domestic abuse and hate crime rates, victim rates and characteristics, needs assessments,
care contracts, referrals, update timeliness and supervisory reviews.

Unlike the per-force generator (:mod:`vcop.synth.generate`), which follows each crime and victim
in Python, this one draws whole columns in SQL: every random number is a hash of the seed, the
force, the row and what is drawn, so a force's files are the same for the same arguments whatever
the order forces are drawn in. It simplifies the journey of a case (no partner agencies' records,
calls for service or survey responses; repeat victims keep their id but not their
characteristics), which the per-force generator keeps for the demo.

**Resumable.** A force's files are written into a temporary folder, moved into place, and then a
``_COMPLETE.json`` recording the arguments and row counts is written; a rerun with the same
arguments skips a force whose folder has it.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from vcop.spec.forces import ForceSize
from vcop.spec.schema import load_schema
from vcop.synth.crimes import (
    CHILD_VICTIM,
    HARASSMENT,
    HOMICIDE,
    INJURY_CODES,
    INJURY_OR_LOSS_TYPES,
    OUTCOME_GROUP,
    RAPE,
    SERIOUS_VIOLENCE,
    SEXUAL,
)
from vcop.synth.force import IMU
from vcop.synth.generate import DEFAULT_END, window_start
from vcop.synth.params import SynthParams, load_params
from vcop.synth.victims import CHANNEL_WEIGHTS

#: Raised whenever the national generator writes other tables or rows: a folder written by
#: another version is not reused.
NATIONAL_VERSION = 1
MARKER = "_COMPLETE.json"
#: The tables written for each force, in load order.
TABLES = (
    "crimes",
    "victims",
    "case_events",
    "contacts",
    "referrals",
    "needs_assessments",
    "care_contracts",
    "supervisory_reviews",
    "population",
)
COURT_EVENTS = ("hearing_listed", "verdict", "sentenced")
#: Days after the report a written acknowledgement is sent (the per-force generator's ACK_DAY).
ACK_DAYS = {0: 0.35, 1: 0.3, 2: 0.15, 3: 0.08, 5: 0.07, 8: 0.05}
REFERRAL_OUTCOMES = {"engaged": 0.3, "no_contact": 0.25, "declined_support": 0.35, "": 0.1}
SUPPORT_OUTCOMES = {"engaged": 0.55, "no_contact": 0.2, "declined_support": 0.2, "": 0.05}
UNIT_KINDS = ("Response", "CID", "Safeguarding")


@dataclass(frozen=True)
class ForceResult:
    """What happened to one force: its rows per table, whether it was skipped as complete."""

    force: ForceSize
    counts: dict[str, int]
    skipped: bool
    seconds: float


#: progress(result of a force, forces done, forces in all)
Progress = Callable[[ForceResult, int, int], None]


def generate_national(
    out: Path,
    forces: Sequence[ForceSize],
    *,
    seed: int = 1,
    scale: float = 1.0,
    end: date = DEFAULT_END,
    progress: Progress | None = None,
) -> list[ForceResult]:
    """Write each force's extract for the year up to and including ``end`` into ``out/<CODE>``.

    ``scale`` multiplies every force's volume (1.0: the forces' real or synthetic yearly crimes,
    5.2 million in all). A force whose folder is complete for the same arguments is skipped."""
    if not scale > 0:
        raise ValueError("scale must be more than 0")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = load_params()
    results: list[ForceResult] = []
    key = {"generator": NATIONAL_VERSION, "seed": seed, "scale": scale, "end": end.isoformat()}
    con = duckdb.connect()
    try:
        _parameters(con, params, end)
        for n, force in enumerate(forces, start=1):
            started = time.monotonic()
            folder = out / force.code
            done = _complete(folder, {**key, "force": force.force})
            if done is not None:
                result = ForceResult(force, done, True, time.monotonic() - started)
            else:
                counts = _write_force(con, params, force, folder, seed, scale, end, key)
                result = ForceResult(force, counts, False, time.monotonic() - started)
            results.append(result)
            if progress is not None:
                progress(result, n, len(forces))
    finally:
        con.close()
    return results


def _complete(folder: Path, key: Mapping[str, object]) -> dict[str, int] | None:
    """The row counts of a force folder written with the same arguments, or None."""
    try:
        marker = json.loads((folder / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if any(marker.get(k) != v for k, v in key.items()):
        return None
    if not all((folder / f"{t}.parquet").is_file() for t in TABLES):
        return None
    return {str(k): int(v) for k, v in marker["counts"].items()}


# -- parameter tables ----------------------------------------------------------------------------


def _cumulative(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with their last value, a weight, replaced by the cumulative share of the rows before
    them: the lower bound of the row's slice of [0, 1), for an ASOF join on a uniform draw."""
    total = sum(float(r[-1]) for r in rows)
    out: list[tuple[Any, ...]] = []
    acc = 0.0
    for r in rows:
        out.append((*r[:-1], acc / total))
        acc += float(r[-1])
    return out


def _register(
    con: duckdb.DuckDBPyConnection, name: str, cols: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """A parameter table from Python rows."""
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
    con.register("table_arrow", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM table_arrow")
    con.unregister("table_arrow")


def _parameters(con: duckdb.DuckDBPyConnection, params: SynthParams, end: date) -> None:
    d, t = params.derived, params.targets
    start = window_start(end, 1)
    days = (end - start).days + 1
    reg = _register
    reg(
        con,
        "p_day",
        ("d", "lo"),
        _cumulative(
            [(i, d.monthly_pattern[(start + timedelta(days=i)).month]) for i in range(days)]
        ),
    )
    reg(con, "p_hour", ("h", "lo"), _cumulative(list(enumerate(t.report_hour_weights))))
    reg(
        con,
        "p_dist",
        ("di", "district", "area", "lsoas", "lo"),
        _cumulative([(i, x.name, x.area, x.lsoas, x.share) for i, x in enumerate(d.districts)]),
    )
    ct_rows = []
    for i, x in enumerate(d.districts):
        ct_rows += [(i, *r) for r in _cumulative(sorted(x.crime_type_mix.items()))]
    reg(con, "p_ct", ("di", "crime_type", "lo"), ct_rows)
    # Domestic abuse: the same share of each crime type as the per-force generator's.
    peak = max(d.monthly_pattern[m] * calendar.monthrange(2023, m)[1] for m in range(1, 13))
    da_share = t.domestic_abuse_peak_month / (d.crimes_per_year / 365.25 * peak)
    hate = t.hate_crime_rate
    reg(
        con,
        "p_type",
        ("crime_type", "da_rate", "hate_rate", "victim_rate"),
        [
            (
                ct,
                min(0.95, da_share * t.domestic_abuse_crime_types.get(ct, 0.0) / share),
                hate.get(ct, hate.get("default", 0.0)),
                t.victim_rate.get(ct, 0.0),
            )
            for ct, share in sorted(d.crime_type_mix.items())
        ],
    )
    off_rows = []
    for ct, oc in sorted(params.offence_codes.items()):
        for da in (False, True):
            weights = oc.da if (da and oc.da) else oc.weights
            off_rows += [
                (ct, da, *r) for r in _cumulative(list(zip(oc.codes, weights, strict=True)))
            ]
    reg(con, "p_off", ("crime_type", "da", "code", "lo"), off_rows)
    out_rows = []
    for ct, outcomes in sorted(d.outcome_mix.items()):
        out_rows += [(ct, *r) for r in _cumulative(sorted(outcomes.items()))]
    reg(con, "p_out", ("crime_type", "outcome", "lo"), out_rows)
    lag_rows = []
    for g, lags in sorted(d.outcome_lag_months.items()):
        lag_rows += [(g, *r) for r in _cumulative(list(enumerate(lags)))]
    reg(con, "p_lag", ("grp", "lag", "lo"), lag_rows)
    reg(con, "p_grp", ("outcome", "grp"), sorted(OUTCOME_GROUP.items()))

    def mix(name: str, shares: Mapping[str, float] | Mapping[int, float]) -> None:
        reg(con, name, ("v", "lo"), _cumulative([(str(k), float(w)) for k, w in shares.items()]))

    mix("p_sex", t.sex)
    mix("p_sex_da", t.sex_domestic_abuse)
    mix("p_ethnicity", t.ethnicity)
    mix("p_disability", t.disability)
    mix("p_channel", CHANNEL_WEIGHTS)
    mix("p_ack", ACK_DAYS)
    mix("p_ref_outcome", REFERRAL_OUTCOMES)
    mix("p_sup_outcome", SUPPORT_OUTCOMES)
    mix("p_interval_enh", t.care_contract_interval_enhanced)
    mix("p_interval_std", t.care_contract_interval_standard)


def _list(values: object) -> str:
    """A SQL list of string literals from constants of this package (never user input)."""
    items = sorted(values)  # type: ignore[call-overload]
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in items) + ")"


# -- one force -----------------------------------------------------------------------------------


def _write_force(
    con: duckdb.DuckDBPyConnection,
    params: SynthParams,
    force: ForceSize,
    folder: Path,
    seed: int,
    scale: float,
    end: date,
    key: Mapping[str, object],
) -> dict[str, int]:
    start = window_start(end, 1)
    end_minute = ((end - start).days + 1) * 1440 - 1
    n = max(1, round(force.crimes_per_year * scale))
    t = params.targets
    code = force.code
    name = force.force.replace("'", "''")
    salt = f"{seed}|{code}"
    con.execute(
        f"CREATE OR REPLACE MACRO u(k, s) AS "
        f"(hash(hash(k, s || '|{salt}')) >> 11)::DOUBLE / 9007199254740992.0"
    )
    con.execute(
        "CREATE OR REPLACE MACRO z(k, s) AS "
        "sqrt(-2 * ln(1 - u(k, s || 'a'))) * cos(2 * pi() * u(k, s || 'b'))"
    )
    con.execute(
        "CREATE OR REPLACE MACRO lognorm(k, s, med, sigma) AS "
        "greatest(1, round(med * exp(sigma * z(k, s))))::BIGINT"
    )
    con.execute(
        "CREATE OR REPLACE MACRO tri(uu, a, b, c) AS CASE WHEN uu < (c - a) / (b - a) "
        "THEN a + sqrt(uu * (b - a) * (c - a)) ELSE b - sqrt((1 - uu) * (b - a) * (b - c)) END"
    )
    con.execute(
        f"CREATE OR REPLACE MACRO ts(m) AS coalesce(strftime(TIMESTAMP '{start.isoformat()}' "
        "+ to_minutes(m::BIGINT), '%Y-%m-%dT%H:%M'), '')"
    )
    con.execute("CREATE OR REPLACE MACRO b(x) AS CASE WHEN x THEN 'true' ELSE 'false' END")
    con.execute(f"CREATE OR REPLACE MACRO id(kind, n) AS printf('{code}-%s-%08d', kind, n)")
    e = end_minute
    vso = "Violence and sexual offences"
    sexual, rape, homicide = _list(SEXUAL), _list(RAPE), _list(HOMICIDE)
    serious, child, harass = _list(SERIOUS_VIOLENCE), _list(CHILD_VICTIM), _list(HARASSMENT)
    sr = t.supervisory_review

    # Crimes: when, where, what.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c0 AS
        WITH b0 AS (SELECT i, u(i, 'day') ud, u(i, 'hour') uh, u(i, 'dist') udi FROM range({n}) r(i))
        SELECT b0.i, p_day.d * 1440 + p_hour.h * 60 + floor(u(b0.i, 'min') * 60)::BIGINT AS reported,
               p_dist.di, p_dist.district, p_dist.area, u(b0.i, 'ct') AS uct
        FROM b0 ASOF JOIN p_day ON b0.ud >= p_day.lo
                ASOF JOIN p_hour ON b0.uh >= p_hour.lo
                ASOF JOIN p_dist ON b0.udi >= p_dist.lo""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE c1 AS
        SELECT c0.*, p_ct.crime_type, u(c0.i, 'da') < p_type.da_rate AS da,
               p_type.hate_rate, p_type.victim_rate
        FROM c0 ASOF JOIN p_ct ON c0.di = p_ct.di AND c0.uct >= p_ct.lo
                JOIN p_type USING (crime_type)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c2 AS
        WITH x AS (SELECT c1.*, u(i, 'off') AS uo, u(i, 'out') AS uout FROM c1),
        y AS (
            SELECT x.*, p_off.code AS offence,
                   NOT x.da AND u(x.i, 'hate') < x.hate_rate AS hate,
                   x.reported + least(lognorm(x.i, 'rec', 150, 1.2), 4320)
                     + CASE WHEN u(x.i, 'recl') < 0.03
                            THEN (1 + floor(u(x.i, 'recd') * 10))::BIGINT * 1440 ELSE 0 END AS rec,
                   p_out.outcome AS raw_outcome
            FROM x ASOF JOIN p_off ON x.crime_type = p_off.crime_type AND x.da = p_off.da
                                      AND x.uo >= p_off.lo
                   ASOF JOIN p_out ON x.crime_type = p_out.crime_type AND x.uout >= p_out.lo)
        SELECT y.* EXCLUDE (rec, raw_outcome, uo, uout),
               CASE WHEN y.rec <= {e} THEN y.rec END AS recorded,
               CASE WHEN y.offence IN {homicide} THEN CASE WHEN u(i, 'hom') < 0.9 THEN 1 ELSE 13 END
                    WHEN y.da AND y.raw_outcome = 18
                         AND u(i, 'da1') < {t.domestic_abuse_outcomes["no_suspect_becomes_evidential"]}
                         THEN CASE WHEN u(i, 'da2') < 0.6 THEN 16 ELSE 15 END
                    WHEN y.da AND y.raw_outcome IN (14, 15)
                         AND u(i, 'da3') < {t.domestic_abuse_outcomes["evidential_becomes_victim_withdrawal"]}
                         THEN 16
                    ELSE y.raw_outcome END AS outcome
        FROM y""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c3 AS
        WITH x AS (
            SELECT c2.*, p_grp.grp, u(c2.i, 'lag') AS ul FROM c2 JOIN p_grp USING (outcome)),
        y AS (
            SELECT x.*, CASE WHEN p_lag.lag = 7 THEN 7 + floor(u(x.i, 'lag7') * 12)::INT
                             ELSE p_lag.lag END
                        + CASE WHEN x.outcome = 1 AND (x.offence IN {rape} OR x.offence IN {serious})
                               THEN 1 + floor(u(x.i, 'lags') * 6)::INT ELSE 0 END AS lag
            FROM x ASOF JOIN p_lag ON x.grp = p_lag.grp AND x.ul >= p_lag.lo),
        z AS (
            SELECT y.*, (CASE WHEN y.lag = 0
                              THEN y.reported // 1440 + floor(u(y.i, 'od') ^ 2 * 15)::BIGINT
                              ELSE y.reported // 1440 + round(y.lag * 30.44)::BIGINT
                                   + floor(u(y.i, 'od') * 30)::BIGINT - 15 END) * 1440
                        + 480 + floor(u(y.i, 'om') * 660)::BIGINT AS om,
                   coalesce(y.recorded, y.reported) + 10 AS fl
            FROM y)
        SELECT z.* EXCLUDE (om, fl, ul),
               CASE WHEN z.om <= z.fl THEN z.fl + 15 + floor(u(z.i, 'of') * 345)::BIGINT
                    ELSE z.om END AS outcome_minute
        FROM z""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c4 AS
        WITH x AS (
            SELECT c3.*, c3.recorded IS NULL OR c3.outcome_minute > {e} AS open,
                   c3.outcome = 18 AND NOT c3.da AND c3.outcome_minute - c3.reported <= 14400
                   AND c3.crime_type <> '{vso}' AND u(c3.i, 'scr') < 0.8 AS screened
            FROM c3),
        y AS (
            SELECT x.*, CASE WHEN x.screened THEN 0
                             WHEN x.da OR x.offence IN {sexual} OR x.offence = '11A' THEN 3
                             WHEN x.crime_type = 'Robbery' OR x.offence IN {serious}
                                  OR x.offence LIKE '28%' OR x.offence LIKE '29%' THEN 2
                             ELSE 1 END AS kind
            FROM x),
        z AS (
            SELECT y.*, CASE WHEN y.kind = 0 THEN 0 ELSE y.di * 3 + y.kind END AS unit_no,
                   row_number() OVER (ORDER BY y.reported, y.i) AS n
            FROM y)
        SELECT z.*, greatest(2, ceil(count(*) OVER (PARTITION BY z.unit_no) / 150))::INT AS staff,
               id('C', z.n) AS crime_id,
               CASE WHEN z.kind = 0 THEN '{name} {IMU}'
                    ELSE '{name} ' || z.district || ' ' || {_kinds()} END AS unit
        FROM z""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c AS
        SELECT c4.* EXCLUDE (staff),
               CASE WHEN u(i, 'offblank') < 0.005 THEN ''
                    ELSE printf('{code}-O-%02d%03d', unit_no, floor(u(i, 'officer') * staff)::INT)
               END AS officer,
               da OR hate OR offence IN {sexual} OR offence IN {serious} AS serious_case,
               offence IN {sexual} AS sexual
        FROM c4""")

    # Case events: the investigation, then the court for a charge.
    p_arrest = f"""CASE WHEN grp = 'charged' THEN CASE WHEN da THEN 0.95 ELSE 0.8 END
                        WHEN grp = 'out_of_court' THEN 0.35
                        WHEN crime_type = '{vso}' THEN CASE WHEN da THEN 0.7 ELSE 0.45 END
                        WHEN crime_type IN ('Burglary', 'Robbery') THEN 0.5 ELSE 0.25 END"""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ev0 AS
        WITH j AS (
            SELECT n, crime_id, i, reported, recorded AS st, outcome_minute AS o, grp, outcome, da,
                   screened, offence,
                   greatest(outcome_minute - recorded, 30) AS span,
                   grp = 'no_suspect' OR outcome IN (14, 20, 4) AS closed_only,
                   u(i, 'arr') < {p_arrest} AS arrested
            FROM c WHERE recorded IS NOT NULL),
        a AS (
            SELECT j.*, st + least(lognorm(i, 'ad', CASE WHEN da THEN 240 ELSE 2160 END, 1.0),
                                   span // 2) AS am
            FROM j),
        iv AS (SELECT a.*, am + least(60 + floor(u(i, 'iv') * 540)::BIGINT, (o - am) // 3) AS im
               FROM a),
        court AS (
            SELECT iv.*, offence IN {rape} OR offence IN {serious} AS serious,
                   (o // 1440 + 1 + floor(u(i, 'fh') * 28)::BIGINT) * 1440
                     + 600 + floor(u(i, 'fhm') * 360)::BIGINT AS first_hearing
            FROM iv),
        plea AS (
            SELECT court.*, u(i, 'plea') < CASE WHEN serious THEN 0.35 ELSE 0.62 END AS guilty_plea
            FROM court),
        verdict AS (
            SELECT plea.*, CASE WHEN guilty_plea THEN first_hearing
                                ELSE first_hearing + (CASE WHEN serious
                                     THEN 180 + floor(u(i, 'tr') * 360)
                                     ELSE 60 + floor(u(i, 'tr') * 240) END)::BIGINT * 1440
                           END AS vm,
                   guilty_plea OR u(i, 'guilty') < 0.6 AS guilty
            FROM plea)
        SELECT crime_id, n, reported, o AS m,
               CASE WHEN screened THEN 'decision_not_to_investigate' ELSE 'investigation_closed' END
                 AS event_type, 9 AS k
        FROM j WHERE closed_only
        UNION ALL SELECT crime_id, n, reported, am, 'suspect_arrested', 1
        FROM iv WHERE NOT closed_only AND arrested
        UNION ALL SELECT crime_id, n, reported, im, 'suspect_interviewed', 2
        FROM iv WHERE NOT closed_only AND arrested
        UNION ALL SELECT crime_id, n, reported, im + 30 + floor(u(i, 'rel') * 330)::BIGINT,
               CASE WHEN grp <> 'charged' AND u(i, 'rwc') < 0.15 THEN 'released_without_charge'
                    WHEN u(i, 'bail') < CASE WHEN da THEN 0.55 ELSE 0.3 END THEN 'released_on_bail'
                    ELSE 'released_under_investigation' END, 3
        FROM iv WHERE NOT closed_only AND arrested AND o - im > 2880
        UNION ALL SELECT crime_id, n, reported,
               st + floor(span * (0.2 + 0.6 * u(i, 'ivu')))::BIGINT, 'suspect_interviewed', 2
        FROM iv WHERE NOT closed_only AND NOT arrested
                      AND grp IN ('evidential', 'out_of_court', 'charged') AND u(i, 'ivn') < 0.55
        UNION ALL SELECT crime_id, n, reported, o,
               CASE WHEN grp = 'charged' THEN 'charged'
                    WHEN grp = 'out_of_court' THEN 'out_of_court_disposal'
                    WHEN outcome = 16 AND u(i, 'c16') < 0.5 THEN 'investigation_closed'
                    WHEN outcome IN (10, 21) THEN 'investigation_closed'
                    ELSE 'not_charged' END, 4
        FROM j WHERE NOT closed_only
        UNION ALL SELECT crime_id, n, reported,
               greatest((o // 1440 + floor(u(i, 'hl') * 2)::BIGINT) * 1440 + 540
                        + floor(u(i, 'hlm') * 480)::BIGINT, o + 30), 'hearing_listed', 5
        FROM verdict WHERE NOT closed_only AND grp = 'charged'
        UNION ALL SELECT crime_id, n, reported, vm, 'verdict', 6
        FROM verdict WHERE NOT closed_only AND grp = 'charged'
        UNION ALL SELECT crime_id, n, reported,
               CASE WHEN u(i, 'sq') < CASE WHEN guilty_plea THEN 0.5 ELSE 0.35 END
                    THEN vm + 30 + floor(u(i, 'sm') * 150)::BIGINT
                    ELSE vm + (21 + floor(u(i, 'sd') * 22))::BIGINT * 1440 END, 'sentenced', 7
        FROM verdict WHERE NOT closed_only AND grp = 'charged' AND guilty""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ev AS
        SELECT id('E', row_number() OVER (ORDER BY m, n, k)) AS event_id, crime_id, n, m,
               event_type
        FROM ev0 WHERE m <= {e} AND m >= reported""")

    # Victims: none, one or two per crime; some are repeat victims (an earlier victim's id).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE v0 AS
        WITH x AS (
            SELECT c.*, s.seq FROM c, LATERAL range(1, 3) s(seq)
            WHERE u(c.i, 'hasv') < CASE WHEN c.da THEN 0.97 ELSE c.victim_rate END
              AND (s.seq = 1 OR u(c.i, 'v2') < {t.second_victim_rate})),
        y AS (SELECT x.*, row_number() OVER (ORDER BY x.n, x.seq) AS vn FROM x),
        z AS (SELECT y.*, min(vn) OVER (PARTITION BY y.n) AS first_vn, y.i * 2 + y.seq AS vk FROM y)
        SELECT z.*,
               CASE WHEN seq = 1 AND first_vn > 1
                         AND u(vk, 'rep') < CASE WHEN da THEN {t.repeat_victim_rate["domestic_abuse"]}
                                                 ELSE {t.repeat_victim_rate["other"]} END
                    THEN id('V', 1 + floor(u(vk, 'repw') * (first_vn - 1))::BIGINT)
                    ELSE id('V', vn) END AS victim_id,
               CASE WHEN offence IN {homicide} THEN floor(tri(u(vk, 'age'), 18, 80, 40))
                    WHEN da THEN floor(tri(u(vk, 'age'), 16, 80, 29))
                    WHEN offence IN {child} OR u(vk, 'u18') < {t.under_18_rate}
                         THEN floor(tri(u(vk, 'age'), 4, 18, 15))
                    ELSE floor(tri(u(vk, 'age'), 18, 92, 30)) END::INT AS age,
               u(vk, 'opt') < {t.updates_opt_out_rate} AS opt_out,
               u(vk, 'int') < CASE WHEN da THEN 0.75 WHEN sexual THEN 0.8 WHEN hate THEN 0.6
                                   ELSE 0.05 END AS intimidated,
               u(vk, 'per') < CASE WHEN offence IN {harass} THEN 0.35 ELSE 0.01 END AS persistent,
               offence IN {homicide} AS bereaved
        FROM z""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE v AS
        WITH x AS (
            SELECT v0.*, u(vk, 'vul') < CASE WHEN age < 18 THEN 0.5 ELSE {t.vulnerable_rate} END
                           AS vulnerable,
                   u(vk, 'sex') AS us, u(vk, 'eth') AS ue, u(vk, 'dis') AS udis
            FROM v0)
        SELECT x.*, x.age < 18 OR x.vulnerable OR x.intimidated OR x.persistent OR x.bereaved
                    OR x.serious_case AS enhanced,
               coalesce(CASE WHEN x.da THEN sd.v ELSE sx.v END, '') AS sex,
               eth.v AS ethnicity, dis.v AS disability
        FROM x ASOF JOIN p_sex sx ON x.us >= sx.lo
               ASOF JOIN p_sex_da sd ON x.us >= sd.lo
               ASOF JOIN p_ethnicity eth ON x.ue >= eth.lo
               ASOF JOIN p_disability dis ON x.udis >= dis.lo""")

    # Needs assessments, care contracts and referrals, per victim of a recorded crime.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE na AS
        WITH x AS (
            SELECT v.*, u(vk, 'na') AS una,
                   CASE WHEN u(vk, 'nad') < 0.55 THEN reported + 20 + floor(u(vk, 'nam') * 340)::BIGINT
                        ELSE (reported // 1440 + CASE WHEN u(vk, 'nad') < 0.70 THEN 1
                                                      WHEN u(vk, 'nad') < 0.80 THEN 2
                                                      WHEN u(vk, 'nad') < 0.85 THEN 3
                                                      ELSE 4 + floor(u(vk, 'nal') * 22)::BIGINT END)
                             * 1440 + 480 + floor(u(vk, 'nam') * 660)::BIGINT END AS nm
            FROM v WHERE recorded IS NOT NULL)
        SELECT x.*, CASE WHEN una < {t.needs_assessment_completed} AND nm <= {e} THEN nm END AS done
        FROM x
        WHERE una < {t.needs_assessment_completed + t.needs_assessment_started_not_completed}
          AND nm <= {e}""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE cc AS
        WITH x AS (
            SELECT v.*, recorded + floor(u(vk, 'ccd') * 3 * 1440)::BIGINT AS agreed,
                   u(vk, 'cci') AS ui, u(vk, 'ccc') AS uc
            FROM v WHERE recorded IS NOT NULL AND NOT opt_out AND u(vk, 'cc') < {t.care_contract_rate})
        SELECT x.*, CASE WHEN x.enhanced THEN ie.v ELSE ist.v END::INT AS interval_days,
               ch.v AS channel
        FROM x ASOF JOIN p_interval_enh ie ON x.ui >= ie.lo
               ASOF JOIN p_interval_std ist ON x.ui >= ist.lo
               ASOF JOIN p_channel ch ON x.uc >= ch.lo
        WHERE x.agreed <= {e}""")
    hub = t.victim_hub_referral
    on_time, late, declined = hub["on_time"], hub["on_time"] + hub["late"], 1 - hub["missed"]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rf0 AS
        WITH x AS (SELECT v.*, u(vk, 'hub') AS uh, u(vk, 'ro') AS uo FROM v)
        SELECT x.victim_id, x.crime_id, x.n, 1 AS k, 'victim_hub' AS service,
               CASE WHEN uh < {on_time} THEN reported + floor(u(vk, 'hd') * 2 * 1440)::BIGINT
                    WHEN uh < {late} THEN reported + (3 + floor(u(vk, 'hd') * 13))::BIGINT * 1440
               END AS m,
               CASE WHEN uh >= {late} THEN 'declined'
                    WHEN u(vk, 'cons') < 0.4 THEN 'given' ELSE 'not_asked' END AS consent,
               coalesce(o.v, '') AS outcome
        FROM x ASOF JOIN p_ref_outcome o ON x.uo >= o.lo WHERE uh < {declined}
        UNION ALL
        SELECT x.victim_id, x.crime_id, x.n, 2, 'idva',
               reported + floor(u(vk, 'id') * 3 * 1440)::BIGINT, 'given', coalesce(o.v, '')
        FROM x ASOF JOIN p_sup_outcome o ON x.uo >= o.lo
        WHERE da AND u(vk, 'idva') < {t.idva_referral_domestic_abuse}
        UNION ALL
        SELECT x.victim_id, x.crime_id, x.n, 3, 'isva',
               reported + floor(u(vk, 'is') * 6 * 1440)::BIGINT, 'given', coalesce(o.v, '')
        FROM x ASOF JOIN p_sup_outcome o ON x.uo >= o.lo
        WHERE sexual AND u(vk, 'isva') < {t.isva_referral_sexual}
        UNION ALL
        SELECT x.victim_id, x.crime_id, x.n, 4, 'sarc',
               reported + 60 + floor(u(vk, 'sa') * 3 * 1440)::BIGINT, 'given', coalesce(o.v, '')
        FROM x ASOF JOIN p_sup_outcome o ON x.uo >= o.lo
        WHERE offence IN {rape} AND u(vk, 'sarc') < {t.sarc_referral_rape}""")

    # Contacts: the information pack, the needs assessment, an update about each event, and
    # the regular updates of a care contract.
    eu, cu = t.event_update, t.court_event_update
    court = _list(COURT_EVENTS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ct0 AS
        WITH upd AS (
            SELECT v.victim_id, v.crime_id, v.n, v.vk, v.enhanced, v.officer, ev.event_id,
                   ev.event_type, ev.m AS em, ev.event_type IN {court} AS is_court,
                   hash(v.vk, ev.event_id) AS hk
            FROM v JOIN ev USING (crime_id) WHERE NOT v.opt_out),
        kinds AS (
            SELECT upd.*, u(hk, 'kind') AS uk,
                   CASE WHEN enhanced OR event_type = 'hearing_listed' THEN 1 ELSE 5 END AS nd
            FROM upd),
        timed AS (
            SELECT kinds.*,
                   CASE WHEN uk < CASE WHEN is_court THEN {cu["on_time"]} ELSE {eu["on_time"]} END
                        THEN CASE WHEN u(hk, 'k0') < 0.55 THEN 0
                                  ELSE 1 + floor(u(hk, 'k') * nd)::INT END
                        WHEN uk < CASE WHEN is_court THEN {cu["on_time"] + cu["late"]}
                                       ELSE {eu["on_time"] + eu["late"]} END
                        THEN nd + 1 + floor(-ln(1 - u(hk, 'kl')) / 0.25)::INT
                   END AS kd
            FROM kinds)
        SELECT victim_id, crime_id, n, event_type AS purpose,
               CASE WHEN kd = 0 THEN em + 30 + floor(u(hk, 'km') * 210)::BIGINT
                    ELSE (em // 1440 + kd) * 1440 + 540 + floor(u(hk, 'km') * 540)::BIGINT END AS m,
               CASE WHEN u(hk, 'about') < {t.about_event_id_blank} THEN '' ELSE event_id END
                 AS about,
               CASE WHEN is_court OR u(hk, 'ofc') >= 0.9 THEN '' ELSE officer END AS officer,
               CASE WHEN is_court AND u(hk, 'cph') < 0.7 THEN 'phone' ELSE NULL END AS channel,
               hk
        FROM timed WHERE kd IS NOT NULL
        UNION ALL
        SELECT victim_id, crime_id, n, 'information_pack',
               reported + 10 + floor(u(vk, 'ip') * 2 * 1440)::BIGINT, '', officer, NULL,
               hash(vk, 'ip')
        FROM v WHERE u(vk, 'ipp') < 0.9
        UNION ALL
        SELECT victim_id, crime_id, n, 'written_acknowledgement',
               greatest((reported // 1440 + p_ack.v::BIGINT) * 1440 + 480
                        + floor(u(vk, 'ackm') * 660)::BIGINT, reported + 15),
               '', officer, NULL, hash(vk, 'ack')
        FROM v ASOF JOIN p_ack ON u(v.vk, 'ackd') >= p_ack.lo WHERE u(vk, 'ack') < 0.82
        UNION ALL
        SELECT victim_id, crime_id, n, 'compensation_info',
               reported + 60 + floor(u(vk, 'comp') * 14 * 1440)::BIGINT, '', officer, NULL,
               hash(vk, 'comp')
        FROM v WHERE (crime_type IN {_list(INJURY_OR_LOSS_TYPES)} OR offence IN {_list(INJURY_CODES)})
                     AND u(vk, 'compp') < 0.55
        UNION ALL
        SELECT v.victim_id, v.crime_id, v.n, 'vps_offer',
               f.fm + floor(u(v.vk, 'vps') * 10 * 1440)::BIGINT, '', v.officer,
               CASE WHEN u(v.vk, 'vpsc') < 0.5 THEN 'in_person' ELSE 'phone' END, hash(v.vk, 'vps')
        FROM v JOIN (SELECT crime_id, min(m) AS fm FROM ev
                     WHERE event_type IN ('suspect_interviewed', 'charged') GROUP BY crime_id) f
                USING (crime_id)
        WHERE u(v.vk, 'vpsp') < 0.6
        UNION ALL
        SELECT victim_id, crime_id, n, 'needs_assessment', done, '', officer,
               CASE WHEN u(vk, 'nac') < 0.6 THEN 'phone' ELSE 'in_person' END, hash(vk, 'na')
        FROM na WHERE done IS NOT NULL
        UNION ALL
        SELECT victim_id, crime_id, n,
               CASE WHEN u(hash(vk, s.j), 'pp') < 0.7 THEN 'vcc_update' ELSE 'update' END,
               CASE WHEN u(hash(vk, s.j), 'pk') < {t.periodic_update["on_time"]}
                    THEN agreed + s.j * interval_days * 1440
                         - floor(u(hash(vk, s.j), 'pe') * 2)::BIGINT * 1440
                    WHEN u(hash(vk, s.j), 'pk')
                         < {t.periodic_update["on_time"] + t.periodic_update["late"]}
                    THEN agreed + (s.j * interval_days + 1 + floor(u(hash(vk, s.j), 'pl') * 10))
                                  ::BIGINT * 1440
               END, '', officer, channel, hash(vk, s.j)
        FROM cc, LATERAL range(1, 1 + (least({e}, CASE WHEN open THEN {e} ELSE outcome_minute END)
                                     - agreed) // (interval_days * 1440)) s(j)""")
    fail = t.unsuccessful_attempt_rate
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ct AS
        WITH x AS (
            SELECT ct0.* EXCLUDE (channel), coalesce(ct0.channel, ch.v) AS channel
            FROM ct0 ASOF JOIN p_channel ch ON u(ct0.hk, 'ch') >= ch.lo
            WHERE ct0.m IS NOT NULL),
        tries AS (
            SELECT x.*, true AS successful FROM x
            WHERE NOT (channel = 'phone' AND u(hk, 'fail') < {fail})
            UNION ALL
            SELECT x.*, false FROM x WHERE channel = 'phone' AND u(hk, 'fail') < {fail}
            UNION ALL
            SELECT x.* REPLACE (m + 120 + floor(u(hk, 'retry') * 1680)::BIGINT AS m), true
            FROM x WHERE channel = 'phone' AND u(hk, 'fail') < {fail}
                         AND u(hk, 'again') < {t.retry_after_unsuccessful})
        SELECT id('CT', row_number() OVER (ORDER BY m, n, victim_id, purpose, successful))
                 AS contact_id, tries.*
        FROM tries WHERE m <= {e}""")

    # Supervisory reviews of each investigation, every interval_days from the first due date.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sr AS
        WITH x AS (
            SELECT c.*, recorded + (CASE WHEN da THEN {sr["first_due_days_domestic_abuse"]}
                                        ELSE {sr["first_due_days"]} END * 1440)::BIGINT AS first_due,
                   CASE WHEN open THEN {e} ELSE outcome_minute END AS lim
            FROM c WHERE recorded IS NOT NULL AND NOT screened),
        y AS (
            SELECT x.*, first_due + s.j * {int(sr["interval_days"])} * 1440 AS due, s.j,
                   hash(x.i, s.j) AS hk
            FROM x, LATERAL range(0, CASE WHEN lim >= first_due
                                          THEN (lim - first_due) // ({int(sr["interval_days"])} * 1440) + 1
                                          ELSE 0 END + CASE WHEN open THEN 1 ELSE 0 END) s(j))
        SELECT id('SR', row_number() OVER (ORDER BY n, j)) AS review_id, crime_id, due,
               CASE WHEN due > lim THEN NULL
                    WHEN u(hk, 'sr') < {sr["on_time"]}
                    THEN greatest(due - floor(u(hk, 'sre') * 3 * 1440)::BIGINT, recorded + 60)
                    WHEN u(hk, 'sr') < {sr["on_time"] + sr["late"]}
                    THEN due + (2 + floor(u(hk, 'srl') * 28))::BIGINT * 1440
               END AS done
        FROM y""")

    ratio = force.crimes_per_year / params.derived.crimes_per_year
    per = t.residents_per_lsoa
    source = (
        f"synthetic (vcop demo-data --national): {per:,} residents per LSOA of the Demoshire "
        f"district it copies, times the force's size against Demoshire's ({ratio:.3f}), "
        f"scale {scale:g}; not a real population"
    )
    selects = {
        "crimes": (
            "c",
            {
                "crime_id": "crime_id",
                "reported_at": "ts(reported)",
                "recorded_at": "ts(recorded)",
                "crime_type": "crime_type",
                "offence_code": "offence",
                "domestic_abuse": "b(da)",
                "hate_crime": "b(hate)",
                "area": f"'{name} ' || area",
                "district": f"'{name} ' || district",
                "unit": "CASE WHEN recorded IS NULL THEN '' ELSE unit END",
                "officer_id": "CASE WHEN recorded IS NULL THEN '' ELSE officer END",
                "outcome_code": "CASE WHEN open THEN '' ELSE outcome::VARCHAR END",
                "outcome_at": "CASE WHEN open THEN '' ELSE ts(outcome_minute) END",
                "force": f"'{name}'",
                "local_authority": f"'{name} ' || district",
            },
            "n",
        ),
        "victims": (
            "v",
            {
                "victim_id": "victim_id",
                "crime_id": "crime_id",
                "age_at_report": "age::VARCHAR",
                "vulnerable": "b(vulnerable)",
                "intimidated": "b(intimidated)",
                "persistently_targeted": "b(persistent)",
                "bereaved_relative": "b(bereaved)",
                "updates_opt_out": "b(opt_out)",
                "sex": "CASE WHEN sex = 'blank' THEN '' ELSE sex END",
                "ethnicity": "CASE WHEN ethnicity = 'blank' THEN '' ELSE ethnicity END",
                "disability": "CASE WHEN disability = 'blank' THEN '' ELSE disability END",
            },
            "vn",
        ),
        "case_events": (
            "ev",
            {
                "event_id": "event_id",
                "crime_id": "crime_id",
                "event_type": "event_type",
                "event_at": "ts(m)",
            },
            "event_id",
        ),
        "contacts": (
            "ct",
            {
                "contact_id": "contact_id",
                "victim_id": "victim_id",
                "crime_id": "crime_id",
                "contact_at": "ts(m)",
                "purpose": "purpose",
                "successful": "b(successful)",
                "channel": "channel",
                "about_event_id": "about",
                "officer_id": "officer",
            },
            "contact_id",
        ),
        "referrals": (
            f"(SELECT *, id('R', row_number() OVER (ORDER BY n, victim_id, k)) AS referral_id "
            f"FROM rf0 WHERE m IS NULL OR m <= {e})",
            {
                "referral_id": "referral_id",
                "victim_id": "victim_id",
                "crime_id": "crime_id",
                "service": "service",
                "referred_at": "ts(m)",
                "consent": "consent",
                "outcome": "outcome",
            },
            "referral_id",
        ),
        "needs_assessments": (
            "(SELECT *, id('NA', row_number() OVER (ORDER BY n, vn)) AS assessment_id FROM na)",
            {
                "assessment_id": "assessment_id",
                "victim_id": "victim_id",
                "crime_id": "crime_id",
                "completed_at": "ts(done)",
                "enhanced_rights_identified": "CASE WHEN done IS NULL THEN '' "
                "ELSE b(CASE WHEN u(vk, 'nae') < 0.95 THEN enhanced ELSE NOT enhanced END) END",
                "support_needed": "CASE WHEN done IS NULL THEN '' ELSE b(u(vk, 'nas') < "
                "CASE WHEN da THEN 0.6 WHEN enhanced THEN 0.45 ELSE 0.25 END) END",
                "questions_answered": f"CASE WHEN done IS NULL THEN "
                f"floor(u(vk, 'naq') * {t.needs_assessment_questions - 2})::INT "
                f"WHEN u(vk, 'naq') < 0.85 THEN {t.needs_assessment_questions} "
                f"ELSE {t.needs_assessment_questions - 2} + floor(u(vk, 'naq2') * 2)::INT "
                "END::VARCHAR",
            },
            "assessment_id",
        ),
        "care_contracts": (
            "(SELECT *, id('CC', row_number() OVER (ORDER BY n, vn)) AS contract_id FROM cc)",
            {
                "contract_id": "contract_id",
                "victim_id": "victim_id",
                "crime_id": "crime_id",
                "agreed_at": "ts(agreed)",
                "update_interval_days": "interval_days::VARCHAR",
                "preferred_channel": "channel",
            },
            "contract_id",
        ),
        "supervisory_reviews": (
            "sr",
            {
                "review_id": "review_id",
                "crime_id": "crime_id",
                "due_at": "ts(due)",
                "completed_at": f"CASE WHEN done > {e} THEN '' ELSE ts(done) END",
            },
            "review_id",
        ),
        "population": (
            "p_dist",
            {
                "area": f"'{name} ' || area",
                "district": f"'{name} ' || district",
                "population": f"greatest(1, round(lsoas * {per} * {ratio} * {scale}))::BIGINT"
                "::VARCHAR",
                "source": "'" + source.replace("'", "''") + "'",
            },
            "area, district",
        ),
    }
    schema = load_schema()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    counts: dict[str, int] = {}
    try:
        tmp.chmod(0o755)
        for table in TABLES:
            source_sql, exprs, order = selects[table]
            cols = schema.table(table).column_names
            unknown = set(exprs) - set(cols)
            if unknown:
                raise AssertionError(f"{table}: the schema has no column(s) {sorted(unknown)}")
            select = ", ".join(
                f"coalesce(({exprs[col]})::VARCHAR, '') AS {col}"
                if col in exprs
                else f"'' AS {col}"
                for col in cols
            )
            path = tmp / f"{table}.parquet"
            con.execute(
                f"COPY (SELECT {select} FROM {source_sql} ORDER BY {order}) "
                f"TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
            )
            counts[table] = int(
                con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]  # type: ignore[index]
            )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        marker = {**key, "force": force.force, "code": code, "counts": counts}
        (folder / MARKER).write_text(json.dumps(marker, indent=1) + "\n", "utf-8")
    finally:
        if tmp.exists():
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
        for temp in ("c0", "c1", "c2", "c3", "c4", "c", "ev0", "ev", "v0", "v", "na", "cc"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        for temp in ("rf0", "ct0", "ct", "sr"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return counts


def _kinds() -> str:
    """SQL naming a unit's kind from its number (1 Response, 2 CID, 3 Safeguarding)."""
    whens = " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(UNIT_KINDS, start=1))
    return f"CASE kind {whens} END"
