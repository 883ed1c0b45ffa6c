"""For the administrator: the access log (read and export, never edit) and the list of accounts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from vcop.web.auth import Permission
from vcop.web.pages import Column, Ctx, Page, Table, page

router = APIRouter()

HTML_LIMIT = 200


@page(router, "/access-log", Permission.audit, name="access_log")
def access_log(ctx: Ctx) -> Page:
    """Who opened which victim's or crime's records, when and why (newest first)."""
    conds: list[str] = []
    params: list[object] = []
    for name, column in (
        ("username", "username"),
        ("victim_id", "victim_id"),
        ("action", "action"),
    ):
        value = ctx.param(name)
        if value:
            conds.append(f"{column} = ?")
            params.append(value)
    start, end = ctx.date_param("from"), ctx.date_param("to")
    if start:
        conds.append("accessed_at >= ?")
        params.append(start)
    if end:
        conds.append("accessed_at < ?")
        params.append(end + timedelta(days=1))
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    limit = f" LIMIT {HTML_LIMIT}" if ctx.fmt == "html" else ""
    rows = ctx.store.query(
        "SELECT access_id, accessed_at, username, role, channel, action, victim_id, crime_id, reason, detail, "
        f"session FROM access_log {where} ORDER BY access_id DESC{limit}",
        params,
    ).dicts()
    total = int(ctx.store.scalar(f"SELECT count(*) FROM access_log {where}", params) or 0)
    # Reading the log is itself a consultation of personal data: it is logged too.
    ctx.log("access_log", detail=f"{len(rows)} row(s)" + (f"; {where}" if where else ""))
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
                ],
                rows,
                caption="Append-only: entries are never changed or deleted.",
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
    rows = ctx.store.query(
        "SELECT username, role, area, district, unit, officer_id, disabled, created_at, disabled_at "
        "FROM users ORDER BY username"
    ).dicts()
    return Page(
        title="Accounts",
        tables=[
            Table(
                "users",
                "Accounts",
                [
                    Column("username", "User"),
                    Column("role", "Role"),
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
