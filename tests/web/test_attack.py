"""The attack: a partner collects every figure a release shows it, and solves for what is hidden.

An adversary signs in as a partner through the real form and crawls everything the dashboard
offers it: every page's JSON twin for every period, compliance by right, by obligation and for
each measure (force-wide, by area and for each area), and every XmR series. It adds the partner
pack's figures.csv and the compliance return for the release's quarter. Then it does what a
reader who knows vcop's public definitions can do:

* **differences**: a force-wide figure minus its visible areas, a right minus its visible
  obligations, a quarter or year minus its visible months;
* **linear programming** over all of it: every figure seen is written as a sum of atoms (rows of
  one kind, month and group, as docs/metrics.md defines them) and every hidden count and
  shortfall is bounded from below and above (:mod:`vcop.metrics.disclosure`). An earlier window a
  twin shows only as a rate is taken as known in full: its counts follow from its interval and
  p-value.

It must recover no count or shortfall from 1 to the threshold minus one: pin one to a value, or
bound one entirely within that range. (Returns of earlier quarters come from earlier releases;
keeping a release consistent with what earlier ones published is the publication ledger's job,
not yet built, so they are not part of this attack.)
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.conftest import THRESHOLD
from tests.web.helpers import served_copy, sign_in
from tests.webdata import WebData, copy_of
from vcop.cli import app as cli
from vcop.metrics import release as rel
from vcop.metrics.periods import month_end
from vcop.metrics.release import PERIODS, Release
from vcop.metrics.values import MetricValue
from vcop.spec.code import load_code
from vcop.spec.metrics import load_catalogue

CAT = load_catalogue()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"),
]

#: What the adversary learnt: figure → counts (shown) or None (hidden, [c]).
Seen = dict[rel.CellKey, dict[str, int] | None]


@pytest.fixture(scope="module")
def shared(
    webdata: WebData, published: Release, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("attack")
    with served_copy(webdata, folder, suppression_threshold=THRESHOLD) as application:
        yield application


def _counts(kind: str, num: Any, den: Any) -> dict[str, int]:
    if kind in ("proportion", "share"):
        return {"num": int(num), "den": int(den)}
    return {"n": int(num if kind == "count" else den)}


def _group(metric_id: str, breakdown: str, group: str) -> tuple[tuple[str, ...], frozenset]:
    m = CAT.metric(metric_id)
    names = [] if breakdown == "all" else breakdown.split("/")
    labels = [] if group == "all" else group.split("/")
    n = len(m.grouping)
    return tuple(labels[:n]), frozenset(zip(names[n:], labels[n:], strict=True))


def _note(seen: Seen, key: rel.CellKey, counts: dict[str, int] | None) -> None:
    """Record a figure; the same figure must read the same everywhere."""
    if key in seen:
        assert seen[key] == counts, f"{key} shows {seen[key]} in one place and {counts} in another"
    seen[key] = counts


def _earlier(seen: Seen, v: MetricValue) -> None:
    """A figure's earlier windows, as the release publishes them (a twin shows their rates,
    intervals and p-values, from which their counts follow)."""
    for c in (v.previous, v.year_ago):
        if c is None:
            continue
        key = rel.key_of(v, c.estimate, CAT, c.seen_at)
        e = c.estimate
        hidden = e.value is None and e.denominator is None
        counts = None if hidden else rel._counts(e, v.kind)
        seen.setdefault(key, counts)


def crawl(client: TestClient, published: Release) -> tuple[Seen, int]:
    """Everything the dashboard shows a partner: twins of every page, period and split."""
    seen: Seen = {}
    values = {
        (v.metric_id, v.period, v.breakdown_name, v.group_name): v
        for t in published.tables.values()
        for v in t
    }
    urls = [f"{p}.json?period={q}" for p in ("/index", "/satisfaction", "/response-times",
                                             "/outcomes") for q in PERIODS]  # fmt: skip
    measures = ["right", "obligation"] + [
        m.id for m in CAT.metrics if m.family == "victims_code" and not m.grouping
    ]
    areas = sorted({g for v in published.values("rolling_12m", "area") for g in v.group[-1:]})
    for measure in measures:
        for period in PERIODS:
            base = {"measure": measure, "period": period}
            urls.append(f"/compliance.json?{urlencode(base)}")
            urls.append(f"/compliance.json?{urlencode({**base, 'by': 'area'})}")
            urls += [f"/compliance.json?{urlencode({**base, 'area': a})}" for a in areas]
    for metric_id, by_group in published.series.items():
        for group in by_group:
            urls.append(
                f"/metrics/{metric_id}.json"
                + ("?" + urlencode({"group": "/".join(group)}) if group else "")
            )
    rows = 0
    for url in urls:
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (url, response.text[:200])
        body = response.json()
        series_metric = url.split("/metrics/")[1].split(".json")[0] if "/metrics/" in url else None
        group = tuple(body["meta"].get("group") or ()) if series_metric else ()
        for table in body["tables"].values():
            for row in table["rows"]:
                rows += 1
                if series_metric is not None and "month" in row and "metric_id" not in row:
                    month = date.fromisoformat(str(row["month"])[:10])
                    key = (series_metric, month, month_end(month), group, frozenset(),
                           published.as_of)  # fmt: skip
                    kind = CAT.metric(series_metric).kind
                    hidden = row.get("suppressed") or row.get("value") is None
                    counts = None if hidden else _counts(kind, row["numerator"], row["denominator"])
                    _note(seen, key, counts)
                    continue
                if "metric_id" not in row:
                    continue  # a trend table: the same months as the XmR series
                g, split = _group(row["metric_id"], row["breakdown"], row["group"])
                key = (row["metric_id"], date.fromisoformat(row["period_start"]),
                       date.fromisoformat(row["period_end"]), g, split,
                       date.fromisoformat(row["as_of"]))  # fmt: skip
                kind = CAT.metric(row["metric_id"]).kind
                counts = (
                    None
                    if row["suppressed"]
                    else _counts(kind, row["numerator"], row["denominator"])
                )
                _note(seen, key, counts)
                v = values[(row["metric_id"], row["period"], row["breakdown"], row["group"])]
                _earlier(seen, v)
    return seen, rows


def pack_and_return(
    db: Path, published: Release, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> Seen:
    """The partner pack's figures.csv and the return for the release's quarter, cut from the
    release the dashboard serves (the commands would build the same one)."""
    from vcop.reports import compliance_return, source

    monkeypatch.setattr(source, "build_release", lambda *a, **k: published)
    monkeypatch.setattr(compliance_return, "build_release", lambda *a, **k: published)
    runner = CliRunner()
    out = tmp / "pack"
    result = runner.invoke(cli, ["report", "partner", "--db", str(db), "--as-of",
                                 published.as_of.isoformat(), "--out", str(out), "--no-charts"])  # fmt: skip
    assert result.exit_code == 0, result.output
    seen: Seen = {}
    candidates: dict[tuple[Any, ...], list[rel.CellKey]] = defaultdict(list)
    model_keys = rel.figures(published, CAT).model.cells
    for key in model_keys:
        candidates[key[:5]].append(key)
    with (out / "figures.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        g, split = _group(row["metric_id"], row["breakdown"], row["group"])
        window = (row["metric_id"], date.fromisoformat(row["period_start"]),
                  date.fromisoformat(row["period_end"]), g, split)  # fmt: skip
        kind = CAT.metric(row["metric_id"]).kind
        keys = candidates[window]
        assert keys, f"the pack shows {window}, which the release does not publish"
        if row["suppressed"] == "true":
            assert row["numerator"] == row["denominator"] == ""
            for key in keys:
                seen.setdefault(key, None)
            continue
        counts = _counts(kind, row["numerator"] or 0, row["denominator"] or 0)
        seen.setdefault(min(keys, key=lambda k: k[5] != published.as_of), counts)
    quarter = f"{published.as_of.year}Q{(published.as_of.month - 1) // 3 + 1}"
    book = tmp / "return.xlsx"
    result = runner.invoke(cli, ["report", "compliance-return", "--db", str(db), "--quarter",
                                 quarter, "--out", str(book)])  # fmt: skip
    assert result.exit_code == 0, result.output
    from tests.test_compliance_return import figures_of

    cells, _ = figures_of(book)
    start = published.as_of.replace(day=1, month=published.as_of.month - 2)
    for (metric_id, group, scope), (pct, met, n) in cells.items():
        split = frozenset() if scope is None else frozenset({("area", scope)})
        key = (metric_id, start, published.as_of, tuple(group), split, published.as_of)
        if pct == rel.SUPPRESSED:
            seen.setdefault(key, None)
        elif isinstance(n, int):
            seen.setdefault(key, {"num": int(met), "den": int(n)})
    return seen


# --- the attack -----------------------------------------------------------------------------------


def differences(seen: Seen) -> list[str]:
    """Hidden figures that a total minus its visible parts gives away (each in turn)."""
    found = []

    def check(total: rel.CellKey, parts: list[rel.CellKey], what: str) -> None:
        if seen.get(total) is None or any(p not in seen for p in parts):
            return
        hidden = [p for p in parts if seen[p] is None]
        if len(hidden) != 1:
            return
        t = seen[total]
        assert t is not None
        rest = {k: t[k] - sum((seen[p] or {}).get(k, 0) for p in parts) for k in t}
        values = [rest.get("num", rest.get("n", 0))]
        if "den" in rest:
            values.append(rest["den"] - rest["num"])
        if any(0 < x < THRESHOLD for x in values):
            found.append(f"{what}: {hidden[0]} = {rest}")

    by_parent: dict[tuple[Any, ...], list[rel.CellKey]] = defaultdict(list)
    for key in seen:
        if key[4]:
            by_parent[(*key[:4], frozenset(), key[5])].append(key)
    for total, parts in by_parent.items():
        check(total, parts, "areas within the force")
    right_of = {o.id: str(o.right) for o in load_code().obligations if o.right is not None}
    obligations: dict[tuple[Any, ...], list[rel.CellKey]] = defaultdict(list)
    for key in seen:
        if key[0] == "compliance_by_obligation" and key[3][0] in right_of:
            obligations[("compliance_by_right", key[1], key[2], (right_of[key[3][0]],), key[4], key[5])].append(key)  # fmt: skip
    for total, parts in obligations.items():
        check(total, parts, "obligations within their right")
    months: dict[tuple[Any, ...], dict[date, rel.CellKey]] = defaultdict(dict)
    for key in seen:
        if key[1].day == 1 and key[2] == month_end(key[1]):
            months[(key[0], key[3], key[4], key[5])][key[1]] = key
    for key in list(seen):
        have = months.get((key[0], key[3], key[4], key[5]), {})
        span = [m for m in have if key[1] <= m <= key[2]]
        if len(span) > 1 and key not in have.values():
            check(key, [have[m] for m in span], "months within a longer window")
    return found


def test_a_partner_recovers_no_hidden_count(
    shared: FastAPI,
    webdata: WebData,
    published: Release,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = sign_in(shared, "partner1")
    seen, rows = crawl(client, published)
    assert rows > 1000
    (tmp_path / "reports").mkdir()
    reports_db = copy_of(webdata, tmp_path / "reports").db  # the server holds its own copy
    for key, counts in pack_and_return(reports_db, published, tmp_path, monkeypatch).items():
        if key in seen and counts is not None and seen[key] is not None:
            assert seen[key] == counts, key
        seen.setdefault(key, counts)
    hidden = {k for k, c in seen.items() if c is None}
    shown = {k: c for k, c in seen.items() if c is not None}
    assert len(hidden) > 50 and len(shown) > 300  # the attack has something to work on
    assert differences(seen) == []
    # the linear programme: every figure seen as a sum of atoms, hidden ones bounded
    figures = rel.figures(published, CAT)
    model = figures.model
    assert hidden <= set(model.cells), sorted(hidden - set(model.cells))[:5]
    for key in hidden:
        model.cells[key].counts = None  # what the reader does not know
    # a group missing from a table is zero there, and the reader knows it
    known = {**{k: model.cells[k].counts or {} for k in figures.implied}, **shown}
    findings = model.audit(hidden, THRESHOLD, values=known, check=hidden)
    assert findings == [], findings[:5]


def test_the_differences_catch_a_lone_hidden_part() -> None:
    """The adversary's first tool works: a total minus its visible parts."""
    d = date(2025, 6, 1)
    force = ("victim_updates_on_time", d, date(2025, 6, 30), (), frozenset(), d)
    north = (*force[:4], frozenset({("area", "North")}), d)
    south = (*force[:4], frozenset({("area", "South")}), d)
    seen: Seen = {force: {"num": 100, "den": 120}, north: {"num": 95, "den": 115}, south: None}
    (found,) = differences(seen)
    assert "areas within the force" in found and "'num': 5" in found
    seen[north] = None  # two hidden: nothing given away
    assert differences(seen) == []
