"""Chorus's own words: every message translated in every shipped catalog, placeholders intact."""

from __future__ import annotations

import re
import string

import pytest

from bot import messages as m
from bot.i18n import _catalog, languages, translate

ALL_MESSAGES = [
    *m.REFUSALS.values(),
    *m.COMMANDS.values(),
    *(value for name, value in vars(m).items() if name.isupper() and isinstance(value, str)),
]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [code for code in languages() if code != "en"])
def test_every_message_has_a_translation_with_the_same_placeholders(language: str) -> None:
    catalog = _catalog(language)
    missing = [message for message in ALL_MESSAGES if message not in catalog]
    assert missing == []
    for message in ALL_MESSAGES:
        assert fields(catalog[message]) == fields(message), message
        assert translate(language, message) != message or message.startswith("/"), message


def test_languages_are_english_polish_and_urdu() -> None:
    assert languages() == ("en", "pl", "ur")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert m.say("xx", m.SKIP) == "Skip"
    assert m.say("pl", m.LANGUAGE_SET, language="Polski") == "Zmieniono język na Polski."
    assert re.search(r"[\u0600-\u06ff]", m.say("ur", m.HELP))
