"""/mydata as a resident reads it in the chat: what is held about them and what they answered, in their language.

The export itself goes as a JSON file (storage/privacy.py), which is
complete and which another service can read; but many phones open a .json
file as nothing at all, and the right to see one's data is not met by a file
that cannot be read. So the answers come first as a message, each as the
question was asked and the answer as it was shown, and the file follows.

Usage:
    self.effects.send += messages(readable(privacy.export(...), "pl"))
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from bot import messages as m
from bot.telegram.render import html

BRITISH = "en_GB"
SHOWN = 1000  # characters of an answer or a comment in the message, so no line is cut (render.split); the file has all


def readable(exported: dict[str, Any], language: str) -> str:
    """The export as HTML for a chat message: every word from the data escaped, dates as the language writes them."""
    contact = exported["contact"]
    lines = [
        f"<b>{html(m.say(language, m.MYDATA_HEADING))}</b>",
        html(
            m.say(
                language,
                m.MYDATA_CONTACT,
                language=m.language_name(contact["language"] or "en"),
                date=_date(contact["created_at"], language),
            )
        ),
    ]
    lines += _recorded(contact, language)
    if contact["opted_out_at"]:
        lines.append(html(m.say(language, m.MYDATA_STOPPED, date=_date(contact["opted_out_at"], language))))
    for response in exported["responses"]:
        lines += ["", _heading(response, language), *_answers(response["answers"], language)]
    held = exported["surveys_in_progress_anonymously"] or exported["anonymous_surveys_not_yet_released"]
    if not exported["responses"] and not held:
        lines += ["", html(m.say(language, m.MYDATA_NONE))]
    lines.append("")
    if held:
        lines.append(html(m.say(language, m.MYDATA_ANONYMOUS_HELD)))
    lines += [html(m.say(language, m.MYDATA_ANONYMOUS)), html(m.say(language, m.MYDATA_FILE))]
    return "\n".join(lines)


def _recorded(contact: dict[str, Any], language: str) -> list[str]:
    """Whom they work for, where they live, which service they use, as links and join codes recorded them."""
    said = []
    if contact["role"] == "staff" and contact["organisation"]:
        said.append(m.say(language, m.MYDATA_STAFF, organisation=contact["organisation"]))
    if contact["area"]:
        said.append(m.say(language, m.MYDATA_AREA, area=contact["area"]))
    if contact["service"]:
        said.append(m.say(language, m.MYDATA_SERVICE, service=contact["service"]))
    return [html(line) for line in said]


def _heading(response: dict[str, Any], language: str) -> str:
    if response["status"] == "completed" and response["completed_at"]:
        said = m.say(
            language, m.MYDATA_FINISHED, survey=response["title"], date=_date(response["completed_at"], language)
        )
    else:
        said = m.say(
            language, m.MYDATA_UNFINISHED, survey=response["title"], date=_date(response["started_at"], language)
        )
    return f"<b>{html(said)}</b>"


def _answers(answers: list[dict[str, Any]], language: str) -> list[str]:
    """An answer as shown ("Very satisfied"); a skipped one as skipped; a comment under its question, which
    may not be answered yet."""
    lines = [] if answers else [html(m.say(language, m.MYDATA_NO_ANSWERS))]
    for answer in answers:
        question = html(answer["question"] or answer["question_id"])
        if answer["value"] is not None:
            lines.append(f"\u2022 {question} \u2014 {html(m.quoted(str(answer['answer']), SHOWN))}")
        elif answer.get("unanswered"):
            lines.append(f"\u2022 {question}")
        else:
            lines.append(f"\u2022 {question} \u2014 {html(m.say(language, m.SKIPPED))}")
        if "comment" in answer:
            comment = m.quoted(answer["comment"], SHOWN)
            lines.append(f"  <i>{html(m.say(language, m.MYDATA_COMMENT, comment=comment))}</i>")
    return lines


def _date(stamp: str, language: str) -> str:
    """e.g. '7 December 2026' (British English, as the councils using Chorus write it), '7 grudnia 2026'."""
    try:
        locale = Locale.parse(BRITISH if language == "en" else language)
    except (UnknownLocaleError, ValueError):  # a survey's own language that Babel does not know
        locale = Locale.parse(BRITISH)
    return format_date(datetime.fromisoformat(stamp).date(), format="long", locale=locale)
