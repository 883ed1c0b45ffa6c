"""Victims' journeys, pre-arranged by victim so that opening one is a lookup, not a scan.

A journey gathers rows from eight canonical tables and the ledger. Over a force's millions of
contacts and ledger rows, filtering each table by victim on every page view would scan them all;
instead the server builds, once, three tables sorted by victim in an in-memory database attached
as ``webcache`` (never written to the vcop file): ``victim_crimes`` (each victim's crimes with the
fields the scope check and summary need), ``timeline`` (every dated thing that happened, one row
per victim it concerns) and ``obligations`` (the ledger). DuckDB's min/max zone maps then read only
the row group holding the victim. The data cannot change while the server runs (it holds the
file), so the tables stay right. ``open_entitlements`` does the same for the worklist: the police
obligations not yet met, sorted by unit and officer.
"""

from __future__ import annotations

from vcop.web.db import WebStore
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

#: Everything dated that happened to a victim's crimes, one row per victim it concerns.
TIMELINE = f"""
CREATE OR REPLACE TABLE {CACHE}.timeline AS
SELECT * FROM (
  SELECT v.victim_id, c.reported_at AS happened_at, c.crime_id, 'Crime reported' AS kind,
         c.crime_type AS what, NULL::VARCHAR AS detail, NULL::VARCHAR AS outcome, 1 AS ord
    FROM victims v JOIN crimes c USING (crime_id)
  UNION ALL
  SELECT v.victim_id, c.recorded_at, c.crime_id, 'Crime recorded', c.crime_type, NULL, NULL, 2
    FROM victims v JOIN crimes c USING (crime_id) WHERE c.recorded_at IS NOT NULL
  UNION ALL
  SELECT v.victim_id, e.event_at, e.crime_id, 'Case event', replace(e.event_type, '_', ' '),
         NULL, NULL, 3
    FROM victims v JOIN case_events e USING (crime_id)
  UNION ALL
  SELECT victim_id, contact_at, crime_id, 'Contact', replace(purpose, '_', ' '),
         nullif(replace(coalesce(channel, ''), '_', ' '), ''),
         CASE WHEN successful = false THEN 'failed' ELSE 'reached' END, 4
    FROM contacts
  UNION ALL
  SELECT victim_id, referred_at, crime_id, 'Referral', replace(service, '_', ' '),
         'consent ' || replace(coalesce(consent, 'not recorded'), '_', ' ')
           || coalesce('; ' || replace(outcome, '_', ' '), ''),
         NULL, 5
    FROM referrals
  UNION ALL
  SELECT victim_id, completed_at, crime_id, 'Needs assessment',
         CASE WHEN completed_at IS NULL THEN 'started, not completed' ELSE 'completed' END,
         CASE WHEN enhanced_rights_identified THEN 'enhanced rights identified' END, NULL, 6
    FROM needs_assessments
  UNION ALL
  SELECT victim_id, agreed_at, crime_id, 'Care contract agreed',
         'updates at least every ' || update_interval_days || ' days',
         nullif(replace(coalesce(preferred_channel, ''), '_', ' '), ''), NULL, 7
    FROM care_contracts
  UNION ALL
  SELECT v.victim_id, coalesce(r.completed_at, r.due_at), r.crime_id, 'Supervisory review',
         CASE WHEN r.completed_at IS NULL THEN 'due, not completed' ELSE 'completed' END,
         'due ' || strftime(r.due_at, '%d %b %Y'), NULL, 8
    FROM victims v JOIN supervisory_reviews r USING (crime_id)
  UNION ALL
  SELECT v.victim_id, c.outcome_at, c.crime_id, 'Outcome',
         'Home Office outcome type ' || c.outcome_code, NULL, NULL, 9
    FROM victims v JOIN crimes c USING (crime_id) WHERE c.outcome_code IS NOT NULL
)
ORDER BY victim_id, happened_at NULLS LAST, ord, crime_id
"""

OBLIGATIONS = f"""
CREATE OR REPLACE TABLE {CACHE}.obligations AS
SELECT victim_id, "right", title, crime_id, trigger_at, due_date, met_at, status, reason,
       obligation_id, enhanced, enhanced_reason
FROM "{LEDGER}"
ORDER BY victim_id, trigger_at, "right" NULLS LAST, obligation_id
"""


#: Police obligations not yet met, with what the worklist shows and filters on.
OPEN = f"""
CREATE OR REPLACE TABLE {CACHE}.open_entitlements AS
SELECT e.victim_id, e.crime_id, e.obligation_id, e.title, e.due_date, e.enhanced,
       CASE WHEN e.obligation_id IN ({{needs}}) THEN 'needs_assessment'
            WHEN e.obligation_id IN ({{referrals}}) THEN 'referral'
            WHEN e.obligation_id IN ({{reviews}}) THEN 'review'
            ELSE 'update' END AS family,
       c.crime_type, c.area, c.district, c.unit, c.officer_id
FROM "{LEDGER}" e JOIN crimes c ON c.crime_id = e.crime_id
WHERE e.owner = 'police' AND e.status IN ('pending', 'overdue')
ORDER BY c.unit, c.officer_id, e.due_date
"""


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
            cur.execute(OBLIGATIONS)
            cur.execute(
                OPEN.format(
                    needs=_quoted(ids_of_kind("needs_assessment")),
                    referrals=_quoted(ids_of_kind("referral")),
                    reviews=_quoted(ids_of_kind("supervisory_review")),
                )
            )
        return has_ledger

    return store.cached(("journey_cache",), build)
