"""Sentiment of a free-text answer: TextBlob's PatternAnalyzer, corrected for how people write about public services.

TextBlob alone misreads public-service feedback: "Nothing" under "what could we
improve?" is praise; "damp", "mould", "still not fixed", "chased" and "no reply"
are neutral to it but are complaints; after "but" the second clause usually
carries the verdict. The question an answer was given to is part of the input.

    >>> analyse("Nothing, all good", "What could we improve?").label
    'positive'
    >>> analyse("The mould is still not fixed", "Any other comments?").label
    'negative'
    >>> analyse("Staff were kind but I waited six weeks for a repair").label
    'negative'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from analysis.pattern import polarity as pattern_polarity

MODEL_VERSION = "rules-1"
POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
THRESHOLD = 0.1


class Frame(StrEnum):
    """What the question asked for, which changes what the same words mean."""

    GOOD = "good"
    IMPROVE = "improve"
    GENERAL = "general"


_IMPROVE = re.compile(r"\b(improve|better|change|could (we|have)|should|suggest|wrong|problem|fix|worse|dislike)", re.I)
_GOOD = re.compile(r"\b(good|well|like|best|positive|enjoy|pleased|went right|great)\b", re.I)

_NOTHING = re.compile(
    r"^(nothing|none|no|nope|nil|n/?a|not really|no comments?|no complaints?|all (good|fine|great|ok)|"
    r"can'?t think of anything|cannot think of anything|nothing (to add|really|at (all|present|the moment)|"
    r"i can think of|comes to mind|that i can think of)|everything (was|is) (fine|good|great|perfect|excellent)|"
    r"keep (it )?up the good work|carry on( as you are)?|no improvements?( needed)?|nothing,? (it was|everything was) \w+)"
    r"[\s.!,]*(thanks?( you)?|cheers)?[\s.!]*$",
    re.I,
)

# Words and phrases TextBlob does not know are complaints, with how strongly; all lower case.
_COMPLAINTS: dict[str, float] = {
    r"damp": -0.5,
    r"mou?ld(y)?": -0.6,
    r"leak(s|ing|ed|y)?": -0.5,
    r"condensation": -0.4,
    r"wait(ing|ed)?": -0.3,
    r"delay(s|ed)?": -0.4,
    r"ignor(ed|ing|e)": -0.6,
    r"no (reply|response|answer|one (came|called|answered))": -0.6,
    r"(never|didn'?t|did not|don'?t|do not) (reply|replied|respond|responded|call(ed)? back|get back)": -0.6,
    r"(still )?not (been )?(fixed|repaired|resolved|sorted)": -0.7,
    r"still (waiting|broken|leaking)": -0.7,
    r"chas(e|ed|ing)": -0.5,
    r"broken": -0.5,
    r"cancell?ed": -0.4,
    r"unsafe": -0.6,
    r"(anti-?social|asb)": -0.5,
    r"(mice|rats|cockroach(es)?|pests?|vermin)": -0.6,
    r"(nobody|no one) (listens|cares|came)": -0.6,
    r"(rude|dismissive|unhelpful)": -0.6,
    r"complain(t|ts|ed|ing)?": -0.3,
    r"(cold|freezing)": -0.3,
    r"too long": -0.4,
    r"(\d+|two|three|four|five|six|several|many) (weeks|months)": -0.3,
    r"(lack of|not enough|understaffed|short[- ]staffed)": -0.4,
}
_PRAISE: dict[str, float] = {
    r"(fixed|sorted|resolved|repaired) (quickly|promptly|straight away|same day)": 0.6,
    r"kept (me )?informed": 0.5,
    r"listened": 0.4,
    r"(thank you|thanks)": 0.3,
    r"(caring|compassion(ate)?|reassur(ing|ed))": 0.5,
}
_NEGATORS = r"(?:no|not|never|without|wasn'?t|isn'?t|weren'?t|didn'?t have)"


_WEIGHTS = tuple({**_COMPLAINTS, **_PRAISE}.values())
_SCAN = re.compile(
    "|".join(
        rf"\b(?P<d{index}>{re.sub(r'[(](?![?])', '(?:', pattern)})\b"
        for index, pattern in enumerate({**_COMPLAINTS, **_PRAISE})
    )
)
_NEGATED = re.compile(rf"\b{_NEGATORS}\s+(?:\w+\s+){{0,3}}$")
_NOTHING_WORDS = re.compile(r"\b(nothing|no complaints?|can'?t think|happy as it is|no improvements?)\b")
STRONG_PRAISE = 0.5
_REQUEST = re.compile(
    r"^(please\s+)?(more|less|fewer|better|be|make|need|needs|should|could|would|can you|have|provide|improve|stop|start|give|"
    r"ensure|allow|let|maybe|perhaps|possibly|quicker|faster)\b"
)
_CONTRAST = re.compile(r"\s*(?:,|;)?\s*\b(?:but|however|although|though|except|apart from)\b\s*")


@dataclass(frozen=True)
class Sentiment:
    label: str
    polarity: float


def frame_of(question: str | None) -> Frame:
    """e.g. "What could we do better?" -> IMPROVE; "What was good?" -> GOOD."""
    if not question:
        return Frame.GENERAL
    if _IMPROVE.search(question):
        return Frame.IMPROVE
    if _GOOD.search(question):
        return Frame.GOOD
    return Frame.GENERAL


def _nothing_short(lowered: str) -> bool:
    """A short answer saying there is nothing to complain about, e.g. "No Nothing" or "not sure... nothing I can think of"."""
    words = lowered.split()
    return len(words) <= 8 and bool(_NOTHING_WORDS.search(lowered)) and _domain(lowered) >= 0


def _domain(text: str) -> float:
    """Complaint and praise words TextBlob misses; "no damp" and "never had to chase" count the other way.

    One scan finds them all; each word or phrase counts once.
    """
    score = 0.0
    counted: set[str] = set()
    for match in _SCAN.finditer(text):
        name = match.lastgroup or ""
        if name in counted:
            continue
        counted.add(name)
        weight = _WEIGHTS[int(name[1:])]
        score += -weight * 0.5 if _NEGATED.search(text, max(0, match.start() - 60), match.start()) else weight
    return score


def _clause(text: str) -> float:
    return max(-1.0, min(1.0, pattern_polarity(text) + _domain(text)))


@lru_cache(maxsize=65_536)
def _analyse(text: str, frame: Frame) -> Sentiment:
    cleaned = " ".join(text.split())
    if not cleaned:
        return Sentiment(NEUTRAL, 0.0)
    lowered = cleaned.lower()
    if frame is not Frame.GOOD and (_NOTHING.match(cleaned) or _nothing_short(lowered)):
        return Sentiment(POSITIVE, 0.5)
    clauses = [c for c in _CONTRAST.split(lowered) if c.strip()]
    if len(clauses) > 1:
        head, tail = _clause(" ".join(clauses[:-1])), _clause(clauses[-1])
        polarity = 0.25 * head + 0.75 * tail
    else:
        polarity = _clause(lowered)
    if frame is Frame.IMPROVE and (polarity < STRONG_PRAISE or _REQUEST.match(lowered)):
        polarity = min(polarity, 0.0) - 0.25  # an answer to "what could we improve?" is a criticism
    elif frame is Frame.GOOD and abs(polarity) < THRESHOLD:
        polarity += 0.15
    polarity = round(max(-1.0, min(1.0, polarity)), 3)
    label = POSITIVE if polarity > THRESHOLD else NEGATIVE if polarity < -THRESHOLD else NEUTRAL
    return Sentiment(label, polarity)


def analyse(text: str, question: str | None = None) -> Sentiment:
    """The sentiment of one answer, read against the question it answered."""
    return _analyse(text, frame_of(question))


def textblob_only(text: str) -> Sentiment:
    """Raw TextBlob, the yardstick bench/analysis.py compares against."""
    score = pattern_polarity(text)
    label = POSITIVE if score > 0 else NEGATIVE if score < 0 else NEUTRAL
    return Sentiment(label, round(score, 3))
