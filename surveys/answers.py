"""Turns what a participant typed or pressed into a typed answer, or a reason it cannot be used.

Typing is forgiving, because people answer on phones: "very sat", "2", "YES",
"1, 3" and "1 3" all find their choices; only a real ambiguity or a miss asks again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from difflib import get_close_matches
from functools import lru_cache

from surveys.model import Choice, Kind, Question
from surveys.outputs import Reason
from surveys.scales import (
    CONSENT,
    DONT_KNOW,
    NUMBER_WORDS,
    SAID_AGREE,
    SAID_DONT_KNOW,
    SAID_NO,
    SAID_NONE_OR_ALL,
    SAID_YES,
    YES_NO,
)
from surveys.state import AnswerValue

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%d/%m/%y")
_SEPARATORS = re.compile(r"\s*[,;]\s*|\s+(?:and|&)\s+")
_PUNCTUATION = ".!?\"'()[]"
_APOSTROPHES = str.maketrans("", "", "'\u2018\u2019\u02bc")
# ł, the one Polish letter Unicode does not split into l and a mark; and the Arabic letters an Arabic keyboard types
# for Urdu's yeh, kaf and heh, which look the same.
_UNDECOMPOSED = str.maketrans(
    {"\u0142": "l", "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0647": "\u06c1"}
)
_OUT_OF = re.compile(r"(?P<score>\d+)\s*(?:/|out of|na|z)\s*(?P<top>\d+)", re.IGNORECASE)
MIN_WORD_MATCH = 3
NEAR_MISS = 0.75  # how alike typed words and a label's must be to count as a slip for it: "housng", "dmap"
CURRENCY_WORDS = ("z\u0142", "pln", "gbp", "eur")  # written after or before an amount, as "95 zł"
# Chorus's own yes, no and consent words, understood in every language it speaks: a survey written only in
# English keeps only its English labels, and a resident who reads the bot in Polish types "tak".
_IN_EVERY_LANGUAGE = {Kind.YES_NO: (YES_NO,), Kind.CONSENT: (CONSENT, YES_NO)}
LABELS = 8192  # choices' labels kept normalised, across every survey and language
MOST_DIGITS = 15  # before the decimal point: as many as a double holds exactly, and more than anyone answers with


@dataclass(frozen=True)
class Accepted:
    value: AnswerValue


@dataclass(frozen=True)
class Refused:
    reason: Reason
    params: dict[str, str | int | float] = field(default_factory=dict)


Reading = Accepted | Refused


def normalise(text: str) -> str:
    """'  Very   Satisfied! ' -> 'very satisfied'; "Don't know" -> 'dont know'; 'Zgadzam się' -> 'zgadzam sie'.

    Apostrophes go, straight or curly: a phone's keyboard types a curly one
    (U+2019) in "don't" unasked, and people leave them out ("dont know").
    Accents go too: on a keyboard set to English, Polish is typed without them.
    """
    folded = unicodedata.normalize("NFD", text.casefold().translate(_APOSTROPHES))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch)).translate(_UNDECOMPOSED)
    return " ".join(plain.split()).strip(_PUNCTUATION + " ")


def _normalised(words: frozenset[str]) -> frozenset[str]:
    return frozenset(normalise(word) for word in words)


# Words that mean a choice whatever a survey's labels say (surveys.scales), normalised as what is typed will be.
_SAID = {
    Kind.YES_NO: {"yes": _normalised(SAID_YES), "no": _normalised(SAID_NO)},
    Kind.CONSENT: {"agree": _normalised(SAID_AGREE), "decline": _normalised(SAID_NO)},
}
_SAID_DONT_KNOW = {DONT_KNOW.value: _normalised(SAID_DONT_KNOW)}
_NUMBER_WORDS = {normalise(word): number for word, number in NUMBER_WORDS.items()}
# Yes, no, don't know, none or all, in Chorus's words or as people type them: never an answer of the participant's own.
_NOT_THEIR_OWN = _normalised(
    SAID_YES
    | SAID_NO
    | SAID_DONT_KNOW
    | SAID_NONE_OR_ALL
    | {label for choice in YES_NO for label in choice.label.translations.values()}
    | {part for label in DONT_KNOW.label.translations.values() for part in label.split("/")}
)


def read_text(question: Question, text: str, language: str) -> Reading:
    """Read typed text as an answer to the question; empty text reads as no answer (None)."""
    text = text.strip()
    if not text:
        return Accepted(None)
    kind = question.kind
    if kind is Kind.SELECT_MULTIPLE:
        return _many(question, text, language)
    if kind is Kind.RATING:
        return _number(question, _out_of_the_top(question, text), whole=True)
    if question.is_choice:
        found = match_choice(question, text, language)
        return Accepted(found.value) if isinstance(found, Choice) else found
    if kind is Kind.INTEGER:
        return _number(question, text, whole=True)
    if kind is Kind.DECIMAL:
        return _number(question, text, whole=False)
    if kind is Kind.DATE:
        return _date(text)
    if question.max_length is not None and len(text) > question.max_length:
        return Refused(Reason.TOO_LONG, {"max_length": question.max_length, "length": len(text)})
    return Accepted(text)


def read_pick(question: Question, values: tuple[str, ...]) -> Reading:
    """Read exact choice values from a button or a form field."""
    if not question.is_choice and question.kind is not Kind.RATING:
        return Refused(Reason.NOT_APPLICABLE)
    unknown = [v for v in values if question.choice(v) is None]
    if unknown:
        return Refused(Reason.NOT_A_CHOICE, {"text": unknown[0]})
    if question.kind is Kind.SELECT_MULTIPLE:
        return _selection(question, set(values))
    if not values:
        return Accepted(None)
    if len(values) > 1:
        return Refused(Reason.ONE_CHOICE_ONLY)
    if question.kind is Kind.RATING:
        return Accepted(int(values[0]))
    return Accepted(values[0])


def as_shown(question: Question, value: AnswerValue | list[str], language: str, default_language: str) -> str:
    """An answer as the participant saw it: choices by their labels, in their language, anything else as given.

    >>> from surveys.text import Text
    >>> colours = Question("c", Kind.SELECT_MULTIPLE, Text({"en": "Colours?"}),
    ...                    choices=(Choice("r", Text({"en": "Red"})), Choice("g", Text({"en": "Green"}))))
    >>> as_shown(colours, ("r", "g"), "en", "en")
    'Red, Green'
    """
    picked = value if isinstance(value, tuple | list) else (value,)
    labels = {c.value: c.label.get(language, default_language) for c in question.choices}
    return ", ".join(labels.get(str(v), str(v)) for v in picked)


def match_choice(question: Question, text: str, language: str) -> Choice | Refused:
    """Find the one choice a typed word means: its number, value or label (in any language), a unique prefix,
    or failing that a unique word in a label ("green" for "Parks and green spaces")."""
    wanted = normalise(text)
    choices = question.choices
    if wanted.isdecimal() and 1 <= int(wanted) <= len(choices):
        return choices[int(wanted) - 1]
    named = _named(question, wanted, language)
    if named is not None:
        return named
    starting = [c for c in choices if any(label.startswith(wanted) for label in _labels(c, language))]
    if not starting and len(wanted) >= MIN_WORD_MATCH:
        starting = [c for c in choices if any(_has_word(label, wanted) for label in _labels(c, language))]
    if len(starting) == 1:
        return starting[0]
    if starting:
        options = " / ".join(c.label.get(language, language) for c in starting)
        return Refused(Reason.AMBIGUOUS_CHOICE, {"text": text, "options": options})
    return Refused(Reason.NOT_A_CHOICE, {"text": text})


def names_a_choice(question: Question, text: str, language: str) -> bool:
    """Whether the words are one of the question's choices as _named reads them: not by a number, a prefix or a
    word of a label, which words meant for something else can be ("back" for "Back garden")."""
    return _named(question, normalise(text), language) is not None


def _named(question: Question, wanted: str, language: str) -> Choice | None:
    """The choice normalised words are: its value, its label in any language, or what people type for it
    ("yeah", "dunno")."""
    choices = question.choices
    for choice in choices:
        if wanted == choice.value.casefold() or wanted in _labels(choice, language):
            return choice
    for words in _IN_EVERY_LANGUAGE.get(question.kind, ()):
        for meaning, said in zip(choices, words, strict=False):
            if wanted in _labels(said, language):
                return meaning
    said_so = {**_SAID.get(question.kind, {}), **_SAID_DONT_KNOW}
    for choice in choices:
        if wanted in said_so.get(choice.value, ()):
            return choice
    return None


def unlisted(question: Question, text: str, language: str) -> bool:
    """Whether typed words name none of the question's choices, not even by a slip of the thumb.

    At a question offering "other", "potholes" is the participant's own answer,
    where "housng" is "Housing and repairs" mistyped, "housing, potholes"
    names one of the choices, and "none" or "dunno" names nothing: those are
    asked about again.
    """
    parts = _parts(text) if question.kind is Kind.SELECT_MULTIPLE else [text]
    return all(_names_nothing(question, part, language) for part in parts)


def _names_nothing(question: Question, part: str, language: str) -> bool:
    if normalise(part) in _NOT_THEIR_OWN:
        return False
    found = match_choice(question, part, language)
    if not isinstance(found, Refused) or found.reason is not Reason.NOT_A_CHOICE:
        return False
    labels = [label for choice in question.choices for label in _labels(choice, language)]
    words = {*labels, *(word for label in labels for word in label.split())}
    return not get_close_matches(normalise(part), words, n=1, cutoff=NEAR_MISS)


def _has_word(label: str, wanted: str) -> bool:
    """'green' finds 'parks and green spaces': a word of the label starts with what was typed."""
    return any(word.startswith(wanted) for word in label.split())


def _labels(choice: Choice, language: str) -> list[str]:
    first = choice.label.translations.get(language)
    rest = [v for k, v in choice.label.translations.items() if k != language]
    return [_normalised_label(label) for label in ([first] if first else []) + rest]


@lru_cache(maxsize=LABELS)
def _normalised_label(label: str) -> str:
    """Labels are few and read with every typed word: normalised anew each time, they made reading "very sat"
    at a likert question take 164 us, and 29 us kept."""
    return normalise(label)


def _parts(text: str) -> list[str]:
    """The choices typed at a multiple choice: "1, 3", "roof and damp", or numbers with spaces, "1 3"."""
    parts = [p for p in _SEPARATORS.split(text) if p]
    if len(parts) == 1 and all(word.isdecimal() for word in text.split()):
        return text.split()
    return parts


def _many(question: Question, text: str, language: str) -> Reading:
    parts = _parts(text)
    chosen: set[str] = set()
    for part in parts:
        found = match_choice(question, part, language)
        if isinstance(found, Refused):
            return found
        chosen.add(found.value)
    return _selection(question, chosen)


def _selection(question: Question, chosen: set[str]) -> Reading:
    if not chosen:
        return Accepted(None)
    if question.minimum is not None and len(chosen) < question.minimum:
        return Refused(Reason.TOO_FEW_CHOICES, {"minimum": int(question.minimum)})
    if question.maximum is not None and len(chosen) > question.maximum:
        return Refused(Reason.TOO_MANY_CHOICES, {"maximum": int(question.maximum)})
    return Accepted(tuple(c.value for c in question.choices if c.value in chosen))


def _out_of_the_top(question: Question, text: str) -> str:
    """'7/10', '7 out of 10' or '7 na 10' as 7, when 10 is the top of the rating asked."""
    found = _OUT_OF.fullmatch(text.strip())
    if found is None or question.maximum is None or int(found["top"]) != int(question.maximum):
        return text
    return found["score"]


def _without_currency(text: str) -> str:
    """'£95.50', '€ 1,250' and '95 zł' as numbers: people answer a question about money with its sign."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "Sc").strip()
    lowered = kept.casefold()
    for word in CURRENCY_WORDS:
        if lowered.endswith(word):
            return kept[: -len(word)]
        if lowered.startswith(word):
            return kept[len(word) :]
    return kept


