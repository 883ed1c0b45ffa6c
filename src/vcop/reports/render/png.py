"""Charts: a Vega-Lite spec drawn as a PNG by vl-convert, in-process, fetching nothing."""

from __future__ import annotations

import copy
from typing import Any

import vl_convert as vlc

# --- charts ---------------------------------------------------------------------------------

#: Vega-Lite views that autosize "fit" does not apply to.
_COMPOSITE = ("concat", "hconcat", "vconcat", "facet", "repeat")


def chart_png(
    spec: dict[str, Any], *, width: int = 640, height: int | None = None, scale: float = 2
) -> bytes:
    """A Vega-Lite spec drawn as a PNG ``width`` CSS pixels wide, at ``scale`` pixels per pixel.

    The dashboard's specs are ``"width": "container"``, which only a browser can resolve. Here
    the copy's width becomes ``width`` and autosize "fit-x" with "contains": "padding" makes
    that the whole chart's width, axes and legend included; ``height`` (if given) likewise sets
    the whole height, otherwise the spec's own height (the plot area's) stands. Composite views
    (concat, facet, repeat) cannot be fitted: they keep their own sizes. The PNG says it is
    ``72 * scale`` pixels per inch, so it has the right physical size wherever it is placed.
    Nothing is fetched: a spec with a data URL fails.
    """
    out = copy.deepcopy(spec)
    if any(key in out for key in _COMPOSITE):
        if out.get("width") == "container":
            del out["width"]
        out.pop("autosize", None)
    else:
        out["width"] = width
        if height is not None:
            out["height"] = height
        out["autosize"] = {"type": "fit" if height is not None else "fit-x", "contains": "padding"}
    return vlc.vegalite_to_png(
        out,
        ppi=72 * scale,  # pixels = width * ppi / 72: the scale, and the PNG's stated resolution
        allowed_base_urls=[],
        format_locale="en-GB",
        time_format_locale="en-GB",
    )
