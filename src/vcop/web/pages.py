"""Pages and their twins: one query, served as HTML, ``.json`` and ``.csv`` under one permission.

A page is a function from a :class:`Ctx` (the request, the signed-in user, the store) to a
:class:`Page` — a title and one or more :class:`Table` s. :func:`page` registers it three times
(``/path``, ``/path.json``, ``/path.csv``) with the same permission; the app's single
authorisation dependency reads that permission from the route and refuses every route that has
none. The CSV twin writes the page's first table, or the one named by ``?table=``.
"""

from __future__ import annotations

import functools
import io
import json
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, overload
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from vcop.export import csv_writer, safe_cell
from vcop.store.ops import OpsStore
from vcop.web import audit
from vcop.web.auth import Permission, Session, User
from vcop.web.db import WebStore

Format = Literal["html", "json", "csv", "pdf"]
ColumnKind = Literal[
    "text",
    "number",
    "percent",
    "date",
    "month",
    "coordinate",
    "datetime",
    "status",
    "bool",
    "spc",
    "assurance",
    "sparkline",
    "note",
]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: ColumnKind = "text"
    #: A link for each cell: a path with ``{column}`` placeholders filled from the row.
    link: str | None = None
    #: Shown on the HTML page (False: only in the CSV and JSON twins, e.g. machine codes).
    html: bool = True
    #: In the CSV and JSON twins (False: only on the page, e.g. a sparkline).
    data: bool = True


@functools.cache
def _fields(pattern: str) -> tuple[str, ...]:
    """The row keys a link pattern's ``{placeholders}`` name (only these are quoted into it)."""
    return tuple(
        dict.fromkeys(
            re.split(r"[.\[]", name, maxsplit=1)[0]
            for _, name, _, _ in string.Formatter().parse(pattern)
            if name
        )
    )


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    caption: str | None = None
    empty: str = "Nothing to show."
    #: A Vega-Lite spec drawn from these rows; the table is the chart's text alternative.
    chart: dict[str, Any] | None = None
    #: Rows not shown in the HTML page (the CSV and JSON twins have them all).
    more: int = 0

    def link(self, column: Column, row: dict[str, Any]) -> str | None:
        if column.link is None or row.get(column.key) in (None, ""):
            return None
        whole = (
            column.link[1:-1] if column.link.startswith("{") and column.link.endswith("}") else None
        )
        if whole is not None and "{" not in whole:  # the row holds the whole (site-relative) link
            value = row.get(whole)
            return str(value) if isinstance(value, str) and value.startswith("/") else None
        return column.link.format(
            **{k: quote(str(row[k]), safe="") for k in _fields(column.link) if k in row}
        )


@dataclass
class Page:
    title: str
    tables: list[Table] = field(default_factory=list)
    template: str = "page.html"
    #: Facts about how the figures were made (as-of date, definitions hash, filters) for JSON.
    meta: dict[str, Any] = field(default_factory=dict)
    #: Extra values for the template.
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    status_code: int = 200

    @property
    def has_charts(self) -> bool:
        """Whether the page draws any chart (and so needs the charting scripts)."""
        for t in self.tables:
            if t.chart is not None:
                return True
            if any(c.kind == "sparkline" for c in t.columns) and any(
                r.get(c.key) for r in t.rows for c in t.columns if c.kind == "sparkline"
            ):
                return True
        return False

    def table(self, name: str | None) -> Table:
        if not self.tables:
            raise HTTPException(404, "this page has no table")
        if name is None:
            return self.tables[0]
        for t in self.tables:
            if t.name == name:
                return t
        names = ", ".join(t.name for t in self.tables)
        raise HTTPException(404, f"no table {name!r} on this page (tables: {names})")


