"""Who may see what: local accounts, roles and scopes, passwords, sessions and CSRF tokens.

Roles and what they grant (:data:`GRANTS`):

==========  =====================================================================================
admin       aggregate pages, data quality, the access log; no record-level pages
analyst     every page except the access log; record-level for every victim
supervisor  aggregate pages; record-level for crimes of their own unit (and area/district if set)
officer     aggregate pages; record-level for crimes where they are the officer in charge
partner     aggregate pages only, always with small numbers suppressed
auditor     a dip-sample audit panel member of one agency: the audits, and each audited case's
            ledger and journey beside the form for its findings (:mod:`vcop.qa`); nothing else
service     scheduled jobs (e.g. a nightly refresh): signs in, but no pages and no records
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vcop.spec.agencies import agencies
from vcop.store.ops import OpsStore, timestamp, with_value

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
    #: A member of an agency's dip-sample audit panel (tied to the agency by ``agency``).
    auditor = "auditor"
    #: The account scheduled jobs run as: it may refresh, never read records.
    service = "service"


class Permission(StrEnum):
    """What a route needs. Every route declares one; a route that does not is refused."""

    public = "public"  # sign-in page, health check
    signed_in = "signed_in"  # sign-out, the page that lists what you may see
    aggregate = "aggregate"  # figures with no victim in them (partners: suppressed)
    record = "record"  # pages about identifiable victims and crimes (pseudonymous ids)
    data_quality = "data_quality"  # loads, rejected rows and their values
    audit = "audit"  # the access log and the list of accounts
    qa = "qa"  # dip-sample audits: the cases sampled and the findings recorded (vcop.qa)


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(
        {Permission.signed_in, Permission.aggregate, Permission.data_quality, Permission.audit}
    ),
    Role.analyst: frozenset(
        {
            Permission.signed_in,
            Permission.aggregate,
            Permission.record,
            Permission.data_quality,
            Permission.qa,
        }
    ),
    Role.supervisor: frozenset({Permission.signed_in, Permission.aggregate, Permission.record}),
    Role.officer: frozenset({Permission.signed_in, Permission.aggregate, Permission.record}),
    Role.partner: frozenset({Permission.signed_in, Permission.aggregate}),
    Role.auditor: frozenset({Permission.signed_in, Permission.qa}),
    Role.service: frozenset({Permission.signed_in}),
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
    #: Partners: the body they work for (the Code's owner id, e.g. ``cps``), if given; auditors:
    #: the agency whose panel they sit on (always given).
    agency: str | None = None

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
        if self.role is Role.service:
            return "scheduled jobs: no records"
        if self.role is Role.auditor:
            return f"dip-sample audits ({self.agency})"
        if self.agency:
            return f"aggregate figures only ({self.agency})"
        return "aggregate figures only"

    def crime_scope(self, alias: str = "c") -> tuple[str, list[object]]:
        """A SQL condition on ``crimes`` (as ``alias``) for the crimes this user may see records of.

        Raises :class:`PermissionError` for a role with no record-level access (admin, partner,
        service). The dashboard and the record-level commands both use it.
        """
        if Permission.record not in GRANTS[self.role]:
            raise PermissionError(f"role {self.role} has no record-level access")
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


#: How hard a new password must be to guess (zxcvbn's estimate, log10 of guesses: 10 is its
#: "very unguessable" score 4). zxcvbn's estimate checks the password against its shipped lists
#: of common passwords, words and names, keyboard patterns, dates and repeats.
MIN_GUESSES_LOG10 = 10.0


def check_new_password(password: str, username: str | None = None) -> None:
    """Refuse a password that is short, blank or easy to guess (NCSC: length and a deny-list,
    not composition rules)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.strip()) < MIN_PASSWORD_LENGTH or len(set(password)) < 4:
        raise AuthError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters that are not "
            "spaces, and more than a few different ones"
        )
    from zxcvbn import zxcvbn

    found = zxcvbn(password[:100], user_inputs=[username] if username else [])
    if found["guesses_log10"] < MIN_GUESSES_LOG10:
        warning = found["feedback"].get("warning") or "it follows a common pattern"
        raise AuthError(
            f"the password is too easy to guess ({warning.rstrip('.').lower()}); use three or "
            "four random words, or a password manager"
        )


