"""The board paper's demand and outcomes, the population behind rates per 1,000 residents, the
national context and the author's notes (issue 18).

Built on the shared small Demoshire database (whose extract carries the demo's synthetic
population file), copied where a test changes it."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import ibis
import pytest
from typer.testing import CliRunner

from tests.webdata import AS_OF, WebData, build, copy_of
from vcop.cli import app
from vcop.ingest import load_paths
from vcop.metrics.comparisons import ComparisonFamily
from vcop.metrics.engine import compute, quietly
from vcop.metrics.population import load_population, per_1000
from vcop.reports.board_demand import (
    AUTHOR_MARK,
    NO_POPULATION,
    NotesError,
    author_recommendation,
    author_section,
    benchmark_sentence,
    demand_outcomes,
    national_context,
    priority_demand,
    read_notes,
)
from vcop.reports.document import Document, Heading, Paragraph, Table
from vcop.reports.figures import FigureBook
from vcop.reports.parts import Numbering
from vcop.reports.source import ReportSource, open_source
from vcop.spec.metrics import load_catalogue
from vcop.spec.profile import load_profile
from vcop.store import connect
from vcop.synth.generate import population_rows
from vcop.synth.params import load_params


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    return build(tmp_path_factory)


@pytest.fixture(scope="module")
def source(data: WebData) -> Iterator[ReportSource]:
    with open_source(data.db, AS_OF) as src:
        yield src


def _text(doc: Document) -> str:
    out = []
    for b in doc.blocks:
        if isinstance(b, Heading | Paragraph):
            out.append(b.text)
        elif isinstance(b, Table):
            out.append(b.caption + " | " + " | ".join(" ".join(r) for r in b.rows))
    return "\n".join(out)


def _section(book: FigureBook) -> Document:
    doc = Document(title="t")
    n = Numbering(doc)
    n.section("Performance")
    n.subsection("Demand and outcomes")
    demand_outcomes(book, n)
    return doc


# -- population --------------------------------------------------------------------------------


def test_the_demo_population_is_labelled_synthetic_and_sized_on_lsoas() -> None:
    params = load_params()
    rows = population_rows(params, 0.5)
    assert {(a, d) for a, d, _, _ in rows} == {(d.area, d.name) for d in params.derived.districts}
    for _area, district, people, src in rows:
        lsoas = next(d.lsoas for d in params.derived.districts if d.name == district)
        assert int(people) == round(lsoas * params.targets.residents_per_lsoa * 0.5)
        assert src.startswith("synthetic") and "not a real population" in src
        assert "scale 0.5" in src


def test_population_loads_like_any_extract_with_rejects(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    with (folder / "population.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["area", "district", "population", "source"])
        w.writerow(["North", "Northbury", "202070", "ONS mid-2023 estimates"])
        w.writerow(["North", "Hollowfen", "many", "ONS mid-2023 estimates"])  # not a number
        w.writerow(["South", "Ashcaster", "0", "ONS mid-2023 estimates"])  # below the minimum
    con = connect(tmp_path / "vcop.duckdb")
    result = load_paths(con, [folder], load_profile("standard"))
    assert result.rows_rejected == 2
    assert con.execute("SELECT area, district, population FROM population").fetchall() == [
        ("North", "Northbury", 202070)
    ]
    population = load_population(ibis.duckdb.from_connection(con))
    assert population is not None
    assert population.of((), ()) == 202070
    assert population.of(("area",), ("South",)) is None
    assert population.sources == ("ONS mid-2023 estimates",)
    con.close()


def test_a_count_per_1000_residents_is_its_count_over_its_groups_residents(
    source: ReportSource,
) -> None:
    backend = ibis.duckdb.from_connection(source.con)
    population = load_population(backend)
    assert population is not None and population.sources[0].startswith("synthetic")
    catalogue = load_catalogue()
    metric = catalogue.metric("recorded_crime")
    residents = dict(source.con.execute("SELECT district, population FROM population").fetchall())
    with quietly():
        districts = compute(backend, AS_OF, "rolling_12m", metrics=["recorded_crime"],
                            by="district").values  # fmt: skip
        areas = compute(backend, AS_OF, "rolling_12m", metrics=["recorded_crime"],
                        by="area").values  # fmt: skip
        force = compute(backend, AS_OF, "rolling_12m", metrics=["recorded_crime"]).values[0]
        types = compute(backend, AS_OF, "rolling_12m", metrics=["recorded_crime"],
                        by="crime_type").values  # fmt: skip
    checked = 0
    for v in districts:
        rate = per_1000(metric, v, population)
        if v.group[0] not in residents:
            assert rate is None  # "not recorded": no residents to divide by
            continue
        assert rate is not None and v.current.numerator is not None
        assert rate.population == residents[v.group[0]]
        assert rate.value == pytest.approx(1000 * v.current.numerator / residents[v.group[0]])
        checked += 1
    assert checked == len(residents)
    rate = per_1000(metric, force, population)
    assert rate is not None and rate.population == sum(residents.values())
    north = next(v for v in areas if v.group == ("North",))
    north_rate = per_1000(metric, north, population)
    assert north_rate is not None
    assert north_rate.population == population.of(("area",), ("North",)) < rate.population
    # residents are not divided by crime type, and a proportion has no such rate
    assert all(per_1000(metric, v, population) is None for v in types)
    with quietly():
        ppo = compute(backend, AS_OF, "rolling_12m",
                      metrics=["prosecution_possible_outcome_rate"]).values[0]  # fmt: skip
    assert per_1000(catalogue.metric(ppo.metric_id), ppo, population) is None
    assert per_1000(metric, force, None) is None


def test_demand_section_cites_the_rate_and_leaves_it_out_without_a_population(
    data: WebData, source: ReportSource, tmp_path: Path
) -> None:
    book = FigureBook(ibis.duckdb.from_connection(source.con), AS_OF)
    text = _text(_section(book))
    assert "per 1,000 residents" in text and NO_POPULATION not in text
    assert "Table 10: Recorded crime by district" in text and "Table 11: Outcomes" in text
    rates = [c for c in book.citations if c.source == "per_1000"]
    assert rates and all(c.text in text for c in rates)
    assert all(c.value == pytest.approx(1000 * c.numerator / c.denominator) for c in rates)

    copy = copy_of(data, tmp_path)
    con = duckdb.connect(str(copy.db))
    con.execute("DELETE FROM population")
    con.close()
    with open_source(copy.db, AS_OF) as bare:
        book = FigureBook(ibis.duckdb.from_connection(bare.con), AS_OF)
        text = _text(_section(book))
    assert NO_POPULATION in text
    assert "Per 1,000 residents" not in text
    assert not [c for c in book.citations if c.source == "per_1000"]


def test_priority_areas_give_demand_and_outcomes_from_their_groups(source: ReportSource) -> None:
    book = FigureBook(ibis.duckdb.from_connection(source.con), AS_OF)
    doc = Document(title="t")
    n = Numbering(doc)
    n.section("Priority")
    priority_demand(book, n, "domestic_abuse", "victims of domestic abuse")
    priority_demand(book, n, "age_band", "victims aged under 18")
    text = _text(doc)
    da = book.value("recorded_crime", by="domestic_abuse", group=("domestic abuse",))
    child = book.value("recorded_crime_with_victim", by="child_abuse", group=("child abuse",))
    assert da is not None and child is not None
    assert f"{da.current.value:,.0f} domestic abuse crimes were recorded" in text
    assert "child abuse crime" in text
    cited = {(c.metric_id, c.breakdown, c.group) for c in book.citations}
    assert ("recorded_crime_with_victim", "child_abuse", "child abuse") in cited
    assert ("da_satisfaction_whole_experience", "all", "all") in cited
    # a priority with no groups in the data's catalogue of splits says nothing
    before = len(doc.blocks)
    priority_demand(book, n, "no_such_breakdown", "nobody")
    assert len(doc.blocks) == before


# -- comparisons with the benchmark are judged with the rest -------------------------------------


def test_the_benchmark_comparison_is_judged_in_the_family(source: ReportSource) -> None:
    backend = ibis.duckdb.from_connection(source.con)
    catalogue = load_catalogue()
    with quietly():
        v = compute(backend, AS_OF, "rolling_12m", metrics=["recorded_crime"]).values[0]
    assert v.current.value is not None
    far = replace(v, benchmark=v.current.value * 0.8, benchmark_p_value=1e-9)
    near = replace(v, benchmark=v.current.value * 0.999, benchmark_p_value=0.6,
                   metric_id="recorded_crime_with_victim")  # fmt: skip
    family = ComparisonFamily(catalogue)
    for x in (far, near):
        family.note(x, "benchmark")
    assert len(family) == 2
    family.settle(None)
    significant = family.verdict(far, "benchmark")
    plain = family.verdict(near, "benchmark")
    assert significant is not None and significant.significant
    assert plain is not None and not plain.significant
    book = FigureBook(backend, AS_OF, catalogue=catalogue)
    book.comparisons = family
    assert "significantly higher than the benchmark" in benchmark_sentence(book, far, "4.4.1")
    assert "within normal variation" in benchmark_sentence(book, near, "4.4.1")
    assert [c.source for c in book.citations] == ["benchmark", "benchmark"]
    # no benchmark (one year of data): nothing is said
    assert benchmark_sentence(book, replace(v, benchmark=None), "4.4.1") == ""


# -- national context --------------------------------------------------------------------------


def test_national_context_only_when_other_forces_are_held(
    data: WebData, source: ReportSource, tmp_path: Path
) -> None:
    def section(src: ReportSource) -> str:
        book = FigureBook(ibis.duckdb.from_connection(src.con), AS_OF)
        doc = Document(title="t")
        n = Numbering(doc)
        n.section("Performance")
        national_context(book, n, "Demoshire Police")
        return _text(doc)

    assert section(source) == "Performance"  # one force: nothing, not even a heading
    copy = copy_of(data, tmp_path)
    con = duckdb.connect(str(copy.db))
    con.execute("UPDATE crimes SET force = 'Fenland Constabulary' WHERE district = 'Elmsworth'")
    con.close()
    with open_source(copy.db, AS_OF) as two:
        text = section(two)
    assert "National context" in text and "Table 12: Recorded crime by force" in text
    assert "Demoshire Police recorded" in text and "Fenland Constabulary" in text


# -- the author's notes ------------------------------------------------------------------------


NOTES = """# June paper

