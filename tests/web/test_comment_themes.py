"""The satisfaction page's comment themes: for analysts a table of themes by month and each
comment's themes; partners see neither the comments nor the themes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from tests.web.helpers import Clock, sign_in
from tests.webdata import WebData, copy_of
from vcop.metrics.release import Release
from vcop.voice.themes import THEMES
from vcop.web import create_app


@pytest.fixture(scope="module")
def shared(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    from datetime import datetime

    data = copy_of(webdata, tmp_path_factory.mktemp("themes"))
    application = create_app(data.db, clock=Clock(datetime(2025, 7, 1, 9, 0)))
    yield application
    application.state.vcop.close()


def test_an_analyst_sees_themes_by_month_and_beside_each_comment(shared: FastAPI) -> None:
    analyst = sign_in(shared, "analyst1")
    body = analyst.get("/satisfaction.json").json()
    table = body["tables"]["comment_themes"]
    rows = {r["theme_id"]: r for r in table["rows"]}
    assert list(rows) == [*THEMES, "comments"]
    months = [k for k in rows["comments"] if k.startswith("m")]
    assert len(months) == 12
    assert rows["comments"]["total"] > 0, "the test data should have comments"
    for r in rows.values():
        assert r["total"] == sum(r[m] for m in months)
    # every comment has at least one theme: the themes add up to at least the comments
    assert sum(rows[t]["total"] for t in THEMES) >= rows["comments"]["total"]
    comments = body["tables"]["comments"]["rows"]
    assert comments and all(c["themes"] for c in comments)
    html = analyst.get("/satisfaction").text
    assert (
        "What victims&#39; comments were about" in html
        or "What victims' comments were about" in html
    )
    assert "spark-theme-" in html


def test_a_partner_sees_no_comments_and_no_themes(shared: FastAPI, published: Release) -> None:
    partner = sign_in(shared, "partner1")
    html = partner.get("/satisfaction").text
    assert "What victims said" not in html
    assert "comments were about" not in html
    assert "comment_themes" not in partner.get("/satisfaction.json").json()["tables"]
