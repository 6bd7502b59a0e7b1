"""The conversation engine: from a survey, a state and one input, the next state and what to show.

Pure, like a flow engine in a messaging platform: no I/O, no clock, no globals.
Telegram, the web form and the terminal preview all call these three functions
and render the outputs, so a survey behaves the same everywhere.

Usage:
    state, outputs = start(survey, language="pl")
    state, outputs = step(survey, state, Reply("very satisfied"))
    outputs = prompt(survey, state)          # show again, e.g. on resume
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from surveys.answers import Accepted, Refused, read_pick, read_text, unlisted
from surveys.errors import StateError
from surveys.expressions import truthy
from surveys.inputs import Back, ChangeLanguage, Done, Input, Pick, Reply, Skip, Toggle
from surveys.model import CHOICE_KINDS, NUMBER_KINDS, Kind, Question, Step, Survey, other_follow_up
from surveys.outputs import AskQuestion, ChoiceView, Completed, Noted, Output, Reason, Rejected, ShowText
from surveys.scales import OTHER
from surveys.state import AnswerValue, State, Status

Result = tuple[State, tuple[Output, ...]]
COMMENT_WORDS = 3  # typed words, not one of a question's choices, that are kept as a comment on it
COMMENT_LIMIT = 4096  # characters of comments kept at one question: every answer saves the state that holds them
NOT_READ = frozenset({Reason.NOT_A_CHOICE, Reason.AMBIGUOUS_CHOICE, Reason.NOT_A_NUMBER, Reason.NOT_A_DATE})
COMMENTED = frozenset({*CHOICE_KINDS, *NUMBER_KINDS, Kind.DATE}) - {Kind.CONSENT}


def start(survey: Survey, language: str | None = None) -> Result:
    """Begin the survey in the participant's language (the survey's default if it does not offer theirs)."""
    chosen = language if language in survey.languages else survey.default_language
    state = State(survey.id, survey.version, chosen)
    shown: list[Output] = []
    if survey.intro:
        shown.append(ShowText(survey.intro.get(chosen, survey.default_language)))
    return _advance(survey, state, 0, shown)


def step(survey: Survey, state: State, given: Input) -> Result:
    """Apply one input. A refused input returns the same state and one Rejected output."""
    if state.version != survey.version or state.survey_id != survey.id:
        raise StateError(
            f"this state belongs to survey {state.survey_id} version {state.version}, not {survey.version}"
        )
    if isinstance(given, ChangeLanguage):
        return _change_language(survey, state, given.language)
    asked = survey.question(state.current) if state.current else None
    if state.status is not Status.ANSWERING or asked is None:
        return _refuse(state, Reason.FINISHED)
    question = offered(asked, state.answers)
    if given.question_id is not None and given.question_id != question.id:
        return _refuse(state, Reason.STALE, question)
    if _no_longer_offered(asked, question, given):
        return _refuse(state, Reason.STALE, question)
    if isinstance(given, Back):
        return _back(survey, state)
    if isinstance(given, Skip):
        return _answer(survey, state, question, None)
    if isinstance(given, Toggle):
        return _toggle(survey, state, question, given.value)
    if isinstance(given, Done):
        return _answer(survey, state, question, read_pick(question, state.draft))
    if isinstance(given, Pick):
        return _answer(survey, state, question, read_pick(question, given.values))
    reading = read_text(question, given.text, state.language)
    if _is_other(question, given.text, reading, state.language):
        return _answer_other(survey, state, question, given.text.strip())
    if _is_comment(survey, question, given.text, reading):
        noted = state.with_note(question.id, given.text.strip())
        if len(noted.notes[question.id]) <= COMMENT_LIMIT:  # only a flood of messages reaches it
            return noted, (Noted(question.id, question.kind),)
    return _answer(survey, state, question, reading)


def prompt(survey: Survey, state: State) -> tuple[Output, ...]:
    """What to show to resume: the current question again, or the ending."""
    if state.status is not Status.ANSWERING or state.current is None:
        return (_ending(survey, state),)
    question = survey.question(state.current)
    if question is None:
        raise StateError(f"question '{state.current}' is not in survey {survey.id} version {survey.version}")
    return (_ask(survey, state, question),)


def is_relevant(step_: Step, answers: Mapping[str, AnswerValue]) -> bool:
    """Whether a question is asked, given the answers so far: its groups' relevance and its own."""
    conditions = (*step_.conditions, *((step_.question.relevant,) if step_.question.relevant else ()))
    return all(truthy(condition, answers) for condition in conditions)


