"""Data quality: what was loaded, what was rejected and why, and which optional fields are blank."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from fastapi import APIRouter

from vcop.spec.schema import load_schema
from vcop.web.audit_cases import agreement_table
from vcop.web.auth import Permission
from vcop.web.charts import bar_chart
from vcop.web.pages import MAX_INT, Column, Ctx, Page, Table, page

router = APIRouter()

#: Rows of rejects shown on the HTML page (the CSV twin has them all).
HTML_LIMIT = 200


@page(router, "/data-quality", Permission.data_quality, name="data_quality")
def data_quality(ctx: Ctx) -> Page:
    """Loads by batch, rejected rows by table and column, and blank optional fields."""
    store = ctx.store
    batches = store.cached(("dq_batches",), lambda: _batches(ctx))
    by_table = store.cached(("dq_by_table",), lambda: _by_table(ctx))
    rejects = store.cached(("dq_rejects",), lambda: _reject_summary(ctx))
    missing = store.cached(("dq_missing",), lambda: _missing(ctx))
    # findings change while the server runs (the operational store): never cached
    agreement = agreement_table(store, ctx.ops)
    return Page(
        title="Data quality",
        template="data_quality.html",
        notes=refresh_notes(ctx),
        tables=[
            Table(
                "batches",
                "Loads, by batch",
                [
                    Column("batch_id", "Batch", "number"),
                    Column("loaded_at", "Loaded", "datetime"),
                    Column("file", "File"),
                    Column("table_name", "Table"),
                    Column("rows_read", "Rows read", "number"),
                    Column("rows_loaded", "Loaded", "number"),
                    Column(
                        "rows_rejected",
                        "Rejected",
                        "number",
                        link="/data-quality/rejects?batch={batch_id}",
                    ),
                    Column("rejected_share", "Rejected %", "percent"),
                ],
                batches,
                caption="Every file loaded, newest first.",
                empty="No extract has been loaded into this database yet.",
            ),
            Table(
                "by_table",
                "Rows loaded and rejected, by table",
                [
                    Column("table_name", "Table"),
                    Column("rows_read", "Rows read", "number"),
                    Column("rows_loaded", "Loaded", "number"),
                    Column("rows_rejected", "Rejected", "number"),
                    Column("rejected_share", "Rejected %", "percent"),
                ],
                by_table,
                chart=bar_chart(
                    by_table,
                    x="rows_rejected",
                    y="table_name",
                    x_title="Rows rejected",
                    y_title="Table",
                    description="Rows rejected in all loads, by table",
                )
                # nothing rejected: no chart of empty bars (the table says so)
                if any(r["rows_rejected"] for r in by_table)
                else None,
            ),
            Table(
                "rejects",
                "Rejected rows, by batch, table and column",
                [
                    Column(
                        "batch_id", "Batch", "number", link="/data-quality/rejects?batch={batch_id}"
                    ),
                    Column("table_name", "Table"),
                    Column("column", "Column"),
                    Column("rows", "Rows", "number"),
                    Column("example", "Example reason"),
                ],
                rejects,
                empty="No row has been rejected.",
            ),
            Table(
                "missing",
                "Blank optional fields, by table",
                [
                    Column("table_name", "Table"),
                    Column("column", "Column"),
                    Column("rows", "Rows", "number"),
                    Column("blank", "Blank", "number"),
                    Column("blank_share", "Blank %", "percent"),
                ],
                missing,
                caption="Optional columns of the standard extract with at least one blank value.",
                empty="No optional field is blank.",
            ),
            *(
                [
                    Table(
                        "audit_agreement",
                        "Dip-sample audits: agreement with the ledger, by right",
                        [
                            Column("audit_id", "Audit"),
                            Column("right", "Right"),
                            Column("pairs", "Judgements compared", "number"),
                            Column("agreed", "Agreed", "number"),
                            Column("rate", "Agreement %", "percent"),
                            Column("kappa", "Cohen's kappa"),
                        ],
                        agreement,
                        caption="For every obligation the ledger judged on an audited case, the "
                        "submitted judgement of each agency's auditors beside it: met with met, "
                        "late with partly met, overdue with not met (pending and not applicable "
                        "left out). Kappa corrects the agreement for chance; it is blank when "
                        "both sides gave one judgement throughout.",
                    )
                ]
                if agreement
                else []
            ),
        ],
        meta={"database": PurePath(str(store.path)).name},
    )


@page(router, "/data-quality/rejects", Permission.data_quality, name="rejects")
def rejects(ctx: Ctx) -> Page:
    """Every rejected row of a batch (or all batches): file, row, column, value and reason."""
    batch = ctx.int_param("batch", 0, MAX_INT)
    where, params = "", []
    if batch is not None:
        where, params = "WHERE batch_id = ?", [batch]
    limit = "" if not ctx.as_shown else f" LIMIT {HTML_LIMIT + 1}"
    rows = ctx.store.query(
        'SELECT batch_id, file, table_name, "row", "column", value, reason FROM rejects '
        f'{where} ORDER BY batch_id, file, "row", "column"{limit}',
        params,
    ).dicts()
    total = int(ctx.store.scalar(f"SELECT count(*) FROM rejects {where}", params) or 0)
    for r in rows:
        r["file"] = PurePath(str(r["file"])).name
    shown = rows[:HTML_LIMIT] if ctx.as_shown else rows
    # Rejected rows hold record values: reading them is logged, with the rows shown.
    ctx.log(
        "rejects",
        reason="Data quality: rejected rows",
        detail=f"batch {batch if batch is not None else 'all'}; {len(shown)} of {total} row(s): "
        + ", ".join(f"{r['table_name']}:{r['row']}" for r in shown[:500])
        + (" …" if len(shown) > 500 else ""),
    )
    return Page(
        title=f"Rejected rows in batch {batch}" if batch is not None else "Rejected rows",
        template="rejects.html",
        tables=[
            Table(
                "rejects",
                "Rejected rows",
                [
                    Column("batch_id", "Batch", "number"),
                    Column("file", "File"),
                    Column("table_name", "Table"),
                    Column("row", "Row", "number"),
                    Column("column", "Column"),
                    Column("value", "Value"),
                    Column("reason", "Reason"),
                ],
                shown,
                empty="No rejected rows.",
                more=max(0, total - len(shown)),
            )
        ],
        meta={"batch": batch, "rows": total},
        context={"batch": batch},
    )


def refresh_notes(ctx: Ctx) -> list[str]:
    """What the data-quality page says of the build served and of the last refresh, when that
    one failed (the previous build is still served) or a newer build could not be opened."""
    from vcop.store.status import last_refreshes

    state = ctx.request.app.state.vcop
    notes: list[str] = []
    found = last_refreshes(ctx.ops)
    last, good = found["last_refresh"], found["last_successful_refresh"]
    if last and last["status"] == "failed":
        when = last["finished_at"] or last["started_at"]
        notes.append(
            f"The last refresh, started {last['started_at']:%-d %B %Y at %H:%M}, failed"
            + (f" at {when:%H:%M}" if when else "")
            + f": {last['message']}. These pages still show the previous build"
            + (
                f" (refreshed {good['finished_at']:%-d %B %Y at %H:%M}, as of {good['as_of']})."
                if good and good["finished_at"]
                else "."
            )
        )
    if state.builds.problem:
        notes.append(f"A newer build is not served: {state.builds.problem}.")
    return notes


def _batches(ctx: Ctx) -> list[dict[str, Any]]:
    rows = ctx.store.query(
        "SELECT batch_id, loaded_at, file, table_name, rows_read, rows_loaded, rows_rejected, "
        "CASE WHEN rows_read > 0 THEN rows_rejected / rows_read END AS rejected_share "
        "FROM batches ORDER BY batch_id DESC"
    ).dicts()
    for r in rows:
        r["file"] = PurePath(str(r["file"])).name
    return rows


def _by_table(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.store.query(
        "SELECT table_name, sum(rows_read)::BIGINT AS rows_read, sum(rows_loaded)::BIGINT AS rows_loaded, "
        "sum(rows_rejected)::BIGINT AS rows_rejected, "
        "CASE WHEN sum(rows_read) > 0 THEN sum(rows_rejected) / sum(rows_read) END AS rejected_share "
        "FROM batches GROUP BY table_name ORDER BY table_name"
    ).dicts()


def _reject_summary(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.store.query(
        'SELECT batch_id, table_name, coalesce("column", \'(whole row)\') AS "column", '
        "count(*) AS rows, min(reason) AS example FROM rejects "
        'GROUP BY ALL ORDER BY batch_id DESC, table_name, "column"'
    ).dicts()


def _missing(ctx: Ctx) -> list[dict[str, Any]]:
    schema = load_schema()
    out: list[dict[str, Any]] = []
    for name in schema.table_names:
        optional = [c.name for c in schema.table(name).columns if not c.required]
        if not optional or not ctx.store.has_table(name):
            continue
        counts = ", ".join(f'count("{c}")' for c in optional)
        row = ctx.store.query(f'SELECT count(*), {counts} FROM "{name}"').rows[0]
        total = int(row[0])
        for column, present in zip(optional, row[1:], strict=True):
            blank = total - int(present)
            if blank:
                out.append(
                    {
                        "table_name": name,
                        "column": column,
                        "rows": total,
                        "blank": blank,
                        "blank_share": blank / total if total else None,
                    }
                )
    return out
