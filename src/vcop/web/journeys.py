"""Victims' journeys, pre-arranged by victim so that opening one is a lookup, not a scan.

A journey gathers rows from eight canonical tables and the ledger. Over a force's millions of
contacts and ledger rows, filtering each table by victim on every page view would scan them all;
instead the server builds, once, three tables sorted by victim in an in-memory database attached
as ``webcache`` (never written to the vcop file): ``victim_crimes`` (each victim's crimes with the
fields the scope check and summary need), ``timeline`` (every dated thing that happened, one row
per victim it concerns) and ``obligations`` (the ledger). DuckDB's min/max zone maps then read only
the row group holding the victim. The data cannot change while the server runs (it holds the
file), so the tables stay right. ``open_entitlements`` does the same for the worklist: the police
obligations not yet met, sorted by unit and officer, each with its due date's place in the working-day
calendar (``workdays``), so days overdue can be counted in working days too; and
``enhanced_unidentified`` the victims the Code's rules make eligible for enhanced rights
(:func:`vcop.rules.eligibility.enhanced_eligibility`, the ledger's own conditions) with when, if
ever, a needs assessment identified them, shaped like ``open_entitlements`` so the worklist can
list the eligible victims not identified by its as-of date as one more category.

The worklist's queries live here too (:class:`Worklist`), beside the table they read, so its route
only parses, checks and renders; as does the lookup behind "Find a victim" (:func:`find`). What a
worklist shows depends only on the build and on what the request asks (the reader's scope, the
as-of date, the filters, the order and the page), never on the clock, so its counts and the page of
rows asked for are kept for the build in the store's pool of results
(:data:`vcop.web.db.RESULTS`): a supervisor coming back to their worklist, or paging through it,
is not charged the queries again. An export (every row) is not kept. A journey's lookups (the
victim's crimes in the reader's scope, the timeline, the obligations) are kept the same way. The
access-log entry of each view is written by the route every time, whether or not the rows were
kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import duckdb
import ibis

from vcop.store.calendar import add_working_days, calendar_table
from vcop.web.db import RESULTS, WebStore
from vcop.web.labels import order_key
from vcop.web.ledger import LEDGER, ledger_as_of
from vcop.web.ledger_kinds import ids_of_kind

CACHE = "webcache"

VICTIM_CRIMES = f"""
CREATE OR REPLACE TABLE {CACHE}.victim_crimes AS
SELECT v.victim_id, c.crime_id, c.crime_type, c.reported_at, c.recorded_at, c.area, c.district,
       c.unit, c.officer_id, c.outcome_code, c.outcome_at, v.updates_opt_out, v.vulnerable,
       v.intimidated, v.persistently_targeted, v.bereaved_relative,
       v.age_at_report < 18 AS under_18