def offered(question: Question, answers: Mapping[str, AnswerValue]) -> Question:
    """The question with the choices it offers now: with `choices_from`, those picked in that earlier question.

    "Which of those first?" after "Which matter most?" offers only what was
    ticked. When none of this question's choices was ticked there (the earlier
    one was skipped, or only "other" picked), it offers them all rather than none.
    """
    if question.choices_from is None:
        return question
    picked = answers.get(question.choices_from)
    kept = tuple(c for c in question.choices if isinstance(picked, tuple) and c.value in picked)
    return replace(question, choices=kept) if kept else question


def _no_longer_offered(asked: Question, question: Question, given: Input) -> bool:
    """A press on a choice this question offered before its `choices_from` answer changed: a stale button."""
    pressed = given.values if isinstance(given, Pick) else (given.value,) if isinstance(given, Toggle) else ()
    return any(question.choice(v) is None and asked.choice(v) is not None for v in pressed)


def _is_other(question: Question, text: str, reading: Accepted | Refused, language: str) -> bool:
    """Whether typed text is the participant's own answer at a question offering "other": a word or two that
    names none of its choices ("potholes"). Told it was not one of the options, they would have to press
    "Other" and type it again; a sentence stays a comment, as at any choice question."""
    if not isinstance(reading, Refused) or reading.reason is not Reason.NOT_A_CHOICE:
        return False
    if question.choice(OTHER.value) is None:  # none offered, or not now: `choices_from` left it out
        return False
    longest = other_follow_up(question).max_length
    fits = longest is None or len(text.strip()) <= longest
    return len(text.split()) < COMMENT_WORDS and fits and unlisted(question, text, language)


def _answer_other(survey: Survey, state: State, question: Question, text: str) -> Result:
    """Answer "other" (with the ticks so far, at a multiple choice) and its follow-up with the typed words."""
    ticked = state.draft if question.kind is Kind.SELECT_MULTIPLE else ()
    answered, outputs = _answer(survey, state, question, read_pick(question, (*ticked, OTHER.value)))
    if answered.current != other_follow_up(question).id:
        return answered, outputs
    return step(survey, answered, Reply(text))


def _is_comment(survey: Survey, question: Question, text: str, reading: Accepted | Refused) -> bool:
    """Whether typed text that is not a choice, number or date is a comment worth keeping, not a slip to ask
    again about.

    A word or two ("satisifed", "not sure") is a slip; a sentence is a resident
    saying something ("three, and a box room nobody can sleep in"). Nothing is
    kept at a consent question, or before one, since they have not yet agreed to
    their words being kept.
    """
    if not isinstance(reading, Refused) or reading.reason not in NOT_READ:
        return False
    if question.kind not in COMMENTED or len(text.split()) < COMMENT_WORDS:
        return False
    position = survey.position(question.id) or 0
    return all(later.question.kind is not Kind.CONSENT for later in survey.steps[position:])


def _refuse(state: State, reason: Reason, question: Question | None = None, **params: str | int | float) -> Result:
    return state, (Rejected(reason, question.id if question else state.current, None, params),)


def _answer(survey: Survey, state: State, question: Question, reading: Accepted | Refused | None) -> Result:
    if isinstance(reading, Refused):
        return state, (Rejected(reading.reason, question.id, None, reading.params),)
    value = reading.value if reading is not None else None
    if value is None:
        if question.required:
            message = (
                question.required_message.get(state.language, survey.default_language)
                if question.required_message
                else None
            )
            return state, (Rejected(Reason.REQUIRED, question.id, message),)
    elif question.constraint is not None and not truthy(question.constraint, state.answers, value):
        message = (
            question.constraint_message.get(state.language, survey.default_language)
            if question.constraint_message
            else None
        )
        return state, (Rejected(Reason.CONSTRAINT, question.id, message),)
    answered = state.with_answer(question.id, value)
    if question.kind is Kind.CONSENT and value == "decline":
        declined = replace(answered, status=Status.DECLINED, current=None)
        return declined, (_ending(survey, declined),)
    position = survey.position(question.id)
    assert position is not None
    return _advance(survey, answered, position + 1, [])


