"""Vega-Lite specs for the dashboard's charts.

Every chart is drawn from rows a page also shows as a table (the chart's text alternative), and
every spec carries a ``description`` that becomes the chart's accessible name. Colours are the
GOV.UK palette; text is the page's font.
"""

from __future__ import annotations

from typing import Any

BLUE = "#1d70b8"
DARK_BLUE = "#003078"
RED = "#d4351c"
GREEN = "#00703c"
ORANGE = "#f47738"
GREY = "#505a5f"
LIGHT_GREY = "#b1b4b6"

#: SPC point types: their words and GOV.UK tag class (the dashboard's and the reports' charts).
SPC_LABELS: dict[str, tuple[str, str]] = {
    "common_cause": ("Common cause", "govuk-tag--grey"),
    "special_cause_improvement": ("Improving", "govuk-tag--blue"),
    "special_cause_concern": ("Concern", "govuk-tag--orange"),
    "special_cause_neutral_high": ("Unusually high", "govuk-tag--purple"),
    "special_cause_neutral_low": ("Unusually low", "govuk-tag--purple"),
}
#: The colour of a point of each SPC type on an XmR chart.
POINT_COLOURS = {
    "common_cause": GREY,
    "special_cause_improvement": BLUE,
    "special_cause_concern": ORANGE,
    "special_cause_neutral_high": "#4c2c92",
    "special_cause_neutral_low": "#4c2c92",
}

_CONFIG: dict[str, Any] = {
    "font": "arial, sans-serif",
    "axis": {
        "labelFontSize": 14,
        "titleFontSize": 14,
        "labelColor": "#0b0c0c",
        "titleColor": "#0b0c0c",
    },
    "legend": {"labelFontSize": 14, "titleFontSize": 14},
    "view": {"stroke": None},
}


def _base(description: str, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": description,
        "data": {"values": rows},
        "config": _CONFIG,
        "width": "container",
        "autosize": {"type": "fit-x", "contains": "padding"},
        **extra,
    }


def bar_chart(
    rows: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    description: str,
    percent: bool = False,
) -> dict[str, Any]:
    """Horizontal bars: one per row, ``x`` the length, ``y`` the label."""
    values = [{y: r.get(y), x: r.get(x)} for r in rows if isinstance(r.get(x), int | float)]
    axis: dict[str, Any] = {"format": ".0%"} if percent else {"format": ",d"}
    return _base(
        description,
        values,
        height=max(60, 28 * len(values)),
        mark={"type": "bar", "color": BLUE},
        encoding={
            "y": {"field": y, "type": "nominal", "title": y_title, "sort": None},
            "x": {"field": x, "type": "quantitative", "title": x_title, "axis": axis},
            "tooltip": [
                {"field": y, "type": "nominal", "title": y_title},
                {"field": x, "type": "quantitative", "title": x_title, "format": axis["format"]},
            ],
        },
    )


def line_chart(
    rows: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    description: str,
    series: str | None = None,
    percent: bool = False,
    height: int = 240,
) -> dict[str, Any]:
    """A trend line (one per ``series`` value), ``x`` a date."""
    keep = [x, y] + ([series] if series else [])
    values = [{k: r.get(k) for k in keep} for r in rows if r.get(y) is not None]
    encoding: dict[str, Any] = {
        "x": {"field": x, "type": "temporal", "title": x_title},
        "y": {
            "field": y,
            "type": "quantitative",
            "title": y_title,
            "axis": {"format": ".0%"} if percent else {},
        },
        "tooltip": [
            {"field": x, "type": "temporal", "title": x_title},
            {
                "field": y,
                "type": "quantitative",
                "title": y_title,
                "format": ".1%" if percent else ",.1f",
            },
        ],
    }
    if series:
        encoding["color"] = {"field": series, "type": "nominal", "title": None}
    return _base(
        description,
        values,
        height=height,
        mark={"type": "line", "point": True, "color": None if series else BLUE},
        encoding=encoding,
    )


def sparkline(rows: list[dict[str, Any]], *, x: str, y: str, description: str) -> dict[str, Any]:
    """A small trend line with no axes, for a headline figure (its values are in the table)."""
    values = [{x: r.get(x), y: r.get(y)} for r in rows if r.get(y) is not None]
    return _base(
        description,
        values,
        height=40,
        mark={"type": "line", "color": BLUE, "strokeWidth": 2},
        encoding={
            "x": {"field": x, "type": "temporal", "axis": None},
            "y": {"field": y, "type": "quantitative", "axis": None, "scale": {"zero": False}},
        },
    )


