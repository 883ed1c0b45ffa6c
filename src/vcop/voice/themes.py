"""Comment themes: what each victim's comment is about, and how often each theme comes up.

A comment gets one or more of :data:`THEMES` (``other`` when nothing else fits) from a classical
multi-label classifier trained on the labelled comments in ``definitions/voice/themes_train.csv``
(DECISIONS: a scikit-learn classifier trained on a labelled set in the repository, not a
PyTorch model that would pull gigabytes into every install). Nothing is downloaded, and nothing
fitted is loaded from disk: the model is trained from the CSV the first time it is needed
(about a second) and kept in memory for the life of the process, so there is no pickle to
tamper with.

The model: TF-IDF of word 1-2-grams and character 2-5-grams (within words, so misspellings and
word forms still match), and one logistic regression per theme. Each theme's threshold is the
one that gives the best F1 on the training set's 5-fold cross-validated probabilities (not on the
very predictions the model was fitted to, which would be over-confident). Every step has a fixed
``random_state``: the same CSV always gives the same model.

Its precision and recall per theme are measured on a separate evaluation set written for the
purpose and never trained on (``bench/data/themes_eval.csv``, printed by
``bench/bench_themes.py``).
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

#: Every theme, in the order pages list them: id → title.
THEMES: dict[str, str] = {
    "kept_informed": "Kept informed",
    "attitude_empathy": "Attitude and empathy",
    "speed_of_response": "Speed of response",
    "investigation_effort": "Investigation effort",
    "outcome": "Outcome",
    "contact_difficulty": "Contact difficulty",
    "praise": "Praise",
    "other": "Other",
}
#: The theme a comment gets when no other fits.
OTHER = "other"
#: The themes the classifier decides (``other`` is what is left).
DECIDED = tuple(t for t in THEMES if t != OTHER)
SEED = 0


@dataclass(frozen=True)
class Labelled:
    comment: str
    themes: frozenset[str]


def read_labelled(path: Path | None = None) -> list[Labelled]:
    """Labelled comments from a CSV of ``comment, themes`` (themes separated by ``;``); the
    training set by default. An unknown theme raises."""
    if path is None:
        text = resources.files("vcop.definitions").joinpath("voice/themes_train.csv")
        content = text.read_text("utf-8")
    else:
        content = path.read_text("utf-8")
    out = []
    for n, row in enumerate(csv.DictReader(content.splitlines()), start=2):
        themes = frozenset(t.strip() for t in (row["themes"] or "").split(";") if t.strip())
        unknown = themes - set(THEMES)
        if unknown or not themes:
            raise ValueError(f"line {n}: themes must be some of {', '.join(THEMES)}: {themes}")
        out.append(Labelled(row["comment"], themes))
    return out


def normalised(comment: str) -> str:
    """A comment as compared across sets: lower case, words only."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in comment.lower()).split())


class ThemeModel:
    """The fitted vectoriser, one classifier per theme and each theme's threshold."""

    def __init__(self, labelled: Sequence[Labelled]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.model_selection import KFold, cross_val_predict
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import FeatureUnion, make_pipeline

        texts = [r.comment for r in labelled]
        y = np.array([[t in r.themes for t in DECIDED] for r in labelled], dtype=int)

        def pipeline() -> Any:
            from sklearn.linear_model import LogisticRegression

            features = FeatureUnion(
                [
                    ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                              lowercase=True, min_df=1)),
                    ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                              sublinear_tf=True, lowercase=True, min_df=1)),
                ]
            )  # fmt: skip
            classifier = OneVsRestClassifier(
                LogisticRegression(
                    C=8.0, class_weight="balanced", solver="liblinear", random_state=SEED
                )
            )
            return make_pipeline(features, classifier)

        folds = KFold(n_splits=5, shuffle=True, random_state=SEED)
        held_out = cross_val_predict(pipeline(), texts, y, cv=folds, method="predict_proba")
        self.thresholds = {
            theme: _best_threshold(y[:, i], held_out[:, i]) for i, theme in enumerate(DECIDED)
        }
        self.pipeline = pipeline().fit(texts, y)

    def probabilities(self, comments: Sequence[str]) -> Any:
        return self.pipeline.predict_proba(list(comments))

    def themes(self, comments: Sequence[str]) -> list[tuple[str, ...]]:
        """The themes of each comment, in :data:`THEMES` order; ``("other",)`` when none fits."""
        if not comments:
            return []
        probs = self.probabilities(comments)
        out = []
        for row in probs:
            got = tuple(t for i, t in enumerate(DECIDED) if row[i] >= self.thresholds[t])
            out.append(got or (OTHER,))
        return out