def add_user(
    ops: OpsStore,
    username: str,
    role: Role,
    password: str,
    *,
    now: datetime,
    area: str | None = None,
    district: str | None = None,
    unit: str | None = None,
    officer_id: str | None = None,
    agency: str | None = None,
) -> User:
    """Create an account. Supervisors need a unit; officers need an officer id; a partner may be
    tied to the body they work for (``agency``: one of :func:`agencies`); an auditor must be, to
    one of the agencies that audit (:data:`vcop.qa.audits.AUDIT_AGENCIES`)."""
    from vcop.qa.audits import AUDIT_AGENCIES

    if not username or not all(ch.isalnum() or ch in "-_." for ch in username):
        raise AuthError("a user name may use only letters, digits, '-', '_' and '.'")
    check_new_password(password, username)
    if role is Role.supervisor and not unit:
        raise AuthError("a supervisor needs --unit (the unit whose victims they may see)")
    if role is Role.officer and not officer_id:
        raise AuthError("an officer needs --officer-id (their pseudonymous officer id)")
    if role not in (Role.supervisor,) and (area or district or unit):
        raise AuthError("--area, --district and --unit are for supervisors only")
    if role is not Role.officer and officer_id:
        raise AuthError("--officer-id is for officers only")
    if agency is not None and role not in (Role.partner, Role.auditor):
        raise AuthError("--agency is for partners and auditors only")
    if role is Role.auditor and agency not in AUDIT_AGENCIES:
        raise AuthError(
            f"an auditor needs --agency, the agency whose audit panel they sit on: one of "
            f"{', '.join(AUDIT_AGENCIES)}"
        )
    if agency is not None and agency not in agencies():
        raise AuthError(f"unknown agency {agency!r}: one of {', '.join(agencies())}")
    if ops.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise AuthError(f"user {username!r} already exists")
    ops.execute(
        "INSERT INTO users (username, role, password_hash, area, district, unit, officer_id, "
        "disabled, created_at, agency) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [username, role.value, hash_password(password), area, district, unit, officer_id, now,
         agency],
    )  # fmt: skip
    return User(username, role, area, district, unit, officer_id, agency=agency)


#: The account `vcop demo` makes so a newcomer can sign in to the demo force.
DEMO_ACCOUNT = "demo-analyst"


def ensure_demo_account(ops: OpsStore, *, now: datetime) -> str | None:
    """Add the ``demo-analyst`` account with a new random password, if it does not exist.

    Returns the password — to be shown once and never stored except as its argon2 hash — or None
    when the account already exists (its password is unchanged; `vcop users` manages it).
    """
    if ops.scalar("SELECT 1 FROM users WHERE username = ?", [DEMO_ACCOUNT]):
        return None
    password = secrets.token_urlsafe(15)
    add_user(ops, DEMO_ACCOUNT, Role.analyst, password, now=now)
    return password


#: What :func:`list_users` returns of each account, in order (never its password hash).
USER_COLUMNS = (
    "username",
    "role",
    "area",
    "district",
    "unit",
    "officer_id",
    "disabled",
    "created_at",
    "disabled_at",
    "agency",
)


def list_users(ops: OpsStore) -> list[tuple[object, ...]]:
    """Every account, by name, as :data:`USER_COLUMNS`."""
    rows = ops.query(f"SELECT {', '.join(USER_COLUMNS)} FROM users ORDER BY username").rows
    return [(*r[:6], bool(r[6]), timestamp(r[7]), timestamp(r[8]), r[9]) for r in rows]


def disable_user(ops: OpsStore, username: str, *, now: datetime) -> None:
    """Disable an account and end its sessions. Accounts are never deleted (the log names them)."""
    if not ops.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise AuthError(f"no user {username!r}")
    with ops.transaction() as tx:
        tx.execute(
            "UPDATE users SET disabled = 1, disabled_at = ? WHERE username = ? AND NOT disabled",
            with_value([now, username]),
        )
        tx.execute("DELETE FROM sessions WHERE username = ?", [username])


def set_password(ops: OpsStore, username: str, password: str, *, now: datetime) -> None:
    """Give an account a new password and end its sessions."""
    check_new_password(password, username)
    if not ops.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise AuthError(f"no user {username!r}")
    with ops.transaction() as tx:
        tx.execute(
            "UPDATE users SET password_hash = ? WHERE username = ?",
            [hash_password(password), username],
        )
        tx.execute("DELETE FROM sessions WHERE username = ?", [username])


def _row_user(row: tuple[object, ...]) -> User:
    username, role, area, district, unit, officer_id, disabled, agency = row
    return User(
        str(username),
        Role(str(role)),
        area if isinstance(area, str) else None,
        district if isinstance(district, str) else None,
        unit if isinstance(unit, str) else None,
        officer_id if isinstance(officer_id, str) else None,
        bool(disabled),
        agency if isinstance(agency, str) else None,
    )


