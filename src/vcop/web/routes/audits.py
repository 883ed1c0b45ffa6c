"""Dip-sample audits: the audits, an audit's cases, and the form an agency's auditor records a
case's findings in, beside the case's ledger and journey.

An auditor (``auditor`` role, tied to an agency) opens the cases of their agency's sample and
records, per right, a judgement, and for the case its quality against the MoJ's five areas, notes
and whether it is a candidate case study (:mod:`vcop.qa.audits`). They see another agency's
findings only once that agency has submitted; the OPCC's analysts see each agency's once it has
submitted. Opening a case shows its victims' records, so every opening is written to the access
log as a record-level read, with every victim and the crime.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from vcop.qa.audits import (
    AUDIT_AGENCIES,
    JUDGEMENTS,
    QUALITY_COLUMNS,
    QUALITY_SCORES,
    Audit,
    AuditError,
    audits,
    current_findings,
    history,
    quality_areas,
    record,
    submit,
)
from vcop.qa.audits import audit as get_audit
from vcop.spec.agencies import agency_name
from vcop.web import audit_cases
from vcop.web.auth import Permission, Role, User
from vcop.web.pages import Column, Ctx, Page, Table, make_ctx, page, render
from vcop.web.routes.common import action

router = APIRouter()


def _agency(user: User) -> str | None:
    """The auditor's agency (None for the OPCC's analysts, who record nothing here)."""
    return user.agency if user.role is Role.auditor else None


def _audit(ctx: Ctx, audit_id: str) -> Audit:
    try:
        return get_audit(ctx.ops, audit_id)
    except AuditError:
        raise HTTPException(404, f"There is no audit {audit_id!r}.") from None


def _check_case(user: User, a: Audit, crime_id: str) -> None:
    agency = _agency(user)
    if agency is not None:
        if crime_id not in a.samples.get(agency, []):
            raise HTTPException(403, f"Case {crime_id} is not in {agency}'s sample of this audit.")
    elif crime_id not in a.crime_ids:
        raise HTTPException(404, f"Case {crime_id} is not in audit {a.audit_id}.")


@page(router, "/audits", Permission.qa, name="audits")
def audit_list(ctx: Ctx) -> Page:
    """Every dip-sample audit, with each agency's sample and whether it has submitted."""
    rows: list[dict[str, Any]] = []
    agency = _agency(ctx.user)
    for a in audits(ctx.ops):
        if agency is not None and agency not in a.samples:
            continue
        for g, cases in a.samples.items():
            if agency is not None and g != agency:
                continue  # an auditor's own panel
            done = {f["crime_id"] for f in current_findings(ctx.ops, a.audit_id, agencies=[g])}
            rows.append({
                "audit_id": a.audit_id, "quarter": a.quarter, "agency": agency_name(g),
                "cases": len(cases), "with_findings": len(done & set(cases)),
                "submitted_at": a.submitted[g][0] if g in a.submitted else None,
            })  # fmt: skip
    return Page(
        title="Dip-sample audits",
        tables=[
            Table(
                "audits",
                "Audits and each agency's sample",
                [
                    Column("audit_id", "Audit", link="/audits/{audit_id}"),
                    Column("quarter", "Quarter"),
                    Column("agency", "Agency"),
                    Column("cases", "Cases", "number"),
                    Column("with_findings", "With findings", "number"),
                    Column("submitted_at", "Submitted", "datetime"),
                ],
                rows,
                caption="An audit is made by drawing an agency's sample into it: `vcop report "
                "sample --audit ID --agency AGENCY`.",
                empty="There is no audit yet.",
            )
        ],
    )


