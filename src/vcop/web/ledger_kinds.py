"""How each obligation is evaluated, from the Code definitions (for grouping the worklist)."""

from __future__ import annotations

from functools import cache

from vcop.spec.code import load_code


@cache
def obligation_kinds() -> dict[str, str]:
    """obligation id -> how it is evaluated (event_update, referral, needs_assessment, …)."""
    return {o.id: o.evaluate.kind for o in load_code().obligations if o.evaluate is not None}


def ids_of_kind(*kinds: str) -> list[str]:
    return sorted(i for i, k in obligation_kinds().items() if k in kinds)
