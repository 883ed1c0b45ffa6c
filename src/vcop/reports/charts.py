"""Charts for reports: the dashboard's own XmR chart definitions, drawn as images."""

from __future__ import annotations

from vcop.reports.document import Image
from vcop.reports.figures import FigureBook, number
from vcop.web.charts import POINT_COLOURS, SPC_LABELS, xmr_chart


def xmr_image(book: FigureBook, metric_id: str, group: tuple[str, ...] = ()) -> Image | None:
    """A metric's monthly XmR chart (mean, process limits, target, signals) as a PNG image, from
    the same series and chart definition the dashboard's XmR page uses; None with no months."""
    from vcop.reports.render import chart_png

    series = book.series(metric_id).get(group)
    if series is None or not series.points:
        return None
    metric = book.catalogue.metric(metric_id)
    reading = series.reading
    rows = [
        {
            "month": p.month,
            "value": p.value,
            "point_type": reading.point_type[i] if reading else None,
        }
        for i, p in enumerate(series.points)
    ]
    spec = xmr_chart(rows, reading, metric, labels=SPC_LABELS, colours=POINT_COLOURS)
    first, last = series.points[0], series.points[-1]
    alt = (
        f"{spec['description']}, {first.month:%B %Y} to {last.month:%B %Y}: latest "
        f"{number(last.value, metric.unit)}"
    )
    if reading is not None:
        alt += (
            f"; mean {number(reading.xmr.mean, metric.unit)}, process limits "
            f"{number(reading.xmr.lpl, metric.unit)} to {number(reading.xmr.upl, metric.unit)}"
        )
    return Image(
        chart_png(spec, width=720, height=300),
        alt=alt + ".",
        caption=f"Chart: {metric.title}, monthly, with its mean and process limits "
        "(points coloured by their SPC signal)",
    )
