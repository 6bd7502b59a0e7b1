"""The built-in surveys: valid, and the Tenant Satisfaction Measures worded as the regulator prescribes."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveys.engine import start, step
from surveys.inputs import Pick, Reply, Skip
from surveys.loader import check_survey, load_survey
from surveys.model import Audience, Kind
from surveys.outputs import AskQuestion, Completed, Rejected
from surveys.templates import TEMPLATES, template_paths

# The regulator's wording (Tenant Satisfaction Measures: Technical Requirements), "[landlord]" as the placeholder.
TSM_WORDING = {
    "tp01_overall": "Taking everything into account, how satisfied or dissatisfied are you with the service provided by [landlord]?",
    "tp02_repairs": "How satisfied or dissatisfied are you with the overall repairs service from [landlord] over the last 12 months?",
    "tp03_repair_time": "How satisfied or dissatisfied are you with the time taken to complete your most recent repair after you reported it?",
    "tp04_well_maintained": "How satisfied or dissatisfied are you that [landlord] provides a home that is well maintained?",
    "tp05_safe": "Thinking about the condition of the property or building you live in, how satisfied or dissatisfied are you that [landlord] provides a home that is safe?",
    "tp06_listens": "How satisfied or dissatisfied are you that [landlord] listens to your views and acts upon them?",
    "tp07_informed": "How satisfied or dissatisfied are you that [landlord] keeps you informed about things that matter to you?",
    "tp08_fair_respect": 'To what extent do you agree or disagree with the following: "[landlord] treats me fairly and with respect"?',
    "tp09_complaints": "How satisfied or dissatisfied are you with [landlord]'s approach to complaints handling?",
    "tp10_communal_areas": "How satisfied or dissatisfied are you that [landlord] keeps these communal areas clean and well maintained?",
    "tp11_neighbourhood": "How satisfied or dissatisfied are you that [landlord] makes a positive contribution to your neighbourhood?",
    "tp12_antisocial_behaviour": "How satisfied or dissatisfied are you with [landlord]'s approach to handling anti-social behaviour?",
}
TSM_FILTERS = {
    "tp02_repairs": "had_repair",
    "tp03_repair_time": "had_repair",
    "tp09_complaints": "made_complaint",
    "tp10_communal_areas": "has_communal_areas",
}
NO_DONT_KNOW = {
    "tp01_overall",
    "tp02_repairs",
    "tp03_repair_time",
    "tp04_well_maintained",
    "tp09_complaints",
    "tp10_communal_areas",
}


def test_there_are_three_templates() -> None:
    assert [p.name for p in template_paths()] == ["coproduction-ideas.yaml", "staff-pulse.yaml", "tsm.yaml"]


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: p.name)
def test_each_template_validates_without_warnings(path: Path) -> None:
    loaded = check_survey(path)
    assert loaded.warnings == ()


def test_tsm_questions_use_the_regulators_wording_and_scales(tmp_path: Path) -> None:
    path = tmp_path / "tsm.yaml"
    path.write_text((TEMPLATES / "tsm.yaml").read_text().replace("landlord: your landlord", "landlord: '[landlord]'"))
    survey = load_survey(path)
    for question_id, wording in TSM_WORDING.items():
        question = survey.question(question_id)
        assert question is not None and question.kind is Kind.LIKERT
        assert " ".join(question.label.get("en", "en").split()) == wording
        labels = [c.label.get("en", "en") for c in question.choices]
        scale = ["Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Strongly disagree"]
        if question_id != "tp08_fair_respect":
            scale = [
                "Very satisfied",
                "Fairly satisfied",
                "Neither satisfied nor dissatisfied",
                "Fairly dissatisfied",
                "Very dissatisfied",
            ]
        expected = scale if question_id in NO_DONT_KNOW else [*scale, "Don't know / not applicable"]
        assert labels == expected, question_id


def test_tsm_asks_overall_satisfaction_first_and_filters_as_prescribed() -> None:
    survey = load_survey(TEMPLATES / "tsm.yaml")
    answered = [s.question.id for s in survey.steps if s.question.kind is not Kind.CONSENT]
    assert answered[0] == "tp01_overall"
    for question_id, filter_id in TSM_FILTERS.items():
        question = survey.question(question_id)
        assert question is not None and question.relevant is not None
        assert question.relevant.source == f"${{{filter_id}}} = 'yes'"
    positions = [answered.index(q) for q in TSM_WORDING]
    assert positions == sorted(positions), "TSM questions are asked in order"
    assert answered[-1] == "why_overall", "the extra question comes after the TSM questions"


def test_tsm_skips_repairs_questions_without_a_repair() -> None:
    survey = load_survey(TEMPLATES / "tsm.yaml")
    state, _ = start(survey)
    state, _ = step(survey, state, Pick(("agree",)))
    state, _ = step(survey, state, Pick(("very_satisfied",)))
    state, outputs = step(survey, state, Pick(("no",)))
    assert isinstance(outputs[-1], AskQuestion) and outputs[-1].question_id == "tp04_well_maintained"


def test_a_tenant_can_skip_any_tsm_question_as_the_introduction_says() -> None:
    survey = load_survey(TEMPLATES / "tsm.yaml")
    assert survey.intro is not None and "You can skip any question" in survey.intro.get("en", "en")
    state, _ = start(survey)
    state, outputs = step(survey, state, Pick(("agree",)))
    skipped = []
    while isinstance(outputs[-1], AskQuestion):
        skipped.append(outputs[-1].question_id)
        state, outputs = step(survey, state, Skip())
        assert not any(isinstance(output, Rejected) for output in outputs), skipped[-1]
    assert isinstance(outputs[-1], Completed)
    assert set(TSM_WORDING) - set(TSM_FILTERS) <= set(skipped)


def test_the_staff_pulse_is_anonymous_and_has_enps() -> None:
    survey = load_survey(TEMPLATES / "staff-pulse.yaml")
    assert survey.metadata.audience is Audience.STAFF and survey.metadata.anonymous
    enps = survey.question("enps")
    assert enps is not None and enps.kind is Kind.RATING and (enps.minimum, enps.maximum) == (0, 10)
    assert {"voice_say", "wellbeing", "workload", "leadership_trust", "one_change"} <= {
        s.question.id for s in survey.steps
    }


def test_the_coproduction_survey_asks_priority_only_among_several_issues_picked() -> None:
    survey = load_survey(TEMPLATES / "coproduction-ideas.yaml")
    state, _ = start(survey)
    state, _ = step(survey, state, Pick(("agree",)))
    _, outputs = step(survey, state, Pick(("safety",)))
    assert isinstance(outputs[-1], AskQuestion) and outputs[-1].question_id == "idea"
    _, outputs = step(survey, state, Pick(("safety", "transport")))
    assert isinstance(outputs[-1], AskQuestion) and outputs[-1].question_id == "priority"
    assert [c.value for c in outputs[-1].choices] == ["safety", "transport"], "only what they picked"
    state, _ = step(survey, state, Pick(("safety", "other")))
    _, outputs = step(survey, state, Reply("A bus shelter"))
    assert isinstance(outputs[-1], AskQuestion) and outputs[-1].question_id == "idea", "one issue and 'other'"


def test_the_readme_example_survey_is_valid(tmp_path: Path) -> None:
    readme = (TEMPLATES.parent.parent / "README.md").read_text()
    example = readme.split("A small example:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example)
    loaded = check_survey(path)
    assert loaded.survey.id == "repairs-pulse"
    assert loaded.survey.question("satisfied") is not None
