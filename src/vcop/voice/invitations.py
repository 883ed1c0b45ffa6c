"""Who is due a Victim Voice questionnaire, and the one-time links that invite them.

A victim of a crime is due when (setting ``survey.invite_when``) the crime reached
``survey.invite_after_months`` calendar months since it was reported (DECISIONS: "two months"
counts from ``reported_at``), or was finalised (given an outcome), or either, on a day within
``survey.invite_within_days`` before the as-of date; and they did not opt out of contact (``updates_opt_out``), the force has not flagged them unsafe
to contact (``unsafe_to_contact``), and they were never invited for that crime before.

Children are never invited: a victim under 18 when the crime was reported (``age_at_report``), or
whose age is not recorded (they may be a child), is left out. A child's questionnaire would go to
a parent or guardian, and that is the force's own process, not a link sent to the child.

Each invitation carries a random token (:func:`secrets.token_urlsafe`, 256 bits) that is written
only into the link; the operational store keeps its SHA-256, so neither a copy of the store nor
its backups can be turned back into a working link. A link works once, until it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from vcop.config import INVITE_WHEN
from vcop.store.ops import OpsStore, with_value

#: The bytes of randomness in a link's token (43 URL-safe characters).
TOKEN_BYTES = 32
#: The youngest age (at the crime's report) invited; a child's questionnaire goes to a parent or
#: guardian by the force's own process.
ADULT_AGE = 18
#: Why a victim otherwise due is not invited (the keys of ``due``'s ``left_out``).
UNDER_18 = "under 18"
AGE_NOT_RECORDED = "age not recorded"


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def link(base_url: str, token: str) -> str:
    """``{public_base_url}/voice/{token}``."""
    return f"{base_url.rstrip('/')}/voice/{token}"


@dataclass(frozen=True)
class Due:
    """A victim of a crime due a questionnaire, and why."""

    victim_id: str
    crime_id: str
    reason: str  # "reached" or "finalised"


@dataclass(frozen=True)
class Invitation:
    victim_id: str
    crime_id: str
    url: str
    expires_at: datetime


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ? "
            "AND schema_name = 'main'",
            [table, column],
        ).fetchall()[0][0]
    )


def due(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    *,
    after_months: int = 2,
    when: str = "reached_or_finalised",
    within_days: int = 31,
    invited: Iterable[tuple[str, str]] = (),
    scope: tuple[str, list[object]] = ("TRUE", []),
    left_out: Counter[str] | None = None,
) -> list[Due]:
    """The victims of crimes in build ``con`` due a questionnaire on ``as_of``.

    A victim becomes due on the day their crime reached ``after_months`` since it was reported,
    or the day it was finalised (its ``outcome_at``), or the first of the two (``when``); they
    are chosen when that day falls in the ``within_days`` days up to ``as_of``, so a first run
    does not invite the victims of crimes long past, and a run missed by a few days loses no one
    (a victim is never invited twice for a crime). ``invited`` are the (victim, crime) pairs
    invited before; ``scope`` a condition on ``crimes`` as ``c`` (the crimes the reader may see
    records of). A crime reported after ``as_of`` is never due.

    A victim under :data:`ADULT_AGE` when the crime was reported, or whose age is not recorded,
    is never chosen; ``left_out`` (when given) counts those who would otherwise have been, by
    :data:`UNDER_18` and :data:`AGE_NOT_RECORDED`.
    """
    if when not in INVITE_WHEN:
        raise ValueError(f"when must be one of {', '.join(INVITE_WHEN)}, not {when!r}")
    unsafe = (
        "coalesce(v.unsafe_to_contact, false) = false"
        if _has_column(con, "victims", "unsafe_to_contact")
        else "TRUE"  # a build older than the flag: no victim can carry it
    )
    where, params = scope
    rows = con.execute(
        f"""
        SELECT v.victim_id, v.crime_id,
               CAST(CAST(c.reported_at AS DATE) + to_months(?) AS DATE) AS reached,
               CASE WHEN c.outcome_code IS NOT NULL THEN CAST(c.outcome_at AS DATE) END
                 AS finalised,
               v.age_at_report
        FROM victims v JOIN crimes c USING (crime_id)
        WHERE CAST(c.reported_at AS DATE) <= ?
          AND coalesce(v.updates_opt_out, false) = false
          AND {unsafe}
          AND ({where})
        ORDER BY v.crime_id, v.victim_id
        """,
        [after_months, as_of, *params],
    ).fetchall()
    before = set(invited)
    first = as_of - timedelta(days=within_days)
    out = []
    for victim_id, crime_id, reached, finalised, age in rows:
        if (str(victim_id), str(crime_id)) in before:
            continue
        days = {"reached": reached, "finalised": finalised}
        if when != "reached_or_finalised":
            days = {when: days[when]}
        known = sorted((day, why) for why, day in days.items() if day is not None)
        if not known:
            continue
        day, why = known[0]
        if not first < day <= as_of:
            continue
        if age is None or age < ADULT_AGE:
            if left_out is not None:
                left_out[AGE_NOT_RECORDED if age is None else UNDER_18] += 1
            continue
        out.append(Due(str(victim_id), str(crime_id), why))
    return out


def invited_pairs(ops: OpsStore) -> set[tuple[str, str]]:
    """Every (victim, crime) ever invited."""
    return {(str(v), str(c)) for v, c in ops.query(
        "SELECT victim_id, crime_id FROM survey_invitations").rows}  # fmt: skip


def issue(
    ops: OpsStore,
    chosen: Iterable[Due],
    *,
    as_of: date,
    now: datetime,
    days: int,
    base_url: str,
    username: str,
    write: Callable[[list[Invitation]], None] | None = None,
) -> list[Invitation]:
    """A new link for each of ``chosen``, its token's hash stored (one transaction: all or none).

    ``write`` is given the invitations before the transaction commits: when it fails (the file
    cannot be written) no invitation is stored, so no victim is left invited by a link no one
    has. A pair invited meanwhile (another run) is left out rather than invited twice.
    """
    expires = now + timedelta(days=days)
    made: list[tuple[str, Due]] = [(secrets.token_urlsafe(TOKEN_BYTES), d) for d in chosen]
    out = []
    with ops.transaction() as tx:
        for token, d in made:
            cur = tx.execute(
                "INSERT OR IGNORE INTO survey_invitations (token_hash, victim_id, crime_id, "
                "invited_at, as_of, expires_at, username) VALUES (?, ?, ?, ?, ?, ?, ?)",
                with_value([token_hash(token), d.victim_id, d.crime_id, now, as_of, expires,
                            username]),
            )  # fmt: skip
            if cur.rowcount:
                out.append(Invitation(d.victim_id, d.crime_id, link(base_url, token), expires))
        if write is not None:
            write(out)
    return out