@page(router, "/audits/{audit_id}", Permission.qa, name="audit", twins=False)
def audit_page(ctx: Ctx) -> Page:
    """An audit's cases (an auditor's own agency's sample; every sample for analysts)."""
    a = _audit(ctx, ctx.request.path_params["audit_id"])
    agency = _agency(ctx.user)
    chosen = [agency] if agency is not None else list(a.samples)
    if agency is not None and agency not in a.samples:
        raise HTTPException(403, f"This audit holds no sample for {agency}.")
    shown = set(chosen) & (set(a.submitted) | ({agency} if agency else set()))
    done = {(f["agency"], f["crime_id"]) for f in current_findings(ctx.ops, a.audit_id,
                                                                    agencies=sorted(shown))}  # fmt: skip
    rows = []
    for g in chosen:
        for number, crime_id in enumerate(a.samples.get(g, []), start=1):
            rows.append({
                "agency": agency_name(g), "sample_no": number, "crime_id": crime_id,
                "link": f"/audits/{quote(a.audit_id, safe='')}/cases/{quote(crime_id, safe='')}",
                "state": "Findings recorded" if (g, crime_id) in done
                else ("Not shown until submitted" if g not in shown else "Not started"),
            })  # fmt: skip
    ctx.log(
        "audit_cases",
        reason=f"Dip-sample audit {a.audit_id}",
        detail=f"audit={a.audit_id} agencies={','.join(chosen)}; {len(rows)} case(s)",
        records=[(None, str(r["crime_id"])) for r in rows],
    )
    return Page(
        title=f"Audit {a.audit_id}",
        template="audit.html",
        tables=[
            Table(
                "cases",
                "Cases",
                [
                    Column("agency", "Agency"),
                    Column("sample_no", "No.", "number"),
                    Column("crime_id", "Case", link="{link}"),
                    Column("state", "Findings"),
                ],
                rows,
                empty="No sample has been drawn into this audit.",
            )
        ],
        context={
            "audit": a,
            "agency": agency,
            "agency_label": agency_name(agency) if agency else None,
            "submitted": a.submitted.get(agency) if agency else None,
            "agencies": [
                (g, agency_name(g), a.submitted.get(g)) for g in AUDIT_AGENCIES if g in a.samples
            ],
        },
    )


@page(router, "/audits/{audit_id}/cases/{crime_id}", Permission.qa, name="audit_case", twins=False)
def audit_case(ctx: Ctx) -> Page:
    """One audited case: the form for the agency's findings beside the case's ledger and journey."""
    params = ctx.request.path_params
    saved = ctx.choice_param("saved", ["1"]) == "1"
    return case_page(ctx, params["audit_id"], params["crime_id"], saved=saved)


def case_page(
    ctx: Ctx,
    audit_id: str,
    crime_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    saved: bool = False,
) -> Page:
    a = _audit(ctx, audit_id)
    _check_case(ctx.user, a, crime_id)
    agency = _agency(ctx.user)
    victims = audit_cases.case_victims(ctx.store, crime_id)
    ledger = audit_cases.case_ledger(ctx.store, crime_id)
    for row in ledger:
        row["owner_label"] = agency_name(str(row["owner"])) if row.get("owner") else None
    timeline = audit_cases.case_timeline(ctx.store, crime_id)
    own, others = audit_cases.findings_for(ctx.ops, a, crime_id, agency)
    ctx.log(
        "audit_case",
        crime_id=crime_id,
        reason=f"Dip-sample audit {a.audit_id}",
        detail=f"audit={a.audit_id} agency={agency or 'all submitted'}; {len(victims)} victim(s)",
        records=[(str(v["victim_id"]), crime_id) for v in victims] or [(None, crime_id)],
    )
    editable = agency is not None and agency not in a.submitted
    trail = history(ctx.ops, a.audit_id, agency, crime_id) if agency else []
    for r in [*others, *trail]:
        r["agency_name"] = agency_name(str(r["agency"]))
        r["judgement_text"] = (
            "Case as a whole"
            if r["right"] is None
            else JUDGEMENTS.get(str(r["judgement"]), "Withdrawn (not judged)")
        )
        r["case_study_text"] = ("Yes" if r["case_study"] else "No") if r["right"] is None else None
    return Page(
        title=f"Case {crime_id}",
        template="audit_case.html",
        tables=[
            Table(
                "ledger",
                "The ledger's view of the case",
                [
                    Column("right", "Right", "number"),
                    Column("title", "Obligation"),
                    Column("owner_label", "Owner"),
                    Column("victim_id", "Victim"),
                    Column("due_date", "Due", "date"),
                    Column("met_at", "Met", "datetime"),
                    Column("status", "Status", "status"),
                    Column("reason", "Why"),
                ],
                ledger,
                empty="The ledger holds no obligation of this case.",
            ),
            Table(
                "timeline",
                "The case's journey",
                [
                    Column("happened_at", "When", "datetime"),
                    Column("victim_id", "Victim"),
                    Column("kind", "What"),
                    Column("what", "Detail"),
                    Column("detail", "More"),
                    Column("outcome", "Result", "status"),
                ],
                timeline,
                empty="Nothing has been recorded yet.",
            ),
            Table(
                "others",
                "Other agencies' findings (submitted)"
                if agency
                else "Agencies' findings (submitted)",
                [
                    Column("agency_name", "Agency"),
                    Column("right", "Right", "number"),
                    Column("judgement_text", "Judgement"),
                    *[
                        Column(c, f"Area {i}", "number")
                        for i, c in enumerate(QUALITY_COLUMNS, start=1)
                    ],
                    Column("notes", "Notes"),
                    Column("recorded_by", "Recorded by"),
                    Column("recorded_at", "When", "datetime"),
                ],
                others,
                empty="No other agency has submitted findings for this case yet."
                if agency
                else "No agency has submitted findings for this case yet.",
            ),
            *(
                [
                    Table(
                        "history",
                        "Your agency's findings, as recorded",
                        [
                            Column("finding_id", "Finding", "number"),
                            Column("right", "Right", "number"),
                            Column("judgement_text", "Judgement"),
                            *[
                                Column(c, f"Area {i}", "number")
                                for i, c in enumerate(QUALITY_COLUMNS, start=1)
                            ],
                            Column("notes", "Notes"),
                            Column("case_study_text", "Case study"),
                            Column("recorded_by", "Recorded by"),
                            Column("recorded_at", "When", "datetime"),
                            Column("supersedes", "Replaces finding", "number"),
                        ],
                        trail,
                        caption="Findings are never changed: a change is a new finding that "
                        "replaces the earlier one.",
                        empty="Nothing recorded yet.",
                    )
                ]
                if agency
                else []  # an analyst has no agency of their own, so no findings of their own
            ),
        ],
        context={
            "audit": a,
            "crime_id": crime_id,
            "agency": agency,
            "agency_label": agency_name(agency) if agency else None,
            "editable": editable,
            "victims": victims,
            "rights": audit_cases.rights_of(ledger),
            "judgements": JUDGEMENTS,
            "areas": list(zip(QUALITY_COLUMNS, quality_areas(), strict=True)),
            "scores": QUALITY_SCORES,
            "values": values if values is not None else audit_cases.form_values(own),
            "errors": errors or {},
            "saved": saved,
        },
        status_code=400 if errors else 200,
    )


