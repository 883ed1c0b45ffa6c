"""Helpers for the web tests: a hand-moved clock and signing in through the real form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.webdata import PASSWORD, WebData, copy_of


class Clock:
    """A clock the tests move by hand (sessions and the access log read it; no figure does)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def sign_in(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": form_token(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient) -> str:
    """The signed-in session's CSRF token, as every page's sign-out form carries it."""
    return form_token(client.get("/").text)


@contextmanager
def served_copy(webdata: WebData, folder: Path, **settings: Any) -> Iterator[FastAPI]:
    """The dashboard over a copy of the web data in ``folder``, at the tests' clock (9:00 on
    1 July 2025), closed afterwards; ``settings`` go to ``create_app``."""
    from vcop.web import create_app

    data = copy_of(webdata, folder)
    application = create_app(data.db, clock=Clock(datetime(2025, 7, 1, 9, 0)), **settings)
    try:
        yield application
    finally:
        application.state.vcop.close()
