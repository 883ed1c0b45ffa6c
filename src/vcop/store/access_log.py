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

Entries are kept for ``retention.access_log_years`` (six years by default). :func:`prune` removes
the older ones as a prefix of the chain: it may first write them, with their records and hashes,
to an archive file (JSON lines) that :func:`verify_archive` checks on its own, and it records the
hash of the last entry it removed in ``access_log_prunes``, so the chain that remains still
verifies from that point and a removal that was not a recorded prune is still found.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

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
    """Append one entry (and its records), on disk when this returns (a durable commit: see
    :mod:`vcop.store.ops`); its id.

    Entries that threads of this process append at the same time are committed together, in one
    ``BEGIN IMMEDIATE`` transaction (a group commit): the first thread to find no commit under
    way writes every entry waiting, in the order they came, and the others wait for that commit
    rather than each taking the store's write lock, and the disk, in turn. Each still returns
    only once its own entry is on disk, and if the commit fails every entry in it fails."""
    return _committer(ops).append(access)


def append_many(ops: OpsStore, accesses: Sequence[Access]) -> list[int]:
    """Append entries in one durable ``BEGIN IMMEDIATE`` transaction, chained in their order:
    all of them or, on an error, none; their ids."""
    if not accesses:
        return []
    with ops.transaction(durable=True) as tx:
        last = tx.execute(
            "SELECT access_id, entry_hash FROM access_log ORDER BY access_id DESC LIMIT 1"
        ).fetchone()
        if last is None:  # empty: the first entry, or every entry was pruned
            pruned = tx.execute(
                "SELECT last_id, last_hash FROM access_log_prunes ORDER BY last_id DESC LIMIT 1"
            ).fetchone()
            last = pruned or (0, GENESIS)
        access_id, prev = int(last[0]), str(last[1])
        ids: list[int] = []
        entries: list[list[object]] = []
        records: list[tuple[int, str | None, str | None]] = []
        for access in accesses:
            access_id += 1
            mine = list(dict.fromkeys(access.records))
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
                    len(mine),
                ]
            )
            digest = entry_hash(prev, row, mine)
            entries.append([*row, prev, digest])
            records += [(access_id, v, c) for v, c in mine]
            ids.append(access_id)
            prev = digest
        # one statement for each table (not a statement per row): on a busy server each
        # statement is a wait for the interpreter's lock, with the store's write lock held
        width = len(COLUMNS) + 2
        _insert_rows(tx, f"access_log ({', '.join(COLUMNS)}, prev_hash, entry_hash)", width,
                     entries)  # fmt: skip
        _insert_rows(tx, "access_records (access_id, victim_id, crime_id)", 3, records)
    return ids


#: Values in one INSERT statement, well under SQLite's limit of bound parameters (32,766).
_VALUES_PER_STATEMENT = 30_000


def _insert_rows(
    tx: sqlite3.Connection, into: str, width: int, rows: Sequence[Sequence[object]]
) -> None:
    step = _VALUES_PER_STATEMENT // width
    one = "(" + ", ".join("?" for _ in range(width)) + ")"
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        tx.execute(
            f"INSERT INTO {into} VALUES {', '.join(one for _ in chunk)}",  # nosec B608: no values
            [value for row in chunk for value in row],
        )


class _Committer:
    """The group commit of one store's access-log entries, within a process (see :func:`append`)."""

    def __init__(self, ops: OpsStore) -> None:
        self.ops = ops
        self._turn = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._writing = False

    def append(self, access: Access) -> int:
        mine = _Waiting(access)
        batch: list[_Waiting] = []  # what this thread commits, if it is the one to
        with self._turn:
            self._waiting.append(mine)
            while self._writing and not mine.done:
                self._turn.wait()
            if not mine.done:  # no commit under way: this thread writes what is waiting
                batch, self._waiting = self._waiting, []
                self._writing = True
        if batch:
            error: BaseException | None = None
            ids: list[int] = []
            try:
                ids = append_many(self.ops, [w.access for w in batch])
            except BaseException as exc:  # every entry of the commit fails with it
                error = exc
            with self._turn:
                for i, waiting in enumerate(batch):
                    waiting.done = True
                    waiting.error = error
                    waiting.access_id = ids[i] if error is None else None
                self._writing = False
                self._turn.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.access_id is not None
        return mine.access_id


@dataclass
class _Waiting:
    """One entry waiting for its commit, and what came of it."""

    access: Access
    done: bool = False
    access_id: int | None = None
    error: BaseException | None = None


_committers: weakref.WeakKeyDictionary[OpsStore, _Committer] = weakref.WeakKeyDictionary()
_committers_lock = threading.Lock()


