"""Jinja filters: how numbers, dates, statuses and chart specs are written on a page."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

#: GOV.UK tag colours for ledger statuses (and similar words).
STATUS_TAGS: dict[str, tuple[str, str]] = {
    "met": ("Met", "govuk-tag--green"),
    "late": ("Met late", "govuk-tag--yellow"),
    "pending": ("Due", "govuk-tag--blue"),
    "overdue": ("Overdue", "govuk-tag--red"),
    "not_applicable": ("Not applicable", "govuk-tag--grey"),
    "failed": ("Not reached", "govuk-tag--orange"),
    "reached": ("Reached", "govuk-tag--green"),
}


def cell(value: Any, kind: str = "text") -> str:
    """A value as text for a table cell."""
    if value is None or value == "":
        return "–"
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if kind == "month" and isinstance(value, date):
        return f"{value:%b %Y}"
    if kind == "coordinate" and isinstance(value, int | float):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return (
            value.strftime("%-d %b %Y %H:%M")
            if value.time() != datetime.min.time()
            else value.strftime("%-d %b %Y")
        )
    if isinstance(value, date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def status_tag(value: Any) -> Markup:
    label, css = STATUS_TAGS.get(str(value), (str(value).replace("_", " "), "govuk-tag--grey"))
    return Markup('<strong class="govuk-tag {}">{}</strong>').format(css, label)


def spc_tag(value: Any) -> Markup:
    """An SPC variation or point type as a labelled tag (colour is never the only cue)."""
    from vcop.web.charts import SPC_LABELS

    if not value:
        return Markup("–")
    label, css = SPC_LABELS.get(str(value), (str(value).replace("_", " "), "govuk-tag--grey"))
    return Markup('<strong class="govuk-tag {}">{}</strong>').format(css, label)


def assurance_tag(value: Any) -> Markup:
    from vcop.web.routes.figures import ASSURANCE_LABELS

    if not value:
        return Markup("–")
    label, css = ASSURANCE_LABELS.get(str(value), (str(value).replace("_", " "), "govuk-tag--grey"))
    return Markup('<strong class="govuk-tag {}">{}</strong>').format(css, label)


def spec_json(spec: dict[str, Any]) -> Markup:
    """A chart spec as JSON safe to put inside ``<script type="application/json">``."""
    text = json.dumps(spec, default=str, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # bandit B704: JSON with <, > and & escaped above
    return Markup(text)  # nosec B704


def prose(text: Any) -> Markup:
    """Text for a page with each `command` in backticks set as code (never literal backticks);
    everything else is escaped."""
    parts = ("" if text is None else str(text)).split("`")
    if len(parts) % 2 == 0:  # an odd backtick out is just a character
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    out = Markup("")
    for i, part in enumerate(parts):
        out += Markup('<code class="vcop-code">{}</code>').format(part) if i % 2 else part
    return out


def label_filter(value: Any, kind: str | None = None) -> str:
    """``{{ code | label('ethnicity') }}``: a code in words (see :mod:`vcop.web.labels`)."""
    from vcop.web.labels import label

    return label(kind, value)


def install(env: Environment) -> None:
    env.filters["prose"] = prose
    env.filters["label"] = label_filter
    env.filters["cell"] = cell
    env.filters["status_tag"] = status_tag
    env.filters["spec_json"] = spec_json
    env.filters["spc_tag"] = spc_tag
    env.filters["assurance_tag"] = assurance_tag
