"""The conversation engine, as tables of "this state and input give these outputs" (see surveys/engine.mmd)."""

from __future__ import annotations

import pytest

from surveys.engine import COMMENT_LIMIT, prompt, start, step
from surveys.errors import StateError
from surveys.inputs import Back, ChangeLanguage, Done, Input, Pick, Reply, Skip, Toggle
from surveys.model import Kind
from surveys.outputs import AskQuestion, Completed, Noted, Output, Reason, Rejected, ShowText
from surveys.state import State, Status
from tests.conftest import survey_of

FLOW = survey_of(
    """
    id: flow
    title: Flow
    languages: [en, pl]
    intro: Welcome
    thank_you: {en: Thanks, pl: Dzięki}
    questions:
      - {id: consent, type: consent, label: "OK?", notice: We keep answers safe.}
      - {id: tenant, type: yes_no, label: {en: "Tenant?", pl: "Najemca?"}, required: true}
      - group: home
        relevant: "${tenant} = 'yes'"
        questions:
          - id: rooms
            type: integer
            label: Rooms?
            constraint: ". < 10"
            constraint_message: Fewer than ten, please.
          - {id: about_repairs, type: note, label: Now about repairs.}
          - id: repairs
            type: select_multiple
            label: Repairs?
            required: true
            required_message: Please pick at least one.
            other: true
            choices: [{value: roof, label: Roof}, {value: damp, label: Damp}]
      - {id: idea, type: text, label: "Idea?"}
    """
)


def summary(output: Output) -> str:
    """A compact line per output so a table of cases stays readable."""
    if isinstance(output, ShowText):
        return f"text:{output.text}"
    if isinstance(output, AskQuestion):
        chosen = ",".join(c.value for c in output.choices if c.selected)
        return f"ask:{output.question_id}" + (f"[{chosen}]" if chosen else "")
    if isinstance(output, Rejected):
        return f"rejected:{output.reason.value}" + (f":{output.message}" if output.message else "")
    if isinstance(output, Noted):
        return f"noted:{output.question_id}"
    return "declined" if output.declined else f"completed:{output.text}"


def converse(inputs: list[Input], language: str | None = None) -> tuple[State, list[list[str]]]:
    state, outputs = start(FLOW, language)
    shown = [[summary(o) for o in outputs]]
    for given in inputs:
        state, outputs = step(FLOW, state, given)
        shown.append([summary(o) for o in outputs])
    return state, shown