FROM victims v JOIN crimes c USING (crime_id)
ORDER BY v.victim_id, c.reported_at, c.crime_id
"""

#: Everything dated that happened to a victim's crimes, one row per victim it concerns. ``what``,
#: ``detail`` and ``note`` hold codes where the source has them (a contact's purpose and channel,
#: a referral's service, consent and outcome, an outcome type): the journey page puts them into
#: words (:data:`TIMELINE_CODES`, :func:`vcop.web.labels.label`).
TIMELINE = f"""
CREATE OR REPLACE TABLE {CACHE}.timeline AS
SELECT * FROM (
  SELECT v.victim_id, c.reported_at AS happened_at, c.crime_id, 'Crime reported' AS kind,
         c.crime_type AS what, NULL::VARCHAR AS detail, NULL::VARCHAR AS note,
         NULL::VARCHAR AS outcome, 1 AS ord
    FROM victims v JOIN crimes c USING (crime_id)
  UNION ALL
  SELECT v.victim_id, c.recorded_at, c.crime_id, 'Crime recorded', c.crime_type, NULL, NULL,
         NULL, 2
    FROM victims v JOIN crimes c USING (crime_id) WHERE c.recorded_at IS NOT NULL
  UNION ALL
  SELECT v.victim_id, e.event_at, e.crime_id, 'Case event', e.event_type, NULL, NULL, NULL, 3
    FROM victims v JOIN case_events e USING (crime_id)
  UNION ALL
  SELECT victim_id, contact_at, crime_id, 'Contact', purpose, channel, NULL,
         CASE WHEN successful = false THEN 'failed' ELSE 'reached' END, 4
    FROM contacts
  UNION ALL
  SELECT victim_id, referred_at, crime_id, 'Referral', service, coalesce(consent, 'not_recorded'),
         outcome,
         NULL, 5
    FROM referrals
  UNION ALL
  SELECT victim_id, completed_at, crime_id, 'Needs assessment',
         CASE WHEN completed_at IS NULL THEN 'started, not completed' ELSE 'completed' END,
         CASE WHEN enhanced_rights_identified THEN 'enhanced rights identified' END, NULL, NULL, 6
    FROM needs_assessments
  UNION ALL
  SELECT victim_id, agreed_at, crime_id, 'Care contract agreed',
         'updates at least every ' || update_interval_days || ' days', preferred_channel, NULL,
         NULL, 7
    FROM care_contracts
  UNION ALL
  SELECT v.victim_id, coalesce(r.completed_at, r.due_at), r.crime_id, 'Supervisory review',
         CASE WHEN r.completed_at IS NULL THEN 'due, not completed' ELSE 'completed' END,
         'due ' || strftime(r.due_at, '%d %b %Y'), NULL, NULL, 8
    FROM victims v JOIN supervisory_reviews r USING (crime_id)
  UNION ALL
  SELECT v.victim_id, c.outcome_at, c.crime_id, 'Outcome', c.outcome_code::VARCHAR, NULL, NULL,
         NULL, 9
    FROM victims v JOIN crimes c USING (crime_id) WHERE c.outcome_code IS NOT NULL
)
ORDER BY victim_id, happened_at NULLS LAST, ord, crime_id
"""

#: Which of a timeline row's columns hold codes, by its kind: column -> the labels' list.
TIMELINE_CODES: dict[str, dict[str, str]] = {
    "Case event": {"what": "event_type"},
    "Contact": {"what": "contact_purpose", "detail": "channel"},
    "Referral": {"what": "service", "detail": "consent", "note": "referral_outcome"},
    "Care contract agreed": {"detail": "channel"},
    "Outcome": {"what": "outcome_type"},
}

OBLIGATIONS = f"""
CREATE OR REPLACE TABLE {CACHE}.obligations AS
SELECT victim_id, "right", title, crime_id, trigger_at, due_date, met_at, status, reason,
       obligation_id, enhanced, enhanced_reason, owner
FROM "{LEDGER}"
ORDER BY victim_id, trigger_at, "right" NULLS LAST, obligation_id
"""


#: Each date's number of working days since the calendar began (vcop.store.calendar): the working
#: days from one date to a later one are the difference of their numbers.
WORKDAYS = f"""
CREATE OR REPLACE TABLE {CACHE}.workdays AS
SELECT "date", working_day_seq FROM _vcop_workdays ORDER BY "date"
"""

#: Police obligations not yet met, with what the worklist shows and filters on.
OPEN = f"""
CREATE OR REPLACE TABLE {CACHE}.open_entitlements AS
SELECT e.victim_id, e.crime_id, e.obligation_id, e.title, e.due_date, e.enhanced,
       CASE WHEN e.obligation_id IN ({{needs}}) THEN 'needs_assessment'
            WHEN e.obligation_id IN ({{referrals}}) THEN 'referral'
            WHEN e.obligation_id IN ({{reviews}}) THEN 'review'
            ELSE 'update' END AS family,
       c.crime_type, c.area, c.district, c.unit, c.officer_id,
       e."right", c.outcome_at::DATE AS finalised_on, k.working_day_seq AS due_seq