def xmr_chart(
    rows: list[dict[str, Any]],
    reading: Any,
    metric: Any,
    *,
    labels: dict[str, tuple[str, str]],
    colours: dict[str, str],
) -> dict[str, Any]:
    """An XmR chart: the monthly values, their mean and process limits, and the target.

    ``reading`` is a :class:`vcop.metrics.spc.SpcResult` (or None with too few months: then the
    values alone are drawn). Points are coloured by their SPC signal.
    """
    percent = metric.unit == "proportion"

    def label(code: str | None) -> str:
        return labels.get(code or "common_cause", (str(code), ""))[0]

    values = [
        {"month": r["month"].isoformat(), "value": r["value"], "signal": label(r.get("point_type"))}
        for r in rows
    ]
    colour_of = {label(code): colour for code, colour in colours.items()}
    fmt = ".1%" if percent else ",.1f"
    y_axis: dict[str, Any] = {"format": ".0%"} if percent else {}
    lines: list[dict[str, Any]] = []
    if reading is not None:
        for name, value, dash in (
            ("Mean", reading.xmr.mean, []),
            ("Upper process limit", reading.xmr.upl, [6, 4]),
            ("Lower process limit", reading.xmr.lpl, [6, 4]),
        ):
            lines.append({"name": name, "y": value, "dash": dash, "colour": GREY})
    if metric.target is not None:
        lines.append({"name": "Target", "y": metric.target, "dash": [2, 2], "colour": RED})
    signals = sorted({v["signal"] for v in values})
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "line", "color": LIGHT_GREY},
            "encoding": {
                "x": {"field": "month", "type": "temporal", "title": "Month"},
                "y": {"field": "value", "type": "quantitative", "title": metric.title,
                      "axis": y_axis, "scale": {"zero": False}},
            },
        },
        {
            "mark": {"type": "point", "filled": True, "size": 70},
            "encoding": {
                "x": {"field": "month", "type": "temporal"},
                "y": {"field": "value", "type": "quantitative"},
                "color": {
                    "field": "signal", "type": "nominal", "title": "Signal",
                    "scale": {"domain": signals, "range": [colour_of.get(s, GREY) for s in signals]},
                },
                "shape": {"field": "signal", "type": "nominal", "title": "Signal", "scale": {"domain": signals}},
                "tooltip": [
                    {"field": "month", "type": "temporal", "title": "Month", "format": "%B %Y"},
                    {"field": "value", "type": "quantitative", "title": "Value", "format": fmt},
                    {"field": "signal", "type": "nominal", "title": "Signal"},
                ],
            },
        },
    ]  # fmt: skip
    for line in lines:
        layers.append(
            {
                "data": {"values": [{"y": line["y"], "name": line["name"]}]},
                "mark": {"type": "rule", "color": line["colour"], "strokeDash": line["dash"]},
                "encoding": {"y": {"field": "y", "type": "quantitative"}},
            }
        )
    return _base(
        f"XmR chart of {metric.title}, monthly",
        values,
        height=320,
        layer=layers,
    )


def point_map(
    rows: list[dict[str, Any]], *, size: str, description: str, size_title: str
) -> dict[str, Any]:
    """Points at their longitude/latitude on a plain background (no map tiles are reachable),
    sized by ``size``; the table of points is the text alternative."""
    values = [
        {
            "longitude": r["longitude"],
            "latitude": r["latitude"],
            size: r.get(size),
            "place": r.get("place"),
        }
        for r in rows
        if isinstance(r.get("longitude"), int | float)
        and isinstance(r.get("latitude"), int | float)
    ]
    return _base(
        description,
        values,
        height=420,
        projection={"type": "mercator"},
        mark={"type": "circle", "color": BLUE, "opacity": 0.55},
        encoding={
            "longitude": {"field": "longitude", "type": "quantitative"},
            "latitude": {"field": "latitude", "type": "quantitative"},
            "size": {"field": size, "type": "quantitative", "title": size_title},
            "tooltip": [
                {"field": "place", "type": "nominal", "title": "Place"},
                {"field": size, "type": "quantitative", "title": size_title, "format": ",.0f"},
            ],
        },
    )
