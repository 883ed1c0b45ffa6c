"""Benchmark the entitlement ledger on the demo force: a 1-year and a 3-year force.

    uv run python bench/bench_ledger.py [--years 1 3] [--work var/bench] [--seed 1]

For each force it builds (or reuses) the demo extract (``vcop.synth``) loaded into a DuckDB file
(``vcop.ingest``), then, in a fresh process per force:

* ``vcop evaluate``'s work — the whole ledger, every obligation, written to ``entitlements`` — with
  its wall time and the process's peak memory (resident set): cold (the SQL cache emptied, and
  the machine's cache folder an empty one, so every part is built and compiled, as after a
  change to the definitions or to vcop) and warm (the SQL kept by the cold run, as every later
  evaluation runs);
* the engine evaluating ``R6.suspect-arrested`` alone, as ``vcop evaluate`` runs a part, cold
  (built and compiled) and warm (from the cache);
* the baseline: one hand-written DuckDB SQL query computing ``R6.suspect-arrested`` for the same
  data and as-of date, every one of the ledger's columns, whose rows must equal the engine's
  over all of them;
* the earlier, smaller baseline: a hand-written query computing only 6 of the columns (it does
  less than the engine, so it flatters the hand-written side), whose rows must equal the
  engine's over those 6.

It prints the times and the ratios (whole ledger ÷ hand-written query; engine's one obligation ÷
hand-written query, cold and warm; and the warm engine ÷ the 6-column query), measured in the
same run. It exits 1 if either query's rows differ from the engine's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

OBLIGATION = "R6.suspect-arrested"

#: The columns the earlier, smaller baseline (:func:`hand_written_sql_six`) computes.
SIX_COLUMNS = "victim_id, crime_id, trigger_event_id, due_date, met_at, status"


def build_force(work: Path, years: int, seed: int) -> tuple[Path, date]:
    """The demo force's database for ``years`` (made once, then reused)."""
    from vcop.ingest import load_paths
    from vcop.spec.profile import load_profile
    from vcop.store import connect
    from vcop.synth.generate import DEFAULT_END, generate

    db = work / f"demo-{years}y-seed{seed}.duckdb"
    if db.exists():
        return db, DEFAULT_END
    extract = work / f"demo-{years}y-seed{seed}"
    started = time.perf_counter()
    print(f"  generating the {years}-year demo force ...", flush=True)
    generate(extract, seed=seed, years=years)
    print("  loading it into DuckDB ...", flush=True)
    partial = db.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = connect(partial)
    load_paths(con, [extract], load_profile("standard"))
    con.close()
    partial.rename(db)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return db, DEFAULT_END