FROM "{LEDGER}" e JOIN crimes c ON c.crime_id = e.crime_id
LEFT JOIN {CACHE}.workdays k ON k."date" = e.due_date
WHERE e.owner = 'police' AND e.status IN ('pending', 'overdue')
ORDER BY c.unit, c.officer_id, e.due_date
"""


#: The obligation an enhanced-rights item is part of: the needs assessment "incl. eligibility for
#: Enhanced Rights" (Right 4).
ENHANCED_OBLIGATION = "R4.needs-assessment"
ENHANCED_RIGHT = 4
#: Eligibility is decided with every crime and assessment in view; the worklist's as-of date then
#: keeps the crimes reported, and the identifications made, by that date.
_HORIZON = date(9999, 12, 30)

#: The columns of ``open_entitlements``, in its order (``enhanced_unidentified`` has them too).
OPEN_COLUMNS = (
    "victim_id, crime_id, obligation_id, title, due_date, enhanced, family, crime_type, area, "
    'district, unit, officer_id, "right", finalised_on, due_seq'
)

#: Eligible victims and when (if ever) their record identified them, shaped like
#: open_entitlements ({eligibility}: the eligibility rules' query).
ENHANCED = f"""
CREATE OR REPLACE TABLE {CACHE}.enhanced_unidentified AS
SELECT e.victim_id, e.crime_id, '{ENHANCED_OBLIGATION}' AS obligation_id,
       'Enhanced rights not identified (eligible: ' || e.eligible_labels || ')' AS title,
       c.reported_at::DATE AS due_date, true AS enhanced, 'enhanced' AS family,
       c.crime_type, c.area, c.district, c.unit, c.officer_id, {ENHANCED_RIGHT} AS "right",
       c.outcome_at::DATE AS finalised_on, k.working_day_seq AS due_seq,
       e.eligible_reasons, e.reported_at, e.identified_at
