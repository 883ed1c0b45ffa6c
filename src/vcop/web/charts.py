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
    "no_variation": ("No variation to judge", "govuk-tag--grey"),
}
#: The marks of points SPC does not judge (see :class:`vcop.metrics.series.Point`): drawn hollow,
#: in grey, labelled, never coloured as a signal.
POINT_MARKS: dict[str, str] = {"provisional": "Provisional", "warm-up": "Warm-up"}
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
    hollow: str | None = None,
    time_format: str = "%b %Y",
) -> dict[str, Any]:
    """A trend line (one per ``series`` value), ``x`` a date written ``time_format`` (a month:
    "Jul 2023"); rows whose ``hollow`` field is true (provisional months) are drawn as hollow
    points, the others filled."""
    keep = [x, y] + ([series] if series else [])
    values = [
        {**{k: r.get(k) for k in keep}, "hollow": bool(hollow and r.get(hollow))}
        for r in rows
        if r.get(y) is not None
    ]
    for v in values:
        v["mark"] = "provisional" if v["hollow"] else None
    encoding: dict[str, Any] = {
        "x": {"field": x, "type": "temporal", "title": x_title, "axis": {"format": time_format}},
        "y": {
            "field": y,
            "type": "quantitative",
            "title": y_title,
            "axis": {"format": ".0%"} if percent else {},
        },
        "tooltip": [
            {"field": x, "type": "temporal", "title": x_title, "format": time_format},
            {
                "field": y,
                "type": "quantitative",
                "title": y_title,
                "format": ".1%" if percent else ",.1f",
            },
        ],
    }
    colour: dict[str, Any] = {}
    if series:
        encoding["color"] = {"field": series, "type": "nominal", "title": None}
    else:
        colour = {"color": BLUE}
    points = {k: v for k, v in encoding.items() if k != "tooltip"}
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", **colour}, "encoding": encoding},
    ]
    filled = [v for v in values if not v["hollow"]]
    if filled:
        layers.append(
            {
                "data": {"values": filled},
                "mark": {"type": "point", "filled": True, "size": 40, **colour},
                "encoding": encoding,
            }
        )
    open_points = [v for v in values if v["hollow"]]
    if open_points:
        layers.append(
            {
                "data": {"values": open_points},
                "mark": {"type": "point", "filled": False, "fill": "#ffffff", "fillOpacity": 1,
                         "size": 50, "strokeWidth": 2, **colour},
                "encoding": {**points, "tooltip": [*encoding["tooltip"],
                             {"field": "mark", "type": "nominal", "title": "Note"}]},
            }
        )  # fmt: skip
    return _base(description, values, height=height, layer=layers)


def sparkline(
    rows: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    description: str,
    hollow: str | None = None,
) -> dict[str, Any]:
    """A small trend line with no axes, for a headline figure (its values are in the table).

    Rows whose ``hollow`` field is true (provisional months) are drawn as hollow points."""
    values = [
        {x: r.get(x), y: r.get(y), "hollow": bool(hollow and r.get(hollow))}
        for r in rows
        if r.get(y) is not None
    ]
    encoding = {
        "x": {"field": x, "type": "temporal", "axis": None},
        "y": {"field": y, "type": "quantitative", "axis": None, "scale": {"zero": False}},
    }
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "color": BLUE, "strokeWidth": 2}, "encoding": encoding}
    ]
    open_points = [v for v in values if v["hollow"]]
    if open_points:
        layers.append(
            {
                "data": {"values": open_points},
                "mark": {"type": "point", "filled": False, "color": BLUE, "fill": "#ffffff",
                         "fillOpacity": 1, "size": 30, "strokeWidth": 1.5},
                "encoding": encoding,
            }
        )  # fmt: skip
    return _base(description, values, height=40, layer=layers)


