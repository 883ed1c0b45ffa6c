"""Who may see what: local accounts, roles and scopes, passwords, sessions and CSRF tokens.

Roles and what they grant (:data:`GRANTS`):

==========  =====================================================================================
admin       aggregate pages, data quality, the access log; no record-level pages
analyst     every page except the access log; record-level for every victim
supervisor  aggregate pages; record-level for crimes of their own unit (and area/district if set)
officer     aggregate pages; record-level for crimes where they are the officer in charge
partner     aggregate pages only, always with small numbers suppressed
==========  =====================================================================================

Passwords are stored only as argon2id hashes. A session is a random token in an HttpOnly,
SameSite=Strict cookie; the database keeps only its SHA-256, so a copy of the database cannot be
used to sign in. Sessions end after :data:`IDLE_TIMEOUT` without a request or :data:`MAX_AGE`
after sign-in, whichever is first. Each session's CSRF token is derived from its secret token,
and every form posts it back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vcop.web.db import WebStore, ensure_web_tables

IDLE_TIMEOUT = timedelta(minutes=30)
MAX_AGE = timedelta(hours=8)
#: How often a session's last-seen time is written back to the database.
TOUCH_EVERY = timedelta(minutes=1)
SESSION_COOKIE = "vcop_session"
LOGIN_CSRF_COOKIE = "vcop_login_csrf"
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    supervisor = "supervisor"
    officer = "officer"
    partner = "partner"


class Permission(StrEnum):
    """What a route needs. Every route declares one; a route that does not is refused."""

    public = "public"  # sign-in page, health check
    signed_in = "signed_in"  # sign-out, the page that lists what you may see
    aggregate = "aggregate"  # figures with no victim in them (partners: suppressed)
    record = "record"  # pages about identifiable victims and crimes (pseudonymous ids)
    data_quality = "data_quality"  # loads, rejected rows and their values
    audit = "audit"  # the access log and the list of accounts


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(
        {Permission.signed_in, Permission.aggregate, Permission.data_quality, Permission.audit}
    ),
    Role.analyst: frozenset(
        {Permission.signed_in, Permission.aggregate, Permission.record, Permission.data_quality}
    ),
    Role.supervisor: frozenset({Permission.signed_in, Permission.aggregate, Permission.record}),
    Role.officer: frozenset({Permission.signed_in, Permission.aggregate, Permission.record}),
    Role.partner: frozenset({Permission.signed_in, Permission.aggregate}),
}


class AuthError(Exception):
    """A user-facing problem with an account (message says what to do)."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    area: str | None = None
    district: str | None = None
    unit: str | None = None
    officer_id: str | None = None
    disabled: bool = False

    def may(self, permission: Permission) -> bool:
        return permission is Permission.public or permission in GRANTS[self.role]

    @property
    def suppressed(self) -> bool:
        """Whether every figure this user sees passes through small-number suppression."""
        return self.role is Role.partner

    @property
    def scope_label(self) -> str:
        if self.role in (Role.analyst,):
            return "all victims"
        if self.role is Role.supervisor:
            parts = [p for p in (self.area, self.district, self.unit) if p]
            return "unit " + " / ".join(parts)
        if self.role is Role.officer:
            return f"cases of officer {self.officer_id}"
        if self.role is Role.admin:
            return "administration: accounts, access log, data quality"
        return "aggregate figures only"

    def crime_scope(self, alias: str = "c") -> tuple[str, list[object]]:
        """A SQL condition on ``crimes`` (as ``alias``) for the crimes this user may see records of.

        Raises :class:`PermissionError` for a role with no record-level access.
        """
        if self.role is Role.analyst:
            return "TRUE", []
        if self.role is Role.supervisor:
            conds: list[str] = []
            params: list[object] = []
            for column in ("area", "district", "unit"):
                value = getattr(self, column)
                if value:
                    conds.append(f"{alias}.{column} = ?")
                    params.append(value)
            return (" AND ".join(conds), params) if conds else ("FALSE", [])
        if self.role is Role.officer and self.officer_id:
            return f"{alias}.officer_id = ?", [self.officer_id]
        if self.role is Role.officer:
            return "FALSE", []
        raise PermissionError(f"role {self.role} has no record-level access")


# -- passwords and accounts -----------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both cases take the same time."""
    return hash_password(secrets.token_urlsafe(16))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


def add_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    role: Role,
    password: str,
    *,
    now: datetime,
    area: str | None = None,
    district: str | None = None,
    unit: str | None = None,
    officer_id: str | None = None,
) -> User:
    """Create an account. Supervisors need a unit; officers need an officer id."""
    ensure_web_tables(con)
    if not username or not all(ch.isalnum() or ch in "-_." for ch in username):
        raise AuthError("a user name may use only letters, digits, '-', '_' and '.'")
    check_new_password(password)
    if role is Role.supervisor and not unit:
        raise AuthError("a supervisor needs --unit (the unit whose victims they may see)")
    if role is Role.officer and not officer_id:
        raise AuthError("an officer needs --officer-id (their pseudonymous officer id)")
    if role not in (Role.supervisor,) and (area or district or unit):
        raise AuthError("--area, --district and --unit are for supervisors only")
    if role is not Role.officer and officer_id:
        raise AuthError("--officer-id is for officers only")
    exists = con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchall()
    if exists:
        raise AuthError(f"user {username!r} already exists")
    con.execute(
        "INSERT INTO users (username, role, password_hash, area, district, unit, officer_id, "
        "disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, false, ?)",
        [username, role.value, hash_password(password), area, district, unit, officer_id, now],
    )
    return User(username, role, area, district, unit, officer_id)


