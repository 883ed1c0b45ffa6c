"""For the administrator: the access log (read and export, never edit) and the list of accounts."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import APIRouter

from vcop.store import access_log as access_log_store
from vcop.web.auth import USER_COLUMNS, Permission, list_users
from vcop.web.labels import label
from vcop.web.pages import Column, Ctx, Page, Table, page

router = APIRouter()

HTML_LIMIT = 200


@page(router, "/access-log", Permission.audit, name="access_log")
def access_log(ctx: Ctx) -> Page:
    """Who opened which victim's or crime's records, when and why (newest first)."""
    start, end = ctx.date_param("from"), ctx.date_param("to")
    filters = {
        "start": datetime.combine(start, time()) if start else None,
        "end": datetime.combine(end + timedelta(days=1), time()) if end else None,
        "username": ctx.param("username"),
        "victim_id": ctx.param("victim_id"),
        "action": ctx.param("action"),
    }
    limit = HTML_LIMIT if ctx.as_shown else None
    rows = access_log_store.entries(ctx.ops, newest_first=True, limit=limit, **filters)  # type: ignore[arg-type]
    total = access_log_store.count(ctx.ops, **filters)  # type: ignore[arg-type]
    shown = {k: str(v) for k, v in filters.items() if v is not None}
    # Reading the log is itself a consultation of personal data: it is logged too.
    ctx.log(
        "access_log",
        detail=f"{len(rows)} row(s)" + (f"; {shown}" if shown else ""),
        records=[(r["victim_id"], r["crime_id"]) for r in rows if r["victim_id"] or r["crime_id"]],  # type: ignore[misc]
    )
    return Page(
        title="Access log",
        template="access_log.html",
        tables=[
            Table(
                "access_log",
                "Record-level views and exports",
                [
                    Column("access_id", "#", "number"),
                    Column("accessed_at", "When", "datetime"),
                    Column("username", "User"),
                    Column("role", "Role"),
                    Column("channel", "Via"),
                    Column("action", "Action"),
                    Column("victim_id", "Victim"),
                    Column("crime_id", "Crime"),
                    Column("reason", "Reason given"),
                    Column("detail", "Detail"),
                    Column("session", "Session"),
                    Column("os_user", "OS user"),
                    Column("records", "Records", "number"),
                ],
                rows,
                caption=(
                    "Append-only and hash-chained: entries are never changed or deleted "
                    "(`vcop access-log verify` checks the chain)."
                ),
                empty="No record has been opened yet.",
                more=max(0, total - len(rows)),
            )
        ],
        meta={"rows": total},
        context={"filters": dict(ctx.request.query_params.items())},
    )


@page(router, "/users", Permission.audit, name="users")
def users(ctx: Ctx) -> Page:
    """Every account: role, scope and whether it is disabled (accounts are managed with `vcop users`)."""
    rows = [dict(zip(USER_COLUMNS, row, strict=True)) for row in list_users(ctx.ops)]
    for r in rows:
        r["role_label"] = label("role", r["role"])
        r["agency_label"] = label("agency", r["agency"]) if r["agency"] else None
    return Page(
        title="Accounts",
        tables=[
            Table(
                "users",
                "Accounts",
                [
                    Column("username", "User"),
                    Column("role_label", "Role", data=False),
                    Column("role", "Role", html=False),
                    Column("agency_label", "Body", data=False),
                    Column("area", "Area"),
                    Column("district", "District"),
                    Column("unit", "Unit"),
                    Column("officer_id", "Officer id"),
                    Column("disabled", "Disabled", "bool"),
                    Column("created_at", "Created", "datetime"),
                    Column("disabled_at", "Disabled on", "datetime"),
                ],
                rows,
                caption="Add and disable accounts with `vcop users add` and `vcop users disable`.",
            )
        ],
    )