# -- second factor (TOTP) ---------------------------------------------------------------------

#: The roles that may add an authenticator app as a second factor (those that see most).
TOTP_ROLES = (Role.admin, Role.analyst)


def totp_matches(secret: str, code: str) -> bool:
    """Whether ``code`` is the authenticator's current code (or the one either side of it)."""
    import pyotp

    code = "".join(code.split())
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def enable_totp(ops: OpsStore, username: str) -> tuple[str, str]:
    """Give an admin's or analyst's account a new TOTP secret; returns the secret and the
    ``otpauth://`` address an authenticator app reads (shown once, as a QR code or text)."""
    import pyotp

    row = ops.query("SELECT role FROM users WHERE username = ?", [username]).rows
    if not row:
        raise AuthError(f"no user {username!r}")
    if Role(str(row[0][0])) not in TOTP_ROLES:
        roles = " and ".join(r.value + "s" for r in TOTP_ROLES)
        raise AuthError(f"only {roles} may add a second factor")
    secret = pyotp.random_base32()
    with ops.transaction() as tx:
        tx.execute("UPDATE users SET totp_secret = ? WHERE username = ?", [secret, username])
        tx.execute("DELETE FROM sessions WHERE username = ?", [username])
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="vcop")
    return secret, uri


def disable_totp(ops: OpsStore, username: str) -> None:
    """Remove an account's second factor (e.g. a lost phone) and end its sessions."""
    if not ops.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise AuthError(f"no user {username!r}")
    with ops.transaction() as tx:
        tx.execute("UPDATE users SET totp_secret = NULL WHERE username = ?", [username])
        tx.execute("DELETE FROM sessions WHERE username = ?", [username])


# -- sign-in throttling ------------------------------------------------------------------------

#: After this many failed sign-ins within :data:`THROTTLE_WINDOW`, for one account or from one
#: address, further attempts are refused (429) until the oldest failure is that old.
MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)


class Throttle:
    """Failed sign-ins per account and per address, in the operational store (so every server
    process and a restart see the same count)."""

    def __init__(self, ops: OpsStore) -> None:
        self.ops = ops

    def wait(self, username: str, address: str, now: datetime) -> timedelta | None:
        """How long ``username`` from ``address`` must wait before trying again (None: no wait)."""
        since = now - THROTTLE_WINDOW
        longest: timedelta | None = None
        for column, value in (("username", username), ("address", address)):
            rows = self.ops.query(
                f"SELECT failed_at FROM sign_in_failures WHERE {column} = ? AND failed_at >= ? "
                "ORDER BY failed_at DESC LIMIT ?",
                [value, since, MAX_FAILURES],
            ).rows
            if len(rows) >= MAX_FAILURES:
                oldest = timestamp(rows[-1][0])
                assert oldest is not None
                wait = oldest + THROTTLE_WINDOW - now
                longest = wait if longest is None else max(longest, wait)
        return longest if longest and longest > timedelta(0) else None

    def failed(self, username: str, address: str, now: datetime) -> None:
        with self.ops.transaction() as tx:
            tx.execute(
                "INSERT INTO sign_in_failures (failed_at, username, address) VALUES (?, ?, ?)",
                with_value([now, username, address]),
            )
            tx.execute(  # keep a day: enough to see an attack, not a record of every typo
                "DELETE FROM sign_in_failures WHERE failed_at < ?",
                with_value([now - timedelta(days=1)]),
            )

    def succeeded(self, username: str) -> None:
        self.ops.execute("DELETE FROM sign_in_failures WHERE username = ?", [username])


# -- sessions -------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    """The CSRF token of the session whose secret is ``token``."""
    return hmac.new(token.encode(), b"vcop-csrf", hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)


class Reasons:
    """The reasons a person gave in one session for opening records (victim id -> reason), kept
    in the operational store so that whichever process of the server answers the next request
    knows them; they end with the session."""

    def __init__(self, ops: OpsStore, session_key: str) -> None:
        self.ops = ops
        self.session_key = session_key

    def get(self, key: str) -> str | None:
        value = self.ops.scalar(
            "SELECT reason FROM session_reasons WHERE session_hash = ? AND victim_id = ?",
            [self.session_key, key],
        )
        return None if value is None else str(value)

    def __setitem__(self, key: str, reason: str) -> None:
        self.ops.execute(
            "INSERT INTO session_reasons (session_hash, victim_id, reason) VALUES (?, ?, ?) "
            "ON CONFLICT (session_hash, victim_id) DO UPDATE SET reason = excluded.reason",
            [self.session_key, key, reason],
        )


