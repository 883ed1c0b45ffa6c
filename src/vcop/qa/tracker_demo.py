"""The demo's inspection tracker: the December 2023 joint inspection, from the data file
``definitions/tracker/joint_inspection_2023.yaml``, with Demoshire's synthetic statuses.

The report and its recommendations are as the Commissioners' responses in the seeds give them
(summarised in vcop's own words); the statuses, notes and evidence are made up for the demo, and
marked so: the report's ``origin`` says it, and every demo note starts with :data:`DEMO_MARK`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml

from vcop.qa.tracker import (
    Item,
    Report,
    Update,
    check_agency,
    check_date,
    check_evidence,
    check_kind,
    check_reference,
    check_report_id,
    check_status,
    check_text,
    insert_item,
    insert_report,
    insert_update,
)
from vcop.store.ops import OpsStore

DEMO_FILE = ("tracker", "joint_inspection_2023.yaml")
#: The start of every note the demo writes.
DEMO_MARK = "[demo, synthetic]"
#: Who the demo's rows are recorded as.
DEMO_USER = "demo"


@dataclass(frozen=True)
class Content:
    report: Report
    items: list[Item]
    #: Synthetic: each item's history (by reference), oldest first.
    history: dict[str, list[Update]]


def read_content(text: str | None = None) -> Content:
    """The data file (or ``text`` in its form) as a report, its items and the demo's history."""
    if text is None:
        text = resources.files("vcop.definitions").joinpath(*DEMO_FILE).read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    r = data["report"]
    demo = data.get("demo") or {}
    report = Report(
        check_report_id(r["report_id"], "report_id"),
        str(check_text(r["title"], "title")),
        str(check_text(r["inspectorate"], "inspectorate")),
        check_date(r["published_on"], "published_on"),
        r.get("url"),
        check_date(demo["responded_on"], "responded_on") if demo.get("responded_on") else None,
        "demo content (statuses synthetic): "
        + " ".join(str(r["source"]).split())
        + (f"; link: {r['url_note']}" if r.get("url_note") else ""),
    )
    items = [
        Item(
            report.report_id,
            check_reference(str(i["reference"])),
            check_kind(i["kind"]),
            str(check_text(i["text"], "text")),
            str(check_text(i["owner"], "owner")),
            check_agency(i.get("agency")),
            check_date(i["due_by"], "due_by") if i.get("due_by") else None,
        )
        for i in data["items"]
    ]
    history = {
        str(ref): [
            Update(
                check_status(h["status"]),
                check_date(h["changed_on"], "changed_on"),
                f"{DEMO_MARK} {h['note']}" if h.get("note") else DEMO_MARK,
                check_evidence(h.get("evidence")),
            )
            for h in rows
        ]
        for ref, rows in (demo.get("history") or {}).items()
    }
    return Content(report, items, history)


def load_demo(ops: OpsStore, *, now: datetime, until: date | None = None) -> bool:
    """Put the demo's inspection in the tracker unless it is there already (True when written),
    with its history up to ``until`` (the demo's last day), in one transaction."""
    content = read_content()
    if ops.scalar("SELECT 1 FROM tracker_reports WHERE report_id = ?", [content.report.report_id]):
        return False
    report = content.report
    if until is not None and report.responded_on is not None and report.responded_on > until:
        report = Report(report.report_id, report.title, report.inspectorate,
                        report.published_on, report.url, None, report.origin)  # fmt: skip
    with ops.transaction() as tx:
        insert_report(tx, report, username=DEMO_USER, now=now)
        for item in content.items:
            updates = [
                u for u in content.history.get(item.reference, [])
                if until is None or u.changed_on <= until
            ]  # fmt: skip
            if not updates:
                continue
            first, *rest = updates
            insert_item(tx, item, first, username=DEMO_USER, os_user=None, now=now)
            for u in rest:
                insert_update(tx, item.report_id, item.reference, u, username=DEMO_USER,
                               os_user=None, now=now)  # fmt: skip
    return True
