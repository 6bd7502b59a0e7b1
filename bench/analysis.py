"""Speed and quality of analysis/ on real public-service feedback (../shared/data, NHS patient comments).

Speed: texts per second for sentiment plus themes on one core, over every comment,
with the per-process cache cleared (every text analysed from scratch) and warm.
Quality: 3-class sentiment (criticality > 0 positive, 0 neutral, < 0 negative) by
trust, side by side with raw TextBlob; and themes learnt from Trust A and B's coding,
scored on Trust C's (micro and macro F1). The rules were developed looking at Trust A
and B comments only; Trust C is held out. Trust B coded most praise as 0, so its
"neutral" is mostly positive comments: read its row with that in mind.

Usage:
    .venv/bin/python bench/analysis.py [--data ../shared/data/nhs_patient_feedback_phase1.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.learnt import learn_sentiment, learn_themes, micro_macro_f1  # noqa: E402
from analysis.sentiment import _analyse, analyse, textblob_only  # noqa: E402
from analysis.themes import load_codebook, themes_of  # noqa: E402

# What each trust's question asked, read from the data (the share of "Couldn't be improved" comments).
QUESTIONS = {
    "Trust A - Q1": "What could we do better?",
    "Trust A - Q2": "What was good about your care?",
    "Trust B - Q1": "Please tell us why you gave that answer",
    "Trust C - Q1": "What was good about your care?",
    "Trust C - Q2": "What could we do better?",
}
LABELS = ("positive", "neutral", "negative")


def gold(row: dict[str, str]) -> str | None:
    value = row["criticality"]
    if not value.lstrip("-").isdigit() or not -5 <= int(value) <= 5:
        return None
    score = int(value)
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def scores(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Accuracy and macro-F1 over the labels present in the gold or the predictions (as scikit-learn does)."""
    present = [label for label in LABELS if any(label in pair for pair in pairs)]
    f1s = []
    for label in present:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    return {"accuracy": round(accuracy, 3), "macro_f1": round(sum(f1s) / len(f1s), 3)}


def speed(texts: list[tuple[str, str]], cold: bool) -> float:
    codebook = load_codebook("council-housing")
    best = 0.0
    for _ in range(3):
        if cold:
            _analyse.cache_clear()
        started = time.process_time()
        for text, question in texts:
            analyse(text, question)
            themes_of(text, codebook)
        best = max(best, len(texts) / (time.process_time() - started))
    return round(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data" / "nhs_patient_feedback_phase1.csv"
    )
    args = parser.parse_args()
    rows = list(csv.DictReader(args.data.open(encoding="utf-8")))
    texts = [(row["feedback"], QUESTIONS.get(row["question"], "")) for row in rows]
    print(
        json.dumps(
            {
                "texts": len(texts),
                "texts_per_second_cold": speed(texts, cold=True),
                "texts_per_second_warm": speed(texts, cold=False),
            }
        )
    )
    systems: dict[str, Callable[[dict[str, str]], str]] = {
        "chorus": lambda row: analyse(row["feedback"], QUESTIONS.get(row["question"], "")).label,
        "textblob": lambda row: textblob_only(row["feedback"]).label,
    }
    for trust in ("Trust A", "Trust B", "Trust C"):
        labelled = [row for row in rows if row["organization"] == trust and gold(row)]
        result = {"trust": trust, "comments": len(labelled), "held_out": trust == "Trust C"}
        for name, predict in systems.items():
            result[name] = scores([(str(gold(row)), predict(row)) for row in labelled])
        print(json.dumps(result))
    print(json.dumps(themes_held_out(rows)))
    print(json.dumps(sentiment_held_out(rows)))


def sentiment_held_out(rows: list[dict[str, str]]) -> dict[str, object]:
    """Sentiment learnt from Trust A's coding (its two neutral comments left out), scored on Trust C."""
    train = [row for row in rows if row["organization"] == "Trust A" and gold(row) in ("positive", "negative")]
    test = [row for row in rows if row["organization"] == "Trust C" and gold(row)]
    model = learn_sentiment(
        [r["feedback"] for r in train], [str(gold(r)) for r in train], [QUESTIONS[r["question"]] for r in train]
    )
    predicted = model.predict([r["feedback"] for r in test], [QUESTIONS[r["question"]] for r in test])
    return {
        "sentiment": "learnt on Trust A",
        "cross_validated": {"accuracy": model.accuracy, "macro_f1": model.macro_f1},
        "held_out_trust_c": scores([(str(gold(r)), p) for r, p in zip(test, predicted, strict=True)]),
    }


def themes_held_out(rows: list[dict[str, str]]) -> dict[str, object]:
    """Themes learnt from Trust A and B's coding, scored on Trust C's (one coded theme per comment)."""
    train = [row for row in rows if row["organization"] != "Trust C" and row["feedback"].strip()]
    test = [row for row in rows if row["organization"] == "Trust C" and row["feedback"].strip()]
    started = time.perf_counter()
    model = learn_themes([row["feedback"] for row in train], [(row["label"],) for row in train])
    seconds = time.perf_counter() - started
    predicted = model.predict([row["feedback"] for row in test])
    micro, macro = micro_macro_f1([(row["label"],) for row in test], predicted, model.themes)
    cross_validated = {score.theme: score.f1 for score in model.scores}
    return {
        "themes": "learnt on Trust A+B",
        "learn_seconds": round(seconds, 1),
        "held_out_trust_c": {"micro_f1": micro, "macro_f1": macro},
        "cross_validated_f1": cross_validated,
    }


if __name__ == "__main__":
    main()
