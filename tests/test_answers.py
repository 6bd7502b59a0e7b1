"""Reading what people type on phones: forgiving where it is safe, asking again where it is not."""

from __future__ import annotations

import pytest

from surveys.answers import Accepted, Refused, read_pick, read_text
from surveys.model import Question
from surveys.outputs import Reason
from tests.conftest import survey_of

SURVEY = survey_of(
    """
    id: answers
    title: Answers
    languages: [en, pl]
    questions:
      - {id: sat, type: likert, label: Sat, dont_know: true}
      - id: colour
        type: select_one
        label: Colour
        choices:
          - {value: red, label: {en: Red, pl: Czerwony}}
          - {value: green, label: Green}
          - {value: grey, label: Grey}
          - {value: yellow, label: {en: Yellow, pl: Żółty}}
      - id: many
        type: select_multiple
        label: Many
        max: 2
        choices: [{value: bus, label: Bus}, {value: tram, label: Tram}, {value: bike, label: Bike}]
      - {id: yn, type: yes_no, label: YN}
      - {id: ok, type: consent, label: OK, notice: N}
      - {id: nps, type: rating, label: NPS}
      - {id: rooms, type: integer, label: Rooms, min: 1, max: 20}
      - {id: rent, type: decimal, label: Rent}
      - {id: day, type: date, label: Day}
      - {id: words, type: text, label: Words, max_length: 10}
    """
)


def question(question_id: str) -> Question:
    found = SURVEY.question(question_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("question_id", "typed", "expected"),
    [
        ("sat", "Very satisfied", "very_satisfied"),
        ("sat", "  very   SATISFIED! ", "very_satisfied"),
        ("sat", "very sat", "very_satisfied"),
        ("sat", "2", "fairly_satisfied"),
        ("sat", "neither", "neither"),
        ("sat", "don't", "dont_know"),
        ("sat", "very_dissatisfied", "very_dissatisfied"),
        ("colour", "red", "red"),
        ("colour", "czerwony", "red"),
        ("colour", "GREE", "green"),
        ("colour", "3", "grey"),
        ("yn", "y", "yes"),
        ("yn", "No.", "no"),
        ("ok", "yes", "agree"),
        ("ok", "I agree", "agree"),
        ("ok", "no", "decline"),
        ("nps", "7", 7),
        ("nps", "0", 0),
        ("nps", "7/10", 7),
        ("nps", "8 out of 10", 8),
        ("nps", "9 na 10", 9),
        ("nps", "Seven", 7),
        ("nps", "dziesięć", 10),
        ("nps", "dziesiec", 10),
        ("nps", "\u0633\u0627\u062a", 7),
        ("nps", "saat", 7),
        ("nps", "zero", 0),
        ("many", "bus, bike", ("bus", "bike")),
        ("many", "1 3", ("bus", "bike")),
        ("many", "tram and bus", ("bus", "tram")),
        ("many", "1;1", ("bus",)),
        ("rooms", "3", 3),
        ("rooms", " 12 ", 12),
        ("rooms", "three", 3),
        ("rooms", "dwie", 2),
        ("rent", "95.50", 95.5),
        ("rent", "twelve", 12.0),
        ("rent", "95,50", 95.5),
        ("rent", "1,250.00", 1250.0),
        ("rent", "\u00a395.50", 95.5),
        ("rent", "95 z\u0142", 95.0),
        ("rent", "\u20ac 1,250", 1250.0),
        ("day", "2026-03-29", "2026-03-29"),
        ("day", "29/03/2026", "2026-03-29"),
        ("day", "29 March 2026", "2026-03-29"),
        ("words", "  short  ", "short"),
        ("words", "   ", None),
    ],
)
def test_typed_answers_are_understood(question_id: str, typed: str, expected: object) -> None:
    assert read_text(question(question_id), typed, "en") == Accepted(expected)  # type: ignore[arg-type]


ENGLISH_ONLY = survey_of(
    """
    id: english-only
    title: English only
    questions:
      - {id: yn, type: yes_no, label: YN}
      - {id: ok, type: consent, label: OK, notice: N}
    """
)