def _advance(survey: Survey, state: State, position: int, shown: list[Output]) -> Result:
    """Move to the first relevant question at or after `position`, showing any notes passed on the way."""
    for step_ in survey.steps[position:]:
        if not is_relevant(step_, state.answers):
            continue
        question = step_.question
        if question.kind is Kind.NOTE:
            shown.append(ShowText(question.label.get(state.language, survey.default_language), question.id))
            continue
        moved = replace(state, current=question.id, draft=())
        return moved, (*shown, _ask(survey, moved, question))
    finished = replace(state, status=Status.COMPLETED, current=None, draft=())
    return finished, (*shown, _ending(survey, finished))


def _back(survey: Survey, state: State) -> Result:
    if not state.history:
        return _refuse(state, Reason.CANNOT_GO_BACK)
    previous = state.history[-1]
    answers = {k: v for k, v in state.answers.items() if k != previous}
    question = survey.question(previous)
    assert question is not None
    earlier = state.answers.get(previous)
    went_back = replace(
        state,
        current=previous,
        history=state.history[:-1],
        answers=answers,
        draft=_picked(question, earlier),
        earlier=earlier,
    )
    return went_back, (_ask(survey, went_back, question),)


def _picked(question: Question, answer: AnswerValue) -> tuple[str, ...]:
    """A multiple choice gone back to starts with the earlier picks ticked, so changing one keeps the rest."""
    if question.kind is not Kind.SELECT_MULTIPLE or not isinstance(answer, tuple):
        return ()
    return tuple(c.value for c in question.choices if c.value in answer)


def _toggle(survey: Survey, state: State, question: Question, value: str) -> Result:
    if question.kind is not Kind.SELECT_MULTIPLE:
        return _refuse(state, Reason.NOT_APPLICABLE, question)
    if question.choice(value) is None:
        return _refuse(state, Reason.NOT_A_CHOICE, question, text=value)
    if value not in state.draft and question.maximum is not None and len(state.draft) >= question.maximum:
        return _refuse(state, Reason.TOO_MANY_CHOICES, question, maximum=int(question.maximum))
    chosen = set(state.draft) ^ {value}
    toggled = replace(state, draft=tuple(c.value for c in question.choices if c.value in chosen))
    return toggled, (_ask(survey, toggled, question),)


def _change_language(survey: Survey, state: State, language: str) -> Result:
    if language not in survey.languages:
        return _refuse(state, Reason.UNKNOWN_LANGUAGE, language=language, languages=", ".join(survey.languages))
    changed = replace(state, language=language)
    return changed, prompt(survey, changed)


def _ask(survey: Survey, state: State, question: Question) -> AskQuestion:
    language, default = state.language, survey.default_language
    position = survey.position(question.id) or 0
    asked = survey.question(question.id) or question
    question = offered(asked, state.answers)
    kept = None if question.choices is asked.choices else {c.value for c in question.choices}
    return AskQuestion(
        question_id=question.id,
        kind=question.kind,
        text=question.label.get(language, default),
        hint=question.hint.get(language, default) if question.hint else None,
        choices=tuple(
            ChoiceView(c.value, c.label.get(language, default), c.value in state.draft, place)
            for place, c in enumerate(asked.choices)
            if kept is None or c.value in kept
        ),
        required=question.required,
        can_go_back=bool(state.history),
        notice=question.notice.get(language, default) if question.notice else None,
        minimum=question.minimum,
        maximum=question.maximum,
        max_length=question.max_length,
        previous=state.earlier,
        number=len(state.history) + 1,
        progress=position / len(survey.steps),
    )


def _ending(survey: Survey, state: State) -> Completed:
    text = survey.thank_you.get(state.language, survey.default_language) if survey.thank_you else None
    return Completed(text, declined=state.status is Status.DECLINED)