#: The account `vcop demo` makes so a newcomer can sign in to the demo force.
DEMO_ACCOUNT = "demo-analyst"


def ensure_demo_account(con: duckdb.DuckDBPyConnection, *, now: datetime) -> str | None:
    """Add the ``demo-analyst`` account with a new random password, if it does not exist.

    Returns the password — to be shown once and never stored except as its argon2 hash — or None
    when the account already exists (its password is unchanged; `vcop users` manages it).
    """
    ensure_web_tables(con)
    if con.execute("SELECT 1 FROM users WHERE username = ?", [DEMO_ACCOUNT]).fetchall():
        return None
    password = secrets.token_urlsafe(15)
    add_user(con, DEMO_ACCOUNT, Role.analyst, password, now=now)
    return password


def list_users(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    ensure_web_tables(con)
    return con.execute(
        "SELECT username, role, area, district, unit, officer_id, disabled, created_at, disabled_at "
        "FROM users ORDER BY username"
    ).fetchall()


def disable_user(con: duckdb.DuckDBPyConnection, username: str, *, now: datetime) -> None:
    """Disable an account and end its sessions. Accounts are never deleted (the log names them)."""
    ensure_web_tables(con)
    if not con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchall():
        raise AuthError(f"no user {username!r}")
    con.execute(
        "UPDATE users SET disabled = true, disabled_at = ? WHERE username = ? AND NOT disabled",
        [now, username],
    )
    con.execute("DELETE FROM sessions WHERE username = ?", [username])


def set_password(
    con: duckdb.DuckDBPyConnection, username: str, password: str, *, now: datetime
) -> None:
    """Give an account a new password and end its sessions."""
    ensure_web_tables(con)
    check_new_password(password)
    if not con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchall():
        raise AuthError(f"no user {username!r}")
    con.execute(
        "UPDATE users SET password_hash = ? WHERE username = ?", [hash_password(password), username]
    )
    con.execute("DELETE FROM sessions WHERE username = ?", [username])


def _row_user(row: tuple[object, ...]) -> User:
    username, role, area, district, unit, officer_id, disabled = row
    return User(
        str(username),
        Role(str(role)),
        area if isinstance(area, str) else None,
        district if isinstance(district, str) else None,
        unit if isinstance(unit, str) else None,
        officer_id if isinstance(officer_id, str) else None,
        bool(disabled),
    )


# -- sessions -------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    """The CSRF token of the session whose secret is ``token``."""
    return hmac.new(token.encode(), b"vcop-csrf", hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)


@dataclass
class Session:
    """A signed-in user's session, as the server holds it."""

    key: str  # the SHA-256 of the cookie's token
    user: User
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf: str
    written_at: datetime
    #: victim_id -> the reason the user gave for opening that victim's records in this session.
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def short(self) -> str:
        """A short, non-secret label for the session, for the access log."""
        return self.key[:12]


class Sessions:
    """Sessions, held in memory for speed and written to the ``sessions`` table."""

    def __init__(self, store: WebStore) -> None:
        self.store = store
        self._live: dict[str, Session] = {}
        self._lock = threading.Lock()

    def authenticate(self, username: str, password: str) -> User | None:
        row = self.store.query(
            "SELECT username, role, area, district, unit, officer_id, disabled, password_hash "
            "FROM users WHERE username = ?",
            [username],
        ).rows
        if not row:
            verify_password(_dummy_hash(), password)
            return None
        *fields, password_hash = row[0]
        user = _row_user(tuple(fields))
        if not verify_password(str(password_hash), password) or user.disabled:
            return None
        return user

    def start(self, user: User, now: datetime) -> tuple[str, Session]:
        """A new session for ``user``: returns the cookie's token and the session."""
        token = secrets.token_urlsafe(32)
        key = token_hash(token)
        session = Session(key, user, now, now, now + MAX_AGE, csrf_for(token), now)
        self.store.write(
            "INSERT INTO sessions (session_hash, username, created_at, last_seen_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [key, user.username, now, now, session.expires_at],
        )
        with self._lock:
            self._live[key] = session
        return token, session

    def get(self, token: str | None, now: datetime) -> Session | None:
        """The live session for a cookie's token, or None if there is none or it has expired."""
        if not token:
            return None
        key = token_hash(token)
        with self._lock:
            session = self._live.get(key)
        if session is None:
            session = self._load(key, token)
            if session is None:
                return None
        if now >= session.expires_at or now - session.last_seen_at >= IDLE_TIMEOUT:
            self.end(token)
            return None
        session.last_seen_at = now
        if now - session.written_at >= TOUCH_EVERY:
            session.written_at = now
            self.store.write(
                "UPDATE sessions SET last_seen_at = ? WHERE session_hash = ?", [now, key]
            )
        return session

    def _load(self, key: str, token: str) -> Session | None:
        rows = self.store.query(
            "SELECT u.username, u.role, u.area, u.district, u.unit, u.officer_id, u.disabled, "
            "s.created_at, s.last_seen_at, s.expires_at FROM sessions s "
            "JOIN users u USING (username) WHERE s.session_hash = ?",
            [key],
        ).rows
        if not rows:
            return None
        *fields, created, last_seen, expires = rows[0]
        user = _row_user(tuple(fields))
        if user.disabled:
            return None
        session = Session(key, user, created, last_seen, expires, csrf_for(token), last_seen)
        with self._lock:
            self._live[key] = session
        return session

    def end(self, token: str | None) -> None:
        if not token:
            return
        key = token_hash(token)
        with self._lock:
            self._live.pop(key, None)
        self.store.write("DELETE FROM sessions WHERE session_hash = ?", [key])
