"""A small national database for the web tests (in-process and browser): three forces of the
national generator (`vcop demo-data --national`) at a small scale, loaded and evaluated through
the CLI as a user would, with an analyst's and a partner's account."""

from __future__ import annotations

import warnings
from pathlib import Path

from typer.testing import CliRunner

import vcop.cli.data
import vcop.cli.demo
import vcop.cli.metrics
import vcop.cli.rules  # noqa: F401  (registers `vcop evaluate`)
from tests.webdata import CREATED, PASSWORD
from vcop.cli.app import app as cli
from vcop.store.ops import open_ops
from vcop.web.auth import Role, add_user

#: Cambridgeshire, the City of London and Wiltshire: Cambridgeshire and Wiltshire are each
#: other's peers; none of the City of London's peers is among them.
CODES = ("CAM", "COL", "WIL")
AS_OF = "2025-06-30"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def build_national(root: Path, scale: float = 0.02) -> Path:
    """The database (``root/vcop.duckdb``) of :data:`CODES`, evaluated as of :data:`AS_OF`."""
    with warnings.catch_warnings():
        # ibis 12 still calls DuckDB 2's deprecated fetch_arrow_table(); not ours to fix here.
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        db = _build(root, scale)
    ops = open_ops(db)
    add_user(ops, "analyst1", Role.analyst, PASSWORD, now=CREATED)
    add_user(ops, "partner1", Role.partner, PASSWORD, now=CREATED)
    ops.close()
    return db


def _build(root: Path, scale: float) -> Path:
    out, db = root / "extract", root / "vcop.duckdb"
    invoke(
        "demo-data", "--national", "--out", str(out), "--forces", ",".join(CODES),
        "--scale", str(scale), "--seed", "5",
    )  # fmt: skip
    for code in CODES:
        invoke("ingest", str(out / code), "--db", str(db))
    invoke("evaluate", "--db", str(db), "--as-of", AS_OF)
    return db
