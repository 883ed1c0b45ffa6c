from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# The dashboard's figures, stored after every `vcop evaluate`, cost about a minute even on the
# tests' small forces (the whole catalogue for every period and split); the tests that are about
# them (tests/test_dashboard_figures.py) set it back to all. Every other page computes its
# figures on first view, as it does for a drill-down.
os.environ.setdefault("VCOP_METRICS_DASHBOARD_FIGURES", "none")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    """One folder for the ledger SQL vcop keeps on the machine (vcop.rules.compiled), made for
    this run and shared by its workers (they inherit the environment): the tests' many new
    databases start warm after the first compiles, and nothing is written to the home folder.
    tests/test_ledger_sql_cache.py gives each of its tests an empty one."""
    if "VCOP_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="vcop-test-cache-")
        os.environ["VCOP_CACHE_DIR"] = folder
        config.stash[_CACHE_FOLDER] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_CACHE_FOLDER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ["VCOP_CACHE_DIR"]


_CACHE_FOLDER = pytest.StashKey[str]()


@pytest.fixture
def tiny() -> Path:
    """A hand-made standard extract with deliberately bad rows of every kind."""
    return FIXTURES / "tiny"


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local PySpark session for every Spark test (starting the JVM costs ~25 s)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("vcop-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "false")
        # Tiny data: interpreting beats compiling Java for every stage.
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        # Tiny tables: shuffling them in one partition is quicker than a job per broadcast.
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        # Results come back as rows (PySpark 4.0's Arrow path to pandas breaks under pandas 3).
        .config("spark.sql.execution.arrow.pyspark.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
