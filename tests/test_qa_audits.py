"""Dip-sample audits (issue 14): samples drawn into an audit, append-only findings, what each
agency sees, the spreadsheet import and its rejects, agreement with the ledger (kappa against
scikit-learn's) and the QA report's figures against an independent count."""

from __future__ import annotations

import csv
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from tests.webdata import PASSWORD, WebData, build, copy_of
from vcop.cli import app
from vcop.qa.agreement import by_right, cohen_kappa, pairs
from vcop.qa.audits import (
    QUALITY_COLUMNS,
    AuditError,
    Finding,
    audit,
    current_findings,
    forget_cases,
    history,
    record,
    submit,
    visible_agencies,
)
from vcop.reports.sample import Case, draw
from vcop.store.ops import open_ops, ops_path_for
from vcop.web.audit_cases import parse_form
from vcop.web.auth import AuthError, Role, add_user

NOW = datetime(2025, 7, 2, 10, 0)


@dataclass(frozen=True)
class Audited:
    data: WebData
    cases: list[str]  # the (same) sample of both agencies


def draw_audit(
    data: WebData, tmp: Path, agencies: tuple[str, ...] = ("police", "victim_hub")
) -> list[str]:
    """Draw each agency's sample into audit 2025Q1 with `vcop report sample --audit`."""
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})
    for agency in agencies:
        result = runner.invoke(app, [
            "report", "sample", "--db", str(data.db), "--quarter", "2025Q1", "--n", "6",
            "--seed", "3", "--enhanced-weight", "2", "--court-weight", "2", "--audit", "2025Q1",
            "--agency", agency, "--user", "analyst1", "--reason", "quarterly dip sample",
            "--out", str(tmp / f"sample-{agency}"),
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"{agency}'s part of audit 2025Q1" in result.output
    with (tmp / f"sample-{agencies[0]}" / "cases.csv").open() as f:
        return [r["crime_id"] for r in csv.DictReader(f)]


def add_auditors(db: Path) -> None:
    ops = open_ops(db)
    try:
        add_user(ops, "auditor_police", Role.auditor, PASSWORD, now=NOW, agency="police")
        add_user(ops, "auditor_hub", Role.auditor, PASSWORD, now=NOW, agency="victim_hub")
    finally:
        ops.close()


@pytest.fixture
def audited(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Audited:
    data = copy_of(build(tmp_path_factory), tmp_path)
    add_auditors(data.db)
    return Audited(data, draw_audit(data, tmp_path))


def ledger_rights(db: Path, crime_id: str) -> list[int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            'SELECT DISTINCT "right" FROM entitlements WHERE crime_id = ? AND "right" IS NOT NULL '
            "ORDER BY 1",
            [crime_id],
        ).fetchall()
    finally:
        con.close()
    return [int(r[0]) for r in rows]


# -- the sample ---------------------------------------------------------------------------------


def test_court_weight_over_represents_cases_that_reached_court() -> None:
    cases = [
        Case(f"C{i:04d}", "North", "Burglary", datetime(2025, 2, 1), False, i % 5 == 0)
        for i in range(3000)
    ]
    plain = sum(sum(c.court for c in draw(cases, n=60, seed=s)) for s in range(20)) / 1200
    heavy = (
        sum(sum(c.court for c in draw(cases, n=60, seed=s, court_weight=4.0)) for s in range(20))
        / 1200
    )
    assert 0.14 < plain < 0.26
    assert heavy > 0.4


def test_a_sample_becomes_an_agencys_part_of_an_audit(audited: Audited, tmp_path: Path) -> None:
    ops = open_ops(audited.data.db)
    try:
        a = audit(ops, "2025Q1")
        assert a.quarter == "2025Q1"
        assert a.samples["police"] == audited.cases == a.samples["victim_hub"]
        draw_line = ops.scalar("SELECT draw FROM audit_cases WHERE agency = 'police' LIMIT 1")
        assert "court_weight=2.0" in draw_line and "seed=3" in draw_line
    finally:
        ops.close()
    # one sample per agency: a second police draw is refused
    result = CliRunner(env={"VCOP_PASSWORD": PASSWORD}).invoke(app, [
        "report", "sample", "--db", str(audited.data.db), "--quarter", "2025Q1", "--n", "3",
        "--audit", "2025Q1", "--agency", "police", "--user", "analyst1", "--reason", "again",
        "--out", str(tmp_path / "again"),
    ])  # fmt: skip
    assert result.exit_code != 0
    assert "already holds a sample for police" in result.output


def test_an_auditor_needs_an_agency_that_audits(tmp_path: Path) -> None:
    ops = open_ops(tmp_path / "x.duckdb")
    try:
        with pytest.raises(AuthError, match="an auditor needs --agency"):
            add_user(ops, "a1", Role.auditor, PASSWORD, now=NOW)
        with pytest.raises(AuthError, match="an auditor needs --agency"):
            add_user(ops, "a2", Role.auditor, PASSWORD, now=NOW, agency="parole_board")
        assert add_user(ops, "a3", Role.auditor, PASSWORD, now=NOW, agency="cps").agency == "cps"
    finally:
        ops.close()


# -- findings -------------------------------------------------------------------------------


def test_a_changed_finding_supersedes_the_old_one_which_is_kept(audited: Audited) -> None:
    case = audited.cases[0]
    ops = open_ops(audited.data.db)
    try:
        (first,) = record(ops, [Finding("2025Q1", "police", case, 6, "met")], by="auditor_police",
                          now=NOW, channel="web")  # fmt: skip
        assert record(ops, [Finding("2025Q1", "police", case, 6, "met")], by="auditor_police",
                      now=NOW, channel="web") == [first]  # the same again: nothing new  # fmt: skip
        (second,) = record(
            ops, [Finding("2025Q1", "police", case, 6, "not_met", notes="No update recorded")],
            by="auditor_police2", now=NOW.replace(hour=11), channel="web",
        )  # fmt: skip
        trail = history(ops, "2025Q1", "police", case)
        assert [
            (r["finding_id"], r["judgement"], r["supersedes"], r["recorded_by"]) for r in trail
        ] == [
            (first, "met", None, "auditor_police"),
            (second, "not_met", first, "auditor_police2"),
        ]
        (now,) = current_findings(ops, "2025Q1", agencies=["police"], crime_id=case)
        assert now["finding_id"] == second and now["judgement"] == "not_met"
        # the store itself holds both rows: nothing was updated or deleted
        rows = ops.query("SELECT finding_id, judgement FROM audit_findings ORDER BY 1").rows
        assert rows == [(first, "met"), (second, "not_met")]
        # and refuses to change one
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            ops.execute(
                "UPDATE audit_findings SET judgement = 'met' WHERE finding_id = ?", [second]
            )
    finally:
        ops.close()


def test_a_right_set_back_to_not_judged_withdraws_its_judgement(audited: Audited) -> None:
    case = audited.cases[0]
    ops = open_ops(audited.data.db)
    try:
        (judged,) = record(ops, [Finding("2025Q1", "police", case, 6, "met")], by="auditor_police",
                           now=NOW, channel="web")  # fmt: skip
        # the form posts right 6 blank: the judgement is withdrawn, and kept in the history
        findings, errors, _ = parse_form(
            {**{c: "3" for c in QUALITY_COLUMNS}, "judgement_6": "", "notes_6": ""},
            audit_id="2025Q1", agency="police", crime_id=case, rights=[6],
        )  # fmt: skip
        assert not errors
        record(ops, findings, by="auditor_police", now=NOW.replace(hour=11), channel="web")
        current = current_findings(ops, "2025Q1", agencies=["police"], crime_id=case)
        assert [r["right"] for r in current] == [None]  # the case's row only
        trail = [(r["right"], r["judgement"], r["supersedes"])
                 for r in history(ops, "2025Q1", "police", case) if r["right"] == 6]  # fmt: skip
        assert trail == [(6, "met", None), (6, None, judged)]
        # withdrawing again, or withdrawing what was never judged, writes nothing
        before = ops.scalar("SELECT count(*) FROM audit_findings")
        withdraw = [Finding("2025Q1", "police", case, r, withdrawn=True) for r in (6, 7)]
        assert record(ops, withdraw, by="auditor_police", now=NOW, channel="web") == []
        assert ops.scalar("SELECT count(*) FROM audit_findings") == before
        # a withdrawal carries no judgement, notes or quality
        bad = Finding("2025Q1", "police", case, 6, "met", withdrawn=True)
        assert ("judgement", "a withdrawn judgement has no judgement or notes") in bad.problems()
    finally:
        ops.close()


def test_notes_are_scrubbed_and_bad_findings_refused(audited: Audited) -> None:
    case = audited.cases[0]
    ops = open_ops(audited.data.db)
    try:
        record(ops, [Finding("2025Q1", "police", case, None, None, (3, 2, 4, 1, 3),
                             "Victim said call 07700 900123 or jo@example.com, DS9 4AB", True)],
               by="auditor_police", now=NOW, channel="web")  # fmt: skip
        (f,) = current_findings(ops, "2025Q1", crime_id=case)
        assert "07700" not in f["notes"] and "@" not in f["notes"] and "DS9" not in f["notes"]
        assert f["case_study"] is True and f["quality_3"] == 4
        with pytest.raises(AuditError, match="not a score from 1 to 4"):
            record(ops, [Finding("2025Q1", "police", case, None, None, (5, 1, 1, 1, 1))],
                   by="x", now=NOW, channel="web")  # fmt: skip
        with pytest.raises(AuditError, match="not in Crown Prosecution Service's sample"):
            record(ops, [Finding("2025Q1", "cps", case, 6, "met")], by="x", now=NOW, channel="web")
    finally:
        ops.close()


def test_an_agency_sees_anothers_findings_only_once_submitted(audited: Audited) -> None:
    ops = open_ops(audited.data.db)
    try:
        a = audit(ops, "2025Q1")
        assert visible_agencies(a, "victim_hub") == ["victim_hub"]
        assert visible_agencies(a, None) == []
        with pytest.raises(AuditError, match="have no finding yet"):
            submit(ops, "2025Q1", "police", by="auditor_police", now=NOW)
        record(ops, [Finding("2025Q1", "police", c, None, None, (3, 3, 3, 3, 3))
                     for c in audited.cases], by="auditor_police", now=NOW, channel="web")  # fmt: skip
        submit(ops, "2025Q1", "police", by="auditor_police", now=NOW)
        a = audit(ops, "2025Q1")
        assert visible_agencies(a, "victim_hub") == ["police", "victim_hub"]
        assert visible_agencies(a, None) == ["police"]
        with pytest.raises(AuditError, match="findings are final"):
            record(ops, [Finding("2025Q1", "police", audited.cases[0], 6, "met")], by="x",
                   now=NOW, channel="web")  # fmt: skip
    finally:
        ops.close()


# -- the import -----------------------------------------------------------------------------

HEADER = ["audit", "agency", "crime_id", "right", "judgement", "quality_1", "quality_2",
          "quality_3", "quality_4", "quality_5", "notes", "case_study"]  # fmt: skip


def write_findings(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_import_rejects_a_bad_row_naming_its_row_and_field(
    audited: Audited, tmp_path: Path
) -> None:
    c1, c2 = audited.cases[:2]
    right = ledger_rights(audited.data.db, c1)[0]
    file = write_findings(tmp_path / "panel.csv", [
        ["2025Q1", "police", c1, right, "partly met", "", "", "", "", "", "late but full", "no"],
        ["2025Q1", "police", c1, "", "", 3, 2, 4, 3, 3, "ring 07700 900123", "yes"],
        ["2025Q1", "police", c2, right, "maybe", "", "", "", "", "", "", ""],
        ["2025Q1", "police", "DS-C-NOPE", right, "met", "", "", "", "", "", "", ""],
        ["2025Q1", "victim_hub", c2, "", "", 5, 1, 1, 1, 1, "", ""],
    ])  # fmt: skip
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})
    result = runner.invoke(app, ["audit", "import", str(file), "--db", str(audited.data.db),
                                 "--user", "auditor_police", "--rejects",
                                 str(tmp_path / "rejects.csv")])  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "row 4, judgement" in result.output
    assert "row 5, crime_id: not a case of police's sample" in result.output
    assert "row 6, quality_1: not a score from 1 to 4" in result.output
    with (tmp_path / "rejects.csv").open() as f:
        rejects = [(r["row"], r["field"]) for r in csv.DictReader(f)]
    assert rejects == [("4", "judgement"), ("5", "crime_id"), ("6", "quality_1")]
    ops = open_ops(audited.data.db)
    try:
        found = current_findings(ops, "2025Q1")
    finally:
        ops.close()
    assert [(f["crime_id"], f["right"], f["judgement"], f["channel"]) for f in found] == [
        (c1, None, None, "import"),
        (c1, right, "partly_met", "import"),
    ]
    assert "07700" not in found[0]["notes"]
    # an auditor of one agency cannot import another's part
    other = write_findings(tmp_path / "hub.csv", [["2025Q1", "victim_hub", c2, right, "met", "",
                                                  "", "", "", "", "", ""]])  # fmt: skip
    result = runner.invoke(app, ["audit", "import", str(other), "--db", str(audited.data.db),
                                 "--user", "auditor_police"])  # fmt: skip
    assert result.exit_code == 3 and "row 2, agency" in result.output


# -- agreement ------------------------------------------------------------------------------

LABELS = ("met", "partly_met", "not_met")


@pytest.mark.parametrize("seed", range(8))
def test_kappa_is_cohens_kappa_as_scikit_learn_computes_it(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(5, 60)
    first = [rng.choice(LABELS) for _ in range(n)]
    second = [a if rng.random() < 0.6 else rng.choice(LABELS) for a in first]
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)


def test_kappa_is_undefined_when_both_sides_say_one_thing() -> None:
    assert cohen_kappa(["met"] * 4, ["met"] * 4) is None
    assert cohen_kappa([], []) is None


def test_the_ledger_statuses_read_as_judgements_and_unjudged_ones_left_out() -> None:
    ledger = [
        {"crime_id": "C1", "victim_id": "V1", "obligation_id": "R6.a", "right": 6, "status": "met"},
        {"crime_id": "C1", "victim_id": "V1", "obligation_id": "R6.b", "right": 6, "status": "late"},
        {"crime_id": "C1", "victim_id": "V1", "obligation_id": "R6.c", "right": 6, "status": "overdue"},
        {"crime_id": "C1", "victim_id": "V1", "obligation_id": "R6.d", "right": 6, "status": "pending"},
        {"crime_id": "C1", "victim_id": "V1", "obligation_id": "R4.a", "right": 4,
         "status": "not_applicable"},
        {"crime_id": "C1", "victim_id": "V1", "obligation_id": "R5.a", "right": 5, "status": "met"},
    ]  # fmt: skip
    findings = [
        {"agency": "police", "crime_id": "C1", "right": 6, "judgement": "partly_met"},
        {"agency": "cps", "crime_id": "C1", "right": 6, "judgement": "not_met"},
        {"agency": "police", "crime_id": "C1", "right": 4, "judgement": "met"},
        {"agency": "police", "crime_id": "C1", "right": 5, "judgement": "not_applicable"},
        {"agency": "police", "crime_id": "C1", "right": None, "judgement": None},
    ]
    found = pairs(ledger, findings)
    assert [(p.obligation_id, p.agency, p.ledger, p.auditor, p.agree) for p in found] == [
        ("R6.a", "cps", "met", "not_met", False),
        ("R6.a", "police", "met", "partly_met", False),
        ("R6.b", "cps", "partly_met", "not_met", False),
        ("R6.b", "police", "partly_met", "partly_met", True),
        ("R6.c", "cps", "not_met", "not_met", True),
        ("R6.c", "police", "not_met", "partly_met", False),
    ]
    (six, everything) = by_right(found)
    assert (six.right, six.pairs, six.agreed) == (6, 6, 2)
    assert six.kappa == pytest.approx(
        cohen_kappa_score([p.ledger for p in found], [p.auditor for p in found])
    )
    assert everything.right is None and everything.pairs == 6


# -- the QA report --------------------------------------------------------------------------


def test_the_qa_reports_figures_match_an_independent_count(
    audited: Audited, tmp_path: Path
) -> None:
    db = audited.data.db
    rng = random.Random(7)
    rows: list[list[object]] = []
    for agency in ("police", "victim_hub"):
        for i, case in enumerate(audited.cases):
            scores = [rng.randint(1, 4) for _ in range(5)]
            rows.append(["2025Q1", agency, case, "", "", *scores,
                         "Kept informed well; the officer called back quickly" if i % 2 else "",
                         "yes" if i == 0 else "no"])  # fmt: skip
            for right in ledger_rights(db, case):
                judgement = rng.choice(["met", "partly met", "not met", "not applicable"])
                rows.append(["2025Q1", agency, case, right, judgement, "", "", "", "", "", "", ""])
    runner = CliRunner(env={"VCOP_PASSWORD": PASSWORD})
    for agency, user in (("police", "auditor_police"), ("victim_hub", "auditor_hub")):
        file = write_findings(tmp_path / f"{agency}.csv", [r for r in rows if r[1] == agency])
        result = runner.invoke(app, ["audit", "import", str(file), "--db", str(db), "--user", user])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["audit", "submit", "--audit", "2025Q1", "--agency", "police",
                                 "--db", str(db), "--user", "auditor_police"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["audit", "action", "--audit", "2025Q1", "--db", str(db),
                                 "--user", "analyst1", "--text", "Remind units of right 6",
                                 "--owner", "Head of investigations"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "qa"
    result = runner.invoke(app, ["report", "audit", "--audit", "2025Q1", "--db", str(db),
                                 "--user", "analyst1", "--out", str(out),
                                 "--format", "html,docx"])  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / "qa-report-2025Q1.html").read_text()
    assert "Remind units of right 6" in html
    assert "Not yet submitted, so not counted: Victim services commissioned by the PCC" in html
    assert (out / "qa-report-2025Q1.docx").stat().st_size > 0
    with (out / "figures.csv").open() as f:
        figures = list(csv.DictReader(f))

    # the independent count: straight from the operational store, police only (submitted)
    con = sqlite3.connect(ops_path_for(db))
    live = con.execute(
        'SELECT "right", judgement, quality_1, quality_2, quality_3, quality_4, quality_5 '
        "FROM audit_findings a WHERE agency = 'police' AND NOT EXISTS "
        "(SELECT 1 FROM audit_findings b WHERE b.supersedes = a.finding_id)"
    ).fetchall()
    con.close()
    # the unsubmitted agency is named with its sample's size, and none of its findings counted
    assert {f["where"] for f in figures if f["agency"] == "victim_hub"} == {"1 Samples"}
    judged = Counter((r[0], r[1]) for r in live if r[0] is not None)
    words = {"met": "met", "partly_met": "partly met", "not_met": "not met",
             "not_applicable": "not applicable"}  # fmt: skip
    checked = 0
    for f in figures:
        if f["measure"].startswith("cases judged "):
            word = f["measure"].removeprefix("cases judged ")
            key = next(k for k, v in words.items() if v == word)
            assert int(float(f["numerator"])) == judged[(int(f["right"]), key)], f
            checked += 1
        elif f["measure"] == "share of applicable judgements that are met":
            right = int(f["right"])
            met = judged[(right, "met")]
            applicable = sum(
                n for (r, j), n in judged.items() if r == right and j != "not_applicable"
            )
            assert (int(float(f["numerator"])), int(f["denominator"])) == (met, applicable)
            assert f["shown_as"] == (f"{100 * met / applicable:.1f}%" if applicable else "–")
            checked += 1
        elif f["measure"] == "mean quality score (1-4)":
            scores = [r[1 + int(f["area"])] for r in live if r[0] is None]
            assert int(float(f["numerator"])) == sum(scores)
            assert int(f["denominator"]) == len(scores)
            assert f["shown_as"] == f"{sum(scores) / len(scores):.1f}"
            checked += 1
    assert checked >= len(judged) + 5  # every count, every right's share, five means
    # agreement: recomputed from the ledger and the live findings, kappa by scikit-learn
    con2 = duckdb.connect(str(db), read_only=True)
    ledger = con2.execute(
        'SELECT crime_id, "right", status FROM entitlements WHERE list_contains(?, crime_id) '
        "AND status IN ('met', 'late', 'overdue') AND \"right\" IS NOT NULL",
        [audited.cases],
    ).fetchall()
    con2.close()
    police = {(r[2], r[3]): r[4] for r in rows if r[1] == "police" and r[3] != ""}
    reading = {"met": "met", "late": "partly met", "overdue": "not met"}
    pairs_ = [(reading[s], police[(c, r)]) for c, r, s in ledger
              if police.get((c, r)) not in (None, "not applicable")]  # fmt: skip
    (overall,) = [f for f in figures if f["where"] == "4 Agreement, right All rights"
                  and f["measure"] == "agreement rate"]  # fmt: skip
    assert int(float(overall["numerator"])) == sum(a == b for a, b in pairs_)
    assert int(overall["denominator"]) == len(pairs_)
    (kappa,) = [f for f in figures if f["where"] == "4 Agreement, right All rights"
                and f["measure"] == "Cohen's kappa"]  # fmt: skip
    expected = cohen_kappa_score([a for a, _ in pairs_], [b for _, b in pairs_])
    assert float(kappa["value"]) == pytest.approx(expected)
    # case studies by pseudonymous crime id; the access log has the report with every case
    assert audited.cases[0] in html
    ops = open_ops(db)
    try:
        logged = ops.scalar("SELECT count(*) FROM access_log WHERE action = 'audit_report'")
    finally:
        ops.close()
    assert logged == 1


def test_erasure_removes_the_audit_findings_of_the_crimes_removed(audited: Audited) -> None:
    case = audited.cases[0]
    ops = open_ops(audited.data.db)
    try:
        record(ops, [Finding("2025Q1", "police", case, 6, "met")], by="a", now=NOW, channel="web")
        record(
            ops, [Finding("2025Q1", "police", case, 6, "not_met")], by="a", now=NOW, channel="web"
        )
        assert forget_cases(ops, [case]) == 2 + 2  # both findings, both agencies' sample rows
        assert ops.scalar("SELECT count(*) FROM audit_findings") == 0
        assert case not in audit(ops, "2025Q1").samples["police"]
    finally:
        ops.close()


def test_the_qa_report_reads_as_the_board_paper_does() -> None:
    """Dates in words, no command-line markup in the prose, and the agreement table counting
    what it compares: one agency's judgement beside one obligation."""
    from datetime import date

    from vcop.qa.agreement import Pair
    from vcop.qa.audits import QUALITY_COLUMNS, Audit, quality_areas
    from vcop.qa.report import AuditData, audit_report
    from vcop.reports.document import Paragraph, Table

    a = Audit("2025Q2", "2025Q2", datetime(2025, 7, 1), "analyst1",
              samples={"police": ["DS-C-1"], "victim_hub": ["DS-C-1"]},
              submitted={"police": (datetime(2025, 7, 2), "p"),
                         "victim_hub": (datetime(2025, 7, 3), "h")})  # fmt: skip
    findings = [
        {"agency": g, "crime_id": "DS-C-1", "right": 6, "judgement": "met", "notes": None,
         "case_study": False, **dict.fromkeys(QUALITY_COLUMNS)}
        for g in ("police", "victim_hub")
    ]  # fmt: skip
    # one obligation of right 6, judged by both agencies: two judgements compared, one obligation
    found = [Pair("DS-C-1", "DS-V-1", "R6-1", 6, "met", "met", g, "met")
             for g in ("police", "victim_hub")]  # fmt: skip
    actions = [{"action": "Remind units of right 6", "owner": "Head of investigations",
                "due": "2025-12-31"}]  # fmt: skip
    data = AuditData(a, findings, found, actions, quality_areas(), {}, {})
    doc, book = audit_report(data, force="Demoshire Police", on=date(2025, 7, 4))
    blocks = list(doc.blocks)
    prose = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert "`" not in prose
    (actions_table,) = [b for b in blocks if isinstance(b, Table) and "actions" in b.caption]
    assert actions_table.rows[0][3] == "31 December 2025"
    (agreement,) = [b for b in blocks if isinstance(b, Table) and "agreement" in b.caption]
    assert agreement.columns[1] == "Judgements compared"
    assert "compared twice" in prose
    (compared,) = [f for f in book.figures if f.where == "4 Agreement, right 6"
                   and f.measure.startswith("judgements compared")]  # fmt: skip
    assert compared.numerator == 2
