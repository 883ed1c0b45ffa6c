"""Write the extract's CSV files all at once or not at all.

Files are written into a fresh temporary folder beside the destination, then moved into place; a
crash or an error part-way leaves the destination as it was (the temporary folder is removed).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path


def write_tables(
    out: Path,
    tables: Sequence[tuple[str, Sequence[str], Iterable[Sequence[str]]]],
    written: Callable[[int], None] | None = None,
) -> None:
    """Write ``(file name, header, rows)`` for each table into ``out``, all or none.

    ``written(n)`` is called after the n-th file is written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the extract folder should not be
        for n, (name, header, rows) in enumerate(tables, start=1):
            with (tmp / name).open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)
            if written is not None:
                written(n)
        if not out.exists():
            os.replace(tmp, out)
            return
        if not out.is_dir():
            raise NotADirectoryError(f"{out} exists and is not a folder")
        for name, _, _ in tables:
            os.replace(tmp / name, out / name)
    finally:
        if tmp.exists():
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
