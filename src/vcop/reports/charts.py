"""Charts for reports: a metric's XmR chart, drawn as an image, showing only the engine's marks.

The points are the engine's monthly series (:func:`vcop.metrics.series.monthly_series`, the same
series the dashboard's XmR page draws) and everything said about them is the engine's:

* a judged point is filled and coloured by its SPC type (the dashboard's colours and words);
* a provisional month and a month in the data's warm-up are drawn hollow and labelled (P, W):
  SPC does not judge them, so they carry no colour of a signal;
* the mean and process limits are each judged point's own (``SpcResult.point_xmr``): after a
  rebase the limits start afresh, and a segment with no variation to judge has none;
* the target is drawn only when the engine judges against it (adopted, in force, aggregate);
* a series with a month hidden in a partner release is not drawn: a gap in a chart would still
  say where a small number is, and the release reads no SPC from such a series.
"""

from __future__ import annotations

from typing import Any

from vcop.metrics.series import Point, Series
from vcop.metrics.spc import XmR
from vcop.reports.document import Image
from vcop.reports.figures import FigureBook, number
from vcop.spec.metrics import Metric
from vcop.web.charts import GREY, LIGHT_GREY, POINT_COLOURS, RED, SPC_LABELS

#: The legend's words for points SPC does not judge, and their labels on the chart.
PROVISIONAL_LABEL = "Provisional (P): not judged"
WARM_UP_LABEL = "Warm-up (W): not judged"
UNREAD_LABEL = "Too few months to judge"
_HOLLOW = {PROVISIONAL_LABEL: "P", WARM_UP_LABEL: "W"}
WHITE = "#ffffff"
#: Each signal's shape, so the chart does not rely on colour alone.
SHAPES = {
    SPC_LABELS["special_cause_improvement"][0]: "triangle-up",
    SPC_LABELS["special_cause_concern"][0]: "triangle-down",
    SPC_LABELS["special_cause_neutral_high"][0]: "triangle-up",
    SPC_LABELS["special_cause_neutral_low"][0]: "triangle-down",
    PROVISIONAL_LABEL: "square",
    WARM_UP_LABEL: "diamond",
}
#: The y axis's title when the metric's own is too long to fit beside the plot.
AXIS_TITLES = {"proportion": "Per cent", "count": "Count", "minutes": "Minutes", "days": "Days"}
#: The longest metric title used as the y axis's title: it must fit along the plot's height
#: (about 230 px at the axis title's 14 px, where a character is about 7.5 px wide).
AXIS_TITLE_CHARS = 28
#: About how many month labels fit along the x axis ("Jul 2023" at 14 px).
X_LABELS = 8

_CONFIG: dict[str, Any] = {
    "font": "arial, sans-serif",
    "axis": {"labelFontSize": 14, "titleFontSize": 14, "labelColor": "#0b0c0c",
             "titleColor": "#0b0c0c"},
    "legend": {"labelFontSize": 13, "titleFontSize": 13, "labelLimit": 320},
    "view": {"stroke": None},
}  # fmt: skip


def _signal(point: Point, point_type: str | None, read: bool) -> str:
    if point.provisional:
        return PROVISIONAL_LABEL
    if point.warm_up:
        return WARM_UP_LABEL
    if not read or point_type is None:
        return UNREAD_LABEL
    return SPC_LABELS.get(point_type, (point_type, ""))[0]


def _limits(series: Series) -> list[tuple[Point, XmR | None, int]]:
    """Each judged point with the centre line and limits it was judged against, and the number
    of its segment (a rebase or a change of limits starts a new one)."""
    reading = series.reading
    if reading is None:
        return []
    judged = series.judged
    limits: tuple[XmR | None, ...] = reading.point_xmr or tuple(reading.xmr for _ in judged)
    out: list[tuple[Point, XmR | None, int]] = []
    segment = 0
    for i, (p, xmr) in enumerate(zip(judged, limits, strict=True)):
        if i and xmr is not limits[i - 1]:
            segment += 1
        out.append((p, xmr, segment))
    return out