def _sql_text(value: object) -> str:
    """A value as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def hand_written_sql(as_of: date) -> str:
    """R6.suspect-arrested in one DuckDB query, written by hand from the Code definitions: every
    column of the ledger (``LEDGER_SCHEMA``), in its order.

    Enhanced rights are the 2021 edition's ``eligibility.yaml`` criteria, in file order (the
    first that holds is ``enhanced_reason``); the reasons are the ``event_update`` kind's
    templates; the obligation's literal values (title, owner, deadlines, ...) and the offence
    lists' codes are read from the loaded Code.
    """
    from vcop.spec.code import LocalStandards, load_code

    code = load_code()
    edition = code.edition("2021")
    obligation = code.obligation(OBLIGATION, "2021")
    lists = edition.offence_lists.lists
    how = obligation.evaluate
    assert how is not None and how.events == ("suspect_arrested",) and how.opt_out_applies
    assert obligation.deadline.enhanced is not None and obligation.deadline.standard is not None
    assert obligation.effective_to is None

    def offence(name: str) -> str:
        codes = ", ".join(_sql_text(c.upper()) for c in lists[name].codes)
        return f"coalesce(c.code IN ({codes}), false)" if codes else "false"

    cutoff = datetime.combine(as_of + timedelta(days=1), clock())
    right = "NULL" if obligation.right is None else str(obligation.right)
    return f"""
    WITH crimes_v AS (
        SELECT crime_id, upper(trim(offence_code)) AS code,
               coalesce(domestic_abuse, false) AS da, coalesce(hate_crime, false) AS hc
        FROM crimes WHERE reported_at < TIMESTAMP '{cutoff}'
    ),
    assessed AS (
        SELECT DISTINCT victim_id, crime_id FROM needs_assessments
        WHERE completed_at < TIMESTAMP '{cutoff}' AND enhanced_rights_identified
    ),
    vc AS (
        SELECT v.victim_id, v.crime_id, coalesce(v.updates_opt_out, false) AS opted_out,
               CASE WHEN coalesce(v.bereaved_relative, false) OR {offence("homicide")}
                      THEN 'bereaved_close_relative'
                    WHEN c.da THEN 'domestic_abuse'
                    WHEN c.hc OR {offence("racially_or_religiously_aggravated")}
                      THEN 'hate_crime'
                    WHEN {offence("terrorism")} THEN 'terrorism'
                    WHEN {offence("sexual_offences")} THEN 'sexual_offences'
                    WHEN {offence("human_trafficking_modern_slavery")}
                      THEN 'human_trafficking_modern_slavery'
                    WHEN {offence("attempted_murder")} THEN 'attempted_murder'
                    WHEN {offence("kidnap")} THEN 'kidnap'
                    WHEN {offence("false_imprisonment")} THEN 'false_imprisonment'
                    WHEN {offence("arson_endangering_life")}
                      THEN 'arson_with_intent_to_endanger_life'
                    WHEN {offence("wounding_or_gbh_with_intent")}
                      THEN 'wounding_or_gbh_with_intent'
                    WHEN coalesce(v.persistently_targeted, false)
                         OR {offence("stalking_harassment")} THEN 'persistently_targeted'
                    WHEN coalesce(v.age_at_report < 18, false) THEN 'under_18'
                    WHEN coalesce(v.vulnerable, false) THEN 'vulnerable'
                    WHEN coalesce(v.intimidated, false) THEN 'intimidated'
                    WHEN a.victim_id IS NOT NULL THEN 'needs_assessment'
               END AS enhanced_reason
        FROM victims v JOIN crimes_v c USING (crime_id)
        LEFT JOIN assessed a USING (victim_id, crime_id)
    ),
    trig AS (
        SELECT vc.*, e.event_id, e.event_at FROM vc JOIN case_events e USING (crime_id)
        WHERE e.event_type = 'suspect_arrested' AND e.event_at < TIMESTAMP '{cutoff}'
          AND CAST(e.event_at AS DATE) >= DATE '{obligation.effective_from}'
    ),
    told AS (
        SELECT t.victim_id, t.crime_id, t.event_id,
               min(k.contact_at) FILTER (WHERE k.ok) AS met_at,
               arg_min(k.contact_id, (k.contact_at, k.contact_id)) FILTER (WHERE k.ok)
                 AS met_by_id,
               count(*) FILTER (WHERE NOT k.ok) AS failed
        FROM trig t
        JOIN (SELECT *, coalesce(successful, true) AS ok FROM contacts
              WHERE contact_at < TIMESTAMP '{cutoff}') k
          ON k.victim_id = t.victim_id AND k.crime_id = t.crime_id
         AND (k.about_event_id = t.event_id
              OR (k.about_event_id IS NULL AND k.purpose = 'suspect_arrested'
                  AND k.contact_at >= t.event_at))
        GROUP BY ALL
    ),
    rows AS (
        SELECT t.victim_id, t.crime_id, t.event_id, t.event_at, t.enhanced_reason,
               t.opted_out, due.date AS due_date, told.met_at, told.met_by_id,
               CASE coalesce(told.failed, 0) WHEN 0 THEN ''
                    WHEN 1 THEN '; 1 unsuccessful attempt'
                    ELSE '; ' || told.failed || ' unsuccessful attempts' END AS attempts,
               CASE WHEN t.opted_out THEN 'not_applicable'
                    WHEN told.met_at IS NOT NULL AND CAST(told.met_at AS DATE) <= due.date
                      THEN 'met'
                    WHEN told.met_at IS NOT NULL THEN 'late'
                    WHEN due.date < DATE '{as_of}' THEN 'overdue'
                    ELSE 'pending' END AS status
        FROM trig t
        JOIN calendar day0 ON day0.date = CAST(t.event_at AS DATE)
        JOIN calendar due ON due.is_working_day AND due.working_day_seq = day0.working_day_seq
             + CASE WHEN t.enhanced_reason IS NOT NULL THEN {obligation.deadline.enhanced}
                    ELSE {obligation.deadline.standard} END
        LEFT JOIN told USING (victim_id, crime_id, event_id)
    )
    SELECT victim_id, crime_id, {_sql_text(obligation.id)} AS obligation_id,
           CAST({right} AS BIGINT) AS "right", {_sql_text(obligation.owner)} AS owner,
           {_sql_text(obligation.title)} AS title, 'suspect_arrested' AS trigger_type,
           event_id AS trigger_event_id, event_at AS trigger_at, due_date, met_at, met_by_id,
           status, enhanced_reason IS NOT NULL AS enhanced, enhanced_reason,
           CASE status
                WHEN 'met' THEN 'the victim was told by the due date'
                WHEN 'late' THEN 'the victim was told after the due date'
                WHEN 'overdue' THEN 'the victim has not been told and the due date has passed'
                                    || attempts
                WHEN 'pending' THEN 'not yet due; the victim has not been told yet' || attempts
                ELSE 'the victim asked not to receive updates' END AS reason,
           {_sql_text(obligation.status)} AS code_status, {_sql_text(edition.edition)}
             AS code_edition, DATE '{as_of}' AS as_of,
           {_sql_text(code.definitions_hash(LocalStandards()))} AS definitions_hash
    FROM rows
    """


def hand_written_sql_six(as_of: date) -> str:
    """R6.suspect-arrested in one DuckDB query, but only 6 of the ledger's columns (victim_id,
    crime_id, trigger_event_id, due_date, met_at, status): the earlier baseline, which computes
    less than the engine does (kept so its figure can still be compared)."""
    from vcop.spec.code import load_code

    code = load_code()
    edition = code.edition("2021")
    obligation = code.obligation(OBLIGATION, "2021")
    lists = edition.offence_lists.lists

    def codes(name: str) -> str:
        return ", ".join(f"'{c.upper()}'" for c in lists[name].codes) or "NULL"

    offence_lists = [
        "homicide", "racially_or_religiously_aggravated", "terrorism", "sexual_offences",
        "human_trafficking_modern_slavery", "attempted_murder", "kidnap", "false_imprisonment",
        "arson_endangering_life", "wounding_or_gbh_with_intent", "stalking_harassment",
    ]  # fmt: skip
    offences = " OR ".join(f"c.code IN ({codes(n)})" for n in offence_lists)
    cutoff = datetime.combine(as_of + timedelta(days=1), clock())
    assert obligation.deadline.enhanced is not None and obligation.deadline.standard is not None
    return f"""
    WITH crimes_v AS (
        SELECT crime_id, upper(trim(offence_code)) AS code,
               coalesce(domestic_abuse, false) AS da, coalesce(hate_crime, false) AS hc
        FROM crimes WHERE reported_at < TIMESTAMP '{cutoff}'
    ),
    assessed AS (
        SELECT DISTINCT victim_id, crime_id FROM needs_assessments
        WHERE completed_at < TIMESTAMP '{cutoff}' AND enhanced_rights_identified
    ),
    vc AS (
        SELECT v.victim_id, v.crime_id, coalesce(v.updates_opt_out, false) AS opted_out,
               coalesce(v.bereaved_relative, false) OR c.da OR c.hc OR coalesce({offences}, false)
               OR coalesce(v.persistently_targeted, false) OR coalesce(v.age_at_report < 18, false)
               OR coalesce(v.vulnerable, false) OR coalesce(v.intimidated, false)
               OR a.victim_id IS NOT NULL AS enhanced
        FROM victims v JOIN crimes_v c USING (crime_id)
        LEFT JOIN assessed a USING (victim_id, crime_id)
    ),
    trig AS (
        SELECT vc.*, e.event_id, e.event_at FROM vc JOIN case_events e USING (crime_id)
        WHERE e.event_type = 'suspect_arrested' AND e.event_at < TIMESTAMP '{cutoff}'
          AND CAST(e.event_at AS DATE) >= DATE '{obligation.effective_from}'
    ),
    told AS (
        SELECT t.victim_id, t.crime_id, t.event_id, min(k.contact_at) AS met_at
        FROM trig t JOIN contacts k
          ON k.victim_id = t.victim_id AND k.crime_id = t.crime_id
         AND coalesce(k.successful, true) AND k.contact_at < TIMESTAMP '{cutoff}'
         AND (k.about_event_id = t.event_id
              OR (k.about_event_id IS NULL AND k.purpose = 'suspect_arrested'
                  AND k.contact_at >= t.event_at))
        GROUP BY ALL
    )
    SELECT t.victim_id, t.crime_id, t.event_id AS trigger_event_id, due.date AS due_date,
           told.met_at,
           CASE WHEN t.opted_out THEN 'not_applicable'
                WHEN told.met_at IS NOT NULL AND CAST(told.met_at AS DATE) <= due.date THEN 'met'
                WHEN told.met_at IS NOT NULL THEN 'late'
                WHEN due.date < DATE '{as_of}' THEN 'overdue'
                ELSE 'pending' END AS status
    FROM trig t
    JOIN calendar day0 ON day0.date = CAST(t.event_at AS DATE)
    JOIN calendar due ON due.is_working_day AND due.working_day_seq = day0.working_day_seq
         + CASE WHEN t.enhanced THEN {obligation.deadline.enhanced} ELSE {obligation.deadline.standard} END
    LEFT JOIN told USING (victim_id, crime_id, event_id)
    """


def _one_obligation_code() -> Any:
    """The Code with only R6.suspect-arrested (its edition's criteria and offence lists)."""
    from vcop.spec.code import Code, Edition, load_code

    code = load_code()
    edition = code.edition("2021")
    return Code(
        editions=(
            Edition(
                header=edition.header,
                obligations=(code.obligation(OBLIGATION, "2021"),),
                eligibility=edition.eligibility,
                offence_lists=edition.offence_lists,
            ),
        ),
        files_hash=code.files_hash,
    )


#: How many times the warm engine and the hand-written query each run (interleaved); the
#: median of each is reported.
REPEATS = 5


def measure(db: str, as_of: date) -> dict[str, Any]:
    """In a fresh process: evaluate the whole ledger cold (compiling every part) and warm (its
    SQL from the cache, as every later ``vcop evaluate`` runs), then the one obligation, cold
    and warm, against the hand-written query."""
    import ibis

    from vcop.rules.compiled import CACHE_TABLE, plan
    from vcop.rules.ledger import LEDGER_COLUMNS, evaluate, run_step
    from vcop.spec.code import LocalStandards
    from vcop.store import connect

    out: dict[str, Any] = {}
    con = connect(db)
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("crimes", "victims", "case_events", "contacts")
    }
    out["counts"] = counts
    con.execute(f"DROP TABLE IF EXISTS {CACHE_TABLE}")  # cold: nothing compiled yet
    started = time.perf_counter()
    run = evaluate(con, as_of)
    out["evaluate_cold_s"] = time.perf_counter() - started
    started = time.perf_counter()
    warm = evaluate(con, as_of)
    out["evaluate_warm_s"] = time.perf_counter() - started
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["ledger_rows"] = run.rows
    assert warm.by_status == run.by_status

    one = _one_obligation_code()
    backend = ibis.duckdb.from_connection(con)

    def engine() -> float:
        """As ``vcop evaluate`` writes it: the plan (compiled, or from the cache), then run."""
        con.execute("CREATE OR REPLACE TEMP TABLE _bench_engine AS FROM entitlements LIMIT 0")
        started = time.perf_counter()
        for step in plan(backend, one, LocalStandards(), as_of).steps:
            run_step(con, step, as_of, "_bench_engine")
        return time.perf_counter() - started

    sql = hand_written_sql(as_of)
    sql_six = hand_written_sql_six(as_of)

    def hand(query: str, table: str) -> float:
        started = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
        return time.perf_counter() - started

    out["engine_cold_s"] = engine()
    warm_s, hand_s, six_s = [], [], []
    for _ in range(REPEATS):
        warm_s.append(engine())
        hand_s.append(hand(sql, "_bench_hand"))
        six_s.append(hand(sql_six, "_bench_hand_six"))
    out["engine_warm_s"] = sorted(warm_s)[REPEATS // 2]
    out["hand_s"] = sorted(hand_s)[REPEATS // 2]
    out["hand_six_s"] = sorted(six_s)[REPEATS // 2]

    def differing(columns: str, hand_table: str) -> int:
        """Rows in one table and not the other (as multisets, both ways) over ``columns``."""
        return int(
            con.execute(
                f"SELECT count(*) FROM ((SELECT {columns} FROM _bench_engine EXCEPT ALL "
                f"SELECT {columns} FROM {hand_table}) UNION ALL (SELECT {columns} FROM {hand_table} "
                f"EXCEPT ALL SELECT {columns} FROM _bench_engine))"
            ).fetchall()[0][0]
        )

    hand_columns = [d[0] for d in con.execute("SELECT * FROM _bench_hand LIMIT 0").description]
    if hand_columns != list(LEDGER_COLUMNS):
        raise ValueError(f"the hand-written query's columns {hand_columns} are not the ledger's")
    types = {
        t: con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {t})").fetchall()
        for t in ("_bench_engine", "_bench_hand")
    }
    if types["_bench_engine"] != types["_bench_hand"]:
        raise ValueError(f"the hand-written query's column types differ: {types}")
    out["differ"] = differing(", ".join(f'"{c}"' for c in LEDGER_COLUMNS), "_bench_hand")
    out["differ_six"] = differing(SIX_COLUMNS, "_bench_hand_six")
    out["rows_one"] = con.execute("SELECT count(*) FROM _bench_hand").fetchall()[0][0]
    out["rows_engine"] = con.execute("SELECT count(*) FROM _bench_engine").fetchall()[0][0]
    con.close()
    return out


def _child(db: str, as_of: date, queue: Any) -> None:
    try:
        queue.put(measure(db, as_of))
    except BaseException as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def _agreement(differ: int, columns: str) -> str:
    """Whether the engine's rows and a hand-written query's agree, in words."""
    if differ == 0:
        return f"identical to the engine's over {columns}"
    return f"{differ:,} rows DIFFER from the engine's over {columns}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--work", type=Path, default=Path("var/bench"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    import duckdb
    import ibis

    from vcop.rules.ledger import LEDGER_SCHEMA

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(
        f"vcop ledger benchmark — DuckDB {duckdb.__version__}, Ibis {ibis.__version__}, "
        f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}"
    )
    results = []
    for years in args.years:
        db, as_of = build_force(args.work, years, args.seed)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        process = context.Process(target=_child, args=(str(db), as_of, queue))
        # an empty cache folder: "cold" compiles, not reads the SQL vcop keeps on the machine
        with tempfile.TemporaryDirectory() as machine_cache:
            os.environ["VCOP_CACHE_DIR"] = machine_cache
            process.start()
            result = queue.get()
            process.join()
        if "error" in result:
            print(f"  the measurement failed: {result['error']}")
            return 2
        results.append((years, as_of, result))
        c = result["counts"]
        print(
            f"\n{years}-year force as of {as_of}: {c['crimes']:,} crimes, {c['victims']:,} "
            f"victim-crimes, {c['case_events']:,} case events, {c['contacts']:,} contacts"
        )
        hand, six = result["hand_s"], result["hand_six_s"]
        print(
            f"  whole ledger ({result['ledger_rows']:,} entitlements, written to the store): "
            f"cold {result['evaluate_cold_s']:.1f} s (every part compiled), warm "
            f"{result['evaluate_warm_s']:.1f} s (the SQL kept from the last run); peak memory "
            f"{result['peak_mb']:.0f} MB"
        )
        print(
            f"  {OBLIGATION} alone ({result['rows_engine']:,} rows; warm and hand-written: "
            f"medians of {REPEATS}, interleaved):"
        )
        print(
            f"    engine: cold {result['engine_cold_s']:.3f} s (built and compiled), warm "
            f"{result['engine_warm_s']:.3f} s (SQL from the cache) — all "
            f"{len(LEDGER_SCHEMA)} ledger columns"
        )
        print(
            f"    hand-written SQL, all {len(LEDGER_SCHEMA)} columns (the baseline): "
            f"{hand:.3f} s; {result['rows_one']:,} rows, "
            + _agreement(result["differ"], f"all {len(LEDGER_SCHEMA)} columns")
        )
        print(
            f"    hand-written SQL, 6 columns only ({SIX_COLUMNS}; computes less than the "
            f"engine, so not a like-for-like baseline): {six:.3f} s, "
            + _agreement(result["differ_six"], "those 6 columns")
        )
        print(
            f"  ratio, engine / hand-written (all columns), same obligation: cold "
            f"{result['engine_cold_s'] / hand:.2f}x, warm {result['engine_warm_s'] / hand:.2f}x"
        )
        print(
            f"  ratio, engine warm / hand-written 6 columns only (computes less): "
            f"{result['engine_warm_s'] / six:.2f}x"
        )
        print(
            f"  ratio, whole ledger / hand-written {OBLIGATION} (all columns): cold "
            f"{result['evaluate_cold_s'] / hand:.1f}x, warm {result['evaluate_warm_s'] / hand:.1f}x"
        )
    return 1 if any(r["differ"] or r["differ_six"] for _, _, r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
