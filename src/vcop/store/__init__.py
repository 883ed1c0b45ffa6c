"""The DuckDB store: canonical tables, load bookkeeping (batches, rejects) and connections."""

from vcop.store.db import SYSTEM_COLUMNS, StoreError, connect, ensure_schema

__all__ = ["SYSTEM_COLUMNS", "StoreError", "connect", "ensure_schema"]
