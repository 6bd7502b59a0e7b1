"""The few fields of a Telegram update that Chorus acts on, read from the Bot API's JSON.

Chorus reads an update's id, its chat, who sent it and in what language, and
the text (or a photo's, video's or file's caption) or the pressed button's
data; of a change to the bot's membership of a chat, only whether a person
blocked the bot or a group removed it; of an edit, only that there was one; of
a group's messages, only a command for this bot or its move to a supergroup;
nothing else. python-telegram-bot's Update.de_json builds an object for every
part of an update instead, and a Message sets some two hundred attributes:
0.13-0.16 ms of CPU for each typed answer or button press, about a twentieth
of all Chorus spends on one. So updates are read here, from the JSON that the
webhook receives and that getUpdates returns, and each field is checked for
the type the Bot API documents, so a malformed body is refused with the field
it got wrong.

Usage:
    inbound = read_update(body)     # None for an update Chorus does not act on (logged); NotAnUpdate if malformed
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.errors import NotAnUpdate

logger = logging.getLogger(__name__)
GONE = {"kicked", "left"}  # the bot's status in a chat that it can no longer write to
T = TypeVar("T")


@dataclass(frozen=True)
class Inbound:
    update_id: int
    chat_id: int
    language_code: str | None
    text: str | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None
    private: bool = True
    blocked: bool = False
    moved_to: int | None = None
    album: str | None = None  # photos or videos sent together arrive one message each, with the album's id
    edited: bool = False
    forwarded: bool = False  # someone else's words, or a command, passed on: never taken as an answer
    attached: bool = False  # the text is the caption of a photo, video or file, which is not kept
    replied_button: str | None = None  # the first button's data on the message this one replies to
    replied_question: str | None = None  # the words of an answered question's message this one replies to


def read_update(body: object, me: str | None = None) -> Inbound | None:
    """The parts of an update Chorus acts on, or None for updates it ignores (and logs).

    `me` is the bot's username, to tell a group command for this bot from one for another.
    """
    if not isinstance(body, dict):
        raise NotAnUpdate(f"a JSON {_json_type(body)}, not an object")
    update_id = _required(body, "update_id", int, "update")
    query = _optional(body, "callback_query", dict, "update")
    if query is not None:
        return _press(update_id, query)
    message = _optional(body, "message", dict, "update")
    if message is None:
        membership = _optional(body, "my_chat_member", dict, "update")
        if membership is not None:
            return _membership(update_id, membership)
        edited = _optional(body, "edited_message", dict, "update")
        if edited is not None:
            return _edit(update_id, edited)
        logger.info("ignoring update %s: not a message, an edit, a button press or a block", update_id)
        return None
    chat_id, private = _chat(message, "message")
    language = _language(message, "message")
    if not private:
        return _in_group(update_id, chat_id, language, message, me)
    text = _optional(message, "text", str, "message")
    caption = None if text is not None else _optional(message, "caption", str, "message")
    message_id = _required(message, "message_id", int, "message")
    album = _optional(message, "media_group_id", str, "message")
    forwarded = "forward_origin" in message or "forward_date" in message  # Bot API 7.0 on, and before it
    replied = _optional(message, "reply_to_message", dict, "message")
    return Inbound(
        update_id,
        chat_id,
        language,
        text=text if caption is None else caption,
        message_id=message_id,
        album=album,
        forwarded=forwarded,
        attached=caption is not None,
        replied_button=None if replied is None else _first_button(replied),
        replied_question=None if replied is None else _answered_question(replied),
    )


def _answered_question(message: dict[str, Any]) -> str | None:
    """The words above the answer on a message of the bot's that shows one ("Label\n✓ Yes"), as Telegram gives
    them, plain: a question answered by a press has lost its buttons, but not its words."""
    sender = message.get("from")
    text = message.get("text")
    if not isinstance(sender, dict) or sender.get("is_bot") is not True or not isinstance(text, str):
        return None
    words, mark, _ = text.rpartition("\n\u2713 ")
    return words or None if mark else None


def _first_button(message: dict[str, Any]) -> str | None:
    """The data of a message's first inline button: on a question of Chorus's, it names that question.

    Only a hint (a question answered by a press has lost its buttons), so a
    keyboard of an unexpected shape reads as none rather than refusing the update.
    """
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            data = button.get("callback_data") if isinstance(button, dict) else None
            if isinstance(data, str):
                return data
    return None


def _in_group(
    update_id: int, chat_id: int, language: str | None, message: dict[str, Any], me: str | None
) -> Inbound | None:
    """A group hears only that Chorus talks in private, and only when it asks this bot; a move is followed.

    Telegram sends every bot in a group its service messages (a member
    joining, a pin) and the replies to its own messages, whatever its privacy
    mode; a commissioners' group discussing its weekly summary would otherwise
    be answered at every turn.
    """
    moved_to = _optional(message, "migrate_to_chat_id", int, "message")
    if moved_to is not None:
        return Inbound(update_id, chat_id, language, private=False, moved_to=moved_to)
    text = _optional(message, "text", str, "message")
    if text is None or not text.startswith("/") or not _for_me(text, me):
        logger.info("ignoring update %s: in a group chat, and not a command for this bot", update_id)
        return None
    return Inbound(update_id, chat_id, language, text=text, private=False)


def _for_me(command: str, me: str | None) -> bool:
    """`/help` or `/help@this_bot`; any command while the bot's own name is not known."""
    _, at, name = command.split(maxsplit=1)[0].partition("@")
    return not at or me is None or name.lower() == me.lower()


