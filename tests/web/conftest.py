from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.web.helpers import Clock
from tests.webdata import WebData, build, copy_of
from vcop.web import create_app


@pytest.fixture(scope="session")
def webdata(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture
def data(webdata: WebData, tmp_path: Path) -> WebData:
    """A copy of the web data of this test's own."""
    return copy_of(webdata, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 7, 1, 9, 0))


@pytest.fixture
def app(data: WebData, clock: Clock) -> Iterator[FastAPI]:
    application = create_app(data.db, clock=clock, suppression_threshold=10)
    yield application
    application.state.vcop.store.close()
