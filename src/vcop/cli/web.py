"""Commands for the dashboard: ``vcop serve`` and ``vcop users add|list|disable``."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from vcop.cli.app import (
    app,
    cli_settings,
    console,
    err_console,
    fail,
    open_ops_store,
    ops_path_setting,
)
from vcop.config import DEFAULT_DB
from vcop.export import csv_writer, safe_row


class Role(StrEnum):
    """`vcop users add --role`: the values of :class:`vcop.web.auth.Role`, declared here so that
    the command line starts without importing the web app (a test holds the two equal)."""

    admin = "admin"
    analyst = "analyst"
    supervisor = "supervisor"
    officer = "officer"
    partner = "partner"
    auditor = "auditor"
    service = "service"


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
    agency: Annotated[
        str | None,
        typer.Option(
            help="Partners: the body they work for (police, cps, wcu, hmcts, hmpps, parole_board, "
            "victim_hub, any_service_provider); the dashboard marks its obligations. Auditors "
            "(required): the agency whose dip-sample audit panel they sit on (police, "
            "victim_hub, cps, wcu, hmpps)."
        ),
    ] = None,
    new_unit: Annotated[
        bool,
        typer.Option(
            "--new-unit",
            help="Supervisors: accept a --unit no crime in the database names yet (a unit whose "
            "crimes are not loaded yet); without it such a unit is refused as a likely typo.",
        ),
    ] = False,
) -> None:
    """Add a dashboard account.

    The password is read from standard input when piped (`echo "$PASSWORD" | vcop users add …`),
    and asked for otherwise.

    Roles: admin (accounts, access log, data quality); analyst (every page and victim);
    supervisor (records of their own --unit, aggregates elsewhere); officer (records of their own
    cases, by --officer-id); partner (aggregate figures only, small numbers suppressed; tied to
    the body they work for by --agency, e.g. `--role partner --agency cps`); auditor (the
    dip-sample audits and each audited case, for one agency's panel: `--role auditor --agency
    victim_hub`).
    """
    from vcop.web.auth import AuthError, add_user
    from vcop.web.auth import Role as AuthRole

    if unit and role is Role.supervisor and not new_unit:
        problem = unknown_unit(db, unit)
        if problem:
            fail(problem)
    password = _read_password(name)
    ops = open_ops_store(db)
    try:
        user = add_user(
            ops, name, AuthRole(role.value), password, now=datetime.now(), area=area, district=district,
            unit=unit, officer_id=officer_id, agency=agency,
        )  # fmt: skip
    except AuthError as exc:
        fail(str(exc))
    finally:
        ops.close()
    console.print(f"Added {user.username} ({user.role.value}: {user.scope_label}) to {db}.")


def unknown_unit(db: Path, unit: str) -> str | None:
    """Why ``unit`` looks wrong: no crime in the build ``db`` names it (with the closest units
    that do). None when a crime names it, or when there is nothing to check it against yet (no
    database, or no crimes loaded): a warning is printed then."""
    import difflib

    import duckdb

    if not db.exists():
        err_console.print(
            f"warning: {db} does not exist yet, so --unit {unit!r} could not be checked against "
            "the crimes' units.",
            highlight=False,
        )
        return None
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        err_console.print(f"warning: --unit {unit!r} not checked: {exc}", highlight=False)
        return None
    try:
        has_crimes = con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'crimes' AND column_name = 'unit'"
        ).fetchall()[0][0]
        units = (
            [str(r[0]) for r in con.execute(
                "SELECT DISTINCT unit FROM crimes WHERE unit IS NOT NULL ORDER BY 1"
            ).fetchall()]
            if has_crimes
            else []
        )  # fmt: skip
    finally:
        con.close()
    if not units:
        err_console.print(
            f"warning: no crimes are loaded in {db} yet, so --unit {unit!r} could not be checked.",
            highlight=False,
        )
        return None
    if unit in units:
        return None
    close = difflib.get_close_matches(unit, units, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(u) for u in close)}?" if close else ""
    return (
        f"no crime in {db} is investigated by a unit named {unit!r}, so this supervisor would "
        f"see no records.{hint} Check the spelling (vcop units are named as in the extract's "
        "unit column), or give --new-unit for a unit whose crimes are not loaded yet."
    )


@users_app.command("list")
def users_list(
    db: DbOption = DEFAULT_DB,
    output: Annotated[
        UserFormat, typer.Option("--format", help="Output format.")
    ] = UserFormat.table,
) -> None:
    """List the dashboard accounts (never their passwords)."""
    from vcop.web.auth import USER_COLUMNS, list_users

    ops = open_ops_store(db)
    rows = list_users(ops)
    ops.close()
    names = list(USER_COLUMNS)
    if output is UserFormat.csv:
        writer = csv_writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(safe_row(r) for r in rows)
        return
    if output is UserFormat.json:
        print(json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str, indent=1))
        return
    table = RichTable(title=f"Accounts of {db}", title_justify="left")
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
    from vcop.web.auth import AuthError, disable_user

    ops = open_ops_store(db)
    try:
        disable_user(ops, name, now=datetime.now())
    except AuthError as exc:
        fail(str(exc))
    finally:
        ops.close()
    console.print(f"Disabled {name}.")


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="The account whose password to set.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Set a new password for an account and end its sessions.

    The password is read from standard input when piped, and asked for otherwise.
    """
    from vcop.web.auth import AuthError, set_password

    password = _read_password(name)
    ops = open_ops_store(db)
    try:
        set_password(ops, name, password, now=datetime.now())
    except AuthError as exc:
        fail(str(exc))
    finally:
        ops.close()
    console.print(f"New password set for {name}.")


@users_app.command("totp")
def users_totp(
    name: Annotated[str, typer.Argument(help="The admin's or analyst's account.")],
    db: DbOption = DEFAULT_DB,
    disable: Annotated[
        bool, typer.Option("--disable", help="Remove the second factor (e.g. a lost phone).")
    ] = False,
) -> None:
    """Add an authenticator app (TOTP) as a second factor to an admin's or analyst's account.

    Prints, once, the secret and the otpauth:// address to enter in the app; from then on the
    sign-in page asks for the app's 6-digit code too. Ends the account's sessions.
    """
    from vcop.web.auth import AuthError, disable_totp, enable_totp

    ops = open_ops_store(db)
    try:
        if disable:
            disable_totp(ops, name)
            console.print(f"Removed the second factor of {name}.")
            return
        secret, uri = enable_totp(ops, name)
    except AuthError as exc:
        fail(str(exc))
    finally:
        ops.close()
    console.print(
        f"Second factor added to {name}. Enter this in the authenticator app (shown only now):\n"
        f"  secret   {secret}\n  address  {uri}",
        highlight=False,
    )


class LogFormat(StrEnum):
    json = "json"
    text = "text"


@app.command()
def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (setting server.host; loopback by default)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (setting server.port; 8000 by default).")
    ] = None,
    root_path: Annotated[
        str | None,
        typer.Option(
            "--root-path",
            help="The path prefix the reverse proxy serves vcop under, e.g. /vcop "
            "(setting server.root_path).",
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated addresses of proxies whose X-Forwarded-For/-Proto headers are "
            "trusted (setting server.forwarded_allow_ips; 127.0.0.1 by default).",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="json: one JSON object per line with a request id (for the force's log "
            "collector); text: for a person. Default: text on a terminal, else json.",
        ),
    ] = None,
    watch: Annotated[
        float,
        typer.Option(min=0.2, help="Seconds between checks for a newly published build."),
    ] = 2.0,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Processes serving the dashboard (setting server.workers; by default one per "
            "core, at most 8). Each renders one page at a time and keeps its own cache.",
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Serve only the Victim Voice questionnaire (/voice/...), for the force's public "
            "web proxy; the dashboard stays on an internal server.",
        ),
    ] = False,
) -> None:
    """Serve the dashboard (sign in with an account from `vcop users add`). Ctrl-C stops it.

    The server reads the published build and never blocks a refresh: `vcop refresh` (or ingest
    and evaluate) publishes a new build and the server switches to it between requests, without
    a restart. Accounts and the access log live in the operational store beside the database.
    """
    import uvicorn

    from vcop.store import StoreError
    from vcop.web import create_app
    from vcop.web.auth import list_users
    from vcop.web.logs import configure_logging
    from vcop.web.workers import FACTORY, OPTIONS_ENV, Options, default_workers

    settings = cli_settings(db)
    host = host or settings.server.host
    port = port or settings.server.port
    root_path = settings.server.root_path if root_path is None else root_path
    forwarded = forwarded_allow_ips or settings.server.forwarded_allow_ips
    if not db.exists():
        fail(
            f"{db}: no such vcop database (load one with `vcop refresh`, `vcop ingest` or `vcop demo`)"
        )
    ops = open_ops_store(db)
    count = len(list_users(ops))
    ops.close()
    if count == 0 and not public:  # the questionnaire needs no account
        err_console.print(
            f"[yellow]No accounts yet:[/] add one with `vcop users add NAME --role analyst --db {db}` "
            "(the server need not stop).",
            highlight=False,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]Listening on {host}:[/] other machines can reach the dashboard. It speaks "
            "plain HTTP: put it behind a TLS proxy so passwords and records are never sent in clear.",
            highlight=False,
        )
    chosen = log_format or (LogFormat.text if sys.stderr.isatty() else LogFormat.json)
    configure_logging(json_lines=chosen is LogFormat.json)
    if public:
        from vcop.web.voice_app import serve_public

        serve_public(db, host, port, root_path or "", forwarded, ops_path_setting(db), watch)
        return
    processes = workers or settings.server.workers or default_workers()
    options = Options(
        db=str(db),
        suppression_threshold=settings.suppression_threshold,
        feedback_min_answers=settings.survey.feedback_min_answers,
        ops_path=str(ops_path_setting(db)),
        watch=watch,
        root_path=root_path or "",
        session_idle_seconds=settings.sessions.idle_timeout.total_seconds(),
        session_max_seconds=settings.sessions.max_age.total_seconds(),
        json_lines=chosen is LogFormat.json,
    )
    # in this process first: a build it cannot open is one error here, and the operational
    # store's schema is brought up to date once, before any worker opens it
    try:
        application = create_app(
            db,
            suppression_threshold=options.suppression_threshold,
            feedback_min_answers=options.feedback_min_answers,
            warm=processes == 1,
            ops_path=ops_path_setting(db),
            watch=watch if processes == 1 else None,
            root_path=options.root_path,
            session_idle=settings.sessions.idle_timeout,
            session_max=settings.sessions.max_age,
            freeze=processes == 1,
        )
    except StoreError as exc:
        fail(str(exc))
    each = "" if processes == 1 else f", {processes} processes"
    err_console.print(  # standard error: standard output carries the (JSON) log
        f"vcop dashboard on http://{host}:{port}{root_path or ''}/ over {db}{each} (Ctrl-C to stop)",
        highlight=False,
    )
    if processes > 1:
        application.state.vcop.close()  # each process builds its own (vcop.web.workers)
        os.environ[OPTIONS_ENV] = options.to_env()
        uvicorn.run(
            FACTORY, factory=True, workers=processes, host=host, port=port, access_log=False,
            log_level="warning", proxy_headers=True, forwarded_allow_ips=forwarded,
            root_path=root_path or "", log_config=None,
        )  # fmt: skip
        return
    try:
        uvicorn.run(
            application, host=host, port=port, access_log=False, log_level="warning",
            proxy_headers=True, forwarded_allow_ips=forwarded, root_path=root_path or "",
            log_config=None,
        )  # fmt: skip
    finally:
        application.state.vcop.close()