## Plan objectives

Ensure victims from the three priority groups
receive enhanced rights.

A second objective.

## Recommendation

The Board is recommended to approve the pilot.
"""


def test_notes_are_read_by_section_and_marked_as_the_authors(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(NOTES)
    notes = read_notes(path)
    assert notes.get("plan objectives") == (
        "Ensure victims from the three priority groups receive enhanced rights.",
        "A second objective.",
    )
    assert notes.get("good practice") == ()
    doc = Document(title="t")
    n = Numbering(doc)
    n.section("Recommendation")
    assert author_recommendation(n, notes)
    assert author_section(n, notes, "plan objectives")
    assert not author_section(n, notes, "good practice")  # not written: left out
    assert not author_section(n, None, "plan objectives")
    headings = [b.text for b in doc.blocks if isinstance(b, Heading)]
    assert headings == ["Recommendation", "Plan objectives"]
    marks = [b for b in doc.blocks if isinstance(b, Paragraph) and b.text == AUTHOR_MARK]
    assert len(marks) == 2 and all(m.note for m in marks)
    assert "The Board is recommended to approve the pilot." in _text(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## Actions\n\nDo things.\n", "notes.md:1: unknown section"),
        ("Some words first.\n\n## Recommendation\n\nNote it.\n", "notes.md:1: text before"),
        ("### Recommendation\n\nNote it.\n", "notes.md:1: unknown section"),
    ],
)
def test_a_notes_file_that_is_not_one_is_refused_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "notes.md"
    path.write_text(text)
    with pytest.raises(NotesError, match=message):
        read_notes(path)


def test_board_command_refuses_a_bad_notes_file_before_computing(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("## Actions\n\nDo things.\n")
    result = CliRunner().invoke(
        app,
        ["report", "board", "--db", str(tmp_path / "none.duckdb"), "--as-of", "2025-06-30",
         "--notes", str(path), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output  # a wrong option, as the CLI's exit codes say
    assert "unknown section" in result.output
    assert not (tmp_path / "out").exists()