def xmr_chart(
    rows: list[dict[str, Any]],
    reading: Any,
    metric: Any,
    *,
    labels: dict[str, tuple[str, str]],
    colours: dict[str, str],
    target: float | None = None,
) -> dict[str, Any]:
    """An XmR chart: the monthly values, their mean and process limits, and the target.

    ``rows``: one per month, oldest first, with ``month``, ``value``, ``point_type`` (the SPC type
    of a judged point) and ``mark`` (``provisional`` or ``warm-up`` for a point SPC does not
    judge: drawn hollow and labelled, never coloured as a signal). A row may carry the ``mean``,
    ``upl`` and ``lpl`` it was judged against (after a rebase each segment has its own); without
    them the limits come from ``reading`` (a :class:`vcop.metrics.spc.SpcResult`, laid on the
    judged rows in order). No limits are drawn where there is no variation to judge, nor with too
    few months (``reading`` None). ``target``: the force's adopted target, if any.
    """
    percent = metric.unit == "proportion"

    def label(row: dict[str, Any]) -> str:
        mark = row.get("mark")
        if mark:
            return POINT_MARKS.get(str(mark), str(mark))
        code = row.get("point_type") or "common_cause"
        return labels.get(code, (str(code), ""))[0]

    limits = _row_limits(rows, reading)
    values = []
    for r, lim in zip(rows, limits, strict=True):
        values.append(
            {
                "month": r["month"].isoformat(),
                "value": r["value"],
                "signal": label(r),
                "judged": not r.get("mark"),
                **(lim or {}),
            }
        )
    colour_of = {label({"point_type": code}): colour for code, colour in colours.items()}
    colour_of.update({name: GREY for name in POINT_MARKS.values()})
    fmt = ".1%" if percent else ",.1f"
    y_axis: dict[str, Any] = {"format": ".0%"} if percent else {}
    signals = sorted({v["signal"] for v in values})
    colour = {
        "field": "signal", "type": "nominal", "title": "Signal",
        "scale": {"domain": signals, "range": [colour_of.get(s, GREY) for s in signals]},
    }  # fmt: skip
    shape = {"field": "signal", "type": "nominal", "title": "Signal", "scale": {"domain": signals}}
    tooltip = [
        {"field": "month", "type": "temporal", "title": "Month", "format": "%b %Y"},
        {"field": "value", "type": "quantitative", "title": "Value", "format": fmt},
        {"field": "signal", "type": "nominal", "title": "Signal"},
    ]
    x = {"field": "month", "type": "temporal"}
    y = {"field": "value", "type": "quantitative"}
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "line", "color": LIGHT_GREY},
            "encoding": {
                "x": {
                    **x,
                    "title": "Month",
                    "axis": {"format": "%b %Y", "tickCount": {"interval": "month", "step": 3}},
                },
                "y": {**y, "title": metric.title, "axis": y_axis, "scale": {"zero": False}},
            },
        },
    ]
    # judged points filled and coloured by signal; the others hollow, in grey, labelled (a layer
    # with no points is left out: an empty group of marks would have no accessible name)
    for judged, mark in (
        (True, {"filled": True}),
        (False, {"filled": False, "fill": "#ffffff", "fillOpacity": 1, "strokeWidth": 2}),
    ):
        points = [v for v in values if v["judged"] is judged]
        if points:
            layers.append(
                {
                    "data": {"values": points},
                    "mark": {"type": "point", "size": 70, **mark},
                    "encoding": {
                        "x": x, "y": y, "color": colour, "shape": shape, "tooltip": tooltip
                    },
                }
            )  # fmt: skip
    limited = [v for v in values if v.get("upl") is not None]
    for name, key, dash in (
        ("Mean", "mean", []),
        ("Upper process limit", "upl", [6, 4]),
        ("Lower process limit", "lpl", [6, 4]),
    ):
        if limited:
            layers.append(
                {
                    "data": {"values": [{**v, "line": name} for v in limited]},
                    "mark": {"type": "line", "color": GREY, "strokeDash": dash},
                    "encoding": {
                        "x": x,
                        "y": {"field": key, "type": "quantitative"},
                        "detail": {"field": "segment", "type": "nominal"},
                    },
                }
            )  # fmt: skip
    if target is not None:
        layers.append(
            {
                "data": {"values": [{"y": target, "name": "Target"}]},
                "mark": {"type": "rule", "color": RED, "strokeDash": [2, 2]},
                "encoding": {"y": {"field": "y", "type": "quantitative"}},
            }
        )
    return _base(f"XmR chart of {metric.title}, monthly", values, height=320, layer=layers)


