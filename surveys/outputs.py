"""What the engine asks a channel to show: plain records in the participant's language.

Channels render these (buttons in Telegram, a form on the web, lines in the
terminal preview); the words for a refusal come from the channel's own catalog,
keyed by `Reason`, unless the survey's author wrote a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from surveys.model import Kind
from surveys.state import AnswerValue


class Reason(StrEnum):
    REQUIRED = "required"
    NOT_A_CHOICE = "not_a_choice"
    AMBIGUOUS_CHOICE = "ambiguous_choice"
    TOO_FEW_CHOICES = "too_few_choices"
    TOO_MANY_CHOICES = "too_many_choices"
    ONE_CHOICE_ONLY = "one_choice_only"
    NOT_A_NUMBER = "not_a_number"
    NOT_A_WHOLE_NUMBER = "not_a_whole_number"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    NOT_A_DATE = "not_a_date"
    TOO_LONG = "too_long"
    CONSTRAINT = "constraint"
    CANNOT_GO_BACK = "cannot_go_back"
    STALE = "stale"
    FINISHED = "finished"
    UNKNOWN_LANGUAGE = "unknown_language"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class ChoiceView:
    """One choice as offered. `position` is its place among all the question's choices, offered or not:
    what a button names, so a button shown before the offer narrowed still means the choice it showed."""

    value: str
    label: str
    selected: bool = False
    position: int = 0


@dataclass(frozen=True)
class ShowText:
    """Text with nothing to answer: the survey's introduction or a note question."""

    text: str
    question_id: str | None = None


@dataclass(frozen=True)
class AskQuestion:
    question_id: str
    kind: Kind
    text: str
    hint: str | None
    choices: tuple[ChoiceView, ...]
    required: bool
    can_go_back: bool
    notice: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    previous: AnswerValue = None
    number: int = 1
    progress: float = 0.0


@dataclass(frozen=True)
class Rejected:
    """The input could not be used; the state is unchanged and the same question stands."""

    reason: Reason
    question_id: str | None = None
    message: str | None = None
    params: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class Noted:
    """What was typed at a question that wants a choice, a number or a date was kept as a comment on it; the
    question still wants its answer, of its `kind`. A resident who writes "the repairs take months" at a
    scale has said something worth reading, not made a mistake."""

    question_id: str
    kind: Kind


@dataclass(frozen=True)
class Completed:
    """The end: `declined` when consent was refused (nothing but that refusal is kept)."""

    text: str | None
    declined: bool = False


Output = ShowText | AskQuestion | Rejected | Noted | Completed
