"""The Typer application and the helpers every command module shares."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from vcop.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    import duckdb

    from vcop.store.ops import OpsStore

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
    from vcop.store import StoreError, connect

    try:
        return connect(db, read_only=read_only)
    except StoreError as exc:
        fail(str(exc))


def open_ops_store(db: Path) -> OpsStore:
    """The operational store beside build ``db`` (accounts, the access log, refreshes), or exit
    with a message that names the file."""
    from vcop.store.ops import OpsError, open_ops

    try:
        return open_ops(db, ops_path_setting(db))
    except OpsError as exc:
        fail(str(exc))


def ops_path_setting(db: Path) -> Path:
    """The operational store's file: the ``database.ops`` setting, else beside the build."""
    return cli_settings(db).ops_path


def cli_settings(db: Path) -> Settings:
    """The settings in effect for a command on build ``db`` (``vcop.toml`` beside it or at
    ``VCOP_SETTINGS``, then ``VCOP_*`` variables), or exit naming what is wrong."""
    try:
        return load_settings(db)
    except SettingsError as exc:
        fail(str(exc))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a user-facing error and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


@contextmanager
def progress_bar(first: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on standard error while the block runs (gone when it ends), and the
    ``progress(description, done, total)`` callback that moves it; ``first`` is shown until the
    first call."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(escape(first), total=None)

        def report(description: str, done: int, total: int) -> None:
            bar.update(task, description=escape(description), completed=done, total=total)

        yield report