async def record_case(request: Request) -> Response:
    """Record the agency's findings of a case (each a new row superseding the one before)."""
    form = await request.form()
    return await run_in_threadpool(_record_case, request, dict(form))


def _record_case(request: Request, form: dict[str, Any]) -> Response:
    ctx = make_ctx(request, "html")
    audit_id, crime_id = request.path_params["audit_id"], request.path_params["crime_id"]
    a = _audit(ctx, audit_id)
    _check_case(ctx.user, a, crime_id)
    agency = _agency(ctx.user)
    if agency is None:
        raise HTTPException(403, "Only an agency's auditors record findings.")
    if agency in a.submitted:
        raise HTTPException(403, f"{agency} has submitted this audit: its findings are final.")
    rights = audit_cases.rights_of(audit_cases.case_ledger(ctx.store, crime_id))
    findings, errors, values = audit_cases.parse_form(
        form, audit_id=audit_id, agency=agency, crime_id=crime_id, rights=rights
    )
    if not errors:
        try:
            record(ctx.ops, findings, by=ctx.user.username, now=ctx.now, channel="web")
        except AuditError as exc:
            errors["notes"] = str(exc)
    if errors:
        return render(ctx, case_page(ctx, audit_id, crime_id, errors=errors, values=values))
    return RedirectResponse(
        f"/audits/{quote(audit_id, safe='')}/cases/{quote(crime_id, safe='')}?saved=1",
        status_code=303,
    )


def submit_audit(request: Request) -> Response:
    """Submit the auditor's agency's part of the audit."""
    ctx = make_ctx(request, "html")
    a = _audit(ctx, request.path_params["audit_id"])
    agency = _agency(ctx.user)
    if agency is None or agency not in a.samples:
        raise HTTPException(403, "Only the agency's auditors submit its part of an audit.")
    try:
        submit(ctx.ops, a.audit_id, agency, by=ctx.user.username, now=ctx.now)
    except AuditError as exc:
        raise HTTPException(400, str(exc)) from None
    ctx.log("audit_submit", reason=f"Dip-sample audit {a.audit_id}",
            detail=f"audit={a.audit_id} agency={agency} submitted")  # fmt: skip
    return RedirectResponse(f"/audits/{quote(a.audit_id, safe='')}", status_code=303)


record_case.vcop_permission = Permission.qa  # type: ignore[attr-defined]
router.add_api_route(
    "/audits/{audit_id}/cases/{crime_id}",
    record_case,
    methods=["POST"],
    name="audit_case_record",
    include_in_schema=False,
)
action(router, "/audits/{audit_id}/submit", Permission.qa, name="audit_submit")(submit_audit)
