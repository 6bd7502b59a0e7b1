"""What goes out to Telegram: outbox payloads made from a turn's effects, and the Bot API call that sends each.

A payload is plain JSON so it can wait in the outbox across restarts:

    {"method": "sendMessage", "text": "<b>How satisfied…</b>", "reply_markup": {...}}
    {"method": "editMessageText", "message_id": 41, "text": "…", "reply_markup": null}
    {"method": "editMessageReplyMarkup", "message_id": 40}
    {"method": "answerCallbackQuery", "callback_query_id": "77", "text": null}
    {"method": "sendDocument", "filename": "chorus-my-data.json", "content": "<base64>", "caption": "…"}

Payloads other than documents are Bot API calls already, so they go out as
they are, through Bot.do_api_request: the typed methods (send_message...)
would build PTB objects from the stored JSON only to turn them back into
JSON, then parse Telegram's answer into a Message nobody reads, which
profiling put at a sixth of the CPU of a button press. PTB advises the typed
method when do_api_request names a call it wraps, a warning raised (and
filtered) on every call: 1.3% of the event loop's time on a typed answer. The
Bot API's method names are case-insensitive, so these go by their lower-case
names (sendmessage), which PTB does not take for its own. getUpdates keeps its
name, by which PTB gives it the long-poll connection, and its advice is
silenced: its updates are read as JSON too (bot/telegram/updates.py).

Sending maps PTB's errors to SendFailed: 429 waits `retry_after`, network
trouble is retried, 403 means the person blocked the bot (they are opted
out), a group that became a supergroup is followed to its new chat id, and
any other 400 is final.
"""

from __future__ import annotations

import base64
import warnings
from datetime import timedelta
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.errors import SendFailed
from bot.telegram.render import Keyboard, Outgoing

SEND_METHODS = {"sendMessage", "sendDocument"}
WITH_HTML = {"sendMessage", "editMessageText"}
IN_A_CHAT = {*WITH_HTML, "editMessageReplyMarkup"}
AS_STORED = {*IN_A_CHAT, "answerCallbackQuery"}
HARMLESS = ("message is not modified", "query is too old", "query id is invalid", "message can't be edited")


def send_message(outgoing: Outgoing) -> dict[str, Any]:
    return {"method": "sendMessage", "text": outgoing.text, "reply_markup": outgoing.keyboard}


def edit_message(message_id: int, text: str, keyboard: Keyboard | None) -> dict[str, Any]:
    return {"method": "editMessageText", "message_id": message_id, "text": text, "reply_markup": keyboard}


def remove_buttons(message_id: int) -> dict[str, Any]:
    """Without a reply_markup, Telegram takes the message's inline keyboard away."""
    return {"method": "editMessageReplyMarkup", "message_id": message_id}


def answer_callback(callback_query_id: str, text: str | None) -> dict[str, Any]:
    return {"method": "answerCallbackQuery", "callback_query_id": callback_query_id, "text": text}


def send_document(filename: str, content: bytes, caption: str) -> dict[str, Any]:
    encoded = base64.b64encode(content).decode()
    return {"method": "sendDocument", "filename": filename, "content": encoded, "caption": caption}


def quiet_typed_method_advice() -> None:
    """Silence PTB's advice to use its typed method for getUpdates (see above)."""
    warnings.filterwarnings("ignore", r"Please use 'Bot\.getUpdates'", PTBUserWarning)


def counts_against_limits(payload: dict[str, Any]) -> bool:
    """Telegram's per-chat and overall limits are on messages; button answers and edits are not counted."""
    return payload.get("method") in SEND_METHODS


async def send(bot: ExtBot[None], address: str, payload: dict[str, Any]) -> None:
    """Make the payload's Bot API call; raises SendFailed saying whether to retry."""
    try:
        await _call(bot, int(address), payload)
    except RetryAfter as error:
        seconds = retry_seconds(error)
        raise SendFailed(f"Telegram asked to wait {seconds:g}s", retryable=True, retry_after=seconds) from None
    except ChatMigrated as error:
        moved_to = str(error.new_chat_id)
        raise SendFailed(f"the group became a supergroup, chat {moved_to}", retryable=True, moved_to=moved_to) from None
    except Forbidden as error:
        raise SendFailed(f"blocked: {error.message}", retryable=False, unreachable=True) from None
    except BadRequest as error:
        if any(text in error.message.lower() for text in HARMLESS):
            return
        raise SendFailed(f"refused: {error.message}", retryable=False) from None
    except NetworkError as error:
        raise SendFailed(f"network: {error.message}", retryable=True) from None
    except TelegramError as error:
        raise SendFailed(f"Telegram error: {error.message}", retryable=True) from None


def retry_seconds(error: RetryAfter) -> float:
    """How long a 429 asks to wait (PTB gives a timedelta or a number of seconds, by its settings)."""
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def _call(bot: ExtBot[None], chat_id: int, payload: dict[str, Any]) -> None:
    method = payload.get("method")
    if method in AS_STORED:
        parameters = {name: value for name, value in payload.items() if name != "method" and value is not None}
        if method in IN_A_CHAT:
            parameters["chat_id"] = chat_id
        if method in WITH_HTML:
            parameters["parse_mode"] = ParseMode.HTML.value
        await bot.do_api_request(str(method).lower(), parameters)
    elif method == "sendDocument":
        content = base64.b64decode(payload["content"])
        await bot.send_document(chat_id, content, filename=payload["filename"], caption=payload.get("caption"))
    else:
        raise SendFailed(f"unknown outbox payload method {method!r}", retryable=False)
