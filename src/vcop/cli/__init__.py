"""vcop's command line. Each stage registers its commands from its own module in this package."""

from __future__ import annotations

import sys

import typer
from typer.main import get_command_name
from typer.models import CommandInfo

from vcop.cli import audit as _audit  # noqa: F401  (audit list, import, submit, action, findings)
from vcop.cli import data as _data  # noqa: F401  (ingest, rejects, batches)
from vcop.cli import demo as _demo  # noqa: F401  (demo-data)
from vcop.cli import docs as _docs  # noqa: F401  (docs)
from vcop.cli import harm as _harm  # noqa: F401  (harm)
from vcop.cli import main_job as _main_job  # noqa: F401  (demo)
from vcop.cli import metrics as _metrics  # noqa: F401  (metrics)
from vcop.cli import operations as _operations  # noqa: F401  (refresh, status, backup, restore, access-log)
from vcop.cli import profile as _profile  # noqa: F401  (profile init, profile check)
from vcop.cli import report_return as _report_return  # noqa: F401  (report compliance-return)
from vcop.cli import reports as _reports  # noqa: F401  (report sample)
from vcop.cli import rules as _rules  # noqa: F401  (check, evaluate, entitlements, explain)
from vcop.cli import scale as _scale  # noqa: F401  (export parquet; --engine spark)
from vcop.cli import settings as _settings  # noqa: F401  (settings show, settings path)
from vcop.cli import survey as _survey  # noqa: F401  (survey invite)
from vcop.cli import tracker as _tracker  # noqa: F401  (tracker add-report, add, update, list, import)
from vcop.cli import web as _web  # noqa: F401  (serve, users)
from vcop.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    _only(sys.argv[1:2]).__call__()


def _only(first: list[str]) -> typer.Typer:
    """The application as a person calls it: only the command or group named first on the command
    line, when one is (Typer builds every command's options before it runs one, and a command
    line names one), else all of it (``vcop``, ``vcop --help``, a mistyped command)."""
    if not first:
        return app
    commands = [c for c in app.registered_commands if _name(c) == first[0]]
    groups = [g for g in app.registered_groups if g.name == first[0]]
    if not commands and not groups:
        return app
    narrow = typer.Typer(
        name=app.info.name,
        help=app.info.help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    narrow.registered_commands = commands
    narrow.registered_groups = groups
    narrow.callback()(_root)  # a group, not the one command as the whole program
    return narrow


def _name(command: CommandInfo) -> str:
    if command.name:
        return command.name
    assert command.callback is not None
    return get_command_name(command.callback.__name__)


def _root() -> None:
    """Victims' Code compliance and victim-care performance for a police force."""