FROM ({{eligibility}}) e JOIN crimes c ON c.crime_id = e.crime_id
LEFT JOIN {CACHE}.workdays k ON k."date" = c.reported_at::DATE
WHERE e.eligible_enhanced
ORDER BY c.unit, c.officer_id, c.reported_at
"""


def _eligibility_sql(cur: duckdb.DuckDBPyConnection) -> str:
    """The query deciding every victim's eligibility for enhanced rights, by the Code edition in
    force now (the rules' own code, compiled for this database)."""
    from vcop.metrics.engine import quietly
    from vcop.rules.eligibility import enhanced_eligibility
    from vcop.spec.code import load_code

    editions = load_code().editions
    in_force = [e for e in editions if e.header.effective_from <= _HORIZON]
    edition = (in_force or list(editions))[-1]
    with quietly():
        backend = ibis.duckdb.from_connection(cur)
        expr = enhanced_eligibility(
            backend.table("crimes"),
            backend.table("victims"),
            backend.table("needs_assessments"),
            edition,
            _HORIZON,
        )
        return str(backend.compile(expr))


def _quoted(ids: list[str]) -> str:
    return ", ".join("'" + i.replace("'", "''") + "'" for i in ids) or "NULL"


def ensure(store: WebStore) -> bool:
    """Build the journey tables if they are not built yet; True when the ledger is among them."""

    def build() -> bool:
        cur = store.cursor()
        cur.execute(VICTIM_CRIMES)
        cur.execute(TIMELINE)
        has_ledger = ledger_as_of(store) is not None
        if has_ledger:
            cur.register("_vcop_workdays", calendar_table())
            try:
                cur.execute(WORKDAYS)
            finally:
                cur.unregister("_vcop_workdays")
            cur.execute(OBLIGATIONS)
            cur.execute(
                OPEN.format(
                    needs=_quoted(ids_of_kind("needs_assessment")),
                    referrals=_quoted(ids_of_kind("referral")),
                    reviews=_quoted(ids_of_kind("supervisory_review")),
                )
            )
            rules = store.new_cursor()
            try:
                eligibility = _eligibility_sql(rules)
            finally:
                rules.close()
            cur.execute(ENHANCED.format(eligibility=eligibility))
        return has_ledger

    return store.cached(("journey_cache",), build)


# -- one victim's journey -------------------------------------------------------------------------
# A journey is a view of the build: the same victim and scope show the same rows for as long as the
# build is served, so each lookup is kept (in the pool of results, as a worklist's page is). The
# route writes the access-log entry of every view, kept or not.


def _kept(
    store: WebStore, key: tuple[Any, ...], run: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """``run()``'s rows, kept for the build in the store's pool of results; each row a copy of
    its own, which the caller may change."""
    return [dict(r) for r in store.cached(key, run, pool=RESULTS)]


def victim_crimes(
    store: WebStore, scope: str, scope_params: list[object], victim_id: str
) -> list[dict[str, Any]]:
    """The victim's crimes in the scope (none: the victim has no crime the reader may see),
    oldest first, without the victim's id."""

    def run() -> list[dict[str, Any]]:
        ensure(store)
        return store.query(
            f"SELECT c.* EXCLUDE (victim_id) FROM {CACHE}.victim_crimes c "
            f"WHERE c.victim_id = ? AND ({scope}) ORDER BY c.reported_at, c.crime_id",
            [victim_id, *scope_params],
        ).dicts()

    key = ("victim_crimes", victim_id, scope, *scope_params)
    return _kept(store, key, run)


def timeline(store: WebStore, victim_id: str, crime_ids: list[str]) -> list[dict[str, Any]]:
    """Everything dated that happened on the victim's crimes ``crime_ids``, oldest first, with
    its codes as the source holds them (:data:`TIMELINE_CODES` says which)."""

    def run() -> list[dict[str, Any]]:
        ensure(store)
        marks = ", ".join("?" for _ in crime_ids)
        return store.query(
            "SELECT happened_at, crime_id, kind, what, detail, note, outcome "
            f"FROM {CACHE}.timeline WHERE victim_id = ? AND crime_id IN ({marks}) "
            "ORDER BY happened_at NULLS LAST, ord, crime_id",
            [victim_id, *crime_ids],
        ).dicts()

    key = ("timeline", victim_id, *crime_ids)
    return _kept(store, key, run)


def obligations(store: WebStore, victim_id: str, crime_ids: list[str]) -> list[dict[str, Any]]:
    """The ledger's rows for the victim on ``crime_ids``, in the order they were triggered (none
    when the build has no ledger)."""

    def run() -> list[dict[str, Any]]:
        if not ensure(store):
            return []
        marks = ", ".join("?" for _ in crime_ids)
        return store.query(
            'SELECT "right", title, crime_id, trigger_at, due_date, met_at, status, reason, '
            f"obligation_id, enhanced, enhanced_reason FROM {CACHE}.obligations "
            f"WHERE victim_id = ? AND crime_id IN ({marks}) "
            'ORDER BY trigger_at, "right" NULLS LAST, obligation_id',
            [victim_id, *crime_ids],
        ).dicts()

    key = ("obligations", victim_id, *crime_ids)
    return _kept(store, key, run)


# -- the worklist ---------------------------------------------------------------------------------

#: category -> label, in the order the counts list them.
CATEGORIES: dict[str, str] = {
    "update_overdue": "Updates overdue",
    "update_today": "Updates due today",
    "update_tomorrow": "Updates due next working day",
    "needs_assessment": "Needs assessments missing",
    "enhanced_not_identified": "Enhanced rights not identified",
    "referral": "Referrals not made",
    "review_overdue": "Supervisory reviews overdue",
}

#: The worklist's default order: updates due today, then due on the next working day, then
#: overdue (the most recently due first), then the other categories (each by due date).
PRIORITY = (
    "update_today",
    "update_tomorrow",
    "update_overdue",
    "needs_assessment",
    "enhanced_not_identified",
    "referral",
    "review_overdue",
)

#: ``?sort=`` -> its label and its direction when ``?dir=`` does not say.
SORTS: dict[str, tuple[str, str]] = {
    "priority": ("Most urgent first", "asc"),
    "due": ("Due date", "asc"),
    "overdue": ("Days overdue", "desc"),
    "victim": ("Victim", "asc"),
    "officer": ("Officer", "asc"),
    "obligation": ("Obligation", "asc"),
    "crime_type": ("Crime type", "asc"),
}

#: ``?crime=`` -> label: items on crimes still open, or on crimes already finalised (owed before
#: finalisation and not given: they can only be closed off).
CRIMES: dict[str, str] = {
    "open": "On open crimes",
    "finalised": "On crimes already finalised",
}

_RANK = "CASE category " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(PRIORITY)) + " END"
_URGENT = (
    f"{_RANK}, CASE WHEN category = 'update_overdue' THEN due_date END DESC NULLS LAST, "
    "due_date NULLS LAST, victim_id, crime_id, obligation_id"
)
#: ``?sort=`` -> the ORDER BY of one item per row ({d}: the direction); ties go most urgent first.
_ITEM_ORDER: dict[str, str] = {
    "priority": "",
    "due": "due_date {d} NULLS LAST",
    "overdue": "days_overdue {d} NULLS LAST",
    "victim": "victim_id {d}",
    "officer": "officer_id {d} NULLS LAST",
    "obligation": '"right" {d} NULLS LAST, obligation_id {d}',
    "crime_type": "crime_type {d} NULLS LAST",
}
#: The same for one victim per row.
_VICTIM_ORDER: dict[str, str] = {
    "priority": "",
    "due": "earliest_due {d} NULLS LAST",
    "overdue": "days_overdue {d} NULLS LAST",
    "victim": "victim_id {d}",
    "officer": "officers {d} NULLS LAST",
    "obligation": "first_right {d} NULLS LAST, first_obligation {d}",
    "crime_type": "crime_types {d} NULLS LAST",
}

ITEM_COLUMNS = (
    'category, victim_id, crime_id, obligation_id, "right", title, due_date, days_overdue, '
    "working_days_overdue, enhanced, crime_type, area, district, unit, officer_id, finalised, "
    "finalised_on"
)

#: The key of the worklist's reason in a session's ``reasons`` (victim id -> reason): a control
#: character, which no victim id can hold, so it can never be taken for a victim's.
WORKLIST_REASON = "\x00worklist"


def _order(orders: dict[str, str], sort: str, direction: str, ties: str) -> str:
    first = orders[sort].format(d="DESC" if direction == "desc" else "ASC")
    return f"{first}, {ties}" if first else ties


@dataclass(frozen=True)
class Worklist:
    """What a worklist selects: the reader's scope (a condition on ``c``), the day it is read as
    of, how many days back overdue items go, and the filters (None: any)."""

    scope: str
    scope_params: tuple[object, ...]
    as_of: date
    days: int
    category: str | None = None
    officer: str | None = None
    obligation: str | None = None
    right: int | None = None
    crime_type: str | None = None
    enhanced: bool | None = None
    crime: str | None = None

    def sql(self) -> tuple[str, list[object]]:
        """The FROM/WHERE of the items selected, each with its ``category``, its days overdue in
        calendar days and in working days, and whether its crime was finalised by the as-of
        date."""
        a = self.as_of
        tomorrow = add_working_days(a, 1)
        conds: list[str] = []
        params: list[object] = []
        for column, value in (
            ("category", self.category),
            ("officer_id", self.officer),
            ("obligation_id", self.obligation),
            ('"right"', self.right),
            ("crime_type", self.crime_type),
            ("coalesce(enhanced, false)", self.enhanced),
        ):
            if value is not None:
                conds.append(f" AND {column} = ?")
                params.append(value)
        if self.crime is not None:
            conds.append(" AND finalised" if self.crime == "finalised" else " AND NOT finalised")
        sql = f"""
        FROM (
          SELECT CASE
                   WHEN c.family = 'needs_assessment' THEN 'needs_assessment'
                   WHEN c.family = 'referral' THEN 'referral'
                   WHEN c.family = 'enhanced' THEN 'enhanced_not_identified'
                   WHEN c.family = 'review' THEN CASE WHEN c.due_date < ? THEN 'review_overdue' END
                   WHEN c.due_date < ? THEN 'update_overdue'
                   WHEN c.due_date = ? THEN 'update_today'
                   WHEN c.due_date > ? AND c.due_date <= ? THEN 'update_tomorrow'
                 END AS category,
                 c.* EXCLUDE (due_seq, finalised_on),
                 CASE WHEN c.due_date < ? THEN date_diff('day', c.due_date, ?::DATE) END
                   AS days_overdue,
                 CASE WHEN c.due_date < ? THEN
                   (SELECT k.working_day_seq FROM {CACHE}.workdays k WHERE k."date" = ?) - c.due_seq
                 END AS working_days_overdue,
                 coalesce(c.finalised_on <= ?, false) AS finalised,
                 CASE WHEN c.finalised_on <= ? THEN c.finalised_on END AS finalised_on
          FROM (
            SELECT {OPEN_COLUMNS} FROM {CACHE}.open_entitlements
            UNION ALL
            SELECT {OPEN_COLUMNS} FROM {CACHE}.enhanced_unidentified
            WHERE reported_at < ?::DATE + 1 AND (identified_at IS NULL OR identified_at >= ?::DATE + 1)
          ) c
          WHERE ({self.scope}) AND (c.due_date IS NULL OR c.due_date >= ?::DATE - ?::INTEGER)
        ) w
        WHERE category IS NOT NULL{"".join(conds)}
        """
        head: list[object] = [a, a, a, a, tomorrow, a, a, a, a, a, a, a, a]
        return sql, [*head, *self.scope_params, a, self.days, *params]


def worklist_counts(store: WebStore, wl: Worklist) -> dict[tuple[str, bool], int]:
    """(category, on a finalised crime) -> how many items, by the filters other than the
    category and the crime's stage."""
    counted = replace(wl, category=None, crime=None)

    def compute() -> dict[tuple[str, bool], int]:
        sql, params = counted.sql()
        rows = store.query(f"SELECT category, finalised, count(*) {sql} GROUP BY ALL", params).rows
        return {(str(c), bool(f)): int(n) for c, f, n in rows}

    return dict(store.cached(("worklist_counts", counted), compute, pool=RESULTS))


def _page_of(
    store: WebStore,
    key: tuple[Any, ...],
    limit: int | None,
    run: Callable[[], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """A page of a worklist's rows (kept for the build: it cannot change while the build is
    served), or every row when ``limit`` is None (not kept: an export's rows may be many); each
    row a copy of its own, which the caller may change."""
    return [dict(r) for r in run()] if limit is None else _kept(store, key, run)


def worklist_items(
    store: WebStore, wl: Worklist, sort: str, direction: str,
    limit: int | None = None, offset: int = 0,
) -> list[dict[str, Any]]:  # fmt: skip
    """The items selected, one per row, in the order asked for (``limit`` of them from
    ``offset``, or all)."""

    def run() -> list[dict[str, Any]]:
        sql, params = wl.sql()
        order = _order(_ITEM_ORDER, sort, direction, _URGENT)
        window = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        return store.query(f"SELECT {ITEM_COLUMNS} {sql} ORDER BY {order}{window}", params).dicts()

    return _page_of(store, ("worklist_items", wl, sort, direction, limit, offset), limit, run)


def worklist_victim_count(store: WebStore, wl: Worklist) -> int:
    """How many victims the items selected concern."""

    def compute() -> int:
        sql, params = wl.sql()
        return int(store.scalar(f"SELECT count(DISTINCT victim_id) {sql}", params) or 0)

    return store.cached(("worklist_victim_count", wl), compute, pool=RESULTS)


def worklist_victims(
    store: WebStore, wl: Worklist, sort: str, direction: str,
    limit: int | None = None, offset: int = 0,
) -> list[dict[str, Any]]:  # fmt: skip
    """One row per victim of the items selected: how many items, which (most urgent first), the
    earliest due date, the most days overdue, their crimes, officers and units."""

    def run() -> list[dict[str, Any]]:
        sql, params = wl.sql()
        order = _order(_VICTIM_ORDER, sort, direction, "priority, victim_id")
        window = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        return store.query(
            f"""
            WITH selected AS (SELECT *, row_number() OVER (ORDER BY {_URGENT}) AS priority {sql})
            SELECT victim_id, count(*) AS items,
                   string_agg(title, '; ' ORDER BY priority) AS obligations,
                   string_agg(obligation_id, '; ' ORDER BY priority) AS obligation_ids,
                   arg_min(category, priority) AS category,
                   min(due_date) AS earliest_due,
                   max(days_overdue) AS days_overdue,
                   max(working_days_overdue) AS working_days_overdue,
                   string_agg(DISTINCT crime_id, ', ' ORDER BY crime_id) AS crimes,
                   string_agg(DISTINCT crime_type, ', ' ORDER BY crime_type) AS crime_types,
                   string_agg(DISTINCT officer_id, ', ' ORDER BY officer_id) AS officers,
                   string_agg(DISTINCT unit, ', ' ORDER BY unit) AS units,
                   coalesce(bool_or(enhanced), false) AS enhanced,
                   count(*) FILTER (WHERE finalised) AS on_finalised,
                   min("right") AS first_right, min(obligation_id) AS first_obligation,
                   min(priority) AS priority
            FROM selected GROUP BY victim_id
            ORDER BY {order}{window}
            """,
            params,
        ).dicts()

    return _page_of(store, ("worklist_victims", wl, sort, direction, limit, offset), limit, run)


@dataclass(frozen=True)
class Choices:
    """What the worklist's filters may be set to in one scope: the values its items hold."""

    officers: tuple[str, ...]
    obligations: tuple[tuple[str, str], ...]  # (obligation id, title), in the order of the Code
    rights: tuple[int, ...]
    crime_types: tuple[str, ...]


def worklist_choices(store: WebStore, scope: str, scope_params: list[object]) -> Choices:
    """The officers, obligations, rights and crime types of the open items in a scope."""

    def compute() -> Choices:
        ensure(store)
        items = (
            f"(SELECT {OPEN_COLUMNS} FROM {CACHE}.open_entitlements UNION ALL "
            f"SELECT {OPEN_COLUMNS} FROM {CACHE}.enhanced_unidentified)"
        )
        base = f"FROM {items} c WHERE ({scope})"

        def column(expr: str) -> list[Any]:
            sql = f"SELECT DISTINCT {expr} AS v {base} AND {expr} IS NOT NULL ORDER BY v"
            return [r[0] for r in store.query(sql, scope_params).rows]

        obligations = store.query(
            f"SELECT obligation_id, min(title) {base} "
            'GROUP BY obligation_id ORDER BY min("right") NULLS LAST, obligation_id',
            scope_params,
        ).rows
        return Choices(
            officers=tuple(str(v) for v in column("officer_id")),
            obligations=tuple(
                sorted(((str(i), str(t)) for i, t in obligations), key=lambda o: order_key(o[0]))
            ),
            rights=tuple(int(v) for v in column('"right"')),
            crime_types=tuple(str(v) for v in column("crime_type")),
        )

    return store.cached(("worklist_choices", scope, *scope_params), compute)


def on_worklist(store: WebStore, scope: str, scope_params: list[object], victim_id: str) -> bool:
    """Whether the police owe ``victim_id`` anything not yet met on a crime in the scope, or have
    not identified them as eligible for enhanced rights (so a journey opened from the worklist
    may be logged with the worklist's reason)."""
    if not ensure(store):
        return False
    found = store.scalar(
        f"SELECT count(*) FROM {CACHE}.open_entitlements c WHERE c.victim_id = ? AND ({scope})",
        [victim_id, *scope_params],
    )
    if not found:
        found = store.scalar(
            f"SELECT count(*) FROM {CACHE}.enhanced_unidentified c "
            f"WHERE c.victim_id = ? AND c.identified_at IS NULL AND ({scope})",
            [victim_id, *scope_params],
        )
    return bool(found)


# -- finding a victim -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What "Find a victim" found in the scope: a victim, or a crime and its victims, or nothing."""

    victim_id: str | None = None
    crime_id: str | None = None
    victims: tuple[dict[str, Any], ...] = ()


def find(store: WebStore, scope: str, scope_params: list[object], text: str) -> Found:
    """The victim whose id is ``text``, or else the crime whose reference it is and its victims,
    among the crimes in the scope (ids are matched as typed, or in capitals)."""
    ensure(store)
    keys = [text, text.upper()]
    victim = store.query(
        f"SELECT c.victim_id FROM {CACHE}.victim_crimes c "
        f"WHERE c.victim_id IN (?, ?) AND ({scope}) ORDER BY c.victim_id LIMIT 1",
        [*keys, *scope_params],
    ).rows
    if victim:
        return Found(victim_id=str(victim[0][0]))
    rows = store.query(
        "SELECT c.victim_id, c.crime_id, c.crime_type, c.reported_at, c.unit, c.officer_id "
        f"FROM {CACHE}.victim_crimes c WHERE c.crime_id IN (?, ?) AND ({scope}) "
        "ORDER BY c.crime_id, c.victim_id",
        [*keys, *scope_params],
    ).dicts()
    if not rows:
        return Found()
    crime = str(rows[0]["crime_id"])
    return Found(crime_id=crime, victims=tuple(r for r in rows if r["crime_id"] == crime))
