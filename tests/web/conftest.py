from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.web.helpers import Clock
from tests.webdata import WebData, build, copy_of
from vcop.metrics.release import Release
from vcop.web import create_app

#: The suppression threshold of every test app.
THRESHOLD = 10


@pytest.fixture(scope="session")
def webdata(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="session")
def published(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Release:
    """The partners' release of the web data. Built once per session: the dashboard keeps it for
    the process, so every app over a copy of the web data serves this very release."""
    return partner_release(copy_of(webdata, tmp_path_factory.mktemp("release")).db)


def partner_release(db: Path, threshold: int = THRESHOLD) -> Release:
    """The release the dashboard over ``db`` shows partners (built, or kept from before)."""
    from vcop.web.db import WebStore
    from vcop.web.metrics import MetricsView
    from vcop.web.partner import release_figures

    store = WebStore(db)
    try:
        figures = release_figures(MetricsView(store), threshold)
    finally:
        store.close()
    assert figures.release is not None, figures.notes
    return figures.release


@pytest.fixture
def data(webdata: WebData, tmp_path: Path) -> WebData:
    """A copy of the web data of this test's own."""
    return copy_of(webdata, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 7, 1, 9, 0))


@pytest.fixture
def app(data: WebData, clock: Clock) -> Iterator[FastAPI]:
    application = create_app(data.db, clock=clock, suppression_threshold=THRESHOLD)
    yield application
    application.state.vcop.close()
