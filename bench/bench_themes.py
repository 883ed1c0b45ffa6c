"""Benchmark: the comment-theme model (:mod:`vcop.voice.themes`) on its evaluation set.

The model is trained on ``src/vcop/definitions/voice/themes_train.csv`` as the dashboard trains
it; it is then scored on ``bench/data/themes_eval.csv``, comments written for the purpose and
never trained on (``tests/test_themes.py`` checks that no evaluation comment is in the training
set). Prints precision, recall and F1 per theme, their micro and macro averages, the share of
comments whose themes are exactly right, and the time to train and to classify.

    uv run python bench/bench_themes.py [--eval bench/data/themes_eval.csv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vcop.voice.themes import THEMES, ThemeModel, read_labelled

EVAL = Path(__file__).parent / "data" / "themes_eval.csv"


def scores(truth: list[frozenset[str]], got: list[frozenset[str]]) -> dict[str, tuple[int, ...]]:
    """(true positives, false positives, false negatives, support) per theme."""
    out = {}
    for theme in THEMES:
        tp = sum(theme in t and theme in g for t, g in zip(truth, got, strict=True))
        fp = sum(theme not in t and theme in g for t, g in zip(truth, got, strict=True))
        fn = sum(theme in t and theme not in g for t, g in zip(truth, got, strict=True))
        out[theme] = (tp, fp, fn, tp + fn)
    return out


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, default=EVAL)
    args = parser.parse_args()
    train = read_labelled()
    evaluation = read_labelled(args.eval)
    start = time.perf_counter()
    model = ThemeModel(train)
    trained = time.perf_counter() - start
    start = time.perf_counter()
    got = [frozenset(t) for t in model.themes([r.comment for r in evaluation])]
    classified = time.perf_counter() - start
    truth = [r.themes for r in evaluation]
    table = scores(truth, got)
    print(f"training set {len(train)} comments, evaluation set {len(evaluation)} comments")
    print(
        f"trained in {trained:.2f} s; classified the evaluation set in {classified * 1000:.0f} ms"
    )
    print()
    print(f"{'theme':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'n':>6}")
    per = []
    for theme, (tp, fp, fn, n) in table.items():
        p, r, f = prf(tp, fp, fn)
        per.append((p, r, f))
        print(f"{theme:<22}{p:>10.3f}{r:>8.3f}{f:>7.3f}{n:>6}")
    tp, fp, fn = (sum(v[i] for v in table.values()) for i in range(3))
    p, r, f = prf(tp, fp, fn)
    print(f"{'micro average':<22}{p:>10.3f}{r:>8.3f}{f:>7.3f}")
    mp, mr, mf = (sum(x[i] for x in per) / len(per) for i in range(3))
    print(f"{'macro average':<22}{mp:>10.3f}{mr:>8.3f}{mf:>7.3f}")
    exact = sum(t == g for t, g in zip(truth, got, strict=True)) / len(truth)
    print(f"exactly right: {exact:.1%} of comments")


if __name__ == "__main__":
    main()
