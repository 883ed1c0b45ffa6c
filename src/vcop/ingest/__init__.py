"""Read extracts (CSV, XLSX, Parquet), map them through a profile, validate and load them.

The names below load on first use (PEP 562), so importing a light submodule such as
``vcop.ingest.thresholds`` does not import the loader and its dependencies (the CLI's start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vcop.ingest.load import (
        AGENCIES,
        DEFAULT_AGENCY,
        FileResult,
        Load,
        LoadResult,
        load_paths,
        supplied_tables,
    )
    from vcop.ingest.readers import ExtractError, SourceFile, discover

_HOME = {
    "AGENCIES": "vcop.ingest.load",
    "DEFAULT_AGENCY": "vcop.ingest.load",
    "FileResult": "vcop.ingest.load",
    "Load": "vcop.ingest.load",
    "LoadResult": "vcop.ingest.load",
    "load_paths": "vcop.ingest.load",
    "supplied_tables": "vcop.ingest.load",
    "ExtractError": "vcop.ingest.readers",
    "SourceFile": "vcop.ingest.readers",
    "discover": "vcop.ingest.readers",
}

__all__ = [
    "AGENCIES",
    "DEFAULT_AGENCY",
    "ExtractError",
    "FileResult",
    "Load",
    "LoadResult",
    "SourceFile",
    "discover",
    "load_paths",
    "supplied_tables",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
