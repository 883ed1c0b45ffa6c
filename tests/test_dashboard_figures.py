"""The dashboard's figures, computed when the ledger is evaluated (issue 15): stored figures equal
the engine's, the dashboard serves them without computing, and stale ones are never shown."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest
from fastapi import FastAPI

from tests.web.helpers import Clock, sign_in
from tests.webdata import AS_OF, WebData, build, copy_of
from vcop.metrics import precompute
from vcop.metrics.comparisons import victim_counts
from vcop.metrics.engine import compute, quietly
from vcop.metrics.series import monthly_series
from vcop.spec.metrics import load_catalogue
from vcop.web import create_app

#: Pages whose first view the stored figures answer (with no drill-down filter).
FIRST_VIEWS = (
    "/",
    "/?period=quarter",
    "/?period=fytd",
    "/?period=month",
    "/compliance",
    "/compliance?by=area",
    "/compliance?by=sex",
    "/compliance?measure=victim_updates_on_time&by=unit",
    "/compliance?measure=obligation",
    "/satisfaction",
    "/response-times",
    "/metrics/victim_updates_on_time",
)


#: The setting that says which figures are stored, as an environment variable.
FIGURES_SETTING = "VCOP_METRICS_DASHBOARD_FIGURES"


@pytest.fixture(scope="module")
def webdata(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="module")
def stored_db(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the web data with the dashboard's figures computed after its ledger."""
    db = copy_of(webdata, tmp_path_factory.mktemp("figures")).db
    con = duckdb.connect(str(db))
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(FIGURES_SETTING, "all")  # the default (the suite's conftest says none)
            done = precompute.precompute_for(con, db)
    finally:
        con.close()
    assert done.skipped is None and done.rows > 0, done.summary()
    return db


