"""Surveys as stored with their versions: read back whole, with the same hash, every field included."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields

import pytest

from surveys.definition import from_definition, to_definition
from surveys.errors import StateError
from surveys.loader import load_survey
from surveys.model import Group, Metadata, Question, Survey
from surveys.templates import template_paths
from tests.conftest import survey_of

EVERY_FIELD = survey_of(
    """
    id: every
    title: {en: Every field, pl: Każde pole}
    default_language: en
    languages: [en, pl]
    audience: staff
    anonymous: true
    organisation: ancoats-coop
    service: repairs
    area: ancoats
    schedule: "0 9 * * MON"
    timezone: Europe/London
    reminders: {max: 1, every_days: 4}
    on_erasure: anonymise
    intro: {en: Hello, pl: Cześć}
    thank_you: {en: Thanks, pl: Dzięki}
    choice_lists:
      issues: [{value: damp, label: {en: Damp, pl: Wilgoć}}, {value: roof, label: {en: Roof, pl: Dach}}]
    questions:
      - {id: consent, type: consent, label: {en: "OK?", pl: "Zgoda?"}, notice: {en: Kept safe., pl: Bezpiecznie.}}
      - group: home
        label: {en: Your home, pl: Twój dom}
        relevant: "${consent} = 'agree'"
        questions:
          - id: issues
            type: select_multiple
            label: {en: "Which?", pl: "Które?"}
            hint: {en: Up to two., pl: Do dwóch.}
            choices: issues
            other: {en: "What else?", pl: "Co jeszcze?"}
            min: 1
            max: 2
            required: true
            required_message: {en: Pick one., pl: Wybierz.}
          - id: first
            type: select_one
            label: {en: "First?", pl: "Najpierw?"}
            choices: issues
            choices_from: issues
          - id: rooms
            type: decimal
            label: {en: "Rooms?", pl: "Pokoje?"}
            min: 0
            max: 12.5
            constraint: ". != 7"
            constraint_message: {en: Not seven., pl: Nie siedem.}
          - {id: overall, type: likert, label: {en: "Satisfied?", pl: "Zadowolony?"}, dont_know: true}
          - {id: idea, type: text, label: {en: "Idea?", pl: "Pomysł?"}, max_length: 300}
    """
)


def test_every_question_field_is_set_somewhere_in_the_survey_that_checks_them() -> None:
    """A field added to Question must be written and read by surveys.definition: this fails until the survey
    above sets it, and the round trip below then fails until the definition carries it."""
    questions = [step.question for step in EVERY_FIELD.steps]
    for field in fields(Question):
        if field.default is not MISSING:
            assert any(getattr(q, field.name) != field.default for q in questions), field.name
    for dataclass_, instance in ((Metadata, EVERY_FIELD.metadata), (Survey, EVERY_FIELD)):
        for field in fields(dataclass_):
            if field.default is not MISSING:
                assert getattr(instance, field.name) != field.default, field.name
    assert any(isinstance(item, Group) for item in EVERY_FIELD.items)


@pytest.mark.parametrize(
    "survey", [EVERY_FIELD, *(load_survey(path) for path in template_paths())], ids=lambda survey: survey.id
)
def test_a_definition_reads_back_as_the_same_survey_with_the_same_hash(survey: Survey) -> None:
    stored = json.loads(json.dumps(to_definition(survey)))  # as a JSON column gives it back
    read = from_definition(stored)
    assert read == survey and read.version == survey.version


@pytest.mark.parametrize("damage", [{}, {"definition": 1, "id": "s"}, {**to_definition(EVERY_FIELD), "items": [{}]}])
def test_a_damaged_definition_is_refused_not_read_as_something_else(damage: dict[str, object]) -> None:
    with pytest.raises(StateError, match="damaged"):
        from_definition(damage)
