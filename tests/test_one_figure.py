"""One figure, four places: the dashboard's twins, `vcop metrics --format csv`, the board paper's
figures.csv and the partner pack's figures.csv show the same value, the same marks
(``provisional``, ``comparable`` and why not) and the same SPC reading for every figure each shows.

The shared small Demoshire database (ledger as of 2025-06-30) is copied twice: one copy for the
dashboard (served in process, signed in as an analyst and as a partner), one for the commands (run
in process with typer's CliRunner). Each report and each table of figures is made once for the
module. The sample is deterministic and broad: every metric of the overview for the four periods,
compliance by right and by obligation (every group) force-wide, by area and drilled into each area,
a rotating sample of single Victims' Code measures by area, and the XmR twins of every metric
force-wide (every right and delay reason, every other obligation) and of a sample by area; the
board paper is checked wherever it cites a figure, the partner pack wherever it shows one (or
hides one).

The force's figures are compared dashboard (analyst) <-> `vcop metrics` <-> board paper; the
partners' figures dashboard (partner) <-> `vcop metrics --suppress` <-> partner pack, and a figure
a partner sees must be the force's figure. The dashboard builds its own release (or serves the one
the session already built); both partner commands are given one release built here from the
commands' copy, as `vcop report partner` builds it (building it per command would cost a minute
each), so the two sides of the comparison come from two builds.

Values are compared to 6 decimal places (the CSV's rounding), numerators and denominators exactly.
Every disagreement is collected and reported at once, naming the metric, period, group, outputs
and the two values.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import vcop.cli.metrics  # noqa: F401  (registers `vcop metrics`)
from tests.web.helpers import served_copy, sign_in
from tests.webdata import AS_OF, WebData, build, copy_of
from vcop.cli import app as cli
from vcop.metrics.release import SUPPRESSED, Release
from vcop.spec.metrics import load_catalogue
from vcop.web.routes.compliance import SPLITS

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)

THRESHOLD = 10
PERIODS = ("month", "quarter", "fytd", "rolling_12m")
CATALOGUE = load_catalogue()
GROUPED = ("compliance_by_right", "compliance_by_obligation")
MEASURES = {"right": "compliance_by_right", "obligation": "compliance_by_obligation"}
#: The single Victims' Code measures /compliance offers (each can be split by area there).
SINGLE = sorted(
    m.id
    for m in CATALOGUE.metrics
    if m.family == "victims_code" and not m.grouping and m.kind == "proportion"
)
#: How many single measures by area each period samples (rotating, so all are covered).
SINGLE_PER_PERIOD = 3

#: (metric_id, period, breakdown, group), spelt as the public columns spell them
#: ("all", "right/area", "6/North").
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Fig:
    """One figure as an output shows it: its window, counts, value and the engine's marks."""

    start: str
    end: str
    numerator: int | None
    denominator: int | None
    value: float | None
    provisional: bool
    comparable: bool
    comparable_reason: str | None
    spc_variation: str | None
    suppressed: bool


MARKS = ("provisional", "comparable", "comparable_reason", "spc_variation")


def _text(x: Any) -> str | None:
    return None if x is None or x == "" else str(x)


def _int(x: Any) -> int | None:
    return None if x is None or x == "" else int(x)


def _float(x: Any) -> float | None:
    return None if x is None or x == "" else round(float(x), 6)


def _bool(x: Any) -> bool:
    if isinstance(x, bool):
        return x
    text = str(x).lower()
    assert text in ("true", "false"), f"not a boolean: {x!r}"
    return text == "true"


def fig(r: Mapping[str, Any]) -> Fig:
    """A figure from a record: a `vcop metrics` CSV row, a twin's row or a figures.csv row."""
    return Fig(
        start=str(r["period_start"]),
        end=str(r["period_end"]),
        numerator=_int(r["numerator"]),
        denominator=_int(r["denominator"]),
        value=_float(r["value"]),
        provisional=_bool(r["provisional"]),
        comparable=_bool(r["comparable"]),
        comparable_reason=_text(r["comparable_reason"]),
        spc_variation=_text(r["spc_variation"]),
        suppressed=_bool(r.get("suppressed", False)),
    )


def key_of(r: Mapping[str, Any]) -> Key:
    return (str(r["metric_id"]), str(r["period"]), str(r["breakdown"]), str(r["group"]))