def _copy(db: Path, folder: Path) -> Path:
    from tests.webdata import copy_build

    folder.mkdir(parents=True, exist_ok=True)
    return copy_build(db, folder)


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the dashboard asked the engine to compute (each call still computes)."""
    import vcop.web.metrics as web_metrics

    calls = {"compute": 0, "series": 0, "clusters": 0}

    def counted(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(web_metrics, "compute", counted("compute", web_metrics.compute))
    monkeypatch.setattr(
        web_metrics, "monthly_series", counted("series", web_metrics.monthly_series)
    )
    monkeypatch.setattr(
        web_metrics, "victim_counts", counted("clusters", web_metrics.victim_counts)
    )
    return calls


def _app(db: Path) -> Iterator[FastAPI]:
    """The dashboard over ``db`` (a loop of one: closed after its body)."""
    application = create_app(db, clock=Clock(datetime(2025, 7, 1, 9, 0)), suppression_threshold=10)
    yield application
    application.state.vcop.close()


def test_stored_figures_equal_the_engines(stored_db: Path) -> None:
    """For a sample of periods, splits and metrics, what is stored is exactly what
    ``compute()`` gives (values, intervals, marks, notes), and so are series and counts."""
    catalogue = load_catalogue()
    con = duckdb.connect(str(stored_db), read_only=True)
    backend = ibis.duckdb.from_connection(con)
    try:
        sample: list[tuple[str | None, str | None]] = [
            (None, None),
            (None, "victim_updates_on_time"),
            ("area", "compliance_by_right"),
            ("sex", "compliance_by_right"),
            ("unit", "victim_updates_on_time"),
            ("crime_type", "compliance_by_obligation"),
            ("officer", "victim_updates_on_time"),
            ("updates_on_time", "satisfaction_whole_experience"),
        ]
        checked = 0
        for period in precompute.PERIODS:
            for by, only in sample:
                if only is not None and only not in catalogue.metric_ids:
                    continue
                with quietly():
                    expected = compute(
                        backend, AS_OF, period, metrics=[only] if only else None, by=by,
                        catalogue=catalogue,
                    )  # fmt: skip
                got = precompute.stored(con, precompute.RESULT, period, by or "", only or "")
                assert got is not None, (period, by, only)
                assert precompute.dumps(got) == precompute.dumps(expected), (period, by, only)
                assert got.values, (period, by, only)
                checked += 1
        assert checked >= 20
        for metric_id in ("victim_updates_on_time", "compliance_by_right", "recorded_crime"):
            with quietly():
                series = monthly_series(backend, catalogue, metric_id, AS_OF)
            payload = precompute.stored(con, precompute.SERIES, "", "", metric_id)
            assert payload is not None
            assert precompute.dumps(
                precompute.series_payload(precompute.series_of(payload))
            ) == precompute.dumps(precompute.series_payload(series))
        metric = catalogue.metric("compliance_by_right")
        with quietly():
            whole = compute(backend, AS_OF, "quarter", metrics=[metric.id], catalogue=catalogue)
        start, end = whole.values[0].current.start, whole.values[0].current.end
        breakdown = (*metric.grouping, "sex")
        counts = victim_counts(backend, catalogue, metric, breakdown, AS_OF, [(start, end)])
        stored = precompute.stored(
            con, precompute.CLUSTERS, precompute.window_key(start, end), ",".join(breakdown),
            metric.id,
        )  # fmt: skip
        assert stored is not None
        assert precompute.clusters_of(stored) == {g: c for (_, g), c in counts.items()}
    finally:
        con.close()


def test_payloads_round_trip_exactly() -> None:
    """Floats (NaN and infinities too), dates and tuples come back as they went in."""
    from vcop.metrics.values import Estimate

    e = Estimate(date(2025, 1, 1), date(2025, 3, 31), 1, 3, 1 / 3, float("nan"), float("inf"))
    back = precompute.loads(precompute.dumps(e))
    assert isinstance(back, Estimate)
    assert precompute.dumps(back) == precompute.dumps(e)
    assert back.value == 1 / 3 and back.start == date(2025, 1, 1)
    with pytest.raises(TypeError):
        precompute.dumps(object())


def test_the_dashboard_serves_stored_figures_without_the_engine(
    stored_db: Path, tmp_path: Path, engine_calls: dict[str, int]
) -> None:
    """Every first view (each period, the splits, the XmR chart) comes from the stored figures:
    the engine is never called."""
    db = _copy(stored_db, tmp_path)
    for app in _app(db):
        client = sign_in(app, "analyst1")
        for url in FIRST_VIEWS:
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[:500])
        assert engine_calls == {"compute": 0, "series": 0, "clusters": 0}
        # a drill-down filter is computed, as before
        area = client.get("/compliance.json?by=area").json()
        place = area["tables"]["compliance"]["rows"][0]["split"]
        assert client.get(f"/compliance?area={place}&by=district").status_code == 200
        assert engine_calls["compute"] > 0


def test_stored_and_computed_pages_are_the_same(
    stored_db: Path, tmp_path: Path, engine_calls: dict[str, int]
) -> None:
    """A page's figures (its JSON twin) are the same from the stored figures as computed."""
    stored = _copy(stored_db, tmp_path / "stored")
    computed = _copy(stored_db, tmp_path / "computed")
    con = duckdb.connect(str(computed))
    con.execute(f"DROP TABLE {precompute.TABLE}")
    con.close()
    pages = (
        "/index.json?period=quarter",
        "/compliance.json?by=sex",
        "/metrics/recorded_crime.json",
    )
    seen: dict[str, list[Any]] = {}
    for db in (stored, computed):
        for app in _app(db):
            client = sign_in(app, "analyst1")
            for url in pages:
                body = client.get(url).json()
                body.pop("generated_at", None)
                seen.setdefault(url, []).append(body.get("tables"))
    for url, (a, b) in seen.items():
        assert a == b, url
    assert engine_calls["compute"] > 0  # the second database had none stored


