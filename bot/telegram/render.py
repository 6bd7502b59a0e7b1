"""Turns engine outputs into Telegram messages: HTML-escaped text, inline keyboards, split below 4,096 characters.

Keyboards are built as the Bot API's JSON, which is what the outbox keeps and
sends: building PTB objects only to turn them into that JSON made an invite
five times as costly to build (26 µs against 5) and a rendered question two
and a half times (25 µs against 10), most of it while a wave held the writer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from html import escape
from typing import TypeAlias

from bot.messages import ANSWER_BEFORE, BACK, DONE, SKIP, comment_kept, ending, quoted, refusal, say
from bot.telegram.callbacks import AnswerButton, encode
from surveys.model import Kind, Survey
from surveys.outputs import AskQuestion, Completed, Noted, Output, Rejected, ShowText

LIMIT = 4096
SHORT_LABEL = 12
KEYBOARDS = 4096  # questions' keyboards kept, across every survey version, language and multiple-choice selection
Button: TypeAlias = dict[str, str]
Keyboard: TypeAlias = dict[str, list[list[Button]]]  # the Bot API's InlineKeyboardMarkup


def inline_button(label: str, data: str) -> Button:
    """An inline button: what it says, and the callback_data a press sends back (64 bytes at most)."""
    return {"text": label, "callback_data": data}


def inline_keyboard(rows: list[list[Button]]) -> Keyboard:
    return {"inline_keyboard": rows}


@dataclass(frozen=True)
class Outgoing:
    """One message to send: `text` is already HTML, every participant-visible word escaped."""

    text: str
    keyboard: Keyboard | None = None


def html(text: str) -> str:
    """Text for Telegram's HTML parse mode: a resident's or author's words never become markup."""
    return escape(text, quote=False)


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut long text at paragraph, line or word breaks so each part fits Telegram's limit."""
    parts: list[str] = []
    while len(text) > limit:
        cut = _cut(text, limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text] if text else parts


def _cut(text: str, limit: int) -> int:
    """The last paragraph break in the second half of the limit, else the last line break there, else the
    last space, else the limit itself.

    Cutting at whichever break came last split a line at a space when a line
    break came a little earlier, and an HTML line (an italic comment in
    /mydata) was cut between its <i> and </i>, which Telegram refuses; lines
    shorter than half the limit now stay whole.
    """
    for separator in ("\n\n", "\n"):
        cut = text.rfind(separator, limit // 2, limit)
        if cut > 0:
            return cut
    cut = text.rfind(" ", 0, limit)
    return cut if cut > 0 else limit


def messages(text: str, keyboard: Keyboard | None = None) -> list[Outgoing]:
    """Plain text as messages; the keyboard goes on the last part."""
    parts = split(text)
    return [Outgoing(part, keyboard if i == len(parts) - 1 else None) for i, part in enumerate(parts)]


def render(survey: Survey, outputs: tuple[Output, ...], language: str) -> list[Outgoing]:
    rendered: list[Outgoing] = []
    for output in outputs:
        if isinstance(output, ShowText):
            rendered += messages(html(output.text))
        elif isinstance(output, Rejected):
            rendered += messages(html(refusal(output, language)))
        elif isinstance(output, Noted):
            rendered += messages(html(comment_kept(output, language)))
        elif isinstance(output, Completed):
            rendered += messages(html(ending(output, language)))
        else:
            rendered += messages(question_text(output, language), keyboard(survey, output, language))
    return rendered


def question_text(ask: AskQuestion, language: str) -> str:
    lines = []
    if ask.notice:
        lines += [html(ask.notice), ""]
    lines.append(f"<b>{html(ask.text)}</b>")
    if ask.hint:
        lines.append(f"<i>{html(ask.hint)}</i>")
    earlier = earlier_answer(ask)
    if earlier is not None:
        lines.append(f"<i>{html(say(language, ANSWER_BEFORE, answer=earlier))}</i>")
    return "\n".join(lines)


def earlier_answer(ask: AskQuestion) -> str | None:
    """What they answered before going back, as they saw it; a multiple choice shows it in its ticks instead."""
    if ask.previous is None or ask.kind is Kind.SELECT_MULTIPLE:
        return None
    labels = {choice.value: choice.label for choice in ask.choices}
    return quoted(labels.get(str(ask.previous), str(ask.previous)))


def keyboard(survey: Survey, ask: AskQuestion, language: str) -> Keyboard | None:
    """The question's inline keyboard: the same for everyone shown it, so built once and shared; never change it.

    Built anew, it was the costliest part of rendering a question (a frozen
    AnswerButton for each button's data), and every answer renders the next one.
    The earlier answer shown after /back is in the text, not the keyboard, so
    it is left out of the cache's key.
    """
    shared = ask if ask.previous is None else replace(ask, previous=None)
    return _keyboard(survey.version, survey.position(ask.question_id) or 0, shared, language)


@lru_cache(maxsize=KEYBOARDS)
def _keyboard(version: str, position: int, ask: AskQuestion, language: str) -> Keyboard | None:
    def answer(label: str, action: str, choice: int = -1) -> Button:
        return inline_button(label, encode(AnswerButton(version, position, action, choice)))

    rows: list[list[Button]] = []
    if ask.kind is Kind.SELECT_MULTIPLE:
        rows += [[answer(("\u2705 " if c.selected else "\u2b1c ") + c.label, "t", c.position)] for c in ask.choices]
        rows.append([answer(say(language, DONE), "d")])
    elif ask.choices:
        buttons = [answer(c.label, "p", c.position) for c in ask.choices]
        short = all(len(c.label) <= SHORT_LABEL for c in ask.choices)
        width = 6 if ask.kind is Kind.RATING else (3 if short else 1)
        rows += [buttons[i : i + width] for i in range(0, len(buttons), width)]
    navigation = []
    if ask.can_go_back:
        navigation.append(answer(say(language, BACK), "b"))
    if not ask.required:
        navigation.append(answer(say(language, SKIP), "s"))
    if navigation:
        rows.append(navigation)
    return inline_keyboard(rows) if rows else None
