"""Benchmark: the dashboard under 20 concurrent signed-in users on the 3-year demo force.

Serves a copy of the database with ``vcop serve`` (a separate process, on a free loopback port),
signs in 20 users (analysts, supervisors and partners), and has each request a fixed mix of pages
for a fixed time. Prints requests per second and p50/p95/p99 latency, overall and per page, and
the cold time of each page (its first request, before anything is cached) beside its warm p50.
The load begins once the server has computed, in the background, its first pages and the
partners' release (``/readyz`` says ``warming``), as on any day but a new build's first minutes.
The server runs as ``vcop serve`` does (one process per core unless ``--workers`` says otherwise).

    uv run python bench/bench_web.py [--db var/vcop.duckdb] [--users 20] [--seconds 30]

Without ``--db`` (or if the file is missing) the 3-year Demoshire force is generated and loaded
first, which takes several minutes. The database given is never changed: the server runs on a
copy. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import httpx

PASSWORD = "bench password, not secret"
AS_OF = date(2025, 6, 30)

#: (page name, weight): the mix each user draws from.
MIX = [
    ("overview", 25),
    ("compliance", 15),
    ("compliance_by_area", 10),
    ("compliance_by_unit", 5),
    ("xmr", 10),
    ("satisfaction", 5),
    ("response_times", 5),
    ("worklist", 12),
    ("journey", 8),
    ("journey_csv", 2),
    ("data_quality", 3),
    ("overview_quarter", 2),
    ("overview_fytd", 2),
    ("compliance_by_sex", 2),
    # the floor: the server's own health check, in the same run (latency is absolute by nature)
    ("healthz", 5),
]
#: The pages a partner is refused: record-level ones, and a split below area or by a protected
#: characteristic (a partner's release publishes neither; they answer 403).
PARTNERS_REFUSED = (
    "worklist", "journey", "journey_csv", "data_quality", "compliance_by_unit", "compliance_by_sex",
)  # fmt: skip
#: Issue 15's goal for every page's p95, in milliseconds, and for a page's first view.
GOAL_P95_MS = 300
GOAL_FIRST_VIEW_MS = 1000


@dataclass
class User:
    name: str
    role: str
    victims: list[str] = field(default_factory=list)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    why: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, ok: bool) -> None:
        with self.lock:
            if ok:
                self.latencies[page].append(seconds)
            else:
                self.errors[page] += 1


def build_demo(work: Path) -> Path:
    """The 3-year demo force with its ledger, built from scratch."""
    from vcop.ingest import load_paths
    from vcop.metrics.precompute import precompute_for
    from vcop.rules.ledger import evaluate
    from vcop.spec.profile import load_profile
    from vcop.store import connect
    from vcop.synth import generate

    print("building the 3-year demo force (several minutes) …", flush=True)
    extract = work / "demo"
    generate(extract, seed=1, years=3, end=AS_OF)
    db = work / "demo.duckdb"
    con = connect(db)
    load_paths(con, [extract], load_profile("standard"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        evaluate(con, AS_OF)
        # as `vcop evaluate` does: the dashboard's figures, straight after the ledger
        print(precompute_for(con, db).summary(), flush=True)
    con.close()
    return db


#: The force's targets file, beside the build.
TARGETS = "targets.yaml"


def stored_figures(db: Path) -> str:
    """Whether the build holds the dashboard's figures, of its ledger (issue 15)."""
    from vcop.metrics.precompute import stamp_of, stored_stamp
    from vcop.metrics.targets import targets_for_db
    from vcop.spec.metrics import load_catalogue

    con = duckdb.connect(str(db), read_only=True)
    try:
        found = stored_stamp(con)
        catalogue = load_catalogue()
        now = stamp_of(con, catalogue, targets_for_db(db, catalogue))
    finally:
        con.close()
    if found is None:
        return "none (every first view is computed on its first request)"
    return "yes, current" if now is not None and now.text() == found else "stale (not shown)"


