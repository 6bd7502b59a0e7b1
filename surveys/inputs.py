"""What a participant can do at any point, whatever the channel: the engine's inputs.

`question_id`, when a channel knows it (a button press, a web form), lets the
engine tell a stale press on an old question from an answer to the current one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """Typed text: matched forgivingly against choices, parsed for numbers and dates."""

    text: str
    question_id: str | None = None


@dataclass(frozen=True)
class Pick:
    """Exact choice values, from a button or a web form."""

    values: tuple[str, ...]
    question_id: str | None = None


@dataclass(frozen=True)
class Toggle:
    """Select or unselect one value of a multiple-choice question before answering with Done."""

    value: str
    question_id: str | None = None


@dataclass(frozen=True)
class Done:
    """Answer a multiple-choice question with what has been toggled so far."""

    question_id: str | None = None


@dataclass(frozen=True)
class Skip:
    question_id: str | None = None


@dataclass(frozen=True)
class Back:
    question_id: str | None = None


@dataclass(frozen=True)
class ChangeLanguage:
    language: str


Input = Reply | Pick | Toggle | Done | Skip | Back | ChangeLanguage
