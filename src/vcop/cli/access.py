"""Record-level commands: who may run them, and the access-log entry each run writes.

The dashboard logs its record-level views through :mod:`vcop.web.audit`; commands that list
victims or cases log here, into the same append-only, hash-chained access log in the operational
store (channel ``cli``), with the operating-system user who ran them and every victim and crime
they returned.

Every command that prints or exports record-level data starts with :func:`record_reader`::

    reader = record_reader(db, user=user, reason=reason, action="explain", what="explain a case")
    where, params = reader.scope("c")          # the crimes this account may see (the web's rule)
    ...
    reader.log("as_of=2025-06-30", records=[(victim_id, crime_id), ...])

It needs an active vcop account allowed the command (by role), authenticated by its password —
asked for without echo at a terminal, else read from ``VCOP_PASSWORD`` (scheduled jobs); never a
command-line option — and a reason. Every refusal (no reason aside) is logged as
``<action>_refused`` with the reason given and why it was refused, and ends the command non-zero.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, NoReturn

from vcop.cli.app import fail, open_ops_store

if TYPE_CHECKING:  # vcop.web is imported when used: it loads the whole dashboard
    import duckdb

    from vcop.store.access_log import Record
    from vcop.web.auth import Permission, Role, User

#: Where a scheduled job (no terminal) gives the account's password.
# bandit B105: the name of a variable, not a password
PASSWORD_VARIABLE = "VCOP_PASSWORD"  # nosec B105
#: Where a scheduled job gives the current code of an account with a second factor.
TOTP_VARIABLE = "VCOP_TOTP_CODE"

#: The exit code of a refusal (logged); a command used wrongly (no reason) exits 2.
REFUSED = 3


def roles_with(permission: Permission) -> tuple[Role, ...]:
    """The roles :data:`vcop.web.auth.GRANTS` gives ``permission`` (the web's rule)."""
    from vcop.web.auth import GRANTS, Role

    return tuple(role for role in Role if permission in GRANTS[role])


def require_reason(reason: str | None, what: str) -> str:
    """The stated reason, tidied; a blank one ends the command."""
    tidy = " ".join((reason or "").split())
    if not tidy:
        fail(
            f"--reason is required: say why you {what} (it is logged with who and when, e.g. "
            '--reason "supervisor review of overdue updates")'
        )
    return tidy


def log_access(
    db: Path,
    *,
    user: str,
    role: str,
    action: str,
    reason: str,
    detail: str,
    victim_id: str | None = None,
    crime_id: str | None = None,
    records: Iterable[tuple[str | None, str | None]] = (),
) -> None:
    """Append one entry to the access log for a command's record-level output."""
    from vcop.store.access_log import Access, append, os_user

    ops = open_ops_store(db)
    try:
        append(
            ops,
            Access(
                dt.datetime.now(), user, role, action, victim_id, crime_id, reason, detail,
                channel="cli", os_user=os_user(), records=tuple(records),
            ),
        )  # fmt: skip
    finally:
        ops.close()


@dataclass(frozen=True)
class RecordReader:
    """An authenticated account reading records through one command, and what it must log."""

    db: Path
    user: User
    reason: str
    action: str

    def scope(self, alias: str = "c") -> tuple[str, list[object]]:
        """The SQL condition on ``crimes`` (as ``alias``) for the crimes this account may see
        records of (:meth:`vcop.web.auth.User.crime_scope`); PermissionError for a role with
        none (admins reading rejects, say)."""
        return self.user.crime_scope(alias)

    @property
    def sees_everything(self) -> bool:
        """Whether the account may see every crime's records (no scope condition to apply)."""
        try:
            return self.scope()[0] == "TRUE"
        except PermissionError:
            return False

    def log(
        self,
        detail: str,
        *,
        records: Iterable[Record] = (),
        victim_id: str | None = None,
        crime_id: str | None = None,
    ) -> None:
        """Append this read to the access log: who, the OS user, when, why, what it returned."""
        log_access(
            self.db, user=self.user.username, role=self.user.role.value, action=self.action,
            reason=self.reason, detail=detail, victim_id=victim_id, crime_id=crime_id,
            records=records,
        )  # fmt: skip

    def refuse(
        self,
        why: str,
        message: str,
        *,
        detail: str = "",
        victim_id: str | None = None,
        crime_id: str | None = None,
    ) -> NoReturn:
        """Log the refusal of part of the read (e.g. a crime outside the scope) and exit."""
        _refuse(
            self.db, user=self.user.username, role=self.user.role.value, action=self.action,
            reason=self.reason, why=why, message=message, detail=detail, victim_id=victim_id,
            crime_id=crime_id,
        )  # fmt: skip


@cache
def _dummy_hash() -> str:
    """A hash to check a password against when there is no such account (the same time taken)."""
    import secrets

    from vcop.web.auth import hash_password

    return hash_password(secrets.token_urlsafe(16))


def _refuse(
    db: Path,
    *,
    user: str,
    role: str,
    action: str,
    reason: str,
    why: str,
    message: str,
    detail: str = "",
    victim_id: str | None = None,
    crime_id: str | None = None,
    code: int = REFUSED,
) -> NoReturn:
    log_access(
        db, user=user, role=role, action=f"{action}_refused", reason=reason,
        detail=f"refused: {why}" + (f"; {detail}" if detail else ""),
        victim_id=victim_id, crime_id=crime_id,
    )  # fmt: skip
    fail(message, code=code)


def _and(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _read_secret(prompt: str, variable: str) -> str | None:
    """Asked for without echo at a terminal; else from the environment (None if unset)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return os.environ.get(variable)


def record_reader(
    db: Path,
    *,
    user: str | None,
    reason: str | None,
    action: str,
    what: str,
    roles: Iterable[Role | str] | None = None,
    permission: str = "record",
    detail: str = "",
    victim_id: str | None = None,
    crime_id: str | None = None,
) -> RecordReader:
    """The account ``user`` (default: the login name), authenticated and allowed to ``what``.

    ``roles`` are the roles that may run the command (default: those the web grants
    ``permission``, e.g. ``"record"`` or ``"data_quality"``). A blank reason ends the command
    (exit 2) before anything is asked. An unknown account, a wrong or missing password (or
    second-factor code, for an account with one), too many failed attempts, a disabled account or
    a role not allowed is logged as ``<action>_refused`` — with the reason given, ``detail``,
    ``victim_id``/``crime_id`` and why — and ends the command (exit 3). Wrong passwords count
    towards the dashboard's sign-in throttle (per account, and per OS user as the address).
    """
    from vcop.store.access_log import os_user
    from vcop.web.auth import Permission, Role, Throttle, User, totp_matches, verify_password

    why = require_reason(reason, what)
    name = user or getpass.getuser()
    allowed = set(roles_with(Permission(permission)) if roles is None else map(Role, roles))

    def refuse(role: str, cause: str, message: str) -> NoReturn:
        _refuse(
            db, user=name, role=role, action=action, reason=why, why=cause, message=message,
            detail=detail, victim_id=victim_id, crime_id=crime_id,
        )  # fmt: skip

    ops = open_ops_store(db)
    try:
        found = ops.query(
            "SELECT role, area, district, unit, officer_id, disabled, password_hash, totp_secret "
            "FROM users WHERE username = ?",
            [name],
        ).rows
        throttle = Throttle(ops)
        address = f"cli:{os_user()}"
        now = dt.datetime.now()
        wait = throttle.wait(name, address, now)
    finally:
        ops.close()
    role = str(found[0][0]) if found else "unknown"
    mismatch = (
        f"the vcop account {name!r} and this password do not match (no such account, or a wrong "
        f"password) for {db}"
    )
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        refuse(
            role,
            "too many failed sign-ins",
            f"too many failed sign-ins for {name!r}: try again in {minutes} minute(s)",
        )
    password = _read_secret(f"vcop password for {name}: ", PASSWORD_VARIABLE)
    if not password:
        refuse(
            role,
            "no password given",
            f"a password is required: type it at a terminal, or set {PASSWORD_VARIABLE} for a "
            "scheduled job (it is never a command-line option)",
        )

    def failed(cause: str, message: str) -> NoReturn:
        ops = open_ops_store(db)
        try:
            Throttle(ops).failed(name, address, dt.datetime.now())
        finally:
            ops.close()
        refuse(role, cause, message)

    if not found:
        verify_password(_dummy_hash(), password)
        failed("no such account", mismatch)
    role_name, area, district, unit, officer_id, disabled, password_hash, totp_secret = found[0]
    if not verify_password(str(password_hash), password):
        failed("wrong password", mismatch)
    if totp_secret:
        code = _read_secret(f"authenticator code for {name}: ", TOTP_VARIABLE) or ""
        if not totp_matches(str(totp_secret), code):
            failed(
                "wrong or missing second-factor code",
                f"{name!r} has a second factor: give the authenticator app's current code "
                f"(asked for at a terminal, else {TOTP_VARIABLE})",
            )
    if disabled:
        refuse(role, "account disabled", f"the vcop account {name!r} is disabled")
    try:
        account_role = Role(str(role_name))
    except ValueError:
        refuse(role, f"unknown role {role_name!r}", f"{name!r} has an unknown role {role_name!r}")
    if account_role not in allowed:
        names = _and([r.value + "s" for r in Role if r in allowed])
        refuse(role, f"a {role} may not {what}", f"{name} is a {role}: only {names} may {what}")
    ops = open_ops_store(db)
    try:
        Throttle(ops).succeeded(name)
    finally:
        ops.close()
    account = User(
        name,
        account_role,
        area if isinstance(area, str) else None,
        district if isinstance(district, str) else None,
        unit if isinstance(unit, str) else None,
        officer_id if isinstance(officer_id, str) else None,
    )
    return RecordReader(db, account, why, action)


def in_scope(
    con: duckdb.DuckDBPyConnection, reader: RecordReader, crime_ids: Iterable[str]
) -> set[str]:
    """Which of ``crime_ids`` (crimes in the build ``con``) the reader may see records of."""
    alias = "c"
    ids = list(dict.fromkeys(crime_ids))
    if reader.sees_everything or not ids:
        return set(ids)
    where, params = reader.scope(alias)
    rows = con.execute(
        f"SELECT {alias}.crime_id FROM crimes {alias} "
        f"WHERE list_contains(?, {alias}.crime_id) AND ({where})",
        [ids, *params],
    ).fetchall()
    return {str(r[0]) for r in rows}


def rows_shown(rejects: Iterable[Sequence[object]]) -> str:
    """Rows of ``rejects`` (batch_id, file, table, row, …) in short: "batch 3 crimes.csv rows
    2-5, 9; batch 4 victims.csv row 7"."""
    by_file: dict[tuple[object, str], list[int]] = {}
    for batch_id, file, _table, row, *_ in rejects:
        by_file.setdefault((batch_id, PurePath(str(file)).name), []).append(int(str(row)))
    parts = []
    for (batch_id, name), numbers in by_file.items():
        ranges: list[str] = []
        ordered = sorted(set(numbers))
        first = last = ordered[0]
        for n in [*ordered[1:], None]:
            if n is not None and n == last + 1:
                last = n
                continue
            ranges.append(f"{first}-{last}" if last > first else str(first))
            if n is not None:
                first = last = n
        word = "rows" if len(ordered) > 1 else "row"
        parts.append(f"batch {batch_id} {name} {word} {', '.join(ranges)}")
    return "; ".join(parts) or "none"


__all__ = [
    "PASSWORD_VARIABLE",
    "RecordReader",
    "in_scope",
    "log_access",
    "record_reader",
    "require_reason",
    "roles_with",
    "rows_shown",
]
