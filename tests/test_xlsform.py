"""XLSForm import: forms as KoboToolbox and ODK users build them, and the mistakes they make."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from surveys.document import to_yaml
from surveys.engine import start, step
from surveys.errors import SurveyInvalid
from surveys.inputs import Toggle
from surveys.loader import check_survey, load_survey, survey_from_yaml
from surveys.model import Audience, Group, Kind
from tests.test_engine import summary

SURVEY = [
    [
        "type",
        "name",
        "label::English (en)",
        "label::Polski (pl)",
        "hint::English (en)",
        "required",
        "relevant",
        "constraint",
        "constraint_message::English (en)",
        "appearance",
        "parameters",
    ],
    ["start", "start", None, None, None, None, None, None, None, None, None],
    [
        "acknowledge",
        "consent",
        "Do you agree?",
        "Czy się zgadzasz?",
        "We keep answers for a year.",
        None,
        None,
        None,
        None,
        None,
        None,
    ],
    ["select_one yn", "tenant", "Are you a tenant?", "Czy jesteś najemcą?", None, "yes", None, None, None, None, None],
    ["begin group", "home", "Your home", "Twój dom", None, None, "${tenant} = 'yes'", None, None, None, None],
    ["select_one sat", "overall", "How satisfied?", "Jak bardzo?", None, "true()", None, None, None, "likert", None],
    [
        "integer",
        "rooms",
        "How many rooms?",
        "Ile pokoi?",
        None,
        None,
        None,
        ". > 0 and . < 20",
        "Between 1 and 19",
        None,
        None,
    ],
    ["end group", None, None, None, None, None, None, None, None, None, None],
    [
        "select_multiple issues",
        "issues",
        "What matters?",
        "Co jest ważne?",
        None,
        None,
        None,
        "count-selected(.) <= 2",
        None,
        None,
        None,
    ],
    [
        "select_one issues or_other",
        "top",
        "Top issue?",
        "Najważniejsze?",
        None,
        None,
        "count-selected(${issues}) > 1",
        None,
        None,
        None,
        None,
    ],
    ["range", "nps", "Recommend us?", "Polecisz nas?", None, None, None, None, None, None, "start=0 end=10 step=1"],
    ["text", "why", "Why?", "Dlaczego?", None, None, None, None, None, None, None],
    ["decimal", "rent", "Weekly rent?", "Czynsz?", None, None, None, None, None, None, None],
    ["date", "moved", "When did you move in?", "Kiedy?", None, None, None, None, None, None, None],
    ["note", "bye", "Thanks!", "Dzięki!", None, None, None, None, None, None, None],
]
CHOICES = [
    ["list_name", "name", "label::English (en)", "label::Polski (pl)"],
    ["yn", "yes", "Yes", "Tak"],
    ["yn", "no", "No", "Nie"],
    ["sat", "good", "Good", "Dobrze"],
    ["sat", "bad", "Bad", "Źle"],
    ["issues", "repairs", "Repairs", "Naprawy"],
    ["issues", "safety", "Safety", "Bezpieczeństwo"],
    ["issues", "noise", "Noise", "Hałas"],
]
SETTINGS = [
    ["form_title", "form_id", "default_language", "version", "audience", "anonymous", "schedule", "reminders_max"],
    ["Tenant voice", "tenant-voice", "English (en)", "2026-11", "residents", "no", "0 10 * * 1", 1],
]


def test_a_full_form_loads_with_types_translations_logic_and_groups(write_xlsform: Callable[..., Path]) -> None:
    loaded = check_survey(write_xlsform(survey=SURVEY, choices=CHOICES, settings=SETTINGS))
    survey = loaded.survey
    assert survey.id == "tenant-voice"
    assert survey.title.get("en", "en") == "Tenant voice"
    assert survey.languages == ("en", "pl")
    assert survey.metadata.audience is Audience.RESIDENTS
    assert survey.metadata.schedule == "0 10 * * 1"
    assert survey.metadata.reminders.maximum == 1
    kinds = {step.question.id: step.question.kind for step in survey.steps}
    assert kinds == {
        "consent": Kind.CONSENT,
        "tenant": Kind.SELECT_ONE,
        "overall": Kind.LIKERT,
        "rooms": Kind.INTEGER,
        "issues": Kind.SELECT_MULTIPLE,
        "top": Kind.SELECT_ONE,
        "top_other": Kind.TEXT,
        "nps": Kind.RATING,
        "why": Kind.TEXT,
        "rent": Kind.DECIMAL,
        "moved": Kind.DATE,
        "bye": Kind.NOTE,
    }
    group = survey.items[2]
    assert isinstance(group, Group) and group.id == "home"
    assert group.relevant is not None and group.relevant.source == "${tenant} = 'yes'"
    consent = survey.question("consent")
    assert consent is not None and consent.notice is not None
    assert consent.notice.get("en", "en") == "We keep answers for a year."
    tenant = survey.question("tenant")
    assert tenant is not None and tenant.required
    assert tenant.label.get("pl", "en") == "Czy jesteś najemcą?"
    assert [c.label.get("pl", "en") for c in tenant.choices] == ["Tak", "Nie"]
    rooms = survey.question("rooms")
    assert rooms is not None and rooms.constraint is not None and rooms.constraint_message is not None
    assert rooms.constraint_message.get("pl", "en") == "Between 1 and 19"  # falls back to English
    nps = survey.question("nps")
    assert nps is not None and (nps.minimum, nps.maximum) == (0, 10)
    assert str(loaded.warnings[0]) == "form.xlsx: sheet 'settings' row 2: setting 'version' is ignored by Chorus"
    assert "'start' is ignored by Chorus" in str(loaded.warnings[1])
    assert any("'constraint_message' has no 'pl' translation" in str(w) for w in loaded.warnings)


def test_converting_to_yaml_keeps_the_survey_exactly(write_xlsform: Callable[..., Path]) -> None:
    survey = load_survey(write_xlsform(survey=SURVEY, choices=CHOICES, settings=SETTINGS))
    again = survey_from_yaml(to_yaml(survey))
    assert again == survey
    assert again.version == survey.version


def test_bare_english_language_names_are_understood(write_xlsform: Callable[..., Path]) -> None:
    survey = load_survey(
        write_xlsform(survey=[["type", "name", "label::English", "label::Welsh"], ["text", "q", "Hello", "Helo"]])
    )
    assert survey.languages == ("en", "cy")


def test_a_plain_label_column_is_english_without_settings(write_xlsform: Callable[..., Path]) -> None:
    survey = load_survey(write_xlsform("My Form.xlsx", survey=[["type", "name", "label"], ["text", "q", "Hello"]]))
    assert (survey.id, survey.default_language, survey.languages) == ("my-form", "en", ("en",))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [["geopoint", "where", "Where?"]],
            "form.xlsx: sheet 'survey' row 2: 'where': Chorus does not support locations (geopoint)",
        ),
        ([["image", "photo", "Photo"]], "row 2: 'photo': Chorus does not support photos and files (image)"),
        ([["begin repeat", "kids", "Kids"], ["text", "k", "K"], ["end repeat", None, None]], "repeat groups"),
        (
            [["text", "a", "A"], ["calculate", "c", None]],
            "row 3: 'c': Chorus does not support calculations (calculate)",
        ),
        ([["teleport", "t", "T"]], "row 2: 't': unknown question type 'teleport'"),
        ([["select_one nolist", "q", "Q"]], "row 2: question 'q': unknown choice list 'nolist'"),
        ([["begin group", "g", "G"], ["text", "q", "Q"]], "row 2: this 'begin group' has no 'end group'"),
        ([["text", "q", "Q"], ["end group", None, None]], "row 3: 'end group' without a 'begin group'"),
        ([["text", "q", "Q"], ["text", "q", "Q again"]], "row 3: question 'q': this id is already used"),
        ([["text", "q", "Q", "${nope} = 1"]], "row 2: question 'q': relevant refers to ${nope}"),
        ([["text", "q", "Q", "${q = 1"]], "row 2: question 'q': relevant '${q = 1'"),
        ([[None, "q", "Q"]], "row 2: this row has no type"),
    ],
)
def test_malformed_forms_name_the_sheet_and_row(
    write_xlsform: Callable[..., Path], rows: list[list[object]], expected: str
) -> None:
    path = write_xlsform(survey=[["type", "name", "label", "relevant"], *rows])
    with pytest.raises(SurveyInvalid) as caught:
        load_survey(path)
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


def test_unsupported_columns_are_errors_not_silently_dropped(write_xlsform: Callable[..., Path]) -> None:
    path = write_xlsform(survey=[["type", "name", "label", "calculation"], ["text", "q", "Q", "1 + 1"]])
    with pytest.raises(SurveyInvalid, match="row 2: Chorus does not support the 'calculation' column"):
        load_survey(path)


def test_a_choice_filter_to_the_earlier_picks_offers_only_those(write_xlsform: Callable[..., Path]) -> None:
    survey = load_survey(
        write_xlsform(
            survey=[
                ["type", "name", "label", "choice_filter"],
                ["select_multiple issues", "matters", "What matters?", None],
                ["select_one issues", "first", "Which first?", "selected( ${matters} , name )"],
            ],
            choices=[["list_name", "name", "label"], ["issues", "roof", "Roof"], ["issues", "damp", "Damp"]],
        )
    )
    first = survey.question("first")
    assert first is not None and first.choices_from == "matters"
    assert survey_from_yaml(to_yaml(survey)).version == survey.version


@pytest.mark.parametrize(
    ("constraint", "most"),
    [("count-selected(.) <= 2", 2), ("count-selected( . )<3", 2), ("count-selected(.) >= 2", None)],
)
def test_at_most_so_many_ticks_is_read_as_the_questions_max_and_still_checked(
    write_xlsform: Callable[..., Path], constraint: str, most: int | None
) -> None:
    survey = load_survey(
        write_xlsform(
            survey=[
                ["type", "name", "label", "constraint", "constraint_message"],
                ["select_multiple issues", "matters", "What matters?", constraint, "Two at most, please"],
            ],
            choices=[["list_name", "name", "label"], *[["issues", v, v.title()] for v in ("roof", "damp", "bins")]],
        )
    )
    matters = survey.question("matters")
    assert matters is not None and matters.maximum == most and matters.constraint is not None
    state, _ = start(survey)
    for value in ("roof", "damp", "bins"):
        state, outputs = step(survey, state, Toggle(value))
    third_tick = "rejected:too_many_choices" if most else "ask:matters[roof,damp,bins]"
    assert summary(outputs[-1]) == third_tick
    assert survey_from_yaml(to_yaml(survey)).version == survey.version


@pytest.mark.parametrize(
    ("row", "given"),
    [
        (["select_one issues", "first", "Which first?", "region = ${area}"], "region = ${area}"),
        (["text", "why", "Why?", "selected(${matters}, name)"], "selected(${matters}, name)"),
    ],
)
def test_any_other_choice_filter_is_named_as_unsupported(
    write_xlsform: Callable[..., Path], row: list[str], given: str
) -> None:
    path = write_xlsform(
        survey=[["type", "name", "label", "choice_filter"], ["select_multiple issues", "matters", "M?", None], row],
        choices=[["list_name", "name", "label"], ["issues", "roof", "Roof"]],
    )
    with pytest.raises(SurveyInvalid) as caught:
        load_survey(path)
    expected = f"row 3: '{row[1]}': Chorus supports a choice_filter only as selected(${{question}}, name) on a select"
    assert any(expected in str(p) and given in str(p) for p in caught.value.problems), caught.value.problems


def test_a_language_without_a_code_is_an_error(write_xlsform: Callable[..., Path]) -> None:
    path = write_xlsform(survey=[["type", "name", "label::Klingonese"], ["text", "q", "Q"]])
    with pytest.raises(
        SurveyInvalid, match=r"cannot tell which language 'Klingonese' is; write it as 'Klingonese \(xx\)'"
    ):
        load_survey(path)


def test_a_form_without_a_survey_sheet_is_an_error(write_xlsform: Callable[..., Path]) -> None:
    with pytest.raises(SurveyInvalid, match=re.escape("form.xlsx: an XLSForm needs a sheet named 'survey'")):
        load_survey(write_xlsform(choices=CHOICES))


def test_a_file_that_is_not_a_spreadsheet_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(SurveyInvalid, match=re.escape("broken.xlsx: cannot read this as an .xlsx file")):
        load_survey(path)
