"""A participant's place in a survey, as a plain value that storage can save and any worker can resume.

The state names the survey version it started on: answers are always read
against the exact questions that were asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from surveys.errors import StateError

AnswerValue = str | int | float | tuple[str, ...] | None


class Status(StrEnum):
    ANSWERING = "answering"
    COMPLETED = "completed"
    DECLINED = "declined"


@dataclass(frozen=True)
class State:
    """`history` is the stack of questions answered or skipped, in order; `answers` holds exactly those.

    `notes` holds what was typed at a question that wanted a choice, a number or a
    date, kept as a comment on it ("the repairs take months"), answered yet or not:
    going back past a question keeps its comment, as it keeps the words.

    `earlier` is the answer the current question had before /back took it away,
    shown with it ("Your answer before: ...") until it is answered again: after a
    change of language, or on coming back to the survey days later, too.
    """

    survey_id: str
    version: str
    language: str
    status: Status = Status.ANSWERING
    current: str | None = None
    history: tuple[str, ...] = ()
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
    draft: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    earlier: AnswerValue = None

    def with_answer(self, question_id: str, value: AnswerValue) -> State:
        return replace(
            self,
            answers={**self.answers, question_id: value},
            history=(*self.history, question_id),
            draft=(),
            earlier=None,
        )

    def with_note(self, question_id: str, text: str) -> State:
        """A further comment on the same question goes under the first, so nothing typed is lost."""
        earlier = self.notes.get(question_id)
        return replace(self, notes={**self.notes, question_id: f"{earlier}\n\n{text}" if earlier else text})

    def to_json(self) -> dict[str, Any]:
        saved: dict[str, Any] = {
            "survey": self.survey_id,
            "version": self.version,
            "language": self.language,
            "status": self.status.value,
            "current": self.current,
            "history": list(self.history),
            "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in self.answers.items()},
            "draft": list(self.draft),
        }
        if self.notes:  # most states have none: every answer saves the state, so none is written
            saved["notes"] = dict(self.notes)
        if self.earlier is not None:
            saved["earlier"] = list(self.earlier) if isinstance(self.earlier, tuple) else self.earlier
        return saved

    @classmethod
    def from_json(cls, data: Any) -> State:
        """Rebuild a saved state; raises StateError when it is damaged rather than resuming wrongly.

        A state saved before comments were kept has no `notes`, and resumes with
        none; one saved before `earlier` was kept resumes with none.
        """
        try:
            answers = {str(k): _answer(v) for k, v in data["answers"].items()}
            state = cls(
                survey_id=_text(data["survey"]),
                version=_text(data["version"]),
                language=_text(data["language"]),
                status=Status(data["status"]),
                current=None if data["current"] is None else _text(data["current"]),
                history=tuple(_text(x) for x in data["history"]),
                answers=answers,
                draft=tuple(_text(x) for x in data["draft"]),
                notes=_notes(data.get("notes")),
                earlier=_answer(data.get("earlier")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateError(f"the saved survey state is damaged: {error!r}") from None
        if set(state.answers) != set(state.history):
            raise StateError("the saved survey state is damaged: answers do not match the questions answered")
        return state


def _notes(value: Any) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in value.items()} if value else {}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _answer(value: Any) -> AnswerValue:
    if isinstance(value, list):
        return tuple(_text(v) for v in value)
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise TypeError(f"unexpected answer {value!r}")
