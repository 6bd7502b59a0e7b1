"""A survey as it is stored with its version: every word it asks with spelled out, so it reads back as asked.

A YAML document (surveys.document) names Chorus's built-in words rather than
writing them: `scale: satisfaction`, `other: true`, a yes/no question's Yes
and No. Stored that way, a version read back after a release that mended one of
those words would ask different words and have a different hash, and every
resident part-way through it would be stuck on a state of a version that no
longer matched. A definition holds the words themselves.

    >>> from surveys.loader import survey_from_yaml
    >>> survey = survey_from_yaml("id: s\\ntitle: S\\nquestions: [{id: q, type: yes_no, label: Rent?}]", "s")
    >>> from_definition(to_definition(survey)) == survey
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, TypeVar

from surveys.errors import StateError
from surveys.expressions import Expression, parse
from surveys.model import Audience, Choice, Erasure, Group, Kind, Metadata, Question, Reminders, Survey
from surveys.text import Text

T = TypeVar("T")
FORMAT = 1  # the "definition" key of every stored definition: a YAML document has none


def to_definition(survey: Survey) -> dict[str, Any]:
    encoded = _encoded(survey)
    assert isinstance(encoded, dict)
    return {"definition": FORMAT, **encoded}


def is_definition(stored: Mapping[str, Any]) -> bool:
    return stored.get("definition") == FORMAT


def from_definition(stored: Mapping[str, Any]) -> Survey:
    """The survey a definition holds; a damaged one raises StateError rather than asking something else."""
    try:
        return Survey(
            id=stored["id"],
            title=_text(stored["title"]),
            default_language=stored["default_language"],
            languages=tuple(stored["languages"]),
            items=tuple(_item(item) for item in stored["items"]),
            metadata=_metadata(stored["metadata"]),
            intro=_maybe(_text, stored["intro"]),
            thank_you=_maybe(_text, stored["thank_you"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise StateError(f"a stored survey definition is damaged ({error!r})") from error


def _encoded(value: Any) -> Any:
    if isinstance(value, Expression):
        return value.source
    if isinstance(value, Text):
        return dict(value.translations)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encoded(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, tuple | list):
        return [_encoded(item) for item in value]
    return value


def _item(stored: Mapping[str, Any]) -> Question | Group:
    if "items" in stored:
        return Group(
            id=stored["id"],
            label=_maybe(_text, stored["label"]),
            relevant=_maybe(parse, stored["relevant"]),
            items=tuple(_item(item) for item in stored["items"]),
        )
    return Question(
        id=stored["id"],
        kind=Kind(stored["kind"]),
        label=_text(stored["label"]),
        hint=_maybe(_text, stored["hint"]),
        required=bool(stored["required"]),
        relevant=_maybe(parse, stored["relevant"]),
        constraint=_maybe(parse, stored["constraint"]),
        constraint_message=_maybe(_text, stored["constraint_message"]),
        required_message=_maybe(_text, stored["required_message"]),
        choices=tuple(_choice(choice) for choice in stored["choices"]),
        choice_list=stored["choice_list"],
        minimum=_maybe(float, stored["minimum"]),
        maximum=_maybe(float, stored["maximum"]),
        max_length=_maybe(int, stored["max_length"]),
        notice=_maybe(_text, stored["notice"]),
        other=_maybe(_text, stored["other"]),
        choices_from=stored["choices_from"],
    )


def _choice(stored: Mapping[str, Any]) -> Choice:
    return Choice(stored["value"], _text(stored["label"]), stored["score"])


def _metadata(stored: Mapping[str, Any]) -> Metadata:
    reminders = stored["reminders"]
    return Metadata(
        audience=Audience(stored["audience"]),
        anonymous=bool(stored["anonymous"]),
        organisation=stored["organisation"],
        service=stored["service"],
        area=stored["area"],
        schedule=stored["schedule"],
        timezone=stored["timezone"],
        reminders=Reminders(maximum=reminders["maximum"], every_days=reminders["every_days"]),
        on_erasure=Erasure(stored["on_erasure"]),
    )


def _text(stored: Mapping[str, str]) -> Text:
    return Text(dict(stored))


def _maybe(read: Callable[[Any], T], stored: Any) -> T | None:
    return None if stored is None else read(stored)