def test_a_re_evaluated_ledger_never_shows_stale_figures(
    stored_db: Path, tmp_path: Path, engine_calls: dict[str, int]
) -> None:
    """The ledger evaluated again (as of another date) without storing figures: the stored
    ones are stale and the dashboard computes the new ones."""
    from vcop.rules.ledger import evaluate

    db = _copy(stored_db, tmp_path)
    earlier = AS_OF - timedelta(days=30)
    con = duckdb.connect(str(db))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        evaluate(con, earlier)
    assert precompute.stored_stamp(con) is not None  # the old figures are still in the file
    con.close()
    for app in _app(db):
        view = app.state.vcop.metrics
        assert view.stored_as_of() is None
        client = sign_in(app, "analyst1")
        body = client.get("/index.json").json()
        assert body["meta"]["as_of"] == earlier.isoformat()
        assert engine_calls["compute"] > 0
        ends = {r.get("period_end") for t in body["tables"].values() for r in t["rows"]}
        assert ends and AS_OF.isoformat() not in ends


def test_edited_targets_make_stored_figures_stale(stored_db: Path, tmp_path: Path) -> None:
    """Targets written after the figures were stored (they drive SPC assurance and the target
    marks): the stored figures are not shown."""
    db = _copy(stored_db, tmp_path)
    for app in _app(db):
        assert app.state.vcop.metrics.stored_as_of() == AS_OF
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  - metric: victim_updates_on_time\n    value: 0.9\n"
        "    source: a test\n    adopted: true\n"
    )
    for app in _app(db):
        assert app.state.vcop.metrics.stored_as_of() is None


@pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning")
def test_evaluate_command_stores_them(
    webdata: WebData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``vcop evaluate`` computes the figures after the ledger and says what they cost."""
    from typer.testing import CliRunner

    monkeypatch.setenv(FIGURES_SETTING, "all")
    from vcop.cli import rules as _rules  # noqa: F401  (registers the commands)
    from vcop.cli.app import app as cli

    db = _copy(webdata.db, tmp_path)
    result = CliRunner().invoke(
        cli, ["evaluate", "--db", str(db), "--as-of", AS_OF.isoformat()], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "dashboard figures:" in result.output and precompute.TABLE in result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        stamp = precompute.stored_stamp(con)
        now = precompute.stamp_of(con, load_catalogue(), precompute.NO_TARGETS)
    finally:
        con.close()
    assert now is not None and stamp == now.text()


def test_an_erasure_makes_stored_figures_stale(
    stored_db: Path, webdata: WebData, tmp_path: Path
) -> None:
    """A victim erased from the build after the figures were stored (no new evaluation): the
    stored figures still count them, so they are not shown."""
    from vcop.retention import erase_victim

    db = _copy(stored_db, tmp_path)
    con = duckdb.connect(str(db))
    erase_victim(con, webdata.officer_victim)
    con.close()
    for app in _app(db):
        assert app.state.vcop.metrics.stored_as_of() is None


def test_the_settings_say_which_figures_are_stored(
    webdata: WebData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``metrics.dashboard_figures``: periods stores every period overall and no split; none
    stores nothing (and drops what was stored); anything else is refused by name."""
    db = _copy(webdata.db, tmp_path)
    con = duckdb.connect(str(db))
    try:
        monkeypatch.setenv(FIGURES_SETTING, "periods")
        done = precompute.precompute_for(con, db)
        assert done.skipped is None, done.summary()
        kept = con.execute(
            f"SELECT DISTINCT period, split FROM {precompute.TABLE} WHERE kind = ?",
            [precompute.RESULT],
        ).fetchall()
        assert {p for p, _ in kept} == set(precompute.PERIODS)
        assert {split for _, split in kept} == {precompute.NONE}
        monkeypatch.setenv(FIGURES_SETTING, "none")
        done = precompute.precompute_for(con, db)
        assert done.rows == 0 and "metrics.dashboard_figures" in done.summary()
        assert precompute.stored_stamp(con) is None
        monkeypatch.setenv(FIGURES_SETTING, "some")
        done = precompute.precompute_for(con, db)
        assert done.skipped is not None and "must be one of all, periods, none" in done.skipped
    finally:
        con.close()
