"""What several pages share: the ledger's state, obligation kinds, record scope and the mark of
a hidden figure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from vcop.metrics.release import SUPPRESSED
from vcop.web.auth import Permission, User
from vcop.web.ledger import LEDGER, ledger_as_of, no_ledger_note

__all__ = ["LEDGER", "SUPPRESSED", "ledger_as_of", "no_ledger_note"]


def scope_of(user: User) -> tuple[str, list[object]]:
    """The SQL condition (on ``crimes`` as ``c``) for the crimes ``user`` may see records of."""
    try:
        return user.crime_scope("c")
    except PermissionError:
        raise HTTPException(403, "Your role does not give access to records.") from None


def action(
    router: APIRouter, path: str, permission: Permission, *, name: str
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a form's POST handler under ``permission`` (the CSRF check is in ``authorize``)."""

    def register(fn: Callable[..., Response]) -> Callable[..., Response]:
        fn.vcop_permission = permission  # type: ignore[attr-defined]
        router.add_api_route(path, fn, methods=["POST"], name=name, include_in_schema=False)
        return fn

    return register


def plain(request: Request) -> dict[str, Any]:
    """The query string as a plain dict (for filling in filter forms)."""
    return dict(request.query_params.items())
