"""The scrubber finds phone numbers, emails, postcodes and street addresses — and leaves alone
the ids, dates, codes and counts vcop's free text holds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from vcop.privacy import column_looks_personal, looks_personal, scrub


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("call me on 07700 900123 please", "call me on [phone] please", "phone"),
        ("ring +44 20 7946 0018 after 5", "ring [phone] after 5", "phone"),
        ("landline (01632) 960983", "landline [phone]", "phone"),
        ("email jo.bloggs@example.org now", "email [email] now", "email"),
        ("lives near DS9 4AB", "lives near [postcode]", "postcode"),
        ("postcode sw1a1aa", "postcode [postcode]", "postcode"),
        ("150 High Street, Northbury", "[address], Northbury", "address"),
        ("Flat 3, 22 Acacia Avenue", "[address]", "address"),
        ("moved to 7a Mill Ln.", "moved to [address]", "address"),
    ],
)
def test_finds_each_kind(text: str, expected: str, kind: str) -> None:
    done = scrub(text)
    assert done.text == expected
    assert done.found[kind] == 1


@pytest.mark.parametrize(
    "text",
    [
        "crime 20250612-0001 was finalised on 2025-06-30",
        "reference 2024/123456 and 3 visits",
        "officer was helpful; 5 out of 5",
        "IDVA referral accepted; outcome code 16",
        "waited 45 minutes for attendance (grade 2)",
        "V000123 C004567",
        "",
    ],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert scrub(text).text == text
    assert not looks_personal(text)


def test_a_column_is_personal_at_one_percent_or_three_values() -> None:
    ordinary = [f"C{i:06d}" for i in range(1000)]
    assert not column_looks_personal(ordinary)
    assert column_looks_personal([*ordinary[:99], "07700 900123"])  # 1 in 100: 1%
    assert not column_looks_personal([*ordinary[:101], "07700 900123"])  # 1 in 102
    three = [*ordinary, "DS9 4AB", "jo@example.org", "12 High Street"]
    assert column_looks_personal(three)  # three values, though under 1%
    assert not column_looks_personal([*ordinary, "DS9 4AB", "jo@example.org"])


# -- on load -----------------------------------------------------------------------------------


def _load(folder: Path, tmp_path: Path) -> tuple[object, duckdb.DuckDBPyConnection]:
    from vcop.ingest import load_paths
    from vcop.spec.profile import load_profile
    from vcop.store import connect

    con = connect(tmp_path / "v.duckdb")
    return load_paths(con, [folder], load_profile("standard")), con


def test_free_text_is_scrubbed_on_load(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "survey_responses.csv").write_text(
        "response_id,survey,surveyed_at,comment\n"
        "S1,victim_satisfaction,2025-05-01,Officer rang me on 07700 900123 - very kind\n"
        "S2,victim_satisfaction,2025-05-02,Nobody came to 12 Acacia Avenue DS9 4AB\n"
        "S3,victim_satisfaction,2025-05-03,Kept me informed throughout\n"
    )
    result, con = _load(folder, tmp_path)
    comments = dict(con.execute("SELECT response_id, comment FROM survey_responses").fetchall())
    assert comments == {
        "S1": "Officer rang me on [phone] - very kind",
        "S2": "Nobody came to [address] [postcode]",
        "S3": "Kept me informed throughout",
    }
    assert result.files[0].scrubbed == 2  # type: ignore[attr-defined]


def test_a_column_of_addresses_mapped_by_mistake_is_refused(tmp_path: Path) -> None:
    from vcop.ingest import ExtractError

    folder = tmp_path / "extract"
    folder.mkdir()
    rows = "".join(f"C{i},2025-05-0{i},Burglary,{i}{i}0 High Street\n" for i in range(1, 5))
    (folder / "crimes.csv").write_text("crime_id,reported_at,crime_type,location\n" + rows)
    with pytest.raises(ExtractError, match="column 'location' holds what look like personal"):
        _load(folder, tmp_path)
