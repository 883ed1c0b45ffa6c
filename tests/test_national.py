"""The national synthetic year (`vcop demo-data --national`): three forces at small scale, loaded,
evaluated and measured by force."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

import vcop.cli.data
import vcop.cli.demo
import vcop.cli.metrics
import vcop.cli.rules  # noqa: F401  (registers `vcop evaluate`)
from vcop.cli.app import app
from vcop.metrics.peers import peer_figures
from vcop.metrics.values import Estimate, MetricValue
from vcop.spec.forces import load_forces
from vcop.synth.generate import generate
from vcop.synth.national import MARKER, TABLES

# ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table() when it reads a table's schema
pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

CODES = ("CAM", "COL", "WIL")
SCALE = 0.03
AS_OF = "2025-06-30"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("national")
    out, db = root / "extract", root / "vcop.duckdb"
    printed = invoke(
        "demo-data", "--national", "--out", str(out), "--forces", ",".join(CODES),
        "--scale", str(SCALE), "--seed", "3",
    )  # fmt: skip
    invoke("ingest", *(str(out / code) for code in CODES), "--db", str(db))  # one load
    invoke("evaluate", "--db", str(db), "--as-of", AS_OF)
    return out, db, printed


def test_the_table_of_forces_is_the_43_forces_to_the_national_total() -> None:
    forces = load_forces()
    assert len(forces.forces) == 43
    assert sum(f.crimes_per_year for f in forces.forces) == forces.national_total
    real = [f.force for f in forces.forces if f.size_source == "real"]
    assert real == ["Cambridgeshire"]
    assert "synthetic" in forces.source["synthetic"].lower() or "NOT" in forces.source["synthetic"]
    for f in forces.forces:
        assert f.code not in f.peers and len(f.peers) == 7


def test_every_force_has_its_files_and_a_progress_line(national: tuple[Path, Path, str]) -> None:
    out, _, printed = national
    for code in CODES:
        assert {f"{t}.parquet" for t in TABLES} <= {p.name for p in (out / code).iterdir()}
        assert json.loads((out / code / MARKER).read_text())["code"] == code
        assert f" {code} " in printed


def test_force_runs_through_every_table(national: tuple[Path, Path, str]) -> None:
    _, db, _ = national
    names = {f.code: f.force for f in load_forces().forces}
    con = duckdb.connect(str(db), read_only=True)
    try:
        forces = con.execute("SELECT DISTINCT force FROM crimes ORDER BY 1").fetchall()
        assert sorted(f for (f,) in forces) == sorted(names[c] for c in CODES)
        assert con.execute("SELECT count(*) FROM crimes WHERE force IS NULL").fetchall() == [(0,)]
        # Every row of every table is its crime's force's, by the id prefix and by the join.
        for table in ("victims", "case_events", "contacts", "referrals", "needs_assessments",
                      "care_contracts", "supervisory_reviews"):  # fmt: skip
            rows = con.execute(
                f"SELECT split_part(t.crime_id, '-', 1) AS code, c.force, count(*) "
                f"FROM {table} t LEFT JOIN crimes c USING (crime_id) GROUP BY ALL"
            ).fetchall()
            assert rows, table
            for code, force, _ in rows:
                assert force == names[code], (table, code, force)
        areas = con.execute("SELECT DISTINCT area FROM population").fetchall()
        assert {a.split(" ")[0] for (a,) in areas} >= {"Cambridgeshire", "City", "Wiltshire"}
    finally:
        con.close()


def test_ids_are_unique_nationally(national: tuple[Path, Path, str]) -> None:
    _, db, _ = national
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, key in (("crimes", "crime_id"), ("case_events", "event_id"),
                           ("contacts", "contact_id"), ("referrals", "referral_id"),
                           ("victims", "victim_id || '/' || crime_id")):  # fmt: skip
            n, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT {key}) FROM {table}"
            ).fetchall()[0]
            assert n == distinct and n > 0, table
        prefixes = con.execute(
            "SELECT DISTINCT split_part(victim_id, '-', 1) FROM victims"
        ).fetchall()
        assert sorted(p for (p,) in prefixes) == sorted(CODES)
    finally:
        con.close()


def test_volumes_are_in_proportion_to_the_table_of_forces(
    national: tuple[Path, Path, str],
) -> None:
    _, db, _ = national
    size = {f.force: f.crimes_per_year for f in load_forces().forces}
    con = duckdb.connect(str(db), read_only=True)
    try:
        counts = dict(con.execute("SELECT force, count(*) FROM crimes GROUP BY 1").fetchall())
    finally:
        con.close()
    for force, n in counts.items():
        assert n == round(size[force] * SCALE)  # every crime drawn is written


def test_metrics_by_force_give_a_value_per_force(national: tuple[Path, Path, str]) -> None:
    _, db, _ = national
    names = {f.force for f in load_forces().forces if f.code in CODES}
    printed = invoke(
        "metrics", "--db", str(db), "--as-of", AS_OF, "--by", "force", "--format", "csv",
        "--metric", "needs_assessment_completion", "--metric", "recorded_crime",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(printed)))
    for metric in ("needs_assessment_completion", "recorded_crime"):
        groups = {r["group"]: r for r in rows if r["metric_id"] == metric}
        assert set(groups) == names, metric
        for r in groups.values():
            assert r["breakdown"] == "force" and r["value"] not in ("", None)
            assert float(r["denominator"] or r["value"]) > 0


def test_a_rerun_skips_complete_forces_and_redoes_a_broken_one(
    national: tuple[Path, Path, str],
) -> None:
    out, _, _ = national
    before = (out / "COL" / "crimes.parquet").read_bytes()
    (out / "WIL" / MARKER).unlink()  # as if stopped before the force was finished
    printed = invoke(
        "demo-data", "--national", "--out", str(out), "--forces", ",".join(CODES),
        "--scale", str(SCALE), "--seed", "3",
    )  # fmt: skip
    lines = {line.split()[1]: line for line in printed.splitlines() if line.startswith("[")}
    assert "skipped" in lines["CAM"] and "skipped" in lines["COL"]
    assert "written" in lines["WIL"]
    assert (out / "WIL" / MARKER).is_file()
    assert (out / "COL" / "crimes.parquet").read_bytes() == before


def test_the_forces_load_as_one_load_with_a_batch_per_file(
    national: tuple[Path, Path, str],
) -> None:
    _, db, _ = national
    con = duckdb.connect(str(db), read_only=True)
    try:
        loads = con.execute("SELECT count(DISTINCT load_id), count(*) FROM batches").fetchall()
        files = con.execute("SELECT DISTINCT split_part(file, '/', -2) FROM batches").fetchall()
    finally:
        con.close()
    assert loads == [(1, len(CODES) * len(TABLES))]
    assert sorted(f for (f,) in files) == sorted(CODES)


def test_one_load_of_many_forces_names_the_file_and_row_of_a_reject_and_is_all_or_nothing(
    national: tuple[Path, Path, str], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    out, _, _ = national
    for code in CODES:
        shutil.copytree(out / code, tmp_path / code)
    contacts = tmp_path / "COL" / "contacts.parquet"  # a table no other table refers to
    table = pq.read_table(contacts)
    column = table.schema.get_field_index("successful")
    values = table.column(column).to_pylist()
    values[4] = "perhaps"  # the fifth row of the City of London's contacts
    pq.write_table(table.set_column(column, "successful", pa.array(values)), contacts)
    db = tmp_path / "vcop.duckdb"
    CliRunner().invoke(app, ["ingest", *(str(tmp_path / c) for c in CODES), "--db", str(db)])
    con = duckdb.connect(str(db), read_only=True)
    try:
        rejects = con.execute('SELECT file, "row", "column", value FROM rejects').fetchall()
        forces = con.execute("SELECT count(DISTINCT force) FROM crimes").fetchall()
        before = con.execute("SELECT count(*) FROM batches").fetchall()
    finally:
        con.close()
    assert rejects == [(str(contacts), 5, "successful", "perhaps")]
    assert forces == [(len(CODES),)]
    # A file that cannot be read stops the whole load: nothing of the other forces is written.
    (tmp_path / "WIL" / "contacts.parquet").write_bytes(b"not parquet")
    result = CliRunner().invoke(
        app, ["ingest", *(str(tmp_path / c) for c in CODES), "--db", str(db), "--force"]
    )
    assert result.exit_code == 1
    assert "contacts.parquet" in result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM batches").fetchall() == before
    finally:
        con.close()


def test_victims_per_crime_follow_the_per_force_generator(
    national: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """The national generator draws victims with the per-force generator's mix (victim rate by
    crime type, domestic abuse, second victims): the same victim records per crime."""
    _, db, _ = national
    con = duckdb.connect(str(db), read_only=True)
    try:
        crimes, victims = con.execute(
            "SELECT (SELECT count(*) FROM crimes), (SELECT count(*) FROM victims)"
        ).fetchall()[0]
    finally:
        con.close()
    counts = generate(tmp_path / "force", seed=3, years=1, scale=0.05, end=date(2025, 6, 30))
    national_rate, force_rate = victims / crimes, counts["victims"] / counts["crimes"]
    assert crimes > 3000 and counts["crimes"] > 3000
    assert national_rate == pytest.approx(force_rate, rel=0.1), (national_rate, force_rate)


def test_a_load_keeps_the_memory_limit_the_settings_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national load runs under `database.memory_limit` (e.g. 8GB), not the ingest's own cap,
    which would make a load of many forces spill what fits in memory."""
    from vcop.ingest.load import INGEST_MEMORY_LIMIT, Load, _bytes
    from vcop.spec.profile import load_profile
    from vcop.store import connect

    monkeypatch.setenv("VCOP_DATABASE_MEMORY_LIMIT", "3GB")
    con = connect(tmp_path / "v.duckdb")
    try:
        before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert _bytes(before) == pytest.approx(3 * 1000**3, rel=0.05)  # shown rounded
        assert _bytes(before) > (_bytes(INGEST_MEMORY_LIMIT) or 0)
        with Load(con, load_profile("standard")):
            during = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert during == before
    finally:
        con.close()
    monkeypatch.delenv("VCOP_DATABASE_MEMORY_LIMIT")
    con = connect(tmp_path / "w.duckdb")
    try:
        with Load(con, load_profile("standard")):  # without the setting: the ingest's cap
            during = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert _bytes(during) == _bytes(INGEST_MEMORY_LIMIT)
    finally:
        con.close()


