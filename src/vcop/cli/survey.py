"""``vcop survey``: Victim Voice invitations (``vcop survey invite``)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vcop.cli.app import app, cli_settings, console, fail, open_ops_store, open_store
from vcop.config import DEFAULT_DB, INVITE_WHEN

if TYPE_CHECKING:
    from vcop.voice.invitations import Invitation

survey_app = typer.Typer(
    help="Victim Voice: invite victims to the questionnaire by one-time links.",
    no_args_is_help=True,
)
app.add_typer(survey_app, name="survey")

#: The columns of the invitations file, in order.
INVITATION_COLUMNS = ("victim_id", "crime_id", "url", "expires_at")


@survey_app.command("invite")
def invite(
    as_of: Annotated[
        dt.datetime,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Choose the victims due on this day."),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            dir_okay=False,
            help="The CSV to write (victim_id, crime_id, url, expires_at) for the force's own "
            "SMS or email sender; only its owner may read it. It must not exist yet.",
        ),
    ],
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why you issue the invitations (logged)."),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Your vcop account (an analyst's; default: your login name)."),
    ] = None,
    db: Annotated[Path, typer.Option("--db", help="The vcop DuckDB database file.")] = DEFAULT_DB,
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=1, help="Days each link works for (setting survey.link_days; 28)."
        ),
    ] = None,
    after_months: Annotated[
        int | None,
        typer.Option(
            "--after-months",
            min=1,
            help="Months after the crime was reported at which its victims are due (setting "
            "survey.invite_after_months; 2).",
        ),
    ] = None,
    within_days: Annotated[
        int | None,
        typer.Option(
            "--within-days",
            min=1,
            help="Invite only victims who became due within this many days up to --as-of "
            "(setting survey.invite_within_days; 31).",
        ),
    ] = None,
    when: Annotated[
        str | None,
        typer.Option(
            "--when",
            help="What makes a victim due: reached (the crime reached --after-months), finalised "
            "(the crime has an outcome) or reached_or_finalised (setting survey.invite_when).",
        ),
    ] = None,
) -> None:
    """Choose the victims due a Victim Voice questionnaire and write a one-time link for each.

    A victim is due when their crime reached two months since it was reported, or was
    finalised (configurable), in the last 31 days (--within-days), unless they opted out of contact (updates_opt_out), the force
    flagged them unsafe to contact (unsafe_to_contact), or they were invited for that crime
    before.

    Children are never invited: a victim under 18 when the crime was reported (age_at_report),
    or whose age is not recorded, is left out (the command says how many). A child's
    questionnaire goes to a parent or guardian by the force's own process, not by a link.

    Each link ({survey.public_base_url}/voice/{token}) works once, until it expires; vcop
    keeps only a hash of its token. This is a record-level export: it needs an analyst's
    account and a reason, and is logged with every victim and crime it lists.
    """
    from collections import Counter

    from vcop.cli.access import record_reader
    from vcop.voice.invitations import due, invited_pairs, issue

    settings = cli_settings(db)
    chosen_when = when or settings.survey.invite_when
    if chosen_when not in INVITE_WHEN:
        fail(f"--when must be one of {', '.join(INVITE_WHEN)}, not {chosen_when!r}")
    base_url = settings.survey.public_base_url
    if not base_url:
        fail(
            "no public address for the questionnaire: set survey.public_base_url in vcop.toml "
            "(or VCOP_SURVEY_PUBLIC_BASE_URL) to the address the force's public web proxy serves "
            "`vcop serve --public` at, e.g. https://voice.force.police.uk"
        )
    if out.exists():
        fail(f"{out} exists already: links are written once; choose a new file")
    if not db.exists():
        fail(f"{db}: no such vcop database")
    link_days = days or settings.survey.link_days
    months = after_months or settings.survey.invite_after_months
    window = within_days or settings.survey.invite_within_days
    day = as_of.date()
    detail = (
        f"as_of={day} when={chosen_when} after_months={months} within_days={window} "
        f"days={link_days}"
    )
    reader = record_reader(
        db, user=user, reason=reason, action="survey_invite",
        what="issue Victim Voice invitations", roles=["analyst"], detail=detail,
    )  # fmt: skip
    con = open_store(db, read_only=True)
    ops = open_ops_store(db)
    left_out: Counter[str] = Counter()
    try:
        chosen = due(
            con, day, after_months=months, when=chosen_when, within_days=window,
            invited=invited_pairs(ops), scope=reader.scope("c"), left_out=left_out,
        )  # fmt: skip
        temp = out.with_name(f".{out.name}.part")
        try:
            made = issue(
                ops, chosen, as_of=day, now=dt.datetime.now(), days=link_days,
                base_url=base_url, username=reader.user.username,
                write=lambda invitations: _write(temp, out, invitations),
            )  # fmt: skip
        finally:
            temp.unlink(missing_ok=True)
    finally:
        ops.close()
        con.close()
    reader.log(f"{detail}; {len(made)} invitation(s) to {out.name}",
               records=[(i.victim_id, i.crime_id) for i in made])  # fmt: skip
    console.print(
        f"Wrote {len(made):,} invitation(s) to {out}; links expire after {link_days} days.",
        highlight=False,
    )
    if left_out:
        counts = ", ".join(f"{n:,} {why}" for why, n in sorted(left_out.items()))
        console.print(
            f"Not invited, though otherwise due: {counts}. Children, and victims whose age is "
            "not recorded, are never invited; a child's questionnaire goes to a parent or "
            "guardian by the force's own process.",
            highlight=False,
        )


def _write(temp: Path, out: Path, invitations: Sequence[Invitation]) -> None:
    """Write the invitations to ``temp`` (readable by its owner only), then move it to ``out``."""
    from vcop.export import csv_writer, safe_row

    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(INVITATION_COLUMNS)
        for i in invitations:
            writer.writerow(
                safe_row(
                    [i.victim_id, i.crime_id, i.url, i.expires_at.isoformat(timespec="seconds")]
                )
            )
    os.replace(temp, out)
