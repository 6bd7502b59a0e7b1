"""Themes learnt from an analyst's coding: several themes per answer, scored by cross-validation.

An analyst codes a sample of answers; Chorus learns one classifier per theme
(TF-IDF words and pairs of words, logistic regression) and reports, per theme,
the precision and recall it reached on folds it did not learn from. On new
answers its themes add to the codebook's.

    >>> texts = ["bins not emptied", "rubbish everywhere", "boiler broken", "no hot water"] * 3
    >>> coded = [("cleanliness",), ("cleanliness",), ("repairs",), ("repairs",)] * 3
    >>> learn_themes(texts, coded, folds=3).predict(["the bins are full of rubbish"])
    [('cleanliness',)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, MultiLabelBinarizer

from analysis.errors import InputError
from analysis.sentiment import analyse, frame_of, textblob_only

THRESHOLD = 0.5
MIN_EXAMPLES_PER_THEME = 3


@dataclass(frozen=True)
class ThemeScore:
    theme: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class LearntThemes:
    """A fitted multi-label theme classifier with its cross-validated scores."""

    themes: tuple[str, ...]
    pipeline: Any
    scores: tuple[ThemeScore, ...]
    examples: int

    def predict(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        if not texts:
            return []
        chosen = self.pipeline.predict_proba(list(texts)) >= THRESHOLD
        return [tuple(theme for theme, yes in zip(self.themes, row, strict=True) if yes) for row in chosen]


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
            ("themes", OneVsRestClassifier(LogisticRegression(max_iter=1000, class_weight="balanced", C=4.0))),
        ]
    )


def _scores(themes: Sequence[str], truth: np.ndarray, predicted: np.ndarray) -> tuple[ThemeScore, ...]:
    scores = []
    for index, theme in enumerate(themes):
        true, pred = truth[:, index].astype(bool), predicted[:, index].astype(bool)
        tp = int((true & pred).sum())
        precision = tp / int(pred.sum()) if pred.sum() else 0.0
        recall = tp / int(true.sum()) if true.sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ThemeScore(theme, round(precision, 3), round(recall, 3), round(f1, 3), int(true.sum())))
    return tuple(scores)


def learn_themes(texts: Sequence[str], coded: Sequence[Sequence[str]], folds: int = 5) -> LearntThemes:
    """Learn from coded answers (each with zero or more themes); raises InputError when there is too little to learn from."""
    if len(texts) != len(coded):
        raise InputError("every answer needs its themes (an empty list is fine)")
    counts: dict[str, int] = {}
    for themes in coded:
        for theme in set(themes):
            counts[theme] = counts.get(theme, 0) + 1
    rare = sorted(theme for theme, count in counts.items() if count < MIN_EXAMPLES_PER_THEME)
    if rare:
        raise InputError(
            f"each theme needs at least {MIN_EXAMPLES_PER_THEME} coded answers; too few for: {', '.join(rare)}"
        )
    if len(counts) < 2:
        raise InputError("code at least two themes so there is something to tell apart")
    binarizer = MultiLabelBinarizer(classes=sorted(counts))
    truth = binarizer.fit_transform(coded)
    splitter = KFold(n_splits=min(folds, len(texts)), shuffle=True, random_state=0)
    probabilities = cross_val_predict(_pipeline(), list(texts), truth, cv=splitter, method="predict_proba")
    scores = _scores(binarizer.classes_, truth, probabilities >= THRESHOLD)
    pipeline = _pipeline().fit(list(texts), truth)
    return LearntThemes(tuple(binarizer.classes_), pipeline, scores, len(texts))


def micro_macro_f1(
    truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], themes: Sequence[str]
) -> tuple[float, float]:
    """Micro and macro F1 of multi-label predictions, e.g. for a held-out set."""
    binarizer = MultiLabelBinarizer(classes=list(themes))
    true = binarizer.fit_transform(truth)
    pred = binarizer.transform(predicted)
    per_theme = _scores(themes, true, pred)
    tp = int((true & pred).sum())
    precision = tp / int(pred.sum()) if pred.sum() else 0.0
    recall = tp / int(true.sum()) if true.sum() else 0.0
    micro = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    macro = sum(score.f1 for score in per_theme) / len(per_theme)
    return round(micro, 3), round(macro, 3)


SENTIMENTS = ("positive", "neutral", "negative")


def _frame_text(text: str, question: str | None) -> str:
    """The question's frame travels with the text, so "more staff" under "what could we improve?" learns apart."""
    return f"frame{frame_of(question).value} {text}"


def _polarities(texts: Sequence[str]) -> np.ndarray:
    rows = []
    for framed in texts:
        frame, _, text = framed.partition(" ")
        question = {"frameimprove": "What could we improve?", "framegood": "What was good?"}.get(frame)
        rows.append([textblob_only(text).polarity, analyse(text, question).polarity])
    return np.array(rows)


@dataclass
class LearntSentiment:
    """A sentiment classifier learnt from coded answers, TextBlob's and the rules' polarity among its features."""

    pipeline: Any
    accuracy: float
    macro_f1: float
    examples: int

    def predict(self, texts: Sequence[str], questions: Sequence[str | None]) -> list[str]:
        if not texts:
            return []
        return [
            str(label)
            for label in self.pipeline.predict([_frame_text(t, q) for t, q in zip(texts, questions, strict=True)])
        ]


def learn_sentiment(
    texts: Sequence[str], labels: Sequence[str], questions: Sequence[str | None], folds: int = 5
) -> LearntSentiment:
    """Learn positive/neutral/negative from coded answers; accuracy and macro-F1 come from cross-validation."""
    unknown = sorted(set(labels) - set(SENTIMENTS))
    if unknown:
        raise InputError(f"sentiment must be positive, neutral or negative, not {', '.join(unknown)}")
    if len(set(labels)) < 2 or min(list(labels).count(label) for label in set(labels)) < MIN_EXAMPLES_PER_THEME:
        raise InputError(f"code at least two sentiments, each on {MIN_EXAMPLES_PER_THEME} or more answers")
    framed = [_frame_text(t, q) for t, q in zip(texts, questions, strict=True)]
    pipeline = Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                        ("polarity", FunctionTransformer(_polarities)),
                    ]
                ),
            ),
            ("sentiment", LogisticRegression(max_iter=1000, class_weight="balanced", C=4.0)),
        ]
    )
    splitter = KFold(n_splits=min(folds, len(texts)), shuffle=True, random_state=0)
    predicted = cross_val_predict(pipeline, framed, list(labels), cv=splitter)
    pairs = list(zip(labels, predicted, strict=True))
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    present = [label for label in SENTIMENTS if label in labels or label in predicted]
    f1s = []
    for label in present:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return LearntSentiment(
        pipeline.fit(framed, list(labels)), round(accuracy, 3), round(sum(f1s) / len(f1s), 3), len(texts)
    )
