"""The Typer application and the helpers every command module shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import duckdb
import typer
from rich.console import Console

from vcop.store import StoreError, connect

app = typer.Typer(
    name="vcop",
    help="Victims' Code compliance and victim-care performance for a police force.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Standard output. Piped output (not a terminal) gets 120 columns so tables stay readable.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, soft_wrap=True)


def open_store(db: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database for a command, or exit with a message that names the file."""
    try:
        return connect(db, read_only=read_only)
    except StoreError as exc:
        fail(str(exc))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a user-facing error and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)
