"""Loading YAML surveys: what an officer gets back when a file is right, and when it is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from surveys.errors import SurveyInvalid
from surveys.loader import check_survey, load_survey
from surveys.model import Audience, Kind
from surveys.templates import TEMPLATES
from tests.conftest import survey_of

HEADER = """\
id: demo
title: Demo
"""
XY = "[{value: x, label: X}, {value: y, label: Y}]"


def problems_of(write_yaml: Callable[[str], Path], body: str) -> list[str]:
    with pytest.raises(SurveyInvalid) as caught:
        load_survey(write_yaml(HEADER + body))
    return [str(p) for p in caught.value.problems]


def test_every_question_kind_loads_with_its_defaults() -> None:
    survey = survey_of(
        """
        id: kinds
        title: Every kind
        questions:
          - {id: n, type: note, label: Hello}
          - {id: one, type: select_one, label: One, choices: [{value: a, label: A}, {value: b, label: B}], other: true}
          - {id: many, type: select_multiple, label: Many, choices: [{value: a, label: A}], min: 1, max: 1}
          - {id: sat, type: likert, label: Sat, dont_know: true}
          - {id: agree, type: likert, label: Agree, scale: agreement}
          - {id: nps, type: rating, label: NPS}
          - {id: stars, type: rating, label: Stars, min: 1, max: 5}
          - {id: yn, type: yes_no, label: YN}
          - {id: words, type: text, label: Words}
          - {id: count, type: integer, label: Count, min: 0}
          - {id: weight, type: decimal, label: Weight}
          - {id: day, type: date, label: Day}
          - {id: ok, type: consent, label: "OK?", notice: We keep it safe.}
        """
    )
    questions = {step.question.id: step.question for step in survey.steps}
    assert [q.kind for q in questions.values()][:3] == [Kind.NOTE, Kind.SELECT_ONE, Kind.TEXT]
    assert questions["one_other"].relevant is not None  # "other, please say" follow-up
    assert [c.value for c in questions["one"].choices] == ["a", "b", "other"]
    assert [c.score for c in questions["sat"].choices] == [5, 4, 3, 2, 1, None]
    assert questions["sat"].choices[0].label.get("en", "en") == "Very satisfied"
    assert questions["agree"].choices[0].label.get("en", "en") == "Strongly agree"
    assert [c.value for c in questions["nps"].choices] == [str(n) for n in range(11)]
    assert [c.value for c in questions["stars"].choices] == ["1", "2", "3", "4", "5"]
    assert [c.value for c in questions["yn"].choices] == ["yes", "no"]
    assert questions["words"].max_length == 1000
    assert questions["ok"].required and questions["ok"].notice is not None
    assert survey.metadata.audience is Audience.RESIDENTS and not survey.metadata.anonymous


def test_staff_surveys_are_anonymous_unless_said_otherwise() -> None:
    survey = survey_of(HEADER + "audience: staff\nquestions: [{id: q, type: text, label: Q}]\n")
    assert survey.metadata.anonymous


def test_yes_and_no_stay_words_not_booleans() -> None:
    survey = survey_of(
        HEADER
        + "questions:\n  - {id: q, type: select_one, label: Q, choices: [{value: yes, label: no}, {value: no, label: on}]}\n"
    )
    question = survey.steps[0].question
    assert [(c.value, c.label.get("en", "en")) for c in question.choices] == [("yes", "no"), ("no", "on")]


def test_placeholders_fill_the_landlord_name_everywhere() -> None:
    survey = survey_of(
        HEADER
        + "placeholders: {landlord: Ancoats Co-op}\nquestions:\n  - id: q\n    type: text\n    label: Is [landlord] good?\n"
    )
    assert survey.steps[0].question.label.get("en", "en") == "Is Ancoats Co-op good?"


def test_a_placeholder_that_begins_a_sentence_begins_with_a_capital() -> None:
    label = "[landlord] runs it. [landlord] pays! [landlord] asks: is [landlord] good? Ask [landlord]."
    survey = survey_of(
        HEADER + f"placeholders: {{landlord: your landlord}}\nquestions:\n  - {{id: q, type: text, label: '{label}'}}\n"
    )
    assert survey.steps[0].question.label.get("en", "en") == (
        "Your landlord runs it. Your landlord pays! Your landlord asks: is your landlord good? Ask your landlord."
    )


def test_a_survey_stored_before_choices_from_existed_keeps_its_version() -> None:
    """Pinned hashes, taken before Question had the field: the same file must still find its stored version."""
    assert survey_of(HEADER + "questions:\n  - {id: q, type: text, label: Q}\n").version == "416858fda2be4416"
    assert load_survey(TEMPLATES / "staff-pulse.yaml").version == "16a9660060a138ea"


def test_the_same_survey_has_the_same_version_and_any_change_a_new_one() -> None:
    text = HEADER + "questions:\n  - {id: q, type: text, label: Q}\n"
    assert survey_of(text).version == survey_of("# a comment\n" + text).version
    assert survey_of(text).version != survey_of(text.replace("label: Q", "label: Q2")).version


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "choice_lists: {}\nquestions:\n  - id: repairs_time\n    type: select_one\n    label: Q\n    choices: sat5\n",
            "survey.yaml:8: question 'repairs_time': unknown choice list 'sat5'",
        ),
        (
            "questions:\n  - id: q\n    type: likret\n    label: Q\n",
            "survey.yaml:5: question 'q': unknown type 'likret' (did you mean 'likert'?)",
        ),
        (
            "questions:\n  - id: q\n    type: text\n    label: Q\n    requird: true\n",
            "survey.yaml:7: question 'q': unknown field 'requird' (did you mean 'required'?)",
        ),
        (
            "questions:\n  - id: q\n    type: likert\n    label: Q\n    max_length: 5\n",
            "survey.yaml:7: question 'q': 'max_length' does not apply to a likert question",
        ),
        (
            "questions:\n  - {id: a, type: text, label: A, relevant: \"${b} = 'x'\"}\n  - {id: b, type: text, label: B}\n",
            "survey.yaml:4: question 'a': relevant refers to ${b}, which is asked later; only earlier answers can be used",
        ),
        (
            "questions:\n  - {id: a, type: text, label: A, relevant: \"${zzz} = 'x'\"}\n",
            "survey.yaml:4: question 'a': relevant refers to ${zzz}, which is not a question in this survey",
        ),
        (
            'questions:\n  - {id: a, type: text, label: A, relevant: "${a} = "}\n',
            "survey.yaml:4: question 'a': relevant '${a} =': expected a value but found the end of the expression",
        ),
        (
            "questions:\n  - {id: a, type: text, label: A, relevant: \". = 'x'\"}\n",
            "'.' (this answer) can only be used in a constraint",
        ),
        (
            "questions:\n  - {id: a, type: yes_no, label: A}\n  - {id: b, type: text, label: B, relevant: \"selected(${a}, 'maybe')\"}\n",
            "survey.yaml:5: question 'b': question 'a' has no choice 'maybe'",
        ),
        (
            "questions:\n  - {id: a, type: text, label: A}\n  - {id: a, type: text, label: B}\n",
            "survey.yaml:5: question 'a': this id is already used",
        ),
        ("questions:\n  - {id: a, type: text}\n", "survey.yaml:4: question 'a': 'label' is required"),
        ("questions:\n  - {id: 9a, type: text, label: A}\n", "ids are letters, digits and _"),
        ("questions:\n  - {id: a, type: integer, label: A, min: 5, max: 1}\n", "min (5) is more than max (1)"),
        ("questions:\n  - {id: a, type: integer, label: A, max: .inf}\n", "'max' must be a whole number, not inf"),
        ("questions:\n  - {id: a, type: decimal, label: A, min: .nan}\n", "'min' must be a number, not nan"),
        (
            "questions:\n  - {id: a, type: integer, label: A, max: 100000000000000000000000}\n",
            "'max' must have at most 15 digits, as answers do",
        ),
        ("questions:\n  - {id: a, type: rating, label: A, min: 0, max: 20}\n", "a rating has at most 11 points"),
        ("questions:\n  - {id: a, type: consent, label: A}\n", "question 'a': 'notice' is required"),
        ("questions:\n  - {id: a, type: text, label: A, required: maybe}\n", "'required' must be true or false"),
        ("questions:\n  - {id: a, type: text, label: {de: Hallo}}\n", "has a translation in 'de', which is not one of"),
        ("questions: []\n", "a survey needs a list of questions"),
        (
            "audience: tenants\nquestions:\n  - {id: a, type: text, label: A}\n",
            "audience must be residents, staff or both",
        ),
        ("schedule: every monday\nquestions:\n  - {id: a, type: text, label: A}\n", "is not a cron expression"),
        ("timezone: Mars/Base\nquestions:\n  - {id: a, type: text, label: A}\n", "unknown time zone 'Mars/Base'"),
        (
            "questions:\n  - {id: a, type: select_one, label: A, choices: [{value: x y, label: X}]}\n",
            "must be one word",
        ),
        ("questions:\n  - {id: a, type: text, label: A}\n  - [not, a, mapping]\n", "each question must be a mapping"),
        ("questions:\n  - {group: g, questions: []}\n", "group 'g': a group needs a list of questions"),
        ("questions: [\n", "survey.yaml:4: this is not valid YAML"),
        (
            "questions:\n  - {id: a, type: text, label: A}\nquestions: []\n",
            "survey.yaml:5: 'questions' is written twice",
        ),
        (
            f"questions:\n  - {{id: b, type: select_one, label: B, choices: {XY}, choices_from: a}}\n"
            f"  - {{id: a, type: select_multiple, label: A, choices: {XY}}}\n",
            "survey.yaml:4: question 'b': choices_from must name an earlier select_multiple question; 'a' is asked later",
        ),
        (
            f"questions:\n  - {{id: a, type: select_one, label: A, choices: {XY}}}\n"
            f"  - {{id: b, type: select_one, label: B, choices: {XY}, choices_from: a}}\n",
            "question 'b': choices_from must name an earlier select_multiple question; 'a' is a select_one question",
        ),
        (
            f"questions:\n  - {{id: b, type: select_one, label: B, choices: {XY}, choices_from: nope}}\n",
            "choices_from must name an earlier select_multiple question; 'nope' is not a question in this survey",
        ),
        (
            f"questions:\n  - {{id: a, type: select_multiple, label: A, choices: {XY}}}\n"
            "  - {id: b, type: select_one, label: B, choices: [{value: z, label: Z}], choices_from: a}\n",
            "survey.yaml:5: question 'b': question 'a' shares no choices with this question",
        ),
        (
            f"questions:\n  - {{id: a, type: select_multiple, label: A, choices: {XY}}}\n"
            "  - {id: b, type: likert, label: B, choices_from: a}\n",
            "question 'b': 'choices_from' does not apply to a likert question",
        ),
    ],
)
def test_errors_name_the_file_line_and_field(write_yaml: Callable[[str], Path], body: str, expected: str) -> None:
    problems = problems_of(write_yaml, body)
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_reported_at_once(write_yaml: Callable[[str], Path]) -> None:
    problems = problems_of(
        write_yaml,
        "questions:\n  - {id: a, type: txt, label: A}\n  - {id: b, type: text}\n  - {id: c, type: integer, label: C, min: x}\n",
    )
    assert len(problems) == 3


def test_missing_translations_are_warnings_naming_the_line(write_yaml: Callable[[str], Path]) -> None:
    loaded = check_survey(
        write_yaml(
            "id: demo\ntitle: {en: Demo, pl: Demo}\nlanguages: [en, pl]\nquestions:\n"
            "  - {id: a, type: text, label: {en: A, pl: A}}\n  - {id: b, type: text, label: B, hint: {pl: Wskazówka}}\n"
        )
    )
    assert [str(w) for w in loaded.warnings] == [
        "survey.yaml:6: question 'b': 'label' has no 'pl' translation; 'en' will be shown instead",
        "survey.yaml:6: question 'b': 'hint' has no 'en' translation; 'pl' will be shown instead",
    ]


def test_built_in_scales_come_in_the_survey_languages_only() -> None:
    survey = survey_of(
        "id: d\ntitle: D\nlanguages: [en, pl]\nquestions:\n  - {id: a, type: likert, label: {en: A, pl: A}}\n"
    )
    label = survey.steps[0].question.choices[0].label
    assert dict(label.translations) == {"en": "Very satisfied", "pl": "Bardzo zadowolony"}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("survey.txt", "", "a survey file ends in .yaml, .yml or .xlsx"),
        ("missing.yaml", None, "no such file"),
        ("list.yaml", "- a\n- b\n", "a survey file must be a mapping"),
        ("binary.yaml", b"\xff\xfe\x00", "cannot read this file"),
    ],
)
def test_unreadable_files_get_one_clear_error(
    tmp_path: Path, name: str, content: str | bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SurveyInvalid, match=expected):
        load_survey(path)
