"""`vcop harm`: harm by place and month, harm concentration, and victims ranked by harm."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from vcop.cli.access import record_reader
from vcop.cli.app import app, console, fail, open_store
from vcop.cli.data import DbOption, OutputFormat, _emit
from vcop.config import DEFAULT_DB

harm_app = typer.Typer(
    help="Crime harm (Cambridge Crime Harm Index and ONS Crime Severity Score).",
    no_args_is_help=True,
)
app.add_typer(harm_app, name="harm")

#: Roles that may list victims by harm (a record-level list).
HARM_LIST_ROLES = ("analyst", "supervisor")


def _day(value: dt.datetime) -> dt.date:
    return value.date()


@harm_app.command("areas")
def harm_areas(
    start: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day.")],
    db: DbOption = DEFAULT_DB,
    level: Annotated[str, typer.Option(help="district, area, force or lsoa_code.")] = "district",
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Crimes and harm (CCHI days, CSS) per place and month."""
    from vcop.harm import harm_by_area

    if level not in ("district", "area", "force", "lsoa_code"):
        fail("--level must be one of district, area, force, lsoa_code")
    con = open_store(db, read_only=True)
    rows = harm_by_area(con, level=level, start=_day(start), end=_day(end))  # type: ignore[arg-type]
    _emit([level, "month", "crimes", "css", "cchi"], rows, output, title="Harm by place and month")


@harm_app.command("concentration")
def harm_concentration(
    start: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day.")],
    db: DbOption = DEFAULT_DB,
    index: Annotated[str, typer.Option(help="cchi or css.")] = "cchi",
    top: Annotated[
        float, typer.Option(help="Share of LSOAs counted as the top (default 5%).")
    ] = 0.05,
) -> None:
    """What share of the force area's harm falls in its most harmed LSOAs."""
    from vcop.harm import concentration

    con = open_store(db, read_only=True)
    c = concentration(con, start=_day(start), end=_day(end), index=index, top_share=top)  # type: ignore[arg-type]
    console.print(
        f"{c['share']:.1%} of {index.upper()} harm ({c['top_harm']:,} of {c['total_harm']:,}) fell in the "
        f"top {top:.0%} of LSOAs ({c['top_lsoas']} of {c['lsoas']}) between {start.date()} and {end.date()}."
    )


@harm_app.command("victims")
def harm_victims(
    as_of: Annotated[
        dt.datetime, typer.Option("--as-of", formats=["%Y-%m-%d"], help="End of the rolling year.")
    ],
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="Your vcop account (analyst or supervisor). Its password is asked for at a "
            "terminal, else read from VCOP_PASSWORD.",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why you need this list (logged).")],
    db: DbOption = DEFAULT_DB,
    area: Annotated[str | None, typer.Option(help="Only crimes in this area.")] = None,
    top: Annotated[int, typer.Option(min=1, max=10000, help="How many victims.")] = 20,
    index: Annotated[str, typer.Option(help="cchi or css.")] = "cchi",
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Victims with the most harm from crimes in the 12 months to --as-of, with repeat counts.

    A record-level list: only analysts (every crime) and supervisors (their own unit's crimes)
    may run it, with their password and a reason, and every run is written to the access log
    with who, when, why and every victim listed.
    """
    from vcop.harm import victims_by_harm

    if index not in ("cchi", "css"):
        fail("--index must be cchi or css")
    detail = f"as_of={as_of.date()} area={area or 'all'} top={top} index={index}"
    reader = record_reader(
        db, user=user, reason=reason, action="harm_victims", what="list victims by harm",
        roles=HARM_LIST_ROLES, detail=detail,
    )  # fmt: skip
    scope = None if reader.sees_everything else reader.scope("c")
    con = open_store(db, read_only=True)
    try:
        names, rows = victims_by_harm(
            con, as_of=_day(as_of), area=area, top=top, index=index, scope=scope,  # type: ignore[arg-type]
        )  # fmt: skip
    finally:
        con.close()
    reader.log(
        f"{detail} scope={reader.user.scope_label}; {len(rows)} victim(s)",
        records=[(str(r[0]), None) for r in rows],
    )
    _emit(
        names, rows, output, title=f"Victims by {index.upper()} harm, 12 months to {as_of.date()}"
    )


__all__ = ["harm_app"]