def _row_limits(rows: list[dict[str, Any]], reading: Any) -> list[dict[str, Any] | None]:
    """Each row's centre line and limits (and the segment they belong to), or None: from the
    row's own ``mean``/``upl``/``lpl`` where it has them, else ``reading.point_xmr`` laid on the
    judged rows in order (falling back to the latest limits when the counts do not match)."""
    if any("upl" in r for r in rows):
        found = [
            {"mean": r["mean"], "upl": r["upl"], "lpl": r["lpl"]}
            if r.get("upl") is not None
            else None
            for r in rows
        ]
    else:
        per_point = list(getattr(reading, "point_xmr", ()) or ())
        judged = [i for i, r in enumerate(rows) if not r.get("mark")]
        if len(per_point) != len(judged):
            per_point = [getattr(reading, "xmr", None)] * len(judged)
        found = [None] * len(rows)
        for i, xmr in zip(judged, per_point, strict=True):
            if xmr is not None:
                found[i] = {"mean": xmr.mean, "upl": xmr.upl, "lpl": xmr.lpl}
    segment = 0
    before: tuple[float, float, float] | None = None
    for lim in found:
        if lim is None:
            continue
        now = (lim["mean"], lim["upl"], lim["lpl"])
        if before is not None and now != before:
            segment += 1
        lim["segment"] = segment
        before = now
    return found


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


def dot_plot(
    rows: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    description: str,
    low: str | None = None,
    high: str | None = None,
    reference: float | None = None,
    reference_title: str = "Whole",
    percent: bool = False,
) -> dict[str, Any]:
    """A dot per row (``y`` the label, ``x`` the value), with its interval from ``low`` to
    ``high`` drawn as a line through it where both are given, and ``reference`` (the whole the
    groups are part of) as a dashed line: the chart of a split."""
    keep = [y, x, *(k for k in (low, high) if k)]
    values = [
        {k: r.get(k) for k in keep}
        for r in rows
        if isinstance(r.get(x), int | float) and not isinstance(r.get(x), bool)
    ]
    fmt = ".1%" if percent else ",.1f"
    axis: dict[str, Any] = {"format": ".0%"} if percent else {}
    y_enc = {"field": y, "type": "nominal", "title": y_title, "sort": None,
             "axis": {"labelLimit": 140}}  # fmt: skip
    tooltip = [
        {"field": y, "type": "nominal", "title": y_title},
        {"field": x, "type": "quantitative", "title": x_title, "format": fmt},
    ]
    layers: list[dict[str, Any]] = []
    if low and high:
        ranged = [v for v in values if v.get(low) is not None and v.get(high) is not None]
        tooltip += [
            {"field": low, "type": "quantitative", "title": "Interval from", "format": fmt},
            {"field": high, "type": "quantitative", "title": "Interval to", "format": fmt},
        ]
        if ranged:
            layers.append(
                {
                    "data": {"values": ranged},
                    "mark": {"type": "rule", "color": GREY, "strokeWidth": 2},
                    "encoding": {
                        "y": y_enc,
                        "x": {"field": low, "type": "quantitative", "title": x_title, "axis": axis},
                        "x2": {"field": high},
                    },
                }
            )
    layers.append(
        {
            "mark": {"type": "point", "filled": True, "size": 80, "color": BLUE},
            "encoding": {
                "y": y_enc,
                "x": {"field": x, "type": "quantitative", "title": x_title, "axis": axis},
                "tooltip": tooltip,
            },
        }
    )
    if reference is not None:
        layers.append(
            {
                "data": {"values": [{"reference": reference, "label": reference_title}]},
                "mark": {"type": "rule", "color": DARK_BLUE, "strokeDash": [4, 4]},
                "encoding": {
                    "x": {"field": "reference", "type": "quantitative"},
                    "tooltip": [
                        {"field": "label", "type": "nominal", "title": "Line"},
                        {
                            "field": "reference",
                            "type": "quantitative",
                            "title": x_title,
                            "format": fmt,
                        },
                    ],
                },
            }
        )
    return _base(description, values, height=max(60, 28 * len(values)), layer=layers)
