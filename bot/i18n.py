"""Chorus's own words in the participant's language, from gettext catalogs (bot/locale/LANG/LC_MESSAGES/chorus.po).

Catalogs are read with Babel once per process. A message missing from a
catalog is said in English rather than not at all; a test keeps the shipped
catalogs complete.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE = Path(__file__).parent / "locale"
DOMAIN = "chorus"


def catalog_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """English and every language with a catalog, e.g. ('en', 'pl', 'ur')."""
    return ("en", *sorted(p.name for p in LOCALE.iterdir() if catalog_path(p.name).is_file()))


@cache
def _catalog(language: str) -> dict[str, str]:
    path = catalog_path(language)
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def translate(language: str, message: str) -> str:
    return _catalog(language).get(message, message)


def supported(code: str | None) -> str:
    """The language Chorus speaks to someone whose app is set to `code`, e.g. 'pl-PL' -> 'pl', 'fr' -> 'en'."""
    short = (code or "en").split("-")[0].lower()
    return short if short in languages() else "en"