#: The dates a query parameter may name, whatever the page (a page may narrow them).
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)
#: The longest value any query parameter may have (ids, place names, codes are all far shorter).
MAX_PARAM_LENGTH = 200
#: The largest whole number a query parameter may hold (DuckDB's BIGINT).
MAX_INT = 2**63 - 1

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: not "²", "1e9" or "0x10"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _shown(value: str) -> str:
    """A parameter's value, quoted and cut short, for an error message."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


@dataclass
class Ctx:
    """What a page function gets: the request, who is asking, and the store.

    Every query parameter is read through one of the typed helpers below — :meth:`param` (text),
    :meth:`int_param`, :meth:`date_param` and :meth:`choice_param` — which answer a value that is
    malformed or out of range with a 400 naming the parameter and what it may be.
    """

    request: Request
    store: WebStore
    session: Session
    fmt: Format
    now: datetime
    suppression_threshold: int
    #: The operational store (accounts, the access log), which the server writes.
    ops: OpsStore

    @property
    def user(self) -> User:
        return self.session.user

    @property
    def as_shown(self) -> bool:
        """Whether the answer is the page a person reads (HTML, or its PDF: paged and cut as
        the page is), not a data twin (JSON, CSV) that holds every row."""
        return self.fmt in ("html", "pdf")

    def param(self, name: str, *, max_length: int = MAX_PARAM_LENGTH) -> str | None:
        """The query parameter ``name`` as text, trimmed (None when absent or blank); 400 when it
        is longer than ``max_length`` characters or holds a control character (such as NUL)."""
        value = self.request.query_params.get(name)
        value = value.strip() if value else None
        if not value:
            return None
        if len(value) > max_length:
            raise HTTPException(
                400, f"{name} must be at most {max_length} characters long, not {len(value)}"
            )
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise HTTPException(400, f"{name} must not contain control characters")
        return value

    @overload
    def int_param(self, name: str, lo: int, hi: int, default: int) -> int: ...
    @overload
    def int_param(self, name: str, lo: int, hi: int, default: None = None) -> int | None: ...
    def int_param(self, name: str, lo: int, hi: int, default: int | None = None) -> int | None:
        """The query parameter ``name`` as a whole number from ``lo`` to ``hi`` (``default``
        when absent); 400 for anything else (``2.5``, ``1e9``, ``²``, out of range)."""
        value = self.param(name)
        if value is None:
            return default
        number = int(value) if _WHOLE_NUMBER.fullmatch(value) else None
        if number is None or not lo <= number <= hi:
            raise HTTPException(
                400, f"{name} must be a whole number from {lo} to {hi}, not {_shown(value)}"
            )
        return number

    @overload
    def date_param(self, name: str, *, lo: date = ..., hi: date = ..., default: date) -> date: ...
    @overload
    def date_param(
        self, name: str, *, lo: date = ..., hi: date = ..., default: None = None
    ) -> date | None: ...
    def date_param(
        self, name: str, *, lo: date = MIN_DATE, hi: date = MAX_DATE, default: date | None = None
    ) -> date | None:
        """The query parameter ``name`` as a date written ``YYYY-MM-DD``, from ``lo`` to ``hi``
        (never outside :data:`MIN_DATE` to :data:`MAX_DATE`; ``default`` when absent)."""
        value = self.param(name)
        if value is None:
            return default
        try:
            day = date.fromisoformat(value) if _ISO_DATE.fullmatch(value) else None
        except ValueError:
            day = None
        if day is None:
            raise HTTPException(
                400, f"{name} must be a date like 2025-06-30 (year-month-day), not {_shown(value)}"
            )
        lo, hi = max(lo, MIN_DATE), min(hi, MAX_DATE)
        if not lo <= day <= hi:
            raise HTTPException(
                400, f"{name} must be a date from {lo.isoformat()} to {hi.isoformat()}, not {value}"
            )
        return day

    @overload
    def choice_param(self, name: str, choices: Iterable[str], default: str) -> str: ...
    @overload
    def choice_param(
        self, name: str, choices: Iterable[str], default: None = None
    ) -> str | None: ...
    def choice_param(
        self, name: str, choices: Iterable[str], default: str | None = None
    ) -> str | None:
        """The query parameter ``name``, one of ``choices`` (``default`` when absent); 400 naming
        the choices for anything else."""
        value = self.param(name)
        if value is None:
            return default
        allowed = list(choices)
        if value not in allowed:
            raise HTTPException(
                400, f"{name} must be one of {', '.join(allowed)}, not {_shown(value)}"
            )
        return value

    def log(
        self,
        action: str,
        *,
        victim_id: str | None = None,
        crime_id: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
        records: Iterable[tuple[str | None, str | None]] = (),
    ) -> None:
        """Append this record-level view or export to the access log, with every (victim, crime)
        it showed in ``records``."""
        audit.record(
            self.ops,
            audit.Access(
                at=self.now,
                username=self.user.username,
                role=self.user.role.value,
                action=action if self.fmt == "html" else f"{action}_{self.fmt}",
                victim_id=victim_id,
                crime_id=crime_id,
                reason=reason,
                detail=detail,
                session=self.session.short,
                records=tuple(records),
            ),
        )


PageFunction = Callable[[Ctx], "Page | Response"]

#: Every page registered, for navigation and for tests that visit them all.
REGISTRY: list[tuple[str, Permission, str]] = []


def page(
    router: APIRouter, path: str, permission: Permission, *, name: str, twins: bool = True
) -> Callable[[PageFunction], PageFunction]:
    """Register a page function at ``path`` (and its ``.json``/``.csv`` twins) under ``permission``."""

    def register(fn: PageFunction) -> PageFunction:
        formats: Sequence[Format] = ("json", "csv", "pdf", "html") if twins else ("html",)
        for fmt in formats:  # twins first: /victims/{id}.json must not match /victims/{id}
            endpoint = _endpoint(fn, fmt, path, permission)
            endpoint.vcop_permission = permission  # type: ignore[attr-defined]
            router.add_api_route(
                twin_path(path, fmt),
                endpoint,
                methods=["GET"],
                name=name if fmt == "html" else f"{name}.{fmt}",
                response_class=HTMLResponse if fmt == "html" else Response,
                include_in_schema=False,
            )
        REGISTRY.append((path, permission, name))
        return fn

    return register


def twin_path(path: str, fmt: Format) -> str:
    """``/worklist`` -> ``/worklist.csv``; the overview ``/`` -> ``/index.csv``."""
    if fmt == "html":
        return path
    return ("/index" if path == "/" else path) + f".{fmt}"


def _endpoint(
    fn: PageFunction, fmt: Format, path: str, permission: Permission
) -> Callable[[Request], Response]:
    def endpoint(request: Request) -> Response:
        ctx = make_ctx(request, fmt)
        from vcop.web import public

        special = _published_data_page(ctx, path)
        result = special or fn(ctx)
        if isinstance(result, Response):
            return result
        if special is None and public.published_only(ctx.store):
            public.strip_note(result)  # said once, on the overview
        if fmt == "pdf":
            from vcop.web.pdf import pdf_response

            # a record-level page is marked as such on every printed page
            sensitive = permission in (Permission.record, Permission.audit)
            return pdf_response(
                ctx, result, marking="OFFICIAL-SENSITIVE" if sensitive else "OFFICIAL"
            )
        return render(ctx, result)

    endpoint.__name__ = f"{fn.__name__}_{fmt}"
    endpoint.__doc__ = fn.__doc__
    return endpoint


def _published_data_page(ctx: Ctx, path: str) -> Page | None:
    """On a build of published data only (no victims): the overview of what the data support
    at ``/``, and the one sentence saying a victim-level page needs a force extract; None on
    any other page, or on a force's own build (see :mod:`vcop.web.public`)."""
    from vcop.web import public
    from vcop.web.nav import ITEMS as NAV_ITEMS

    if not public.published_only(ctx.store):
        return None
    if path == "/":
        return public.overview(ctx)
    if path in public.VICTIM_PAGES:
        title = next((label for label, href, _ in NAV_ITEMS if href == path), "Find a victim")
        return public.needs_extract(title)
    return None


