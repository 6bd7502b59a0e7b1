"""Turns a Raw document from either loader into a Survey, collecting every problem with its location.

All the rules an officer can break live here once, whichever format they wrote.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from surveys.answers import MOST_DIGITS
from surveys.cron import crontab_trigger
from surveys.errors import ExpressionError, Location, Problem, SurveyInvalid
from surveys.expressions import Expression, parse
from surveys.expressions.nodes import Call, Literal, Reference
from surveys.model import (
    Audience,
    Choice,
    Erasure,
    Group,
    Kind,
    Metadata,
    Question,
    Reminders,
    Survey,
    other_follow_up,
)
from surveys.raw import Raw
from surveys.scales import CONSENT, DONT_KNOW, OTHER, OTHER_PROMPT, SCALES, YES_NO, localised, only
from surveys.text import Text

SURVEY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
QUESTION_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
CHOICE_VALUE = re.compile(r"[^\s]{1,64}")
LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")

METADATA_KEYS = ("audience", "anonymous", "organisation", "service", "area", "schedule", "timezone", "on_erasure")
TOP_KEYS = frozenset(
    {"id", "title", "default_language", "languages", "reminders", "intro", "thank_you", "choice_lists", "questions"}
    | {"placeholders", *METADATA_KEYS}
)
GROUP_KEYS = frozenset({"group", "label", "relevant", "questions"})
SHOWN_KEYS = frozenset({"id", "type", "label", "hint", "relevant"})
ANSWERED_KEYS = SHOWN_KEYS | {"required", "required_message", "constraint", "constraint_message"}
KIND_KEYS: dict[Kind, frozenset[str]] = {
    Kind.NOTE: SHOWN_KEYS,
    Kind.SELECT_ONE: ANSWERED_KEYS | {"choices", "other", "choices_from"},
    Kind.SELECT_MULTIPLE: ANSWERED_KEYS | {"choices", "other", "min", "max", "choices_from"},
    Kind.LIKERT: ANSWERED_KEYS | {"scale", "choices", "dont_know"},
    Kind.RATING: ANSWERED_KEYS | {"min", "max"},
    Kind.YES_NO: ANSWERED_KEYS,
    Kind.TEXT: ANSWERED_KEYS | {"max_length"},
    Kind.INTEGER: ANSWERED_KEYS | {"min", "max"},
    Kind.DECIMAL: ANSWERED_KEYS | {"min", "max"},
    Kind.DATE: ANSWERED_KEYS,
    Kind.CONSENT: ANSWERED_KEYS | {"notice"},
}
ALL_QUESTION_KEYS = frozenset().union(*KIND_KEYS.values())
DEFAULT_MAX_LENGTH = 1000
LONGEST_TEXT = 4000
MOST_RATING_POINTS = 11


def build_survey(document: Raw) -> tuple[Survey, list[Problem]]:
    """Check a Raw document and build its Survey with warnings; raises SurveyInvalid listing every error."""
    builder = _Builder(document)
    return builder.build(), builder.warnings


def _starts_sentence(before: str) -> bool:
    """Whether text placed after `before` begins a sentence, where "your landlord" must read "Your landlord"."""
    before = before.rstrip()
    return not before or before[-1] in ".!?"


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Builder:
    def __init__(self, document: Raw) -> None:
        self.document = document
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.languages: tuple[str, ...] = ("en",)
        self.choice_lists: dict[str, tuple[Choice, ...]] = {}
        self.declared: set[str] = set()
        self.seen: dict[str, Question] = {}
        self.later: set[str] = set()
        self.placeholders: dict[str, str] = {}

    def error(self, where: Location, subject: str, message: str) -> None:
        self.problems.append(Problem(where, subject, message))

    def build(self) -> Survey:
        doc = self.document
        self.unknown_keys(doc, TOP_KEYS, "")
        survey_id = self.string(doc, "id", "", required=True) or ""
        if survey_id and not SURVEY_ID.fullmatch(survey_id):
            self.error(doc.where("id"), "", f"survey id '{survey_id}' must be lower-case letters, digits, - or _")
        self.read_languages(doc)
        self.read_placeholders(doc)
        title = self.text(doc, "title", "", required=True)
        self.read_choice_lists(doc)
        self.later = set(_all_ids(doc.get("questions")))
        questions = doc.get("questions")
        items: tuple[Question | Group, ...] = ()
        if not isinstance(questions, list) or not questions:
            self.error(doc.where("questions" if "questions" in doc else None), "", "a survey needs a list of questions")
        else:
            items = self.items(questions, doc.where("questions"))
        metadata = self.metadata(doc)
        intro = self.text(doc, "intro", "")
        thank_you = self.text(doc, "thank_you", "")
        if self.problems:
            raise SurveyInvalid(self.problems)
        assert title is not None
        return Survey(survey_id, title, self.languages[0], self.languages, items, metadata, intro, thank_you)

    def unknown_keys(self, raw: Raw, allowed: frozenset[str], subject: str) -> None:
        for key in raw:
            if key not in allowed:
                self.error(raw.where(key), subject, f"unknown field '{key}'{_suggest(key, allowed)}")

    def read_languages(self, doc: Raw) -> None:
        default = self.string(doc, "default_language", "") or "en"
        listed = doc.get("languages", [default])
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            self.error(doc.where("languages"), "", "languages must be a list of language codes such as [en, pl]")
            listed = [default]
        for code in [default, *listed]:
            if not LANGUAGE.fullmatch(code):
                self.error(doc.where("languages"), "", f"'{code}' is not a language code such as en, pl or ur")
        if default not in listed:
            self.error(doc.where("languages"), "", f"the default language '{default}' must be among the languages")
        self.languages = (default, *[code for code in dict.fromkeys(listed) if code != default])

    def read_placeholders(self, doc: Raw) -> None:
        """`[landlord]` in any text becomes the organisation's name, as the TSM wording requires."""
        given = doc.get("placeholders", {})
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            self.error(
                doc.where("placeholders"), "", "placeholders must map names to text, e.g. landlord: Ancoats Co-op"
            )
            return
        self.placeholders = {f"[{name}]": value for name, value in given.items()}

    def fill(self, words: str) -> str:
        for placeholder, value in self.placeholders.items():
            first, *rest = words.split(placeholder)
            words = first
            for piece in rest:
                words += (value[:1].upper() + value[1:] if _starts_sentence(words) else value) + piece
        return words

    def string(self, raw: Raw, key: str, subject: str, required: bool = False) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.error(raw.where(), subject, f"'{key}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(raw.where(key), subject, f"'{key}' must be text")
            return None
        return str(value).strip()

    def text(self, raw: Raw, key: str, subject: str, required: bool = False) -> Text | None:
        value = raw.get(key)
        if value is None or value == "":
            if required:
                self.error(raw.where(), subject, f"'{key}' is required")
            return None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = {self.languages[0]: str(value)}
        if not isinstance(value, dict) or not value:
            self.error(raw.where(key), subject, f"'{key}' must be text, or a mapping of language to text")
            return None
        translations: dict[str, str] = {}
        for language, words in value.items():
            if language not in self.languages:
                self.error(
                    raw.where(key),
                    subject,
                    f"'{key}' has a translation in '{language}', which is not one of the survey's "
                    f"languages ({', '.join(self.languages)})",
                )
            elif not isinstance(words, str) or not words.strip():
                self.error(raw.where(key), subject, f"'{key}' in '{language}' must be non-empty text")
            else:
                translations[language] = self.fill(words)
        if translations:
            for missing in (lang for lang in self.languages if lang not in translations):
                shown = self.languages[0] if self.languages[0] in translations else next(iter(translations))
                message = f"'{key}' has no '{missing}' translation; '{shown}' will be shown instead"
                self.warnings.append(Problem(raw.where(key), subject, message))
        return Text(translations) if translations else None

    def boolean(self, raw: Raw, key: str, subject: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.error(raw.where(key), subject, f"'{key}' must be true or false, not {value!r}")
            return default
        return value

    def number(self, raw: Raw, key: str, subject: str, whole: bool) -> float | None:
        """A bound such as `min` or `max`; YAML's .inf and .nan are refused, and so is a bound longer than any
        answer can be, which would change nothing that is accepted."""
        value = raw.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
            or (whole and value != int(value))
        ):
            self.error(raw.where(key), subject, f"'{key}' must be a {'whole ' if whole else ''}number, not {value!r}")
            return None
        if abs(value) >= 10**MOST_DIGITS:
            self.error(
                raw.where(key), subject, f"'{key}' must have at most {MOST_DIGITS} digits, as answers do, not {value!r}"
            )
            return None
        return float(value)

    def read_choice_lists(self, doc: Raw) -> None:
        lists = doc.get("choice_lists", {})
        if not isinstance(lists, dict):
            self.error(doc.where("choice_lists"), "", "choice_lists must map list names to lists of choices")
            return
        for name, entries in lists.items():
            where = lists.where(name) if isinstance(lists, Raw) else doc.where("choice_lists")
            self.choice_lists[name] = self.choices(entries, where, f"choice list '{name}'")

    def choices(self, entries: Any, where: Location, subject: str) -> tuple[Choice, ...]:
        if not isinstance(entries, list) or not entries:
            self.error(where, subject, "must be a non-empty list of choices with value and label")
            return ()
        result: list[Choice] = []
        for entry in entries:
            if not isinstance(entry, Raw):
                self.error(where, subject, f"each choice needs a value and a label, not {entry!r}")
                continue
            self.unknown_keys(entry, frozenset({"value", "label", "score"}), subject)
            value = self.string(entry, "value", subject, required=True)
            label = self.text(entry, "label", subject, required=True)
            score = self.number(entry, "score", subject, whole=True)
            if value is None or label is None:
                continue
            if not CHOICE_VALUE.fullmatch(value):
                self.error(entry.where("value"), subject, f"choice value '{value}' must be one word without spaces")
            elif any(c.value == value for c in result):
                self.error(entry.where("value"), subject, f"choice value '{value}' is used twice")
            result.append(Choice(value, label, None if score is None else int(score)))
        return tuple(result)

    def items(self, entries: list[Any], where: Location) -> tuple[Question | Group, ...]:
        built: list[Question | Group] = []
        for entry in entries:
            if not isinstance(entry, Raw):
                self.error(where, "", f"each question must be a mapping with id, type and label, not {entry!r}")
            elif "group" in entry:
                group = self.group(entry)
                if group is not None:
                    built.append(group)
            else:
                question = self.question(entry)
                if question is not None:
                    built.append(question)
        return tuple(built)

    def claim(self, raw: Raw, key: str, kind: str) -> str | None:
        name = self.string(raw, key, f"a {kind}", required=True)
        if name is None:
            return None
        if not QUESTION_ID.fullmatch(name):
            self.error(raw.where(key), f"{kind} '{name}'", "ids are letters, digits and _ and start with a letter")
            return None
        if name in self.declared:
            self.error(raw.where(key), f"{kind} '{name}'", "this id is already used")
            return None
        self.declared.add(name)
        return name

    def group(self, raw: Raw) -> Group | None:
        name = self.claim(raw, "group", "group")
        subject = f"group '{name}'"
        self.unknown_keys(raw, GROUP_KEYS, subject)
        label = self.text(raw, "label", subject)
        relevant = self.expression(raw, "relevant", subject, current_allowed=False)
        inner = raw.get("questions")
        if not isinstance(inner, list) or not inner:
            self.error(raw.where(), subject, "a group needs a list of questions")
            return None
        items = self.items(inner, raw.where("questions"))
        return Group(name, label, relevant, items) if name else None

    def question(self, raw: Raw) -> Question | None:
        name = self.claim(raw, "id", "question")
        subject = f"question '{name}'"
        kind_name = self.string(raw, "type", subject, required=True)
        if name is None or kind_name is None:
            return None
        try:
            kind = Kind(kind_name)
        except ValueError:
            kinds = ", ".join(k.value for k in Kind)
            self.error(
                raw.where("type"), subject, f"unknown type '{kind_name}'{_suggest(kind_name, Kind)}; use one of {kinds}"
            )
            return None
        for key in raw:
            if key not in KIND_KEYS[kind] and key in ALL_QUESTION_KEYS:
                self.error(raw.where(key), subject, f"'{key}' does not apply to a {kind.value} question")
        self.unknown_keys(raw, ALL_QUESTION_KEYS, subject)
        question = Question(
            id=name,
            kind=kind,
            label=self.text(raw, "label", subject, required=True) or Text({}),
            hint=self.text(raw, "hint", subject),
            required=self.boolean(raw, "required", subject, default=kind is Kind.CONSENT),
            relevant=self.expression(raw, "relevant", subject, current_allowed=False),
            constraint=self.expression(raw, "constraint", subject, current_allowed=True),
            constraint_message=self.text(raw, "constraint_message", subject),
            required_message=self.text(raw, "required_message", subject),
        )
        question = self.specialise(raw, question, subject)
        if kind is not Kind.NOTE:
            self.seen[name] = question
            if question.other is not None:
                self.seen[f"{name}_other"] = other_follow_up(question)
        return question

    def specialise(self, raw: Raw, question: Question, subject: str) -> Question:
        """Fill in what only some kinds have: choices, limits, notices."""
        kind = question.kind
        if kind in (Kind.SELECT_ONE, Kind.SELECT_MULTIPLE):
            choices, listed = self.question_choices(raw, subject)
            other = self.other(raw, subject)
            if other is not None and not any(c.value == OTHER.value for c in choices):
                choices += localised((OTHER,), self.languages)
            question = replace(question, choices=choices, choice_list=listed, other=other)
            question = replace(question, choices_from=self.choices_from(raw, question, subject))
            if kind is Kind.SELECT_MULTIPLE:
                question = self.limits(raw, question, subject, whole=True, ceiling=len(choices))
        elif kind is Kind.LIKERT:
            question = replace(question, **self.likert(raw, subject))
        elif kind is Kind.RATING:
            question = self.limits(raw, replace(question, minimum=0.0, maximum=10.0), subject, whole=True)
            low, high = int(question.minimum or 0), int(question.maximum or 0)
            if high - low + 1 > MOST_RATING_POINTS:
                self.error(raw.where("max"), subject, f"a rating has at most {MOST_RATING_POINTS} points, e.g. 0 to 10")
            points = tuple(Choice(str(n), Text({self.languages[0]: str(n)}), n) for n in range(low, high + 1))
            question = replace(question, choices=points)
        elif kind is Kind.YES_NO:
            question = replace(question, choices=localised(YES_NO, self.languages))
        elif kind is Kind.CONSENT:
            notice = self.text(raw, "notice", subject, required=True)
            if not question.required:
                self.error(raw.where("required"), subject, "a consent question is always required")
            question = replace(question, notice=notice, required=True, choices=localised(CONSENT, self.languages))
        elif kind is Kind.TEXT:
            length = self.number(raw, "max_length", subject, whole=True)
            if length is not None and not 1 <= length <= LONGEST_TEXT:
                self.error(raw.where("max_length"), subject, f"max_length must be between 1 and {LONGEST_TEXT}")
            question = replace(question, max_length=int(length or DEFAULT_MAX_LENGTH))
        elif kind in (Kind.INTEGER, Kind.DECIMAL):
            question = self.limits(raw, question, subject, whole=kind is Kind.INTEGER)
        return question

    def question_choices(self, raw: Raw, subject: str) -> tuple[tuple[Choice, ...], str | None]:
        given = raw.get("choices")
        if isinstance(given, str):
            if given not in self.choice_lists:
                self.error(
                    raw.where("choices"), subject, f"unknown choice list '{given}'{_suggest(given, self.choice_lists)}"
                )
                return (), None
            return self.choice_lists[given], given
        if given is None:
            self.error(raw.where(), subject, "'choices' is required: a choice list name or a list of choices")
            return (), None
        return self.choices(given, raw.where("choices"), subject), None

    def choices_from(self, raw: Raw, question: Question, subject: str) -> str | None:
        """The earlier multiple choice whose picks this question offers; see surveys.engine.offered."""
        source = self.string(raw, "choices_from", subject)
        if source is None:
            return None
        earlier = self.seen.get(source)
        if earlier is None or earlier.kind is not Kind.SELECT_MULTIPLE:
            if earlier is not None:
                why = f"'{source}' is a {earlier.kind.value} question"
            elif source in self.later:
                why = f"'{source}' is asked later"
            else:
                why = f"'{source}' is not a question in this survey{_suggest(source, self.seen)}"
            message = f"choices_from must name an earlier select_multiple question; {why}"
            self.error(raw.where("choices_from"), subject, message)
            return None
        if not {c.value for c in earlier.choices} & {c.value for c in question.choices}:
            self.error(raw.where("choices_from"), subject, f"question '{source}' shares no choices with this question")
            return None
        return source

    def other(self, raw: Raw, subject: str) -> Text | None:
        if isinstance(raw.get("other"), bool) or "other" not in raw:
            return only(OTHER_PROMPT, self.languages) if self.boolean(raw, "other", subject, False) else None
        return self.text(raw, "other", subject)

    def likert(self, raw: Raw, subject: str) -> dict[str, Any]:
        if "choices" in raw:
            choices, listed = self.question_choices(raw, subject)
        else:
            scale = self.string(raw, "scale", subject) or "satisfaction"
            if scale not in SCALES:
                self.error(
                    raw.where("scale"), subject, f"unknown scale '{scale}'; use {' or '.join(SCALES)}, or give choices"
                )
            choices, listed = localised(SCALES.get(scale, ()), self.languages), None
        if self.boolean(raw, "dont_know", subject, False):
            choices += localised((DONT_KNOW,), self.languages)
        return {"choices": choices, "choice_list": listed}

    def limits(self, raw: Raw, question: Question, subject: str, whole: bool, ceiling: int | None = None) -> Question:
        low = self.number(raw, "min", subject, whole)
        high = self.number(raw, "max", subject, whole)
        low = question.minimum if low is None else low
        high = question.maximum if high is None else high
        if low is not None and high is not None and low > high:
            self.error(raw.where("min"), subject, f"min ({low:g}) is more than max ({high:g})")
        if ceiling is not None and (high or 0) > ceiling:
            self.error(raw.where("max"), subject, f"max ({high:g}) is more than the {ceiling} choices")
        return replace(question, minimum=low, maximum=high)

    def expression(self, raw: Raw, key: str, subject: str, current_allowed: bool) -> Expression | None:
        source = self.string(raw, key, subject)
        if not source:
            return None
        try:
            expression = parse(source)
        except ExpressionError as error:
            self.error(raw.where(key), subject, f"{key} '{source}': {error}")
            return None
        if expression.uses_current() and not current_allowed:
            self.error(raw.where(key), subject, f"{key} '{source}': '.' (this answer) can only be used in a constraint")
        for name in sorted(expression.references()):
            if name not in self.seen:
                why = (
                    "is asked later; only earlier answers can be used"
                    if name in self.later
                    else "is not a question in this survey"
                )
                self.error(raw.where(key), subject, f"{key} refers to ${{{name}}}, which {why}")
        self.check_selected(expression, raw.where(key), subject)
        return expression

    def check_selected(self, expression: Expression, where: Location, subject: str) -> None:
        for node in expression.nodes():
            if not (isinstance(node, Call) and node.function == "selected"):
                continue
            target, value = node.arguments
            if isinstance(target, Reference) and isinstance(value, Literal):
                question = self.seen.get(target.name)
                if question is not None and question.is_choice and question.choice(str(value.value)) is None:
                    self.error(where, subject, f"question '{target.name}' has no choice '{value.value}'")

    def metadata(self, doc: Raw) -> Metadata:
        audience_name = self.string(doc, "audience", "") or Audience.RESIDENTS.value
        try:
            audience = Audience(audience_name)
        except ValueError:
            self.error(doc.where("audience"), "", f"audience must be residents, staff or both, not '{audience_name}'")
            audience = Audience.RESIDENTS
        timezone = self.string(doc, "timezone", "")
        zone = None
        if timezone:
            try:
                zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                self.error(doc.where("timezone"), "", f"unknown time zone '{timezone}', e.g. Europe/London")
        schedule = self.string(doc, "schedule", "")
        if schedule:
            try:
                crontab_trigger(schedule, zone or ZoneInfo("Europe/London"))
            except ValueError as error:
                self.error(
                    doc.where("schedule"),
                    "",
                    f"schedule '{schedule}' is not a cron expression such as '0 10 * * 1': {error}",
                )
        return Metadata(
            audience=audience,
            anonymous=self.boolean(doc, "anonymous", "", default=audience is Audience.STAFF),
            organisation=self.string(doc, "organisation", ""),
            service=self.string(doc, "service", ""),
            area=self.string(doc, "area", ""),
            schedule=schedule,
            timezone=timezone,
            reminders=self.reminders(doc),
            on_erasure=self.erasure(doc),
        )

    def erasure(self, doc: Raw) -> Erasure:
        given = self.string(doc, "on_erasure", "") or Erasure.DELETE.value
        try:
            return Erasure(given)
        except ValueError:
            self.error(doc.where("on_erasure"), "", f"on_erasure must be delete or anonymise, not '{given}'")
            return Erasure.DELETE

    def reminders(self, doc: Raw) -> Reminders:
        raw = doc.get("reminders")
        if raw is None:
            return Reminders()
        if not isinstance(raw, Raw):
            self.error(doc.where("reminders"), "", "reminders must be a mapping with max and every_days")
            return Reminders()
        self.unknown_keys(raw, frozenset({"max", "every_days"}), "reminders")
        most = self.number(raw, "max", "reminders", whole=True)
        every = self.number(raw, "every_days", "reminders", whole=True)
        if most is not None and most < 0:
            self.error(raw.where("max"), "reminders", "max cannot be negative")
        if every is not None and every < 1:
            self.error(raw.where("every_days"), "reminders", "every_days must be at least 1")
        default = Reminders()
        return Reminders(
            int(default.maximum if most is None else most), int(default.every_days if every is None else every)
        )


def _all_ids(entries: Any) -> Iterable[str]:
    """Every id in the document, so a reference to a later question gets a precise message."""
    if not isinstance(entries, list):
        return
    for entry in entries:
        if isinstance(entry, dict):
            name = entry.get("id")
            if isinstance(name, str):
                yield name
                if entry.get("other"):
                    yield f"{name}_other"
            yield from _all_ids(entry.get("questions"))
