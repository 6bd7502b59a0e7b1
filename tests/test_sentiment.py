"""Sentiment on the blind spots of TextBlob that matter in public services, as labelled examples."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textblob.en import sentiment as textblob_sentiment  # the yardstick; the service never imports it

from analysis.pattern import polarity as pattern_polarity
from analysis.sentiment import Frame, analyse, frame_of, textblob_only

IMPROVE = "What could we improve?"
GOOD = "What was good about the service?"
ANY = "Any other comments?"


@pytest.mark.parametrize(
    ("text", "question", "label"),
    [
        # "nothing to improve" is praise
        ("Nothing", IMPROVE, "positive"),
        ("nothing.", IMPROVE, "positive"),
        ("No", IMPROVE, "positive"),
        ("All good", IMPROVE, "positive"),
        ("Can't think of anything", IMPROVE, "positive"),
        ("Nothing at present, thank you", IMPROVE, "positive"),
        ("No Nothing", IMPROVE, "positive"),
        ("Keep up the good work!", IMPROVE, "positive"),
        # public-service complaints TextBlob reads as neutral
        ("There is damp in the bedroom", ANY, "negative"),
        ("Black mould all over the bathroom ceiling", ANY, "negative"),
        ("The roof is leaking again", ANY, "negative"),
        ("Still waiting for someone to come", ANY, "negative"),
        ("I chased them three times", ANY, "negative"),
        ("I emailed twice and got no reply", ANY, "negative"),
        ("The boiler is still not fixed", ANY, "negative"),
        ("We were ignored", ANY, "negative"),
        # negation
        ("No damp or mould since the new windows", ANY, "positive"),
        ("The repair was not good", ANY, "negative"),
        ("Never had to chase them, fixed quickly", ANY, "positive"),
        # "but" clauses and mixed comments: the verdict comes last
        ("The staff were lovely but I waited six weeks for the repair", ANY, "negative"),
        ("It took a while but they fixed it properly and kept me informed", ANY, "positive"),
        # the question changes what the same words mean
        ("More evening appointments", IMPROVE, "negative"),
        ("Be more helpful", IMPROVE, "negative"),
        ("The evening appointments", GOOD, "positive"),
        ("Great service, very friendly staff", ANY, "positive"),
        ("The meeting is on Tuesday", ANY, "neutral"),
    ],
)
def test_labelled_examples(text: str, question: str, label: str) -> None:
    assert analyse(text, question).label == label


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Nothing", IMPROVE),
        ("There is damp in the bedroom", ANY),
        ("I chased them three times", ANY),
        ("Be more helpful", IMPROVE),
    ],
)
def test_these_are_the_cases_textblob_alone_gets_wrong(text: str, question: str) -> None:
    assert textblob_only(text).label != analyse(text, question).label


def test_polarity_stays_within_minus_one_and_one() -> None:
    for text in ("awful awful terrible damp mould leak ignored no reply chased", "excellent wonderful perfect amazing"):
        assert -1 <= analyse(text).polarity <= 1


@pytest.mark.parametrize(
    ("question", "frame"),
    [
        ("What could we do better?", Frame.IMPROVE),
        ("What should we change?", Frame.IMPROVE),
        ("What was good?", Frame.GOOD),
        ("Anything else?", Frame.GENERAL),
        (None, Frame.GENERAL),
    ],
)
def test_the_question_sets_the_frame(question: str | None, frame: Frame) -> None:
    assert frame_of(question) is frame


WORDS = [
    "good",
    "bad",
    "terrible",
    "terribly",
    "horrible",
    "happy",
    "unhappy",
    "helpful",
    "slow",
    "rude",
    "kind",
    "late",
    "broken",
    "fixed",
    "wonderful",
    "wonderfully",
    "disgusting",
    "simply",
    "very",
    "really",
    "extremely",
    "not",
    "no",
    "never",
    "n't",
    "but",
    "and",
    "the",
    "repairs",
    "staff",
    "were",
    "was",
    "is",
    ":)",
    ":(",
    "!",
    "?",
    ".",
]


@settings(deadline=None)  # the first example reads TextBlob's lexicon twice, once for each
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join))
def test_polarity_is_textblobs_to_the_digit_without_importing_textblob(text: str) -> None:
    assert pattern_polarity(text) == textblob_sentiment(text)[0]


def test_reading_sentiment_imports_neither_nltk_nor_scikit_learn() -> None:
    """What keeps the service's memory down: `import textblob` would bring both (about 125 MB)."""
    check = (
        "import sys; from analysis.sentiment import analyse; analyse('The damp is still not fixed'); "
        "print(sorted(m for m in ('nltk', 'sklearn', 'scipy', 'textblob') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