def make_ctx(request: Request, fmt: Format) -> Ctx:
    state = request.app.state.vcop
    session: Session = request.state.session
    return Ctx(
        request=request,
        store=state.store,
        session=session,
        fmt=fmt,
        now=state.clock(),
        suppression_threshold=state.suppression_threshold,
        ops=state.ops,
    )


def render(ctx: Ctx, result: Page) -> Response:
    if ctx.fmt == "json":
        return JSONResponse(
            json.loads(json.dumps(page_json(result, _json_stamp(ctx)), default=_json_default)),
            status_code=result.status_code,
        )
    if ctx.fmt == "csv":
        table = result.table(ctx.param("table"))
        slug = ctx.request.url.path.strip("/").replace("/", "-").removesuffix(".csv") or "overview"
        name = f"{slug}-{table.name}.csv" if len(result.tables) > 1 else f"{slug}.csv"
        return Response(
            table_csv(table),
            status_code=result.status_code,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    templates = ctx.request.app.state.vcop.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        ctx.request,
        result.template,
        {"page": result, **template_globals(ctx.request), **result.context},
        status_code=result.status_code,
    )


def page_json(result: Page, stamp: dict[str, Any] | None = None) -> dict[str, Any]:
    """The page as JSON; ``stamp`` (when the data were loaded, the ledger's as-of date) goes
    into its ``meta``, as the line on every page says it."""
    return {
        "title": result.title,
        "meta": {**result.meta, **(stamp or {})},
        "notes": result.notes,
        "tables": {
            t.name: {
                "title": t.title,
                "columns": [c.key for c in t.columns if c.data],
                "rows": [{c.key: r.get(c.key) for c in t.columns if c.data} for r in t.rows],
            }
            for t in result.tables
        },
    }


