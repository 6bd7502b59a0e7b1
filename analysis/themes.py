"""Themes in free text from a codebook: named themes with word and phrase patterns, several per answer.

Chorus ships a codebook for council and housing services and one for staff of
mutuals (analysis/codebooks/); a deployment can bring its own YAML file.

    >>> codebook = load_codebook("council-housing")
    >>> themes_of("Still waiting for the damp in the bedroom to be fixed", codebook)
    ('repairs and maintenance', 'damp and mould', 'access and waiting times')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from analysis.errors import CodebookError

CODEBOOKS = Path(__file__).parent / "codebooks"


@dataclass(frozen=True)
class Theme:
    name: str
    description: str
    alternatives: tuple[str, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        return _pattern(self.alternatives)


@dataclass(frozen=True)
class Codebook:
    """Themes, and one regex of every pattern so a text is scanned once whatever the number of themes."""

    name: str
    themes: tuple[Theme, ...]
    scan: re.Pattern[str] = field(init=False, compare=False)
    _found: dict[str, frozenset[int]] = field(init=False, compare=False, default_factory=dict)
    _exact: tuple[re.Pattern[str], ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        alternatives = sorted({alt for theme in self.themes for alt in theme.alternatives}, key=len, reverse=True)
        object.__setattr__(self, "scan", re.compile(r"\b(?:" + "|".join(alternatives) + r")\b"))
        object.__setattr__(self, "_exact", tuple(theme.pattern for theme in self.themes))

    def themes_in(self, lowered: str) -> frozenset[int]:
        """Indexes of the themes whose patterns occur; each distinct matched word is resolved once."""
        found: set[int] = set()
        for match in self.scan.finditer(lowered):
            word = match.group(0)
            if word not in self._found:
                self._found[word] = frozenset(i for i, exact in enumerate(self._exact) if exact.fullmatch(word))
            found |= self._found[word]
        return frozenset(found)


def _alternatives(words: list[str]) -> tuple[str, ...]:
    """`repair*` -> `repair\\w*`; `hot water` -> `hot\\s+water`: regex pieces over lower-case text."""
    return tuple(
        re.escape(word.lower().rstrip("*")).replace(r"\ ", r"\s+") + (r"\w*" if word.endswith("*") else "")
        for word in words
    )


@cache
def _pattern(alternatives: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


def builtin_codebooks() -> list[str]:
    return sorted(path.stem for path in CODEBOOKS.glob("*.yaml"))


@cache
def load_codebook(name_or_path: str) -> Codebook:
    """A built-in codebook by name, or a YAML file; raises CodebookError naming the file and the problem."""
    path = CODEBOOKS / f"{name_or_path}.yaml" if name_or_path in builtin_codebooks() else Path(name_or_path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        known = ", ".join(builtin_codebooks())
        raise CodebookError(f"{name_or_path}: no such codebook file, and not a built-in one ({known})") from error
    except yaml.YAMLError as error:
        raise CodebookError(f"{path.name}: this is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("themes"), list):
        raise CodebookError(f"{path.name}: a codebook needs a name and a list of themes")
    themes = []
    for number, entry in enumerate(document["themes"], start=1):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("patterns"):
            raise CodebookError(f"{path.name}: theme {number} needs a name and a list of patterns")
        words = [str(word) for word in entry["patterns"]]
        themes.append(Theme(str(entry["name"]), str(entry.get("description", "")), _alternatives(words)))
    return Codebook(str(document.get("name", path.stem)), tuple(themes))


def themes_of(text: str, codebook: Codebook) -> tuple[str, ...]:
    """Every theme whose patterns occur in the text, in codebook order."""
    found = codebook.themes_in(text.lower())
    return tuple(theme.name for index, theme in enumerate(codebook.themes) if index in found)
