"""Agreement between the auditors and the ledger: a data-quality measure in its own right.

For every obligation the ledger judged on an audited case, each agency's judgement of that right
on that case is set beside the ledger's status, read as DECISIONS "QA & tracker" says: the
ledger's ``met`` ↔ met, ``late`` ↔ partly met, ``overdue`` ↔ not met. Obligations the ledger has
not judged (``pending``, ``not_applicable``) and rights an auditor found not applicable are left
out: there is nothing to agree on. Per right, the *agreement rate* is the share of pairs where the
two say the same, and *Cohen's kappa* corrects it for the agreement expected by chance from each
side's own mix of judgements: ``kappa = (p_o - p_e) / (1 - p_e)``, where ``p_o`` is the observed
agreement and ``p_e`` the sum over judgements of the product of the two sides' shares. Kappa is
undefined (None) when ``p_e`` is 1 (both sides gave one and the same judgement throughout).

Only findings an agency has submitted are compared (:func:`vcop.qa.audits.visible_agencies`
with no viewer agency).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: The ledger's status, read as an auditor's judgement; other statuses are left out.
LEDGER_JUDGEMENT: dict[str, str] = {"met": "met", "late": "partly_met", "overdue": "not_met"}


@dataclass(frozen=True)
class Pair:
    """One obligation the ledger judged, and one agency's judgement of its right on the case."""

    crime_id: str
    victim_id: str
    obligation_id: str
    right: int
    status: str
    ledger: str
    agency: str
    auditor: str

    @property
    def agree(self) -> bool:
        return self.ledger == self.auditor


@dataclass(frozen=True)
class RightAgreement:
    """Agreement on one right (``right`` None: every right together)."""

    right: int | None
    pairs: int
    agreed: int
    kappa: float | None

    @property
    def rate(self) -> float | None:
        return self.agreed / self.pairs if self.pairs else None


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels of the same items (None when chance agreement is 1,
    or there are no items)."""
    if len(first) != len(second):
        raise ValueError("the two raters must label the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    a_counts, b_counts = Counter(first), Counter(second)
    expected = sum(a_counts[k] * b_counts[k] for k in a_counts) / (n * n)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def pairs(ledger: Iterable[dict[str, Any]], findings: Iterable[dict[str, Any]]) -> list[Pair]:
    """The pairs: ``ledger`` rows (crime_id, victim_id, obligation_id, right, status) beside the
    judgements in ``findings`` (current findings: agency, crime_id, right, judgement)."""
    judged: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for f in findings:
        if f.get("right") is None or f.get("judgement") in (None, "not_applicable"):
            continue
        key = (str(f["crime_id"]), int(f["right"]))
        judged.setdefault(key, []).append((str(f["agency"]), str(f["judgement"])))
    out: list[Pair] = []
    for row in ledger:
        reading = LEDGER_JUDGEMENT.get(str(row["status"]))
        if reading is None or row.get("right") is None:
            continue
        right = int(row["right"])
        for agency, judgement in judged.get((str(row["crime_id"]), right), []):
            out.append(
                Pair(
                    str(row["crime_id"]),
                    str(row["victim_id"]),
                    str(row["obligation_id"]),
                    right,
                    str(row["status"]),
                    reading,
                    agency,
                    judgement,
                )
            )
    return sorted(out, key=lambda p: (p.right, p.crime_id, p.victim_id, p.obligation_id, p.agency))


def by_right(found: Sequence[Pair]) -> list[RightAgreement]:
    """Agreement per right, in the right's order, then every right together (``right`` None)."""
    out: list[RightAgreement] = []
    for right in sorted({p.right for p in found}):
        mine = [p for p in found if p.right == right]
        out.append(_agreement(right, mine))
    if found:
        out.append(_agreement(None, list(found)))
    return out


def _agreement(right: int | None, chosen: Sequence[Pair]) -> RightAgreement:
    return RightAgreement(
        right,
        len(chosen),
        sum(p.agree for p in chosen),
        cohen_kappa([p.ledger for p in chosen], [p.auditor for p in chosen]),
    )


def ledger_rows(con: Any, crime_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ledger's rows of the audited cases, from the build ``con`` (DuckDB)."""
    if not crime_ids:
        return []
    cur = con.execute(
        'SELECT crime_id, victim_id, obligation_id, "right", owner, status FROM entitlements '
        "WHERE list_contains(?, crime_id) ORDER BY crime_id, victim_id, obligation_id",
        [list(crime_ids)],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
