"""Rendering engine outputs for Telegram: escaped text, keyboards within Telegram's limits, long text split."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.callbacks import MAX_BYTES, AnswerButton, ForgetButton, LanguageButton, decode, encode
from bot.telegram.render import LIMIT, render, split
from surveys.engine import start, step
from surveys.inputs import Reply
from tests.conftest import survey_of
from tests.fake_telegram import html_error

SURVEY = survey_of(
    """
    id: render
    title: Render
    questions:
      - {id: q, type: select_one, label: "Is 3 < 5 & <b>bold</b>?", hint: "<i>hint</i>", choices: [{value: a, label: "<A>"}, {value: b, label: B}]}
      - {id: nps, type: rating, label: "Recommend?"}
    """
)


def test_participant_visible_words_never_become_markup() -> None:
    _, outputs = start(SURVEY)
    [message] = render(SURVEY, outputs, "en")
    assert message.text == "<b>Is 3 &lt; 5 &amp; &lt;b&gt;bold&lt;/b&gt;?</b>\n<i>&lt;i&gt;hint&lt;/i&gt;</i>"
    assert html_error(message.text) is None
    assert message.keyboard is not None
    labels = [button["text"] for row in message.keyboard["inline_keyboard"] for button in row]
    assert labels == ["<A>", "B", "Skip"]


def test_a_refusal_quotes_a_long_or_many_lined_answer_short_and_on_one_line() -> None:
    state, _ = start(SURVEY)
    pasted = "Repairs\n\nnever" + "x" * 5_000  # two words: a slip, not a comment to keep (see the next test)
    _, outputs = step(SURVEY, state, Reply(pasted))
    [message] = render(SURVEY, outputs, "en")
    quote = message.text.split("\u201c")[1].split("\u201d")[0]
    assert message.text.startswith("Sorry, \u201cRepairs neverxxx")
    assert len(quote) == 60 and quote.endswith("\u2026")
    _, outputs = step(SURVEY, state, Reply("maybe"))
    assert render(SURVEY, outputs, "en")[0].text.startswith("Sorry, \u201cmaybe\u201d is not one of the options")


def test_a_sentence_at_a_choice_is_thanked_for_as_a_comment_in_the_participants_language() -> None:
    state, _ = start(SURVEY)
    _, outputs = step(SURVEY, state, Reply("The repairs <never> come"))
    [message] = render(SURVEY, outputs, "en")
    assert message.text == (
        "Thank you, we have kept what you wrote as a comment on this question. "
        "Please also choose one of the answers above."
    )
    assert message.keyboard is None
    [polish] = render(SURVEY, outputs, "pl")
    assert polish.text.startswith("Dziękujemy, Twój komentarz")


def test_a_comment_at_a_number_or_a_date_asks_for_one_as_well() -> None:
    survey = survey_of(
        "id: nd\ntitle: ND\nquestions:\n  - {id: n, type: integer, label: N}\n  - {id: d, type: date, label: D}\n"
    )
    state, _ = start(survey)
    state, outputs = step(survey, state, Reply("it depends on the week"))
    assert render(survey, outputs, "en")[0].text.endswith("Please also answer it with a number.")
    state, _ = step(survey, state, Reply("3"))
    _, outputs = step(survey, state, Reply("a while ago now"))
    assert render(survey, outputs, "ur")[0].text.endswith("جیسے 31/12/2025۔")


LONG_TEXT = st.lists(st.text(min_size=1, max_size=300).filter(str.strip), min_size=1, max_size=120).map(
    lambda words: " \n ".join(words)
)


@given(st.one_of(st.text(min_size=1, max_size=9_000), LONG_TEXT))
def test_split_keeps_every_part_within_the_limit_and_loses_nothing_but_breaks(text: str) -> None:
    parts = split(text)
    assert all(len(part) <= LIMIT for part in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)
    if len(text) > LIMIT and text.strip():
        assert len(parts) >= 2


SMALL_LIMIT = 200  # as Telegram's 4,096, with examples small enough to search well
HTML_LINES = st.lists(
    st.lists(st.text(st.characters(blacklist_characters="<>\n "), min_size=1, max_size=12), min_size=1, max_size=12)
    .map(" ".join)
    .filter(lambda line: len(line) < SMALL_LIMIT // 2 - 7)
    .map(lambda line: f"<i>{line}</i>"),
    min_size=1,
    max_size=30,
).map("\n".join)


@given(HTML_LINES)
def test_split_never_cuts_a_line_shorter_than_half_the_limit(text: str) -> None:
    """Its HTML tags stay together, so Telegram can read every part."""
    for part in split(text, SMALL_LIMIT):
        assert len(part) <= SMALL_LIMIT
        assert part.count("<i>") == part.count("</i>"), part


@given(
    st.one_of(
        st.builds(
            AnswerButton,
            st.text("0123456789abcdef", min_size=16, max_size=16),
            st.integers(0, 9999),
            st.sampled_from("ptdbs"),
            st.integers(-1, 999),
        ),
        st.builds(LanguageButton, st.sampled_from(["en", "pl", "ur", "zh-hant"])),
        st.builds(ForgetButton, st.booleans()),
    )
)
def test_callback_data_fits_telegrams_64_bytes_and_round_trips(button: object) -> None:
    data = encode(button)  # type: ignore[arg-type]
    assert len(data.encode()) <= MAX_BYTES
    decoded = decode(data)
    if isinstance(button, AnswerButton):
        assert decoded == AnswerButton(button.version[:8], button.position, button.action, button.choice)
    else:
        assert decoded == button


def test_foreign_callback_data_is_not_understood() -> None:
    assert decode("something else") is None
    assert decode("a|x|notanumber|p|1") is None
