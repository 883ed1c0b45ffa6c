"""Commands for the dashboard: ``vcop serve`` and ``vcop users add|list|disable``."""

from __future__ import annotations

import csv
import json
import logging
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from vcop.cli.app import app, console, err_console, fail, open_store
from vcop.config import DEFAULT_DB, Settings
from vcop.export import safe_row
from vcop.web.auth import AuthError, Role, add_user, disable_user, list_users, set_password

DbOption = Annotated[Path, typer.Option("--db", help="The vcop DuckDB database file.")]

users_app = typer.Typer(
    help="Dashboard accounts: add, list and disable (passwords are stored only as argon2 hashes).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


class UserFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _read_password(name: str) -> str:
    """The password from standard input when it is piped, else asked for twice without echo."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    password: str = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user name to sign in with.")],
    role: Annotated[Role, typer.Option("--role", help="What the account may see.")],
    db: DbOption = DEFAULT_DB,
    unit: Annotated[
        str | None, typer.Option(help="Supervisors: the unit whose victims' records they may open.")
    ] = None,
    area: Annotated[
        str | None, typer.Option(help="Supervisors: narrow the scope to this area.")
    ] = None,
    district: Annotated[
        str | None, typer.Option(help="Supervisors: narrow the scope to this district.")
    ] = None,
    officer_id: Annotated[
        str | None, typer.Option("--officer-id", help="Officers: their pseudonymous officer id.")
    ] = None,
) -> None:
    """Add a dashboard account.

    The password is read from standard input when piped (`echo "$PASSWORD" | vcop users add …`),
    and asked for otherwise.

    Roles: admin (accounts, access log, data quality); analyst (every page and victim);
    supervisor (records of their own --unit, aggregates elsewhere); officer (records of their own
    cases, by --officer-id); partner (aggregate figures only, small numbers suppressed).
    """
    password = _read_password(name)
    con = open_store(db)
    try:
        user = add_user(
            con, name, role, password, now=datetime.now(), area=area, district=district,
            unit=unit, officer_id=officer_id,
        )  # fmt: skip
    except AuthError as exc:
        fail(str(exc))
    finally:
        con.close()
    console.print(f"Added {user.username} ({user.role.value}: {user.scope_label}) to {db}.")


@users_app.command("list")
def users_list(
    db: DbOption = DEFAULT_DB,
    output: Annotated[
        UserFormat, typer.Option("--format", help="Output format.")
    ] = UserFormat.table,
) -> None:
    """List the dashboard accounts (never their passwords)."""
    con = open_store(db)
    rows = list_users(con)
    con.close()
    names = [
        "username",
        "role",
        "area",
        "district",
        "unit",
        "officer_id",
        "disabled",
        "created_at",
        "disabled_at",
    ]
    if output is UserFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(safe_row(r) for r in rows)
        return
    if output is UserFormat.json:
        print(json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str, indent=1))
        return
    table = RichTable(title=f"Accounts in {db}", title_justify="left")
    for n in names:
        table.add_column(n)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    console.print(table)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The account to disable.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Disable an account and end its sessions. Accounts are kept: the access log names them."""
    con = open_store(db)
    try:
        disable_user(con, name, now=datetime.now())
    except AuthError as exc:
        fail(str(exc))
    finally:
        con.close()
    console.print(f"Disabled {name}.")


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="The account whose password to set.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Set a new password for an account and end its sessions.

    The password is read from standard input when piped, and asked for otherwise.
    """
    password = _read_password(name)
    con = open_store(db)
    try:
        set_password(con, name, password, now=datetime.now())
    except AuthError as exc:
        fail(str(exc))
    finally:
        con.close()
    console.print(f"New password set for {name}.")


@app.command()
def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default: only this machine).")
    ] = Settings().host,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = Settings().port,
) -> None:
    """Serve the dashboard (sign in with an account from `vcop users add`). Ctrl-C stops it.

    The server holds the database while it runs: stop it before loading extracts or adding users.
    """
    import uvicorn

    from vcop.web import create_app
    from vcop.web.db import WebStore

    if not db.exists():
        fail(f"{db}: no such vcop database (load one with `vcop ingest` or `vcop demo`)")
    con = open_store(db)
    count = len(list_users(con))
    con.close()
    if count == 0:
        err_console.print(
            f"[yellow]No accounts yet:[/] add one with `vcop users add NAME --role analyst --db {db}` "
            "(stop the server first).",
            highlight=False,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]Listening on {host}:[/] other machines can reach the dashboard. It speaks "
            "plain HTTP: put it behind a TLS proxy so passwords and records are never sent in clear.",
            highlight=False,
        )
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    web_log = logging.getLogger("vcop.web")
    web_log.addHandler(handler)
    web_log.setLevel(logging.INFO)
    web_log.propagate = False
    application = create_app(db, suppression_threshold=Settings().suppression_threshold, warm=True)
    console.print(f"vcop dashboard on http://{host}:{port}/ over {db} (Ctrl-C to stop)")
    try:
        uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning")
    finally:
        store: WebStore = application.state.vcop.store
        store.close()