def xmr_spec(
    series: Series,
    metric: Metric,
    *,
    target: float | None = None,
    target_source: str | None = None,
) -> dict[str, Any]:
    """A Vega-Lite XmR chart of ``series`` (see the module docstring). ``target``: the value
    the engine judges against (None: no adopted target in force), drawn with its source."""
    percent = metric.unit == "proportion"
    reading = series.reading
    types = series.point_types()
    signal_of = [
        _signal(p, t, reading is not None) for p, t in zip(series.points, types, strict=True)
    ]
    values: list[dict[str, Any]] = [
        {
            "month": p.month.isoformat(),
            "value": p.value,
            "signal": signal,
            "hollow": signal in _HOLLOW,
            "label": _HOLLOW.get(signal, ""),
        }
        for p, signal in zip(series.points, signal_of, strict=True)
    ]
    colour_of = {SPC_LABELS[code][0]: colour for code, colour in POINT_COLOURS.items()}
    colour_of[UNREAD_LABEL] = GREY
    signals = list(dict.fromkeys(signal_of))
    colours = [colour_of.get(s, GREY) for s in signals]
    fmt = ".1%" if percent else ",.1f"
    # whole per cents, unless the series spans so few that whole ones would repeat ("81%, 81%")
    levels = [p.value for p in series.points] + [
        level for _, xmr, _ in _limits(series) if xmr is not None
        for level in (xmr.lpl, xmr.upl)
    ] + ([target] if target is not None else [])  # fmt: skip
    narrow = max(levels, default=0.0) - min(levels, default=0.0) < 0.08
    y_axis: dict[str, Any] = {"format": ".1%" if narrow else ".0%"} if percent else {}
    # every few months, labelled with the year ("Jul 2023"), so a reader can place each point
    step = max(1, -(-len(series.points) // X_LABELS))
    x = {
        "field": "month",
        "type": "temporal",
        "title": None,
        "axis": {"format": "%b %Y", "tickCount": {"interval": "month", "step": step},
                 "labelAngle": 0, "labelOverlap": True},
    }  # fmt: skip
    title = (
        metric.title if len(metric.title) <= AXIS_TITLE_CHARS else AXIS_TITLES.get(metric.unit, "")
    )
    y = {"field": "value", "type": "quantitative", "title": title, "axis": y_axis,
         "scale": {"zero": False}}  # fmt: skip
    colour = {"field": "signal", "type": "nominal", "title": "Signal",
              "scale": {"domain": signals, "range": colours}}  # fmt: skip
    shapes = [SHAPES.get(s, "circle") for s in signals]
    shape = {"field": "signal", "type": "nominal", "title": "Signal",
             "scale": {"domain": signals, "range": shapes}}  # fmt: skip
    tooltip = [
        {"field": "month", "type": "temporal", "title": "Month", "format": "%B %Y"},
        {"field": "value", "type": "quantitative", "title": "Value", "format": fmt},
        {"field": "signal", "type": "nominal", "title": "Signal"},
    ]
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "color": LIGHT_GREY}, "encoding": {"x": x, "y": y}},
    ]
    lines: dict[str, list[dict[str, Any]]] = {"Mean": [], "Upper limit": [], "Lower limit": []}
    for p, xmr, segment in _limits(series):
        if xmr is None:
            continue  # no variation to judge: no limits
        for name, level in (("Mean", xmr.mean), ("Upper limit", xmr.upl),
                            ("Lower limit", xmr.lpl)):  # fmt: skip
            lines[name].append({"month": p.month.isoformat(), "y": level, "segment": segment})
    for name, rows in lines.items():
        if rows:
            layers.append(
                {
                    "data": {"values": rows},
                    "mark": {"type": "line", "color": GREY, "strokeWidth": 1.5,
                             "strokeDash": [] if name == "Mean" else [6, 4]},
                    "encoding": {
                        "x": {"field": "month", "type": "temporal"},
                        "y": {"field": "y", "type": "quantitative"},
                        "detail": {"field": "segment", "type": "nominal"},
                    },
                }
            )  # fmt: skip
    if target is not None:
        layers.append(
            {
                "data": {"values": [{"y": target}]},
                "mark": {"type": "rule", "color": RED, "strokeDash": [2, 2]},
                "encoding": {"y": {"field": "y", "type": "quantitative"}},
            }
        )
        layers.append(
            {
                "data": {"values": [{"y": target, "label": "Target"}]},
                "mark": {"type": "text", "color": RED, "align": "left", "dx": 4, "dy": -7,
                         "fontSize": 11},
                "encoding": {"y": {"field": "y", "type": "quantitative"},
                             "x": {"value": 0}, "text": {"field": "label"}},
            }
        )  # fmt: skip
    # one layer of points: judged points filled in their signal's colour; provisional and
    # warm-up points hollow (white inside), in the legend as they are drawn
    fills = [WHITE if s in _HOLLOW else c for s, c in zip(signals, colours, strict=True)]
    layers.append(
        {
            "mark": {"type": "point", "filled": True, "size": 70, "strokeWidth": 2,
                     "opacity": 1},
            "encoding": {"x": {"field": "month", "type": "temporal"},
                         "y": {"field": "value", "type": "quantitative"},
                         "stroke": colour,
                         "fill": {**colour, "scale": {"domain": signals, "range": fills}},
                         "shape": shape, "tooltip": tooltip},
        }
    )  # fmt: skip
    layers.append(
        {
            "transform": [{"filter": "datum.hollow"}],
            "mark": {"type": "text", "dy": -12, "fontSize": 11, "color": GREY},
            "encoding": {"x": {"field": "month", "type": "temporal"},
                         "y": {"field": "value", "type": "quantitative"},
                         "text": {"field": "label"}},
        }
    )  # fmt: skip
    description = f"XmR chart of {metric.title}, monthly"
    if target is not None:
        description += f", with the target of {number(target, metric.unit)}"
        if target_source:
            description += f" ({target_source})"
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": description,
        "data": {"values": values},
        "config": _CONFIG,
        "width": "container",
        "autosize": {"type": "fit-x", "contains": "padding"},
        "height": 320,
        "layer": layers,
    }