class Disagreements:
    """Every difference found, reported together (metric, period, group, outputs, values)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.compared: Counter[str] = Counter()

    def same(
        self,
        key: Key,
        a_name: str,
        a: Mapping[str, Any],
        b_name: str,
        b: Mapping[str, Any],
        names: Iterable[str] | None = None,
    ) -> None:
        self.compared[f"{a_name} <-> {b_name}"] += 1
        for name in names or a.keys():
            if a[name] != b[name]:
                self.found.append(
                    f"{key[0]} {key[1]} {key[2]}={key[3]}: {name} is {a[name]!r} in {a_name} "
                    f"but {b[name]!r} in {b_name}"
                )

    def figures(self, key: Key, a_name: str, a: Fig, b_name: str, b: Fig) -> None:
        self.same(key, a_name, asdict(a), b_name, asdict(b))

    def check(self) -> None:
        assert not self.found, f"{len(self.found)} disagreement(s):\n" + "\n".join(self.found[:60])


# --------------------------------------------------------------------------------------------
# The outputs
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def webdata(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="module")
def cli_db(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The commands' copy of the data (opened read-only by every command)."""
    return copy_of(webdata, tmp_path_factory.mktemp("one-figure-cli")).db


@pytest.fixture(scope="module")
def dashboard(webdata: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("one-figure-web")
    with served_copy(webdata, folder, suppression_threshold=THRESHOLD) as application:
        yield application


@pytest.fixture(scope="module")
def analyst(dashboard: FastAPI) -> TestClient:
    return sign_in(dashboard, "analyst1")


@pytest.fixture(scope="module")
def partner(dashboard: FastAPI) -> TestClient:
    return sign_in(dashboard, "partner1")


def get(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
    body: dict[str, Any] = response.json()
    return body


class Metrics:
    """`vcop metrics --format csv`, run once per (period, split, metrics, suppress)."""

    def __init__(self, db: Path, release: Callable[[], Release]) -> None:
        self.db = db
        self.release = release
        self._tables: dict[tuple[Any, ...], dict[Key, dict[str, str]]] = {}
        self.built: list[tuple[Any, ...]] = []

    def table(
        self,
        period: str,
        by: str | None = None,
        metrics: Iterable[str] = (),
        *,
        suppress: bool = False,
    ) -> dict[Key, dict[str, str]]:
        chosen = tuple(sorted(set(metrics)))
        wanted = (period, by, chosen, suppress)
        if wanted not in self._tables:
            args = ["metrics", "--db", str(self.db), "--as-of", AS_OF.isoformat()]
            args += ["--period", period, "--format", "csv"]
            args += ["--by", by] if by else []
            for m in chosen:
                args += ["--metric", m]
            if suppress:
                args += ["--suppress", "--threshold", str(THRESHOLD)]
                release = self.release()  # built before the command's build is replaced

                def prebuilt(backend: Any, as_of: Any, *, threshold: int, **_: Any) -> Release:
                    """The module's release, for the release the command asked for."""
                    assert (as_of, threshold) == (AS_OF, THRESHOLD)
                    self.built.append((as_of, threshold))
                    return release

                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr("vcop.metrics.release.build", prebuilt)
                    result = CliRunner().invoke(cli, args)
            else:
                result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
            rows = list(csv.DictReader(io.StringIO(result.stdout)))
            assert rows, f"`vcop {' '.join(args)}` printed no figures"
            table = {key_of(r): r for r in rows}
            assert len(table) == len(rows), "a figure printed twice"
            self._tables[wanted] = table
        return self._tables[wanted]


@pytest.fixture(scope="module")
def commands_release(cli_db: Path) -> Release:
    """The partner release of the commands' copy, as `vcop report partner` builds it."""
    from vcop.metrics.targets import targets_for_db
    from vcop.reports.source import build_release, open_source

    with open_source(cli_db, AS_OF) as source:
        return build_release(source, threshold=THRESHOLD, targets=targets_for_db(cli_db))


@pytest.fixture(scope="module")
def metrics(cli_db: Path, request: pytest.FixtureRequest) -> Metrics:
    return Metrics(cli_db, lambda: request.getfixturevalue("commands_release"))


@dataclass
class Report:
    rows: list[dict[str, str]]
    #: Each row's citation kind, in row order: "value" (a window of a metric value) or "month"
    #: (a month of a monthly series).
    sources: list[str]


def _report(args: list[str], out: Path, patch: Callable[[pytest.MonkeyPatch], None]) -> Report:
    """Run `vcop report ...`, read its figures.csv (and which rows are months of a series)."""
    import vcop.cli.reports

    captured: list[Any] = []
    original = vcop.cli.reports.write_documents

    def keep_book(doc: Any, book: Any, *rest: Any) -> None:
        captured.append(book)
        original(doc, book, *rest)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vcop.cli.reports, "write_documents", keep_book)
        patch(mp)
        result = CliRunner().invoke(cli, [*args, "--out", str(out), "--format", "html"])
    assert result.exit_code == 0, result.output
    with (out / "figures.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        rows = list(reader)
    for column in ("metric_id", "period", "breakdown", "group", "period_start", "period_end",
                   "numerator", "denominator", "value", "shown_as", *MARKS):  # fmt: skip
        assert column in header, f"figures.csv has no {column} column: {header}"
    (book,) = captured
    assert len(rows) == len(book.citations) > 0
    for row, c in zip(rows, book.citations, strict=True):
        assert (row["ref"], row["metric_id"], row["group"], row["period_start"]) == (
            c.ref,
            c.metric_id,
            c.group,
            c.start.isoformat(),
        )
    return Report(rows, [c.source for c in book.citations])


@pytest.fixture(scope="module")
def board(cli_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Report:
    out = tmp_path_factory.mktemp("one-figure-board")
    args = ["report", "board", "--db", str(cli_db), "--as-of", AS_OF.isoformat(), "--no-charts"]
    return _report(args, out, lambda mp: None)


@pytest.fixture(scope="module")
def pack(
    cli_db: Path, commands_release: Release, tmp_path_factory: pytest.TempPathFactory
) -> Report:
    out = tmp_path_factory.mktemp("one-figure-pack")
    asked: list[tuple[Any, int]] = []

    def same_release(source: Any, *, threshold: int, **_: Any) -> Release:
        asked.append((source.as_of, threshold))
        return commands_release

    args = ["report", "partner", "--db", str(cli_db), "--as-of", AS_OF.isoformat(),
            "--threshold", str(THRESHOLD), "--no-charts"]  # fmt: skip
    report = _report(
        args, out, lambda mp: mp.setattr("vcop.reports.source.build_release", same_release)
    )
    assert asked == [(AS_OF, THRESHOLD)]
    return report


# --------------------------------------------------------------------------------------------
# The dashboard's twins
# --------------------------------------------------------------------------------------------


def areas(metrics: Metrics) -> list[str]:
    found = sorted({k[3] for k in metrics.table("rolling_12m", "area") if k[2] == "area"})
    assert len(found) >= 2, found
    return found


def single_sample(period: str) -> list[str]:
    """The single measures split by area for ``period``: a rotating, deterministic sample."""
    i = PERIODS.index(period) * SINGLE_PER_PERIOD
    return [SINGLE[(i + j) % len(SINGLE)] for j in range(SINGLE_PER_PERIOD)]


def page_urls(places: list[str]) -> list[str]:
    urls = []
    for period in PERIODS:
        urls.append(f"/index.json?period={period}")
        for measure in ("right", "obligation", *single_sample(period)):
            base = {"measure": measure, "period": period}
            if measure in MEASURES:
                urls.append("/compliance.json?" + urlencode(base))
                urls += ["/compliance.json?" + urlencode({**base, "area": a}) for a in places]
            urls.append("/compliance.json?" + urlencode({**base, "by": "area"}))
    return urls


def twin_rows(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The figures of a page's twin (its tables' rows that are metric values), keyed as the
    public columns spell them; a page drilled into an area names its rows' area."""
    parents = body["meta"].get("parents") or {}
    assert set(parents) <= {"area"}, parents
    for table in body["tables"].values():
        for row in table["rows"]:
            if not row.get("metric_id"):
                continue
            row = dict(row)
            if parents and "area" not in row["breakdown"].split("/"):
                (place,) = parents.values()
                grouped = row["breakdown"] != "all"
                row["breakdown"] = f"{row['breakdown']}/area" if grouped else "area"
                row["group"] = f"{row['group']}/{place}" if grouped else place
            yield row


class Twins:
    """The figures a signed-in user sees on the dashboard's twins (each URL fetched once); a
    figure shown on two pages must be shown the same on both."""

    def __init__(self, client: TestClient, name: str, problems: Disagreements) -> None:
        self.client = client
        self.name = name
        self.problems = problems
        self.figures: dict[Key, Fig] = {}
        self.rows: dict[Key, dict[str, Any]] = {}
        self.seen_on: dict[Key, str] = {}
        self.urls: list[str] = []

    def load(self, urls: Iterable[str]) -> None:
        for url in urls:
            if url in self.urls:
                continue
            self.urls.append(url)
            for row in twin_rows(get(self.client, url)):
                key = key_of(row)
                f = fig(row)
                if key in self.figures:
                    here = f"{self.name} {url}"
                    self.problems.figures(
                        key, f"{self.name} {self.seen_on[key]}", self.figures[key], here, f
                    )
                    continue
                self.figures[key] = f
                self.rows[key] = row
                self.seen_on[key] = url


def xmr(
    client: TestClient, metric_id: str, group: str = "all", place: str | None = None
) -> dict[str, Any]:
    query = {}
    if group != "all":
        query["group"] = group
    if place is not None:
        query["area"] = place
    return get(client, f"/metrics/{metric_id}.json" + (f"?{urlencode(query)}" if query else ""))


# --------------------------------------------------------------------------------------------
# Helpers on keys and windows
# --------------------------------------------------------------------------------------------


def split_of(metric_id: str, breakdown: str) -> str | None:
    """The split of a figure's breakdown beyond its metric's own grouping (None: none)."""
    grouping = "/".join(CATALOGUE.metric(metric_id).grouping)
    if breakdown in ("all", grouping):
        return None
    return breakdown.removeprefix(grouping + "/") if grouping else breakdown


def family(metric_id: str) -> str:
    return CATALOGUE.metric(metric_id).family


def window(record: Mapping[str, str], row: Mapping[str, str]) -> str | None:
    """Which window of a `vcop metrics` record a figures.csv row quotes: current, previous or
    year_ago (None: none of them)."""
    span = (row["period_start"], row["period_end"])
    if span == (record["period_start"], record["period_end"]):
        return "current"
    for which in ("previous", "year_ago"):
        if span == (record[f"{which}_start"], record[f"{which}_end"]):
            return which
    return None


def earlier(record: Mapping[str, str], which: str) -> dict[str, Any]:
    """An earlier window of a record, as figures.csv shows it: its value and sample size, never
    provisional, with the value's comparability and SPC reading."""
    return {
        "value": _float(record[f"{which}_value"]),
        "denominator": _int(record[f"{which}_denominator"]),
        "provisional": False,
        "comparable": _bool(record["comparable"]),
        "comparable_reason": _text(record["comparable_reason"]),
        "spc_variation": _text(record["spc_variation"]),
    }


def quoted(row: Mapping[str, str]) -> dict[str, Any]:
    f = fig(row)
    return {
        "value": f.value,
        "denominator": f.denominator,
        "provisional": f.provisional,
        "comparable": f.comparable,
        "comparable_reason": f.comparable_reason,
        "spc_variation": f.spc_variation,
    }


def month_of_twin(month: Mapping[str, Any]) -> dict[str, Any]:
    """A month of an XmR twin as a figures.csv row shows it."""
    hidden = bool(month["suppressed"])
    return {
        "numerator": None if hidden else _int(month["numerator"]),
        "denominator": None if hidden else _int(month["denominator"]),
        "value": None if hidden else _float(month["value"]),
        "provisional": bool(month["provisional"]),
        "comparable": month["mark"] is None,
        "spc_variation": month["point_type"],
        "suppressed": hidden,
    }


def month_of_row(row: Mapping[str, str]) -> dict[str, Any]:
    f = fig(row)
    return {
        "numerator": f.numerator,
        "denominator": f.denominator,
        "value": f.value,
        "provisional": f.provisional,
        "comparable": f.comparable,
        "spc_variation": f.spc_variation,
        "suppressed": f.suppressed,
    }


#: Families the generated test force has no rows for: Victim Voice answers come from vcop's own
#: questionnaire or a survey company's file, not the generator (tests/test_voice_metrics.py and
#: tests/test_survey_supplier.py check those measures' figures).
NO_DATA_FAMILIES = {"victim_voice"}


def covers(compared: Iterable[Key], what: str) -> None:
    """The compared figures cover what the module docstring claims: every period, force-wide
    and by area, several metrics of every family, grouped metrics with several groups."""
    keys = list(compared)
    assert keys, f"{what}: nothing compared"
    assert {k[1] for k in keys} >= set(PERIODS), f"{what}: periods {sorted({k[1] for k in keys})}"
    splits = {split_of(k[0], k[2]) for k in keys}
    assert {None, "area"} <= splits, f"{what}: splits {splits}"
    per_family: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        per_family[family(k[0])].add(k[0])
    for fam in {m.family for m in CATALOGUE.metrics}:
        if fam in NO_DATA_FAMILIES:  # until the generated force has them, nothing to compare
            assert not per_family[fam], f"{what}: {fam} has data now: drop it from NO_DATA_FAMILIES"
            continue
        size = len([m for m in CATALOGUE.metrics if m.family == fam])
        assert len(per_family[fam]) >= min(2, size), f"{what}: family {fam} has {per_family[fam]}"
    for metric_id in GROUPED:
        for split in (None, "area"):
            groups = {
                k[3].split("/")[0]
                for k in keys
                if k[0] == metric_id and split_of(k[0], k[2]) == split
            }
            assert len(groups) >= 3, f"{what}: {metric_id} by {split}: groups {groups}"


# --------------------------------------------------------------------------------------------
# The force's figures: dashboard (analyst) <-> `vcop metrics` <-> board paper
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def force_twins(analyst: TestClient, metrics: Metrics) -> Twins:
    problems = Disagreements()
    twins = Twins(analyst, "dashboard", problems)
    twins.load(page_urls(areas(metrics)))
    problems.check()
    return twins


def force_table(metrics: Metrics, period: str, by: str | None) -> dict[Key, dict[str, str]]:
    return metrics.table(period, by)


def test_the_dashboard_and_vcop_metrics_show_the_same_force_figures(
    force_twins: Twins, metrics: Metrics
) -> None:
    problems = Disagreements()
    compared: list[Key] = []
    for key, shown in force_twins.figures.items():
        metric_id, period, breakdown, _ = key
        split = split_of(metric_id, breakdown)
        assert split in (None, "area"), key
        table = force_table(metrics, period, split)
        assert key in table, (
            f"{key} is on the dashboard ({force_twins.seen_on[key]}) but not in `vcop metrics`"
        )
        record = table[key]
        problems.figures(key, "dashboard", shown, "vcop metrics", fig(record))
        # the change the dashboard calls significant, and which way is better, are the command's
        row = force_twins.rows[key]
        significant = record["significant_change"]
        problems.same(
            key,
            "dashboard",
            {"significant_change": row["significant_change"], "better": row["better"]},
            "vcop metrics",
            {
                "significant_change": None if significant == "" else _bool(significant),
                "better": record["better"],
            },
        )
        compared.append(key)
    problems.check()
    covers(compared, "dashboard <-> vcop metrics")
    # the sample holds every kind of mark
    figs = [force_twins.figures[k] for k in compared]
    assert {f.provisional for f in figs} == {True, False}
    assert {f.comparable for f in figs} == {True, False}
    assert len({f.spc_variation for f in figs} - {None}) >= 2, {f.spc_variation for f in figs}
    assert not any(f.suppressed for f in figs)
    # every figure the command prints of the overview's metrics and of the grouped ones
    # (force-wide and, for the grouped ones, by area) is on the dashboard's pages sampled here
    for period in PERIODS:
        for by in (None, "area"):
            for key in force_table(metrics, period, by):
                if key[0] in GROUPED or key[2] == "all":
                    assert key in force_twins.figures, f"{key} is not on the dashboard"


def spc_sample(metrics: Metrics) -> list[tuple[str, str, str | None]]:
    """(metric, group, area) of the XmR twins compared: every metric force-wide (every group of
    compliance by right and of delay reasons, every other obligation), and by area every third
    metric of the overview and three rights."""
    out: list[tuple[str, str, str | None]] = []
    table = force_table(metrics, "rolling_12m", None)
    overview = sorted({k[0] for k in table if k[2] == "all"})
    for key in sorted(table):
        metric_id, _, breakdown, group = key
        if breakdown == "all":
            out.append((metric_id, "all", None))
        elif (
            metric_id != "compliance_by_obligation"
            or sorted(g for (m, _, _, g) in table if m == metric_id).index(group) % 2 == 0
        ):
            out.append((metric_id, group, None))
    # the three rights with the most entitlements, so that every area has them
    counts = {
        g: float(v.get("denominator") or 0)
        for (m, _, _, g), v in table.items()
        if m == "compliance_by_right"
    }
    rights = sorted(counts, key=lambda g: (-counts[g], g))[:3]
    for place in areas(metrics):
        out += [(m, "all", place) for m in overview[::3]]
        out += [("compliance_by_right", g, place) for g in rights]
    return out


def test_the_xmr_twins_give_the_spc_reading_vcop_metrics_gives(
    analyst: TestClient, metrics: Metrics
) -> None:
    """The SPC reading of a figure (every period) is the reading of its monthly XmR chart."""
    problems = Disagreements()
    readings: Counter[str | None] = Counter()
    sample = spc_sample(metrics)
    for metric_id, group, place in sample:
        body = xmr(analyst, metric_id, group, place)
        assert body["meta"]["metric_id"] == metric_id
        grouping = "/".join(CATALOGUE.metric(metric_id).grouping)
        breakdown = "/".join(b for b in (grouping, "area" if place else "") if b) or "all"
        full = "/".join(g for g in (group if group != "all" else "", place or "") if g) or "all"
        for period in PERIODS:
            key = (metric_id, period, breakdown, full)
            table = force_table(metrics, period, "area" if place else None)
            if key not in table:
                continue
            problems.same(
                key,
                "XmR twin",
                {"spc_variation": body["meta"]["variation"]},
                "vcop metrics",
                {"spc_variation": _text(table[key]["spc_variation"])},
            )
            readings[body["meta"]["variation"]] += 1
    problems.check()
    assert sum(problems.compared.values()) >= 4 * len(sample) * 0.9, problems.compared
    assert len(readings) >= 3, readings  # none, and at least two kinds of reading


@pytest.fixture(scope="module")
def board_checked(
    board: Report, metrics: Metrics, force_twins: Twins, analyst: TestClient
) -> Counter[str]:
    """Each figure the board paper cites, against `vcop metrics`, the dashboard where it shows
    it and, for a month of a series, the XmR twin."""
    problems = Disagreements()
    # the dashboard's splits the paper cites (compliance by crime type, age band, ...)
    extra = set()
    for row in board.rows:
        split = split_of(row["metric_id"], row["breakdown"])
        measure = {v: k for k, v in MEASURES.items()}.get(row["metric_id"], row["metric_id"])
        if split in SPLITS and (row["metric_id"] in GROUPED or row["metric_id"] in SINGLE):
            extra.add(
                "/compliance.json?"
                + urlencode({"measure": measure, "period": row["period"], "by": split})
            )
    force_twins.load(sorted(extra))
    force_twins.problems.check()
    kinds: Counter[str] = Counter()
    months: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row, source in zip(board.rows, board.sources, strict=True):
        key = key_of(row)
        assert not _bool(row.get("suppressed", "false")), row  # the board paper is internal
        if source == "month":
            if (row["metric_id"], row["group"]) not in months:
                body = xmr(analyst, row["metric_id"], row["group"])
                months[(row["metric_id"], row["group"])] = {
                    m["month"]: m for m in body["tables"]["months"]["rows"]
                }
            twin = months[(row["metric_id"], row["group"])][row["period_start"]]
            problems.same(
                key, "board figures.csv (month)", month_of_row(row), "XmR twin", month_of_twin(twin)
            )
            kinds["month"] += 1
            continue
        split = split_of(row["metric_id"], row["breakdown"])
        table = metrics.table(
            row["period"], split, [row["metric_id"]] if split not in (None, "area") else ()
        )
        assert key in table, f"{key}: cited by the board paper, not in `vcop metrics`"
        record = table[key]
        if source in ("per_1000", "benchmark"):
            # a rate per 1,000 residents is its count over the residents, and a benchmark is the
            # long-term figure `vcop metrics` gives beside the count
            ours = float(row["numerator"] if source == "per_1000" else row["value"])
            theirs = record["value"] if source == "per_1000" else record["benchmark"]
            problems.same(key, f"board figures.csv ({source})", {source: round(ours, 6)},
                          "vcop metrics", {source: round(float(theirs), 6)})  # fmt: skip
            kinds[source] += 1
            continue
        which = window(record, row)
        assert which is not None, f"{row}: no window of {record} is quoted"
        if which == "current":
            problems.figures(key, "board figures.csv", fig(row), "vcop metrics", fig(record))
            if key in force_twins.figures:
                problems.figures(
                    key, "board figures.csv", fig(row), "dashboard", force_twins.figures[key]
                )
                kinds["value, on the dashboard"] += 1
        else:
            problems.same(
                key,
                f"board figures.csv ({which})",
                quoted(row),
                "vcop metrics",
                earlier(record, which),
            )
            kinds[f"{which} window"] += 1
        kinds[f"value by {split or 'none'}"] += 1
    problems.check()
    return kinds


def test_the_board_paper_cites_the_figures_the_dashboard_and_vcop_metrics_show(
    board: Report, board_checked: Counter[str]
) -> None:
    kinds = board_checked
    counted = ("value by", "month", "per_1000", "benchmark")
    assert sum(v for k, v in kinds.items() if k.startswith(counted)) == len(board.rows)
    assert kinds["month"] >= 1 and kinds["value by none"] >= 10 and kinds["value by area"] >= 1
    assert kinds["value, on the dashboard"] >= 20, kinds
    assert {r["period"] for r in board.rows} >= {"month", "rolling_12m"}
    assert {r["provisional"] for r in board.rows} == {"true", "false"}
    assert {r["comparable"] for r in board.rows} == {"true", "false"}
    assert {r["spc_variation"] for r in board.rows} - {""}


# --------------------------------------------------------------------------------------------
# The partners' figures: dashboard (partner) <-> `vcop metrics --suppress` <-> partner pack
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partner_twins(partner: TestClient, metrics: Metrics) -> Twins:
    problems = Disagreements()
    twins = Twins(partner, "partner dashboard", problems)
    twins.load(page_urls(areas(metrics)))
    problems.check()
    return twins


def partner_table(metrics: Metrics, period: str, by: str | None) -> dict[Key, dict[str, str]]:
    return metrics.table(period, by, suppress=True)


def hidden_right(f: Fig) -> bool:
    """A hidden figure carries no count and no value; a shown one is not hidden."""
    return not f.suppressed or (f.numerator, f.denominator, f.value, f.spc_variation) == (None,) * 4


def test_the_partner_dashboard_and_vcop_metrics_suppress_show_the_same_release(
    partner_twins: Twins, metrics: Metrics
) -> None:
    problems = Disagreements()
    compared: list[Key] = []
    for key, shown in partner_twins.figures.items():
        metric_id, period, breakdown, _ = key
        split = split_of(metric_id, breakdown)
        table = partner_table(metrics, period, split)
        assert key in table, (
            f"{key} is on the partner dashboard but not in `vcop metrics --suppress`"
        )
        record = fig(table[key])
        problems.figures(key, "partner dashboard", shown, "vcop metrics --suppress", record)
        assert hidden_right(shown) and hidden_right(record), key
        if shown.suppressed:
            row = partner_twins.rows[key]
            assert (row["value_text"], row["n"]) == (SUPPRESSED, SUPPRESSED), row
        compared.append(key)
    problems.check()
    assert metrics.built, "`vcop metrics --suppress` did not ask for a release"
    covers(compared, "partner dashboard <-> vcop metrics --suppress")
    hidden = [k for k in compared if partner_twins.figures[k].suppressed]
    assert len(hidden) >= 10 and len(hidden) < len(compared), (len(hidden), len(compared))
    assert {k[1] for k in hidden} >= {"month", "rolling_12m"}
    # a partner sees every figure of the overview's metrics and of the grouped ones (force-wide
    # and, for the grouped ones, by area) the release publishes, on the pages sampled here
    for period in PERIODS:
        for by in (None, "area"):
            for key in partner_table(metrics, period, by):
                if key[0] in GROUPED or key[2] == "all":
                    assert key in partner_twins.figures, f"{key} is not on the partner dashboard"
    # and nowhere in the release does a hidden figure carry a count, a value or an SPC reading
    for period in PERIODS:
        for by in (None, "area"):
            for key, record in partner_table(metrics, period, by).items():
                assert hidden_right(fig(record)), (key, record)


def test_the_partner_xmr_twins_give_the_spc_reading_vcop_metrics_suppress_gives(
    partner: TestClient, metrics: Metrics
) -> None:
    """A partner's XmR chart of a force-wide series reads as the release's figures do (none
    when the series has a hidden month), and shows a hidden month as [c]."""
    problems = Disagreements()
    readings: Counter[str | None] = Counter()
    hidden_months = 0
    sample = [(m, g, p) for m, g, p in spc_sample(metrics) if p is None]
    for metric_id, group, _ in sample:
        body = xmr(partner, metric_id, group)
        months = body["tables"]["months"]["rows"]
        hidden = [m for m in months if m["suppressed"]]
        hidden_months += len(hidden)
        assert all(m["value_text"] == SUPPRESSED and m["value"] is None for m in hidden)
        if hidden:
            assert body["meta"]["variation"] is None, (metric_id, group)
        grouping = "/".join(CATALOGUE.metric(metric_id).grouping) or "all"
        for period in PERIODS:
            key = (metric_id, period, grouping, group)
            record = partner_table(metrics, period, None).get(key)
            if record is None or _bool(record["suppressed"]):
                continue
            problems.same(
                key,
                "partner XmR twin",
                {"spc_variation": body["meta"]["variation"]},
                "vcop metrics --suppress",
                {"spc_variation": _text(record["spc_variation"])},
            )
            readings[body["meta"]["variation"]] += 1
    problems.check()
    # a figure hidden for its small count over the whole 12 months (a small service's referrals)
    # has no twin to compare in any period
    published = partner_table(metrics, "rolling_12m", None)
    shown = 0
    for metric_id, group, _ in sample:
        grouping = "/".join(CATALOGUE.metric(metric_id).grouping) or "all"
        record = published.get((metric_id, "rolling_12m", grouping, group))
        if record is not None and not _bool(record["suppressed"]):
            shown += 1
    assert sum(problems.compared.values()) >= 2 * shown, problems.compared
    assert hidden_months >= 1 and len(readings) >= 2, (hidden_months, readings)


def test_a_figure_a_partner_sees_is_the_forces(
    partner_twins: Twins, metrics: Metrics, partner: TestClient
) -> None:
    """Shown to a partner, a figure is the force's figure with the force's marks; its SPC
    reading is the force's, or none where the release publishes no series to read (a split, or
    a series with a hidden month)."""
    problems = Disagreements()
    shown = unread = 0
    hidden_month: dict[tuple[str, str], bool] = {}
    for key, f in partner_twins.figures.items():
        if f.suppressed:
            continue
        split = split_of(key[0], key[2])
        force = fig(force_table(metrics, key[1], split)[key])
        names = ["start", "end", "numerator", "denominator", "value", "provisional",
                 "comparable", "comparable_reason"]  # fmt: skip
        if f.spc_variation is not None or force.spc_variation is None:
            names.append("spc_variation")
        elif split is None:
            series = (key[0], key[3])
            if series not in hidden_month:
                months = xmr(partner, *series)["tables"]["months"]["rows"]
                hidden_month[series] = any(m["suppressed"] for m in months)
            if not hidden_month[series]:
                names.append("spc_variation")
            unread += 1
        problems.same(key, "partner dashboard", asdict(f), "vcop metrics", asdict(force), names)
        shown += 1
    problems.check()
    assert shown >= 100 and unread >= 1, (shown, unread)


@pytest.fixture(scope="module")
def pack_checked(
    pack: Report, partner_twins: Twins, metrics: Metrics, partner: TestClient
) -> Counter[str]:
    problems = Disagreements()
    kinds: Counter[str] = Counter()
    months: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row, source in zip(pack.rows, pack.sources, strict=True):
        key = key_of(row)
        hidden = _bool(row["suppressed"])
        if hidden:
            assert (row["shown_as"], row["numerator"], row["denominator"], row["value"]) == (
                SUPPRESSED, "", "", "",
            ), row  # fmt: skip
        if source == "month":
            if (row["metric_id"], row["group"]) not in months:
                body = xmr(partner, row["metric_id"], row["group"])
                months[(row["metric_id"], row["group"])] = {
                    m["month"]: m for m in body["tables"]["months"]["rows"]
                }
            twin = months[(row["metric_id"], row["group"])][row["period_start"]]
            problems.same(
                key,
                "pack figures.csv (month)",
                month_of_row(row),
                "partner XmR twin",
                month_of_twin(twin),
            )
            if twin["suppressed"]:
                assert twin["value_text"] == SUPPRESSED, twin
            kinds["month"] += 1
            kinds["hidden"] += hidden
            continue
        split = split_of(row["metric_id"], row["breakdown"])
        assert split in (None, "area"), row
        table = partner_table(metrics, row["period"], split)
        assert key in table, f"{key}: in the partner pack, not in `vcop metrics --suppress`"
        record = table[key]
        which = window(record, row)
        assert which is not None, f"{row}: no window of {record} is quoted"
        if which == "current":
            problems.figures(
                key, "pack figures.csv", fig(row), "vcop metrics --suppress", fig(record)
            )
            if key in partner_twins.figures:
                problems.figures(
                    key,
                    "pack figures.csv",
                    fig(row),
                    "partner dashboard",
                    partner_twins.figures[key],
                )
                kinds["value, on the dashboard"] += 1
        else:
            mine = quoted(row)
            theirs = earlier(record, which)
            problems.same(
                key, f"pack figures.csv ({which})", mine, "vcop metrics --suppress", theirs
            )
        kinds[f"value by {split or 'none'}"] += 1
        kinds["hidden"] += hidden
    problems.check()
    return kinds


def test_the_partner_pack_shows_and_hides_what_the_other_partner_outputs_do(
    pack: Report, pack_checked: Counter[str]
) -> None:
    kinds = pack_checked
    assert kinds["month"] + kinds["value by none"] + kinds["value by area"] == len(pack.rows)
    assert kinds["month"] >= 1 and kinds["value by none"] >= 10 and kinds["value by area"] >= 10
    assert kinds["value, on the dashboard"] >= 20 and kinds["hidden"] >= 1, kinds
