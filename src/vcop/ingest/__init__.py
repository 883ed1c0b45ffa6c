"""Read extracts (CSV, XLSX, Parquet), map them through a profile, validate and load them."""

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