CASES: list[tuple[str, list[Input], list[str]]] = [
    ("start shows the intro and the consent question", [], ["text:Welcome", "ask:consent"]),
    ("declining consent ends at once", [Pick(("decline",))], ["declined"]),
    ("typing no declines consent too", [Reply("no")], ["declined"]),
    ("a skipped group is never asked", [Reply("agree"), Reply("no")], ["ask:idea"]),
    ("a relevant group is asked", [Reply("agree"), Reply("yes")], ["ask:rooms"]),
    (
        "a broken constraint shows the author's message",
        [Reply("agree"), Reply("yes"), Reply("12")],
        ["rejected:constraint:Fewer than ten, please."],
    ),
    (
        "notes are shown on the way to the next question",
        [Reply("agree"), Reply("yes"), Reply("3")],
        ["text:Now about repairs.", "ask:repairs"],
    ),
    (
        "an optional question can be skipped",
        [Reply("agree"), Reply("yes"), Skip()],
        ["text:Now about repairs.", "ask:repairs"],
    ),
    ("a required question cannot be skipped", [Reply("agree"), Skip()], ["rejected:required"]),
    (
        "the author's required message is used",
        [Reply("agree"), Reply("yes"), Skip(), Skip()],
        ["rejected:required:Please pick at least one."],
    ),
    ("an empty reply to a required question is refused", [Reply("agree"), Reply("  ")], ["rejected:required"]),
    (
        "toggles build a multiple-choice answer",
        [Reply("agree"), Reply("yes"), Skip(), Toggle("damp"), Toggle("roof")],
        ["ask:repairs[roof,damp]"],
    ),
    (
        "toggling again unselects",
        [Reply("agree"), Reply("yes"), Skip(), Toggle("damp"), Toggle("damp")],
        ["ask:repairs"],
    ),
    ("done answers with the toggles", [Reply("agree"), Reply("yes"), Skip(), Toggle("damp"), Done()], ["ask:idea"]),
    (
        "done with nothing toggled is a skip",
        [Reply("agree"), Reply("yes"), Skip(), Done()],
        ["rejected:required:Please pick at least one."],
    ),
    ("toggle is only for multiple choice", [Reply("agree"), Toggle("yes")], ["rejected:not_applicable"]),
    ("other asks to say what", [Reply("agree"), Reply("yes"), Skip(), Reply("damp, other")], ["ask:repairs_other"]),
    (
        "a word or two naming no choice, where other is offered, is the other answer",
        [Reply("agree"), Reply("yes"), Skip(), Reply("Mould")],
        ["ask:idea"],
    ),
    (
        "a slip of the thumb for a choice is asked about again, not taken as other",
        [Reply("agree"), Reply("yes"), Skip(), Reply("dmap")],
        ["rejected:not_a_choice"],
    ),
    (
        "none, all or don't know, where other is offered, is asked about again, not taken as other",
        [Reply("agree"), Reply("yes"), Skip(), Reply("Nothing")],
        ["rejected:not_a_choice"],
    ),
    (
        "so are yes and no, in any language Chorus speaks",
        [Reply("agree"), Reply("yes"), Skip(), Reply("nie")],
        ["rejected:not_a_choice"],
    ),
    (
        "words naming a choice and something else are asked about again",
        [Reply("agree"), Reply("yes"), Skip(), Reply("roof, mould")],
        ["rejected:not_a_choice"],
    ),
    (
        "the other text is required",
        [Reply("agree"), Reply("yes"), Skip(), Reply("other"), Skip()],
        ["rejected:required"],
    ),
    ("back returns to the previous question", [Reply("agree"), Reply("yes"), Back()], ["ask:tenant"]),
    ("back skips over notes and irrelevant questions", [Reply("agree"), Reply("no"), Back()], ["ask:tenant"]),
    ("back at the first question is refused", [Back()], ["rejected:cannot_go_back"]),
    (
        "a press on an old question's button is stale",
        [Reply("agree"), Pick(("agree",), question_id="consent")],
        ["rejected:stale"],
    ),
    (
        "the last answer completes in the participant's language",
        [Reply("agree"), Reply("no"), Reply("More trees")],
        ["completed:Thanks"],
    ),
    (
        "after the end, answers are refused",
        [Reply("agree"), Reply("no"), Skip(), Reply("hello")],
        ["rejected:finished"],
    ),
    ("a language the survey lacks is refused", [ChangeLanguage("de")], ["rejected:unknown_language"]),
    (
        "a sentence at a choice is kept as a comment, and the question stands",
        [Reply("agree"), Reply("I rent from the co-op")],
        ["noted:tenant"],
    ),
    (
        "a word or two at a choice is a slip, asked again",
        [Reply("agree"), Reply("not sure")],
        ["rejected:not_a_choice"],
    ),
    (
        "a sentence at the consent question is not kept",
        [Reply("what is this for")],
        ["rejected:not_a_choice"],
    ),
    (
        "a sentence at a number question is kept as a comment",
        [Reply("agree"), Reply("yes"), Reply("three and a box room")],
        ["noted:rooms"],
    ),
    (
        "a word or two at a number question is a slip",
        [Reply("agree"), Reply("yes"), Reply("three rooms")],
        ["rejected:not_a_number"],
    ),
    (
        "a number in words is the number",
        [Reply("agree"), Reply("yes"), Reply("three")],
        ["text:Now about repairs.", "ask:repairs"],
    ),
    (
        "a sentence at a multiple choice is kept as a comment",
        [Reply("agree"), Reply("yes"), Skip(), Reply("the damp in the bathroom is the worst")],
        ["noted:repairs"],
    ),
]


