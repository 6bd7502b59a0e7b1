"""Answer scales and words every survey shares, in English, Polish and Urdu.

The satisfaction and agreement scales use the Tenant Satisfaction Measures
wording (../shared/reference/tsm.md), so any likert question reads as the
regulator's questions do. Scores run 5 (best) to 1; "don't know" has none.
"""

from __future__ import annotations

from surveys.model import Choice
from surveys.text import Text

_SATISFACTION = (
    ("very_satisfied", 5, "Very satisfied", "Bardzo zadowolony", "بہت مطمئن"),
    ("fairly_satisfied", 4, "Fairly satisfied", "Raczej zadowolony", "کافی حد تک مطمئن"),
    (
        "neither",
        3,
        "Neither satisfied nor dissatisfied",
        "Ani zadowolony, ani niezadowolony",
        "نہ مطمئن نہ غیر مطمئن",
    ),
    ("fairly_dissatisfied", 2, "Fairly dissatisfied", "Raczej niezadowolony", "کافی حد تک غیر مطمئن"),
    ("very_dissatisfied", 1, "Very dissatisfied", "Bardzo niezadowolony", "بہت غیر مطمئن"),
)
_AGREEMENT = (
    ("strongly_agree", 5, "Strongly agree", "Zdecydowanie się zgadzam", "پوری طرح متفق"),
    ("agree", 4, "Agree", "Zgadzam się", "متفق"),
    ("neither", 3, "Neither agree nor disagree", "Ani się zgadzam, ani nie zgadzam", "نہ متفق نہ غیر متفق"),
    ("disagree", 2, "Disagree", "Nie zgadzam się", "غیر متفق"),
    ("strongly_disagree", 1, "Strongly disagree", "Zdecydowanie się nie zgadzam", "پوری طرح غیر متفق"),
)


def _text(en: str, pl: str, ur: str) -> Text:
    return Text({"en": en, "pl": pl, "ur": ur})


def _scale(rows: tuple[tuple[str, int, str, str, str], ...]) -> tuple[Choice, ...]:
    return tuple(Choice(value, _text(en, pl, ur), score) for value, score, en, pl, ur in rows)


SCALES: dict[str, tuple[Choice, ...]] = {
    "satisfaction": _scale(_SATISFACTION),
    "agreement": _scale(_AGREEMENT),
}
DONT_KNOW = Choice(
    "dont_know", _text("Don't know / not applicable", "Nie wiem / nie dotyczy", "معلوم نہیں / لاگو نہیں")
)
YES_NO = (
    Choice("yes", _text("Yes", "Tak", "جی ہاں")),
    Choice("no", _text("No", "Nie", "نہیں")),
)
CONSENT = (
    Choice("agree", _text("I agree", "Zgadzam się", "میں متفق ہوں")),
    Choice("decline", _text("I do not agree", "Nie zgadzam się", "میں متفق نہیں ہوں")),
)
# What people type in a chat for yes and no besides the words above: English as it is spoken here, Polish, and Urdu
# in its own script and in Latin letters, as many Urdu speakers type on a phone. Whole answers only, after
# surveys.answers.normalise; a typed choice is read back above the next question, so a misreading can be undone
# with /back.
_THUMBS = ("", "\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff")  # and their skin tones
SAID_YES = frozenset(
    {
        *("yeah", "yea", "yeh", "yep", "yup", "ya", "yah", "aye", "yes please", "sure", "of course", "definitely"),
        *("certainly", "absolutely", "correct"),
        *("jasne", "oczywiście", "pewnie", "raczej tak"),
        *("ہاں", "جی", "haan", "han", "haa", "ji", "jee", "ji haan", "jee haan"),
        *(f"\U0001f44d{tone}" for tone in _THUMBS),
    }
)
SAID_NO = frozenset(
    {
        *("nope", "nah", "naw", "no thanks", "no thank you", "not really", "not at all", "never"),
        *("nie dziękuję", "raczej nie"),
        *("جی نہیں", "nahi", "nahin", "nai", "ji nahi", "ji nahin", "jee nahi"),
        *(f"\U0001f44e{tone}" for tone in _THUMBS),
    }
)
SAID_DONT_KNOW = frozenset(
    {
        *("dunno", "idk", "not sure", "no idea", "n/a", "not applicable", "doesnt apply"),
        *("nie mam pojęcia", "nie jestem pewien", "nie jestem pewna", "nie dotyczy"),
        *("پتا نہیں", "pata nahi", "pata nahin", "maloom nahi", "maloom nahin"),
    }
)
# Words that answer a choice without naming anything: at a question offering "other", asked about again rather than
# kept as what "other" was ("none" is not a neighbourhood's problem of its own).
SAID_NONE_OR_ALL = frozenset(
    {
        *("none", "nothing", "no one", "neither", "none of them", "none of these", "nothing else"),
        *("all", "everything", "both", "all of them", "all of these", "any", "anything"),
        *("nic", "żaden", "żadne", "żadna", "wszystko", "wszystkie", "oba", "obie"),
        *("کچھ نہیں", "کوئی نہیں", "سب", "kuch nahi", "kuch nahin", "koi nahi", "sab"),
    }
)
SAID_AGREE = SAID_YES | {"ok", "okay", "fine", "happy to", "go ahead", "dobrze", "zgoda", "ٹھیک ہے", "theek hai"}
OTHER = Choice("other", _text("Other", "Inne", "دیگر"))
OTHER_PROMPT = _text("Please type your answer", "Proszę wpisać swoją odpowiedź", "براہ کرم اپنا جواب لکھیں")


def only(text: Text, languages: tuple[str, ...]) -> Text:
    """Keep the translations a survey offers, so a built-in word never adds a language.

    A survey in a language Chorus does not ship gets English here; its author
    can give the words in their own choice list.
    """
    kept = {lang: words for lang, words in text.translations.items() if lang in languages}
    return Text(kept or {languages[0]: text.translations["en"]})


def localised(choices: tuple[Choice, ...], languages: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(c.value, only(c.label, languages), c.score) for c in choices)


# Whole numbers as people type them in words, up to twenty (a rating's top is ten; a household's size rarely more):
# English, Polish (each form of one and two), and Urdu in its script and in Latin letters. Only where a number is
# asked, and only whole answers, after surveys.answers.normalise: "seven" for 7, never "seven or eight".
def _counting(*words: str, start: int = 0) -> dict[str, int]:
    return {word: number for number, word in enumerate(words, start=start)}


NUMBER_WORDS: dict[str, int] = {
    **_counting("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    **_counting("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", start=11),
    **_counting("eighteen", "nineteen", "twenty", start=18),
    **{"nought": 0, "nil": 0},
    **_counting("zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć", "dziesięć"),
    **_counting("jedenaście", "dwanaście", "trzynaście", "czternaście", "piętnaście", "szesnaście", start=11),
    **_counting("siedemnaście", "osiemnaście", "dziewiętnaście", "dwadzieścia", start=17),
    **{"jedna": 1, "jedno": 1, "dwie": 2},
    **_counting("صفر", "ایک", "دو", "تین", "چار", "پانچ", "چھ", "سات", "آٹھ", "نو", "دس"),
    **_counting("sifar", "ek", "do", "teen", "char", "paanch", "chhe", "saat", "aath", "nau", "das"),
    **{"panch": 5, "chay": 6, "chheh": 6, "gyarah": 11, "barah": 12, "bees": 20},
}