def _committer(ops: OpsStore) -> _Committer:
    with _committers_lock:
        committer = _committers.get(ops)
        if committer is None:
            committer = _committers[ops] = _Committer(ops)
        return committer


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found."""

    entries: int
    #: (access_id, what is wrong) for every entry whose chain does not hold.
    breaks: list[tuple[int, str]]
    #: The newest entry's hash (note it down: a later verify must reach the same head).
    head: str
    #: The latest prune, where the chain that remains begins (None: nothing was pruned).
    pruned: Pruned | None = None

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
    start = last_prune(ops)  # entries up to it were pruned: the chain goes on from its hash
    prev = start.last_hash if start else GENESIS
    expected_id = start.last_id + 1 if start else 1
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
    return Verification(count, breaks, prev, start)


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


# -- pruning past retention ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pruned:
    """One prune of the access log: the entries ``first_id``..``last_id`` it removed (all those
    written before ``before``), the hash of the last of them, and the archive written first."""

    pruned_at: datetime
    before: datetime
    first_id: int
    last_id: int
    entries: int
    last_hash: str
    username: str
    archive: str | None = None
    archive_sha256: str | None = None


PRUNE_COLUMNS = (
    "pruned_at", "before", "first_id", "last_id", "entries", "last_hash", "username", "archive",
    "archive_sha256",
)  # fmt: skip


def last_prune(ops: OpsStore) -> Pruned | None:
    """The latest prune (the chain that remains begins after its ``last_id``), if any."""
    rows = ops.query(
        f"SELECT {', '.join(PRUNE_COLUMNS)} FROM access_log_prunes ORDER BY last_id DESC LIMIT 1"
    ).rows
    if not rows:
        return None
    row = rows[0]
    return Pruned(
        timestamp(row[0]) or datetime.min, timestamp(row[1]) or datetime.min, int(row[2]),
        int(row[3]), int(row[4]), str(row[5]), str(row[6]), row[7], row[8],
    )  # fmt: skip


def due_for_pruning(ops: OpsStore, before: datetime) -> tuple[int, int] | None:
    """The first and last ids of the entries a prune at ``before`` would remove: the longest run
    from the start of the chain written before ``before`` (an entry out of time order stops it,
    so what remains is always a whole chain), or None when there is none."""
    first = ops.scalar("SELECT min(access_id) FROM access_log")
    if first is None:
        return None
    stop = ops.scalar(
        "SELECT min(access_id) FROM access_log WHERE accessed_at >= ?", with_value([before])
    )
    last = (
        int(stop) - 1
        if stop is not None
        else int(ops.scalar("SELECT max(access_id) FROM access_log"))
    )
    return (int(first), last) if last >= int(first) else None


def prune(
    ops: OpsStore,
    before: datetime,
    *,
    username: str,
    archive: Path | None = None,
    now: datetime | None = None,
) -> Pruned | None:
    """Remove the entries written before ``before`` (see :func:`due_for_pruning`), with their
    records, in one ``BEGIN IMMEDIATE`` transaction; write them first to ``archive`` (JSON lines,
    made whole before anything is removed) if given. Returns the prune recorded, or None when
    nothing was due."""
    with ops.transaction() as tx:
        span = due_for_pruning(ops, before)
        if span is None:
            return None
        first, last = span
        rows = tx.execute(
            f"SELECT {', '.join(COLUMNS)}, prev_hash, entry_hash FROM access_log "
            "WHERE access_id BETWEEN ? AND ? ORDER BY access_id",
            [first, last],
        ).fetchall()
        digest = None
        if archive is not None:
            digest = _write_archive(archive, rows, records_of(ops, range(first, last + 1)))
        tx.execute("DELETE FROM access_records WHERE access_id BETWEEN ? AND ?", [first, last])
        tx.execute("DELETE FROM access_log WHERE access_id BETWEEN ? AND ?", [first, last])
        done = Pruned(
            pruned_at=now or datetime.now(), before=before, first_id=first, last_id=last,
            entries=len(rows), last_hash=str(rows[-1][-1]), username=username,
            archive=str(archive) if archive is not None else None, archive_sha256=digest,
        )  # fmt: skip
        tx.execute(
            f"INSERT INTO access_log_prunes ({', '.join(PRUNE_COLUMNS)}, os_user) "
            f"VALUES ({', '.join('?' for _ in PRUNE_COLUMNS)}, ?)",
            with_value([getattr(done, c) for c in PRUNE_COLUMNS] + [os_user()]),
        )
    return done


#: The first line of an archive says what it is.
ARCHIVE_FORMAT = "vcop access log archive 1"


def _write_archive(
    path: Path, rows: Sequence[Sequence[object]], records: dict[int, list[Record]]
) -> str:
    """Write entries to ``path`` (a temporary file renamed into place, so an archive is whole or
    absent); return its SHA-256."""
    lines = [json.dumps({"format": ARCHIVE_FORMAT, "prev_hash": rows[0][-2], "entries": len(rows)})]
    for *row, prev_hash, hash_ in rows:
        entry = dict(zip(COLUMNS, row, strict=True))
        entry.update(prev_hash=prev_hash, entry_hash=hash_,
                     shown=[list(r) for r in records.get(int(str(row[0])), [])])  # fmt: skip
        lines.append(json.dumps(entry, default=str))
    data = ("\n".join(lines) + "\n").encode()
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def verify_archive(path: Path) -> Verification:
    """Recompute the chain of an archive written by :func:`prune`: each entry follows the one
    before it and matches its hash. Its head is the ``last_hash`` the prune recorded."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0]) if lines else {}
    if header.get("format") != ARCHIVE_FORMAT:
        raise ValueError(f"{path}: not an access-log archive written by vcop")
    prev = str(header["prev_hash"])
    breaks: list[tuple[int, str]] = []
    expected_id: int | None = None
    for number, line in enumerate(lines[1:], start=2):
        entry = json.loads(line)
        access_id = int(entry["access_id"])
        if expected_id is not None and access_id != expected_id:
            breaks.append((access_id, f"entries {expected_id}–{access_id - 1} are missing"))
        if entry["prev_hash"] != prev:
            breaks.append((access_id, f"line {number} does not chain to the entry before it"))
        row = [entry[c] for c in COLUMNS]
        shown: list[Record] = [(v, c) for v, c in entry["shown"]]
        if entry_hash(entry["prev_hash"], row, shown) != entry["entry_hash"]:
            breaks.append((access_id, "its content does not match its hash"))
        prev = str(entry["entry_hash"])
        expected_id = access_id + 1
    if len(lines) - 1 != int(header.get("entries", -1)):
        breaks.append(
            (expected_id or 0, f"holds {len(lines) - 1} entries but says {header.get('entries')}")
        )
    return Verification(len(lines) - 1, breaks, prev)
