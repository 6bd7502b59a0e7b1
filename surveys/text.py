"""Translatable text: every label, hint and message a participant may read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """Text in one or more languages, keyed by language code ("en", "pl", "ur").

    >>> Text({"en": "Yes", "pl": "Tak"}).get("pl", "en")
    'Tak'
    >>> Text({"en": "Yes"}).get("ur", "en")   # a missing translation falls back
    'Yes'
    """

    translations: Mapping[str, str]

    def get(self, language: str, default_language: str) -> str:
        found = self.translations.get(language) or self.translations.get(default_language)
        if found is not None:
            return found
        return next(iter(self.translations.values()), "")

    @classmethod
    def plain(cls, text: str, language: str) -> Text:
        return cls({language: text})

    def languages(self) -> frozenset[str]:
        return frozenset(self.translations)
