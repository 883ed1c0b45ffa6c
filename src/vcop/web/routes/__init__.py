"""The dashboard's pages, one module per subject. Each module has a ``router``."""

from __future__ import annotations

from fastapi import APIRouter

from vcop.web.routes import admin, journey, metric_pages, quality, worklist

ROUTERS: list[APIRouter] = [
    metric_pages.router,
    worklist.router,
    journey.router,
    quality.router,
    admin.router,
]