def _value(metric: str, kind: str, force: str, num: int, den: int | None) -> MetricValue:
    value = num / den if den else float(num)
    est = Estimate(date(2024, 7, 1), date(2025, 6, 30), num, den, value)
    return MetricValue(
        metric, kind, "proportion" if den else "count", "rolling_12m", date(2025, 6, 30),
        ("force",), (force,), est, None, None, False,
    )  # fmt: skip


def test_a_force_is_compared_with_its_peers_pooled() -> None:
    forces = load_forces()
    cam = forces.by_code("CAM")
    peer = forces.by_code(cam.peers[0]).force
    other = forces.by_code("MET").force  # not one of Cambridgeshire's peers
    assert forces.by_code("MET").code not in cam.peers
    values = [
        _value("m", "proportion", "Cambridgeshire", 50, 100),
        _value("m", "proportion", peer, 30, 40),
        _value("m", "proportion", other, 1, 1000),
        _value("n", "count", "Cambridgeshire", 5, None),
    ]
    got = {(f.metric_id, f.force): f for f in peer_figures(values, forces)}
    assert ("n", "Cambridgeshire") not in got  # counts follow size: not compared
    assert got["m", "Cambridgeshire"].peers == (peer,)
    assert got["m", "Cambridgeshire"].peer_value == pytest.approx(30 / 40)
    assert got["m", other].peer_value is None or other not in got["m", other].peers


def test_metrics_by_force_shows_the_most_similar_forces(national: tuple[Path, Path, str]) -> None:
    _, db, _ = national
    printed = invoke(
        "metrics", "--db", str(db), "--as-of", AS_OF, "--by", "force",
        "--metric", "needs_assessment_completion",
    )  # fmt: skip
    text = " ".join(printed.split())
    assert "Most similar forces" in text and "not the HMICFRS" in text
    peers = text[text.index("Most similar forces") :]
    # Cambridgeshire and Wiltshire are each other's peers; the City of London has neither.
    assert peers.count("Wiltshire") >= 2 and peers.count("Cambridgeshire") >= 2
    assert "none in these figures" in peers


ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(
    not (SHARED_DATA / "cchi-derived").exists() or not (SHARED_DATA / "cambs-2024").exists(),
    reason="needs ../shared/data (cchi-derived, cambs-2024)",
)
def test_the_table_of_forces_is_what_the_script_writes(tmp_path: Path) -> None:
    out = tmp_path / "forces.yaml"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "derive_force_sizes.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    packaged = ROOT / "src" / "vcop" / "definitions" / "synth" / "forces.yaml"
    assert out.read_text() == packaged.read_text(), "re-run scripts/derive_force_sizes.py"
