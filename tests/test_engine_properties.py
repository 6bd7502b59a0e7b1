"""Properties of the engine over any sequence of inputs, on the built-in surveys and on generated ones.

Whatever a participant does, the engine never raises, never asks a question
that is not relevant, never finishes without every required relevant answer,
never loses a comment once kept, never keeps one before consent, and from any
point a willing participant can still finish.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.engine import is_relevant, prompt, start, step
from surveys.inputs import Back, ChangeLanguage, Done, Input, Pick, Reply, Skip, Toggle
from surveys.loader import load_survey
from surveys.model import Kind, Question, Survey
from surveys.outputs import AskQuestion, Completed, Noted, Rejected
from surveys.state import State, Status
from surveys.templates import template_paths
from tests.conftest import survey_of
from tests.test_engine import FLOW

TEMPLATES = [load_survey(path) for path in template_paths()]
TYPED = ["yes", "no", "1", "2", "3", "11", "0", "-4", "2.5", "agree", "very sat", "other", "", "  ", "1, 2", "x" * 2500]
TYPED += ["the lift is broken again", "yes but only just", "about 7 I suppose"]  # comments, or answers


def inputs_for(survey: Survey) -> st.SearchStrategy[Input]:
    ids = [s.question.id for s in survey.steps] + [None]
    values = sorted({c.value for s in survey.steps for c in s.question.choices} | {"nope"})
    question_ids = st.sampled_from(ids)
    return st.one_of(
        st.builds(Reply, st.one_of(st.sampled_from(TYPED), st.text(max_size=20)), st.just(None)),
        st.builds(Pick, st.lists(st.sampled_from(values), max_size=3).map(tuple), question_ids),
        st.builds(Toggle, st.sampled_from(values), st.just(None)),
        st.builds(Done, st.just(None)),
        st.builds(Skip, st.just(None)),
        st.builds(Back, st.just(None)),
        st.builds(ChangeLanguage, st.sampled_from([*survey.languages, "xx"])),
    )


def willing_inputs(question: Question) -> list[Input]:
    """What a willing participant might try, in turn, until the engine accepts one."""
    if question.kind is Kind.CONSENT:
        return [Pick(("agree",))]
    if question.kind is Kind.SELECT_MULTIPLE:
        low = int(question.minimum or 1)
        return [Pick(tuple(c.value for c in question.choices[:n])) for n in range(low, len(question.choices) + 1)]
    if question.choices:
        return [Pick((c.value,)) for c in question.choices]
    numbers = [question.minimum or 0, 1, 2, 5, 9, question.maximum or 3]
    return [Reply("A fair answer"), *(Reply(f"{n:g}") for n in numbers), Reply("2026-01-31"), Skip()]


def check_invariants(survey: Survey, state: State) -> None:
    assert set(state.answers) == set(state.history)
    assert len(set(state.history)) == len(state.history)
    assert State.from_json(state.to_json()) == state
    for question_id in state.notes:
        later = survey.steps[survey.position(question_id) or 0 :]
        assert all(s.question.kind is not Kind.CONSENT for s in later), f"a comment kept before consent: {question_id}"
    if state.status is Status.ANSWERING:
        assert state.current is not None and state.current not in state.answers
    else:
        assert state.current is None


def check_finished_properly(survey: Survey, state: State) -> None:
    """On completion every relevant question was asked, every required one answered, no irrelevant one."""
    if state.status is not Status.COMPLETED:
        return
    for step_ in survey.steps:
        question = step_.question
        relevant = is_relevant(step_, state.answers)
        if question.kind is Kind.NOTE:
            continue
        if not relevant:
            assert question.id not in state.answers, f"{question.id} was answered but is not relevant"
        else:
            assert question.id in state.answers, f"relevant {question.id} was never asked"
            if question.required:
                assert state.answers[question.id] is not None, f"required {question.id} was skipped"


def drive(survey: Survey, given: list[Input], language: str | None) -> State:
    state, outputs = start(survey, language)
    for item in given:
        before = state
        state, outputs = step(survey, state, item)
        for question_id, note in before.notes.items():
            assert state.notes[question_id].startswith(note), f"the comment at {question_id} was lost"
        for output in outputs:
            if isinstance(output, AskQuestion):
                found = survey.steps[survey.position(output.question_id) or 0]
                assert is_relevant(found, state.answers), f"asked irrelevant {output.question_id}"
                assert output.question_id == state.current
        check_invariants(survey, state)
        check_finished_properly(survey, state)
    return state


def finish_willingly(survey: Survey, state: State) -> State:
    for _ in range(len(survey.steps) * 2 + 2):
        if state.status is not Status.ANSWERING:
            return state
        assert state.current is not None
        question = survey.question(state.current)
        assert question is not None
        for attempt in willing_inputs(question):
            moved, outputs = step(survey, state, attempt)
            if not any(isinstance(o, Rejected | Noted) for o in outputs):  # a comment answers nothing
                state = moved
                break
        else:
            raise AssertionError(f"no willing answer was accepted for {question.id}")
        check_finished_properly(survey, state)
    raise AssertionError("a willing participant could not finish")


SURVEYS = st.sampled_from([*TEMPLATES, FLOW])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_inputs_keep_the_conversation_sound_and_finishable(data: st.DataObject) -> None:
    survey = data.draw(SURVEYS)
    given_inputs = data.draw(st.lists(inputs_for(survey), max_size=40))
    language = data.draw(st.sampled_from([None, *survey.languages, "xx"]))
    state = drive(survey, given_inputs, language)
    assert prompt(survey, state)
    final = finish_willingly(survey, state)
    assert final.status in (Status.COMPLETED, Status.DECLINED)
    assert isinstance(prompt(survey, final)[0], Completed)


SENTENCES = ["the lift is broken again", "yes but only just", "about 7 I suppose", "damp in the bedroom, mould too"]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_comment_once_kept_stays_whatever_follows(data: st.DataObject) -> None:
    """Comments, answers, skips and going back in any order: every comment kept is still there, word for word."""
    survey = data.draw(SURVEYS)
    state, _ = start(survey)
    for _ in range(data.draw(st.integers(5, 40))):
        if state.status is not Status.ANSWERING:
            break
        question = survey.question(state.current or "")
        assert question is not None
        doing = data.draw(st.sampled_from(["comment", "answer", "back", "skip"]))
        sentence = data.draw(st.sampled_from(SENTENCES))
        given = {"comment": Reply(sentence), "back": Back(), "skip": Skip()}.get(doing, willing_inputs(question)[0])
        before = state
        state, outputs = step(survey, state, given)
        check_invariants(survey, state)
        for question_id, note in before.notes.items():
            assert state.notes[question_id].startswith(note), f"the comment at {question_id} was lost"
        if any(isinstance(o, Noted) for o in outputs):
            assert isinstance(given, Reply) and state.notes[question.id].endswith(given.text)


QUESTION_KINDS = ["yes_no", "text", "integer", "likert", "select_multiple", "rating", "note", "date"]


@st.composite
def generated_surveys(draw: st.DrawFn) -> Survey:
    """Random surveys whose relevance depends on earlier answers, some inside groups."""
    lines = ["id: generated", "title: Generated", "questions:"]
    earlier: list[tuple[str, str]] = []
    count = draw(st.integers(1, 9))
    in_group = False
    for n in range(count):
        kind = draw(st.sampled_from(QUESTION_KINDS))
        if not in_group and n < count - 1 and draw(st.booleans()):
            condition = _condition(draw, earlier)
            lines.append(f"  - group: g{n}")
            if condition:
                lines.append(f'    relevant: "{condition}"')
            lines.append("    questions:")
            in_group = True
        indent = "      " if in_group else "  "
        fields = [f"id: q{n}", f"type: {kind}", f"label: Q{n}"]
        if kind != "note":
            fields.append(f"required: {str(draw(st.booleans())).lower()}")
        if kind == "select_multiple":
            fields += ["choices: [{value: a, label: A}, {value: b, label: B}, {value: c, label: C}]", "other: true"]
        if kind == "integer" and draw(st.booleans()):
            fields.append('constraint: ". > 1"')
        condition = _condition(draw, earlier)
        if condition:
            fields.append(f'relevant: "{condition}"')
        lines.append(f"{indent}- {{{', '.join(fields)}}}")
        if kind != "note":
            earlier.append((f"q{n}", kind))
        if in_group and draw(st.booleans()):
            in_group = False
    return survey_of("\n".join(lines) + "\n")


def _condition(draw: st.DrawFn, earlier: list[tuple[str, str]]) -> str | None:
    if not earlier or not draw(st.booleans()):
        return None
    name, kind = draw(st.sampled_from(earlier))
    if kind == "yes_no":
        return f"${{{name}}} = 'yes'"
    if kind == "select_multiple":
        return f"count-selected(${{{name}}}) > 1"
    if kind in ("integer", "rating"):
        return f"${{{name}}} > 2"
    return f"${{{name}}} != ''"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_surveys_keep_the_same_properties(data: st.DataObject) -> None:
    survey = data.draw(generated_surveys())
    given_inputs = data.draw(st.lists(inputs_for(survey), max_size=30))
    state = drive(survey, given_inputs, None)
    final = finish_willingly(survey, state)
    assert final.status is Status.COMPLETED
