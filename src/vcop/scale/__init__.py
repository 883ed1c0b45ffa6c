"""Past one machine: the canonical tables as a Parquet lake, and the ledger and the metric
catalogue evaluated on it by PySpark through the very Ibis expressions DuckDB runs.

:mod:`vcop.scale.lake` writes the lake from a build (DuckDB); :mod:`vcop.scale.spark` reads it
into a Spark session and evaluates there. Nothing here is imported by the rest of vcop.
"""
