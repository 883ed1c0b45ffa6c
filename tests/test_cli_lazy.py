"""The command line starts light: `vcop --help` and `vcop <command> --help` import no engine.

Each command imports what it needs inside its function (issue 15, a lazy CLI); a heavy import at
the top of a command module would make every command, and every `--help`, pay for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: Libraries no `--help` may import: statistics, the expression engine, Spark, data frames,
#: workbooks and documents, the web stack, and vcop's own engines.
HEAVY = (
    "scipy",
    "statsmodels",
    "ibis",
    "pyspark",
    "polars",
    "pandas",
    "pyarrow",
    "openpyxl",
    "docx",
    "reportlab",
    "starlette",
    "fastapi",
    "uvicorn",
    "duckdb",
    "pydantic",  # Typer 0.29 imports it for every command (0.2 s); vcop pins Typer below it
    "vcop.metrics.engine",
    "vcop.rules.ledger",
    "vcop.web",
    "vcop.reports",
)

PROBE = """
import json, sys
from vcop.cli import main
heavy = json.loads(sys.argv[2])
sys.argv = ["vcop", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def _imported(argv: list[str], *, check: bool = True) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert not check or report["code"] in (0, None), done.stderr
    return list(report["loaded"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["metrics", "--help"],
        ["evaluate", "--help"],
        ["ingest", "--help"],
        ["serve", "--help"],
        ["report", "board", "--help"],
        ["export", "parquet", "--help"],
        ["tracker", "list", "--help"],
    ],
    ids=lambda a: " ".join(a),
)
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    assert _imported(argv) == []


def test_importing_the_cli_imports_no_heavy_library() -> None:
    code = (
        "import json, sys, vcop.cli; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check can fail: a command that runs (not just its help) does import its engine."""
    assert "duckdb" in _imported(["batches", "--db", "/nonexistent/x.duckdb"], check=False)


def test_values_written_for_start_up_match_their_source() -> None:
    """`--agency` and `--role` name their choices without loading the schema or the web app."""
    from vcop.cli.data import AGENCY_IDS
    from vcop.cli.web import Role
    from vcop.ingest import AGENCIES
    from vcop.web.auth import Role as AuthRole

    assert AGENCY_IDS == AGENCIES
    assert [r.value for r in Role] == [r.value for r in AuthRole]


@pytest.mark.parametrize(
    ("argv", "shows"),
    [
        (["report", "board", "--help"], "Usage: vcop report board [OPTIONS]"),
        (["metrics", "--help"], "--period"),
        (["metrix"], "No such command 'metrix'"),
        (["--help"], "survey"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else "",
)
def test_the_command_line_builds_only_the_command_it_names(argv: list[str], shows: str) -> None:
    """`vcop X ...` builds only X's options (Typer builds every command's before it runs one);
    the whole program answers `vcop --help` and a mistyped command."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from vcop.cli import main; sys.argv[0] = 'vcop'; main()",
         *argv],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert shows in done.stdout + done.stderr


def test_the_ledger_and_the_catalogue_load_no_statistics_until_one_is_made() -> None:
    """`vcop evaluate` (with no dashboard figures) makes no interval or test, and `vcop metrics`
    bounds no suppressed cell unless one is bounded by others: scipy.stats and scipy.optimize
    (a second and a half between them) are imported by the functions that use them."""
    code = (
        "import json, sys\n"
        "import vcop.rules.ledger, vcop.metrics.precompute, vcop.metrics.release\n"
        "import vcop.metrics.stats as stats\n"
        "before = sorted(m for m in ('scipy.stats', 'scipy.optimize') if m in sys.modules)\n"
        "stats.wilson_interval(3, 10)\n"
        "stats.two_proportion_test(40, 100, 55, 100)\n"
        "interval = 'scipy.stats' in sys.modules\n"
        "stats.two_proportion_test(1, 10, 3, 10)\n"  # Fisher's exact test: scipy.stats's own
        "print(json.dumps([before, interval, 'scipy.stats' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    # intervals and z-tests use vcop.metrics.stats's own distributions: scipy.stats only for
    # Fisher's exact test
    assert json.loads(done.stdout) == [[], False, True]


@pytest.mark.parametrize("argv", [["--help"], []], ids=["--help", "no arguments"])
def test_the_command_list_is_the_whole_programs_to_the_character(argv: list[str]) -> None:
    """`vcop --help` lists the commands from a copy of the program without their options (which
    the list does not show, and whose building was most of its time): its text is the whole
    program's, every command, group, help line and panel."""
    from typer.testing import CliRunner

    from vcop.cli import _only, app

    listing = _only(argv)
    assert listing is not app
    assert {c.callback.__name__ for c in listing.registered_commands if c.callback} == {
        "_listed_only"
    }
    runner = CliRunner()
    whole = runner.invoke(app, argv, prog_name="vcop", terminal_width=100)
    listed = runner.invoke(listing, argv, prog_name="vcop", terminal_width=100)
    assert (listed.exit_code, listed.output) == (whole.exit_code, whole.output)
    assert "report" in listed.output and "evaluate" in listed.output


def test_a_command_runs_the_cycle_collector_less_often() -> None:
    """A command keeps most of the objects it makes: with Python's default thresholds (700, 10,
    10) its cycle collector took 10-15% of `vcop metrics` and `vcop ingest`."""
    from vcop.collector import THRESHOLDS

    probe = (
        "import gc, sys\nfrom vcop.cli import main\nsys.argv = ['vcop', 'settings', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint(list(gc.get_threshold()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == list(THRESHOLDS)
    assert THRESHOLDS[0] > 700
