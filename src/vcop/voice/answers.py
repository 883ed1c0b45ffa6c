"""A link looked up, guessing limited, an answer stored once, and answers copied into the build.

A link is *open* (not used, not expired), *used*, *expired* or *unknown*. Each unknown token a
client address tries is counted (``survey_link_misses``, kept a day); past :data:`MAX_MISSES` in
:data:`MISS_WINDOW` that address gets 429 for every link, known or not, until the window passes,
so answering 429 tells a guesser nothing. Timestamps are the wall clock's (DECISIONS: the clock).

An answer is stored in the same ``BEGIN IMMEDIATE`` transaction that marks its link used, so two
posts of one link store one answer. The comment is scrubbed by :func:`vcop.privacy.scrub` before
it is stored: no phone number, email address, postcode or street address reaches a record.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import duckdb

from vcop.privacy import scrub
from vcop.store.ops import OpsStore, timestamp, with_value
from vcop.voice.invitations import token_hash
from vcop.voice.questions import ANSWER_COLUMNS

#: Unknown links one client address may try within :data:`MISS_WINDOW`.
MAX_MISSES = 10
MISS_WINDOW = timedelta(minutes=15)


class LinkState(StrEnum):
    open = "open"
    used = "used"
    expired = "expired"
    unknown = "unknown"


@dataclass(frozen=True)
class Link:
    state: LinkState
    token_hash: str
    victim_id: str | None = None
    crime_id: str | None = None
    expires_at: datetime | None = None


def look_up(ops: OpsStore, token: str, now: datetime) -> Link:
    """What the link with ``token`` is, as of ``now``."""
    digest = token_hash(token)
    rows = ops.query(
        "SELECT victim_id, crime_id, expires_at, used_at FROM survey_invitations "
        "WHERE token_hash = ?",
        [digest],
    ).rows
    if not rows:
        return Link(LinkState.unknown, digest)
    victim_id, crime_id, expires_at, used_at = rows[0]
    expires = timestamp(expires_at)
    assert expires is not None
    if used_at is not None:
        state = LinkState.used
    elif expires <= now:
        state = LinkState.expired
    else:
        state = LinkState.open
    return Link(state, digest, str(victim_id), str(crime_id), expires)


class Guesses:
    """Unknown links tried per client address, in the operational store (every server process
    and a restart see the same count)."""

    def __init__(self, ops: OpsStore) -> None:
        self.ops = ops

    def wait(self, address: str, now: datetime) -> timedelta | None:
        """How long ``address`` must wait before trying any link (None: no wait)."""
        rows = self.ops.query(
            "SELECT missed_at FROM survey_link_misses WHERE address = ? AND missed_at >= ? "
            "ORDER BY missed_at DESC LIMIT ?",
            [address, now - MISS_WINDOW, MAX_MISSES],
        ).rows
        if len(rows) < MAX_MISSES:
            return None
        oldest = timestamp(rows[-1][0])
        assert oldest is not None
        wait = oldest + MISS_WINDOW - now
        return wait if wait > timedelta(0) else None

    def missed(self, address: str, now: datetime) -> None:
        with self.ops.transaction() as tx:
            tx.execute(
                "INSERT INTO survey_link_misses (missed_at, address) VALUES (?, ?)",
                with_value([now, address]),
            )
            tx.execute(  # keep a day: enough to see an attack, not a record of every visitor
                "DELETE FROM survey_link_misses WHERE missed_at < ?",
                with_value([now - timedelta(days=1)]),
            )


def store_answer(
    ops: OpsStore,
    link: Link,
    answers: Mapping[str, int | str | None],
    now: datetime,
    officer: Callable[[str], tuple[str | None, str | None]] = lambda _: (None, None),
) -> str | None:
    """Store ``answers`` (by column of :data:`ANSWER_COLUMNS`) for the open ``link`` and mark it
    used; the new response id, or None when the link was used or expired meanwhile. ``officer``
    gives the officer in charge of a crime, and its unit, now."""
    comment = answers.get("comment")
    clean = scrub(comment).text.strip() if isinstance(comment, str) else None
    values = {**answers, "comment": clean or None}
    officer_id, unit = officer(str(link.crime_id))
    response_id = f"VV-{secrets.token_hex(8).upper()}"
    columns = ["response_id", "token_hash", "victim_id", "crime_id", "answered_at", "officer_id",
               "unit", *ANSWER_COLUMNS]  # fmt: skip
    row = [response_id, link.token_hash, link.victim_id, link.crime_id, now, officer_id, unit,
           *(values.get(c) for c in ANSWER_COLUMNS)]  # fmt: skip
    with ops.transaction() as tx:
        taken = tx.execute(
            "UPDATE survey_invitations SET used_at = ? "
            "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
            with_value([now, link.token_hash, now]),
        ).rowcount
        if not taken:
            return None
        tx.execute(
            f"INSERT INTO survey_answers ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            with_value(row),
        )
    return response_id


def copy_into_build(
    con: duckdb.DuckDBPyConnection, ops: OpsStore, say: Callable[[str], None] = lambda _: None
) -> int:
    """Copy every stored answer into the build's ``survey_responses`` (``survey`` =
    ``victim_voice``), replacing any earlier copy; returns how many rows the build now holds.

    The crime's type, area and district come from the build; the officer in charge and the unit
    are those when the victim answered. Answers of an erased victim, or about a crime no longer
    in the build (erased, or past retention), are not copied.
    """
    from vcop.ingest.load import row_hash_sql
    from vcop.retention import erased_victims
    from vcop.spec.schema import load_schema

    columns = ["response_id", "victim_id", "crime_id", "answered_at", "officer_id", "unit",
               *ANSWER_COLUMNS]  # fmt: skip
    erased = set(erased_victims(ops))
    rows = [r for r in ops.query(f"SELECT {', '.join(columns)} FROM survey_answers").rows
            if r[1] not in erased]  # fmt: skip
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _voice_answers (response_id VARCHAR, victim_id VARCHAR, "
        "crime_id VARCHAR, answered_at TIMESTAMP, officer_id VARCHAR, unit VARCHAR, "
        + ", ".join(
            f"{c} {'VARCHAR' if c in ('confidence_to_report', 'comment') else 'TINYINT'}"
            for c in ANSWER_COLUMNS
        )
        + ")"
    )
    if rows:
        con.executemany(
            f"INSERT INTO _voice_answers VALUES ({', '.join('?' for _ in columns)})",
            [list(r) for r in rows],
        )
    table = load_schema().table("survey_responses")
    con.execute(
        "DELETE FROM survey_responses WHERE survey = 'victim_voice' AND response_id IN "
        "(SELECT response_id FROM _voice_answers)"
    )
    answer_cols = ", ".join(ANSWER_COLUMNS)
    con.execute(
        f"""
        INSERT INTO survey_responses (response_id, survey, surveyed_at, crime_id, crime_type,
            area, district, victim_id, officer_id, unit, {answer_cols})
        SELECT a.response_id, 'victim_voice', a.answered_at, a.crime_id, c.crime_type, c.area,
            c.district, a.victim_id, a.officer_id, a.unit,
            {", ".join("a." + col for col in ANSWER_COLUMNS)}
        FROM _voice_answers a JOIN crimes c USING (crime_id)
        """
    )
    con.execute(
        f"UPDATE survey_responses SET row_hash = {row_hash_sql(table)} "
        "WHERE survey = 'victim_voice' AND response_id IN (SELECT response_id FROM _voice_answers)"
    )
    copied = int(
        con.execute(
            "SELECT count(*) FROM survey_responses WHERE survey = 'victim_voice' "
            "AND response_id IN (SELECT response_id FROM _voice_answers)"
        ).fetchall()[0][0]
    )
    con.execute("DROP TABLE _voice_answers")
    if rows:
        say(f"copied {copied:,} Victim Voice answer(s) into survey_responses")
    return copied


def forget_victim(ops: OpsStore, victim_id: str) -> int:
    """Remove a victim's invitations and answers from the operational store (``vcop erase``);
    returns how many rows went."""
    with ops.transaction() as tx:
        answers = tx.execute("DELETE FROM survey_answers WHERE victim_id = ?", [victim_id])
        gone = answers.rowcount
        invitations = tx.execute("DELETE FROM survey_invitations WHERE victim_id = ?", [victim_id])
        return gone + invitations.rowcount


def forget_crimes(ops: OpsStore, crime_ids: Sequence[str]) -> int:
    """Remove the invitations and answers about crimes retention removed from the build
    (``vcop retention apply``); returns how many rows went."""
    gone = 0
    with ops.transaction() as tx:
        for start in range(0, len(crime_ids), 500):
            chunk = list(crime_ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            for table in ("survey_answers", "survey_invitations"):  # answers first: they refer
                cur = tx.execute(f"DELETE FROM {table} WHERE crime_id IN ({marks})", chunk)
                gone += cur.rowcount
    return gone