@pytest.mark.parametrize(
    ("question_id", "typed", "expected"),
    [
        ("yn", "Yeah!", "yes"),
        ("yn", "yep", "yes"),
        ("yn", "Of course", "yes"),
        ("yn", "\U0001f44d\U0001f3fd", "yes"),
        ("yn", "haan", "yes"),
        ("yn", "jasne", "yes"),
        ("yn", "Nope.", "no"),
        ("yn", "nah", "no"),
        ("yn", "no thanks", "no"),
        ("yn", "nahi", "no"),
        ("yn", "raczej nie", "no"),
        ("ok", "ok", "agree"),
        ("ok", "yeah", "agree"),
        ("ok", "\U0001f44d", "agree"),
        ("ok", "theek hai", "agree"),
        ("ok", "no thank you", "decline"),
        ("sat", "Don\u2019t know", "dont_know"),
        ("sat", "dont know", "dont_know"),
        ("sat", "dunno", "dont_know"),
        ("sat", "Not sure", "dont_know"),
        ("sat", "n/a", "dont_know"),
        ("sat", "pata nahi", "dont_know"),
        ("sat", "Nie mam pojęcia", "dont_know"),
        ("yn", "Oczywiście", "yes"),
        ("yn", "oczywiscie", "yes"),
        ("yn", "nie dziekuje", "no"),
        ("ok", "zgadzam sie", "agree"),
        ("colour", "zolty", "yellow"),
        ("colour", "ŻÓŁTY", "yellow"),
        ("yn", "\u062c\u064a \u06c1\u0627\u06ba", "yes"),  # جی ہاں with an Arabic keyboard's yeh
        ("yn", "\u0646\u0647\u064a\u06ba", "no"),  # نہیں with Arabic heh and yeh
    ],
)
def test_yes_no_and_dont_know_are_read_as_people_type_them_in_a_chat(
    question_id: str, typed: str, expected: str
) -> None:
    assert read_text(question(question_id), typed, "en") == Accepted(expected)


@pytest.mark.parametrize(
    ("question_id", "typed"),
    [("yn", "maybe"), ("yn", "ok"), ("yn", "yes no"), ("ok", "fine?!x"), ("colour", "not sure")],
)
def test_what_is_not_plainly_yes_or_no_is_asked_again(question_id: str, typed: str) -> None:
    """'ok' agrees to take part, but to 'Has your landlord carried out a repair?' it says nothing."""
    assert isinstance(read_text(question(question_id), typed, "en"), Refused)


@pytest.mark.parametrize(
    ("question_id", "typed", "expected"),
    [("yn", "Tak", "yes"), ("yn", "nie", "no"), ("ok", "tak", "agree"), ("ok", "Zgadzam się", "agree")],
)
def test_yes_and_no_are_understood_in_the_residents_language_when_the_survey_is_in_english_only(
    question_id: str, typed: str, expected: str
) -> None:
    """The survey's labels are English only; a resident who chose Polish for the bot types Polish."""
    found = ENGLISH_ONLY.question(question_id)
    assert found is not None
    assert read_text(found, typed, "en") == Accepted(expected)


@pytest.mark.parametrize(
    ("question_id", "typed", "reason", "params"),
    [
        ("colour", "gr", Reason.AMBIGUOUS_CHOICE, {"text": "gr", "options": "Green / Grey"}),
        ("colour", "purple", Reason.NOT_A_CHOICE, {"text": "purple"}),
        ("colour", "9", Reason.NOT_A_CHOICE, {"text": "9"}),
        ("nps", "4/5", Reason.NOT_A_NUMBER, {"text": "4/5"}),
        ("many", "bus, tram, bike", Reason.TOO_MANY_CHOICES, {"maximum": 2}),
        ("many", "bus, boat", Reason.NOT_A_CHOICE, {"text": "boat"}),
        ("nps", "11", Reason.ABOVE_MAXIMUM, {"maximum": 10}),
        ("nps", "seven or eight", Reason.NOT_A_NUMBER, {"text": "seven or eight"}),
        ("nps", "twenty", Reason.ABOVE_MAXIMUM, {"maximum": 10}),
        ("rooms", "0", Reason.BELOW_MINIMUM, {"minimum": 1}),
        ("rooms", "2.5", Reason.NOT_A_WHOLE_NUMBER, {"text": "2.5"}),
        ("rooms", "a few", Reason.NOT_A_NUMBER, {"text": "a few"}),
        ("day", "next tuesday", Reason.NOT_A_DATE, {"text": "next tuesday"}),
        ("day", "31/02/2026", Reason.NOT_A_DATE, {"text": "31/02/2026"}),
        ("words", "far too long for this", Reason.TOO_LONG, {"max_length": 10, "length": 21}),
    ],
)
def test_unusable_answers_say_why(question_id: str, typed: str, reason: Reason, params: dict[str, object]) -> None:
    assert read_text(question(question_id), typed, "en") == Refused(reason, params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("question_id", "values", "expected"),
    [
        ("colour", ("green",), Accepted("green")),
        ("colour", ("green", "red"), Refused(Reason.ONE_CHOICE_ONLY)),
        ("colour", ("blue",), Refused(Reason.NOT_A_CHOICE, {"text": "blue"})),
        ("many", ("bike", "bus"), Accepted(("bus", "bike"))),
        ("many", (), Accepted(None)),
        ("nps", ("9",), Accepted(9)),
        ("rooms", ("3",), Refused(Reason.NOT_APPLICABLE)),
    ],
)
def test_button_presses_must_name_real_choices(question_id: str, values: tuple[str, ...], expected: object) -> None:
    assert read_pick(question(question_id), values) == expected


def test_digits_from_other_scripts_are_numbers_and_superscripts_are_not() -> None:
    assert read_text(question("colour"), "\u06f3", "en") == Accepted("grey")  # Urdu (Extended Arabic-Indic) three
    assert read_text(question("colour"), "\u00b9", "en") == Refused(Reason.NOT_A_CHOICE, {"text": "\u00b9"})
