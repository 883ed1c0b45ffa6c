"""vcop's command line. Each stage registers its commands from its own module in this package."""

from __future__ import annotations

import copy
import inspect
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
from vcop.collector import collect_less_often

__all__ = ["app", "main"]


def main() -> None:
    collect_less_often()  # see vcop.collector
    _only(sys.argv[1:]).__call__()


#: The command lines that only list the commands.
_LISTING: tuple[list[str], ...] = ([], ["--help"], ["-h"])


def _only(argv: list[str]) -> typer.Typer:
    """The application as a person calls it: only the command or group named first on the command
    line, when one is (Typer builds every command's options before it runs one, and a command
    line names one); the commands without their options when the command line only lists them
    (``vcop``, ``vcop --help``); else all of it (a mistyped command)."""
    if argv in _LISTING:
        return _listing(app)
    first = argv[:1]
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


def _listing(program: typer.Typer) -> typer.Typer:
    """``program`` as its command list shows it: every command's name, help and panel, but not
    its options, which the list does not show and whose building is most of ``vcop --help``
    (tests/test_cli_lazy.py holds the two lists' text equal)."""
    listed = copy.copy(program)
    listed.registered_commands = [_listed(c) for c in program.registered_commands]
    listed.registered_groups = []
    for group in program.registered_groups:
        shown = copy.copy(group)
        if isinstance(group.typer_instance, typer.Typer):
            shown.typer_instance = _listing(group.typer_instance)
        listed.registered_groups.append(shown)
    return listed


def _listed(command: CommandInfo) -> CommandInfo:
    shown = copy.copy(command)
    shown.name = _name(command)
    if shown.help is None and command.callback is not None:
        shown.help = inspect.getdoc(command.callback)
    shown.callback = _listed_only
    return shown


def _listed_only() -> None:
    """Never run: the listing answers only ``--help``."""
    raise RuntimeError("a listed command was run")  # pragma: no cover


def _name(command: CommandInfo) -> str:
    if command.name:
        return command.name
    assert command.callback is not None
    return get_command_name(command.callback.__name__)


def _root() -> None:
    """Victims' Code compliance and victim-care performance for a police force."""
