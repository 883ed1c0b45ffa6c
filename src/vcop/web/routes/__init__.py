"""The dashboard's pages, one module per subject. Each module has a ``router``."""

from __future__ import annotations

from fastapi import APIRouter

from vcop.web.routes import (
    admin,
    audits,
    compliance,
    feedback,
    journey,
    metric_pages,
    peers,
    quality,
    tracker,
    voice,
    worklist,
    xmr,
)

ROUTERS: list[APIRouter] = [
    metric_pages.router,
    compliance.router,
    peers.router,
    xmr.router,
    worklist.router,
    feedback.router,
    journey.router,
    quality.router,
    admin.router,
    tracker.router,
    voice.router,
    audits.router,
]
