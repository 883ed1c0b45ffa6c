"""The bodies that owe victims the Code's obligations, by the Code's owner ids, and their names.

The ids are the schema's ``agencies`` list (DECISIONS "Agencies"): ``--agency`` on `vcop ingest`
and `vcop users add`, the ``agency`` column of the partner tables, and each obligation's
``owner`` use them. The Code also names two bodies that owe no record vcop holds (``cica``,
``phso``): they have names here too.
"""

from __future__ import annotations

#: Each body's name, in the order reports take them.
AGENCY_NAMES: dict[str, str] = {
    "police": "Police",
    "cps": "Crown Prosecution Service",
    "wcu": "Witness Care Units",
    "hmcts": "HM Courts and Tribunals Service",
    "hmpps": "HM Prison and Probation Service",
    "parole_board": "Parole Board",
    "victim_hub": "Victim services commissioned by the PCC",
    "any_service_provider": "Every service provider",
    "cica": "Criminal Injuries Compensation Authority",
    "phso": "Parliamentary and Health Service Ombudsman",
}


def agency_name(owner: str) -> str:
    """A body's name ("Crown Prosecution Service" for ``cps``)."""
    return AGENCY_NAMES.get(owner, owner.replace("_", " ").capitalize())


def agencies() -> tuple[str, ...]:
    """The bodies whose records vcop loads and to which a partner account may be tied: the
    schema's ``agencies`` list."""
    from vcop.spec.schema import load_schema

    return load_schema().value_lists["agencies"]