def reading_words(series: Series, metric: Metric) -> str:
    """What the chart's limits say, for its text alternative."""
    reading = series.reading
    if reading is None:
        return "too few months to judge, so no process limits"
    if reading.xmr is None:
        return "no variation to judge, so no process limits"
    unit = metric.unit
    return (
        f"mean {number(reading.xmr.mean, unit)}, process limits {number(reading.xmr.lpl, unit)} "
        f"to {number(reading.xmr.upl, unit)}"
    )


def xmr_image(book: FigureBook, metric_id: str, group: tuple[str, ...] = ()) -> Image | None:
    """A metric's monthly XmR chart as a PNG image with its text alternative; None with no
    months, or with a month hidden in the release the book is cut from."""
    from vcop.reports.render import chart_png

    series = book.series(metric_id).get(group)
    if series is None or not series.points or any(p.suppressed for p in series.points):
        return None
    metric = book.catalogue.metric(metric_id)
    target = book.target(metric_id)
    source = target.target.source if target.value is not None and target.target else None
    spec = xmr_spec(series, metric, target=target.value, target_source=source)
    first, last = series.points[0], series.points[-1]
    alt = (
        f"{spec['description']}, {first.month:%B %Y} to {last.month:%B %Y}: latest "
        f"{number(last.value, metric.unit)}{' (provisional)' if last.provisional else ''}; "
        + reading_words(series, metric)
    )
    hollow = [p for p in series.points if not p.judged]
    if hollow:
        alt += f"; {len(hollow)} month(s) provisional or in the warm-up, not judged"
    return Image(
        chart_png(spec, width=720, height=300),
        alt=alt + ".",
        caption=f"Chart: {metric.title}, monthly, with its mean and process limits (points "
        "coloured by their SPC signal; provisional and warm-up months hollow, not judged)",
    )
