"""vcop's command line. Each stage registers its commands from its own module in this package."""

from __future__ import annotations

from vcop.cli.app import app
from vcop.cli import data as _data  # noqa: F401  (registers ingest, rejects, demo-data, batches)

__all__ = ["app", "main"]


def main() -> None:
    app()
