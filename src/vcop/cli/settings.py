"""`vcop settings show|path`: every setting in effect, and where each value came from."""

from __future__ import annotations

import json
import textwrap
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail
from vcop.config import (
    SECTIONS,
    SETTINGS_ENV,
    SETTINGS_FILE,
    Settings,
    SettingsError,
    load_settings,
    settings_path,
    spec_for,
)

settings_app = typer.Typer(
    help=f"Settings: {SETTINGS_FILE} beside the database (or {SETTINGS_ENV}), overridden by "
    "VCOP_<SECTION>_<KEY> environment variables.",
    no_args_is_help=True,
)
app.add_typer(settings_app, name="settings")

SettingsDbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help=f"The database, as a command would be given it: its {SETTINGS_FILE} is read, and it "
        "overrides database.path.",
    ),
]

#: What an empty optional path means, for the table.
_BESIDE = {
    "database.ops": lambda s: s.ops_path,
    "metrics.targets_file": lambda s: s.targets_path,
}


class SettingsFormat(StrEnum):
    table = "table"
    json = "json"
    toml = "toml"


def _load(db: Path | None) -> Settings:
    try:
        return load_settings(db)
    except SettingsError as exc:
        fail(str(exc))


def _plain(value: Any) -> Any:
    """A value as JSON and the settings file write it (an empty optional path is "")."""
    if value is None:
        return ""
    return str(value) if isinstance(value, Path) else value


@settings_app.command("show")
def settings_show(
    db: SettingsDbOption = None,
    output: Annotated[
        SettingsFormat,
        typer.Option(
            "--format",
            help="table; json (a list of section, key, value, source, env); toml (a complete "
            "settings file holding the values in effect).",
        ),
    ] = SettingsFormat.table,
) -> None:
    """Every setting, its value, and where it came from (command line, environment, file, default)."""
    settings = _load(db)
    if output is SettingsFormat.json:
        rows = [
            {
                "section": spec.section,
                "key": spec.key,
                "value": _plain(value),
                "source": source,
                "env": spec.env,
            }
            for spec, value, source in settings.items()
        ]
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if output is SettingsFormat.toml:
        print(to_toml(settings), end="")
        return
    table = RichTable(title="vcop settings", title_justify="left")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    for spec, value, source in settings.items():
        shown = _plain(value)
        if value is None and spec.name in _BESIDE:
            shown = f"{_BESIDE[spec.name](settings)} (beside the database)"
        table.add_row(spec.name, json.dumps(shown) if shown == "" else str(shown), source)
    console.print(table)
    where = settings_path(db)
    console.print(
        f"Settings file: {settings.file}"
        if settings.file
        else f"Settings file: none ({where} does not exist)",
        highlight=False,
    )


@settings_app.command("path")
def settings_path_command(db: SettingsDbOption = None) -> None:
    """Which settings file is in effect: VCOP_SETTINGS, else vcop.toml beside the database.

    When there is no file there, prints where one would be read from and says so on stderr.
    """
    try:
        path = settings_path(db)
    except SettingsError as exc:
        fail(str(exc))
    print(path)
    if not path.is_file():
        err_console.print(
            f"(no file there: vcop uses the environment and the defaults; write one with "
            f"`vcop settings show --format toml > {path}`)",
            highlight=False,
        )


def to_toml(settings: Settings) -> str:
    """A complete settings file holding ``settings``: every section and key, each with its help,
    environment variable, default and where the value in effect came from. Paths are written
    absolute, so the file means the same wherever it is put."""
    lines = [
        f"# vcop settings ({SETTINGS_FILE}): put this file beside the database, or name it in "
        f"{SETTINGS_ENV}.",
        "# Precedence: command-line option > environment variable > this file > default.",
        "# Relative paths in this file are relative to the folder it is in.",
    ]
    for section, keys in SECTIONS.items():
        lines += ["", f"[{section}]"]
        for key in keys:
            spec = spec_for(section, key)
            value = settings.value(section, key)
            if isinstance(value, Path):
                value = value.resolve()
            lines += [f"# {line}" for line in textwrap.wrap(spec.help, 96)]
            variables = spec.env + (f" (or {spec.legacy_env})" if spec.legacy_env else "")
            lines.append(
                f"# Environment: {variables}. Default: {spec.toml(spec.default)}. "
                f"In effect from: {settings.source(section, key)}."
            )
            lines.append(f"{key} = {spec.toml(value)}")
    return "\n".join(lines) + "\n"
