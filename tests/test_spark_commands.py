"""The Spark path as a user runs it: `vcop export parquet`, then `vcop evaluate --engine spark`
and `vcop metrics --engine spark`, give DuckDB's ledger and DuckDB's figures.

Needs Java (17 or later). One local Spark session (the tests' shared one) serves the module;
the commands find it running and leave it so. A seeded synthetic force is the database.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest
from typer.testing import CliRunner

from tests.cases.runner import load_tables
from tests.cases.synthetic import synthetic_tables
from vcop.cli import app
from vcop.metrics.engine import compute
from vcop.rules.ledger import LEDGER_COLUMNS, LEDGER_KEY, evaluate
from vcop.scale.lake import MANIFEST

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="PySpark needs Java"),
    pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:The 'future.infer_string' option is deprecated:pandas.errors.Pandas4Warning"
    ),
    pytest.mark.filterwarnings(
        "ignore:The copy keyword is deprecated:pandas.errors.Pandas4Warning"
    ),
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]

AS_OF = date(2025, 5, 15)


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build with a seeded synthetic force and its ledger evaluated by DuckDB."""
    db = tmp_path_factory.mktemp("force") / "vcop.duckdb"
    con = duckdb.connect(str(db))
    load_tables(synthetic_tables(seed=11, crimes=150), con)
    evaluate(con, AS_OF)
    con.close()
    return db


def _run(args: list[str]) -> Any:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


def _plain(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(r[c] for c in LEDGER_COLUMNS) for r in rows),
        key=lambda t: tuple("" if v is None else str(v) for v in t),
    )


def test_lake_ledger_and_metrics_equal_duckdb(
    force: Path, tmp_path: Path, spark_session: Any
) -> None:
    lake, ledger = tmp_path / "lake", tmp_path / "ledger"
    _run(["export", "parquet", "--db", str(force), "--out", str(lake)])
    manifest = json.loads((lake / MANIFEST).read_text())
    assert manifest["tables"]["crimes"]["year_from"] == "reported_at"
    assert any(p.name.startswith("year=") for p in (lake / "crimes").glob("force=*/*"))
    assert (lake / "victims").glob("force=*")

    _run(["evaluate", "--engine", "spark", "--source", str(lake), "--as-of",
          AS_OF.isoformat(), "--out", str(ledger)])  # fmt: skip
    assert spark_session.getActiveSession() is not None  # the shared session was left running

    # every entitlement, value for value
    con = duckdb.connect(str(force), read_only=True)
    expected = con.execute(
        f"SELECT {', '.join(chr(34) + c + chr(34) for c in LEDGER_COLUMNS)} FROM entitlements"
    )
    names = [d[0] for d in expected.description]
    duck_rows = [dict(zip(names, r, strict=True)) for r in expected.fetchall()]
    spark_rows = [r.asDict() for r in spark_session.read.parquet(str(ledger)).collect()]
    assert len(duck_rows) > 1000
    assert len({tuple(r[k] for k in LEDGER_KEY) for r in spark_rows}) == len(spark_rows)
    assert _plain(spark_rows) == _plain(duck_rows)

    # every metric value: counts exactly, rates to 1e-9
    done = _run(["metrics", "--engine", "spark", "--source", str(lake), "--ledger", str(ledger),
                 "--as-of", AS_OF.isoformat(), "--format", "json"])  # fmt: skip
    on_spark = json.loads(done.stdout)
    on_duck = [v.record() for v in compute(ibis.duckdb.from_connection(con), AS_OF).values]
    con.close()
    assert len(on_spark) == len(on_duck) > 20
    key = lambda r: (r["metric_id"], str(r.get("group")))  # noqa: E731
    for a, b in zip(sorted(on_spark, key=key), sorted(on_duck, key=key), strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float) and isinstance(b[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12), (a["metric_id"], k)
            else:
                assert a[k] == b[k], (a["metric_id"], k)


def test_spark_options_need_the_spark_engine(force: Path) -> None:
    result = CliRunner().invoke(
        app, ["evaluate", "--as-of", AS_OF.isoformat(), "--db", str(force), "--out", "x"]
    )
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["evaluate", "--engine", "spark", "--as-of", "2025-05-15"])
    assert result.exit_code == 2 and "--source" in result.output
