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
from vcop.voice.themes import LATEST, latest_comment_themes, theme_counts
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

    calls = {"compute": 0, "series": 0, "clusters": 0, "themes": 0, "labels": 0}

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
    monkeypatch.setattr(web_metrics, "theme_counts", counted("themes", web_metrics.theme_counts))
    import vcop.voice.themes as themes  # the model labelling comments (the page's own)

    monkeypatch.setattr(themes, "themes_of", counted("labels", themes.themes_of))
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
        themes = precompute.stored(con, precompute.THEMES, "", "", "")
        assert themes is not None
        assert precompute.themes_of(themes) == theme_counts(con, AS_OF)
        assert sum(precompute.themes_of(themes).comments) > 0
        latest = precompute.stored(con, precompute.COMMENT_THEMES, "", "", "")
        assert latest is not None and 0 < len(latest) <= LATEST
        assert {r: tuple(t) for r, t in latest} == latest_comment_themes(con, AS_OF)
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
        assert engine_calls == {"compute": 0, "series": 0, "clusters": 0, "themes": 0, "labels": 0}
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


def test_each_split_is_tested_against_the_rest_once(
    stored_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A split by a protected characteristic tests its groups against the rest on its first view
    only; later views are a lookup, and what they show is exactly a fresh test of the engine's
    figures and counts per victim (the board paper's test, Benjamini–Hochberg per right)."""
    import vcop.web.splits as web_splits
    from vcop.metrics.groups import versus_rest

    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return versus_rest(*args, **kwargs)

    monkeypatch.setattr(web_splits, "versus_rest", counted)
    catalogue = load_catalogue()
    metric = catalogue.metric("compliance_by_right")
    db = _copy(stored_db, tmp_path)
    for app in _app(db):
        client = sign_in(app, "analyst1")
        url = "/compliance.json?by=sex&period=quarter"
        first = client.get(url).json()["tables"]["compliance"]["rows"]
        tested = len(calls)
        assert tested > 0
        for _ in range(2):
            assert client.get(url).json()["tables"]["compliance"]["rows"] == first
        assert client.get("/compliance?by=sex&period=quarter").status_code == 200
        assert len(calls) == tested  # the same figures: no test run again
        client.get("/compliance.json?by=sex&period=month")  # other figures: tested on their own
        assert len(calls) > tested
    # the oracle: the engine's figures and counts per victim, tested afresh
    con = duckdb.connect(str(db), read_only=True)
    backend = ibis.duckdb.from_connection(con)
    try:
        with quietly():
            split = compute(backend, AS_OF, "quarter", metrics=[metric.id], by="sex",
                            catalogue=catalogue)  # fmt: skip
            wholes = compute(backend, AS_OF, "quarter", metrics=[metric.id], catalogue=catalogue)
        expected: dict[str, tuple[Any, Any, Any]] = {}
        for whole in wholes.values:
            values = [v for v in split.values if v.group[:1] == whole.group]
            start, end = whole.current.start, whole.current.end
            counts = victim_counts(backend, catalogue, metric, (*metric.grouping, "sex"), AS_OF,
                                   [(start, end)])  # fmt: skip
            own = victim_counts(backend, catalogue, metric, metric.grouping, AS_OF, [(start, end)])
            tests = versus_rest(
                values, whole, confidence=catalogue.settings.confidence,
                clusters={g: c for (_, g), c in counts.items() if g[:1] == whole.group},
                whole_clusters=own.get((0, whole.group)),
            )  # fmt: skip
            for v in values:
                t = tests[v.group]
                p = round(t.adjusted, 6) if t.adjusted is not None else None
                expected[v.group_name] = (t.text, t.significant, p)
    finally:
        con.close()
    shown = {r["group"]: (r["vs_rest"], r["vs_rest_significant"], r["vs_rest_p_adjusted"])
             for r in first}  # fmt: skip
    assert shown == expected
    assert any(p is not None for _, _, p in shown.values())


def test_a_scope_no_measure_of_the_page_has_is_not_computed(
    stored_db: Path, tmp_path: Path, engine_calls: dict[str, int]
) -> None:
    """A supervisor's response times: no response measure can be filtered to a unit, so the
    engine is not asked for the unit's figures (it would compute the whole catalogue to leave them
    all out); the page shows the force's figures and an empty column of the supervisor's, as
    before. A page with measures of a scope not stored (an officer's) still computes them."""
    catalogue = load_catalogue()
    response = [m for m in catalogue.metrics if m.family == "response"]
    assert response and not any("unit" in m.breakdowns for m in response)
    db = _copy(stored_db, tmp_path)
    for app in _app(db):
        client = sign_in(app, "super1")
        body = client.get("/response-times.json").json()
        assert engine_calls["compute"] == 0
        rows = [r for t in body["tables"].values() for r in t["rows"]]
        assert rows and all(r["scope_text"] is None and r["scope_n"] is None for r in rows)
        assert client.get("/response-times").status_code == 200
        assert engine_calls["compute"] == 0
        officer = sign_in(app, "officer1")
        body = officer.get("/index.json").json()  # the overview: measures by officer
        assert engine_calls["compute"] > 0
        rows = [r for t in body["tables"].values() for r in t["rows"]]
        assert any(r["scope_text"] is not None for r in rows)


def test_each_units_figures_are_stored(stored_db: Path) -> None:
    """Every investigating unit in the data has its figures stored for every period: exactly
    what ``compute()`` filtered to the unit gives (values, intervals, marks, notes)."""
    catalogue = load_catalogue()
    con = duckdb.connect(str(stored_db), read_only=True)
    backend = ibis.duckdb.from_connection(con)
    try:
        units = [u for (u,) in con.execute(
            "SELECT DISTINCT unit FROM crimes WHERE unit IS NOT NULL ORDER BY 1"
        ).fetchall()]  # fmt: skip
        kept = con.execute(
            f"SELECT split, period, metric_id FROM {precompute.TABLE} WHERE split LIKE 'scope:%'"
        ).fetchall()
        assert sorted(kept) == sorted(
            (precompute.scope_split([("unit", u)]), p, "")
            for u in units
            for p in precompute.PERIODS
        )
        assert len(units) > 1
        shown = 0
        for unit, period in [(u, p) for u in units for p in precompute.PERIODS]:
            with quietly():
                expected = compute(
                    backend, AS_OF, period, catalogue=catalogue, filters={"unit": unit}
                )
            got = precompute.stored(
                con, precompute.RESULT, period, precompute.scope_split([("unit", unit)]), ""
            )
            assert got is not None, (unit, period)
            assert precompute.dumps(got) == precompute.dumps(expected), (unit, period)
            shown += bool(got.values)
        assert shown > len(units)  # (a small unit may have no figures for one month)
    finally:
        con.close()


def test_a_supervisors_first_view_is_stored_and_the_same(
    stored_db: Path, tmp_path: Path, engine_calls: dict[str, int]
) -> None:
    """A supervisor's overview and satisfaction page (their unit's figures beside the force's),
    for any period, come from the stored figures, the engine never called, and show exactly what
    they show computed; a drill-down within the unit is computed on its first view, as before."""
    stored = _copy(stored_db, tmp_path / "stored")
    computed = _copy(stored_db, tmp_path / "computed")
    con = duckdb.connect(str(computed))
    con.execute(f"DROP TABLE {precompute.TABLE}")
    con.close()
    pages = ("/index.json", "/satisfaction.json", "/index.json?period=quarter")
    seen: dict[str, list[Any]] = {}
    for db in (stored, computed):
        for app in _app(db):
            for user in ("super1", "super2"):
                client = sign_in(app, user)
                for url in pages:
                    body = client.get(url).json()
                    seen.setdefault(f"{user} {url}", []).append(body.get("tables"))
                assert client.get("/").status_code == 200
                assert client.get("/satisfaction").status_code == 200
            if db == stored:
                assert engine_calls == {
                    "compute": 0,
                    "series": 0,
                    "clusters": 0,
                    "themes": 0,
                    "labels": 0,
                }
                analyst = sign_in(app, "analyst1")
                area = analyst.get("/compliance.json?by=area").json()
                place = area["tables"]["compliance"]["rows"][0]["split"]
                assert engine_calls["compute"] == 0
                assert analyst.get(f"/compliance?area={place}&by=district").status_code == 200
                assert engine_calls["compute"] > 0  # a drill-down: computed, as before
    for key, (a, b) in seen.items():
        assert a == b, key
    for url in pages:  # the unit's own figures are there (the busiest unit: survey answers too)
        rows = [r for t in seen[f"super1 {url}"][0].values() for r in t["rows"]]
        assert any(r.get("scope_text") is not None for r in rows), url


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
