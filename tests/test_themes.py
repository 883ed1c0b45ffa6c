"""The comment-theme model (:mod:`vcop.voice.themes`): clear cases, every comment themed, the
evaluation set kept apart from the training set, and themes counted by month."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from vcop.voice.themes import (
    OTHER,
    THEMES,
    model,
    normalised,
    read_labelled,
    theme_counts,
    themes_of,
)

EVAL = Path(__file__).parent.parent / "bench" / "data" / "themes_eval.csv"


def test_the_evaluation_set_is_never_trained_on() -> None:
    train = {normalised(r.comment) for r in read_labelled()}
    evaluation = read_labelled(EVAL)
    assert len(evaluation) >= 300
    assert not [r.comment for r in evaluation if normalised(r.comment) in train]
    # every theme is measured, and the sets are multi-label
    for rows in (evaluation, read_labelled()):
        assert {t for r in rows for t in r.themes} == set(THEMES)
        assert sum(len(r.themes) > 1 for r in rows) >= 40


def test_an_unknown_theme_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("comment,themes\nFine.,kindness\n")
    with pytest.raises(ValueError, match="line 2"):
        read_labelled(bad)


@pytest.mark.parametrize(
    ("comment", "theme"),
    [
        ("I never received a single update about my case.", "kept_informed"),
        ("The officer who came out was rude and made me feel stupid.", "attitude_empathy"),
        ("It took three days for anyone to come out.", "speed_of_response"),
        ("They didn't even check the CCTV I told them about.", "investigation_effort"),
        ("The case was closed with no further action.", "outcome"),
        ("I couldn't get through on 101, I was on hold for an hour.", "contact_difficulty"),
        ("Brilliant service, thank you so much.", "praise"),
        ("No comment.", OTHER),
    ],
)
def test_clear_cases(comment: str, theme: str) -> None:
    assert theme in themes_of([comment])[0]


def test_a_comment_with_two_themes_gets_both() -> None:
    got = themes_of(["The officers arrived quickly but nobody kept me updated afterwards."])[0]
    assert {"speed_of_response", "kept_informed"} <= set(got)


def test_every_comment_gets_a_theme_and_other_only_alone() -> None:
    comments = [r.comment for r in read_labelled(EVAL)] + ["", "?", "zzz", "1234"]
    for themes in themes_of(comments):
        assert themes and set(themes) <= set(THEMES)
        assert OTHER not in themes or themes == (OTHER,)


def test_training_is_deterministic() -> None:
    from vcop.voice.themes import ThemeModel

    again = ThemeModel(read_labelled())
    assert again.thresholds == model().thresholds
    comments = [r.comment for r in read_labelled(EVAL)]
    assert again.themes(comments) == model().themes(comments)


def test_theme_counts_by_month() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE survey_responses (surveyed_at TIMESTAMP, comment VARCHAR, survey VARCHAR)"
    )
    con.executemany(
        "INSERT INTO survey_responses VALUES (?, ?, 'victim_voice')",
        [
            ("2025-06-03 10:00", "Nobody kept me updated and the officer was rude."),
            ("2025-06-20 10:00", "I never received a single update about my case."),
            ("2025-05-02 10:00", "Brilliant service, thank you so much."),
            ("2025-05-02 11:00", None),
            ("2025-07-01 10:00", "I never received a single update about my case."),  # after
            ("2024-06-30 10:00", "I never received a single update about my case."),  # before
        ],
    )
    counts = theme_counts(con, date(2025, 6, 30))
    assert counts.months[0] == date(2024, 7, 1) and counts.months[-1] == date(2025, 6, 1)
    assert counts.comments[-2:] == [1, 2] and sum(counts.comments) == 3
    assert counts.counts["kept_informed"][-1] == 2
    assert counts.counts["attitude_empathy"][-1] == 1
    assert counts.counts["praise"][-2] == 1