def _best_threshold(truth: Any, probs: Any) -> float:
    """The threshold (of 0.10, 0.15 … 0.90) with the best F1; the lowest of equals."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.round(np.arange(0.10, 0.91, 0.05), 2):
        predicted = probs >= threshold
        tp = int(np.sum(predicted & (truth == 1)))
        fp = int(np.sum(predicted & (truth == 0)))
        fn = int(np.sum(~predicted & (truth == 1)))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


_lock = threading.Lock()
_model: ThemeModel | None = None


def model() -> ThemeModel:
    """The model trained on the repository's training set, trained once per process."""
    global _model
    with _lock:
        if _model is None:
            _model = ThemeModel(read_labelled())
        return _model


def themes_of(comments: Sequence[str]) -> list[tuple[str, ...]]:
    """The themes of each of ``comments`` (see :class:`ThemeModel`)."""
    distinct = sorted(set(comments))
    found = dict(zip(distinct, model().themes(distinct), strict=True))
    return [found[c] for c in comments]


def theme_text(themes: Iterable[str]) -> str:
    return "; ".join(THEMES[t] for t in themes)


#: How many of the latest comments the satisfaction page lists for analysts.
LATEST = 50

#: The latest comments answered up to an as-of date (its parameter), newest first: what the
#: satisfaction page lists, and whose themes are stored with the ledger's figures.
LATEST_COMMENTS = (
    "SELECT response_id, surveyed_at::DATE AS surveyed_at, survey, crime_type, area, "
    "whole_experience, comment, crime_id FROM survey_responses "
    "WHERE comment IS NOT NULL AND surveyed_at < ?::DATE + 1 "
    f"ORDER BY surveyed_at DESC, response_id DESC LIMIT {LATEST}"
)


def latest_comment_themes(con: Any, as_of: date) -> dict[str, tuple[str, ...]]:
    """The themes of each of the latest comments (:data:`LATEST_COMMENTS`), by response id.

    ``con``: a DuckDB connection (or anything with ``execute(sql, params).fetchall()``).
    """
    rows = con.execute(LATEST_COMMENTS, [as_of]).fetchall()
    found = themes_of([str(r[6]) for r in rows])
    return {str(r[0]): themes for r, themes in zip(rows, found, strict=True)}


# -- themes per period --------------------------------------------------------------------------


def months_ending(as_of: date, months: int) -> list[date]:
    """The first days of the ``months`` calendar months up to and including ``as_of``'s."""
    year, month = as_of.year, as_of.month
    out = []
    for _ in range(months):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


@dataclass(frozen=True)
class ThemeCounts:
    """How many comments of each month had each theme (a comment with two themes counts once in
    each), and how many comments each month had in all."""

    months: list[date]
    counts: dict[str, list[int]]
    comments: list[int]


def theme_counts(con: Any, as_of: date, months: int = 12) -> ThemeCounts:
    """The themes of the comments in ``survey_responses`` (every survey) answered in the
    ``months`` calendar months up to ``as_of`` (the last month may be part of one), by month.

    ``con``: a DuckDB connection (or anything with ``execute(sql, params).fetchall()``).
    """
    firsts = months_ending(as_of, months)
    rows = con.execute(
        "SELECT date_trunc('month', surveyed_at)::DATE AS month, comment "
        "FROM survey_responses WHERE comment IS NOT NULL AND trim(comment) <> '' "
        "AND surveyed_at >= ? AND surveyed_at < ?::DATE + 1",
        [firsts[0], as_of],
    ).fetchall()
    index = {m: i for i, m in enumerate(firsts)}
    counts = {t: [0] * len(firsts) for t in THEMES}
    comments = [0] * len(firsts)
    found = themes_of([str(c) for _, c in rows])
    for (month, _), themes in zip(rows, found, strict=True):
        i = index[month]
        comments[i] += 1
        for t in themes:
            counts[t][i] += 1
    return ThemeCounts(firsts, counts, comments)
