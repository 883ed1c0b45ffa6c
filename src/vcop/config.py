"""vcop's settings: one typed object with defaults and help text.

Values come from (in order of precedence) command-line options, ``VCOP_*`` environment variables
and these defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = Path(os.environ.get("VCOP_DB", "var/vcop.duckdb"))


@dataclass(frozen=True)
class Settings:
    """Settings that change how vcop behaves. Every field has a default and a description."""

    db: Path = field(default=DEFAULT_DB, metadata={"help": "The vcop DuckDB database file."})
    host: str = field(
        default=os.environ.get("VCOP_HOST", "127.0.0.1"),
        metadata={"help": "Address the dashboard binds to (loopback by default)."},
    )
    port: int = field(
        default=int(os.environ.get("VCOP_PORT", "8000")),
        metadata={"help": "Port the dashboard listens on."},
    )
    suppression_threshold: int = field(
        default=int(os.environ.get("VCOP_SUPPRESSION_THRESHOLD", "10")),
        metadata={"help": "Counts below this are suppressed in partner and public outputs."},
    )