def _number(question: Question, text: str, whole: bool) -> Reading:
    spoken = _NUMBER_WORDS.get(normalise(text))
    cleaned = str(spoken) if spoken is not None else _without_currency(text).replace(" ", "")
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    elif not whole and re.fullmatch(r"[+-]?\d+,\d+", cleaned):
        cleaned = cleaned.replace(",", ".")
    if whole and re.fullmatch(rf"[+-]?\d{{1,{MOST_DIGITS}}}", cleaned):
        value: float = int(cleaned)
    elif not whole and re.fullmatch(rf"[+-]?(\d{{1,{MOST_DIGITS}}}(\.\d*)?|\.\d+)", cleaned):
        value = float(cleaned)
    elif whole and re.fullmatch(r"[+-]?\d+\.\d+", cleaned):
        return Refused(Reason.NOT_A_WHOLE_NUMBER, {"text": text})
    else:
        return Refused(Reason.NOT_A_NUMBER, {"text": text})
    if question.minimum is not None and value < question.minimum:
        return Refused(Reason.BELOW_MINIMUM, {"minimum": question.minimum})
    if question.maximum is not None and value > question.maximum:
        return Refused(Reason.ABOVE_MAXIMUM, {"maximum": question.maximum})
    return Accepted(value)


def _date(text: str) -> Reading:
    for pattern in DATE_FORMATS:
        try:
            return Accepted(datetime.strptime(text, pattern).date().isoformat())
        except ValueError:
            continue
    return Refused(Reason.NOT_A_DATE, {"text": text})
