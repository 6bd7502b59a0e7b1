"""What a survey is: questions, choices, groups and the metadata that schedules it.

Everything is a frozen dataclass built once by a loader and never changed, so an
engine step can trust that the survey it reads is the one the state started on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from surveys.expressions import Expression, parse
from surveys.text import Text


class Kind(StrEnum):
    NOTE = "note"
    SELECT_ONE = "select_one"
    SELECT_MULTIPLE = "select_multiple"
    LIKERT = "likert"
    RATING = "rating"
    YES_NO = "yes_no"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    CONSENT = "consent"


LATER_QUESTION_FIELDS = frozenset({"choices_from"})
CHOICE_KINDS = frozenset({Kind.SELECT_ONE, Kind.SELECT_MULTIPLE, Kind.LIKERT, Kind.YES_NO, Kind.CONSENT})
NUMBER_KINDS = frozenset({Kind.INTEGER, Kind.DECIMAL, Kind.RATING})


class Erasure(StrEnum):
    """What erasing a participant does to their answers, as the survey's notice promised."""

    DELETE = "delete"
    ANONYMISE = "anonymise"


class Audience(StrEnum):
    RESIDENTS = "residents"
    STAFF = "staff"
    BOTH = "both"


@dataclass(frozen=True)
class Choice:
    """One answer option; `score` orders scale points (5 = very satisfied) and is None for "don't know"."""

    value: str
    label: Text
    score: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    label: Text
    hint: Text | None = None
    required: bool = False
    relevant: Expression | None = None
    constraint: Expression | None = None
    constraint_message: Text | None = None
    required_message: Text | None = None
    choices: tuple[Choice, ...] = ()
    choice_list: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    notice: Text | None = None
    other: Text | None = None
    choices_from: str | None = None

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class Group:
    """A section of questions; its relevance skips every question inside it at once."""

    id: str
    label: Text | None
    relevant: Expression | None
    items: tuple[Question | Group, ...]


@dataclass(frozen=True)
class Step:
    """A question in the order it is asked, with the relevance of every group around it."""

    question: Question
    conditions: tuple[Expression, ...]


@dataclass(frozen=True)
class Reminders:
    maximum: int = 2
    every_days: int = 3


@dataclass(frozen=True)
class Metadata:
    """What later parts of Chorus need to run the survey: who it is for, whose it is, when it runs."""

    audience: Audience = Audience.RESIDENTS
    anonymous: bool = False
    organisation: str | None = None
    service: str | None = None
    area: str | None = None
    schedule: str | None = None
    timezone: str | None = None
    reminders: Reminders = field(default_factory=Reminders)
    on_erasure: Erasure = Erasure.DELETE


@dataclass(frozen=True)
class Survey:
    id: str
    title: Text
    default_language: str
    languages: tuple[str, ...]
    items: tuple[Question | Group, ...]
    metadata: Metadata = field(default_factory=Metadata)
    intro: Text | None = None
    thank_you: Text | None = None

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """Every question in asking order; an "other, please say" choice adds its follow-up here."""
        return tuple(_steps(self.items, ()))

    @cached_property
    def _index(self) -> dict[str, int]:
        return {step.question.id: i for i, step in enumerate(self.steps)}

    def position(self, question_id: str) -> int | None:
        return self._index.get(question_id)

    def question(self, question_id: str) -> Question | None:
        position = self._index.get(question_id)
        return None if position is None else self.steps[position].question

    @cached_property
    def version(self) -> str:
        """A content hash: the same survey from YAML or XLSForm has the same version, any change a new one."""
        canonical = json.dumps(_unset_later_fields(asdict(self)), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _unset_later_fields(value: Any) -> Any:
    """The definition as hashed: a field added to Question after surveys were stored counts only once set.

    Stored versions keep their hashes, so importing the same file again finds
    its version and a participant's state still matches the survey it began.
    """
    if isinstance(value, dict):
        return {
            key: _unset_later_fields(item)
            for key, item in value.items()
            if not (key in LATER_QUESTION_FIELDS and item is None)
        }
    if isinstance(value, (list, tuple)):
        return [_unset_later_fields(item) for item in value]
    return value


def other_follow_up(question: Question) -> Question:
    """The free-text question asked after "other" is picked, as ODK's `or_other` does."""
    assert question.other is not None
    return Question(
        id=f"{question.id}_other",
        kind=Kind.TEXT,
        label=question.other,
        required=True,
        relevant=parse(f"selected(${{{question.id}}}, 'other')"),
        max_length=500,
    )


def _steps(items: tuple[Question | Group, ...], conditions: tuple[Expression, ...]) -> Iterator[Step]:
    for item in items:
        if isinstance(item, Group):
            inner = conditions + ((item.relevant,) if item.relevant else ())
            yield from _steps(item.items, inner)
        else:
            yield Step(item, conditions)
            if item.other is not None:
                yield Step(other_follow_up(item), conditions)
