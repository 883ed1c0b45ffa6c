"""The inputs of the rules: the canonical tables and the calendar, as Ibis tables on any backend.

The same :class:`Sources` can come from the DuckDB store (:meth:`Sources.from_backend` on
``ibis.duckdb.from_connection``) or from a PySpark session holding the same tables; the rules
never know which.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from vcop.store.calendar import CALENDAR_TABLE, calendar_table

if TYPE_CHECKING:  # Ibis is imported when the tables are read: a warm plan reads TABLES only
    import ibis
    import ibis.expr.types as ir

#: The canonical tables the rules read.
TABLES = (
    "crimes",
    "victims",
    "case_events",
    "contacts",
    "referrals",
    "needs_assessments",
    "care_contracts",
    "supervisory_reviews",
    "agency_events",
    "agency_contacts",
    "review_requests",
    "complaints",
    "expense_claims",
    "interpretation_needs",
)

#: Tables whose ``victim_id`` may be blank (a row about every victim of the crime).
OPTIONAL_VICTIM = ("agency_events",)


@dataclass(frozen=True)
class Sources:
    """One Ibis table per canonical table the rules read, plus the working-day calendar."""

    crimes: ir.Table
    victims: ir.Table
    case_events: ir.Table
    contacts: ir.Table
    referrals: ir.Table
    needs_assessments: ir.Table
    care_contracts: ir.Table
    supervisory_reviews: ir.Table
    agency_events: ir.Table
    agency_contacts: ir.Table
    review_requests: ir.Table
    complaints: ir.Table
    expense_claims: ir.Table
    interpretation_needs: ir.Table
    calendar: ir.Table

    @classmethod
    def from_backend(
        cls, backend: ibis.BaseBackend, *, calendar: str | None = CALENDAR_TABLE
    ) -> Sources:
        """Read the tables by name from ``backend``.

        ``calendar`` names the calendar table in the backend; ``None`` uses an in-memory copy.
        """
        import ibis

        tables = {name: backend.table(name) for name in TABLES}
        cal = backend.table(calendar) if calendar else ibis.memtable(calendar_table())
        return cls(calendar=cal, **tables)

    def restrict(self, *, victim_id: str | None = None, crime_id: str | None = None) -> Sources:
        """Only the rows about one victim and/or one crime (every obligation is per crime)."""
        if victim_id is None and crime_id is None:
            return self
        changes: dict[str, ir.Table] = {}
        crime_ids: ir.Column | None = None
        if victim_id is not None:
            mine = self.victims.filter(self.victims.victim_id == victim_id)
            if crime_id is not None:
                mine = mine.filter(mine.crime_id == crime_id)
            crime_ids = mine.crime_id
        for f in fields(self):
            if f.name == "calendar":
                continue
            table: ir.Table = getattr(self, f.name)
            if crime_id is not None:
                table = table.filter(table.crime_id == crime_id)
            if crime_ids is not None:
                table = table.filter(table.crime_id.isin(crime_ids))
            if victim_id is not None and "victim_id" in table.columns:
                mine_only = table.victim_id == victim_id
                if f.name in OPTIONAL_VICTIM:
                    mine_only = table.victim_id.isnull() | mine_only
                table = table.filter(mine_only)
            changes[f.name] = table
        return replace(self, **changes)
