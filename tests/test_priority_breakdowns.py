"""The board's priority areas as breakdowns: child abuse and child exploitation (offence code and
the victim's age), serious sexual offences (offence code), declared as data."""

from __future__ import annotations

import duckdb
import ibis

from vcop.metrics.engine import quietly
from vcop.metrics.relations import with_groups
from vcop.spec.metrics import load_catalogue


def _labels(breakdown_id: str) -> dict[str, str]:
    con = duckdb.connect()
    con.execute("CREATE TABLE crimes (crime_id VARCHAR, offence_code VARCHAR)")
    con.execute("CREATE TABLE victims (victim_id VARCHAR, crime_id VARCHAR, age_at_report INTEGER)")
    rows = [
        # victim, crime, offence code, age
        ("v1", "c1", "11A", 9),  # cruelty to a child
        ("v2", "c2", "8N", 15),  # assault with injury on a 15-year-old
        ("v3", "c3", "8N", 30),  # the same offence on an adult
        ("v4", "c4", "46", 12),  # shoplifting: not on any list
        ("v5", "c5", "71", 14),  # child sexual exploitation
        ("v6", "c6", "19C", None),  # rape, age not recorded
        ("v7", "c7", None, 10),  # no offence code
        ("v8", "c8", " 88a ", 17),  # grooming, written loosely
    ]
    for victim, crime, code, age in rows:
        con.execute("INSERT INTO crimes VALUES (?, ?)", [crime, code])
        con.execute("INSERT INTO victims VALUES (?, ?, ?)", [victim, crime, age])
    con.execute(
        "CREATE TABLE ledger AS SELECT victim_id, crime_id, 'R4' AS obligation_id FROM victims"
    )
    with quietly():
        backend = ibis.duckdb.from_connection(con)
        b = load_catalogue().breakdown(breakdown_id)
        t = with_groups(backend.table("ledger"), backend, (b,))
        got = t.select("victim_id", "_g0").execute()
    assert "_ga_age" not in t.columns  # the helper column does not leak into the figures
    return dict(zip(got["victim_id"], got["_g0"], strict=True))


def test_child_abuse_needs_the_offence_and_a_child() -> None:
    got = _labels("child_abuse")
    assert got["v1"] == got["v2"] == got["v5"] == "child abuse"
    assert got["v3"] == got["v4"] == "not child abuse"
    assert got["v6"] == got["v7"] == "not recorded"  # on the list at no age; no code at all


def test_child_exploitation_is_its_own_list() -> None:
    got = _labels("child_exploitation")
    assert got["v5"] == "child exploitation"
    assert got["v1"] == got["v2"] == "not child exploitation"


def test_serious_sexual_offences_need_no_age() -> None:
    got = _labels("serious_sexual_offence")
    assert got["v6"] == got["v5"] == "serious sexual offence"
    assert got["v1"] == got["v3"] == "other offence"
    assert got["v7"] == "not recorded"
