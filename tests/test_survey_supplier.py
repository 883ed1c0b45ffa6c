"""A survey company's results, loaded through the shipped example profile with `vcop ingest
--profile`, land in survey_responses and count in the satisfaction and Victim Voice measures as
the questionnaire's own answers do (issue 13, item 3)."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import duckdb
import ibis
from typer.testing import CliRunner

from vcop.cli import app
from vcop.metrics.engine import compute

CRIMES = """\
crime_id,reported_at,crime_type,domestic_abuse,area,district,unit,officer_id
SC-1,2025-01-06T09:30:00,Burglary,no,North,Northtown,CID,OF-1
SC-2,2025-01-07T10:00:00,Vehicle crime,no,South,Southby,Response,OF-2
SC-3,2025-01-08T11:00:00,Violence and sexual offences,yes,South,Southby,Response,OF-2
"""
VICTIMS = """\
victim_id,crime_id,age_at_report,sex
SV-1,SC-1,34,female
SV-2,SC-2,51,male
SV-3,SC-3,29,female
"""
HEADINGS = (
    "Interview ID,Survey Name,Interview Date,Interview Mode,Interviewer Code,Wave,Force Crime Ref,"
    "Force Victim Ref,Crime Group,Policing Area,District,Q1 Ease of Contact,Q2 Actions Taken,"
    "Q3 Follow Up,Q4 Treatment,Q5 Whole Experience,Q6 Kept Informed,Q7 Listened To,Q8 Needs Met,"
    "Q9 Confidence To Report,Verbatim"
)
#: A supplier's monthly file: answers in words, UK dates, "Don't know" and "Refused", a lower-case
#: reference, and a comment holding a telephone number.
RESULTS = f"""\
{HEADINGS}
SUP-001,Victim Satisfaction Survey,03/03/2025 14:05,Telephone,INT07,W3,sc-1,sv-1,Burglary,North,Northtown,Completely satisfied,Very satisfied,Fairly satisfied,Very satisfied,Very satisfied,,,,,They came quickly. Call me on 07700 900123
SUP-002,Victim Satisfaction Survey,04/03/2025,Online,,W3,SC-2,SV-2,Vehicle Crime,South,Southby,Very dissatisfied,Fairly dissatisfied,Don't know,Neither satisfied nor dissatisfied,Completely dissatisfied,,,,,Nobody told me anything
SUP-003,Victim Voice,05/03/2025 09:00,Online,,W3,SC-3,SV-3,Violence,South,Southby,Fairly satisfied,Refused,2,Very satisfied,Fairly satisfied,Very dissatisfied,Completely satisfied,Don't know,Fairly confident,
SUP-004,Victim Voice,06/03/2025 09:00,Online,,W3,SC-1,SV-1,Burglary,North,Northtown,1,1,1,1,1,1,1,Very satisfied,Refused,
"""


def test_supplier_results_load_through_the_profile_into_the_measures(tmp_path: Path) -> None:
    extract, supplier = tmp_path / "extract", tmp_path / "supplier"
    extract.mkdir()
    supplier.mkdir()
    (extract / "crimes.csv").write_text(CRIMES)
    (extract / "victims.csv").write_text(VICTIMS)
    (supplier / "Victim_Survey_Results_2025-03.csv").write_text(RESULTS)
    db = tmp_path / "vcop.duckdb"
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(extract), "--db", str(db)])
    assert first.exit_code == 0, first.output
    out = runner.invoke(
        app, ["ingest", str(supplier), "--db", str(db), "--profile", "example-survey-supplier"]
    )
    assert out.exit_code == 0, out.output  # every row loaded: nothing rejected
    assert "Don't know" in out.output and "Refused" in out.output  # blanked, and said so

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT response_id, survey, crime_id, victim_id, crime_type, follow_up, "
            "whole_experience, kept_informed, needs_met, confidence_to_report, comment "
            "FROM survey_responses ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("SUP-001", "victim_satisfaction", "SC-1", "SV-1", "Burglary", 3, 2, None, None, None,
         "They came quickly. Call me on [phone]"),
        ("SUP-002", "victim_satisfaction", "SC-2", "SV-2", "Vehicle crime", None, 7, None, None,
         None, "Nobody told me anything"),
        ("SUP-003", "victim_voice", "SC-3", "SV-3", "Violence and sexual offences", 2, 3, 6, None,
         "fairly_confident", None),
        ("SUP-004", "victim_voice", "SC-1", "SV-1", "Burglary", 1, 1, 1, 2, None, None),
    ]  # fmt: skip

    backend = ibis.duckdb.connect(str(db), read_only=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        result = compute(backend, date(2025, 3, 31), "month")
    got = {v.metric_id: (v.current.numerator, v.current.denominator) for v in result.values}
    assert got["satisfaction_whole_experience"] == (1, 2)  # the satisfaction survey's two
    assert got["satisfaction_follow_up"] == (1, 1)  # "Don't know" is left out
    assert got["feedback_whole_experience"] == (3, 4)  # both surveys
    assert got["voice_kept_informed"] == (1, 2)
    assert got["voice_needs_met"] == (1, 1)  # "Don't know" is left out
    assert got["voice_confidence_to_report"] == (1, 1)  # "Refused" is left out
