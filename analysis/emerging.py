"""Emerging themes: phrases new or growing this week against the weeks before, and what no theme covers.

Codebooks only find what someone thought to look for. This finds words and
short phrases whose share of this week's comments is at least double their
share over the previous weeks, and the most common phrases among comments no
theme matched, so nothing important hides in "other". A phrase said by fewer
people than the minimum group is never shown.

    >>> before = [["the lift is fine"], ["bins collected"], ["lovely park"], ["bins late"]]
    >>> now = ["the lift broken again", "lift broken since monday", "lift broken, stairs only"]
    >>> [e.phrase for e in emerging(now, before, minimum=3)]
    ['lift broken']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "him",
        "his",
        "how",
        "i",
        "i'm",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "get",
        "got",
        "im",
        "ive",
        "dont",
        "cant",
        "wont",
        "one",
        "also",
        "really",
        "still",
        "always",
        "never",
    ]
)
WORD = re.compile(r"[a-z][a-z'-]*")
LONGEST = 3
GROWTH = 2.0
TOP = 10


@dataclass(frozen=True)
class Emerging:
    phrase: str
    comments: int
    share_now: float
    share_before: float


def phrases(text: str) -> set[str]:
    """Words and phrases of up to three words, not starting or ending with a filler word."""
    words = WORD.findall(text.lower())
    found = set()
    for size in range(1, LONGEST + 1):
        for start in range(len(words) - size + 1):
            gram = words[start : start + size]
            if gram[0] not in STOPWORDS and gram[-1] not in STOPWORDS:
                found.add(" ".join(gram))
    return found


def _frequencies(texts: Iterable[str]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for text in texts:
        counts.update(phrases(text))
        total += 1
    return counts, total


def _within(short: str, long: str) -> bool:
    return f" {short} " in f" {long} "


def _without_parts(found: list[Emerging]) -> list[Emerging]:
    """Keep "lift broken" rather than also "lift" and "broken" when the longer phrase says most of it."""
    kept: list[Emerging] = []
    for item in sorted(found, key=lambda e: -len(e.phrase.split())):
        if not any(_within(item.phrase, longer.phrase) and longer.comments >= 0.6 * item.comments for longer in kept):
            kept.append(item)
    return kept


def emerging(this_week: Sequence[str], weeks_before: Sequence[Sequence[str]], minimum: int) -> tuple[Emerging, ...]:
    """Phrases said by at least `minimum` people this week whose share at least doubled."""
    now, total_now = _frequencies(this_week)
    before, total_before = _frequencies(text for week in weeks_before for text in week)
    found = []
    for phrase, count in now.items():
        if count < minimum:
            continue
        share_now = count / total_now
        share_before = before[phrase] / total_before if total_before else 0.0
        if share_now >= GROWTH * share_before:
            found.append(Emerging(phrase, count, round(share_now, 3), round(share_before, 3)))
    ranked = sorted(_without_parts(found), key=lambda e: (-(e.share_now - e.share_before), -e.comments, e.phrase))
    return tuple(ranked[:TOP])


def uncoded(texts: Sequence[tuple[str, tuple[str, ...]]], minimum: int) -> tuple[int, tuple[tuple[str, int], ...]]:
    """How many comments no theme matched, and their most common phrases (each said by at least `minimum`)."""
    remainder = [text for text, themes in texts if not themes]
    counts, _ = _frequencies(remainder)
    common = [(phrase, n) for phrase, n in counts.most_common() if n >= minimum]
    return len(remainder), tuple(common[:TOP])
