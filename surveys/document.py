"""Writes a Survey back out as a YAML document, as an officer would write it: for `chorus survey convert`.

Loading the document again gives a survey with the same version hash, as long
as Chorus's built-in words (scales, Yes and No, "Other") are the same: the
document names them rather than writing them out. A version is stored as a
definition instead (surveys.definition), which writes them out.
"""

from __future__ import annotations

from typing import Any

import yaml

from surveys.model import Choice, Group, Kind, Metadata, Question, Survey
from surveys.scales import DONT_KNOW, OTHER, OTHER_PROMPT, SCALES, localised, only
from surveys.text import Text


def to_document(survey: Survey) -> dict[str, Any]:
    return _Writer(survey).document()


def to_yaml(survey: Survey) -> str:
    return yaml.safe_dump(to_document(survey), sort_keys=False, allow_unicode=True, width=100)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class _Writer:
    def __init__(self, survey: Survey) -> None:
        self.survey = survey
        self.lists: dict[str, list[dict[str, Any]]] = {}

    def text(self, text: Text) -> str | dict[str, str]:
        default = self.survey.default_language
        if set(text.translations) == {default}:
            return text.translations[default]
        return dict(text.translations)

    def document(self) -> dict[str, Any]:
        survey = self.survey
        doc: dict[str, Any] = {
            "id": survey.id,
            "title": self.text(survey.title),
            "default_language": survey.default_language,
            "languages": list(survey.languages),
        }
        doc.update(self.metadata(survey.metadata))
        if survey.intro:
            doc["intro"] = self.text(survey.intro)
        if survey.thank_you:
            doc["thank_you"] = self.text(survey.thank_you)
        questions = [self.item(item) for item in survey.items]
        if self.lists:
            doc["choice_lists"] = self.lists
        doc["questions"] = questions
        return doc

    def metadata(self, metadata: Metadata) -> dict[str, Any]:
        doc: dict[str, Any] = {"audience": metadata.audience.value, "anonymous": metadata.anonymous}
        for key in ("organisation", "service", "area", "schedule", "timezone"):
            if getattr(metadata, key):
                doc[key] = getattr(metadata, key)
        doc["reminders"] = {"max": metadata.reminders.maximum, "every_days": metadata.reminders.every_days}
        doc["on_erasure"] = metadata.on_erasure.value
        return doc

    def item(self, item: Question | Group) -> dict[str, Any]:
        if isinstance(item, Group):
            group: dict[str, Any] = {"group": item.id}
            if item.label:
                group["label"] = self.text(item.label)
            if item.relevant:
                group["relevant"] = item.relevant.source
            group["questions"] = [self.item(inner) for inner in item.items]
            return group
        return self.question(item)

    def question(self, q: Question) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": q.id, "type": q.kind.value, "label": self.text(q.label)}
        if q.hint:
            doc["hint"] = self.text(q.hint)
        if q.kind is not Kind.NOTE and q.kind is not Kind.CONSENT:
            doc["required"] = q.required
        for key in ("relevant", "constraint"):
            expression = getattr(q, key)
            if expression is not None:
                doc[key] = expression.source
        for key in ("constraint_message", "required_message", "notice"):
            text = getattr(q, key)
            if text is not None:
                doc[key] = self.text(text)
        doc.update(self.kind_fields(q))
        return doc

    def kind_fields(self, q: Question) -> dict[str, Any]:
        languages = self.survey.languages
        fields: dict[str, Any] = {}
        if q.kind in (Kind.SELECT_ONE, Kind.SELECT_MULTIPLE):
            choices = q.choices
            if q.other is not None:
                fields["other"] = True if q.other == only(OTHER_PROMPT, languages) else self.text(q.other)
                if q.choice_list and choices[-1] == localised((OTHER,), languages)[0]:
                    choices = choices[:-1]
            fields["choices"] = self.choices(choices, q.choice_list)
            if q.choices_from is not None:
                fields["choices_from"] = q.choices_from
        elif q.kind is Kind.LIKERT:
            fields.update(self.likert(q))
        elif q.kind is Kind.TEXT:
            fields["max_length"] = q.max_length
        if q.kind in (Kind.SELECT_MULTIPLE, Kind.RATING, Kind.INTEGER, Kind.DECIMAL):
            for key, value in (("min", q.minimum), ("max", q.maximum)):
                if value is not None:
                    fields[key] = _number(value)
        return fields

    def likert(self, q: Question) -> dict[str, Any]:
        languages = self.survey.languages
        dont_know = localised((DONT_KNOW,), languages)
        has_dont_know = q.choices[-1:] == dont_know
        core = q.choices[:-1] if has_dont_know else q.choices
        for name, scale in SCALES.items():
            if q.choice_list is None and core == localised(scale, languages):
                return {"scale": name, "dont_know": has_dont_know}
        return {"choices": self.choices(core, q.choice_list), "dont_know": has_dont_know}

    def choices(self, choices: tuple[Choice, ...], listed: str | None) -> str | list[dict[str, Any]]:
        written = [self.choice(c) for c in choices]
        if listed is None:
            return written
        self.lists[listed] = written
        return listed

    def choice(self, choice: Choice) -> dict[str, Any]:
        doc: dict[str, Any] = {"value": choice.value, "label": self.text(choice.label)}
        if choice.score is not None:
            doc["score"] = choice.score
        return doc
