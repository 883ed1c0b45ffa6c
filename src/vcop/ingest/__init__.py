"""Read extracts (CSV, XLSX, Parquet), map them through a profile, validate and load them."""

from vcop.ingest.load import FileResult, Load, LoadResult, load_paths
from vcop.ingest.readers import ExtractError, SourceFile, discover

__all__ = [
    "ExtractError",
    "FileResult",
    "Load",
    "LoadResult",
    "SourceFile",
    "discover",
    "load_paths",
]
