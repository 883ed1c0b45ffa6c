"""The access log: who consulted which victims' and crimes' records, when, and why — tamper-evident.

Part 3 of the Data Protection Act 2018 (s.62) requires a log of every consultation and disclosure
of personal data processed for law-enforcement purposes, with its justification, date and time
and the identity of the person. vcop writes one entry per record-level page view, export or
command, with the victims and crimes it showed in ``access_records`` (one row per id; an entry's
``records`` says how many).

Entries are only ever appended. Each carries ``entry_hash``, the SHA-256 of the previous entry's
hash and its own content (records included), so editing, inserting or deleting an entry breaks the
chain at that point: :func:`verify` (``vcop access-log verify``) recomputes it and reports every
break, and prints the head hash, which a data protection officer can note down to detect a later
truncation of the newest entries.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vcop.store.ops import OpsStore, timestamp, with_value

#: The hash the first entry chains to.
GENESIS = "0" * 64

#: The columns of ``access_log``, in order, as :func:`entries` returns them.
COLUMNS = (
    "access_id",
    "accessed_at",
    "username",
    "role",
    "channel",
    "action",
    "victim_id",
    "crime_id",
    "reason",
    "detail",
    "session",
    "os_user",
    "records",
)

#: A (victim_id, crime_id) pair an entry showed; either may be None.
Record = tuple[str | None, str | None]


@dataclass(frozen=True)
class Access:
    """One consultation of records, as logged."""

    at: datetime
    username: str
    role: str
    action: str
    victim_id: str | None = None
    crime_id: str | None = None
    reason: str | None = None
    detail: str | None = None
    session: str | None = None
    channel: str = "web"
    #: The operating-system user who ran the command (commands only; the server's is implied).
    os_user: str | None = None
    #: Every (victim, crime) the consultation showed, beyond ``victim_id``/``crime_id``.
    records: Sequence[Record] = field(default_factory=tuple)


def os_user() -> str:
    """The operating-system account running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (e.g. a container)
        import os

        return f"uid {os.getuid()}"


def _records_digest(records: Iterable[Record]) -> str:
    digest = hashlib.sha256()
    for victim_id, crime_id in records:
        digest.update(f"{victim_id or ''}\t{crime_id or ''}\n".encode())
    return digest.hexdigest()