@pytest.mark.parametrize(("inputs", "last"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_conversation(inputs: list[Input], last: list[str]) -> None:
    _, shown = converse(inputs)
    assert shown[-1] == last


def test_comments_gather_under_their_question_and_stay_with_its_answer() -> None:
    noted, _ = converse([Reply("agree"), Reply("  I rent from the co-op "), Reply("since 2019 in fact")])
    assert noted.current == "tenant" and noted.history == ("consent",)
    assert dict(noted.notes) == {"tenant": "I rent from the co-op\n\nsince 2019 in fact"}
    answered, _ = step(FLOW, noted, Reply("yes"))
    assert answered.answers["tenant"] == "yes" and answered.notes == noted.notes
    went_back, _ = step(FLOW, answered, Back())
    assert "tenant" not in went_back.answers and went_back.notes == noted.notes


def test_a_flood_of_comments_at_one_question_is_kept_only_up_to_the_limit() -> None:
    state, _ = converse([Reply("agree")])
    page = "the repairs never come " * 50
    outputs: tuple[Output, ...] = ()
    for _ in range(10):
        state, outputs = step(FLOW, state, Reply(page))
    assert 3 * len(page) < len(state.notes["tenant"]) <= COMMENT_LIMIT
    assert [summary(o) for o in outputs] == ["rejected:not_a_choice"], "past the limit, asked to choose"
    state, _ = step(FLOW, state, Reply("yes"))
    assert state.answers["tenant"] == "yes"


def test_a_sentence_at_a_date_question_is_kept_and_the_date_still_asked_for() -> None:
    survey = survey_of("id: d\ntitle: D\nquestions:\n  - {id: moved, type: date, label: 'Moved in?'}\n")
    state, _ = start(survey)
    state, outputs = step(survey, state, Reply("sometime in the spring of 2019"))
    assert outputs == (Noted("moved", Kind.DATE),) and state.current == "moved"
    state, _ = step(survey, state, Reply("01/04/2019"))
    assert state.answers["moved"] == "2019-04-01" and state.notes["moved"] == "sometime in the spring of 2019"


def test_nothing_typed_before_the_consent_question_is_kept() -> None:
    survey = survey_of(
        """
        id: early
        title: Early
        questions:
          - {id: lang, type: select_one, label: "Which?", choices: [{value: a, label: A}, {value: b, label: B}]}
          - {id: consent, type: consent, label: "OK?", notice: We keep answers safe.}
          - {id: score, type: rating, label: "Score?", min: 0, max: 10}
        """
    )
    state, _ = start(survey)
    state, outputs = step(survey, state, Reply("neither of these fits me"))
    assert [summary(o) for o in outputs] == ["rejected:not_a_choice"] and not state.notes
    state, _ = step(survey, state, Reply("a"))
    state, _ = step(survey, state, Reply("agree"))
    state, outputs = step(survey, state, Reply("about seven I suppose"))
    assert [summary(o) for o in outputs] == ["noted:score"]
    assert dict(state.notes) == {"score": "about seven I suppose"}


def test_typed_words_naming_no_choice_join_the_ticks_as_other_and_back_shows_them() -> None:
    state, _ = converse([Reply("agree"), Reply("yes"), Skip(), Toggle("damp"), Reply("  black mould ")])
    assert state.current == "idea"
    assert state.answers["repairs"] == ("damp", "other") and state.answers["repairs_other"] == "black mould"
    state, outputs = step(FLOW, state, Back())
    asked = outputs[0]
    assert isinstance(asked, AskQuestion) and asked.question_id == "repairs_other" and asked.previous == "black mould"


def test_other_typed_at_a_multiple_choice_already_at_its_most_is_refused() -> None:
    capped = survey_of(
        """
        id: capped
        title: Capped
        questions:
          - id: issues
            type: select_multiple
            label: "Which?"
            max: 1
            other: true
            choices: [{value: roof, label: Roof}, {value: damp, label: Damp}]
        """
    )
    state, _ = start(capped)
    state, _ = step(capped, state, Toggle("roof"))
    state, outputs = step(capped, state, Reply("mould"))
    assert [summary(o) for o in outputs] == ["rejected:too_many_choices"]
    assert state.current == "issues" and state.draft == ("roof",) and not state.answers


def test_words_typed_where_choices_from_left_other_out_are_not_taken_as_other() -> None:
    survey = survey_of(
        """
        id: filtered
        title: Filtered
        choice_lists:
          issues: [{value: roof, label: Roof}, {value: damp, label: Damp}, {value: bins, label: Bins}]
        questions:
          - {id: issues, type: select_multiple, label: "Which?", choices: issues}
          - {id: first, type: select_one, label: "Which first?", choices: issues, choices_from: issues, other: true}
        """
    )
    state, _ = step(survey, start(survey)[0], Reply("roof, damp"))
    state, outputs = step(survey, state, Reply("potholes"))
    assert outputs == (Rejected(Reason.NOT_A_CHOICE, "first", None, {"text": "potholes"}),)


def test_back_shows_the_previous_answer_and_forgets_it() -> None:
    answered, _ = converse([Reply("agree"), Reply("yes"), Reply("4")])
    assert answered.current == "repairs" and answered.answers["rooms"] == 4
    state, outputs = step(FLOW, answered, Back())
    assert state.current == "rooms" and "rooms" not in state.answers
    assert state.history == ("consent", "tenant")
    asked = outputs[0]
    assert isinstance(asked, AskQuestion) and asked.previous == 4 and asked.can_go_back


def test_the_answer_before_stays_with_a_question_gone_back_to_until_it_is_answered_again() -> None:
    """Changing language, or coming back days later, showed the question again without it."""
    answered, _ = converse([Reply("agree"), Reply("yes"), Reply("4")])
    went_back, _ = step(FLOW, answered, Back())
    for shown in (step(FLOW, went_back, ChangeLanguage("pl"))[1][0], prompt(FLOW, went_back)[0]):
        assert isinstance(shown, AskQuestion) and shown.question_id == "rooms" and shown.previous == 4
    saved = State.from_json(went_back.to_json())
    assert saved == went_back and saved.earlier == 4
    refused, _ = step(FLOW, went_back, Reply("12"))
    assert refused.earlier == 4, "a refused answer leaves it"
    moved_on, outputs = step(FLOW, went_back, Reply("5"))
    assert moved_on.earlier is None and isinstance(outputs[-1], AskQuestion) and outputs[-1].previous is None


def test_back_to_a_multiple_choice_ticks_the_earlier_picks_and_done_keeps_them() -> None:
    answered, _ = converse([Reply("agree"), Reply("yes"), Reply("4"), Toggle("damp"), Toggle("roof"), Done()])
    assert answered.current == "idea" and answered.answers["repairs"] == ("roof", "damp")
    state, outputs = step(FLOW, answered, Back())
    asked = outputs[0]
    assert isinstance(asked, AskQuestion) and [c.selected for c in asked.choices] == [True, True, False]
    state, _ = step(FLOW, state, Toggle("roof"))
    state, _ = step(FLOW, state, Done())
    assert state.current == "idea" and state.answers["repairs"] == ("damp",)


def test_changing_language_asks_the_same_question_in_the_new_language() -> None:
    state, _ = converse([Reply("agree")])
    state, outputs = step(FLOW, state, ChangeLanguage("pl"))
    asked = outputs[0]
    assert isinstance(asked, AskQuestion) and asked.text == "Najemca?"
    assert [c.label for c in asked.choices] == ["Tak", "Nie"]
    assert state.language == "pl"


def test_starting_in_an_unoffered_language_uses_the_default() -> None:
    state, _ = start(FLOW, "ur")
    assert state.language == "en"


def test_completion_records_only_what_was_asked() -> None:
    state, _ = converse([Reply("agree"), Reply("no"), Reply("Benches")])
    assert state.status is Status.COMPLETED and state.current is None
    assert dict(state.answers) == {"consent": "agree", "tenant": "no", "idea": "Benches"}


def test_a_declined_survey_keeps_only_the_refusal() -> None:
    state, _ = converse([Reply("no")])
    assert state.status is Status.DECLINED
    assert dict(state.answers) == {"consent": "decline"}
    assert prompt(FLOW, state) == (Completed("Thanks", declined=True),)


def test_a_saved_state_resumes_exactly_where_it_was() -> None:
    state, _ = converse([Reply("agree"), Reply("yes"), Reply("4"), Reply("mostly the damp one"), Toggle("damp")])
    saved = State.from_json(state.to_json())
    assert saved == state
    assert [summary(o) for o in prompt(FLOW, saved)] == ["ask:repairs[damp]"]
    assert step(FLOW, saved, Done()) == step(FLOW, state, Done())


def test_a_state_saved_before_comments_were_kept_resumes_with_none() -> None:
    state, _ = converse([Reply("agree"), Reply("yes")])
    older = {k: v for k, v in state.to_json().items() if k != "notes"}
    assert State.from_json(older) == state


def test_a_state_from_another_version_is_refused() -> None:
    other = survey_of("id: flow\ntitle: Flow 2\nquestions: [{id: q, type: text, label: Q}]\n")
    state, _ = start(other)
    with pytest.raises(StateError, match="belongs to survey flow version"):
        step(FLOW, state, Skip())


@pytest.mark.parametrize(
    "damaged",
    [
        {},
        {"survey": "flow"},
        {**start(FLOW)[0].to_json(), "status": "dancing"},
        {**start(FLOW)[0].to_json(), "history": ["tenant"]},
        {**start(FLOW)[0].to_json(), "answers": {"x": {"nested": 1}}, "history": ["x"]},
        {**start(FLOW)[0].to_json(), "notes": {"tenant": 3}},
        "not even a mapping",
    ],
)
def test_a_damaged_state_is_refused_not_resumed(damaged: object) -> None:
    with pytest.raises(StateError, match="damaged"):
        State.from_json(damaged)


FIRST = survey_of(
    """
    id: first
    title: First
    choice_lists:
      issues: [{value: roof, label: Roof}, {value: damp, label: Damp}, {value: bins, label: Bins}]
    questions:
      - {id: issues, type: select_multiple, label: "Which?", choices: issues, other: true}
      - {id: first, type: select_one, label: "Which first?", choices: issues, choices_from: issues, required: true}
    """
)


def test_a_tick_beyond_the_most_allowed_is_refused_at_once_and_one_can_still_be_unticked() -> None:
    capped = survey_of(
        "id: capped\ntitle: Capped\nchoice_lists:\n  issues: [{value: roof, label: Roof}, {value: damp, label: Damp},"
        " {value: bins, label: Bins}]\nquestions:\n"
        "  - {id: issues, type: select_multiple, label: Which, choices: issues, max: 2}\n"
    )
    state, _ = start(capped)
    state, _ = step(capped, state, Toggle("roof"))
    two, _ = step(capped, state, Toggle("damp"))
    refused, outputs = step(capped, two, Toggle("bins"))
    assert refused == two and [summary(o) for o in outputs] == ["rejected:too_many_choices"]
    assert outputs[0].params == {"maximum": 2}
    state, outputs = step(capped, two, Toggle("roof"))
    assert [summary(o) for o in outputs] == ["ask:issues[damp]"]
    state, outputs = step(capped, state, Toggle("bins"))
    assert [summary(o) for o in outputs] == ["ask:issues[damp,bins]"]


def test_choices_from_offers_only_what_was_picked_in_the_earlier_question() -> None:
    state, _ = start(FIRST)
    state, outputs = step(FIRST, state, Reply("bins, roof, other"))
    state, outputs = step(FIRST, state, Reply("Leaks"))
    asked = outputs[-1]
    assert isinstance(asked, AskQuestion) and asked.question_id == "first"
    assert [(c.value, c.position) for c in asked.choices] == [("roof", 0), ("bins", 2)]
    assert summary(step(FIRST, state, Pick(("damp",)))[1][0]) == "rejected:stale", "a button from before"
    assert summary(step(FIRST, state, Pick(("lifts",)))[1][0]) == "rejected:not_a_choice"
    answered, _ = step(FIRST, state, Reply("2"))
    assert answered.answers["first"] == "bins", "a typed number counts among the choices offered"


def test_choices_from_follows_a_changed_answer_and_offers_all_when_nothing_shared_was_picked() -> None:
    state, _ = start(FIRST)
    state, _ = step(FIRST, state, Reply("roof, damp"))
    state, _ = step(FIRST, state, Back())
    state, _ = step(FIRST, state, Toggle("roof"))
    state, _ = step(FIRST, state, Toggle("bins"))
    state, outputs = step(FIRST, state, Done())
    asked = outputs[-1]
    assert isinstance(asked, AskQuestion) and [c.value for c in asked.choices] == ["damp", "bins"]
    state, _ = step(FIRST, state, Back())
    state, _ = step(FIRST, state, Skip())
    assert [summary(o) for o in prompt(FIRST, state)] == ["ask:first"]
    asked = prompt(FIRST, state)[0]
    assert isinstance(asked, AskQuestion) and [c.value for c in asked.choices] == ["roof", "damp", "bins"]
