"""`vcop serve --workers N`: the dashboard served by several processes, each built from the
options `vcop serve` was given (the server loop itself is not run here)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.helpers import sign_in
from tests.webdata import WebData
from vcop.cli import app as cli
from vcop.web import workers


def serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[Any, dict[str, Any]]:
    """What `vcop serve ARGS` hands uvicorn: the app (or its import string) and the options."""
    monkeypatch.setenv(workers.OPTIONS_ENV, "")  # restored after the test: serve sets it
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: calls.append((application, kw)))
    done = CliRunner().invoke(cli, ["serve", *args])
    assert done.exit_code == 0, done.output
    (call,) = calls
    return call


def test_workers_serve_the_factory_with_the_options_in_the_environment(
    data: WebData, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, options = serve(monkeypatch, "--db", str(data.db), "--workers", "2", "--watch", "7")
    assert target == workers.FACTORY and options["factory"] is True and options["workers"] == 2
    passed = json.loads(workers.os.environ[workers.OPTIONS_ENV])
    assert passed["db"] == str(data.db) and passed["watch"] == 7.0
    assert passed["session_idle_seconds"] == 30 * 60  # the settings' defaults, carried over

    application = workers.app()  # as each worker process builds it
    with TestClient(application) as client:  # runs the app's startup and shutdown
        assert client.get("/healthz").text == "ok"
        signed_in = sign_in(application, "analyst1")
        assert signed_in.get("/").status_code == 200
    assert application.state.vcop.builds._stop.is_set()  # closed as the process stopped


def test_one_worker_serves_the_app_itself(data: WebData, monkeypatch: pytest.MonkeyPatch) -> None:
    target, options = serve(monkeypatch, "--db", str(data.db), "--workers", "1")
    assert not isinstance(target, str) and "workers" not in options
    target.state.vcop.close()


def test_the_default_is_one_process_per_core_at_most_eight() -> None:
    assert 1 <= workers.default_workers() <= 8


def test_a_worker_without_options_says_how_it_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(workers.OPTIONS_ENV, raising=False)
    with pytest.raises(RuntimeError, match="vcop serve --workers"):
        workers.app()