def _json_stamp(ctx: Ctx) -> dict[str, Any]:
    """The data's stamp for a JSON twin's ``meta`` (``data_loaded_at``, ``ledger_as_of``)."""
    stamp = data_stamp(ctx.request)
    out = {"data_loaded_at": stamp["loaded_at"], "ledger_as_of": stamp["ledger_as_of"]}
    if stamp.get("published_data_only"):
        out["published_data_only"] = True
        out["data_as_of"] = stamp.get("data_as_of")
    return out


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    columns = [c for c in table.columns if c.data]
    writer.writerow([c.key for c in columns])
    for row in table.rows:
        writer.writerow(["" if row.get(c.key) is None else _csv_value(row[c.key]) for c in columns])
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return safe_cell(value)  # no formula injection when the CSV is opened in a spreadsheet


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def template_globals(request: Request) -> dict[str, Any]:
    """What every template gets: the user, their CSRF token, navigation and twin links."""
    from vcop.web import public
    from vcop.web.nav import hidden_pages, navigation

    session: Session | None = getattr(request.state, "session", None)
    path = request.url.path
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "table"])
    store: WebStore = request.app.state.vcop.store
    published = session is not None and public.published_only(store)
    user = session.user if session else None
    return {
        "stamp": data_stamp(request) if session else None,
        "session": session,
        "user": session.user if session else None,
        "csrf_token": session.csrf if session else None,
        "nav": navigation(
            user, path, public.PAGES if published else None, hidden_pages(store, user)
        ),
        "twin": {
            fmt: twin_path(path, fmt) + (f"?{query}" if query else "")
            for fmt in ("json", "csv", "pdf")
        },
        "path": path,
    }


def data_stamp(request: Request) -> dict[str, Any]:
    """When the data served were loaded and the date the ledger is as of (the latest batch's
    ``loaded_at`` and the last ledger run's ``as_of``), for the line on every page; read once
    per build (a build never changes)."""
    from vcop.store.status import build_facts
    from vcop.web import public

    store: WebStore = request.app.state.vcop.store
    facts = store.cached(("build_facts",), lambda: build_facts(store.cursor()))
    if public.published_only(store):  # no ledger to date: the last day the data cover
        return {
            "loaded_at": facts["last_load_at"],
            "ledger_as_of": None,
            "published_data_only": True,
            "data_as_of": request.app.state.vcop.metrics.as_of(),
        }
    return {"loaded_at": facts["last_load_at"], "ledger_as_of": facts["ledger_as_of"]}