def entry_hash(prev_hash: str, row: Sequence[object], records: Iterable[Record]) -> str:
    """The hash of one entry: its predecessor's hash, its columns and its records."""
    payload = json.dumps(
        [prev_hash, [None if v is None else str(v) for v in row], _records_digest(records)],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def append(ops: OpsStore, access: Access) -> int:
    """Append one entry (and its records) in one ``BEGIN IMMEDIATE`` transaction; its id."""
    records = list(dict.fromkeys(access.records))
    with ops.transaction() as tx:
        last = tx.execute(
            "SELECT access_id, entry_hash FROM access_log ORDER BY access_id DESC LIMIT 1"
        ).fetchone()
        access_id = (last[0] + 1) if last else 1
        prev = last[1] if last else GENESIS
        row = with_value(
            [
                access_id,
                access.at,
                access.username,
                access.role,
                access.channel,
                access.action,
                access.victim_id,
                access.crime_id,
                access.reason,
                access.detail,
                access.session,
                access.os_user,
                len(records),
            ]
        )
        digest = entry_hash(prev, row, records)
        tx.execute(
            f"INSERT INTO access_log ({', '.join(COLUMNS)}, prev_hash, entry_hash) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)}, ?, ?)",
            [*row, prev, digest],
        )
        tx.executemany(
            "INSERT INTO access_records (access_id, victim_id, crime_id) VALUES (?, ?, ?)",
            [(access_id, v, c) for v, c in records],
        )
    return access_id


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found."""

    entries: int
    #: (access_id, what is wrong) for every entry whose chain does not hold.
    breaks: list[tuple[int, str]]
    #: The newest entry's hash (note it down: a later verify must reach the same head).
    head: str

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(ops: OpsStore, noted_head: str | None = None) -> Verification:
    """Recompute the chain over every entry; report each entry that does not follow, and — given
    a head hash noted down at an earlier verify — whether the chain still passes through it (if
    not, entries up to it were removed or rewritten since)."""
    con = ops.connection()
    records: dict[int, list[Record]] = {}
    for access_id, victim_id, crime_id in con.execute(
        "SELECT access_id, victim_id, crime_id FROM access_records ORDER BY rowid"
    ):
        records.setdefault(int(access_id), []).append((victim_id, crime_id))
    prev = GENESIS
    expected_id = 1
    breaks: list[tuple[int, str]] = []
    count = 0
    cursor = con.execute(
        f"SELECT {', '.join(COLUMNS)}, prev_hash, entry_hash FROM access_log ORDER BY access_id"
    )
    for *row, stored_prev, stored_hash in cursor:
        count += 1
        access_id = int(row[0])
        if access_id != expected_id:
            breaks.append((access_id, f"entries {expected_id}–{access_id - 1} are missing"))
        if stored_prev != prev:
            breaks.append((access_id, "does not chain to the entry before it"))
        mine = records.get(access_id, [])
        if len(mine) != int(row[-1]):
            breaks.append((access_id, f"holds {len(mine)} record(s) but says {row[-1]}"))
        if entry_hash(stored_prev, row, mine) != stored_hash:
            breaks.append(
                (access_id, "its content does not match its hash (changed after writing)")
            )
        prev = stored_hash
        expected_id = access_id + 1
        if noted_head is not None and stored_hash == noted_head:
            noted_head = None  # reached
    if noted_head is not None:
        breaks.append(
            (expected_id, f"the noted head {noted_head[:12]}… is no longer in the chain: entries "
             "up to it were removed or rewritten since it was noted")
        )  # fmt: skip
    return Verification(count, breaks, prev)


def _where(
    start: datetime | None,
    end: datetime | None,
    username: str | None,
    victim_id: str | None,
    action: str | None,
) -> tuple[str, list[object]]:
    conds: list[str] = []
    params: list[object] = []
    if start is not None:
        conds.append("accessed_at >= ?")
        params.append(start)
    if end is not None:
        conds.append("accessed_at < ?")
        params.append(end)
    if username:
        conds.append("username = ?")
        params.append(username)
    if action:
        conds.append("action = ?")
        params.append(action)
    if victim_id:
        conds.append(
            "(victim_id = ? OR access_id IN "
            "(SELECT access_id FROM access_records WHERE victim_id = ?))"
        )
        params += [victim_id, victim_id]
    return (f"WHERE {' AND '.join(conds)}" if conds else ""), params


def entries(
    ops: OpsStore,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    username: str | None = None,
    victim_id: str | None = None,
    action: str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[dict[str, object]]:
    """Entries (with ``accessed_at`` as a datetime) from ``start`` up to ``end``, of one user or
    action, or naming one victim (as its victim or among its records); newest first if asked."""
    where, params = _where(start, end, username, victim_id, action)
    order = "DESC" if newest_first else "ASC"
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = ops.query(
        f"SELECT {', '.join(COLUMNS)}, entry_hash FROM access_log {where} "
        f"ORDER BY access_id {order}{tail}",
        params,
    ).dicts()
    for row in rows:
        row["accessed_at"] = timestamp(row["accessed_at"])
    return rows


def count(
    ops: OpsStore,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    username: str | None = None,
    victim_id: str | None = None,
    action: str | None = None,
) -> int:
    """How many entries :func:`entries` would return with these filters and no limit."""
    where, params = _where(start, end, username, victim_id, action)
    return int(ops.scalar(f"SELECT count(*) FROM access_log {where}", params) or 0)


def records_of(ops: OpsStore, access_ids: Iterable[int]) -> dict[int, list[Record]]:
    """The records each of ``access_ids`` showed."""
    ids = list(access_ids)
    out: dict[int, list[Record]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = ops.query(
            "SELECT access_id, victim_id, crime_id FROM access_records WHERE access_id IN "
            f"({', '.join('?' for _ in chunk)}) ORDER BY rowid",
            chunk,
        ).rows
        for access_id, victim_id, crime_id in rows:
            out[int(access_id)].append((victim_id, crime_id))
    return out