@dataclass
class Session:
    """A signed-in user's session, as the server holds it for one request."""

    key: str  # the SHA-256 of the cookie's token
    user: User
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf: str
    #: victim_id -> the reason the user gave for opening that victim's records in this session.
    reasons: Reasons

    @property
    def short(self) -> str:
        """A short, non-secret label for the session, for the access log."""
        return self.key[:12]


class Sessions:
    """Sessions, in the operational store's ``sessions``.

    Every request reads its session and account there (one indexed lookup): an account disabled,
    a password changed or a sign-out, by ``vcop users`` or by another process of the server, ends
    the session at once, and any process may answer any request. The last-seen time is written
    back at most every :data:`TOUCH_EVERY`; this process also remembers the last request it
    answered of each session, so a session it serves alone is judged idle to the second.
    """

    def __init__(
        self, ops: OpsStore, *, idle_timeout: timedelta = IDLE_TIMEOUT, max_age: timedelta = MAX_AGE
    ) -> None:
        self.ops = ops
        self.idle_timeout = idle_timeout
        self.max_age = max_age
        #: session key -> the last request this process answered of it.
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def authenticate(self, username: str, password: str, code: str = "") -> User | None:
        """The account, if the password (and, for an account with a second factor, the code
        from its authenticator app) is right and it is not disabled; else None."""
        row = self.ops.query(
            "SELECT username, role, area, district, unit, officer_id, disabled, agency, "
            "password_hash, totp_secret FROM users WHERE username = ?",
            [username],
        ).rows
        if not row:
            verify_password(_dummy_hash(), password)
            return None
        *fields, password_hash, totp_secret = row[0]
        user = _row_user(tuple(fields))
        if not verify_password(str(password_hash), password) or user.disabled:
            return None
        if totp_secret and not totp_matches(str(totp_secret), code):
            return None
        return user

    def start(self, user: User, now: datetime) -> tuple[str, Session]:
        """A new session for ``user``: returns the cookie's token and the session."""
        token = secrets.token_urlsafe(32)
        key = token_hash(token)
        session = Session(
            key, user, now, now, now + self.max_age, csrf_for(token), Reasons(self.ops, key)
        )
        self.ops.execute(
            "INSERT INTO sessions (session_hash, username, created_at, last_seen_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [key, user.username, now, now, session.expires_at],
        )
        with self._lock:
            self._seen[key] = now
            for gone in [k for k, seen in self._seen.items() if seen < now - self.max_age]:
                del self._seen[gone]  # sessions left to expire: none can be younger
        return token, session

    def get(self, token: str | None, now: datetime) -> Session | None:
        """The live session for a cookie's token, or None if there is none or it has expired."""
        if not token:
            return None
        key = token_hash(token)
        session = self._load(key, token)
        if session is None:
            with self._lock:
                self._seen.pop(key, None)
            return None
        written = session.last_seen_at
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and seen > session.last_seen_at:
            session.last_seen_at = seen
        if now >= session.expires_at or now - session.last_seen_at >= self.idle_timeout:
            self.end(token)
            return None
        session.last_seen_at = now
        with self._lock:
            self._seen[key] = now
        if now - written >= TOUCH_EVERY:
            self.ops.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE session_hash = ?", [now, key]
            )
        return session

    def _load(self, key: str, token: str) -> Session | None:
        rows = self.ops.query(
            "SELECT u.username, u.role, u.area, u.district, u.unit, u.officer_id, u.disabled, "
            "u.agency, s.created_at, s.last_seen_at, s.expires_at FROM sessions s "
            "JOIN users u USING (username) WHERE s.session_hash = ?",
            [key],
        ).rows
        if not rows:
            return None
        *fields, created_at, last_seen_at, expires_at = rows[0]
        user = _row_user(tuple(fields))
        if user.disabled:
            return None
        created, last_seen, expires = (
            timestamp(created_at),
            timestamp(last_seen_at),
            timestamp(expires_at),
        )
        assert created is not None and last_seen is not None and expires is not None
        return Session(
            key, user, created, last_seen, expires, csrf_for(token), Reasons(self.ops, key)
        )

    def end(self, token: str | None) -> None:
        if not token:
            return
        key = token_hash(token)
        with self._lock:
            self._seen.pop(key, None)
        self.ops.execute("DELETE FROM sessions WHERE session_hash = ?", [key])
