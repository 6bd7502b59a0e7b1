"""Emerging phrases and the uncoded remainder: what the codebook did not look for."""

from __future__ import annotations

from analysis.emerging import emerging, phrases, uncoded
from analysis.summary import summarise
from storage.summary_queries import ChoiceCounts, SurveyPeriod, TextResult

BEFORE = [["bins collected late", "lovely park", "bins fine", "good caretaker"]] * 4


def test_phrases_skip_filler_words_at_either_end() -> None:
    assert phrases("The lift is broken") == {"lift", "broken", "lift is broken"}


def test_a_new_problem_said_by_enough_people_emerges() -> None:
    now = [f"the lift broken on floor {n}" for n in range(12)] + ["lovely park"] * 5
    found = {e.phrase: e for e in emerging(now, BEFORE, minimum=10)}
    assert "lift broken" in found
    assert found["lift broken"].comments == 12 and found["lift broken"].share_before == 0.0
    assert "lift" not in found and "broken" not in found, "the longer phrase stands for its parts"
    assert "park" not in found, "said before as often: not emerging"


def test_a_phrase_said_by_fewer_than_the_minimum_never_shows() -> None:
    assert emerging(["gas smell in block c"] * 9, BEFORE, minimum=10) == ()


def test_the_uncoded_remainder_is_counted_and_its_common_phrases_shown() -> None:
    texts = [
        ("scooters on the pavement", ()),
        ("e-scooters racing at night", ()),
        ("damp again", ("damp and mould",)),
    ] * 5
    count, common = uncoded(texts, minimum=10)
    assert count == 10
    assert ("scooters", 5) not in common and common == (), "each phrase said by 5 only"
    count, common = uncoded(texts * 2, minimum=10)
    assert ("scooters", 10) in common


def test_emerging_phrases_are_found_in_redacted_text() -> None:
    question = ChoiceCounts("q", "Q", "likert", {"very_satisfied": 20}, {})
    period = SurveyPeriod("s", "S", 20, [question], [TextResult("", "", "negative", (), 20)], {})
    sample = [(f"My name is Pat Lee and the lift broke, flat {n}", ()) for n in range(20)]
    [survey] = summarise("a", "b", [period], [], 10, samples={"s": sample}).surveys
    shown = " ".join(e.phrase for e in survey.emerging) + " ".join(p for p, _ in survey.uncoded_phrases)
    assert "lift" in shown and "pat" not in shown.lower() and "lee" not in shown.lower()
    assert survey.uncoded == 20
