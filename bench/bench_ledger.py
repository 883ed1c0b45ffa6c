"""Benchmark the entitlement ledger on the demo force: a 1-year and a 3-year force.

    uv run python bench/bench_ledger.py [--years 1 3] [--work var/bench] [--seed 1]

For each force it builds (or reuses) the demo extract (``vcop.synth``) loaded into a DuckDB file
(``vcop.ingest``), then, in a fresh process per force:

* ``vcop evaluate``'s work — the whole ledger, every obligation, written to ``entitlements`` — with
  its wall time and the process's peak memory (resident set): cold (the SQL cache emptied, so
  every part is built and compiled, as after a change to the definitions or to vcop) and warm
  (the SQL kept by the cold run, as every later evaluation runs);
* the engine evaluating ``R6.suspect-arrested`` alone, as ``vcop evaluate`` runs a part, cold
  (built and compiled) and warm (from the cache);
* one hand-written DuckDB SQL query computing ``R6.suspect-arrested`` for the same data and
  as-of date — the baseline — whose rows must equal the engine's.

It prints the times and the ratios (whole ledger ÷ hand-written query; engine's one obligation ÷
hand-written query, cold and warm), measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

OBLIGATION = "R6.suspect-arrested"


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


def hand_written_sql(as_of: date) -> str:
    """R6.suspect-arrested in one DuckDB query, written by hand from the Code definitions."""
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
    from vcop.rules.ledger import evaluate, run_step
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

    def hand() -> float:
        started = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE _bench_hand AS {sql}")
        return time.perf_counter() - started

    out["engine_cold_s"] = engine()
    warm_s, hand_s = [], []
    for _ in range(REPEATS):
        warm_s.append(engine())
        hand_s.append(hand())
    out["engine_warm_s"] = sorted(warm_s)[REPEATS // 2]
    out["hand_s"] = sorted(hand_s)[REPEATS // 2]

    key = "victim_id, crime_id, trigger_event_id, due_date, met_at, status"
    differ = con.execute(
        f"SELECT count(*) FROM ((SELECT {key} FROM _bench_engine EXCEPT ALL "
        f"SELECT {key} FROM _bench_hand) UNION ALL (SELECT {key} FROM _bench_hand "
        f"EXCEPT ALL SELECT {key} FROM _bench_engine))"
    ).fetchall()[0][0]
    out["rows_one"] = con.execute("SELECT count(*) FROM _bench_hand").fetchall()[0][0]
    out["differ"] = differ
    con.close()
    return out


def _child(db: str, as_of: date, queue: Any) -> None:
    try:
        queue.put(measure(db, as_of))
    except BaseException as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--work", type=Path, default=Path("var/bench"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    import duckdb
    import ibis

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
        hand = result["hand_s"]
        print(
            f"  whole ledger ({result['ledger_rows']:,} entitlements, written to the store): "
            f"cold {result['evaluate_cold_s']:.1f} s (every part compiled), warm "
            f"{result['evaluate_warm_s']:.1f} s (the SQL kept from the last run); peak memory "
            f"{result['peak_mb']:.0f} MB"
        )
        print(
            f"  {OBLIGATION} alone: engine cold {result['engine_cold_s']:.2f} s, warm "
            f"{result['engine_warm_s']:.2f} s; hand-written SQL {hand:.2f} s "
            f"(warm and hand: medians of {REPEATS}; {result['rows_one']:,} rows; "
            + ("identical" if result["differ"] == 0 else f"{result['differ']:,} rows DIFFER")
            + ")"
        )
        print(
            f"  ratio, engine / hand-written, same obligation: cold "
            f"{result['engine_cold_s'] / hand:.2f}x, warm {result['engine_warm_s'] / hand:.2f}x"
        )
        print(
            f"  ratio, whole ledger / hand-written {OBLIGATION}: cold "
            f"{result['evaluate_cold_s'] / hand:.1f}x, warm {result['evaluate_warm_s'] / hand:.1f}x"
        )
    return 1 if any(r["differ"] for _, _, r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