def prepare(db: Path, users: int) -> list[User]:
    """Accounts for the bench users, each with victims it may open."""
    from vcop.store.ops import open_ops
    from vcop.web.auth import Role, add_user

    con = duckdb.connect(str(db))
    ops = open_ops(db)  # accounts live in the operational store beside the build
    units = [r[0] for r in con.execute(
        "SELECT unit FROM crimes WHERE unit IS NOT NULL GROUP BY unit ORDER BY count(*) DESC LIMIT 10"
    ).fetchall()]  # fmt: skip
    out: list[User] = []
    now = datetime(2025, 7, 1, 9, 0)
    for i in range(users):
        kind = ("analyst", "supervisor", "supervisor", "partner")[i % 4]
        name = f"bench-{kind}-{i:02d}"
        unit = units[i % len(units)] if kind == "supervisor" else None
        add_user(ops, name, Role(kind), PASSWORD, now=now, unit=unit)
        victims: list[str] = []
        if kind != "partner":
            where, params = ("WHERE c.unit = ?", [unit]) if unit else ("", [])
            victims = [r[0] for r in con.execute(
                f"SELECT DISTINCT v.victim_id FROM victims v JOIN crimes c USING (crime_id) {where} "
                "ORDER BY 1 LIMIT 50", params,
            ).fetchall()]  # fmt: skip
        out.append(User(name, kind, victims))
    con.close()
    ops.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(client: httpx.Client, user: User) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    response = client.post(
        "/login", data={"username": user.name, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, response.text
    session = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert session
    return session.group(1)


def url_for(page: str, user: User, rng: random.Random) -> str | None:
    if page in PARTNERS_REFUSED and user.role == "partner":
        return None  # record-level pages, and splits below area or by a characteristic (403)
    if page == "data_quality" and user.role != "analyst":
        return None
    victim = rng.choice(user.victims) if user.victims else None
    return {
        "overview": "/",
        "compliance": "/compliance",
        "compliance_by_area": "/compliance?by=area",
        "compliance_by_unit": "/compliance?measure=victim_updates_on_time&by=unit",
        "xmr": "/metrics/" + rng.choice(["support_referral_on_time", "victim_updates_on_time",
                                          "satisfaction_whole_experience", "recorded_crime"]),
        "satisfaction": "/satisfaction",
        "response_times": "/response-times",
        "worklist": "/worklist",
        "journey": f"/victims/{victim}" if victim else None,
        "journey_csv": f"/victims/{victim}.csv" if victim else None,
        "data_quality": "/data-quality",
        "overview_quarter": "/?period=quarter",
        "overview_fytd": "/?period=fytd",
        "compliance_by_sex": "/compliance?by=sex",
        "healthz": "/healthz",
    }[page]  # fmt: skip


def run_user(
    base: str, user: User, seconds: float, stats: Stats, seed: int, start: threading.Barrier
) -> None:
    rng = random.Random(seed)
    names = [p for p, _ in MIX]
    weights = [w for _, w in MIX]
    with httpx.Client(base_url=base, timeout=60) as client:
        try:
            csrf = sign_in(client, user)
            for victim in user.victims:  # say why once per victim (as a person would, once)
                client.post(
                    f"/victims/{victim}/reason",
                    data={"reason": "quality_assurance", "csrf_token": csrf},
                )
        except httpx.HTTPError as exc:  # counted, and the others still start together
            stats.why[f"sign-in of a {user.role}: {type(exc).__name__}"] += 1
            start.wait()
            return
        start.wait()
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            page = rng.choices(names, weights)[0]
            url = url_for(page, user, rng)
            if url is None:
                continue
            t0 = time.perf_counter()
            try:
                status = client.get(url).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__  # type: ignore[assignment]
            stats.add(page, time.perf_counter() - t0, status == 200)
            if status != 200:
                stats.why[f"{page}: {status}"] += 1


def wait_until_warm(base: str, answers: int = 12, limit: float = 900.0) -> None:
    """Until ``answers`` readiness checks in a row say the answering process is not warming
    (any of the server's processes may answer one: a dozen leaves little chance of missing one
    still at work)."""
    deadline = time.monotonic() + limit
    quiet = 0
    while quiet < answers:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server was still warming after {limit:.0f} s")
        warming = httpx.get(base + "/readyz", timeout=30).json().get("warming", False)
        quiet = 0 if warming else quiet + 1
        if warming:
            time.sleep(1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, default=Path("var/vcop.duckdb"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="the server's processes (`vcop serve --workers`; default: as vcop serve, one per core)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.db if args.db.exists() else build_demo(work)
        db = work / "bench.duckdb"
        shutil.copyfile(source, db)
        # the force's targets beside the build go with it (the dashboard's figures are of them)
        if (source.parent / TARGETS).exists():
            shutil.copyfile(source.parent / TARGETS, work / TARGETS)
        print(f"figures stored at evaluate time: {stored_figures(db)}", flush=True)
        users = prepare(db, args.users)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (work / "server.log").open("w")  # a pipe nobody reads would fill and stall the server
        processes = ["--workers", str(args.workers)] if args.workers else []
        server = subprocess.Popen(
            [sys.executable, "-m", "vcop", "serve", "--db", str(db), "--port", str(port), *processes],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            answered = time.monotonic()
            # Cold: the first request of each page, one at a time (nothing cached but what the
            # server started computing in the background when it began).
            cold: dict[str, float] = {}
            analyst = next(u for u in users if u.role == "analyst")
            with httpx.Client(base_url=base, timeout=600) as client:
                csrf = sign_in(client, analyst)
                client.post(f"/victims/{analyst.victims[0]}/reason",
                            data={"reason": "quality_assurance", "csrf_token": csrf})  # fmt: skip
                rng = random.Random(0)
                for page, _ in MIX:
                    url = url_for(page, analyst, rng)
                    if url:
                        t0 = time.perf_counter()
                        # a page over the client's timeout is recorded at the timeout
                        with contextlib.suppress(httpx.TimeoutException):
                            client.get(url)
                        cold[page] = time.perf_counter() - t0
                        print(f"cold {page}: {cold[page] * 1000:,.0f} ms", flush=True)
            # The load measures the server as people meet it on a working day: after it has
            # computed its first pages and the partners' release in the background (once per
            # new build; the release is kept in the operational store, read on a restart).
            wait_until_warm(base)
            print(f"server warm {time.monotonic() - answered:,.0f} s after it answered", flush=True)
            stats = Stats()
            start = threading.Barrier(len(users) + 1)
            threads = [
                threading.Thread(target=run_user, args=(base, u, args.seconds, stats, i, start))
                for i, u in enumerate(users)
            ]
            for t in threads:
                t.start()
            start.wait()
            t0 = time.perf_counter()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
    every = [x for v in stats.latencies.values() for x in v]
    errors = sum(stats.errors.values())
    serving = (
        f"{args.workers} server processes" if args.workers else "server processes: one per core"
    )
    print(f"\n{len(users)} users, {args.seconds:.0f} s, {serving}, database {source}")
    print(f"requests: {len(every):,} ok, {errors:,} failed; {len(every) / elapsed:,.1f} requests/s")
    print(
        f"latency: p50 {pct(every, 0.5):,.0f} ms, p95 {pct(every, 0.95):,.0f} ms, p99 {pct(every, 0.99):,.0f} ms"
    )
    floor = pct(stats.latencies.get("healthz", [0.0]), 0.95)
    print(
        f"\n{'page':<22}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'÷ healthz':>11}{'cold ms':>12}"
    )
    over: list[str] = []
    for page, _ in MIX:
        lat = stats.latencies.get(page, [])
        if not lat:
            continue
        first = f"{cold[page] * 1000:,.0f}" if page in cold else ""
        p95 = pct(lat, 0.95)
        ratio = f"{p95 / floor:,.1f}" if floor else ""
        print(
            f"{page:<22}{len(lat):>10,}{pct(lat, 0.5):>10,.0f}{p95:>10,.0f}{ratio:>11}{first:>12}"
        )
        if page != "healthz" and p95 > GOAL_P95_MS:
            over.append(f"{page} p95 {p95:,.0f} ms")
        if page in cold and cold[page] * 1000 > GOAL_FIRST_VIEW_MS:
            over.append(f"{page} first view {cold[page] * 1000:,.0f} ms")
    print(
        f"\ngoal: p95 <= {GOAL_P95_MS} ms on every page, first view <= {GOAL_FIRST_VIEW_MS} ms: "
        + ("met" if not over else "NOT met (" + "; ".join(over) + ")")
    )
    if errors:
        print("failed:", dict(stats.why))
    print(f"\nmean latency {statistics.fmean(every) * 1000:,.0f} ms over {len(every):,} requests")


if __name__ == "__main__":
    main()
