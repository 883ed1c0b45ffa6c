"""vcop's command line. Each stage registers its commands from its own module in this package."""

from __future__ import annotations

from vcop.cli import data as _data  # noqa: F401  (ingest, rejects, batches)
from vcop.cli import demo as _demo  # noqa: F401  (demo-data)
from vcop.cli import docs as _docs  # noqa: F401  (docs)
from vcop.cli import harm as _harm  # noqa: F401  (harm)
from vcop.cli import main_job as _main_job  # noqa: F401  (demo)
from vcop.cli import metrics as _metrics  # noqa: F401  (metrics)
from vcop.cli import operations as _operations  # noqa: F401  (refresh, status, backup, restore, access-log)
from vcop.cli import profile as _profile  # noqa: F401  (profile init, profile check)
from vcop.cli import report_return as _report_return  # noqa: F401  (report compliance-return)
from vcop.cli import reports as _reports  # noqa: F401  (report sample)
from vcop.cli import rules as _rules  # noqa: F401  (check, evaluate, entitlements, explain)
from vcop.cli import scale as _scale  # noqa: F401  (export parquet; --engine spark)
from vcop.cli import settings as _settings  # noqa: F401  (settings show, settings path)
from vcop.cli import survey as _survey  # noqa: F401  (survey invite)
from vcop.cli import web as _web  # noqa: F401  (serve, users)
from vcop.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