def _edit(update_id: int, message: dict[str, Any]) -> Inbound | None:
    """A person changed a message they sent: the answer it gave stands, so they are told how to change it."""
    chat_id, private = _chat(message, "edited_message")
    if not private:
        logger.info("ignoring update %s: an edit in a group chat", update_id)
        return None
    return Inbound(update_id, chat_id, _language(message, "edited_message"), edited=True)


def _press(update_id: int, query: dict[str, Any]) -> Inbound | None:
    message = _optional(query, "message", dict, "callback_query")
    if message is None:  # a button on an inline-mode message: not one Chorus sent to a chat
        logger.info("ignoring update %s: a button press without a message", update_id)
        return None
    chat_id, private = _chat(message, "callback_query.message")
    if not private:
        logger.info("ignoring update %s: a button press in a group chat", update_id)
        return None
    return Inbound(
        update_id,
        chat_id,
        _language(query, "callback_query"),
        callback_id=_required(query, "id", str, "callback_query"),
        callback_data=_optional(query, "data", str, "callback_query") or "",
        message_id=_required(message, "message_id", int, "callback_query.message"),
    )


def _membership(update_id: int, change: dict[str, Any]) -> Inbound | None:
    """A person blocking the bot or a group removing it, which Telegram reports at once; other changes to the
    bot's membership are ignored.

    Telegram gives the bot's new status in the chat: `kicked` when a person
    blocks it or a group bans it, `left` when a group removes it, `member`
    when a person unblocks it (they come back by /start) or a group adds it.
    """
    chat_id, private = _chat(change, "my_chat_member")
    new = _required(change, "new_chat_member", dict, "my_chat_member")
    status = _required(new, "status", str, "my_chat_member.new_chat_member")
    if status not in GONE:
        kind = "private" if private else "group"
        logger.info("ignoring update %s: the bot's status in a %s chat is now '%s'", update_id, kind, status)
        return None
    return Inbound(update_id, chat_id, _language(change, "my_chat_member"), private=private, blocked=True)


def _chat(message: dict[str, Any], where: str) -> tuple[int, bool]:
    chat = _required(message, "chat", dict, where)
    return _required(chat, "id", int, f"{where}.chat"), _required(chat, "type", str, f"{where}.chat") == "private"


def _language(parent: dict[str, Any], where: str) -> str | None:
    sender = _optional(parent, "from", dict, where)
    return None if sender is None else _optional(sender, "language_code", str, f"{where}.from")


def _required(parent: dict[str, Any], name: str, kind: type[T], where: str) -> T:
    value = _optional(parent, name, kind, where)
    if value is None:
        raise NotAnUpdate(f"{where}.{name} is missing")
    return value


def _optional(parent: dict[str, Any], name: str, kind: type[T], where: str) -> T | None:
    value = parent.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise NotAnUpdate(f"{where}.{name} is a JSON {_json_type(value)}, not {_JSON_TYPES[kind]}")
    return value


_JSON_TYPES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
}


def _json_type(value: object) -> str:
    return next((name for kind, name in _JSON_TYPES.items() if isinstance(value, kind)), "null")
